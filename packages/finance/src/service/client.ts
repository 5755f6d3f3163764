import { Redis, type RedisOptions } from 'ioredis';
import { describeValue, LeptonError } from '@lepton/core';
import { numberOption } from '../internal/guards.js';
import { MAX_PARTITIONS } from './options.js';
import { parseDeadLetter, parseScore, type DeadLetterRecord, type ScoreRecord } from './records.js';
import { checkPartitions, partitionOf, streamKeys, type StreamKeys } from './streams.js';

/** Options of {@link ScorerStreamClient}. */
export interface ScorerStreamClientOptions {
  /** Redis: a URL or ioredis options (the same server as the scorers). */
  connection: string | RedisOptions;
  /** Base name of the streams, as given to the scorers. */
  stream: string;
  /** Number of input partitions, as given to the scorers (checked against the streams' record). Default 1. */
  partitions?: number;
  /** Trim each input partition to about this many entries when publishing (`MAXLEN ~`); 0 keeps everything. Default 0. */
  maxInputLength?: number;
}

/** Where a scorer group stands: backlog and output sizes. */
export interface ScorerGroupStatus {
  /** Entries published and not yet delivered to any consumer (sum of the group's `lag` over partitions). */
  undelivered: number;
  /** Entries delivered and not yet acknowledged. */
  pending: number;
  /** Entries in the scores stream. */
  scores: number;
  /** Entries in the alerts stream. */
  alerts: number;
  /** Entries in the dead-letter stream. */
  deadLetters: number;
  /** Consumers known to the group (any partition), with the entries each holds. */
  consumers: Record<string, number>;
}

/**
 * The producer's and the operator's side of a scorer group: publishes transactions to the partition of their card,
 * and reads scores, alerts, dead letters and the group's backlog. Everything a {@link FraudScorerService} reads or
 * writes is plain Redis Streams, so any Redis client can do the same (see the finance README's "Scaling out").
 *
 * @example
 * ```ts
 * import { ScorerStreamClient } from '@lepton/finance';
 * const client = new ScorerStreamClient({ connection: 'redis://127.0.0.1:6379', stream: 'cards', partitions: 16 });
 * await client.publish([{ id: 't1', timestamp: '2026-01-01T10:00:00Z', amount: 25, currency: 'EUR', cardId: 'c1',
 *   customerId: 'u1', merchantId: 'm1', merchantCategory: '5411', channel: 'pos' }]);
 * console.log(await client.status());
 * await client.close();
 * ```
 */
export class ScorerStreamClient {
  private readonly redis: Redis;
  private readonly keys: StreamKeys;
  private readonly stream: string;
  private readonly partitions: number;
  private readonly maxLen: number;
  private checked = false;

  /**
   * @param options - connection, stream name, partition count
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad option (a connection that is neither a URL nor
   *   an options object included), before any connection is made
   */
  constructor(options: ScorerStreamClientOptions) {
    if (typeof options?.stream !== 'string' || !/^[A-Za-z0-9_.:\-{}]{1,200}$/.test(options.stream)) {
      throw new LeptonError('INVALID_ARGUMENT', 'stream must be 1 to 200 characters of letters, digits and _ . : - { }.');
    }
    if (typeof options.connection !== 'string' && (typeof options.connection !== 'object' || options.connection === null)) {
      throw new LeptonError('INVALID_ARGUMENT', 'connection must be a Redis URL or ioredis options.');
    }
    this.stream = options.stream;
    this.partitions = numberOption(options.partitions ?? 1, 'partitions', { min: 1, max: MAX_PARTITIONS, integer: true });
    this.maxLen = numberOption(options.maxInputLength ?? 0, 'maxInputLength', { min: 0, integer: true });
    this.keys = streamKeys(options.stream);
    this.redis = typeof options.connection === 'string' ? new Redis(options.connection, { maxRetriesPerRequest: 3 }) : new Redis({ maxRetriesPerRequest: 3, ...options.connection });
    this.redis.on('error', () => undefined); // commands fail with the error; ioredis reconnects
  }

  /**
   * Publishes records (one pipeline): each as `{ tx: JSON }` to the partition of its `cardId` (partition 0 when it
   * has none; the scorers dead-letter it). Records are not validated here; the scorers validate every entry.
   * Publish each card's transactions in time order.
   *
   * @param records - transactions (objects that `JSON.stringify` can write)
   * @returns the entry id of each record, index-aligned
   * @throws {@link @lepton/core!LeptonError} `FINANCE_STREAM_CONFIG` when the streams were set up with another
   *   partition count; `FINANCE_STREAM_UNAVAILABLE` when Redis refused the write
   */
  async publish(records: readonly unknown[]): Promise<string[]> {
    await this.check();
    const pipe = this.redis.pipeline();
    for (const r of records) {
      const card = (r as { cardId?: unknown } | null)?.cardId;
      const p = typeof card === 'string' ? partitionOf(card, this.partitions) : 0;
      const payload = JSON.stringify(r);
      if (this.maxLen > 0) pipe.xadd(this.keys.partition(p), 'MAXLEN', '~', this.maxLen, '*', 'tx', payload);
      else pipe.xadd(this.keys.partition(p), '*', 'tx', payload);
    }
    const replies = await this.exec(pipe);
    return replies.map((r) => String(r));
  }

