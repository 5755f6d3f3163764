import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isLeptonError, type LeptonError } from '@lepton/core';
import { dicomError } from './errors.js';
import type { DicomImage } from './image.js';
import { readDicom, type ReadDicomOptions } from './read.js';

/**
 * Reads and parses one DICOM file.
 *
 * @param path - file path
 * @param options - as {@link readDicom} (its `source` defaults to `path`)
 * @returns the parsed instance
 * @throws {@link @lepton/core!LeptonError} `DICOM_READ_FAILED` when the file cannot be read, or any of
 *   {@link readDicom}'s codes
 * @example
 * ```ts
 * import { readDicomFile } from '@lepton/medical';
 * const image = await readDicomFile('packages/medical/test/fixtures/dicom/mr8_jpeg_baseline.dcm');
 * console.log(image.transferSyntax?.name); // 'JPEG Baseline (Process 1)'
 * ```
 */
export async function readDicomFile(path: string, options: ReadDicomOptions = {}): Promise<DicomImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw dicomError('DICOM_READ_FAILED', `Could not read the file (${(cause as NodeJS.ErrnoException).code ?? 'I/O error'}).`, { source: path }, cause);
  }
  return readDicom(bytes, { ...options, source: options.source ?? path });
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
 * @throws {@link @lepton/core!LeptonError} `DICOM_READ_FAILED` only when the folder itself cannot be listed
 * @example
 * ```ts
 * import { readDicomFolder } from '@lepton/medical';
 * const { images, failures } = await readDicomFolder('packages/medical/test/fixtures/folder');
 * for (const f of failures) console.log(f.path, f.error.code); // e.g. …/truncated.dcm DICOM_TRUNCATED
 * console.log(images.length); // 3
 * ```
 */
export async function readDicomFolder(dir: string, options: ReadDicomFolderOptions = {}): Promise<DicomFolderLoad> {
  let files: string[];
  try {
    files = await listFiles(dir, options.recursive ?? true);
  } catch (cause) {
    throw dicomError('DICOM_READ_FAILED', `Could not list the folder (${(cause as NodeJS.ErrnoException).code ?? 'I/O error'}).`, { source: dir }, cause);
  }
  const images: DicomImage[] = [];
  const failures: DicomLoadFailure[] = [];
  for (const path of files) {
    if (options.filter !== undefined && !options.filter(path)) continue;
    try {
      images.push(await readDicomFile(path));
    } catch (err) {
      const error = isLeptonError(err)
        ? err
        : dicomError('DICOM_MALFORMED', 'The file could not be parsed.', { source: path }, err);
      const failure = { path, error };
      failures.push(failure);
      options.onFailure?.(failure);
    }
  }
  return { images, failures };
}
