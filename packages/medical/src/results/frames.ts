// Binary frames for BINARY segmentations, and segment colours.

/**
 * Packs binary frames into Pixel Data for Bits Allocated 1 (PS3.5 8.1.1 and 8.2): pixel `i` of the concatenated frames
 * is bit `i mod 8` (least significant first) of byte `⌊i / 8⌋`. Frames are contiguous: when `rows × columns` is not a
 * multiple of 8 the next frame starts mid-byte (padding each frame to a byte, as some writers do, is non-conformant and
 * shifts every later frame for a conformant reader). The result is padded with zero bytes to an even length.
 * @internal
 */
export function packBits(frames: readonly Uint8Array[], pixelsPerFrame: number): Uint8Array {
  const bits = frames.length * pixelsPerFrame;
  const bytes = Math.ceil(bits / 8);
  const out = new Uint8Array(bytes + (bytes % 2));
  let i = 0;
  for (const f of frames) {
    for (let p = 0; p < pixelsPerFrame; p++, i++) if (f[p] !== 0) out[i >> 3]! |= 1 << (i & 7);
  }
  return out;
}

/** Colours given to segments without one, in order (sRGB). @internal */
export const PALETTE: ReadonlyArray<readonly [number, number, number]> = [
  [230, 60, 60],
  [60, 160, 230],
  [60, 180, 75],
  [240, 200, 40],
  [145, 60, 190],
  [245, 130, 48],
];

/**
 * sRGB (0–255) → CIELab under D50 (sRGB matrix already adapted to D50 by Bradford), scaled as DICOM's Recommended
 * Display CIELab Value: L 0–100 → 0–65535, a and b −128–127 → 0–65535 (PS3.3 C.10.7.1.1).
 * @internal
 */
export function rgbToDicomLab(rgb: readonly [number, number, number]): [number, number, number] {
  const lin = rgb.map((c) => {
    const v = c / 255;
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  const [r, g, b] = lin;
  const x = (0.4360747 * r + 0.3850649 * g + 0.1430804 * b) / 0.96422;
  const y = 0.2225045 * r + 0.7168786 * g + 0.0606169 * b;
  const z = (0.0139322 * r + 0.0971045 * g + 0.7141733 * b) / 0.82521;
  const f = (t: number): number => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
  const L = 116 * f(y) - 16;
  const A = 500 * (f(x) - f(y));
  const B = 200 * (f(y) - f(z));
  const clamp = (v: number): number => Math.max(0, Math.min(65535, Math.round(v)));
  return [clamp((L * 65535) / 100), clamp(((A + 128) * 65535) / 255), clamp(((B + 128) * 65535) / 255)];
}
