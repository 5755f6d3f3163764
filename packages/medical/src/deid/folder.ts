import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, relative, resolve, isAbsolute } from 'node:path';
import { describeValue, isLeptonError, LeptonError } from '@lepton/core';
import { dicomError } from '../dicom/errors.js';
import { acceptedBy, notify, readDicomBytes, type DicomLoadFailure } from '../dicom/files.js';
import { DicomDeidentifier, type DeidentifyOptions } from './deidentifier.js';
import { deidError } from './errors.js';
import type { BurnedInAnnotationReport } from './burned-in.js';
import type { DeidSummary } from './profile.js';

/** Options for {@link deidentifyDicomFolder}. */
export interface DeidentifyFolderOptions {
  /** Descend into sub-folders (default true). */
  readonly recursive?: boolean;
  /** Only try files for which this returns true (default: every file). */
  readonly filter?: (path: string) => boolean;
  /** Called for each failure as it happens (the error carries no patient data). */
  readonly onFailure?: (failure: DicomLoadFailure) => void;
}

/** One file written by {@link deidentifyDicomFolder}. */
export interface DeidentifiedFile {
  /** The input file's path. */
  readonly source: string;
  /** The output file's path: `<output folder>/<new SOP Instance UID>.dcm`. */
  readonly output: string;
  /** The new SOP Instance UID. */
  readonly sopInstanceUid: string;
  /** The new Study Instance UID, when present. */
  readonly studyInstanceUid: string | undefined;
  /** The new Series Instance UID, when present. */
  readonly seriesInstanceUid: string | undefined;
  /** What was removed, emptied and replaced. */
  readonly summary: DeidSummary;
  /** What was found and decided about identifying text burned into the pixels. */
  readonly burnedInAnnotation: BurnedInAnnotationReport;
}

/** The outcome of {@link deidentifyDicomFolder}: every input file is either written or listed as a failure. */
export interface DeidentifyFolderResult {
  /** Files written, in input path order. */
  readonly files: DeidentifiedFile[];
  /** Files that could not be de-identified (not DICOM, truncated, …), in path order, each with its error. */
  readonly failures: DicomLoadFailure[];
}

async function listFiles(dir: string, recursive: boolean, skip: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  for (const e of entries) {
    const p = join(dir, e.name);
    if (resolve(p) === skip) continue; // never re-read our own output
    if (e.isDirectory()) {
      if (recursive) files.push(...(await listFiles(p, true, skip)));
    } else if (e.isFile()) {
      files.push(p);
    }
  }
  return files;
}

/**
 * De-identifies every DICOM file in a folder into another folder (see {@link DicomDeidentifier} for what is done to
 * each). One de-identifier handles the whole folder, so every study in it keeps consistent UIDs. Output files are
 * named by their new SOP Instance UID — input file names often carry patient names or IDs — and written flat into
 * `outputDir`. A file that is not DICOM, is truncated, cannot be rewritten, is refused for burned-in annotation
 * (`DEID_BURNED_IN_ANNOTATION`, by the de-identifier's `burnedInAnnotation` policy) or would outgrow the size bound
 * (`DEID_OUTPUT_TOO_LARGE`) never stops the run: it is reported in `failures` (and to `onFailure`) with its typed
 * code and no patient data, and nothing is written for it.
 *
 * @param inputDir - folder to read
 * @param outputDir - folder to write (created when missing; may not be `inputDir` itself)
 * @param deidentifier - a {@link DicomDeidentifier}, or options to make one (pass a `secret` to match earlier runs)
 * @param options - recursion, a file filter and a failure callback
 * @returns the files written and the failures
 * @throws {@link @lepton/core!LeptonError} `DICOM_READ_FAILED` when `inputDir` cannot be listed, `DEID_WRITE_FAILED`
 *   when `outputDir` cannot be created, `INVALID_ARGUMENT` when it is `inputDir`, a folder is not a non-empty string,
 *   or the options (or a de-identifier option) are of the wrong type. A callback that throws never ends the run: a
 *   `filter` that throws for a file makes it a failure with code `DICOM_CALLBACK_FAILED`, and an error thrown by
 *   `onFailure` is ignored (the failure is in `failures` already).
 * @example
 * ```ts
 * import { deidentifyDicomFolder } from '@lepton/medical';
 * const { files, failures } = await deidentifyDicomFolder('packages/medical/test/fixtures/deid/study', '/tmp/deid-out', {
 *   secret: 'keep-me-in-a-vault',
 * });
 * console.log(files.length, failures.map((f) => f.error.code)); // 6 [ 'DICOM_TRUNCATED', 'DICOM_NOT_DICOM' ]
 * ```
 */
