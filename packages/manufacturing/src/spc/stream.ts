import { LeptonError } from '@lepton/core';
import { finiteResult, invalid, readFields } from '../internal/guards.js';
import { checkRuleSet, RULE_DESCRIPTIONS, WESTERN_ELECTRIC, type NelsonRule, type RuleSet, type Violation } from './rules.js';

const DEPTH = 15; // the longest pattern any rule looks at (rule 7)

/** Phase II limits of a chart with constant limits, for {@link RuleStream}. */
export interface StreamLimits {
  /** Centre line. */
  center: number;
  /** One standard deviation of the plotted statistic. */
  sigma: number;
  /**
   * Upper control limit; default centre + 3σ. `Infinity` for a chart with no upper limit (a one-sided chart: rule 1
   * then looks at the lower limit only).
   */
  ucl?: number;
  /** Lower control limit; default centre − 3σ. `-Infinity` for a chart with no lower limit. */
  lcl?: number;
}

/**
 * Phase II run rules evaluated one point at a time, for live monitoring: each {@link RuleStream.push} judges only the
 * new point against the last 15 (the longest pattern), so the cost per point is constant. Gives exactly the
 * violations {@link evaluateRules} finds on the whole series (tested on random series for every rule).
 *
 * A value that is not a finite number is rejected and counted ({@link RuleStream.rejected}), never judged: it takes no
 * position in the stream and leaves the window as it was, so one NaN cannot silence the rules for the next 15 points.
 *
 * @example
 * ```ts
 * import { RuleStream } from '@lepton/manufacturing';
 * const rules = new RuleStream({ center: 10, sigma: 0.5 });
 * rules.push(10.1); // []
 * rules.push(Number.NaN); // [] (rejected: rules.rejected === 1)
 * rules.push(12); // [{ rule: 1, index: 1, … }]
 * ```
 */
export class RuleStream {
  private readonly points = new Float64Array(DEPTH);
  private readonly z = new Float64Array(DEPTH);
  private n = 0;
  private nRejected = 0;
  private readonly on: boolean[];
  private readonly ucl: number;
  private readonly lcl: number;

  /**
   * @param limits - Phase I centre, sigma and (optionally) limits
   * @param ruleSet - rules to apply (default Western Electric); switching rule sets needs no new limits
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a negative or non-finite sigma, a non-finite centre,
   *   a limit that is NaN or not a number or whose getter throws, an upper limit below the lower one (or equal to it when given; `ucl: -Infinity` or `lcl: Infinity`
   *   among them: every point would break rule 1), an unknown rule or a run length outside 2–15;
   *   `MFG_NON_FINITE_RESULT` when a limit left to its default (centre ± 3σ) overflows. A limit given as ±Infinity is
   *   one-sided on purpose and is kept (`{ ucl: Infinity }`: no upper limit, the lower one at centre − 3σ).
   */
  /** The limits, as checked at construction (a copy: changing the object passed in changes nothing here). */
  readonly limits: StreamLimits;
  /** The rule set, as checked at construction (a copy). */
  readonly ruleSet: RuleSet;

  constructor(limits: StreamLimits, ruleSet: RuleSet = WESTERN_ELECTRIC) {
    if (typeof limits !== 'object' || limits === null) throw invalid('RuleStream', 'limits', 'an object { center, sigma }', limits, 'INVALID_ARGUMENT');
    // Read once (a getter that throws is INVALID_ARGUMENT naming the field); everything below works on the copies.
    const lim = readFields('RuleStream', 'limits', limits, ['center', 'sigma', 'ucl', 'lcl'] as const) as StreamLimits;
    if (typeof ruleSet !== 'object' || ruleSet === null) throw invalid('RuleStream', 'ruleSet', 'a rule set { rules, runLength }', ruleSet, 'INVALID_ARGUMENT');
    const rs = readFields('RuleStream', 'ruleSet', ruleSet, ['rules', 'runLength'] as const);
    const rset = { rules: Array.isArray(rs.rules) ? Array.from(rs.rules as unknown[]) : rs.rules, runLength: rs.runLength } as RuleSet;
    if (typeof lim.sigma !== 'number' || !(lim.sigma >= 0) || !Number.isFinite(lim.sigma) || typeof lim.center !== 'number' || !Number.isFinite(lim.center)) {
      throw new LeptonError('INVALID_ARGUMENT', 'RuleStream: limits need a finite centre and a finite sigma ≥ 0; fit them on Phase I data first.', { details: { field: 'limits' } });
    }
    for (const key of ['ucl', 'lcl'] as const) {
      const v = lim[key];
      if (v !== undefined && (typeof v !== 'number' || Number.isNaN(v))) throw invalid('RuleStream', `limits.${key}`, 'a number', v, 'INVALID_ARGUMENT');
    }
    // An upper limit of −Infinity or a lower one of +Infinity puts every point beyond it (rule 1 on every point).
    if (lim.ucl === -Infinity) throw invalid('RuleStream', 'limits.ucl', 'a number above −Infinity (every point would break rule 1)', lim.ucl, 'INVALID_ARGUMENT');
    if (lim.lcl === Infinity) throw invalid('RuleStream', 'limits.lcl', 'a number below Infinity (every point would break rule 1)', lim.lcl, 'INVALID_ARGUMENT');
    // The window keeps the last 15 points: a longer run would read points that have left it.
    checkRuleSet('RuleStream', rset, DEPTH);
    this.ucl = lim.ucl ?? lim.center + 3 * lim.sigma;
    this.lcl = lim.lcl ?? lim.center - 3 * lim.sigma;
    // Default limits that overflow would silently switch rule 1 off. Only the defaulted ones are checked: an explicit
    // ±Infinity is a one-sided chart (`{ ucl: Infinity }` was refused as MFG_NON_FINITE_RESULT, although both limits
    // given as ±Infinity were accepted, and evaluateRules takes infinite limits too).
    if (lim.ucl === undefined) finiteResult('RuleStream', 'centre + 3 sigma', this.ucl);
    if (lim.lcl === undefined) finiteResult('RuleStream', 'centre − 3 sigma', this.lcl);
    // Equal explicit limits leave no in-control point either (a defaulted pair is equal only for sigma 0).
    if (this.ucl < this.lcl || (this.ucl === this.lcl && (lim.ucl !== undefined || lim.lcl !== undefined))) {
      throw new LeptonError('INVALID_ARGUMENT', 'RuleStream: the upper control limit is not above the lower one, so every point would break rule 1; swap them or fit them again.', {
        details: { field: 'limits' },
      });
    }
    this.on = Array.from({ length: 9 }, (_, r) => rset.rules.includes(r as NelsonRule));
    // Copies: push() reads the centre, sigma and run length on every point, and they were checked only here (a sigma
    // set to NaN afterwards would switch rules 2–8 off without a word; a longer run would read points that left the window).
    this.limits = { center: lim.center, sigma: lim.sigma, ...(lim.ucl !== undefined ? { ucl: lim.ucl } : {}), ...(lim.lcl !== undefined ? { lcl: lim.lcl } : {}) };
    this.ruleSet = { rules: [...rset.rules], runLength: rset.runLength };
  }

