import { describeValue, LeptonError } from '@lepton/core';

/** Options of {@link linearSumAssignment}. */
export interface AssignmentOptions {
  /**
   * Largest cost a pair may have and still be assigned (default `Infinity`: only `Infinity` entries are forbidden).
   * Pairs above it are never assigned; the rows and columns they would have used are reported unassigned.
   */
  maxCost?: number;
}

/** The result of {@link linearSumAssignment}: pairs `(rows[k], cols[k])`, rows in increasing order. */
export interface Assignment {
  /** Row index of each assigned pair, increasing. */
  rows: number[];
  /** Column index of each assigned pair (`cols[k]` goes with `rows[k]`). */
  cols: number[];
  /** Sum of the costs of the assigned pairs. */
  cost: number;
  /** Rows left without a column, increasing. */
  unassignedRows: number[];
  /** Columns left without a row, increasing. */
  unassignedCols: number[];
}

/**
 * Optimal assignment (Kuhn–Munkres, in the O(n²·m) shortest-augmenting-path form with row and column potentials) of a
 * rectangular cost matrix: the pairing of rows to columns, each used at most once, with the least total cost. With
 * n ≤ m every row gets a column (as `scipy.optimize.linear_sum_assignment`); a taller matrix is solved transposed.
 *
 * Forbidden pairs (`Infinity`, or above `maxCost`) are never assigned. Among the pairings that avoid them, the result
 * has the **most pairs**, and among those the least total cost. (It is solved by giving forbidden pairs one cost larger
 * than any total of allowed ones, so any pairing with one forbidden pair fewer is cheaper, then dropping them.) This is
 * what a tracker wants: SORT's "solve, then drop pairs under the IoU threshold" can leave a track and a detection
 * unmatched that an alternative optimum would have paired.
 *
 * @param cost - `cost[i][j]` of giving row `i` column `j`; every row the same length; `+Infinity` forbids a pair
 * @param options - the cost threshold
 * @returns the assigned pairs, their total cost and the rows and columns left over
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for rows of different lengths, a NaN or `-Infinity`
 *   entry, a NaN or non-number `maxCost`, a matrix or row that is not an array, or finite costs spanning more than ~1e300
 * @example
 * ```ts
 * import { linearSumAssignment } from '@lepton/surveillance';
 * const a = linearSumAssignment([[4, 1, 3], [2, 0, 5], [3, 2, 2]]);
 * console.log(a.rows, a.cols, a.cost); // [0, 1, 2] [1, 0, 2] 5
 * ```
 */
