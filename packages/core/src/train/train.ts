import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { checkInputs, checkLayersModel, checkTensor } from '../internal/checks.js';
import { mulberry32, permutation, withSeededRandom } from '../internal/random.js';
import { optionsObject } from '../metrics/validate.js';
import { modelTask, type Task } from '../models/task.js';
import { ensureRuntime, useBackend } from '../runtime/init.js';
import { planBackend, type BackendPlan } from '../runtime/kernels.js';
import type { TrainEvent } from './events.js';
import { predictBatched, labelIndices, taskMetrics } from './evaluate.js';
import { higherIsBetter, resolveTrainOptions, type MonitorMetric, type TrainOptions } from './options.js';
import { progressReporter } from './progress.js';
import { recalibrateBatchNorm } from './batch-norm.js';
import { learningRateAt } from './schedule.js';

/** Training samples: one input tensor (or one per model input) and the targets; first axis is the sample. */
export interface TrainData {
  /** Inputs: one tensor, or one per model input in the model's input order; each `[samples, ...inputShape]`. */
  x: tf.Tensor | tf.Tensor[];
  /** Targets, with the same number of samples as each input along axis 0. */
  y: tf.Tensor;
}

/** One epoch of training history. */
export interface EpochRecord {
  /** Epoch index, from 0. */
  epoch: number;
  /** Learning rate used during this epoch (after the schedule). */
  learningRate: number;
  /** `loss` (training) and validation metrics prefixed `val_`. */
  metrics: Record<string, number>;
}

/** What `train()` did. */
export interface TrainResult {
  /** Per-epoch metrics. */
  history: EpochRecord[];
  /** Epoch (from 0) whose weights the model holds at the end. */
  bestEpoch: number;
  /** Metric used to pick the best epoch, and its value there. */
  monitor: MonitorMetric;
  /** Value of `monitor` at `bestEpoch`. */
  bestValue: number;
  /** Metrics of the epoch whose weights were kept. */
  finalMetrics: Record<string, number>;
  /** True when early stopping ended training before the last planned epoch. */
  stoppedEarly: boolean;
  /** The task the loss was chosen for. */
  task: Task;
  /** Backend the training ran on, and whether it had to move there for a missing kernel. */
  backend: BackendPlan;
  /** Samples trained on (after any validation split was held out). */
  samples: number;
  /** Samples evaluated each epoch for validation; 0 without validation data. */
  validationSamples: number;
}

const asList = (x: tf.Tensor | tf.Tensor[]): tf.Tensor[] => (Array.isArray(x) ? x : [x]);

async function checkData(model: tfl.LayersModel, data: TrainData, what: string): Promise<number> {
  if (data === null || typeof data !== 'object') throw new LeptonError('INVALID_INPUT', `${what} must be { x, y } of tensors, got ${describeValue(data)}.`);
  checkInputs(data.x, what, 'x');
  checkTensor(data.y, what, 'y');
  if (data.y.rank === 0) throw new LeptonError('SHAPE_MISMATCH', `${what}: y is a scalar; its first axis must be the sample.`);
  const xs = asList(data.x);
  if (xs.length !== model.inputs.length) {
    throw new LeptonError('SHAPE_MISMATCH', `${what}: the model has ${model.inputs.length} input(s) but ${xs.length} tensor(s) were given.`);
  }
  const n = data.y.shape[0]!;
  xs.forEach((x, i) => {
    const want = model.inputs[i]!.shape;
    const ok = x.rank === want.length && want.every((d, j) => j === 0 || d === null || d === x.shape[j]);
    if (!ok) {
      throw new LeptonError(
        'SHAPE_MISMATCH',
        `${what}: input ${i} has shape [${x.shape.join(', ')}] but the model expects [${want.map((d) => d ?? 'batch').join(', ')}].`,
      );
    }
    if (x.shape[0] !== n) {
      throw new LeptonError('SHAPE_MISMATCH', `${what}: input ${i} has ${x.shape[0]} samples but y has ${n}.`);
    }
  });
  if (n === 0) throw new LeptonError('INVALID_INPUT', `${what}: no samples.`);
  // Non-finite values must be refused here: some kernels (e.g. XNNPACK's relu on wasm) turn NaN into 0, so
  // they would otherwise train silently on garbage. Read with data(), never dataSync(): a synchronous read of a GPU
  // tensor throws on webgpu in Node. (Data made from arrays is still on the CPU, so this costs no transfer there.)
  const all = [...xs, data.y];
  const contents = await Promise.all(all.map((t) => t.data()));
  all.forEach((_, i) => {
    const values = contents[i]!;
    let bad = 0;
    for (let j = 0; j < values.length; j++) if (!Number.isFinite(values[j])) bad++;
    if (bad > 0) {
      const name = i < xs.length ? `input ${i}` : 'y';
      throw new LeptonError('INVALID_INPUT', `${what}: ${name} has ${bad} NaN or infinite value(s); clean or impute them first.`, {
        details: { tensor: name, nonFinite: bad },
      });
    }
  });
  return n;
}

