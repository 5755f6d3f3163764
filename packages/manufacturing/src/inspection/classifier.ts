import { accuracy, buildResidualCnn, confusionMatrix, describeValue, gradCam, LeptonError, loadBundle, progressReporter, saveBundle, tf, train, type Heatmap, type LoadBundleOptions, type ProgressOptions } from '@lepton/core';
import { each, finiteResult } from '../internal/guards.js';
import { imageList, optionsOf, positiveInt, seedOf, stackImages, type GrayImage } from './images.js';

/** Checks labelled samples: an array of objects (their images are checked when stacked, their labels against the classes). */
function checkLabelled(samples: unknown, what: string): asserts samples is LabelledImage[] {
  imageList(samples, what, 'samples');
  each(samples as unknown[], (s, i) => {
    if (typeof s !== 'object' || s === null) throw new LeptonError('INVALID_INPUT', `${what}: samples[${i}] must be an object { image, label }, got ${describeValue(s)}.`, { details: { field: `samples[${i}]` } });
  });
}

/**
 * Options for {@link DefectClassifier.fit}. Every field is optional. `onProgress` and `progressBar` (see
 * `ProgressOptions` in `@lepton/core`) report the training as core `train()` does: `start`, batches and an `epoch` per
 * epoch, `end`.
 */
export interface DefectClassifierOptions extends ProgressOptions {
  /** Class names in output order. Default: the distinct labels of the training samples, in order of first appearance. */
  labels?: string[];
  /** Image width in pixels, a multiple of `downsample`. Default 64. */
  width?: number;
  /** Image height in pixels, a multiple of `downsample`. Default 64. */
  height?: number;
  /** Resolution reduction before the CNN (1, 2 or 4); thin defects survive it (see {@link DefectClassifier}). Default 2. */
  downsample?: 1 | 2 | 4;
  /** Filters per stage of the residual CNN. Default `[8, 16, 32]`. */
  filters?: number[];
  /** Training epochs. Default 4. */
  epochs?: number;
  /** Images per gradient step. Default 16. */
  batchSize?: number;
  /** Learning rate (Adam). Default 3e-3. */
  learningRate?: number;
  /** Seed for the initial weights and shuffling. Default 1. */
  seed?: number;
}

/** A labelled image for {@link DefectClassifier.fit} and {@link DefectClassifier.evaluate}. */
export interface LabelledImage {
  /** The image, `width × height` values in [0, 1]. */
  image: GrayImage;
  /** Its class name. */
  label: string;
}

/** One image's class from {@link DefectClassifier.predict}. */
export interface DefectPrediction {
  /** Most probable class. */
  label: string;
  /** Index of `label` in {@link DefectClassifier.labels}. */
  classIndex: number;
  /** Probability of every class. */
  probabilities: Record<string, number>;
}

/** Classification quality from {@link DefectClassifier.evaluate}. */
export interface ClassifierEvaluation {
  /** Share of images classified correctly. */
  accuracy: number;
  /** Confusion matrix: `matrix[i][j]` counts images of class `labels[i]` predicted as `labels[j]`. */
  confusion: {
    /** Class names, the row and column order. */
    labels: string[];
    /** Counts, true class by row and predicted class by column. */
    matrix: number[][];
  };
}

interface Settings {
  kind: 'lepton-defect-classifier';
  width: number;
  height: number;
  downsample: number;
  /** Side of the box blur subtracted to remove lighting gradients and the base grey level. */
  highPass: number;
  /** Gain applied after the high-pass so detail has roughly unit scale. */
  gain: number;
}

/**
 * Lighting-invariant detail at reduced resolution, as two channels: the positive and negative parts of the
 * high-passed image, each max-pooled. Max pooling (not averaging) is what keeps a one-pixel scratch at full
 * contrast after downsampling; splitting the sign keeps bright and dark marks apart.
 */
/** A class label for a message: a string as it is, anything else a caller passed described without running its code. */
function shownLabel(label: unknown): string {
  return typeof label === 'string' ? label : describeValue(label);
}

/**
 * Why a loaded classifier's preprocessing or labels cannot be used, or undefined. A damaged field would otherwise give
 * NaN probabilities (the first class wins every image), a wrong label, or a raw TensorFlow error at prediction time.
 */
