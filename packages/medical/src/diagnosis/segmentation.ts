import { buildUnet, describeValue, diceCoefficient, diceLoss, LeptonError, loadBundle, progressReporter, saveBundle, tf, train, type ProgressOptions } from '@lepton/core';
import type { DicomImage } from '../dicom/image.js';
import type { WindowPresetName } from '../lut/presets.js';
import { arrayInput, checkOptionsObject, integerOption, numberOption, recordInput, sourceDetails, stringOption } from './option-checks.js';
import { unitSliceNormal } from '../volume/vec.js';
import { inputToSource, pixelStats, preprocessImage, resampleToInput, resolveWindow, type ImagePreprocessing, type WindowSpec } from './preprocess.js';

/** An image with its reference lesion mask (1 inside), in image coordinates (rows × columns, row-major). */
export interface MaskedImage {
  /** The DICOM image. */
  image: DicomImage;
  /** Lesion mask, `rows × columns` of the image. */
  mask: ArrayLike<number>;
}

/**
 * Options for {@link LesionSegmenter.fit}. `onProgress` and `progressBar` (see `ProgressOptions` in `@lepton/core`)
 * report the U-Net's training as core `train()` does: `start`, batches and an `epoch` per epoch (Dice loss), `end`.
 */
export interface SegmenterOptions extends ProgressOptions {
  /** Window on modality values. Default `lung`. */
  window?: WindowPresetName | WindowSpec;
  /** Model input size (square, divisible by 2^depth). Default 64. */
  size?: number;
  /** U-Net filters at the first level. Default 8. */
  baseFilters?: number;
  /** U-Net levels. Default 2. */
  depth?: number;
  /** Default 15. */
  epochs?: number;
  /** Default 8. */
  batchSize?: number;
  /** Default 5e-3. */
  learningRate?: number;
  /** Default 1. */
  seed?: number;
  /** Bundle name. Default `lesion-segmenter`. */
  name?: string;
  /** Bundle version. Default `1.0.0`. */
  version?: string;
}

/** Dice of predicted against reference masks. */
export interface SegmentationEvaluation {
  /** Mean Dice over images where either mask has a lesion. */
  lesionDice: number;
  /** Mean Dice over all images (two empty masks count as 1). */
  meanDice: number;
  /** Dice per image, in the given order. */
  perImage: number[];
}

/** A predicted lesion mask. */
export interface Segmentation {
  /** Mask in image coordinates (`rows × columns`, 1 = lesion). */
  mask: Uint8Array;
  /** Image rows. */
  rows: number;
  /** Image columns. */
  columns: number;
  /** Lesion pixels. */
  pixels: number;
  /** Lesion area, mm² (from Pixel Spacing; NaN when the image has none). */
  areaMm2: number;
  /** Where the image came from. */
  source?: string;
}

/** A series' masks and the lesion volume. */
export interface SeriesSegmentation {
  /** One mask per image, in the given order. */
  slices: Segmentation[];
  /** Slice spacing used for the volume, mm (from the images' positions, else Slice Thickness). */
  sliceSpacingMm: number;
  /** Lesion volume, mm³: Σ area × slice spacing. */
  volumeMm3: number;
}

interface Settings extends ImagePreprocessing {
  name: string;
  version: string;
}

/**
 * 2-D lesion segmentation: `@lepton/core`'s U-Net trained with soft Dice loss on windowed DICOM images, evaluated by
 * Dice; masks come back in image coordinates with their area (mm²) and, for a series, the lesion volume (mm³).
 */
export class LesionSegmenter {
  private constructor(
    private readonly net: tf.LayersModel,
    private readonly settings: Settings,
  ) {}

  /** The preprocessing stored with the model. */
  get preprocessing(): ImagePreprocessing {
    const { window, size, mean, std, fit, resample } = this.settings;
    return { window: { ...window }, size: [...size], mean, std, fit: fit ?? 'stretch', resample: resample ?? 'bilinear' };
  }

