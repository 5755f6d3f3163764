import { LeptonError } from '@lepton/core';
import type { DataSet } from 'dicom-parser';
import type { DicomMetadata } from '../dicom/types.js';
import { TRANSFER_SYNTAXES, type TransferSyntax } from '../dicom/transfer-syntax.js';
import { dicomError } from '../dicom/errors.js';
import { encapsulatedFrame } from './fragments.js';
import { nativeBytes, nativeFrameLength, unpackBits } from './native.js';
import { decodeRle, decodeRlePlanes, rleSegments } from './rle.js';
import { mapRlePlanes, mapWords } from './modality-kernel.js';
import { decodeJpeg2000, decodeJpegBaseline, decodeJpegLossless, decodeJpegLs, type CodecOutput } from './codecs.js';
import { codecGeometry } from './codec-header.js';
import { storedPlanes, storedWords, type StoredFrame } from './stored-kernel.js';
import { decodeJpegExtended } from './jpeg-extended.js';
import { interleave, paletteToRgb, ybr422ToRgb, ybrFullToRgb } from './color.js';

import type { DecodedFrame, PixelArray } from './frame.js';

type Unsigned = Uint8Array | Uint16Array | Uint32Array;

/**
 * The largest decoded frame accepted. Native frames are bounded by the file itself and RLE frames by their segments
 * (rle.ts); compressed codecs can expand a few bytes into anything their header says, so the header must match the
 * attributes (codec-header.ts) and the attributes must stay below this.
 */
const MAX_FRAME_BYTES = 2 ** 30;

/**
 * The word size a big-endian native Pixel Data value was swapped in, which follows its VR as dcmtk writes it: OW in
 * 16-bit words (8-bit and 1-bit samples included), OL/OF in 32-bit words, OB not at all.
 */
function swapWordSize(vr: string | undefined, bitsAllocated: number): number {
  if (vr === 'OW') return 2;
  if (vr === 'OL' || vr === 'OF') return 4;
  if (vr === 'OB' || bitsAllocated <= 8) return 1;
  return bitsAllocated / 8;
}

function typedView(bytes: Uint8Array, bitsAllocated: number): Unsigned {
  // `bytes` is always a fresh copy starting at offset 0 here, so the views are aligned.
  if (bitsAllocated === 8) return bytes;
  if (bitsAllocated === 16) return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length >> 1);
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2);
}

