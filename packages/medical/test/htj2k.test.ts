// HTJ2K (High-Throughput JPEG 2000) decoding through OpenJPEG, against an independent encoder and decoder: OpenJPH,
// the HTJ2K reference implementation (@cornerstonejs/codec-openjph, a devDependency used only by tests and fixture
// scripts). Images of every bit depth and sign are encoded at test time and must decode to exactly their input; lossy
// ones must agree with OpenJPH's own decoder. The committed fixtures (decode.test.ts) cover the DICOM side.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDicom, seededRandom } from '@lepton/medical';
import openjphFactory from '@cornerstonejs/codec-openjph';
import { decodeJpeg2000 } from '../src/pixels/codecs.js';
import { readFixture, refBytes } from './support/fixtures.js';

interface FrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned: boolean;
  isUsingColorTransform: boolean;
}

interface OpenJph {
  HTJ2KEncoder: new () => {
    getDecodedBuffer(info: FrameInfo): Uint8Array;
    setQuality(lossless: boolean, step: number): void;
    setProgressionOrder(order: number): void;
    encode(): void;
    getEncodedBuffer(): Uint8Array;
    delete(): void;
  };
  HTJ2KDecoder: new () => {
    getEncodedBuffer(length: number): Uint8Array;
    decode(): void;
    getDecodedBuffer(): Uint8Array;
    delete(): void;
  };
}

const openjph = (): Promise<OpenJph> => (openjphFactory as unknown as (m: object) => Promise<OpenJph>)({ print() {}, printErr() {} });

/**
 * One frame through OpenJPH. Its encoder reads samples of 8 bits or fewer as unsigned bytes, so signed ones are given
 * shifted up by 2^(p−1) as unsigned samples — which the encoder codes as the values themselves (its DC level shift takes
 * 2^(p−1) off again) — and the codestream's components are then marked signed (SIZ Ssiz bit 7): a conforming signed
 * codestream of exactly `values`.
 */
function encode(codec: OpenJph, info: FrameInfo, values: number[], order: number, lossless = true, step = 0): Uint8Array {
  const bits = info.bitsPerSample;
  const shifted = info.isSigned && bits <= 8;
  const input = bits > 8 ? (info.isSigned ? Int16Array.from(values) : Uint16Array.from(values)) : Uint8Array.from(values, (v) => (shifted ? v + 2 ** (bits - 1) : v));
  const encoder = new codec.HTJ2KEncoder();
  try {
    encoder.getDecodedBuffer({ ...info, isSigned: info.isSigned && !shifted }).set(new Uint8Array(input.buffer));
    encoder.setQuality(lossless, step);
    encoder.setProgressionOrder(order);
    encoder.encode();
    const stream = new Uint8Array(encoder.getEncodedBuffer());
    if (shifted) for (let c = 0; c < info.componentCount; c++) stream[42 + 3 * c]! |= 0x80;
    return stream;
  } finally {
    encoder.delete();
  }
}

/** The decoded samples as numbers, read as the component's sign and width. */
function decodedValues(samples: Uint8Array | Uint16Array, info: FrameInfo, count: number): number[] {
  const wide = info.bitsPerSample > 8;
  const view = wide ? (info.isSigned ? new Int16Array(samples.buffer, samples.byteOffset, count) : samples) : info.isSigned ? new Int8Array(samples.buffer, samples.byteOffset, count) : samples;
  return Array.from(view.subarray(0, count));
}

