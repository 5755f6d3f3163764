import { join } from 'node:path';
import {
  buildDenseAutoencoder,
  buildMlp,
  calibratorFromJSON,
  fitIsotonic,
  fitPlatt,
  integratedGradients,
  LeptonError,
  loadBundle,
  saveBundle,
  seededRandom,
  tf,
  train,
  type Calibrator,
  type CalibratorJSON,
  type TrainResult,
} from '@lepton/core';
import { describeFeature, type ReasonCode } from './reasons.js';
import { fitScaler, scaleRows, type ScalerJSON } from './scaler.js';

/** Feature rows and their labels (1 fraud, 0 genuine), index-aligned. */
export interface LabelledRows {
  /** Feature rows, each in feature-name order. */
  rows: ReadonlyArray<ArrayLike<number>>;
  /** One label per row: 1 fraud, 0 genuine. */
  labels: ArrayLike<number>;
}

/** Options for {@link FraudModel.train}. Defaults are filled in one place (the method). */
export interface FraudModelOptions {
  /** Feature names, index-aligned with each row (e.g. `FeatureEngine.names`). */
  featureNames: readonly string[];
  /** Hidden layers of the supervised MLP. Default `[64, 32]`. */
  hiddenUnits?: number[];
  /** Maximum epochs (early stopping on validation PR AUC). Default 30. */
  epochs?: number;
  /** Default 256. */
  batchSize?: number;
  /** Default 2e-3. */
  learningRate?: number;
  /** Seed for weights, shuffling and resampling. Default 1. */
  seed?: number;
  /** Class weights for the supervised model. Default `'balanced'`. */
  classWeight?: 'balanced' | 'none';
  /**
   * Keep only this fraction of genuine training rows (random undersampling, seeded). Resampling happens on the
   * training split only, and calibration on the untouched validation split corrects the shifted base rate.
   * Default 1 (no resampling).
   */
  negativeSampling?: number;
  /** Train the autoencoder anomaly detector on genuine training rows and blend it in. Default true. */
  autoencoder?: boolean;
  /** Weight of the supervised probability in the blend (the rest is the anomaly percentile). Default 0.85. */
  blendWeight?: number;
  /** Calibration of the blended score on the validation split. Default `'isotonic'`. */
  calibration?: 'platt' | 'isotonic';
}

/** A transaction's fraud score. */
export interface FraudScore {
  /** Calibrated probability of fraud. */
  probability: number;
  /** The probability on a 0–999 scale (999 = riskiest). */
  riskScore: number;
  /** Supervised model output before blending and calibration. */
  supervised: number;
  /** Anomaly percentile of the autoencoder's reconstruction error among genuine training rows (0–1). */
  anomaly: number;
}

/** What {@link FraudModel.train} reports. */
export interface FraudTrainingReport {
  /** Training result of the supervised MLP. */
  supervised: TrainResult;
  /** Training result of the autoencoder; absent when it was not trained. */
  autoencoder?: TrainResult;
  /** Rows used to fit the supervised model after resampling, and how many were genuine/fraud. */
  trainingRows: {
    /** Training rows after resampling. */
    total: number;
    /** Fraud rows (label 1) among them. */
    fraud: number;
    /** Genuine rows (label 0) among them. */
    genuine: number;
  };
}

interface Settings {
  featureNames: string[];
  scaler: ScalerJSON;
  calibrator: CalibratorJSON;
  blendWeight: number;
  /** Reconstruction-error quantiles (0, 0.1 %, …, 100 %) of genuine training rows. */
  anomalyQuantiles: number[] | null;
}

/**
 * Fraud scoring model: a class-weighted MLP on point-in-time features, blended with an autoencoder anomaly score
 * (for fraud patterns with no labels yet), then calibrated (Platt or isotonic) into a probability and a 0–999 risk
 * score. Preprocessing (scaler, calibration, blend) is saved inside the model bundle.
 */
export class FraudModel {
  private constructor(
    private readonly mlp: tf.LayersModel,
    private readonly ae: tf.LayersModel | undefined,
    private readonly settings: Settings,
    private readonly calibrator: Calibrator,
  ) {}

  /** Feature names the model expects, in order. */
  get featureNames(): readonly string[] {
    return this.settings.featureNames;
  }

