import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import {
  buildResidualCnn,
  confusionMatrix,
  gradCam,
  heatmapToPng,
  LeptonError,
  loadBundle,
  rocAuc,
  saveBundle,
  seededRandom,
  tf,
  train,
  type TrainEvent,
} from '@lepton/core';
import type { DicomImage } from '../dicom/image.js';
import { readDicomFolder, type DicomLoadFailure } from '../dicom/files.js';
import type { WindowPresetName } from '../lut/presets.js';
import { pixelStats, preprocessImage, resolveWindow, type ImagePreprocessing, type WindowSpec } from './preprocess.js';

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

/** A heatmap as an array, at model input size. */
export interface HeatmapArray {
  /** Values in [0, 1], row-major. */
  data: Float32Array;
  /** Width, pixels. */
  width: number;
  /** Height, pixels. */
  height: number;
}

/** Patients on each side of a patient-level split (disjoint). */
export interface PatientSplit {
  /** Training patients. */
  train: string[];
  /** Validation patients. */
  validation: string[];
}

/** A file a folder load could not use, and why. */
export interface SkippedFile {
  /** The file's path (relative to the folder where possible). */
  path: string;
  /** Why it was skipped. */
  reason: string;
}

/** One labelled training or evaluation image. */
export interface LabelledImage {
  /** The DICOM image. */
  image: DicomImage;
  /** Its label (one of the model's labels). */
  label: string;
  /** Patient it belongs to: the split never puts one patient on both sides. Default: the image's Patient ID. */
  patientId?: string;
}

/** Options for {@link DiagnosisModel.train}. */
export interface DiagnosisOptions {
  /** Class names. Two labels make a binary model whose positive class is `labels[1]` (e.g. `['normal', 'nodule']`). */
  labels: string[];
  /** Window on modality values (HU for CT). Default `lung`. */
  window?: WindowPresetName | WindowSpec;
  /** Model input size in pixels (square). Default 64. */
  size?: number;
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
  /** Receives core training events (start, batch, epoch with validation metrics, end). */
  onProgress?: (event: TrainEvent) => void;
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
  /** Grad-CAM heatmap at model input size (values in [0, 1], row-major), when asked for. */
  heatmap?: HeatmapArray;
  /** The heatmap blended over the windowed image, as PNG bytes, when a heatmap was asked for. */
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

interface Settings extends ImagePreprocessing {
  labels: string[];
  threshold: number;
  name: string;
  version: string;
}

/**
 * An image diagnosis model on `@lepton/core`'s residual CNN: DICOM in (modality LUT → window → resize →
 * normalisation, all stored in the bundle), label, probability and operating-point decision out, with a Grad-CAM
 * heatmap and a PNG overlay on the windowed image. Training splits by patient so no patient is on both sides.
 */
export class DiagnosisModel {
  private constructor(
    private readonly net: tf.LayersModel,
    private readonly settings: Settings,
  ) {}

  /** Class names; for binary models `labels[1]` is the positive class. */
  get labels(): readonly string[] {
    return this.settings.labels;
  }

  /** The preprocessing stored with the model. */
  get preprocessing(): ImagePreprocessing {
    const { window, size, mean, std } = this.settings;
    return { window: { ...window }, size: [...size], mean, std };
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
    if (!(threshold >= 0 && threshold <= 1)) throw new LeptonError('INVALID_ARGUMENT', `Threshold must be in [0, 1], got ${threshold}.`);
    this.settings.threshold = threshold;
  }

