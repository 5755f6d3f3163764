/** Pixel module attributes needed to size and read native (uncompressed) frames. */
interface PixelGeometry {
  readonly rows: number;
  readonly columns: number;
  readonly samplesPerPixel: number;
  readonly bitsAllocated: number;
  readonly photometricInterpretation: string;
}

/**
 * Bytes of one native frame. YBR_FULL_422 stores two luminance and one pair of chroma samples per two pixels (PS3.3
 * C.7.6.3.1.2), so it takes two samples' worth per pixel, not three.
 * @internal
 */
export function nativeFrameLength(g: PixelGeometry): number {
  const pixels = g.rows * g.columns;
  if (g.bitsAllocated === 1) return Math.ceil((pixels * g.samplesPerPixel) / 8);
  const samples = g.photometricInterpretation === 'YBR_FULL_422' && g.samplesPerPixel === 3 ? pixels * 2 : pixels * g.samplesPerPixel;
  return (samples * g.bitsAllocated) / 8;
}

/**
 * Bytes of all frames of native pixel data: Bits Allocated 1 packs frames back to back without padding to a byte
 * (PS3.5 8.1.1), so n frames take ⌈n × pixels / 8⌉ bytes, not n × ⌈pixels / 8⌉.
 * @internal
 */
export function nativePixelDataLength(g: PixelGeometry, frames: number): number {
  if (g.bitsAllocated === 1) return Math.ceil((g.rows * g.columns * g.samplesPerPixel * frames) / 8);
  return nativeFrameLength(g) * frames;
}

/**
 * A fresh little-endian copy of bytes `[offset, offset + length)` of a native Pixel Data value (offsets relative to
 * the value). A big-endian value is swapped word by word, with words counted from the start of the *value*, not of
 * the frame: 8-bit frames of odd length in OW start in the middle of a word, and the word holding a frame's last byte
 * may reach past the frame (into the next frame, or the value's padding byte). Swapping only the frame's own bytes
 * left the last byte of an odd-length 8-bit OW frame unswapped — it decoded as the padding byte, 0.
 * @internal
 */
export function nativeBytes(value: Uint8Array, offset: number, length: number, swapWordSize: number): Uint8Array {
  if (swapWordSize <= 1) return value.slice(offset, offset + length);
  const from = offset - (offset % swapWordSize);
  const to = Math.min(value.length, Math.ceil((offset + length) / swapWordSize) * swapWordSize);
  const words = value.slice(from, to);
  swapBytes(words.subarray(0, words.length - (words.length % swapWordSize)), swapWordSize);
  // from === offset and to === offset + length is the common case (even frames): no second copy
  return offset === from && words.length === length ? words : words.slice(offset - from, offset - from + length);
}

/**
 * Frame `index` of Bits Allocated 1 pixel data as one byte (0 or 1) per sample. Bits are little-endian within each
 * byte (pixel 0 in bit 0) and frames follow each other without padding, so a frame may start in the middle of a byte.
 * @internal
 */
export function unpackBits(value: Uint8Array, index: number, samples: number, swapWordSize: number): Uint8Array {
  const firstBit = index * samples;
  const start = Math.floor(firstBit / 8);
  const bytes = nativeBytes(value, start, Math.ceil(((firstBit % 8) + samples) / 8), swapWordSize);
  const out = new Uint8Array(samples);
  let bit = firstBit % 8;
  for (let i = 0; i < samples; i++, bit++) out[i] = (bytes[bit >> 3]! >> (bit & 7)) & 1;
  return out;
}

/**
 * Swaps the bytes of big-endian words in place. Which word size applies follows the element's VR, as dcmtk writes
 * it: OW swaps every 16-bit word, so 32-bit pixels in an OW element come out as two little-endian-ordered halves.
 * @internal
 */
export function swapBytes(bytes: Uint8Array, wordSize: number): void {
  // Node's native swap (a view over the same memory, no copy) is several times faster than the byte loop below on a
  // 512×512 slice; it needs a whole number of words, which the fallback handles for odd-length (malformed) data.
  if ((wordSize === 2 || wordSize === 4) && bytes.length % wordSize === 0) {
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    if (wordSize === 2) view.swap16();
    else view.swap32();
    return;
  }
  if (wordSize === 2) {
    for (let i = 0; i + 1 < bytes.length; i += 2) {
      const a = bytes[i]!;
      bytes[i] = bytes[i + 1]!;
      bytes[i + 1] = a;
    }
  } else if (wordSize === 4) {
    for (let i = 0; i + 3 < bytes.length; i += 4) {
      const a = bytes[i]!;
      const b = bytes[i + 1]!;
      bytes[i] = bytes[i + 3]!;
      bytes[i + 1] = bytes[i + 2]!;
      bytes[i + 2] = b;
      bytes[i + 3] = a;
    }
  }
}
