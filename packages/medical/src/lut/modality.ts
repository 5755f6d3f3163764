import { LeptonError } from '@lepton/core';
import type { DicomMetadata } from '../dicom/types.js';
import type { DecodedFrame } from '../pixels/frame.js';
import { lookup } from './lookup-table.js';

/**
 * Applies the Modality LUT (PS3.3 C.11.1): the Modality LUT Sequence table when the file has one, otherwise Rescale
 * Slope/Intercept (identity when neither is present). For CT the result is in Hounsfield units.
 *
 * @param frame - a greyscale frame from {@link DicomImage.decodeFrame}
 * @param meta - the image's metadata (where the rescale or table comes from)
 * @param out - optional buffer of `rows × columns` values to write into (reuse it across a series to avoid allocations)
 * @returns one modality value per pixel (`out` when given)
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for colour frames, which have no modality LUT
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { readDicom, applyModalityLut } from '@lepton/medical';
 * const image = readDicom(readFileSync('packages/medical/test/fixtures/dicom/ct_u12.dcm'));
 * const hu = applyModalityLut(await image.decodeFrame(0), image.meta); // stored + (-1024)
 * console.log(Math.min(...hu) >= -1024); // true
 * ```
 */
export function applyModalityLut(frame: DecodedFrame, meta: DicomMetadata, out?: Float32Array): Float32Array {
  if (frame.samplesPerPixel !== 1) {
    throw new LeptonError('INVALID_ARGUMENT', 'The modality LUT applies to greyscale frames only; this frame is RGB.');
  }
  const { pixels } = frame;
  if (out !== undefined && out.length !== pixels.length) throw new LeptonError('INVALID_ARGUMENT', `The output buffer holds ${out.length} values; the frame has ${pixels.length}.`);
  out ??= new Float32Array(pixels.length);
  const table = meta.modalityLut;
  if (table !== undefined) {
    for (let i = 0; i < pixels.length; i++) out[i] = lookup(table, pixels[i]!);
    return out;
  }
  const slope = meta.rescale?.slope ?? 1;
  const intercept = meta.rescale?.intercept ?? 0;
  if (pixels.BYTES_PER_ELEMENT <= 2) {
    // Up to 16-bit values are exact in float32, so converting first (a native copy) and rescaling in place gives the
    // same numbers, and the loop then reads one array kind only: a loop over the `pixels` union goes megamorphic in
    // V8 once a process has decoded several pixel formats, several times slower on a 512×512 slice.
    out.set(pixels);
    if (slope !== 1 || intercept !== 0) for (let i = 0; i < out.length; i++) out[i] = out[i]! * slope + intercept;
    return out;
  }
  for (let i = 0; i < pixels.length; i++) out[i] = pixels[i]! * slope + intercept;
  return out;
}
