import { pair, type Numeric } from './validate.js';

/** Largest |value| of two arrays: the scale that keeps sums of huge finite values (1e308) from overflowing. */
function scaleOf(t: Numeric, p: Numeric): number {
  let m = 0;
  for (let i = 0; i < t.length; i++) m = Math.max(m, Math.abs(t[i]!), Math.abs(p[i]!));
  return m;
}

/**
 * Mean absolute error.
 *
 * @param yTrue - true values
 * @param yPred - predictions
 * @returns MAE
 * @throws {@link LeptonError} `SHAPE_MISMATCH` / `INVALID_INPUT` for mismatched or empty input or a value that is not a
 *   finite number
 * @example
 * ```ts
 * import { meanAbsoluteError } from '@lepton/core';
 * meanAbsoluteError([1, 2], [1.5, 2]); // 0.25
 * ```
 */
export function meanAbsoluteError(yTrue: Numeric, yPred: Numeric): number {
  const [t, p] = pair('meanAbsoluteError', yTrue, 'finite', yPred, 'finite');
  let s = 0;
  for (let i = 0; i < t.length; i++) s += Math.abs(t[i]! - p[i]!);
  if (Number.isFinite(s)) return s / t.length;
  // the sum overflowed: the same mean on values scaled into [-1, 1], scaled back (Infinity only when it is one)
  const k = scaleOf(t, p);
  s = 0;
  for (let i = 0; i < t.length; i++) s += Math.abs(t[i]! / k - p[i]! / k);
  return (s / t.length) * k;
}

/**
 * Root mean squared error.
 *
 * @param yTrue - true values
 * @param yPred - predictions
 * @returns RMSE
 * @throws {@link LeptonError} as {@link meanAbsoluteError}
 * @example
 * ```ts
 * import { rootMeanSquaredError } from '@lepton/core';
 * rootMeanSquaredError([0, 0], [3, 4]); // ≈ 3.536
 * ```
 */
export function rootMeanSquaredError(yTrue: Numeric, yPred: Numeric): number {
  const [t, p] = pair('rootMeanSquaredError', yTrue, 'finite', yPred, 'finite');
  let s = 0;
  for (let i = 0; i < t.length; i++) s += (t[i]! - p[i]!) ** 2;
  if (Number.isFinite(s)) return Math.sqrt(s / t.length);
  // the squares overflowed: scaled into [-1, 1] and back
  const k = scaleOf(t, p);
  s = 0;
  for (let i = 0; i < t.length; i++) s += (t[i]! / k - p[i]! / k) ** 2;
  return Math.sqrt(s / t.length) * k;
}

/**
 * Coefficient of determination R² = 1 − SS_res / SS_tot (1 for a perfect fit; can be negative). A constant
 * `yTrue` gives 1 for a perfect prediction and 0 otherwise, as scikit-learn does.
 *
 * @param yTrue - true values
 * @param yPred - predictions
 * @returns R²
 * @throws {@link LeptonError} as {@link meanAbsoluteError}
 * @example
 * ```ts
 * import { r2Score } from '@lepton/core';
 * r2Score([1, 2, 3], [1, 2, 3]); // 1
 * ```
 */
export function r2Score(yTrue: Numeric, yPred: Numeric): number {
  const [t, p] = pair('r2Score', yTrue, 'finite', yPred, 'finite');
  const r2 = rSquared(t, p);
  if (!Number.isNaN(r2)) return r2;
  // Sums of squares (or the mean) of huge finite values (1e308) overflowed: R² does not change when both are scaled.
  const k = scaleOf(t, p);
  return rSquared(Array.from(t, (v) => v / k), Array.from(p, (v) => v / k));
}

function rSquared(t: Numeric, p: Numeric): number {
  let mean = 0;
  for (let i = 0; i < t.length; i++) mean += t[i]!;
  mean /= t.length;
  let res = 0;
  let tot = 0;
  for (let i = 0; i < t.length; i++) {
    res += (t[i]! - p[i]!) ** 2;
    tot += (t[i]! - mean) ** 2;
  }
  // An overflowed sum (or mean: 1.5e308 + 1.5e308) is NaN here, so r2Score rescales; 1 − finite/∞ would read as 1.
  if (!Number.isFinite(mean) || !Number.isFinite(res) || !Number.isFinite(tot)) return Number.NaN;
  if (tot === 0) return res === 0 ? 1 : 0;
  return 1 - res / tot;
}
