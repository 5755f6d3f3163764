import { LeptonError } from '@lepton/core';
import { each, finite, integer, invalid } from '../internal/guards.js';
import type { Chart } from './charts.js';

/** Nelson's eight rules (numbered as Nelson 1984). */
export type NelsonRule = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

/** A rule set: Nelson rule numbers, with the run length of rule 2 (9 in Nelson, 8 in the Western Electric handbook). */
export interface RuleSet {
  /** Rules to apply. */
  rules: NelsonRule[];
  /** Points on one side of the centre for rule 2. */
  runLength: number;
}

/** Western Electric rules (the default): beyond 3σ; 2 of 3 beyond 2σ; 4 of 5 beyond 1σ; 8 in a row on one side. */
export const WESTERN_ELECTRIC: RuleSet = { rules: [1, 5, 6, 2], runLength: 8 };
/** All eight Nelson rules. */
export const NELSON: RuleSet = { rules: [1, 2, 3, 4, 5, 6, 7, 8], runLength: 9 };

/** A rule violation: the rule and the point that completed the pattern. */
export interface Violation {
  /** Nelson rule number. */
  rule: NelsonRule;
  /** Index of the point that completed the pattern. */
  index: number;
  /** What the rule detects. */
  description: string;
}

/** What each rule detects (shared with the streaming evaluator). */
export const RULE_DESCRIPTIONS: Record<NelsonRule, string> = {
  1: 'one point beyond 3σ',
  2: 'a run on one side of the centre line',
  3: 'six points steadily increasing or decreasing',
  4: 'fourteen points alternating up and down',
  5: 'two of three points beyond 2σ on the same side',
  6: 'four of five points beyond 1σ on the same side',
  7: 'fifteen points within 1σ of the centre line',
  8: 'eight points beyond 1σ on either side, none within',
};

/**
 * Checks a rule set: known rule numbers and an integer run length from 2 to `maxRun`.
 *
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT`
 */
export function checkRuleSet(fn: string, ruleSet: RuleSet, maxRun = Number.MAX_SAFE_INTEGER): void {
  if (typeof ruleSet !== 'object' || ruleSet === null || !Array.isArray(ruleSet.rules)) throw invalid(fn, 'ruleSet', 'a rule set { rules, runLength }', ruleSet, 'INVALID_ARGUMENT');
  each(ruleSet.rules, (r, i) => integer(fn, `ruleSet.rules[${i}]`, r, 1, 8));
  integer(fn, 'ruleSet.runLength', ruleSet.runLength, 2, maxRun);
}

/**
 * Evaluates run rules on a chart. Rules are applied to the chart's points and limits as they are, so switching
 * rule sets never recomputes limits.
 *
 * Each rule is judged on the window of consecutive points ending at a point, and reported at the point that completes
 * the pattern (nothing is reported before a full window). Rules 5 and 6 count points beyond 2σ (1σ) on one side, and the
 * reported point is itself one of them: z = +4.91, +5.73, −7.28 is a rule-5 violation at +5.73, not at −7.28.
 * "Beyond" and "within" are strict. The definitions are checked against an independent numpy implementation
 * (`test/reference/spc_rules.py`) on random series.
 *
 * @param chart - a chart (Phase I or Phase II): finite points, limits with one entry per point
 * @param ruleSet - rules to apply (default Western Electric)
 * @returns violations in time order (a point can violate several rules; at one point, in rule-number order)
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a non-finite point, centre or sigma, a NaN limit, a
 *   negative sigma or limit arrays shorter than the points; `INVALID_ARGUMENT` for an unknown rule or a run length
 *   below 2
 * @example
 * ```ts
 * import { evaluateRules, individuals } from '@lepton/manufacturing';
 * const { i } = individuals([10, 10.2, 9.9, 10.1, 10, 13]);
 * evaluateRules(i).map((v) => [v.rule, v.index]); // [[1, 5]]: 13 is beyond the upper limit (12.55)
 * ```
 */
