/**
 * The frame reader of a {@link VideoSource}, run in its own `worker_threads` thread: it spawns ffmpeg, reads raw RGB
 * frames from its stdout, keeps the bounded queue and applies the drop policy, detects stalls and reconnects with
 * backoff, and hands one frame to the main thread per `pull` (its pixels transferred, not copied).
 *
 * Why a thread: detection (TF.js inference) runs synchronously on the main thread, often longer than a frame interval.
 * A reader on the main thread does not drain the pipe while it runs; the pipe (64 KB, about one frame) fills, ffmpeg
 * blocks on it, and on a live stream the backlog builds up in ffmpeg and the network instead of being dropped by the
 * queue, so the consumer falls further and further behind real time. Here the pipe is drained and the policy applied
 * whatever the main thread does. Do not move this work back to the main thread.
 *
 * Imports: node built-ins, `./ffmpeg.js` and `./spawn.js` only (types aside). Never `@lepton/core` or `../types.js`
 * as values: they load TensorFlow.js into the thread (about 1 s and 60 MB per camera). Errors therefore cross as plain
 * objects and become `LeptonError`s on the main thread.
 *
 * @module
 * @internal
 */
import { spawnSync } from 'node:child_process';
import { parentPort, workerData } from 'node:worker_threads';
import { usesLegacyVsync } from './ffmpeg.js';
import { decodeArgs, hasNoVideoStream, spawnFfmpeg, type FfmpegExit, type FfmpegProcess } from './spawn.js';
import { redactCredentials } from './redact.js';
import { SharedStats, type ForwardedEvent, type FromReader, type ReaderConfig, type SerializedError, type ToReader } from './reader-protocol.js';
import type { VideoSourceEvents, VideoSourceStats } from './source.js';

/** A frame waiting in the queue. */
interface Queued {
  sourceIndex: number;
  time: number;
  wallTime: number;
  data: Uint8Array;
}

class Reader {
  private readonly frameBytes: number;
  private readonly queue: Queued[] = [];
  private readonly shared: SharedStats;
  /** Pulls from the main thread not answered yet. */
  private wanted = 0;
  private proc: FfmpegProcess | undefined;
  private finished = false;
  private closed = false;
  private partial: Uint8Array | undefined;
  private filled = 0;
  private paused = false;
  /** With `block`: bytes read from the pipe after the queue filled, cut into frames once the consumer takes one. */
  private held: Buffer | undefined;
  /** ffmpeg's exit, when it came while bytes were held. */
  private heldExit: { proc: FfmpegProcess; exit: FfmpegExit } | undefined;
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

  constructor(
    private readonly o: ReaderConfig,
    private readonly post: (msg: FromReader, transfer?: ArrayBuffer[]) => void,
  ) {
    this.frameBytes = o.width * o.height * 3;
    this.shared = new SharedStats(o.stats);
  }

  onMessage(msg: ToReader): void {
    if (msg.type === 'pull') {
      this.wanted++;
      this.serve();
    } else void this.close();
  }

  private snapshot(): VideoSourceStats {
    return { ...this.counters, queued: this.queue.length };
  }

  private publish(): void {
    this.shared.write(this.snapshot());
  }

  private emit<K extends ForwardedEvent>(name: K, ...args: VideoSourceEvents[K]): void {
    this.publish();
    this.post({ type: 'event', name, args, stats: this.snapshot() } as FromReader);
  }

  /** Answers pending pulls: with queued frames, then with `done` once the source has finished and the queue is empty. */
  private serve(): void {
    let served = false;
    while (this.wanted > 0 && this.queue.length > 0) {
      const f = this.queue.shift()!;
      this.wanted--;
      served = true;
      const index = this.counters.delivered++;
      this.publish();
      const buf = f.data.buffer as ArrayBuffer;
      this.post({ type: 'frame', index, sourceIndex: f.sourceIndex, time: f.time, wallTime: f.wallTime, data: buf }, [buf]);
    }
    if (served && this.paused && this.queue.length < this.o.maxFrames) this.resume();
    if (this.finished && this.queue.length === 0) {
      for (; this.wanted > 0; this.wanted--) this.post({ type: 'done' });
    }
  }

  /** Probed once per source: whether the file's video runs at fewer frames per second than `fps`. */
  private slowFile: boolean | undefined;

  private fileSlowerThanFps(): boolean {
    if (this.slowFile === undefined) {
      const rate = probeFrameRate(this.o.binary.path, this.o.input, this.o.format, this.o.inputOptions);
      this.slowFile = rate !== undefined && rate < this.o.fps * (1 - 1e-3);
    }
    return this.slowFile;
  }

