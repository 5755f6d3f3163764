import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { checkInputs, checkLayersModel, checkTensor } from '../internal/checks.js';
import { accuracy } from '../metrics/classification.js';
import { brierScore, logLoss } from '../metrics/calibration.js';
import { averagePrecision, rocAuc } from '../metrics/ranking.js';
import { meanAbsoluteError, rootMeanSquaredError } from '../metrics/regression.js';
import { countClasses } from '../metrics/validate.js';
import type { Task } from '../models/task.js';

/**
 * Runs a model over `x` in batches and returns its output as a tensor (the caller disposes it).
 *
 * @param model - the model
 * @param x - inputs
 * @param batchSize - samples per forward pass
 * @returns the model output. A tensor-level call: it reads no values back (no synchronous GPU read), so a NaN or an
 *   overflowing input gives a NaN output, as in TF.js; {@link createPredictor} checks inputs and outputs for serving
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for a model that is not a layers model or a batch size that is not a
 *   positive integer; `INVALID_INPUT` / `SHAPE_MISMATCH` for inputs that are not tensors of the model's input shapes
 */
export function predictBatched(model: tfl.LayersModel, x: tf.Tensor | tf.Tensor[], batchSize: number): tf.Tensor {
  checkLayersModel(model, 'predictBatched');
  checkInputs(x, 'predictBatched', 'x');
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new LeptonError('INVALID_ARGUMENT', `predictBatched: batchSize must be a positive integer, got ${describeValue(batchSize)}.`);
  }
  const inputs = Array.isArray(x) ? x : [x];
  if (inputs.length !== model.inputs.length) {
    throw new LeptonError('SHAPE_MISMATCH', `predictBatched: the model has ${model.inputs.length} input(s) but ${inputs.length} tensor(s) were given.`);
  }
  inputs.forEach((t, i) => {
    const want = model.inputs[i]!.shape;
    if (t.rank !== want.length || !want.every((d, j) => j === 0 || d === null || d === t.shape[j])) {
      throw new LeptonError('SHAPE_MISMATCH', `predictBatched: input ${i} has shape [${t.shape.join(', ')}] but the model expects [${want.map((d) => d ?? 'batch').join(', ')}].`);
    }
  });
  return tf.tidy(() => model.predict(x, { batchSize }) as tf.Tensor);
}

/**
 * @internal Class index per sample from one-hot or index labels. Read asynchronously: a synchronous read of a GPU
 * tensor fails on `webgpu` in Node (TF.js reads it through an OffscreenCanvas) and stalls the GPU queue elsewhere.
 */
export async function labelIndices(y: tf.Tensor): Promise<Int32Array> {
  const last = y.shape[y.shape.length - 1] ?? 1;
  const idx = tf.tidy(() => (y.rank >= 2 && last > 1 ? tf.argMax(y, -1) : tf.cast(tf.reshape(y, [-1]), 'int32')));
  try {
    return (await idx.data()) as Int32Array;
  } finally {
    idx.dispose();
  }
}

/**
 * Metrics of a model's predictions for its task, named as `train()` reports them (`loss`, `accuracy`,
 * `auc`, `average_precision`, `brier`, `mae`, `rmse`). Binary and segmentation outputs are flattened.
 *
 * Asynchronous because it reads both tensors back with `data()`: a synchronous read (`dataSync`) of a GPU tensor
 * throws on `webgpu` in Node and blocks the GPU queue on every other GPU backend.
 *
 * @param task - what the outputs mean
 * @param yTrue - targets
 * @param yPred - predictions (same layout as the model output)
 * @returns metrics by name
 * For `multiclass`, `yPred` holds one row of `k` class scores per sample (its last dimension is `k`), and `yTrue` holds
 * either a class index per sample (an integer in [0, k), shape `[n]` or `[n, 1]`) or a target row per sample (shape
 * `[n, k]`, values in [0, 1] with at least one above 0, as `train` accepts for `categoricalCrossentropy`; the class is
 * the row's largest value).
 *
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for an unknown task; `INVALID_INPUT` for arguments that are not live
 *   tensors, and as the metrics (a prediction that is not a probability for `binary`, NaN …; for `multiclass`, a class
 *   index that is not an integer in [0, k) or a target row that is not as above); `SHAPE_MISMATCH` when `multiclass`
 *   targets and predictions do not hold the same number of samples, or target rows are not `k` wide
 * @example
 * ```ts
 * import { initRuntime, taskMetrics, tf } from '@lepton/core';
 * await initRuntime({ backend: 'cpu' });
 * const m = await taskMetrics('binary', tf.tensor1d([0, 1, 1]), tf.tensor1d([0.2, 0.7, 0.9]));
 * console.log(m['accuracy']); // 1
 * ```
 */
