import { LeptonError } from '../errors/lepton-error.js';
import { pair, type Numeric } from './validate.js';

/** Points of a curve at each distinct score threshold, highest threshold first. */
export interface ThresholdCurve {
  /** Score thresholds (a sample is positive when its score ≥ threshold). */
  thresholds: number[];
  /** True positives at each threshold. */
  tp: number[];
  /** False positives at each threshold. */
  fp: number[];
  /** Total positives (label 1) in `yTrue`. */
  positives: number;
  /** Total negatives (label 0) in `yTrue`. */
  negatives: number;
}

/**
 * Counts true/false positives at every distinct score, from the highest score down.
 *
 * @param yTrue - binary labels (0/1)
 * @param scores - scores, higher meaning more likely positive
 * @returns the cumulative counts
 * @throws {@link LeptonError} `INVALID_INPUT` for non-binary labels, a score that is not a number or is NaN (±Infinity
 *   rank first or last), or empty input; `SHAPE_MISMATCH` for lengths that differ
 */
export function thresholdCurve(yTrue: Numeric, scores: Numeric): ThresholdCurve {
  return curve(yTrue, scores, 'thresholdCurve');
}

/** @internal {@link thresholdCurve}, its messages naming `fn`. */
export function curve(labels: Numeric, values: Numeric, fn: string): ThresholdCurve {
  const [yTrue, scores] = pair(fn, labels, 'binary', values, 'ordered', ['yTrue', 'scores']);
  // (a > b) − (a < b): no NaN from Infinity − Infinity
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => Number(scores[b]! > scores[a]!) - Number(scores[b]! < scores[a]!));
  const thresholds: number[] = [];
  const tp: number[] = [];
  const fp: number[] = [];
  let t = 0;
  let f = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    if (yTrue[i] === 1) t++;
    else f++;
    const next = order[k + 1];
    if (next === undefined || scores[next] !== scores[i]) {
      thresholds.push(scores[i]!);
      tp.push(t);
      fp.push(f);
    }
  }
  return { thresholds, tp, fp, positives: t, negatives: f };
}

function needBoth(c: ThresholdCurve, what: string): void {
  if (c.positives === 0 || c.negatives === 0) {
    throw new LeptonError('INVALID_INPUT', `${what} needs both classes in yTrue (found ${c.positives} positives, ${c.negatives} negatives).`);
  }
}

/**
 * ROC curve: false- and true-positive rates at each distinct threshold (starting at the (0, 0) point).
 *
 * @param yTrue - binary labels
 * @param scores - scores
 * @returns `fpr`, `tpr` and the `thresholds` (the first is `Infinity`)
 * @throws {@link LeptonError} `INVALID_INPUT` unless both classes are present, and as {@link thresholdCurve}
 */
export function rocCurve(
  yTrue: Numeric,
  scores: Numeric,
): {
  /** False-positive rate (FP / negatives) at each threshold, from 0 up to 1. */
  fpr: number[];
  /** True-positive rate (TP / positives) at each threshold, from 0 up to 1. */
  tpr: number[];
  /** Score thresholds, highest first; the first is `Infinity` (nothing flagged). */
  thresholds: number[];
} {
  return roc(yTrue, scores, 'rocCurve');
}

function roc(yTrue: Numeric, scores: Numeric, fn: string): { fpr: number[]; tpr: number[]; thresholds: number[] } {
  const c = curve(yTrue, scores, fn);
  needBoth(c, fn);
  return {
    fpr: [0, ...c.fp.map((v) => v / c.negatives)],
    tpr: [0, ...c.tp.map((v) => v / c.positives)],
    thresholds: [Infinity, ...c.thresholds],
  };
}

/**
 * Area under the ROC curve (trapezoidal, ties counted half — the same as scikit-learn's `roc_auc_score`).
 *
 * @param yTrue - binary labels
 * @param scores - scores
 * @returns ROC AUC in [0, 1]
 * @throws {@link LeptonError} `INVALID_INPUT` unless both classes are present
 * @example
 * ```ts
 * import { rocAuc } from '@lepton/core';
 * rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]); // 0.75
 * ```
 */
export function rocAuc(yTrue: Numeric, scores: Numeric): number {
  const { fpr, tpr } = roc(yTrue, scores, 'rocAuc');
  let area = 0;
  for (let i = 1; i < fpr.length; i++) area += ((fpr[i]! - fpr[i - 1]!) * (tpr[i]! + tpr[i - 1]!)) / 2;
  return area;
}

/**
 * Precision–recall curve at each distinct threshold, highest threshold first.
 *
 * @param yTrue - binary labels
 * @param scores - scores
 * @returns precision, recall and thresholds
 * @throws {@link LeptonError} `INVALID_INPUT` when there are no positives, and as {@link thresholdCurve}
 */
export function precisionRecallCurve(
  yTrue: Numeric,
  scores: Numeric,
): {
  /** Precision (TP / (TP + FP)) at each threshold. */
  precision: number[];
  /** Recall (TP / positives) at each threshold, rising to 1. */
  recall: number[];
  /** Distinct score thresholds, highest first (positive when score ≥ threshold). */
  thresholds: number[];
} {
  return prCurve(yTrue, scores, 'precisionRecallCurve');
}

function prCurve(yTrue: Numeric, scores: Numeric, fn: string): { precision: number[]; recall: number[]; thresholds: number[] } {
  const c = curve(yTrue, scores, fn);
  if (c.positives === 0) throw new LeptonError('INVALID_INPUT', `${fn} needs at least one positive.`);
  return {
    precision: c.tp.map((t, i) => t / (t + c.fp[i]!)),
    recall: c.tp.map((t) => t / c.positives),
    thresholds: c.thresholds,
  };
}

/**
 * Average precision: Σ (Rₙ − Rₙ₋₁) Pₙ over thresholds, without interpolation (scikit-learn's
 * `average_precision_score`). The area under the precision–recall curve that suits rare positives.
 *
 * @param yTrue - binary labels
 * @param scores - scores
 * @returns average precision in [0, 1]
 * @throws {@link LeptonError} `INVALID_INPUT` when there are no positives
 * @example
 * ```ts
 * import { averagePrecision } from '@lepton/core';
 * averagePrecision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]); // ≈ 0.833
 * ```
 */
export function averagePrecision(yTrue: Numeric, scores: Numeric): number {
  const { precision, recall } = prCurve(yTrue, scores, 'averagePrecision');
  let ap = 0;
  let prev = 0;
  for (let i = 0; i < recall.length; i++) {
    ap += (recall[i]! - prev) * precision[i]!;
    prev = recall[i]!;
  }
  return ap;
}

/**
 * Kolmogorov–Smirnov statistic: the largest gap between the score distributions of positives and
 * negatives (max over thresholds of TPR − FPR), as used in credit scoring.
 *
 * @param yTrue - binary labels
 * @param scores - scores
 * @returns KS in [0, 1]
 * @throws {@link LeptonError} `INVALID_INPUT` unless both classes are present
 * @example
 * ```ts
 * import { ksStatistic } from '@lepton/core';
 * ksStatistic([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]); // 1
 * ```
 */
export function ksStatistic(yTrue: Numeric, scores: Numeric): number {
  const { fpr, tpr } = roc(yTrue, scores, 'ksStatistic');
  let ks = 0;
  for (let i = 0; i < fpr.length; i++) ks = Math.max(ks, Math.abs(tpr[i]! - fpr[i]!));
  return ks;
}