function damagedSettings(s: Settings, labels: unknown, model: tf.LayersModel): string | undefined {
  const posInt = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v > 0;
  if (![1, 2, 4].includes(s.downsample)) return 'its downsample is not 1, 2 or 4';
  if (!posInt(s.width) || !posInt(s.height) || s.width % s.downsample !== 0 || s.height % s.downsample !== 0) {
    return 'its width and height are not positive multiples of downsample';
  }
  const shape = model.inputs[0]?.shape;
  if (!shape || shape.length !== 4 || shape[1] !== s.height / s.downsample || shape[2] !== s.width / s.downsample || shape[3] !== 2) {
    return "its width, height and downsample do not match the model's input";
  }
  if (!posInt(s.highPass) || s.highPass % 2 === 0 || s.highPass > Math.min(s.width, s.height)) return 'its highPass is not an odd integer ≥ 1 (at most the image size)';
  if (typeof s.gain !== 'number' || !Number.isFinite(s.gain) || !(s.gain > 0)) return 'its gain is not a finite number > 0';
  if (!Array.isArray(labels) || labels.length < 2) return 'its labels are not a list of at least two class names';
  for (let i = 0; i < labels.length; i++) {
    const l: unknown = labels[i];
    if (typeof l !== 'string' || l.length === 0) return `its labels[${i}] is not a non-empty string`;
  }
  if (new Set(labels).size !== labels.length) return 'its labels repeat a class name';
  const out = model.outputs[0]?.shape;
  if (!out || out[out.length - 1] !== labels.length) return 'its number of labels does not match the model\'s outputs';
  return undefined;
}

function features(x: tf.Tensor4D, s: Settings): tf.Tensor4D {
  return tf.tidy(() => {
    const detail = tf.mul(tf.sub(x, tf.avgPool(x, s.highPass, 1, 'same')), s.gain) as tf.Tensor4D;
    const d = s.downsample;
    const pool = (t: tf.Tensor4D): tf.Tensor4D => (d > 1 ? tf.maxPool(t, d, d, 'valid') : tf.relu(t));
    return tf.concat([pool(detail), pool(tf.neg(detail))], -1);
  });
}

/**
 * Supervised defect classification when labelled examples exist (e.g. `good` / `scratch` / `dent`): the residual
 * CNN from `@lepton/core` on a lighting-invariant, high-passed view of the image, trained with core `train()`.
 * Complements {@link DefectInspector}, which needs no defect examples but cannot tell defect kinds apart.
 *
 * @example
 * ```ts
 * import { DefectClassifier, generateParts, initRuntime, PART_LABELS } from '@lepton/manufacturing';
 * await initRuntime({ backend: 'wasm' });
 * const classifier = await DefectClassifier.fit(generateParts(900, { seed: 1, labels: PART_LABELS }));
 * const [part] = generateParts(1, { seed: 5, labels: ['dent'] });
 * console.log((await classifier.predict(part!.image)).label); // 'dent'
 * ```
 */
export class DefectClassifier {
  private constructor(
    private readonly model: tf.LayersModel,
    private readonly settings: Settings,
    /** Class names in output order. */
    readonly labels: readonly string[],
  ) {}

