import { Redis, type RedisOptions } from 'ioredis';
import { describeValue, LeptonError } from '@lepton/core';
import { numberOption, optionsObject } from '../internal/guards.js';
import { MAX_PARTITIONS, MAX_STREAM_LENGTH, readOptions, type ScorerLogEvent } from './options.js';
import { redisCause, safeLog } from './safety.js';
import { parseDeadLetter, parseScore, type DeadLetterRecord, type MalformedEntry, type ScoreRecord } from './records.js';
import { checkPartitions, partitionOf, streamKeys, TRIM_ACKED_LUA, type StreamKeys } from './streams.js';

/** Options of {@link ScorerStreamClient}. */
export interface ScorerStreamClientOptions {
  /** Redis: a URL or ioredis options (the same server as the scorers). */
  connection: string | RedisOptions;
  /** Base name of the streams, as given to the scorers. */
  stream: string;
  /** Number of input partitions, as given to the scorers (checked against the streams' record). Default 1. */
  partitions?: number;
  /**
   * Keep each input partition to about this many entries (an integer up to `Number.MAX_SAFE_INTEGER`); 0 keeps
   * everything. Default 0. At most once a second, after a publish, the partitions published to are trimmed with
   * `XTRIM MINID` below the oldest entry any consumer group still needs (its oldest pending entry, or the entry after
   * its last delivered one): **only entries every group has acknowledged are ever deleted**, so while the scorers are
   * down or behind a partition grows past this length instead of losing transactions. A partition with no group yet
   * (no scorer ever started) is never trimmed.
   */
  maxInputLength?: number;
  /**
   * Receives log events (default: none). The client logs one `warn` event `malformed-entry` for each output entry it
   * skips (see {@link ScorerStreamClient.readScores}), with the stream, the entry id and the field; never its content.
   */
  log?: (event: ScorerLogEvent) => void;
}

/** Counters of one {@link ScorerStreamClient}. */
export interface ScorerStreamClientStats {
  /**
   * Output entries skipped because they could not be read as a record (a field missing, not a finite number, not
   * JSON …: written by something other than a scorer, or damaged). Each read that meets such an entry counts it.
   */
  malformed: number;
}

/** The options every read takes. */
interface ReadOptions {
  after?: string;
  count?: number;
}

/** The client trims its input partitions at most this often, ms (see `maxInputLength`). */
const TRIM_INTERVAL_MS = 1000;

/** A stream entry id, or its time part alone (what `XRANGE` accepts as a start). */
const ENTRY_ID = /^\d{1,20}(?:-\d{1,20})?$/;

/** Where a scorer group stands: backlog and output sizes. */
export interface ScorerGroupStatus {
  /**
   * Entries published and not yet delivered to any consumer (sum of the group's `lag` over partitions), or `null`
   * when Redis cannot tell: a partition holds entries but has no such group yet, or Redis does not report the lag
   * (before 7.0, or after entries the group had not read were deleted). Never reported as 0 when unknown.
   */
  undelivered: number | null;
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
  private readonly log: (event: ScorerLogEvent) => void;
  private malformed = 0;
  private checked = false;
  /** Partitions published to since the last trim, and when that was. */
  private readonly toTrim = new Set<number>();
  private lastTrim = 0;

  /**
   * @param options - connection, stream name, partition count, log
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad option (a connection that is neither a URL nor
   *   an options object included, a log that is not a function), before any connection is made
   */
  constructor(options: ScorerStreamClientOptions) {
    // Each option read once, inside a guard: a throwing getter or Proxy trap is INVALID_ARGUMENT.
    const o = readOptions(options, ['connection', 'stream', 'partitions', 'maxInputLength', 'log'] as const, 'ScorerStreamClient');
    if (typeof o.stream !== 'string' || !/^[A-Za-z0-9_.:\-{}]{1,200}$/.test(o.stream)) {
      throw new LeptonError('INVALID_ARGUMENT', 'stream must be 1 to 200 characters of letters, digits and _ . : - { }.');
    }
    const connection = o.connection;
    if (typeof connection !== 'string' && (typeof connection !== 'object' || connection === null)) {
      throw new LeptonError('INVALID_ARGUMENT', 'connection must be a Redis URL or ioredis options.');
    }
    this.stream = o.stream;
    this.partitions = numberOption(o.partitions ?? 1, 'partitions', { min: 1, max: MAX_PARTITIONS, integer: true });
    this.maxLen = numberOption(o.maxInputLength ?? 0, 'maxInputLength', { min: 0, max: MAX_STREAM_LENGTH, integer: true });
    if (o.log !== undefined && typeof o.log !== 'function') throw new LeptonError('INVALID_ARGUMENT', 'log must be a function (event) => void.');
    this.log = safeLog(o.log as ((event: ScorerLogEvent) => void) | undefined);
    this.keys = streamKeys(o.stream);
    let redisOptions: RedisOptions | undefined;
    if (typeof connection !== 'string') {
      try {
        redisOptions = { maxRetriesPerRequest: 3, ...(connection as RedisOptions) };
      } catch {
        throw new LeptonError('INVALID_ARGUMENT', 'connection could not be read (a getter or a Proxy trap threw).', { details: { option: 'connection' } });
      }
    }
    this.redis = typeof connection === 'string' ? new Redis(connection, { maxRetriesPerRequest: 3 }) : new Redis(redisOptions!);
    this.redis.on('error', () => undefined); // commands fail with the error; ioredis reconnects
    this.redis.defineCommand('leptonTrimAcked', { numberOfKeys: 1, lua: TRIM_ACKED_LUA });
  }

