import { isAbsolute, resolve } from 'node:path';
import type { CliIo } from './command.js';

/** A path from the command line, resolved against the CLI's working directory (injectable for in-process runs). */
export function resolvePath(io: CliIo, path: string): string {
  return isAbsolute(path) ? path : resolve(io.cwd, path);
}
