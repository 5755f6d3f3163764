import { describeValue, heatmapToPng, LeptonError, loadBundle, type LoadBundleOptions, progressReporter, rocAuc, saveBundle, tf, train, ModelWorkers, resolveWorkersOption, type ProgressOptions, type ProgressReporter } from '@lepton/core';
import { decodeFloats, encodeFloats, imageList, optionsOf, packImages, positiveInt, seedOf, stackImages, type GrayImage } from './images.js';
import { each, finiteResult, kindOf } from '../internal/guards.js';
import { checkQuantile, damagedScores, isQuantile, keepSortedScores, sortedQuantile } from '../internal/scores.js';
import { buildAutoencoder, smoothedError } from './reconstruction.js';

/** Most images per request to a worker: a batch is cut into one chunk per worker, and big batches into chunks of 8. */
const WORKER_CHUNK = 8;

/** Most good-part scores an inspector keeps for its threshold (a bundle stays small); more are thinned evenly. */
const MAX_GOOD_SCORES = 100_000;

/**
 * Options for {@link DefectInspector.fit}. Every field is optional. `onProgress` and `progressBar` (see
 * `ProgressOptions` in `@lepton/core`) report the autoencoder's training as core `train()` does: `start`, batches and
 * an `epoch` per epoch, `end`.
 */
export interface DefectInspectorOptions extends ProgressOptions {
  /** Image width in pixels, a multiple of 8. Default 64. */
  width?: number;
  /** Image height in pixels, a multiple of 8. Default 64. */
  height?: number;
  /** Filters of the three encoder stages (each halves the resolution). Default `[8, 16, 16]`. */
  filters?: [number, number, number];
  /** Channels of the bottleneck at 1/8 resolution: fewer means less of a defect can be copied through. Default 8. */
  latentChannels?: number;
  /** Side of the box filter that smooths the per-pixel error (odd). Default 5. */
  smoothing?: number;
  /** Training epochs. Default 15. */
  epochs?: number;
  /** Images per gradient step. Default 8. */
  batchSize?: number;
  /** Learning rate (Adam). Default 2e-3. */
  learningRate?: number;
  /** Share of the good images (the last ones) held out to set the threshold. Default 0.25. */
  validationFraction?: number;
  /**
   * Threshold quantile of the held-out good scores. Default 0.99. A quantile q rests on about 1 ÷ (1 − q) good images
   * (100 for 0.99): with fewer held out, the threshold is their largest score and fresh good parts are flagged more
   * often than 1 − q — add good images with {@link DefectInspector.calibrate}.
   */
  quantile?: number;
  /** Seed for the initial weights and shuffling. Default 1. */
  seed?: number;
  /**
   * Worker threads inspecting images ({@link DefectInspector.inspectBatch}, {@link DefectInspector.inspect},
   * {@link DefectInspector.evaluate}). Default 1: in this thread, as before. With 2 or more, or `'auto'` (one per
   * core, capped by free memory), each worker loads a copy of the trained autoencoder on this thread's backend when the
   * inspector first inspects, and a batch's images are cut into chunks (one per worker, at most 8 images each) that run
   * at once; the heatmaps are computed here from their reconstructions. Results are the same as in this thread
   * (bitwise on `wasm`). Training is unaffected.
   */
  workers?: number | 'auto';
}

/** One image's inspection result from {@link DefectInspector.inspect}. */
export interface InspectionResult {
  /** Image-level anomaly score: the maximum of `heatmap`. */
  score: number;
  /** Whether `score` exceeds the current threshold. */
  defective: boolean;
  /**
   * Per-pixel anomaly, row-major `height × width`: how many good-part standard deviations the smoothed
   * reconstruction error at that pixel lies above its good-part mean (≤ 0 looks normal).
   */
  heatmap: Float32Array;
  /** Heatmap width in pixels. */
  width: number;
  /** Heatmap height in pixels. */
  height: number;
}

/** A labelled test image for {@link DefectInspector.evaluate}. */
export interface InspectionSample {
  /** The image. */
  image: GrayImage;
  /** Ground-truth defect mask (1 = defect pixel), same layout as the image; needed for the pixel AUROC. */
  mask?: ArrayLike<number>;
  /** Class name; anything but `good` counts as defective. Without a label, a sample is defective when its mask has a 1. */
  label?: string;
}

