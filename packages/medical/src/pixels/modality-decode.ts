import { LeptonError } from '@lepton/core';
import type { DataSet } from 'dicom-parser';
import type { DicomMetadata } from '../dicom/types.js';
import { dicomError } from '../dicom/errors.js';
import { encapsulatedFrame } from './fragments.js';
import { nativeFrameLength } from './native.js';
import { decodeRlePlanes, rleSegments } from './rle.js';
import { mapRlePlanes, mapWords } from './modality-kernel.js';
import { checkSupported } from './supported.js';

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
