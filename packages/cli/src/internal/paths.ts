import { open, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { CliIo } from './command.js';

/** A path from the command line, resolved against the CLI's working directory (injectable for in-process runs). */
export function resolvePath(io: CliIo, path: string): string {
  return isAbsolute(path) ? path : resolve(io.cwd, path);
}

/**
 * Would writing `output` overwrite `input`? The same path once resolved, or (when `output` exists) the same file: the
 * same device and inode, which is what a symbolic link or a hard link to the input shares with it.
 */
export async function isSameFile(input: string, output: string): Promise<boolean> {
  if (resolve(input) === resolve(output)) return true;
  const [a, b] = await Promise.all([stat(input).catch(() => undefined), stat(output).catch(() => undefined)]);
  return a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino;
}

/**
 * Reads a small text file named on the command line (a key, a salt), at most `maxBytes`: reading stops there, so a
 * device such as `/dev/zero` costs `maxBytes`, not all memory. Throws an `Error` whose `code` is the errno code, or
 * `'TOO_LARGE'`; callers turn it into their own typed error without echoing the contents.
 */
export async function readSmallFile(path: string, maxBytes: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (let n = -1; n !== 0 && length < buf.length; length += n) n = (await handle.read(buf, length, buf.length - length, null)).bytesRead;
    if (length > maxBytes) throw Object.assign(new Error(`more than ${maxBytes} bytes`), { code: 'TOO_LARGE' });
    return buf.subarray(0, length).toString('utf8');
  } finally {
    await handle.close();
  }
}