  /**
   * Trains the supervised model (and the autoencoder) on `trainSet`, early-stops and calibrates on `validation`.
   * Split by time before calling this (see `timeSplit`): train on earlier data, validate on later.
   *
   * @param trainSet - training rows and labels
   * @param validation - later rows and labels (never resampled)
   * @param options - see {@link FraudModelOptions}
   * @returns the model and a training report
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` when a split lacks fraud or genuine rows, or rows do not match the names
   */
  static async train(
    trainSet: LabelledRows,
    validation: LabelledRows,
    options: FraudModelOptions,
  ): Promise<{
    /** The trained, calibrated model. */
    model: FraudModel;
    /** Training results and row counts. */
    report: FraudTrainingReport;
  }> {
    const names = [...options.featureNames];
    const seed = options.seed ?? 1;
    for (const [what, set] of [['training', trainSet], ['validation', validation]] as const) {
      const fraud = Array.from(set.labels).filter((l) => l === 1).length;
      if (fraud === 0 || fraud === set.labels.length) {
        throw new LeptonError('INVALID_INPUT', `The ${what} split needs both fraud and genuine rows (it has ${fraud} fraud of ${set.labels.length}).`);
      }
      if (set.rows.some((r) => r.length !== names.length)) {
        throw new LeptonError('INVALID_INPUT', `Every ${what} row needs ${names.length} features (one per featureNames entry).`);
      }
    }
    // Resampling only inside training: validation keeps the real base rate, and calibration below restores it.
    const keep = options.negativeSampling ?? 1;
    const rand = seededRandom(seed ^ 0x5bd1e995);
    const idx: number[] = [];
    for (let i = 0; i < trainSet.rows.length; i++) if (trainSet.labels[i] === 1 || keep >= 1 || rand() < keep) idx.push(i);
    const rows = idx.map((i) => trainSet.rows[i]!);
    const labels = idx.map((i) => trainSet.labels[i]!);
    const scaler = fitScaler(rows);
    const d = names.length;
    const x = tf.tensor2d(scaleRows(rows, scaler), [rows.length, d]);
    const y = tf.tensor2d(labels, [labels.length, 1]);
    const vx = tf.tensor2d(scaleRows(validation.rows, scaler), [validation.rows.length, d]);
    const vy = tf.tensor2d(Array.from(validation.labels), [validation.labels.length, 1]);
    const mlp = buildMlp({ inputDim: d, hiddenUnits: options.hiddenUnits ?? [64, 32], task: 'binary', dropout: 0.1, seed });
    let ae: tf.LayersModel | undefined;
    let aeResult: TrainResult | undefined;
    let anomalyQuantiles: number[] | null = null;
    try {
      const supervised = await train(mlp, { x, y }, {
        epochs: options.epochs ?? 30,
        batchSize: options.batchSize ?? 256,
        learningRate: options.learningRate ?? 2e-3,
        validationData: { x: vx, y: vy },
        earlyStopping: { monitor: 'val_average_precision', patience: 5 },
        ...(options.classWeight === 'none' ? {} : { classWeight: 'balanced' as const }),
        seed,
        progressBar: false,
      });
      if (options.autoencoder ?? true) {
        const genuine = rows.filter((_, i) => labels[i] === 0);
        const gx = tf.tensor2d(scaleRows(genuine, scaler), [genuine.length, d]);
        ae = buildDenseAutoencoder({ inputDim: d, hiddenUnits: [32], latentDim: 8, seed: seed + 1 });
        try {
          aeResult = await train(ae, { x: gx, y: gx }, { epochs: 15, batchSize: 256, learningRate: 2e-3, validationSplit: 0.1, seed: seed + 1, progressBar: false });
          const errors = Float64Array.from(await reconstructionErrors(ae, gx)).sort();
          anomalyQuantiles = Array.from({ length: 1001 }, (_, q) => errors[Math.min(errors.length - 1, Math.floor((q / 1000) * (errors.length - 1)))]!);
        } finally {
          gx.dispose();
        }
      }
      const blendWeight = ae ? (options.blendWeight ?? 0.85) : 1;
      const partial: Settings = { featureNames: names, scaler, calibrator: { kind: 'platt', a: -1, b: 0 }, blendWeight, anomalyQuantiles };
      const raw = await rawScores(mlp, ae, partial, vx);
      const vLabels = Array.from(validation.labels);
      const calibrator = (options.calibration ?? 'isotonic') === 'platt' ? fitPlatt(raw.blended, vLabels) : fitIsotonic(raw.blended, vLabels);
      const settings: Settings = { ...partial, calibrator: calibrator.toJSON() };
      const report: FraudTrainingReport = {
        supervised,
        trainingRows: { total: rows.length, fraud: labels.filter((l) => l === 1).length, genuine: labels.filter((l) => l === 0).length },
      };
      if (aeResult) report.autoencoder = aeResult;
      return { model: new FraudModel(mlp, ae, settings, calibrator), report };
    } finally {
      tf.dispose([x, y, vx, vy]);
    }
  }

  /**
   * Scores feature rows in one batch.
   *
   * Asynchronous because the scores are read back from the backend with `data()`: a synchronous read of a GPU tensor
   * blocks the thread on WebGPU (and throws in Node, where tfjs-backend-webgpu's sync read needs a canvas).
   *
   * @param rows - feature rows in {@link featureNames} order
   * @returns one score per row
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a row of the wrong length
   */
  async score(rows: ReadonlyArray<ArrayLike<number>>): Promise<FraudScore[]> {
    const d = this.settings.featureNames.length;
    rows.forEach((r, i) => {
      if (r.length !== d) throw new LeptonError('INVALID_INPUT', `Row ${i} has ${r.length} features; the model expects ${d}.`);
    });
    if (rows.length === 0) return [];
    const x = tf.tensor2d(scaleRows(rows, this.settings.scaler), [rows.length, d]);
    try {
      const raw = await rawScores(this.mlp, this.ae, this.settings, x);
      return raw.blended.map((b, i) => {
        const probability = this.calibrator.predict(b);
        return { probability, riskScore: Math.min(999, Math.round(probability * 999)), supervised: raw.supervised[i]!, anomaly: raw.anomaly[i]! };
      });
    } finally {
      x.dispose();
    }
  }

