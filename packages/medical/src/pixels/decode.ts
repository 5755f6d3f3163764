import type { DataSet } from 'dicom-parser';
import type { DicomMetadata } from '../dicom/types.js';
import { dicomError } from '../dicom/errors.js';
import { encapsulatedFrame } from './fragments.js';
import { nativeBytes, nativeFrameLength, unpackBits } from './native.js';
import { decodeRle, decodeRlePlanes, rleSegments } from './rle.js';
import { decodeJpeg2000, decodeJpegBaseline, decodeJpegLossless, decodeJpegLs, type CodecOutput } from './codecs.js';
import { codecGeometry } from './codec-header.js';
import { storedPlanes, storedWords, type StoredFrame } from './stored-kernel.js';
import { decodeJpegExtended } from './jpeg-extended.js';
import { interleave, paletteToRgb, ybr422ToRgb, ybrFullToRgb } from './color.js';
import { minMax, stored16, toStoredValues, typedView, widen, type Unsigned } from './stored.js';
import { checkSupported } from './supported.js';
import type { DecodedFrame, PixelArray } from './frame.js';

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
