import { PNG } from 'pngjs';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { lengthOf, numbers, optionsObject, type Numeric } from '../metrics/validate.js';
import type { Heatmap } from './saliency.js';

/** Largest width or height {@link heatmapToPng} draws (a heatmap is the size of a model input). */
export const MAX_PNG_SIDE = 16_384;

/** Options for {@link heatmapToPng}. */
export interface OverlayOptions {
  /**
   * Greyscale or RGB image under the heatmap, row-major, `width × height × channels` with channels 1 or 3,
   * values in [0, 1] (floats) or [0, 255] (`Uint8Array`/`Uint8ClampedArray`). Omit for the heatmap alone.
   */
  base?: ArrayLike<number>;
  /** Channels of `base`. Default 1. */
  baseChannels?: 1 | 3;
  /** Heatmap opacity over the base, scaled by the heat itself so cold areas stay clear. Default 0.6. */
  alpha?: number;
}

/** Jet-like colour map: blue → cyan → yellow → red. */
function colour(v: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, v));
  const r = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - 3)));
  const g = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - 2)));
  const b = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - 1)));
  return [r * 255, g * 255, b * 255];
}

/**
 * Renders a heatmap as a PNG, optionally blended over the image it explains.
 *
 * @param heatmap - from `gradCam()` or `saliencyMap()`
 * @param options - base image and opacity
 * @returns PNG file bytes
 * @throws {@link LeptonError} `SHAPE_MISMATCH` when the base image size differs from the heatmap or `data` from
 *   width × height; `INVALID_INPUT` for a width or height that is not a whole number from 1 to {@link MAX_PNG_SIDE} or a
 *   value that is not a finite number; `INVALID_ARGUMENT` for options that are not an object, `baseChannels` other than
 *   1 or 3 or an `alpha` outside [0, 1]
 * @example
 * ```ts
 * import { heatmapToPng } from '@lepton/core';
 * const png = heatmapToPng({ data: new Float32Array([0, 0.5, 1, 0.2]), width: 2, height: 2, classIndex: 0 });
 * console.log(png.subarray(1, 4).toString()); // 'PNG'
 * ```
 */
export function heatmapToPng(heatmap: Heatmap, options: OverlayOptions = {}): Buffer {
  if (heatmap === null || typeof heatmap !== 'object') {
    throw new LeptonError('INVALID_INPUT', `heatmapToPng: heatmap must be { data, width, height }, got ${describeValue(heatmap)}.`);
  }
  const o = optionsObject(options, 'heatmapToPng');
  const { width, height } = heatmap;
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isSafeInteger(v) || v < 1 || v > MAX_PNG_SIDE) {
      throw new LeptonError('INVALID_INPUT', `heatmapToPng: heatmap.${name} must be a whole number from 1 to ${MAX_PNG_SIDE}, got ${describeValue(v)}.`);
    }
  }
  const pixels = width * height;
  if (lengthOf(heatmap.data, 'heatmapToPng', 'heatmap.data') !== pixels) {
    throw new LeptonError('SHAPE_MISMATCH', `heatmapToPng: a ${width}×${height} heatmap needs ${pixels} values in data.`);
  }
  // NaN heat drew as black, silently
  const data = numbers(heatmap.data, 'heatmapToPng', 'heatmap.data', 'finite');
  const channels: unknown = o.baseChannels ?? 1;
  if (channels !== 1 && channels !== 3) throw new LeptonError('INVALID_ARGUMENT', `heatmapToPng: baseChannels must be 1 or 3, got ${describeValue(channels)}.`);
  const alpha: unknown = o.alpha ?? 0.6;
  if (typeof alpha !== 'number' || !(alpha >= 0 && alpha <= 1)) throw new LeptonError('INVALID_ARGUMENT', `heatmapToPng: alpha must be a number in [0, 1], got ${describeValue(alpha)}.`);
  let base: Numeric | undefined;
  if (o.base != null) {
    const n = lengthOf(o.base, 'heatmapToPng', 'base');
    if (n !== pixels * channels) {
      throw new LeptonError('SHAPE_MISMATCH', `Base image has ${n} values; a ${width}×${height}×${channels} image needs ${pixels * channels}.`);
    }
    base = numbers(o.base, 'heatmapToPng', 'base', 'finite');
  }
  const bytes = o.base instanceof Uint8Array || o.base instanceof Uint8ClampedArray;
  const png = new PNG({ width, height });
  for (let i = 0; i < pixels; i++) {
    // Heat outside [0, 1] clamped once, for the colour and the blend weight alike (heat 2 blended at weight 2α,
    // past the heat colour, and wrapped in the byte buffer beyond 255).
    const heat = Math.min(1, Math.max(0, data[i]!));
    const [hr, hg, hb] = colour(heat);
    let rgb: [number, number, number] = [hr, hg, hb];
    if (base !== undefined) {
      const px = (c: number): number => {
        const v = base![i * channels + (channels === 3 ? c : 0)]!;
        return bytes ? v : Math.min(255, Math.max(0, v * 255));
      };
      const a = alpha * heat;
      rgb = [px(0) * (1 - a) + hr * a, px(1) * (1 - a) + hg * a, px(2) * (1 - a) + hb * a];
    }
    png.data[i * 4] = Math.round(rgb[0]);
    png.data[i * 4 + 1] = Math.round(rgb[1]);
    png.data[i * 4 + 2] = Math.round(rgb[2]);
    png.data[i * 4 + 3] = 255;
  }
  return PNG.sync.write(png);
}
