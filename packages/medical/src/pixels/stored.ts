import { dicomError } from '../dicom/errors.js';
import type { PixelArray } from './frame.js';

// Stored values from a frame's samples in JavaScript: the typed view of Bits Allocated, widening codec output to it,
// masking to Bits Stored and sign extension, and the range. The SIMD kernel (stored-kernel.ts) does the same for
// 16-bit greyscale; these handle every other layout, and 16-bit where WebAssembly SIMD is missing. All internal.

/** The unsigned container of a sample before masking and sign extension. @internal */
export type Unsigned = Uint8Array | Uint16Array | Uint32Array;

/** A fresh copy's bytes as samples of Bits Allocated. @internal */
export function typedView(bytes: Uint8Array, bitsAllocated: number): Unsigned {
  // `bytes` is always a fresh copy starting at offset 0 here, so the views are aligned.
  if (bitsAllocated === 8) return bytes;
  if (bitsAllocated === 16) return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length >> 1);
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2);
}

/** Codec samples → a container of Bits Allocated (e.g. an 8-bit JPEG-LS stream inside a 16-bit image). */
export function widen(samples: Uint8Array | Uint16Array, bitsAllocated: number, source?: string): Unsigned {
  const bytes = samples.BYTES_PER_ELEMENT * 8;
  if (bytes === bitsAllocated) return samples;
  if (bytes > bitsAllocated) {
    throw dicomError(
      'DICOM_DECODE_FAILED',
      `The codec returned ${bytes}-bit samples for an image with Bits Allocated ${bitsAllocated}: the attributes and the ` +
        'compressed data disagree.',
      source === undefined ? {} : { source },
    );
  }
  const out = bitsAllocated === 16 ? new Uint16Array(samples.length) : new Uint32Array(samples.length);
  out.set(samples);
  return out;
}

/**
 * Masks to Bits Stored (after shifting High Bit down, for the rare files whose High Bit is not Bits Stored - 1) and
 * sign-extends. Skipping this for "BitsStored < BitsAllocated" files leaves overlay bits or junk in the high bits and
 * turns -5 HU stored in 12 bits into +4091.
 */
export function toStoredValues(raw: Unsigned, bitsAllocated: number, bitsStored: number, highBit: number, signed: boolean): PixelArray {
  const shift = Math.max(0, highBit + 1 - bitsStored);
  const bs = Math.min(bitsStored, bitsAllocated);
  if (bs === bitsAllocated && shift === 0) {
    if (!signed) return raw;
    if (raw instanceof Uint8Array) return new Int8Array(raw.buffer, raw.byteOffset, raw.length);
    if (raw instanceof Uint16Array) return new Int16Array(raw.buffer, raw.byteOffset, raw.length);
    return new Int32Array(raw.buffer, raw.byteOffset, raw.length);
  }
  const mask = bs >= 32 ? 0xffffffff : 2 ** bs - 1;
  const signBit = 2 ** (bs - 1);
  const range = 2 ** bs;
  const out: PixelArray = !signed
    ? raw
    : bitsAllocated === 8
      ? new Int8Array(raw.length)
      : bitsAllocated === 16
        ? new Int16Array(raw.length)
        : new Int32Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    let v = ((raw[i]! >>> shift) & mask) >>> 0;
    if (signed && v >= signBit) v -= range;
    out[i] = v;
  }
  return out;
}

/**
 * 16-bit greyscale — nearly every CT and MR image — in one pass: shift/mask to Bits Stored, sign-extend, min and max,
 * in place (as the unsigned branch of toStoredValues already works). It exists for speed: the generic loops below read
 * a `PixelArray` union, and once a process has seen several typed-array kinds V8 makes those element reads megamorphic
 * (about 7× slower, measured on 512×512 slices). Keep this function's arrays to one kind each, or that is lost.
 */
export function stored16(raw: Uint16Array, bitsStored: number, highBit: number, signed: boolean): { values: Uint16Array | Int16Array; min: number; max: number } {
  const shift = Math.max(0, highBit + 1 - bitsStored);
  const bs = Math.min(bitsStored, 16);
  const mask = (1 << bs) - 1;
  const n = raw.length;
  let min = 0;
  let max = 0;
  if (!signed) {
    if (n > 0) min = max = (raw[0]! >>> shift) & mask;
    for (let i = 0; i < n; i++) {
      const v = (raw[i]! >>> shift) & mask;
      raw[i] = v;
      if (v < min) min = v;
      else if (v > max) max = v;
    }
    return { values: raw, min, max };
  }
  const out = new Int16Array(raw.buffer, raw.byteOffset, n);
  const signBit = 1 << (bs - 1);
  const range = 1 << bs;
  for (let i = 0; i < n; i++) {
    let v = (raw[i]! >>> shift) & mask;
    if (v >= signBit) v -= range;
    out[i] = v;
    if (i === 0) min = max = v;
    else if (v < min) min = v;
    else if (v > max) max = v;
  }
  return { values: out, min, max };
}

export function minMax(a: PixelArray): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return a.length === 0 ? [0, 0] : [min, max];
}