  /**
   * Reads scores in output order.
   *
   * @param options - `after`: an entry id to read after (default from the start); `count`: at most this many (default 1,000)
   * @returns the records
   */
  async readScores(options: { after?: string; count?: number } = {}): Promise<ScoreRecord[]> {
    return (await this.range(this.keys.scores, options)).map(([id, f]) => parseScore(id, f));
  }

  /**
   * Reads alerts (scores whose decision is `review` or `decline`) in output order.
   *
   * @param options - as for {@link readScores}
   * @returns the records
   */
  async readAlerts(options: { after?: string; count?: number } = {}): Promise<ScoreRecord[]> {
    return (await this.range(this.keys.alerts, options)).map(([id, f]) => parseScore(id, f));
  }

  /**
   * Reads dead letters in output order.
   *
   * @param options - as for {@link readScores}
   * @returns the records
   */
  async readDeadLetters(options: { after?: string; count?: number } = {}): Promise<DeadLetterRecord[]> {
    return (await this.range(this.keys.dead, options)).map(([id, f]) => parseDeadLetter(id, f));
  }

  /**
   * The group's backlog and output sizes.
   *
   * @param group - the consumer group (default `lepton-scorers`)
   * @returns the status
   */
  async status(group = 'lepton-scorers'): Promise<ScorerGroupStatus> {
    const pipe = this.redis.pipeline();
    for (let p = 0; p < this.partitions; p++) {
      pipe.xinfo('GROUPS', this.keys.partition(p));
      pipe.xpending(this.keys.partition(p), group);
    }
    pipe.xlen(this.keys.scores).xlen(this.keys.alerts).xlen(this.keys.dead);
    let replies: Array<[Error | null, unknown]> | null;
    try {
      replies = await pipe.exec();
    } catch (err) {
      throw new LeptonError('FINANCE_STREAM_UNAVAILABLE', `Could not read the status of stream '${this.stream}' (${(err as Error).name}).`, { cause: err });
    }
    // A partition nobody has consumed yet has no stream or group: it counts as empty.
    const r = (replies ?? []).map(([err, v]) => (err ? null : v));
    const out: ScorerGroupStatus = { undelivered: 0, pending: 0, scores: 0, alerts: 0, deadLetters: 0, consumers: {} };
    for (let p = 0; p < this.partitions; p++) {
      const groups = (r[2 * p] as unknown[][]) ?? [];
      for (const g of groups) {
        const info = new Map<string, unknown>();
        for (let i = 0; i + 1 < g.length; i += 2) info.set(String(g[i]), g[i + 1]);
        if (info.get('name') === group) out.undelivered += Number(info.get('lag') ?? 0);
      }
      const [count, , , consumers] = (r[2 * p + 1] ?? [0, null, null, null]) as [number, unknown, unknown, Array<[string, string]> | null];
      out.pending += Number(count);
      for (const [name, n] of consumers ?? []) out.consumers[name] = (out.consumers[name] ?? 0) + Number(n);
    }
    const n = 2 * this.partitions;
    out.scores = Number(r[n]);
    out.alerts = Number(r[n + 1]);
    out.deadLetters = Number(r[n + 2]);
    return out;
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private async check(): Promise<void> {
    if (this.checked) return;
    try {
      await checkPartitions(this.redis, this.stream, this.partitions);
    } catch (err) {
      if (err instanceof LeptonError) throw err;
      throw new LeptonError('FINANCE_STREAM_UNAVAILABLE', `Could not reach Redis for stream '${this.stream}' (${(err as Error).name}).`, { cause: err });
    }
    this.checked = true;
  }

  private async range(key: string, options: { after?: string; count?: number }): Promise<Array<[string, string[]]>> {
    const count = numberOption(options.count ?? 1000, 'count', { min: 1, max: 1_000_000, integer: true });
    if (options.after !== undefined && typeof options.after !== 'string') throw new LeptonError('INVALID_ARGUMENT', `after must be an entry id (a string), got ${describeValue(options.after)}.`);
    const start = options.after === undefined ? '-' : `(${options.after}`;
    try {
      return (await this.redis.xrange(key, start, '+', 'COUNT', count)) as Array<[string, string[]]>;
    } catch (err) {
      throw new LeptonError('FINANCE_STREAM_UNAVAILABLE', `Could not read '${key}' from Redis (${(err as Error).name}).`, { cause: err });
    }
  }

  private async exec(pipe: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
    let replies: Array<[Error | null, unknown]> | null;
    try {
      replies = await pipe.exec();
    } catch (err) {
      throw new LeptonError('FINANCE_STREAM_UNAVAILABLE', `Redis refused a write to stream '${this.stream}' (${(err as Error).name}).`, { cause: err });
    }
    return (replies ?? []).map(([err, v]) => {
      if (err) throw new LeptonError('FINANCE_STREAM_UNAVAILABLE', `Redis refused a command on stream '${this.stream}' (${err.name}).`, { cause: err });
      return v;
    });
  }
}
