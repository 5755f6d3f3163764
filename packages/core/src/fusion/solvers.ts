import { isLeptonError, LeptonError } from '../errors/lepton-error.js';
import { fitLogisticRegression, logistic as sigmoid } from '../numeric/logistic.js';

/** @internal Result of a fusion solver. */
export interface SolverResult {
  weights: number[];
  bias: number;
  iterations: number;
  converged: boolean;
  /** Mean log-loss (without the penalty). */
  loss: number;
}

export { sigmoid };

/**
 * @internal Late fusion's logistic fit: {@link fitLogisticRegression} with the fusion solver's result shape and message.
 */
export function fitLogistic(x: number[][], y: number[], l2: number, maxIterations: number): SolverResult {
  try {
    return fitLogisticRegression(x, y, { l2, maxIterations });
  } catch (err) {
    if (isLeptonError(err, 'TRAINING_FAILED')) {
      throw new LeptonError('TRAINING_FAILED', 'Late fusion (logistic) diverged. Check the scores for extreme values, or set l2 > 0.', { cause: err });
    }
    throw err;
  }
}

function dot(w: readonly number[], r: readonly number[]): number {
  let s = 0;
  for (let j = 0; j < r.length; j++) s += w[j]! * r[j]!;
  return s;
}

const EPS = 1e-12;

function meanLoss(x: number[][], y: number[], prob: (r: number[]) => number): number {
  let l = 0;
  for (let i = 0; i < x.length; i++) {
    const p = Math.min(1 - EPS, Math.max(EPS, prob(x[i]!)));
    l -= y[i]! * Math.log(p) + (1 - y[i]!) * Math.log(1 - p);
  }
  return l / x.length;
}

/** Euclidean projection onto the probability simplex (sort-based, Duchi et al. 2008). */
function projectSimplex(v: number[]): number[] {
  const u = [...v].sort((a, b) => b - a);
  let css = 0;
  let theta = 0;
  for (let j = 0; j < u.length; j++) {
    css += u[j]!;
    const t = (css - 1) / (j + 1);
    if (u[j]! - t > 0) theta = t;
  }
  return v.map((x) => Math.max(0, x - theta));
}

/**
 * @internal Weights on the simplex minimising the mean log-loss of Σ wₘ·sₘ (`raw`, probabilities) or σ(Σ wₘ·zₘ)
 * (`logit`), by projected gradient descent with a backtracking (Armijo) step. Both losses are convex in w.
 */
export function fitConvex(x: number[][], y: number[], input: 'logit' | 'raw', maxIterations: number): SolverResult {
  const k = x[0]!.length;
  const n = x.length;
  const prob = (w: number[], r: number[]): number => (input === 'logit' ? sigmoid(dot(w, r)) : dot(w, r));
  const loss = (w: number[]): number => meanLoss(x, y, (r) => prob(w, r));
  const grad = (w: number[]): number[] => {
    const g = new Array<number>(k).fill(0);
    for (let i = 0; i < n; i++) {
      const r = x[i]!;
      const p = prob(w, r);
      // d loss / d wₘ: logit → (p − y)·zₘ; raw → −(y / p − (1 − y) / (1 − p))·sₘ
      const pc = Math.min(1 - EPS, Math.max(EPS, p));
      const d = input === 'logit' ? p - y[i]! : -(y[i]! / pc - (1 - y[i]!) / (1 - pc));
      for (let j = 0; j < k; j++) g[j]! += (d * r[j]!) / n;
    }
    return g;
  };
  let w = new Array<number>(k).fill(1 / k);
  let current = loss(w);
  let step = 1;
  let iterations = 0;
  let converged = false;
  for (; iterations < maxIterations; iterations++) {
    const g = grad(w);
    // Stationarity on the simplex: the projected gradient step of unit length no longer moves w.
    const stationarity = Math.max(...projectSimplex(w.map((v, j) => v - g[j]!)).map((v, j) => Math.abs(v - w[j]!)));
    if (stationarity < 1e-9) {
      converged = true;
      break;
    }
    let next: number[];
    let value: number;
    for (;;) {
      next = projectSimplex(w.map((v, j) => v - step * g[j]!));
      value = loss(next);
      const diff = next.map((v, j) => v - w[j]!);
      const bound = current + dot(g, diff) + dot(diff, diff) / (2 * step);
      if (value <= bound + 1e-15 || step < 1e-12) break;
      step /= 2;
    }
    w = next;
    current = value;
    step *= 2;
  }
  return { weights: w, bias: 0, iterations, converged, loss: current };
}