export function evaluateRules(chart: Chart, ruleSet: RuleSet = WESTERN_ELECTRIC): Violation[] {
  checkChart('evaluateRules', chart);
  checkRuleSet('evaluateRules', ruleSet);
  const { points, limits } = chart;
  const z = points.map((p, i) => (limits.sigma[i]! > 0 ? (p - limits.center) / limits.sigma[i]! : 0));
  const out: Violation[] = [];
  const add = (rule: NelsonRule, index: number): void => {
    out.push({ rule, index, description: RULE_DESCRIPTIONS[rule] });
  };
  const on = new Set(ruleSet.rules);
  for (let i = 0; i < z.length; i++) {
    const window = (k: number): number[] => (i + 1 >= k ? z.slice(i + 1 - k, i + 1) : []);
    if (on.has(1) && (points[i]! > limits.ucl[i]! || points[i]! < limits.lcl[i]!)) add(1, i);
    if (on.has(2)) {
      const w = window(ruleSet.runLength);
      if (w.length && (w.every((v) => v > 0) || w.every((v) => v < 0))) add(2, i);
    }
    if (on.has(3)) {
      const w = points.slice(Math.max(0, i - 5), i + 1);
      if (w.length === 6 && (w.every((v, k) => k === 0 || v > w[k - 1]!) || w.every((v, k) => k === 0 || v < w[k - 1]!))) add(3, i);
    }
    if (on.has(4)) {
      const w = points.slice(Math.max(0, i - 13), i + 1);
      if (w.length === 14) {
        const d = w.slice(1).map((v, k) => Math.sign(v - w[k]!));
        if (d.every((s, k) => s !== 0 && (k === 0 || s === -d[k - 1]!))) add(4, i);
      }
    }
    // m of the last k points beyond `beyond` σ on the side of point i, which must itself be beyond: a window with two
    // points above +2σ and the last one below −2σ is no violation at the last point (the pattern completed earlier).
    const sameSide = (k: number, m: number, beyond: number): boolean => {
      const w = window(k);
      const zi = z[i]!;
      if (w.length === 0) return false;
      if (zi > beyond) return w.filter((v) => v > beyond).length >= m;
      if (zi < -beyond) return w.filter((v) => v < -beyond).length >= m;
      return false;
    };
    if (on.has(5) && sameSide(3, 2, 2)) add(5, i);
    if (on.has(6) && sameSide(5, 4, 1)) add(6, i);
    if (on.has(7)) {
      const w = window(15);
      if (w.length && w.every((v) => Math.abs(v) < 1)) add(7, i);
    }
    if (on.has(8)) {
      const w = window(8);
      if (w.length && w.every((v) => Math.abs(v) > 1) && w.some((v) => v > 0) && w.some((v) => v < 0)) add(8, i);
    }
  }
  return out;
}

/**
 * Checks a chart's points and limits before rules are judged on them (a NaN would silently match no rule).
 *
 * @internal also used by `controlChartSpec`
 */
export function checkChart(fn: string, chart: Chart): void {
  if (typeof chart !== 'object' || chart === null || !Array.isArray(chart.points) || typeof chart.limits !== 'object' || chart.limits === null) {
    throw invalid(fn, 'chart', 'a chart { kind, points, limits }', chart);
  }
  const { points, limits } = chart;
  finite(fn, 'chart.limits.center', limits.center);
  for (const key of ['ucl', 'lcl', 'sigma'] as const) {
    const a: unknown = limits[key];
    if (!Array.isArray(a) || a.length < points.length) {
      throw new LeptonError('INVALID_INPUT', `${fn}: chart.limits.${key} needs one entry per point (${points.length}).`, { details: { field: `chart.limits.${key}` } });
    }
  }
  for (let i = 0; i < points.length; i++) {
    finite(fn, `chart.points[${i}]`, points[i]);
    const s = limits.sigma[i];
    if (typeof s !== 'number' || !Number.isFinite(s) || s < 0) throw invalid(fn, `chart.limits.sigma[${i}]`, 'a finite number ≥ 0', s);
    // A limit may be ±Infinity (no limit on that side), never NaN.
    if (typeof limits.ucl[i] !== 'number' || Number.isNaN(limits.ucl[i])) throw invalid(fn, `chart.limits.ucl[${i}]`, 'a number', limits.ucl[i]);
    if (typeof limits.lcl[i] !== 'number' || Number.isNaN(limits.lcl[i])) throw invalid(fn, `chart.limits.lcl[${i}]`, 'a number', limits.lcl[i]);
  }
}
