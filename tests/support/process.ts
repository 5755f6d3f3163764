import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const run = promisify(execFile);

/** Repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The pnpm that runs this test (pnpm sets npm_execpath), else `pnpm` from PATH. */
export function pnpmCommand(): { file: string; prefix: string[] } {
  const exec = process.env['npm_execpath'];
  if (exec && /pnpm/.test(exec)) return exec.endsWith('.cjs') || exec.endsWith('.js') ? { file: process.execPath, prefix: [exec] } : { file: exec, prefix: [] };
  return { file: 'pnpm', prefix: [] };
}
