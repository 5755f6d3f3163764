import { describeValue, LeptonError } from '@lepton/core';
import type { DicomImage } from '../dicom/image.js';
import { applyModalityLut } from '../lut/modality.js';
import { WINDOW_PRESETS, type WindowPresetName } from '../lut/presets.js';
import { checkPreprocessing } from './preprocessing-check.js';
import { sourceDetails } from './option-checks.js';

/** A display window on modality values (HU for CT). */
export interface WindowSpec {
  /** Window centre. */
  center: number;
  /** Window width (> 0). */
  width: number;
}

/** Model input of one image, and the windowed image at model size (for overlays). */
export interface PreprocessedImage {
  /** Normalised values, `size[0] × size[1] × slices`, row-major with the slices interleaved (channels last). */
  input: Float32Array;
  /** Windowed values in [0, 1] of the image itself (the centre slice) at model size. */
  windowed: Float32Array;
}

/**
 * How an image that is not the input's shape is placed in it: `stretch` scales rows and columns separately (a
 * 512×400 image fills the square input, distorted), `letterbox` keeps the aspect ratio and centres the image, padding
 * the rest with the bottom of the window (0). Square images are placed the same way by both.
 */
export type InputFit = 'stretch' | 'letterbox';

/**
 * How pixels are resampled to the input size: `bilinear` interpolates between the four nearest pixels; `area` averages
 * every source pixel a model pixel covers when shrinking (no aliasing: a 512 → 128 reduction averages 4×4 blocks and
 * with them the noise), and interpolates bilinearly when enlarging.
 */
export type InputResample = 'bilinear' | 'area';

/** How an image becomes model input; stored in the model bundle so prediction repeats it exactly. */
export interface ImagePreprocessing {
  /** Window on the modality values (HU for CT), mapped linearly to [0, 1] and clipped. */
  window: WindowSpec;
  /** Model input `[rows, columns]`. */
  size: [number, number];
  /** Mean of the windowed training images, subtracted. */
  mean: number;
  /** Standard deviation of the windowed training images, divided by. */
  std: number;
  /**
   * Slices per input (2.5-D): the image and its neighbours along the slice normal as channels, `slices` odd. Absent
   * means 1 (a 2-D model, and every bundle written before stacks existed).
   */
  slices?: number;
  /** Stacks: distance between the stacked planes along the slice normal, mm (the training series' slice spacing). */
  sliceSpacingMm?: number;
  /** Placement of images that are not the input's shape. Absent means `stretch` (bundles written before the option). */
  fit?: InputFit;
  /** Resampling to the input size. Absent means `bilinear` (bundles written before the option). */
  resample?: InputResample;
}

/**
 * Where an image lies in the model input: a source position `u` (pixels, continuous, pixel `i` spanning `[i, i + 1)`)
 * is at `u × scale + offset` in the input. Used to resample into the input and to map model-size maps back.
 */
export interface InputPlacement {
  /** Input rows per source row. */
  scaleY: number;
  /** Input columns per source column. */
  scaleX: number;
  /** Input rows above the image (letterbox padding). */
  offsetY: number;
  /** Input columns left of the image (letterbox padding). */
  offsetX: number;
}

/**
 * Resolves a window preset name or explicit window.
 *
 * @param w - preset name (`lung`, `mediastinum`, `bone`, `brain`, `abdomen`) or centre/width
 * @returns centre and width
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for an unknown preset, a width that is not a finite
 *   number > 0 or a centre that is not a finite number
 */
export function resolveWindow(w: WindowPresetName | WindowSpec): WindowSpec {
  if (typeof w === 'string') {
    const p = Object.hasOwn(WINDOW_PRESETS, w) ? WINDOW_PRESETS[w] : undefined;
    if (!p) throw new LeptonError('INVALID_ARGUMENT', `Unknown window preset ${describeValue(w)}.`);
    return { center: p.center, width: p.width };
  }
  const width: unknown = typeof w === 'object' && w !== null ? w.width : undefined;
  // finite: an infinite width makes every windowed value ∞/∞ = NaN
  if (typeof width !== 'number' || !Number.isFinite(width) || !(width > 0)) throw new LeptonError('INVALID_ARGUMENT', `Window width must be a finite number > 0, got ${describeValue(width)}.`);
  const center: unknown = (w as WindowSpec).center;
  if (typeof center !== 'number' || !Number.isFinite(center)) throw new LeptonError('INVALID_ARGUMENT', `Window centre must be a finite number, got ${describeValue(center)}.`);
  return { center, width };
}

