import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '@lepton/core';
import { binCategorical, Scorecard, type Applicant, type Characteristic } from '@lepton/finance';

// German credit (Statlog) from Debian's r-cran-caret, exported by fixtures/make_german_credit.R, with R's own WoE/IV.
const rows = parse(readFileSync(new URL('./fixtures/german_credit.csv', import.meta.url)), { columns: true, cast: true }) as Array<Record<string, string | number>>;
const reference = JSON.parse(readFileSync(new URL('./fixtures/german_credit_iv.json', import.meta.url), 'utf8')) as { iv: number; woe: Record<string, number> };
const bad = rows.map((r) => (r['Class'] === 'Bad' ? 1 : 0));
const applicants: Applicant[] = rows.map(({ Class: _, ...rest }) => rest);

const characteristics: Characteristic[] = [
  ...['Duration', 'Amount', 'Age', 'InstallmentRatePercentage'].map((name) => ({ name, type: 'numeric' as const })),
  ...['CheckingAccountStatus', 'CreditHistory', 'Purpose', 'SavingsAccountBonds', 'EmploymentDuration', 'Property', 'Housing', 'OtherInstallmentPlans'].map(
    (name) => ({ name, type: 'categorical' as const }),
  ),
];

// Seeded 70/30 split.
const rand = seededRandom(42);
const isTrain = rows.map(() => rand() < 0.7);
const pick = <T>(xs: T[], train: boolean): T[] => xs.filter((_, i) => isTrain[i] === train);

describe('credit scorecard on the German credit data', () => {
  it('weight of evidence and information value match R on the same counts', () => {
    expect(rows).toHaveLength(1000);
    expect(bad.filter((b) => b === 1)).toHaveLength(300);
    const b = binCategorical('CheckingAccountStatus', applicants.map((a) => String(a['CheckingAccountStatus'])), bad, { minShare: 0 });
    expect(b.iv).toBeCloseTo(reference.iv, 12);
    for (const bin of b.bins) expect(bin.woe).toBeCloseTo(reference.woe[bin.categories![0]!]!, 12);
  });

  const card = Scorecard.fit(pick(applicants, true), pick(bad, true), { characteristics, pdo: 20, baseScore: 600, baseOdds: 50 });

  it('bins numeric characteristics monotonically and keeps the informative ones', () => {
    for (const b of card.binnings.filter((x) => x.type === 'numeric')) {
      const rates = b.bins.map((x) => x.bads / (x.goods + x.bads));
      for (let i = 1; i < rates.length; i++) {
        if (b.trend === 'increasing') expect(rates[i]).toBeGreaterThanOrEqual(rates[i - 1]!);
        else expect(rates[i]).toBeLessThanOrEqual(rates[i - 1]!);
      }
      expect(b.bins.length).toBeLessThanOrEqual(5);
      expect(b.bins.every((x) => x.goods + x.bads >= 0.05 * isTrain.filter(Boolean).length)).toBe(true);
    }
    const ivs = Object.fromEntries(card.binnings.map((b) => [b.feature, b.iv]));
    // Checking-account status is the strongest characteristic of this data set, as every study of it finds.
    expect(Math.max(...Object.values(ivs))).toBe(ivs['CheckingAccountStatus']);
    expect(ivs['Duration']).toBeGreaterThan(0.1);
  });

  it('separates good from bad on held-out applicants (Gini, KS)', () => {
    const ev = card.evaluate(pick(applicants, false), pick(bad, false));
    expect(ev.gini).toBeGreaterThan(0.45);
    expect(ev.ks).toBeGreaterThan(0.3);
  });

  it('scales points so that 20 points double the odds, consistent with the probability', () => {
    const factor = 20 / Math.LN2;
    const offset = 600 - factor * Math.log(50);
    for (const a of pick(applicants, false).slice(0, 50)) {
      const s = card.score(a);
      expect(s.score).toBeCloseTo(offset + factor * Math.log((1 - s.probabilityBad) / s.probabilityBad), 8);
      expect(s.attributes.reduce((t, x) => t + x.points, 0)).toBeCloseTo(s.score, 8);
    }
  });

  it('gives adverse-action reasons: where the applicant lost most points', () => {
    const scored = pick(applicants, false).map((a) => card.score(a));
    const worst = scored.reduce((w, s) => (s.score < w.score ? s : w));
    expect(worst.reasons.length).toBeGreaterThan(0);
    expect(worst.reasons.map((r) => r.pointsBelowMax)).toEqual([...worst.reasons.map((r) => r.pointsBelowMax)].sort((x, y) => y - x));
    const top = worst.reasons[0]!;
    const attr = worst.attributes.find((x) => x.characteristic === top.characteristic)!;
    expect(top.pointsBelowMax).toBeCloseTo(attr.maxPoints - attr.points, 10);
    // An applicant with the best attribute everywhere has nothing to explain.
    const best: Applicant = {};
    for (const b of card.binnings) {
      const bin = b.bins.reduce((x, y) => (y.woe > x.woe ? y : x));
      best[b.feature] = b.type === 'numeric' ? (Number.isFinite(bin.lower!) ? bin.lower! : bin.upper! - 1) : bin.categories![0]!;
    }
    expect(card.score(best).reasons).toEqual([]);
  });

  it('handles unseen categories and refuses missing characteristics', () => {
    const a: Applicant = { ...pick(applicants, false)[0]!, Purpose: 'Spaceship' };
    expect(Number.isFinite(card.score(a).score)).toBe(true);
    const { CheckingAccountStatus: _, ...missing } = a;
    expect(() => card.score(missing)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(card.table().length).toBe(card.binnings.reduce((s, b) => s + b.bins.length, 0));
  });
});
