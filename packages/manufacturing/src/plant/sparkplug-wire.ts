/**
 * Protobuf wire primitives of the Sparkplug B codec (internal): a writer for the few wire types Sparkplug uses and a
 * bounded reader that throws typed errors.
 * @internal
 * @module
 */
import { LeptonError } from '@lepton/core';

/** Protobuf writer for the handful of wire types Sparkplug B uses. */
export class Writer {
  private readonly parts: Buffer[] = [];

  varint(v: bigint): this {
    const bytes: number[] = [];
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      bytes.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    bytes.push(Number(x));
    this.parts.push(Buffer.from(bytes));
    return this;
  }

  tag(field: number, wire: 0 | 1 | 2 | 5): this {
    return this.varint(BigInt((field << 3) | wire));
  }

  bytes(field: number, b: Buffer): this {
    this.tag(field, 2).varint(BigInt(b.length));
    this.parts.push(b);
    return this;
  }

  fixed(field: number, b: Buffer): this {
    this.tag(field, b.length === 4 ? 5 : 1);
    this.parts.push(b);
    return this;
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Reads protobuf fields within bounds, throwing a typed error on anything malformed. */
export class Reader {
  pos = 0;
  constructor(private readonly b: Buffer) {}

  get done(): boolean {
    return this.pos >= this.b.length;
  }

  varint(): bigint {
    let x = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.b.length) throw decodeError('a varint runs past the end');
      const byte = this.b[this.pos++]!;
      x |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return BigInt.asUintN(64, x);
    }
    throw decodeError('a varint is longer than 10 bytes');
  }

  take(n: number): Buffer {
    if (n < 0 || this.pos + n > this.b.length) throw decodeError('a field runs past the end');
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

/** @internal The typed error for a malformed payload. */
export function decodeError(what: string): LeptonError {
  return new LeptonError('MFG_SPARKPLUG_DECODE', `Not a Sparkplug B payload: ${what}.`);
}

/** @internal One protobuf field: a varint, or the bytes of a fixed or length-delimited field. */
export function readField(r: Reader): { field: number; wire: number; int?: bigint; bytes?: Buffer } {
  const key = r.varint();
  const field = Number(key >> 3n);
  const wire = Number(key & 7n);
  if (field === 0) throw decodeError('field number 0');
  if (wire === 0) return { field, wire, int: r.varint() };
  if (wire === 1) return { field, wire, bytes: r.take(8) };
  if (wire === 5) return { field, wire, bytes: r.take(4) };
  if (wire === 2) {
    const n = r.varint();
    if (n > 0x7fffffffn) throw decodeError('a length is too large');
    return { field, wire, bytes: r.take(Number(n)) };
  }
  throw decodeError(`wire type ${wire} is not used by Sparkplug B`);
}
