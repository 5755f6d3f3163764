import { atLeast, finite, finiteArray, finiteResult, invalid, readFields } from '../internal/guards.js';

/** One step of a tabular CUSUM or EWMA. */
export interface DriftPoint {
  /** Index of the observation. */
  index: number;
  /** Upper and lower CUSUM sums (CUSUM), or the EWMA statistic in `upper` and `lower` equal to it (EWMA). */
  upper: number;
  /** Lower statistic. */
  lower: number;
  /** Whether the point signals. */
  signal: boolean;
}

/** One EWMA step with its time-varying limits. */
export interface EwmaPoint extends DriftPoint {
  /** Upper control limit at this step. */
  ucl: number;
  /** Lower control limit at this step. */
  lcl: number;
}

/**
 * Tabular CUSUM (Page; Montgomery §9.1): C⁺ᵢ = max(0, xᵢ − (μ₀ + K) + C⁺ᵢ₋₁), C⁻ᵢ = max(0, (μ₀ − K) − xᵢ + C⁻ᵢ₋₁),
 * with K = k·σ and a signal when either exceeds H = h·σ. Detects small sustained shifts that Shewhart charts miss.
 *
 * @param values - observations
 * @param target - in-control mean μ₀
 * @param sigma - in-control standard deviation
 * @param options - k (default 0.5) and h (default 5)
 * @returns C⁺, C⁻ and the signal per observation
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for an observation or target that is not a finite number
 *   (`details.field`, e.g. `values[12]`: drop or repair it — a NaN would make every later sum NaN and the chart would
 *   never signal again); `INVALID_ARGUMENT` for sigma ≤ 0, k < 0 or h ≤ 0; `MFG_NON_FINITE_RESULT` when the sums
 *   or the decision interval overflow
 * @example
 * ```ts
 * import { cusum } from '@lepton/manufacturing';
 * cusum([10, 11.5, 11, 11.2], 10, 1).map((p) => p.upper); // [0, 1, 1.5, 2.2] (to rounding)
 * ```
 */
export function cusum(values: number[], target: number, sigma: number, options: { k?: number; h?: number } = {}): DriftPoint[] {
  finiteArray('cusum', 'values', values);
  finite('cusum', 'target', target);
  atLeast('cusum', 'sigma', sigma, 0, true);
  if (typeof options !== 'object' || options === null) throw invalid('cusum', 'options', 'an object', options, 'INVALID_ARGUMENT');
  const o = readFields('cusum', 'options', options, ['k', 'h'] as const);
  const K = atLeast('cusum', 'options.k', o.k ?? 0.5, 0) * sigma;
  const H = atLeast('cusum', 'options.h', o.h ?? 5, 0, true) * sigma;
  // An overflowed decision interval would never be crossed: a chart that cannot signal is refused, not returned.
  finiteResult('cusum', 'k·sigma or h·sigma', K, H);
  let hi = 0;
  let lo = 0;
  return values.map((x, index) => {
    hi = Math.max(0, x - (target + K) + hi);
    lo = Math.max(0, target - K - x + lo);
    finiteResult('cusum', `the CUSUM at values[${index}]`, hi, lo);
    return { index, upper: hi, lower: lo, signal: hi > H || lo > H };
  });
}

/**
 * EWMA chart (Montgomery §9.2): zᵢ = λxᵢ + (1 − λ)zᵢ₋₁ with z₀ = μ₀ and exact time-varying limits
 * μ₀ ± L·σ·√(λ/(2 − λ)·(1 − (1 − λ)^{2i})).
 *
 * @param values - observations
 * @param target - in-control mean μ₀
 * @param sigma - in-control standard deviation
 * @param options - λ (default 0.2) and L (default 3)
 * @returns zᵢ (in `upper` and `lower`), and the signal per observation, plus the limits
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for an observation or target that is not a finite number
 *   (`details.field`, e.g. `values[12]`: drop or repair it — after one NaN the statistic would stay NaN and never signal
 *   again); `INVALID_ARGUMENT` for sigma ≤ 0, λ outside (0, 1] or L ≤ 0; `MFG_NON_FINITE_RESULT` when the statistic or
 *   the limits overflow
 * @example
 * ```ts
 * import { ewma } from '@lepton/manufacturing';
 * ewma([10, 10.5, 11.5], 10, 1, { lambda: 0.2 }).map((p) => p.upper); // [10, 10.1, 10.38]
 * ```
 */
export function ewma(values: number[], target: number, sigma: number, options: { lambda?: number; L?: number } = {}): EwmaPoint[] {
  finiteArray('ewma', 'values', values);
  finite('ewma', 'target', target);
  atLeast('ewma', 'sigma', sigma, 0, true);
  if (typeof options !== 'object' || options === null) throw invalid('ewma', 'options', 'an object', options, 'INVALID_ARGUMENT');
  const o = readFields('ewma', 'options', options, ['lambda', 'L'] as const);
  const lambda = atLeast('ewma', 'options.lambda', o.lambda ?? 0.2, 0, true);
  if (lambda > 1) throw invalid('ewma', 'options.lambda', 'a number in (0, 1]', lambda, 'INVALID_ARGUMENT');
  const L = atLeast('ewma', 'options.L', o.L ?? 3, 0, true);
  let z = target;
  return values.map((x, index) => {
    z = lambda * x + (1 - lambda) * z;
    const w = L * sigma * Math.sqrt((lambda / (2 - lambda)) * (1 - (1 - lambda) ** (2 * (index + 1))));
    finiteResult('ewma', `the EWMA at values[${index}]`, z, target + w, target - w);
    return { index, upper: z, lower: z, ucl: target + w, lcl: target - w, signal: z > target + w || z < target - w };
  });
}
