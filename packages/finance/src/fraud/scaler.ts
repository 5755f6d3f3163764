import { LeptonError } from '@lepton/core';
import { finiteRows } from '../internal/guards.js';

/** Per-feature mean and standard deviation, fitted on training rows only and stored with the model. */
export interface ScalerJSON {
  /** Mean of each feature column. */
  mean: number[];
  /** Sample standard deviation of each feature column (1 for columns with zero variance). */
  std: number[];
}

/**
 * Fits standardisation on training rows (columns with zero variance get std 1, so they pass through centred).
 *
 * @param rows - training feature rows
 * @returns means and standard deviations per column
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for no rows, rows of different lengths, a value that is not
 *   a finite number, or columns so large that their spread overflows
 */
export function fitScaler(rows: ReadonlyArray<ArrayLike<number>>): ScalerJSON {
  const d = finiteRows(rows, 'fitScaler');
  if (rows.length === 0 || d === 0) throw new LeptonError('INVALID_INPUT', 'fitScaler needs at least one non-empty row.');
  const mean = new Array<number>(d).fill(0);
  const m2 = new Array<number>(d).fill(0);
  rows.forEach((r, n) => {
    if (r.length !== d) throw new LeptonError('INVALID_INPUT', `Row ${n} has ${r.length} features, expected ${d}.`);
    for (let j = 0; j < d; j++) {
      const delta = r[j]! - mean[j]!;
      mean[j]! += delta / (n + 1);
      m2[j]! += delta * (r[j]! - mean[j]!);
    }
  });
  const std = m2.map((v) => {
    const s = Math.sqrt(v / Math.max(1, rows.length - 1));
    return s > 1e-12 ? s : 1;
  });
  const column = [...mean, ...std].findIndex((v) => !Number.isFinite(v)) % d;
  if (column >= 0) throw new LeptonError('INVALID_INPUT', `fitScaler: column ${column} overflows (values near the double-precision limit); rescale it.`, { details: { column } });
  return { mean, std };
}

/**
 * Throws `INVALID_ARGUMENT` unless `scaler` is what {@link fitScaler} returns (a scaler read back from JSON may not be):
 * a string mean was coerced (`'0x10'` as 16), a NaN or zero std made every row "overflow", and a missing field threw a
 * `TypeError`.
 */
function checkScaler(scaler: unknown): asserts scaler is ScalerJSON {
  const { mean, std } = (typeof scaler === 'object' && scaler !== null ? scaler : {}) as Partial<ScalerJSON>;
  if (
    !Array.isArray(mean) ||
    !Array.isArray(std) ||
    mean.length === 0 ||
    mean.length !== std.length ||
    !mean.every((m: unknown) => typeof m === 'number' && Number.isFinite(m)) ||
    !std.every((v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0)
  ) {
    throw new LeptonError('INVALID_ARGUMENT', 'scaleRows needs a scaler from fitScaler: { mean, std } of the same length, finite means and finite positive standard deviations.');
  }
}

/**
 * Standardises rows into one flat Float32Array (row-major), ready for a tensor.
 *
 * @param rows - feature rows, each of the scaler's width, every value a finite number
 * @param scaler - fitted scaler
 * @returns `(x − mean) / std`, flattened; every value finite
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` (with `details.row` and `details.column`) for a row of the
 *   wrong width, a value that is not a finite number, or one whose scaled value overflows 32-bit floats;
 *   `INVALID_ARGUMENT` for a scaler that is not `{ mean, std }` of equal, non-zero lengths with finite means and
 *   finite positive standard deviations (what {@link fitScaler} returns)
 */
export function scaleRows(rows: ReadonlyArray<ArrayLike<number>>, scaler: ScalerJSON): Float32Array {
  checkScaler(scaler);
  const d = scaler.mean.length;
  finiteRows(rows, 'scaleRows', d);
  const out = new Float32Array(rows.length * d);
  rows.forEach((r, i) => {
    for (let j = 0; j < d; j++) out[i * d + j] = (r[j]! - scaler.mean[j]!) / scaler.std[j]!;
  });
  // A finite input can still overflow float32 once scaled (1e300): refuse it rather than feed Infinity to a model.
  const bad = out.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    const [row, column] = [Math.floor(bad / d), bad % d];
    throw new LeptonError('INVALID_INPUT', `scaleRows: row ${row}, column ${column} overflows once scaled; repair or drop the row.`, { details: { row, column } });
  }
  return out;
}