  /**
   * Publishes records (one pipeline): each as `{ tx: JSON }` to the partition of its `cardId` with surrounding
   * whitespace trimmed, as the scorers read it (partition 0 when it has none; the scorers dead-letter it). With
   * `maxInputLength`, the partitions are trimmed afterwards, at most once a second, of acknowledged entries only.
   * Records are not validated as transactions here (the scorers validate every entry), but each must be a plain object that `JSON.stringify` can write. All or nothing: every record is checked
   * and serialised before anything is sent, so a refused batch publishes none of its records (the ids returned stay
   * index-aligned, and a retry after fixing the record publishes nothing twice).
   * Publish each card's transactions in time order.
   *
   * @param records - an array of transactions: plain objects (no cycle, no BigInt, no property that throws)
   * @returns the entry id of each record, index-aligned
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` when `records` is not an array, or (with `details.index`)
   *   a record is not a plain object or cannot be written as a JSON object — nothing is published then;
   *   `FINANCE_STREAM_CONFIG` when the streams were set up with another partition count; `FINANCE_STREAM_UNAVAILABLE`
   *   when Redis refused the write
   */
  async publish(records: readonly unknown[]): Promise<string[]> {
    if (!Array.isArray(records)) {
      // The kind only, never the value: a record passed where the array belongs may hold a card number.
      throw new LeptonError('INVALID_INPUT', `publish needs an array of transactions, got ${records === null ? 'null' : typeof records === 'object' ? 'an object' : `a ${typeof records}`}.`);
    }
    const out: Array<{ partition: number; payload: string }> = [];
    let length: number;
    try {
      length = records.length;
    } catch {
      throw new LeptonError('INVALID_INPUT', 'publish: the records array could not be read (a Proxy trap threw).');
    }
    for (let i = 0; i < length; i++) {
      let record: unknown;
      try {
        record = records[i];
      } catch {
        throw new LeptonError('INVALID_INPUT', `publish: record ${i} could not be read (a getter or a Proxy trap threw); publish plain transaction objects.`, { details: { index: i } });
      }
      out.push(this.serialise(record, i));
    }
    await this.check();
    const pipe = this.redis.pipeline();
    for (const { partition, payload } of out) pipe.xadd(this.keys.partition(partition), '*', 'tx', payload);
    const replies = await this.exec(pipe);
    if (this.maxLen > 0) {
      for (const { partition } of out) this.toTrim.add(partition);
      if (Date.now() - this.lastTrim >= TRIM_INTERVAL_MS) await this.trim();
    }
    return replies.map((r) => String(r));
  }

  /**
   * Trims the partitions published to since the last trim to about `maxInputLength` entries, deleting only entries
   * every consumer group has acknowledged (see {@link ScorerStreamClientOptions.maxInputLength}). Never throws: the
   * records are published; a failed trim is logged (`trim-failed`) and tried again with the next publish.
   */
  private async trim(): Promise<void> {
    this.lastTrim = Date.now();
    const parts = [...this.toTrim];
    const pipe = this.redis.pipeline() as unknown as ReturnType<Redis['pipeline']> & { leptonTrimAcked(key: string, maxLen: string): unknown };
    for (const p of parts) pipe.leptonTrimAcked(this.keys.partition(p), String(this.maxLen));
    let failed: string | undefined;
    try {
      const replies = (await pipe.exec()) ?? [];
      replies.forEach(([err], i) => {
        if (err) failed ??= err.name;
        else this.toTrim.delete(parts[i]!);
      });
    } catch (err) {
      failed = redisCause(err).name;
    }
    if (failed !== undefined) {
      this.log({ level: 'warn', event: 'trim-failed', message: `Could not trim the input partitions of '${this.stream}' (${failed}); retried with the next publish.`, details: { stream: this.stream } });
    }
  }

