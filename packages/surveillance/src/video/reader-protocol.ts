/**
 * What the main thread and the frame-reader thread of a {@link VideoSource} say to each other (see
 * `reader-worker.ts`), and the counters they share. Internal: not exported from the package.
 *
 * This file must only import types, and only node built-ins as values: it is loaded into every reader thread, and a
 * value import of `@lepton/core` would load TensorFlow.js there.
 *
 * @module
 * @internal
 */
import type { FfmpegBinary } from './ffmpeg.js';
import type { DropPolicy, VideoSourceEvents, VideoSourceStats } from './source.js';

/** The counters, in the order they are laid out in the shared buffer. */
const STAT_KEYS = [
  'produced',
  'delivered',
  'dropped',
  'queued',
  'maxQueued',
  'restarts',
  'errors',
  'bytesRead',
  'partialBytesDiscarded',
] as const satisfies ReadonlyArray<keyof VideoSourceStats>;

/**
 * The counters of a source in a `SharedArrayBuffer`, written by the reader thread and read by the main thread at any
 * time, even while the reader is busy and no message has been handled. A sequence lock keeps a snapshot consistent
 * (`delivered + dropped + queued = produced` holds in every snapshot): the writer makes the sequence odd, writes,
 * makes it even again; a reader retries when the sequence was odd or changed while it read.
 * @internal
 */
export class SharedStats {
  /** The shared memory: an Int32 sequence, padding, then one Float64 per counter. */
  readonly buffer: SharedArrayBuffer;
  private readonly seq: Int32Array;
  private readonly values: Float64Array;

  /** @param buffer - the buffer of an existing `SharedStats` (in the other thread), or none for a new, zeroed one */
  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(8 + 8 * STAT_KEYS.length);
    this.seq = new Int32Array(this.buffer, 0, 1);
    this.values = new Float64Array(this.buffer, 8, STAT_KEYS.length);
  }

  /** Publishes the counters (one writer only: the reader thread). @param stats - the current counters */
  write(stats: VideoSourceStats): void {
    Atomics.add(this.seq, 0, 1);
    STAT_KEYS.forEach((k, i) => (this.values[i] = stats[k]));
    Atomics.add(this.seq, 0, 1);
  }

  /** @returns a consistent snapshot of the counters */
  read(): VideoSourceStats {
    const out = {} as VideoSourceStats;
    for (;;) {
      const before = Atomics.load(this.seq, 0);
      if (before % 2 === 0) {
        STAT_KEYS.forEach((k, i) => (out[k] = this.values[i]!));
        if (Atomics.load(this.seq, 0) === before) return out;
      }
    }
  }
}

/** What the reader thread gets at start (`workerData`): the resolved options of the source. @internal */
export interface ReaderConfig {
  /** Camera name. */
  camera: string;
  /** File, URL or device. */
  input: string;
  /** Input format (`-f`). */
  format: string | undefined;
  /** Live input: reconnects and stall restarts. */
  live: boolean;
  /** Output frame rate. */
  fps: number;
  /** Frame width. */
  width: number;
  /** Frame height. */
  height: number;
  /** Hardware decode method. */
  hwaccel: string | undefined;
  /** `-re`. */
  realtime: boolean;
  /** Loop a file. */
  loop: boolean;
  /** Queue bound. */
  maxFrames: number;
  /** Drop policy. */
  policy: DropPolicy;
  /** First reconnect delay, ms. */
  initialDelayMs: number;
  /** Longest reconnect delay, ms. */
  maxDelayMs: number;
  /** Backoff factor. */
  factor: number;
  /** Reconnect attempts allowed (may be `Infinity`). */
  maxAttempts: number;
  /** Stall timeout, ms. */
  stallTimeoutMs: number;
  /** Open timeout, ms. */
  openTimeoutMs: number;
  /** Extra input options. */
  inputOptions: string[];
  /** The ffmpeg binary, resolved on the main thread. */
  binary: FfmpegBinary;
  /** The buffer of the source's {@link SharedStats}. */
  stats: SharedArrayBuffer;
}

/** A message from the main thread: hand over one frame (`pull`), or stop (`close`). @internal */
export type ToReader = { type: 'pull' } | { type: 'close' };

/** A `LeptonError` as it crosses threads; re-created on the main thread with the same code, message and details. @internal */
export interface SerializedError {
  /** Error code. */
  code: 'VIDEO_SOURCE_FAILED' | 'VIDEO_NO_STREAM';
  /** Message. */
  message: string;
  /** Details (structured-cloneable). */
  details: Record<string, unknown>;
}

/** Events the reader raises and the main thread re-emits. @internal */
export type ForwardedEvent = 'started' | 'reconnecting' | 'reconnected' | 'stalled' | 'hwaccel-fallback';

/** One forwarded event, with the counters as they were when it happened. @internal */
export type ReaderEventMessage = {
  [K in ForwardedEvent]: { type: 'event'; name: K; args: VideoSourceEvents[K]; stats: VideoSourceStats };
}[ForwardedEvent];

/** A message from the reader thread. @internal */
export type FromReader =
  | ReaderEventMessage
  /** The answer to one `pull`: a frame, its pixels in a transferred buffer. */
  | { type: 'frame'; index: number; sourceIndex: number; time: number; wallTime: number; data: ArrayBuffer }
  /** The answer to one `pull` when no frame will come any more. */
  | { type: 'done' }
  /** No more frames will be produced (queued ones can still be pulled). */
  | { type: 'end'; reason: 'eof' | 'error'; error?: SerializedError; stats: VideoSourceStats }
  /** After `close`: ffmpeg has exited. */
  | { type: 'closed' };
