import { LeptonError } from '@lepton/core';
import { chartConstants } from './constants.js';

/** Centre line and control limits of one chart; per-point arrays when subgroup sizes vary (p, u charts). */
export interface Limits {
  /** Centre line. */
  center: number;
  /** Upper control limit per point. */
  ucl: number[];
  /** Lower control limit per point. */
  lcl: number[];
  /** One standard deviation of the plotted statistic per point (for the zone rules). */
  sigma: number[];
}

/** A plotted statistic with its limits. */
export interface Chart {
  /** Chart kind, e.g. `xbar`, `R`, `S`, `I`, `MR`, `p`, `np`, `c`, `u`. */
  kind: string;
  /** Plotted values. */
  points: number[];
  /** Limits (from Phase I data, or given for Phase II monitoring). */
  limits: Limits;
}

const same = (n: number, v: number): number[] => new Array<number>(n).fill(v);

function fixed(points: number[], center: number, sigma: number, lowerFloor = -Infinity): Limits {
  return { center, ucl: same(points.length, center + 3 * sigma), lcl: same(points.length, Math.max(lowerFloor, center - 3 * sigma)), sigma: same(points.length, sigma) };
}

function subgroupSize(subgroups: number[][]): number {
  const n = subgroups[0]?.length ?? 0;
  if (subgroups.length < 2 || subgroups.some((g) => g.length !== n)) throw new LeptonError('INVALID_INPUT', 'Subgroups must be at least two, all of the same size.');
  return n;
}

/** Centre line and limits of one chart with constant limits. */
export interface FixedLimits {
  /** Centre line. */
  center: number;
  /** Upper control limit. */
  ucl: number;
  /** Lower control limit. */
  lcl: number;
}

/** X̄ and R limits from summary statistics. */
export interface XbarRLimits {
  /** X̄ chart. */
  xbar: FixedLimits;
  /** R chart. */
  r: FixedLimits;
}

/** X̄–R charts. */
export interface XbarRCharts {
  /** Subgroup means. */
  xbar: Chart;
  /** Subgroup ranges. */
  r: Chart;
}

/** X̄–S charts. */
export interface XbarSCharts {
  /** Subgroup means. */
  xbar: Chart;
  /** Subgroup standard deviations. */
  s: Chart;
}

/** Individuals and moving-range charts. */
export interface IMrCharts {
  /** Individual values. */
  i: Chart;
  /** Moving ranges of consecutive values. */
  mr: Chart;
}

/** Specification limits. */
export interface SpecLimits {
  /** Lower specification limit. */
  lsl: number;
  /** Upper specification limit. */
  usl: number;
}

/** Process capability indices. */
export interface Capability {
  /** Potential capability (USL − LSL) / 6σ_within. */
  cp: number;
  /** Actual capability min(USL − μ, μ − LSL) / 3σ_within. */
  cpk: number;
  /** Performance (USL − LSL) / 6σ_overall. */
  pp: number;
  /** Actual performance min(USL − μ, μ − LSL) / 3σ_overall. */
  ppk: number;
  /** Mean of the values. */
  mean: number;
  /** Short-term σ used for Cp/Cpk. */
  sigmaWithin: number;
  /** Overall sample σ used for Pp/Ppk. */
  sigmaOverall: number;
}

/**
 * X̄ and R limits from summary statistics: x̿ ± A2·R̄ and D3·R̄ … D4·R̄.
 *
 * @param grandMean - x̿
 * @param rBar - R̄
 * @param n - subgroup size
 * @returns centre and limits of both charts
 */
export function xbarRLimits(grandMean: number, rBar: number, n: number): XbarRLimits {
  const k = chartConstants(n);
  return {
    xbar: { center: grandMean, ucl: grandMean + k.A2 * rBar, lcl: grandMean - k.A2 * rBar },
    r: { center: rBar, ucl: k.D4 * rBar, lcl: k.D3 * rBar },
  };
}

