import { LeptonError } from '@lepton/core';

/**
 * Error codes of {@link readDicomDir} and {@link parseDicomDir} (always inside a `LeptonError`). Messages carry byte
 * offsets and record types, never patient data.
 *
 * - `DICOMDIR_READ_FAILED` — the DICOMDIR (or the folder given) could not be read: missing, not a regular file (a
 *   FIFO or a device: `ENOTFILE`), a symbolic link found as a folder's DICOMDIR (`ELOOP`), no permission
 *   (`details.reason`, the system error code).
 * - `DICOMDIR_NOT_DICOMDIR` — the file is not a DICOMDIR: not DICOM, or its Media Storage SOP Class is not Media
 *   Storage Directory Storage (1.2.840.10008.1.3.10).
 * - `DICOMDIR_MALFORMED` — a DICOMDIR whose directory cannot be trusted: truncated, no Directory Record Sequence, an
 *   offset that points at no record or loops back (`details.offset`), records out of the PATIENT → STUDY → SERIES →
 *   instance hierarchy, or a DICOMDIR larger than 256 MiB. (An instance record whose Referenced File ID would leave the
 *   file-set — `..`, path separators — is rejected on its own, in `rejectedRecords`, not thrown.)
 */
export type DicomDirErrorCode = 'DICOMDIR_READ_FAILED' | 'DICOMDIR_NOT_DICOMDIR' | 'DICOMDIR_MALFORMED';

/** @internal */
export function dicomDirError(code: DicomDirErrorCode, message: string, details: Record<string, unknown> = {}, cause?: unknown): LeptonError {
  return new LeptonError(code, message, cause === undefined ? { details } : { details, cause });
}
