import { describeValue, buildResidualCnn, confusionMatrix, gradCam, heatmapToPng, LeptonError, loadBundle, progressReporter, rocAuc, saveBundle, tf, train, type ProgressOptions, ModelWorkers, resolveWorkersOption } from '@lepton/core';
import type { DicomImage } from '../dicom/image.js';
import type { WindowPresetName } from '../lut/presets.js';
import { forEachGroup, inputSource } from './inputs.js';
import { inputToSource, PixelStatistics, windowedFrame, type ImagePreprocessing, type InputFit, type InputResample, type WindowSpec } from './preprocess.js';
import { arrayInput, booleanOption, checkOptionsObject, filtersOption, imageInput, integerOption, labelsOption, numberOption, stringOption } from './option-checks.js';
import { bundleSettings, resolveInputOptions, type DiagnosisSettings } from './settings.js';
import { trainingSliceSpacing } from './stack.js';
import { concat, loadLabelled, mirror, splitPatients, thresholdForSensitivity, type LabelledImage, type PatientSplit, type SkippedFile } from './training-data.js';

export type { LabelledImage, PatientSplit, SkippedFile } from './training-data.js';

/**
 * Most images per request to a worker: every group of preprocessed images (64, fewer for large inputs) is cut into one
 * chunk per worker, at most 8 each.
 */
const WORKER_CHUNK = 8;

/** A confusion matrix with its label order. */
export interface ConfusionMatrix {
  /** Label order of rows (truth) and columns (prediction). */
  labels: string[];
  /** `matrix[i][j]` = images of `labels[i]` predicted as `labels[j]`. */
  matrix: number[][];
}

/** Which model answered. */
export interface ModelIdentity {
  /** Bundle name. */
  name: string;
  /** Bundle semantic version. */
  version: string;
}

/** A heatmap as an array, on the source image's pixels (`rows × columns` of the DICOM image). */
export interface HeatmapArray {
  /** Values in [0, 1], row-major. */
  data: Float32Array;
  /** Width, pixels: the image's Columns. */
  width: number;
  /** Height, pixels: the image's Rows. */
  height: number;
}

/**
 * Options for {@link DiagnosisModel.train}. `onProgress` and `progressBar` (see `ProgressOptions` in `@lepton/core`)
 * report the CNN's training as core `train()` does: `start`, batches and an `epoch` per epoch with the validation
 * metrics, `end`.
 */
