import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { RedisOptions } from 'ioredis';
import { LeptonError } from '@lepton/core';
import type { FeatureEngineOptions } from '../features/engine.js';
import type { StateStore } from '../features/store.js';
import type { DecisionPolicy } from '../fraud/decisions.js';
import type { FraudScore } from '../fraud/model.js';
import { numberOption } from '../internal/guards.js';
import { safeLog } from './safety.js';

/**
 * What the scorer service needs from a model: batched scores of feature rows. {@link FraudModel} is one; a test or a
 * rules engine can be another.
 */
export interface TransactionScorer {
  /**
   * Scores feature rows in one batch.
   *
   * @param rows - feature rows in `FeatureEngine.names` order
   * @returns one score per row, index-aligned: `probability` a finite number in [0, 1], `riskScore` a finite number
   *   in [0, 999], `anomaly` a finite number in [0, 1], `supervised` a finite number. The service checks each score as it comes back: one that is not such an object is
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
   * An entry delivered more than this many times (it crashed or stalled every consumer that took it), or that failed
   * this many times when processed on its own, goes to the dead-letter stream as `FINANCE_MESSAGE_POISON`. Failed
   * batches are retried from memory with a backoff doubling from 250 ms to 30 s, which neither re-reads nor counts a
   * delivery, so with the default an outage of the model, the store or Redis shorter than about 70 s dead-letters
   * nothing. Default 10.
   */
  maxDeliveries?: number;
  /** How long the "already scored" marker of a transaction id lives, seconds. Default 8 days (the longest window plus a day). */
  dedupeTtlSeconds?: number;
  /**
   * An entry whose `tx` field is larger than this is dead-lettered without being parsed, bytes. Default 65,536. The
   * entry is still transferred by the read: the memory a read takes is bounded by what producers write (see the
   * README's "Memory").
   */
  maxMessageBytes?: number;
  /**
   * Trim the output streams to about this many entries (`MAXLEN ~`): an integer up to `Number.MAX_SAFE_INTEGER`;
   * 0 keeps everything. Default 0.
   */
  maxOutputLength?: number;
  /** Put each transaction's feature vector (JSON) in its score entry, for audit and tests. Default false. */
  includeFeatures?: boolean;
  /** How long {@link FraudScorerService.close} waits for in-flight entries, ms. Default 30,000. */
  closeTimeoutMs?: number;
  /**
   * Receives log events (default: none). Never given card data. Anything it throws (or a promise it returns that
   * rejects) is ignored, so a failing log transport never stops scoring; a value that is not a function is refused.
   */
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

/** The options {@link resolveScorerOptions} reads, each read exactly once. */
const OPTION_KEYS = [
  'connection', 'stream', 'partitions', 'group', 'consumer', 'model', 'policy', 'features', 'store', 'statePrefix', 'batchSize', 'blockMs', 'minIdleMs',
  'claimIntervalMs', 'maxDeliveries', 'dedupeTtlSeconds', 'maxMessageBytes', 'maxOutputLength', 'includeFeatures', 'closeTimeoutMs', 'log',
] as const satisfies ReadonlyArray<keyof FraudScorerServiceOptions>;

/**
 * @internal Reads each named property of a caller's object once, into a plain copy: a getter or a Proxy trap that
 * throws becomes `INVALID_ARGUMENT` naming the property (never the thrown error, which may quote anything), and a
 * getter cannot pass a check and then return something else.
 */
export function readOptions<K extends string>(options: unknown, keys: readonly K[], what: string): Partial<Record<K, unknown>> {
  if (typeof options !== 'object' || options === null) throw new LeptonError('INVALID_ARGUMENT', `${what} options must be an object.`);
  const out: Partial<Record<K, unknown>> = {};
  for (const key of keys) {
    try {
      out[key] = (options as Record<string, unknown>)[key];
    } catch {
      throw new LeptonError('INVALID_ARGUMENT', `${what}: option '${key}' could not be read (a getter or a Proxy trap threw).`, { details: { option: key } });
    }
  }
  return out;
}

/** Reads a property of an option's value once; a throwing getter becomes `INVALID_ARGUMENT`. */
function readProp(v: unknown, key: string, what: string): unknown {
  if ((typeof v !== 'object' && typeof v !== 'function') || v === null) return undefined;
  try {
    return (v as Record<string, unknown>)[key];
  } catch {
    throw new LeptonError('INVALID_ARGUMENT', `${what}.${key} could not be read (a getter or a Proxy trap threw).`, { details: { option: what } });
  }
}

/** @internal Most entries `MAXLEN` may be given: a safe integer, sent as plain digits (`String(1e21)` is `'1e+21'`). */
export const MAX_STREAM_LENGTH = Number.MAX_SAFE_INTEGER;

/**
 * Fills defaults and checks every option: the one place the service's defaults live. Each option is read once.
 *
 * @param options - the caller's options
 * @returns resolved options
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` naming the option (one that cannot be read included)
 */
export function resolveScorerOptions(options: FraudScorerServiceOptions): ResolvedScorerOptions {
  const o = readOptions(options, OPTION_KEYS, 'FraudScorerService');
  const connection = o.connection;
  if (typeof connection !== 'string' && (typeof connection !== 'object' || connection === null)) {
    throw new LeptonError('INVALID_ARGUMENT', 'connection must be a Redis URL or ioredis options.');
  }
  const model = o.model;
  if (typeof readProp(model, 'score', 'model') !== 'function') throw new LeptonError('INVALID_ARGUMENT', 'model must have a score(rows) method (a FraudModel, for example).');
  const stream = name(o.stream, 'stream');
  // Checked before connecting (the default store is only made once Redis answers, too late for a clear refusal).
  if (o.statePrefix !== undefined && typeof o.statePrefix !== 'string') throw new LeptonError('INVALID_ARGUMENT', 'statePrefix must be a string.');
  const store: unknown = o.store;
  if (store !== undefined && (typeof store !== 'object' || store === null || !(['getMany', 'update', 'close'] as const).every((m) => typeof readProp(store, m, 'store') === 'function'))) {
    throw new LeptonError('INVALID_ARGUMENT', 'store must be a StateStore (getMany, update and close methods).');
  }
  const minIdleMs = numberOption(o.minIdleMs ?? 30_000, 'minIdleMs', { min: 100, max: 86_400_000, integer: true });
  let policy: DecisionPolicy | undefined;
  if (o.policy !== undefined) {
    // A plain copy: the thresholds are read once here, not on every decision.
    const review = readProp(o.policy, 'review', 'policy');
    const decline = readProp(o.policy, 'decline', 'policy');
    if (!(typeof review === 'number' && typeof decline === 'number' && Number.isFinite(review) && Number.isFinite(decline) && decline >= review)) {
      throw new LeptonError('INVALID_ARGUMENT', 'policy needs finite review ≤ decline thresholds (from choosePolicy).');
    }
    policy = { review, decline };
  }
  const log = o.log;
  if (log !== undefined && typeof log !== 'function') throw new LeptonError('INVALID_ARGUMENT', 'log must be a function (event) => void.');
  const features = o.features;
  if (features !== undefined && (typeof features !== 'object' || features === null)) throw new LeptonError('INVALID_ARGUMENT', 'features must be an object of FeatureEngine options.');
  // Plain copies, made here, so a getter that throws is a refused option, not a failure later on.
  const copy = <T>(v: T, what: string): T => {
    try {
      return { ...v };
    } catch {
      throw new LeptonError('INVALID_ARGUMENT', `${what} could not be read (a getter or a Proxy trap threw).`, { details: { option: what } });
    }
  };
  return {
    connection: typeof connection === 'string' ? connection : copy(connection as RedisOptions, 'connection'),
    stream,
    partitions: numberOption(o.partitions ?? 1, 'partitions', { min: 1, max: MAX_PARTITIONS, integer: true }),
    group: name(o.group ?? 'lepton-scorers', 'group'),
    consumer: name(o.consumer ?? `${hostname().slice(0, 100)}:${process.pid}:${randomBytes(4).toString('hex')}`.replace(/[^A-Za-z0-9_.:\-{}]/g, '_'), 'consumer'),
    model: model as TransactionScorer,
    policy,
    features: copy((features ?? {}) as Omit<FeatureEngineOptions, 'store'>, 'features'),
    store: store as StateStore | undefined,
    statePrefix: (o.statePrefix as string | undefined) ?? `${stream}:state:`,
    batchSize: numberOption(o.batchSize ?? 64, 'batchSize', { min: 1, max: 10_000, integer: true }),
    blockMs: numberOption(o.blockMs ?? 1000, 'blockMs', { min: 1, max: 60_000, integer: true }),
    minIdleMs,
    claimIntervalMs: numberOption(o.claimIntervalMs ?? Math.ceil(minIdleMs / 2), 'claimIntervalMs', { min: 10, max: 86_400_000, integer: true }),
    maxDeliveries: numberOption(o.maxDeliveries ?? 10, 'maxDeliveries', { min: 1, max: 1_000_000, integer: true }),
    dedupeTtlSeconds: numberOption(o.dedupeTtlSeconds ?? 8 * 86_400, 'dedupeTtlSeconds', { min: 1, max: 10 * 365 * 86_400, integer: true }),
    maxMessageBytes: numberOption(o.maxMessageBytes ?? 65_536, 'maxMessageBytes', { min: 256, max: 64 * 1024 * 1024, integer: true }),
    maxOutputLength: numberOption(o.maxOutputLength ?? 0, 'maxOutputLength', { min: 0, max: MAX_STREAM_LENGTH, integer: true }),
    includeFeatures: o.includeFeatures === true,
    closeTimeoutMs: numberOption(o.closeTimeoutMs ?? 30_000, 'closeTimeoutMs', { min: 0, max: 3_600_000, integer: true }),
    log: safeLog(log as ((event: ScorerLogEvent) => void) | undefined),
  };
}
