import type { DataSet } from 'dicom-parser';
import { dicomError } from '../dicom/errors.js';
import { usAt } from '../dicom/values.js';

type Unsigned = Uint8Array | Uint16Array | Uint32Array;

/** RR…GG…BB… → RGBRGB…, into a new array of the same type. @internal */
export function interleave<T extends Unsigned>(planar: T, pixels: number): T {
  const out = new (planar.constructor as new (n: number) => T)(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    out[3 * i] = planar[i]!;
    out[3 * i + 1] = planar[pixels + i]!;
    out[3 * i + 2] = planar[2 * pixels + i]!;
  }
  return out;
}

/**
 * YBR_FULL → RGB in place, by the full-range ITU-R BT.601 equations of PS3.3 C.7.6.3.1.2, rounded and clamped.
 * @internal
 */
export function ybrFullToRgb(samples: Unsigned, bitsStored: number): void {
  const max = 2 ** bitsStored - 1;
  const mid = 2 ** (bitsStored - 1);
  for (let i = 0; i + 2 < samples.length; i += 3) {
    const y = samples[i]!;
    const cb = samples[i + 1]! - mid;
    const cr = samples[i + 2]! - mid;
    samples[i] = clamp(Math.round(y + 1.402 * cr), max);
    samples[i + 1] = clamp(Math.round(y - 0.344136 * cb - 0.714136 * cr), max);
    samples[i + 2] = clamp(Math.round(y + 1.772 * cb), max);
  }
}

const clamp = (v: number, max: number): number => (v < 0 ? 0 : v > max ? max : v);

/**
 * Native YBR_FULL_422 (Y1 Y2 Cb Cr per horizontal pixel pair, 8-bit) → interleaved RGB. Chroma is repeated for both
 * pixels of the pair (no interpolation), as dcmtk does, so results match its rendering.
 * @internal
 */
export function ybr422ToRgb(packed: Uint8Array, rows: number, columns: number): Uint8Array {
  const out = new Uint8Array(rows * columns * 3);
  let src = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c += 2) {
      const y1 = packed[src++]!;
      const y2 = packed[src++]!;
      const cb = packed[src++]!;
      const cr = packed[src++]!;
      const o = (r * columns + c) * 3;
      out[o] = y1;
      out[o + 1] = cb;
      out[o + 2] = cr;
      if (c + 1 < columns) {
        out[o + 3] = y2;
        out[o + 4] = cb;
        out[o + 5] = cr;
      }
    }
  }
  ybrFullToRgb(out, 8);
  return out;
}

interface PaletteChannel {
  readonly first: number;
  readonly data: Uint16Array;
}

function readPaletteChannel(ds: DataSet, descriptorTag: string, dataTag: string, signed: boolean, source?: string): { channel: PaletteChannel; bits: number } {
  const where = source === undefined ? {} : { source };
  if (ds.elements[descriptorTag] === undefined) {
    throw dicomError('DICOM_MALFORMED', 'A PALETTE COLOR image lacks its palette descriptors (0028,1101-1103).', where);
  }
  const el = ds.elements[dataTag];
  if (el === undefined) {
    const segmented = ds.elements['x00281221'] !== undefined;
    throw dicomError(
      segmented ? 'DICOM_UNSUPPORTED_PIXEL_FORMAT' : 'DICOM_MALFORMED',
      segmented
        ? 'Segmented palette colour tables are not supported yet; convert the file with `dcmconv` or `gdcmconv -P RGB`.'
        : 'A PALETTE COLOR image lacks its palette data (0028,1201-1203).',
      where,
    );
  }
  const entriesRaw = usAt(ds, descriptorTag, 0) ?? 0;
  const entries = entriesRaw === 0 ? 65536 : entriesRaw;
  const firstRaw = usAt(ds, descriptorTag, 1) ?? 0;
  const first = signed && firstRaw > 0x7fff ? firstRaw - 0x10000 : firstRaw;
  const bits = usAt(ds, descriptorTag, 2) ?? 16;
  if (bits !== 8 && bits !== 16) {
    // PS3.3 C.7.6.3.1.5: palette entries are 8 or 16 bits; anything else would give a frame outside its own contract
    throw dicomError('DICOM_MALFORMED', `A PALETTE COLOR descriptor (0028,1101-1103) gives ${bits} bits per entry; DICOM allows 8 or 16.`, { ...where, bits });
  }
  if (el.dataOffset + el.length > ds.byteArray.length || el.length < (bits <= 8 && el.length === entries ? entries : 2 * entries)) {
    throw dicomError('DICOM_MALFORMED', 'A PALETTE COLOR table holds fewer entries than its descriptor (0028,1101-1103) says.', where);
  }
  const data = new Uint16Array(entries);
  if (bits <= 8 && el.length === entries) {
    for (let i = 0; i < entries; i++) data[i] = ds.byteArray[el.dataOffset + i]!;
  } else {
    let wide = false;
    for (let i = 0; i < entries; i++) {
      const v = ds.uint16(dataTag, i) ?? 0;
      data[i] = v;
      if (v > 255) wide = true;
    }
    // 8-bit entries stored one per 16-bit word sometimes sit in the high byte.
    if (bits <= 8 && wide) for (let i = 0; i < entries; i++) data[i] = data[i]! >> 8;
  }
  return { channel: { first, data }, bits };
}

/**
 * PALETTE COLOR indices → interleaved RGB through the red, green and blue tables (indices outside a table clamp to
 * its ends). The result keeps the tables' precision: 16-bit tables give a Uint16Array.
 * @internal
 */
export function paletteToRgb(ds: DataSet, indices: ArrayLike<number>, signed: boolean, source?: string): { rgb: Uint8Array | Uint16Array; bits: number } {
  const r = readPaletteChannel(ds, 'x00281101', 'x00281201', signed, source);
  const g = readPaletteChannel(ds, 'x00281102', 'x00281202', signed, source);
  const b = readPaletteChannel(ds, 'x00281103', 'x00281203', signed, source);
  const bits = Math.max(r.bits, g.bits, b.bits);
  const out = bits > 8 ? new Uint16Array(indices.length * 3) : new Uint8Array(indices.length * 3);
  const look = (c: PaletteChannel, v: number): number => {
    let i = v - c.first;
    if (i < 0) i = 0;
    else if (i >= c.data.length) i = c.data.length - 1;
    return c.data[i]!;
  };
  for (let i = 0; i < indices.length; i++) {
    const v = indices[i]!;
    out[3 * i] = look(r.channel, v);
    out[3 * i + 1] = look(g.channel, v);
    out[3 * i + 2] = look(b.channel, v);
  }
  return { rgb: out, bits };
}