  /** One record's partition and JSON, or `INVALID_INPUT` naming its index (never its content). */
  private serialise(record: unknown, index: number): { partition: number; payload: string } {
    const refuse = (what: string): LeptonError =>
      new LeptonError('INVALID_INPUT', `publish: record ${index} ${what}; publish plain transaction objects (validateTransactions output, or parsed JSON).`, {
        details: { index },
      });
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      const kind = record === null || record === undefined ? String(record) : Array.isArray(record) ? 'an array' : typeof record === 'object' ? 'an object' : `a ${typeof record}`;
      throw refuse(`is ${kind}, not an object`);
    }
    let payload: unknown;
    let card: unknown;
    try {
      // A class instance (a Date, a Map …) is not a transaction: JSON.stringify would write it as a string or `{}`.
      const proto: unknown = Object.getPrototypeOf(record);
      if (proto !== Object.prototype && proto !== null) throw refuse('is not a plain object');
      card = (record as { cardId?: unknown }).cardId;
      payload = JSON.stringify(record);
    } catch (err) {
      if (err instanceof LeptonError) throw err;
      throw refuse('cannot be written as JSON (a cycle, a BigInt, or a property or toJSON that throws)');
    }
    // toJSON may turn the object into a string, a number or nothing: the scorers read only a JSON object.
    if (typeof payload !== 'string' || !payload.startsWith('{')) throw refuse('is not written as a JSON object (check its toJSON)');
    // Routed on the card id as the scorers read it: the transaction schema trims identifiers, so ' c1' is card c1 and
    // must go to c1's partition (the scorers dead-letter an entry found in another partition than its card's).
    return { partition: typeof card === 'string' ? partitionOf(card.trim(), this.partitions) : 0, payload };
  }

  /**
   * Reads scores in output order. An entry that cannot be read as a {@link ScoreRecord} (a field missing, a number
   * that is not finite or outside its range, a partition this client does not have, features that are not a JSON
   * array of finite numbers: written by something other than a scorer, or damaged) is skipped, counted in
   * {@link stats} and logged (`malformed-entry`); never returned with NaN fields, and never a reason to lose the rest of the read. Reading goes on past skipped entries, so a page is empty
   * only at the end of the stream.
   *
   * @param options - `after`: an entry id to read after (default from the start); `count`: at most this many records
   *   (default 1,000)
   * @returns the records
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for options that are not an object, an `after` that
   *   is not an entry id or a `count` that is not an integer from 1 to 1,000,000; `FINANCE_STREAM_UNAVAILABLE` when
   *   Redis cannot be read
   */
  async readScores(options: { after?: string; count?: number } = {}): Promise<ScoreRecord[]> {
    return this.read(this.keys.scores, options, 'readScores', (id, f) => parseScore(id, f, this.partitions));
  }

  /**
   * Reads alerts (scores whose decision is `review` or `decline`) in output order; malformed entries are skipped and
   * counted as by {@link readScores}.
   *
   * @param options - as for {@link readScores}
   * @returns the records
   * @throws {@link @lepton/core!LeptonError} as {@link readScores}
   */
  async readAlerts(options: { after?: string; count?: number } = {}): Promise<ScoreRecord[]> {
    return this.read(this.keys.alerts, options, 'readAlerts', (id, f) => parseScore(id, f, this.partitions));
  }

  /**
   * Reads dead letters in output order; malformed entries (no partition, no code …) are skipped and counted as by
   * {@link readScores}.
   *
   * @param options - as for {@link readScores}
   * @returns the records
   * @throws {@link @lepton/core!LeptonError} as {@link readScores}
   */
  async readDeadLetters(options: { after?: string; count?: number } = {}): Promise<DeadLetterRecord[]> {
    return this.read(this.keys.dead, options, 'readDeadLetters', (id, f) => parseDeadLetter(id, f, this.partitions));
  }

  /**
   * Counters since the client was made.
   *
   * @returns a snapshot
   */
  stats(): ScorerStreamClientStats {
    return { malformed: this.malformed };
  }

  /**
   * The group's backlog and output sizes.
   *
   * @param group - the consumer group (default `lepton-scorers`)
   * @returns the status
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a group that is not 1 to 200 characters of letters,
   *   digits and _ . : - { }; `FINANCE_STREAM_UNAVAILABLE` when Redis cannot be read
   */
  async status(group = 'lepton-scorers'): Promise<ScorerGroupStatus> {
    if (typeof group !== 'string' || !/^[A-Za-z0-9_.:\-{}]{1,200}$/.test(group)) {
      throw new LeptonError('INVALID_ARGUMENT', 'group must be 1 to 200 characters of letters, digits and _ . : - { }.');
    }
    const pipe = this.redis.pipeline();
    for (let p = 0; p < this.partitions; p++) {
      pipe.xinfo('GROUPS', this.keys.partition(p));
      pipe.xpending(this.keys.partition(p), group);
      pipe.xlen(this.keys.partition(p));
    }
    pipe.xlen(this.keys.scores).xlen(this.keys.alerts).xlen(this.keys.dead);
    let replies: Array<[Error | null, unknown]> | null;
    try {
      replies = await pipe.exec();
    } catch (err) {
      throw new LeptonError('FINANCE_STREAM_UNAVAILABLE', `Could not read the status of stream '${this.stream}' (${(err as Error).name}).`, { cause: redisCause(err) });
    }
    // A partition with no stream yet counts as empty; one holding entries without the group has an unknown backlog.
    const r = (replies ?? []).map(([err, v]) => (err ? null : v));
    const out: ScorerGroupStatus = { undelivered: 0, pending: 0, scores: 0, alerts: 0, deadLetters: 0, consumers: {} };
    let unknown = false;
    for (let p = 0; p < this.partitions; p++) {
      const groups = (r[3 * p] as unknown[][]) ?? [];
      let lag: number | null | undefined;
      for (const g of groups) {
        const info = new Map<string, unknown>();
        for (let i = 0; i + 1 < g.length; i += 2) info.set(String(g[i]), g[i + 1]);
        if (info.get('name') !== group) continue;
        const raw = info.get('lag');
        lag = raw === null || raw === undefined ? null : Number(raw);
      }
      const length = Number(r[3 * p + 2] ?? 0);
      // No group on a partition that holds entries, or a lag Redis does not know: the backlog is unknown, not 0.
      if (lag === null || (lag === undefined && length > 0) || (lag !== undefined && !Number.isFinite(lag))) unknown = true;
      else if (lag !== undefined) out.undelivered = (out.undelivered ?? 0) + lag;
      const [count, , , consumers] = (r[3 * p + 1] ?? [0, null, null, null]) as [number, unknown, unknown, Array<[string, string]> | null];
      out.pending += Number(count);
      for (const [name, n] of consumers ?? []) out.consumers[name] = (out.consumers[name] ?? 0) + Number(n);
    }
    if (unknown) out.undelivered = null;
    const n = 3 * this.partitions;
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
      throw new LeptonError('FINANCE_STREAM_UNAVAILABLE', `Could not reach Redis for stream '${this.stream}' (${(err as Error).name}).`, { cause: redisCause(err) });
    }
    this.checked = true;
  }

  /**
   * Up to `count` well-formed records after `after`: raw pages of `count` entries are read until enough records are
   * found or the stream ends, so skipped entries never make a page look like the end of the stream.
   */
  private async read<T extends { entryId: string }>(
    key: string,
    options: ReadOptions,
    what: string,
    parse: (id: string, fields: readonly string[] | null) => { record: T } | { malformed: MalformedEntry },
  ): Promise<T[]> {
    const o = optionsObject(options, `ScorerStreamClient.${what}`);
    const count = numberOption(o.count ?? 1000, 'count', { min: 1, max: 1_000_000, integer: true });
    if (o.after !== undefined && (typeof o.after !== 'string' || !ENTRY_ID.test(o.after))) {
      throw new LeptonError('INVALID_ARGUMENT', `after must be an entry id (a string such as '1700000000000-0'), got ${describeValue(o.after)}.`);
    }
    const out: T[] = [];
    let after = o.after;
    for (;;) {
      const page = await this.range(key, after, count);
      for (const [id, fields] of page) {
        after = id;
        const r = parse(id, fields);
        if ('record' in r) {
          out.push(r.record);
          if (out.length === count) return out;
          continue;
        }
        this.malformed++;
        const { field, reason } = r.malformed;
        this.log({
          level: 'warn',
          event: 'malformed-entry',
          message: `Entry ${id} of '${key}' skipped: '${field}' ${reason}.`,
          details: { stream: key, entry: id, field },
        });
      }
      if (page.length < count) return out;
    }
  }

  private async range(key: string, after: string | undefined, count: number): Promise<Array<[string, string[] | null]>> {
    const start = after === undefined ? '-' : `(${after}`;
    try {
      return (await this.redis.xrange(key, start, '+', 'COUNT', count)) as Array<[string, string[] | null]>;
    } catch (err) {
      throw new LeptonError('FINANCE_STREAM_UNAVAILABLE', `Could not read '${key}' from Redis (${(err as Error).name}).`, { cause: redisCause(err) });
    }
  }

  private async exec(pipe: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
    let replies: Array<[Error | null, unknown]> | null;
    try {
      replies = await pipe.exec();
    } catch (err) {
      throw new LeptonError('FINANCE_STREAM_UNAVAILABLE', `Redis refused a write to stream '${this.stream}' (${(err as Error).name}).`, { cause: redisCause(err) });
    }
    return (replies ?? []).map(([err, v]) => {
      if (err) throw new LeptonError('FINANCE_STREAM_UNAVAILABLE', `Redis refused a command on stream '${this.stream}' (${err.name}).`, { cause: redisCause(err) });
      return v;
    });
  }
}