/**
 * Modality values (e.g. HU) of a frame, windowed to [0, 1].
 *
 * @param image - a DICOM image
 * @param window - window on modality values
 * @param frame - frame index. Default 0.
 * @returns rows × columns values in [0, 1], row-major
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a colour image; `INVALID_ARGUMENT` for a window
 *   {@link resolveWindow} refuses or an `image` that is not a DicomImage
 */
export async function windowedFrame(image: DicomImage, window: WindowSpec, frame = 0): Promise<Float32Array> {
  // A JavaScript caller's NaN centre or infinite width would make every value NaN; the resolved window is the one used,
  // so a preset name ('lung') works too (its undefined centre and width made every value NaN).
  const w = resolveWindow(window);
  if (typeof image !== 'object' || image === null || typeof image.decodeFrame !== 'function') {
    throw new LeptonError('INVALID_ARGUMENT', `Expected a DicomImage (from readDicom), got ${describeValue(image)}.`);
  }
  const decoded = await image.decodeFrame(frame);
  if (decoded.samplesPerPixel !== 1) throw new LeptonError('INVALID_INPUT', `The image has ${decoded.samplesPerPixel} samples per pixel; diagnosis models take greyscale images.`, { details: sourceDetails(image) });
  const values = applyModalityLut(decoded, image.meta);
  const lo = w.center - w.width / 2;
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = (values[i]! - lo) / w.width;
    out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return out;
}

/**
 * Bilinear resize of a single-channel image (pixel centres aligned, as image libraries do).
 *
 * @param src - rows × columns finite numbers, row-major
 * @param rows - source rows
 * @param cols - source columns
 * @param size - target `[rows, columns]`
 * @returns the resized image
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for `rows`, `cols` or a `size` entry that is not an
 *   integer from 1 to 65535, or a `src` that is not array-like of `rows × cols` values; `INVALID_INPUT` (with
 *   `details.index`) for a value that is not a finite number
 */
export function resizeBilinear(src: ArrayLike<number>, rows: number, cols: number, size: [number, number]): Float32Array {
  const side = (v: unknown, what: string): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_SIDE) throw new LeptonError('INVALID_ARGUMENT', `resizeBilinear: ${what} must be an integer from 1 to ${MAX_SIDE}, got ${describeValue(v)}.`);
    return v;
  };
  side(rows, 'rows');
  side(cols, 'cols');
  if (!Array.isArray(size) || size.length !== 2) throw new LeptonError('INVALID_ARGUMENT', `resizeBilinear: size must be [rows, columns], got ${describeValue(size)}.`);
  const target: [number, number] = [side(size[0], 'size[0]'), side(size[1], 'size[1]')];
  const length: unknown = typeof src === 'object' && src !== null ? src.length : undefined;
  if (length !== rows * cols) throw new LeptonError('INVALID_ARGUMENT', `resizeBilinear: src must hold rows × cols = ${rows * cols} values, got ${describeValue(typeof length === 'number' ? length : src)}.`);
  for (let i = 0; i < rows * cols; i++) {
    const v: unknown = src[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new LeptonError('INVALID_INPUT', `resizeBilinear: value ${i} is ${describeValue(v)}, not a finite number.`, { details: { index: i } });
  }
  return bilinear(src, rows, cols, target);
}

/** Largest side {@link resizeBilinear} takes: DICOM Rows and Columns are 16-bit. */
const MAX_SIDE = 65535;