  run(): void {
    const args = decodeArgs({
      input: this.o.input,
      fps: this.o.fps,
      width: this.o.width,
      height: this.o.height,
      live: this.o.live,
      realtime: this.o.realtime,
      loop: this.o.loop,
      inputOptions: this.o.inputOptions,
      legacyVsync: usesLegacyVsync(this.o.binary),
      // A file slower than `fps` is padded to a constant rate, so that its frame i is at media time i ÷ fps (see
      // VideoSource, "Rate"); a file at or above `fps` and every live stream keep dropping only, as they always did.
      constantRate: !this.o.live && this.fileSlowerThanFps(),
      ...(this.o.format ? { format: this.o.format } : {}),
      ...(this.o.hwaccel && !this.hwaccelDisabled ? { hwaccel: this.o.hwaccel } : {}),
    });
    const proc = spawnFfmpeg(this.o.binary, args);
    this.proc = proc;
    this.partial = undefined;
    this.filled = 0;
    this.runBytes = 0;
    this.stalledRun = false;
    this.paused = false;
    this.lastData = Date.now();
    this.armStall();
    this.emit('started', this.o.binary, args);
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
    if (this.held !== undefined) {
      this.held = Buffer.concat([this.held, chunk]); // a read that raced the pause: after the held bytes, in order
      return;
    }
    this.consume(chunk);
  }

  /**
   * Cuts frames out of `bytes` into the queue. With `block`, a full queue stops the cutting: the rest of the bytes are
   * held (one pipe read at most) and the pipe paused until the consumer takes a frame, so the queue never holds more
   * than `maxFrames` even when one read carries several small frames. With a drop policy every frame is cut at once.
   */
  private consume(bytes: Buffer): void {
    let rest: Buffer | undefined = bytes;
    while (rest !== undefined) {
      rest = this.cut(rest);
      this.publish();
      this.serve();
      if (rest !== undefined && this.queue.length >= this.o.maxFrames) {
        this.held = rest;
        break;
      }
    }
    if (this.o.policy === 'block' && (this.held !== undefined || this.queue.length >= this.o.maxFrames) && !this.paused) {
      this.paused = true;
      this.proc?.stdout.pause();
      clearTimeout(this.stallTimer);
    }
  }

  /** Assembles frames from `bytes`; returns what is left when a `block` queue fills, else undefined. */
  private cut(bytes: Buffer): Buffer | undefined {
    let off = 0;
    while (off < bytes.length) {
      if (this.o.policy === 'block' && this.queue.length >= this.o.maxFrames) return bytes.subarray(off);
      if (!this.partial) this.partial = new Uint8Array(this.frameBytes);
      const n = Math.min(bytes.length - off, this.frameBytes - this.filled);
      this.partial.set(bytes.subarray(off, off + n), this.filled);
      this.filled += n;
      off += n;
      if (this.filled === this.frameBytes) {
        this.pushFrame(this.partial);
        this.partial = undefined;
        this.filled = 0;
      }
    }
    return undefined;
  }

  private pushFrame(data: Uint8Array): void {
    const sourceIndex = this.counters.produced++;
    if (this.attempt > 0) {
      this.emit('reconnected', { camera: this.o.camera, attempts: this.attempt, downtimeMs: Date.now() - this.downSince });
      this.attempt = 0;
    }
    const frame: Queued = { sourceIndex, time: sourceIndex / this.o.fps, wallTime: Date.now(), data };
    if (this.queue.length >= this.o.maxFrames && this.o.policy !== 'block') {
      this.counters.dropped++;
      if (this.o.policy === 'drop-newest') return;
      this.queue.shift();
    }
    this.queue.push(frame);
    if (this.queue.length > this.counters.maxQueued) this.counters.maxQueued = this.queue.length;
    // A consumer already waiting gets the frame now, before the rest of the chunk can push it out of the queue.
    if (this.wanted > 0) this.serve();
  }

  private resume(): void {
    this.paused = false;
    const held = this.held;
    this.held = undefined;
    if (held !== undefined) {
      this.consume(held);
      if (this.paused) return; // the queue filled again: the rest is held once more
    }
    if (this.heldExit !== undefined) {
      // ffmpeg ended while its last bytes were held: they are frames now, so its exit can be handled
      const { proc, exit } = this.heldExit;
      this.heldExit = undefined;
      this.onExit(proc, exit);
      return;
    }
    this.lastData = Date.now();
    this.armStall();
    this.proc?.stdout.resume();
  }

  private armStall(): void {
    clearTimeout(this.stallTimer);
    const limit = this.runBytes === 0 ? this.o.openTimeoutMs : this.o.stallTimeoutMs;
    this.stallTimer = setTimeout(
      () => {
        const idle = Date.now() - this.lastData;
        if (this.paused || this.closed) return;
        const now = this.runBytes === 0 ? this.o.openTimeoutMs : this.o.stallTimeoutMs;
        if (idle >= now) {
          this.stalledRun = true;
          this.stallLimit = now;
          this.emit('stalled', { camera: this.o.camera, idleMs: idle });
          this.proc?.kill();
        } else this.armStall();
      },
      Math.max(1, limit - (Date.now() - this.lastData)),
    );
  }

  private clearTimers(): void {
    clearTimeout(this.stallTimer);
    clearTimeout(this.retryTimer);
  }

