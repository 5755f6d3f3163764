/**
 * The one module that knows how ffmpeg is found and invoked. Everything else in `@lepton/surveillance` (video sources,
 * the MP4 writer, clip cutting) calls the small functions here and never spawns ffmpeg or imports an ffmpeg wrapper
 * itself.
 *
 * Why it exists: the JavaScript ffmpeg wrappers are a moving target (fluent-ffmpeg's repository was archived in 2025),
 * so the choice of engine is kept behind this file; replacing it (another wrapper, a native binding) touches nothing
 * else. We spawn the binary with explicit argument lists rather than through fluent-ffmpeg's command builder, because
 * fluent-ffmpeg keeps the binary path and its capability caches (formats, encoders) in process-wide state
 * (`setFfmpegPath` changes every command in the process), which breaks a per-source binary choice and a fallback
 * binary whose encoders differ from the system one. The `@ffmpeg-installer/ffmpeg` binary is loaded lazily here, so a
 * platform it does not support only matters when the system has no ffmpeg either.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Readable, Writable } from 'node:stream';
// No value import of '../types.js' here (see ffmpegMissing): this module must stay free of @lepton/core.

/** Where a resolved ffmpeg binary came from. */
export type FfmpegOrigin = 'option' | 'env' | 'path' | 'installer';

/** A usable ffmpeg binary: its path, where it came from and its version line. */
export interface FfmpegBinary {
  /** Path (or bare command name `ffmpeg` when found on the PATH) to execute. */
  path: string;
  /** `option` (passed explicitly), `env` (`LEPTON_FFMPEG`), `path` (system PATH), `installer` (`@ffmpeg-installer/ffmpeg`). */
  origin: FfmpegOrigin;
  /** Version as printed by `ffmpeg -version` (e.g. `5.1.9-0+deb12u1`). */
  version: string;
}

/** Options for {@link resolveFfmpeg}. */
export interface ResolveFfmpegOptions {
  /** Use exactly this binary (fails with `VIDEO_FFMPEG_MISSING` if it does not run; no fallback). */
  path?: string;
  /** Environment to read `LEPTON_FFMPEG` and `PATH` from. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Look for `ffmpeg` on the PATH. Default true. */
  usePath?: boolean;
  /** Fall back to the binary shipped in `@ffmpeg-installer/ffmpeg`. Default true. */
  useInstaller?: boolean;
}

const resolved = new Map<string, Promise<FfmpegBinary>>();
const encoderCache = new Map<string, Promise<Set<string>>>();
const hwaccelCache = new Map<string, Promise<string[]>>();

