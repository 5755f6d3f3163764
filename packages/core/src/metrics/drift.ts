import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { numbers, type Numeric } from './validate.js';

/** Population stability of one variable between a baseline and a current sample. */
export interface StabilityReport {
  /** Population stability index: Σ (aᵢ − eᵢ) · ln(aᵢ / eᵢ) over the bins. */
  psi: number;
  /** Bin edges (from the baseline's quantiles); bin i is [edges[i], edges[i+1]), the last closed. */
  edges: number[];
  /** Share of the baseline in each bin. */
  expected: number[];
  /** Share of the current sample in each bin. */
  actual: number[];
}

/**
 * Population stability index of `actual` against `expected`, with bins at the baseline's quantiles (so each holds
 * about the same share of the baseline). Rule of thumb: < 0.1 stable, 0.1–0.25 some shift, > 0.25 major shift.
 * Empty bins are floored at 1e-4 so the index stays finite.
 *
 * @param expected - baseline values (e.g. training scores or a feature at training time)
 * @param actual - current values
 * @param bins - number of bins (default 10); more bins than baseline values give one bin per distinct value
 * @returns the index and the per-bin shares
 * @throws {@link LeptonError} `INVALID_INPUT` for empty input or a value that is not a finite number;
 *   `INVALID_ARGUMENT` for bins that is not a whole number ≥ 1
 * @example
 * ```ts
 * import { populationStabilityIndex } from '@lepton/core';
 * populationStabilityIndex([1, 2, 3, 4], [1, 2, 3, 4]).psi; // 0
 * ```
 */
export function populationStabilityIndex(expected: Numeric, actual: Numeric, bins = 10): StabilityReport {
  if (!Number.isSafeInteger(bins) || bins < 1) {
    throw new LeptonError('INVALID_ARGUMENT', `populationStabilityIndex: bins must be a whole number ≥ 1, got ${describeValue(bins)}.`);
  }
  const base = numbers(expected, 'populationStabilityIndex', 'expected', 'finite');
  const current = numbers(actual, 'populationStabilityIndex', 'actual', 'finite');
  if (base.length === 0 || current.length === 0) throw new LeptonError('INVALID_INPUT', 'populationStabilityIndex needs values in both samples.');
  const sorted = Float64Array.from(base).sort();
  const cuts: number[] = [];
  const push = (q: number): void => {
    if (cuts.length === 0 || q > cuts[cuts.length - 1]!) cuts.push(q);
  };
  // With more bins than values the quantiles visit every value in order (the step k·n/bins is below 1): the same
  // cuts, without looping `bins` times (1e15 bins took forever).
  if (bins > sorted.length) for (const q of sorted) push(q);
  else for (let k = 1; k < bins; k++) push(sorted[Math.min(sorted.length - 1, Math.floor((k * sorted.length) / bins))]!);
  const edges = [sorted[0]!, ...cuts, sorted[sorted.length - 1]!];
  const share = (values: Numeric): number[] => {
    const counts = new Array<number>(cuts.length + 1).fill(0);
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      let lo = 0;
      let hi = cuts.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (v < cuts[mid]!) hi = mid;
        else lo = mid + 1;
      }
      counts[lo]! += 1;
    }
    return counts.map((c) => c / values.length);
  };
  const e = share(base);
  const a = share(current);
  let psi = 0;
  for (let i = 0; i < e.length; i++) {
    const ei = Math.max(e[i]!, 1e-4);
    const ai = Math.max(a[i]!, 1e-4);
    psi += (ai - ei) * Math.log(ai / ei);
  }
  return { psi, edges, expected: e, actual: a };
}