/**
 * X̄–R charts (Phase I: limits from these subgroups).
 *
 * @param subgroups - rational subgroups of equal size (2–25)
 * @returns the X̄ chart and the R chart
 */
export function xbarR(subgroups: number[][]): XbarRCharts {
  const n = subgroupSize(subgroups);
  const means = subgroups.map((g) => g.reduce((a, b) => a + b, 0) / n);
  const ranges = subgroups.map((g) => Math.max(...g) - Math.min(...g));
  const grand = means.reduce((a, b) => a + b, 0) / means.length;
  const rBar = ranges.reduce((a, b) => a + b, 0) / ranges.length;
  const k = chartConstants(n);
  const l = xbarRLimits(grand, rBar, n);
  return {
    xbar: { kind: 'xbar', points: means, limits: { center: grand, ucl: same(means.length, l.xbar.ucl), lcl: same(means.length, l.xbar.lcl), sigma: same(means.length, (k.A2 * rBar) / 3) } },
    r: { kind: 'R', points: ranges, limits: { center: rBar, ucl: same(ranges.length, l.r.ucl), lcl: same(ranges.length, l.r.lcl), sigma: same(ranges.length, (k.d3 * rBar) / k.d2) } },
  };
}

/**
 * X̄–S charts (Phase I).
 *
 * @param subgroups - rational subgroups of equal size (2–25)
 * @returns the X̄ chart and the S chart
 */
export function xbarS(subgroups: number[][]): XbarSCharts {
  const n = subgroupSize(subgroups);
  const means = subgroups.map((g) => g.reduce((a, b) => a + b, 0) / n);
  const sds = subgroups.map((g, i) => Math.sqrt(g.reduce((a, v) => a + (v - means[i]!) ** 2, 0) / (n - 1)));
  const grand = means.reduce((a, b) => a + b, 0) / means.length;
  const sBar = sds.reduce((a, b) => a + b, 0) / sds.length;
  const k = chartConstants(n);
  return {
    xbar: { kind: 'xbar', points: means, limits: { center: grand, ucl: same(means.length, grand + k.A3 * sBar), lcl: same(means.length, grand - k.A3 * sBar), sigma: same(means.length, (k.A3 * sBar) / 3) } },
    s: { kind: 'S', points: sds, limits: { center: sBar, ucl: same(sds.length, k.B4 * sBar), lcl: same(sds.length, k.B3 * sBar), sigma: same(sds.length, (sBar * Math.sqrt(1 - k.c4 * k.c4)) / k.c4) } },
  };
}

/**
 * Individuals and moving-range charts: σ estimated as MR̄ / d2(2).
 *
 * @param values - individual measurements in time order
 * @returns the I chart and the MR chart (the MR chart starts at the second value)
 */
export function individuals(values: number[]): IMrCharts {
  if (values.length < 3) throw new LeptonError('INVALID_INPUT', 'An I-MR chart needs at least three values.');
  const mr = values.slice(1).map((v, i) => Math.abs(v - values[i]!));
  const mrBar = mr.reduce((a, b) => a + b, 0) / mr.length;
  const k = chartConstants(2);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return {
    i: { kind: 'I', points: [...values], limits: fixed(values, mean, mrBar / k.d2) },
    mr: { kind: 'MR', points: mr, limits: { center: mrBar, ucl: same(mr.length, k.D4 * mrBar), lcl: same(mr.length, k.D3 * mrBar), sigma: same(mr.length, (k.d3 * mrBar) / k.d2) } },
  };
}

/**
 * p chart (fraction nonconforming), limits per subgroup size.
 *
 * @param defectives - nonconforming units per subgroup
 * @param sizes - units inspected per subgroup
 * @returns the chart
 */
