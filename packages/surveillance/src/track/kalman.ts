import { LeptonError } from '@lepton/core';
import { shownJson, type Box, type Point } from '../types.js';

/** Throws unless `box` has finite coordinates and a positive, finite size (the filter's state would turn NaN). */
function checkBox(box: Box, what: string): void {
  const ok =
    box !== null && typeof box === 'object' && Number.isFinite(box.x) && Number.isFinite(box.y) && Number.isFinite(box.width) && Number.isFinite(box.height) &&
    box.width > 0 && box.height > 0 && Number.isFinite(box.width * box.height);
  if (!ok) throw new LeptonError('INVALID_ARGUMENT', `KalmanBoxFilter.${what}: the box needs finite x, y and a positive finite width and height, got ${shownJson(box)}.`);
}

const N = 7; // state: cx, cy, s (area), r (aspect w/h), vx, vy, vs
const M = 4; // measurement: cx, cy, s, r

// SORT's noise model (Bewley et al. 2016, sort.py): measurement noise R = diag(1, 1, 10, 10); initial covariance
// P = 10·diag(1, 1, 1, 1, 1000, 1000, 1000) (velocities are unobserved at birth); process noise
// Q = diag(1, 1, 1, 1, 0.01, 0.01, 0.0001). Changing any of these changes how fast boxes follow detections.
const R_DIAG = [1, 1, 10, 10];
const P0_DIAG = [10, 10, 10, 10, 10_000, 10_000, 10_000];
const Q_DIAG = [1, 1, 1, 1, 0.01, 0.01, 0.0001];

/**
 * Converts a box to SORT's measurement `[cx, cy, s, r]`: centre, area `w·h` and aspect ratio `w/h`.
 *
 * @param box - a box with positive width and height
 * @returns the measurement vector
 */
export function boxToMeasurement(box: Box): Float64Array {
  return Float64Array.of(box.x + box.width / 2, box.y + box.height / 2, box.width * box.height, box.width / box.height);
}

/**
 * Converts SORT's `[cx, cy, s, r]` back to a box (`w = √(s·r)`, `h = s / w`). A state with `s·r ≤ 0` has no box:
 * every field is NaN, which the tracker treats as a lost track.
 *
 * @param x - state or measurement (first four entries used)
 * @returns the box
 */
export function measurementToBox(x: ArrayLike<number>): Box {
  const s = x[2]!;
  const r = x[3]!;
  if (!(s * r > 0)) return { x: NaN, y: NaN, width: NaN, height: NaN };
  const w = Math.sqrt(s * r);
  const h = s / w;
  return { x: x[0]! - w / 2, y: x[1]! - h / 2, width: w, height: h };
}

/**
 * SORT's constant-velocity Kalman filter for one box (Bewley et al. 2016): state `[cx, cy, s, r, vx, vy, vs]` — centre,
 * area, aspect ratio (assumed constant) and the velocities of centre and area, in pixels per frame. Same matrices and
 * noise as the reference `sort.py` with filterpy, including its Joseph-form covariance update and its rule that the area
 * velocity is zeroed when it would make the area non-positive. Plain `Float64Array` math, no tensors.
 *
 * @example
 * ```ts
 * import { KalmanBoxFilter } from '@lepton/surveillance';
 * const kf = new KalmanBoxFilter({ x: 10, y: 20, width: 30, height: 60 });
 * kf.predict();
 * kf.update({ x: 14, y: 20, width: 30, height: 60 });
 * console.log(kf.box, kf.velocity);
 * ```
 */
export class KalmanBoxFilter {
  private readonly x = new Float64Array(N);
  private readonly P = new Float64Array(N * N);

  /**
   * Starts a filter at a detection, with zero velocity and SORT's initial uncertainty.
   *
   * @param box - the first detection (positive width and height)
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a box with a non-finite field or a size ≤ 0
   */
  constructor(box: Box) {
    checkBox(box, 'constructor');
    this.x.set(boxToMeasurement(box));
    for (let i = 0; i < N; i++) this.P[i * N + i] = P0_DIAG[i]!;
  }

  /** The current box estimate (NaN fields when the state has no valid box). */
  get box(): Box {
    return measurementToBox(this.x);
  }

  /** Velocity of the box centre, `[vx, vy]` in pixels per frame. */
  get velocity(): Point {
    return [this.x[4]!, this.x[5]!];
  }

  /** A copy of the state vector `[cx, cy, s, r, vx, vy, vs]`. */
  get state(): Float64Array {
    return this.x.slice();
  }

  /** A copy of the 7 × 7 state covariance, row-major. */
  get covariance(): Float64Array {
    return this.P.slice();
  }

