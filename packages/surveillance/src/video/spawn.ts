/**
 * Spawning ffmpeg directly, for the streaming jobs: the live frame reader (`reader-worker.ts`) and continuous
 * recording (`service/recorder.ts`). They read ffmpeg's stdout as it runs (one raw frame at a time, or the segment
 * list line by line), decide themselves when to kill and restart it, and run for as long as the camera does, which a
 * one-shot command wrapper does not model (see the README, "Where fluent-ffmpeg is used and why the live reader spawns
 * ffmpeg directly"). Arguments are always a list, never a shell string.
 *
 * Imports: node built-ins and types only. The frame-reader thread loads this file, and a value import of
 * `@lepton/core` or `../types.js` would load TensorFlow.js into every reader thread.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { FfmpegBinary } from './ffmpeg.js';

/** How a spawned ffmpeg ended. */
export interface FfmpegExit {
  /** Exit code (null when killed by a signal or when it never started). */
  code: number | null;
  /** Signal that ended it, if any. */
  signal: NodeJS.Signals | null;
  /** The last lines it wrote to stderr (run at `-loglevel error`, so each is an error), at most 40. */
  stderr: string[];
  /** Error from spawning it (e.g. ENOENT), if it never ran. */
  spawnError?: Error;
}

/** A running ffmpeg with its pipes. */
export interface FfmpegProcess {
  /** The argument list it runs with. */
  readonly args: readonly string[];
  /** Its stdout (decoded frames for a decode). */
  readonly stdout: Readable;
  /** Its stdin (frames in for an encode); closed for processes spawned without `stdin: true`. */
  readonly stdin: Writable | null;
  /** Resolves (never rejects) when the process has exited and its pipes are closed. */
  readonly exited: Promise<FfmpegExit>;
  /** The stderr lines so far (last 40). */
  stderrLines(): string[];
  /** Sends a signal (default SIGKILL); a no-op once it has exited. */
  kill(signal?: NodeJS.Signals): void;
}

/** Options for {@link spawnFfmpeg}. */
export interface SpawnFfmpegOptions {
  /** Give the process a stdin pipe (for encoding frames in). Default false. */
  stdin?: boolean;
}

const STDERR_LINES = 40;

/**
 * Spawns ffmpeg with an argument list (no shell). Stderr is kept as a bounded tail of lines, so a chatty process
 * never grows memory.
 *
 * @param binary - a resolved ffmpeg
 * @param args - arguments after the program name
 * @param options - whether to open stdin
 * @returns the running process
 */
