import { join } from 'node:path';
import { buildDenseAutoencoder, buildMlp, calibratorFromJSON, fitIsotonic, fitPlatt, integratedGradients, LeptonError, loadBundle, progressReporter, saveBundle, seededRandom, stageListeners, tf, train, type Calibrator, type CalibratorJSON, type ProgressOptions, type TrainResult, ModelWorkers, resolveWorkersOption } from '@lepton/core';
import { binaryLabels, choiceOption, finiteRows, isLeptonErrorWith, numberOption } from '../internal/guards.js';
import { predictRead, rawScores, reconstructionErrors } from './raw-scores.js';
import { describeFeature, type ReasonCode } from './reasons.js';
import { fitScaler, scaleRows } from './scaler.js';
import { checkSettings, type FraudSettings } from './settings.js';

/** Most hidden layers, and most units per layer, {@link FraudModel.train} builds (bounds the weights' memory). */
const MAX_LAYERS = 16;
const MAX_UNITS = 4096;

/** Most rows per request to a worker: a call's rows are cut into one chunk per worker, and big calls into chunks of this. */
const WORKER_CHUNK = 8192;

/** Throws `INVALID_ARGUMENT` unless `dir` is a non-empty string (path.join threw a plain `TypeError` for anything else). */
function checkDir(dir: unknown, what: string): void {
  if (typeof dir !== 'string' || dir === '') throw new LeptonError('INVALID_ARGUMENT', `${what}: dir must be a non-empty directory path.`);
}

/** Feature rows and their labels (1 fraud, 0 genuine), index-aligned. */
export interface LabelledRows {
  /** Feature rows, each in feature-name order. */
  rows: ReadonlyArray<ArrayLike<number>>;
  /** One label per row: 1 fraud, 0 genuine. */
  labels: ArrayLike<number>;
}

/**
 * Options for {@link FraudModel.train}. Defaults are filled in one place (the method). `onProgress` and `progressBar`
 * (see `ProgressOptions` in `@lepton/core`) report the supervised MLP's epochs and then the autoencoder's as one run.
 */
export interface FraudModelOptions extends ProgressOptions {
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
  /**
   * Worker threads scoring rows with the trained model ({@link FraudModel.score}). Default 1: in this thread, as
   * before. With 2 or more, or `'auto'` (one per core, capped by free memory), the MLP and the autoencoder each get a
   * pool of that many workers, each loading a copy on this thread's backend when the model first scores; a call's rows
   * are cut into one chunk per worker (at most 8,192 rows each) that run at once (the MLP's pool first, then the
   * autoencoder's, so `workers` threads compute at a time). Scores are the same as in this thread (bitwise on `wasm`).
   * Training and reason codes run in this thread. Worth it for batches of thousands of rows: each chunk travels to a
   * worker and back, which costs more than scoring a few rows here.
   */
  workers?: number | 'auto';
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

type Settings = FraudSettings;

/**
 * Fraud scoring model: a class-weighted MLP on point-in-time features, blended with an autoencoder anomaly score
 * (for fraud patterns with no labels yet), then calibrated (Platt or isotonic) into a probability and a 0–999 risk
 * score. Preprocessing (scaler, calibration, blend) is saved inside the model bundle.
 */
export class FraudModel {
  readonly #mlpEngines: ModelWorkers;
  readonly #aeEngines: ModelWorkers | undefined;

  private constructor(
    private readonly mlp: tf.LayersModel,
    private readonly ae: tf.LayersModel | undefined,
    private readonly settings: Settings,
    private readonly calibrator: Calibrator,
    workers: number,
  ) {
    this.#mlpEngines = new ModelWorkers(mlp, workers, WORKER_CHUNK, 'This FraudModel');
    this.#aeEngines = ae && new ModelWorkers(ae, workers, WORKER_CHUNK, 'This FraudModel');
  }

