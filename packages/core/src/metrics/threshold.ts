import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { curve, type ThresholdCurve } from './ranking.js';
import { optionsObject, type Numeric } from './validate.js';

/** A chosen decision threshold (positive when score ≥ threshold) and what it yields on the given data. */
export interface ThresholdChoice {
  /** Decision threshold; `Infinity` means flag nothing. */
  threshold: number;
  /** Precision at this threshold (1 when nothing is flagged). */
  precision: number;
  /** Recall (true-positive rate) at this threshold. */
  recall: number;
  /** False-positive rate. */
  fpr: number;
  /** F1 at this threshold (0 when precision and recall are both 0). */
  f1: number;
  /** Total cost, for {@link thresholdForCost}. */
  cost?: number;
}

/** Costs of the two kinds of mistake (and optionally of each alert) for {@link thresholdForCost}. */
export interface CostMatrix {
  /** Cost of a false positive (e.g. an analyst's review of a good transaction). */
  falsePositive: number;
  /** Cost of a false negative (e.g. the fraud loss). */
  falseNegative: number;
  /** Cost of a true positive (e.g. review cost of a caught fraud). Default 0. */
  truePositive?: number;
}

function choices(c: ThresholdCurve): ThresholdChoice[] {
  const out: ThresholdChoice[] = [];
  // The "flag nothing" point first (threshold above every score).
  out.push({ threshold: Infinity, precision: 1, recall: 0, fpr: 0, f1: 0 });
  c.thresholds.forEach((threshold, i) => {
    const tp = c.tp[i]!;
    const fp = c.fp[i]!;
    const precision = tp + fp === 0 ? 1 : tp / (tp + fp);
    const recall = c.positives === 0 ? 0 : tp / c.positives;
    const fpr = c.negatives === 0 ? 0 : fp / c.negatives;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    out.push({ threshold, precision, recall, fpr, f1 });
  });
  return out;
}

/**
 * The threshold that maximises F1.
 *
 * @param yTrue - binary labels
 * @param scores - scores
 * @returns the threshold and its precision, recall, FPR and F1
 * @example
 * ```ts
 * import { thresholdForMaxF1 } from '@lepton/core';
 * thresholdForMaxF1([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]).threshold; // 0.35
 * ```
 */
export function thresholdForMaxF1(yTrue: Numeric, scores: Numeric): ThresholdChoice {
  return choices(curve(yTrue, scores, 'thresholdForMaxF1')).reduce((best, c) => (c.f1 > best.f1 ? c : best));
}

/**
 * The threshold with the highest recall whose false-positive rate stays at or below `targetFpr` (the
 * highest such threshold when several give that recall).
 *
 * @param yTrue - binary labels
 * @param scores - scores
 * @param targetFpr - highest acceptable false-positive rate, in [0, 1]
 * @returns the threshold and what it yields
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for a target outside [0, 1]
 * @example
 * ```ts
 * import { thresholdForFpr } from '@lepton/core';
 * thresholdForFpr([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 0).threshold; // 0.8
 * ```
 */
export function thresholdForFpr(yTrue: Numeric, scores: Numeric, targetFpr: number): ThresholdChoice {
  if (typeof targetFpr !== 'number' || !(targetFpr >= 0 && targetFpr <= 1)) {
    throw new LeptonError('INVALID_ARGUMENT', `targetFpr must be a number in [0, 1], got ${describeValue(targetFpr)}.`);
  }
  // Highest recall within the FPR budget; among equal recall, the fewest false positives (highest threshold).
  let best: ThresholdChoice | undefined;
  for (const c of choices(curve(yTrue, scores, 'thresholdForFpr'))) if (c.fpr <= targetFpr && (best === undefined || c.recall > best.recall)) best = c;
  return best!;
}

/**
 * The threshold with the least total cost: FP·falsePositive + FN·falseNegative + TP·truePositive.
 *
 * @param yTrue - binary labels
 * @param scores - scores
 * @param costs - cost of each kind of outcome
 * @returns the threshold, what it yields and its `cost`
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for costs that are not an object or a cost that is not a finite number
 *   ≥ 0 (`truePositive` may be left out), or costs so large that the least total cost overflows a double;
 *   `INVALID_INPUT` / `SHAPE_MISMATCH` as `thresholdCurve`
 * @example
 * ```ts
 * import { thresholdForCost } from '@lepton/core';
 * thresholdForCost([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], { falsePositive: 1, falseNegative: 10 }).threshold; // 0.35
 * ```
 */
export function thresholdForCost(yTrue: Numeric, scores: Numeric, costs: CostMatrix): ThresholdChoice {
  if (costs === undefined) throw new LeptonError('INVALID_ARGUMENT', 'thresholdForCost: costs must be an object { falsePositive, falseNegative, truePositive? }, got undefined.');
  const o = optionsObject(costs, 'thresholdForCost', 'costs');
  const cost = (name: keyof CostMatrix, optional: boolean): number => {
    const v: unknown = o[name];
    if (optional && (v === undefined || v === null)) return 0;
    if (typeof v !== 'number' || !(v >= 0) || v === Infinity) {
      throw new LeptonError('INVALID_ARGUMENT', `thresholdForCost: costs.${name} must be a finite number ≥ 0, got ${describeValue(v)}.`, { details: { option: name } });
    }
    return v;
  };
  const fpCost = cost('falsePositive', false);
  const fnCost = cost('falseNegative', false);
  const tpCost = cost('truePositive', true);
  const c = curve(yTrue, scores, 'thresholdForCost');
  const pick = (scale: number): { best: ThresholdChoice; finite: boolean } => {
    let best: ThresholdChoice | undefined;
    let finite = true;
    for (const choice of choices(c)) {
      const tp = choice.recall * c.positives;
      const fp = choice.fpr * c.negatives;
      const total = fp * (fpCost / scale) + (c.positives - tp) * (fnCost / scale) + tp * (tpCost / scale);
      if (!Number.isFinite(total)) finite = false;
      if (best === undefined || total < best.cost! - 1e-12) best = { ...choice, cost: total };
    }
    return { best: best!, finite };
  };
  const plain = pick(1);
  if (plain.finite) return plain.best;
  // Costs so large that a total overflows (Infinity ties every choice): compare in units of the largest cost.
  const scale = Math.max(fpCost, fnCost, tpCost);
  const { best } = pick(scale);
  const total = best.cost! * scale;
  if (!Number.isFinite(total)) {
    throw new LeptonError('INVALID_ARGUMENT', `thresholdForCost: the least total cost (${best.cost} × ${scale}) overflows a double; express the costs in a larger unit.`);
  }
  return { ...best, cost: total };
}