/** Options for {@link DefectInspector.calibrate}. */
export interface InspectionCalibrateOptions {
  /** Threshold quantile of all good-part scores. Default: the quantile last set (by `fit` or `setThresholdQuantile`), else 0.99. */
  quantile?: number;
}

/** What {@link DefectInspector.calibrate} did. */
export interface InspectionCalibration {
  /** Good images scored and added. */
  added: number;
  /** Good-part scores the threshold is now a quantile of (held out by `fit`, plus every calibration; at most 100,000, thinned evenly beyond). */
  goodImages: number;
  /** The new threshold. */
  threshold: number;
}

/** Detection quality from {@link DefectInspector.evaluate}. */
export interface InspectionEvaluation {
  /** ROC AUC of the image scores for defective vs good images. */
  imageAuroc: number;
  /** ROC AUC of the heatmap values for defect vs normal pixels, over samples with a mask (absent without masks or defect pixels). */
  pixelAuroc?: number;
  /** Threshold the rates below were counted at. */
  threshold: number;
  /** Share of defective images scored above the threshold. */
  detectionRate: number;
  /** Share of good images scored above the threshold. */
  falseAlarmRate: number;
}

interface Settings {
  kind: 'lepton-defect-inspector';
  width: number;
  height: number;
  smoothing: number;
  /** Per-pixel mean and standard deviation of the smoothed error on good training images (base64 float32). */
  errorMean: string;
  errorStd: string;
  /** Added to every pixel's standard deviation so flat, near-perfectly reconstructed areas cannot explode. */
  floor: number;
  /** Sorted good-part scores (held out by `fit`, plus calibration images): the threshold can be re-chosen by quantile without retraining. */
  validationScores: number[];
  threshold: number;
  /** The quantile the threshold was last set to (absent after {@link DefectInspector.setThreshold}, and in bundles saved before it was kept). */
  quantile?: number;
}

/**
 * Why a loaded inspector's preprocessing cannot be used, or undefined. A damaged field would otherwise give NaN or
 * −Infinity scores (never above the threshold: every part would pass) or a raw TensorFlow error at inspection time.
 */
function damagedSettings(s: Settings, model: tf.LayersModel): string | undefined {
  const posInt = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v > 0;
  if (!posInt(s.width) || !posInt(s.height) || s.width % 8 !== 0 || s.height % 8 !== 0 || s.width > 4096 || s.height > 4096) {
    return 'its width and height are not positive multiples of 8 (at most 4096)';
  }
  const shape = model.inputs[0]?.shape;
  if (!shape || shape.length !== 4 || shape[1] !== s.height || shape[2] !== s.width || shape[3] !== 1) return "its width and height do not match the model's input";
  if (!posInt(s.smoothing) || s.smoothing % 2 === 0 || s.smoothing > Math.min(s.width, s.height)) return 'its smoothing is not an odd integer ≥ 1 (at most the image size)';
  if (typeof s.floor !== 'number' || !Number.isFinite(s.floor) || s.floor < 0) return 'its floor is not a finite number ≥ 0';
  const pixels = s.width * s.height;
  // base64 of pixels float32 values: checked before decoding, so a huge string is never decoded.
  for (const field of ['errorMean', 'errorStd'] as const) {
    if (s[field].length !== 4 * Math.ceil((4 * pixels) / 3)) return `its ${field} does not hold width × height values`;
  }
  const mean = decodeFloats(s.errorMean);
  const std = decodeFloats(s.errorStd);
  if (mean.length !== pixels || std.length !== pixels) return 'its error statistics do not hold width × height values';
  for (let i = 0; i < pixels; i++) {
    if (!Number.isFinite(mean[i]!)) return 'its errorMean holds a value that is not finite';
    const d = std[i]!;
    if (!Number.isFinite(d) || d < 0) return 'its errorStd holds a value that is not a finite number ≥ 0';
    if (!(d + s.floor > 0)) return 'its errorStd + floor is 0 for some pixel (scores would be infinite)';
  }
  return undefined;
}