describe('HTJ2K decodes what OpenJPH encodes', () => {
  // RGB of more than 8 bits is not encoded here: this OpenJPH build cannot round-trip it itself (its own decoder and
  // OpenJPEG's opj_decompress agree on a codestream that differs from the input: an encoder input-layout issue). Those
  // codestreams come from Debian's OpenJPH tools instead (the next test).
  it('lossless: every bit depth 1–16 unsigned, 2–16 signed, 2–8-bit colour, every progression order, exactly', async () => {
    const codec = await openjph();
    const rand = seededRandom(201);
    const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
    const cases: Array<[bits: number, signed: boolean, components: number]> = [];
    for (let bits = 1; bits <= 16; bits++) cases.push([bits, false, 1]);
    for (let bits = 2; bits <= 16; bits++) cases.push([bits, true, 1]);
    for (let bits = 2; bits <= 8; bits++) cases.push([bits, false, 3]);
    for (const [n, [bits, signed, components]] of cases.entries()) {
      const info: FrameInfo = { width: int(1, 70), height: int(1, 50), bitsPerSample: bits, componentCount: components, isSigned: signed, isUsingColorTransform: components === 3 };
      const count = info.width * info.height * components;
      const lo = signed ? -(2 ** (bits - 1)) : 0;
      const hi = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
      // smooth ramps plus noise, and the extreme values somewhere, so every bit plane and the sign are exercised
      const values = Array.from({ length: count }, (_, i) => Math.min(hi, Math.max(lo, Math.round(lo + ((hi - lo) * (i % 97)) / 96 + (rand() - 0.5) * 4))) + 0); // + 0: no -0
      values[0] = lo;
      values[count - 1] = hi;
      const out = await decodeJpeg2000(encode(codec, info, values, n % 5), `case ${n}`); // LRCP, RLCP, RPCL, PCRL, CPRL
      const label = { n, ...info };
      expect({ ...label, width: out.width, height: out.height, componentCount: out.components }).toEqual(label);
      expect({ ...label, values: decodedValues(out.samples, info, count) }).toEqual({ ...label, values });
    }
  });

  it('RGB of 10, 12 and 16 bits (reversible colour transform) decodes exactly to the image encoded', async () => {
    // fixtures/make_htj2k_rgb_fixtures.sh: seeded PPM images encoded by Debian's ojph_compress (openjph-tools 0.9.0),
    // each codestream checked there against OpenJPEG's opj_decompress
    for (const bits of [10, 12, 16]) {
      const ppm = readFileSync(join(import.meta.dirname, 'fixtures', 'htj2k-rgb', `rgb${bits}.ppm`));
      const header = ppm.indexOf(0x0a, ppm.indexOf(0x0a, ppm.indexOf(0x0a) + 1) + 1) + 1; // P6, size, maximum
      const want = Array.from({ length: (ppm.length - header) / 2 }, (_, i) => ppm.readUInt16BE(header + 2 * i));
      const out = await decodeJpeg2000(new Uint8Array(readFileSync(join(import.meta.dirname, 'fixtures', 'htj2k-rgb', `rgb${bits}.j2c`))), `rgb${bits}`);
      expect([out.width, out.height, out.components], `rgb${bits}`).toEqual([53, 37, 3]);
      expect(want.length).toBe(53 * 37 * 3);
      expect(Math.max(...want), `rgb${bits}: the image reaches its top value`).toBe(2 ** bits - 1);
      expect(Array.from(out.samples.subarray(0, want.length)), `rgb${bits}`).toEqual(want);
    }
  });

  it('lossy: within 2 of OpenJPH decoding the same codestream, 8 to 16 bits', async () => {
    const codec = await openjph();
    const rand = seededRandom(203);
    for (const [bits, signed] of [[8, false], [12, false], [12, true], [16, false], [16, true]] as const) {
      const info: FrameInfo = { width: 61, height: 47, bitsPerSample: bits, componentCount: 1, isSigned: signed, isUsingColorTransform: false };
      const count = info.width * info.height;
      const lo = signed ? -(2 ** (bits - 1)) : 0;
      const span = 2 ** bits - 1;
      const values = Array.from({ length: count }, (_, i) => Math.round(lo + span * (0.5 + 0.4 * Math.sin(i / 37) * Math.cos(i / 301)) + (rand() - 0.5) * span * 0.01));
      const stream = encode(codec, info, values, 2, false, 0.005);
      const ours = decodedValues((await decodeJpeg2000(stream)).samples, info, count);
      const decoder = new codec.HTJ2KDecoder();
      let theirs: number[];
      try {
        decoder.getEncodedBuffer(stream.length).set(stream);
        decoder.decode();
        const bytes = new Uint8Array(decoder.getDecodedBuffer()).slice();
        theirs = decodedValues(bits > 8 ? new Uint16Array(bytes.buffer) : bytes, info, count);
      } finally {
        decoder.delete();
      }
      const worst = ours.reduce((m, v, i) => Math.max(m, Math.abs(v - theirs[i]!)), 0);
      const error = ours.reduce((m, v, i) => Math.max(m, Math.abs(v - values[i]!)), 0);
      expect(worst, `${bits} bits ${signed ? 'signed' : 'unsigned'}`).toBeLessThanOrEqual(2);
      expect(error, 'it is lossy, and close').toBeGreaterThan(0);
      expect(error).toBeLessThan(span * 0.05);
    }
  });

  it('a signed 8-bit HTJ2K file decodes exactly (OpenJPEG alone clamps its negative values to 0)', async () => {
    // mr8_htj2k_rpcl (OpenJPH, unsigned 8-bit) marked signed: Ssiz 0x87 and Pixel Representation 1. Its samples are then
    // read as the values themselves, mr8 − 128: exactly the s8 fixture (gen_htj2k.py).
    const bytes = Buffer.from(readFixture('mr8_htj2k_rpcl'));
    const siz = bytes.indexOf(Buffer.from([0xff, 0x4f, 0xff, 0x51]));
    expect(bytes[siz + 42]).toBe(0x07); // 8-bit unsigned
    bytes[siz + 42] = 0x87;
    const pr = bytes.indexOf(Buffer.from([0x28, 0x00, 0x03, 0x01, 0x55, 0x53, 0x02, 0x00]));
    bytes.writeUInt16LE(1, pr + 8);
    const frame = await readDicom(bytes).decodeFrame(0);
    expect(frame.pixels).toBeInstanceOf(Int8Array);
    expect(Buffer.from(frame.pixels.buffer, frame.pixels.byteOffset, frame.pixels.byteLength).equals(Buffer.from(refBytes('s8.expected.raw')))).toBe(true);
  });
});
