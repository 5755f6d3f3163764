import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package directory and its built executable: tests run the real `lepton` binary, as a user would. */
export const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(PACKAGE_DIR, 'dist', 'bin.js');
/** A loader hook that makes the packages named in LEPTON_TEST_HIDE unresolvable (an install without them). */
export const HIDE_HOOK = join(PACKAGE_DIR, 'test', 'support', 'hide-packages.mjs');

/** What one run of `lepton` did. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (`--json` runs); undefined when it is not one JSON document. */
  json: Record<string, any> | undefined;
}

/** Options for {@link lepton}. */
export interface RunOptions {
  /** Extra environment (merged over this process's, minus the LEPTON_* service variables). */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Packages to make unresolvable, e.g. `['@lepton/medical']`. */
  hide?: string[];
  timeoutMs?: number;
}

/** Runs `node dist/bin.js …args` in a child process and collects its exit code and output. */
export function lepton(args: string[], options: RunOptions = {}): Promise<CliRun> {
  const env: Record<string, string | undefined> = { ...process.env };
  // A developer's own settings must not leak into the tests.
  for (const k of ['LEPTON_REDIS_URL', 'LEPTON_MQTT_URL', 'LEPTON_DICOMWEB_URL', 'LEPTON_BACKEND', 'LEPTON_FFMPEG', 'LEPTON_DEID_SALT']) delete env[k];
  Object.assign(env, options.env);
  const nodeArgs = options.hide ? ['--import', HIDE_HOOK] : [];
  if (options.hide) env['LEPTON_TEST_HIDE'] = options.hide.join(',');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...nodeArgs, BIN, ...args],
      { env: env as NodeJS.ProcessEnv, cwd: options.cwd ?? PACKAGE_DIR, timeout: options.timeoutMs ?? 120_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        let json: Record<string, any> | undefined;
        try {
          json = JSON.parse(stdout) as Record<string, any>;
        } catch {
          json = undefined;
        }
        resolve({ code, stdout, stderr, json });
      },
    );
  });
}
