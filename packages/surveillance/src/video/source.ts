import { EventEmitter } from 'node:events';
import type { LeptonError } from '@lepton/core';
import { surveillanceError, type Frame } from '../types.js';
import { decodeArgs, resolveFfmpeg, spawnFfmpeg, usesLegacyVsync, type FfmpegBinary, type FfmpegExit, type FfmpegProcess } from './ffmpeg.js';

/**
 * What happens when the consumer is slower than the video and the queue is full:
 * - `drop-oldest` — the oldest queued frame is dropped, so the consumer always gets the freshest frames (a camera);
 * - `drop-newest` — the incoming frame is dropped, so the queue keeps the frames that came first;
 * - `block` — nothing is dropped: the pipe from ffmpeg is paused until the consumer catches up (offline file analysis;
 *   on a live stream the network stalls instead, and the stall timeout then restarts it).
 */
export type DropPolicy = 'drop-oldest' | 'drop-newest' | 'block';

/** The bounded frame queue between ffmpeg and the consumer. */
export interface FrameQueueOptions {
  /** Most decoded frames held for the consumer (≥ 1). Default 8. */
  maxFrames?: number;
  /** What to do when it is full. Default `drop-oldest`. */
  policy?: DropPolicy;
}

/** Reconnection of a stream that died or stalled: exponential backoff `initialDelayMs × factor^(attempt−1)`, capped. */
export interface ReconnectOptions {
  /** Delay before the first reconnect attempt, ms. Default 500. */
  initialDelayMs?: number;
  /** Longest delay, ms. Default 30,000. */
  maxDelayMs?: number;
  /** Growth per failed attempt (≥ 1). Default 2. */
  factor?: number;
  /** Consecutive failed attempts allowed before the source fails for good. Default `Infinity` for live inputs, 0 for files. */
  maxAttempts?: number;
  /** No data from ffmpeg for this long once a run has delivered data → 'stalled', restart. Default 10,000 ms. */
  stallTimeoutMs?: number;
  /**
   * Longest wait for a run's first data (connect, probe, first keyframe) before it counts as stalled. Kept apart from
   * `stallTimeoutMs` so a tight stall timeout does not kill a slow-starting stream. Default 20,000 ms.
   */
  openTimeoutMs?: number;
}

/** The full-resolution stream of a camera, kept for clip recording (NVRs decode a low-resolution detect stream). */
export interface RecordStreamOptions {
  /** File path or URL of the record stream. */
  input: string;
  /** Input format (`-f`), if it must be forced. */
  format?: string;
  /** Extra input options for the record stream. */
  inputOptions?: string[];
}

/** Options for {@link VideoSource}. */
export interface VideoSourceOptions {
  /** Camera (source) name; it is put on every frame and every error. */
  camera: string;
  /** File path, URL (`rtsp://`, `http://`, `https://`, `udp://` …) or device (`/dev/video0`, with `format: 'v4l2'`). */
  input: string;
  /** Input format (`-f`), e.g. `v4l2` for a device; omit to let ffmpeg probe. */
  format?: string;
  /** Treat the input as live (reconnect forever, stall detection). Default: true for URLs and `/dev/…`, false for files. */
  live?: boolean;
  /** Most frames per second to deliver (frames above the rate are dropped by ffmpeg; none are repeated). */
  fps: number;
  /** Frame width in pixels (the input is scaled). */
  width: number;
  /** Frame height in pixels. */
  height: number;
  /** Hardware decode: `auto` (ffmpeg picks one or decodes in software) or a method such as `cuda`, `vaapi`. */
  hwaccel?: string;
  /** Read a file at its native speed, like a camera (`-re`). Default false. */
  realtime?: boolean;
  /** Loop a file forever. Default false. */
  loop?: boolean;
  /** Bounded queue and drop policy. */
  queue?: FrameQueueOptions;
  /** Reconnect and stall settings. */
  reconnect?: ReconnectOptions;
  /** Extra ffmpeg input options (placed just before `-i`, so they override the defaults). */
  inputOptions?: string[];
  /** The camera's full-resolution record stream, carried for the clip writer; not decoded by this source. */
  record?: RecordStreamOptions;
  /** ffmpeg to use: a path or a resolved binary. Default: {@link resolveFfmpeg}'s choice. */
  ffmpeg?: string | FfmpegBinary;
}