type ResolvedOptions = Required<Omit<DefectInspectorOptions, 'workers' | 'onProgress' | 'progressBar'>> & { workers: number; progress: ProgressReporter | undefined };

function resolve(options: DefectInspectorOptions): ResolvedOptions {
  optionsOf(options, 'DefectInspector.fit');
  const r: ResolvedOptions = {
    width: options.width ?? 64,
    height: options.height ?? 64,
    filters: options.filters ?? [8, 16, 16],
    latentChannels: options.latentChannels ?? 8,
    smoothing: options.smoothing ?? 5,
    epochs: options.epochs ?? 15,
    batchSize: options.batchSize ?? 8,
    learningRate: options.learningRate ?? 2e-3,
    validationFraction: options.validationFraction ?? 0.25,
    quantile: options.quantile ?? 0.99,
    seed: options.seed ?? 1,
    workers: resolveWorkersOption(options.workers, 'DefectInspector.fit'),
    progress: progressReporter(options, 'DefectInspector.fit'),
  };
  for (const key of ['width', 'height', 'latentChannels', 'smoothing', 'epochs', 'batchSize'] as const) positiveInt(r[key], key);
  if (!Array.isArray(r.filters) || r.filters.length !== 3) throw new LeptonError('INVALID_ARGUMENT', `filters must be three positive integers (one per encoder stage), got ${describeValue(r.filters)}.`);
  each(r.filters, (f, i) => positiveInt(f, `filters[${i}]`));
  seedOf(r.seed, 'DefectInspector.fit');
  // Checked before training: a bad quantile would otherwise be refused only after every epoch had run.
  if (typeof r.quantile !== 'number' || !(r.quantile > 0 && r.quantile <= 1)) throw new LeptonError('INVALID_ARGUMENT', `quantile must be a number in (0, 1], got ${describeValue(r.quantile)}.`);
  if (r.width % 8 !== 0 || r.height % 8 !== 0) {
    throw new LeptonError('INVALID_ARGUMENT', `width and height must be multiples of 8 (three 2× downsamplings), got ${r.width}×${r.height}.`);
  }
  if (r.smoothing % 2 === 0) throw new LeptonError('INVALID_ARGUMENT', `smoothing must be odd, got ${r.smoothing}.`);
  if (typeof r.validationFraction !== 'number' || !(r.validationFraction > 0 && r.validationFraction < 1)) {
    throw new LeptonError('INVALID_ARGUMENT', `validationFraction must be a number in (0, 1), got ${describeValue(r.validationFraction)}.`);
  }
  if (typeof r.learningRate !== 'number' || !(r.learningRate > 0)) throw new LeptonError('INVALID_ARGUMENT', `learningRate must be a number > 0, got ${describeValue(r.learningRate)}.`);
  return r;
}

/** Checks {@link DefectInspector.evaluate}'s samples (the images are checked when they are stacked). */
function checkSamples(samples: unknown, pixels: number): asserts samples is InspectionSample[] {
  const fn = 'DefectInspector.evaluate';
  imageList(samples, fn, 'samples');
  each(samples as unknown[], (s, i) => {
    if (typeof s !== 'object' || s === null) throw new LeptonError('INVALID_INPUT', `${fn}: samples[${i}] must be an object { image, label?, mask? }, got ${describeValue(s)}.`, { details: { field: `samples[${i}]` } });
    const { label, mask } = s as { label?: unknown; mask?: unknown };
    if (label !== undefined && typeof label !== 'string') throw new LeptonError('INVALID_INPUT', `${fn}: samples[${i}].label must be a string, got ${describeValue(label)}.`, { details: { field: `samples[${i}].label` } });
    if (mask === undefined) return;
    if (mask === null || typeof mask !== 'object' || (mask as { length?: unknown }).length !== pixels) {
      throw new LeptonError('INVALID_INPUT', `${fn}: samples[${i}].mask must be ${pixels} values (one per pixel), like the image.`, { details: { field: `samples[${i}].mask` } });
    }
    // A mask value is compared with 0: a string or an object there would be coerced (or run its code), a NaN read as 0.
    for (let p = 0; p < pixels; p++) {
      const v = (mask as ArrayLike<unknown>)[p];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new LeptonError('INVALID_INPUT', `${fn}: samples[${i}].mask[${p}] must be a finite number (1 = defect pixel), got ${kindOf(v)}.`, { details: { field: `samples[${i}].mask[${p}]` } });
    }
  });
}

