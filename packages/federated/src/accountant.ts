import { describeValue, LeptonError } from '@lepton/core';

/*
 * Privacy accounting: Rényi differential privacy (RDP) of the sampled Gaussian mechanism (Mironov, Talwar, Zhang 2019,
 * "Rényi Differential Privacy of the Sampled Gaussian Mechanism", §3.3, integer orders), composition by adding RDP,
 * and conversion to (ε, δ) with the bound of Balle et al. 2020 (Prop. 12; the conversion TF-Privacy / dp_accounting and
 * Opacus use). Checked against an independent numerical integration (packages/federated/test/reference/rdp_reference.py) and against the
 * published values of Google's dp_accounting tests.
 *
 * Error code raised here: `INVALID_ARGUMENT` (a sampling rate outside [0, 1], a negative or non-finite noise
 * multiplier, an order below 2 or a fractional order with sampling, a δ outside (0, 1), mismatched lengths).
 */

/**
 * The RDP orders α used by default: every integer from 2 to 64, then sparser up to 1024. Integer orders only, as the
 * closed-form sum is exact there; fractional orders (which can tighten ε slightly when ε is large) are not used.
 */
export const DEFAULT_RDP_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 63 }, (_, i) => i + 2),
  72, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 512, 768, 1024,
]);

function checkOrders(orders: readonly number[], integerOnly: boolean): void {
  if (!Array.isArray(orders) || orders.length === 0) throw new LeptonError('INVALID_ARGUMENT', 'RDP orders must be a non-empty array.');
  for (const a of orders) {
    if (!(typeof a === 'number' && a >= 2 && (a === Infinity || Number.isFinite(a)))) {
      throw new LeptonError('INVALID_ARGUMENT', `RDP orders must be numbers ≥ 2, got ${describeValue(a)}.`);
    }
    if (integerOnly && !Number.isInteger(a)) {
      throw new LeptonError('INVALID_ARGUMENT', `RDP of the sampled Gaussian is computed at integer orders only, got ${a}; use integer orders.`);
    }
  }
}

/** log(exp(a) + exp(b)) without overflow. */
function logAdd(a: number, b: number): number {
  const hi = Math.max(a, b);
  const lo = Math.min(a, b);
  if (lo === -Infinity) return hi;
  return hi + Math.log1p(Math.exp(lo - hi));
}

/** log A_α for integer α and 0 < q < 1: log Σ_k C(α,k) (1−q)^(α−k) q^k exp((k² − k) / (2σ²)). */
function logAInt(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  let logA = -Infinity;
  let logBinom = 0; // log C(α, 0)
  for (let k = 0; k <= alpha; k++) {
    if (k > 0) logBinom += Math.log(alpha - k + 1) - Math.log(k);
    logA = logAdd(logA, logBinom + k * logQ + (alpha - k) * log1mQ + (k * k - k) / (2 * sigma * sigma));
  }
  return logA;
}

/**
 * RDP of one step of the sampled Gaussian mechanism: each record (here: each partner) is included with probability
 * `samplingRate` and Gaussian noise of standard deviation `noiseMultiplier` × sensitivity is added to the sum. With
 * `samplingRate` 1 this is the plain Gaussian mechanism, α / (2σ²).
 *
 * @param samplingRate - q in [0, 1]
 * @param noiseMultiplier - σ ≥ 0 (noise std divided by the L2 sensitivity); 0 gives infinite RDP
 * @param orders - RDP orders α ≥ 2 (integers when q < 1); default {@link DEFAULT_RDP_ORDERS}
 * @returns ε_RDP(α) for each order: a number ≥ 0, or `Infinity` (documented, deliberate) when there is no finite
 *   guarantee — σ = 0, α = ∞, or a σ so small that the RDP exceeds the double range. Never NaN.
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for parameters out of range
 * @example
 * ```ts
 * import { rdpSampledGaussian } from '@lepton/federated';
 * const [r] = rdpSampledGaussian(0.01, 2.5, [5]);
 * console.log(r * 50); // ≈ 2.18e-3: fifty steps at α = 5 (dp_accounting's published value)
 * ```
 */
export function rdpSampledGaussian(samplingRate: number, noiseMultiplier: number, orders: readonly number[] = DEFAULT_RDP_ORDERS): number[] {
  if (!(typeof samplingRate === 'number' && samplingRate >= 0 && samplingRate <= 1)) {
    throw new LeptonError('INVALID_ARGUMENT', `rdpSampledGaussian: samplingRate must be in [0, 1], got ${describeValue(samplingRate)}.`);
  }
  if (!(typeof noiseMultiplier === 'number' && Number.isFinite(noiseMultiplier) && noiseMultiplier >= 0)) {
    throw new LeptonError('INVALID_ARGUMENT', `rdpSampledGaussian: noiseMultiplier must be a finite number ≥ 0, got ${describeValue(noiseMultiplier)}.`);
  }
  checkOrders(orders, samplingRate > 0 && samplingRate < 1);
  return orders.map((alpha) => {
    if (samplingRate === 0) return 0;
    if (noiseMultiplier === 0 || alpha === Infinity) return Infinity;
    // A vanishing σ (1e-160: σ² underflows) overflows the sums to Infinity − Infinity = NaN: that is no guarantee
    // at all, as σ = 0 is, and is returned as Infinity, never NaN.
    const rdp = samplingRate === 1 ? alpha / (2 * noiseMultiplier * noiseMultiplier) : logAInt(samplingRate, noiseMultiplier, alpha) / (alpha - 1);
    return Number.isNaN(rdp) ? Infinity : rdp;
  });
}

