import type { DicomErrorCode } from './dicom/errors.js';
import type { DicomWebErrorCode } from './dicomweb/errors.js';
import type { VolumeErrorCode } from './volume/errors.js';
import type { DeidErrorCode } from './deid/errors.js';
import type { DicomResultErrorCode } from './results/errors.js';
import type { DicomDirErrorCode } from './dicomdir/errors.js';

/**
 * Every error code `@lepton/medical` adds to `@lepton/core`'s, at run time (for JavaScript callers and log pipelines).
 * {@link MedicalErrorCode} documents each one. Medical also raises core's shared codes (`INVALID_ARGUMENT`,
 * `INVALID_INPUT`, `BUNDLE_INVALID` …, see `CORE_ERROR_CODES`); `tests/error-codes.test.ts` fails when the source uses
 * a code that is in neither list, or when a code listed here is no longer used.
 */
export const MEDICAL_ERROR_CODES = [
  // DICOM reader (DicomErrorCode)
  'DICOM_NOT_DICOM',
  'DICOM_TRUNCATED',
  'DICOM_MALFORMED',
  'DICOM_NO_PIXEL_DATA',
  'DICOM_UNSUPPORTED_TRANSFER_SYNTAX',
  'DICOM_UNSUPPORTED_PIXEL_FORMAT',
  'DICOM_DECODE_FAILED',
  'DICOM_FRAME_OUT_OF_RANGE',
  'DICOM_READ_FAILED',
  'DICOM_CALLBACK_FAILED',
  // writing DICOM
  'DICOM_WRITE_FAILED',
  'DICOM_RESULT_INVALID_INPUT',
  'DICOM_RESULT_UNSUPPORTED',
  'DICOM_RESULT_WRITE_FAILED',
  // DICOMDIR
  'DICOMDIR_READ_FAILED',
  'DICOMDIR_NOT_DICOMDIR',
  'DICOMDIR_MALFORMED',
  // DICOMweb
  'DICOMWEB_HTTP_ERROR',
  'DICOMWEB_UNREACHABLE',
  'DICOMWEB_TIMEOUT',
  'DICOMWEB_ABORTED',
  'DICOMWEB_BAD_RESPONSE',
  'DICOMWEB_INVALID_OPTIONS',
  'DICOMWEB_STORE_FAILED',
  'DICOMWEB_REDIRECT_REFUSED',
  'DICOMWEB_RESPONSE_TOO_LARGE',
  // volumes
  'VOLUME_EMPTY',
  'VOLUME_MULTIPLE_SERIES',
  'VOLUME_NO_GEOMETRY',
  'VOLUME_UNSUPPORTED',
  'VOLUME_TOO_LARGE',
  // de-identification
  'DEID_UNSUPPORTED',
  'DEID_BURNED_IN_ANNOTATION',
  'DEID_OUTPUT_TOO_LARGE',
  'DEID_WRITE_FAILED',
  'DEID_FAILED',
  // diagnosis inputs
  'LABELS_READ_FAILED',
  'CLINICAL_READ_FAILED',
  'CLINICAL_CSV_INVALID',
  'CLINICAL_MALFORMED_ROW',
  'CLINICAL_MISSING_ID',
  'CLINICAL_BAD_AGE',
  'CLINICAL_BAD_SEX',
  'CLINICAL_BAD_FLAG',
  'CLINICAL_DUPLICATE_PATIENT',
] as const;

/**
 * An error code `@lepton/medical` adds (one of {@link MEDICAL_ERROR_CODES}); with core's codes it makes up
 * `LeptonErrorCode` in a program that imports `@lepton/medical`. Messages and details never carry patient data.
 *
 * - DICOM reader: the ten `DICOM_*` codes of {@link DicomErrorCode} (not DICOM, truncated, malformed, no pixel data,
 *   unsupported transfer syntax or pixel format, decode failed, frame out of range, read failed, and a folder
 *   `filter` callback that threw for a file).
 * - `DICOM_WRITE_FAILED` — dcmjs could not write a synthetic slice.
 * - DICOM SEG/SR results: {@link DicomResultErrorCode} (`DICOM_RESULT_INVALID_INPUT`, `DICOM_RESULT_UNSUPPORTED`,
 *   `DICOM_RESULT_WRITE_FAILED`).
 * - DICOMDIR: {@link DicomDirErrorCode} (`DICOMDIR_READ_FAILED`, `DICOMDIR_NOT_DICOMDIR`, `DICOMDIR_MALFORMED`).
 * - DICOMweb: the nine `DICOMWEB_*` codes of {@link DicomWebErrorCode} (HTTP error, unreachable, timeout, aborted, bad
 *   response, invalid options, store failed, redirect refused, response too large).
 * - Volumes: {@link VolumeErrorCode} (`VOLUME_EMPTY`, `VOLUME_MULTIPLE_SERIES`, `VOLUME_NO_GEOMETRY`,
 *   `VOLUME_UNSUPPORTED`, `VOLUME_TOO_LARGE`).
 * - De-identification: {@link DeidErrorCode} (`DEID_UNSUPPORTED`, `DEID_BURNED_IN_ANNOTATION`,
 *   `DEID_OUTPUT_TOO_LARGE`, `DEID_WRITE_FAILED`, `DEID_FAILED`).
 * - `LABELS_READ_FAILED` — the labels CSV of a training folder could not be read.
 * - `CLINICAL_READ_FAILED` — the clinical CSV could not be read.
 * - `CLINICAL_CSV_INVALID` — the clinical CSV as a whole is unusable (not text, empty, no patient_id/age/sex header, a
 *   history column that does not exist).
 * - `CLINICAL_MALFORMED_ROW`, `CLINICAL_MISSING_ID`, `CLINICAL_BAD_AGE`, `CLINICAL_BAD_SEX`, `CLINICAL_BAD_FLAG`,
 *   `CLINICAL_DUPLICATE_PATIENT` — one clinical CSV row refused (reported in `failures`, the other rows are read).
 */
export type MedicalErrorCode = (typeof MEDICAL_ERROR_CODES)[number];

declare module '@lepton/core' {
  interface LeptonErrorCodes {
    /** Codes added by `@lepton/medical` ({@link MEDICAL_ERROR_CODES}). */
    medical: MedicalErrorCode;
  }
}

// Each area's own union must stay inside the package's list (a compile error here names the code that is missing).
type Covers<T extends MedicalErrorCode> = T;
type _AreaCodes = Covers<DicomErrorCode | DicomWebErrorCode | VolumeErrorCode | DeidErrorCode | DicomResultErrorCode | DicomDirErrorCode>;
