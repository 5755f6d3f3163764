import type * as tf from '../tf.js';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import type { Task } from '../models/task.js';
import type { TrainEvent } from './events.js';
import { checkSeed } from '../internal/random.js';
import { optionsObject } from '../metrics/validate.js';
import { checkProgressOptions, type ProgressBarSetting } from './progress.js';
import { checkSchedule, type LearningRateSchedule } from './schedule.js';

/** A metric `train()` can monitor for early stopping and best-weights restore. */
export type MonitorMetric =
  | 'loss'
  | 'val_loss'
  | 'val_accuracy'
  | 'val_auc'
  | 'val_average_precision'
  | 'val_brier'
  | 'val_mae'
  | 'val_rmse';

/** Early stopping: stop when `monitor` has not improved by `minDelta` for `patience` epochs. */
export interface EarlyStoppingOptions {
  /** Metric to watch. Default `val_loss` (or `loss` without validation data). */
  monitor?: MonitorMetric;
  /** Epochs without improvement before stopping. Default 5. */
  patience?: number;
  /** Smallest change that counts as improvement. Default 0. */
  minDelta?: number;
}

/** Options for `train()`. Defaults are filled by {@link resolveTrainOptions}. */
export interface TrainOptions {
  /** Maximum epochs. Default 20. */
  epochs?: number;
  /** Samples per gradient step. Default 32. */
  batchSize?: number;
  /** Base learning rate. Default 1e-3. */
  learningRate?: number;
  /** Optimiser. Default `adam`. */
  optimizer?: 'adam' | 'sgd' | 'rmsprop';
  /** Learning rate per epoch. Default constant. */
  learningRateSchedule?: LearningRateSchedule;
  /** Output meaning (decides the loss). Default: what the builder recorded, else inferred from the output. */
  task?: Task;
  /**
   * Loss overriding the task's default: a name understood by tfjs-layers (`'meanAbsoluteError'` …) or a function of
   * `(yTrue, yPred)` returning the loss, e.g. {@link diceLoss}.
   */
  loss?: string | ((yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor);
  /**
   * Seed for shuffling, dropout and any other randomness during training. With the same seed, data, model
   * seed and backend, two runs give the same metrics. Note: `Math.random` is seeded for the duration of
   * the call, so other code running concurrently draws from the same stream.
   */
  seed?: number;
  /** Held-out data to evaluate each epoch. */
  validationData?: {
    /** Inputs: one tensor, or one per model input; first axis is the sample. */
    x: import('@tensorflow/tfjs-core').Tensor | import('@tensorflow/tfjs-core').Tensor[];
    /** Targets, with the same number of samples as the inputs. */
    y: import('@tensorflow/tfjs-core').Tensor;
  };
  /** Fraction of the samples, taken from the end (time-ordered data stays ordered), held out for validation. */
  validationSplit?: number;
  /** Early stopping; `false` to train all epochs. Default `{ monitor: 'val_loss', patience: 5 }`. */
  earlyStopping?: EarlyStoppingOptions | false;
  /** Restore the weights of the best epoch at the end. Default true. */
  restoreBestWeights?: boolean;
  /** Class weights: `'balanced'` (n / (classes × count)) or an explicit weight per class index. */
  classWeight?: 'balanced' | Record<number, number>;
  /** Shuffle the training samples each epoch (seeded). Default true. */
  shuffle?: boolean;
  /**
   * Receives start, batch, epoch and end events, synchronously. A listener that throws stops training: `train()`
   * rejects with `PROGRESS_LISTENER_FAILED` (its error as `cause`) and frees what it allocated. See `ProgressOptions`.
   */
  onProgress?: (event: TrainEvent) => void;
  /**
   * Terminal progress bar with an ETA: `'auto'` draws one on `process.stderr` when it is a TTY outside CI, `true`
   * always, `false` never; a {@link BarStream} draws there under the `'auto'` rule. Default `'auto'`.
   */
  progressBar?: ProgressBarSetting;
  /**
   * When the active backend lacks a kernel the model needs to train, move to one that has it (default true);
   * with false, throw `KERNEL_UNAVAILABLE` naming the kernel.
   */
  backendFallback?: boolean;
  /**
   * After each epoch, re-estimate batch-normalisation statistics from the current weights over up to this many training
   * samples ("precise BN"), so validation metrics and inference match the weights; 0 turns it off. Models without
   * batch normalisation are unaffected. Default 512.
   */
  batchNormSamples?: number;
}

/** {@link TrainOptions} with defaults filled in. */
export interface ResolvedTrainOptions {
  /** Maximum epochs (positive integer; default 20). */
  epochs: number;
  /** Samples per gradient step (positive integer; default 32). */
  batchSize: number;
  /** Base learning rate (> 0; default 1e-3). */
  learningRate: number;
  /** Optimiser (default `'adam'`). */
  optimizer: 'adam' | 'sgd' | 'rmsprop';
  /** Learning rate per epoch (default `{ type: 'constant' }`). */
  learningRateSchedule: LearningRateSchedule;
  /** Fraction of samples held out for validation, in [0, 1) (default 0). */
  validationSplit: number;
  /** Early stopping with every field filled (monitor, patience, minDelta), or `false` when disabled. */
  earlyStopping: Required<EarlyStoppingOptions> | false;
  /** Whether the best epoch's weights are restored at the end (default true). */
  restoreBestWeights: boolean;
  /** Whether training samples are shuffled each epoch (default true). */
  shuffle: boolean;
  /** Terminal progress bar: `'auto'`, `true`, `false` or a stream (default `'auto'`). */
  progressBar: ProgressBarSetting;
  /** Whether training may move to another backend for a missing kernel (default true). */
  backendFallback: boolean;
  /** Training samples used to re-estimate batch-normalisation statistics after each epoch; 0 = off (default 512). */
  batchNormSamples: number;
}

const HIGHER_IS_BETTER = new Set<MonitorMetric>(['val_accuracy', 'val_auc', 'val_average_precision']);

const MONITORS: ReadonlySet<string> = new Set<MonitorMetric>(['loss', 'val_loss', 'val_accuracy', 'val_auc', 'val_average_precision', 'val_brier', 'val_mae', 'val_rmse']);

/** `classWeight`: `'balanced'` or class index → finite weight ≥ 0 (a NaN or string weight reached TF.js). */
function checkClassWeight(value: unknown): void {
  if (value === undefined || value === null || value === 'balanced') return;
  const bad = (why: string): never => {
    throw new LeptonError('INVALID_ARGUMENT', `classWeight must be 'balanced' or { classIndex: weight }: ${why}.`, { details: { option: 'classWeight' } });
  };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) bad(`got ${describeValue(value)}`);
  for (const [key, weight] of Object.entries(value as Record<string, unknown>)) {
    if (!/^(0|[1-9]\d{0,8})$/.test(key)) bad(`key ${describeValue(key)} is not a class index`);
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) bad(`class ${key} has weight ${describeValue(weight)}, not a finite number ≥ 0`);
  }
}

