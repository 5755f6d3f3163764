import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

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
 * listed).
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
    const bytes = await stat(path).then((s) => s.size, () => undefined);
    if (bytes === undefined) continue; // deleted meanwhile
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
}

/**
 * Applies the retention rules to the recording folders: deletes every finished segment that ended more than `retainMs`
 * ago, then, while the bytes of all folders together (plus `openBytes`) exceed `maxBytes`, the oldest finished segment
 * of any camera. Segments being written are never deleted (they are not finished), so a budget smaller than one
 * segment keeps only the segments being written. {@link SurveillanceService} runs it after every finished segment and
 * once a minute.
 *
 * @param options - folders, retention, budget
 * @returns what was deleted and what is left
 * @example
 * ```ts
 * import { enforceRetention } from '@lepton/surveillance';
 * const r = await enforceRetention({ dirs: new Map([['gate', 'recordings/gate']]), retainMs: 7 * 86_400_000, maxBytes: 20e9 });
 * console.log(r.expired.length, r.overBudget.length, r.bytes);
 * ```
 */
export async function enforceRetention(options: RetentionOptions): Promise<RetentionResult> {
  const now = options.now ?? Date.now();
  const all: RecordedSegment[] = [];
  for (const [camera, dir] of options.dirs) all.push(...(await listSegments(dir, camera)));
  all.sort((a, b) => a.start - b.start);
  const expired: RecordedSegment[] = [];
  const overBudget: RecordedSegment[] = [];
  const kept: RecordedSegment[] = [];
  for (const s of all) {
    if (s.start + s.duration < now - options.retainMs) expired.push(s);
    else kept.push(s);
  }
  let bytes = kept.reduce((n, s) => n + s.bytes, 0);
  if (options.maxBytes !== null) {
    while (kept.length > 0 && bytes + (options.openBytes ?? 0) > options.maxBytes) {
      const s = kept.shift()!;
      overBudget.push(s);
      bytes -= s.bytes;
    }
  }
  for (const s of [...expired, ...overBudget]) await rm(s.path, { force: true });
  return { expired, overBudget, bytes, segments: kept.length };
}