export interface DiagnosisOptions extends ProgressOptions {
  /** Class names. Two labels make a binary model whose positive class is `labels[1]` (e.g. `['normal', 'nodule']`). */
  labels: string[];
  /** Window on modality values (HU for CT). Default `lung`. */
  window?: WindowPresetName | WindowSpec;
  /**
   * Model input side in pixels (square): an integer from 32 to 512, e.g. 128, 256 or 512 for CT slices at or near their
   * acquired 512×512. Images of any size are resampled to it (see `fit` and `resample`). Training and scoring time grow
   * with its square. Default 64.
   */
  size?: number;
  /**
   * Slices per input (2.5-D): the image and its neighbours along the slice normal as channels — 3 is the image with one
   * slice above and one below. An odd integer from 1 to 9; default 1 (2-D). Neighbours are found among the images of the
   * same series in the call (training data, `predictSeries` images, `predict`'s `series` option) by Image
   * Position/Orientation (Patient), never by file name or Instance Number; beyond the first or last slice the edge
   * slice is repeated. See {@link preprocessStack}.
   */
  slices?: number;
  /**
   * Stacks: distance between the stacked planes along the slice normal, mm. Default: the training series' median slice
   * spacing. A series scored later with another spacing is interpolated to it, so the channels keep their meaning.
   */
  sliceSpacingMm?: number;
  /** How images that are not square meet the square input: `letterbox` (default) keeps their aspect ratio. */
  fit?: InputFit;
  /** Resampling to the input size: `area` (default) averages when shrinking, so a 512 → 128 reduction does not alias. */
  resample?: InputResample;
  /** Filters per residual stage. Default `[16, 32, 64]`. */
  filters?: number[];
  /**
   * Add left–right mirrored copies of the training images (doubles the data and the training time; suits anatomy
   * that is roughly symmetric, such as the chest). Default true.
   */
  flipAugment?: boolean;
  /** Global pooling of the CNN: `max` (default) suits small focal findings such as nodules; `average` whole-image ones. */
  pooling?: 'average' | 'max';
  /** Bundle name. Default `diagnosis`. */
  name?: string;
  /** Bundle semantic version. Default `1.0.0`. */
  version?: string;
  /** Share of *patients* held out for validation (operating point, metrics). Default 0.25. */
  validationFraction?: number;
  /** Binary models: the operating point is the highest threshold reaching this sensitivity on validation. Default 0.9. */
  targetSensitivity?: number;
  /** Default 20. */
  epochs?: number;
  /** Default 32. */
  batchSize?: number;
  /** Default 5e-3. */
  learningRate?: number;
  /** Seed for the split, the weights and training. Default 1. */
  seed?: number;
  /**
   * Worker threads scoring images with the trained model ({@link DiagnosisModel.predict},
   * {@link DiagnosisModel.predictSeries}, {@link DiagnosisModel.evaluate}). Default 1: in this thread, as before. With
   * 2 or more, or `'auto'` (one per core, capped by free memory), each worker loads a copy of the CNN on this thread's
   * backend when the model first scores, and the preprocessed images are cut into chunks (one per worker, at most 8
   * images each), so a series' slices run on every worker at once: TF.js computes on one core per engine, so this is
   * how scoring uses every core. Images are preprocessed here, the next ones while the workers score.
   * Probabilities are the same as in this thread (bitwise on `wasm`). Training and Grad-CAM heatmaps run in this thread.
   */
  workers?: number | 'auto';
}

/** Metrics of a diagnosis model on labelled images. */
export interface DiagnosisEvaluation {
  /** Images evaluated. */
  n: number;
  /** ROC AUC of the positive class (binary) or mean one-vs-rest AUC (multiclass). */
  rocAuc: number;
  /** Binary: true-positive rate at the operating point. */
  sensitivity?: number;
  /** Binary: true-negative rate at the operating point. */
  specificity?: number;
  /** Binary: the operating point used. */
  threshold?: number;
  /** Confusion matrix at the operating point (binary) or of the most probable class. */
  confusion: ConfusionMatrix;
}

/** A model's answer for one image. */
export interface Diagnosis {
  /** Predicted label: at the operating point for binary models, the most probable class otherwise. */
  label: string;
  /** Probability of the positive class (binary) or of the predicted class (multiclass). */
  probability: number;
  /** Probability per label. */
  probabilities: Record<string, number>;
  /** Binary: whether the probability reaches the operating point. */
  positive?: boolean;
  /** Binary: the operating point applied. */
  threshold?: number;
  /** Which model answered. */
  model: ModelIdentity;
  /** Where the image came from. */
  source?: string;
  /**
   * Grad-CAM heatmap on the source image's pixels (`rows × columns`, values in [0, 1], row-major), when asked for: the
   * model-size map is interpolated bilinearly back through the preprocessing's placement (stretch or letterbox), so a
   * heatmap pixel lies over the image pixel with the same index.
   */
  heatmap?: HeatmapArray;
  /**
   * The heatmap blended over the full-resolution windowed image (the image's own Rows × Columns, in the model's
   * window), as PNG bytes, when a heatmap was asked for.
   */
  overlayPng?: Buffer;
}

/** A series-level answer: the most suspicious image decides. */
export interface SeriesDiagnosis extends Diagnosis {
  /** Index (in the given order) of the image with the highest positive probability. */
  keyImage: number;
  /** Every image's answer, in the given order (heatmap only on the key image). */
  images: Diagnosis[];
}

