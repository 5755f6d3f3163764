import { LeptonError } from '@lepton/core';
import { RULE_DESCRIPTIONS, WESTERN_ELECTRIC, type NelsonRule, type RuleSet, type Violation } from './rules.js';

const DEPTH = 15; // the longest pattern any rule looks at (rule 7)

/** Phase II limits of a chart with constant limits, for {@link RuleStream}. */
export interface StreamLimits {
  /** Centre line. */
  center: number;
  /** One standard deviation of the plotted statistic. */
  sigma: number;
  /** Upper control limit; default centre + 3σ. */
  ucl?: number;
  /** Lower control limit; default centre − 3σ. */
  lcl?: number;
}

/**
 * Phase II run rules evaluated one point at a time, for live monitoring: each {@link RuleStream.push} judges only the
 * new point against the last 15 (the longest pattern), so the cost per point is constant. Gives exactly the
 * violations {@link evaluateRules} finds on the whole series (tested on random series for every rule).
 */
export class RuleStream {
  private readonly points = new Float64Array(DEPTH);
  private readonly z = new Float64Array(DEPTH);
  private n = 0;
  private readonly on: boolean[];
  private readonly ucl: number;
  private readonly lcl: number;

  /**
   * @param limits - Phase I centre, sigma and (optionally) limits
   * @param ruleSet - rules to apply (default Western Electric); switching rule sets needs no new limits
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a negative or non-finite sigma
   */
  constructor(
    readonly limits: StreamLimits,
    readonly ruleSet: RuleSet = WESTERN_ELECTRIC,
  ) {
    if (!(limits.sigma >= 0) || !Number.isFinite(limits.sigma) || !Number.isFinite(limits.center)) throw new LeptonError('INVALID_ARGUMENT', `Limits need a finite centre and sigma ≥ 0, got centre ${limits.center}, sigma ${limits.sigma}.`);
    this.ucl = limits.ucl ?? limits.center + 3 * limits.sigma;
    this.lcl = limits.lcl ?? limits.center - 3 * limits.sigma;
    this.on = Array.from({ length: 9 }, (_, r) => ruleSet.rules.includes(r as NelsonRule));
  }

  /** Points judged so far. */
  get count(): number {
    return this.n;
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
   * @returns the rules this point violates (`index` is the point's position in the stream, from 0)
   */
  push(value: number): Violation[] {
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
    const sameSide = (k: number, m: number, beyond: number): boolean => {
      if (n < k) return false;
      let above = 0;
      let below = 0;
      for (let q = 0; q < k; q++) {
        const v = this.zk(q);
        if (v > beyond) above++;
        if (v < -beyond) below++;
      }
      return above >= m || below >= m;
    };
    if (this.on[5] && Math.abs(zi) > 2 && sameSide(3, 2, 2)) add(5);
    if (this.on[6] && Math.abs(zi) > 1 && sameSide(5, 4, 1)) add(6);
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
