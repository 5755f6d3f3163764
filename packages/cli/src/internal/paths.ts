import { open, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { LeptonError } from '@lepton/core';
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
 * device such as `/dev/zero` costs `maxBytes`, not all memory (a pipe, as `--salt-file <(vault read …)` gives, is read
 * like a file). `what` names it in the error, e.g. `--salt-file`; the contents are never shown.
 *
 * @throws LeptonError `READ_FAILED` with the system's code or "more than N bytes"
 */
export async function readSmallFile(path: string, maxBytes: number, what: string): Promise<string> {
  const failed = (why: string, cause?: unknown): LeptonError => new LeptonError('READ_FAILED', `Could not read ${what} (${why}).`, cause === undefined ? {} : { cause });
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw failed((err as NodeJS.ErrnoException).code ?? 'I/O error', err);
  }
  try {
    const buf = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (let n = -1; n !== 0 && length < buf.length; length += n) n = (await handle.read(buf, length, buf.length - length, null)).bytesRead;
    if (length > maxBytes) throw failed(`more than ${maxBytes} bytes`);
    return buf.subarray(0, length).toString('utf8');
  } catch (err) {
    if (err instanceof LeptonError) throw err;
    throw failed((err as NodeJS.ErrnoException).code ?? 'I/O error', err);
  } finally {
    await handle.close();
  }
}