  /**
   * Trains on labelled images with a patient-level split.
   *
   * @param data - labelled images
   * @param options - labels, preprocessing, architecture, split, training
   * @returns the model, the split and validation metrics
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for unknown labels, fewer than two patients or a class
   *   missing from training
   */
  static async train(data: readonly LabelledImage[], options: DiagnosisOptions): Promise<DiagnosisTrainResult> {
    const labels = [...options.labels];
    if (labels.length < 2) throw new LeptonError('INVALID_ARGUMENT', 'A diagnosis model needs at least two labels.');
    const index = new Map(labels.map((l, i) => [l, i]));
    for (const d of data) if (!index.has(d.label)) throw new LeptonError('INVALID_INPUT', `${d.image.source ?? 'image'}: label "${d.label}" is not one of ${labels.join(', ')}.`);
    const patientOf = (d: LabelledImage): string => d.patientId ?? d.image.meta.patientId ?? d.image.source ?? 'unknown';
    const split = splitPatients(data.map(patientOf), data.map((d) => index.get(d.label)!), options.validationFraction ?? 0.25, options.seed ?? 1);
    const valSet = new Set(split.validation);
    const trainData = data.filter((d) => !valSet.has(patientOf(d)));
    const valData = data.filter((d) => valSet.has(patientOf(d)));
    for (const l of labels) if (!trainData.some((d) => d.label === l)) throw new LeptonError('INVALID_INPUT', `No training image is labelled "${l}".`);
    const size = options.size ?? 64;
    const window = resolveWindow(options.window ?? 'lung');
    // Normalisation statistics from the training images only.
    const base: Settings = { window, size: [size, size], mean: 0, std: 1, labels, threshold: 0.5, name: options.name ?? 'diagnosis', version: options.version ?? '1.0.0' };
    const windowedTrain = await Promise.all(trainData.map(async (d) => (await preprocessImage(d.image, base)).windowed));
    Object.assign(base, pixelStats(windowedTrain));
    const binary = labels.length === 2;
    const net = buildResidualCnn({ inputShape: [size, size, 1], numClasses: binary ? 1 : labels.length, filters: options.filters ?? [16, 32, 64], pooling: options.pooling ?? 'max', seed: options.seed ?? 1, name: base.name.replace(/[^A-Za-z0-9_]/g, '_') });
    const model = new DiagnosisModel(net, base);
    const inputs = windowedTrain.map((w) => normalise(w, base));
    let yIdx = trainData.map((d) => index.get(d.label)!);
    if (options.flipAugment ?? true) {
      inputs.push(...inputs.map((im) => mirror(im, size)));
      yIdx = [...yIdx, ...yIdx];
    }
    const x = tf.tensor4d(concat(inputs), [inputs.length, size, size, 1]);
    const y = binary ? tf.tensor2d(yIdx, [yIdx.length, 1]) : tf.oneHot(tf.tensor1d(yIdx, 'int32'), labels.length);
    let validationData: { x: tf.Tensor; y: tf.Tensor } | undefined;
    if (valData.length) {
      const vx = await model.inputs(valData.map((d) => d.image));
      const vIdx = valData.map((d) => index.get(d.label)!);
      validationData = { x: vx, y: binary ? tf.tensor2d(vIdx, [vIdx.length, 1]) : tf.oneHot(tf.tensor1d(vIdx, 'int32'), labels.length) };
    }
    try {
      await train(net, { x, y }, {
        epochs: options.epochs ?? 20,
        batchSize: options.batchSize ?? 32,
        learningRate: options.learningRate ?? 5e-3,
        seed: options.seed ?? 1,
        classWeight: 'balanced',
        progressBar: false,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        ...(validationData ? { validationData, earlyStopping: { monitor: binary ? 'val_auc' : 'val_loss', patience: Math.max(8, Math.ceil((options.epochs ?? 20) / 2)) }, restoreBestWeights: true } : { earlyStopping: false as const }),
      });
    } finally {
      tf.dispose([x, y, ...(validationData ? [validationData.x, validationData.y] : [])]);
    }
    let validation: DiagnosisEvaluation = { n: 0, rocAuc: Number.NaN, confusion: { labels, matrix: labels.map(() => labels.map(() => 0)) } };
    if (valData.length) {
      if (binary) {
        const probs = await model.positiveProbabilities(valData.map((d) => d.image));
        model.settings.threshold = thresholdForSensitivity(valData.map((d) => index.get(d.label)!), probs, options.targetSensitivity ?? 0.9);
      }
      validation = await model.evaluate(valData);
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

  /** Normalised model inputs of several images as one `[n, size, size, 1]` tensor. */
  private async inputs(images: readonly DicomImage[]): Promise<tf.Tensor4D> {
    const [h, w] = this.settings.size;
    const parts = await Promise.all(images.map(async (im) => (await preprocessImage(im, this.settings)).input));
    return tf.tensor4d(concat(parts), [images.length, h, w, 1]);
  }

  private async probabilities(images: readonly DicomImage[]): Promise<number[][]> {
    const out: number[][] = [];
    for (let i = 0; i < images.length; i += 64) {
      const x = await this.inputs(images.slice(i, i + 64));
      try {
        // array(), never arraySync(): a synchronous read blocks a GPU backend (and throws on WebGPU in Node).
        const y = tf.tidy(() => this.net.predict(x) as tf.Tensor);
        let p: number[][];
        try {
          p = (await y.array()) as number[][];
        } finally {
          y.dispose();
        }
        out.push(...p.map((row) => (this.settings.labels.length === 2 ? [1 - row[0]!, row[0]!] : row)));
      } finally {
        x.dispose();
      }
    }
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
   */
  async evaluate(data: readonly LabelledImage[]): Promise<DiagnosisEvaluation> {
    const labels = this.settings.labels;
    const index = new Map(labels.map((l, i) => [l, i]));
    const truth = data.map((d) => {
      const i = index.get(d.label);
      if (i === undefined) throw new LeptonError('INVALID_INPUT', `Label "${d.label}" is not one of ${labels.join(', ')}.`);
      return i;
    });
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
   * @param options - `heatmap: true` adds the Grad-CAM heatmap and its PNG overlay on the windowed image
   * @returns label, probability, decision, model name/version (and heatmap)
   */
  async predict(image: DicomImage, options: { heatmap?: boolean } = {}): Promise<Diagnosis> {
    const [probs] = await this.probabilities([image]);
    const d = this.answer(probs!, image.source);
    if (options.heatmap) await this.explain(image, d);
    return d;
  }

  /**
   * Diagnoses a series: every image is scored; the most suspicious one (highest positive-class probability, or
   * highest non-first-class probability for multiclass) decides and gets the heatmap.
   *
   * @param images - the series' images (any order)
   * @param options - `heatmap: true` explains the key image
   * @returns the series answer with every image's answer
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for an empty series
   */
  async predictSeries(images: readonly DicomImage[], options: { heatmap?: boolean } = {}): Promise<SeriesDiagnosis> {
    if (images.length === 0) throw new LeptonError('INVALID_INPUT', 'The series has no images.');
    const probs = await this.probabilities(images);
    const answers = probs.map((p, i) => this.answer(p, images[i]!.source));
    const suspicion = probs.map((p) => 1 - p[0]!);
    const keyImage = suspicion.indexOf(Math.max(...suspicion));
    const key = answers[keyImage]!;
    if (options.heatmap) await this.explain(images[keyImage]!, key);
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

  private async explain(image: DicomImage, d: Diagnosis): Promise<void> {
    const { input, windowed } = await preprocessImage(image, this.settings);
    const [h, w] = this.settings.size;
    const x = tf.tensor3d(input, [h, w, 1]);
    try {
      const classIndex = this.settings.labels.length === 2 ? 0 : this.settings.labels.indexOf(d.label);
      const map = await gradCam(this.net, x, { classIndex });
      d.heatmap = { data: map.data, width: map.width, height: map.height };
      d.overlayPng = heatmapToPng(map, { base: windowed, alpha: 0.6 });
    } finally {
      x.dispose();
    }
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
   * @returns the model
   * @throws {@link @lepton/core!LeptonError} `BUNDLE_INVALID` when the bundle is not a diagnosis model
   */
  static async load(dir: string): Promise<DiagnosisModel> {
    const b = await loadBundle(dir);
    const s = b.manifest.preprocessing as unknown as Settings | undefined;
    if (!s?.window || !s.size || !s.labels || typeof s.mean !== 'number') throw new LeptonError('BUNDLE_INVALID', `${dir} is not a Lepton diagnosis model.`);
    return new DiagnosisModel(b.model, { ...s, name: b.manifest.name, version: b.manifest.version });
  }

  /** Frees the network's weights. */
  dispose(): void {
    this.net.dispose();
  }
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
}

/** Left–right mirror of a square image. */
function mirror(im: Float32Array, size: number): Float32Array {
  const out = new Float32Array(im.length);
  for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) out[r * size + c] = im[r * size + size - 1 - c]!;
  return out;
}

function normalise(windowed: Float32Array, p: ImagePreprocessing): Float32Array {
  return windowed.map((v) => (v - p.mean) / p.std);
}

/** Patient-level split, stratified by whether a patient has any non-first-class image. */
function splitPatients(patients: string[], classes: number[], fraction: number, seed: number): PatientSplit {
  const positive = new Map<string, boolean>();
  patients.forEach((p, i) => positive.set(p, (positive.get(p) ?? false) || classes[i]! > 0));
  const unique = [...positive.keys()].sort();
  if (unique.length < 2) throw new LeptonError('INVALID_INPUT', `A patient-level split needs at least two patients, got ${unique.length}.`);
  const rand = seededRandom(seed);
  const shuffle = (xs: string[]): string[] => {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  };
  const validation: string[] = [];
  for (const group of [unique.filter((p) => positive.get(p)), unique.filter((p) => !positive.get(p))]) {
    const g = shuffle(group);
    validation.push(...g.slice(0, Math.round(g.length * fraction)));
  }
  if (validation.length === 0 && fraction > 0) validation.push(unique[0]!);
  const v = new Set(validation);
  return { train: unique.filter((p) => !v.has(p)), validation: validation.sort() };
}

/** The highest threshold whose sensitivity on (truth, probability) reaches the target. */
function thresholdForSensitivity(truth: number[], probs: number[], target: number): number {
  const pos = probs.filter((_, i) => truth[i] === 1).sort((a, b) => b - a);
  if (pos.length === 0) return 0.5;
  const need = Math.ceil(target * pos.length);
  return pos[Math.max(0, need - 1)]!;
}

async function loadLabelled(dir: string, labelsCsv: string): Promise<{ data: LabelledImage[]; skipped: SkippedFile[] }> {
  const rows = parse(await readFile(labelsCsv, 'utf8'), { columns: true, skip_empty_lines: true, trim: true }) as Array<Record<string, string>>;
  const cols = Object.keys(rows[0] ?? {});
  if (!cols.includes('label') || !(cols.includes('file') || cols.includes('sop_instance_uid'))) {
    throw new LeptonError('INVALID_INPUT', `${labelsCsv}: needs a header with "label" and "file" or "sop_instance_uid", got ${cols.join(', ') || 'no columns'}.`);
  }
  const byFile = new Map<string, Record<string, string>>();
  const byUid = new Map<string, Record<string, string>>();
  for (const r of rows) {
    if (r['file']) byFile.set(resolve(dir, r['file']), r);
    if (r['sop_instance_uid']) byUid.set(r['sop_instance_uid'], r);
  }
  const csvPath = resolve(labelsCsv);
  const { images, failures } = await readDicomFolder(dir, { recursive: true, filter: (p) => resolve(p) !== csvPath });
  const skipped = failures.map((f: DicomLoadFailure) => ({ path: f.path, reason: f.error.message }));
  const data: LabelledImage[] = [];
  for (const image of images) {
    const path = image.source ? resolve(image.source) : undefined;
    const row = (path && byFile.get(path)) || (image.meta.sopInstanceUid && byUid.get(image.meta.sopInstanceUid));
    if (!row) {
      skipped.push({ path: image.source ? relative(dir, image.source) : '(unknown)', reason: 'no label in the CSV' });
      continue;
    }
    const patientId = row['patient_id'] || image.meta.patientId;
    data.push({ image, label: row['label']!, ...(patientId ? { patientId } : {}) });
  }
  return { data, skipped };
}