function makeOptimizer(name: 'adam' | 'sgd' | 'rmsprop', lr: number): tf.Optimizer {
  if (name === 'sgd') return tf.train.sgd(lr);
  if (name === 'rmsprop') return tf.train.rmsprop(lr);
  return tf.train.adam(lr);
}

function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  // SGD caches the rate in a scalar and must be told; Adam and RMSProp read the field at every step.
  const o = optimizer as tf.Optimizer & { learningRate: number; setLearningRate?: (lr: number) => void };
  if (o.setLearningRate) o.setLearningRate(lr);
  else o.learningRate = lr;
}

function defaultLoss(task: Task, model: tfl.LayersModel, y: tf.Tensor): string {
  if (task === 'binary') return 'binaryCrossentropy';
  if (task === 'regression') return 'meanSquaredError';
  const outUnits = model.outputs[0]!.shape[model.outputs[0]!.shape.length - 1];
  const yLast = y.shape[y.shape.length - 1];
  return y.rank === model.outputs[0]!.shape.length && yLast === outUnits ? 'categoricalCrossentropy' : 'sparseCategoricalCrossentropy';
}

/**
 * Labels the default loss can learn from, checked before training (with a validation split the first epoch would
 * otherwise train on them and only the validation metrics refuse them): binary cross-entropy takes 0 or 1; sparse
 * categorical cross-entropy a class index from 0 to units − 1; categorical cross-entropy values from 0 to 1. A caller
 * who sets `loss` (soft labels, a loss of their own) is not second-guessed.
 */
async function checkLabels(loss: string, model: tfl.LayersModel, y: tf.Tensor, what: string): Promise<void> {
  const units = model.outputs[0]!.shape[model.outputs[0]!.shape.length - 1] ?? 1;
  const ok =
    loss === 'binaryCrossentropy'
      ? (v: number): boolean => v === 0 || v === 1
      : loss === 'sparseCategoricalCrossentropy'
        ? (v: number): boolean => Number.isInteger(v) && v >= 0 && v < units
        : loss === 'categoricalCrossentropy'
          ? (v: number): boolean => v >= 0 && v <= 1
          : undefined;
  if (ok === undefined) return;
  const values = await y.data();
  for (let i = 0; i < values.length; i++) {
    if (!ok(values[i]!)) {
      const want = loss === 'binaryCrossentropy' ? '0 or 1' : loss === 'sparseCategoricalCrossentropy' ? `a class index from 0 to ${units - 1}` : 'a value from 0 to 1 (one-hot)';
      throw new LeptonError('INVALID_INPUT', `${what}: y value ${i} is not a label the model's ${loss} loss can learn from (${want}); fix the labels, or set the loss option.`, { details: { tensor: 'y', index: i } });
    }
  }
}

async function balancedWeights(y: tf.Tensor): Promise<Record<number, number>> {
  const labels = await labelIndices(y);
  const counts = new Map<number, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  const out: Record<number, number> = {};
  for (const [label, count] of counts) out[label] = labels.length / (counts.size * count);
  return out;
}

function split(data: TrainData, fraction: number): { train: TrainData; val: TrainData | undefined } {
  if (fraction === 0) return { train: data, val: undefined };
  const n = data.y.shape[0]!;
  const nVal = Math.max(1, Math.round(n * fraction));
  if (nVal >= n) throw new LeptonError('INVALID_ARGUMENT', `validationSplit ${fraction} leaves no training samples of ${n}.`);
  const head = (t: tf.Tensor): tf.Tensor => tf.slice(t, 0, n - nVal);
  const tail = (t: tf.Tensor): tf.Tensor => tf.slice(t, n - nVal, nVal);
  const xs = asList(data.x);
  return {
    train: { x: xs.map(head), y: head(data.y) },
    val: { x: xs.map(tail), y: tail(data.y) },
  };
}