/**
 * Visual defect inspection trained on **good parts only**: a small convolutional autoencoder learns to
 * reconstruct defect-free images; where a part differs from anything it learned (a scratch, a dent), the
 * reconstruction error rises. The smoothed per-pixel error is compared with its mean and spread over good
 * parts at the same pixel — edges that are always hard to reconstruct (a bore, a chamfer) do not raise false
 * alarms, while a mark on a flat face stands out — giving a heatmap, and its maximum is the image score.
 * The threshold is a quantile of held-out good scores, can be set from more good parts
 * ({@link DefectInspector.calibrate}) and changed without retraining.
 *
 * @example
 * ```ts
 * import { DefectInspector, generateParts, initRuntime } from '@lepton/manufacturing';
 * await initRuntime({ backend: 'wasm' });
 * const good = generateParts(160, { seed: 1 }).map((p) => p.image);
 * const inspector = await DefectInspector.fit(good);
 * const [part] = generateParts(1, { seed: 2, labels: ['scratch'] });
 * console.log((await inspector.inspect(part!.image)).defective); // true
 * ```
 */
export class DefectInspector {
  private readonly errorMean: Float32Array;
  private readonly errorStd: Float32Array;
  readonly #engines: ModelWorkers;

  private constructor(
    private readonly model: tf.LayersModel,
    private readonly settings: Settings,
    workers: number,
  ) {
    this.errorMean = decodeFloats(settings.errorMean);
    this.errorStd = decodeFloats(settings.errorStd);
    this.#engines = new ModelWorkers(model, workers, WORKER_CHUNK, 'This DefectInspector');
  }

  /** Worker threads inspecting images (1: in this thread). */
  get workers(): number {
    return this.#engines.count;
  }

  /** Image width the inspector takes. */
  get width(): number {
    return this.settings.width;
  }

  /** Image height the inspector takes. */
  get height(): number {
    return this.settings.height;
  }

  /** Current image-score threshold. */
  get threshold(): number {
    return this.settings.threshold;
  }