/** What {@link epsilonFromRdp} returns. */
export interface PrivacySpent {
  /** The smallest ε over the orders (0 when the guarantee is that strong; Infinity when there is none). */
  epsilon: number;
  /** The order α that gave it. */
  order: number;
}

/**
 * Converts accumulated RDP into an (ε, δ) guarantee: ε = min over α of ε_RDP(α) + log(1 − 1/α) − log(δ·α)/(α − 1)
 * (Balle et al. 2020, Prop. 12 — the conversion of TF-Privacy's dp_accounting and of Opacus).
 *
 * @param rdp - accumulated RDP, one value per order
 * @param orders - the orders, same length
 * @param delta - δ in (0, 1)
 * @returns ε and the order that attains it
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad δ, bad orders, mismatched lengths or an RDP value that
 *   is not a number ≥ 0 (NaN is read as no guarantee)
 */
export function epsilonFromRdp(rdp: readonly number[], orders: readonly number[], delta: number): PrivacySpent {
  if (!(typeof delta === 'number' && delta > 0 && delta < 1)) throw new LeptonError('INVALID_ARGUMENT', `epsilonFromRdp: delta must be in (0, 1), got ${describeValue(delta)}.`);
  checkOrders(orders, false);
  if (!Array.isArray(rdp) || rdp.length !== orders.length) throw new LeptonError('INVALID_ARGUMENT', 'epsilonFromRdp: rdp and orders must have the same length.');
  for (let i = 0; i < rdp.length; i++) {
    // A missing, non-numeric or clearly negative value read as 0 would claim perfect privacy (RDP is ≥ 0; only rounding
    // makes a vanishing one slightly negative); NaN stays "no guarantee" (Infinity below).
    const r: unknown = rdp[i];
    if (typeof r !== 'number' || r < -1e-6) {
      throw new LeptonError('INVALID_ARGUMENT', `epsilonFromRdp: rdp[${i}] must be a number (accumulated RDP), got ${describeValue(r)}.`);
    }
  }
  let best: PrivacySpent = { epsilon: Infinity, order: orders[0]! };
  orders.forEach((a, i) => {
    const r = rdp[i]!;
    let eps: number;
    if (Number.isNaN(r)) eps = Infinity;
    else if (r < 0) eps = 0; // numerical underflow of a vanishing RDP
    else if (delta * delta + Math.expm1(-r) > 0) eps = 0; // KL bound: δ ≥ √(1 − e^(−r)) already
    else if (a === Infinity || r === Infinity) eps = Infinity;
    else eps = r + Math.log1p(-1 / a) - Math.log(delta * a) / (a - 1);
    if (eps < best.epsilon) best = { epsilon: eps, order: a };
  });
  return { epsilon: Math.max(0, best.epsilon), order: best.order };
}

/** One composed mechanism, as {@link RdpAccountant.compose} takes it. */
export interface GaussianEvent {
  /** Noise multiplier σ (noise std / L2 sensitivity). */
  noiseMultiplier: number;
  /** Sampling rate q. Default 1 (no sampling: every partner takes part in every round). */
  samplingRate?: number;
  /** How many times the mechanism runs. Default 1. */
  steps?: number;
}

/**
 * An RDP accountant for the (sampled) Gaussian mechanism: compose steps, then read ε at a δ.
 *
 * @example
 * ```ts
 * import { RdpAccountant } from '@lepton/federated';
 * const acc = new RdpAccountant().compose({ samplingRate: 0.01, noiseMultiplier: 4, steps: 10_000 });
 * console.log(acc.epsilon(1e-5).epsilon); // ≈ 1.04 (Abadi et al. 2016 setting: q = 0.01, σ = 4, 10 000 steps)
 * ```
 */
export class RdpAccountant {
  /** The orders the accountant tracks. */
  readonly orders: readonly number[];
  private readonly total: number[];

  /**
   * @param orders - RDP orders (integers ≥ 2); default {@link DEFAULT_RDP_ORDERS}
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for bad orders
   */
  constructor(orders: readonly number[] = DEFAULT_RDP_ORDERS) {
    checkOrders(orders, true);
    this.orders = Object.freeze([...orders]);
    this.total = orders.map(() => 0);
  }