  /**
   * Advances one frame: `x ← F·x`, `P ← F·P·Fᵀ + Q`.
   *
   * @returns the predicted box
   */
  predict(): Box {
    const { x, P } = this;
    if (x[6]! + x[2]! <= 0) x[6] = 0;
    x[0] = x[0]! + x[4]!;
    x[1] = x[1]! + x[5]!;
    x[2] = x[2]! + x[6]!;
    // F = I + E(0,4) + E(1,5) + E(2,6): F·P adds row k+4 to row k (k < 3); (F·P)·Fᵀ adds column k+4 to column k.
    for (let k = 0; k < 3; k++) for (let j = 0; j < N; j++) P[k * N + j] = P[k * N + j]! + P[(k + 4) * N + j]!;
    for (let k = 0; k < 3; k++) for (let i = 0; i < N; i++) P[i * N + k] = P[i * N + k]! + P[i * N + k + 4]!;
    for (let i = 0; i < N; i++) P[i * N + i] = P[i * N + i]! + Q_DIAG[i]!;
    return this.box;
  }

  /**
   * Corrects the state with a matched detection (measurement `z = [cx, cy, s, r]`, `H = [I₄ 0]`):
   * `K = P·Hᵀ·(H·P·Hᵀ + R)⁻¹`, `x ← x + K·(z − H·x)`, `P ← (I − K·H)·P·(I − K·H)ᵀ + K·R·Kᵀ`.
   *
   * @param box - the detection (positive width and height)
   * @returns the corrected box
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a box with a non-finite field or a size ≤ 0
   *   (the state is left as it was)
   */
  update(box: Box): Box {
    checkBox(box, 'update');
    const { x, P } = this;
    const z = boxToMeasurement(box);
    // S = P[0:4, 0:4] + R, inverted (4 × 4, symmetric positive definite).
    const S = new Float64Array(M * M);
    for (let i = 0; i < M; i++) for (let j = 0; j < M; j++) S[i * M + j] = P[i * N + j]! + (i === j ? R_DIAG[i]! : 0);
    const Si = invert4(S);
    // K = P[:, 0:4] · S⁻¹ (7 × 4)
    const K = new Float64Array(N * M);
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < M; j++) {
        let acc = 0;
        for (let k = 0; k < M; k++) acc += P[i * N + k]! * Si[k * M + j]!;
        K[i * M + j] = acc;
      }
    }
    const y = new Float64Array(M);
    for (let k = 0; k < M; k++) y[k] = z[k]! - x[k]!;
    for (let i = 0; i < N; i++) {
      let acc = 0;
      for (let k = 0; k < M; k++) acc += K[i * M + k]! * y[k]!;
      x[i] = x[i]! + acc;
    }
    // Joseph form, as filterpy: stays symmetric positive semi-definite where the short form (I − KH)·P drifts.
    const A = new Float64Array(N * N); // I − K·H
    for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) A[i * N + j] = (i === j ? 1 : 0) - (j < M ? K[i * M + j]! : 0);
    const AP = matmul(A, P, N, N, N);
    const next = matmulT(AP, A, N, N, N);
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) {
        let acc = 0;
        for (let k = 0; k < M; k++) acc += K[i * M + k]! * R_DIAG[k]! * K[j * M + k]!;
        P[i * N + j] = next[i * N + j]! + acc;
      }
    }
    return this.box;
  }
}

/** a (n × k) · b (k × m) */
function matmul(a: Float64Array, b: Float64Array, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let acc = 0;
      for (let t = 0; t < k; t++) acc += a[i * k + t]! * b[t * m + j]!;
      out[i * m + j] = acc;
    }
  }
  return out;
}

/** a (n × k) · bᵀ where b is (m × k) */
function matmulT(a: Float64Array, b: Float64Array, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let acc = 0;
      for (let t = 0; t < k; t++) acc += a[i * k + t]! * b[j * k + t]!;
      out[i * m + j] = acc;
    }
  }
  return out;
}

/** Gauss–Jordan inverse of a 4 × 4 matrix with partial pivoting. */
function invert4(s: Float64Array): Float64Array {
  const a = s.slice();
  const inv = new Float64Array(M * M);
  for (let i = 0; i < M; i++) inv[i * M + i] = 1;
  for (let col = 0; col < M; col++) {
    let piv = col;
    for (let r = col + 1; r < M; r++) if (Math.abs(a[r * M + col]!) > Math.abs(a[piv * M + col]!)) piv = r;
    if (piv !== col) {
      for (let j = 0; j < M; j++) {
        let t = a[col * M + j]!;
        a[col * M + j] = a[piv * M + j]!;
        a[piv * M + j] = t;
        t = inv[col * M + j]!;
        inv[col * M + j] = inv[piv * M + j]!;
        inv[piv * M + j] = t;
      }
    }
    const d = a[col * M + col]!;
    for (let j = 0; j < M; j++) {
      a[col * M + j] = a[col * M + j]! / d;
      inv[col * M + j] = inv[col * M + j]! / d;
    }
    for (let r = 0; r < M; r++) {
      if (r === col) continue;
      const f = a[r * M + col]!;
      if (f === 0) continue;
      for (let j = 0; j < M; j++) {
        a[r * M + j] = a[r * M + j]! - f * a[col * M + j]!;
        inv[r * M + j] = inv[r * M + j]! - f * inv[col * M + j]!;
      }
    }
  }
  return inv;
}