  /**
   * Trains on labelled images.
   *
   * @param samples - images with class names; at least two classes
   * @param options - classes, size, architecture and training settings
   * @returns the trained classifier
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for samples that are not an array of `{ image, label }`,
   *   bad images, fewer than two classes, a class name that is not a non-empty string, or a label not in
   *   `options.labels`; `INVALID_ARGUMENT` for bad options (options that are not an object, repeated labels, filters
   *   that are not positive integers, a seed that is not finite, and `onProgress`/`progressBar`);
   *   `PROGRESS_LISTENER_FAILED` when the `onProgress` listener throws (training stops, nothing is kept)
   */
  static async fit(samples: readonly LabelledImage[], options: DefectClassifierOptions = {}): Promise<DefectClassifier> {
    optionsOf(options, 'DefectClassifier.fit');
    const progress = progressReporter(options, 'DefectClassifier.fit');
    checkLabelled(samples, 'DefectClassifier.fit');
    const labels = options.labels ?? [...new Set(samples.map((s) => s.label))];
    // Class names come out of predict() and go into the saved bundle: distinct non-empty strings, whether given in
    // options.labels or taken from the samples (a Symbol or an object there would become a "class").
    if (!Array.isArray(labels)) throw new LeptonError('INVALID_ARGUMENT', `labels must be an array of class names, got ${describeValue(labels)}.`, { details: { field: 'options.labels' } });
    each(labels, (l: unknown, i) => {
      if (typeof l !== 'string' || l.length === 0) {
        throw new LeptonError('INVALID_INPUT', options.labels ? `options.labels[${i}] must be a non-empty string, got ${describeValue(l)}.` : `A sample label must be a non-empty string, got ${describeValue(l)}.`, { details: { field: options.labels ? `options.labels[${i}]` : 'samples' } });
      }
    });
    if (new Set(labels).size !== labels.length) throw new LeptonError('INVALID_ARGUMENT', 'options.labels repeats a class name.', { details: { field: 'options.labels' } });
    if (labels.length < 2) throw new LeptonError('INVALID_INPUT', `A classifier needs at least two classes; got ${labels.map(shownLabel).join(', ') || 'none'}.`);
    const index = new Map(labels.map((l, i) => [l, i]));
    const y = samples.map((s, i) => {
      const k = index.get(s.label);
      if (k === undefined) throw new LeptonError('INVALID_INPUT', `Sample ${i} has label ${describeValue(s.label)}, which is not one of ${labels.map(shownLabel).join(', ')}.`);
      return k;
    });
    const downsample = options.downsample ?? 2;
    if (![1, 2, 4].includes(downsample)) throw new LeptonError('INVALID_ARGUMENT', `downsample must be 1, 2 or 4, got ${describeValue(downsample)}.`);
    const settings: Settings = {
      kind: 'lepton-defect-classifier',
      width: positiveInt(options.width ?? 64, 'width'),
      height: positiveInt(options.height ?? 64, 'height'),
      downsample,
      highPass: 7,
      gain: 5,
    };
    if (settings.width % downsample !== 0 || settings.height % downsample !== 0) {
      throw new LeptonError('INVALID_ARGUMENT', `width and height must be multiples of downsample (${downsample}), got ${settings.width}×${settings.height}.`);
    }
    const seed = seedOf(options.seed ?? 1, 'DefectClassifier.fit');
    // Bounded here: core train() takes any integer, and 1e308 epochs would never end.
    const epochs = positiveInt(options.epochs ?? 4, 'epochs');
    const batchSize = positiveInt(options.batchSize ?? 16, 'batchSize');
    const filters = options.filters ?? [8, 16, 32];
    if (!Array.isArray(filters) || filters.length === 0) throw new LeptonError('INVALID_ARGUMENT', `filters must be a non-empty array of positive integers, got ${describeValue(filters)}.`, { details: { field: 'options.filters' } });
    each(filters, (f, i) => positiveInt(f, `filters[${i}]`));
    const model = buildResidualCnn({
      inputShape: [settings.height / downsample, settings.width / downsample, 2],
      numClasses: labels.length,
      filters,
      dropout: 0.1,
      seed,
      name: 'defect_classifier',
    });
    const images = stackImages(samples.map((s) => s.image), settings, 'DefectClassifier.fit');
    const x = features(images, settings);
    images.dispose();
    const yt = tf.tensor1d(y, 'float32');
    try {
      await train(model, { x, y: yt }, {
        epochs,
        batchSize,
        learningRate: options.learningRate ?? 3e-3,
        classWeight: 'balanced',
        earlyStopping: false,
        restoreBestWeights: false,
        seed,
        progressBar: false,
        ...(progress ? { onProgress: progress } : {}),
        // core train() re-estimates batch-norm statistics after each epoch (512 samples by default).
      });
    } catch (err) {
      model.dispose();
      throw err;
    } finally {
      tf.dispose([x, yt]);
    }
    return new DefectClassifier(model, settings, labels);
  }

  /**
   * Classifies several images in one batch.
   *
   * Asynchronous because the probabilities are read back with `data()`: a synchronous read blocks a GPU backend (and
   * throws on WebGPU in Node).
   *
   * @param images - images of the trained size, values in [0, 1]
   * @returns one prediction per image
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a wrong size, NaN or values outside [0, 1] (the promise rejects)
   */
  async predictBatch(images: readonly GrayImage[]): Promise<DefectPrediction[]> {
    imageList(images, 'DefectClassifier.predict');
    if (images.length === 0) return [];
    const x = stackImages(images, this.settings, 'DefectClassifier.predict');
    let out: tf.Tensor;
    try {
      out = tf.tidy(() => this.model.predict(features(x, this.settings)) as tf.Tensor);
    } finally {
      x.dispose();
    }
    let probs: Float32Array;
    try {
      probs = (await out.data()) as Float32Array;
    } finally {
      out.dispose();
    }
    const k = this.labels.length;
    // A NaN probability never wins: the first class would be reported for every image. Refuse it instead.
    for (let i = 0; i < probs.length; i++) finiteResult('DefectClassifier.predictBatch', 'a class probability', probs[i]!);
    return images.map((_, i) => {
      const p = probs.subarray(i * k, (i + 1) * k);
      let best = 0;
      for (let c = 1; c < k; c++) if (p[c]! > p[best]!) best = c;
      return { label: this.labels[best]!, classIndex: best, probabilities: Object.fromEntries(this.labels.map((l, c) => [l, p[c]!])) };
    });
  }

  /**
   * Classifies one image.
   *
   * @param image - `width × height` values in [0, 1], row-major
   * @returns the most probable class and every class's probability
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a wrong size, NaN or values outside [0, 1] (the promise rejects)
   */
  async predict(image: GrayImage): Promise<DefectPrediction> {
    return (await this.predictBatch([image]))[0]!;
  }

