import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describeValue, LeptonError } from '@lepton/core';

/** One finished recording segment. */
export interface RecordedSegment {
  /** Camera name. */
  camera: string;
  /** The segment file (MP4, or Matroska for codecs MP4 cannot hold). */
  path: string;
  /** Wall-clock time of its first frame, ms since the epoch (±0.2 s; see {@link Recorder}). */
  start: number;
  /** Duration, ms. */
  duration: number;
  /** Size in bytes. */
  bytes: number;
}

/**
 * A finished segment's file name: `<start ms>-<duration ms>.mp4` (`.mkv` for codecs MP4 cannot hold). The name is the
 * index — no database to get out of step with the folder — and the name only uses digits, `-` and `.`, which ffmpeg's
 * concat demuxer accepts in safe mode.
 * @internal
 */
export const SEGMENT_NAME = /^(\d{10,15})-(\d{1,9})\.(?:mp4|mkv)$/;

/**
 * The finished segments of one camera's folder, oldest first (files being written have other names and are not
 * listed; neither is anything with a segment's name that is not a regular file: a folder, a link).
 *
 * @param dir - the camera's recording folder
 * @param camera - camera name, put on each segment
 * @returns the segments (an empty list when the folder does not exist)
 * @example
 * ```ts
 * import { listSegments } from '@lepton/surveillance';
 * for (const s of await listSegments('recordings/gate', 'gate')) console.log(new Date(s.start).toISOString(), s.duration, s.bytes);
 * ```
 */
export async function listSegments(dir: string, camera: string): Promise<RecordedSegment[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: RecordedSegment[] = [];
  for (const name of names) {
    const m = SEGMENT_NAME.exec(name);
    if (!m) continue;
    const path = join(dir, name);
    const bytes = await lstat(path).then((s) => (s.isFile() ? s.size : undefined), () => undefined);
    if (bytes === undefined) continue; // deleted meanwhile, or not a regular file
    out.push({ camera, path, start: Number(m[1]), duration: Number(m[2]), bytes });
  }
  return out.sort((a, b) => a.start - b.start);
}

/** What {@link enforceRetention} removed. */
export interface RetentionResult {
  /** Segments deleted because they were older than the retention. */
  expired: RecordedSegment[];
  /** Segments deleted to get under the byte budget (oldest first). */
  overBudget: RecordedSegment[];
  /**
   * Segments that were due to be deleted but could not be (a permission, a read-only disk); each was tried on its own,
   * and the others were deleted. They are not in `expired` or `overBudget`.
   */
  failed: Array<
    RecordedSegment & {
      /** Why: the error code (`EPERM`, `EBUSY`, `EROFS` …) or message. */
      error: string;
    }
  >;
  /** Bytes of finished segments left. */
  bytes: number;
  /** Finished segments left. */
  segments: number;
}

/** Options of {@link enforceRetention}. */
export interface RetentionOptions {
  /** Camera name → recording folder. */
  dirs: ReadonlyMap<string, string>;
  /** Delete segments that ended more than this long ago, ms. */
  retainMs: number;
  /** Byte budget of all the folders' finished segments together, or `null`. */
  maxBytes: number | null;
  /** Bytes being written now (segments in progress), counted against the budget. */
  openBytes?: number;
  /** Current time, epoch ms (default `Date.now()`). */
  now?: number;
  /**
   * More folders (camera name → folder) whose segments are aged out by `retainMs` but not counted against `maxBytes`:
   * the footage of cameras this process does not record (removed from the configuration, opted out, or recorded by
   * another shard, which keeps its own budget).
   */
  expireOnly?: ReadonlyMap<string, string>;
}

const isFolderMap = (m: unknown): m is ReadonlyMap<string, string> => m instanceof Map && [...m].every(([k, v]) => typeof k === 'string' && typeof v === 'string' && v !== '');

