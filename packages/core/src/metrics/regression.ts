import { checkPair, type Numeric } from './validate.js';

/**
 * Mean absolute error.
 *
 * @param yTrue - true values
 * @param yPred - predictions
 * @returns MAE
 * @example
 * ```ts
 * import { meanAbsoluteError } from '@lepton/core';
 * meanAbsoluteError([1, 2], [1.5, 2]); // 0.25
 * ```
 */
export function meanAbsoluteError(yTrue: Numeric, yPred: Numeric): number {
  checkPair(yTrue, yPred, 'meanAbsoluteError');
  let s = 0;
  for (let i = 0; i < yTrue.length; i++) s += Math.abs(yTrue[i]! - yPred[i]!);
  return s / yTrue.length;
}

/**
 * Root mean squared error.
 *
 * @param yTrue - true values
 * @param yPred - predictions
 * @returns RMSE
 * @example
 * ```ts
 * import { rootMeanSquaredError } from '@lepton/core';
 * rootMeanSquaredError([0, 0], [3, 4]); // ≈ 3.536
 * ```
 */
export function rootMeanSquaredError(yTrue: Numeric, yPred: Numeric): number {
  checkPair(yTrue, yPred, 'rootMeanSquaredError');
  let s = 0;
  for (let i = 0; i < yTrue.length; i++) s += (yTrue[i]! - yPred[i]!) ** 2;
  return Math.sqrt(s / yTrue.length);
}

/**
 * Coefficient of determination R² = 1 − SS_res / SS_tot (1 for a perfect fit; can be negative). A constant
 * `yTrue` gives 1 for a perfect prediction and 0 otherwise, as scikit-learn does.
 *
 * @param yTrue - true values
 * @param yPred - predictions
 * @returns R²
 * @example
 * ```ts
 * import { r2Score } from '@lepton/core';
 * r2Score([1, 2, 3], [1, 2, 3]); // 1
 * ```
 */
export function r2Score(yTrue: Numeric, yPred: Numeric): number {
  checkPair(yTrue, yPred, 'r2Score');
  let mean = 0;
  for (let i = 0; i < yTrue.length; i++) mean += yTrue[i]!;
  mean /= yTrue.length;
  let res = 0;
  let tot = 0;
  for (let i = 0; i < yTrue.length; i++) {
    res += (yTrue[i]! - yPred[i]!) ** 2;
    tot += (yTrue[i]! - mean) ** 2;
  }
  if (tot === 0) return res === 0 ? 1 : 0;
  return 1 - res / tot;
}