  /**
   * Trains on images of good parts. The last `validationFraction` of them are held out to set the threshold.
   *
   * @param good - good-part images, `width × height` values in [0, 1] each
   * @param options - size, architecture, training and threshold settings
   * @returns the trained inspector
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for `good` that is not an array of at least 20 images, a
   *   wrong size, NaN or values outside [0, 1]; `INVALID_ARGUMENT` for bad options (options that are not an object, a
   *   size or count that is not an integer from 1 to 65,536, `filters` that are not three of those, a quantile outside
   *   (0, 1], a seed that is not finite, and `onProgress`/`progressBar`) — all before training;
   *   `PROGRESS_LISTENER_FAILED` when the `onProgress` listener throws (training stops, nothing is kept)
   */
  static async fit(good: readonly GrayImage[], options: DefectInspectorOptions = {}): Promise<DefectInspector> {
    const o = resolve(options);
    imageList(good, 'DefectInspector.fit', 'good');
    if (good.length < 20) throw new LeptonError('INVALID_INPUT', `Need at least 20 good images to learn from, got ${good.length}.`);
    const split = Math.round(good.length * (1 - o.validationFraction));
    // Checked before training: with no held-out image there is no threshold, with no training image nothing to learn.
    if (split < 1 || split > good.length - 1) {
      throw new LeptonError(
        'INVALID_ARGUMENT',
        `DefectInspector.fit: options.validationFraction ${o.validationFraction} leaves ${split} of ${good.length} images for training and ${good.length - split} held out; both need at least one.`,
        { details: { field: 'options.validationFraction' } },
      );
    }
    const size = { width: o.width, height: o.height };
    // Stack (and so validate) all images at once, so an error names the image's index in `good`.
    const all = stackImages(good, size, 'DefectInspector.fit');
    const x = tf.slice(all, 0, split);
    const heldOut = tf.slice(all, split);
    all.dispose();
    const model = buildAutoencoder(o);
    const pixels = o.width * o.height;
    const settings: Settings = {
      kind: 'lepton-defect-inspector',
      width: o.width,
      height: o.height,
      smoothing: o.smoothing,
      errorMean: encodeFloats(new Float32Array(pixels)),
      errorStd: encodeFloats(new Float32Array(pixels).fill(1)),
      floor: 0,
      validationScores: [],
      threshold: Infinity,
    };
    try {
      await train(model, { x, y: x }, {
        task: 'regression',
        epochs: o.epochs,
        batchSize: o.batchSize,
        learningRate: o.learningRate,
        earlyStopping: false,
        restoreBestWeights: false,
        seed: o.seed,
        progressBar: false,
        ...(o.progress ? { onProgress: o.progress } : {}),
      });
      // Per-pixel error statistics over the training images: what "normal" reconstruction error looks like where.
      const errors = tf.tidy(() => smoothedError(model, x, o.smoothing).reshape([split, pixels]));
      const mean = tf.tidy(() => tf.mean(errors, 0));
      const std = tf.tidy(() => tf.sqrt(tf.mean(tf.square(tf.sub(errors, mean)), 0)));
      let meanData: Float32Array;
      let stdData: Float32Array;
      try {
        [meanData, stdData] = (await Promise.all([mean.data(), std.data()])) as [Float32Array, Float32Array];
      } finally {
        tf.dispose([errors, mean, std]);
      }
      settings.errorMean = encodeFloats(meanData);
      settings.errorStd = encodeFloats(stdData);
      settings.floor = (0.1 * meanData.reduce((a, v) => a + v, 0)) / pixels;
      const inspector = new DefectInspector(model, settings, o.workers);
      settings.validationScores = keepSortedScores((await inspector.scoreTensor(heldOut)).scores, MAX_GOOD_SCORES);
      inspector.setThresholdQuantile(o.quantile);
      return inspector;
    } catch (err) {
      model.dispose();
      throw err;
    } finally {
      tf.dispose([x, heldOut]);
    }
  }

  /**
   * Heatmaps and scores of a stacked batch; every intermediate tensor is freed. The forward pass is dispatched before
   * the first `await` (unless `reconstruction`, the model's output for `x` from the workers, is given), so the caller
   * may dispose `x` once this returns its promise; the read-back is `data()`, never a synchronous read (it blocks a GPU
   * backend and throws on WebGPU in Node).
   */
  private async scoreTensor(x: tf.Tensor4D, reconstruction?: Float32Array): Promise<{ scores: number[]; maps: Float32Array }> {
    const { width, height, smoothing, floor } = this.settings;
    const n = x.shape[0];
    if (n === 0) return { scores: [], maps: new Float32Array(0) };
    const [maps, maxima] = tf.tidy(() => {
      const mean = tf.tensor4d(this.errorMean, [1, height, width, 1]);
      const std = tf.tensor4d(this.errorStd, [1, height, width, 1]);
      const y = reconstruction && tf.tensor4d(reconstruction, x.shape);
      const z = tf.div(tf.sub(smoothedError(this.model, x, smoothing, y), mean), tf.add(std, floor));
      return [z, tf.max(z, [1, 2, 3])];
    });
    try {
      const [m, s] = await Promise.all([maps.data(), maxima.data()]);
      const scores = Array.from(s as Float32Array);
      // A NaN score is never above the threshold: it would pass a defective part. Refuse it instead.
      for (const v of scores) finiteResult('DefectInspector', 'an anomaly score', v);
      return { maps: m as Float32Array, scores };
    } finally {
      tf.dispose([maps, maxima]);
    }
  }

