import { rm } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { describeValue, LeptonError } from '@lepton/core';
import { byteCount, isUint8Array } from '../detect/letterbox.js';
import type { Frame } from '../types.js';
import { encodeJob } from './commands.js';
import { pickVideoEncoder, resolveFfmpeg, type FfmpegBinary } from './ffmpeg.js';
import { checkPath, jobError, startJob, type JobExit, type RunningJob } from './jobs.js';

/** Options for {@link VideoWriter}. */
export interface VideoWriterOptions {
  /** Output file (`.mp4`); overwritten. */
  output: string;
  /** Frame width in pixels (every frame written must have it). */
  width: number;
  /** Frame height in pixels. */
  height: number;
  /** Frame rate of the video. */
  fps: number;
  /** Encoder: `auto` (libx264 when the ffmpeg has it, else mpeg4), or a name ffmpeg knows. Default `auto`. */
  encoder?: string;
  /** libx264 constant rate factor (0–51, lower is better). Default 23. */
  crf?: number;
  /** ffmpeg to use: a path or a resolved binary. Default: {@link resolveFfmpeg}'s choice. */
  ffmpeg?: string | FfmpegBinary;
}

/** What {@link VideoWriter.close} reports about the finished file. */
export interface VideoWriterResult {
  /** The file written. */
  output: string;
  /** Frames written. */
  frames: number;
  /**
   * Width in pixels of the encoded file: the frames' width, padded by one pixel when it is odd (yuv420p needs even
   * sizes, see {@link encodeArgs}).
   */
  width: number;
  /** Height in pixels of the encoded file (padded to even like `width`). */
  height: number;
  /** Frame rate. */
  fps: number;
  /** Encoder used. */
  encoder: string;
  /** Duration, seconds (`frames / fps`). */
  durationSec: number;
}

interface Started {
  job: RunningJob;
  /** Frames go in here; fluent-ffmpeg pipes it into ffmpeg's stdin. */
  input: PassThrough;
  encoder: string;
  binary: FfmpegBinary;
  /** Set once ffmpeg has exited. */
  exit?: JobExit;
}

/**
 * Packed RGB frames in, an MP4 out (H.264 via libx264 when the ffmpeg has it, else MPEG-4 part 2; yuv420p,
 * `+faststart`; the arguments are {@link encodeArgs}). The encode is one fluent-ffmpeg command whose input is a stream
 * piped into ffmpeg's stdin; `write` waits for that stream to drain, so a slow encoder slows the writer down instead of
 * buffering frames in memory (at most about two frames wait outside ffmpeg). Writes are serialised in call order.
 *
 * @example
 * ```ts
 * import { VideoWriter } from '@lepton/surveillance';
 * const writer = new VideoWriter({ output: '/tmp/out.mp4', width: 160, height: 90, fps: 10 });
 * for (let i = 0; i < 10; i++) await writer.write(new Uint8Array(160 * 90 * 3).fill(i * 20));
 * const info = await writer.close(); // { frames: 10, durationSec: 1, encoder: 'libx264', … }
 * ```
 */
export class VideoWriter {
  private readonly o: VideoWriterOptions;
  private readonly frameBytes: number;
  private readonly starting: Promise<Started>;
  private tail: Promise<void> = Promise.resolve();
  private frames = 0;
  private closing: Promise<VideoWriterResult> | undefined;

