import { randomBytes } from 'node:crypto';
import { mkdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describeValue, LeptonError } from '@lepton/core';
import { cutClip } from '../video/cut.js';
import { resolveFfmpeg, type FfmpegBinary } from '../video/ffmpeg.js';
import { checkJobLimits, checkPath, jobError, startJob, type JobLimits } from '../video/jobs.js';
import { listSegments, type RecordedSegment } from './segments.js';
import { TMP_DIR } from './recorder.js';

/** Options of {@link cutRecordingClip}. */
export interface RecordingClipOptions {
  /** The camera's recording folder. */
  dir: string;
  /** Camera name. */
  camera: string;
  /** Start, wall-clock ms since the epoch. */
  from: number;
  /** End, wall-clock ms (> from). */
  to: number;
  /** MP4 to write (overwritten). */
  output: string;
  /** ffmpeg to use. */
  ffmpeg?: string | FfmpegBinary;
  /** Kill ffmpeg and fail when joining and cutting together take longer than this, ms. Default: no limit. */
  timeoutMs?: number;
  /** Kill ffmpeg and fail when this signal aborts. */
  signal?: AbortSignal;
}

/** What {@link cutRecordingClip} wrote. */
export interface RecordingClip {
  /** The MP4. */
  output: string;
  /** Wall-clock start of the clip, ms (later than `from` when the recording starts later). */
  start: number;
  /** Wall-clock end, ms (earlier than `to` when the recording ends earlier). */
  end: number;
  /** The segments it was cut from. */
  segments: RecordedSegment[];
}

/**
 * Cuts the wall-clock interval `[from, to)` out of a camera's continuous recording into one MP4: the segments that
 * overlap it are joined without re-encoding (ffmpeg's concat demuxer, stream copy), and the interval is then cut out
 * of the joined file, frame-accurately, by {@link cutClip} (both are one-shot fluent-ffmpeg jobs). Joining first is deliberate: an input seek (`-ss` before
 * `-i`, which `cutClip` uses) straight on the concat demuxer skips the first segment when its timestamps start
 * below zero (B-frames), so the clip would begin a segment late. A gap in the recording (the camera was unreachable)
 * is left out, so the clip is then shorter than the interval. The joined copy and its list are written to the
 * folder's `.tmp/` sub-folder (which a {@link Recorder} empties when it starts, and counts in its `openBytes()`) and
 * deleted when the cut ends, fails or is aborted.
 *
 * @param options - folder, interval, output
 * @returns what was written
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad interval, path, timeout or signal;
 *   `RECORDING_UNAVAILABLE` when no finished segment overlaps the interval; `VIDEO_SOURCE_FAILED` when ffmpeg cannot
 *   join or cut the segments, runs past `timeoutMs` or is aborted (`details.reason`)
 * @example
 * ```ts
 * import { cutRecordingClip } from '@lepton/surveillance';
 * const now = Date.now();
 * await cutRecordingClip({ dir: 'recordings/gate', camera: 'gate', from: now - 60_000, to: now - 50_000, output: 'gate-clip.mp4' });
 * ```
 */
export async function cutRecordingClip(options: RecordingClipOptions): Promise<RecordingClip> {
  if (options === null || typeof options !== 'object') throw new LeptonError('INVALID_ARGUMENT', 'cutRecordingClip needs { dir, camera, from, to, output }.');
  const { dir, camera, from, to, output } = options;
  if (!(typeof from === 'number' && typeof to === 'number' && Number.isFinite(from) && Number.isFinite(to) && to > from)) {
    throw new LeptonError('INVALID_ARGUMENT', `cutRecordingClip: need finite from < to (wall-clock ms), got ${describeValue(from)} and ${describeValue(to)}.`);
  }
  if (typeof camera !== 'string' || camera === '') throw new LeptonError('INVALID_ARGUMENT', `cutRecordingClip: camera must be a non-empty name, got ${describeValue(camera)}.`);
  checkPath('cutRecordingClip', 'dir', dir, false);
  checkPath('cutRecordingClip', 'output', output, true);
  checkJobLimits('cutRecordingClip', options);
  const deadline = options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs;
  const limits = (): JobLimits => ({
    ...(deadline === undefined ? {} : { timeoutMs: Math.max(1, deadline - Date.now()) }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const segments = (await listSegments(dir, camera)).filter((s) => s.start < to && s.start + s.duration > from);
  if (segments.length === 0) {
    throw new LeptonError('RECORDING_UNAVAILABLE', `Camera '${camera}': no recording covers ${new Date(from).toISOString()} to ${new Date(to).toISOString()} (not recorded, or deleted by retention).`, { details: { camera, from, to } });
  }
  const first = segments[0]!;
  const last = segments.at(-1)!;
  const start = Math.max(from, first.start);
  const end = Math.min(to, last.start + last.duration);
  const tag = randomBytes(6).toString('hex');
  // In the folder's .tmp/ (emptied when its recorder starts): never left beside the segments for good.
  const tmp = join(dir, TMP_DIR);
  const list = join(tmp, `clip-${tag}.ffconcat`);
  const joined = join(tmp, `clip-${tag}.${segments.some((s) => s.path.endsWith('.mkv')) ? 'mkv' : 'mp4'}`);
  const f = options.ffmpeg;
  const bin = typeof f === 'object' ? f : await resolveFfmpeg(f === undefined ? {} : { path: f });
  // Absolute, quoted paths (`-safe 0`): the segments are in the folder above the list. The names come from
  // listSegments (digits, '-', '.'); the folder is quoted for the concat demuxer ('…' with ' as '\'').
  const quote = (p: string): string => `'${p.replace(/'/g, "'\\''")}'`;
  try {
    const text = `ffconcat version 1.0\n${segments.map((s) => `file ${quote(resolve(s.path))}\n`).join('')}`;
    const prepare = async (): Promise<void> => {
      await mkdir(tmp, { recursive: true });
      await writeFile(list, text);
    };
    // Another cut that just finished may remove the (then empty) folder between the mkdir and the write: once more.
    await prepare().catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      return prepare();
    });
    // Stream copy of the segments, back to back: no re-encoding, so the cut below is the only generation loss.
    const concat = { input: list, inputOptions: ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-f', 'concat', '-safe', '0'], output: joined, outputOptions: ['-map', '0:v:0', '-c', 'copy'] };
    const joinLimits = limits();
    const exit = await startJob(bin, concat, joinLimits).done;
    if (exit.reason !== 'ok') {
      throw jobError('VIDEO_SOURCE_FAILED', `Camera '${camera}': could not join ${segments.length} recording segment(s)`, 'check the recording folder.', exit, bin, joinLimits, { camera });
    }
    await cutClip({ input: joined, start: (start - first.start) / 1000, end: (end - first.start) / 1000, output, ffmpeg: bin, ...limits() });
  } finally {
    await rm(list, { force: true }).catch(() => undefined);
    await rm(joined, { force: true }).catch(() => undefined);
    // Removed when empty (another cut may still be using it): nothing is left beside the segments.
    await rmdir(tmp).catch(() => undefined);
  }
  return { output, start, end, segments };
}
