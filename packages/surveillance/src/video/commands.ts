/**
 * The one-shot jobs the package runs through fluent-ffmpeg (`jobs.ts`): encoding packed RGB frames into an MP4 and
 * cutting an interval out of a file. {@link encodeArgs} and {@link cutArgs} give the exact argument list each runs
 * with, for logs and for running the same job by hand.
 *
 * @module
 */
import type { Readable } from 'node:stream';
import { jobArgs, type FfmpegJob } from './jobs.js';

/** What to encode, for {@link encodeArgs}. */
export interface EncodeSpec {
  /** Output file (`.mp4`). Overwritten. */
  output: string;
  /** Frame width of the RGB input. */
  width: number;
  /** Frame height of the RGB input. */
  height: number;
  /** Frame rate of the output. */
  fps: number;
  /** Encoder: `libx264` or `mpeg4` (see {@link pickVideoEncoder}). */
  encoder: string;
  /** libx264 constant rate factor (lower = better, bigger). Default 23. */
  crf?: number;
}

/** Quality settings for the two encoders we pick. */
function codecArgs(encoder: string, crf: number | undefined): string[] {
  return encoder === 'libx264' ? ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', String(crf ?? 23)] : ['-c:v', encoder, '-q:v', '3'];
}

/**
 * The encode job: raw RGB frames from `input` (a stream, or `pipe:0`) into an MP4.
 *
 * @param spec - output, size, rate, encoder
 * @param input - the frames
 * @returns the job
 * @internal
 */
export function encodeJob(spec: EncodeSpec, input: string | Readable): FfmpegJob {
  const inputOptions = ['-hide_banner', '-nostats', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${spec.width}x${spec.height}`, '-framerate', String(spec.fps)];
  const outputOptions = ['-an'];
  if (spec.width % 2 === 1 || spec.height % 2 === 1) outputOptions.push('-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2');
  outputOptions.push(...codecArgs(spec.encoder, spec.crf), '-pix_fmt', 'yuv420p', '-movflags', '+faststart');
  return { input, inputOptions, output: spec.output, outputOptions };
}

/**
 * The ffmpeg arguments that encode packed RGB frames from stdin into an MP4 (what {@link VideoWriter} runs):
 * `-pix_fmt yuv420p` (what every player decodes) and `-movflags +faststart` (index at the front, so a browser plays a
 * clip before it has downloaded). yuv420p needs even dimensions, so an odd width or height is padded by one pixel
 * (black) at the right/bottom.
 *
 * @param spec - output, size, rate, encoder
 * @returns the argument list (without the program name)
 * @example
 * ```ts
 * import { encodeArgs } from '@lepton/surveillance';
 * encodeArgs({ output: 'out.mp4', width: 160, height: 90, fps: 10, encoder: 'libx264' }).join(' ');
 * // '-hide_banner -nostats -loglevel error -f rawvideo -pix_fmt rgb24 -s 160x90 -framerate 10 -i pipe:0 -y -an -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -movflags +faststart out.mp4'
 * ```
 */
export function encodeArgs(spec: EncodeSpec): string[] {
  return jobArgs(encodeJob(spec, 'pipe:0'));
}

/** What to cut, for {@link cutArgs}. */
export interface CutSpec {
  /** Source file. */
  input: string;
  /** Start, seconds from the beginning of the file. */
  start: number;
  /** End, seconds (exclusive). */
  end: number;
  /** Output file (`.mp4`). Overwritten. */
  output: string;
  /** Encoder: `libx264` or `mpeg4`. */
  encoder: string;
}

/**
 * The cut job (see {@link cutArgs}).
 *
 * @param spec - input, interval, output, encoder
 * @returns the job
 * @internal
 */
export function cutJob(spec: CutSpec): FfmpegJob {
  return {
    input: spec.input,
    inputOptions: ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-ss', spec.start.toFixed(6)],
    output: spec.output,
    outputOptions: ['-t', (spec.end - spec.start).toFixed(6), '-map', '0:v:0', '-an', '-sn', '-dn', ...codecArgs(spec.encoder, undefined), '-pix_fmt', 'yuv420p', '-movflags', '+faststart'],
  };
}

/**
 * The ffmpeg arguments that cut `[start, end)` out of a file (what {@link cutClip} runs), re-encoding the video so the
 * cut is frame-accurate (a stream copy could only cut at keyframes). `-ss` before `-i` seeks quickly and, with
 * re-encoding, still starts at the exact frame. Audio is dropped: clips are evidence video.
 *
 * @param spec - input, interval, output, encoder
 * @returns the argument list (without the program name)
 */
export function cutArgs(spec: CutSpec): string[] {
  return jobArgs(cutJob(spec));
}
