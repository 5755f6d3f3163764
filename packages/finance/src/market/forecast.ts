import { buildSequenceModel, LeptonError, progressReporter, rocAuc, stageListeners, tf, train, type ProgressOptions, type SequenceKind } from '@lepton/core';
import { fitScaler, scaleRows } from '../fraud/scaler.js';
import { choiceOption, finiteArray, finiteRows, numberOption, optionsObject } from '../internal/guards.js';
import type { IndicatorFeatures } from './indicators.js';

/**
 * Options for {@link walkForward}. `onProgress` and `progressBar` (see `ProgressOptions` in `@lepton/core`) report
 * every fold's training as one run.
 */
export interface WalkForwardOptions extends ProgressOptions {
  /** Bars of history per input window. Default 20. */
  window?: number;
  /** What to predict for the next bar: up or down (`direction`), or its absolute log return (`volatility`). */
  target?: 'direction' | 'volatility';
  /** Sequence architecture. Default `tcn`. */
  kind?: SequenceKind;
  /** Test folds after the first training block. Default 4. */
  folds?: number;
  /** Epochs per fold. Default 15. */
  epochs?: number;
  /** Seed. Default 1. */
  seed?: number;
}

/** One walk-forward fold. */
export interface FoldResult {
  /** Windows trained on. */
  trainSize: number;
  /** Windows tested on. */
  testSize: number;
  /** First test timestamp, epoch ms. */
  testFrom: number;
  /** Last test timestamp, epoch ms. */
  testTo: number;
  /**
   * Direction: `auc` (ROC AUC; absent when the test block holds only up or only down bars, where it is undefined),
   * `hitRate` and `upShare`; volatility: `rmse` of the model and `naiveRmse` of the "same as last bar" forecast. Every
   * value present is finite.
   */
  metrics: Record<string, number>;
}

/**
 * Walk-forward validation of a sequence forecaster on indicator features: the series is cut into `folds + 1` blocks;
 * each fold trains on every block before its test block (expanding window), fitting the scaler on that training data
 * only, and tests on the next block. Windows never straddle the cut, so no test bar informs training.
 *
 * @param features - from `indicatorFeatures(bars)`; the target is computed from its `ret1` column one bar ahead
 * @param options - window, target, architecture, folds, epochs, seed
 * @returns one result per fold
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` when there are too few rows for the folds, the features lack
 *   a `ret1` column, a value or timestamp is not a finite number, or rows and timestamps differ in number;
 *   `INVALID_ARGUMENT` for options that are not an object or an option out of range (a `kind` other than `'tcn'`,
 *   `'lstm'` or `'gru'`, and `onProgress`/`progressBar` included); `TRAINING_FAILED` when a
 *   fold's model predicts non-finite values; `PROGRESS_LISTENER_FAILED` when the `onProgress` listener throws
 *
 * Progress: one `start`, then each fold's epochs (at most `epochs` per fold, `folds` × `epochs` planned) numbered on as
 * one run with their batches, then one `end`; a bar with the time left on a terminal.
 */
