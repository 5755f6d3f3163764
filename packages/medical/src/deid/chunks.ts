import { LONG_VRS } from './vr.js';

/** Byte order and VR encoding of a data set. @internal */
export interface Syntax {
  readonly little: boolean;
  readonly implicit: boolean;
}


/**
 * Output assembled from pieces — mostly views into the input, so nothing is copied until {@link ByteChunks.concat},
 * which the caller runs only after checking {@link ByteChunks.size} against the size bound. Adjacent views of the
 * same input are merged, so a data set copied element by element costs one piece, not one per element.
 * @internal
 */
export class ByteChunks {
  readonly parts: Uint8Array[] = [];
  size = 0;

  push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.size += bytes.length;
  }

  /** Appends `src[from, to)` as a view, merged with the previous piece when that ends where this one starts. */
  copy(src: Uint8Array, from: number, to: number): void {
    const last = this.parts[this.parts.length - 1];
    if (last !== undefined && last.buffer === src.buffer && last.byteOffset + last.length === src.byteOffset + from) {
      this.parts[this.parts.length - 1] = new Uint8Array(src.buffer, last.byteOffset, last.length + (to - from));
    } else {
      this.parts.push(src.subarray(from, to));
    }
    this.size += to - from;
  }

  /** Drops everything after the first `size` bytes (a size this holds, or held before later pushes). */
  truncate(size: number): void {
    while (this.size > size) {
      const last = this.parts.pop()!;
      this.size -= last.length;
      if (this.size < size) {
        this.parts.push(last.subarray(0, size - this.size));
        this.size = size;
      }
    }
  }

  append(other: ByteChunks): void {
    for (const p of other.parts) this.parts.push(p);
    this.size += other.size;
  }

  concat(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** An element header: tag, then (explicit VR) the VR and a 16- or 32-bit length, or (implicit) a 32-bit length. @internal */
export function encodeHeader(tag: number, vr: string, length: number, syn: Syntax): Uint8Array {
  const long = !syn.implicit && LONG_VRS.has(vr);
  const out = new Uint8Array(syn.implicit ? 8 : long ? 12 : 8);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, tag >>> 16, syn.little);
  dv.setUint16(2, tag & 0xffff, syn.little);
  if (syn.implicit) {
    dv.setUint32(4, length, syn.little);
  } else {
    out[4] = vr.charCodeAt(0);
    out[5] = vr.charCodeAt(1);
    if (long) dv.setUint32(8, length, syn.little);
    else dv.setUint16(6, length, syn.little);
  }
  return out;
}

/** An item or delimitation item: tag (FFFE,xxxx) and a 32-bit length, no VR in any syntax. @internal */
export function encodeItemMarker(tag: number, length: number, syn: Syntax): Uint8Array {
  const out = new Uint8Array(8);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, tag >>> 16, syn.little);
  dv.setUint16(2, tag & 0xffff, syn.little);
  dv.setUint32(4, length, syn.little);
  return out;
}
