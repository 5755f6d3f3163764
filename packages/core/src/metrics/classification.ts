import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { lengthOf, numbers, optionsObject, pair, type Numeric } from './validate.js';

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
 * Most distinct labels {@link confusionMatrix} and {@link precisionRecallF1} take: 4096 (a confusion matrix of 16.8 M
 * cells). More is `INVALID_INPUT` before the matrix is allocated: it is almost always scores passed as labels.
 */
export const MAX_CLASS_LABELS = 4096;

/** The sorted distinct labels of `t` and `p`, refused past {@link MAX_CLASS_LABELS}. */
function distinctLabels(t: Numeric, p: Numeric, fn: string): number[] {
  const seen = new Set<number>();
  for (const a of [t, p]) {
    for (let i = 0; i < a.length; i++) {
      seen.add(a[i]!);
      if (seen.size > MAX_CLASS_LABELS) {
        throw new LeptonError('INVALID_INPUT', `${fn}: more than ${MAX_CLASS_LABELS} distinct labels; pass class labels, not scores.`, { details: { limit: MAX_CLASS_LABELS } });
      }
    }
  }
  return [...seen].sort((a, b) => a - b);
}

/**
 * Confusion matrix: rows are true labels, columns predicted labels, in the order of `labels`
 * (default: sorted union of the labels seen).
 *
 * @param yTrue - true labels
 * @param yPred - predicted labels
 * @param labels - label order (distinct integers, at most {@link MAX_CLASS_LABELS}); samples with a label not listed
 *   are not counted
 * @returns `matrix[i][j]` = samples of true label `labels[i]` predicted as `labels[j]`
 * @throws {@link LeptonError} `SHAPE_MISMATCH` / `INVALID_INPUT` for mismatched or empty input, a label that is not an
 *   integer (a score or probability passed as a label), or more than {@link MAX_CLASS_LABELS} distinct labels;
 *   `INVALID_ARGUMENT` for `labels` that are not distinct integers or more than {@link MAX_CLASS_LABELS}
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
  const [t, p] = pair('confusionMatrix', yTrue, 'class', yPred, 'class');
  const order = labels === undefined ? distinctLabels(t, p, 'confusionMatrix') : labelOrder(labels);
  const index = new Map(order.map((l, i) => [l, i]));
  const matrix = order.map(() => order.map(() => 0));
  for (let i = 0; i < t.length; i++) {
    const r = index.get(t[i]!);
    const c = index.get(p[i]!);
    if (r !== undefined && c !== undefined) matrix[r]![c]! += 1;
  }
  return { labels: order, matrix };
}

/** `labels` of {@link confusionMatrix}: distinct integers, copied. */
function labelOrder(labels: unknown): number[] {
  let order: number[];
  try {
    const n = lengthOf(labels, 'confusionMatrix', 'labels');
    if (n > MAX_CLASS_LABELS) throw new LeptonError('INVALID_ARGUMENT', `confusionMatrix: labels lists ${n} labels; at most ${MAX_CLASS_LABELS} are counted.`);
    order = Array.from(numbers(labels, 'confusionMatrix', 'labels', 'class'));
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
 *   `positiveLabel` that is not an integer; `SHAPE_MISMATCH` / `INVALID_INPUT` as {@link confusionMatrix} (labels must
 *   be integers, at most {@link MAX_CLASS_LABELS} distinct)
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
  if (typeof positiveLabel !== 'number' || !Number.isSafeInteger(positiveLabel)) {
    throw new LeptonError('INVALID_ARGUMENT', `precisionRecallF1: positiveLabel must be an integer, got ${describeValue(positiveLabel)}.`, { details: { option: 'positiveLabel' } });
  }
  if (average !== 'binary' && average !== 'micro' && average !== 'macro') {
    throw new LeptonError('INVALID_ARGUMENT', `Unknown averaging ${describeValue(average)}; use binary, macro or micro.`);
  }
  const [t, p] = pair('precisionRecallF1', yTrue, 'class', yPred, 'class');
  const labels = distinctLabels(t, p, 'precisionRecallF1');
  // Counters per label, not a k × k matrix: TP, and the counts of each label as truth and as prediction.
  const index = new Map(labels.map((l, i) => [l, i]));
  const tps = new Float64Array(labels.length);
  const trues = new Float64Array(labels.length);
  const preds = new Float64Array(labels.length);
  for (let i = 0; i < t.length; i++) {
    const r = index.get(t[i]!)!;
    const c = index.get(p[i]!)!;
    trues[r]! += 1;
    preds[c]! += 1;
    if (r === c) tps[r]! += 1;
  }
  const stats = labels.map((_, k) => ({ tp: tps[k]!, fp: preds[k]! - tps[k]!, fn: trues[k]! - tps[k]! }));
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
