import { describeValue, LeptonError } from '@lepton/core';
import type { Box } from '../types.js';
import { byteCount, isUint8Array } from '../detect/letterbox.js';

/** A binary image: one byte per pixel, row-major, 0 = off and any other value = on. */
export interface BinaryMask {
  /** `width × height` bytes. */
  data: Uint8Array;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/** The connected components of a {@link BinaryMask}, from {@link labelComponents}. */
export interface ComponentLabels {
  /** Per pixel: 0 for background, else the component's label 1 … `count`, numbered in raster order of first pixel. */
  labels: Int32Array;
  /** Number of components. */
  count: number;
  /** Bounding box of component `i + 1` (pixel units, so a single pixel has width and height 1). */
  boxes: Box[];
  /** Pixel count of component `i + 1`. */
  areas: number[];
}

// ---------------------------------------------------------------------------------------------------------------
// Allocation-free kernels (the motion detector calls these with its own reused buffers).
// All use a 3 × 3 square structuring element and treat pixels outside the image as 0, which is what
// scipy.ndimage.binary_erosion / binary_dilation do with their default border_value=0: erosion clears a
// one-pixel frame border, dilation never grows from outside. The square is separable, so each pass is a
// horizontal 1 × 3 pass into `tmp` then a vertical 3 × 1 pass into `dst`: 6 reads a pixel instead of 9.
// ---------------------------------------------------------------------------------------------------------------

/** @internal One 3 × 3 erosion of `src` into `dst` (`tmp` is scratch); all three `w × h`, `dst` ≠ `src`. */
export function erodeInto(src: Uint8Array, dst: Uint8Array, tmp: Uint8Array, w: number, h: number): void {
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      const i = row + x;
      tmp[i] = x > 0 && x < w - 1 && src[i - 1] !== 0 && src[i] !== 0 && src[i + 1] !== 0 ? 1 : 0;
    }
  }
  for (let y = 0; y < h; y++) {
    const row = y * w;
    const inside = y > 0 && y < h - 1;
    for (let x = 0; x < w; x++) {
      const i = row + x;
      dst[i] = inside && tmp[i - w] !== 0 && tmp[i] !== 0 && tmp[i + w] !== 0 ? 1 : 0;
    }
  }
}

/** @internal One 3 × 3 dilation of `src` into `dst` (`tmp` is scratch); all three `w × h`, `dst` ≠ `src`. */
export function dilateInto(src: Uint8Array, dst: Uint8Array, tmp: Uint8Array, w: number, h: number): void {
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      const i = row + x;
      tmp[i] = src[i] !== 0 || (x > 0 && src[i - 1] !== 0) || (x < w - 1 && src[i + 1] !== 0) ? 1 : 0;
    }
  }
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      const i = row + x;
      dst[i] = tmp[i] !== 0 || (y > 0 && tmp[i - w] !== 0) || (y < h - 1 && tmp[i + w] !== 0) ? 1 : 0;
    }
  }
}

/**
 * @internal Labels the 8-connected components of `mask` into `labels` (0 = background) by flood fill with an
 * explicit stack (`stack` needs `w × h` entries: recursion would overflow on a large blob). For component `k`
 * (0-based) `stats[5k … 5k+4]` receives minX, minY, maxX, maxY and the pixel count; components beyond
 * `stats.length / 5` are labelled but get no stats. Returns the component count.
 */
export function labelInto(mask: Uint8Array, w: number, h: number, labels: Int32Array, stack: Int32Array, stats: Int32Array): number {
  labels.fill(0, 0, w * h);
  const maxStats = Math.floor(stats.length / 5);
  let count = 0;
  for (let start = 0; start < w * h; start++) {
    if (mask[start] === 0 || labels[start] !== 0) continue;
    const label = ++count;
    let minX = w;
    let minY = h;
    let maxX = -1;
    let maxY = -1;
    let area = 0;
    let top = 0;
    stack[top++] = start;
    labels[start] = label;
    while (top > 0) {
      const p = stack[--top]!;
      const py = (p / w) | 0;
      const px = p - py * w;
      area++;
      if (px < minX) minX = px;
      if (px > maxX) maxX = px;
      if (py < minY) minY = py;
      if (py > maxY) maxY = py;
      const y0 = py > 0 ? py - 1 : 0;
      const y1 = py < h - 1 ? py + 1 : py;
      const x0 = px > 0 ? px - 1 : 0;
      const x1 = px < w - 1 ? px + 1 : px;
      for (let ny = y0; ny <= y1; ny++) {
        for (let nx = x0; nx <= x1; nx++) {
          const q = ny * w + nx;
          if (mask[q] !== 0 && labels[q] === 0) {
            labels[q] = label;
            stack[top++] = q;
          }
        }
      }
    }
    if (label <= maxStats) {
      const s = (label - 1) * 5;
      stats[s] = minX;
      stats[s + 1] = minY;
      stats[s + 2] = maxX;
      stats[s + 3] = maxY;
      stats[s + 4] = area;
    }
  }
  return count;
}

// ---------------------------------------------------------------------------------------------------------------
// Public, allocating wrappers.
// ---------------------------------------------------------------------------------------------------------------

