import { LeptonError } from '@lepton/core';
import { atLeast, finite, invalid, readFields } from '../internal/guards.js';

/** Most grid points one call may produce (80 MB of values): a bigger grid is almost always a unit mistake (s vs ms). */
export const MAX_RESAMPLE_POINTS = 10_000_000;
const FILLS: readonly string[] = ['previous', 'linear', 'none'];

/** How to fill grid points between samples. */
export type FillPolicy = 'previous' | 'linear' | 'none';

/** Options for {@link resample}. */
export interface ResampleOptions {
  /** Grid spacing, ms. */
  intervalMs: number;
  /** Fill policy. Default `previous` (sample-and-hold, as historians do). */
  fill?: FillPolicy;
  /** Never fill across a gap longer than this (those points stay NaN). Default 5 intervals. */
  maxFillMs?: number;
  /** Grid start, epoch ms. Default: the first sample rounded up to the grid. */
  start?: number;
  /** Grid end (inclusive). Default: the last sample. */
  end?: number;
}

/** A regular time series. */
export interface Resampled {
  /** Grid times, epoch ms. */
  timestamps: number[];
  /** Values at the grid times (NaN where nothing could be filled). */
  values: Float64Array;
  /** Grid points left NaN. */
  unfilled: number;
}

/**
 * Resamples one signal (samples in time order, NaN = missing) onto a fixed grid. A grid point takes the sample at that
 * exact time, else the fill policy: the previous sample (`previous`), interpolation between the neighbours (`linear`),
 * or nothing (`none`). Gaps longer than `maxFillMs` are never filled, so a dropout is not papered over.
 *
 * @param timestamps - sample times, finite, non-decreasing
 * @param values - sample values (NaN = missing; ±Infinity is refused)
 * @param options - grid and fill policy
 * @returns the regular series
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for unsorted or mismatched input, a timestamp that is not a
 *   finite number or a value that is not a number or is infinite (`details.field`, e.g. `values[3]`);
 *   `INVALID_ARGUMENT` for an interval that is not a finite number > 0 (or too small to place the grid), an unknown
 *   fill, a negative or NaN `maxFillMs`, a non-finite `start`/`end`, an option whose getter throws, or a grid of more than
 *   {@link MAX_RESAMPLE_POINTS} points
 * @example
 * ```ts
 * import { resample } from '@lepton/manufacturing';
 * Array.from(resample([0, 1000, 3000], [1, 2, 4], { intervalMs: 1000 }).values); // [1, 2, 2, 4]
 * ```
 */
export function resample(timestamps: ArrayLike<number>, values: ArrayLike<number>, options: ResampleOptions): Resampled {
  const fn = 'resample';
  if (timestamps === null || typeof timestamps !== 'object' || typeof timestamps.length !== 'number') throw invalid(fn, 'timestamps', 'an array of numbers', timestamps);
  if (values === null || typeof values !== 'object' || typeof values.length !== 'number') throw invalid(fn, 'values', 'an array of numbers', values);
  if (typeof options !== 'object' || options === null) throw invalid(fn, 'options', 'an object', options, 'INVALID_ARGUMENT');
  // Read once: a getter that throws is INVALID_ARGUMENT naming it.
  options = readFields(fn, 'options', options, ['intervalMs', 'fill', 'maxFillMs', 'start', 'end'] as const) as ResampleOptions;
  const n = timestamps.length;
  if (values.length !== n) throw new LeptonError('INVALID_INPUT', 'resample: timestamps and values differ in length.', { details: { field: 'values' } });
  const step = atLeast(fn, 'options.intervalMs', options.intervalMs, 0, true);
  const fill = options.fill ?? 'previous';
  if (!FILLS.includes(fill)) throw invalid(fn, 'options.fill', `one of ${FILLS.join(', ')}`, fill, 'INVALID_ARGUMENT');
  const maxFill = options.maxFillMs ?? 5 * step;
  if (typeof maxFill !== 'number' || !(maxFill >= 0)) throw invalid(fn, 'options.maxFillMs', 'a number ≥ 0', maxFill, 'INVALID_ARGUMENT');
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = finite(fn, `timestamps[${i}]`, timestamps[i]);
    if (i > 0 && t < timestamps[i - 1]!) throw new LeptonError('INVALID_INPUT', 'resample: timestamps must be in time order.', { details: { field: `timestamps[${i}]` } });
    const v: unknown = values[i];
    if (typeof v !== 'number' || v === Infinity || v === -Infinity) throw invalid(fn, `values[${i}]`, 'a finite number, or NaN for a missing value', v);
    if (!Number.isNaN(v)) {
      xs.push(t);
      ys.push(v);
    }
  }
  if (options.start !== undefined) finite(fn, 'options.start', options.start, 'INVALID_ARGUMENT');
  if (options.end !== undefined) finite(fn, 'options.end', options.end, 'INVALID_ARGUMENT');
  if (n === 0) return { timestamps: [], values: new Float64Array(0), unfilled: 0 };
  const start = options.start ?? Math.ceil(timestamps[0]! / step) * step;
  // A step so small (5e-324) that timestamps[0] ÷ step overflows puts the grid's start at Infinity: say so, not [].
  if (!Number.isFinite(start)) throw invalid(fn, 'options.intervalMs', 'an interval in ms whose grid can start at the first timestamp (too small)', options.intervalMs, 'INVALID_ARGUMENT');
  const end = options.end ?? timestamps[n - 1]!;
  // Grid points by index, never `t += step`: at large t a small step does not change t, and the loop would not end.
  const count = end >= start ? Math.floor((end - start) / step) + 1 : 0;
  if (!(count <= MAX_RESAMPLE_POINTS)) {
    throw new LeptonError('INVALID_ARGUMENT', `resample: the grid would have more than ${MAX_RESAMPLE_POINTS} points; check intervalMs (milliseconds) and the time range.`, { details: { field: 'options.intervalMs' } });
  }
  const grid: number[] = Array.from({ length: count }, (_, k) => start + k * step);
  const out = new Float64Array(grid.length).fill(Number.NaN);
  let j = 0; // xs[j] is the first sample after the grid point
  grid.forEach((t, g) => {
    while (j < xs.length && xs[j]! <= t) j++;
    const prev = j - 1;
    if (prev >= 0 && xs[prev] === t) {
      out[g] = ys[prev]!;
      return;
    }
    if (fill === 'none' || prev < 0) return;
    if (fill === 'previous') {
      if (t - xs[prev]! <= maxFill) out[g] = ys[prev]!;
      return;
    }
    if (j < xs.length && xs[j]! - xs[prev]! <= maxFill) {
      const f = (t - xs[prev]!) / (xs[j]! - xs[prev]!);
      const a = ys[prev]!;
      const b = ys[j]!;
      const v = a + f * (b - a);
      // b − a overflows for neighbours of opposite sign near ±1.8e308; the convex form cannot (it lies between a and b).
      // Used only then, so ordinary values keep the usual formula's rounding.
      out[g] = Number.isFinite(v) ? v : (1 - f) * a + f * b;
    }
  });
  let unfilled = 0;
  for (const v of out) if (Number.isNaN(v)) unfilled++;
  return { timestamps: grid, values: out, unfilled };
}
