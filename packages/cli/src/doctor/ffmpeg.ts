import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { ServiceCheck } from './types.js';

/** Runs `<path> -version`; resolves to the version, or undefined when it does not run. */
function ffmpegVersion(path: string, env: Record<string, string | undefined>, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let out = '';
    let child;
    try {
      child = spawn(path, ['-hide_banner', '-version'], { env, stdio: ['ignore', 'pipe', 'ignore'], windowsHide: true });
    } catch {
      resolve(undefined);
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
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

/** The `@ffmpeg-installer/ffmpeg` binary as the application (cwd) or `@lepton/surveillance` would find it. */
function installerPath(cwd: string): string | undefined {
  const here = createRequire(import.meta.url);
  const bases: Array<() => NodeJS.Require> = [
    () => createRequire(join(cwd, 'noop.js')),
    () => createRequire(here.resolve('@lepton/surveillance/package.json')),
    () => here,
  ];
  for (const base of bases) {
    try {
      const mod = base()('@ffmpeg-installer/ffmpeg') as { path?: unknown };
      if (typeof mod.path === 'string') return mod.path;
    } catch {
      // not there, or no binary for this platform
    }
  }
  return undefined;
}

/**
 * Finds ffmpeg the way `@lepton/surveillance` does — `LEPTON_FFMPEG`, then `ffmpeg` on the PATH, then
 * `@ffmpeg-installer/ffmpeg` — and runs `-version`. Only a `LEPTON_FFMPEG` that does not run is a required failure:
 * applications without video never need ffmpeg.
 */
export async function checkFfmpeg(env: Record<string, string | undefined>, cwd: string, timeoutMs: number): Promise<ServiceCheck> {
  const started = Date.now();
  const configured = env['LEPTON_FFMPEG']?.trim();
  if (configured) {
    const version = await ffmpegVersion(configured, env, timeoutMs);
    return version === undefined
      ? {
          name: 'ffmpeg',
          status: 'missing',
          ok: false,
          required: true,
          source: 'env',
          target: configured,
          detail: 'LEPTON_FFMPEG names a binary that does not run',
          fix: 'point LEPTON_FFMPEG at a working ffmpeg binary, or unset it to use the one on the PATH',
        }
      : { name: 'ffmpeg', status: 'ok', ok: true, required: true, source: 'env', target: configured, latencyMs: Date.now() - started, detail: `version ${version}` };
  }
  const onPath = await ffmpegVersion('ffmpeg', env, timeoutMs);
  if (onPath !== undefined) {
    return { name: 'ffmpeg', status: 'ok', ok: true, required: false, source: 'path', target: 'ffmpeg', latencyMs: Date.now() - started, detail: `version ${onPath}` };
  }
  const installer = installerPath(cwd);
  const version = installer === undefined ? undefined : await ffmpegVersion(installer, env, timeoutMs);
  if (installer !== undefined && version !== undefined) {
    return { name: 'ffmpeg', status: 'ok', ok: true, required: false, source: 'installer', target: installer, latencyMs: Date.now() - started, detail: `version ${version}` };
  }
  return {
    name: 'ffmpeg',
    status: 'missing',
    ok: false,
    required: false,
    detail: 'no ffmpeg on the PATH and no @ffmpeg-installer/ffmpeg binary (needed only for video: @lepton/surveillance)',
    fix: 'apt-get install ffmpeg (or brew install ffmpeg), npm install @ffmpeg-installer/ffmpeg, or set LEPTON_FFMPEG to a binary',
  };
}