/**
 * Whether a larger value of `metric` is better.
 *
 * @param metric - a monitor metric
 * @returns true for accuracy, AUC and average precision
 */
export function higherIsBetter(metric: MonitorMetric): boolean {
  return HIGHER_IS_BETTER.has(metric);
}

/**
 * Fills defaults and validates training options.
 *
 * @param options - partial options
 * @param hasValidation - whether validation data (or a split) is available
 * @returns options with defaults
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for options that are not an object, out-of-range values, a `val_*`
 *   monitor without validation data or a monitor train() does not report, an unknown optimizer or task, a loss that is
 *   neither a name nor a function, a bad learning-rate schedule, class weights or seed, a flag that is not a boolean, or
 *   an `onProgress` that is not a function / a `progressBar` that is not `'auto'`, a boolean or a stream
 */
export function resolveTrainOptions(options: TrainOptions, hasValidation: boolean): ResolvedTrainOptions {
  const o = optionsObject(options, 'train');
  checkProgressOptions(o, 'train');
  const positive = (v: number, name: string): number => {
    if (!Number.isSafeInteger(v) || v < 1) throw new LeptonError('INVALID_ARGUMENT', `${name} must be a positive integer, got ${describeValue(v)}.`);
    return v;
  };
  const bool = (v: unknown, fallback: boolean, name: string): boolean => {
    if (v === undefined || v === null) return fallback;
    // 'false' was truthy
    if (typeof v !== 'boolean') throw new LeptonError('INVALID_ARGUMENT', `${name} must be true or false, got ${describeValue(v)}.`, { details: { option: name } });
    return v;
  };
  const learningRate = o.learningRate ?? 1e-3;
  if (typeof learningRate !== 'number' || !(learningRate > 0) || learningRate === Infinity) {
    throw new LeptonError('INVALID_ARGUMENT', `learningRate must be a finite number > 0, got ${describeValue(learningRate)}.`);
  }
  const optimizer: unknown = o.optimizer ?? 'adam';
  // an unknown name used to train with Adam
  if (optimizer !== 'adam' && optimizer !== 'sgd' && optimizer !== 'rmsprop') {
    throw new LeptonError('INVALID_ARGUMENT', `optimizer must be 'adam', 'sgd' or 'rmsprop', got ${describeValue(optimizer)}.`, { details: { option: 'optimizer' } });
  }
  if (o.learningRateSchedule != null) checkSchedule(o.learningRateSchedule);
  const task: unknown = o.task;
  if (task != null && task !== 'binary' && task !== 'multiclass' && task !== 'regression') {
    throw new LeptonError('INVALID_ARGUMENT', `task must be 'binary', 'multiclass' or 'regression', got ${describeValue(task)}.`, { details: { option: 'task' } });
  }
  const loss: unknown = o.loss;
  if (loss != null && typeof loss !== 'function' && !(typeof loss === 'string' && loss.length > 0 && loss.length <= 100)) {
    throw new LeptonError('INVALID_ARGUMENT', `loss must be a tfjs-layers loss name or a function of (yTrue, yPred), got ${describeValue(loss)}.`, { details: { option: 'loss' } });
  }
  if (o.seed != null) checkSeed(o.seed, 'train');
  checkClassWeight(o.classWeight);
  const validationSplit = o.validationSplit ?? 0;
  if (typeof validationSplit !== 'number' || !(validationSplit >= 0 && validationSplit < 1)) {
    throw new LeptonError('INVALID_ARGUMENT', `validationSplit must be a number in [0, 1), got ${describeValue(validationSplit)}.`);
  }
  let earlyStopping: ResolvedTrainOptions['earlyStopping'] = false;
  if (o.earlyStopping !== false) {
    const es = optionsObject(o.earlyStopping ?? undefined, 'train', 'earlyStopping');
    const monitor = es.monitor ?? (hasValidation ? 'val_loss' : 'loss');
    if (typeof monitor !== 'string') throw new LeptonError('INVALID_ARGUMENT', `earlyStopping.monitor must be a metric name such as 'val_loss', got ${describeValue(monitor)}.`);
    if (!MONITORS.has(monitor)) {
      // a misspelt name ('val_acc') trained every epoch and then failed: refused before training
      throw new LeptonError('INVALID_ARGUMENT', `earlyStopping.monitor ${describeValue(monitor)} is not a metric train() reports; use one of ${[...MONITORS].join(', ')}.`);
    }
    if (monitor.startsWith('val_') && !hasValidation) {
      throw new LeptonError('INVALID_ARGUMENT', `Early stopping monitors '${monitor}' but no validationData or validationSplit was given.`);
    }
    const minDelta: unknown = es.minDelta ?? 0;
    if (typeof minDelta !== 'number' || !Number.isFinite(minDelta) || minDelta < 0) {
      throw new LeptonError('INVALID_ARGUMENT', `earlyStopping.minDelta must be a finite number ≥ 0, got ${describeValue(minDelta)}.`);
    }
    earlyStopping = { monitor, patience: positive(es.patience ?? 5, 'earlyStopping.patience'), minDelta };
  }
  return {
    epochs: positive(o.epochs ?? 20, 'epochs'),
    batchSize: positive(o.batchSize ?? 32, 'batchSize'),
    learningRate,
    optimizer,
    learningRateSchedule: o.learningRateSchedule ?? { type: 'constant' },
    validationSplit,
    earlyStopping,
    restoreBestWeights: bool(o.restoreBestWeights, true, 'restoreBestWeights'),
    shuffle: bool(o.shuffle, true, 'shuffle'),
    progressBar: o.progressBar ?? 'auto',
    backendFallback: bool(o.backendFallback, true, 'backendFallback'),
    batchNormSamples: (() => {
      const v = o.batchNormSamples ?? 512;
      if (!(Number.isInteger(v) && v >= 0)) throw new LeptonError('INVALID_ARGUMENT', `batchNormSamples must be an integer ≥ 0, got ${describeValue(v)}.`);
      return v;
    })(),
  };
}
