/**
 * How ffmpeg is found, and what a given binary can do (its encoders, hardware decoders, which frame-sync option it
 * takes). Nothing here runs a video job: one-shot jobs (clip cutting, encoding the annotated video) go through
 * fluent-ffmpeg in `jobs.ts`, streaming jobs (the live frame reader, continuous recording) spawn ffmpeg directly through
 * `spawn.ts`. The README section "Where fluent-ffmpeg is used and why the live reader spawns ffmpeg directly" says why.
 *
 * The binary is chosen per call (an explicit path, `LEPTON_FFMPEG`, the PATH, `@ffmpeg-installer/ffmpeg`) and
 * passed to every job as an {@link FfmpegBinary}; nothing is kept in process-wide wrapper state (fluent-ffmpeg's
 * `setFfmpegPath` is process-wide, see `jobs.ts`). The `@ffmpeg-installer/ffmpeg` binary is loaded lazily here, so a
 * platform it does not support only matters when the system has no ffmpeg either.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
// No value import of '../types.js' here (see ffmpegMissing): the frame-reader thread imports this module.

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
