import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { LeptonError } from '@lepton/core';
import { FeatureEngine } from '../features/engine.js';
import { RedisStateStore, type StateStore } from '../features/store.js';
import { type FraudScorerServiceOptions, type ResolvedScorerOptions } from './options.js';
import { resolveScorerOptions } from './options.js';
import { ScoreBatcher } from './batcher.js';
import { PartitionWorker, type Entry, type ScorerCounters } from './partition.js';
import { checkPartitions, streamKeys, WRITE_ONCE_LUA, type StreamKeys } from './streams.js';
import { redisCause } from './safety.js';

/** Most Redis connections a scorer process opens for feature state (one per partition up to this). */
const MAX_STATE_CONNECTIONS = 8;

/** What one scorer process has done since it started (a snapshot). `acked = scored + deadLettered + duplicates`. */
export interface ScorerStats extends ScorerCounters {
  /** This process's consumer name in the group. */
  consumer: string;
  /** Entries it has acknowledged. */
  acked: number;
  /** Entries read and not yet acknowledged. */
  inFlight: number;
}

/** A raw `XREADGROUP` / `XCLAIM` entry. */
type RawEntry = [id: string, fields: string[] | null];

/**
 * A fraud scorer in a group of processes sharing one Redis: it reads transactions from partitioned Redis Streams
 * with a consumer group (`XREADGROUP`), computes point-in-time features with state in Redis (`RedisStateStore`),
 * scores them with the model, and writes each score (and alert) to an output stream with the input entry id and the
 * transaction id; the write and the `XACK` are one atomic script, so no entry is acknowledged without its result.
 *
 * **Scaling out.** Start the same service in N processes, on one machine or several: the group shares the entries.
 * A card's transactions all go to one partition (`partitionOf(cardId, partitions)`), and an entry is processed only
 * once every earlier entry of its partition is acknowledged, so each card's features are exactly those one consumer
 * reading in order computes; merchant, customer and device aggregates see what every partition has scored so far.
 * Different partitions run in parallel; use several times more partitions than processes.
 *
 * **Faults.** A consumer that dies leaves its entries pending; after `minIdleMs` another claims them (`XAUTOCLAIM`,
 * or `XCLAIM` when it is waiting for one of them) and finishes them. Each transaction id gets one score: a `SET NX`
 * marker (TTL `dedupeTtlSeconds`) guards the output, and the feature engine refuses a transaction its card already
 * recorded. Redis going away makes commands fail; the service retries with backoff and resumes its own pending
 * entries first. A batch that fails (the model, the store or Redis) is retried from memory, one entry at a time, with
 * a backoff doubling up to 30 s, without counting a delivery; an entry failing on its own `maxDeliveries` times is
 * dead-lettered as poison. Bad input (not JSON, not a valid transaction, out of order, delivered too often) goes to the
 * dead-letter stream with a code and a reason, never its content, and is acknowledged.
 *
 * @example
 * ```ts
 * import { FraudModel, FraudScorerService, initRuntime } from '@lepton/finance';
 * await initRuntime();
 * const model = await FraudModel.load('./fraud-model');
 * const service = await FraudScorerService.start({ connection: 'redis://127.0.0.1:6379', stream: 'cards', partitions: 16, model,
 *   policy: { review: 0.3, decline: 0.9 } });
 * process.once('SIGTERM', () => void service.close());
 * ```
 */
export class FraudScorerService {
  private readonly o: ResolvedScorerOptions;
  private readonly keys: StreamKeys;
  private readonly redis: Redis;
  /** Feature-state stores: the caller's, or ours (one connection per partition, up to {@link MAX_STATE_CONNECTIONS}). */
  private stores: StateStore[] = [];
  private ownsStore = false;
  private readonly workers: PartitionWorker[] = [];
  private readonly byKey = new Map<string, number>();
  private readonly counters: ScorerCounters = { read: 0, scored: 0, alerts: 0, deadLettered: 0, deadLetters: {}, duplicates: 0, rescored: 0, claimed: 0, waits: 0, errors: 0 };
  private readonly abort = new AbortController();
  private inFlight = 0;
  /** Partition tasks running, by partition. */
  private readonly active = new Map<number, Promise<void>>();
  /** The first failure of a partition task, rethrown by the loop. */
  private failure: unknown;
  private closing = false;
  private closeDeadline = Infinity;
  private loopDone: Promise<void> = Promise.resolve();
  private closed: Promise<void> | undefined;
  private down = false;

