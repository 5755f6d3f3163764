import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describeValue, isLeptonError, LeptonError } from '@lepton/core';
import { dicomError } from './errors.js';
import type { DicomImage } from './image.js';
import { readDicom, type ReadDicomOptions } from './read.js';

/**
 * Reads and parses one DICOM file.
 *
 * @param path - file path
 * @param options - as {@link readDicom} (its `source` defaults to `path`)
 * @returns the parsed instance
 * @throws {@link @lepton/core!LeptonError} `DICOM_READ_FAILED` when the file cannot be read, is not a regular file
 *   (a device such as `/dev/zero`, a pipe, a folder: refused before reading) or is larger than
 *   {@link MAX_DICOM_FILE_BYTES}, or any of
 *   {@link readDicom}'s codes (`INVALID_ARGUMENT` for options that are not an object, checked before the file is read)
 * @example
 * ```ts
 * import { readDicomFile } from '@lepton/medical';
 * const image = await readDicomFile('packages/medical/test/fixtures/dicom/mr8_jpeg_baseline.dcm');
 * console.log(image.transferSyntax?.name); // 'JPEG Baseline (Process 1)'
 * ```
 */
export async function readDicomFile(path: string, options: ReadDicomOptions = {}): Promise<DicomImage> {
  // null was a TypeError reading options.source; readDicom checks the rest of the options.
  if (typeof options !== 'object' || options === null) throw new LeptonError('INVALID_ARGUMENT', `readDicomFile options must be an object, got ${describeValue(options)}.`);
  return readDicom(await readDicomBytes(path), { ...options, source: options.source ?? path });
}

/**
 * The largest file the DICOM readers load (2 GiB − 1 byte, what Node reads into one buffer); a larger one is
 * `DICOM_READ_FAILED` before anything is read.
 */
export const MAX_DICOM_FILE_BYTES = 2 ** 31 - 1;

/**
 * Reads the bytes of a DICOM file (for {@link DicomDeidentifier.deidentify}, say) the way {@link readDicomFile} does:
 * a regular file of at most {@link MAX_DICOM_FILE_BYTES}. A device (`/dev/zero`, which was read until memory ran out),
 * a FIFO (opening one blocks until something writes to it) or a folder is refused before anything is read.
 *
 * @param path - file path
 * @returns the file's bytes
 * @throws {@link @lepton/core!LeptonError} `DICOM_READ_FAILED`, details `source` (the path) and `reason`
 *   (`not-a-file`, `too-large`, or the system's code such as `ENOENT`)
 * @example
 * ```ts
 * import { DicomDeidentifier, readDicomBytes } from '@lepton/medical';
 * const path = 'packages/medical/test/fixtures/dicom/ct_s16.dcm';
 * const out = new DicomDeidentifier({ secret: 'a long secret from your vault' }).deidentify(await readDicomBytes(path));
 * console.log(out.bytes.length > 0); // true
 * ```
 */
export async function readDicomBytes(path: string): Promise<Uint8Array> {
  const failed = (message: string, reason: string, cause?: unknown): LeptonError => dicomError('DICOM_READ_FAILED', message, { source: path, reason }, cause);
  let handle;
  try {
    // stat first: opening a FIFO for reading blocks until something writes to it
    if (!(await stat(path)).isFile()) throw failed('Not a regular file (a device, a pipe or a folder): nothing was read.', 'not-a-file');
    handle = await open(path, 'r');
  } catch (cause) {
    if (isLeptonError(cause)) throw cause;
    const code = (cause as NodeJS.ErrnoException).code ?? 'I/O error';
    throw failed(`Could not read the file (${code}).`, code, cause);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw failed('Not a regular file (a device, a pipe or a folder): nothing was read.', 'not-a-file');
    if (info.size > MAX_DICOM_FILE_BYTES) throw failed(`The file is ${info.size} bytes, more than the ${MAX_DICOM_FILE_BYTES} a DICOM file can be read into.`, 'too-large');
    return await handle.readFile();
  } catch (cause) {
    if (isLeptonError(cause)) throw cause;
    const code = (cause as NodeJS.ErrnoException).code ?? 'I/O error';
    throw failed(`Could not read the file (${code}).`, code, cause);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** A file that {@link readDicomFolder} could not load, and why. */
export interface DicomLoadFailure {
  /** The file's path. */
  readonly path: string;
  /** What was wrong: a `LeptonError` whose `code` names the problem (e.g. `DICOM_TRUNCATED`). */
  readonly error: LeptonError;
}

/** The outcome of {@link readDicomFolder}: every file either loaded or is listed as a failure. */
export interface DicomFolderLoad {
  /** Parsed instances, in path order. */
  readonly images: DicomImage[];
  /** Files that failed, in path order, each with its error. */
  readonly failures: DicomLoadFailure[];
}

/** Options for {@link readDicomFolder}. */
export interface ReadDicomFolderOptions {
  /** Descend into sub-folders (default true). */
  readonly recursive?: boolean;
  /** Only try files for which this returns true (default: every file; DICOM files often have no extension). */
  readonly filter?: (path: string) => boolean;
  /** Called for each failure as it happens, e.g. to log it (the error carries no patient data). */
  readonly onFailure?: (failure: DicomLoadFailure) => void;
}

/**
 * Options of {@link readDicomFolder} as a JavaScript caller or a config file hands them: a NaN or 0 `recursive` was
 * read as false and a '0' string as true, a `filter` or `onFailure` that is not a function was a `TypeError` after
 * the folder had been listed, and `null` options a `DICOM_READ_FAILED` "could not list the folder".
 */
function checkFolderOptions(options: unknown): asserts options is ReadDicomFolderOptions {
  const bad = (option: string, what: string, value: unknown): never => {
    throw new LeptonError('INVALID_ARGUMENT', `readDicomFolder: ${option} must be ${what}, got ${describeValue(value)}.`, { details: { option } });
  };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) bad('options', 'an object', options);
  const { recursive, filter, onFailure } = options as Record<string, unknown>;
  if (recursive !== undefined && typeof recursive !== 'boolean') bad('recursive', 'true or false', recursive);
  if (filter !== undefined && typeof filter !== 'function') bad('filter', 'a function (path) => boolean', filter);
  if (onFailure !== undefined && typeof onFailure !== 'function') bad('onFailure', 'a function', onFailure);
}

async function listFiles(dir: string, recursive: boolean): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (recursive) files.push(...(await listFiles(p, true)));
    } else if (e.isFile()) {
      files.push(p);
    }
  }
  return files;
}

