import { LeptonError } from '../errors/lepton-error.js';

// Special functions every vertical needs (VaR, SPC constants, calibration, DP accounting), in one tested place.
// Reference values: test/fixtures/numeric.json, made by test/fixtures/make_numeric_fixture.py with SciPy.

/**
 * Complementary error function, erfc(x) = 1 − erf(x), to ~1e-15 relative (W. J. Cody's rational approximations), also
 * deep in the tail where 1 − erf(x) would cancel to 0.
 *
 * @param x - any number but NaN (erfc(−∞) = 2, erfc(∞) = 0)
 * @returns erfc(x), in [0, 2]
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for NaN or a value that is not a number
 * @example
 * ```ts
 * import { erfc } from '@lepton/core';
 * erfc(0); // 1
 * ```
 */
export function erfc(x: number): number {
  if (typeof x !== 'number' || Number.isNaN(x)) throw new LeptonError('INVALID_ARGUMENT', 'erfc needs a number (not NaN).');
  const y = Math.abs(x);
  if (y <= 0.46875) {
    const ysq = y > 1.11e-16 ? y * y : 0;
    let num = ERFC_A[4]! * ysq;
    let den = ysq;
    for (let i = 0; i < 3; i++) {
      num = (num + ERFC_A[i]!) * ysq;
      den = (den + ERFC_B[i]!) * ysq;
    }
    return 1 - (x * (num + ERFC_A[3]!)) / (den + ERFC_B[3]!);
  }
  let r: number;
  if (y <= 4) {
    let num = ERFC_C[8]! * y;
    let den = y;
    for (let i = 0; i < 7; i++) {
      num = (num + ERFC_C[i]!) * y;
      den = (den + ERFC_D[i]!) * y;
    }
    r = (num + ERFC_C[7]!) / (den + ERFC_D[7]!);
  } else if (y >= 27.3) {
    // erfc(27.3) ≈ 1e-325 is below the smallest double: 0 (the rational form below overflows y·16 to ∞ past 1e307
    // and returned NaN there)
    r = 0;
  } else {
    const z = 1 / (y * y);
    let num = ERFC_P[5]! * z;
    let den = z;
    for (let i = 0; i < 4; i++) {
      num = (num + ERFC_P[i]!) * z;
      den = (den + ERFC_Q[i]!) * z;
    }
    r = (1 / Math.sqrt(Math.PI) - (z * (num + ERFC_P[4]!)) / (den + ERFC_Q[4]!)) / y;
  }
  // e^(−y²) as e^(−s²)·e^(−(y−s)(y+s)) with s = y rounded down to 1/16: y² is not exact, this product is.
  if (r !== 0) {
    const s = Math.trunc(y * 16) / 16;
    r *= Math.exp(-s * s) * Math.exp(-(y - s) * (y + s));
  }
  return x < 0 ? 2 - r : r;
}

// W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969), as in his CALERF.
const ERFC_A = [3.1611237438705656, 113.86415415105016, 377.48523768530202, 3209.3775891384695, 0.18577770618460315];
const ERFC_B = [23.601290952344122, 244.02463793444417, 1282.6165260773723, 2844.2368334391706];
const ERFC_C = [
  0.56418849698867009, 8.8831497943883759, 66.119190637141630, 298.63513819740013, 881.95222124176909, 1712.0476126340706,
  2051.0783778260715, 1230.3393547979973, 2.1531153547440383e-8,
];
const ERFC_D = [15.744926110709835, 117.69395089131250, 537.18110186200986, 1621.3895745666902, 3290.7992357334596, 4362.6190901432472, 3439.3676741437216, 1230.3393548037494];
const ERFC_P = [0.30532663496123234, 0.36034489994980444, 0.12578172611122925, 0.016083785148742277, 6.5874916152983780e-4, 0.016315387137302098];
const ERFC_Q = [2.5685201922898224, 1.8729528499234673, 0.52790510295142841, 0.060518341312441319, 0.0023352049762686918];

