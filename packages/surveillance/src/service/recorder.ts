import { type Backoff, resolveBackoff } from '../video/backoff.js';
import { EventEmitter } from 'node:events';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describeValue, LeptonError } from '@lepton/core';
import { resolveFfmpeg, type FfmpegBinary } from '../video/ffmpeg.js';
import { spawnFfmpeg, type FfmpegProcess } from '../video/spawn.js';
import { redactCredentials, rememberCredentials } from '../video/redact.js';
import type { RecordedSegment } from './segments.js';

/** Options of {@link Recorder}. */
export interface RecorderOptions {
  /** Camera name. */
  camera: string;
  /** What to record: the camera's record stream (or its detect stream), a URL, device or file. */
  input: string;
  /** The camera's recording folder (created). */
  dir: string;
  /** Segment length, seconds (≥ 1; segments start at keyframes, so they can be longer). */
  segmentSeconds: number;
  /** Extra ffmpeg input options (e.g. `['-rtsp_transport', 'udp']`), placed last before `-i`. */
  inputOptions?: readonly string[];
  /** Reconnect backoff of a live input. */
  reconnect?: {
    /** Delay before the first attempt, ms (default 500). */
    initialDelayMs?: number;
    /** Longest delay, ms (default 30,000). */
    maxDelayMs?: number;
    /** Growth per failed attempt (default 2). */
    factor?: number;
  };
  /** ffmpeg to use (default: {@link resolveFfmpeg}'s choice). */
  ffmpeg?: string | FfmpegBinary;
  /**
   * Seconds without any input (the segment being written does not grow) before a live input's ffmpeg is restarted
   * (default three segment lengths, at least 30 s). Input that keeps arriving never restarts it, however long the
   * camera's keyframe interval keeps a segment open.
   */
  stallSeconds?: number;
}

/** Counters and state of a {@link Recorder}. */
export interface RecorderStats {
  /** `starting`, `recording`, `reconnecting`, `ended` (a file input reached its end), `stopped`. */
  state: 'starting' | 'recording' | 'reconnecting' | 'ended' | 'stopped';
  /** Segments finished by this recorder. */
  segments: number;
  /** Bytes of those segments. */
  bytes: number;
  /** ffmpeg restarts after the input failed or stalled. */
  restarts: number;
  /** Wall-clock time the last segment finished, ms; `null` before the first. */
  lastSegmentAt: number | null;
  /** ffmpeg's last error line (credentials masked), if any. */
  lastError: string | null;
  /**
   * Finished segments longer than twice `segmentSeconds`: the camera's keyframe interval is longer than the segment
   * length (a segment can only end on a keyframe).
   */
  longSegments: number;
  /** What looks wrong while recording goes on (a segment open far past `segmentSeconds`), or `null`. */
  warning: string | null;
}

/** Payload of a {@link Recorder}'s `reconnecting` event. */
export interface RecorderReconnectingEvent {
  /** Camera name. */
  camera: string;
  /** 1 for the first attempt after a working run, then 2, 3 … */
  attempt: number;
  /** Wait before this attempt, ms. */
  delayMs: number;
  /** Why the previous run ended (ffmpeg's last error line, credentials masked, or its exit code). */
  reason: string;
}

/** Events of a {@link Recorder}. */
export interface RecorderEvents {
  /** A segment was finished and renamed to its final name. */
  segment: [segment: RecordedSegment];
  /** ffmpeg stopped and will be restarted after `delayMs`. */
  reconnecting: [info: RecorderReconnectingEvent];
}

/** Sub-folder of a camera's recording folder for the temporary files of clips being cut (emptied at each start). */
export const TMP_DIR = '.tmp';

const isUrl = (input: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//i.test(input) && !/^file:/i.test(input);

/** ffmpeg's complaint when a codec cannot be copied into the container (MPEG-4 part 2 "DivX 3" into MP4, say). */
const UNSUPPORTED_IN_CONTAINER = /Could not find tag for codec|not currently supported in container/i;

/** Longest recording segment, seconds (one day). */
const MAX_SEGMENT_SECONDS = 86_400;

/** ffmpeg processes of every recorder of this process, killed when the process exits (never left recording alone). */
const children = new Set<FfmpegProcess>();
let exitHook = false;
function track(proc: FfmpegProcess): void {
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const p of children) p.kill('SIGKILL');
    });
  }
  children.add(proc);
  void proc.exited.then(() => children.delete(proc));
}