export function pChart(defectives: number[], sizes: number[]): Chart {
  if (defectives.length !== sizes.length || sizes.some((n) => n <= 0)) throw new LeptonError('INVALID_INPUT', 'p chart: one positive size per subgroup.');
  const pBar = defectives.reduce((a, b) => a + b, 0) / sizes.reduce((a, b) => a + b, 0);
  const sigma = sizes.map((n) => Math.sqrt((pBar * (1 - pBar)) / n));
  return { kind: 'p', points: defectives.map((d, i) => d / sizes[i]!), limits: { center: pBar, ucl: sigma.map((s) => pBar + 3 * s), lcl: sigma.map((s) => Math.max(0, pBar - 3 * s)), sigma } };
}

/**
 * np chart (number nonconforming, constant subgroup size).
 *
 * @param defectives - nonconforming units per subgroup
 * @param n - units per subgroup
 * @returns the chart
 */
export function npChart(defectives: number[], n: number): Chart {
  const pBar = defectives.reduce((a, b) => a + b, 0) / (n * defectives.length);
  return { kind: 'np', points: [...defectives], limits: fixed(defectives, n * pBar, Math.sqrt(n * pBar * (1 - pBar)), 0) };
}

/**
 * c chart (nonconformities per constant inspection unit).
 *
 * @param counts - nonconformities per unit
 * @returns the chart
 */
export function cChart(counts: number[]): Chart {
  const cBar = counts.reduce((a, b) => a + b, 0) / counts.length;
  return { kind: 'c', points: [...counts], limits: fixed(counts, cBar, Math.sqrt(cBar), 0) };
}

/**
 * u chart (nonconformities per unit, varying number of units).
 *
 * @param counts - nonconformities per subgroup
 * @param units - inspection units per subgroup
 * @returns the chart
 */
export function uChart(counts: number[], units: number[]): Chart {
  if (counts.length !== units.length || units.some((n) => n <= 0)) throw new LeptonError('INVALID_INPUT', 'u chart: one positive unit count per subgroup.');
  const uBar = counts.reduce((a, b) => a + b, 0) / units.reduce((a, b) => a + b, 0);
  const sigma = units.map((n) => Math.sqrt(uBar / n));
  return { kind: 'u', points: counts.map((c, i) => c / units[i]!), limits: { center: uBar, ucl: sigma.map((s) => uBar + 3 * s), lcl: sigma.map((s) => Math.max(0, uBar - 3 * s)), sigma } };
}

/**
 * Phase II: plots new points against limits fixed in Phase I (the last point's limits are reused for every new point).
 *
 * @param phaseOne - a chart whose limits were established on in-control data
 * @param points - new values of the same statistic
 * @returns a chart of the new points with the Phase I limits
 */
export function monitor(phaseOne: Chart, points: number[]): Chart {
  const last = phaseOne.limits.ucl.length - 1;
  const l = phaseOne.limits;
  return { kind: phaseOne.kind, points: [...points], limits: { center: l.center, ucl: same(points.length, l.ucl[last]!), lcl: same(points.length, l.lcl[last]!), sigma: same(points.length, l.sigma[last]!) } };
}

/**
 * Process capability from within-subgroup σ (Cp, Cpk) and overall σ (Pp, Ppk).
 *
 * @param values - measurements
 * @param spec - lower and upper specification limits
 * @param sigmaWithin - short-term σ (e.g. R̄/d2 or MR̄/d2); default MR̄/d2 of `values` in order
 * @returns the four indices, the mean and both σ
 */
export function capability(values: number[], spec: SpecLimits, sigmaWithin?: number): Capability {
  const n = values.length;
  if (n < 3 || !(spec.usl > spec.lsl)) throw new LeptonError('INVALID_INPUT', 'capability: at least three values and USL > LSL.');
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const overall = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  const within = sigmaWithin ?? values.slice(1).reduce((a, v, i) => a + Math.abs(v - values[i]!), 0) / (n - 1) / chartConstants(2).d2;
  const tol = spec.usl - spec.lsl;
  const near = Math.min(spec.usl - mean, mean - spec.lsl);
  return { cp: tol / (6 * within), cpk: near / (3 * within), pp: tol / (6 * overall), ppk: near / (3 * overall), mean, sigmaWithin: within, sigmaOverall: overall };
}
