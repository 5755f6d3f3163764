import { LeptonError } from '@lepton/core';
import type { DataSet } from 'dicom-parser';
import { asDicomError, dicomError } from './errors.js';
import { DicomImage } from './image.js';
import { extractMetadata } from './metadata.js';
import { parseDicomBytes, VRS } from './parse.js';
import type { DicomMetadata } from './types.js';
import { EXPLICIT_VR_BIG_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN, TRANSFER_SYNTAXES } from './transfer-syntax.js';
import { nativePixelDataLength } from '../pixels/native.js';

/** Options for {@link readDicom}. */
export interface ReadDicomOptions {
  /**
   * Transfer syntax of a bare data set (one without the Part 10 preamble and file meta information). When omitted
   * it is detected from the first element: explicit or implicit VR, little or big endian.
   */
  readonly transferSyntaxUid?: string;
  /** A label for error details and {@link DicomImage.source}, typically the file path. Never put patient data here. */
  readonly source?: string;
}

/** Guesses the transfer syntax of a bare data set from its first element, or undefined when it looks like no DICOM. */
function sniffBareTransferSyntax(b: Uint8Array): string | undefined {
  if (b.length < 8) return undefined;
  const groupLE = (b[0] ?? 0) | ((b[1] ?? 0) << 8);
  const groupBE = ((b[0] ?? 0) << 8) | (b[1] ?? 0);
  const vr = String.fromCharCode(b[4] ?? 0, b[5] ?? 0);
  // A data set starts with a low group number (0008 or so, always ≤ 7FE0) and is even-numbered unless private.
  const plausible = (g: number): boolean => g >= 0x0002 && g <= 0x7fe0;
  if (VRS.has(vr)) {
    if (plausible(groupLE) && (!plausible(groupBE) || groupLE <= groupBE)) return EXPLICIT_VR_LITTLE_ENDIAN;
    if (plausible(groupBE)) return EXPLICIT_VR_BIG_ENDIAN;
    return undefined;
  }
  const lengthLE = ((b[4] ?? 0) | ((b[5] ?? 0) << 8) | ((b[6] ?? 0) << 16) | ((b[7] ?? 0) << 24)) >>> 0;
  if (plausible(groupLE) && (lengthLE === 0xffffffff || lengthLE <= b.length - 8)) return IMPLICIT_VR_LITTLE_ENDIAN;
  return undefined;
}

const hasDicmPrefix = (b: Uint8Array): boolean =>
  b.length >= 132 && b[128] === 0x44 && b[129] === 0x49 && b[130] === 0x43 && b[131] === 0x4d;

/**
 * Parses a DICOM Part 10 file or a bare data set (no preamble) into a {@link DicomImage}. Only attributes are read
 * here; pixels are decoded on demand by {@link DicomImage.decodeFrame}.
 *
 * @param bytes - the file's bytes
 * @param options - transfer syntax for bare data sets, and a source label for errors
 * @returns the parsed instance with its typed {@link DicomMetadata}
 * @throws {@link @lepton/core!LeptonError} `DICOM_NOT_DICOM` (empty, or not DICOM at all), `DICOM_TRUNCATED` (cut off
 *   inside an element or inside the pixel data), `DICOM_MALFORMED` (broken encoding; also any failure inside the
 *   parser, which never escapes as anything but a `LeptonError`), `INVALID_ARGUMENT` (bytes not a Uint8Array, options
 *   not strings). Attributes that are present but unusable (e.g. Pixel Spacing with one value) are no error: they are
 *   left out of `meta` and listed in {@link DicomImage.issues}.
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { readDicom } from '@lepton/medical';
 * const image = readDicom(readFileSync('packages/medical/test/fixtures/dicom/ct_s16.dcm'));
 * console.log(image.meta.modality, image.meta.rows, image.meta.columns); // CT 48 64
 * ```
 */