/** Codec samples → a container of Bits Allocated (e.g. an 8-bit JPEG-LS stream inside a 16-bit image). */
function widen(samples: Uint8Array | Uint16Array, bitsAllocated: number, source?: string): Unsigned {
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
function toStoredValues(raw: Unsigned, bitsAllocated: number, bitsStored: number, highBit: number, signed: boolean): PixelArray {
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
function stored16(raw: Uint16Array, bitsStored: number, highBit: number, signed: boolean): { values: Uint16Array | Int16Array; min: number; max: number } {
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

function minMax(a: PixelArray): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return a.length === 0 ? [0, 0] : [min, max];
}

function checkSupported(meta: DicomMetadata, index: number, where: Record<string, unknown>): TransferSyntax {
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

/**
 * Decodes frame `index` of a parsed data set. See {@link DicomImage.decodeFrame}.
 * @internal
 */
export async function decodeFrame(ds: DataSet, meta: DicomMetadata, index: number, source: string | undefined): Promise<DecodedFrame> {
  const where = source === undefined ? {} : { source };
  const ts = checkSupported(meta, index, where);
  const el = ds.elements['x7fe00010']!;
  const { rows, columns, samplesPerPixel: spp, bitsAllocated: ba, photometricInterpretation: pi } = meta;
  const pixels = rows * columns;

  let raw: Unsigned;
  let planar = false;
  let colorConverted = false;
  if (ts.encoding === 'native') {
    if (el.encapsulatedPixelData) throw dicomError('DICOM_MALFORMED', 'Pixel data is encapsulated but the transfer syntax is native.', where);
    const value = ds.byteArray.subarray(el.dataOffset, el.dataOffset + el.length);
    const swap = ts.bigEndian ? swapWordSize(el.vr, ba) : 1;
    if (ba === 1) {
      if (Math.ceil(((index + 1) * pixels) / 8) > value.length) {
        throw dicomError('DICOM_TRUNCATED', `The pixel data ends before frame ${index}.`, { ...where, frame: index });
      }
      const photometric = pi === 'MONOCHROME1' ? 'MONOCHROME1' : 'MONOCHROME2';
      return { index, rows, columns, samplesPerPixel: 1, photometricInterpretation: photometric, pixels: unpackBits(value, index, pixels, swap), bitsStored: 1, signed: false, min: 0, max: 1 };
    }
    const length = nativeFrameLength(meta);
    const start = index * length;
    if (start + length > value.length) {
      throw dicomError('DICOM_TRUNCATED', `The pixel data ends before frame ${index}.`, { ...where, frame: index });
    }
    if (ba === 16 && spp === 1 && pi !== 'PALETTE COLOR' && swap <= 2) {
      // nearly every CT and MR slice: one copy into the SIMD kernel, one copy out (stored-kernel.ts)
      const fast = storedWords(value.subarray(start, start + length), swap === 2, pixels, meta.bitsStored, meta.highBit, meta.signed);
      if (fast !== undefined) return greyFrame(index, rows, columns, pi, meta, fast);
    }
    // A copy (never Buffer#slice, which is a view): swapping and masking below work in place.
    const bytes = nativeBytes(value, start, length, swap);
    if (spp === 3 && pi === 'YBR_FULL_422') {
      if (ba !== 8) throw dicomError('DICOM_UNSUPPORTED_PIXEL_FORMAT', 'YBR_FULL_422 with Bits Allocated other than 8 is not supported.', where);
      return finish(index, rows, columns, 3, 'RGB', ybr422ToRgb(bytes, rows, columns), 8, false);
    }
    raw = typedView(bytes, ba);
    planar = spp === 3 && meta.planarConfiguration === 1;
  } else {
    if (!el.encapsulatedPixelData) {
      throw dicomError('DICOM_MALFORMED', `Transfer syntax ${ts.name} requires encapsulated pixel data, but it is native.`, where);
    }
    const data = encapsulatedFrame(ds, el, ts.encoding, meta.numberOfFrames, index, source);
    if (ts.encoding === 'rle') {
      if (ba === 16 && spp === 1 && pi !== 'PALETTE COLOR') {
        // the byte planes are decoded with bulk copies and fills straight into the kernel's memory, then joined there
        rleSegments(data, 2, pixels, where); // before the kernel's memory grows to the frame's size
        const fast = storedPlanes(pixels, meta.bitsStored, meta.highBit, meta.signed, (planes) => decodeRlePlanes(data, pixels, planes, source));
        if (fast !== undefined) return greyFrame(index, rows, columns, pi, meta, fast);
      }
      raw = typedView(decodeRle(data, rows, columns, spp, ba, meta.planarConfiguration, source), ba);
      planar = spp === 3 && meta.planarConfiguration === 1;
    } else {
      // The frame's own header must agree with the attributes before a codec allocates what that header asks for.
      const header = codecGeometry(data, ts.encoding);
      if (header !== undefined && (header.width !== columns || (header.height !== 0 && header.height !== rows) || header.components !== spp)) {
        throw dicomError(
          'DICOM_DECODE_FAILED',
          `The compressed frame is ${header.width}×${header.height}×${header.components} but the attributes say ` +
            `${columns}×${rows}×${spp}: the file is inconsistent.`,
          { ...where, frame: index },
        );
      }
      let out: CodecOutput;
      switch (ts.encoding) {
        case 'jpeg-baseline':
          out = await decodeJpegBaseline(data, source);
          break;
        case 'jpeg-extended':
          // Process 2 (8-bit) is libjpeg-turbo's; Process 4 (12-bit) has no maintained WASM build, see jpeg-extended.ts
          out = header?.precision === 8 ? await decodeJpegBaseline(data, source) : decodeJpegExtended(data, source);
          break;
        case 'jpeg-lossless':
          out = decodeJpegLossless(data, ba, source);
          break;
        case 'jpeg-ls':
          out = await decodeJpegLs(data, source);
          break;
        default:
          out = await decodeJpeg2000(data, source);
      }
      if (out.width !== columns || out.height !== rows || out.components !== spp || out.samples.length < pixels * spp) {
        throw dicomError(
          'DICOM_DECODE_FAILED',
          `The compressed frame is ${out.width}×${out.height}×${out.components} but the attributes say ` +
            `${columns}×${rows}×${spp}: the file is inconsistent.`,
          { ...where, frame: index },
        );
      }
      raw = widen(out.samples.length > pixels * spp ? out.samples.subarray(0, pixels * spp) : out.samples, ba, source);
      planar = out.layout === 'planar';
      colorConverted = out.colorConverted;
    }
  }

  if (spp === 3) {
    let rgb = planar ? interleave(raw, pixels) : raw;
    const bitsStored = Math.min(meta.bitsStored, ba);
    rgb = toStoredValues(rgb, ba, meta.bitsStored, meta.highBit, false) as Unsigned;
    if ((pi === 'YBR_FULL' || pi === 'YBR_FULL_422') && !colorConverted) {
      if (rgb === raw) rgb = rgb.slice();
      ybrFullToRgb(rgb, bitsStored);
    }
    return finish(index, rows, columns, 3, 'RGB', rgb, bitsStored, false);
  }
  if (raw instanceof Uint16Array && pi !== 'PALETTE COLOR') {
    const { values, min, max } = stored16(raw, meta.bitsStored, meta.highBit, meta.signed);
    const photometric = pi === 'MONOCHROME1' ? 'MONOCHROME1' : 'MONOCHROME2';
    return { index, rows, columns, samplesPerPixel: 1, photometricInterpretation: photometric, pixels: values, bitsStored: Math.min(meta.bitsStored, ba), signed: meta.signed, min, max };
  }
  const values = toStoredValues(raw, ba, meta.bitsStored, meta.highBit, meta.signed);
  if (pi === 'PALETTE COLOR') {
    const { rgb, bits } = paletteToRgb(ds, values, meta.signed, source);
    return finish(index, rows, columns, 3, 'RGB', rgb, bits, false);
  }
  const photometric = pi === 'MONOCHROME1' ? 'MONOCHROME1' : 'MONOCHROME2';
  return finish(index, rows, columns, 1, photometric, values, Math.min(meta.bitsStored, ba), meta.signed);
}

function greyFrame(index: number, rows: number, columns: number, pi: string, meta: DicomMetadata, f: StoredFrame): DecodedFrame {
  const photometricInterpretation = pi === 'MONOCHROME1' ? 'MONOCHROME1' : 'MONOCHROME2';
  const bitsStored = Math.min(meta.bitsStored, 16);
  return { index, rows, columns, samplesPerPixel: 1, photometricInterpretation, pixels: f.values, bitsStored, signed: meta.signed, min: f.min, max: f.max };
}

function finish(
  index: number,
  rows: number,
  columns: number,
  samplesPerPixel: 1 | 3,
  photometricInterpretation: DecodedFrame['photometricInterpretation'],
  pixels: PixelArray,
  bitsStored: number,
  signed: boolean,
): DecodedFrame {
  const [min, max] = minMax(pixels);
  return { index, rows, columns, samplesPerPixel, photometricInterpretation, pixels, bitsStored, signed, min, max };
}

/**
 * @internal Modality values (HU for CT) of a greyscale frame in one pass, into `out` when given (reused buffers make
 * series decoding allocation-free). Fast path for 16-bit greyscale native (either byte order) and RLE frames with rescale
 * slope/intercept: the frame's words (or the RLE byte planes) are mapped through a 65,536-entry table of modality values
 * (masking, sign extension and rescale precomputed) by a small WebAssembly loop (modality-kernel.ts). Every other frame
 * goes through {@link decodeFrame} and the modality LUT.
 */
export async function decodeModalityFrame(ds: DataSet, meta: DicomMetadata, index: number, source: string | undefined, out?: Float32Array): Promise<Float32Array | undefined> {
  const where = source === undefined ? {} : { source };
  const ts = checkSupported(meta, index, where);
  const { rows, columns, samplesPerPixel: spp, bitsAllocated: ba, photometricInterpretation: pi } = meta;
  const pixels = rows * columns;
  if (out !== undefined && out.length !== pixels) throw new LeptonError('INVALID_ARGUMENT', `The output buffer holds ${out.length} values; the frame has ${pixels}.`);
  const grey = spp === 1 && ba === 16 && (pi === 'MONOCHROME1' || pi === 'MONOCHROME2') && meta.modalityLut === undefined;
  if (!grey || !(ts.encoding === 'native' || ts.encoding === 'rle')) return undefined;
  const el = ds.elements['x7fe00010']!;
  const shift = Math.max(0, meta.highBit + 1 - meta.bitsStored);
  const bs = Math.min(meta.bitsStored, 16);
  const mask = (1 << bs) - 1;
  const signBit = meta.signed ? 1 << (bs - 1) : 1 << 16; // unsigned values never reach it
  const range = 1 << bs;
  const rescale = { shift, mask, signBit, range, slope: meta.rescale?.slope ?? 1, intercept: meta.rescale?.intercept ?? 0 };
  if (ts.encoding === 'native') {
    if (el.encapsulatedPixelData) throw dicomError('DICOM_MALFORMED', 'Pixel data is encapsulated but the transfer syntax is native.', where);
    const length = nativeFrameLength(meta);
    const start = el.dataOffset + index * length;
    if (start + length > el.dataOffset + el.length) throw dicomError('DICOM_TRUNCATED', `The pixel data ends before frame ${index}.`, { ...where, frame: index });
    const dst = out ?? new Float32Array(pixels);
    mapWords(ds.byteArray.subarray(start, start + length), ts.bigEndian, pixels, rescale, dst);
    return dst;
  }
  if (!el.encapsulatedPixelData) throw dicomError('DICOM_MALFORMED', `Transfer syntax ${ts.name} requires encapsulated pixel data, but it is native.`, where);
  const data = encapsulatedFrame(ds, el, ts.encoding, meta.numberOfFrames, index, source);
  rleSegments(data, 2, pixels, where); // before the kernel's memory grows to the frame's size
  const dst = out ?? new Float32Array(pixels);
  mapRlePlanes(pixels, rescale, dst, (planes) => decodeRlePlanes(data, pixels, planes, source));
  return dst;
}
