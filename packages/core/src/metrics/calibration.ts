import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { lengthOf, numbers, pair, type Numeric } from './validate.js';

const EPS = 1e-15;

/**
 * Cross-entropy (log loss). Binary: `probs` are P(y = 1). Multiclass: `probs` is one probability row per
 * sample and `yTrue` holds class indices. Probabilities are clipped to [1e-15, 1 − 1e-15].
 *
 * @param yTrue - labels (0/1, or class indices with a row per sample)
 * @param probs - P(y = 1) per sample, or a probability row per sample
 * @returns mean negative log-likelihood
 * @throws {@link LeptonError} `SHAPE_MISMATCH` / `INVALID_INPUT` for mismatched or invalid input: a binary label other
 *   than 0/1, a binary probability that is not a number in [0, 1], a multiclass row value that is not a finite number
 *   ≥ 0 (rows are normalised), a class index without a column, a row of zeros
 * @example
 * ```ts
 * import { logLoss } from '@lepton/core';
 * logLoss([1, 0], [0.9, 0.2]); // ≈ 0.164
 * ```
 */
export function logLoss(yTrue: Numeric, probs: Numeric | ArrayLike<Numeric>): number {
  const n = lengthOf(yTrue, 'logLoss', 'yTrue');
  const m = lengthOf(probs, 'logLoss', 'probs');
  // Binary (a probability per sample) or multiclass (a row per sample), decided by the first entry.
  let first: unknown = 0;
  if (m > 0) {
    try {
      first = (probs as ArrayLike<unknown>)[0];
    } catch (err) {
      throw new LeptonError('INVALID_INPUT', 'logLoss: reading probs[0] threw (see cause).', { cause: err, details: { argument: 'probs', index: 0 } });
    }
  }
  if (typeof first === 'number' || ArrayBuffer.isView(probs)) {
    const [y, p] = pair('logLoss', yTrue, 'binary', probs, 'probability', ['yTrue', 'probs']);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += -Math.log(Math.min(Math.max(y[i] === 1 ? p[i]! : 1 - p[i]!, EPS), 1 - EPS));
    return sum / n;
  }
  if (n !== m) throw new LeptonError('SHAPE_MISMATCH', `logLoss: yTrue has ${n} values but probs has ${m} rows.`);
  if (n === 0) throw new LeptonError('INVALID_INPUT', 'logLoss: no samples.');
  const y = numbers(yTrue, 'logLoss', 'yTrue', 'label');
  let sum = 0;
  for (let i = 0; i < n; i++) {
    // Rows are normalised below, as scikit-learn does: any finite weights ≥ 0 (not only probabilities) are a row.
    let raw: unknown;
    try {
      raw = (probs as ArrayLike<unknown>)[i];
    } catch (err) {
      throw new LeptonError('INVALID_INPUT', `logLoss: reading probs[${i}] threw (see cause).`, { cause: err, details: { argument: 'probs', index: i } });
    }
    const row = numbers(raw, 'logLoss', `probs[${i}]`, 'nonnegative');
    const k = y[i]!;
    if (!Number.isInteger(k) || k < 0 || k >= row.length) {
      throw new LeptonError('INVALID_INPUT', `logLoss: label ${k} at index ${i} has no probability column.`);
    }
    // Normalise the row, as scikit-learn does, so rounding in a softmax does not bias the loss.
    let total = 0;
    for (let j = 0; j < row.length; j++) total += row[j]!;
    if (!(total > 0 && total < Infinity)) throw new LeptonError('INVALID_INPUT', `logLoss: the probabilities of row ${i} sum to ${total > 0 ? 'more than a double holds' : '0'}.`);
    sum += -Math.log(Math.min(Math.max(row[k]! / total, EPS), 1 - EPS));
  }
  return sum / n;
}

/**
 * Brier score: mean squared difference between P(y = 1) and the binary outcome.
 *
 * @param yTrue - binary labels
 * @param probs - predicted probabilities
 * @returns Brier score in [0, 1] (lower is better)
 * @throws {@link LeptonError} `SHAPE_MISMATCH` / `INVALID_INPUT` for mismatched or empty input, a label other than 0/1
 *   or a probability that is not a number in [0, 1]
 * @example
 * ```ts
 * import { brierScore } from '@lepton/core';
 * brierScore([1, 0], [0.9, 0.2]); // 0.025
 * ```
 */
export function brierScore(yTrue: Numeric, probs: Numeric): number {
  const [y, p] = pair('brierScore', yTrue, 'binary', probs, 'probability', ['yTrue', 'probs']);
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (p[i]! - y[i]!) ** 2;
  return s / y.length;
}

/**
 * Expected calibration error with equal-width bins over [0, 1]:
 * Σ_b (n_b / N) · |mean(y in b) − mean(p in b)|. A probability of exactly 1 falls in the last bin.
 *
 * @param yTrue - binary labels
 * @param probs - predicted probabilities
 * @param bins - number of bins (default 10); any count works, as only the bins that hold a sample are kept
 * @returns ECE in [0, 1]
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for bins that is not a whole number ≥ 1; `SHAPE_MISMATCH` /
 *   `INVALID_INPUT` for mismatched or empty input, a label other than 0/1 or a probability outside [0, 1]
 * @example
 * ```ts
 * import { expectedCalibrationError } from '@lepton/core';
 * expectedCalibrationError([1, 0, 1, 0], [0.8, 0.3, 0.6, 0.1], 2);
 * ```
 */
export function expectedCalibrationError(yTrue: Numeric, probs: Numeric, bins = 10): number {
  if (!Number.isSafeInteger(bins) || bins < 1) throw new LeptonError('INVALID_ARGUMENT', `bins must be a positive integer, got ${describeValue(bins)}.`);
  const [y, p] = pair('expectedCalibrationError', yTrue, 'binary', probs, 'probability', ['yTrue', 'probs']);
  // Only bins holding a sample count: a map of those, so a billion bins cost no more than ten.
  const stats = new Map<number, { count: number; sumP: number; sumY: number }>();
  for (let i = 0; i < y.length; i++) {
    const b = Math.min(bins - 1, Math.floor(p[i]! * bins));
    let s = stats.get(b);
    if (s === undefined) stats.set(b, (s = { count: 0, sumP: 0, sumY: 0 }));
    s.count += 1;
    s.sumP += p[i]!;
    s.sumY += y[i]!;
  }
  let ece = 0;
  for (const b of [...stats.keys()].sort((a, c) => a - c)) {
    const s = stats.get(b)!;
    ece += (s.count / y.length) * Math.abs(s.sumY / s.count - s.sumP / s.count);
  }
  return ece;
}