  /**
   * Inspects several images in one batch.
   *
   * Asynchronous because heatmaps and scores are read back with `data()`: a synchronous read blocks a GPU backend (and
   * throws on WebGPU in Node).
   *
   * @param images - images of the trained size, values in [0, 1]
   * @returns one result per image
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for images that are not an array, a wrong size, NaN or
   *   values outside [0, 1] (the promise rejects), `PREDICTOR_CLOSED` after {@link close}; with workers, `WORKER_CRASHED` when a worker died (retrying is safe)
   */
  async inspectBatch(images: readonly GrayImage[]): Promise<InspectionResult[]> {
    this.#engines.assertOpen();
    imageList(images, 'DefectInspector.inspect');
    const { width, height, threshold } = this.settings;
    const data = packImages(images, this.settings, 'DefectInspector.inspect');
    const n = images.length;
    const reconstruction = this.#engines.pooled && n > 0 ? await this.#engines.predictMany(data, n) : undefined;
    const x = tf.tensor4d(data, [n, height, width, 1]);
    let out: { scores: number[]; maps: Float32Array };
    try {
      out = await this.scoreTensor(x, reconstruction);
    } finally {
      x.dispose();
    }
    const pixels = width * height;
    return out.scores.map((score, i) => ({
      score,
      defective: score > threshold,
      heatmap: out.maps.slice(i * pixels, (i + 1) * pixels),
      width,
      height,
    }));
  }

  /**
   * Inspects one image.
   *
   * @param image - `width × height` values in [0, 1], row-major
   * @returns score, verdict and per-pixel heatmap
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a wrong size, NaN or values outside [0, 1] (the promise rejects)
   */
  async inspect(image: GrayImage): Promise<InspectionResult> {
    return (await this.inspectBatch([image]))[0]!;
  }

  /**
   * Measures detection on labelled images: image AUROC, pixel AUROC against the masks, and the detection and
   * false-alarm rates at the current threshold.
   *
   * @param samples - test images with labels and/or masks; both good and defective ones are needed
   * @returns the metrics
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for samples that are not an array of `{ image, label?,
   *   mask? }`, bad images, a label that is not a string, a mask of the wrong length or with values that are not finite
   *   numbers, or a set without both good and defective images (the promise rejects)
   */
  async evaluate(samples: readonly InspectionSample[]): Promise<InspectionEvaluation> {
    const pixels = this.settings.width * this.settings.height;
    checkSamples(samples, pixels);
    const results = await this.inspectBatch(samples.map((s) => s.image));
    const truth = samples.map((s) => {
      if (s.label !== undefined) return s.label === 'good' ? 0 : 1;
      return s.mask !== undefined && Array.prototype.some.call(s.mask, (v: number) => v > 0) ? 1 : 0;
    });
    const imageAuroc = rocAuc(truth, results.map((r) => r.score));
    const flagged = (want: number): number => {
      const idx = truth.flatMap((t, i) => (t === want ? [i] : []));
      return idx.filter((i) => results[i]!.defective).length / idx.length;
    };
    const evaluation: InspectionEvaluation = {
      imageAuroc,
      threshold: this.settings.threshold,
      detectionRate: flagged(1),
      falseAlarmRate: flagged(0),
    };
    const withMask = samples.flatMap((s, i) => (s.mask === undefined ? [] : [i]));
    const yPixel = new Uint8Array(withMask.length * pixels);
    const sPixel = new Float32Array(withMask.length * pixels);
    let positives = 0;
    withMask.forEach((i, k) => {
      const mask = samples[i]!.mask!;
      for (let p = 0; p < pixels; p++) {
        const v = mask[p]! > 0 ? 1 : 0;
        yPixel[k * pixels + p] = v;
        positives += v;
      }
      sPixel.set(results[i]!.heatmap, k * pixels);
    });
    if (positives > 0 && positives < yPixel.length) evaluation.pixelAuroc = rocAuc(yPixel, sPixel);
    return evaluation;
  }