  private onExit(proc: FfmpegProcess, exit: FfmpegExit): void {
    if (proc !== this.proc) return;
    clearTimeout(this.stallTimer);
    if (this.closed) return;
    if (this.held !== undefined) {
      // Frames still held from its last reads: handle the exit once the consumer has made room for them (resume()).
      this.heldExit = { proc, exit };
      return;
    }
    if (this.filled > 0) this.counters.partialBytesDiscarded += this.filled;
    this.partial = undefined;
    this.filled = 0;
    const clean = !this.stalledRun && exit.code === 0 && exit.stderr.length === 0;
    if (!clean) this.counters.errors++;
    this.publish();
    // ffmpeg repeats a camera URL, password included, in its error lines: never pass them on unmasked.
    const stderr = exit.stderr.map(redactCredentials);
    const input = redactCredentials(this.o.input);
    // `-map 0:v:0` matched nothing: an audio-only (or data-only) input. ffmpeg's own words for it ("add a trailing '?'
    // to the map") point at our arguments, not at the input, so say what it means.
    const noVideo = !clean && !this.stalledRun && this.runBytes === 0 && hasNoVideoStream(exit.stderr);
    const last = stderr[stderr.length - 1];
    const reason = this.stalledRun
      ? `stalled (no data for ${this.stallLimit} ms)`
      : noVideo
        ? 'the input has no video stream'
        : exit.spawnError
          ? `ffmpeg did not start: ${exit.spawnError.message}`
          : `ffmpeg exited with ${exit.signal ? `signal ${exit.signal}` : `code ${String(exit.code)}`}${last ? `: ${last}` : ''}`;
    // A named hardware decoder that fails before any frame: go on in software (not counted as a reconnect attempt).
    if (!clean && !noVideo && this.runBytes === 0 && this.o.hwaccel && this.o.hwaccel !== 'auto' && !this.hwaccelDisabled && !this.stalledRun) {
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
      const details = {
        camera: this.o.camera,
        input,
        exitCode: exit.code,
        signal: exit.signal,
        stderr,
        attempts: this.attempt,
        framesBefore: this.counters.produced,
      };
      const after = this.attempt > 0 ? ` after ${this.attempt} reconnect attempts` : '';
      if (noVideo) {
        const what = this.o.live ? `stream '${input}'` : `file '${input}'`;
        this.finish('error', {
          code: 'VIDEO_NO_STREAM',
          message: `Camera '${this.o.camera}': ${what} has no video stream (audio or data only)${after}; point the camera at a video file or a video stream.`,
          details,
        });
        return;
      }
      const what = this.o.live ? `stream '${input}' failed` : `file '${input}' could not be decoded`;
      const hint = this.o.live ? 'check that the camera is reachable and the URL is right' : 'check that the file exists and is a complete, readable video';
      this.finish('error', { code: 'VIDEO_SOURCE_FAILED', message: `Camera '${this.o.camera}': ${what}${after} (${reason}); ${hint}.`, details });
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

  private finish(reason: 'eof' | 'error', error?: SerializedError): void {
    this.finished = true;
    this.clearTimers();
    this.publish();
    this.post({ type: 'end', reason, ...(error ? { error } : {}), stats: this.snapshot() });
    this.serve();
  }

  /** Kills ffmpeg, drops the queue, and says `closed` once ffmpeg has exited. */
  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clearTimers();
    this.queue.length = 0;
    this.held = undefined;
    this.heldExit = undefined;
    this.publish();
    const p = this.proc;
    p?.kill();
    if (p) await p.exited;
    this.post({ type: 'closed' });
  }
}

if (parentPort !== null && (workerData as { kind?: unknown } | null)?.kind === 'lepton-video-reader') {
  const port = parentPort;
  const reader = new Reader((workerData as { config: ReaderConfig }).config, (msg, transfer) => port.postMessage(msg, transfer));
  port.on('message', (msg: ToReader) => reader.onMessage(msg));
  reader.run();
}

/**
 * The frame rate of a file's first video stream as ffmpeg reports it when opening the file (`… 5 fps …`, else its
 * `tbr`), or undefined when it cannot tell (the decode then keeps dropping only, as for any input).
 * @internal
 */
export function probeFrameRate(binary: string, input: string, format: string | undefined, inputOptions: readonly string[] | undefined): number | undefined {
  const r = spawnSync(binary, ['-hide_banner', '-nostdin', ...(format ? ['-f', format] : []), ...(inputOptions ?? []), '-i', input], { encoding: 'utf8', timeout: 15_000, maxBuffer: 1 << 20 });
  const info = typeof r.stderr === 'string' ? r.stderr : '';
  const line = info.split(/\r?\n/).find((l) => /Stream #\d+:\d+.*: Video:/.test(l));
  if (line === undefined) return undefined;
  const m = / (\d+(?:\.\d+)?) fps/.exec(line) ?? / (\d+(?:\.\d+)?)k? tbr/.exec(line);
  const rate = m === null ? Number.NaN : Number(m[1]);
  return Number.isFinite(rate) && rate > 0 ? rate : undefined;
}