/**
 * Applies the retention rules to the recording folders: deletes every finished segment that ended more than `retainMs`
 * ago, then, while the bytes of all folders together (plus `openBytes`) exceed `maxBytes`, the oldest finished segment
 * of any camera. Segments being written are never deleted (they are not finished), so a budget smaller than one
 * segment keeps only the segments being written. {@link SurveillanceService} runs it after every finished segment and
 * once a minute.
 *
 * @param options - folders, retention, budget
 * @returns what was deleted and what is left (and what could not be deleted: each deletion is tried on its own)
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for `dirs` (or `expireOnly`) that is not a Map of
 *   folders, a `retainMs` that is not a finite number > 0, a `maxBytes` that is neither null nor a finite number > 0,
 *   a negative or non-finite `openBytes`, or a non-finite `now`
 * @example
 * ```ts
 * import { enforceRetention } from '@lepton/surveillance';
 * const r = await enforceRetention({ dirs: new Map([['gate', 'recordings/gate']]), retainMs: 7 * 86_400_000, maxBytes: 20e9 });
 * console.log(r.expired.length, r.overBudget.length, r.bytes);
 * ```
 */
export async function enforceRetention(options: RetentionOptions): Promise<RetentionResult> {
  const o = options;
  const bad = (field: string, why: string, value: unknown): never => {
    throw new LeptonError('INVALID_ARGUMENT', `enforceRetention: ${field} ${why}, got ${describeValue(value)}.`, { details: { field } });
  };
  if (o === null || typeof o !== 'object') bad('options', 'must be { dirs, retainMs, maxBytes }', o);
  if (!isFolderMap(o.dirs)) bad('dirs', 'must be a Map of camera name to folder', o.dirs);
  if (o.expireOnly !== undefined && !isFolderMap(o.expireOnly)) bad('expireOnly', 'must be a Map of camera name to folder', o.expireOnly);
  // A typo (retainMS) or NaN deleted nothing, and a negative one everything: both are refused.
  if (!(typeof o.retainMs === 'number' && Number.isFinite(o.retainMs) && o.retainMs > 0)) bad('retainMs', 'must be a finite number of milliseconds > 0', o.retainMs);
  if (!(o.maxBytes === null || (typeof o.maxBytes === 'number' && Number.isFinite(o.maxBytes) && o.maxBytes > 0))) bad('maxBytes', 'must be null or a finite number of bytes > 0', o.maxBytes);
  if (o.openBytes !== undefined && !(typeof o.openBytes === 'number' && Number.isFinite(o.openBytes) && o.openBytes >= 0)) bad('openBytes', 'must be a finite number ≥ 0', o.openBytes);
  if (o.now !== undefined && !(typeof o.now === 'number' && Number.isFinite(o.now))) bad('now', 'must be a finite epoch time in ms', o.now);
  const now = o.now ?? Date.now();
  const all: RecordedSegment[] = [];
  for (const [camera, dir] of o.dirs) all.push(...(await listSegments(dir, camera)));
  all.sort((a, b) => a.start - b.start);
  const expired: RecordedSegment[] = [];
  const overBudget: RecordedSegment[] = [];
  const failed: RetentionResult['failed'] = [];
  const kept: RecordedSegment[] = [];
  const old = (s: RecordedSegment): boolean => s.start + s.duration < now - o.retainMs;
  for (const s of all) (old(s) ? expired : kept).push(s);
  // Folders outside the budget: only their expired segments.
  for (const [camera, dir] of o.expireOnly ?? []) {
    if ([...o.dirs.values()].includes(dir)) continue;
    for (const s of await listSegments(dir, camera)) if (old(s)) expired.push(s);
  }
  let bytes = kept.reduce((n, s) => n + s.bytes, 0);
  if (o.maxBytes !== null) {
    while (kept.length > 0 && bytes + (o.openBytes ?? 0) > o.maxBytes) {
      const s = kept.shift()!;
      overBudget.push(s);
      bytes -= s.bytes;
    }
  }
  // Each deletion on its own: one that fails (a folder, a permission) must not keep the others on disk.
  const done = async (list: RecordedSegment[]): Promise<RecordedSegment[]> => {
    const ok: RecordedSegment[] = [];
    for (const s of list) {
      try {
        await rm(s.path, { force: true });
        ok.push(s);
      } catch (err) {
        failed.push({ ...s, error: (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : describeValue(err)) });
      }
    }
    return ok;
  };
  const expiredDone = await done(expired);
  const overBudgetDone = await done(overBudget);
  return { expired: expiredDone, overBudget: overBudgetDone, failed, bytes, segments: kept.length };
}
