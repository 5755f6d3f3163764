import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { evaluateRules, NELSON, RuleStream, WESTERN_ELECTRIC, type Chart, type RuleSet } from '@lepton/manufacturing';

// Expected violations from an independent numpy implementation of the textbook rule definitions, on seeded random
// series: regenerate with `python3 packages/manufacturing/test/reference/spc_rules.py`.
interface Case {
  center: number;
  sigma: number;
  ucl: number;
  lcl: number;
  points: number[];
  westernElectric: Array<[number, number]>;
  nelson: Array<[number, number]>;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/spc-rules.json', import.meta.url), 'utf8')) as { cases: Case[] };

const chartOf = (c: Case): Chart => ({
  kind: 'I',
  points: c.points,
  limits: { center: c.center, ucl: c.points.map(() => c.ucl), lcl: c.points.map(() => c.lcl), sigma: c.points.map(() => c.sigma) },
});
const sets: Array<[string, RuleSet, 'westernElectric' | 'nelson']> = [
  ['Western Electric', WESTERN_ELECTRIC, 'westernElectric'],
  ['Nelson', NELSON, 'nelson'],
];

describe('run rules against the numpy reference (textbook definitions, seeded random series)', () => {
  it('the fixture exercises every rule', () => {
    expect(fixture.cases.length).toBeGreaterThan(50);
    const fired = new Set(fixture.cases.flatMap((c) => c.nelson.map(([rule]) => rule)));
    expect([...fired].sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('rule 5 never flags a point on the other side of the two beyond 2σ (z = +4.91, +5.73, −7.28)', () => {
    const c = fixture.cases[0]!;
    const got = evaluateRules(chartOf(c), { rules: [5], runLength: 9 }).map((v) => v.index);
    expect(c.points.slice(2, 5)).toEqual([4.91, 5.73, -7.28]);
    expect(got).not.toContain(4);
    expect(got).toEqual(c.nelson.filter(([r]) => r === 5).map(([, i]) => i));
  });

  for (const [name, ruleSet, key] of sets) {
    it(`evaluateRules reports exactly the reference violations (${name})`, () => {
      for (const [n, c] of fixture.cases.entries()) {
        const got = evaluateRules(chartOf(c), ruleSet).map((v) => [v.rule, v.index]);
        expect(got, `series ${n}`).toEqual(c[key]);
      }
    });

    it(`RuleStream, one point at a time, reports exactly the reference violations (${name})`, () => {
      for (const [n, c] of fixture.cases.entries()) {
        const stream = new RuleStream({ center: c.center, sigma: c.sigma, ucl: c.ucl, lcl: c.lcl }, ruleSet);
        const got = c.points.flatMap((p) => stream.push(p)).map((v) => [v.rule, v.index]);
        expect(got, `series ${n}`).toEqual(c[key]);
      }
    });
  }
});
