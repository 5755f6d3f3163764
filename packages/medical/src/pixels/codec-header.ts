import type { PixelEncoding } from '../dicom/transfer-syntax.js';

/** What a compressed frame's own header says about its image. @internal */
export interface CodecGeometry {
  readonly width: number;
  /** 0 when a JPEG frame defines its height later (DNL marker). */
  readonly height: number;
  readonly components: number;
  readonly precision: number;
  /** The JPEG start-of-frame marker (0xC0 …, 0xF7 for JPEG-LS); 0 for JPEG 2000. */
  readonly marker: number;
}

/**
 * Whether a JPEG 2000 codestream opens at `at`: its SOC marker (FF 4F) followed by SIZ (FF 51), as the standard
 * requires of every codestream, raw or inside a JP2 file's 'jp2c' box. @internal
 */
export function opensCodestream(data: Uint8Array, at = 0): boolean {
  return data[at] === 0xff && data[at + 1] === 0x4f && data[at + 2] === 0xff && data[at + 3] === 0x51;
}

/**
 * Reads the frame header of a JPEG-family stream (SOFn, or SOF55 for JPEG-LS) or a JPEG 2000 codestream (SIZ)
 * without decoding anything, so that a frame whose header disagrees with Rows/Columns/Samples per Pixel is refused
 * before a codec allocates whatever its header asks for. Undefined when the header cannot be found (the codec then
 * reports the stream as corrupt); JP2-wrapped codestreams are not looked into.
 * @internal
 */
export function codecGeometry(data: Uint8Array, encoding: PixelEncoding): CodecGeometry | undefined {
  const u16 = (p: number): number => ((data[p] ?? 0) << 8) | (data[p + 1] ?? 0);
  if (encoding === 'jpeg-2000') {
    if (!opensCodestream(data) || data.length < 42) return undefined;
    const u32 = (p: number): number => u16(p) * 65536 + u16(p + 2);
    const width = u32(8) - u32(16);
    const height = u32(12) - u32(20);
    const components = u16(40);
    return { width, height, components, precision: ((data[42] ?? 0) & 0x7f) + 1, marker: 0 };
  }
  if (data[0] !== 0xff || data[1] !== 0xd8) return undefined;
  let pos = 2;
  while (pos + 4 <= data.length) {
    if (data[pos] !== 0xff) return undefined;
    const marker = data[pos + 1]!;
    if (marker === 0xff) {
      pos++;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return undefined; // scan or end before any frame header
    const length = u16(pos + 2);
    const isSof = (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) || marker === 0xf7;
    if (isSof) {
      if (pos + 10 > data.length) return undefined;
      return { precision: data[pos + 4]!, height: u16(pos + 5), width: u16(pos + 7), components: data[pos + 9]!, marker };
    }
    if (length < 2) return undefined;
    pos += 2 + length;
  }
  return undefined;
}
