import { describeValue, LeptonError } from '@lepton/core';
import { invalidFrameError, readFrame } from '../detect/letterbox.js';
import type { Frame } from '../types.js';
import type { FfmpegBinary } from './ffmpeg.js';
import { VideoWriter } from './writer.js';

/** Options for {@link FrameRing}. */
export interface FrameRingOptions {
  /** Seconds of video to keep (media time, `frame.time`). */
  seconds: number;
  /** Frame rate of the frames pushed (the rate clips are written at). */
  fps: number;
}

/** Options for {@link FrameRing.clipAround}. */
export interface ClipAroundOptions {
  /** Give up waiting for the "after" frames after this long and write what arrived (`complete: false`). Default: wait until {@link FrameRing.close}. */
  timeoutMs?: number;
  /** Encoder for the clip. Default `auto`. */
  encoder?: string;
  /** ffmpeg to use. */
  ffmpeg?: string | FfmpegBinary;
}

/** What {@link FrameRing.clipAround} wrote. */
export interface ClipInfo {
  /** The file written. */
  output: string;
  /** Frames in the clip. */
  frames: number;
  /** Media time of the first frame, seconds. */
  startTime: number;
  /** Media time of the last frame, seconds. */
  endTime: number;
  /** Frame rate the clip was written at. */
  fps: number;
  /** Frame width. */
  width: number;
  /** Frame height. */
  height: number;
  /** False when the ring closed or timed out before all "after" frames arrived. */
  complete: boolean;
}

interface PendingClip {
  from: number;
  to: number;
  frames: Frame[];
  done: (complete: boolean) => void;
}

/** Frame times are `index / fps`; compare with a tolerance far below one frame. */
const EPS = 1e-9;

/**
 * The last `seconds` of a live source's frames, to save "N seconds before and M seconds after" an event.
 *
 * Memory is bounded: the ring keeps frames whose media time is within `seconds` of the newest frame, and never more
 * than `ceil(seconds × fps) + 1` of them, so it holds at most that many × width × height × 3 bytes (10 s at 10 fps
 * of 640×360 ≈ 70 MB). A clip waiting for its "after" frames holds its own `(before + after) × fps` frames until it
 * is written. Frames are kept by reference, not copied: do not reuse a frame's buffer after pushing it.
 *
 * Clips are written at `fps`; if the source dropped frames, the clip has fewer frames than its time span and plays
 * correspondingly shorter.
 *
 * @example
 * ```ts
 * import { FrameRing, VideoSource } from '@lepton/surveillance';
 * const source = new VideoSource({ camera: 'gate', input: 'rtsp://10.0.0.5/sub', fps: 10, width: 640, height: 360 });
 * const ring = new FrameRing({ seconds: 5, fps: 10 });
 * for await (const frame of source) {
 *   ring.push(frame);
 *   if (frame.index === 100) void ring.clipAround(frame.time, 3, 2, '/tmp/event.mp4');
 * }
 * ```
 */
export class FrameRing {
  private readonly seconds: number;
  private readonly fps: number;
  private readonly capacity: number;
  private readonly buf: Frame[] = [];
  private readonly pending = new Set<PendingClip>();
  private closed = false;

  /**
   * @param options - seconds kept and frame rate
   * @throws LeptonError `INVALID_ARGUMENT` for non-positive or non-finite seconds or fps
   */
  constructor(options: FrameRingOptions) {
    // Finite: the ring holds seconds × fps frames, so Infinity would keep every frame in memory.
    // Number.isFinite first: `>` on a hostile value runs its valueOf (or throws on a Symbol).
    if (!(options !== null && typeof options === 'object' && Number.isFinite(options.seconds) && Number.isFinite(options.fps) && options.seconds > 0 && options.fps > 0)) {
      throw new LeptonError('INVALID_ARGUMENT', `FrameRing: seconds and fps must be positive finite numbers (got ${describeValue(options?.seconds)}, ${describeValue(options?.fps)}).`);
    }
    this.seconds = options.seconds;
    this.fps = options.fps;
    this.capacity = Math.ceil(options.seconds * options.fps) + 1;
  }

  /** Frames held now. */
  get size(): number {
    return this.buf.length;
  }

  /** Most frames the ring ever holds. */
  get maxFrames(): number {
    return this.capacity;
  }

  /** Bytes of frame data held now. */
  get bytes(): number {
    return this.buf.reduce((s, f) => s + f.data.length, 0);
  }

