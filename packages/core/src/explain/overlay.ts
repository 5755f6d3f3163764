import { PNG } from 'pngjs';
import { LeptonError } from '../errors/lepton-error.js';
import type { Heatmap } from './saliency.js';

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
 * @throws {@link LeptonError} `SHAPE_MISMATCH` when the base image size differs from the heatmap
 * @example
 * ```ts
 * import { heatmapToPng } from '@lepton/core';
 * const png = heatmapToPng({ data: new Float32Array([0, 0.5, 1, 0.2]), width: 2, height: 2, classIndex: 0 });
 * console.log(png.subarray(1, 4).toString()); // 'PNG'
 * ```
 */
export function heatmapToPng(heatmap: Heatmap, options: OverlayOptions = {}): Buffer {
  const { width, height, data } = heatmap;
  const channels = options.baseChannels ?? 1;
  const base = options.base;
  if (base !== undefined && base.length !== width * height * channels) {
    throw new LeptonError('SHAPE_MISMATCH', `Base image has ${base.length} values; a ${width}×${height}×${channels} image needs ${width * height * channels}.`);
  }
  const bytes = base instanceof Uint8Array || base instanceof Uint8ClampedArray;
  const alpha = options.alpha ?? 0.6;
  const png = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) {
    const heat = data[i]!;
    const [hr, hg, hb] = colour(heat);
    let rgb: [number, number, number] = [hr, hg, hb];
    if (base !== undefined) {
      const px = (c: number): number => {
        const v = base[i * channels + (channels === 3 ? c : 0)]!;
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
