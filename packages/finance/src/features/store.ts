import { setTimeout as sleep } from 'node:timers/promises';
import { Redis, type RedisOptions } from 'ioredis';
import { LeptonError } from '@lepton/core';
import { numberOption } from '../internal/guards.js';

/** Throws `INVALID_ARGUMENT` unless `keys` is an array of strings (a store method's argument). */
function checkKeys(keys: unknown, what: string): asserts keys is string[] {
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) throw new LeptonError('INVALID_ARGUMENT', `${what}: keys must be an array of strings.`);
}

/** Throws `INVALID_ARGUMENT` unless `key` is a string and `fn` a function (a store's `update` arguments). */
function checkUpdate(key: unknown, fn: unknown, what: string): void {
  if (typeof key !== 'string') throw new LeptonError('INVALID_ARGUMENT', `${what}: key must be a string.`);
  if (typeof fn !== 'function') throw new LeptonError('INVALID_ARGUMENT', `${what}: fn must be a function of the previous value.`);
}

/**
 * Where feature state lives. Values are JSON-serialisable objects; `update` is an atomic read-modify-write of one
 * key, so several scoring processes can share one store.
 */
export interface StateStore {
  /**
   * Reads several keys at once.
   *
   * @param keys - state keys
   * @returns the values, index-aligned (`undefined` where absent)
   */
  getMany<T>(keys: string[]): Promise<Array<T | undefined>>;
  /**
   * Atomically replaces one key's value with `fn(previous)`.
   *
   * @param key - state key
   * @param fn - computes the new value from the previous one (may be called more than once under contention)
   * @returns the value written
   */
  update<T>(key: string, fn: (prev: T | undefined) => T): Promise<T>;
  /** Releases connections. */
  close(): Promise<void>;
}

/**
 * Feature state in this process's memory: the default, and the fastest. Values are held as the objects written
 * (no serialisation), so they must be treated as immutable — the feature engine only ever replaces them. They are
 * plain JSON data, so the Redis store round-trips exactly the same values (a test checks identical features).
 */
export class MemoryStateStore implements StateStore {
  private readonly map = new Map<string, unknown>();

  /**
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` unless `keys` is an array of strings
   */
  async getMany<T>(keys: string[]): Promise<Array<T | undefined>> {
    checkKeys(keys, 'MemoryStateStore.getMany');
    return keys.map((k) => this.map.get(k) as T | undefined);
  }

  /**
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` unless `key` is a string and `fn` a function
   */
  async update<T>(key: string, fn: (prev: T | undefined) => T): Promise<T> {
    checkUpdate(key, fn, 'MemoryStateStore.update');
    const next = fn(this.map.get(key) as T | undefined);
    this.map.set(key, next);
    return next;
  }

  /** Number of keys held. */
  get size(): number {
    return this.map.size;
  }

  async close(): Promise<void> {
    this.map.clear();
  }
}

/** Options for {@link RedisStateStore}. */
export interface RedisStateStoreOptions {
  /** A connection URL (`redis://127.0.0.1:6379/0`) or ioredis options. */
  connection: string | RedisOptions;
  /** Prefix of every key, to share one Redis between applications. Default `lepton:finance:`. */
  prefix?: string;
  /** Expire state not updated for this long, in seconds (0 = never). Default 30 days. */
  ttlSeconds?: number;
  /** Retries of an optimistic update under contention (with jittered backoff) before giving up. Default 100. */
  maxRetries?: number;
}

/**
 * Feature state in Redis (ioredis), shared by every scoring process that points at the same server and prefix.
 * Updates are optimistic transactions (WATCH / MULTI / EXEC), retried when another process wrote the key first.
 */
export class RedisStateStore implements StateStore {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly ttl: number;
  private readonly maxRetries: number;
  private queue: Promise<void> = Promise.resolve();
  /** The latest connection error ioredis reported (commands fail with it while the server is unreachable). */
  lastError: Error | undefined;