/** Counters of a {@link VideoSource}. After the source has ended and been drained, `delivered + dropped = produced`. */
export interface VideoSourceStats {
  /** Complete frames ffmpeg produced (read from the pipe). */
  produced: number;
  /** Frames handed to the consumer. */
  delivered: number;
  /** Frames dropped because the queue was full. */
  dropped: number;
  /** Frames waiting in the queue now. */
  queued: number;
  /** Most frames ever waiting in the queue (never above `queue.maxFrames`). */
  maxQueued: number;
  /** Times ffmpeg was restarted (reconnects, stall restarts, hardware-decode fallback). */
  restarts: number;
  /** ffmpeg runs that ended in an error or a stall. */
  errors: number;
  /** Bytes read from ffmpeg's stdout. */
  bytesRead: number;
  /** Bytes of incomplete frames thrown away when a run ended mid-frame (never delivered as frames). */
  partialBytesDiscarded: number;
}

/** Payload of the `reconnecting` event. */
export interface ReconnectingEvent {
  /** Camera name. */
  camera: string;
  /** 1 for the first attempt after a working stream, then 2, 3 … */
  attempt: number;
  /** Wait before this attempt, ms. */
  delayMs: number;
  /** Why the previous run ended (exit status and ffmpeg's last error line, or `stalled`). */
  reason: string;
}

/** Payload of the `reconnected` event (first frame after a restart). */
export interface ReconnectedEvent {
  /** Camera name. */
  camera: string;
  /** Attempts it took. */
  attempts: number;
  /** From the failure to this first frame, ms. */
  downtimeMs: number;
}

/** Payload of the `stalled` event. */
export interface StalledEvent {
  /** Camera name. */
  camera: string;
  /** How long no data came, ms. */
  idleMs: number;
}

/** Payload of the `end` event. */
export interface EndEvent {
  /** Camera name. */
  camera: string;
  /** `eof` (a file ended cleanly), `error` (failed for good) or `closed` (by {@link VideoSource.close}). */
  reason: 'eof' | 'error' | 'closed';
}

/** Payload of the `hwaccel-fallback` event. */
export interface HwaccelFallbackEvent {
  /** Camera name. */
  camera: string;
  /** The method that failed. */
  hwaccel: string;
  /** ffmpeg's error. */
  reason: string;
}

/** Events of a {@link VideoSource} (Node `EventEmitter` event map). */
export interface VideoSourceEvents {
  /** ffmpeg started (each run), with the binary used. */
  started: [binary: FfmpegBinary, args: readonly string[]];
  /** A live stream died or stalled; another attempt follows after `delayMs`. */
  reconnecting: [event: ReconnectingEvent];
  /** Frames flow again after a restart. */
  reconnected: [event: ReconnectedEvent];
  /** No data for `stallTimeoutMs` (`openTimeoutMs` before a run's first data); ffmpeg is killed and restarted (or the source fails when no attempts are left). */
  stalled: [event: StalledEvent];
  /** A named hardware decoder failed before the first frame; decoding goes on in software. */
  'hwaccel-fallback': [event: HwaccelFallbackEvent];
  /** The source failed for good (`VIDEO_SOURCE_FAILED` or `VIDEO_FFMPEG_MISSING`). Only emitted when listened to. */
  error: [error: LeptonError];
  /** No more frames will be produced. */
  end: [event: EndEvent];
}

interface Resolved {
  camera: string;
  input: string;
  format: string | undefined;
  live: boolean;
  fps: number;
  width: number;
  height: number;
  hwaccel: string | undefined;
  realtime: boolean;
  loop: boolean;
  maxFrames: number;
  policy: DropPolicy;
  initialDelayMs: number;
  maxDelayMs: number;
  factor: number;
  maxAttempts: number;
  stallTimeoutMs: number;
  openTimeoutMs: number;
  inputOptions: string[];
}

