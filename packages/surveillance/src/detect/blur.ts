import { LeptonError, describeValue } from '@lepton/core';
import type { RgbImage } from '../draw/raster.js';
import type { Box } from '../types.js';
import { byteCount, isUint8Array } from './letterbox.js';

/** How {@link blurRegions} hides a region: coarse blocks (`'pixelate'`) or a box (mean) blur (`'box'`). */
export type BlurMethod = 'pixelate' | 'box';

/** Options of {@link blurRegions}. */
export interface BlurOptions {
  /** `'pixelate'` (default: no detail survives inside a block) or `'box'`. */
  method?: BlurMethod;
  /**
   * Block size (pixelate) or blur radius (box) in pixels. Default: an eighth of the padded region's larger side, at
   * least 4 — enough that a face is not recognisable. Larger is stronger.
   */
  strength?: number;
  /** Margin added on every side, as a fraction of the box's width/height (default 0.1), so hair and chin go too. */
  padding?: number;
}


interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** @internal The pixel rectangle [x0, x1) × [y0, y1) that blurRegions changes for a box, clipped to the image. */
export function blurRect(box: Box, width: number, height: number, padding: number): Rect | undefined {
  const px = box.width * padding;
  const py = box.height * padding;
  const r = {
    x0: Math.max(0, Math.floor(box.x - px)),
    y0: Math.max(0, Math.floor(box.y - py)),
    x1: Math.min(width, Math.ceil(box.x + box.width + px)),
    y1: Math.min(height, Math.ceil(box.y + box.height + py)),
  };
  return r.x1 > r.x0 && r.y1 > r.y0 ? r : undefined;
}

function pixelate(img: RgbImage, r: Rect, cell: number): void {
  const { width, data } = img;
  for (let by = r.y0; by < r.y1; by += cell) {
    const ey = Math.min(by + cell, r.y1);
    for (let bx = r.x0; bx < r.x1; bx += cell) {
      const ex = Math.min(bx + cell, r.x1);
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      for (let y = by; y < ey; y++) {
        for (let x = bx; x < ex; x++) {
          const o = (y * width + x) * 3;
          s0 += data[o] as number;
          s1 += data[o + 1] as number;
          s2 += data[o + 2] as number;
        }
      }
      const n = (ey - by) * (ex - bx);
      const m0 = Math.round(s0 / n);
      const m1 = Math.round(s1 / n);
      const m2 = Math.round(s2 / n);
      for (let y = by; y < ey; y++) {
        for (let x = bx; x < ex; x++) {
          const o = (y * width + x) * 3;
          data[o] = m0;
          data[o + 1] = m1;
          data[o + 2] = m2;
        }
      }
    }
  }
}

/** Mean over a window of ±radius along one line of `len` samples (3 channels, `step` bytes apart), inside the region only. */
function blurLine(data: Uint8Array, start: number, step: number, len: number, radius: number, tmp: Float64Array): void {
  for (let c = 0; c < 3; c++) {
    // prefix sums make each window O(1)
    tmp[0] = 0;
    for (let i = 0; i < len; i++) tmp[i + 1] = (tmp[i] as number) + (data[start + i * step + c] as number);
    for (let i = 0; i < len; i++) {
      const a = Math.max(0, i - radius);
      const b = Math.min(len, i + radius + 1);
      data[start + i * step + c] = Math.round(((tmp[b] as number) - (tmp[a] as number)) / (b - a));
    }
  }
}

function boxBlur(img: RgbImage, r: Rect, radius: number): void {
  const w = r.x1 - r.x0;
  const h = r.y1 - r.y0;
  const tmp = new Float64Array(Math.max(w, h) + 1);
  for (let pass = 0; pass < 2; pass++) {
    for (let y = r.y0; y < r.y1; y++) blurLine(img.data, (y * img.width + r.x0) * 3, 3, w, radius, tmp);
    for (let x = r.x0; x < r.x1; x++) blurLine(img.data, (r.y0 * img.width + x) * 3, img.width * 3, h, radius, tmp);
  }
}

