import { pair, type Numeric } from '../metrics/validate.js';
import { checkScore, finiteProbability, type Calibrator } from './calibrator.js';

/** @internal Piecewise-linear monotone map through the fitted points; clipped outside them. */
export class IsotonicCalibrator implements Calibrator {
  readonly kind = 'isotonic' as const;
  constructor(
    /** Increasing score knots. */
    readonly x: number[],
    /** Calibrated probability at each knot (non-decreasing). */
    readonly y: number[],
  ) {}

  predict(score: number): number {
    checkScore(score, 'IsotonicCalibrator.predict');
    const { x, y } = this;
    if (score <= x[0]!) return y[0]!;
    if (score >= x[x.length - 1]!) return y[y.length - 1]!;
    let lo = 0;
    let hi = x.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (x[mid]! <= score) lo = mid;
      else hi = mid;
    }
    // Knots more than the largest double apart: the difference overflows (∞ / ∞ was NaN), so interpolate in halves.
    const span = x[hi]! - x[lo]!;
    const f = Number.isFinite(span) ? (score - x[lo]!) / span : (score / 2 - x[lo]! / 2) / (x[hi]! / 2 - x[lo]! / 2);
    return finiteProbability(y[lo]! + f * (y[hi]! - y[lo]!), score, 'IsotonicCalibrator.predict');
  }

  toJSON(): { kind: 'isotonic'; x: number[]; y: number[] } {
    return { kind: 'isotonic', x: [...this.x], y: [...this.y] };
  }
}

/**
 * Fits isotonic calibration: the non-decreasing step function of the score closest (least squares) to the labels,
 * by pool-adjacent-violators, interpolated linearly between distinct scores and clipped outside them — the same
 * model as scikit-learn's `IsotonicRegression(out_of_bounds='clip')`. Flexible; wants more data than Platt.
 *
 * @param scores - raw scores on held-out data
 * @param yTrue - binary labels
 * @returns the fitted calibrator
 * @throws {@link LeptonError} `INVALID_INPUT` for empty input, a score that is not a finite number or a label other than
 *   0/1; `SHAPE_MISMATCH` for lengths that differ
 * @example
 * ```ts
 * import { fitIsotonic } from '@lepton/core';
 * const cal = fitIsotonic([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]);
 * console.log(cal.predict(0.37)); // 0.5
 * ```
 */
export function fitIsotonic(scores: Numeric, yTrue: Numeric): Calibrator {
  const [s, y] = pair('fitIsotonic', scores, 'finite', yTrue, 'binary', ['scores', 'yTrue']);
  return isotonic(s, y);
}

function isotonic(scores: Numeric, yTrue: Numeric): Calibrator {
  // Distinct scores, each with its mean label and weight (ties are pooled first, as scikit-learn does).
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((p, q) => scores[p]! - scores[q]!);
  const xs: number[] = [];
  const sums: number[] = [];
  const weights: number[] = [];
  for (const i of order) {
    const s = scores[i]!;
    if (xs.length > 0 && xs[xs.length - 1] === s) {
      sums[sums.length - 1]! += yTrue[i]!;
      weights[weights.length - 1]! += 1;
    } else {
      xs.push(s);
      sums.push(yTrue[i]!);
      weights.push(1);
    }
  }
  // Pool adjacent violators over blocks [start, end) of the distinct scores.
  const blockValue: number[] = [];
  const blockWeight: number[] = [];
  const blockEnd: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    blockValue.push(sums[i]! / weights[i]!);
    blockWeight.push(weights[i]!);
    blockEnd.push(i + 1);
    while (blockValue.length > 1 && blockValue[blockValue.length - 2]! > blockValue[blockValue.length - 1]!) {
      const w = blockWeight.pop()!;
      const v = blockValue.pop()!;
      const e = blockEnd.pop()!;
      const k = blockValue.length - 1;
      const total = blockWeight[k]! + w;
      blockValue[k] = (blockValue[k]! * blockWeight[k]! + v * w) / total;
      blockWeight[k] = total;
      blockEnd[k] = e;
    }
  }
  const y = new Array<number>(xs.length);
  let start = 0;
  blockEnd.forEach((end, k) => {
    for (let i = start; i < end; i++) y[i] = blockValue[k]!;
    start = end;
  });
  return new IsotonicCalibrator(xs, y);
}