/**
 * Trains a model with validation, early stopping on a chosen metric, class weights, a learning-rate
 * schedule, best-weights restore, seeded reproducibility and progress reporting.
 *
 * Before the first step it checks that the active backend has every kernel the model needs to train and,
 * if not, trains on one that does (see `planBackend`) and switches back afterwards, so a missing kernel never
 * surfaces mid-epoch and inference still runs on the fastest backend.
 *
 * @param model - a model from one of the builders (or any tfjs-layers model)
 * @param data - training samples
 * @param options - see {@link TrainOptions}; every field is optional
 * @returns history, best epoch and final metrics; the model holds the best weights
 * @throws {@link LeptonError} `SHAPE_MISMATCH` when data does not fit the model, `KERNEL_UNAVAILABLE` when no
 *   backend can train it, `TRAINING_FAILED` when the loss becomes NaN, `PROGRESS_LISTENER_FAILED` when the
 *   `onProgress` listener throws (training stops; the listener's error is the `cause`), `INVALID_ARGUMENT` for a model
 *   that is not a layers model, bad options (see {@link resolveTrainOptions}) or a loss tfjs-layers does not know,
 *   `INVALID_INPUT` for data that are not tensors (or hold NaN), or, with the default loss, labels it cannot learn
 *   from (binary: 0 or 1; sparse: class indices; one-hot: 0 to 1); nothing is left allocated on any of these
 * @example
 * ```ts
 * import { buildMlp, initRuntime, tf, train } from '@lepton/core';
 * await initRuntime({ backend: 'cpu' });
 * const x = tf.randomNormal([200, 4], 0, 1, 'float32', 1);
 * const y = tf.cast(tf.greater(x.slice([0, 0], [-1, 1]), 0), 'float32');
 * const model = buildMlp({ inputDim: 4, seed: 1 });
 * const result = await train(model, { x, y }, { epochs: 5, validationSplit: 0.2, seed: 1 });
 * console.log(result.finalMetrics['val_auc']);
 * ```
 */