/**
 * Blur (or pixelate) rectangular regions of an RGB image **in place** — e.g. faces from {@link FaceDetector} before a
 * snapshot, clip or annotated frame leaves the system. Only pixels inside each padded box (clipped to the image)
 * change.
 *
 * @param image - the frame to change (its `data` is overwritten)
 * @param boxes - regions in the image's pixels; empty or off-image boxes are skipped
 * @param options - method, strength, padding
 * @returns how many regions were blurred
 * @throws LeptonError `INVALID_INPUT` when `image` is not an image or `data` does not hold width × height × 3 bytes;
 *   `INVALID_ARGUMENT` for boxes that are not an array of four finite numbers each (`details.index`; nothing is
 *   blurred), options that are not an object, a negative padding or a strength below 1
 * @example
 * ```ts
 * import { FaceDetector, blurRegions } from '@lepton/surveillance';
 * const faces = await FaceDetector.load();
 * const [found] = await faces.detect([frame]);
 * blurRegions(frame, found.map((f) => f.box)); // pixelated in place
 * ```
 */
export function blurRegions(image: RgbImage, boxes: readonly Box[], options: BlurOptions = {}): number {
  if (image === null || typeof image !== 'object') throw new LeptonError('INVALID_INPUT', `blurRegions needs an RGB image { width, height, data }, got ${describeValue(image)}.`);
  if (!Array.isArray(boxes)) throw new LeptonError('INVALID_ARGUMENT', `blurRegions: boxes must be an array of { x, y, width, height }, got ${describeValue(boxes)}.`);
  if (options === null || typeof options !== 'object') throw new LeptonError('INVALID_ARGUMENT', `blurRegions: options must be an object, got ${describeValue(options)}.`);
  // A region the caller means to hide must not be skipped silently: a box that is not four finite numbers is an error,
  // checked before any pixel changes (an empty or off-image box is still just skipped).
  for (let i = 0; i < boxes.length; i++) {
    const b: unknown = boxes[i]; // holes included
    const o = b as Record<string, unknown> | null;
    if (o === null || typeof o !== 'object' || !['x', 'y', 'width', 'height'].every((k) => typeof o[k] === 'number' && Number.isFinite(o[k]))) {
      throw new LeptonError('INVALID_ARGUMENT', `blurRegions: boxes[${i}] must be { x, y, width, height } with finite numbers; nothing was blurred.`, { details: { index: i } });
    }
  }
  const { width, height, data } = image;
  if (!isUint8Array(data) || !Number.isInteger(width) || !Number.isInteger(height) || byteCount(data) !== width * height * 3) {
    throw new LeptonError('INVALID_INPUT', `blurRegions needs packed RGB: data of width × height × 3 bytes (${describeValue(width)} × ${describeValue(height)} × 3), got ${isUint8Array(data) ? byteCount(data) : describeValue(data)}.`);
  }
  const padding = options.padding ?? 0.1;
  if (!(typeof padding === 'number' && padding >= 0)) throw new LeptonError('INVALID_ARGUMENT', `padding must be ≥ 0 (a fraction of the box size), got ${describeValue(padding)}.`);
  if (options.strength !== undefined && !(typeof options.strength === 'number' && options.strength >= 1)) throw new LeptonError('INVALID_ARGUMENT', `strength must be ≥ 1 pixel, got ${describeValue(options.strength)}.`);
  const method = options.method ?? 'pixelate';
  if (method !== 'pixelate' && method !== 'box') throw new LeptonError('INVALID_ARGUMENT', `method must be 'pixelate' or 'box', got ${describeValue(method)}.`);
  let n = 0;
  for (const box of boxes) {
    if (!(box.width > 0 && box.height > 0)) continue;
    const r = blurRect(box, width, height, padding);
    if (r === undefined) continue;
    const strength = Math.round(options.strength ?? Math.max(4, Math.max(r.x1 - r.x0, r.y1 - r.y0) / 8));
    if (method === 'pixelate') pixelate(image, r, strength);
    else boxBlur(image, r, strength);
    n++;
  }
  return n;
}
