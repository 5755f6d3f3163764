import { erfc, LeptonError, normalQuantile } from '@lepton/core';
import { finiteArray, finiteResult, isFiniteNumber, numberOption, optionsObject } from '../internal/guards.js';

/** Value-at-Risk and expected shortfall of a return series, as positive loss fractions. */
export interface RiskEstimate {
  /** Confidence level, e.g. 0.99. */
  confidence: number;
  /** Loss not exceeded with that confidence (positive number, fraction of value). */
  var: number;
  /** Mean loss beyond the VaR (conditional VaR / expected shortfall). */
  cvar: number;
}

/** Every return a finite number (NaN would sort anywhere and poison every sum), at least two, confidence in (0, 1). */
function check(returns: ArrayLike<number>, confidence: number, fn: string): void {
  finiteArray(returns, `${fn}: returns`);
  if (returns.length < 2) throw new LeptonError('INVALID_INPUT', 'VaR needs at least two returns.');
  if (!(isFiniteNumber(confidence) && confidence > 0 && confidence < 1)) throw new LeptonError('INVALID_ARGUMENT', `${fn}: confidence must be a number in (0, 1).`);
}

/** The estimate, refusing a non-finite one (finite returns near ±1e308 can still overflow a sum). */
function estimate(confidence: number, v: number, cvar: number, fn: string): RiskEstimate {
  return { confidence, var: finiteResult(v, `${fn}: VaR`), cvar: finiteResult(cvar, `${fn}: CVaR`) };
}

/**
 * Historical VaR and CVaR: the empirical (1 − confidence) quantile of returns (linear interpolation, as NumPy's default
 * `quantile`), sign-flipped into a loss, and the mean loss of returns at or below it.
 *
 * @param returns - periodic returns (e.g. daily log returns): an array of at least two finite numbers
 * @param confidence - e.g. 0.99
 * @returns VaR and CVaR as positive losses, both finite
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` when a return is not a finite number (`details.index`), there
 *   are fewer than two, or the result overflows; `INVALID_ARGUMENT` for a confidence outside (0, 1)
 */
export function historicalVaR(returns: ArrayLike<number>, confidence = 0.99): RiskEstimate {
  check(returns, confidence, 'historicalVaR');
  const sorted = Float64Array.from(returns).sort();
  const pos = (1 - confidence) * (sorted.length - 1);
  const i = Math.floor(pos);
  const lo = sorted[i]!;
  const hi = sorted[Math.min(i + 1, sorted.length - 1)]!;
  const f = pos - i;
  // NumPy's interpolation; its `hi − lo` overflows for returns of opposite sign near ±1e308, the weighted form does not.
  const q = f === 0 ? lo : Number.isFinite(hi - lo) ? lo + f * (hi - lo) : lo * (1 - f) + hi * f;
  let sum = 0;
  let count = 0;
  for (const r of sorted) {
    if (r > q) break;
    sum += r;
    count++;
  }
  return estimate(confidence, -q, -(count ? sum / count : q), 'historicalVaR');
}

/**
 * Parametric (normal) VaR and CVaR from the sample mean μ and standard deviation σ:
 * VaR = −(μ − z·σ), CVaR = −(μ − σ·φ(z) / (1 − confidence)), z = Φ⁻¹(confidence).
 *
 * @param returns - periodic returns: an array of at least two finite numbers
 * @param confidence - e.g. 0.99
 * @returns VaR and CVaR as positive losses, both finite
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` when a return is not a finite number (`details.index`), there
 *   are fewer than two, or the mean or spread overflows; `INVALID_ARGUMENT` for a confidence outside (0, 1)
 */
export function parametricVaR(returns: ArrayLike<number>, confidence = 0.99): RiskEstimate {
  check(returns, confidence, 'parametricVaR');
  let mean = 0;
  for (let i = 0; i < returns.length; i++) mean += returns[i]!;
  mean /= returns.length;
  let ss = 0;
  for (let i = 0; i < returns.length; i++) ss += (returns[i]! - mean) ** 2;
  const sd = Math.sqrt(ss / (returns.length - 1));
  const z = normalQuantile(confidence);
  const pdf = Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI);
  return estimate(confidence, -(mean - z * sd), -(mean - (sd * pdf) / (1 - confidence)), 'parametricVaR');
}

/** Kupiec's proportion-of-failures test of a VaR model. */
export interface KupiecResult {
  /** Forecasts tested. */
  observations: number;
  /** VaR breaches (losses beyond the forecast VaR). */
  breaches: number;
  /** Breaches expected at the VaR's confidence. */
  expected: number;
  /** Likelihood-ratio statistic, χ²(1) under a correct model. */
  lr: number;
  /** p-value; below `significance` the VaR model is rejected. */
  pValue: number;
  /** Whether the model is rejected at the given significance. */
  rejected: boolean;
}