  /**
   * Reason codes for one transaction: the features that pushed its supervised fraud score up most (integrated
   * gradients from the training-average transaction), as sentences with the usual value for comparison.
   *
   * @param row - the transaction's features
   * @param topK - how many reasons (default 3)
   * @returns reasons, strongest first (only positive contributions)
   */
  async reasons(row: ArrayLike<number>, topK = 3): Promise<ReasonCode[]> {
    const { scaler, featureNames } = this.settings;
    const ig = await integratedGradients(this.mlp, scaleRows([row], scaler), { steps: 32, topK: featureNames.length });
    // Features that read the same to an analyst (sin and cos of the hour …) are one reason: their contributions add.
    const byText = new Map<string, ReasonCode>();
    for (const a of ig.top) {
      const name = featureNames[a.index]!;
      const value = row[a.index]!;
      const usual = scaler.mean[a.index]!;
      const text = describeFeature(name, value, usual);
      const seen = byText.get(text);
      if (seen) seen.contribution += a.attribution;
      else byText.set(text, { code: name, text, contribution: a.attribution, value, usual });
    }
    return [...byText.values()]
      .filter((r) => r.contribution > 0)
      .sort((p, q) => q.contribution - p.contribution)
      .slice(0, topK);
  }

  /**
   * Saves the model as bundles under `dir` (`supervised/`, and `autoencoder/` when used); scaler, calibration and
   * blend settings travel in the supervised bundle's preprocessing.
   *
   * @param dir - target directory
   * @param meta - name and semantic version
   */
  async save(dir: string, meta: { name: string; version: string; metrics?: Record<string, number> }): Promise<void> {
    const preprocessing = { ...this.settings } as unknown as Record<string, unknown>;
    await saveBundle(this.mlp, join(dir, 'supervised'), {
      name: meta.name,
      version: meta.version,
      labels: ['genuine', 'fraud'],
      preprocessing,
      ...(meta.metrics ? { metrics: meta.metrics } : {}),
      description: 'Lepton fraud model: supervised MLP (blended with an autoencoder anomaly score, then calibrated)',
    });
    if (this.ae) await saveBundle(this.ae, join(dir, 'autoencoder'), { name: `${meta.name}-autoencoder`, version: meta.version, task: 'regression' });
  }

  /**
   * Loads a model saved by {@link save}, verifying every file.
   *
   * @param dir - the directory given to `save`
   * @returns the model
   * @throws {@link @lepton/core!LeptonError} bundle errors from `loadBundle`, or `BUNDLE_INVALID` when the settings are missing
   */
  static async load(dir: string): Promise<FraudModel> {
    const sup = await loadBundle(join(dir, 'supervised'), { expectTask: 'binary' });
    const settings = sup.manifest.preprocessing as unknown as Settings | undefined;
    if (!settings?.scaler || !settings.calibrator || !Array.isArray(settings.featureNames)) {
      throw new LeptonError('BUNDLE_INVALID', `${dir} is not a Lepton fraud model: its preprocessing lacks scaler/calibrator/featureNames.`);
    }
    const ae = settings.anomalyQuantiles ? (await loadBundle(join(dir, 'autoencoder'), { expectInputs: [{ shape: [null, settings.featureNames.length] }] })).model : undefined;
    return new FraudModel(sup.model, ae, settings, calibratorFromJSON(settings.calibrator));
  }

  /** Frees the models' weights. */
  dispose(): void {
    this.mlp.dispose();
    this.ae?.dispose();
  }
}

/** Mean squared reconstruction error per row, read back asynchronously (never `dataSync`: it blocks a GPU backend). */
async function reconstructionErrors(ae: tf.LayersModel, x: tf.Tensor2D): Promise<Float32Array> {
  return readAndDispose(tf.tidy(() => tf.mean(tf.square(tf.sub(ae.predict(x) as tf.Tensor, x)), 1)));
}

/** Reads a tensor's values with `data()` and frees it, also when the read fails. */
async function readAndDispose(t: tf.Tensor): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}

function percentile(quantiles: number[], v: number): number {
  let lo = 0;
  let hi = quantiles.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (quantiles[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo / (quantiles.length - 1);
}

async function rawScores(mlp: tf.LayersModel, ae: tf.LayersModel | undefined, s: Settings, x: tf.Tensor2D): Promise<{ supervised: number[]; anomaly: number[]; blended: number[] }> {
  const supervised = Array.from(await readAndDispose(tf.tidy(() => mlp.predict(x) as tf.Tensor)));
  const anomaly = ae && s.anomalyQuantiles ? Array.from(await reconstructionErrors(ae, x), (e) => Math.min(1, percentile(s.anomalyQuantiles!, e))) : supervised.map(() => 0);
  const w = s.blendWeight;
  return { supervised, anomaly, blended: supervised.map((p, i) => w * p + (1 - w) * anomaly[i]!) };
}
