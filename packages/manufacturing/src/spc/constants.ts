import { LeptonError, lnGamma, normalCdf } from '@lepton/core';

const SQRT1_2PI = 1 / Math.sqrt(2 * Math.PI);
const phi = (x: number): number => Math.exp((-x * x) / 2) * SQRT1_2PI;

/** Standard normal CDF (core's, from erfc: relative precision in both tails). */
const Phi = normalCdf;

/** Gauss–Legendre nodes and weights on [−1, 1] (Newton on Pₘ from Chebyshev guesses; exact to rounding). */
function gaussLegendre(m: number): { x: number[]; w: number[] } {
  const x: number[] = new Array<number>(m);
  const w: number[] = new Array<number>(m);
  for (let i = 0; i < Math.ceil(m / 2); i++) {
    let t = Math.cos((Math.PI * (i + 0.75)) / (m + 0.5));
    let dp = 0;
    for (let it = 0; it < 100; it++) {
      let p0 = 1;
      let p1 = t;
      for (let k = 2; k <= m; k++) [p0, p1] = [p1, ((2 * k - 1) * t * p1 - (k - 1) * p0) / k];
      dp = (m * (t * p1 - p0)) / (t * t - 1);
      const dt = p1 / dp;
      t -= dt;
      if (Math.abs(dt) < 1e-16) break;
    }
    x[i] = -t;
    x[m - 1 - i] = t;
    w[i] = w[m - 1 - i] = 2 / ((1 - t * t) * dp * dp);
  }
  return { x, w };
}

/** Nodes and weights of composite Gauss–Legendre (16 points per panel) on [a, b]. */
function nodes(a: number, b: number, panels: number): { x: Float64Array; w: Float64Array } {
  const g = gaussLegendre(16);
  const h = (b - a) / panels;
  const x = new Float64Array(panels * 16);
  const w = new Float64Array(panels * 16);
  for (let p = 0; p < panels; p++) {
    for (let i = 0; i < 16; i++) {
      x[p * 16 + i] = a + h * (p + 0.5 + g.x[i]! / 2);
      w[p * 16 + i] = (h / 2) * g.w[i]!;
    }
  }
  return { x, w };
}

/**
 * Expected range and its standard deviation for samples of n standard normals (d2, d3).
 *
 * d2 = ∫ 1 − Φ(x)ⁿ − (1 − Φ(x))ⁿ dx (Tippett), and with the range's distribution function
 * F(w) = n ∫ φ(x)·(Φ(x + w) − Φ(x))ⁿ⁻¹ dx, E[W²] = ∫₀^∞ 2w·(1 − F(w)) dw, so d3 = √(E[W²] − d2²). Both integrands are
 * smooth (analytic), so composite 16-point Gauss–Legendre on 12 panels converges to rounding (6 panels still give 2e-8;
 * it agrees with SciPy's adaptive
 * quadrature of the joint density of min and max to ~1e-12, `test/reference/chart_constants.py`). The integrals are cut
 * at |x| = 8.5 and w = 17, where the neglected mass is below 1e-15 for n ≤ 25. Never go back to a low-order rule on
 * an equispaced grid here: the Simpson/trapezoid version this replaces was off by up to 4.7e-5 in d3, which moved D3, D4
 * and the R and MR limits.
 */
function rangeMoments(n: number): { d2: number; d3: number } {
  const X = 8.5;
  const { x, w: wx } = nodes(-X, X, 12);
  const cdf = Array.from(x, Phi);
  const pdf = Array.from(x, phi);
  let d2 = 0;
  for (let i = 0; i < x.length; i++) d2 += wx[i]! * (1 - cdf[i]! ** n - Phi(-x[i]!) ** n);
  const { x: ws, w: ww } = nodes(0, 2 * X, 12);
  let ew2 = 0;
  for (let k = 0; k < ws.length; k++) {
    const w = ws[k]!;
    let F = 0;
    for (let i = 0; i < x.length; i++) F += wx[i]! * pdf[i]! * (Phi(x[i]! + w) - cdf[i]!) ** (n - 1);
    ew2 += ww[k]! * 2 * w * (1 - n * F);
  }
  return { d2, d3: Math.sqrt(Math.max(0, ew2 - d2 * d2)) };
}

/** Control-chart constants for subgroup size n (the tables of Montgomery, Appendix VI), computed from first principles. */
export interface ChartConstants {
  /** Subgroup size. */
  n: number;
  /** E[R]/σ and sd(R)/σ for normal samples. */
  d2: number;
  /** Standard deviation of the relative range. */
  d3: number;
  /** E[S]/σ. */
  c4: number;
  /** X̄ chart limits from R̄: x̿ ± A2·R̄. */
  A2: number;
  /** X̄ chart limits from S̄: x̿ ± A3·S̄. */
  A3: number;
  /** R chart: D3·R̄ to D4·R̄. */
  D3: number;
  /** Upper R-chart factor. */
  D4: number;
  /** S chart: B3·S̄ to B4·S̄. */
  B3: number;
  /** Upper S-chart factor. */
  B4: number;
}

const cache = new Map<number, ChartConstants>();

/**
 * Control-chart constants for subgroup size `n` (2–25), computed from the normal distribution (c4 from the gamma
 * function, d2 and d3 by Gauss–Legendre quadrature of the range distribution) — tests compare them with SciPy to 1e-6
 * (they agree to ~1e-12) and with the published tables.
 *
 * @param n - subgroup size
 * @returns the constants
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` outside 2–25
 * @example
 * ```ts
 * import { chartConstants } from '@lepton/manufacturing';
 * chartConstants(2).d3; // 0.852502… = √(2 − 4/π)
 * ```
 */
export function chartConstants(n: number): ChartConstants {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 2 || n > 25) throw new LeptonError('INVALID_ARGUMENT', 'Subgroup size must be an integer from 2 to 25 (the sizes control-chart constants are defined for here); split larger subgroups.', { details: { field: 'n' } });
  const hit = cache.get(n);
  if (hit) return hit;
  const c4 = Math.sqrt(2 / (n - 1)) * Math.exp(lnGamma(n / 2) - lnGamma((n - 1) / 2));
  const { d2, d3 } = rangeMoments(n);
  const s = Math.sqrt(1 - c4 * c4) / c4;
  const k: ChartConstants = {
    n,
    d2,
    d3,
    c4,
    A2: 3 / (d2 * Math.sqrt(n)),
    A3: 3 / (c4 * Math.sqrt(n)),
    D3: Math.max(0, 1 - (3 * d3) / d2),
    D4: 1 + (3 * d3) / d2,
    B3: Math.max(0, 1 - 3 * s),
    B4: 1 + 3 * s,
  };
  // Frozen: the object is shared by every later call (a caller's `k.A2 = 0` must not move everyone's limits).
  Object.freeze(k);
  cache.set(n, k);
  return k;
}