export function linearSumAssignment(cost: readonly ArrayLike<number>[], options: AssignmentOptions = {}): Assignment {
  // JavaScript callers: a non-array matrix, a null row or null options threw a TypeError, and a maxCost of '1', null or
  // {} was compared as whatever it coerced to (a Symbol threw).
  if (!Array.isArray(cost)) throw new LeptonError('INVALID_ARGUMENT', `The cost matrix must be an array of rows; got ${describeValue(cost)}.`);
  if (options === null || typeof options !== 'object') throw new LeptonError('INVALID_ARGUMENT', `options must be an object (or left out); got ${describeValue(options)}.`);
  const maxCost = options.maxCost ?? Infinity;
  if (typeof maxCost !== 'number' || Number.isNaN(maxCost)) throw new LeptonError('INVALID_ARGUMENT', `maxCost must be a number or left out; got ${describeValue(maxCost)}.`);
  for (let i = 0; i < cost.length; i++) {
    const row: unknown = cost[i];
    if (row === null || typeof row !== 'object' || typeof (row as ArrayLike<number>).length !== 'number') {
      throw new LeptonError('INVALID_ARGUMENT', `Cost matrix row ${i} is ${describeValue(row)}; every row must be an array of numbers.`, { details: { row: i } });
    }
  }
  const n = cost.length;
  const m = n === 0 ? 0 : cost[0]!.length;
  // Allowed costs, shifted so the smallest is 0; the shift changes every full pairing's total by the same amount.
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const row = cost[i]!;
    if (row.length !== m) {
      throw new LeptonError('INVALID_ARGUMENT', `Cost matrix row ${i} has ${row.length} entries, row 0 has ${m}; every row needs one entry per column.`, { details: { row: i } });
    }
    for (let j = 0; j < m; j++) {
      const c = row[j]!;
      if (typeof c !== 'number' || Number.isNaN(c) || c === -Infinity) {
        throw new LeptonError('INVALID_ARGUMENT', `Cost matrix entry [${i}][${j}] is ${describeValue(c)}; costs must be numbers, with +Infinity for a forbidden pair.`, { details: { row: i, col: j } });
      }
      if (c <= maxCost && c !== Infinity) {
        if (c < lo) lo = c;
        if (c > hi) hi = c;
      }
    }
  }
  const result: Assignment = { rows: [], cols: [], cost: 0, unassignedRows: [], unassignedCols: [] };
  const transpose = n > m;
  const r = transpose ? m : n; // solver rows (r ≤ c)
  const c = transpose ? n : m;
  const pairs = new Int32Array(r).fill(-1); // solver row → solver column
  if (r > 0 && lo !== Infinity) {
    // Any pairing with f forbidden pairs costs ≥ f·big; one with f − 1 costs ≤ (f − 1)·big + r·(hi − lo) < f·big.
    const big = (hi - lo + 1) * (r + 1);
    if (!Number.isFinite(big)) {
      throw new LeptonError('INVALID_ARGUMENT', `Cost matrix values span ${lo} to ${hi}, too wide a range to solve; scale the costs down.`);
    }
    const a = new Float64Array(r * c);
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < c; j++) {
        const v = transpose ? cost[j]![i]! : cost[i]![j]!;
        a[i * c + j] = v <= maxCost && v !== Infinity ? v - lo : big;
      }
    }
    solve(a, r, c, pairs);
  }
  const rowOf = new Int32Array(m).fill(-1);
  const colOf = new Int32Array(n).fill(-1);
  for (let i = 0; i < r; i++) {
    const j = pairs[i]!;
    if (j < 0) continue;
    const row = transpose ? j : i;
    const col = transpose ? i : j;
    const v = cost[row]![col]!;
    if (v <= maxCost && v !== Infinity) {
      colOf[row] = col;
      rowOf[col] = row;
    }
  }
  for (let i = 0; i < n; i++) {
    const j = colOf[i]!;
    if (j < 0) {
      result.unassignedRows.push(i);
    } else {
      result.rows.push(i);
      result.cols.push(j);
      result.cost += cost[i]![j]!;
    }
  }
  for (let j = 0; j < m; j++) if (rowOf[j]! < 0) result.unassignedCols.push(j);
  return result;
}

/**
 * Shortest augmenting paths with potentials (the classic e-maxx formulation of Kuhn–Munkres): rows are added one at
 * a time, each by a Dijkstra-like search over reduced costs `a[i][j] − u[i] − v[j]` ≥ 0. Needs r ≤ c and finite costs.
 * Arrays are 1-based with index 0 as the virtual start column, which is what keeps the inner loops branch-light.
 */
function solve(a: Float64Array, r: number, c: number, out: Int32Array): void {
  const u = new Float64Array(r + 1);
  const v = new Float64Array(c + 1);
  const p = new Int32Array(c + 1); // p[j]: row (1-based) holding column j, 0 = free
  const way = new Int32Array(c + 1);
  const minv = new Float64Array(c + 1);
  const used = new Uint8Array(c + 1);
  for (let i = 1; i <= r; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0]!;
      const base = (i0 - 1) * c - 1;
      const ui0 = u[i0]!;
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= c; j++) {
        if (used[j]) continue;
        const cur = a[base + j]! - ui0 - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= c; j++) {
        if (used[j]) {
          u[p[j]!] = u[p[j]!]! + delta;
          v[j] = v[j]! - delta;
        } else {
          minv[j] = minv[j]! - delta;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  for (let j = 1; j <= c; j++) if (p[j]! > 0) out[p[j]! - 1] = j - 1;
}
