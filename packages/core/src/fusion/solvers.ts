import { LeptonError } from '../errors/lepton-error.js';

/** @internal Result of a fusion solver. */
export interface SolverResult {
  weights: number[];
  bias: number;
  iterations: number;
  converged: boolean;
  /** Mean log-loss (without the penalty). */
  loss: number;
}

/** @internal Logistic function, stable for large |z|. */
export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** log(1 + e^z) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/** Solves A·x = b (small, symmetric positive definite in practice) by Gaussian elimination with partial pivoting. */
function solve(a: number[][], b: number[]): number[] | undefined {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    if (!(Math.abs(m[p]![c]!) > 1e-300)) return undefined;
    [m[c], m[p]] = [m[p]!, m[c]!];
    for (let r = c + 1; r < n; r++) {
      const f = m[r]![c]! / m[c]![c]!;
      for (let k = c; k <= n; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r]![n]!;
    for (let k = r + 1; k < n; k++) s -= m[r]![k]! * x[k]!;
    x[r] = s / m[r]![r]!;
  }
  return x;
}

/**
 * @internal Logistic regression with an intercept by Newton's method with backtracking:
 * minimises Σ log-loss + (l2 / 2)·‖w‖² (intercept unpenalised), scikit-learn's objective with C = 1 / l2.
 */
export function fitLogistic(x: number[][], y: number[], l2: number, maxIterations: number): SolverResult {
  const n = x.length;
  const k = x[0]!.length;
  const theta = new Array<number>(k + 1).fill(0); // weights…, bias
  const mean = y.reduce((s, v) => s + v, 0) / n;
  theta[k] = Math.log(mean / (1 - mean)); // start at the base rate
  const objective = (t: number[]): number => {
    let l = 0;
    for (let i = 0; i < n; i++) {
      let z = t[k]!;
      for (let j = 0; j < k; j++) z += t[j]! * x[i]![j]!;
      l += softplus(z) - y[i]! * z;
    }
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
      const row = [...x[i]!, 1];
      let z = 0;
      for (let j = 0; j <= k; j++) z += theta[j]! * row[j]!;
      const p = sigmoid(z);
      const w = p * (1 - p);
      for (let a = 0; a <= k; a++) {
        g[a]! += (p - y[i]!) * row[a]!;
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
    // A tiny ridge keeps the step defined on (nearly) singular Hessians, e.g. two identical modalities.
    const step = solve(h.map((r, a) => r.map((v, b) => (a === b ? v + 1e-12 : v))), g);
    if (step === undefined || step.some((v) => !Number.isFinite(v))) break;
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
  if (theta.some((t) => !Number.isFinite(t))) {
    throw new LeptonError('TRAINING_FAILED', 'Late fusion (logistic) diverged. Check the scores for extreme values, or set l2 > 0.');
  }
  return { weights: theta.slice(0, k), bias: theta[k]!, iterations, converged, loss: meanLoss(x, y, (r) => sigmoid(dot(theta, r) + theta[k]!)) };
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
