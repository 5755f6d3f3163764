import { describe, expect, it } from 'vitest';
import { initRuntime, rootMeanSquaredError } from '@lepton/core';
import { generateRunToFailure, nasaScore, RulModel, rulTarget } from '@lepton/manufacturing';

describe('remaining useful life', () => {
  it('uses the piecewise-linear target and the asymmetric NASA score', () => {
    expect([0, 50, 174, 199].map((c) => rulTarget(c, 200, 125))).toEqual([125, 125, 25, 0]);
    // late by 10 costs e − 1; early by 13 costs e − 1; exact costs nothing
    expect(nasaScore([50, 50, 50], [60, 37, 50])).toBeCloseTo(2 * (Math.E - 1), 12);
    expect(nasaScore([50], [60])).toBeGreaterThan(nasaScore([50], [40])); // late is worse than early
  });

  it('predicts RUL on held-out engines far better than a constant guess (synthetic run-to-failure data)', async () => {
    await initRuntime({ backend: 'wasm' }, {});
    const fleet = generateRunToFailure({ units: 24, seed: 5 });
    const trainUnits = fleet.slice(0, 18);
    const testUnits = fleet.slice(18);
    const model = await RulModel.fit(trainUnits, { window: 20, epochs: 15, seed: 2 });
    // Cut each test engine at several points of its life and predict the RUL there.
    const cases = testUnits.flatMap((u) => [0.3, 0.6, 0.8, 0.95].map((f) => ({ rows: u.rows.slice(0, Math.floor(u.rows.length * f)), life: u.rows.length })));
    const truth = cases.map((c) => rulTarget(c.rows.length - 1, c.life));
    const pred = (await model.predict(cases.map((c) => c.rows))).map((p) => p.rul);
    const rmse = rootMeanSquaredError(truth, pred);
    const mean = truth.reduce((a, b) => a + b, 0) / truth.length;
    const constant = rootMeanSquaredError(truth, truth.map(() => mean));
    expect(rmse).toBeLessThan(0.6 * constant);
    expect(nasaScore(truth, pred)).toBeLessThan(nasaScore(truth, truth.map(() => mean)));
    const health = (await model.predict([testUnits[0]!.rows.slice(0, 30), testUnits[0]!.rows])).map((p) => p.health);
    expect(health[0]).toBeGreaterThan(health[1]!); // a new engine is healthier than one at failure
    model.dispose();
  }, 120_000);
});