  /** Worker threads per model when scoring (1: in this thread). */
  get workers(): number {
    return this.#mlpEngines.count;
  }

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
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` when a split lacks fraud or genuine rows, rows do not
   *   match the names, a value is not a finite number, or a label is not 0/1 (with `details.row`/`details.index`);
   *   `INVALID_ARGUMENT` for options that are not an object, a bad `workers`, `onProgress`, `progressBar`,
   *   `hiddenUnits`, `classWeight`, `calibration` or `autoencoder`, or another option out of range (before any
   *   training); `PROGRESS_LISTENER_FAILED` when the `onProgress` listener throws (training stops, nothing is kept)
   *
   * Progress: one `start`, the MLP's epochs (at most `epochs`) then the autoencoder's (at most 15) numbered on as one
   * run, each with its batches, then one `end`; a bar with the time left on a terminal (see {@link FraudModelOptions}).
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
    if (typeof options !== 'object' || options === null) throw new LeptonError('INVALID_ARGUMENT', 'FraudModel.train needs options with featureNames (e.g. { featureNames: engine.names }).');
    const workers = resolveWorkersOption(options.workers, 'FraudModel.train');
    if (!Array.isArray(options.featureNames) || options.featureNames.some((n) => typeof n !== 'string')) {
      throw new LeptonError('INVALID_ARGUMENT', 'FraudModel.train: featureNames must be an array of strings (e.g. FeatureEngine.names).');
    }
    const progress = progressReporter(options, 'FraudModel.train');
    const names = [...options.featureNames];
    const seed = numberOption(options.seed ?? 1, 'seed', { integer: true });
    for (const [what, v, range] of [
      ['epochs', options.epochs, { min: 1, integer: true }],
      ['batchSize', options.batchSize, { min: 1, integer: true }],
      ['learningRate', options.learningRate, { min: 0, exclusiveMin: true }],
      ['negativeSampling', options.negativeSampling, { min: 0, max: 1, exclusiveMin: true }],
      ['blendWeight', options.blendWeight, { min: 0, max: 1 }],
    ] as const) {
      if (v !== undefined) numberOption(v, `FraudModel.train: ${what}`, range);
    }
    // Each checked, never defaulted on a typo: a 'None' class weight or a truthy 'false' autoencoder trained silently
    // with the default, and a layer of 1e308 units threw a RangeError from TF.js.
    const hiddenUnits: unknown = options.hiddenUnits ?? [64, 32];
    if (!Array.isArray(hiddenUnits) || hiddenUnits.length > MAX_LAYERS || !hiddenUnits.every((u) => Number.isInteger(u) && u >= 1 && u <= MAX_UNITS)) {
      throw new LeptonError('INVALID_ARGUMENT', `FraudModel.train: hiddenUnits must be a list of at most ${MAX_LAYERS} layer sizes, each an integer from 1 to ${MAX_UNITS}.`);
    }
    const classWeight = choiceOption(options.classWeight, ['balanced', 'none'], 'balanced', 'FraudModel.train: classWeight');
    const calibration = choiceOption(options.calibration, ['platt', 'isotonic'], 'isotonic', 'FraudModel.train: calibration');
    if (options.autoencoder !== undefined && typeof options.autoencoder !== 'boolean') throw new LeptonError('INVALID_ARGUMENT', 'FraudModel.train: autoencoder must be true or false.');
    for (const [what, set] of [['training', trainSet], ['validation', validation]] as const) {
      if (typeof set !== 'object' || set === null) throw new LeptonError('INVALID_INPUT', `The ${what} set must be { rows, labels }.`);
      finiteRows(set.rows, `FraudModel.train (${what})`, names.length, names);
      binaryLabels(set.labels, `FraudModel.train (${what}) labels`);
      if (set.labels.length !== set.rows.length) throw new LeptonError('INVALID_INPUT', `The ${what} set needs one label per row.`);
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
    const mlp = buildMlp({ inputDim: d, hiddenUnits: hiddenUnits as number[], task: 'binary', dropout: 0.1, seed });
    let ae: tf.LayersModel | undefined;
    let aeResult: TrainResult | undefined;
    let anomalyQuantiles: number[] | null = null;
    const withAutoencoder = options.autoencoder ?? true;
    const [mlpProgress, aeProgress] = progress ? stageListeners(progress, [options.epochs ?? 30, ...(withAutoencoder ? [15] : [])]) : [];
    try {
      const supervised = await train(mlp, { x, y }, {
        epochs: options.epochs ?? 30,
        batchSize: options.batchSize ?? 256,
        learningRate: options.learningRate ?? 2e-3,
        validationData: { x: vx, y: vy },
        earlyStopping: { monitor: 'val_average_precision', patience: 5 },
        ...(classWeight === 'none' ? {} : { classWeight: 'balanced' as const }),
        seed,
        progressBar: false,
        ...(mlpProgress ? { onProgress: mlpProgress } : {}),
      });
      if (withAutoencoder) {
        const genuine = rows.filter((_, i) => labels[i] === 0);
        const gx = tf.tensor2d(scaleRows(genuine, scaler), [genuine.length, d]);
        ae = buildDenseAutoencoder({ inputDim: d, hiddenUnits: [32], latentDim: 8, seed: seed + 1 });
        try {
          aeResult = await train(ae, { x: gx, y: gx }, { epochs: 15, batchSize: 256, learningRate: 2e-3, validationSplit: 0.1, seed: seed + 1, progressBar: false, ...(aeProgress ? { onProgress: aeProgress } : {}) });
          const autoencoder = ae;
          const errors = Float64Array.from(await reconstructionErrors(gx, () => autoencoder.predict(gx) as tf.Tensor)).sort();
          anomalyQuantiles = Array.from({ length: 1001 }, (_, q) => errors[Math.min(errors.length - 1, Math.floor((q / 1000) * (errors.length - 1)))]!);
        } finally {
          gx.dispose();
        }
      }
      const blendWeight = ae ? (options.blendWeight ?? 0.85) : 1;
      const partial: Settings = { featureNames: names, scaler, calibrator: { kind: 'platt', a: -1, b: 0 }, blendWeight, anomalyQuantiles };
      const trainedAe = ae;
      const raw = await rawScores(partial, vx, await predictRead(mlp, vx), trainedAe && (() => trainedAe.predict(vx) as tf.Tensor));
      const vLabels = Array.from(validation.labels);
      const calibrator = calibration === 'platt' ? fitPlatt(raw.blended, vLabels) : fitIsotonic(raw.blended, vLabels);
      const settings: Settings = { ...partial, calibrator: calibrator.toJSON() };
      const report: FraudTrainingReport = {
        supervised,
        trainingRows: { total: rows.length, fraud: labels.filter((l) => l === 1).length, genuine: labels.filter((l) => l === 0).length },
      };
      if (aeResult) report.autoencoder = aeResult;
      return { model: new FraudModel(mlp, ae, settings, calibrator, workers), report };
    } catch (err) {
      // A failed run (a throwing progress listener, a diverged loss) keeps no half-trained weights in memory.
      mlp.dispose();
      ae?.dispose();
      throw err;
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
   * @param rows - an array of feature rows (arrays or typed arrays) in {@link featureNames} order
   * @returns one score per row
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` (with `details.row` and, for a bad value, `details.feature`)
   *   when `rows` is not an array of rows, a row has the wrong length, or a value is not a finite number (NaN,
   *   ±Infinity, a string, null) or overflows once scaled — the whole call is refused, nothing is scored;
   *   `PREDICTOR_CLOSED` after {@link close}; `INVALID_MODEL` if the model itself produces a non-finite score (damaged
   *   weights); with workers, `WORKER_CRASHED` when a worker died (retrying is safe)
   */
  async score(rows: ReadonlyArray<ArrayLike<number>>): Promise<FraudScore[]> {
    this.#mlpEngines.assertOpen();
    const d = this.settings.featureNames.length;
    // Refused, not scored: a NaN would come out as a plausible-looking probability after calibration, an Infinity as
    // a confident one, and a string would be coerced by the Float32Array.
    finiteRows(rows, 'FraudModel.score', d, this.settings.featureNames);
    if (rows.length === 0) return [];
    const n = rows.length;
    const scaled = this.scale(rows, 'FraudModel.score');
    const x = tf.tensor2d(scaled, [n, d]);
    try {
      const ae = this.ae;
      const raw = this.#mlpEngines.pooled
        ? await this.pooledRawScores(scaled, n, x)
        : await rawScores(this.settings, x, await predictRead(this.mlp, x), ae && (() => ae.predict(x) as tf.Tensor));
      return raw.blended.map((b, i) => {
        const probability = this.calibrator.predict(b);
        // Checked inputs give finite outputs from sound weights; a damaged model must not hand out NaN as a score.
        if (!Number.isFinite(probability) || !Number.isFinite(raw.supervised[i]!)) {
          throw new LeptonError('INVALID_MODEL', `FraudModel.score: the model produced a non-finite score for row ${i}; retrain or reload it.`, { details: { row: i } });
        }
        return { probability, riskScore: Math.min(999, Math.round(probability * 999)), supervised: raw.supervised[i]!, anomaly: raw.anomaly[i]! };
      });
    } finally {
      x.dispose();
    }
  }