  /**
   * Renders a result's heatmap over its image as a PNG. Colours are on a fixed scale, not per image: the
   * threshold maps to the middle of the colour map and twice the threshold to red, so a good part stays cool.
   *
   * Asynchronous because, when `result` is omitted, the image is inspected first (see {@link inspect}).
   *
   * @param image - the inspected image
   * @param result - its result from {@link inspect} (computed when omitted)
   * @param alpha - heatmap opacity (default 0.6)
   * @returns PNG bytes
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a bad image or a result without a finite heatmap of
   *   the image's size; `INVALID_ARGUMENT` for an alpha outside [0, 1] (the promise rejects)
   */
  async overlayPng(image: GrayImage, result?: InspectionResult, alpha = 0.6): Promise<Buffer> {
    const { width, height } = this.settings;
    if (typeof alpha !== 'number' || !(alpha >= 0 && alpha <= 1)) throw new LeptonError('INVALID_ARGUMENT', `alpha must be a number in [0, 1], got ${describeValue(alpha)}.`);
    if (result !== undefined) {
      const heatmap = (result as { heatmap?: unknown } | null)?.heatmap;
      if (!(heatmap instanceof Float32Array) || heatmap.length !== width * height || !heatmap.every(Number.isFinite)) {
        throw new LeptonError('INVALID_INPUT', `result must be this inspector's result for the image (a finite ${width}×${height} heatmap), got ${describeValue(result)}.`, { details: { field: 'result' } });
      }
      packImages([image], this.settings, 'DefectInspector.overlayPng'); // the base image is checked as inspect() would
    }
    result ??= await this.inspect(image);
    const scale = Number.isFinite(this.settings.threshold) && this.settings.threshold > 0 ? 2 * this.settings.threshold : Math.max(1e-6, ...result.heatmap);
    const data = result.heatmap.map((v) => Math.min(1, Math.max(0, v / scale)));
    return heatmapToPng({ data, width, height, classIndex: 0 }, { base: image, alpha });
  }

  /**
   * Sets the threshold to a quantile of the held-out good-part scores — no retraining.
   *
   * @param quantile - in (0, 1], e.g. 0.999 for fewer false alarms
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a quantile outside (0, 1]
   */
  setThresholdQuantile(quantile: number): void {
    const v = this.settings.validationScores;
    checkQuantile(quantile, 'DefectInspector.setThresholdQuantile');
    if (v.length === 0) throw new LeptonError('INVALID_ARGUMENT', 'DefectInspector.setThresholdQuantile: the inspector keeps no good-part scores to take a quantile of; calibrate it first.');
    this.settings.threshold = sortedQuantile(v, quantile);
    this.settings.quantile = quantile;
  }

  /**
   * Sets the threshold directly.
   *
   * @param threshold - image score above which a part is defective
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a non-finite threshold
   */
  setThreshold(threshold: number): void {
    if (!Number.isFinite(threshold)) throw new LeptonError('INVALID_ARGUMENT', `Threshold must be a finite number, got ${describeValue(threshold)}.`);
    this.settings.threshold = threshold;
    delete this.settings.quantile;
  }

  /** Good-part scores the threshold is chosen from: the images `fit` held out, plus any {@link calibrate}d. */
  get goodImages(): number {
    return this.settings.validationScores.length;
  }

  /**
   * Sets the threshold from more images of good parts, without retraining: each is scored and joins the good-part scores
   * the threshold is a quantile of. `fit` holds out only a quarter of its images, and a 0.99 quantile of 40 scores is
   * their largest: on the package's synthetic parts, six inspectors fitted on 160 images flagged 1.50–5.85 % of 2,000 fresh
   * good parts against the 1 % asked, and 0.45–1.95 % once calibrated with 300 more (`bench/manufacturing-threshold.ts`). Use
   * parts you have checked are good (a defect among them raises the threshold). Scores and threshold travel with
   * {@link save}.
   *
   * @param good - images of good parts, of the trained size, values in [0, 1]
   * @param options - `quantile`: the threshold quantile (default: the one last set, else 0.99)
   * @returns the images added, the good-part scores now kept, and the new threshold
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad quantile or options, `INVALID_INPUT` for `good`
   *   that is not a non-empty array of valid images (nothing is added), `PREDICTOR_CLOSED` after {@link close}
   */
  async calibrate(good: readonly GrayImage[], options: InspectionCalibrateOptions = {}): Promise<InspectionCalibration> {
    optionsOf(options, 'DefectInspector.calibrate');
    const quantile = checkQuantile(options.quantile ?? this.settings.quantile ?? 0.99, 'DefectInspector.calibrate');
    imageList(good, 'DefectInspector.calibrate', 'good');
    if (good.length === 0) throw new LeptonError('INVALID_INPUT', 'DefectInspector.calibrate: good must hold at least one image.');
    const added = (await this.inspectBatch(good)).map((r) => r.score);
    this.settings.validationScores = keepSortedScores([...this.settings.validationScores, ...added], MAX_GOOD_SCORES);
    this.setThresholdQuantile(quantile);
    return { added: added.length, goodImages: this.settings.validationScores.length, threshold: this.settings.threshold };
  }