export function readDicom(bytes: Uint8Array, options: ReadDicomOptions = {}): DicomImage {
  if (!(bytes instanceof Uint8Array)) {
    throw new LeptonError('INVALID_ARGUMENT', 'readDicom expects the file bytes as a Uint8Array (a Buffer is one).');
  }
  // options come from JavaScript callers too: check them before anything reads them
  if (typeof options !== 'object' || options === null) throw new LeptonError('INVALID_ARGUMENT', 'readDicom options must be an object.');
  for (const key of ['source', 'transferSyntaxUid'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'string') {
      throw new LeptonError('INVALID_ARGUMENT', `readDicom option ${key} must be a string.`);
    }
  }
  const source = options.source;
  const where = source === undefined ? {} : { source };
  if (bytes.length === 0) throw dicomError('DICOM_NOT_DICOM', 'The file is empty, so it is not DICOM.', where);

  // A Node Buffer would make dicom-parser hand back Buffers, whose slice() is a view, not a copy: work on a plain
  // Uint8Array over the same memory instead.
  let input = Buffer.isBuffer(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) : bytes;
  let bareSyntax: string | undefined;
  if (!hasDicmPrefix(bytes)) {
    const groupLE = (bytes[0] ?? 0) | ((bytes[1] ?? 0) << 8);
    if (groupLE === 0x0002 && bytes.length > 8 && VRS.has(String.fromCharCode(bytes[4] ?? 0, bytes[5] ?? 0))) {
      // File meta information without the 128-byte preamble and "DICM": give it one, so it parses as Part 10.
      const withPreamble = new Uint8Array(132 + bytes.length);
      withPreamble.set([0x44, 0x49, 0x43, 0x4d], 128);
      withPreamble.set(bytes, 132);
      input = withPreamble;
    } else {
      bareSyntax = options.transferSyntaxUid ?? sniffBareTransferSyntax(bytes);
      if (bareSyntax === undefined) {
        const short = bytes.length < 132;
        throw dicomError(
          short && bytes.length >= 128 ? 'DICOM_TRUNCATED' : 'DICOM_NOT_DICOM',
          'This is not DICOM: there is no "DICM" prefix at byte 128 and the start is no DICOM element. ' +
            'If it is a bare data set in an unusual encoding, pass options.transferSyntaxUid.',
          { ...where, bytes: bytes.length },
        );
      }
    }
  }

  if (hasDicmPrefix(input) && metaHeaderCutShort(input)) {
    throw dicomError('DICOM_TRUNCATED', 'The DICOM file ends inside its file meta information: it was cut short. Fetch it again.', where);
  }
  // Everything below may meet bytes nobody checked: whatever it throws leaves as a LeptonError with a DICOM_* code.
  try {
    const { ds, transferSyntaxUid } = parseDicomBytes(input, hasDicmPrefix(input), bareSyntax, where);
    if (!hasDataSetElement(ds)) {
      throw dicomError('DICOM_MALFORMED', 'The file has DICOM file meta information but no data set after it.', where);
    }
    const { meta, issues } = extractMetadata(ds, transferSyntaxUid);
    checkPixelDataComplete(ds, meta, transferSyntaxUid, where);
    return new DicomImage(ds, meta, source, issues);
  } catch (err) {
    throw asDicomError(err, 'DICOM_MALFORMED', where);
  }
}

/** Is there any element besides the file meta information (group 0002)? */
function hasDataSetElement(ds: DataSet): boolean {
  for (const tag in ds.elements) if (!tag.startsWith('x0002')) return true;
  return false;
}

/** Does the File Meta Information Group Length (0002,0000), when present, point past the end of the file? */
function metaHeaderCutShort(b: Uint8Array): boolean {
  if (b.length < 144) return b.length > 132;
  const isGroupLength = b[132] === 0x02 && b[133] === 0 && b[134] === 0 && b[135] === 0 && b[136] === 0x55 && b[137] === 0x4c;
  if (!isGroupLength) return false;
  const groupLength = ((b[140] ?? 0) | ((b[141] ?? 0) << 8) | ((b[142] ?? 0) << 16) | ((b[143] ?? 0) << 24)) >>> 0;
  return 144 + groupLength > b.length;
}

/** dicom-parser accepts a pixel data element that runs past the end of the file; a cut-off file is an error here. */
function checkPixelDataComplete(
  ds: DataSet,
  meta: DicomMetadata,
  tsUid: string,
  where: Record<string, unknown>,
): void {
  const el = ds.elements['x7fe00010'];
  const truncated = (): LeptonError =>
    dicomError('DICOM_TRUNCATED', 'The pixel data is cut short: the file ends before its last frame. Fetch the file again.', where);
  if (el === undefined) {
    // An image module without any pixel data element: dicom-parser stops quietly when a file is cut between two
    // elements, so this is how a file that lost its pixel data shows up.
    const floatPixels = ds.elements['x7fe00008'] !== undefined || ds.elements['x7fe00009'] !== undefined;
    if (!floatPixels && meta.rows > 0 && meta.columns > 0 && meta.bitsAllocated > 0) {
      throw dicomError(
        'DICOM_TRUNCATED',
        'The file has image attributes (Rows, Columns, Bits Allocated) but ends before its Pixel Data: it was cut short. Fetch it again.',
        where,
      );
    }
    return;
  }
  if (el.encapsulatedPixelData) {
    if (ds.warnings.some((w) => /missing sequence delimiter/i.test(w))) throw truncated();
    for (const f of el.fragments ?? []) if (f.position + f.length > ds.byteArray.length) throw truncated();
    return;
  }
  if (el.dataOffset + el.length > ds.byteArray.length) throw truncated();
  const ts = TRANSFER_SYNTAXES[tsUid];
  if (ts !== undefined && ts.encoding === 'native' && meta.rows > 0 && meta.columns > 0) {
    const needed = nativePixelDataLength(meta, meta.numberOfFrames);
    if (needed > 0 && el.length < needed) throw truncated();
  }
}
