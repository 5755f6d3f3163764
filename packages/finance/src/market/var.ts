import { LeptonError } from '@lepton/core';
import { finiteArray, finiteResult, isFiniteNumber, numberOption } from '../internal/guards.js';

/** Value-at-Risk and expected shortfall of a return series, as positive loss fractions. */
export interface RiskEstimate {
  /** Confidence level, e.g. 0.99. */
  confidence: number;
  /** Loss not exceeded with that confidence (positive number, fraction of value). */
  var: number;
  /** Mean loss beyond the VaR (conditional VaR / expected shortfall). */
  cvar: number;
}

/**
 * Inverse of the standard normal CDF (Acklam's rational approximation, refined by one Halley step).
 *
 * @param p - probability, 0 < p < 1
 * @returns z with Φ(z) = p
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` unless p is a number in (0, 1)
 */
export function normalQuantile(p: number): number {
  if (!(typeof p === 'number' && p > 0 && p < 1)) throw new LeptonError('INVALID_ARGUMENT', 'normalQuantile needs a number p with 0 < p < 1.');
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  let x: number;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  } else if (p <= 1 - lo) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  // One Halley refinement step brings the error to ~1e-15.
  const e = 0.5 * erfc(-x / Math.SQRT2) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

/**
 * Complementary error function (W. J. Cody's rational approximations; agrees with SciPy to ~1e-12).
 *
 * @param x - any number but NaN (erfc(−∞) = 2, erfc(∞) = 0)
 * @returns erfc(x), in [0, 2]
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for NaN or a value that is not a number
 */
export function erfc(x: number): number {
  if (typeof x !== 'number' || Number.isNaN(x)) throw new LeptonError('INVALID_ARGUMENT', 'erfc needs a number (not NaN).');
  const ax = Math.abs(x);
  let r: number;
  if (ax < 0.5) {
    const t = x * x;
    const top = (((0.1857777061846032 * t + 3.161123743870566) * t + 113.8641541510502) * t + 377.485237685302) * t + 3209.377589138469;
    const bot = (((t + 23.60129095234412) * t + 244.0246379344442) * t + 1282.616526077372) * t + 2844.236833439171;
    return 1 - (x * top) / bot;
  }
  if (ax < 4) {
    const top = (((((((5.64188496988671e-1 * ax + 8.88314979438838) * ax + 66.1191906371416) * ax + 298.635138197400) * ax + 881.952221241769) * ax + 1712.04761263407) * ax + 2051.07837782607) * ax + 1230.33935479800);
    const bot = (((((((ax + 15.7449261107098) * ax + 117.693950891312) * ax + 537.181101862010) * ax + 1621.38957456669) * ax + 3290.79923573346) * ax + 4362.61909014325) * ax + 3439.36767414372) * ax + 1230.33935480375;
    r = (Math.exp(-ax * ax) * top) / bot;
  } else {
    const z = 1 / (ax * ax);
    const top = (((0.0163153871373020 * z + 0.305326634961232) * z + 0.360344899949804) * z + 0.125781726111229) * z + 0.0160837851487423;
    const bot = (((z + 2.56852019228982) * z + 1.87295284992346) * z + 0.527905102951428) * z + 0.0605183413124413;
    r = (Math.exp(-ax * ax) / ax) * (0.5641895835477563 - (z * top) / bot);
  }
  return x < 0 ? 2 - r : r;
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
 *
 * @param breaches - breaches observed
 * @param observations - forecasts tested
 * @param confidence - the VaR's confidence (e.g. 0.99)
 * @param significance - test level (default 0.05)
 * @returns statistic, p-value and verdict
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` unless breaches and observations are integers with
 *   0 ≤ breaches ≤ observations and observations > 0, and confidence and significance are numbers in (0, 1)
 */
export function kupiecTest(breaches: number, observations: number, confidence: number, significance = 0.05): KupiecResult {
  if (!Number.isInteger(observations) || !Number.isInteger(breaches) || !(observations > 0) || breaches < 0 || breaches > observations) {
    throw new LeptonError('INVALID_ARGUMENT', 'kupiecTest needs integers 0 ≤ breaches ≤ observations and observations > 0.');
  }
  for (const [what, v] of [['confidence', confidence], ['significance', significance]] as const) {
    if (!(isFiniteNumber(v) && v > 0 && v < 1)) throw new LeptonError('INVALID_ARGUMENT', `kupiecTest: ${what} must be a number in (0, 1).`);
  }
  const p = 1 - confidence;
  const x = breaches;
  const n = observations;
  const logLik = (q: number): number => (n - x) * (q < 1 ? Math.log(1 - q) : 0) + (x > 0 ? x * Math.log(q) : 0);
  const lr = Math.max(0, -2 * (logLik(p) - logLik(x / n)));
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
 *   `INVALID_ARGUMENT` for a bad window, confidence or method
 */
export function backtestVaR(returns: ArrayLike<number>, options: { window?: number; confidence?: number; method?: 'historical' | 'parametric' } = {}): KupiecResult {
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