/**
 * Loads every DICOM file in a folder. A file that is not DICOM, is truncated or is malformed never stops the load:
 * it is reported in `failures` (and to `onFailure`) and the rest load. Pixels are not decoded here.
 *
 * @param dir - folder path
 * @param options - recursion, a file filter and a failure callback
 * @returns the images and the failures, both in path order
 * @throws {@link @lepton/core!LeptonError} `DICOM_READ_FAILED` when the folder itself cannot be listed;
 *   `INVALID_ARGUMENT` (`details.option`), before anything is read, for options that are not an object, a `recursive`
 *   that is not a boolean, or a `filter` or `onFailure` that is not a function. A callback that throws never ends
 *   the load: a `filter` that throws for a file makes that file a failure with code `DICOM_CALLBACK_FAILED` (the
 *   thrown value as `cause`), and an error thrown by `onFailure` is ignored (the failure is in `failures` already).
 * @example
 * ```ts
 * import { readDicomFolder } from '@lepton/medical';
 * const { images, failures } = await readDicomFolder('packages/medical/test/fixtures/folder');
 * for (const f of failures) console.log(f.path, f.error.code); // e.g. …/truncated.dcm DICOM_TRUNCATED
 * console.log(images.length); // 3
 * ```
 */
export async function readDicomFolder(dir: string, options: ReadDicomFolderOptions = {}): Promise<DicomFolderLoad> {
  checkFolderOptions(options);
  let files: string[];
  try {
    files = await listFiles(dir, options.recursive ?? true);
  } catch (cause) {
    throw dicomError('DICOM_READ_FAILED', `Could not list the folder (${(cause as NodeJS.ErrnoException).code ?? 'I/O error'}).`, { source: dir }, cause);
  }
  const images: DicomImage[] = [];
  const failures: DicomLoadFailure[] = [];
  for (const path of files) {
    try {
      if (!acceptedBy(options.filter, path)) continue;
      images.push(await readDicomFile(path));
    } catch (err) {
      const error = isLeptonError(err)
        ? err
        : dicomError('DICOM_MALFORMED', 'The file could not be parsed.', { source: path }, err);
      const failure = { path, error };
      failures.push(failure);
      notify(options.onFailure, failure);
    }
  }
  return { images, failures };
}

/**
 * A caller's `filter` verdict on one file. A filter that throws is that file's failure (`DICOM_CALLBACK_FAILED`, the
 * thrown value as cause, its text never in the message), not the end of the whole load: one bad file — or one bad
 * verdict — never stops the rest.
 * @internal
 */
export function acceptedBy(filter: ((path: string) => boolean) | undefined, path: string): boolean {
  if (filter === undefined) return true;
  try {
    return Boolean(filter(path));
  } catch (cause) {
    throw dicomError('DICOM_CALLBACK_FAILED', 'The filter callback threw for this file, which was skipped; fix the filter (the error is the cause).', { source: path, callback: 'filter' }, cause);
  }
}

/**
 * Calls the caller's `onFailure`. The failure is already recorded in `failures`; an error the callback throws is
 * ignored, so a logging hook that fails cannot stop the rest of the folder (use `failures` to see every failure).
 * @internal
 */
export function notify<F>(onFailure: ((failure: F) => void) | undefined, failure: F): void {
  try {
    onFailure?.(failure);
  } catch {
    // deliberately ignored: see above
  }
}
