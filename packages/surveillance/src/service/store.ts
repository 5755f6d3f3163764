import { appendFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative } from 'node:path';
import { describeValue, isLeptonError, LeptonError, readLines } from '@lepton/core';
import { z } from 'zod';
import { EVENT_ID } from './ids.js';
import type { TrackedObject } from './lifecycle.js';

/** Filters of {@link EventStore.list} (and of `GET /api/events`); every given one must hold. */
export interface EventFilter {
  /** Camera name. */
  camera?: string;
  /** Class. */
  label?: string;
  /** A zone the object entered. */
  zone?: string;
  /** Started at or after this time (epoch ms). */
  after?: number;
  /** Started before this time (epoch ms). */
  before?: number;
  /** `true`: only objects still tracked; `false`: only ended ones. */
  inProgress?: boolean;
  /** Most events returned, newest first (default 100). */
  limit?: number;
}

/** An event as stored: the object and its files. */
export interface StoredEvent {
  /** The object's latest state. */
  object: TrackedObject;
  /** Snapshot JPEG, if one was written. */
  snapshotPath: string | null;
  /** Clip MP4, once cut. */
  clipPath: string | null;
  /** `none` (no recording), `pending` (waiting for the recording to cover the object), `ready`, `failed`. */
  clip: 'none' | 'pending' | 'ready' | 'failed';
}

/** Options of {@link EventStore.open}. */
export interface EventStoreOptions {
  /** Most events kept (≥ 1). */
  capacity: number;
  /** JSON-lines file for ended events, or `null` for memory only. */
  persistPath: string | null;
  /** Delete an evicted event's snapshot and clip files (default true). */
  deleteFiles?: boolean;
  /**
   * The folder every snapshot and clip file is under (the service's output folder). A persisted event naming a file
   * elsewhere (an edited or foreign file) is read back without it, so neither the API nor eviction ever touches a
   * path outside. Default: no check.
   */
  filesUnder?: string | null;
}

const box = z.object({ x: z.number().finite(), y: z.number().finite(), width: z.number().finite().min(0), height: z.number().finite().min(0) });
const time = z.number().int().min(0).max(7_258_118_400_000);
/** A zone or line name: at most 64 characters, as the configuration allows. */
const ruleName = z.string().max(64);
const objectSchema = z.object({
  id: z.string().regex(EVENT_ID),
  camera: z.string().min(1).max(128),
  label: z.string().min(1).max(128),
  trackId: z.number().int().min(0),
  startTime: time,
  endTime: time.nullable(),
  startMediaTime: z.number().finite(),
  lastMediaTime: z.number().finite(),
  score: z.number().finite(),
  topScore: z.number().finite(),
  box,
  currentZones: z.array(ruleName).max(1000),
  enteredZones: z.array(ruleName).max(1000),
  rules: z.array(z.object({ kind: z.enum(['line-cross', 'loitering', 'intrusion']), time, zone: ruleName.optional(), line: ruleName.optional(), direction: z.enum(['a-to-b', 'b-to-a']).optional() })).max(1000),
  snapshot: z.object({ time, score: z.number().finite(), box }).nullable(),
  hasSnapshot: z.boolean(),
  hasClip: z.boolean(),
  endReason: z.enum(['lost', 'camera-ended', 'stopped']).nullable(),
});
const lineSchema = z.object({
  v: z.literal(1),
  object: objectSchema,
  snapshotPath: z.string().max(4096).nullable(),
  clipPath: z.string().max(4096).nullable(),
  clip: z.enum(['none', 'pending', 'ready', 'failed']),
});

/** An event as {@link EventStore.put} takes it: exactly what a persisted line holds, so what is stored can be read back. */
const storedSchema = lineSchema.omit({ v: true });
const filterSchema = z.object({
  camera: z.string().optional(),
  label: z.string().optional(),
  zone: z.string().optional(),
  after: z.number().finite().optional(),
  before: z.number().finite().optional(),
  inProgress: z.boolean().optional(),
  limit: z.number().int().min(0).optional(),
});

