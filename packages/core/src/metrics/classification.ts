import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { numbers, optionsObject, pair, type Numeric } from './validate.js';

/** How per-class scores are combined: `binary` reports the positive class only. */
export type Averaging = 'binary' | 'macro' | 'micro';

/** Precision, recall and F1 under one averaging. */
export interface PrecisionRecallF1 {
  /** TP / (TP + FP), in [0, 1]; 0 when nothing was predicted positive. */
  precision: number;
  /** TP / (TP + FN), in [0, 1]; 0 when there are no true positives to find. */
  recall: number;
  /** Harmonic mean of precision and recall, in [0, 1]; 0 when both are 0. */
  f1: number;
}

/**
 * Fraction of predictions equal to the truth.
 *
 * @param yTrue - true labels
 * @param yPred - predicted labels
 * @returns accuracy in [0, 1]
 * @throws {@link LeptonError} `SHAPE_MISMATCH` / `INVALID_INPUT` for mismatched or empty input, or a label that is not a
 *   finite number
 * @example
 * ```ts
 * import { accuracy } from '@lepton/core';
 * accuracy([0, 1, 1, 0], [0, 1, 0, 0]); // 0.75
 * ```
 */
export function accuracy(yTrue: Numeric, yPred: Numeric): number {
  const [t, p] = pair('accuracy', yTrue, 'label', yPred, 'label');
  let hit = 0;
  for (let i = 0; i < t.length; i++) hit += t[i] === p[i] ? 1 : 0;
  return hit / t.length;
}

/**
 * Confusion matrix: rows are true labels, columns predicted labels, in the order of `labels`
 * (default: sorted union of the labels seen).
 *
 * @param yTrue - true labels
 * @param yPred - predicted labels
 * @param labels - label order (distinct finite numbers); samples with a label not listed are not counted
 * @returns `matrix[i][j]` = samples of true label `labels[i]` predicted as `labels[j]`
 * @throws {@link LeptonError} `SHAPE_MISMATCH` / `INVALID_INPUT` for mismatched or empty input or a label that is not a
 *   finite number; `INVALID_ARGUMENT` for `labels` that are not distinct finite numbers
 * @example
 * ```ts
 * import { confusionMatrix } from '@lepton/core';
 * confusionMatrix([0, 1, 1], [0, 1, 0]).matrix; // [[1, 0], [1, 1]]
 * ```
 */
export function confusionMatrix(
  yTrue: Numeric,
  yPred: Numeric,
  labels?: number[],
): {
  /** Label order of the rows and columns. */
  labels: number[];
  /** `matrix[i][j]`: count of samples with true label `labels[i]` predicted as `labels[j]`. */
  matrix: number[][];
} {
  const [t, p] = pair('confusionMatrix', yTrue, 'label', yPred, 'label');
  const order = labels === undefined ? [...new Set([...Array.from(t), ...Array.from(p)])].sort((a, b) => a - b) : labelOrder(labels);
  const index = new Map(order.map((l, i) => [l, i]));
  const matrix = order.map(() => order.map(() => 0));
  for (let i = 0; i < t.length; i++) {
    const r = index.get(t[i]!);
    const c = index.get(p[i]!);
    if (r !== undefined && c !== undefined) matrix[r]![c]! += 1;
  }
  return { labels: order, matrix };
}

/** `labels` of {@link confusionMatrix}: distinct finite numbers, copied. */
function labelOrder(labels: unknown): number[] {
  let order: number[];
  try {
    order = Array.from(numbers(labels, 'confusionMatrix', 'labels', 'label'));
  } catch (err) {
    throw new LeptonError('INVALID_ARGUMENT', (err as Error).message, { cause: err, details: { option: 'labels' } });
  }
  if (new Set(order).size !== order.length) throw new LeptonError('INVALID_ARGUMENT', 'confusionMatrix: labels must be distinct.', { details: { option: 'labels' } });
  return order;
}

function safeDiv(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}

/**
 * Precision, recall and F1 with binary, macro or micro averaging (zero where undefined, like scikit-learn's
 * `zero_division=0`).
 *
 * @param yTrue - true labels
 * @param yPred - predicted labels
 * @param options - averaging (default `binary`) and the positive label for `binary` (default 1)
 * @returns precision, recall and F1
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for an unknown averaging, options that are not an object or a
 *   `positiveLabel` that is not a finite number; `SHAPE_MISMATCH` / `INVALID_INPUT` as {@link confusionMatrix}
 * @example
 * ```ts
 * import { precisionRecallF1 } from '@lepton/core';
 * precisionRecallF1([0, 1, 1, 0], [0, 1, 0, 1]); // { precision: 0.5, recall: 0.5, f1: 0.5 }
 * ```
 */
export function precisionRecallF1(
  yTrue: Numeric,
  yPred: Numeric,
  options: { average?: Averaging; positiveLabel?: number } = {},
): PrecisionRecallF1 {
  const o = optionsObject(options, 'precisionRecallF1');
  const average = o.average ?? 'binary';
  const positiveLabel: unknown = o.positiveLabel ?? 1;
  if (typeof positiveLabel !== 'number' || !Number.isFinite(positiveLabel)) {
    throw new LeptonError('INVALID_ARGUMENT', `precisionRecallF1: positiveLabel must be a finite number, got ${describeValue(positiveLabel)}.`, { details: { option: 'positiveLabel' } });
  }
  if (average !== 'binary' && average !== 'micro' && average !== 'macro') {
    throw new LeptonError('INVALID_ARGUMENT', `Unknown averaging ${describeValue(average)}; use binary, macro or micro.`);
  }
  const { labels, matrix } = confusionMatrix(yTrue, yPred);
  const stats = labels.map((_, k) => {
    const tp = matrix[k]![k]!;
    const fp = matrix.reduce((s, row, r) => s + (r === k ? 0 : row[k]!), 0);
    const fn = matrix[k]!.reduce((s, v, c) => s + (c === k ? 0 : v), 0);
    return { tp, fp, fn };
  });
  const score = (tp: number, fp: number, fn: number): PrecisionRecallF1 => {
    const precision = safeDiv(tp, tp + fp);
    const recall = safeDiv(tp, tp + fn);
    return { precision, recall, f1: safeDiv(2 * precision * recall, precision + recall) };
  };
  if (average === 'binary') {
    const k = labels.indexOf(positiveLabel);
    if (k < 0) return { precision: 0, recall: 0, f1: 0 };
    const s = stats[k]!;
    return score(s.tp, s.fp, s.fn);
  }
  if (average === 'micro') {
    const t = stats.reduce((a, s) => ({ tp: a.tp + s.tp, fp: a.fp + s.fp, fn: a.fn + s.fn }), { tp: 0, fp: 0, fn: 0 });
    return score(t.tp, t.fp, t.fn);
  }
  if (average === 'macro') {
    const per = stats.map((s) => score(s.tp, s.fp, s.fn));
    const mean = (f: (p: PrecisionRecallF1) => number): number => per.reduce((a, p) => a + f(p), 0) / per.length;
    return { precision: mean((p) => p.precision), recall: mean((p) => p.recall), f1: mean((p) => p.f1) };
  }
  throw new LeptonError('INVALID_ARGUMENT', `Unknown averaging ${describeValue(average)}; use binary, macro or micro.`);
}