export async function train(model: tfl.LayersModel, data: TrainData, options: TrainOptions = {}): Promise<TrainResult> {
  await ensureRuntime();
  checkLayersModel(model, 'train');
  const o = optionsObject(options, 'train');
  // null is "none", as undefined (it counted as validation data and failed after the first epoch)
  const validationData = o.validationData ?? undefined;
  if (validationData !== undefined && typeof validationData !== 'object') {
    throw new LeptonError('INVALID_ARGUMENT', `train: validationData must be { x, y } of tensors, got ${describeValue(o.validationData)}.`, { details: { option: 'validationData' } });
  }
  const hasValidation = validationData !== undefined || (typeof o.validationSplit === 'number' && o.validationSplit > 0);
  const opts = resolveTrainOptions(o, hasValidation);
  await checkData(model, data, 'train');
  if (validationData) await checkData(model, validationData, 'validationData');
  const task = o.task ?? modelTask(model);
  if (o.loss == null) {
    await checkLabels(defaultLoss(task, model, data.y), model, data.y, 'train');
    if (validationData) await checkLabels(defaultLoss(task, model, validationData.y), model, validationData.y, 'validationData');
  }
  const plan = await planBackend(model, { training: true, fallback: opts.backendFallback });
  const report = progressReporter(o, 'train');
  const emit = (e: TrainEvent): void => report?.(e);

  let trainSet: TrainData = data;
  let splitVal: TrainData | undefined;
  let optimizer: tf.Optimizer | undefined;
  const history: EpochRecord[] = [];
  let best: { epoch: number; value: number; weights: tf.Tensor[] } | undefined;
  let stoppedEarly = false;
  let listenerError: { err: unknown } | undefined;

  try {
    // Everything that allocates is inside the try: a listener that throws (PROGRESS_LISTENER_FAILED), a loss name
    // tfjs-layers does not know or a split that leaves nothing to train on must still free the optimiser and the split.
    ({ train: trainSet, val: splitVal } = split(data, opts.validationSplit));
    const val = validationData ?? splitVal;
    const n = trainSet.y.shape[0]!;
    optimizer = makeOptimizer(opts.optimizer, opts.learningRate);
    try {
      model.compile({ optimizer, loss: o.loss ?? defaultLoss(task, model, trainSet.y) });
    } catch (err) {
      if (o.loss == null || err instanceof LeptonError) throw err;
      throw new LeptonError('INVALID_ARGUMENT', `train: tfjs-layers cannot compile the model with loss ${describeValue(o.loss)} (${err instanceof Error ? err.message.slice(0, 200) : describeValue(err)}).`, {
        cause: err,
        details: { option: 'loss' },
      });
    }
    const classWeight = o.classWeight === 'balanced' ? await balancedWeights(trainSet.y) : (o.classWeight ?? undefined);
    const monitor: MonitorMetric = opts.earlyStopping ? opts.earlyStopping.monitor : val ? 'val_loss' : 'loss';
    const sign = higherIsBetter(monitor) ? 1 : -1;
    const minDelta = opts.earlyStopping ? opts.earlyStopping.minDelta : 0;
    const currentOptimizer = optimizer;

    emit({ type: 'start', epochs: opts.epochs, samples: n, validationSamples: val?.y.shape[0] ?? 0, backend: plan.backend });
    await withSeededRandom(o.seed, async () => {
      const rand = mulberry32((o.seed ?? Math.floor(Math.random() * 2 ** 31)) ^ 0x9e3779b9);
      for (let epoch = 0; epoch < opts.epochs; epoch++) {
        const lr = learningRateAt(opts.learningRateSchedule, epoch, opts.epochs, opts.learningRate);
        setLearningRate(currentOptimizer, lr);
        const order = opts.shuffle ? tf.tensor1d(permutation(n, rand), 'int32') : undefined;
        const xs = asList(trainSet.x).map((x) => (order ? tf.gather(x, order) : x));
        const ys = order ? tf.gather(trainSet.y, order) : trainSet.y;
        const batches = Math.ceil(n / opts.batchSize);
        let fitHistory: tfl.History;
        try {
          const fitArgs: tfl.ModelFitArgs = {
            epochs: 1,
            batchSize: opts.batchSize,
            shuffle: false,
            verbose: 0,
            callbacks: {
              onBatchEnd: async (batch, logs) => {
                // Never throw out of a tfjs-layers callback: fit() would leak the batch's loss and the epoch's index
                // tensor. Stop the loop instead and rethrow once fit() has cleaned up.
                try {
                  emit({ type: 'batch', epoch, epochs: opts.epochs, batch, batches, loss: Number(logs?.['loss'] ?? NaN) });
                } catch (err) {
                  listenerError ??= { err };
                  model.stopTraining = true;
                }
              },
            },
          };
          if (classWeight !== undefined) fitArgs.classWeight = classWeight;
          fitHistory = await model.fit(xs.length === 1 ? xs[0]! : xs, ys, fitArgs);
          if (listenerError) throw listenerError.err;
        } finally {
          if (order) {
            order.dispose();
            xs.forEach((x) => x.dispose());
            ys.dispose();
          }
        }
        const loss = Number(fitHistory.history['loss']?.[0]);
        if (!Number.isFinite(loss)) {
          throw new LeptonError(
            'TRAINING_FAILED',
            `Training loss became ${loss} at epoch ${epoch + 1}. Lower the learning rate (now ${lr}), scale the inputs, or check for NaN in the data.`,
            { details: { epoch, learningRate: lr } },
          );
        }
        if (opts.batchNormSamples > 0) recalibrateBatchNorm(model, trainSet.x, opts.batchNormSamples, rand);
        const metrics: Record<string, number> = { loss };
        if (val) {
          const pred = predictBatched(model, val.x, Math.max(opts.batchSize, 256));
          try {
            for (const [k, v] of Object.entries(await taskMetrics(task, val.y, pred))) metrics[`val_${k}`] = v;
          } finally {
            pred.dispose();
          }
        }
        const value = metrics[monitor];
        if (value === undefined) {
          throw new LeptonError(
            'INVALID_ARGUMENT',
            `Cannot monitor '${monitor}' for a ${task} model; available: ${Object.keys(metrics).join(', ')}.`,
          );
        }
        const improved = best === undefined || sign * (value - best.value) > minDelta;
        if (improved) {
          best?.weights.forEach((w) => w.dispose());
          best = { epoch, value, weights: opts.restoreBestWeights ? model.getWeights().map((w) => w.clone()) : [] };
        }
        history.push({ epoch, learningRate: lr, metrics });
        emit({ type: 'epoch', epoch, epochs: opts.epochs, metrics, learningRate: lr, improved });
        if (opts.earlyStopping && epoch - best!.epoch >= opts.earlyStopping.patience) {
          stoppedEarly = true;
          break;
        }
      }
    });
    if (best === undefined) throw new LeptonError('TRAINING_FAILED', 'No epoch completed.');
    const keep = opts.restoreBestWeights ? best : { ...best, epoch: history.length - 1, value: history.at(-1)!.metrics[monitor]! };
    if (opts.restoreBestWeights) model.setWeights(best.weights);
    emit({ type: 'end', epochsRun: history.length, bestEpoch: keep.epoch, stoppedEarly });
    return {
      history,
      bestEpoch: keep.epoch,
      monitor,
      bestValue: keep.value,
      finalMetrics: history[keep.epoch]!.metrics,
      stoppedEarly,
      task,
      backend: plan,
      samples: n,
      validationSamples: val?.y.shape[0] ?? 0,
    };
  } finally {
    best?.weights.forEach((w) => w.dispose());
    // Adam/RMSProp slots live as long as the optimiser; a later train() compiles a fresh one.
    optimizer?.dispose();
    // Training moved to another backend for a missing kernel; inference goes back to the faster one.
    if (plan.switched) await useBackend(plan.requested);
    if (trainSet !== data) {
      asList(trainSet.x).forEach((x) => x.dispose());
      trainSet.y.dispose();
    }
    if (splitVal) {
      asList(splitVal.x).forEach((x) => x.dispose());
      splitVal.y.dispose();
    }
  }
}