  /**
   * Saves as a verified core bundle; image size, error statistics and threshold travel in its preprocessing.
   *
   * @param dir - target directory (replaced if it exists)
   * @param meta - bundle name and semantic version
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad name or version
   */
  async save(dir: string, meta: { name: string; version: string }): Promise<void> {
    await saveBundle(this.model, dir, {
      ...meta,
      task: 'regression',
      preprocessing: { ...this.settings } as unknown as Record<string, unknown>,
      description: 'Lepton defect inspector (convolutional autoencoder trained on good parts)',
    });
  }

  /**
   * Loads an inspector saved by {@link save}.
   *
   * @param dir - bundle directory
   * @param options - `workers`: threads inspecting images (default 1, in this thread; see {@link DefectInspectorOptions.workers});
   *   `trustedKeys`: Ed25519 public keys, one of which must have signed the bundle (`signBundle()` from `@lepton/core`):
   *   the signature covers the manifest, preprocessing and threshold included, which file digests alone do not protect
   * @returns the inspector, with the threshold it was saved with (its workers start when it first inspects)
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad `workers`, `BUNDLE_INVALID` when the bundle
   *   is not a defect inspector or its preprocessing is damaged (a size that is not a positive multiple of 8 or does not
   *   match the model's input, an even or non-integer `smoothing`, a `floor` that is not a finite number ≥ 0, per-pixel
   *   error statistics that are not width × height finite values with a standard deviation ≥ 0 and a positive
   *   std + floor) or its good-part scores, threshold or quantile are damaged, or any bundle error from loading
   */
  static async load(dir: string, options: Pick<DefectInspectorOptions, 'workers'> & Pick<LoadBundleOptions, 'trustedKeys'> = {}): Promise<DefectInspector> {
    const workers = resolveWorkersOption(options?.workers, 'DefectInspector.load');
    const trustedKeys = options?.trustedKeys;
    const b = await loadBundle(dir, { expectTask: 'regression', ...(trustedKeys !== undefined ? { trustedKeys } : {}) });
    const s = b.manifest.preprocessing as unknown as Settings | undefined;
    if (s?.kind !== 'lepton-defect-inspector' || typeof s.errorMean !== 'string' || typeof s.errorStd !== 'string') {
      b.model.dispose();
      throw new LeptonError('BUNDLE_INVALID', `${dir} is not a Lepton defect inspector bundle.`);
    }
    const scores: unknown = s.validationScores;
    const quantile: unknown = s.quantile;
    const why =
      damagedSettings(s, b.model) ??
      damagedScores(scores, MAX_GOOD_SCORES) ??
      (typeof s.threshold !== 'number' || !Number.isFinite(s.threshold)
        ? 'its threshold is not a finite number'
        : quantile !== undefined && !isQuantile(quantile)
          ? 'its quantile is not a number in (0, 1]'
          : undefined);
    if (why !== undefined) {
      b.model.dispose();
      throw new LeptonError('BUNDLE_INVALID', `${dir}: a defect inspector bundle, but ${why}.`);
    }
    return new DefectInspector(
      b.model,
      {
        kind: s.kind,
        width: s.width,
        height: s.height,
        smoothing: s.smoothing,
        errorMean: s.errorMean,
        errorStd: s.errorStd,
        floor: s.floor,
        validationScores: [...(scores as number[])],
        threshold: s.threshold,
        ...(quantile === undefined ? {} : { quantile: quantile as number }),
      },
      workers,
    );
  }

  /**
   * Frees the model's weights and stops the workers, if any, once they have finished what they accepted. The inspector
   * cannot be used afterwards; await {@link close} instead to know when the threads are gone.
   */
  dispose(): void {
    this.close().catch(() => undefined); // close() only rejects if a thread cannot be ended; nothing to do about it here
  }

  /**
   * Like {@link dispose}, resolving once every worker thread has exited. Idempotent.
   *
   * @returns when the weights are freed and no worker thread is left
   */
  close(): Promise<void> {
    return this.#engines.close();
  }
}
