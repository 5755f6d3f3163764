import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

// Runs the package's `lepton-surveillance` executable as a user would: the file its package.json `bin` names, in a
// child process of its own.

const require = createRequire(import.meta.url);
const pkgPath = require.resolve('@lepton/surveillance/package.json');
const pkg = require('@lepton/surveillance/package.json') as { bin: Record<string, string> };

/** The executable's path (from the `bin` entry of the installed package). */
export const BIN = join(dirname(pkgPath), pkg.bin['lepton-surveillance']!);

export interface CliRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `lepton-surveillance <args>`. */
export function startCli(args: string[], options: { env?: Record<string, string | undefined>; cwd?: string } = {}): CliRun {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Runs `lepton-surveillance <args>` to completion. */
export async function runCli(args: string[], options: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = startCli(args, options);
  const timer = setTimeout(() => r.child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const { code } = await r.exited;
  clearTimeout(timer);
  return { code, stdout: r.stdout(), stderr: r.stderr() };
}
