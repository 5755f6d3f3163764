import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { RedisOptions } from 'ioredis';
import { LeptonError } from '@lepton/core';
import type { FeatureEngineOptions } from '../features/engine.js';
import type { StateStore } from '../features/store.js';
import type { DecisionPolicy } from '../fraud/decisions.js';
import type { FraudScore } from '../fraud/model.js';
import { numberOption } from '../internal/guards.js';

/**
 * What the scorer service needs from a model: batched scores of feature rows. {@link FraudModel} is one; a test or a
 * rules engine can be another.
 */
export interface TransactionScorer {
  /**
   * Scores feature rows in one batch.
   *
   * @param rows - feature rows in `FeatureEngine.names` order
   * @returns one score per row, index-aligned: `probability` a finite number in [0, 1]; `riskScore`, `supervised` and
   *   `anomaly` finite numbers. The service checks each score as it comes back: one that is not such an object is
   *   dead-lettered with code `INVALID_MODEL` (and `field` naming the bad field) and the rest of the batch is scored;
   *   an array of the wrong length (or no array) fails the batch, which is retried.
   */
  score(rows: ReadonlyArray<ArrayLike<number>>): Promise<FraudScore[]>;
  /** Feature names the scorer expects; checked against the feature engine's when present. */
  readonly featureNames?: readonly string[];
}

/** One line of the service's log. Never carries transaction content: entry ids, partitions, codes and field names only. */
export interface ScorerLogEvent {
  /** `info` (started, claimed, closed), `warn` (dead-lettered, waiting), `error` (a failure that is retried). */
  level: 'info' | 'warn' | 'error';
  /** What happened, e.g. `dead-letter`, `claimed`, `retry`. */
  event: string;
  /** Human-readable sentence (no card data). */
  message: string;
  /** Structured context: partition, entry ids, error code, field name. */
  details?: Record<string, unknown>;
}

/**
 * Options of {@link FraudScorerService.start}. Every process of one scorer group passes the same `stream`,
 * `partitions` and `group`; the rest may differ per process.
 */
export interface FraudScorerServiceOptions {
  /** Redis: a URL (`redis://host:6379/0`) or ioredis options. Streams, feature state and dedupe keys live there. */
  connection: string | RedisOptions;
  /**
   * Base name of the streams. Transactions arrive on `<stream>:0` … `<stream>:<partitions − 1>`; scores go to
   * `<stream>:scores`, alerts to `<stream>:alerts`, rejected entries to `<stream>:dead`.
   */
  stream: string;
  /**
   * Number of input partitions (1 to 1024). A transaction belongs to partition `partitionOf(cardId, partitions)`, so
   * one card's transactions stay in one stream and are applied in stream order. Fixed for the life of the streams
   * (recorded in `<stream>:meta`; a different value is refused). Default 1.
   */
  partitions?: number;
  /** Consumer group name, the same in every process. Default `lepton-scorers`. */
  group?: string;
  /**
   * This process's name in the group; unique among live processes. A process restarted under the same name resumes
   * its own unacknowledged entries at once (others take them over after {@link minIdleMs} anyway).
   * Default `<hostname>:<pid>:<random>`.
   */
  consumer?: string;
  /** The model (or any {@link TransactionScorer}). */
  model: TransactionScorer;
  /**
   * Decision bands on the calibrated probability. Each score carries its decision, and `review`/`decline` also go to
   * the alerts stream. Without a policy there are no decisions and no alerts.
   */
  policy?: DecisionPolicy;
  /** Feature engine settings (windows, smoothing …), the same in every process. */
  features?: Omit<FeatureEngineOptions, 'store'>;
  /** Feature state. Default a `RedisStateStore` on {@link connection} with prefix {@link statePrefix}. */
  store?: StateStore;
  /** Key prefix of the default state store. Default `<stream>:state:`. */
  statePrefix?: string;
  /** Entries read per partition per `XREADGROUP` (its `COUNT`), 1 to 10,000. Bounds memory. Default 64. */
  batchSize?: number;
  /** How long one read waits for new entries, ms (1 to 60,000). Also how long {@link FraudScorerService.close} may wait for it. Default 1,000. */
  blockMs?: number;
  /**
   * An entry unacknowledged for this long (ms) belongs to a consumer presumed dead and is claimed by another
   * (`XAUTOCLAIM`). Live consumers refresh the entries they hold while they wait. Default 30,000; at least 100.
   */
  minIdleMs?: number;
  /** How often each consumer looks for entries to claim, ms. Default `minIdleMs / 2`. */
  claimIntervalMs?: number;
  /**
   * An entry delivered more than this many times (it crashed or stalled every consumer that took it) goes to the
   * dead-letter stream. Default 10.
   */
  maxDeliveries?: number;
  /** How long the "already scored" marker of a transaction id lives, seconds. Default 8 days (the longest window plus a day). */
  dedupeTtlSeconds?: number;
  /** Larger entries are dead-lettered unread, bytes. Default 65,536. */
  maxMessageBytes?: number;
  /** Trim the output streams to about this many entries (`MAXLEN ~`); 0 keeps everything. Default 0. */
  maxOutputLength?: number;
  /** Put each transaction's feature vector (JSON) in its score entry, for audit and tests. Default false. */
  includeFeatures?: boolean;
  /** How long {@link FraudScorerService.close} waits for in-flight entries, ms. Default 30,000. */
  closeTimeoutMs?: number;
  /** Receives log events (default: none). Never given card data. */
  log?: (event: ScorerLogEvent) => void;
}

