import { LeptonError } from '@lepton/core';
import { atLeast, countArray, each, finite, finiteArray, finiteResult, invalid, noSpread, readFields, scaleOf } from '../internal/guards.js';
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

/** Checks rational subgroups (at least two, all of one size from 2 to 25, finite values) and returns the size. */
/** The largest magnitude in a list of subgroups (the data's scale). */
function maxAbs(subgroups: number[][]): number {
  let m = 0;
  for (const g of subgroups) m = Math.max(m, scaleOf(g));
  return m;
}

function subgroupSize(fn: string, subgroups: number[][]): number {
  if (!Array.isArray(subgroups)) throw invalid(fn, 'subgroups', 'an array of subgroups', subgroups);
  const first: unknown = subgroups[0];
  const n = Array.isArray(first) ? first.length : 0;
  if (subgroups.length < 2 || subgroups.some((g) => !Array.isArray(g) || g.length !== n)) {
    throw new LeptonError('INVALID_INPUT', `${fn}: subgroups must be at least two arrays, all of the same size.`, { details: { field: 'subgroups' } });
  }
  if (n < 2 || n > 25) throw new LeptonError('INVALID_INPUT', `${fn}: subgroup size must be 2 to 25, got ${n}.`, { details: { field: 'subgroups' } });
  each(subgroups, (g, i) => finiteArray(fn, `subgroups[${i}]`, g));
  return n;
}

/** Throws `MFG_NON_FINITE_RESULT` unless the chart's points and limits are all finite (inputs can overflow). */
function finiteChart(fn: string, chart: Chart): Chart {
  const l = chart.limits;
  finiteResult(fn, `the ${chart.kind} chart's centre line`, l.center);
  for (let i = 0; i < chart.points.length; i++) finiteResult(fn, `the ${chart.kind} chart's points and limits`, chart.points[i]!, l.ucl[i]!, l.lcl[i]!, l.sigma[i]!);
  return chart;
}