/**
 * Kupiec's POF backtest: compares the number of VaR breaches with the number expected at the VaR's confidence.
 * The statistic is exact and finite for every confidence in (0, 1): the no-breach term of the likelihood uses
 * `log(confidence)` itself, so a confidence so small that `1 − confidence` rounds to 1 still gives the correct
 * (large) statistic and a rejection when there are periods without a breach, never a silent `lr` of 0.
 *
 * @param breaches - breaches observed
 * @param observations - forecasts tested
 * @param confidence - the VaR's confidence (e.g. 0.99)
 * @param significance - test level (default 0.05)
 * @returns statistic, p-value and verdict
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` unless breaches and observations are safe integers with
 *   0 ≤ breaches ≤ observations and observations > 0, and confidence and significance are numbers in (0, 1)
 */
export function kupiecTest(breaches: number, observations: number, confidence: number, significance = 0.05): KupiecResult {
  // Safe integers: counts beyond 2^53 are not exact, and near 1e308 the likelihood ratio overflowed to Infinity.
  if (!Number.isSafeInteger(observations) || !Number.isSafeInteger(breaches) || !(observations > 0) || breaches < 0 || breaches > observations) {
    throw new LeptonError('INVALID_ARGUMENT', 'kupiecTest needs integers 0 ≤ breaches ≤ observations ≤ 2^53 − 1 and observations > 0.');
  }
  for (const [what, v] of [['confidence', confidence], ['significance', significance]] as const) {
    if (!(isFiniteNumber(v) && v > 0 && v < 1)) throw new LeptonError('INVALID_ARGUMENT', `kupiecTest: ${what} must be a number in (0, 1).`);
  }
  const p = 1 - confidence;
  const x = breaches;
  const n = observations;
  // Log-likelihoods without rounding 1 − q: under the VaR's rate the no-breach term is log(confidence) itself (1 − p
  // rounds to 1 for a confidence below 1e-16, and log(1 − p) would become log(0)), and at the observed rate log1p.
  // Both stay finite for every confidence in (0, 1), so a tiny change of confidence never flips the verdict.
  const nullLogLik = (n - x > 0 ? (n - x) * Math.log(confidence) : 0) + (x > 0 ? x * Math.log(p) : 0);
  const q = x / n;
  const altLogLik = (n - x > 0 ? (n - x) * Math.log1p(-q) : 0) + (x > 0 ? x * Math.log(q) : 0);
  const lr = Math.max(0, -2 * (nullLogLik - altLogLik));
  if (!Number.isFinite(lr)) throw new LeptonError('INVALID_ARGUMENT', 'kupiecTest: the likelihood ratio is not finite for these counts and confidence.');
  const pValue = erfc(Math.sqrt(lr / 2)); // survival function of χ²(1)
  return { observations: n, breaches: x, expected: p * n, lr, pValue, rejected: pValue < significance };
}

/**
 * Rolling VaR backtest: for each period after the first `window`, forecast VaR from the previous `window` returns
 * only, count breaches, and run Kupiec's test.
 *
 * @param returns - return series
 * @param options - window (default 250, an integer ≥ 2), confidence (default 0.99), method (default historical)
 * @returns the Kupiec result of the rolling forecasts
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` when a return is not a finite number or there are too few;
 *   `INVALID_ARGUMENT` for options that are not an object, or a bad window, confidence or method
 */
export function backtestVaR(returns: ArrayLike<number>, options?: { window?: number; confidence?: number; method?: 'historical' | 'parametric' }): KupiecResult {
  options = optionsObject(options, 'backtestVaR');
  const window = numberOption(options.window ?? 250, 'backtestVaR: window', { min: 2, integer: true });
  const confidence = options.confidence ?? 0.99;
  if (options.method !== undefined && options.method !== 'historical' && options.method !== 'parametric') {
    throw new LeptonError('INVALID_ARGUMENT', "backtestVaR: method must be 'historical' or 'parametric'.");
  }
  const estimate = options.method === 'parametric' ? parametricVaR : historicalVaR;
  finiteArray(returns, 'backtestVaR: returns');
  if (returns.length <= window) throw new LeptonError('INVALID_INPUT', `Backtest needs more than ${window} returns.`);
  const all = Array.from(returns);
  let breaches = 0;
  for (let t = window; t < all.length; t++) {
    const v = estimate(all.slice(t - window, t), confidence).var;
    if (-all[t]! > v) breaches++;
  }
  return kupiecTest(breaches, all.length - window, confidence);
}
