import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';

// Small dense linear algebra (Newton steps, covariance inverses, fusion weights) in one tested place. Sizes here are
// tens of unknowns; for anything large, use tf.linalg on a backend.

function checkSquare(a: readonly (readonly number[])[], fn: string): number {
  const n = Array.isArray(a) ? a.length : 0;
  if (n === 0) throw new LeptonError('INVALID_ARGUMENT', `${fn}: the matrix must be a non-empty array of rows.`);
  for (let i = 0; i < n; i++) {
    const row = a[i];
    if (!Array.isArray(row) || row.length !== n) throw new LeptonError('INVALID_ARGUMENT', `${fn}: row ${i} must have ${n} entries (a square matrix).`);
    for (let j = 0; j < n; j++) {
      if (typeof row[j] !== 'number' || !Number.isFinite(row[j])) throw new LeptonError('INVALID_ARGUMENT', `${fn}: entry [${i}][${j}] is not a finite number.`);
    }
  }
  return n;
}

/**
 * LU factorisation with partial pivoting of an n×n matrix augmented by m right-hand columns, in place; then back
 * substitution. A pivot below `n · ε · max|aᵢⱼ|` means the matrix is singular to working precision.
 */
function eliminate(m: number[][], n: number, fn: string): void {
  let scale = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) scale = Math.max(scale, Math.abs(m[i]![j]!));
  const tiny = n * Number.EPSILON * scale;
  const width = m[0]!.length;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    if (!(Math.abs(m[p]![c]!) > tiny)) {
      throw new LeptonError('SINGULAR_MATRIX', `${fn}: the matrix is singular to working precision (column ${c}); a constant, duplicated or collinear input?`, {
        details: { column: c },
      });
    }
    [m[c], m[p]] = [m[p]!, m[c]!];
    const pivotRow = m[c]!;
    for (let r = c + 1; r < n; r++) {
      const row = m[r]!;
      const f = row[c]! / pivotRow[c]!;
      if (f === 0) continue;
      for (let k = c; k < width; k++) row[k]! -= f * pivotRow[k]!;
    }
  }
  for (let col = n; col < width; col++) {
    for (let r = n - 1; r >= 0; r--) {
      const row = m[r]!;
      let s = row[col]!;
      for (let k = r + 1; k < n; k++) s -= row[k]! * m[k]![col]!;
      row[col] = s / row[r]!;
    }
  }
}

/**
 * Solves A·x = b by Gaussian elimination with partial pivoting.
 *
 * @param a - n×n matrix of finite numbers (not modified)
 * @param b - n finite numbers
 * @returns x
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for a non-square or non-finite input; `SINGULAR_MATRIX` when A is
 *   singular to working precision (never a silent division by a tiny pivot)
 * @example
 * ```ts
 * import { solveLinear } from '@lepton/core';
 * solveLinear([[2, 1], [1, 3]], [3, 5]); // [0.8, 1.4]
 * ```
 */
export function solveLinear(a: readonly (readonly number[])[], b: readonly number[]): number[] {
  const n = checkSquare(a, 'solveLinear');
  if (!Array.isArray(b) || b.length !== n) throw new LeptonError('INVALID_ARGUMENT', `solveLinear: b must be ${n} finite numbers.`);
  // By index, read once: every() skips the holes of a sparse array (then a misleading SINGULAR_MATRIX).
  const rhs = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const v: unknown = b[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new LeptonError('INVALID_ARGUMENT', `solveLinear: b must be ${n} finite numbers; b[${i}] is ${describeValue(v)}.`);
    rhs[i] = v;
  }
  const m = a.map((row, i) => [...row, rhs[i]!]);
  eliminate(m, n, 'solveLinear');
  const x = m.map((row) => row[n]!);
  if (!x.every(Number.isFinite)) throw new LeptonError('SINGULAR_MATRIX', 'solveLinear: the solution overflowed; the matrix is ill-conditioned.');
  return x;
}

/**
 * Inverse of a square matrix by Gaussian elimination with partial pivoting.
 *
 * @param a - n×n matrix of finite numbers (not modified)
 * @returns A⁻¹
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for a non-square or non-finite input; `SINGULAR_MATRIX` when A is
 *   singular to working precision
 * @example
 * ```ts
 * import { invertMatrix } from '@lepton/core';
 * invertMatrix([[4, 7], [2, 6]]); // [[0.6, -0.7], [-0.2, 0.4]]
 * ```
 */
export function invertMatrix(a: readonly (readonly number[])[]): number[][] {
  const n = checkSquare(a, 'invertMatrix');
  const m = a.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  eliminate(m, n, 'invertMatrix');
  const inv = m.map((row) => row.slice(n));
  if (!inv.every((row) => row.every(Number.isFinite))) throw new LeptonError('SINGULAR_MATRIX', 'invertMatrix: the inverse overflowed; the matrix is ill-conditioned.');
  return inv;
}