/** The options with every default filled in and every value checked. */
export interface ResolvedScorerOptions {
  connection: string | RedisOptions;
  stream: string;
  partitions: number;
  group: string;
  consumer: string;
  model: TransactionScorer;
  policy: DecisionPolicy | undefined;
  features: Omit<FeatureEngineOptions, 'store'>;
  store: StateStore | undefined;
  statePrefix: string;
  batchSize: number;
  blockMs: number;
  minIdleMs: number;
  claimIntervalMs: number;
  maxDeliveries: number;
  dedupeTtlSeconds: number;
  maxMessageBytes: number;
  maxOutputLength: number;
  includeFeatures: boolean;
  closeTimeoutMs: number;
  log: (event: ScorerLogEvent) => void;
}

/** Most input partitions. */
export const MAX_PARTITIONS = 1024;

const NAME = /^[A-Za-z0-9_.:\-{}]{1,200}$/;

function name(v: unknown, what: string): string {
  if (typeof v !== 'string' || !NAME.test(v)) {
    throw new LeptonError('INVALID_ARGUMENT', `${what} must be 1 to 200 characters of letters, digits and _ . : - { }.`);
  }
  return v;
}

/**
 * Fills defaults and checks every option: the one place the service's defaults live.
 *
 * @param o - the caller's options
 * @returns resolved options
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` naming the option
 */
export function resolveScorerOptions(o: FraudScorerServiceOptions): ResolvedScorerOptions {
  if (typeof o !== 'object' || o === null) throw new LeptonError('INVALID_ARGUMENT', 'FraudScorerService options must be an object.');
  if (typeof o.connection !== 'string' && (typeof o.connection !== 'object' || o.connection === null)) {
    throw new LeptonError('INVALID_ARGUMENT', 'connection must be a Redis URL or ioredis options.');
  }
  if (typeof o.model?.score !== 'function') throw new LeptonError('INVALID_ARGUMENT', 'model must have a score(rows) method (a FraudModel, for example).');
  const stream = name(o.stream, 'stream');
  // Checked before connecting (the default store is only made once Redis answers, too late for a clear refusal).
  if (o.statePrefix !== undefined && typeof o.statePrefix !== 'string') throw new LeptonError('INVALID_ARGUMENT', 'statePrefix must be a string.');
  const store: unknown = o.store;
  if (store !== undefined && (typeof store !== 'object' || store === null || !(['getMany', 'update', 'close'] as const).every((m) => typeof (store as StateStore)[m] === 'function'))) {
    throw new LeptonError('INVALID_ARGUMENT', 'store must be a StateStore (getMany, update and close methods).');
  }
  const minIdleMs = numberOption(o.minIdleMs ?? 30_000, 'minIdleMs', { min: 100, max: 86_400_000, integer: true });
  const policy = o.policy;
  if (policy !== undefined && !(typeof policy === 'object' && policy !== null && Number.isFinite(policy.review) && Number.isFinite(policy.decline) && policy.decline >= policy.review)) {
    throw new LeptonError('INVALID_ARGUMENT', 'policy needs finite review ≤ decline thresholds (from choosePolicy).');
  }
  return {
    connection: o.connection,
    stream,
    partitions: numberOption(o.partitions ?? 1, 'partitions', { min: 1, max: MAX_PARTITIONS, integer: true }),
    group: name(o.group ?? 'lepton-scorers', 'group'),
    consumer: name(o.consumer ?? `${hostname().slice(0, 100)}:${process.pid}:${randomBytes(4).toString('hex')}`.replace(/[^A-Za-z0-9_.:\-{}]/g, '_'), 'consumer'),
    model: o.model,
    policy,
    features: o.features ?? {},
    store: o.store,
    statePrefix: o.statePrefix ?? `${stream}:state:`,
    batchSize: numberOption(o.batchSize ?? 64, 'batchSize', { min: 1, max: 10_000, integer: true }),
    blockMs: numberOption(o.blockMs ?? 1000, 'blockMs', { min: 1, max: 60_000, integer: true }),
    minIdleMs,
    claimIntervalMs: numberOption(o.claimIntervalMs ?? Math.ceil(minIdleMs / 2), 'claimIntervalMs', { min: 10, max: 86_400_000, integer: true }),
    maxDeliveries: numberOption(o.maxDeliveries ?? 10, 'maxDeliveries', { min: 1, max: 1_000_000, integer: true }),
    dedupeTtlSeconds: numberOption(o.dedupeTtlSeconds ?? 8 * 86_400, 'dedupeTtlSeconds', { min: 1, max: 10 * 365 * 86_400, integer: true }),
    maxMessageBytes: numberOption(o.maxMessageBytes ?? 65_536, 'maxMessageBytes', { min: 256, max: 64 * 1024 * 1024, integer: true }),
    maxOutputLength: numberOption(o.maxOutputLength ?? 0, 'maxOutputLength', { min: 0, integer: true }),
    includeFeatures: o.includeFeatures === true,
    closeTimeoutMs: numberOption(o.closeTimeoutMs ?? 30_000, 'closeTimeoutMs', { min: 0, max: 3_600_000, integer: true }),
    log: typeof o.log === 'function' ? o.log : () => undefined,
  };
}
