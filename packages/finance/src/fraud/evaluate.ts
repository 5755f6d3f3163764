import {
  averagePrecision,
  brierScore,
  ksStatistic,
  LeptonError,
  populationStabilityIndex,
  rocAuc,
  thresholdForFpr,
} from '@lepton/core';
import { binaryLabels, finiteArray, finiteRows, isArrayLike, numberOption } from '../internal/guards.js';

/** Indices of a time-ordered split. */
export interface TimeSplit {
  /** Indices of rows with a timestamp before `trainEnd`. */
  train: number[];
  /** Rows inside the gap, excluded from both sides (their labels would not be known yet at training time). */
  gap: number[];
  /** Indices of rows with a timestamp at or after `trainEnd + gapMs`. */
  test: number[];
}

/**
 * Splits rows by time: train on everything before `trainEnd`, skip a `gapMs` window, test on what follows. The gap
 * models the delay before fraud labels are known: a model trained at `trainEnd` could not have seen them.
 *
 * @param timestamps - epoch ms per row
 * @param trainEnd - end of the training period (exclusive), epoch ms
 * @param gapMs - length of the gap after `trainEnd`
 * @returns row indices of each part
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a timestamp that is not a finite number (a NaN would fall
 *   silently into the test part); `INVALID_ARGUMENT` for a non-finite `trainEnd` or a negative or non-finite `gapMs`
 * @example
 * ```ts
 * import { timeSplit } from '@lepton/finance';
 * const { train, test } = timeSplit([1, 2, 3, 4], 3, 0); // train [0, 1], test [2, 3]
 * ```
 */
export function timeSplit(timestamps: ArrayLike<number>, trainEnd: number, gapMs: number): TimeSplit {
  finiteArray(timestamps, 'timeSplit: timestamps');
  numberOption(trainEnd, 'timeSplit: trainEnd');
  numberOption(gapMs, 'timeSplit: gapMs', { min: 0 });
  const out: TimeSplit = { train: [], gap: [], test: [] };
  for (let i = 0; i < timestamps.length; i++) {
    const t = timestamps[i]!;
    (t < trainEnd ? out.train : t < trainEnd + gapMs ? out.gap : out.test).push(i);
  }
  return out;
}

/** Fraud-model evaluation, as an investigations team reads it. */
export interface FraudEvaluation {
  /** Area under the precision–recall curve (average precision): the headline metric for rare fraud. */
  prAuc: number;
  /** Area under the ROC curve, in [0, 1]. */
  rocAuc: number;
  /** Share of fraud caught when only 1 % of genuine transactions may be flagged. */
  recallAt1PctFpr: number;
  /** Mean over days of the share of the day's top-k cards (by their highest score) that had fraud that day. */
  cardPrecisionAtK: number;
  /** Kolmogorov–Smirnov statistic: largest gap between the fraud and genuine score distributions, in [0, 1]. */
  ks: number;
  /** Brier score: mean squared error of the probabilities, in [0, 1] (lower is better). */
  brier: number;
  /** Counts behind the numbers: rows evaluated. */
  rows: number;
  /** Rows labelled fraud (label 1). */
  fraud: number;
  /** Distinct UTC calendar days covered by the rows. */
  days: number;
}

/**
 * Evaluates scores against labels: PR AUC, ROC AUC, recall at 1 % FPR, card precision in the top-k alerts per day,
 * KS and Brier.
 *
 * @param labels - 1 fraud, 0 genuine
 * @param scores - calibrated probabilities
 * @param context - timestamps and card ids per row (for the per-day card precision) and k (default 20)
 * @returns the evaluation
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for mismatched lengths, a label other than 0/1, a score
 *   that is not a probability in [0, 1], a timestamp that is not a finite number, or a card id that is not a string; `INVALID_ARGUMENT` for a `k` that is not
 *   a positive integer
 */
