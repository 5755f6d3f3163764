import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { optionsObject } from '../metrics/validate.js';
import { solveLinear } from './linear.js';

/** Options of {@link fitLogisticRegression}. */
export interface LogisticRegressionOptions {
  /** L2 penalty on the weights (not the intercept): the objective is Σ log-loss + (l2 / 2)·‖w‖², scikit-learn's with C = 1 / l2. Default 0. */
  l2?: number;
  /** Most Newton iterations. Default 100. */
  maxIterations?: number;
}

/** A fitted logistic regression. */
export interface LogisticRegressionFit {
  /** One weight per column of x. */
  weights: number[];
  /** Intercept. */
  bias: number;
  /** Newton iterations run. */
  iterations: number;
  /** Whether the gradient (or the objective's decrease) reached its tolerance. */
  converged: boolean;
  /** Mean log-loss on the fitting data (without the penalty). */
  loss: number;
}

/**
 * Logistic function 1 / (1 + e^−z), stable for large |z|.
 *
 * @param z - any number but NaN (σ(−∞) = 0, σ(∞) = 1)
 * @returns σ(z) in [0, 1]
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for NaN or a value that is not a number (a string was converted, and
 *   `undefined` gave NaN)
 */
export function sigmoid(z: number): number {
  if (typeof z !== 'number' || Number.isNaN(z)) throw new LeptonError('INVALID_ARGUMENT', `sigmoid needs a number (not NaN), got ${describeValue(z)}.`);
  return logistic(z);
}