  /**
   * Trains on images with reference masks.
   *
   * @param samples - images and masks (include lesion-free images too, so the model learns to answer "nothing")
   * @param options - window, size, U-Net shape, training
   * @returns the segmenter
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for `samples` that is not an array of `{ image, mask }`,
   *   masks of the wrong size, holding anything but finite numbers, or no lesion at all; `INVALID_ARGUMENT` for an
   *   image that is not a `DicomImage`, options that are not an object, a bad `depth` (1–6), `size` (an integer
   *   divisible by 2^depth, at most 512), `baseFilters`, `epochs`, `seed`, `name`, `version`, `onProgress` or
   *   `progressBar` (all before any work); `PROGRESS_LISTENER_FAILED` when the
   *   `onProgress` listener throws (training stops, nothing is kept)
   */
  static async fit(samples: readonly MaskedImage[], options: SegmenterOptions = {}): Promise<LesionSegmenter> {
    checkOptionsObject(options, 'LesionSegmenter.fit');
    const progress = progressReporter(options, 'LesionSegmenter.fit');
    // Every option checked before any image is read: a Symbol used to be a TypeError mid-way, a NaN or '64' size a
    // U-Net that cannot be built, a '1' seed silently coerced.
    const depth = integerOption(options.depth, 'depth', 2, 1, 6);
    const size = integerOption(options.size, 'size', 64, 2 ** depth, 512);
    if (size % 2 ** depth !== 0) throw new LeptonError('INVALID_ARGUMENT', `size must be divisible by 2^depth (${2 ** depth}), got ${size}.`, { details: { option: 'size' } });
    const baseFilters = integerOption(options.baseFilters, 'baseFilters', 8, 1, 256);
    const epochs = integerOption(options.epochs, 'epochs', 15, 1, 100_000);
    const seed = numberOption(options.seed, 'seed', 1);
    const name = stringOption(options.name, 'name', 'lesion-segmenter');
    const version = stringOption(options.version, 'version', '1.0.0');
    arrayInput(samples, 'LesionSegmenter.fit: samples');
    samples.forEach((s, i) => checkMaskedImage(s, i));
    // Images shrink by area averaging (a 512×512 slice into a 64×64 input without aliasing) and keep their aspect ratio;
    // bundles from before these options load as they were trained (stretched, bilinear).
    const settings: Settings = { window: resolveWindow(options.window ?? 'lung'), size: [size, size], mean: 0, std: 1, fit: 'letterbox', resample: 'area', name, version };
    let lesionPixels = 0;
    for (const s of samples) {
      if (s.mask.length !== s.image.meta.rows * s.image.meta.columns) throw new LeptonError('INVALID_INPUT', `A mask has ${s.mask.length} values, its image ${s.image.meta.rows}×${s.image.meta.columns}.`, { details: sourceDetails(s.image) });
      for (let i = 0; i < s.mask.length; i++) lesionPixels += s.mask[i]! > 0 ? 1 : 0;
    }
    if (lesionPixels === 0) throw new LeptonError('INVALID_INPUT', 'No training mask contains a lesion.');
    const windowed = await Promise.all(samples.map(async (s) => (await preprocessImage(s.image, settings)).windowed));
    Object.assign(settings, pixelStats(windowed));
    const n = samples.length;
    const xs = new Float32Array(n * size * size);
    const ys = new Float32Array(n * size * size);
    samples.forEach((s, i) => {
      windowed[i]!.forEach((v, k) => (xs[i * size * size + k] = (v - settings.mean) / settings.std));
      const m = resampleToInput(s.mask, s.image.meta.rows, s.image.meta.columns, settings);
      m.forEach((v, k) => (ys[i * size * size + k] = v >= 0.5 ? 1 : 0));
    });
    const net = buildUnet({ inputShape: [size, size, 1], baseFilters, depth, seed, name: 'lesion_unet' });
    const x = tf.tensor4d(xs, [n, size, size, 1]);
    const y = tf.tensor4d(ys, [n, size, size, 1]);
    try {
      await train(net, { x, y }, {
        loss: diceLoss(),
        epochs,
        batchSize: options.batchSize ?? 8,
        learningRate: options.learningRate ?? 5e-3,
        seed,
        earlyStopping: false,
        progressBar: false,
        ...(progress ? { onProgress: progress } : {}),
      });
    } catch (err) {
      net.dispose();
      throw err;
    } finally {
      tf.dispose([x, y]);
    }
    return new LesionSegmenter(net, settings);
  }

