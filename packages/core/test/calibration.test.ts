import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { brierScore, calibratorFromJSON, expectedCalibrationError, fitIsotonic, fitPlatt, populationStabilityIndex } from '@lepton/core';

// Reference values from scikit-learn (sigmoid calibration, IsotonicRegression): fixtures/make_metrics_fixture.py.
const { calibration: c } = JSON.parse(readFileSync(new URL('./fixtures/metrics.json', import.meta.url), 'utf8')) as {
  calibration: {
    y: number[];
    scores: number[];
    grid: number[];
    platt: { a: number; b: number; grid: number[] };
    isotonic: { grid: number[]; train: number[] };
  };
};

describe('probability calibration vs scikit-learn', () => {
  it('Platt scaling finds the same curve', () => {
    const platt = fitPlatt(c.scores, c.y);
    const { a, b } = platt.toJSON() as { a: number; b: number };
    expect(a).toBeCloseTo(c.platt.a, 3);
    expect(b).toBeCloseTo(c.platt.b, 3);
    c.grid.forEach((s, i) => expect(platt.predict(s)).toBeCloseTo(c.platt.grid[i]!, 4));
  });

  it('isotonic regression gives the same step function, interpolated and clipped', () => {
    const iso = fitIsotonic(c.scores, c.y);
    c.grid.forEach((s, i) => expect(iso.predict(s)).toBeCloseTo(c.isotonic.grid[i]!, 10));
    c.scores.forEach((s, i) => expect(iso.predict(s)).toBeCloseTo(c.isotonic.train[i]!, 10));
  });

  it('calibration improves reliability of over-confident scores, and survives JSON', () => {
    const before = expectedCalibrationError(c.y, c.scores);
    for (const cal of [fitPlatt(c.scores, c.y), fitIsotonic(c.scores, c.y)]) {
      const restored = calibratorFromJSON(JSON.parse(JSON.stringify(cal.toJSON())));
      const probs = c.scores.map((s) => restored.predict(s));
      expect(probs).toEqual(c.scores.map((s) => cal.predict(s)));
      expect(expectedCalibrationError(c.y, probs)).toBeLessThan(before);
      expect(brierScore(c.y, probs)).toBeLessThan(brierScore(c.y, c.scores));
    }
    expect(() => calibratorFromJSON({ kind: 'nope' } as never)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => fitPlatt([0.1, 0.2], [1, 1])).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });
});

describe('population stability index', () => {
  it('is 0 for the same distribution and matches a hand computation for a shift', () => {
    const base = Array.from({ length: 1000 }, (_, i) => i / 1000);
    expect(populationStabilityIndex(base, base).psi).toBeCloseTo(0, 12);
    // Half of the current sample moves into the top decile: shares 0.0556 in each of 9 bins, 0.5 in the last.
    const shifted = [...base.filter((_, i) => i % 2 === 0).map((v) => v * 0.9), ...Array.from({ length: 500 }, () => 0.95)];
    const r = populationStabilityIndex(base, shifted, 10);
    const expected = r.expected.reduce((s, e, i) => s + (r.actual[i]! - e) * Math.log(r.actual[i]! / e), 0);
    expect(r.psi).toBeCloseTo(expected, 12);
    expect(r.actual[9]).toBeCloseTo(0.5, 2);
    expect(r.psi).toBeGreaterThan(0.25);
    expect(r.expected.every((e) => Math.abs(e - 0.1) < 1e-9)).toBe(true);
  });
});
