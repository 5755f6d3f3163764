import { LeptonError } from '@lepton/core';
import { each, finiteResult, integer, invalid } from '../internal/guards.js';
import type { Chart } from './charts.js';
import { checkChart, type Violation } from './rules.js';

/** Checks what {@link controlChartSpec} writes into the spec: it must be plain JSON (no NaN, Symbol or object where text goes). */
function checkSpecInput(chart: Chart, violations: unknown, options: unknown): asserts options is { title?: string; labels?: string[]; xTitle?: string } {
  const fn = 'controlChartSpec';
  checkChart(fn, chart);
  if (typeof chart.kind !== 'string') throw invalid(fn, 'chart.kind', 'a string', chart.kind);
  if (!Array.isArray(violations)) throw invalid(fn, 'violations', 'an array of violations (from evaluateRules)', violations);
  each(violations, (v: unknown, i) => {
    if (typeof v !== 'object' || v === null) throw invalid(fn, `violations[${i}]`, 'a violation { rule, index }', v);
    const o = v as { rule?: unknown; index?: unknown };
    integer(fn, `violations[${i}].rule`, o.rule, 1, 8, 'INVALID_INPUT');
    // An index past the chart's points would be dropped from the plot without a word.
    integer(fn, `violations[${i}].index`, o.index, 0, chart.points.length - 1, 'INVALID_INPUT');
  });
  if (typeof options !== 'object' || options === null) throw invalid(fn, 'options', 'an object', options, 'INVALID_ARGUMENT');
  const o = options as { title?: unknown; labels?: unknown; xTitle?: unknown };
  for (const key of ['title', 'xTitle'] as const) if (o[key] !== undefined && typeof o[key] !== 'string') throw invalid(fn, `options.${key}`, 'a string', o[key], 'INVALID_ARGUMENT');
  if (o.labels !== undefined) {
    if (!Array.isArray(o.labels)) throw invalid(fn, 'options.labels', 'an array of strings', o.labels, 'INVALID_ARGUMENT');
    each(o.labels, (l: unknown, i) => {
      if (typeof l !== 'string') throw new LeptonError('INVALID_ARGUMENT', `${fn}: options.labels[${i}] must be a string.`, { details: { field: `options.labels[${i}]` } });
    });
  }
}

/**
 * A Vega-Lite spec (plain JSON) of a control chart, for `renderChart()` from `@lepton/charts`: the statistic as a
 * line, the centre line, the ±1σ and ±2σ zones as bands, the control limits as dashed lines (stepped where they vary),
 * and every rule violation marked in red with its rule number in the tooltip. The y axis spans the data and limits,
 * not from zero.
 *
 * @param chart - a chart from `xbarR`, `pChart`, `monitor` …
 * @param violations - from `evaluateRules(chart)`
 * @param options - title, x-axis labels (default 1, 2, 3 …) and x-axis title (default `sample`)
 * @returns the spec (data inline)
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` (`details.field`) for a chart whose points or limits are not
 *   finite numbers (as {@link evaluateRules}), whose `kind` is not a string, or violations that are not `{ rule, index }`
 *   with integer values and an index of one of the chart's points; an infinite limit (one-sided chart) is left out of
 *   the data (no limit line on that side), never written as null; `INVALID_ARGUMENT` for options that are not an object, a title that is not a string, or labels
 *   that are not strings; `MFG_NON_FINITE_RESULT` when the centre ± 2σ overflows (limits near ±1e308)
 */
export function controlChartSpec(chart: Chart, violations: Violation[] = [], options: { title?: string; labels?: string[]; xTitle?: string } = {}): Record<string, unknown> {
  checkSpecInput(chart, violations, options);
  const { points, limits } = chart;
  const bad = new Map<number, number[]>();
  for (const v of violations) bad.set(v.index, [...(bad.get(v.index) ?? []), v.rule]);
  const values = points.map((y, i) => ({
    x: options.labels?.[i] ?? String(i + 1),
    order: i,
    y,
    center: limits.center,
    // An infinite limit (a one-sided chart) is left out, not written: JSON would turn it into null.
    ...(Number.isFinite(limits.ucl[i]) ? { ucl: limits.ucl[i] } : {}),
    ...(Number.isFinite(limits.lcl[i]) ? { lcl: limits.lcl[i] } : {}),
    z1lo: limits.center - limits.sigma[i]!,
    z1hi: limits.center + limits.sigma[i]!,
    z2lo: limits.center - 2 * limits.sigma[i]!,
    z2hi: limits.center + 2 * limits.sigma[i]!,
    violation: bad.has(i),
    rules: (bad.get(i) ?? []).join(', '),
  }));
  // Limits near ±1e308 are finite, centre ± 2σ need not be: a spec is JSON, where Infinity becomes null.
  for (const v of values) finiteResult('controlChartSpec', 'the ±1σ and ±2σ zones', v.z1lo, v.z1hi, v.z2lo, v.z2hi);
  const x = { field: 'x', type: 'ordinal', sort: { field: 'order' }, title: options.xTitle ?? 'sample' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.title ?? `${chart.kind} chart`,
    width: Math.max(300, Math.min(900, points.length * 14)),
    height: 220,
    data: { values },
    layer: [
      { mark: { type: 'area', opacity: 0.12, color: '#f2b134' }, encoding: { x, y: { field: 'z2lo', type: 'quantitative', title: chart.kind, scale: { zero: false } }, y2: { field: 'z2hi' } } },
      { mark: { type: 'area', opacity: 0.15, color: '#6aa84f' }, encoding: { x, y: { field: 'z1lo', type: 'quantitative' }, y2: { field: 'z1hi' } } },
      { mark: { type: 'line', strokeDash: [6, 4], color: '#cc0000', interpolate: 'step' }, encoding: { x, y: { field: 'ucl', type: 'quantitative' } } },
      { mark: { type: 'line', strokeDash: [6, 4], color: '#cc0000', interpolate: 'step' }, encoding: { x, y: { field: 'lcl', type: 'quantitative' } } },
      { mark: { type: 'line', color: '#555555' }, encoding: { x, y: { field: 'center', type: 'quantitative' } } },
      { mark: { type: 'line', point: true, color: '#1f77b4' }, encoding: { x, y: { field: 'y', type: 'quantitative' } } },
      {
        transform: [{ filter: 'datum.violation' }],
        mark: { type: 'point', filled: true, size: 90, color: '#d62728' },
        encoding: { x, y: { field: 'y', type: 'quantitative' }, tooltip: [{ field: 'rules', title: 'rules violated' }, { field: 'y', title: chart.kind }] },
      },
    ],
  };
}