export async function taskMetrics(task: Task, yTrue: tf.Tensor, yPred: tf.Tensor): Promise<Record<string, number>> {
  // any other value (a misspelt 'Binary') was scored as a regression
  if (task !== 'binary' && task !== 'multiclass' && task !== 'regression') {
    throw new LeptonError('INVALID_ARGUMENT', `taskMetrics: task must be 'binary', 'multiclass' or 'regression', got ${describeValue(task)}.`);
  }
  checkTensor(yTrue, 'taskMetrics', 'yTrue');
  checkTensor(yPred, 'taskMetrics', 'yPred');
  if (task === 'binary') {
    const [y, p] = await Promise.all([yTrue.data(), yPred.data()]);
    const hard = Array.from(p, (v) => (v >= 0.5 ? 1 : 0));
    const out: Record<string, number> = { loss: logLoss(y, p), accuracy: accuracy(y, hard), brier: brierScore(y, p) };
    const { pos, neg } = countClasses(y);
    if (pos > 0 && neg > 0) {
      out['auc'] = rocAuc(y, p);
      out['average_precision'] = averagePrecision(y, p);
    }
    return out;
  }
  if (task === 'multiclass') return multiclassMetrics(yTrue, yPred);
  const [y, p] = await Promise.all([yTrue.data(), yPred.data()]);
  const rmse = rootMeanSquaredError(y, p);
  return { loss: rmse * rmse, mae: meanAbsoluteError(y, p), rmse };
}

/** {@link taskMetrics} for `multiclass`: targets checked before use (a NaN or fractional label was cast to class 0). */
async function multiclassMetrics(yTrue: tf.Tensor, yPred: tf.Tensor): Promise<Record<string, number>> {
  const k = yPred.rank === 0 ? 0 : yPred.shape[yPred.rank - 1]!;
  if (k < 1 || yPred.size === 0) throw new LeptonError('INVALID_INPUT', `taskMetrics: multiclass yPred must hold one row of class scores per sample, got shape [${yPred.shape.join(', ')}].`);
  const rows = yPred.size / k;
  const last = yTrue.rank === 0 ? 1 : yTrue.shape[yTrue.rank - 1]!;
  const oneHot = yTrue.rank >= 2 && last > 1;
  if (oneHot && last !== k) {
    throw new LeptonError('SHAPE_MISMATCH', `taskMetrics: yTrue rows have ${last} columns but yPred has ${k} classes.`);
  }
  const samples = oneHot ? yTrue.size / k : yTrue.size;
  if (samples !== rows) {
    throw new LeptonError('SHAPE_MISMATCH', `taskMetrics: yTrue holds ${samples} sample(s) but yPred holds ${rows} row(s).`);
  }
  const [y, flat] = await Promise.all([yTrue.data(), yPred.data()]);
  const labels = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    if (!oneHot) {
      const v = y[i]!;
      if (!(Number.isInteger(v) && v >= 0 && v < k)) {
        throw new LeptonError('INVALID_INPUT', `taskMetrics: yTrue[${i}] must be a class index from 0 to ${k - 1}, got ${describeValue(v)}.`, { details: { tensor: 'yTrue', index: i } });
      }
      labels[i] = v;
      continue;
    }
    let best = -1;
    for (let j = 0; j < k; j++) {
      const v = y[i * k + j]!;
      if (!(v >= 0 && v <= 1)) {
        throw new LeptonError('INVALID_INPUT', `taskMetrics: yTrue row ${i} must hold values from 0 to 1 (one-hot), got ${describeValue(v)} at column ${j}.`, { details: { tensor: 'yTrue', index: i } });
      }
      if (v > 0 && (best < 0 || v > y[i * k + best]!)) best = j;
    }
    if (best < 0) throw new LeptonError('INVALID_INPUT', `taskMetrics: yTrue row ${i} is all zeros: no class.`, { details: { tensor: 'yTrue', index: i } });
    labels[i] = best;
  }
  const scoreRows = Array.from({ length: rows }, (_, i) => flat.subarray(i * k, (i + 1) * k));
  const predicted = scoreRows.map((r) => {
    let best = 0;
    for (let j = 1; j < k; j++) if (r[j]! > r[best]!) best = j;
    return best;
  });
  return { loss: logLoss(labels, scoreRows), accuracy: accuracy(labels, predicted) };
}