  /**
   * Adds the newest frame (frames must come in time order), evicts what is older than `seconds`, and feeds clips
   * waiting for their "after" frames.
   *
   * @param input - a decoded frame
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a malformed frame (not packed RGB of its size, a
   *   getter that throws) or a time that is not a finite number; the ring is left as it was
   */
  push(input: Frame): void {
    const read = readFrame(input);
    if (read.problem !== undefined) throw invalidFrameError(input, read.problem);
    const frame = read.frame;
    if (typeof frame.time !== 'number' || !Number.isFinite(frame.time)) throw invalidFrameError(input, `time ${describeValue(frame.time)} is not a finite number of seconds`);
    this.buf.push(frame);
    while (this.buf.length > this.capacity || (this.buf.length > 0 && this.buf[0]!.time < frame.time - this.seconds - EPS)) this.buf.shift();
    for (const p of this.pending) {
      if (frame.time >= p.from - EPS && frame.time < p.to - EPS) p.frames.push(frame);
      if (frame.time >= p.to - EPS) p.done(true);
    }
  }

  /**
   * The frames held with `from ≤ time < to`.
   *
   * @param from - media time, seconds
   * @param to - media time, seconds (exclusive)
   * @returns the frames, oldest first
   */
  frames(from: number, to: number): Frame[] {
    return this.buf.filter((f) => f.time >= from - EPS && f.time < to - EPS);
  }

  /**
   * Writes the frames with `time − before ≤ frame.time < time + after` to an MP4, waiting for the "after" frames to
   * arrive (resolves once a frame at or past `time + after` is pushed, on timeout, or on {@link close}).
   *
   * @param time - media time of the event, seconds (`frame.time`; a finite number)
   * @param before - seconds before the event (≤ the ring's `seconds`)
   * @param after - seconds after the event (0 ≤ after ≤ the ring's `seconds`: a waiting clip holds its "after"
   *   frames, so the ring's size bounds them too)
   * @param output - MP4 file to write
   * @param options - timeout, encoder, ffmpeg
   * @returns what was written
   * @throws LeptonError `INVALID_ARGUMENT` for a time that is not finite, a bad window or no frames in it;
   *   `VIDEO_WRITE_FAILED` from the writer
   */
  async clipAround(time: number, before: number, after: number, output: string, options: ClipAroundOptions = {}): Promise<ClipInfo> {
    // A NaN time would never be reached by any frame: the clip would wait forever (and hold its entry).
    if (!(typeof time === 'number' && Number.isFinite(time))) {
      throw new LeptonError('INVALID_ARGUMENT', `FrameRing.clipAround: time must be a finite number of seconds, got ${describeValue(time)}.`);
    }
    if (!(typeof before === 'number' && typeof after === 'number' && before >= 0 && before <= this.seconds + EPS && after >= 0 && after <= this.seconds + EPS)) {
      throw new LeptonError('INVALID_ARGUMENT', `FrameRing.clipAround: need 0 ≤ before ≤ ${this.seconds} and 0 ≤ after ≤ ${this.seconds} (the ring's seconds: a clip holds no more than the ring) (got ${describeValue(before)}, ${describeValue(after)}).`);
    }
    if (options.timeoutMs !== undefined && !(typeof options.timeoutMs === 'number' && options.timeoutMs >= 0 && options.timeoutMs <= 2_147_483_647)) {
      throw new LeptonError('INVALID_ARGUMENT', `FrameRing.clipAround: timeoutMs must be a number of milliseconds between 0 and 2147483647, got ${describeValue(options.timeoutMs)}.`);
    }
    const from = time - before;
    const to = time + after;
    const frames = this.frames(from, to);
    const newest = this.buf[this.buf.length - 1];
    let complete = newest !== undefined && newest.time >= to - EPS;
    if (!complete && !this.closed) {
      complete = await new Promise<boolean>((resolve) => {
        let timer: NodeJS.Timeout | undefined;
        const p: PendingClip = {
          from,
          to,
          frames,
          done: (ok) => {
            clearTimeout(timer);
            this.pending.delete(p);
            resolve(ok);
          },
        };
        this.pending.add(p);
        if (options.timeoutMs !== undefined) timer = setTimeout(() => p.done(false), options.timeoutMs);
      });
    }
    const first = frames[0];
    if (!first) throw new LeptonError('INVALID_ARGUMENT', `FrameRing.clipAround: no frames between ${from}s and ${to}s.`, { details: { output } });
    const writer = new VideoWriter({
      output,
      width: first.width,
      height: first.height,
      fps: this.fps,
      ...(options.encoder === undefined ? {} : { encoder: options.encoder }),
      ...(options.ffmpeg === undefined ? {} : { ffmpeg: options.ffmpeg }),
    });
    try {
      for (const f of frames) await writer.write(f);
    } catch (err) {
      await writer.abort();
      throw err;
    }
    await writer.close();
    return {
      output,
      frames: frames.length,
      startTime: first.time,
      endTime: frames[frames.length - 1]!.time,
      fps: this.fps,
      width: first.width,
      height: first.height,
      complete,
    };
  }

  /** Stops waiting: clips still waiting are written with the frames they have (`complete: false`). */
  close(): void {
    this.closed = true;
    for (const p of [...this.pending]) p.done(false);
  }
}