  /**
   * Adds `steps` runs of a (sampled) Gaussian mechanism.
   *
   * @param event - noise multiplier, sampling rate and number of steps
   * @returns this accountant, for chaining
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for parameters out of range
   */
  compose(event: GaussianEvent): this {
    if (typeof event !== 'object' || event === null) throw new LeptonError('INVALID_ARGUMENT', `RdpAccountant.compose: the event must be {noiseMultiplier, samplingRate?, steps?}, got ${describeValue(event)}.`);
    const steps = event.steps ?? 1;
    if (!(Number.isInteger(steps) && steps >= 0)) throw new LeptonError('INVALID_ARGUMENT', `RdpAccountant.compose: steps must be an integer ≥ 0, got ${describeValue(steps)}.`);
    const per = rdpSampledGaussian(event.samplingRate ?? 1, event.noiseMultiplier, this.orders);
    per.forEach((r, i) => (this.total[i] = this.total[i]! + (steps === 0 ? 0 : r * steps)));
    return this;
  }

  /**
   * The accumulated RDP, one value per order.
   *
   * @returns a copy; a value is `Infinity` where no finite guarantee exists (see {@link rdpSampledGaussian}), never NaN
   */
  rdp(): number[] {
    return [...this.total];
  }

  /**
   * The (ε, δ) guarantee of everything composed so far.
   *
   * @param delta - δ in (0, 1)
   * @returns ε and the order that attains it
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad δ
   */
  epsilon(delta: number): PrivacySpent {
    return epsilonFromRdp(this.total, this.orders, delta);
  }
}

/** One partner's part in a noised weighted sum, for {@link effectiveNoiseMultiplier}. */
export interface NoiseContribution {
  /** Its weight in the aggregate (e.g. samples / total samples of the round's participants). */
  weight: number;
  /** The L2 bound C its update was clipped to. */
  clipNorm: number;
  /** Standard deviation of the Gaussian noise it added (per coordinate). */
  noiseStd: number;
}

/**
 * The noise multiplier the aggregate really has: noise std of Σ wᵢ·(xᵢ + Nᵢ), which is √(Σ wᵢ²σᵢ²), divided by the
 * largest influence one partner has, maxᵢ wᵢ·Cᵢ. With n partners planned and m taking part with equal weights this is
 * z·√(m/n); unequal weights lower it further. It is what an accountant must be given — not the configured multiplier.
 *
 * @param contributions - weight, clip norm and noise std of each partner in the aggregate
 * @returns the effective noise multiplier (0 when no noise was added)
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for no contributions or values out of range
 * @example
 * ```ts
 * import { effectiveNoiseMultiplier, gaussianNoiseStd } from '@lepton/federated';
 * const s = gaussianNoiseStd(1, 1.1, 3); // each of 3 planned partners adds 1.1/√3
 * console.log(effectiveNoiseMultiplier([0.5, 0.5].map((weight) => ({ weight, clipNorm: 1, noiseStd: s })))); // ≈ 0.898
 * ```
 */
export function effectiveNoiseMultiplier(contributions: readonly NoiseContribution[]): number {
  if (!Array.isArray(contributions) || contributions.length === 0) throw new LeptonError('INVALID_ARGUMENT', 'effectiveNoiseMultiplier: no contributions.');
  let maxWeight = 0;
  for (const c of contributions) {
    if (!(Number.isFinite(c?.weight) && c.weight >= 0 && Number.isFinite(c.clipNorm) && c.clipNorm > 0 && Number.isFinite(c.noiseStd) && c.noiseStd >= 0)) {
      throw new LeptonError('INVALID_ARGUMENT', 'effectiveNoiseMultiplier: each contribution needs weight ≥ 0, clipNorm > 0 and noiseStd ≥ 0, all finite.');
    }
    maxWeight = Math.max(maxWeight, c.weight);
  }
  if (!(maxWeight > 0)) throw new LeptonError('INVALID_ARGUMENT', 'effectiveNoiseMultiplier: every weight is 0.');
  // The ratio does not change when every weight is scaled: dividing by the largest keeps w² and w·C from overflowing
  // (a weight of 1e200 gave Infinity, a perfect privacy claim) or underflowing (1e-200 gave 0). The noise terms are
  // summed relative to the largest, as hypot does.
  const scaled = contributions.map((c) => ({ noise: (c.weight / maxWeight) * c.noiseStd, bound: (c.weight / maxWeight) * c.clipNorm }));
  let sensitivity = 0;
  let largest = 0;
  for (const s of scaled) {
    sensitivity = Math.max(sensitivity, s.bound);
    largest = Math.max(largest, s.noise);
  }
  if (largest === 0) return 0;
  let sum = 0;
  for (const s of scaled) sum += (s.noise / largest) ** 2;
  return (largest * Math.sqrt(sum)) / sensitivity;
}
