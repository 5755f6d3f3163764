import { createHash } from 'node:crypto';
import { lstat, readFile, realpath } from 'node:fs/promises';
import { join, relative, isAbsolute, sep } from 'node:path';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { MANIFEST_FILE, type BundleManifest } from './manifest.js';

/** Largest `lepton.json` read (it holds metadata only). */
const MAX_MANIFEST_BYTES = 16 << 20;

/** @internal Largest `lepton.sig.json` read (it holds at most 64 short signatures). */
export const MAX_SIGNATURE_BYTES = 1 << 20;

/**
 * @internal Largest file of a bundle that is read (2 GiB less one byte: the most Node's `readFile` reads at once). A
 * bigger one is refused with `BUNDLE_INVALID` before a byte is read.
 */
export const MAX_BUNDLE_FILE_BYTES = 2 ** 31 - 1;

/**
 * @internal Throws `INVALID_ARGUMENT` unless `dir` is a usable directory path: a non-empty string without a NUL byte
 * (anything else would reach Node's file system calls as a `TypeError`).
 */
export function checkBundleDir(dir: unknown, fn: string): asserts dir is string {
  if (typeof dir !== 'string' || dir === '' || dir.includes('\0')) {
    throw new LeptonError('INVALID_ARGUMENT', `${fn}: the bundle directory must be a non-empty path, got ${describeValue(dir)}.`);
  }
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}

/**
 * Resolves `file` inside `dir` and refuses anything that leaves it: a symbolic link (or a linked parent directory)
 * pointing outside the bundle, or a path that is not a regular file. Returns the file's size from `stat`, so callers
 * can check it before reading a byte.
 */
async function locate(dir: string, file: string): Promise<{ path: string; bytes: number }> {
  const path = join(dir, file);
  let info;
  let root: string;
  let real: string;
  try {
    info = await lstat(path);
    // a dangling link passes lstat: realpath's ENOENT is then the missing file, not a raw error
    [root, real] = await Promise.all([realpath(dir), realpath(path)]);
  } catch (err) {
    if (isMissing(err)) {
      throw new LeptonError('BUNDLE_FILE_MISSING', `Bundle ${dir} is missing '${file}'. Copy the whole bundle directory.`, { cause: err, details: { dir, file } });
    }
    throw new LeptonError('BUNDLE_INVALID', `Bundle ${dir}: '${file}' cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}).`, { cause: err, details: { dir, file } });
  }
  const rel = relative(root, real);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) {
    throw new LeptonError('BUNDLE_INVALID', `Bundle ${dir}: '${file}' is a link that leaves the bundle directory; refusing to follow it.`, { details: { dir, file } });
  }
  const target = info.isSymbolicLink() ? await lstat(real) : info;
  if (!target.isFile()) throw new LeptonError('BUNDLE_INVALID', `Bundle ${dir}: '${file}' is not a regular file.`, { details: { dir, file } });
  return { path: real, bytes: target.size };
}

/**
 * Reads a small file of the bundle that the manifest does not list (`lepton.json`, `lepton.sig.json`) as text: inside
 * the bundle directory, a regular file, at most `maxBytes` (checked from `stat`, before reading). `BUNDLE_FILE_MISSING`
 * when it does not exist; `BUNDLE_INVALID` when it is a link out, not a regular file, unreadable or too large.
 *
 * @internal
 */
export async function readBundleText(dir: string, file: string, maxBytes: number): Promise<string> {
  const where = await locate(dir, file);
  if (where.bytes > maxBytes) {
    throw new LeptonError('BUNDLE_INVALID', `Bundle ${dir}: ${file} is ${where.bytes} bytes, more than it can need (at most ${maxBytes}).`, { details: { dir, file } });
  }
  try {
    return await readFile(where.path, 'utf8');
  } catch (err) {
    throw new LeptonError('BUNDLE_INVALID', `Bundle ${dir}: '${file}' cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}).`, { cause: err, details: { dir, file } });
  }
}

/**
 * Reads `lepton.json` (at most 16 MiB, inside the bundle directory).
 *
 * @internal
 */
export async function readManifestText(dir: string): Promise<string> {
  try {
    return await readBundleText(dir, MANIFEST_FILE, MAX_MANIFEST_BYTES);
  } catch (err) {
    if ((err as LeptonError).code === 'BUNDLE_FILE_MISSING') {
      throw new LeptonError('BUNDLE_NOT_FOUND', `No model bundle at ${dir}: ${MANIFEST_FILE} not found.`, { cause: err, details: { dir } });
    }
    throw err;
  }
}

/** @internal SHA-256 as lowercase hex. */
export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Reads one file the manifest lists and checks it: inside the bundle, at most {@link MAX_BUNDLE_FILE_BYTES}, the
 * recorded size (from `stat`, before reading), then the SHA-256.
 *
 * @internal
 */
export async function readBundleFile(dir: string, file: string, manifest: BundleManifest): Promise<Uint8Array> {
  const digest = manifest.files[file];
  if (digest === undefined) {
    throw new LeptonError('BUNDLE_INVALID', `Bundle ${dir}: '${file}' is used by the model but not listed in lepton.json.`, { details: { dir, file } });
  }
  if (file.includes('..') || isAbsolute(file)) throw new LeptonError('BUNDLE_INVALID', `Bundle ${dir}: file name '${file}' leaves the bundle directory.`, { details: { dir, file } });
  const where = await locate(dir, file);
  if (where.bytes > MAX_BUNDLE_FILE_BYTES) {
    throw new LeptonError('BUNDLE_INVALID', `Bundle ${dir}: '${file}' is ${where.bytes} bytes, more than a bundle file may hold (${MAX_BUNDLE_FILE_BYTES}).`, {
      details: { dir, file, bytes: where.bytes },
    });
  }
  if (where.bytes !== digest.bytes) {
    const how = where.bytes < digest.bytes ? 'truncated' : 'longer than recorded';
    throw new LeptonError(
      'BUNDLE_INTEGRITY',
      `Bundle ${dir}: '${file}' is ${how} (${where.bytes} bytes, lepton.json records ${digest.bytes}). Re-copy the bundle.`,
      { details: { dir, file, bytes: where.bytes, expectedBytes: digest.bytes } },
    );
  }
  const data = await readFile(where.path);
  if (data.byteLength !== digest.bytes) {
    throw new LeptonError('BUNDLE_INTEGRITY', `Bundle ${dir}: '${file}' changed while it was read. Re-copy the bundle.`, { details: { dir, file } });
  }
  const actual = sha256(data);
  if (actual !== digest.sha256) {
    throw new LeptonError(
      'BUNDLE_INTEGRITY',
      `Bundle ${dir}: '${file}' has been altered (SHA-256 ${actual.slice(0, 12)}…, lepton.json records ${digest.sha256.slice(0, 12)}…).`,
      { details: { dir, file, sha256: actual, expectedSha256: digest.sha256 } },
    );
  }
  return data;
}
