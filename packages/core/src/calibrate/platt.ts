import { LeptonError } from '../errors/lepton-error.js';
import { countClasses, pair, type Numeric } from '../metrics/validate.js';
import { checkScore, finiteProbability, type Calibrator } from './calibrator.js';

/** @internal Platt scaling p = 1 / (1 + exp(a·s + b)). */
export class PlattCalibrator implements Calibrator {
  readonly kind = 'platt' as const;
  constructor(
    /** Slope (negative when higher scores mean more likely positive). */
    readonly a: number,
    /** Intercept. */
    readonly b: number,
  ) {}

  predict(score: number): number {
    checkScore(score, 'PlattCalibrator.predict');
    // a = 0 (a flat curve, as fitted on constant scores): 0 · ±Infinity was NaN
    const z = this.a === 0 ? this.b : this.a * score + this.b;
    const p = z >= 0 ? Math.exp(-z) / (1 + Math.exp(-z)) : 1 / (1 + Math.exp(z));
    return finiteProbability(p, score, 'PlattCalibrator.predict');
  }

  toJSON(): { kind: 'platt'; a: number; b: number } {
    return { kind: 'platt', a: this.a, b: this.b };
  }
}

/**
 * Fits Platt scaling: a logistic curve from raw scores to probabilities, by Newton's method on the log-likelihood
 * with Platt's smoothed targets ((N₊ + 1) / (N₊ + 2) and 1 / (N₋ + 2)), the same estimator scikit-learn's sigmoid
 * calibration uses. Suits scores whose miscalibration is a monotone S-shape; needs little data.
 *
 * @param scores - raw scores on held-out data (not the training data)
 * @param yTrue - binary labels
 * @returns the fitted calibrator
 * @throws {@link LeptonError} `INVALID_INPUT` without both classes, for a score that is not a finite number or a label
 *   other than 0/1; `SHAPE_MISMATCH` for lengths that differ
 * @example
 * ```ts
 * import { fitPlatt } from '@lepton/core';
 * const cal = fitPlatt([0.1, 0.4, 0.35, 0.8, 0.9], [0, 0, 1, 1, 1]);
 * console.log(cal.predict(0.5));
 * ```
 */
export function fitPlatt(scores: Numeric, yTrue: Numeric): Calibrator {
  const [s, y] = pair('fitPlatt', scores, 'finite', yTrue, 'binary', ['scores', 'yTrue']);
  return platt(s, y);
}

function platt(scores: Numeric, yTrue: Numeric): Calibrator {
  const { pos, neg } = countClasses(yTrue);
  if (pos === 0 || neg === 0) throw new LeptonError('INVALID_INPUT', 'fitPlatt needs both classes in yTrue.');
  const hi = (pos + 1) / (pos + 2);
  const lo = 1 / (neg + 2);
  const n = scores.length;
  const t = Array.from(yTrue, (y) => (y === 1 ? hi : lo));
  let a = 0;
  let b = Math.log((neg + 1) / (pos + 1));
  const loss = (a_: number, b_: number): number => {
    let l = 0;
    for (let i = 0; i < n; i++) {
      const z = a_ * scores[i]! + b_;
      // −[t log p + (1 − t) log(1 − p)] with p = 1 / (1 + e^z), written stably
      l += z >= 0 ? t[i]! * z + Math.log1p(Math.exp(-z)) : (t[i]! - 1) * z + Math.log1p(Math.exp(z));
    }
    return l;
  };
  let current = loss(a, b);
  for (let iter = 0; iter < 100; iter++) {
    let gA = 0;
    let gB = 0;
    let hAA = 1e-12;
    let hAB = 0;
    let hBB = 1e-12;
    for (let i = 0; i < n; i++) {
      const s = scores[i]!;
      const z = a * s + b;
      const p = z >= 0 ? Math.exp(-z) / (1 + Math.exp(-z)) : 1 / (1 + Math.exp(z));
      const d = t[i]! - p; // ∂loss/∂z
      const w = p * (1 - p);
      gA += d * s;
      gB += d;
      hAA += w * s * s;
      hAB += w * s;
      hBB += w;
    }
    const det = hAA * hBB - hAB * hAB;
    if (!(Math.abs(det) > 0)) break;
    const stepA = (hBB * gA - hAB * gB) / det;
    const stepB = (hAA * gB - hAB * gA) / det;
    // Newton step with backtracking, so the loss never increases.
    let scale = 1;
    let next = loss(a - stepA, b - stepB);
    while (next > current && scale > 1e-6) {
      scale /= 2;
      next = loss(a - scale * stepA, b - scale * stepB);
    }
    a -= scale * stepA;
    b -= scale * stepB;
    const done = Math.abs(current - next) < 1e-12 * Math.max(1, Math.abs(current));
    current = next;
    if (done) break;
  }
  return new PlattCalibrator(a, b);
}