/** Checks a chart handed back to the package (Phase II): finite centre and one finite limit per point at least. */
function checkPhaseOne(fn: string, chart: Chart): void {
  if (typeof chart !== 'object' || chart === null || typeof chart.limits !== 'object' || chart.limits === null) throw invalid(fn, 'phaseOne', 'a chart', chart);
  // The kind is copied into the Phase II chart (and from there into plot titles): a string, never a Symbol or an object.
  if (typeof chart.kind !== 'string') throw invalid(fn, 'phaseOne.kind', 'a string', chart.kind);
  const l = chart.limits;
  finite(fn, 'phaseOne.limits.center', l.center);
  for (const key of ['ucl', 'lcl', 'sigma'] as const) {
    if (!Array.isArray(l[key]) || l[key].length === 0) {
      throw new LeptonError('INVALID_INPUT', `${fn}: phaseOne.limits.${key} must be a non-empty array; pass a chart made by this package.`, { details: { field: `phaseOne.limits.${key}` } });
    }
    finite(fn, `phaseOne.limits.${key}[${l[key].length - 1}]`, l[key][l[key].length - 1]);
  }
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
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a non-finite x̿ or a negative or non-finite R̄;
 *   `INVALID_ARGUMENT` for n outside 2–25; `MFG_NON_FINITE_RESULT` when the limits overflow
 * @example
 * ```ts
 * import { xbarRLimits } from '@lepton/manufacturing';
 * xbarRLimits(74.001, 0.023, 5).xbar.ucl; // 74.0143
 * ```
 */
export function xbarRLimits(grandMean: number, rBar: number, n: number): XbarRLimits {
  finite('xbarRLimits', 'grandMean', grandMean);
  if (typeof rBar !== 'number' || !Number.isFinite(rBar) || rBar < 0) throw invalid('xbarRLimits', 'rBar', 'a finite number ≥ 0', rBar);
  const k = chartConstants(n);
  const out = {
    xbar: { center: grandMean, ucl: grandMean + k.A2 * rBar, lcl: grandMean - k.A2 * rBar },
    r: { center: rBar, ucl: k.D4 * rBar, lcl: k.D3 * rBar },
  };
  finiteResult('xbarRLimits', 'a control limit', out.xbar.ucl, out.xbar.lcl, out.r.ucl, out.r.lcl);
  return out;
}

/**
 * X̄–R charts (Phase I: limits from these subgroups).
 *
 * @param subgroups - rational subgroups of equal size (2–25), finite values
 * @returns the X̄ chart and the R chart
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for fewer than two subgroups, unequal sizes or a value that
 *   is not a finite number (`details.field` names it, e.g. `subgroups[3][1]`); `MFG_NON_FINITE_RESULT` when the
 *   values overflow or have no spread (R̄ ≤ 64·ε·max|x|: constant data would give zero-width limits)
 * @example
 * ```ts
 * import { xbarR } from '@lepton/manufacturing';
 * xbarR([[10, 12, 11], [11, 11, 12], [12, 14, 13]]).r.points; // [2, 1, 2]
 * ```
 */
export function xbarR(subgroups: number[][]): XbarRCharts {
  const n = subgroupSize('xbarR', subgroups);
  const means = subgroups.map((g) => g.reduce((a, b) => a + b, 0) / n);
  const ranges = subgroups.map((g) => Math.max(...g) - Math.min(...g));
  const grand = means.reduce((a, b) => a + b, 0) / means.length;
  const rBar = ranges.reduce((a, b) => a + b, 0) / ranges.length;
  finiteResult('xbarR', 'a subgroup mean or range', grand, rBar);
  noSpread('xbarR', 'the average range R̄', rBar, maxAbs(subgroups));
  const k = chartConstants(n);
  const l = xbarRLimits(grand, rBar, n);
  return {
    xbar: finiteChart('xbarR', { kind: 'xbar', points: means, limits: { center: grand, ucl: same(means.length, l.xbar.ucl), lcl: same(means.length, l.xbar.lcl), sigma: same(means.length, (k.A2 * rBar) / 3) } }),
    r: finiteChart('xbarR', { kind: 'R', points: ranges, limits: { center: rBar, ucl: same(ranges.length, l.r.ucl), lcl: same(ranges.length, l.r.lcl), sigma: same(ranges.length, (k.d3 * rBar) / k.d2) } }),
  };
}

/**
 * X̄–S charts (Phase I).
 *
 * @param subgroups - rational subgroups of equal size (2–25), finite values
 * @returns the X̄ chart and the S chart
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` as {@link xbarR}; `MFG_NON_FINITE_RESULT` when the values
 *   overflow or have no spread (S̄ ≤ 64·ε·max|x|)
 */
export function xbarS(subgroups: number[][]): XbarSCharts {
  const n = subgroupSize('xbarS', subgroups);
  const means = subgroups.map((g) => g.reduce((a, b) => a + b, 0) / n);
  const sds = subgroups.map((g, i) => Math.sqrt(g.reduce((a, v) => a + (v - means[i]!) ** 2, 0) / (n - 1)));
  const grand = means.reduce((a, b) => a + b, 0) / means.length;
  const sBar = sds.reduce((a, b) => a + b, 0) / sds.length;
  finiteResult('xbarS', 'a subgroup mean or standard deviation', grand, sBar);
  noSpread('xbarS', 'the average standard deviation S̄', sBar, maxAbs(subgroups));
  const k = chartConstants(n);
  return {
    xbar: finiteChart('xbarS', { kind: 'xbar', points: means, limits: { center: grand, ucl: same(means.length, grand + k.A3 * sBar), lcl: same(means.length, grand - k.A3 * sBar), sigma: same(means.length, (k.A3 * sBar) / 3) } }),
    s: finiteChart('xbarS', { kind: 'S', points: sds, limits: { center: sBar, ucl: same(sds.length, k.B4 * sBar), lcl: same(sds.length, k.B3 * sBar), sigma: same(sds.length, (sBar * Math.sqrt(1 - k.c4 * k.c4)) / k.c4) } }),
  };
}

/**
 * Individuals and moving-range charts: σ estimated as MR̄ / d2(2).
 *
 * @param values - individual measurements in time order (finite; at least three)
 * @returns the I chart and the MR chart (the MR chart starts at the second value)
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for fewer than three values or one that is not a finite
 *   number (`details.field`, e.g. `values[7]`); `MFG_NON_FINITE_RESULT` when the values overflow
 *   or have no spread (MR̄ ≤ 64·ε·max|x|: constant data would give zero-width limits)
 * @example
 * ```ts
 * import { individuals } from '@lepton/manufacturing';
 * individuals([5, 7, 6, 9, 8]).mr.points; // [2, 1, 3, 1]
 * ```
 */
export function individuals(values: number[]): IMrCharts {
  finiteArray('individuals', 'values', values, 3);
  const mr = values.slice(1).map((v, i) => Math.abs(v - values[i]!));
  const mrBar = mr.reduce((a, b) => a + b, 0) / mr.length;
  const k = chartConstants(2);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  finiteResult('individuals', 'the mean or average moving range', mean, mrBar);
  noSpread('individuals', 'the average moving range MR̄', mrBar, scaleOf(values));
  return {
    i: finiteChart('individuals', { kind: 'I', points: [...values], limits: fixed(values, mean, mrBar / k.d2) }),
    mr: finiteChart('individuals', { kind: 'MR', points: mr, limits: { center: mrBar, ucl: same(mr.length, k.D4 * mrBar), lcl: same(mr.length, k.D3 * mrBar), sigma: same(mr.length, (k.d3 * mrBar) / k.d2) } }),
  };
}

/**
 * p chart (fraction nonconforming), limits per subgroup size.
 *
 * @param defectives - nonconforming units per subgroup (integers from 0 to the subgroup's size)
 * @param sizes - units inspected per subgroup (positive integers)
 * @returns the chart
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for no subgroups, lengths that differ, a count that is not
 *   a non-negative integer, a size that is not a positive integer, or more defectives than units inspected
 *   (`details.field` names it)
 * @example
 * ```ts
 * import { pChart } from '@lepton/manufacturing';
 * pChart([12, 15, 8], [50, 50, 50]).limits.center; // 0.2333…
 * ```
 */
export function pChart(defectives: number[], sizes: number[]): Chart {
  countArray('pChart', 'defectives', defectives);
  countArray('pChart', 'sizes', sizes, 1);
  if (defectives.length !== sizes.length) throw new LeptonError('INVALID_INPUT', 'pChart: give one size per subgroup (defectives and sizes differ in length).', { details: { field: 'sizes' } });
  each(defectives, (d, i) => {
    if (d > sizes[i]!) throw new LeptonError('INVALID_INPUT', `pChart: defectives[${i}] exceeds sizes[${i}] (more nonconforming units than were inspected).`, { details: { field: `defectives[${i}]` } });
  });
  const pBar = defectives.reduce((a, b) => a + b, 0) / sizes.reduce((a, b) => a + b, 0);
  const sigma = sizes.map((n) => Math.sqrt((pBar * (1 - pBar)) / n));
  return finiteChart('pChart', { kind: 'p', points: defectives.map((d, i) => d / sizes[i]!), limits: { center: pBar, ucl: sigma.map((s) => pBar + 3 * s), lcl: sigma.map((s) => Math.max(0, pBar - 3 * s)), sigma } });
}

/**
 * np chart (number nonconforming, constant subgroup size).
 *
 * @param defectives - nonconforming units per subgroup (integers from 0 to n)
 * @param n - units per subgroup (a positive integer)
 * @returns the chart
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for no subgroups or a count that is not an integer from 0
 *   to n; `INVALID_ARGUMENT` for n that is not a positive integer
 */
export function npChart(defectives: number[], n: number): Chart {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) throw invalid('npChart', 'n', 'a positive integer', n, 'INVALID_ARGUMENT');
  countArray('npChart', 'defectives', defectives);
  each(defectives, (d, i) => {
    if (d > n) throw new LeptonError('INVALID_INPUT', `npChart: defectives[${i}] exceeds n (more nonconforming units than were inspected).`, { details: { field: `defectives[${i}]` } });
  });
  const pBar = defectives.reduce((a, b) => a + b, 0) / (n * defectives.length);
  return finiteChart('npChart', { kind: 'np', points: [...defectives], limits: fixed(defectives, n * pBar, Math.sqrt(n * pBar * (1 - pBar)), 0) });
}