  /**
   * Segments one image.
   *
   * @param image - a DICOM image
   * @returns the mask in image coordinates, its pixel count and area in mm²
   */
  async predict(image: DicomImage): Promise<Segmentation> {
    const [h, w] = this.settings.size;
    const { input } = await preprocessImage(image, this.settings);
    // data(), never dataSync(): a synchronous read blocks a GPU backend (and throws on WebGPU in Node).
    const out = tf.tidy(() => this.net.predict(tf.tensor4d(input, [1, h, w, 1])) as tf.Tensor);
    let prob: Float32Array;
    try {
      prob = (await out.data()) as Float32Array;
    } finally {
      out.dispose();
    }
    const { rows, columns, pixelSpacing } = image.meta;
    const up = inputToSource(prob, rows, columns, this.settings);
    const mask = new Uint8Array(rows * columns);
    let pixels = 0;
    for (let i = 0; i < mask.length; i++) if (up[i]! >= 0.5) (mask[i] = 1), pixels++;
    const areaMm2 = pixelSpacing ? pixels * pixelSpacing[0] * pixelSpacing[1] : Number.NaN;
    return { mask, rows, columns, pixels, areaMm2, ...(image.source !== undefined ? { source: image.source } : {}) };
  }

  /**
   * Segments every image of a series and sums the lesion volume.
   *
   * @param images - the series (any order)
   * @returns per-image masks and the volume in mm³ (finite and ≥ 0)
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` when an image has no Pixel Spacing, the orientation is
   *   unusable (zero or non-perpendicular direction cosines), or the slice spacing is unknown (no distinct positions and
   *   no Slice Thickness > 0): a partial or NaN volume is never returned
   */
  async predictSeries(images: readonly DicomImage[]): Promise<SeriesSegmentation> {
    arrayInput(images, 'LesionSegmenter.predictSeries: images');
    const slices: Segmentation[] = [];
    for (const im of images) slices.push(await this.predict(im));
    const sliceSpacingMm = sliceSpacing(images);
    const noArea = slices.findIndex((s) => !(Number.isFinite(s.areaMm2) && s.areaMm2 >= 0));
    if (noArea >= 0) {
      throw new LeptonError('INVALID_INPUT', `images[${noArea}] has no usable Pixel Spacing, so its lesion area and the series' volume are unknown.`, {
        details: { index: noArea, ...sourceDetails(images[noArea]!) },
      });
    }
    const volumeMm3 = slices.reduce((a, s) => a + s.areaMm2, 0) * sliceSpacingMm;
    return { slices, sliceSpacingMm, volumeMm3 };
  }

  /**
   * Dice of predicted against reference masks.
   *
   * @param samples - images and reference masks
   * @returns Dice over lesion images, over all images, and per image
   */
  async evaluate(samples: readonly MaskedImage[]): Promise<SegmentationEvaluation> {
    arrayInput(samples, 'LesionSegmenter.evaluate: samples');
    samples.forEach((s, i) => checkMaskedImage(s, i));
    const perImage: number[] = [];
    const lesion: number[] = [];
    for (const s of samples) {
      const p = await this.predict(s.image);
      const d = diceCoefficient(s.mask, p.mask);
      perImage.push(d);
      if (p.pixels > 0 || Array.prototype.some.call(s.mask, (v: number) => v > 0)) lesion.push(d);
    }
    const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
    return { lesionDice: mean(lesion), meanDice: mean(perImage), perImage };
  }

  /**
   * Saves as a verified core bundle with its preprocessing.
   *
   * @param dir - target directory
   */
  async save(dir: string): Promise<void> {
    await saveBundle(this.net, dir, { name: this.settings.name, version: this.settings.version, task: 'binary', preprocessing: { ...this.settings } as unknown as Record<string, unknown>, description: 'Lepton lesion segmenter (U-Net, Dice loss)' });
  }