function checkMask(mask: BinaryMask, what: string): void {
  if (mask === null || typeof mask !== 'object') throw new LeptonError('INVALID_INPUT', `${what}: the mask must be an object { width, height, data }; got ${describeValue(mask)}.`);
  const { width, height, data } = mask;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new LeptonError('INVALID_INPUT', `${what}: mask size ${describeValue(width)}×${describeValue(height)} is not a positive integer size.`);
  }
  if (!isUint8Array(data) || byteCount(data) !== width * height) {
    throw new LeptonError('INVALID_INPUT', `${what}: a ${width}×${height} mask needs a Uint8Array of ${width * height} bytes; got ${isUint8Array(data) ? byteCount(data) : describeValue(data)}.`);
  }
}

function checkIterations(iterations: number, what: string): void {
  if (!Number.isInteger(iterations) || iterations < 0) {
    throw new LeptonError('INVALID_ARGUMENT', `${what}: iterations must be a non-negative integer; got ${describeValue(iterations)}.`);
  }
}

function morph(mask: BinaryMask, iterations: number, op: typeof erodeInto, what: string): BinaryMask {
  checkMask(mask, what);
  checkIterations(iterations, what);
  const { width: w, height: h } = mask;
  let src = Uint8Array.from(mask.data, (v) => (v !== 0 ? 1 : 0));
  let dst = new Uint8Array(w * h);
  const tmp = new Uint8Array(w * h);
  // After max(w, h) passes the mask is fixed (all off for an erosion, every pixel within reach of an on one for a
  // dilation): more passes give the same mask, so a huge `iterations` (1e308 is an integer) returns instead of hanging.
  const passes = Math.min(iterations, Math.max(w, h));
  for (let i = 0; i < passes; i++) {
    op(src, dst, tmp, w, h);
    [src, dst] = [dst, src];
  }
  return { data: src, width: w, height: h };
}

/**
 * Binary erosion with a 3 × 3 square, repeated `iterations` times; pixels outside the image count as off (as
 * `scipy.ndimage.binary_erosion(mask, np.ones((3, 3)), iterations, border_value=0)`).
 *
 * @param mask - input mask (not modified)
 * @param iterations - how many erosions (0 returns a 0/1 copy). Default 1.
 * @returns a new mask of 0/1 bytes
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a malformed mask, `INVALID_ARGUMENT` for bad `iterations`
 * @example
 * ```ts
 * import { binaryErode } from '@lepton/surveillance';
 * const m = binaryErode({ data: new Uint8Array(25).fill(1), width: 5, height: 5 });
 * console.log(Array.from(m.data).join('')); // '0000001110011100111000000'
 * ```
 */
export function binaryErode(mask: BinaryMask, iterations = 1): BinaryMask {
  return morph(mask, iterations, erodeInto, 'binaryErode');
}

/**
 * Binary dilation with a 3 × 3 square, repeated `iterations` times; pixels outside the image count as off (as
 * `scipy.ndimage.binary_dilation(mask, np.ones((3, 3)), iterations)`).
 *
 * @param mask - input mask (not modified)
 * @param iterations - how many dilations (0 returns a 0/1 copy). Default 1.
 * @returns a new mask of 0/1 bytes
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a malformed mask, `INVALID_ARGUMENT` for bad `iterations`
 * @example
 * ```ts
 * import { binaryDilate } from '@lepton/surveillance';
 * const m = binaryDilate({ data: new Uint8Array([0, 0, 0, 0, 1, 0, 0, 0, 0]), width: 3, height: 3 });
 * console.log(Array.from(m.data).join('')); // '111111111'
 * ```
 */
export function binaryDilate(mask: BinaryMask, iterations = 1): BinaryMask {
  return morph(mask, iterations, dilateInto, 'binaryDilate');
}

/**
 * Labels the 8-connected components of a binary mask (as `scipy.ndimage.label(mask, np.ones((3, 3)))`), with
 * each component's bounding box and area.
 *
 * @param mask - input mask (not modified)
 * @returns labels per pixel, component count, boxes and areas
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a malformed mask
 * @example
 * ```ts
 * import { labelComponents } from '@lepton/surveillance';
 * const c = labelComponents({ data: new Uint8Array([1, 0, 0, 0, 0, 1, 1, 0, 1]), width: 3, height: 3 });
 * console.log(c.count, c.areas); // 3 [1, 2, 1]
 * ```
 */
export function labelComponents(mask: BinaryMask): ComponentLabels {
  checkMask(mask, 'labelComponents');
  const { width: w, height: h } = mask;
  const labels = new Int32Array(w * h);
  const stats = new Int32Array(5 * (Math.ceil(w / 2) * Math.ceil(h / 2) + 1));
  const count = labelInto(mask.data, w, h, labels, new Int32Array(w * h), stats);
  const boxes: Box[] = [];
  const areas: number[] = [];
  for (let k = 0; k < count; k++) {
    const s = k * 5;
    boxes.push({ x: stats[s]!, y: stats[s + 1]!, width: stats[s + 2]! - stats[s]! + 1, height: stats[s + 3]! - stats[s + 1]! + 1 });
    areas.push(stats[s + 4]!);
  }
  return { labels, count, boxes, areas };
}
