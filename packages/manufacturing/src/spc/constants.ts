import { LeptonError } from '@lepton/core';

/** Log-gamma (Lanczos, g = 7): accurate to ~1e-15 for positive arguments. */
function lnGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

const phi = (x: number): number => Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);
/** Standard normal CDF: Simpson's rule on the density over [0, |x|] (400 panels; ~1e-12 for |x| ≤ 8). */
function Phi(x: number): number {
  const n = 400;
  const h = Math.abs(x) / n;
  let s = phi(0) + phi(Math.abs(x));
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * phi(i * h);
  const half = (s * h) / 3;
  return x >= 0 ? 0.5 + half : 0.5 - half;
}

/** Expected range and its standard deviation for samples of n standard normals (d2, d3), by numerical integration. */
function rangeMoments(n: number): { d2: number; d3: number } {
  // d2 = ∫ 1 − Φ(x)ⁿ − (1 − Φ(x))ⁿ dx ; E[W²] via the joint density of min and max.
  const lo = -8;
  const hi = 8;
  const steps = 1600;
  const h = (hi - lo) / steps;
  const cdf: number[] = [];
  for (let i = 0; i <= steps; i++) cdf.push(Phi(lo + i * h));
  let d2 = 0;
  for (let i = 0; i <= steps; i++) {
    const f = 1 - cdf[i]! ** n - (1 - cdf[i]!) ** n;
    d2 += (i === 0 || i === steps ? 1 : i % 2 ? 4 : 2) * f;
  }
  d2 *= h / 3;
  // E[W²] = 2 ∫∫_{x<y} [1 − Φ(y)ⁿ − (1 − Φ(x))ⁿ + (Φ(y) − Φ(x))ⁿ] dx dy (Tippett's identity for the range).
  const coarse = 800;
  const k = (hi - lo) / coarse;
  const F: number[] = [];
  for (let i = 0; i <= coarse; i++) F.push(Phi(lo + i * k));
  let ew2 = 0;
  for (let i = 0; i <= coarse; i++) {
    // The diagonal is the triangle's edge: half weight (trapezoid rule), or the integral is short by O(k).
    ew2 += 0.5 * (1 - F[i]! ** n - (1 - F[i]!) ** n);
    for (let j = i + 1; j <= coarse; j++) {
      ew2 += 1 - F[j]! ** n - (1 - F[i]!) ** n + (F[j]! - F[i]!) ** n;
    }
  }
  ew2 *= 2 * k * k;
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
 * function, d2 and d3 by numerical integration of the range distribution) — tests compare them with the published
 * tables.
 *
 * @param n - subgroup size
 * @returns the constants
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` outside 2–25
 */
export function chartConstants(n: number): ChartConstants {
  if (!Number.isInteger(n) || n < 2 || n > 25) throw new LeptonError('INVALID_ARGUMENT', `Subgroup size must be an integer from 2 to 25, got ${n}.`);
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
  cache.set(n, k);
  return k;
}
