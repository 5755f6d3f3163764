import { dicomError } from '../dicom/errors.js';

// The entropy-coding half of the JPEG Extended decoder (jpeg-extended.ts): Huffman tables and the bit reader of an
// entropy-coded segment, with IJG 6b's jdhuff.c behaviour where a corrupt stream makes a difference. Internal.

/** Zigzag position → natural (row-major) position, with IJG's 16 extra entries so a corrupt run cannot index past 63. */
export const NATURAL = new Uint8Array([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56,
  57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
  ...new Array<number>(16).fill(63),
]);

/** A decoding table (jdhuff.c d_derived_tbl, the parts a bit-serial decoder needs). @internal */
export interface HuffmanTable {
  /** Largest code of each length 1..16 (-1 when none); index 17 is a sentinel. */
  readonly maxcode: Int32Array;
  /** Symbol index of the first code of each length, minus that code. */
  readonly valoffset: Int32Array;
  readonly values: Uint8Array;
}

/** Error details. @internal */
export type Where = Record<string, unknown>;

/** Throws DICOM_DECODE_FAILED for a malformed stream. @internal */
export const fail = (message: string, where: Where): never => {
  throw dicomError('DICOM_DECODE_FAILED', `JPEG Extended: ${message} The compressed frame is corrupt or not sequential Huffman JPEG.`, where);
};

/** jdhuff.c jpeg_make_d_derived_tbl, the parts the bit-serial decoder below needs. */
export function huffmanTable(counts: Uint8Array, values: Uint8Array, isDc: boolean, where: Where): HuffmanTable {
  const maxcode = new Int32Array(18).fill(-1);
  const valoffset = new Int32Array(17);
  let code = 0;
  let k = 0;
  for (let l = 1; l <= 16; l++) {
    const n = counts[l - 1]!;
    if (n > 0) {
      valoffset[l] = k - code;
      code += n;
      k += n;
      maxcode[l] = code - 1;
    }
    // codes of length l must fit in l bits (IJG: "Bogus Huffman table definition")
    if (code > 1 << l) fail('a Huffman table defines more codes than fit.', where);
    code <<= 1;
  }
  maxcode[17] = 0x7fffffff;
  if (isDc && values.some((s) => s > 15)) fail('a DC Huffman table has a symbol above 15.', where);
  return { maxcode, valoffset, values };
}

/** Entropy-coded segment reader: jdhuff.c fill_bit_buffer semantics (stuffed 0xFF00, zeros after a marker). */
export class BitReader {
  #data: Uint8Array;
  pos: number;
  #buf = 0;
  #bits = 0;
  /** Zero bytes inserted after the data ran out: a valid scan needs none, a cut one gets a typed error, not grey. */
  #zeros = 0;
  readonly #where: Where;
  /** The marker that stopped the segment (0 while none). */
  marker = 0;

  constructor(data: Uint8Array, pos: number, where: Where) {
    this.#data = data;
    this.pos = pos;
    this.#where = where;
  }

  bit(): number {
    if (this.#bits === 0) this.#fill();
    this.#bits--;
    return (this.#buf >> this.#bits) & 1;
  }

  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = (v << 1) | this.bit();
    return v;
  }

  #fill(): void {
    let byte = 0;
    if (this.marker === 0 && this.pos < this.#data.length) {
      byte = this.#data[this.pos]!;
      if (byte === 0xff) {
        let next = this.#data[this.pos + 1] ?? 0xd9;
        let skip = this.pos + 1;
        while (next === 0xff) next = this.#data[++skip] ?? 0xd9; // fill bytes before a marker
        if (next === 0) {
          this.pos += 2;
        } else {
          this.marker = next;
          this.pos = skip + 1;
          byte = 0; // IJG inserts zeros once the data ends at a marker
          this.#zeros++;
        }
      } else {
        this.pos++;
      }
    } else {
      this.#zeros++;
    }
    // IJG would go on with zeros (and a warning) to the end of the image; a few bytes' worth is the most a complete
    // scan can ask for at its very end, so more means the scan was cut short or its codes are garbage.
    if (this.#zeros > 4) fail('the scan data ends before the last block.', this.#where);
    this.#buf = byte;
    this.#bits = 8;
  }

  decode(t: HuffmanTable): number {
    let code = this.bit();
    let l = 1;
    while (code > t.maxcode[l]!) {
      code = (code << 1) | this.bit();
      if (++l > 16) return 0; // jdhuff.c jpeg_huff_decode: "Corrupt JPEG data: bad Huffman code", decodes as 0
    }
    return t.values[t.valoffset[l]! + code] ?? 0;
  }

  /** Restart: drop the rest of the byte, expect RSTn (jdhuff.c process_restart). */
  restart(expected: number, where: Where): void {
    this.#bits = 0;
    if (this.marker === 0) {
      // the marker has not been met yet: it must be next
      while (this.pos < this.#data.length && this.#data[this.pos] === 0xff && this.#data[this.pos + 1] === 0xff) this.pos++;
      if (this.#data[this.pos] === 0xff) {
        this.marker = this.#data[this.pos + 1] ?? 0;
        this.pos += 2;
      }
    }
    if (this.marker !== 0xd0 + expected) fail(`restart marker RST${expected} is missing.`, where);
    this.marker = 0;
  }
}

/** HUFF_EXTEND: a magnitude category's bits as a signed value. @internal */
export const extend = (v: number, s: number): number => (v < 1 << (s - 1) ? v - (1 << s) + 1 : v);