  /**
   * Resolves ffmpeg and starts the encoder in the background; errors surface from `write` / `close`.
   *
   * @param options - output, size, rate, encoder
   * @throws LeptonError `INVALID_ARGUMENT` for a bad output path, size, rate or crf
   */
  constructor(options: VideoWriterOptions) {
    if (options === null || typeof options !== 'object') throw new LeptonError('INVALID_ARGUMENT', 'VideoWriter needs { output, width, height, fps }.');
    checkPath('VideoWriter', 'output', options.output, true);
    for (const f of ['width', 'height'] as const) {
      if (!(Number.isInteger(options[f]) && options[f] > 0 && options[f] <= 16384)) {
        throw new LeptonError('INVALID_ARGUMENT', `VideoWriter: ${f} must be an integer from 1 to 16384 (got ${describeValue(options[f])}).`, { details: { field: f } });
      }
    }
    if (!(typeof options.fps === 'number' && Number.isFinite(options.fps) && options.fps > 0)) {
      throw new LeptonError('INVALID_ARGUMENT', `VideoWriter: fps must be a positive number (got ${describeValue(options.fps)}).`, { details: { field: 'fps' } });
    }
    if (options.crf !== undefined && !(typeof options.crf === 'number' && options.crf >= 0 && options.crf <= 51)) {
      throw new LeptonError('INVALID_ARGUMENT', `VideoWriter: crf must be a number from 0 to 51 (got ${describeValue(options.crf)}).`, { details: { field: 'crf' } });
    }
    this.o = options;
    this.frameBytes = options.width * options.height * 3;
    this.starting = this.start();
    // Errors are reported by write/close; this keeps an unused writer from raising an unhandled rejection.
    this.starting.catch(() => {});
  }

  private async start(): Promise<Started> {
    const f = this.o.ffmpeg;
    const bin = typeof f === 'object' ? f : await resolveFfmpeg(f === undefined ? {} : { path: f });
    const encoder = this.o.encoder === undefined || this.o.encoder === 'auto' ? await pickVideoEncoder(bin) : this.o.encoder;
    const spec = { output: this.o.output, width: this.o.width, height: this.o.height, fps: this.o.fps, encoder, ...(this.o.crf === undefined ? {} : { crf: this.o.crf }) };
    // One frame of buffer: a write that fills it waits for 'drain', which comes as ffmpeg's stdin takes the bytes.
    const input = new PassThrough({ highWaterMark: this.frameBytes });
    const started: Started = { job: startJob(bin, encodeJob(spec, input)), input, encoder, binary: bin };
    void started.job.done.then((exit) => (started.exit = exit));
    return started;
  }

  /** Frames accepted so far. */
  get framesWritten(): number {
    return this.frames;
  }

  /**
   * Writes one frame; resolves when ffmpeg's stdin has taken it (after a `drain` when the pipe was full).
   *
   * @param frame - a {@link Frame} or its packed RGB bytes (width × height × 3)
   * @returns when the frame is in the pipe
   * @throws LeptonError `INVALID_INPUT` for something that is not a frame; `SHAPE_MISMATCH` for a frame of the wrong
   *   size; `VIDEO_WRITE_FAILED` when ffmpeg has died or the writer is closed
   */
  write(frame: Frame | Uint8Array): Promise<void> {
    if (frame === null || typeof frame !== 'object') {
      return Promise.reject(new LeptonError('INVALID_INPUT', `VideoWriter: a frame must be a Frame or its RGB bytes, got ${frame === null ? 'null' : typeof frame}.`, { details: { output: this.o.output } }));
    }
    const details = { output: this.o.output };
    // Each field read once, so the bytes written are the bytes checked; a getter that throws is a bad frame.
    let data: unknown;
    let width: unknown;
    let height: unknown;
    const raw = isUint8Array(frame);
    try {
      if (raw) data = frame;
      else ({ data, width, height } = frame);
    } catch {
      return Promise.reject(new LeptonError('INVALID_INPUT', "VideoWriter: reading the frame's fields threw.", { details }));
    }
    if (!isUint8Array(data)) {
      return Promise.reject(new LeptonError('INVALID_INPUT', 'VideoWriter: frame.data must be a Uint8Array of packed RGB.', { details }));
    }
    if (!raw && (width !== this.o.width || height !== this.o.height)) {
      return Promise.reject(
        new LeptonError('SHAPE_MISMATCH', `VideoWriter: frame is ${describeValue(width)}×${describeValue(height)}, the writer was opened for ${this.o.width}×${this.o.height}.`, { details }),
      );
    }
    if (byteCount(data) !== this.frameBytes) {
      return Promise.reject(
        new LeptonError('SHAPE_MISMATCH', `VideoWriter: frame has ${byteCount(data)} bytes, expected ${this.frameBytes} (${this.o.width}×${this.o.height}×3 RGB).`, { details }),
      );
    }
    const bytes: Uint8Array = data;
    if (this.closing) return Promise.reject(this.writeError('the writer is closed'));
    const p = this.tail.then(async () => {
      const s = await this.starting;
      if (s.exit) throw this.writeError('ffmpeg is no longer accepting frames', s);
      this.frames++;
      if (!s.input.write(bytes)) {
        // ffmpeg gone: fluent-ffmpeg's pipe stops, 'drain' never comes, the job's end does.
        const dead = await Promise.race([new Promise<undefined>((r) => s.input.once('drain', () => r(undefined))), s.job.done]);
        if (dead) {
          s.exit = dead;
          throw this.writeError('ffmpeg exited while frames were being written', s);
        }
      }
    });
    this.tail = p.catch(() => {});
    return p;
  }

