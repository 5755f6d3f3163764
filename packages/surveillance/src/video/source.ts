import { MAX_TIMER_MS, resolveBackoff } from './backoff.js';
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import { describeValue, type LeptonError } from '@lepton/core';
import { surveillanceError, type Frame } from '../types.js';
import { resolveFfmpeg, type FfmpegBinary } from './ffmpeg.js';
import { redactCredentials } from './redact.js';
import { SharedStats, type FromReader, type ReaderConfig, type ToReader } from './reader-protocol.js';

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
  /**
   * Frames per second to deliver: frames above the rate are dropped by ffmpeg; a file slower than the rate has frames
   * repeated (so that `frame.time` is its media time), a live input does not (see {@link VideoSource}, "Rate").
   */
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

/**
 * Counters of a {@link VideoSource}. Every snapshot is consistent: `delivered + dropped + queued = produced` (after
 * the source has ended and been drained, `delivered + dropped = produced`).
 */
export interface VideoSourceStats {
  /** Complete frames ffmpeg produced (read from the pipe). */
  produced: number;
  /** Frames handed to the consumer. */
  delivered: number;
  /** Frames dropped because the queue was full. */
  dropped: number;
  /** Frames waiting for the consumer now: in the queue, plus one on its way to the consumer, if any (so at most `queue.maxFrames + 1`). */
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
  /** The source failed for good (`VIDEO_SOURCE_FAILED`, `VIDEO_NO_STREAM` or `VIDEO_FFMPEG_MISSING`). Only emitted when listened to. */
  error: [error: LeptonError];
  /** No more frames will be produced. */
  end: [event: EndEvent];
}

/** The source's options with defaults filled in: what the reader thread gets. */
type Resolved = Omit<ReaderConfig, 'binary' | 'stats'>;

