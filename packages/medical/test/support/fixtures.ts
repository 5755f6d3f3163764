// Test helpers: fixture paths, reference files written by test/fixtures/make_fixtures.sh, and comparisons.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DecodedFrame } from '@lepton/medical';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
export const dicomPath = (name: string): string => join(FIXTURES, 'dicom', `${name}.dcm`);
export const readFixture = (name: string): Uint8Array => new Uint8Array(readFileSync(dicomPath(name)));
export const refBytes = (file: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, 'ref', file)));

/** All frames' pixel bytes, concatenated (little endian, as the toolkit references are). */
export function frameBytes(frames: readonly DecodedFrame[]): Uint8Array {
  return concatBytes(frames.map((f) => new Uint8Array(f.pixels.buffer, f.pixels.byteOffset, f.pixels.byteLength)));
}

/** Byte arrays joined end to end into one new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

type Sample = 'u8' | 'i8' | 'i16' | 'u16' | 'i32' | 'u32';

/** Reads little-endian bytes as numbers. */
export function samples(bytes: Uint8Array, type: Sample): number[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = type === 'u8' || type === 'i8' ? 1 : type === 'i16' || type === 'u16' ? 2 : 4;
  const out: number[] = [];
  for (let i = 0; i + size <= bytes.length; i += size) {
    out.push(
      type === 'u8'
        ? v.getUint8(i)
        : type === 'i8'
          ? v.getInt8(i)
          : type === 'i16'
          ? v.getInt16(i, true)
          : type === 'u16'
            ? v.getUint16(i, true)
            : type === 'i32'
              ? v.getInt32(i, true)
              : v.getUint32(i, true),
    );
  }
  return out;
}

/** Number of differing positions and the largest absolute difference. */
export function compare(a: ArrayLike<number>, b: ArrayLike<number>): { length: [number, number]; differing: number; maxAbs: number } {
  let differing = 0;
  let maxAbs = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d > 0) differing++;
    if (d > maxAbs) maxAbs = d;
  }
  return { length: [a.length, b.length], differing, maxAbs };
}

/** Parses a binary (P5/P6, maxval ≤ 255) PGM/PPM as written by dcm2pnm. */
export function readPnm(file: string): { width: number; height: number; channels: number; data: Uint8Array } {
  const bytes = refBytes(file);
  let pos = 0;
  const token = (): string => {
    for (;;) {
      while (pos < bytes.length && /\s/.test(String.fromCharCode(bytes[pos]!))) pos++;
      if (bytes[pos] !== 0x23) break; // '#' comment
      while (pos < bytes.length && bytes[pos] !== 0x0a) pos++;
    }
    let t = '';
    while (pos < bytes.length && !/\s/.test(String.fromCharCode(bytes[pos]!))) t += String.fromCharCode(bytes[pos++]!);
    return t;
  };
  const magic = token();
  const width = Number(token());
  const height = Number(token());
  const maxval = Number(token());
  pos++; // the single whitespace after maxval
  if ((magic !== 'P5' && magic !== 'P6') || maxval > 255) throw new Error(`${file}: unsupported PNM ${magic} ${maxval}`);
  const channels = magic === 'P6' ? 3 : 1;
  return { width, height, channels, data: bytes.subarray(pos, pos + width * height * channels) };
}