export async function deidentifyDicomFolder(
  inputDir: string,
  outputDir: string,
  deidentifier: DicomDeidentifier | DeidentifyOptions = {},
  options: DeidentifyFolderOptions = {},
): Promise<DeidentifyFolderResult> {
  for (const [name, dir] of [['inputDir', inputDir], ['outputDir', outputDir]] as const) {
    if (typeof dir !== 'string' || dir.length === 0) throw new LeptonError('INVALID_ARGUMENT', `deidentifyDicomFolder: ${name} must be a folder path, got ${describeValue(dir)}.`);
  }
  if (typeof options !== 'object' || options === null) throw new LeptonError('INVALID_ARGUMENT', `deidentifyDicomFolder: options must be an object, got ${describeValue(options)}.`);
  if (options.recursive !== undefined && typeof options.recursive !== 'boolean') {
    throw new LeptonError('INVALID_ARGUMENT', `deidentifyDicomFolder: recursive must be true or false, got ${describeValue(options.recursive)}.`);
  }
  for (const name of ['filter', 'onFailure'] as const) {
    const fn: unknown = (options as Record<string, unknown>)[name];
    if (fn !== undefined && typeof fn !== 'function') throw new LeptonError('INVALID_ARGUMENT', `deidentifyDicomFolder: ${name} must be a function, got ${describeValue(fn)}.`);
  }
  const deid = deidentifier instanceof DicomDeidentifier ? deidentifier : new DicomDeidentifier(deidentifier);
  const out = resolve(outputDir);
  const rel = relative(resolve(inputDir), out);
  if (rel === '') {
    throw new LeptonError('INVALID_ARGUMENT', 'The output folder is the input folder: write de-identified files somewhere else.');
  }
  let paths: string[];
  try {
    const inside = !rel.startsWith('..') && !isAbsolute(rel);
    paths = await listFiles(inputDir, options.recursive ?? true, inside ? out : '');
  } catch (cause) {
    throw dicomError('DICOM_READ_FAILED', `Could not list the folder (${(cause as NodeJS.ErrnoException).code ?? 'I/O error'}).`, { source: inputDir }, cause);
  }
  try {
    await mkdir(out, { recursive: true });
  } catch (cause) {
    throw deidError('DEID_WRITE_FAILED', `Could not create the output folder (${(cause as NodeJS.ErrnoException).code ?? 'I/O error'}).`, { output: outputDir }, cause);
  }
  const files: DeidentifiedFile[] = [];
  const failures: DicomLoadFailure[] = [];
  for (const path of paths) {
    try {
      if (!acceptedBy(options.filter, path)) continue;
      const result = deid.deidentify(await readDicomBytes(path), { source: path });
      const output = join(outputDir, `${result.sopInstanceUid}.dcm`);
      try {
        await writeFile(output, result.bytes);
      } catch (cause) {
        throw deidError('DEID_WRITE_FAILED', `Could not write the output file (${(cause as NodeJS.ErrnoException).code ?? 'I/O error'}).`, { source: path }, cause);
      }
      files.push({
        source: path,
        output,
        sopInstanceUid: result.sopInstanceUid,
        studyInstanceUid: result.studyInstanceUid,
        seriesInstanceUid: result.seriesInstanceUid,
        summary: result.summary,
        burnedInAnnotation: result.burnedInAnnotation,
      });
    } catch (err) {
      const error = isLeptonError(err) ? err : deidError('DEID_FAILED', 'The file could not be de-identified.', { source: path }, err);
      const failure = { path, error };
      failures.push(failure);
      notify(options.onFailure, failure);
    }
  }
  return { files, failures };
}