/** @internal σ(z) without the check, for solvers whose z is a sum of checked numbers. */
export function logistic(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** log(1 + e^z) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

function meanLoss(x: readonly (readonly number[])[], y: readonly number[], theta: readonly number[], k: number): number {
  let l = 0;
  for (let i = 0; i < x.length; i++) {
    let z = theta[k]!;
    for (let j = 0; j < k; j++) z += theta[j]! * x[i]![j]!;
    l += softplus(z) - y[i]! * z;
  }
  return l / x.length;
}

/**
 * Logistic regression with an intercept by Newton's method with backtracking line search, minimising
 * Σ log-loss + (l2 / 2)·‖w‖² (intercept unpenalised). Converges to the same optimum as scikit-learn's
 * `LogisticRegression(C = 1 / l2)` (lbfgs); the one implementation behind late fusion, credit scorecards and calibration.
 *
 * @param x - n rows of k finite features
 * @param y - n labels, each 0 or 1, with both classes present
 * @param options - L2 penalty and iteration cap
 * @returns weights, intercept and convergence details
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for options that are not an object, an `l2` that is not a finite number
 *   ≥ 0 or a `maxIterations` that is not a whole number ≥ 1;
 *   `INVALID_INPUT` for non-finite features, labels other than 0/1 or a single class;
 *   `TRAINING_FAILED` when the fit diverges (separable data without a penalty: set l2 > 0)
 * @example
 * ```ts
 * import { fitLogisticRegression } from '@lepton/core';
 * const fit = fitLogisticRegression([[0], [1], [2], [3]], [0, 0, 1, 1], { l2: 1 });
 * console.log(fit.weights[0]! > 0, fit.converged); // true true
 * ```
 */
export function fitLogisticRegression(
  x: readonly (readonly number[])[],
  y: readonly number[],
  options: LogisticRegressionOptions = {},
): LogisticRegressionFit {
  const o = optionsObject(options, 'fitLogisticRegression');
  const l2 = o.l2 ?? 0;
  const maxIterations = o.maxIterations ?? 100;
  if (!(Number.isFinite(l2) && l2 >= 0)) throw new LeptonError('INVALID_ARGUMENT', 'fitLogisticRegression: l2 must be a finite number ≥ 0.');
  if (!(Number.isInteger(maxIterations) && maxIterations >= 1)) throw new LeptonError('INVALID_ARGUMENT', 'fitLogisticRegression: maxIterations must be a positive integer.');
  const n = Array.isArray(x) ? x.length : 0;
  if (n === 0 || !Array.isArray(y) || y.length !== n) throw new LeptonError('INVALID_INPUT', 'fitLogisticRegression needs n ≥ 1 rows and one label per row.');
  const k = Array.isArray(x[0]) ? x[0].length : -1;
  // Every value read once, by index, into a copy: every() skips the holes of a sparse row, which then computed as
  // undefined (a NaN loss returned as a fit).
  const xs: number[][] = [];
  const ys: number[] = [];
  for (let i = 0; i < n; i++) {
    const row: unknown = x[i];
    const bad = (): never => {
      throw new LeptonError('INVALID_INPUT', `fitLogisticRegression: row ${i} must hold ${k} finite numbers.`);
    };
    if (!Array.isArray(row) || row.length !== k) bad();
    const copy = new Array<number>(k);
    for (let j = 0; j < k; j++) {
      const v: unknown = (row as unknown[])[j];
      if (typeof v !== 'number' || !Number.isFinite(v)) bad();
      copy[j] = v as number;
    }
    xs.push(copy);
    const label: unknown = y[i];
    if (label !== 0 && label !== 1) throw new LeptonError('INVALID_INPUT', `fitLogisticRegression: label ${i} must be 0 or 1.`);
    ys.push(label);
  }
  const mean = ys.reduce((s, v) => s + v, 0) / n;
  if (mean === 0 || mean === 1) throw new LeptonError('INVALID_INPUT', 'fitLogisticRegression needs both classes (0 and 1) among the labels.');
  const theta = new Array<number>(k + 1).fill(0); // weights…, bias
  theta[k] = Math.log(mean / (1 - mean)); // start at the base rate
  const objective = (t: readonly number[]): number => {
    let l = meanLoss(xs, ys, t, k) * n;
    for (let j = 0; j < k; j++) l += (l2 / 2) * t[j]! ** 2;
    return l;
  };
  let current = objective(theta);
  let iterations = 0;
  let converged = false;
  for (; iterations < maxIterations && !converged; iterations++) {
    const g = new Array<number>(k + 1).fill(0);
    const h = Array.from({ length: k + 1 }, () => new Array<number>(k + 1).fill(0));
    for (let i = 0; i < n; i++) {
      const row = [...xs[i]!, 1];
      let z = 0;
      for (let j = 0; j <= k; j++) z += theta[j]! * row[j]!;
      const p = logistic(z);
      const w = p * (1 - p);
      for (let a = 0; a <= k; a++) {
        g[a]! += (p - ys[i]!) * row[a]!;
        for (let b = 0; b <= a; b++) h[a]![b]! += w * row[a]! * row[b]!;
      }
    }
    for (let a = 0; a <= k; a++) for (let b = 0; b < a; b++) h[b]![a] = h[a]![b]!;
    for (let j = 0; j < k; j++) {
      g[j]! += l2 * theta[j]!;
      h[j]![j]! += l2;
    }
    // Stop on the gradient, scaled by the sample count so the test means the same thing for any n.
    if (Math.max(...g.map(Math.abs)) <= 1e-10 * n) {
      converged = true;
      break;
    }
    // A tiny ridge keeps the step defined on (nearly) singular Hessians, e.g. two identical columns.
    let step: number[];
    try {
      step = solveLinear(
        h.map((r, a) => r.map((v, b) => (a === b ? v + 1e-12 : v))),
        g,
      );
    } catch {
      break;
    }
    let scale = 1;
    let next = objective(theta.map((t, j) => t - step[j]!));
    while (!(next <= current) && scale > 1e-10) {
      scale /= 2;
      next = objective(theta.map((t, j) => t - scale * step[j]!));
    }
    if (!(next <= current)) {
      converged = true; // no descent left at machine precision
      break;
    }
    for (let j = 0; j <= k; j++) theta[j]! -= scale * step[j]!;
    if (current - next <= 1e-15 * Math.max(1, Math.abs(current))) converged = true;
    current = next;
  }
  const loss = meanLoss(xs, ys, theta, k);
  if (theta.some((t) => !Number.isFinite(t)) || !Number.isFinite(loss)) {
    throw new LeptonError('TRAINING_FAILED', 'Logistic regression diverged. Check the features for extreme values, or set l2 > 0.');
  }
  return { weights: theta.slice(0, k), bias: theta[k]!, iterations, converged, loss };
}