export async function walkForward(features: IndicatorFeatures, options?: WalkForwardOptions): Promise<FoldResult[]> {
  const o = optionsObject(options, 'walkForward');
  // Checked here: core's model builder made a hostile kind into a layer name and threw a plain Error (or TypeError).
  const kind = choiceOption<SequenceKind>(o.kind, ['tcn', 'lstm', 'gru'], 'tcn', 'walkForward: kind');
  const window = numberOption(o.window ?? 20, 'walkForward: window', { min: 1, integer: true });
  const folds = numberOption(o.folds ?? 4, 'walkForward: folds', { min: 1, integer: true });
  numberOption(o.epochs ?? 15, 'walkForward: epochs', { min: 1, integer: true });
  numberOption(o.seed ?? 1, 'walkForward: seed', { integer: true });
  const progress = progressReporter(o, 'walkForward');
  const target = choiceOption(o.target, ['direction', 'volatility'], 'direction', 'walkForward: target');
  if (typeof features !== 'object' || features === null || !Array.isArray(features.names)) {
    throw new LeptonError('INVALID_INPUT', 'walkForward needs indicator features ({ names, rows, timestamps }, from indicatorFeatures).');
  }
  const ret = features.names.indexOf('ret1');
  if (ret < 0) throw new LeptonError('INVALID_INPUT', "walkForward: the features need a 'ret1' column (the target is computed from it).");
  finiteRows(features.rows, 'walkForward', features.names.length, features.names);
  finiteArray(features.timestamps, 'walkForward: timestamps');
  if (features.timestamps.length !== features.rows.length) throw new LeptonError('INVALID_INPUT', 'walkForward: one timestamp per row is needed.');
  const rows = features.rows;
  // Sample i: rows i−window+1 … i → target from row i+1 (the next bar).
  const samples = rows.length - window;
  if (samples < (folds + 1) * 30) throw new LeptonError('INVALID_INPUT', `walkForward: ${rows.length} rows are too few for ${folds} folds of window ${window}.`);
  const y = (i: number): number => (target === 'direction' ? (rows[i + 1]![ret]! > 0 ? 1 : 0) : Math.abs(rows[i + 1]![ret]!));
  const block = Math.floor(samples / (folds + 1));
  const results: FoldResult[] = [];
  const foldProgress = progress ? stageListeners(progress, Array.from({ length: folds }, () => o.epochs ?? 15)) : [];
  for (let f = 1; f <= folds; f++) {
    const trainEnd = window - 1 + f * block; // last sample index (exclusive) of training
    const testEnd = Math.min(window - 1 + (f + 1) * block, rows.length - 1);
    const scaler = fitScaler(rows.slice(0, trainEnd + 1));
    const scaled = scaleRows(rows, scaler);
    const d = features.names.length;
    const windowTensor = (from: number, to: number): tf.Tensor3D => {
      const out = new Float32Array((to - from) * window * d);
      for (let i = from; i < to; i++) out.set(scaled.subarray((i - window + 1) * d, (i + 1) * d), (i - from) * window * d);
      return tf.tensor3d(out, [to - from, window, d]);
    };
    // Training samples end at trainEnd − 1 so their target (row i + 1) is still inside the training block.
    const xTrain = windowTensor(window - 1, trainEnd);
    const yTrainValues = Array.from({ length: trainEnd - (window - 1) }, (_, k) => y(window - 1 + k));
    const yTrain = tf.tensor2d(yTrainValues, [yTrainValues.length, 1]);
    const xTest = windowTensor(trainEnd, testEnd);
    const yTest = Array.from({ length: testEnd - trainEnd }, (_, k) => y(trainEnd + k));
    const model = buildSequenceModel({
      kind,
      timesteps: window,
      features: d,
      task: target === 'direction' ? 'binary' : 'regression',
      units: kind === 'tcn' ? [16, 16] : [16],
      seed: (o.seed ?? 1) + f,
    });
    try {
      await train(model, { x: xTrain, y: yTrain }, { epochs: o.epochs ?? 15, batchSize: 64, learningRate: 2e-3, validationSplit: 0.15, seed: (o.seed ?? 1) + f, progressBar: false, ...(foldProgress[f - 1] ? { onProgress: foldProgress[f - 1]! } : {}) });
      // data(), not dataSync(): a synchronous read blocks a GPU backend (and throws on WebGPU in Node).
      const out = tf.tidy(() => model.predict(xTest) as tf.Tensor);
      let pred: number[];
      try {
        pred = Array.from(await out.data());
      } finally {
        out.dispose();
      }
      if (pred.some((p) => !Number.isFinite(p))) {
        throw new LeptonError('TRAINING_FAILED', `walkForward: fold ${f}'s model predicts non-finite values (training diverged); lower the learning rate or rescale the features.`);
      }
      let metrics: Record<string, number>;
      if (target === 'direction') {
        const hits = pred.filter((p, k) => (p >= 0.5 ? 1 : 0) === yTest[k]).length;
        metrics = { hitRate: hits / yTest.length, upShare: yTest.reduce((s, v) => s + v, 0) / yTest.length };
        // ROC AUC is undefined with one class: leave it out rather than report NaN.
        if (yTest.includes(0) && yTest.includes(1)) metrics['auc'] = rocAuc(yTest, pred);
      } else {
        const rmse = Math.sqrt(pred.reduce((s, p, k) => s + (p - yTest[k]!) ** 2, 0) / yTest.length);
        const naive = Math.sqrt(yTest.reduce((s, v, k) => s + (Math.abs(rows[trainEnd + k]![ret]!) - v) ** 2, 0) / yTest.length);
        metrics = { rmse, naiveRmse: naive };
      }
      results.push({ trainSize: yTrainValues.length, testSize: yTest.length, testFrom: features.timestamps[trainEnd]!, testTo: features.timestamps[testEnd - 1]!, metrics });
    } finally {
      model.dispose();
      tf.dispose([xTrain, yTrain, xTest]);
    }
  }
  return results;
}