  /**
   * Ends the input and waits for ffmpeg to finish the file. A writer that was given no frame makes no file: ffmpeg
   * would write an MP4 without a video stream (a few hundred bytes no player opens), so the encoder is stopped, any
   * file at `output` is removed, and `close` rejects.
   *
   * @returns what was written
   * @throws LeptonError `VIDEO_WRITE_FAILED` when ffmpeg fails (its error lines in `details.stderr`) or no frame was
   *   written (`details.frames` 0; no file is left at `output`); `VIDEO_FFMPEG_MISSING` when there is no ffmpeg
   */
  close(): Promise<VideoWriterResult> {
    this.closing ??= (async () => {
      await this.tail;
      if (this.frames === 0) {
        await this.stop();
        throw new LeptonError('VIDEO_WRITE_FAILED', `VideoWriter '${this.o.output}': no frames were written, so no video was made (nothing is left at that path); write at least one frame before close().`, {
          details: { output: this.o.output, frames: 0, stderr: [] },
        });
      }
      const s = await this.starting;
      s.input.end();
      s.exit = await s.job.done;
      if (s.exit.reason !== 'ok') {
        // Killed mid-file (from outside): what is there has no index and does not play.
        if (s.exit.signal !== null) await rm(this.o.output, { force: true }).catch(() => undefined);
        throw this.writeError('ffmpeg failed to finish the file', s);
      }
      return {
        output: this.o.output,
        frames: this.frames,
        // What the file holds: an odd size is padded to the next even one.
        width: this.o.width + (this.o.width % 2),
        height: this.o.height + (this.o.height % 2),
        fps: this.o.fps,
        encoder: s.encoder,
        durationSec: this.frames / this.o.fps,
      };
    })();
    return this.closing;
  }

  /**
   * Kills ffmpeg without finishing the file, and removes what it had written (an MP4 cut off before its index does
   * not play). Later `write` and `close` calls reject.
   *
   * @returns when ffmpeg has exited and the file is gone
   */
  async abort(): Promise<void> {
    this.closing ??= Promise.reject(this.writeError('the writer was aborted'));
    this.closing.catch(() => {});
    await this.stop();
  }

  /** Kills ffmpeg (if it started) and removes the output file, if any. */
  private async stop(): Promise<void> {
    try {
      const { job } = await this.starting;
      job.kill();
      await job.done;
    } catch {
      // nothing was started
    }
    await rm(this.o.output, { force: true }).catch(() => undefined);
  }

  private writeError(what: string, started?: Started): LeptonError {
    const prefix = `VideoWriter '${this.o.output}': ${what}`;
    const hint = 'check the output path and disk space.';
    if (started?.exit === undefined) return new LeptonError('VIDEO_WRITE_FAILED', `${prefix}; ${hint}`, { details: { output: this.o.output, stderr: [] } });
    return jobError('VIDEO_WRITE_FAILED', prefix, hint, started.exit, started.binary, {}, { output: this.o.output });
  }
}