  /** Points judged so far (rejected values are not counted here). */
  get count(): number {
    return this.n;
  }

  /** Values rejected because they were not finite numbers (NaN, ±Infinity, not a number at all). */
  get rejected(): number {
    return this.nRejected;
  }

  /**
   * The last judged points, oldest first: at most 15, the longest pattern any rule looks at. Pushing them into a new
   * stream with the same limits and rule set gives a stream that judges every later point exactly as this one would
   * (how `LineMonitor` snapshots hand an asset's charts to another process).
   *
   * @returns up to 15 values, oldest first
   */
  recent(): number[] {
    const m = Math.min(this.n, DEPTH);
    return Array.from({ length: m }, (_, i) => this.p(m - 1 - i));
  }

  /** The k-th most recent point (0 = newest). */
  private p(k: number): number {
    return this.points[(this.n - 1 - k) % DEPTH]!;
  }

  private zk(k: number): number {
    return this.z[(this.n - 1 - k) % DEPTH]!;
  }

  /**
   * Judges the next point.
   *
   * @param value - the plotted statistic (subgroup mean, individual value …)
   * @returns the rules this point violates (`index` is the point's position among the points judged, from 0); none for
   *   a rejected value
   */
  push(value: number): Violation[] {
    // Cheap guard on the hot path: a NaN in the window would make every comparison false for 15 points.
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      this.nRejected++;
      return [];
    }
    const { center, sigma } = this.limits;
    const slot = this.n % DEPTH;
    this.points[slot] = value;
    this.z[slot] = sigma > 0 ? (value - center) / sigma : 0;
    this.n++;
    const n = this.n;
    const index = n - 1;
    const out: Violation[] = [];
    const add = (rule: NelsonRule): void => {
      out.push({ rule, index, description: RULE_DESCRIPTIONS[rule] });
    };
    const zi = this.zk(0);
    if (this.on[1] && (value > this.ucl || value < this.lcl)) add(1);
    if (this.on[2] && n >= this.ruleSet.runLength) {
      let pos = 0;
      let neg = 0;
      for (let k = 0; k < this.ruleSet.runLength; k++) {
        const v = this.zk(k);
        if (v > 0) pos++;
        else if (v < 0) neg++;
      }
      if (pos === this.ruleSet.runLength || neg === this.ruleSet.runLength) add(2);
    }
    if (this.on[3] && n >= 6) {
      let up = true;
      let down = true;
      for (let k = 0; k < 5; k++) {
        const newer = this.p(k);
        const older = this.p(k + 1);
        if (!(newer > older)) up = false;
        if (!(newer < older)) down = false;
      }
      if (up || down) add(3);
    }
    if (this.on[4] && n >= 14) {
      let ok = true;
      let prev = 0;
      for (let k = 12; k >= 0 && ok; k--) {
        const d = Math.sign(this.p(k) - this.p(k + 1));
        if (d === 0 || (k < 12 && d !== -prev)) ok = false;
        prev = d;
      }
      if (ok) add(4);
    }
    // m of the last k beyond `beyond` σ on the side of the new point, which must itself be one of them.
    const sameSide = (k: number, m: number, beyond: number): boolean => {
      if (n < k) return false;
      const side = zi > beyond ? 1 : zi < -beyond ? -1 : 0;
      if (side === 0) return false;
      let count = 0;
      for (let q = 0; q < k; q++) if (side * this.zk(q) > beyond) count++;
      return count >= m;
    };
    if (this.on[5] && sameSide(3, 2, 2)) add(5);
    if (this.on[6] && sameSide(5, 4, 1)) add(6);
    if (this.on[7] && n >= 15) {
      let all = true;
      for (let k = 0; k < 15 && all; k++) if (!(Math.abs(this.zk(k)) < 1)) all = false;
      if (all) add(7);
    }
    if (this.on[8] && n >= 8) {
      let all = true;
      let pos = false;
      let neg = false;
      for (let k = 0; k < 8; k++) {
        const v = this.zk(k);
        if (!(Math.abs(v) > 1)) all = false;
        if (v > 0) pos = true;
        if (v < 0) neg = true;
      }
      if (all && pos && neg) add(8);
    }
    return out;
  }
}