/** How long a stalled ffmpeg gets after SIGTERM to finish its segment before it is killed. */
const STALL_GRACE_MS = 5_000;

/** Runs a file operation whose failure must not stop recording: false when it failed. */
const tryFs = (op: Promise<unknown>): Promise<boolean> => op.then(() => true, () => false);

/**
 * Continuous recording of one camera with ffmpeg's segment muxer: the input's video is copied, not re-encoded, into
 * MP4 segments of about `segmentSeconds` (`-f segment -segment_time N -reset_timestamps 1`), and each finished
 * segment is renamed `<start ms>-<duration ms>.mp4`, so the folder itself is the index that clips are cut from and
 * that retention ({@link enforceRetention}) prunes. A codec that MP4 cannot hold (old MPEG-4 part 2 variants such as
 * DivX 3) is recorded into Matroska segments (`.mkv`) instead, which hold any codec. Segments start on the input's
 * keyframes, so a camera with a long keyframe interval gets longer segments.
 *
 * **Times.** ffmpeg reports each finished segment on its segment list (`-segment_list pipe:1`, CSV) with its start and
 * end on the recording's own timeline. The recorder ties that timeline to the wall clock once per ffmpeg run, at the
 * first segment: the file was last written when the packet at its end arrived, so (modification time − end) is the
 * wall time of the timeline's origin plus the delivery delay (a few hundred ms for a live camera, a little more at the
 * start of a run, while ffmpeg probes the stream). One origin per run keeps the segments of a run back to back
 * (each starts where the previous one ended); the names are accurate to about half a second, which the clips'
 * before/after margins cover. A file input is read at its native rate (`-re`), like a camera.
 *
 * **Failures.** A live input that ends, fails or sends nothing for `stallSeconds` (default three segment lengths, at
 * least 30 s: the segment being written has not grown) is restarted with exponential backoff, forever; each restart
 * starts a new timeline. A camera whose keyframe interval keeps a segment open longer is not restarted while its data
 * arrives: `stats.warning` says so and `stats.longSegments` counts such segments. A stalled ffmpeg, like `stop()`,
 * gets SIGTERM first, on which a responsive one finishes the segment in progress (writes its index) and reports it,
 * so what it had received is kept; one still blocked in a read 5 s later is killed, and the segment it was writing is
 * deleted (an MP4 without its index is unplayable, and no unfinished segment has a known start time to be named and
 * aged out by). ffmpeg's own read timeout (10 s, `-timeout` / `-rw_timeout`) usually ends a silent network input
 * first, cleanly, with its segment kept. Files a killed process left (`.part-…`, and the temporary files of a clip
 * cut in `.tmp/`) are deleted at the next start. The ffmpeg processes are killed when this process exits.
 *
 * @example
 * ```ts
 * import { Recorder } from '@lepton/surveillance';
 * const recorder = new Recorder({ camera: 'gate', input: 'rtsp://10.0.0.5/main', dir: 'recordings/gate', segmentSeconds: 60 });
 * recorder.on('segment', (s) => console.log(s.path, s.duration));
 * await recorder.start();
 * // … later
 * await recorder.stop();
 * ```
 */
export class Recorder extends EventEmitter<RecorderEvents> {
  readonly #o: RecorderOptions;
  readonly #live: boolean;
  #stats: RecorderStats = { state: 'starting', segments: 0, bytes: 0, restarts: 0, lastSegmentAt: null, lastError: null, longSegments: 0, warning: null };
  #proc: FfmpegProcess | undefined;
  #running: Promise<void> | undefined;
  #stopping = false;
  #wake: (() => void) | undefined;
  #renames: Promise<void> = Promise.resolve();
  #container: 'mp4' | 'matroska' = 'mp4';
  readonly #backoff: Backoff;