/** `INVALID_ARGUMENT` naming the first problem zod found (its path and message; never the value, which may be large). */
function refuse(where: string, error: z.ZodError): never {
  const issue = error.issues[0]!;
  const path = issue.path.length === 0 ? '' : `${issue.path.map(String).join('.')}: `;
  throw new LeptonError('INVALID_ARGUMENT', `${where}: ${path}${issue.message}.`, { details: { path: issue.path.map(String) } });
}

/** Longest persisted line: an event is a few kilobytes. */
const MAX_LINE = 256 * 1024;

/**
 * A bounded in-memory store of tracked-object events (a ring: past `capacity`, the oldest ended event goes first,
 * and with it its snapshot and clip files), with optional persistence: every ended event is appended as one JSON line
 * to a file that is read back on the next start (the last `capacity` events; later lines of an id replace earlier
 * ones; malformed lines are skipped and counted) and rewritten compactly once it holds twice the capacity.
 *
 * @example
 * ```ts
 * import { EventStore } from '@lepton/surveillance';
 * const store = await EventStore.open({ capacity: 100, persistPath: null });
 * console.log(store.list({ camera: 'gate', limit: 10 }).length); // 0
 * ```
 */
export class EventStore {
  readonly #events = new Map<string, StoredEvent>();
  readonly #options: Required<EventStoreOptions>;
  #write: Promise<void> = Promise.resolve();
  #lines = 0;
  #skipped = 0;
  #writeErrors = 0;
  #deleteErrors = 0;

  private constructor(options: Required<EventStoreOptions>) {
    this.#options = options;
  }

  /**
   * Opens a store, reading back the persisted events when there is a file.
   *
   * @param options - capacity and persistence file
   * @returns the store
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad capacity; `EVENTS_READ_FAILED` when the
   *   file exists but cannot be read
   */
  static async open(options: EventStoreOptions): Promise<EventStore> {
    if (!(Number.isInteger(options?.capacity) && options.capacity >= 1)) {
      throw new LeptonError('INVALID_ARGUMENT', `EventStore: capacity must be an integer ≥ 1, got ${describeValue(options?.capacity)}.`);
    }
    // undefined is not null: a forgotten persistPath would have tried to read a file named 'undefined'.
    if (!(options.persistPath === null || (typeof options.persistPath === 'string' && options.persistPath !== ''))) {
      throw new LeptonError('INVALID_ARGUMENT', `EventStore: persistPath must be a file path or null, got ${describeValue(options.persistPath)}.`);
    }
    if (options.deleteFiles !== undefined && typeof options.deleteFiles !== 'boolean') throw new LeptonError('INVALID_ARGUMENT', `EventStore: deleteFiles must be a boolean, got ${describeValue(options.deleteFiles)}.`);
    if (!(options.filesUnder === undefined || options.filesUnder === null || (typeof options.filesUnder === 'string' && options.filesUnder !== ''))) {
      throw new LeptonError('INVALID_ARGUMENT', `EventStore: filesUnder must be a folder path or null, got ${describeValue(options.filesUnder)}.`);
    }
    const store = new EventStore({ deleteFiles: true, filesUnder: null, ...options });
    if (options.persistPath !== null) await store.#load(options.persistPath);
    return store;
  }

  /** Events held now. */
  get size(): number {
    return this.#events.size;
  }

  /** Lines of the persistence file skipped as malformed when it was read, plus file paths dropped as outside `filesUnder`. */
  get skippedLines(): number {
    return this.#skipped;
  }

  /** Appends to the persistence file that failed (the events stay in memory). */
  get writeErrors(): number {
    return this.#writeErrors;
  }

  /** Snapshot and clip files of dropped events that could not be deleted (counted, never thrown). */
  get deleteErrors(): number {
    return this.#deleteErrors;
  }