/**
 * c chart (nonconformities per constant inspection unit).
 *
 * @param counts - nonconformities per unit (non-negative integers)
 * @returns the chart
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for no counts or a count that is not a non-negative integer
 * @example
 * ```ts
 * import { cChart } from '@lepton/manufacturing';
 * cChart([4, 9, 2]).limits.center; // 5
 * ```
 */
export function cChart(counts: number[]): Chart {
  countArray('cChart', 'counts', counts);
  const cBar = counts.reduce((a, b) => a + b, 0) / counts.length;
  return finiteChart('cChart', { kind: 'c', points: [...counts], limits: fixed(counts, cBar, Math.sqrt(cBar), 0) });
}

/**
 * u chart (nonconformities per unit, varying number of units).
 *
 * @param counts - nonconformities per subgroup (non-negative integers)
 * @param units - inspection units per subgroup (finite, > 0; may be fractional, e.g. m² of cloth)
 * @returns the chart
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for no subgroups, lengths that differ, a count that is not
 *   a non-negative integer or a unit count that is not a finite number > 0
 */
export function uChart(counts: number[], units: number[]): Chart {
  countArray('uChart', 'counts', counts);
  finiteArray('uChart', 'units', units);
  each(units, (n, i) => {
    if (!(n > 0)) throw invalid('uChart', `units[${i}]`, 'a finite number > 0', n);
  });
  if (counts.length !== units.length) throw new LeptonError('INVALID_INPUT', 'uChart: give one unit count per subgroup (counts and units differ in length).', { details: { field: 'units' } });
  const uBar = counts.reduce((a, b) => a + b, 0) / units.reduce((a, b) => a + b, 0);
  const sigma = units.map((n) => Math.sqrt(uBar / n));
  return finiteChart('uChart', { kind: 'u', points: counts.map((c, i) => c / units[i]!), limits: { center: uBar, ucl: sigma.map((s) => uBar + 3 * s), lcl: sigma.map((s) => Math.max(0, uBar - 3 * s)), sigma } });
}