  /**
   * @param options - camera, input, folder, segment length
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a missing camera, input or folder, a segment
   *   length outside 1 s … 1 day, `inputOptions` that are not strings, or a reconnect delay a timer cannot wait (NaN,
   *   negative, past 2³¹ − 1 ms) or a `factor` below 1
   */
  constructor(options: RecorderOptions) {
    super();
    const o = options;
    if (o === null || typeof o !== 'object' || typeof o.camera !== 'string' || o.camera === '' || typeof o.input !== 'string' || o.input === '' || typeof o.dir !== 'string' || o.dir === '') {
      throw new LeptonError('INVALID_ARGUMENT', 'Recorder needs { camera, input, dir, segmentSeconds }.');
    }
    const bad = (field: string, why: string): never => {
      throw new LeptonError('INVALID_ARGUMENT', `Recorder ${describeValue(o.camera, 64)}: ${field} ${why}.`, { details: { field } });
    };
    // A day at most: ffmpeg's segment muxer and the stall watchdog (3 segments) both need a length a timer can wait for.
    if (!(typeof o.segmentSeconds === 'number' && o.segmentSeconds >= 1 && o.segmentSeconds <= MAX_SEGMENT_SECONDS)) bad('segmentSeconds', `must be a number from 1 to ${MAX_SEGMENT_SECONDS}, got ${describeValue(o.segmentSeconds)}`);
    if (o.inputOptions !== undefined && !(Array.isArray(o.inputOptions) && o.inputOptions.every((a) => typeof a === 'string'))) bad('inputOptions', 'must be a list of strings (ffmpeg arguments)');
    if (o.ffmpeg !== undefined && (o.ffmpeg === null || (typeof o.ffmpeg !== 'string' && typeof o.ffmpeg !== 'object') || o.ffmpeg === '')) bad('ffmpeg', `must be a path or a resolved ffmpeg, got ${describeValue(o.ffmpeg)}`);
    if (o.stallSeconds !== undefined && !(typeof o.stallSeconds === 'number' && o.stallSeconds >= 1 && o.stallSeconds <= 3 * MAX_SEGMENT_SECONDS)) bad('stallSeconds', `must be a number from 1 to ${3 * MAX_SEGMENT_SECONDS}, got ${describeValue(o.stallSeconds)}`);
    this.#backoff = resolveBackoff(o.reconnect, bad);
    this.#o = o;
    this.#live = isUrl(o.input) || o.input.startsWith('/dev/');
    rememberCredentials(o.input);
  }

  /** Camera name. */
  get camera(): string {
    return this.#o.camera;
  }

  /** The camera's recording folder. */
  get dir(): string {
    return this.#o.dir;
  }

