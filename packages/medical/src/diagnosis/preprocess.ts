import { LeptonError } from '@lepton/core';
import type { DicomImage } from '../dicom/image.js';
import { applyModalityLut } from '../lut/modality.js';
import { WINDOW_PRESETS, type WindowPresetName } from '../lut/presets.js';

/** A display window on modality values (HU for CT). */
export interface WindowSpec {
  /** Window centre. */
  center: number;
  /** Window width (> 0). */
  width: number;
}

/** Model input of one image, and the windowed image at model size (for overlays). */
export interface PreprocessedImage {
  /** Normalised values, `size[0] × size[1]`, row-major. */
  input: Float32Array;
  /** Windowed values in [0, 1] at model size. */
  windowed: Float32Array;
}

/** How an image becomes model input; stored in the model bundle so prediction repeats it exactly. */
export interface ImagePreprocessing {
  /** Window on the modality values (HU for CT), mapped linearly to [0, 1] and clipped. */
  window: WindowSpec;
  /** Model input `[rows, columns]`; images are resized bilinearly. */
  size: [number, number];
  /** Mean of the windowed training images, subtracted. */
  mean: number;
  /** Standard deviation of the windowed training images, divided by. */
  std: number;
}

/**
 * Resolves a window preset name or explicit window.
 *
 * @param w - preset name (`lung`, `mediastinum`, `bone`, `brain`, `abdomen`) or centre/width
 * @returns centre and width
 */
export function resolveWindow(w: WindowPresetName | WindowSpec): WindowSpec {
  if (typeof w === 'string') {
    const p = WINDOW_PRESETS[w];
    if (!p) throw new LeptonError('INVALID_ARGUMENT', `Unknown window preset "${w}".`);
    return { center: p.center, width: p.width };
  }
  if (!(w.width > 0)) throw new LeptonError('INVALID_ARGUMENT', `Window width must be > 0, got ${w.width}.`);
  return { center: w.center, width: w.width };
}

/**
 * Modality values (e.g. HU) of a frame, windowed to [0, 1].
 *
 * @param image - a DICOM image
 * @param window - window on modality values
 * @param frame - frame index. Default 0.
 * @returns rows × columns values in [0, 1], row-major
 */
export async function windowedFrame(image: DicomImage, window: WindowSpec, frame = 0): Promise<Float32Array> {
  const decoded = await image.decodeFrame(frame);
  if (decoded.samplesPerPixel !== 1) throw new LeptonError('INVALID_INPUT', `${image.source ?? 'image'}: diagnosis models take greyscale images, got ${decoded.samplesPerPixel} samples per pixel.`);
  const values = applyModalityLut(decoded, image.meta);
  const lo = window.center - window.width / 2;
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = (values[i]! - lo) / window.width;
    out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return out;
}

/**
 * Bilinear resize of a single-channel image (pixel centres aligned, as image libraries do).
 *
 * @param src - rows × columns, row-major
 * @param rows - source rows
 * @param cols - source columns
 * @param size - target `[rows, columns]`
 * @returns the resized image
 */
export function resizeBilinear(src: ArrayLike<number>, rows: number, cols: number, size: [number, number]): Float32Array {
  const [h, w] = size;
  if (h === rows && w === cols) return Float32Array.from(src);
  const out = new Float32Array(h * w);
  const sy = rows / h;
  const sx = cols / w;
  for (let r = 0; r < h; r++) {
    const y = Math.min(rows - 1, Math.max(0, (r + 0.5) * sy - 0.5));
    const y0 = Math.floor(y);
    const y1 = Math.min(rows - 1, y0 + 1);
    const fy = y - y0;
    for (let c = 0; c < w; c++) {
      const x = Math.min(cols - 1, Math.max(0, (c + 0.5) * sx - 0.5));
      const x0 = Math.floor(x);
      const x1 = Math.min(cols - 1, x0 + 1);
      const fx = x - x0;
      const top = src[y0 * cols + x0]! * (1 - fx) + src[y0 * cols + x1]! * fx;
      const bottom = src[y1 * cols + x0]! * (1 - fx) + src[y1 * cols + x1]! * fx;
      out[r * w + c] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

/**
 * The model input for one image: modality LUT → window → resize → normalisation.
 *
 * @param image - a DICOM image
 * @param prep - the preprocessing stored with the model
 * @param frame - frame index. Default 0.
 * @returns `size[0] × size[1]` normalised values, and the windowed image at model size (for overlays)
 */
export async function preprocessImage(image: DicomImage, prep: ImagePreprocessing, frame = 0): Promise<PreprocessedImage> {
  const win = await windowedFrame(image, prep.window, frame);
  const windowed = resizeBilinear(win, image.meta.rows, image.meta.columns, prep.size);
  const input = new Float32Array(windowed.length);
  for (let i = 0; i < windowed.length; i++) input[i] = (windowed[i]! - prep.mean) / prep.std;
  return { input, windowed };
}

/**
 * @internal Normalisation statistics of windowed training images: mean and standard deviation over every pixel.
 */
export function pixelStats(images: readonly Float32Array[]): { mean: number; std: number } {
  let sum = 0;
  let sq = 0;
  let count = 0;
  for (const w of images) for (const v of w) (sum += v), (sq += v * v), count++;
  const mean = sum / count;
  return { mean, std: Math.sqrt(Math.max(1e-12, sq / count - mean ** 2)) };
}
