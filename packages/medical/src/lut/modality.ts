import { describeValue, LeptonError } from '@lepton/core';
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
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for colour frames, which have no modality LUT, a frame
 *   without integer pixels, metadata that is not an object or whose rescale is not finite or maps the frame's stored
 *   value range beyond the float32 range (the output would hold Infinity), or an `out` that is not a Float32Array of
 *   the frame's size
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
  checkFrame(frame);
  if (typeof meta !== 'object' || meta === null) throw new LeptonError('INVALID_ARGUMENT', `Expected an image's metadata (DicomImage.meta), got ${describeValue(meta)}.`);
  const slope: unknown = meta.rescale?.slope ?? 1;
  const intercept: unknown = meta.rescale?.intercept ?? 0;
  if (typeof slope !== 'number' || !Number.isFinite(slope) || typeof intercept !== 'number' || !Number.isFinite(intercept)) {
    throw new LeptonError('INVALID_ARGUMENT', `The rescale slope and intercept must be finite numbers, got ${describeValue(slope)} and ${describeValue(intercept)}.`);
  }
  if (frame.samplesPerPixel !== 1) {
    throw new LeptonError('INVALID_ARGUMENT', 'The modality LUT applies to greyscale frames only; this frame is RGB.');
  }
  const { pixels } = frame;
  if (out !== undefined && !(out instanceof Float32Array && out.length === pixels.length)) {
    throw new LeptonError('INVALID_ARGUMENT', `The output buffer must be a Float32Array of ${pixels.length} values (the frame's), got ${out instanceof Float32Array ? `${out.length} values` : describeValue(out)}.`);
  }
  const table = meta.modalityLut;
  if (table === undefined && rescaleOverflows(slope, intercept, frame.bitsStored, SIGNED_ARRAYS.some((T) => pixels instanceof T))) {
    throw new LeptonError(
      'INVALID_ARGUMENT',
      `Rescale slope ${slope} and intercept ${intercept} map this frame's ${frame.bitsStored}-bit stored values beyond the float32 range (±3.4e38), so no modality value can be represented; the image's rescale attributes are wrong (see DicomImage.issues).`,
    );
  }
  out ??= new Float32Array(pixels.length);
  if (table !== undefined) {
    for (let i = 0; i < pixels.length; i++) out[i] = lookup(table, pixels[i]!);
    return out;
  }
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

const PIXEL_ARRAYS = [Uint8Array, Int8Array, Uint16Array, Int16Array, Uint32Array, Int32Array];

/** The largest finite float32: modality values beyond it become Infinity in a Float32Array. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Does `slope · v + intercept` leave the float32 range for some stored value `v` of `bitsStored` bits (signed or
 * not)? The map is linear, so the two ends of the stored range decide. A Bits Stored outside 1–32 (absent or broken
 * metadata) is taken as 32, the widest. Never drop this check: a file with Rescale Slope 1e308 otherwise yields
 * Infinity modality values (HU), which flow silently into volumes and models.
 * @internal
 */
export function rescaleOverflows(slope: number, intercept: number, bitsStored: number, signed: boolean): boolean {
  const bits = Number.isInteger(bitsStored) && bitsStored >= 1 && bitsStored <= 32 ? bitsStored : 32;
  const lo = signed ? -(2 ** (bits - 1)) : 0;
  const hi = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  return ![slope * lo + intercept, slope * hi + intercept].every((v) => Math.abs(v) <= FLOAT32_MAX);
}

const SIGNED_ARRAYS = [Int8Array, Int16Array, Int32Array];

/** @internal A decoded frame from a JavaScript caller: an object with the pixel array the reader gives. */
export function checkFrame(frame: unknown): asserts frame is DecodedFrame {
  const pixels: unknown = typeof frame === 'object' && frame !== null ? (frame as DecodedFrame).pixels : undefined;
  const bits: unknown = typeof frame === 'object' && frame !== null ? (frame as DecodedFrame).bitsStored : undefined;
  if (!PIXEL_ARRAYS.some((T) => pixels instanceof T) || typeof bits !== 'number' || !Number.isInteger(bits) || bits < 1 || bits > 32) {
    throw new LeptonError('INVALID_ARGUMENT', `Expected a decoded frame (from DicomImage.decodeFrame: integer pixels, bitsStored 1–32), got ${describeValue(frame)}.`);
  }
}