export function spawnFfmpeg(binary: FfmpegBinary, args: readonly string[], options: SpawnFfmpegOptions = {}): FfmpegProcess {
  const child = spawn(binary.path, [...args], { stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let pending = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    pending += d;
    const parts = pending.split(/\r?\n|\r/);
    pending = parts.pop() ?? '';
    if (pending.length > 4096) pending = pending.slice(-4096);
    for (const l of parts) {
      if (l.trim() === '') continue;
      lines.push(l.length > 500 ? `${l.slice(0, 500)}…` : l);
      if (lines.length > STDERR_LINES) lines.shift();
    }
  });
  // EPIPE on stdin when ffmpeg exits early is reported through the exit, not as an unhandled error.
  child.stdin?.on('error', () => {});
  let done = false;
  const exited = new Promise<FfmpegExit>((resolve) => {
    child.on('error', (err) => {
      if (done) return;
      done = true;
      resolve({ code: null, signal: null, stderr: [...lines], spawnError: err });
    });
    child.on('close', (code, signal) => {
      if (done) return;
      done = true;
      if (pending.trim() !== '') lines.push(pending);
      resolve({ code, signal, stderr: lines.slice(-STDERR_LINES) });
    });
  });
  return {
    args,
    stdout: child.stdout!,
    stdin: child.stdin ?? null,
    exited,
    stderrLines: () => [...lines],
    kill: (signal = 'SIGKILL') => {
      if (!done && child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

/** What to decode, for {@link decodeArgs}. */
export interface DecodeSpec {
  /** File path, URL (`rtsp://`, `http://` …) or device (`/dev/video0`). */
  input: string;
  /** Input format (`-f`), e.g. `v4l2` for a device; omit to let ffmpeg probe. */
  format?: string;
  /** Output frame rate (frames per second, the `fps` filter). */
  fps: number;
  /** Output width in pixels. */
  width: number;
  /** Output height in pixels. */
  height: number;
  /** `-hwaccel` method (`auto`, `cuda`, `vaapi` …); omit for software decode. */
  hwaccel?: string;
  /** Read at native speed (`-re`). */
  realtime?: boolean;
  /** Loop the input forever (`-stream_loop -1`; files only). */
  loop?: boolean;
  /** A live input (network stream or device): RTSP over TCP, short probing. */
  live?: boolean;
  /** Extra input options, placed last before `-i` (so they override the defaults above). */
  inputOptions?: readonly string[];
  /** Spell frame-rate sync `-vsync …` (ffmpeg before 5.0) instead of `-fps_mode …`; see {@link usesLegacyVsync}. */
  legacyVsync?: boolean;
  /**
   * Constant output rate (`-fps_mode cfr`): ffmpeg repeats and drops frames so that frame `i` shows media time
   * `i ÷ fps` exactly, whatever the input's own rate. Used for files (not live inputs), so that `frame.time` is the
   * file's time (the reader sets it for a file slower than `fps`). Default false (variable rate: frames above the rate dropped, gaps never filled).
   */
  constantRate?: boolean;
}

/**
 * The ffmpeg arguments that decode an input to packed RGB frames on stdout: first video stream only, `scale=W:H`
 * (ffmpeg's default bicubic), output rate `-r fps` with variable-frame-rate sync (frames above the rate are dropped,
 * gaps are never filled with repeated frames, so a source slower than `fps` gives fewer frames) — or, with
 * `constantRate` (files), constant-rate sync, so that frame `i` is at media time `i ÷ fps`, `-pix_fmt rgb24 -f
 * rawvideo pipe:1`, logging at `error` level only.
 * Live inputs get `-analyzeduration 1000000` (1 s of probing instead of ffmpeg's 5 s, so a camera's first frame comes
 * quickly) and `-fflags +discardcorrupt` (damaged packets are dropped, not decoded), and RTSP gets `-rtsp_transport tcp` (UDP loses packets on busy networks); `inputOptions` can override both.
 *
 * @param spec - input, rate, size and input options
 * @returns the argument list (without the program name)
 * @example
 * ```ts
 * import { decodeArgs } from '@lepton/surveillance';
 * decodeArgs({ input: 'a.mp4', fps: 5, width: 320, height: 180 }).join(' ');
 * // '-hide_banner -nostdin -nostats -loglevel error -i a.mp4 -map 0:v:0 -an -sn -dn -vf scale=320:180 -r 5 -fps_mode vfr -pix_fmt rgb24 -f rawvideo pipe:1'
 * ```
 */
export function decodeArgs(spec: DecodeSpec): string[] {
  const a = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error'];
  if (spec.hwaccel) a.push('-hwaccel', spec.hwaccel);
  if (spec.live) {
    if (/^rtsps?:\/\//i.test(spec.input)) a.push('-rtsp_transport', 'tcp');
    // Packets the demuxer knows are damaged (a PES cut off by a dying connection) are dropped, not decoded into a
    // half-grey frame that the detector would take for real video.
    a.push('-analyzeduration', '1000000', '-fflags', '+discardcorrupt');
  }
  if (spec.realtime) a.push('-re');
  if (spec.loop) a.push('-stream_loop', '-1');
  if (spec.format) a.push('-f', spec.format);
  if (spec.inputOptions) a.push(...spec.inputOptions);
  a.push('-i', spec.input, '-map', '0:v:0', '-an', '-sn', '-dn');
  // `-r` with variable frame-rate sync, not the `fps` filter: the filter fills timestamp gaps by repeating frames (a
  // stream cut mid-GOP, a camera whose clock jumps), which would hand the detector invented frames. This only drops.
  // Files read with `constantRate` do get repeated frames where the file is slower than `fps`: there frame index ÷ fps
  // must be the file's time (events, loitering and clips cut from the file use it), and a file has no clock jumps.
  const mode = spec.constantRate ? 'cfr' : 'vfr';
  const vfr = spec.legacyVsync ? ['-vsync', mode] : ['-fps_mode', mode];
  a.push('-vf', `scale=${spec.width}:${spec.height}`, '-r', String(spec.fps), ...vfr, '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1');
  return a;
}

/**
 * Whether ffmpeg's error lines say that `-map 0:v:0` (see {@link decodeArgs}, {@link cutArgs}) matched no stream: the
 * input has no video stream (audio or data only).
 *
 * @param stderr - ffmpeg's error lines
 * @returns true for "Stream map '0:v:0' matches no streams"
 * @internal
 */
export function hasNoVideoStream(stderr: readonly string[]): boolean {
  return stderr.some((l) => /Stream map '0:v(?::0)?' matches no streams/i.test(l));
}