/** What {@link DiagnosisModel.train} returns. */
export interface DiagnosisTrainResult {
  /** The trained model. */
  model: DiagnosisModel;
  /** Patients in each part of the split (disjoint). */
  split: PatientSplit;
  /** Metrics on the validation patients. */
  validation: DiagnosisEvaluation;
  /** Images that could not be used (folder loads only): unreadable files and files without a label. */
  skipped: SkippedFile[];
}

/** Options of {@link DiagnosisModel.predict}. */
export interface PredictOptions {
  /** Add the Grad-CAM heatmap and its PNG overlay on the full-resolution windowed image. */
  heatmap?: boolean;
  /**
   * The images of the image's series (any order, the image among them): required by models that stack adjacent slices
   * (`preprocessing.slices` > 1), which take the image's neighbours from it; ignored by 2-D models.
   */
  series?: readonly DicomImage[];
}

/** A label for a message: a string as it is, anything else a caller passed described without running its code. */
function shownLabel(label: unknown): string {
  return typeof label === 'string' ? label : describeValue(label);
}

/**
 * Labelled images as a JavaScript caller hands them: an array of objects, each with a known label (`INVALID_INPUT`,
 * the message naming the label's position and value) and a `DicomImage` (`INVALID_ARGUMENT`, as preprocessing does).
 * A null record or a non-array used to be a TypeError on the first property read.
 */
function checkLabelled(data: readonly LabelledImage[], index: ReadonlyMap<string, number>, where: string): void {
  arrayInput(data, `${where}: data`);
  data.forEach((d, i) => {
    if (typeof d !== 'object' || d === null) throw new LeptonError('INVALID_INPUT', `${where}: data[${i}] must be { image, label }, got ${describeValue(d)}.`);
    if (!index.has(d.label)) throw new LeptonError('INVALID_INPUT', `${where}: data[${i}] has the label ${describeValue(d.label)}, not one of ${[...index.keys()].map(shownLabel).join(', ')}.`);
  });
  data.forEach((d, i) => imageInput(d.image, `${where}: data[${i}].image`));
}

/**
 * An image diagnosis model on `@lepton/core`'s residual CNN: DICOM in (modality LUT → window → resample to an input of
 * 32 to 512 pixels a side, optionally with the adjacent slices as channels → normalisation, all stored in the bundle),
 * label, probability and operating-point decision out, with a Grad-CAM heatmap on the source image's pixels and a PNG
 * overlay on the full-resolution windowed image. Training splits by patient so no patient is on both sides.
 */
export class DiagnosisModel {
  readonly #engines: ModelWorkers;

  private constructor(
    private readonly net: tf.LayersModel,
    private readonly settings: DiagnosisSettings,
    workers: number,
  ) {
    this.#engines = new ModelWorkers(net, workers, WORKER_CHUNK, 'This DiagnosisModel');
  }

  /** Worker threads scoring images (1: in this thread). */
  get workers(): number {
    return this.#engines.count;
  }

  /** Class names; for binary models `labels[1]` is the positive class. */
  get labels(): readonly string[] {
    return this.settings.labels;
  }

  /** The preprocessing stored with the model, every field set (`slices` 1 for 2-D models). */
  get preprocessing(): Required<Omit<ImagePreprocessing, 'sliceSpacingMm'>> & Pick<ImagePreprocessing, 'sliceSpacingMm'> {
    const { window, size, mean, std, slices, sliceSpacingMm, fit, resample } = this.settings;
    return { window: { ...window }, size: [...size], mean, std, slices, ...(sliceSpacingMm !== undefined ? { sliceSpacingMm } : {}), fit, resample };
  }

  /** Binary models: the operating point (probability threshold of the positive class). */
  get threshold(): number {
    return this.settings.threshold;
  }

