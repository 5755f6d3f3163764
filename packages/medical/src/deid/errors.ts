import { LeptonError } from '@lepton/core';

/**
 * Error codes of `@lepton/medical`'s de-identification (always inside a `LeptonError`). Input that is not DICOM, is
 * truncated or malformed fails with the reader's codes (`DICOM_NOT_DICOM`, `DICOM_TRUNCATED`, `DICOM_MALFORMED`).
 *
 * - `DEID_UNSUPPORTED` — the data set parses but cannot be rewritten (an encoding the DICOM writer does not handle,
 *   e.g. an unsupported Specific Character Set, or pixel data that cannot be located). The writer's own message is
 *   shown only where it is one of a few known texts that quote no value; it is never attached as the cause.
 * - `DEID_BURNED_IN_ANNOTATION` — the image may show identifying text in its pixels (Burned In Annotation YES, or
 *   not stated for a modality that commonly burns text in) and the `burnedInAnnotation` policy refuses it (see
 *   `DeidentifyOptions.burnedInAnnotation`). Details: `burnedInAnnotation` (`YES` or `UNKNOWN`) and `modality`.
 * - `DEID_OUTPUT_TOO_LARGE` — the de-identified file would be larger than its input allows (a quarter more plus
 *   64 KiB; for Deflated input, of the inflated size), or a Deflated data set inflates beyond 1 GiB: the input is
 *   mis-encoded. Refused before the output is allocated.
 * - `DEID_WRITE_FAILED` — an output file or folder could not be written.
 * - `DEID_FAILED` — the rewritten file did not read back as DICOM (a bug: please report it with the error details).
 */
export type DeidErrorCode = 'DEID_UNSUPPORTED' | 'DEID_BURNED_IN_ANNOTATION' | 'DEID_OUTPUT_TOO_LARGE' | 'DEID_WRITE_FAILED' | 'DEID_FAILED';

/** @internal */
export function deidError(code: DeidErrorCode, message: string, details: Record<string, unknown> = {}, cause?: unknown): LeptonError {
  return new LeptonError(code, message, cause === undefined ? { details } : { details, cause });
}