  private constructor(o: ResolvedScorerOptions) {
    this.o = o;
    this.keys = streamKeys(o.stream);
    const base = typeof o.connection === 'string' ? { lazyConnect: true, maxRetriesPerRequest: 3 } : { maxRetriesPerRequest: 3, ...o.connection, lazyConnect: true };
    this.redis = typeof o.connection === 'string' ? new Redis(o.connection, base) : new Redis(base);
    this.redis.defineCommand('leptonWriteOnce', { numberOfKeys: 5, lua: WRITE_ONCE_LUA });
    // ioredis reconnects by itself; commands fail meanwhile and the loop retries. Log the outage once, not per attempt.
    this.redis.on('error', (err: Error) => {
      if (this.down || this.closing) return;
      this.down = true;
      this.o.log({ level: 'error', event: 'redis-error', message: `Redis connection error (${err.name}); reconnecting.` });
    });
    this.redis.on('ready', () => {
      if (!this.down) return;
      this.down = false;
      this.o.log({ level: 'info', event: 'redis-ready', message: 'Reconnected to Redis.' });
    });
  }

  /**
   * Connects, creates the consumer group on every partition (from the start of each stream, when new), checks the
   * partition count, and starts consuming.
   *
   * @param options - see {@link FraudScorerServiceOptions}
   * @returns the running service
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad option or a model whose feature names differ
   *   from the engine's; `FINANCE_STREAM_CONFIG` when the streams were set up with another partition count;
   *   `FINANCE_STREAM_UNAVAILABLE` when Redis cannot be reached
   */
  static async start(options: FraudScorerServiceOptions): Promise<FraudScorerService> {
    const service = new FraudScorerService(resolveScorerOptions(options));
    try {
      await service.init();
    } catch (err) {
      await service.disconnect();
      if (err instanceof LeptonError) throw err;
      throw new LeptonError('FINANCE_STREAM_UNAVAILABLE', `FraudScorerService could not set up its streams in Redis (${(err as Error).name}); check the connection and that Redis ≥ 6.2 is running.`, { cause: redisCause(err) });
    }
    service.loopDone = service.loop();
    return service;
  }

  private async init(): Promise<void> {
    const o = this.o;
    await this.redis.connect();
    // XAUTOCLAIM and exclusive XPENDING ranges came with Redis 6.2.
    const version = /redis_version:(\d+)\.(\d+)/.exec(await this.redis.info('server'));
    if (version && Number(version[1]) * 100 + Number(version[2]) < 602) {
      throw new LeptonError('FINANCE_STREAM_UNAVAILABLE', `FraudScorerService needs Redis 6.2 or later (XAUTOCLAIM); this server is ${version[1]}.${version[2]}.`);
    }
    await checkPartitions(this.redis, o.stream, o.partitions);
    // Made once Redis answers, so a failed start leaves no client reconnecting in the background.
    // RedisStateStore runs one update at a time per connection (WATCH belongs to the connection), so partitions that
    // shared one would wait on each other's round trips: each gets its own, up to a cap.
    this.ownsStore = o.store === undefined;
    const n = o.store === undefined ? Math.min(o.partitions, MAX_STATE_CONNECTIONS) : 1;
    for (let i = 0; i < n; i++) this.stores.push(o.store ?? new RedisStateStore({ connection: o.connection, prefix: o.statePrefix }));
    const names = new FeatureEngine(o.features).names;
    let same = true;
    try {
      const modelNames = o.model.featureNames;
      same = modelNames === undefined || (modelNames.length === names.length && modelNames.every((n, i) => n === names[i]));
    } catch {
      throw new LeptonError('INVALID_ARGUMENT', "The model's featureNames could not be read (a getter or a Proxy trap threw).");
    }
    if (!same) {
      throw new LeptonError('INVALID_ARGUMENT', 'The model was trained on other features than this service computes; pass the same `features` options it was trained with.');
    }
    // One model call for the runs the partitions finish within a millisecond of each other.
    const batcher = new ScoreBatcher(o.model, 1, 1024);
    for (let p = 0; p < o.partitions; p++) {
      const key = this.keys.partition(p);
      this.byKey.set(key, p);
      try {
        await this.redis.xgroup('CREATE', key, o.group, '0', 'MKSTREAM');
      } catch (err) {
        if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
      }
      const engine = new FeatureEngine({ ...o.features, store: this.stores[p % this.stores.length]! });
      this.workers.push(new PartitionWorker(p, key, engine, this.redis, this.keys, o, this.counters, () => this.abandoned(), batcher));
    }
    o.log({ level: 'info', event: 'started', message: `Scorer ${o.consumer} consuming ${o.partitions} partition(s) of '${o.stream}' in group '${o.group}'.` });
  }

  /** This process's consumer name in the group. */
  get consumer(): string {
    return this.o.consumer;
  }