/** Runs `ffmpeg -version`; resolves to the version, or undefined when it does not run. */
function probeVersion(path: string, env: Record<string, string | undefined>): Promise<string | undefined> {
  return new Promise((resolve) => {
    let out = '';
    let child: ChildProcess;
    try {
      child = spawn(path, ['-hide_banner', '-version'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      resolve(undefined);
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => {
      if (out.length < 4096) out += d;
    });
    child.on('error', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const m = /^ffmpeg version (\S+)/m.exec(out);
      resolve(code === 0 && m ? m[1]! : undefined);
    });
  });
}

/** The path of the `@ffmpeg-installer/ffmpeg` binary, or undefined when the package or its platform binary is absent. */
function installerPath(): string | undefined {
  try {
    // Loaded lazily (CommonJS, through require): the package throws on load when its platform binary is missing.
    const mod = createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path?: unknown };
    return typeof mod.path === 'string' ? mod.path : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Finds the ffmpeg to use, in this order: `options.path`; the `LEPTON_FFMPEG` environment variable; `ffmpeg` on the
 * PATH (checked by running `ffmpeg -version`); the static binary shipped in `@ffmpeg-installer/ffmpeg` (so a fresh
 * install works with no system ffmpeg). An explicit path or `LEPTON_FFMPEG` that does not run is an error, never a
 * silent fallback. Results are cached per (options, `LEPTON_FFMPEG`, `PATH`).
 *
 * @param options - explicit path, environment, which fallbacks to allow
 * @returns the binary, with where it came from (`origin`) and its version
 * @throws LeptonError `VIDEO_FFMPEG_MISSING` when no candidate runs
 * @example
 * ```ts
 * import { resolveFfmpeg } from '@lepton/surveillance';
 * const ff = await resolveFfmpeg();
 * console.log(ff.origin, ff.path, ff.version); // 'path' 'ffmpeg' '5.1.9-0+deb12u1'
 * ```
 */
export function resolveFfmpeg(options: ResolveFfmpegOptions = {}): Promise<FfmpegBinary> {
  const env = options.env ?? process.env;
  const key = JSON.stringify([options.path, env.LEPTON_FFMPEG, env.PATH, options.usePath ?? true, options.useInstaller ?? true]);
  let p = resolved.get(key);
  if (!p) {
    p = doResolve(options, env);
    resolved.set(key, p);
    // A failed resolution is not cached: installing ffmpeg later must be picked up without a restart.
    p.catch(() => resolved.delete(key));
  }
  return p;
}

/**
 * A `VIDEO_FFMPEG_MISSING` error. `../types.js` is imported here, lazily, and never at the top of this file: it loads
 * `@lepton/core` and with it TensorFlow.js, and the frame-reader thread of every `VideoSource` imports this module to
 * spawn ffmpeg. A static import would load TensorFlow.js into each reader thread (about 1 s and 60 MB per camera).
 */
async function ffmpegMissing(message: string, details: Record<string, unknown>): Promise<Error> {
  const { surveillanceError } = await import('../types.js');
  return surveillanceError('VIDEO_FFMPEG_MISSING', message, details);
}

async function doResolve(options: ResolveFfmpegOptions, env: Record<string, string | undefined>): Promise<FfmpegBinary> {
  const explicit: [string, FfmpegOrigin, string] | undefined =
    options.path !== undefined
      ? [options.path, 'option', 'the `ffmpeg` option']
      : env.LEPTON_FFMPEG
        ? [env.LEPTON_FFMPEG, 'env', 'LEPTON_FFMPEG']
        : undefined;
  if (explicit) {
    const [path, origin, what] = explicit;
    const version = await probeVersion(path, env);
    if (version === undefined) {
      throw await ffmpegMissing(`ffmpeg from ${what} (${path}) does not run; point it at a working ffmpeg binary or unset it.`, { path, origin });
    }
    return { path, origin, version };
  }
  const tried: string[] = [];
  if (options.usePath ?? true) {
    const version = await probeVersion('ffmpeg', env);
    if (version !== undefined) return { path: 'ffmpeg', origin: 'path', version };
    tried.push('ffmpeg on the PATH');
  }
  if (options.useInstaller ?? true) {
    const path = installerPath();
    if (path !== undefined) {
      const version = await probeVersion(path, env);
      if (version !== undefined) return { path, origin: 'installer', version };
    }
    tried.push('@ffmpeg-installer/ffmpeg');
  }
  throw await ffmpegMissing(
    `No working ffmpeg found (tried: ${tried.join(', ') || 'nothing'}); install ffmpeg (e.g. apt-get install ffmpeg), set LEPTON_FFMPEG to a binary, or install @ffmpeg-installer/ffmpeg for your platform.`,
    { tried },
  );
}

/** Runs ffmpeg to completion and returns its stdout (bounded), for the small listing commands. */
function runListing(binary: FfmpegBinary, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    const child = spawn(binary.path, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      if (out.length < 1 << 20) out += d;
    });
    child.on('error', () => resolve(''));
    child.on('close', () => resolve(out));
  });
}

/**
 * The video encoders a binary offers (names as `ffmpeg -encoders` lists them), cached per binary.
 *
 * @param binary - a resolved ffmpeg
 * @returns the set of encoder names
 */
export function ffmpegEncoders(binary: FfmpegBinary): Promise<Set<string>> {
  let p = encoderCache.get(binary.path);
  if (!p) {
    p = runListing(binary, ['-hide_banner', '-encoders']).then((text) => {
      const names = new Set<string>();
      for (const line of text.split('\n')) {
        const m = /^ V\S{5} (\S+)/.exec(line);
        if (m) names.add(m[1]!);
      }
      return names;
    });
    encoderCache.set(binary.path, p);
  }
  return p;
}

