import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
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
 * @returns the model output
 */
export function predictBatched(model: tfl.LayersModel, x: tf.Tensor | tf.Tensor[], batchSize: number): tf.Tensor {
  return tf.tidy(() => model.predict(x, { batchSize }) as tf.Tensor);
}

/** @internal Class index per sample from one-hot or index labels. */
export function labelIndices(y: tf.Tensor): Int32Array {
  return tf.tidy(() => {
    const last = y.shape[y.shape.length - 1] ?? 1;
    const idx = y.rank >= 2 && last > 1 ? tf.argMax(y, -1) : tf.cast(tf.reshape(y, [-1]), 'int32');
    return idx.dataSync() as Int32Array;
  });
}

/**
 * Metrics of a model's predictions for its task, named as `train()` reports them (`loss`, `accuracy`,
 * `auc`, `average_precision`, `brier`, `mae`, `rmse`). Binary and segmentation outputs are flattened.
 *
 * @param task - what the outputs mean
 * @param yTrue - targets
 * @param yPred - predictions (same layout as the model output)
 * @returns metrics by name
 */
export function taskMetrics(task: Task, yTrue: tf.Tensor, yPred: tf.Tensor): Record<string, number> {
  if (task === 'binary') {
    const y = yTrue.dataSync();
    const p = yPred.dataSync();
    const hard = Array.from(p, (v) => (v >= 0.5 ? 1 : 0));
    const out: Record<string, number> = { loss: logLoss(y, p), accuracy: accuracy(y, hard), brier: brierScore(y, p) };
    const { pos, neg } = countClasses(y);
    if (pos > 0 && neg > 0) {
      out['auc'] = rocAuc(y, p);
      out['average_precision'] = averagePrecision(y, p);
    }
    return out;
  }
  if (task === 'multiclass') {
    const labels = labelIndices(yTrue);
    const k = yPred.shape[yPred.shape.length - 1]!;
    const flat = yPred.dataSync();
    const rows = Array.from({ length: labels.length }, (_, i) => flat.subarray(i * k, (i + 1) * k));
    const predicted = rows.map((r) => r.indexOf(Math.max(...r)));
    return { loss: logLoss(labels, rows), accuracy: accuracy(labels, predicted) };
  }
  const y = yTrue.dataSync();
  const p = yPred.dataSync();
  const rmse = rootMeanSquaredError(y, p);
  return { loss: rmse * rmse, mae: meanAbsoluteError(y, p), rmse };
}