  /**
   * Counters since start.
   *
   * @returns a snapshot
   */
  stats(): ScorerStats {
    const c = this.counters;
    return { ...c, deadLetters: { ...c.deadLetters }, consumer: this.o.consumer, acked: c.scored + c.deadLettered + c.duplicates, inFlight: this.inFlight };
  }

  /**
   * Stops reading, finishes the entries already read (scores written, acknowledged), then disconnects. Entries still
   * waiting after `closeTimeoutMs` (for an earlier entry another consumer holds) stay pending for the group to claim.
   * Idempotent.
   *
   * @returns when the service has stopped and its connections are closed
   */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      this.closeDeadline = Date.now() + this.o.closeTimeoutMs;
      // Wake backoff sleeps; a blocking read returns within blockMs and its entries are still processed.
      this.abort.abort();
      await this.loopDone;
      await this.disconnect();
      this.o.log({ level: 'info', event: 'closed', message: `Scorer ${this.o.consumer} closed.` });
    })();
    return this.closed;
  }

  private abandoned(): boolean {
    return this.closing && Date.now() > this.closeDeadline;
  }

  private async disconnect(): Promise<void> {
    const quit = async (fn: () => Promise<unknown>, fallback: () => void): Promise<void> => {
      // QUIT waits for Redis; if it is down, do not hang the caller.
      const timer = sleep(2000, 'timeout' as const);
      const r = await Promise.race([fn().then(() => 'ok' as const, () => 'failed' as const), timer]);
      if (r !== 'ok') fallback();
    };
    if (this.ownsStore) await Promise.all(this.stores.map((store) => quit(() => store.close(), () => undefined)));
    await quit(() => this.redis.quit(), () => this.redis.disconnect());
  }

  private async loop(): Promise<void> {
    let backlog = true; // first our own pending entries (a restart under the same name), then new ones
    let nextSweep = 0;
    let failures = 0;
    while (!this.closing) {
      try {
        this.rethrow();
        if (backlog) backlog = await this.readBacklog();
        else await this.readNew();
        if (!this.closing && Date.now() >= nextSweep) {
          await this.sweep();
          nextSweep = Date.now() + this.o.claimIntervalMs;
        }
        this.rethrow();
        failures = 0;
      } catch (err) {
        // Let the partitions still running finish (or fail) before anything is read again: two tasks of this process
        // must never work on one partition at once.
        await this.drain();
        this.failure = undefined;
        this.counters.errors++;
        failures++;
        backlog = true;
        const code = err instanceof LeptonError ? err.code : (err as Error)?.name;
        this.o.log({ level: 'error', event: 'retry', message: `Scoring failed (${code}); the entries stay pending and are retried.`, details: { code } });
        if (this.closing) break;
        await sleep(Math.min(2000, 50 * 2 ** Math.min(failures, 6)) * (0.5 + Math.random()), undefined, { signal: this.abort.signal }).catch(() => undefined);
      }
    }
    await this.drain();
  }

  /** Throws the first failure of a partition task since the last retry. */
  private rethrow(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** Waits until no partition task of this process is running. */
  private async drain(): Promise<void> {
    while (this.active.size > 0) await Promise.allSettled([...this.active.values()]);
  }

  /** Resolves when a partition task ends, or after `ms` (or at close). */
  private settleOrWait(ms: number): Promise<void> {
    // A timer cleared on the first event (not timers/promises' sleep, whose abort listener would stay until it fires).
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.abort.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.abort.signal.addEventListener('abort', done, { once: true });
      for (const task of this.active.values()) void task.then(done, done);
    });
  }

  /**
   * Starts processing one partition's entries, without waiting: each partition runs on its own, so a slow one (a
   * long run, a wait for another consumer) never holds up the reading of the others. At most one task per partition.
   */
  private launch(p: number, entries: Entry[], redelivered: boolean): void {
    const n = entries.length;
    this.counters.read += n;
    this.inFlight += n;
    const task = this.workers[p]!.run(entries, redelivered, () => this.closing, this.abort.signal)
      .catch((err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => {
        this.inFlight -= n;
        this.active.delete(p);
      });
    this.active.set(p, task);
  }

  private async xreadgroup(keys: string[], from: '>' | '0', blockMs: number): Promise<Array<[number, Entry[]]>> {
    const block = blockMs > 0 ? ['BLOCK', blockMs] : [];
    const reply = (await this.redis.xreadgroup(
      'GROUP', this.o.group, this.o.consumer, 'COUNT', this.o.batchSize, ...(block as ['BLOCK', number]), 'STREAMS', ...keys, ...keys.map(() => from),
    )) as Array<[string, RawEntry[]]> | null;
    const batches: Array<[number, Entry[]]> = [];
    for (const [key, raw] of reply ?? []) {
      const p = this.byKey.get(key);
      if (p === undefined || raw.length === 0) continue;
      const read = this.workers[p]!.nextRead();
      // New entries ('>') are contiguous in their stream: only the first needs the earlier-entries check.
      batches.push([p, raw.map(([id, fields], index) => ({ id, fields, read: from === '>' ? read : -1, index }))]);
    }
    return batches;
  }

  /** This consumer's own pending entries, from every partition, all processed before returning. Returns whether there were any. */
  private async readBacklog(): Promise<boolean> {
    await this.drain();
    const batches = await this.xreadgroup(this.workers.map((w) => w.key), '0', 0);
    for (const [p, entries] of batches) this.launch(p, entries, true);
    await this.drain();
    return batches.length > 0;
  }

  /**
   * Reads new entries from partitions nobody holds entries of right now (one XPENDING summary each), up to a fair
   * share of them for this process (partitions ÷ consumers seen holding entries, plus this one, counting the ones it
   * is working on), and starts them. So consumers rarely take consecutive batches of one partition and wait on each
   * other, without any assignment protocol: ownership is read off the pending-entries lists. Blocks up to blockMs
   * only when this process has nothing running; otherwise it looks again as soon as a partition task ends.
   */
  private async readNew(): Promise<void> {
    const idle = this.workers.filter((w) => !this.active.has(w.partition));
    if (idle.length === 0) return this.settleOrWait(this.o.blockMs);
    const pipe = this.redis.pipeline();
    for (const w of idle) pipe.xpending(w.key, this.o.group);
    const replies = (await pipe.exec()) ?? [];
    const owners = new Set<string>();
    const free: string[] = [];
    replies.forEach(([err, reply], i) => {
      if (err) throw err;
      const [count, , , consumers] = reply as [number, string | null, string | null, Array<[string, string]> | null];
      for (const [name] of consumers ?? []) if (name !== this.o.consumer) owners.add(name);
      if (Number(count) === 0) free.push(idle[i]!.key);
    });
    const slots = Math.max(1, Math.ceil(this.workers.length / (owners.size + 1))) - this.active.size;
    // This process has its share: nothing to take until one of its partitions is done.
    if (slots <= 0) return this.settleOrWait(this.o.blockMs);
    // Every partition is being worked on (or waits to be claimed): look again shortly.
    if (free.length === 0) return this.settleOrWait(25);
    for (let i = free.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [free[i], free[j]] = [free[j]!, free[i]!];
    }
    const batches = await this.xreadgroup(free.slice(0, slots), '>', this.active.size === 0 ? this.o.blockMs : 0);
    for (const [p, entries] of batches) this.launch(p, entries, false);
    if (batches.length === 0 && this.active.size > 0) await this.settleOrWait(20);
  }

  /**
   * Claims entries idle longer than minIdleMs (one XAUTOCLAIM page per partition this process is not working on)
   * and starts them.
   */
  private async sweep(): Promise<void> {
    const idle = this.workers.filter((w) => !this.active.has(w.partition));
    if (idle.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const w of idle) pipe.xautoclaim(w.key, this.o.group, this.o.consumer, this.o.minIdleMs, '0-0', 'COUNT', this.o.batchSize);
    const replies = (await pipe.exec()) ?? [];
    replies.forEach(([err, reply], i) => {
      if (err) throw err;
      const p = idle[i]!.partition;
      const raw = ((reply as [string, RawEntry[]])?.[1] ?? []).filter((e): e is RawEntry => Array.isArray(e));
      // Redis 7 also reports (third element) the pending entries it found deleted from the stream, and drops them from
      // the pending list: each is dead-lettered ("deleted before it was scored"), never lost uncounted.
      const deletedRaw: unknown = (reply as unknown[])?.[2];
      const deleted = Array.isArray(deletedRaw) ? deletedRaw.filter((id): id is string => typeof id === 'string') : [];
      if (raw.length + deleted.length === 0) return;
      this.counters.claimed += raw.length + deleted.length;
      const first = raw[0]?.[0] ?? deleted[0];
      this.o.log({ level: 'info', event: 'claimed', message: `Claimed ${raw.length + deleted.length} entries idle over ${this.o.minIdleMs} ms in partition ${p}.`, details: { partition: p, first, count: raw.length + deleted.length, deleted: deleted.length } });
      const entries: Entry[] = [...raw.map(([id, fields]) => ({ id, fields, read: -1, index: 0 })), ...deleted.map((id) => ({ id, fields: null, read: -1, index: 0 }))];
      this.launch(p, entries, true);
    });
  }
}
