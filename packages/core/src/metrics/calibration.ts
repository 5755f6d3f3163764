import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { checkBinary, checkPair, type Numeric } from './validate.js';

const EPS = 1e-15;

/**
 * Cross-entropy (log loss). Binary: `probs` are P(y = 1). Multiclass: `probs` is one probability row per
 * sample and `yTrue` holds class indices. Probabilities are clipped to [1e-15, 1 − 1e-15].
 *
 * @param yTrue - labels (0/1, or class indices with a row per sample)
 * @param probs - P(y = 1) per sample, or a probability row per sample
 * @returns mean negative log-likelihood
 * @throws {@link LeptonError} `SHAPE_MISMATCH` / `INVALID_INPUT` for mismatched or invalid input
 * @example
 * ```ts
 * import { logLoss } from '@lepton/core';
 * logLoss([1, 0], [0.9, 0.2]); // ≈ 0.164
 * ```
 */
export function logLoss(yTrue: Numeric, probs: Numeric | ArrayLike<Numeric>): number {
  checkPair(yTrue, probs, 'logLoss');
  let sum = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const row = probs[i];
    let p: number;
    if (typeof row === 'number') {
      checkBinary([yTrue[i]!], 'logLoss');
      p = yTrue[i] === 1 ? row : 1 - row;
    } else {
      const k = yTrue[i]!;
      if (row === undefined || !Number.isInteger(k) || k < 0 || k >= row.length) {
        throw new LeptonError('INVALID_INPUT', `logLoss: label ${k} at index ${i} has no probability column.`);
      }
      // Normalise the row, as scikit-learn does, so rounding in a softmax does not bias the loss.
      let total = 0;
      for (let j = 0; j < row.length; j++) total += row[j]!;
      p = row[k]! / total;
    }
    sum += -Math.log(Math.min(Math.max(p, EPS), 1 - EPS));
  }
  return sum / yTrue.length;
}

/**
 * Brier score: mean squared difference between P(y = 1) and the binary outcome.
 *
 * @param yTrue - binary labels
 * @param probs - predicted probabilities
 * @returns Brier score in [0, 1] (lower is better)
 * @example
 * ```ts
 * import { brierScore } from '@lepton/core';
 * brierScore([1, 0], [0.9, 0.2]); // 0.025
 * ```
 */
export function brierScore(yTrue: Numeric, probs: Numeric): number {
  checkPair(yTrue, probs, 'brierScore');
  checkBinary(yTrue, 'brierScore');
  let s = 0;
  for (let i = 0; i < yTrue.length; i++) s += (probs[i]! - yTrue[i]!) ** 2;
  return s / yTrue.length;
}

/**
 * Expected calibration error with equal-width bins over [0, 1]:
 * Σ_b (n_b / N) · |mean(y in b) − mean(p in b)|. A probability of exactly 1 falls in the last bin.
 *
 * @param yTrue - binary labels
 * @param probs - predicted probabilities
 * @param bins - number of bins (default 10)
 * @returns ECE in [0, 1]
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for bins < 1
 * @example
 * ```ts
 * import { expectedCalibrationError } from '@lepton/core';
 * expectedCalibrationError([1, 0, 1, 0], [0.8, 0.3, 0.6, 0.1], 2);
 * ```
 */
export function expectedCalibrationError(yTrue: Numeric, probs: Numeric, bins = 10): number {
  checkPair(yTrue, probs, 'expectedCalibrationError');
  checkBinary(yTrue, 'expectedCalibrationError');
  if (!Number.isInteger(bins) || bins < 1) throw new LeptonError('INVALID_ARGUMENT', `bins must be a positive integer, got ${describeValue(bins)}.`);
  const count = new Float64Array(bins);
  const sumP = new Float64Array(bins);
  const sumY = new Float64Array(bins);
  for (let i = 0; i < yTrue.length; i++) {
    const p = probs[i]!;
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p * bins)));
    count[b]! += 1;
    sumP[b]! += p;
    sumY[b]! += yTrue[i]!;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    if (count[b]! > 0) ece += (count[b]! / yTrue.length) * Math.abs(sumY[b]! / count[b]! - sumP[b]! / count[b]!);
  }
  return ece;
}