/**
 * Standard normal cumulative distribution function Φ(x) = ½·erfc(−x/√2), accurate in relative terms in both tails.
 *
 * @param x - any number but NaN
 * @returns Φ(x), in [0, 1]
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for NaN or a value that is not a number
 * @example
 * ```ts
 * import { normalCdf } from '@lepton/core';
 * normalCdf(1.959963984540054); // 0.975
 * ```
 */
export function normalCdf(x: number): number {
  if (typeof x !== 'number' || Number.isNaN(x)) throw new LeptonError('INVALID_ARGUMENT', 'normalCdf needs a number (not NaN).');
  return 0.5 * erfc(-x / Math.SQRT2);
}

/**
 * Inverse of the standard normal CDF (Acklam's rational approximation, refined by one Halley step to ~1e-15).
 *
 * @param p - probability, 0 < p < 1
 * @returns z with Φ(z) = p
 * @throws {@link LeptonError} `INVALID_ARGUMENT` unless p is a number in (0, 1)
 * @example
 * ```ts
 * import { normalQuantile } from '@lepton/core';
 * normalQuantile(0.99); // 2.3263478740408408
 * ```
 */
export function normalQuantile(p: number): number {
  if (!(typeof p === 'number' && p > 0 && p < 1)) throw new LeptonError('INVALID_ARGUMENT', 'normalQuantile needs a number p with 0 < p < 1.');
  // Upper half by symmetry: 1 − p is exact for p ≥ ½ (Sterbenz), and the refinement below then works on a small
  // probability where Φ has full relative precision (no cancellation against p ≈ 1).
  if (p > 0.5) return -lowerQuantile(1 - p);
  return lowerQuantile(p);
}

function lowerQuantile(p: number): number {
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
  if (e === 0) return x;
  const g = Math.exp((x * x) / 2);
  // For p below about 1e-308 (x < −37.6), exp(x²/2) overflows and e · ∞ was NaN: the same step in logarithms.
  const u = Number.isFinite(g) ? e * Math.sqrt(2 * Math.PI) * g : Math.sign(e) * Math.exp(Math.log(Math.abs(e)) + 0.5 * Math.log(2 * Math.PI) + (x * x) / 2);
  const next = x - u / (1 + (x * u) / 2);
  return Number.isFinite(next) ? next : x;
}

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/**
 * Natural logarithm of the gamma function for x > 0 (Lanczos, g = 7; ~1e-15 relative).
 *
 * @param x - a positive number
 * @returns ln Γ(x)
 * @throws {@link LeptonError} `INVALID_ARGUMENT` unless x is a finite number > 0 whose ln Γ is a finite double
 *   (x up to about 2.5e305)
 * @example
 * ```ts
 * import { lnGamma } from '@lepton/core';
 * Math.exp(lnGamma(5)); // 24
 * ```
 */
export function lnGamma(x: number): number {
  if (!(typeof x === 'number' && Number.isFinite(x) && x > 0)) throw new LeptonError('INVALID_ARGUMENT', 'lnGamma needs a finite number > 0.');
  const v = lanczos(x);
  // ln Γ(x) ≈ x ln x passes the largest double near x = 2.5e305: refused rather than returned as Infinity.
  if (!Number.isFinite(v)) throw new LeptonError('INVALID_ARGUMENT', 'lnGamma(x) overflows a double for x above about 2.5e305.');
  return v;
}

/** Euler–Mascheroni constant γ. */
const EULER_GAMMA = 0.5772156649015329;

function lanczos(x: number): number {
  // ln Γ(x) = −ln x − γx + O(x²) near 0: the reflection below overflows (π / sin πx = ∞) for x below about 1e-308.
  if (x < 1e-8) return -Math.log(x) - EULER_GAMMA * x;
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lanczos(1 - x);
  const z = x - 1;
  let a = LANCZOS[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}