  /** Deletes a file of a dropped event; a failure is counted, never thrown (nor left as an unhandled rejection). */
  async #remove(path: string): Promise<void> {
    try {
      await rm(path, { force: true });
    } catch {
      this.#deleteErrors++;
    }
  }

  /**
   * Adds an event or replaces its state (same id).
   *
   * @param event - the object and its files
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for an event the store could not read back from its
   *   file (a missing or non-finite field, a malformed id, a time that is not epoch milliseconds); nothing changes
   */
  put(event: StoredEvent): void {
    const checked = storedSchema.safeParse(event);
    if (!checked.success) refuse('EventStore.put', checked.error);
    const known = this.#events.get(event.object.id);
    if (known !== undefined) Object.assign(known, event);
    else this.#events.set(event.object.id, { ...event });
    if (event.object.endTime !== null) this.#persist(event.object.id);
    this.#evict();
  }

  /**
   * Updates the clip of an event (a no-op when it has been evicted meanwhile).
   *
   * @param id - event id
   * @param clip - new clip state
   * @param path - the clip file when ready
   */
  setClip(id: string, clip: StoredEvent['clip'], path: string | null = null): void {
    if (typeof id !== 'string') throw new LeptonError('INVALID_ARGUMENT', `EventStore.setClip: id must be an event id, got ${describeValue(id)}.`);
    if (!['none', 'pending', 'ready', 'failed'].includes(clip)) throw new LeptonError('INVALID_ARGUMENT', `EventStore.setClip: clip must be 'none', 'pending', 'ready' or 'failed', got ${describeValue(clip)}.`);
    if (!(path === null || (typeof path === 'string' && path !== ''))) throw new LeptonError('INVALID_ARGUMENT', `EventStore.setClip: path must be a file path or null, got ${describeValue(path)}.`);
    const e = this.#events.get(id);
    if (e === undefined) {
      if (path !== null && this.#options.deleteFiles) void this.#remove(path);
      return;
    }
    e.clip = clip;
    e.clipPath = path;
    e.object.hasClip = clip === 'ready';
    if (e.object.endTime !== null) this.#persist(id);
  }

  /**
   * One event.
   *
   * @param id - event id
   * @returns the stored event, or undefined
   */
  get(id: string): StoredEvent | undefined {
    return this.#events.get(id);
  }

  /**
   * Events matching a filter, newest start first.
   *
   * @param filter - camera, label, zone, time range, in progress, limit
   * @returns the matching events (copies of the objects)
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a filter of the wrong type (a NaN or string time, a
   *   negative or fractional limit, a non-boolean `inProgress`), which would otherwise match nothing or everything
   */
  list(filter: EventFilter = {}): StoredEvent[] {
    const checked = filterSchema.safeParse(filter);
    if (!checked.success) refuse('EventStore.list', checked.error);
    const limit = filter.limit ?? 100;
    const out: StoredEvent[] = [];
    for (const e of this.#events.values()) {
      const o = e.object;
      if (filter.camera !== undefined && o.camera !== filter.camera) continue;
      if (filter.label !== undefined && o.label !== filter.label) continue;
      if (filter.zone !== undefined && !o.enteredZones.includes(filter.zone)) continue;
      if (filter.after !== undefined && o.startTime < filter.after) continue;
      if (filter.before !== undefined && o.startTime >= filter.before) continue;
      if (filter.inProgress !== undefined && (o.endTime === null) !== filter.inProgress) continue;
      out.push(e);
    }
    out.sort((a, b) => b.object.startTime - a.object.startTime || (a.object.id < b.object.id ? 1 : -1));
    return out.slice(0, limit);
  }

  /** Waits until every persisted line is written. */
  async flush(): Promise<void> {
    await this.#write;
  }

  #persist(id: string): void {
    const path = this.#options.persistPath;
    const e = this.#events.get(id);
    if (path === null || e === undefined) return;
    const line = `${JSON.stringify({ v: 1, ...e })}\n`;
    this.#lines++;
    const compact = this.#lines > 2 * this.#options.capacity;
    this.#write = this.#write
      .then(async () => {
        if (compact) await this.#rewrite(path);
        else await appendFile(path, line);
      })
      .catch(() => void this.#writeErrors++);
  }

  /** Rewrites the file with only the ended events held (write a temporary file, then rename: never a torn file). */
  async #rewrite(path: string): Promise<void> {
    const ended = [...this.#events.values()].filter((e) => e.object.endTime !== null);
    const tmp = `${path}.tmp`;
    await writeFile(tmp, ended.map((e) => `${JSON.stringify({ v: 1, ...e })}\n`).join(''));
    await rename(tmp, path);
    this.#lines = ended.length;
  }

  #evict(): void {
    while (this.#events.size > this.#options.capacity) {
      let victim: StoredEvent | undefined;
      for (const e of this.#events.values()) {
        if (e.object.endTime !== null) {
          victim = e;
          break;
        }
      }
      victim ??= this.#events.values().next().value!;
      this.#events.delete(victim.object.id);
      if (this.#options.deleteFiles) for (const f of [victim.snapshotPath, victim.clipPath]) if (f !== null) void this.#remove(f);
    }
  }

  async #load(path: string): Promise<void> {
    try {
      await this.#read(path);
    } catch (err) {
      if (isLeptonError(err)) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      throw new LeptonError('EVENTS_READ_FAILED', `The event store ${describeValue(path, 200)} could not be read back (${code ?? (err instanceof Error ? err.message : describeValue(err))}).`, { cause: err, details: { reason: code ?? 'error' } });
    }
  }

  async #read(path: string): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    const loaded = new Map<string, StoredEvent>();
    try {
      for await (const item of readLines(path, { readErrorCode: 'EVENTS_READ_FAILED', what: 'event store', maxLineChars: MAX_LINE })) {
        this.#lines++;
        if (!('text' in item)) {
          this.#skipped++;
          continue;
        }
        if (item.text.trim() === '') continue;
        let parsed: z.infer<typeof lineSchema> | undefined;
        try {
          const r = lineSchema.safeParse(JSON.parse(item.text));
          parsed = r.success ? r.data : undefined;
        } catch {
          parsed = undefined;
        }
        if (parsed === undefined || parsed.object.endTime === null) {
          this.#skipped++;
          continue;
        }
        const { v: _v, ...event } = parsed;
        const root = this.#options.filesUnder;
        const inside = (p: string | null): boolean => p === null || root === null || (isAbsolute(p) && !relative(root, p).startsWith('..') && !isAbsolute(relative(root, p)));
        if (!inside(event.snapshotPath)) {
          this.#skipped++;
          event.snapshotPath = null;
          event.object.hasSnapshot = false;
        }
        if (!inside(event.clipPath)) {
          this.#skipped++;
          event.clipPath = null;
          event.clip = 'failed';
          event.object.hasClip = false;
        }
        // A clip still pending stays pending: the service cuts it from the recording at its next start.
        loaded.delete(event.object.id); // re-inserted at the end: its latest position
        loaded.set(event.object.id, event as StoredEvent);
      }
    } catch (err) {
      // No file yet is the normal first start.
      if (isLeptonError(err, 'EVENTS_READ_FAILED') && (err.details as { reason?: string }).reason === 'ENOENT') return;
      throw err;
    }
    const sorted = [...loaded.values()].sort((a, b) => a.object.startTime - b.object.startTime);
    const kept = sorted.slice(-this.#options.capacity);
    for (const e of sorted.slice(0, sorted.length - kept.length)) {
      if (this.#options.deleteFiles) for (const f of [e.snapshotPath, e.clipPath]) if (f !== null) await this.#remove(f);
    }
    for (const e of kept) this.#events.set(e.object.id, e);
    if (this.#lines > 2 * this.#options.capacity || this.#skipped > 0) await this.#rewrite(path);
  }
}
