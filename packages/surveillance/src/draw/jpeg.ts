import { describeValue, LeptonError } from '@lepton/core';
import * as jpeg from 'jpeg-js';
import { shownJson, type Box } from '../types.js';
import { drawLabel } from './annotate.js';
import { checkImage, drawRect, type Rgb, type RgbImage } from './raster.js';

/** Options for {@link snapshot}. */
export interface SnapshotOptions {
  /** JPEG quality 1–100. Default 85. */
  quality?: number;
  /** Colour of the event box. Default red `[255, 0, 0]`. */
  color?: Rgb;
  /** Box line width in pixels (integer). Default `max(2, round(min(width, height) / 240))` of the source frame. */
  thickness?: number;
  /** Caption drawn above the box (e.g. `'#12 person 0.91'`). Default none. */
  label?: string;
  /** Crop the snapshot to the box plus a margin. Default false (the whole frame). */
  crop?: boolean;
  /** Margin around the box when cropping, as a fraction of the box's width and height on each side. Default 0.25. */
  cropMargin?: number;
}

function checkQuality(quality: number, what: string): void {
  if (!Number.isFinite(quality) || quality < 1 || quality > 100) {
    throw new LeptonError('INVALID_ARGUMENT', `${what}: quality must be a number from 1 to 100; got ${describeValue(quality)}.`);
  }
}

/**
 * Encodes a packed RGB image as a baseline JPEG (jpeg-js, 4:4:4, no chroma subsampling).
 *
 * @param image - a frame or any `{ data, width, height }` with RGB bytes
 * @param quality - 1–100. Default 85.
 * @returns the JPEG file bytes
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a malformed image, `INVALID_ARGUMENT` for a bad quality
 * @example
 * ```ts
 * import { encodeJpeg } from '@lepton/surveillance';
 * const bytes = encodeJpeg({ data: new Uint8Array(16 * 16 * 3).fill(128), width: 16, height: 16 }, 90);
 * console.log(bytes[0], bytes[1]); // 255 216 (the JPEG start-of-image marker)
 * ```
 */
export function encodeJpeg(image: RgbImage, quality = 85): Uint8Array {
  checkImage(image, 'encodeJpeg');
  checkQuality(quality, 'encodeJpeg');
  const { width, height, data } = image;
  // jpeg-js reads 4 bytes a pixel (it skips the 4th), so the RGB frame is widened once here.
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0, j = 0; i < data.length; i += 3, j += 4) {
    rgba[j] = data[i]!;
    rgba[j + 1] = data[i + 1]!;
    rgba[j + 2] = data[i + 2]!;
    rgba[j + 3] = 255;
  }
  const out = jpeg.encode({ data: rgba, width, height }, Math.round(quality)).data;
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * A JPEG of a frame for an event: the event box drawn (and captioned) on a copy of the frame, optionally cropped to
 * the box with a margin. The frame itself is never modified.
 *
 * @param frame - a frame or any `{ data, width, height }` with RGB bytes
 * @param box - the event's box in frame pixels; omit for a plain snapshot
 * @param options - quality, colour, caption, crop
 * @returns the JPEG file bytes
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a malformed frame, `INVALID_ARGUMENT` for a non-finite box, a
 *   box wholly outside the frame when cropping, or bad quality/thickness/margin
 * @example
 * ```ts
 * import { snapshot } from '@lepton/surveillance';
 * const frame = { data: new Uint8Array(320 * 240 * 3).fill(90), width: 320, height: 240 };
 * const jpg = snapshot(frame, { x: 100, y: 60, width: 40, height: 90 }, { label: '#3 person 0.87', crop: true });
 * console.log(jpg.length > 0); // true
 * ```
 */
export function snapshot(frame: RgbImage, box?: Box, options: SnapshotOptions = {}): Uint8Array {
  checkImage(frame, 'snapshot');
  if (options === null || typeof options !== 'object') throw new LeptonError('INVALID_ARGUMENT', `snapshot: options must be an object; got ${describeValue(options)}.`);
  const quality = options.quality ?? 85;
  checkQuality(quality, 'snapshot');
  if (box !== undefined && ![box.x, box.y, box.width, box.height].every(Number.isFinite)) {
    throw new LeptonError('INVALID_ARGUMENT', `snapshot: the box has a non-finite field (${shownJson(box)}); pass finite pixel coordinates.`);
  }
  const thickness = options.thickness ?? Math.max(2, Math.round(Math.min(frame.width, frame.height) / 240));
  let x0 = 0;
  let y0 = 0;
  let w = frame.width;
  let h = frame.height;
  if (options.crop === true && box !== undefined) {
    const margin = options.cropMargin ?? 0.25;
    if (!Number.isFinite(margin) || margin < 0) throw new LeptonError('INVALID_ARGUMENT', `snapshot: cropMargin must be ≥ 0; got ${describeValue(margin)}.`);
    x0 = Math.max(0, Math.floor(box.x - margin * box.width));
    y0 = Math.max(0, Math.floor(box.y - margin * box.height));
    const x1 = Math.min(frame.width, Math.ceil(box.x + box.width * (1 + margin)));
    const y1 = Math.min(frame.height, Math.ceil(box.y + box.height * (1 + margin)));
    if (x1 <= x0 || y1 <= y0) {
      throw new LeptonError('INVALID_ARGUMENT', `snapshot: the box ${shownJson(box)} lies outside the ${frame.width}×${frame.height} frame, so there is nothing to crop.`);
    }
    w = x1 - x0;
    h = y1 - y0;
  }
  // Copy (and crop) first: drawing must not touch the caller's frame, which may still be analysed or recorded.
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const src = ((y0 + y) * frame.width + x0) * 3;
    data.set(frame.data.subarray(src, src + w * 3), y * w * 3);
  }
  const img: RgbImage = { data, width: w, height: h };
  if (box !== undefined) {
    const color = options.color ?? [255, 0, 0];
    const local = { x: box.x - x0, y: box.y - y0, width: box.width, height: box.height };
    drawRect(img, local, color, thickness);
    if (options.label !== undefined && options.label !== '') {
      const scale = Math.max(1, Math.round(Math.min(frame.width, frame.height) / 360));
      const above = local.y - (8 + 2) * scale;
      drawLabel(img, options.label, local.x, above >= 0 ? above : local.y + local.height, { background: color, scale });
    }
  }
  return encodeJpeg(img, quality);
}