/** Fills defaults and validates: every bad field is a `CONFIG_INVALID` error naming the camera and the field. */
function resolveOptions(o: VideoSourceOptions): Resolved {
  const cam = typeof o.camera === 'string' ? o.camera : '';
  const bad = (field: string, why: string): never => {
    throw surveillanceError('CONFIG_INVALID', `Camera '${cam}': ${field} ${why}.`, { camera: cam, field });
  };
  if (cam.trim() === '') bad('camera', 'must be a non-empty name');
  if (typeof o.input !== 'string' || o.input.trim() === '') bad('input', 'must be a file path, URL or device');
  if (!(Number.isFinite(o.fps) && o.fps > 0)) bad('fps', `must be a positive number (got ${String(o.fps)})`);
  for (const f of ['width', 'height'] as const) {
    const v = o[f];
    if (!(Number.isInteger(v) && v > 0 && v <= 16384)) bad(f, `must be an integer in [1, 16384] (got ${String(v)})`);
  }
  const live = o.live ?? ((/^[a-z][a-z0-9+.-]*:\/\//i.test(o.input) && !/^file:/i.test(o.input)) || o.input.startsWith('/dev/'));
  const maxFrames = o.queue?.maxFrames ?? 8;
  if (!(Number.isInteger(maxFrames) && maxFrames >= 1)) bad('queue.maxFrames', `must be an integer ≥ 1 (got ${String(maxFrames)})`);
  const policy = o.queue?.policy ?? 'drop-oldest';
  if (!['drop-oldest', 'drop-newest', 'block'].includes(policy)) bad('queue.policy', `must be 'drop-oldest', 'drop-newest' or 'block' (got '${String(policy)}')`);
  const r = o.reconnect ?? {};
  const initialDelayMs = r.initialDelayMs ?? 500;
  const maxDelayMs = r.maxDelayMs ?? 30_000;
  const factor = r.factor ?? 2;
  const maxAttempts = r.maxAttempts ?? (live ? Infinity : 0);
  const stallTimeoutMs = r.stallTimeoutMs ?? 10_000;
  const openTimeoutMs = r.openTimeoutMs ?? 20_000;
  if (!(initialDelayMs >= 0)) bad('reconnect.initialDelayMs', 'must be ≥ 0');
  if (!(maxDelayMs >= initialDelayMs)) bad('reconnect.maxDelayMs', 'must be ≥ reconnect.initialDelayMs');
  if (!(factor >= 1)) bad('reconnect.factor', 'must be ≥ 1');
  if (!(maxAttempts >= 0)) bad('reconnect.maxAttempts', 'must be ≥ 0 (Infinity to retry forever)');
  if (!(stallTimeoutMs > 0)) bad('reconnect.stallTimeoutMs', 'must be > 0');
  if (!(openTimeoutMs > 0)) bad('reconnect.openTimeoutMs', 'must be > 0');
  if (o.loop && live) bad('loop', 'only applies to files');
  return {
    camera: cam,
    input: o.input,
    format: o.format,
    live,
    fps: o.fps,
    width: o.width,
    height: o.height,
    hwaccel: o.hwaccel,
    realtime: o.realtime ?? false,
    loop: o.loop ?? false,
    maxFrames,
    policy,
    initialDelayMs,
    maxDelayMs,
    factor,
    maxAttempts,
    stallTimeoutMs,
    openTimeoutMs,
    inputOptions: o.inputOptions ?? [],
  };
}

/**
 * A camera or file decoded by ffmpeg into packed RGB {@link Frame}s at a configured rate and size, read with
 * `for await (const frame of source)`.
 *
 * **Back-pressure.** Frames wait in a bounded queue (`queue.maxFrames`). When the consumer is slower than the video,
 * frames are dropped by `queue.policy` and counted (`stats.dropped`), so memory stays bounded: at most `maxFrames`
 * queued frames, one frame being assembled, and the pipe's own buffer. With `policy: 'block'` the pipe is paused
 * instead and nothing is dropped.
 *
 * **Rate.** ffmpeg delivers at most `fps` frames per second of video and drops the rest; it never repeats a frame
 * to fill a gap, so a slower source gives fewer frames. `frame.time` is nominal: `sourceIndex ÷ fps`.
 *
 * **Live inputs** (URLs, devices) that exit, fail to connect or stall (no data for `stallTimeoutMs`, or for
 * `openTimeoutMs` before a run's first data) are restarted
 * with exponential backoff, forever by default; each attempt is reported (`reconnecting`, then `reconnected` on the
 * first frame). Frames are only ever whole frames decoded by ffmpeg: a frame cut off by a dying stream is discarded
 * (`stats.partialBytesDiscarded`), never padded or repeated. `frame.sourceIndex` and `frame.time` keep counting across
 * restarts; the time spent reconnecting is not in `time`.
 *
 * **Files** end at EOF (`end` with `eof`). A missing, unreadable or corrupt file, or one that decodes with errors
 * (truncated), fails this source only: the frames that did decode are delivered first, then the iterator throws a
 * `LeptonError` `VIDEO_SOURCE_FAILED` (with ffmpeg's error lines in `details.stderr`), and `error` is emitted when
 * someone listens to it. Other sources are separate processes and are not affected.
 *
 * One consumer per source. Breaking out of the `for await` loop closes the source.
 *
 * @example
 * ```ts
 * import { VideoSource } from '@lepton/surveillance';
 * const source = new VideoSource({ camera: 'gate', input: 'rtsp://10.0.0.5/sub', fps: 5, width: 640, height: 360 });
 * source.on('reconnecting', (e) => console.warn(`${e.camera}: retry ${e.attempt} in ${e.delayMs} ms (${e.reason})`));
 * for await (const frame of source) {
 *   // frame.data: 640 × 360 × 3 bytes of RGB
 * }
 * ```
 */
export class VideoSource extends EventEmitter<VideoSourceEvents> implements AsyncIterable<Frame> {
  /** The record stream, as configured (not decoded here; for the clip writer). */
  readonly record: RecordStreamOptions | undefined;
  private readonly o: Resolved;
  private readonly ffmpegOption: string | FfmpegBinary | undefined;
  private readonly frameBytes: number;
  private readonly queue: Frame[] = [];
  private waiter: (() => void) | undefined;
  private proc: FfmpegProcess | undefined;
  private bin: FfmpegBinary | undefined;
  private started = false;
  private finished = false;
  private closed = false;
  private failure: LeptonError | undefined;
  private failureThrown = false;
  private partial: Uint8Array | undefined;
  private filled = 0;
  private paused = false;
  private stallTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private lastData = 0;
  private attempt = 0;
  private downSince = 0;
  private hwaccelDisabled = false;
  private runBytes = 0;
  private stalledRun = false;
  private stallLimit = 0;
  private readonly counters: VideoSourceStats = {
    produced: 0,
    delivered: 0,
    dropped: 0,
    queued: 0,
    maxQueued: 0,
    restarts: 0,
    errors: 0,
    bytesRead: 0,
    partialBytesDiscarded: 0,
  };

  /**
   * @param options - input, rate, size, queue and reconnect settings
   * @throws LeptonError `CONFIG_INVALID` for a bad option (the message names the camera and the field)
   */
  constructor(options: VideoSourceOptions) {
    super();
    this.o = resolveOptions(options);
    this.record = options.record;
    this.ffmpegOption = options.ffmpeg;
    this.frameBytes = this.o.width * this.o.height * 3;
  }

  /** Camera name. */
  get camera(): string {
    return this.o.camera;
  }

  /** Whether the input is treated as live (reconnects, stall restarts). */
  get live(): boolean {
    return this.o.live;
  }

  /** The ffmpeg in use, once started. */
  get ffmpeg(): FfmpegBinary | undefined {
    return this.bin;
  }

  /** A snapshot of the counters. */
  get stats(): VideoSourceStats {
    return { ...this.counters, queued: this.queue.length };
  }

  /**
   * Starts decoding (iteration starts it too). Resolves once ffmpeg has been spawned, or the source has failed.
   *
   * @returns when the first ffmpeg run has started
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    try {
      const f = this.ffmpegOption;
      this.bin = typeof f === 'object' ? f : await resolveFfmpeg(f === undefined ? {} : { path: f });
    } catch (err) {
      this.fail(err as LeptonError);
      return;
    }
    if (!this.closed) this.run();
  }

  /**
   * Stops decoding: kills ffmpeg, cancels a pending reconnect, drops queued frames, ends the iteration.
   *
   * @returns when ffmpeg has exited
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clearTimers();
    this.queue.length = 0;
    const p = this.proc;
    p?.kill();
    if (!this.finished) this.finish('closed');
    this.wake();
    if (p) await p.exited;
  }

  /** @returns the async iterator over frames (starts the source) */
  [Symbol.asyncIterator](): AsyncIterator<Frame> {
    void this.start();
    return {
      next: () => this.next(),
      return: async () => {
        await this.close();
        return { done: true, value: undefined };
      },
    };
  }

  private async next(): Promise<IteratorResult<Frame>> {
    for (;;) {
      const frame = this.queue.shift();
      if (frame) {
        frame.index = this.counters.delivered++;
        if (this.paused && this.queue.length < this.o.maxFrames) this.resume();
        return { done: false, value: frame };
      }
      if (this.finished || this.closed) {
        if (this.failure && !this.failureThrown && !this.closed) {
          this.failureThrown = true;
          throw this.failure;
        }
        return { done: true, value: undefined };
      }
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private run(): void {
    const bin = this.bin!;
    const args = decodeArgs({
      input: this.o.input,
      fps: this.o.fps,
      width: this.o.width,
      height: this.o.height,
      live: this.o.live,
      realtime: this.o.realtime,
      loop: this.o.loop,
      inputOptions: this.o.inputOptions,
      legacyVsync: usesLegacyVsync(bin),
      ...(this.o.format ? { format: this.o.format } : {}),
      ...(this.o.hwaccel && !this.hwaccelDisabled ? { hwaccel: this.o.hwaccel } : {}),
    });
    const proc = spawnFfmpeg(bin, args);
    this.proc = proc;
    this.partial = undefined;
    this.filled = 0;
    this.runBytes = 0;
    this.stalledRun = false;
    this.paused = false;
    this.lastData = Date.now();
    this.armStall();
    this.emit('started', bin, args);
    proc.stdout.on('data', (chunk: Buffer) => this.onData(chunk));
    void proc.exited.then((exit) => this.onExit(proc, exit));
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.counters.bytesRead += chunk.length;
    const first = this.runBytes === 0;
    this.runBytes += chunk.length;
    this.lastData = Date.now();
    // The open timeout is over: from now on the (shorter) stall timeout applies.
    if (first && !this.paused) this.armStall();
    let off = 0;
    while (off < chunk.length) {
      if (!this.partial) this.partial = new Uint8Array(this.frameBytes);
      const n = Math.min(chunk.length - off, this.frameBytes - this.filled);
      this.partial.set(chunk.subarray(off, off + n), this.filled);
      this.filled += n;
      off += n;
      if (this.filled === this.frameBytes) {
        this.pushFrame(this.partial);
        this.partial = undefined;
        this.filled = 0;
      }
    }
    if (this.o.policy === 'block' && this.queue.length >= this.o.maxFrames && !this.paused) {
      this.paused = true;
      this.proc?.stdout.pause();
      clearTimeout(this.stallTimer);
    }
  }

  private pushFrame(data: Uint8Array): void {
    const sourceIndex = this.counters.produced++;
    if (this.attempt > 0) {
      this.emit('reconnected', { camera: this.o.camera, attempts: this.attempt, downtimeMs: Date.now() - this.downSince });
      this.attempt = 0;
    }
    const frame: Frame = {
      camera: this.o.camera,
      index: 0,
      sourceIndex,
      time: sourceIndex / this.o.fps,
      wallTime: Date.now(),
      width: this.o.width,
      height: this.o.height,
      data,
    };
    if (this.queue.length >= this.o.maxFrames && this.o.policy !== 'block') {
      this.counters.dropped++;
      if (this.o.policy === 'drop-newest') return;
      this.queue.shift();
    }
    this.queue.push(frame);
    if (this.queue.length > this.counters.maxQueued) this.counters.maxQueued = this.queue.length;
    this.wake();
  }

  private resume(): void {
    this.paused = false;
    this.lastData = Date.now();
    this.armStall();
    this.proc?.stdout.resume();
  }

  private armStall(): void {
    clearTimeout(this.stallTimer);
    const limit = this.runBytes === 0 ? this.o.openTimeoutMs : this.o.stallTimeoutMs;
    this.stallTimer = setTimeout(() => {
      const idle = Date.now() - this.lastData;
      if (this.paused || this.closed) return;
      const now = this.runBytes === 0 ? this.o.openTimeoutMs : this.o.stallTimeoutMs;
      if (idle >= now) {
        this.stalledRun = true;
        this.stallLimit = now;
        this.emit('stalled', { camera: this.o.camera, idleMs: idle });
        this.proc?.kill();
      } else this.armStall();
    }, Math.max(1, limit - (Date.now() - this.lastData)));
  }

  private clearTimers(): void {
    clearTimeout(this.stallTimer);
    clearTimeout(this.retryTimer);
  }

  private onExit(proc: FfmpegProcess, exit: FfmpegExit): void {
    if (proc !== this.proc) return;
    clearTimeout(this.stallTimer);
    if (this.closed) return;
    if (this.filled > 0) this.counters.partialBytesDiscarded += this.filled;
    this.partial = undefined;
    this.filled = 0;
    const clean = !this.stalledRun && exit.code === 0 && exit.stderr.length === 0;
    if (!clean) this.counters.errors++;
    const last = exit.stderr[exit.stderr.length - 1];
    const reason = this.stalledRun
      ? `stalled (no data for ${this.stallLimit} ms)`
      : exit.spawnError
        ? `ffmpeg did not start: ${exit.spawnError.message}`
        : `ffmpeg exited with ${exit.signal ? `signal ${exit.signal}` : `code ${String(exit.code)}`}${last ? `: ${last}` : ''}`;
    // A named hardware decoder that fails before any frame: go on in software (not counted as a reconnect attempt).
    if (!clean && this.runBytes === 0 && this.o.hwaccel && this.o.hwaccel !== 'auto' && !this.hwaccelDisabled && !this.stalledRun) {
      this.hwaccelDisabled = true;
      this.counters.restarts++;
      this.emit('hwaccel-fallback', { camera: this.o.camera, hwaccel: this.o.hwaccel, reason });
      this.run();
      return;
    }
    if (clean && !this.o.live) {
      this.finish('eof');
      return;
    }
    if (this.attempt === 0) this.downSince = Date.now();
    if (this.attempt >= this.o.maxAttempts) {
      const what = this.o.live ? `stream '${this.o.input}' failed` : `file '${this.o.input}' could not be decoded`;
      const after = this.attempt > 0 ? ` after ${this.attempt} reconnect attempts` : '';
      const hint = this.o.live ? 'check that the camera is reachable and the URL is right' : 'check that the file exists and is a complete, readable video';
      this.fail(
        surveillanceError('VIDEO_SOURCE_FAILED', `Camera '${this.o.camera}': ${what}${after} (${reason}); ${hint}.`, {
          camera: this.o.camera,
          input: this.o.input,
          exitCode: exit.code,
          signal: exit.signal,
          stderr: exit.stderr,
          attempts: this.attempt,
          framesBefore: this.counters.produced,
        }),
      );
      return;
    }
    this.attempt++;
    const delayMs = Math.min(this.o.maxDelayMs, this.o.initialDelayMs * this.o.factor ** (this.attempt - 1));
    this.emit('reconnecting', { camera: this.o.camera, attempt: this.attempt, delayMs, reason });
    this.retryTimer = setTimeout(() => {
      if (this.closed) return;
      this.counters.restarts++;
      this.run();
    }, delayMs);
  }

  private fail(err: LeptonError): void {
    this.failure = err;
    if (this.listenerCount('error') > 0) this.emit('error', err);
    this.finish('error');
  }

  private finish(reason: EndEvent['reason']): void {
    this.finished = true;
    this.clearTimers();
    this.emit('end', { camera: this.o.camera, reason });
    this.wake();
  }
}