/**
 * Phase II: plots new points against limits fixed in Phase I (the last point's limits are reused for every new point).
 *
 * @param phaseOne - a chart whose limits were established on in-control data
 * @param points - new values of the same statistic (finite)
 * @returns a chart of the new points with the Phase I limits
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a point that is not a finite number or a Phase I chart
 *   without finite limits or without a string `kind`
 */
export function monitor(phaseOne: Chart, points: number[]): Chart {
  checkPhaseOne('monitor', phaseOne);
  finiteArray('monitor', 'points', points);
  const l = phaseOne.limits;
  const last = (a: number[]): number => a[a.length - 1]!;
  return { kind: phaseOne.kind, points: [...points], limits: { center: l.center, ucl: same(points.length, last(l.ucl)), lcl: same(points.length, last(l.lcl)), sigma: same(points.length, last(l.sigma)) } };
}

/**
 * Process capability from within-subgroup σ (Cp, Cpk) and overall σ (Pp, Ppk).
 *
 * @param values - measurements
 * @param spec - lower and upper specification limits
 * @param sigmaWithin - short-term σ (e.g. R̄/d2 or MR̄/d2); default MR̄/d2 of `values` in order
 * @returns the four indices, the mean and both σ
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for fewer than three values, a value or a specification
 *   limit that is not a finite number, or USL ≤ LSL; `INVALID_ARGUMENT` for a `sigmaWithin` that is not a finite
 *   number > 0; `MFG_NON_FINITE_RESULT` when the values have no spread (σ = 0, or only rounding noise, σ ≤ 64·ε·max|x|: the
 *   indices would be infinite or ≈ 1e15) or
 *   overflow
 * @example
 * ```ts
 * import { capability } from '@lepton/manufacturing';
 * capability([9.8, 10.1, 10, 10.3, 9.9], { lsl: 9, usl: 11.5 }, 0.2).cp; // 2.083…
 * ```
 */
export function capability(values: number[], spec: SpecLimits, sigmaWithin?: number): Capability {
  finiteArray('capability', 'values', values, 3);
  if (typeof spec !== 'object' || spec === null) throw invalid('capability', 'spec', 'an object { lsl, usl }', spec);
  const sp = readFields('capability', 'spec', spec, ['lsl', 'usl'] as const, 'INVALID_INPUT');
  spec = { lsl: finite('capability', 'spec.lsl', sp.lsl), usl: finite('capability', 'spec.usl', sp.usl) };
  if (!(spec.usl > spec.lsl)) throw new LeptonError('INVALID_INPUT', 'capability: spec.usl must be above spec.lsl.', { details: { field: 'spec.usl' } });
  if (sigmaWithin !== undefined) atLeast('capability', 'sigmaWithin', sigmaWithin, 0, true);
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const overall = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  const within = sigmaWithin ?? values.slice(1).reduce((a, v, i) => a + Math.abs(v - values[i]!), 0) / (n - 1) / chartConstants(2).d2;
  finiteResult('capability', 'the mean or a standard deviation', mean, overall, within);
  // σ of constant data is rarely exactly 0 (0.1 + 0.1 + 0.1 ≠ 0.3): rounding noise would give Pp ≈ 1e15.
  const scale = scaleOf(values);
  noSpread('capability', 'the overall standard deviation', overall, scale);
  if (sigmaWithin === undefined) noSpread('capability', 'the within-subgroup standard deviation (MR̄/d2)', within, scale);
  const tol = spec.usl - spec.lsl;
  const near = Math.min(spec.usl - mean, mean - spec.lsl);
  const out = { cp: tol / (6 * within), cpk: near / (3 * within), pp: tol / (6 * overall), ppk: near / (3 * overall), mean, sigmaWithin: within, sigmaOverall: overall };
  finiteResult('capability', 'a capability index', out.cp, out.cpk, out.pp, out.ppk, out.mean, within, overall);
  return out;
}