/**
 * The hardware decode methods a binary was built with (`ffmpeg -hwaccels`), cached per binary. Being listed does not
 * mean a device is present: ffmpeg falls back to software decode with `-hwaccel auto`.
 *
 * @param binary - a resolved ffmpeg
 * @returns method names such as `cuda`, `vaapi`, `qsv`
 */
export function ffmpegHwaccels(binary: FfmpegBinary): Promise<string[]> {
  let p = hwaccelCache.get(binary.path);
  if (!p) {
    p = runListing(binary, ['-hide_banner', '-hwaccels']).then((text) =>
      text
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.length > 0 && !l.endsWith(':')),
    );
    hwaccelCache.set(binary.path, p);
  }
  return p;
}

/**
 * The H.264 encoder to use with a binary: `libx264` when it has it, else `mpeg4` (MPEG-4 part 2, which every ffmpeg
 * build has; still an `.mp4` every player opens).
 *
 * @param binary - a resolved ffmpeg
 * @returns `libx264` or `mpeg4`
 */
export async function pickVideoEncoder(binary: FfmpegBinary): Promise<'libx264' | 'mpeg4'> {
  return (await ffmpegEncoders(binary)).has('libx264') ? 'libx264' : 'mpeg4';
}

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
  /** Spell frame-rate sync `-vsync vfr` (ffmpeg before 5.0) instead of `-fps_mode vfr`; see {@link usesLegacyVsync}. */
  legacyVsync?: boolean;
}

/**
 * Whether a binary needs `-vsync` rather than `-fps_mode` (added in ffmpeg 5.0). Release versions are read from their
 * number; git snapshots (`N-…`) are treated as old, since `-vsync` still works, deprecated, in every release since.
 *
 * @param binary - a resolved ffmpeg
 * @returns true for ffmpeg < 5 or an unnumbered build
 */
export function usesLegacyVsync(binary: FfmpegBinary): boolean {
  const m = /^n?(\d+)\./i.exec(binary.version);
  return !m || Number(m[1]) < 5;
}

/**
 * The ffmpeg arguments that decode an input to packed RGB frames on stdout: first video stream only, `scale=W:H`
 * (ffmpeg's default bicubic), output rate `-r fps` with variable-frame-rate sync (frames above the rate are dropped,
 * gaps are never filled with repeated frames, so a source slower than `fps` gives fewer frames), `-pix_fmt rgb24 -f
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
  const vfr = spec.legacyVsync ? ['-vsync', 'vfr'] : ['-fps_mode', 'vfr'];
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
 * The ffmpeg arguments that encode packed RGB frames from stdin into an MP4: `-pix_fmt yuv420p` (what every player
 * decodes) and `-movflags +faststart` (index at the front, so a browser plays a clip before it has downloaded).
 * yuv420p needs even dimensions, so an odd width or height is padded by one pixel (black) at the right/bottom.
 *
 * @param spec - output, size, rate, encoder
 * @returns the argument list (without the program name)
 */
export function encodeArgs(spec: EncodeSpec): string[] {
  const a = ['-hide_banner', '-nostats', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24'];
  a.push('-s', `${spec.width}x${spec.height}`, '-framerate', String(spec.fps), '-i', 'pipe:0', '-an');
  if (spec.width % 2 === 1 || spec.height % 2 === 1) a.push('-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2');
  a.push(...codecArgs(spec.encoder, spec.crf), '-pix_fmt', 'yuv420p', '-movflags', '+faststart', '-y', spec.output);
  return a;
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
 * The ffmpeg arguments that cut `[start, end)` out of a file, re-encoding the video so the cut is frame-accurate (a
 * stream copy could only cut at keyframes). `-ss` before `-i` seeks quickly and, with re-encoding, still starts at the
 * exact frame. Audio is dropped: clips are evidence video.
 *
 * @param spec - input, interval, output, encoder
 * @returns the argument list (without the program name)
 */
export function cutArgs(spec: CutSpec): string[] {
  const a = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-ss', spec.start.toFixed(6), '-i', spec.input];
  a.push('-t', (spec.end - spec.start).toFixed(6), '-map', '0:v:0', '-an', '-sn', '-dn');
  a.push(...codecArgs(spec.encoder, undefined), '-pix_fmt', 'yuv420p', '-movflags', '+faststart', '-y', spec.output);
  return a;
}