  /**
   * Accuracy and confusion matrix on labelled images.
   *
   * @param samples - test images with class names from {@link labels}
   * @returns the metrics
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for samples that are not an array of `{ image, label }`,
   *   bad images, no samples or an unknown label (the promise rejects)
   */
  async evaluate(samples: readonly LabelledImage[]): Promise<ClassifierEvaluation> {
    checkLabelled(samples, 'DefectClassifier.evaluate');
    if (samples.length === 0) throw new LeptonError('INVALID_INPUT', 'evaluate needs at least one labelled image.');
    const yTrue = samples.map((s, i) => {
      const k = this.labels.indexOf(s.label);
      if (k < 0) throw new LeptonError('INVALID_INPUT', `Sample ${i} has label ${describeValue(s.label)}, which is not one of ${this.labels.join(', ')}.`);
      return k;
    });
    const yPred = (await this.predictBatch(samples.map((s) => s.image))).map((p) => p.classIndex);
    const order = this.labels.map((_, i) => i);
    return { accuracy: accuracy(yTrue, yPred), confusion: { labels: [...this.labels], matrix: confusionMatrix(yTrue, yPred, order).matrix } };
  }

  /**
   * Grad-CAM for one image: where the CNN looked to decide, upsampled to the image size (render it with
   * `heatmapToPng` from `@lepton/core`).
   *
   * @param image - `width × height` values in [0, 1], row-major
   * @param classIndex - class to explain (default: the predicted class)
   * @returns heatmap in [0, 1] at the image's resolution
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a bad image, `INVALID_ARGUMENT` for a bad class index
   */
  async explain(image: GrayImage, classIndex?: number): Promise<Heatmap> {
    const { width, height } = this.settings;
    const x = stackImages([image], this.settings, 'DefectClassifier.explain');
    const f = features(x, this.settings);
    x.dispose();
    try {
      const cam = await gradCam(this.model, f, classIndex === undefined ? {} : { classIndex });
      if (cam.width === width && cam.height === height) return cam;
      const resized = tf.tidy(() => tf.image.resizeBilinear(tf.tensor4d(cam.data, [1, cam.height, cam.width, 1]), [height, width]));
      try {
        return { data: (await resized.data()) as Float32Array, width, height, classIndex: cam.classIndex };
      } finally {
        resized.dispose();
      }
    } finally {
      f.dispose();
    }
  }

  /**
   * Saves as a verified core bundle with the class names as labels and the image preprocessing.
   *
   * @param dir - target directory (replaced if it exists)
   * @param meta - bundle name and semantic version
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad name or version
   */
  async save(dir: string, meta: { name: string; version: string }): Promise<void> {
    await saveBundle(this.model, dir, {
      ...meta,
      task: 'multiclass',
      labels: [...this.labels],
      preprocessing: { ...this.settings },
      description: 'Lepton defect classifier (residual CNN on high-passed part images)',
    });
  }

  /**
   * Loads a classifier saved by {@link save}.
   *
   * @param dir - bundle directory
   * @param options - `trustedKeys`: Ed25519 public keys, one of which must have signed the bundle (`signBundle()` from
   *   `@lepton/core`): the signature covers the manifest, labels and preprocessing included
   * @returns the classifier
   * @throws {@link @lepton/core!LeptonError} `BUNDLE_INVALID` when the bundle is not a defect classifier or its
   *   preprocessing is damaged (`downsample` not 1, 2 or 4, `highPass` not an odd integer ≥ 1, `gain` not a finite
   *   number > 0, a size that does not match the model's input, labels that are not distinct non-empty strings, one
   *   per output unit), or any bundle error from loading
   */
  static async load(dir: string, options: Pick<LoadBundleOptions, 'trustedKeys'> = {}): Promise<DefectClassifier> {
    const trustedKeys = options?.trustedKeys;
    const b = await loadBundle(dir, { expectTask: 'multiclass', ...(trustedKeys !== undefined ? { trustedKeys } : {}) });
    const s = b.manifest.preprocessing as unknown as Settings | undefined;
    if (s?.kind !== 'lepton-defect-classifier' || !b.manifest.labels) {
      b.model.dispose();
      throw new LeptonError('BUNDLE_INVALID', `${dir} is not a Lepton defect classifier bundle.`);
    }
    const labels: unknown = b.manifest.labels;
    const why = damagedSettings(s, labels, b.model);
    if (why !== undefined) {
      b.model.dispose();
      throw new LeptonError('BUNDLE_INVALID', `${dir}: a defect classifier bundle, but ${why}.`);
    }
    const settings: Settings = { kind: s.kind, width: s.width, height: s.height, downsample: s.downsample, highPass: s.highPass, gain: s.gain };
    return new DefectClassifier(b.model, settings, [...(labels as string[])]);
  }

  /** Frees the model's weights. */
  dispose(): void {
    this.model.dispose();
  }
}
