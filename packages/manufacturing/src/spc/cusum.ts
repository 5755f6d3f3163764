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
 */
export function cusum(values: number[], target: number, sigma: number, options: { k?: number; h?: number } = {}): DriftPoint[] {
  const K = (options.k ?? 0.5) * sigma;
  const H = (options.h ?? 5) * sigma;
  let hi = 0;
  let lo = 0;
  return values.map((x, index) => {
    hi = Math.max(0, x - (target + K) + hi);
    lo = Math.max(0, target - K - x + lo);
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
 */
export function ewma(values: number[], target: number, sigma: number, options: { lambda?: number; L?: number } = {}): EwmaPoint[] {
  const lambda = options.lambda ?? 0.2;
  const L = options.L ?? 3;
  let z = target;
  return values.map((x, index) => {
    z = lambda * x + (1 - lambda) * z;
    const w = L * sigma * Math.sqrt((lambda / (2 - lambda)) * (1 - (1 - lambda) ** (2 * (index + 1))));
    return { index, upper: z, lower: z, ucl: target + w, lcl: target - w, signal: z > target + w || z < target - w };
  });
}