  /**
   * Loads a segmenter saved by {@link save}.
   *
   * @param dir - bundle directory
   * @returns the segmenter
   * @throws {@link @lepton/core!LeptonError} `BUNDLE_INVALID` when the bundle is not a segmenter
   */
  static async load(dir: string): Promise<LesionSegmenter> {
    const b = await loadBundle(dir);
    const s = b.manifest.preprocessing as unknown as Settings | undefined;
    if (!s?.window || !s.size || typeof s.mean !== 'number') throw new LeptonError('BUNDLE_INVALID', `${dir} is not a Lepton lesion segmenter.`);
    return new LesionSegmenter(b.model, { ...s, name: b.manifest.name, version: b.manifest.version });
  }

  /** Frees the network's weights. */
  dispose(): void {
    this.net.dispose();
  }
}

/**
 * One image with its mask, as a JavaScript caller may hand it: the mask must be an array (or typed array) of finite
 * numbers, one per pixel. A Symbol in it was a TypeError, a NaN or '1' was read as background or coerced to lesion.
 */
function checkMaskedImage(s: MaskedImage, i: number): void {
  recordInput(s, `samples[${i}]`);
  const mask: unknown = s.mask;
  if (!(Array.isArray(mask) || (ArrayBuffer.isView(mask) && !(mask instanceof DataView)))) {
    throw new LeptonError('INVALID_INPUT', `samples[${i}].mask must be an array or typed array of numbers, got ${describeValue(mask)}.`);
  }
  const values = mask as ArrayLike<unknown>;
  const { rows, columns } = s.image.meta;
  if (values.length !== rows * columns) throw new LeptonError('INVALID_INPUT', `samples[${i}].mask has ${values.length} values, its image ${rows}×${columns}.`, { details: sourceDetails(s.image) });
  for (let p = 0; p < values.length; p++) {
    const v = values[p];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new LeptonError('INVALID_INPUT', `samples[${i}].mask[${p}] must be a finite number, got a value of type ${typeof v}.`);
  }
}

/**
 * Slice spacing of a series: the median gap between positions along the unit slice normal, else (a single slice, or
 * images without positions) Spacing Between Slices or Slice Thickness.
 *
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` when the orientation is unusable or no spacing > 0 is known
 */
function sliceSpacing(images: readonly DicomImage[]): number {
  const o = images[0]?.meta.imageOrientationPatient;
  const ps = images.map((im) => im.meta.imagePositionPatient).filter((p): p is readonly [number, number, number] => p !== undefined);
  if (o && ps.length === images.length && ps.length > 1) {
    const nrm = unitSliceNormal(o);
    if (nrm === undefined) {
      throw new LeptonError('INVALID_INPUT', 'The series\' Image Orientation (Patient) is unusable (a zero direction, or row and column directions that are not perpendicular), so its slice spacing is unknown.', {
        details: { orientation: [...o] },
      });
    }
    const d = ps.map((p) => p[0] * nrm[0] + p[1] * nrm[1] + p[2] * nrm[2]).sort((a, b) => a - b);
    const gaps = d.slice(1).map((v, i) => v - d[i]!).sort((a, b) => a - b);
    const median = gaps[Math.floor(gaps.length / 2)]!;
    if (Number.isFinite(median) && median > 0) return median;
  }
  const m = images[0]?.meta;
  const spacing = m?.spacingBetweenSlices !== undefined && m.spacingBetweenSlices > 0 ? m.spacingBetweenSlices : m?.sliceThickness;
  if (spacing === undefined || !(Number.isFinite(spacing) && spacing > 0)) {
    throw new LeptonError(
      'INVALID_INPUT',
      `The series' slice spacing is unknown: its images give no distinct positions along the normal and ${spacing === undefined ? 'no' : 'an unusable'} Slice Thickness (it must be > 0), so no lesion volume can be computed.`,
      { details: { sliceThickness: m?.sliceThickness } },
    );
  }
  return spacing;
}