  /** {@link scaleRows} of checked rows, naming the feature when a value overflows once scaled. */
  private scale(rows: ReadonlyArray<ArrayLike<number>>, what: string): Float32Array {
    try {
      return scaleRows(rows, this.settings.scaler);
    } catch (err) {
      if (!isLeptonErrorWith(err, 'column')) throw err;
      const { row, column } = err.details as { row: number; column: number };
      const feature = this.settings.featureNames[column]!;
      throw new LeptonError('INVALID_INPUT', `${what}: row ${row} has a value for '${feature}' that overflows once scaled; repair or drop the row.`, {
        details: { row, feature },
        cause: err,
      });
    }
  }

  /**
   * {@link rawScores} with both models' outputs from the workers: the MLP's pool first, then the autoencoder's, so no
   * more than `workers` threads compute at once. `scaled` is the data of `x`.
   */
  private async pooledRawScores(scaled: Float32Array, n: number, x: tf.Tensor2D): Promise<{ supervised: number[]; anomaly: number[]; blended: number[] }> {
    const supervised = await this.#mlpEngines.predictMany(scaled, n);
    const reconstruction = this.#aeEngines && this.settings.anomalyQuantiles ? await this.#aeEngines.predictMany(scaled, n) : undefined;
    return rawScores(this.settings, x, supervised, reconstruction && (() => tf.tensor2d(reconstruction, x.shape)));
  }

