import type { DicomMetadata } from '../dicom/types.js';
import { TRANSFER_SYNTAXES, type TransferSyntax } from '../dicom/transfer-syntax.js';
import { dicomError } from '../dicom/errors.js';

/**
 * The largest decoded frame accepted. Native frames are bounded by the file itself and RLE frames by their segments
 * (rle.ts); compressed codecs can expand a few bytes into anything their header says, so the header must match the
 * attributes (codec-header.ts) and the attributes must stay below this.
 */
const MAX_FRAME_BYTES = 2 ** 30;

/**
 * Checks that frame `index` of this instance can be decoded at all, before anything is read or allocated.
 * @returns the transfer syntax
 * @internal
 */
export function checkSupported(meta: DicomMetadata, index: number, where: Record<string, unknown>): TransferSyntax {
  if (!meta.hasPixelData) throw dicomError('DICOM_NO_PIXEL_DATA', 'This DICOM instance has no Pixel Data (7FE0,0010) to decode.', where);
  if (!Number.isInteger(index) || index < 0 || index >= meta.numberOfFrames) {
    throw dicomError(
      'DICOM_FRAME_OUT_OF_RANGE',
      `Frame ${index} does not exist: this image has ${meta.numberOfFrames} frame(s), indexed from 0.`,
      { ...where, frames: meta.numberOfFrames },
    );
  }
  const ts = TRANSFER_SYNTAXES[meta.transferSyntaxUid];
  if (ts === undefined) {
    throw dicomError(
      'DICOM_UNSUPPORTED_TRANSFER_SYNTAX',
      `Pixel data in transfer syntax ${meta.transferSyntaxUid} cannot be decoded; supported: ` +
        `${Object.values(TRANSFER_SYNTAXES)
          .map((t) => t.name)
          .join(', ')}. Transcode the file (e.g. \`gdcmconv --raw\`).`,
      { ...where, transferSyntaxUid: meta.transferSyntaxUid },
    );
  }
  const unsupported = (what: string): never => {
    throw dicomError('DICOM_UNSUPPORTED_PIXEL_FORMAT', `${what} is not supported.`, {
      ...where,
      bitsAllocated: meta.bitsAllocated,
      samplesPerPixel: meta.samplesPerPixel,
      photometricInterpretation: meta.photometricInterpretation,
    });
  };
  if (meta.rows <= 0 || meta.columns <= 0) unsupported('An image with no Rows/Columns');
  const bounded = ts.encoding === 'native' || ts.encoding === 'rle'; // by the file's bytes, by the RLE segments
  if (!bounded && meta.rows * meta.columns * meta.samplesPerPixel * Math.ceil(meta.bitsAllocated / 8) > MAX_FRAME_BYTES) {
    unsupported(`A frame of ${meta.rows}×${meta.columns}×${meta.samplesPerPixel} samples (over ${MAX_FRAME_BYTES / 2 ** 30} GiB decoded)`);
  }
  if (![1, 8, 16, 32].includes(meta.bitsAllocated)) unsupported(`Bits Allocated ${meta.bitsAllocated} (1, 8, 16 and 32 are)`);
  if (meta.bitsAllocated === 1 && (ts.encoding !== 'native' || meta.samplesPerPixel !== 1)) {
    unsupported('Bits Allocated 1 other than in uncompressed greyscale (e.g. Segmentation) pixel data');
  }
  if (meta.bitsStored < 1 || meta.bitsStored > meta.bitsAllocated || meta.highBit < meta.bitsStored - 1 || meta.highBit >= meta.bitsAllocated) {
    throw dicomError(
      'DICOM_MALFORMED',
      `Bits Stored ${meta.bitsStored} and High Bit ${meta.highBit} do not fit Bits Allocated ${meta.bitsAllocated} (PS3.3 C.7.6.3.1.1). ` +
        'Re-export the file.',
      where,
    );
  }
  if (meta.samplesPerPixel !== 1 && meta.samplesPerPixel !== 3) unsupported(`Samples per Pixel ${meta.samplesPerPixel}`);
  if (meta.samplesPerPixel === 3 && !['RGB', 'YBR_FULL', 'YBR_FULL_422', 'YBR_RCT', 'YBR_ICT'].includes(meta.photometricInterpretation)) {
    unsupported(`Photometric Interpretation ${meta.photometricInterpretation}`);
  }
  return ts;
}
