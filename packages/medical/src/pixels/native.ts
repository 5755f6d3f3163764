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
