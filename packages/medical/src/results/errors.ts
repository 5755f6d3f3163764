import { LeptonError } from '@lepton/core';

/**
 * Error codes of `@lepton/medical`'s result writers ({@link segmentationToDicomSeg}, {@link diagnosisToDicomSr}),
 * always inside a `LeptonError`. Messages name the offending argument, never patient data.
 *
 * - `DICOM_RESULT_INVALID_INPUT` — the result and the source images do not fit together (counts, sizes, missing UIDs
 *   or geometry, different studies or frames of reference), or an option is out of range (`details.option`).
 * - `DICOM_RESULT_UNSUPPORTED` — the source images carry something the writer cannot copy faithfully (e.g. patient
 *   attributes in a Specific Character Set other than ASCII, ISO_IR 100 or ISO_IR 192).
 * - `DICOM_RESULT_WRITE_FAILED` — the DICOM writer (dcmjs) failed to encode the object (a bug: please report it with
 *   the error's cause).
 */
export type DicomResultErrorCode = 'DICOM_RESULT_INVALID_INPUT' | 'DICOM_RESULT_UNSUPPORTED' | 'DICOM_RESULT_WRITE_FAILED';

/** @internal */
export function resultError(code: DicomResultErrorCode, message: string, details: Record<string, unknown> = {}, cause?: unknown): LeptonError {
  return new LeptonError(code, message, cause === undefined ? { details } : { details, cause });
}