  /** A copy of the counters. */
  get stats(): RecorderStats {
    return { ...this.#stats };
  }

  /**
   * Bytes of the segment being written now and of the temporary files of a clip being cut (`.tmp/`), 0 when none,
   * for the byte budget.
   *
   * @returns bytes
   */
  async openBytes(): Promise<number> {
    let n = 0;
    for (const [dir, all] of [[this.#o.dir, false], [join(this.#o.dir, TMP_DIR), true]] as const) {
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const name of names) if (all || name.startsWith('.part-')) n += await stat(join(dir, name)).then((s) => (s.isFile() ? s.size : 0), () => 0);
    }
    return n;
  }

  /**
   * Creates the folder, deletes what a killed process left (unfinished segments, a clip's temporary files), and starts
   * ffmpeg.
   *
   * @returns once ffmpeg has been started (or failed to be)
   * @throws {@link @lepton/core!LeptonError} `VIDEO_FFMPEG_MISSING` when there is no ffmpeg; `INVALID_ARGUMENT` when
   *   the folder cannot be created
   */
  async start(): Promise<void> {
    if (this.#running !== undefined) return;
    try {
      await mkdir(this.#o.dir, { recursive: true });
    } catch (err) {
      throw new LeptonError('INVALID_ARGUMENT', `Recorder ${describeValue(this.#o.camera, 64)}: cannot create its recording folder (${(err as NodeJS.ErrnoException).code ?? 'error'}).`, { cause: err });
    }
    // `.clip-*` in the folder itself: the temporary files of a clip cut by an earlier version, killed while cutting.
    for (const name of await readdir(this.#o.dir).catch(() => [] as string[])) if (name.startsWith('.part-') || name.startsWith('.clip-')) await tryFs(rm(join(this.#o.dir, name), { force: true }));
    await tryFs(rm(join(this.#o.dir, TMP_DIR), { recursive: true, force: true }));
    const f = this.#o.ffmpeg;
    const bin = typeof f === 'object' ? f : await resolveFfmpeg(f === undefined ? {} : { path: f });
    let started!: () => void;
    const first = new Promise<void>((r) => (started = r));
    this.#running = this.#loop(bin, started);
    await first;
  }

  /**
   * Stops recording: ffmpeg gets SIGTERM, finishes the segment in progress and exits (SIGKILL after 10 s); resolves
   * once that segment has been renamed.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    this.#proc?.kill('SIGTERM');
    const proc = this.#proc;
    const killer = setTimeout(() => proc?.kill('SIGKILL'), 10_000);
    try {
      await this.#running;
      await this.#renames;
    } finally {
      clearTimeout(killer);
    }
    this.#stats.state = 'stopped';
  }

  #args(runId: string): string[] {
    const a = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error'];
    const { input } = this.#o;
    if (this.#live) {
      if (/^rtsps?:\/\//i.test(input)) a.push('-rtsp_transport', 'tcp', '-timeout', '10000000');
      else if (isUrl(input)) a.push('-rw_timeout', '10000000');
      a.push('-analyzeduration', '1000000');
    } else {
      a.push('-re'); // a file is played like a camera, so segment times follow the wall clock
    }
    a.push(...(this.#o.inputOptions ?? []), '-i', input, '-map', '0:v:0', '-c', 'copy');
    // Packets are written as they come (not held in a 32 KiB buffer): the growing file is how the stall watchdog sees
    // that a camera with a low bitrate still sends.
    a.push('-f', 'segment', '-segment_time', String(this.#o.segmentSeconds), '-reset_timestamps', '1', '-segment_format', this.#container, '-segment_format_options', 'flush_packets=1');
    a.push('-segment_list', 'pipe:1', '-segment_list_type', 'csv', join(this.#o.dir, `.part-${runId}-%06d.${this.#ext()}`));
    return a;
  }

  #ext(): 'mp4' | 'mkv' {
    return this.#container === 'mp4' ? 'mp4' : 'mkv';
  }

  async #loop(bin: FfmpegBinary, started: () => void): Promise<void> {
    const { initialDelayMs: initial, maxDelayMs: max, factor } = this.#backoff;
    let attempt = 0;
    for (;;) {
      const runId = Date.now().toString(36);
      const proc = spawnFfmpeg(bin, this.#args(runId));
      this.#proc = proc;
      this.#stats.state = 'recording';
      track(proc);
      started();
      const gotSegment = await this.#watch(proc, runId);
      const exit = await proc.exited;
      await this.#renames;
      // A run that had to be killed leaves the segment it was writing without its index: unplayable, removed.
      for (const name of await readdir(this.#o.dir).catch(() => [] as string[])) if (name.startsWith(`.part-${runId}-`)) await tryFs(rm(join(this.#o.dir, name), { force: true }));
      const last = exit.stderr.at(-1);
      if (last !== undefined) this.#stats.lastError = redactCredentials(last);
      else if (exit.spawnError !== undefined) this.#stats.lastError = exit.spawnError.message;
      if (this.#stopping) return;
      if (!gotSegment && this.#container === 'mp4' && exit.stderr.some((l) => UNSUPPORTED_IN_CONTAINER.test(l))) {
        // Not a failure of the camera: its codec needs another container. Again at once, in Matroska.
        this.#container = 'matroska';
        this.#stats.lastError = null;
        continue;
      }
      if (!this.#live) {
        this.#stats.state = 'ended';
        return;
      }
      attempt = gotSegment ? 1 : attempt + 1;
      const delayMs = Math.min(max, initial * factor ** (attempt - 1));
      this.#stats.state = 'reconnecting';
      this.#stats.restarts++;
      this.emit('reconnecting', { camera: this.#o.camera, attempt, delayMs, reason: this.#stats.lastError ?? `exit code ${String(exit.code)}` });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
      if (this.#stopping) return;
    }
  }

  /**
   * Reads ffmpeg's segment list until it exits. A live input whose segment in progress has not grown for `stallSeconds`
   * (nothing arrives) is stopped: SIGTERM, so that ffmpeg finishes and reports what it received, then SIGKILL.
   */
  async #watch(proc: FfmpegProcess, runId: string): Promise<boolean> {
    // The run's wall-clock origin, set by the first report (see #finish).
    const run = { anchor: Infinity };
    let got = false;
    const segmentMs = this.#o.segmentSeconds * 1000;
    const stallMs = this.#o.stallSeconds === undefined ? Math.max(30_000, 3 * segmentMs) : this.#o.stallSeconds * 1000;
    let lastProgress = Date.now();
    let openSince = Date.now();
    let seen = '';
    let killer: NodeJS.Timeout | undefined;
    let polling = false;
    const poll = async (): Promise<void> => {
      if (polling || killer !== undefined) return;
      polling = true;
      try {
        // Progress is the run's unfinished files growing (or a new one appearing): bytes arrive from the camera.
        const names = (await readdir(this.#o.dir).catch(() => [] as string[])).filter((n) => n.startsWith(`.part-${runId}-`)).sort();
        const sizes = await Promise.all(names.map((n) => stat(join(this.#o.dir, n)).then((st) => st.size, () => -1)));
        const now = Date.now();
        const signature = names.map((n, k) => `${n}:${sizes[k]}`).join('/');
        if (signature !== seen) {
          seen = signature;
          lastProgress = now;
          if (now - openSince > 2 * segmentMs) {
            const open = Math.round((now - openSince) / 1000);
            this.#stats.warning = `no keyframe for ${open} s: the segment in progress is ${open} s long (segmentSeconds ${this.#o.segmentSeconds}); the camera's keyframe interval is longer than the segment length`;
          }
        } else if (this.#live && now - lastProgress >= stallMs) {
          this.#stats.warning = `no input for ${Math.round((now - lastProgress) / 1000)} s: restarting the recording`;
          proc.kill('SIGTERM');
          killer = setTimeout(() => proc.kill('SIGKILL'), STALL_GRACE_MS);
        }
      } finally {
        polling = false;
      }
    };
    const pollMs = Math.max(200, Math.min(5_000, Math.floor(Math.min(stallMs, segmentMs) / 4)));
    const ticker = setInterval(() => void poll(), pollMs);
    const lines = createInterface({ input: proc.stdout, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        const m = /^([^,]+),([\d.]+),([\d.]+)\s*$/.exec(line);
        if (!m) continue;
        const start = Number(m[2]);
        const end = Number(m[3]);
        if (!(Number.isFinite(start) && Number.isFinite(end) && end >= start)) continue;
        got = true;
        lastProgress = Date.now();
        openSince = lastProgress;
        if (end - start > (2 * segmentMs) / 1000) {
          this.#stats.longSegments++;
          this.#stats.warning = `a ${Math.round(end - start)} s segment (segmentSeconds ${this.#o.segmentSeconds}): the camera's keyframe interval is longer than the segment length`;
        } else if (killer === undefined) this.#stats.warning = null;
        const from = join(this.#o.dir, m[1]!);
        this.#renames = this.#renames.then(() => this.#finish(from, start, end, run));
      }
    } finally {
      clearInterval(ticker);
      if (killer !== undefined) void proc.exited.then(() => clearTimeout(killer));
    }
    return got;
  }

  /**
   * Names a finished segment after its wall-clock start. The run's origin is set once, at its first segment, from the
   * file's modification time (when ffmpeg wrote the segment's last bytes, at the media time `end`) — the kernel's
   * clock, not this thread's: the detector can keep this thread busy for a second, and a report read late must not
   * shift the recording. Later reports must not move the origin under segments already named either (and the report
   * at the end of a stream comes early: ffmpeg sees the end as soon as the data is in).
   */
  async #finish(from: string, startSeconds: number, endSeconds: number, run: { anchor: number }): Promise<void> {
    if (run.anchor === Infinity) {
      const written = await stat(from).then((s) => s.mtimeMs, () => Date.now());
      run.anchor = written - endSeconds * 1000;
    }
    const duration = Math.max(1, Math.round((endSeconds - startSeconds) * 1000));
    let t = Math.round(run.anchor + startSeconds * 1000);
    // Two segments never share a name (a restart within the same millisecond as another segment's start).
    const ext = from.endsWith('.mkv') ? 'mkv' : 'mp4';
    while (await stat(join(this.#o.dir, `${t}-${duration}.${ext}`)).then(() => true, () => false)) t++;
    const path = join(this.#o.dir, `${t}-${duration}.${ext}`);
    try {
      await rename(from, path);
    } catch {
      return; // ffmpeg reported a segment it could not write
    }
    const bytes = await stat(path).then((s) => s.size, () => 0);
    this.#stats.segments++;
    this.#stats.bytes += bytes;
    this.#stats.lastSegmentAt = Date.now();
    this.emit('segment', { camera: this.#o.camera, path, start: t, duration, bytes });
  }
}
