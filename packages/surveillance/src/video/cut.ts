import { rm } from 'node:fs/promises';
import { describeValue, LeptonError } from '@lepton/core';
import { cutJob } from './commands.js';
import { pickVideoEncoder, resolveFfmpeg, type FfmpegBinary } from './ffmpeg.js';
import { checkJobLimits, checkPath, jobError, startJob } from './jobs.js';
import { redactCredentials } from './redact.js';
import { hasNoVideoStream } from './spawn.js';

/** Options for {@link cutClip}. */
export interface CutClipOptions {
  /** Source video file. */
  input: string;
  /** Start, seconds from the beginning of the file (≥ 0). */
  start: number;
  /** End, seconds (> start). */
  end: number;
  /** Output file (`.mp4`); overwritten. */
  output: string;
  /** Encoder: `auto` (libx264 when present, else mpeg4) or a name. Default `auto`. */
  encoder?: string;
  /** ffmpeg to use: a path or a resolved binary. Default: {@link resolveFfmpeg}'s choice. */
  ffmpeg?: string | FfmpegBinary;
  /** Kill ffmpeg and fail after this long, ms (≤ 2^31 − 1). Default: no limit. */
  timeoutMs?: number;
  /** Kill ffmpeg and fail when this signal aborts. */
  signal?: AbortSignal;
}

/** What {@link cutClip} wrote. */
export interface CutClipResult {
  /** The file written. */
  output: string;
  /** Start, seconds. */
  start: number;
  /** End, seconds. */
  end: number;
  /** Encoder used. */
  encoder: string;
}

/**
 * Cuts `[start, end)` out of a video file into an MP4, re-encoding so the cut is accurate to the frame (the arguments
 * are {@link cutArgs}; the job runs through fluent-ffmpeg). A cut past the end of the file holds what there is. Any
 * error line from ffmpeg fails the cut, even with exit code 0 (a clip with damaged frames is not evidence). When
 * ffmpeg is killed (timeout, `signal`, or from outside) the half-written output is removed.
 *
 * @param options - input, interval, output, limits
 * @returns what was written
 * @throws LeptonError `INVALID_ARGUMENT` for a bad interval, path, timeout or signal; `VIDEO_NO_STREAM` for an input
 *   without video; `VIDEO_SOURCE_FAILED` when ffmpeg cannot read the input or write the output, is killed, runs past
 *   `timeoutMs` or is aborted (`details.reason`: `exit`, `signal`, `timeout`, `aborted`; `details.stderr`: its last
 *   error lines, credentials masked); `VIDEO_FFMPEG_MISSING` when ffmpeg cannot be started
 * @example
 * ```ts
 * import { cutClip } from '@lepton/surveillance';
 * await cutClip({ input: 'recording.mp4', start: 12.5, end: 20, output: 'event-42.mp4', timeoutMs: 60_000 });
 * ```
 */
export async function cutClip(options: CutClipOptions): Promise<CutClipResult> {
  if (options === null || typeof options !== 'object') throw new LeptonError('INVALID_ARGUMENT', 'cutClip needs { input, start, end, output }.');
  const { input, start, end, output } = options;
  checkPath('cutClip', 'input', input, false);
  checkPath('cutClip', 'output', output, true);
  const shown = redactCredentials(input);
  if (!(typeof start === 'number' && Number.isFinite(start) && start >= 0 && typeof end === 'number' && Number.isFinite(end) && end > start)) {
    throw new LeptonError('INVALID_ARGUMENT', `cutClip: need 0 ≤ start < end, finite seconds (got start ${describeValue(start)}, end ${describeValue(end)}).`, { details: { input: shown } });
  }
  if (options.encoder !== undefined && (typeof options.encoder !== 'string' || options.encoder === '')) {
    throw new LeptonError('INVALID_ARGUMENT', `cutClip: encoder must be 'auto' or an encoder name (got ${describeValue(options.encoder)}).`, { details: { field: 'encoder' } });
  }
  checkJobLimits('cutClip', options);
  const limits = { ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }), ...(options.signal === undefined ? {} : { signal: options.signal }) };
  const f = options.ffmpeg;
  const bin = typeof f === 'object' ? f : await resolveFfmpeg(f === undefined ? {} : { path: f });
  const encoder = options.encoder === undefined || options.encoder === 'auto' ? await pickVideoEncoder(bin) : options.encoder;
  const exit = await startJob(bin, cutJob({ input, start, end, output, encoder }), limits).done;
  if (exit.reason !== 'ok' || exit.stderr.length > 0) {
    if (exit.signal !== null) await rm(output, { force: true });
    if (exit.reason === 'exit' && hasNoVideoStream(exit.stderr)) {
      throw new LeptonError('VIDEO_NO_STREAM', `cutClip: '${shown}' has no video stream (audio or data only), so there is no clip to cut; pass a video file.`, {
        details: { input: shown, output: redactCredentials(output), exitCode: exit.code, stderr: exit.stderr },
      });
    }
    const out = redactCredentials(output);
    const failed = exit.reason === 'ok' ? { ...exit, reason: 'exit' as const } : exit; // exit code 0 with error lines
    throw jobError('VIDEO_SOURCE_FAILED', `cutClip: could not cut '${shown}' into '${out}'`, 'check both paths and that the input is a readable video.', failed, bin, limits, { input: shown, output: out });
  }
  return { output, start, end, encoder };
}
