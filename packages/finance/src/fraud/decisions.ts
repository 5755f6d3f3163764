import { LeptonError, thresholdForCost, thresholdForFpr } from '@lepton/core';
import { binaryLabels, finiteArray, isFiniteNumber, numberOption } from '../internal/guards.js';

/** Outcome for a scored transaction. */
export type Decision = 'approve' | 'review' | 'decline';

/** Score bands: below `review` approve; from `review` review; from `decline` decline. */
export interface DecisionPolicy {
  /** Review threshold: scores at or above it (and below {@link DecisionPolicy.decline}) are reviewed. */
  review: number;
  /** Decline threshold (never below {@link DecisionPolicy.review}): scores at or above it are declined. */
  decline: number;
}

/** How to choose the review threshold (the decline threshold is chosen by {@link DecisionTargets.declineFpr}). */
export type ReviewTarget =
  | {
      /** Minimise expected cost. */
      by: 'cost';
      /** Cost of a missed fraud (expected loss), in the same unit as `reviewCost`. */
      fraudLoss: number;
      /** Cost of reviewing one transaction, fraud or genuine. */
      reviewCost: number;
    }
  | {
      /** Alert on a fixed share of transactions. */
      by: 'alertRate';
      /** Share of transactions to review, in (0, 1) (e.g. 0.01 = the riskiest 1 %). */
      rate: number;
    }
  | {
      /** Keep the false-positive rate of reviews at or below a target. */
      by: 'fpr';
      /** Highest acceptable false-positive rate for reviews, in [0, 1]. */
      fpr: number;
    };

/** Targets for {@link choosePolicy}. */
export interface DecisionTargets {
  /** How to choose the review threshold. */
  review: ReviewTarget;
  /** Highest false-positive rate acceptable for outright declines. Default 0.001 (0.1 %). */
  declineFpr?: number;
}

/**
 * The score above which a `rate` share of transactions alert (e.g. 0.01 = the riskiest 1 %).
 *
 * @param scores - scores of a representative period
 * @param rate - target alert rate in (0, 1)
 * @returns the threshold
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a rate outside (0, 1) or no scores; `INVALID_INPUT`
 *   for a score that is not a finite number (`details.index`)
 */
export function thresholdForAlertRate(scores: ArrayLike<number>, rate: number): number {
  finiteArray(scores, 'thresholdForAlertRate: scores');
  if (!(isFiniteNumber(rate) && rate > 0 && rate < 1) || scores.length === 0) throw new LeptonError('INVALID_ARGUMENT', 'Alert rate must be a number in (0, 1), with scores given.');
  const sorted = Float64Array.from(scores).sort().reverse();
  return sorted[Math.max(0, Math.ceil(rate * sorted.length) - 1)]!;
}

/**
 * Chooses approve/review/decline bands on labelled validation scores: the review threshold by a cost matrix
 * (expected fraud loss of a missed fraud vs. the cost of a review), a target alert rate, or a target false-positive
 * rate; the decline threshold at a strict false-positive rate (never below the review threshold).
 *
 * @param labels - 1 fraud, 0 genuine
 * @param scores - calibrated probabilities (or any score, consistently)
 * @param targets - how to choose each threshold
 * @returns the bands
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a label other than 0/1, a score that is not a finite
 *   number, or labels and scores of different lengths; `INVALID_ARGUMENT` for a target that is missing or out of range
 */
export function choosePolicy(labels: ArrayLike<number>, scores: ArrayLike<number>, targets: DecisionTargets): DecisionPolicy {
  binaryLabels(labels, 'choosePolicy: labels');
  finiteArray(scores, 'choosePolicy: scores');
  if (labels.length !== scores.length || labels.length === 0) throw new LeptonError('INVALID_INPUT', 'choosePolicy: labels and scores must be non-empty and of the same length.');
  const t = targets?.review;
  if (t?.by === 'cost') {
    numberOption(t.fraudLoss, 'choosePolicy: fraudLoss', { min: 0 });
    numberOption(t.reviewCost, 'choosePolicy: reviewCost', { min: 0 });
  } else if (t?.by === 'alertRate') {
    numberOption(t.rate, 'choosePolicy: rate', { min: 0, max: 1, exclusiveMin: true });
  } else if (t?.by === 'fpr') {
    numberOption(t.fpr, 'choosePolicy: fpr', { min: 0, max: 1 });
  } else {
    throw new LeptonError('INVALID_ARGUMENT', "choosePolicy: targets.review.by must be 'cost', 'alertRate' or 'fpr'.");
  }
  numberOption(targets.declineFpr ?? 0.001, 'choosePolicy: declineFpr', { min: 0, max: 1 });
  let review: number;
  if (t.by === 'cost') {
    // A reviewed fraud costs the review; a missed one the loss; a reviewed genuine transaction the review.
    review = thresholdForCost(labels, scores, { falsePositive: t.reviewCost, falseNegative: t.fraudLoss, truePositive: t.reviewCost }).threshold;
  } else if (t.by === 'alertRate') {
    review = thresholdForAlertRate(scores, t.rate);
  } else {
    review = thresholdForFpr(labels, scores, t.fpr).threshold;
  }
  const decline = Math.max(review, thresholdForFpr(labels, scores, targets.declineFpr ?? 0.001).threshold);
  return { review, decline };
}

/**
 * Applies a policy to a score.
 *
 * @param policy - bands from {@link choosePolicy}
 * @param score - the transaction's score, a finite number
 * @returns approve, review or decline
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a score that is not a finite number (a NaN score would
 *   otherwise compare false everywhere and approve); `INVALID_ARGUMENT` for a policy whose thresholds are not numbers
 *   with review ≤ decline
 */
export function decide(policy: DecisionPolicy, score: number): Decision {
  if (!isFiniteNumber(score)) throw new LeptonError('INVALID_INPUT', 'decide: the score must be a finite number; a missing score cannot be approved.');
  if (typeof policy !== 'object' || policy === null || typeof policy.review !== 'number' || typeof policy.decline !== 'number' || Number.isNaN(policy.review) || !(policy.decline >= policy.review)) {
    throw new LeptonError('INVALID_ARGUMENT', 'decide: the policy needs numeric review ≤ decline thresholds (from choosePolicy).');
  }
  return score >= policy.decline ? 'decline' : score >= policy.review ? 'review' : 'approve';
}