/** {@link resizeBilinear} on checked arguments (the path preprocessing takes, on its own windowed images). */
function bilinear(src: ArrayLike<number>, rows: number, cols: number, size: [number, number]): Float32Array {
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
 * Where an image of `rows × cols` lies in the model input under the preprocessing's `fit`.
 *
 * @param rows - image rows
 * @param cols - image columns
 * @param prep - the preprocessing (its `size` and `fit`)
 * @returns scale and offset per axis (source pixels → input pixels)
 */
export function inputPlacement(rows: number, cols: number, prep: Pick<ImagePreprocessing, 'size' | 'fit'>): InputPlacement {
  const [h, w] = prep.size;
  if ((prep.fit ?? 'stretch') === 'stretch') return { scaleY: h / rows, scaleX: w / cols, offsetY: 0, offsetX: 0 };
  const s = Math.min(h / rows, w / cols);
  return { scaleY: s, scaleX: s, offsetY: (h - rows * s) / 2, offsetX: (w - cols * s) / 2 };
}

/** Source taps of each output position along one axis: `taps[start[o] … start[o + 1])`, none where it is padding. */
interface AxisTaps {
  start: Int32Array;
  index: Int32Array;
  weight: Float64Array;
}

function axisTaps(n: number, m: number, scale: number, offset: number, mode: InputResample): AxisTaps {
  const start = new Int32Array(m + 1);
  const index: number[] = [];
  const weight: number[] = [];
  for (let o = 0; o < m; o++) {
    start[o] = index.length;
    const u = (o + 0.5 - offset) / scale; // the output pixel's centre, in source pixels
    if (u < 0 || u >= n) continue; // letterbox padding
    if (mode === 'area' && scale < 1) {
      // Every source pixel the output pixel covers, weighted by the length covered.
      const a = Math.max(0, (o - offset) / scale);
      const b = Math.min(n, (o + 1 - offset) / scale);
      for (let k = Math.floor(a); k < b; k++) {
        const cover = Math.min(b, k + 1) - Math.max(a, k);
        if (cover > 1e-9) (index.push(k), weight.push(cover / (b - a)));
      }
    } else {
      const x = Math.min(n - 1, Math.max(0, u - 0.5));
      const x0 = Math.floor(x);
      const f = x - x0;
      index.push(x0, Math.min(n - 1, x0 + 1));
      weight.push(1 - f, f);
    }
  }
  start[m] = index.length;
  return { start, index: Int32Array.from(index), weight: Float64Array.from(weight) };
}

/**
 * Resamples a single-channel `rows × cols` image to the model input under the preprocessing's `size`, `fit` and
 * `resample` (separable: columns, then rows). Letterbox padding is 0, the bottom of the window.
 *
 * @param src - rows × columns, row-major (windowed values)
 * @param rows - source rows
 * @param cols - source columns
 * @param prep - the preprocessing
 * @returns `size[0] × size[1]` values
 */
export function resampleToInput(src: ArrayLike<number>, rows: number, cols: number, prep: Pick<ImagePreprocessing, 'size' | 'fit' | 'resample'>): Float32Array {
  const [h, w] = prep.size;
  const mode = prep.resample ?? 'bilinear';
  const fit = prep.fit ?? 'stretch';
  // Bundles from before fit/resample existed (and every square image a stretch/bilinear model sees) keep the exact
  // arithmetic they were trained with: never route them through the separable path, whose rounding differs.
  if (mode === 'bilinear' && (fit === 'stretch' || rows * w === cols * h)) return bilinear(src, rows, cols, [h, w]);
  const p = inputPlacement(rows, cols, { size: [h, w], fit });
  if (rows === h && cols === w && p.offsetX === 0 && p.offsetY === 0) return Float32Array.from(src);
  const tx = axisTaps(cols, w, p.scaleX, p.offsetX, mode);
  const ty = axisTaps(rows, h, p.scaleY, p.offsetY, mode);
  const mid = new Float64Array(rows * w);
  for (let r = 0; r < rows; r++) {
    const row = r * cols;
    for (let c = 0; c < w; c++) {
      let v = 0;
      for (let t = tx.start[c]!; t < tx.start[c + 1]!; t++) v += src[row + tx.index[t]!]! * tx.weight[t]!;
      mid[r * w + c] = v;
    }
  }
  const out = new Float32Array(h * w);
  for (let r = 0; r < h; r++) {
    const t0 = ty.start[r]!;
    const t1 = ty.start[r + 1]!;
    if (t0 === t1) continue;
    for (let c = 0; c < w; c++) {
      if (tx.start[c] === tx.start[c + 1]) continue;
      let v = 0;
      for (let t = t0; t < t1; t++) v += mid[ty.index[t]! * w + c]! * ty.weight[t]!;
      out[r * w + c] = v;
    }
  }
  return out;
}

/**
 * Maps a model-size map (a Grad-CAM heatmap, a probability map) back onto the source image: each source pixel takes the
 * bilinear value at its centre's position in the input, so letterbox padding is dropped and `stretch` undone.
 *
 * @param map - `size[0] × size[1]`, row-major
 * @param rows - source rows
 * @param cols - source columns
 * @param prep - the preprocessing (its `size` and `fit`)
 * @returns `rows × cols` values
 */
export function inputToSource(map: ArrayLike<number>, rows: number, cols: number, prep: Pick<ImagePreprocessing, 'size' | 'fit'>): Float32Array {
  const [h, w] = prep.size;
  const p = inputPlacement(rows, cols, prep);
  const out = new Float32Array(rows * cols);
  const xs = Array.from({ length: cols }, (_, c) => {
    const x = Math.min(w - 1, Math.max(0, (c + 0.5) * p.scaleX + p.offsetX - 0.5));
    const x0 = Math.floor(x);
    return [x0, Math.min(w - 1, x0 + 1), x - x0] as const;
  });
  for (let r = 0; r < rows; r++) {
    const y = Math.min(h - 1, Math.max(0, (r + 0.5) * p.scaleY + p.offsetY - 0.5));
    const y0 = Math.floor(y);
    const y1 = Math.min(h - 1, y0 + 1);
    const fy = y - y0;
    for (let c = 0; c < cols; c++) {
      const [x0, x1, fx] = xs[c]!;
      const top = map[y0 * w + x0]! * (1 - fx) + map[y0 * w + x1]! * fx;
      const bottom = map[y1 * w + x0]! * (1 - fx) + map[y1 * w + x1]! * fx;
      out[r * cols + c] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

/**
 * The model input for one image: modality LUT → window → resample to the input size (`fit`, `resample`) →
 * normalisation. One plane: a model that stacks slices needs the image's neighbours, see {@link preprocessStack}.
 *
 * @param image - a DICOM image
 * @param prep - the preprocessing stored with the model
 * @param frame - frame index. Default 0.
 * @returns `size[0] × size[1]` normalised values, and the windowed image at model size (for overlays)
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when `prep.slices` is above 1, or for a `prep` that is
 *   not one a model could store (`details.option` names the field: a window without a finite centre and width > 0, a
 *   size that is not two integers from 1 to 512, a mean that is not finite, a std that is not finite and > 0, an
 *   unknown `fit` or `resample`), or an `image` that is not a DicomImage; `INVALID_INPUT` for a colour image
 */
export async function preprocessImage(image: DicomImage, prep: ImagePreprocessing, frame = 0): Promise<PreprocessedImage> {
  checkPreprocessing(prep, 'preprocessImage');
  if ((prep.slices ?? 1) !== 1) throw new LeptonError('INVALID_ARGUMENT', `This preprocessing stacks ${prep.slices} slices; build the input from the image's series with preprocessStack(image, series, prep).`);
  const windowed = await windowedPlane(image, prep, frame);
  const input = new Float32Array(windowed.length);
  for (let i = 0; i < windowed.length; i++) input[i] = (windowed[i]! - prep.mean) / prep.std;
  return { input, windowed };
}

/** @internal One image windowed and resampled to the input size. */
export async function windowedPlane(image: DicomImage, prep: ImagePreprocessing, frame = 0): Promise<Float32Array> {
  const win = await windowedFrame(image, prep.window, frame);
  return resampleToInput(win, image.meta.rows, image.meta.columns, prep);
}

/** @internal Running mean and standard deviation over every pixel of the images added, in the order added. */
export class PixelStatistics {
  #sum = 0;
  #sq = 0;
  #count = 0;

  add(image: ArrayLike<number>): void {
    for (let i = 0; i < image.length; i++) {
      const v = image[i]!;
      this.#sum += v;
      this.#sq += v * v;
      this.#count++;
    }
  }

  result(): { mean: number; std: number } {
    const mean = this.#sum / this.#count;
    return { mean, std: Math.sqrt(Math.max(1e-12, this.#sq / this.#count - mean ** 2)) };
  }
}

/**
 * @internal Normalisation statistics of windowed training images: mean and standard deviation over every pixel.
 */
export function pixelStats(images: readonly Float32Array[]): { mean: number; std: number } {
  const stats = new PixelStatistics();
  for (const w of images) stats.add(w);
  return stats.result();
}
