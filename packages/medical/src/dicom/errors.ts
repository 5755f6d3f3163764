import { isLeptonError, LeptonError } from '@lepton/core';

/**
 * Error codes thrown by `@lepton/medical`'s DICOM reader (always inside a `LeptonError`).
 *
 * - `DICOM_NOT_DICOM` — the bytes are not a DICOM file or data set (no `DICM` prefix and no recognisable element).
 * - `DICOM_TRUNCATED` — the file ends inside an element (an interrupted copy or download).
 * - `DICOM_MALFORMED` — the encoding is broken (impossible lengths, missing required attributes, Bits Stored or High
 *   Bit that do not fit Bits Allocated, a rescale whose modality values would exceed the float32 range).
 * - `DICOM_NO_PIXEL_DATA` — pixels were asked of a data set that has none (a report, a DICOMDIR).
 * - `DICOM_UNSUPPORTED_TRANSFER_SYNTAX` — the pixel encoding is not one `TRANSFER_SYNTAXES` lists.
 * - `DICOM_UNSUPPORTED_PIXEL_FORMAT` — an attribute combination no decoder handles (e.g. Bits Allocated 12, or 1 in
 *   compressed or colour pixel data), or a compressed frame too large to decode (over 1 GiB).
 * - `DICOM_DECODE_FAILED` — a codec rejected the compressed bitstream or gave back the wrong geometry.
 * - `DICOM_FRAME_OUT_OF_RANGE` — a frame index outside `0 … numberOfFrames - 1`.
 * - `DICOM_READ_FAILED` — the file could not be read from disk.
 * - `DICOM_CALLBACK_FAILED` — a caller's callback (the `filter` of `readDicomFolder` or `deidentifyDicomFolder`)
 *   threw for a file; that file is listed as a failure with this code (the thrown value as `cause`) and the rest load.
 */
export type DicomErrorCode =
  | 'DICOM_NOT_DICOM'
  | 'DICOM_TRUNCATED'
  | 'DICOM_MALFORMED'
  | 'DICOM_NO_PIXEL_DATA'
  | 'DICOM_UNSUPPORTED_TRANSFER_SYNTAX'
  | 'DICOM_UNSUPPORTED_PIXEL_FORMAT'
  | 'DICOM_DECODE_FAILED'
  | 'DICOM_FRAME_OUT_OF_RANGE'
  | 'DICOM_READ_FAILED'
  | 'DICOM_CALLBACK_FAILED';

/** @internal */
export function dicomError(code: DicomErrorCode, message: string, details: Record<string, unknown> = {}, cause?: unknown): LeptonError {
  return new LeptonError(code, message, cause === undefined ? { details } : { details, cause });
}

/**
 * dicom-parser throws strings, Errors, or `{ exception, dataSet }`; turn any of them into one message string.
 * @internal
 */
export function parserMessage(err: unknown): string {
  if (typeof err === 'string') return err;
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null && 'exception' in err) return parserMessage((err as { exception: unknown }).exception);
  return String(err);
}

/**
 * Any failure inside a public entry point as a `LeptonError`: a `LeptonError` passes through; anything else (a string
 * thrown by dicom-parser, a `TypeError`, a `RangeError` from an allocation) becomes `fallback` with a fixed message.
 * The foreign error's text is never put into the message or the details (it could quote attribute values, i.e.
 * patient data); it is kept as the `cause` for debugging, and only its kind goes into the details.
 * @internal
 */
export function asDicomError(err: unknown, fallback: DicomErrorCode, where: Record<string, unknown>): LeptonError {
  if (isLeptonError(err)) return err;
  const inner = typeof err === 'object' && err !== null && 'exception' in err ? (err as { exception: unknown }).exception : err;
  if (isLeptonError(inner)) return inner;
  const kind = inner instanceof Error ? inner.name : typeof inner;
  const what =
    fallback === 'DICOM_DECODE_FAILED'
      ? 'The pixel data could not be decoded: the file is inconsistent or corrupt.'
      : 'The DICOM data set is inconsistent or corrupt and could not be read.';
  return dicomError(fallback, `${what} Check the file with \`dcmdump\` (dcmtk) or re-export it.`, { ...where, internal: kind }, inner);
}