  /**
   * Changes the operating point (binary models) without retraining.
   *
   * @param threshold - probability in [0, 1]
   */
  setThreshold(threshold: number): void {
    if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) throw new LeptonError('INVALID_ARGUMENT', `Threshold must be a number in [0, 1], got ${describeValue(threshold)}.`);
    this.settings.threshold = threshold;
  }

  /**
   * Trains on labelled images with a patient-level split.
   *
   * @param data - labelled images
   * @param options - labels, preprocessing, architecture, split, training
   * @returns the model, the split and validation metrics
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for `data` that is not an array of records, a
   *   `patientId` that is not a string, unknown labels, fewer than two patients, a class missing from training, or
   *   (stacks) series without slice geometry; `INVALID_ARGUMENT` for options that are not an object, an `image` that is
   *   not a `DicomImage`, and (with `details.option`) `labels` that are not two or more distinct non-empty strings, a
   *   bad `workers`, a `size` outside 32–512, an even or out-of-range `slices`, a bad `fit`, `resample`,
   *   `sliceSpacingMm`, `name`, `version`, `filters`, `flipAugment`, `validationFraction` (outside [0, 1)),
   *   `targetSensitivity` (outside [0, 1]), `epochs`, `seed` (not a finite number), `onProgress` or `progressBar` — all
   *   checked before any training;
   *   `PROGRESS_LISTENER_FAILED` when the `onProgress` listener throws (training stops, nothing is kept)
   */
  static async train(data: readonly LabelledImage[], options: DiagnosisOptions): Promise<DiagnosisTrainResult> {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      throw new LeptonError('INVALID_ARGUMENT', `DiagnosisModel.train needs an options object with labels, got ${describeValue(options)}.`);
    }
    const workers = resolveWorkersOption(options.workers, 'DiagnosisModel.train');
    const progress = progressReporter(options, 'DiagnosisModel.train');
    const input = resolveInputOptions(options);
    const labels = labelsOption(options.labels);
    // Every other option checked here, before any image is read: a Symbol or BigInt used to throw a TypeError mid-way,
    // and NaN, {} or '1' to train (a NaN seed, a '1' sensitivity) on a silently coerced value.
    const name = stringOption(options.name, 'name', 'diagnosis');
    const version = stringOption(options.version, 'version', '1.0.0');
    const filters = filtersOption(options.filters, [16, 32, 64]);
    const flipAugment = booleanOption(options.flipAugment, 'flipAugment', true);
    const validationFraction = numberOption(options.validationFraction, 'validationFraction', 0.25, 0, 1, true);
    const targetSensitivity = numberOption(options.targetSensitivity, 'targetSensitivity', 0.9, 0, 1);
    const epochs = integerOption(options.epochs, 'epochs', 20, 1, 100_000);
    const seed = numberOption(options.seed, 'seed', 1);
    const index = new Map(labels.map((l, i) => [l, i]));
    checkLabelled(data, index, 'DiagnosisModel.train');
    data.forEach((d, i) => {
      if (d.patientId !== undefined && typeof d.patientId !== 'string') throw new LeptonError('INVALID_INPUT', `data[${i}].patientId must be a string, got ${describeValue(d.patientId)}.`);
    });
    const patientOf = (d: LabelledImage): string => d.patientId ?? d.image.meta.patientId ?? d.image.source ?? 'unknown';
    const split = splitPatients(data.map(patientOf), data.map((d) => index.get(d.label)!), validationFraction, seed);
    const valSet = new Set(split.validation);
    const trainData = data.filter((d) => !valSet.has(patientOf(d)));
    const valData = data.filter((d) => valSet.has(patientOf(d)));
    for (const l of labels) if (!trainData.some((d) => d.label === l)) throw new LeptonError('INVALID_INPUT', `No training image is labelled ${describeValue(l)}.`);
    const [size] = input.size;
    const k = input.slices;
    const base: DiagnosisSettings = { ...input, mean: 0, std: 1, labels, threshold: 0.5, name, version };
    const trainImages = trainData.map((d) => d.image);
    if (k > 1 && base.sliceSpacingMm === undefined) base.sliceSpacingMm = trainingSliceSpacing(trainImages);
    // Inputs before normalisation (mean 0, std 1) and the statistics of the training images' own planes, then the
    // normalisation applied in place: the same values as normalising directly, with one copy of the inputs in memory
    // (at 512×512×3 each image is 3 MiB).
    const inputs: Float32Array[] = new Array(trainImages.length);
    const stats = new PixelStatistics();
    await forEachGroup(trainImages, inputSource(trainImages, base), base, (indices, prepared) => {
      indices.forEach((i, j) => ((inputs[i] = prepared[j]!.input), stats.add(prepared[j]!.windowed)));
    });
    Object.assign(base, stats.result());
    for (const input of inputs) for (let i = 0; i < input.length; i++) input[i] = (input[i]! - base.mean) / base.std;
    const binary = labels.length === 2;
    const net = buildResidualCnn({ inputShape: [size, size, k], numClasses: binary ? 1 : labels.length, filters, pooling: options.pooling ?? 'max', seed, name: base.name.replace(/[^A-Za-z0-9_]/g, '_') });
    const model = new DiagnosisModel(net, base, workers);
    let yIdx = trainData.map((d) => index.get(d.label)!);
    if (flipAugment) {
      inputs.push(...inputs.map((im) => mirror(im, size, k)));
      yIdx = [...yIdx, ...yIdx];
    }
    // Every tensor from here on is freed on success and on failure, and a failure also frees the network's weights
    // (no worker has started: they start on the first score).
    const held: tf.Tensor[] = [];
    const oneHot = (idx: readonly number[]): tf.Tensor => tf.tidy(() => tf.oneHot(tf.tensor1d([...idx], 'int32'), labels.length));
    let validation: DiagnosisEvaluation = { n: 0, rocAuc: Number.NaN, confusion: { labels, matrix: labels.map(() => labels.map(() => 0)) } };
    try {
      const x = tf.tensor4d(concat(inputs), [inputs.length, size, size, k]);
      held.push(x);
      inputs.length = 0; // the tensor holds its own copy: let these go before training allocates its activations
      const y = binary ? tf.tensor2d(yIdx, [yIdx.length, 1]) : oneHot(yIdx);
      held.push(y);
      let validationData: { x: tf.Tensor; y: tf.Tensor } | undefined;
      if (valData.length) {
        const vx = await model.inputs(valData.map((d) => d.image));
        held.push(vx);
        const vIdx = valData.map((d) => index.get(d.label)!);
        const vy = binary ? tf.tensor2d(vIdx, [vIdx.length, 1]) : oneHot(vIdx);
        held.push(vy);
        validationData = { x: vx, y: vy };
      }
      try {
        await train(net, { x, y }, {
          epochs,
          batchSize: options.batchSize ?? 32,
          learningRate: options.learningRate ?? 5e-3,
          seed,
          classWeight: 'balanced',
          progressBar: false,
          ...(progress ? { onProgress: progress } : {}),
          ...(validationData ? { validationData, earlyStopping: { monitor: binary ? 'val_auc' : 'val_loss', patience: Math.max(8, Math.ceil(epochs / 2)) }, restoreBestWeights: true } : { earlyStopping: false as const }),
        });
      } finally {
        tf.dispose(held.splice(0));
      }
      if (valData.length) {
        if (binary) {
          const probs = await model.positiveProbabilities(valData.map((d) => d.image));
          model.settings.threshold = thresholdForSensitivity(valData.map((d) => index.get(d.label)!), probs, targetSensitivity);
        }
        validation = await model.evaluate(valData);
      }
    } catch (err) {
      tf.dispose(held.splice(0));
      await model.close();
      throw err;
    }
    return { model, split, validation, skipped: [] };
  }

  /**
   * Trains from a folder of DICOM files and a labels CSV. The CSV has a header with `label` and either `file` (path
   * relative to the folder) or `sop_instance_uid`; an optional `patient_id` column overrides the files' Patient ID.
   * Unreadable files and files without a label are skipped and listed in the result, never silently.
   *
   * @param dir - folder of DICOM files (searched recursively)
   * @param labelsCsv - path of the labels CSV
   * @param options - as for {@link train}
   * @returns the model, split, validation metrics and skipped files
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` when the CSV lacks the needed columns
   */
  static async trainFromFolder(dir: string, labelsCsv: string, options: DiagnosisOptions): Promise<DiagnosisTrainResult> {
    const { data, skipped } = await loadLabelled(dir, labelsCsv);
    const result = await DiagnosisModel.train(data, options);
    return { ...result, skipped };
  }

  /** Normalised model inputs of several images (neighbours from `context`) as one `[n, h, w, slices]` tensor. */
  private async inputs(images: readonly DicomImage[], context: readonly DicomImage[] = images): Promise<tf.Tensor4D> {
    const [h, w] = this.settings.size;
    const parts: Float32Array[] = new Array(images.length);
    await forEachGroup(images, inputSource(context, this.settings), this.settings, (indices, prepared) => indices.forEach((i, j) => (parts[i] = prepared[j]!.input)));
    return tf.tensor4d(concat(parts), [images.length, h, w, this.settings.slices]);
  }

  /**
   * Probability per label of each image, the neighbours of stacked models taken from `context`. Images are
   * preprocessed a group at a time (64, fewer for large inputs, so memory stays bounded); with workers each group goes
   * to them as soon as it is ready, so they score while the next group is prepared.
   */
  private async probabilities(images: readonly DicomImage[], context: readonly DicomImage[] = images): Promise<number[][]> {
    this.#engines.assertOpen();
    const binary = this.settings.labels.length === 2;
    const [h, w] = this.settings.size;
    const out: number[][] = new Array(images.length);
    const put = (indices: number[], flat: ArrayLike<number>): void => {
      const k = flat.length / indices.length; // outputs per image: 1 (binary) or one per label
      indices.forEach((i, j) => {
        const row = Array.from({ length: k }, (_, c) => flat[j * k + c]!);
        out[i] = binary ? [1 - row[0]!, row[0]!] : row;
      });
    };
    const pending: Array<Promise<void>> = [];
    await forEachGroup(images, inputSource(context, this.settings), this.settings, async (indices, prepared) => {
      const flat = concat(prepared.map((p) => p.input));
      if (this.#engines.pooled) {
        const p = this.#engines.predictMany(flat, indices.length).then((y) => put(indices, y));
        p.catch(() => undefined); // awaited below; until then a failure must not count as unhandled
        pending.push(p);
        return;
      }
      const x = tf.tensor4d(flat, [indices.length, h, w, this.settings.slices]);
      try {
        // data(), never dataSync(): a synchronous read blocks a GPU backend (and throws on WebGPU in Node).
        const y = tf.tidy(() => this.net.predict(x) as tf.Tensor);
        try {
          put(indices, (await y.data()) as Float32Array);
        } finally {
          y.dispose();
        }
      } finally {
        x.dispose();
      }
    });
    await Promise.all(pending);
    return out;
  }

  private async positiveProbabilities(images: readonly DicomImage[]): Promise<number[]> {
    return (await this.probabilities(images)).map((p) => p[1]!);
  }

  /**
   * Metrics on labelled images: ROC AUC, sensitivity and specificity at the operating point (binary), confusion matrix.
   *
   * @param data - labelled images
   * @returns the metrics
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for `data` that is not an array of records or a label the
   *   model does not know; `INVALID_ARGUMENT` for an `image` that is not a `DicomImage`
   */
  async evaluate(data: readonly LabelledImage[]): Promise<DiagnosisEvaluation> {
    const labels = this.settings.labels;
    const index = new Map(labels.map((l, i) => [l, i]));
    checkLabelled(data, index, 'DiagnosisModel.evaluate');
    const truth = data.map((d) => index.get(d.label)!);
    const probs = await this.probabilities(data.map((d) => d.image));
    const labelIdx = labels.map((_, i) => i);
    if (labels.length === 2) {
      const pos = probs.map((p) => p[1]!);
      const pred = pos.map((p) => (p >= this.settings.threshold ? 1 : 0));
      const tp = truth.filter((t, i) => t === 1 && pred[i] === 1).length;
      const tn = truth.filter((t, i) => t === 0 && pred[i] === 0).length;
      const p = truth.filter((t) => t === 1).length;
      const n = truth.length - p;
      return {
        n: data.length,
        rocAuc: p && n ? rocAuc(truth, pos) : Number.NaN,
        sensitivity: p ? tp / p : Number.NaN,
        specificity: n ? tn / n : Number.NaN,
        threshold: this.settings.threshold,
        confusion: { labels, matrix: confusionMatrix(truth, pred, labelIdx).matrix },
      };
    }
    const pred = probs.map((p) => p.indexOf(Math.max(...p)));
    const aucs = labelIdx
      .map((k) => {
        const t = truth.map((v): number => (v === k ? 1 : 0));
        const s = t.reduce((a, b) => a + b, 0);
        return s > 0 && s < t.length ? rocAuc(t, probs.map((p) => p[k]!)) : Number.NaN;
      })
      .filter(Number.isFinite);
    return { n: data.length, rocAuc: aucs.reduce((a, b) => a + b, 0) / aucs.length, confusion: { labels, matrix: confusionMatrix(truth, pred, labelIdx).matrix } };
  }

  /**
   * Diagnoses one image.
   *
   * @param image - a DICOM image (greyscale)
   * @param options - `heatmap: true` adds the Grad-CAM heatmap and its PNG overlay on the full-resolution windowed
   *   image; `series`: the image's series, for models that stack adjacent slices
   * @returns label, probability, decision, model name/version (and heatmap)
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for an `image` that is not a `DicomImage`, options that
   *   are not an object, a `heatmap` that is not a boolean, or when a stacking model gets no `series`, or one without
   *   the image; `INVALID_INPUT` when that series lacks slice geometry
   */
  async predict(image: DicomImage, options: PredictOptions = {}): Promise<Diagnosis> {
    imageInput(image, 'DiagnosisModel.predict: image');
    const heatmap = booleanOption(checkOptionsObject(options, 'DiagnosisModel.predict')?.heatmap, 'heatmap', false);
    let context: readonly DicomImage[] = [image];
    if (this.settings.slices > 1) {
      if (!Array.isArray(options.series)) {
        throw new LeptonError('INVALID_ARGUMENT', `This model reads ${this.settings.slices} adjacent slices: pass the image's series as options.series, or use predictSeries(images).`, { details: { option: 'series' } });
      }
      context = options.series;
    }
    const [probs] = await this.probabilities([image], context);
    const d = this.answer(probs!, image.source);
    if (heatmap) await this.explain(image, d, context);
    return d;
  }

  /**
   * Diagnoses a series: every image is scored; the most suspicious one (highest positive-class probability, or
   * highest non-first-class probability for multiclass) decides and gets the heatmap.
   *
   * @param images - the series' images (any order)
   * @param options - `heatmap: true` explains the key image
   * @returns the series answer with every image's answer
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for `images` that is not an array, or an empty one;
   *   `INVALID_ARGUMENT` for an item that is not a `DicomImage`, options that are not an object or a non-boolean `heatmap`
   */
  async predictSeries(images: readonly DicomImage[], options: { heatmap?: boolean } = {}): Promise<SeriesDiagnosis> {
    arrayInput(images, 'DiagnosisModel.predictSeries: images');
    const heatmap = booleanOption(checkOptionsObject(options, 'DiagnosisModel.predictSeries')?.heatmap, 'heatmap', false);
    if (images.length === 0) throw new LeptonError('INVALID_INPUT', 'The series has no images.');
    const probs = await this.probabilities(images);
    const answers = probs.map((p, i) => this.answer(p, images[i]!.source));
    const suspicion = probs.map((p) => 1 - p[0]!);
    const keyImage = suspicion.indexOf(Math.max(...suspicion));
    const key = answers[keyImage]!;
    if (heatmap) await this.explain(images[keyImage]!, key, images);
    return { ...key, keyImage, images: answers };
  }

  private answer(p: number[], source: string | undefined): Diagnosis {
    const { labels, threshold, name, version } = this.settings;
    const probabilities = Object.fromEntries(labels.map((l, i) => [l, p[i]!]));
    const base = { probabilities, model: { name, version }, ...(source !== undefined ? { source } : {}) };
    if (labels.length === 2) {
      const positive = p[1]! >= threshold;
      return { ...base, label: labels[positive ? 1 : 0]!, probability: p[1]!, positive, threshold };
    }
    const k = p.indexOf(Math.max(...p));
    return { ...base, label: labels[k]!, probability: p[k]! };
  }

  /**
   * Grad-CAM on the model input, then back onto the image: the map is interpolated bilinearly to the image's own Rows ×
   * Columns through the preprocessing's placement (letterbox padding dropped, stretch undone) and blended over the
   * image windowed at full resolution. Overlaying the model-size map instead would show a 512×512 slice as a blurred
   * 128×128 one, and a letterboxed map would sit shifted on a non-square image.
   */
  private async explain(image: DicomImage, d: Diagnosis, context: readonly DicomImage[]): Promise<void> {
    const [prepared] = await inputSource(context, this.settings).inputs([image]);
    const [h, w] = this.settings.size;
    const x = tf.tensor3d(prepared!.input, [h, w, this.settings.slices]);
    let map: Awaited<ReturnType<typeof gradCam>>;
    try {
      const classIndex = this.settings.labels.length === 2 ? 0 : this.settings.labels.indexOf(d.label);
      map = await gradCam(this.net, x, { classIndex });
    } finally {
      x.dispose();
    }
    const { rows, columns } = image.meta;
    const data = inputToSource(map.data, rows, columns, this.settings);
    const base = await windowedFrame(image, this.settings.window);
    d.heatmap = { data, width: columns, height: rows };
    d.overlayPng = heatmapToPng({ data, width: columns, height: rows, classIndex: map.classIndex }, { base, alpha: 0.6 });
  }

  /**
   * Saves as a verified core bundle; labels, preprocessing and operating point travel in its manifest.
   *
   * @param dir - target directory
   */
  async save(dir: string): Promise<void> {
    const { labels, name, version } = this.settings;
    await saveBundle(this.net, dir, {
      name,
      version,
      task: labels.length === 2 ? 'binary' : 'multiclass',
      labels,
      preprocessing: { ...this.settings } as unknown as Record<string, unknown>,
      description: 'Lepton diagnosis model (residual CNN on windowed DICOM images)',
    });
  }

  /**
   * Loads a model saved by {@link save}.
   *
   * @param dir - bundle directory
   * @param options - `workers`: threads scoring images (default 1, in this thread; see {@link DiagnosisOptions.workers})
   * @returns the model (its workers start when it first scores)
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad `workers`; `BUNDLE_INVALID` when the bundle
   *   is not a diagnosis model or a stored setting is out of range (`details.field`: input size, stack depth, slice
   *   spacing, fit, resampling, window, normalisation, labels, threshold); `BUNDLE_INCOMPATIBLE` when the network's
   *   input is not the stored size and stack depth. Bundles written before stacks existed load as 2-D, stretched and
   *   bilinear, as they were trained
   */
  static async load(dir: string, options: Pick<DiagnosisOptions, 'workers'> = {}): Promise<DiagnosisModel> {
    const workers = resolveWorkersOption(options?.workers, 'DiagnosisModel.load');
    const b = await loadBundle(dir);
    let settings: DiagnosisSettings;
    try {
      settings = bundleSettings(dir, b.manifest.preprocessing, b.manifest, b.model);
    } catch (err) {
      b.model.dispose();
      throw err;
    }
    return new DiagnosisModel(b.model, settings, workers);
  }

  /**
   * Frees the network's weights and stops the workers, if any, once they have scored what they accepted. The model
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

