import { LeptonError } from '@lepton/core';

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
 * @param timestamps - sample times, non-decreasing
 * @param values - sample values
 * @param options - grid and fill policy
 * @returns the regular series
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for unsorted or mismatched input
 */
export function resample(timestamps: ArrayLike<number>, values: ArrayLike<number>, options: ResampleOptions): Resampled {
  const n = timestamps.length;
  if (values.length !== n) throw new LeptonError('INVALID_INPUT', 'resample: timestamps and values differ in length.');
  if (!(options.intervalMs > 0)) throw new LeptonError('INVALID_ARGUMENT', 'resample: intervalMs must be > 0.');
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i > 0 && timestamps[i]! < timestamps[i - 1]!) throw new LeptonError('INVALID_INPUT', 'resample: timestamps must be in time order.');
    if (Number.isFinite(values[i])) {
      xs.push(timestamps[i]!);
      ys.push(values[i]!);
    }
  }
  const step = options.intervalMs;
  const fill = options.fill ?? 'previous';
  const maxFill = options.maxFillMs ?? 5 * step;
  if (n === 0) return { timestamps: [], values: new Float64Array(0), unfilled: 0 };
  const start = options.start ?? Math.ceil(timestamps[0]! / step) * step;
  const end = options.end ?? timestamps[n - 1]!;
  const grid: number[] = [];
  for (let t = start; t <= end; t += step) grid.push(t);
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
      out[g] = ys[prev]! + f * (ys[j]! - ys[prev]!);
    }
  });
  let unfilled = 0;
  for (const v of out) if (Number.isNaN(v)) unfilled++;
  return { timestamps: grid, values: out, unfilled };
}
