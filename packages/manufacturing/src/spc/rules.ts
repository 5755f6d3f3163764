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
 * Evaluates run rules on a chart. Rules are applied to the chart's points and limits as they are, so switching
 * rule sets never recomputes limits.
 *
 * @param chart - a chart (Phase I or Phase II)
 * @param ruleSet - rules to apply (default Western Electric)
 * @returns violations in time order (a point can violate several rules)
 */
export function evaluateRules(chart: Chart, ruleSet: RuleSet = WESTERN_ELECTRIC): Violation[] {
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
    const sameSide = (k: number, m: number, beyond: number): boolean => {
      const w = window(k);
      return w.length > 0 && (w.filter((v) => v > beyond).length >= m || w.filter((v) => v < -beyond).length >= m);
    };
    if (on.has(5) && sameSide(3, 2, 2) && Math.abs(z[i]!) > 2) add(5, i);
    if (on.has(6) && sameSide(5, 4, 1) && Math.abs(z[i]!) > 1) add(6, i);
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