  /**
   * @param options - connection, key prefix, expiry and retry limit
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` (before any connection is made) for options that are
   *   not an object, a connection that is neither a URL nor an options object, a prefix that is not a string, a
   *   `ttlSeconds` that is not an integer ≥ 0 (Redis refuses a fractional `EX`; NaN silently meant "never expire"), or
   *   a `maxRetries` that is not an integer ≥ 0 (NaN meant no attempt at all)
   */
  constructor(options: RedisStateStoreOptions) {
    if (typeof options !== 'object' || options === null) throw new LeptonError('INVALID_ARGUMENT', 'RedisStateStore options must be an object ({ connection, … }).');
    const { connection } = options;
    if (typeof connection !== 'string' && (typeof connection !== 'object' || connection === null)) {
      throw new LeptonError('INVALID_ARGUMENT', 'RedisStateStore: connection must be a Redis URL or ioredis options.');
    }
    const prefix: unknown = options.prefix ?? 'lepton:finance:';
    if (typeof prefix !== 'string') throw new LeptonError('INVALID_ARGUMENT', 'RedisStateStore: prefix must be a string.');
    this.prefix = prefix;
    this.ttl = numberOption(options.ttlSeconds ?? 30 * 86_400, 'RedisStateStore: ttlSeconds', { min: 0, integer: true });
    this.maxRetries = numberOption(options.maxRetries ?? 100, 'RedisStateStore: maxRetries', { min: 0, integer: true });
    this.redis = typeof connection === 'string' ? new Redis(connection, { lazyConnect: false, maxRetriesPerRequest: 3 }) : new Redis({ maxRetriesPerRequest: 3, ...connection });
    // Connection errors surface as rejected commands (and ioredis reconnects); keep the event from being unhandled.
    this.redis.on('error', (err: Error) => {
      this.lastError = err;
    });
  }

  /**
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` unless `keys` is an array of strings
   */
  async getMany<T>(keys: string[]): Promise<Array<T | undefined>> {
    checkKeys(keys, 'RedisStateStore.getMany');
    if (keys.length === 0) return [];
    const values = await this.redis.mget(...keys.map((k) => this.prefix + k));
    return values.map((v) => (v === null ? undefined : (JSON.parse(v) as T)));
  }

  /**
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` unless `key` is a string and `fn` a function;
   *   `FINANCE_STATE_CONFLICT` when the key kept changing under `maxRetries` retries
   */
  async update<T>(key: string, fn: (prev: T | undefined) => T): Promise<T> {
    checkUpdate(key, fn, 'RedisStateStore.update');
    // WATCH belongs to the connection: two updates interleaved on it would share one watch list and one EXEC.
    // So this process's updates go one at a time; other processes are handled by WATCH itself.
    const run = this.queue.then(() => this.watchedUpdate(key, fn));
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async watchedUpdate<T>(key: string, fn: (prev: T | undefined) => T): Promise<T> {
    const full = this.prefix + key;
    for (let attempt = 0; attempt <= this.maxRetries; attempt++) {
      await this.redis.watch(full);
      const raw = await this.redis.get(full);
      const next = fn(raw === null ? undefined : (JSON.parse(raw) as T));
      const multi = this.redis.multi();
      if (this.ttl > 0) multi.set(full, JSON.stringify(next), 'EX', this.ttl);
      else multi.set(full, JSON.stringify(next));
      const result = await multi.exec();
      if (result !== null) return next;
      // Another process wrote the key first. Back off for a random, growing moment so that competing writers stop
      // colliding in lockstep (without it, three busy writers on one key can starve one of them).
      await sleep(Math.random() * Math.min(50, 2 ** Math.min(attempt, 6)));
    }
    throw new LeptonError('FINANCE_STATE_CONFLICT', `Feature state '${key}' kept changing under ${this.maxRetries} retries; too many writers for one key.`);
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }
}