export function evaluateFraud(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  context: { timestamps: ArrayLike<number>; cardIds: ArrayLike<string>; k?: number },
): FraudEvaluation {
  binaryLabels(labels, 'evaluateFraud: labels');
  finiteArray(scores, 'evaluateFraud: scores');
  // Brier score and calibration read them as probabilities: a raw logit or a 0–100 score would fail there, unnamed.
  for (let i = 0; i < scores.length; i++) {
    if (!(scores[i]! >= 0 && scores[i]! <= 1)) throw new LeptonError('INVALID_INPUT', `evaluateFraud: scores[${i}] must be a probability in [0, 1] (a calibrated score).`, { details: { index: i } });
  }
  if (typeof context !== 'object' || context === null) throw new LeptonError('INVALID_INPUT', 'evaluateFraud needs { timestamps, cardIds }.');
  finiteArray(context.timestamps, 'evaluateFraud: timestamps');
  if (!isArrayLike(context.cardIds) || Array.from(context.cardIds).some((c) => typeof c !== 'string')) {
    throw new LeptonError('INVALID_INPUT', 'evaluateFraud: cardIds must be an array of strings.');
  }
  const n = labels.length;
  if (scores.length !== n || context.timestamps.length !== n || context.cardIds.length !== n) {
    throw new LeptonError('INVALID_INPUT', 'evaluateFraud: labels, scores, timestamps and cardIds must have the same length.');
  }
  const k = numberOption(context.k ?? 20, 'evaluateFraud: k', { min: 1, integer: true });
  // Per day: each card's highest score and whether it had fraud that day.
  const days = new Map<number, Map<string, { score: number; fraud: boolean }>>();
  for (let i = 0; i < n; i++) {
    const day = Math.floor(context.timestamps[i]! / 86_400_000);
    let cards = days.get(day);
    if (cards === undefined) days.set(day, (cards = new Map()));
    const c = cards.get(context.cardIds[i]!) ?? { score: -Infinity, fraud: false };
    c.score = Math.max(c.score, scores[i]!);
    c.fraud ||= labels[i] === 1;
    cards.set(context.cardIds[i]!, c);
  }
  let precisionSum = 0;
  for (const cards of days.values()) {
    const top = [...cards.values()].sort((a, b) => b.score - a.score).slice(0, k);
    precisionSum += top.filter((c) => c.fraud).length / Math.max(1, top.length);
  }
  let fraud = 0;
  for (let i = 0; i < n; i++) fraud += labels[i] === 1 ? 1 : 0;
  return {
    prAuc: averagePrecision(labels, scores),
    rocAuc: rocAuc(labels, scores),
    recallAt1PctFpr: thresholdForFpr(labels, scores, 0.01).recall,
    cardPrecisionAtK: precisionSum / Math.max(1, days.size),
    ks: ksStatistic(labels, scores),
    brier: brierScore(labels, scores),
    rows: n,
    fraud,
    days: days.size,
  };
}

/** One variable's drift. */
export interface DriftItem {
  /** Feature name, or `score` for the model score. */
  name: string;
  /** Population stability index of the current period against the baseline. */
  psi: number;
  /** Whether `psi` is above the monitor's threshold. */
  alert: boolean;
}

/**
 * Watches drift of every feature and of the score against a baseline (usually the training period), by population
 * stability index; alerts above a threshold.
 */
export class DriftMonitor {
  private readonly baseline: { names: string[]; columns: number[][]; scores: number[] };

  /**
   * @param names - feature names
   * @param baselineRows - feature rows of the baseline period
   * @param baselineScores - scores of the baseline period
   * @param threshold - PSI above which to alert (default 0.25, "major shift")
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for rows that are not one finite number per name, or a
   *   score that is not a finite number; `INVALID_ARGUMENT` for a threshold that is not a finite number ≥ 0
   */
  constructor(
    names: readonly string[],
    baselineRows: ReadonlyArray<ArrayLike<number>>,
    baselineScores: ArrayLike<number>,
    private readonly threshold = 0.25,
  ) {
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) throw new LeptonError('INVALID_INPUT', 'DriftMonitor: names must be an array of strings.');
    finiteRows(baselineRows, 'DriftMonitor (baseline)', names.length, names);
    finiteArray(baselineScores, 'DriftMonitor: baseline scores');
    numberOption(threshold, 'DriftMonitor: threshold', { min: 0 });
    this.baseline = { names: [...names], columns: names.map((_, j) => baselineRows.map((r) => r[j]!)), scores: Array.from(baselineScores) };
  }

  /**
   * Compares a current period with the baseline.
   *
   * @param rows - current feature rows
   * @param scores - current scores
   * @returns PSI and alert flag for the score and each feature, features sorted by PSI (largest first)
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for rows that are not one finite number per feature, or a
   *   score that is not a finite number
   */
  check(
    rows: ReadonlyArray<ArrayLike<number>>,
    scores: ArrayLike<number>,
  ): {
    /** Drift of the score. */
    score: DriftItem;
    /** Drift of each feature, largest PSI first. */
    features: DriftItem[];
    /** Number of alerts, the score and features together. */
    alerts: number;
  } {
    finiteRows(rows, 'DriftMonitor.check', this.baseline.names.length, this.baseline.names);
    finiteArray(scores, 'DriftMonitor.check: scores');
    const item = (name: string, base: ArrayLike<number>, cur: ArrayLike<number>): DriftItem => {
      const psi = populationStabilityIndex(base, cur).psi;
      return { name, psi, alert: psi > this.threshold };
    };
    const score = item('score', this.baseline.scores, scores);
    const features = this.baseline.names.map((name, j) => item(name, this.baseline.columns[j]!, rows.map((r) => r[j]!))).sort((a, b) => b.psi - a.psi);
    return { score, features, alerts: features.filter((f) => f.alert).length + (score.alert ? 1 : 0) };
  }
}