/** Fills defaults and validates: every bad field is a `CONFIG_INVALID` error naming the camera and the field. */
function resolveOptions(o: VideoSourceOptions): Resolved {
  if (o === null || typeof o !== 'object') throw surveillanceError('CONFIG_INVALID', 'VideoSource needs options { camera, input, fps, width, height }.', { field: '' });
  const cam = typeof o.camera === 'string' ? o.camera : '';
  const bad = (field: string, why: string): never => {
    throw surveillanceError('CONFIG_INVALID', `Camera '${cam}': ${field} ${why}.`, { camera: cam, field });
  };
  if (cam.trim() === '') bad('camera', 'must be a non-empty name');
  if (typeof o.input !== 'string' || o.input.trim() === '') bad('input', 'must be a file path, URL or device');
  if (!(Number.isFinite(o.fps) && o.fps > 0)) bad('fps', `must be a positive number (got ${describeValue(o.fps)})`);
  for (const f of ['width', 'height'] as const) {
    const v = o[f];
    if (!(Number.isInteger(v) && v > 0 && v <= 16384)) bad(f, `must be an integer in [1, 16384] (got ${describeValue(v)})`);
  }
  const live = o.live ?? ((/^[a-z][a-z0-9+.-]*:\/\//i.test(o.input) && !/^file:/i.test(o.input)) || o.input.startsWith('/dev/'));
  const maxFrames = o.queue?.maxFrames ?? 8;
  if (!(Number.isInteger(maxFrames) && maxFrames >= 1)) bad('queue.maxFrames', `must be an integer ≥ 1 (got ${describeValue(maxFrames)})`);
  const policy = o.queue?.policy ?? 'drop-oldest';
  if (!['drop-oldest', 'drop-newest', 'block'].includes(policy)) bad('queue.policy', `must be 'drop-oldest', 'drop-newest' or 'block' (got ${describeValue(policy)})`);
  const { initialDelayMs, maxDelayMs, factor } = resolveBackoff(o.reconnect, bad);
  const r = o.reconnect ?? {};
  const maxAttempts = r.maxAttempts ?? (live ? Infinity : 0);
  const stallTimeoutMs = r.stallTimeoutMs ?? 10_000;
  const openTimeoutMs = r.openTimeoutMs ?? 20_000;
  if (!(typeof maxAttempts === 'number' && maxAttempts >= 0 && (Number.isInteger(maxAttempts) || maxAttempts === Infinity))) bad('reconnect.maxAttempts', 'must be an integer ≥ 0 (Infinity to retry forever)');
  // A timer cannot wait longer than MAX_TIMER_MS: past it (or Infinity) a stall would be declared at once, every time.
  if (!(typeof stallTimeoutMs === 'number' && stallTimeoutMs > 0 && stallTimeoutMs <= MAX_TIMER_MS)) bad('reconnect.stallTimeoutMs', `must be a number of milliseconds > 0 and ≤ ${MAX_TIMER_MS}`);
  if (!(typeof openTimeoutMs === 'number' && openTimeoutMs > 0 && openTimeoutMs <= MAX_TIMER_MS)) bad('reconnect.openTimeoutMs', `must be a number of milliseconds > 0 and ≤ ${MAX_TIMER_MS}`);
  if (o.loop && live) bad('loop', 'only applies to files');
  if (o.inputOptions !== undefined && !(Array.isArray(o.inputOptions) && o.inputOptions.every((a) => typeof a === 'string'))) bad('inputOptions', 'must be a list of strings (ffmpeg arguments)');
  for (const f of ['format', 'hwaccel'] as const) if (o[f] !== undefined && (typeof o[f] !== 'string' || o[f] === '')) bad(f, 'must be a non-empty string');
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
 * **Reader thread.** ffmpeg's output is read, cut into frames and queued on a `worker_threads` thread of its own (one
 * per source), not on the thread that consumes the frames. Detection blocks that thread for a whole inference; a
 * reader there would leave ffmpeg's pipe full meanwhile, ffmpeg would stop, and a live stream would pile up in ffmpeg
 * and the network, ever further behind real time, with nothing dropped. The reader thread keeps draining the pipe and
 * applies the drop policy, so the consumer gets recent frames. Each frame crosses threads once, its buffer transferred,
 * not copied. Stall detection and reconnects run there too, so a busy consumer is never taken for a stalled camera.
 * The cost is a thread (a V8 isolate, roughly 10 MB) per source.
 *
 * **Back-pressure.** Frames wait in a bounded queue (`queue.maxFrames`). When the consumer is slower than the video,
 * frames are dropped by `queue.policy` and counted (`stats.dropped`), so memory stays bounded: at most `maxFrames`
 * queued frames, one frame being assembled, one on its way to the consumer, and the pipe's own buffer. With `policy: 'block'`
 * the pipe is paused instead and nothing is dropped. With `drop-oldest` the consumer takes the oldest queued frame, so
 * a consumer that is always behind sees frames about `maxFrames / fps` seconds old: keep the queue short on a live
 * camera when latency matters. A file decoded faster than real time with a drop policy can lose frames even to a quick
 * consumer, since ffmpeg can outrun the hand-over between threads: read files with `block` (as the pipeline does) or
 * `realtime`.
 *
 * **Rate.** `frame.time` is `sourceIndex ÷ fps`. ffmpeg delivers at most `fps` frames per second of video and drops
 * the rest. A file whose own rate is below `fps` (a 5 fps file read at 10 fps) is decoded at a constant `fps`
 * instead, its frames repeated, so that `frame.time` is the file's media time for every file. For a live input ffmpeg delivers at most `fps` frames per second and drops
 * the rest; it never repeats a frame to fill a gap (a stream cut mid-GOP, a camera whose clock jumps), so a stream
 * slower than `fps` gives fewer frames and its `frame.time` is nominal: set `fps` at or below the camera's rate.
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
 * someone listens to it. An input without a video stream (an audio-only file) fails the same way with
 * `VIDEO_NO_STREAM`. Other sources are separate processes and are not affected. Error messages and details show
 * camera URLs with their credentials masked (`rtsp://***@10.0.0.7/…`).
 *
 * **Events** are raised on the reader thread and emitted here when this thread is free to handle them; inside a
 * listener, {@link VideoSource.stats} is the snapshot taken when the event happened.
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
  /** Counters written by the reader thread, readable here at any time. */
  private readonly shared = new SharedStats();
  /** The counters as they were when the event being emitted happened (set only while emitting it). */
  private eventStats: VideoSourceStats | undefined;
  private bin: FfmpegBinary | undefined;
  private worker: Worker | undefined;
  private starting: Promise<void> | undefined;
  private running: (() => void) | undefined;
  private closedAck: (() => void) | undefined;
  /** Consumers waiting for a frame, in the order of their pulls (the reader answers pulls in order). */
  private readonly pulls: Array<(frame: Frame | undefined) => void> = [];
  /** The pull made ahead, while the consumer works on the frame it got (see `next`). */
  private ahead: Promise<Frame | undefined> | undefined;
  /** Frames returned to the consumer. */
  private received = 0;
  private finished = false;
  private closed = false;
  private drained = false;
  private failure: LeptonError | undefined;
  private failureThrown = false;

  /**
   * @param options - input, rate, size, queue and reconnect settings
   * @throws LeptonError `CONFIG_INVALID` for a bad option (the message names the camera and the field)
   */
  constructor(options: VideoSourceOptions) {
    super();
    this.o = resolveOptions(options);
    this.record = options.record;
    this.ffmpegOption = options.ffmpeg;
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

  /**
   * A consistent snapshot of the counters, current even while this thread was busy (they live on the reader thread).
   * A frame on its way between the threads (at most one) is counted in `queued` until the iterator returns it, so
   * `queued` can be `queue.maxFrames + 1`.
   */
  get stats(): VideoSourceStats {
    const s = this.eventStats ? { ...this.eventStats } : this.shared.read();
    // The reader counts a frame delivered when it sends it; the consumer has it once `next` returned it.
    // After close, a frame that was on its way is thrown away with the queue (not counted, as queued frames are not).
    const inTransit = Math.max(0, s.delivered - this.received);
    return { ...s, delivered: s.delivered - inTransit, queued: s.queued + (this.closed ? 0 : inTransit) };
  }

  /**
   * Starts decoding (iteration starts it too). Resolves once ffmpeg has been spawned, or the source has failed.
   *
   * @returns when the first ffmpeg run has started
   */
  start(): Promise<void> {
    this.starting ??= this.spawnReader();
    return this.starting;
  }

  /**
   * Stops decoding: kills ffmpeg, cancels a pending reconnect, drops queued frames, ends the iteration.
   *
   * @returns when ffmpeg has exited
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.finished) this.finish('closed');
    this.answerPulls();
    this.running?.();
    const w = this.worker;
    if (w) {
      const acked = new Promise<void>((resolve) => (this.closedAck = resolve));
      w.ref(); // the answer is awaited (the thread may have been unref'd when the source ended)
      w.postMessage({ type: 'close' } satisfies ToReader);
      await acked; // ffmpeg has exited (or the thread has)
      await w.terminate();
    }
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
    await this.start();
    const pending = this.ahead ?? this.pull();
    this.ahead = undefined;
    const frame = await pending;
    if (frame) {
      this.received++;
      // Ask for the next frame now, while the consumer works on this one, so that it is here when asked for: a
      // round trip between the threads per frame would otherwise make a fast consumer slower than ffmpeg and, with a
      // drop policy, lose frames of a file it could have kept up with. It costs at most one frame of memory, and on
      // a live stream that frame is at most one consumer step older than the freshest.
      this.ahead = this.pull();
      return { done: false, value: frame };
    }
    if (this.failure && !this.failureThrown && !this.closed) {
      this.failureThrown = true;
      throw this.failure;
    }
    return { done: true, value: undefined };
  }

  /** Asks the reader thread for one frame; undefined when no more will come. */
  private pull(): Promise<Frame | undefined> {
    const w = this.worker;
    if (!w || this.drained || this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.pulls.push(resolve);
      w.ref(); // an answer is awaited: keep the process alive for it
      w.postMessage({ type: 'pull' } satisfies ToReader);
    });
  }

  private answerPulls(): void {
    for (const resolve of this.pulls.splice(0)) resolve(undefined);
  }

  private async spawnReader(): Promise<void> {
    try {
      const f = this.ffmpegOption;
      this.bin = typeof f === 'object' ? f : await resolveFfmpeg(f === undefined ? {} : { path: f });
    } catch (err) {
      this.drained = true;
      if (!this.closed) this.fail(err as LeptonError);
      return;
    }
    if (this.closed) return;
    const config: ReaderConfig = { ...this.o, binary: this.bin, stats: this.shared.buffer };
    // Next to this file in dist/ (compiled from reader-worker.ts). Plain JavaScript needing no node flags: the
    // program's own (`execArgv`, inherited by default) can be ones a worker rejects, such as `--input-type`.
    const worker = new Worker(new URL('./reader-worker.js', import.meta.url), { workerData: { kind: 'lepton-video-reader', config }, execArgv: [] });
    this.worker = worker;
    const running = new Promise<void>((resolve) => (this.running = resolve));
    worker.on('message', (msg: FromReader) => this.onMessage(msg));
    worker.on('error', (err) => this.onCrash(err));
    worker.on('exit', () => this.onExit(worker));
    await running;
  }

  private onMessage(msg: FromReader): void {
    switch (msg.type) {
      case 'frame': {
        const frame: Frame = {
          camera: this.o.camera,
          index: msg.index,
          sourceIndex: msg.sourceIndex,
          time: msg.time,
          wallTime: msg.wallTime,
          width: this.o.width,
          height: this.o.height,
          data: new Uint8Array(msg.data),
        };
        this.pulls.shift()?.(frame);
        this.unrefWhenIdle();
        return;
      }
      case 'done':
        this.drained = true;
        this.pulls.shift()?.(undefined);
        // Everything was delivered and ffmpeg is gone: the thread has nothing left to do.
        if (this.pulls.length === 0) void this.worker?.terminate();
        return;
      case 'closed':
        this.closedAck?.();
        return;
      case 'event':
        if (this.closed) return;
        this.eventStats = msg.stats;
        try {
          (this.emit as (name: string, ...args: unknown[]) => boolean)(msg.name, ...msg.args);
        } finally {
          this.eventStats = undefined;
        }
        if (msg.name === 'started') this.running?.();
        return;
      case 'end':
        if (this.closed) return;
        this.eventStats = msg.stats;
        try {
          if (msg.error) this.fail(surveillanceError(msg.error.code, msg.error.message, msg.error.details));
          else this.finish(msg.reason);
        } finally {
          this.eventStats = undefined;
        }
        this.running?.();
        this.unrefWhenIdle();
        return;
    }
  }

  /**
   * Once nothing more will be produced and nobody waits for a frame, the thread must not keep the process alive. Not
   * while closing: `close` awaits the thread's answer, and an unref'd thread would let the process exit first.
   */
  private unrefWhenIdle(): void {
    if (this.finished && !this.closed && this.pulls.length === 0) this.worker?.unref();
  }

  /** An exception inside the reader thread (a bug): the source fails with a typed error rather than hanging. */
  private onCrash(err: Error): void {
    if (this.closed || this.finished) return;
    this.fail(
      surveillanceError(
        'VIDEO_SOURCE_FAILED',
        `Camera '${this.o.camera}': the frame reader thread failed (${err.message}); this is a bug in @lepton/surveillance, please report it.`,
        { camera: this.o.camera, input: redactCredentials(this.o.input) },
        err,
      ),
    );
  }

  private onExit(worker: Worker): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.drained = true;
    if (!this.closed && !this.finished) {
      this.fail(surveillanceError('VIDEO_SOURCE_FAILED', `Camera '${this.o.camera}': the frame reader thread exited unexpectedly; this is a bug in @lepton/surveillance, please report it.`, { camera: this.o.camera, input: redactCredentials(this.o.input) }));
    }
    this.running?.();
    this.closedAck?.();
    this.answerPulls();
  }

  private fail(err: LeptonError): void {
    this.failure = err;
    if (this.listenerCount('error') > 0) this.emit('error', err);
    this.finish('error');
  }

  private finish(reason: EndEvent['reason']): void {
    this.finished = true;
    this.emit('end', { camera: this.o.camera, reason });
  }
}