  /**
   * Reason codes for one transaction: the features that pushed its supervised fraud score up most (integrated
   * gradients from the training-average transaction), as sentences with the usual value for comparison.
   *
   * @param row - the transaction's features
   * @param topK - how many reasons (default 3)
   * @returns reasons, strongest first (only positive contributions)
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a row of the wrong length or with a value that is not a
   *   finite number (naming the feature); `INVALID_ARGUMENT` for a `topK` that is not a positive integer;
   *   `PREDICTOR_CLOSED` after {@link close} (or {@link dispose})
   */
  async reasons(row: ArrayLike<number>, topK = 3): Promise<ReasonCode[]> {
    // As in score(): after dispose() the MLP's weights are gone, and integratedGradients threw a plain Error.
    this.#mlpEngines.assertOpen();
    const { featureNames } = this.settings;
    numberOption(topK, 'FraudModel.reasons: topK', { min: 1, integer: true });
    finiteRows([row], 'FraudModel.reasons', featureNames.length, featureNames);
    const { scaler } = this.settings;
    const ig = await integratedGradients(this.mlp, this.scale([row], 'FraudModel.reasons'), { steps: 32, topK: featureNames.length });
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
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a `dir` that is not a non-empty string or `meta`
   *   that is not an object; whatever `saveBundle` throws (a bad name or version, a write that fails)
   */
  async save(dir: string, meta: { name: string; version: string; metrics?: Record<string, number> }): Promise<void> {
    checkDir(dir, 'FraudModel.save');
    if (typeof meta !== 'object' || meta === null) throw new LeptonError('INVALID_ARGUMENT', 'FraudModel.save needs meta { name, version }.');
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
   * @param options - `workers`: threads per model scoring rows (default 1, in this thread; see {@link FraudModelOptions.workers})
   * @returns the model (its workers start when it first scores)
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a `dir` that is not a non-empty string or a bad
   *   `workers`, bundle errors from `loadBundle`,
   *   `BUNDLE_INVALID` when the settings are missing or damaged (feature names that are not strings, a scaler without
   *   one finite mean and one finite positive std per feature, a calibrator with non-finite values, a blend weight
   *   outside [0, 1], anomaly quantiles that are not finite and non-decreasing), or `BUNDLE_INCOMPATIBLE` when a
   *   model's input width is not the number of feature names — all at load, not at the first {@link score}
   */
  static async load(dir: string, options: Pick<FraudModelOptions, 'workers'> = {}): Promise<FraudModel> {
    checkDir(dir, 'FraudModel.load');
    const workers = resolveWorkersOption(options?.workers, 'FraudModel.load');
    const sup = await loadBundle(join(dir, 'supervised'), { expectTask: 'binary' });
    let settings: Settings;
    let calibrator: Calibrator;
    try {
      // Every part checked here: a damaged scaler (a NaN mean, one std short) loaded fine before, and each later
      // score() failed with INVALID_ARGUMENT or INVALID_MODEL (or, for a bad calibrator knot, scored 1.0 silently).
      settings = checkSettings(sup.manifest.preprocessing, dir);
      calibrator = calibratorFromJSON(settings.calibrator);
      const width = sup.model.inputs[0]?.shape[1];
      if (sup.model.inputs.length !== 1 || width !== settings.featureNames.length) {
        throw new LeptonError('BUNDLE_INCOMPATIBLE', `${dir}: the supervised model takes ${String(width)} features but the bundle names ${settings.featureNames.length}; save the model again.`);
      }
    } catch (err) {
      sup.model.dispose();
      throw err;
    }
    let ae: tf.LayersModel | undefined;
    try {
      ae = settings.anomalyQuantiles ? (await loadBundle(join(dir, 'autoencoder'), { expectInputs: [{ shape: [null, settings.featureNames.length] }] })).model : undefined;
    } catch (err) {
      sup.model.dispose();
      throw err;
    }
    return new FraudModel(sup.model, ae, settings, calibrator, workers);
  }

  /**
   * Frees the models' weights and stops the workers, if any, once they have scored what they accepted. The model
   * cannot be used afterwards; await {@link close} instead to know when the threads are gone.
   */
  dispose(): void {
    this.close().catch(() => undefined); // close() only rejects if a thread cannot be ended; nothing to do about it here
  }

  /**
   * Like {@link dispose}, resolving once every worker thread (of both models) has exited. Idempotent.
   *
   * @returns when the weights are freed and no worker thread is left
   */
  async close(): Promise<void> {
    await Promise.all([this.#mlpEngines.close(), this.#aeEngines?.close()]);
  }
}
