import { describe, expect, it } from 'vitest';
import { computeOee, generateRunToFailure, HotellingT2, initRuntime, nasaScore, resample, RulModel, rulTarget, type CountEvent, type StateEvent } from '@lepton/manufacturing';

// Issue 15 for the entry points outside SPC and the line monitor: a NaN, an Infinity or a value of the wrong type is a
// typed LeptonError naming the field, never a NaN (or a hang) in the result.
const code = (c: string, field?: string) => expect.objectContaining({ name: 'LeptonError', code: c, ...(field !== undefined && { details: expect.objectContaining({ field }) }) });

describe('OEE input validation', () => {
  const t0 = Date.UTC(2026, 4, 4, 6);
  const states: StateEvent[] = [{ timestamp: t0, asset: 'press-1', state: 'running' }];
  const counts: CountEvent[] = [{ timestamp: t0 + 1000, asset: 'press-1', good: 950, reject: 50 }];
  const options = { shifts: [{ name: 'early', start: '06:00', end: '14:00' }], idealCycleSeconds: { 'press-1': 25 }, from: t0, to: t0 + 8 * 3_600_000 };

  it('computes finite OEE for valid input', () => {
    const [r] = computeOee(states, counts, options);
    expect(r!.oee).toBeCloseTo(1 * ((25 * 1000) / (8 * 3600)) * 0.95, 12);
  });

  it('refuses NaN times, negative or fractional counts, unknown states and unbounded periods with typed errors', () => {
    expect(() => computeOee([{ ...states[0]!, timestamp: Number.NaN }], counts, options)).toThrow(code('INVALID_INPUT', 'states[0].timestamp'));
    expect(() => computeOee([{ ...states[0]!, state: 'busy' as never }], counts, options)).toThrow(code('INVALID_INPUT', 'states[0].state'));
    expect(() => computeOee(states, [{ ...counts[0]!, good: Number.NaN }], options)).toThrow(code('INVALID_INPUT', 'counts[0].good'));
    expect(() => computeOee(states, [{ ...counts[0]!, reject: -3 }], options)).toThrow(code('INVALID_INPUT', 'counts[0].reject'));
    expect(() => computeOee(states, [{ ...counts[0]!, good: '950' as never }], options)).toThrow(code('INVALID_INPUT', 'counts[0].good'));
    expect(() => computeOee(states, counts, { ...options, to: Number.NaN })).toThrow(code('INVALID_ARGUMENT', 'options.to'));
    expect(() => computeOee(states, counts, { ...options, from: 0, to: 1e15 })).toThrow(code('INVALID_ARGUMENT', 'options.to'));
    // Before 1970 (or beyond year 275760) is outside the dates the period may take at all.
    expect(() => computeOee(states, counts, { ...options, from: -1e15, to: 1e15 })).toThrow(code('INVALID_ARGUMENT', 'options.from'));
    expect(() => computeOee(states, counts, { ...options, utcOffsetMinutes: Infinity })).toThrow(code('INVALID_ARGUMENT'));
    expect(() => computeOee(states, counts, { ...options, idealCycleSeconds: { 'press-1': Infinity } })).toThrow(code('INVALID_ARGUMENT'));
    expect(() => computeOee(null as never, counts, options)).toThrow(code('INVALID_INPUT', 'states'));
  });
});

describe('remaining useful life input validation', () => {
  it('rulTarget and nasaScore refuse non-finite input; an overflowing score is a typed error, not Infinity', () => {
    expect(() => rulTarget(Number.NaN, 200)).toThrow(code('INVALID_INPUT', 'cycle'));
    expect(() => nasaScore([50, Number.NaN], [40, 60])).toThrow(code('INVALID_INPUT', 'trueRul[1]'));
    expect(() => nasaScore([50], [Infinity])).toThrow(code('INVALID_INPUT', 'predRul[0]'));
    expect(() => nasaScore([0], [1e4])).toThrow(code('MFG_NON_FINITE_RESULT'));
    expect(() => generateRunToFailure({ units: Number.NaN })).toThrow(code('INVALID_ARGUMENT', 'options.units'));
  });

  it('fit and predict refuse NaN rows and rows of the wrong width before any tensor is made', async () => {
    await initRuntime({ backend: 'wasm' }, {});
    const fleet = generateRunToFailure({ units: 3, seed: 1 });
    const bad = fleet.map((u) => ({ ...u, rows: u.rows.map((r) => [...r]) }));
    bad[1]!.rows[17]![2] = Number.NaN;
    await expect(RulModel.fit(bad, { window: 10, epochs: 1 })).rejects.toThrow(code('INVALID_INPUT', 'units[1].rows[17][2]'));
    await expect(RulModel.fit(fleet, { window: Number.NaN })).rejects.toThrow(code('INVALID_ARGUMENT', 'options.window'));
    const model = await RulModel.fit(fleet, { window: 10, epochs: 1, seed: 1 });
    try {
      const rows = fleet[0]!.rows.slice(0, 40).map((r) => [...r]);
      rows[35]![0] = Infinity;
      await expect(model.predict([rows])).rejects.toThrow(code('INVALID_INPUT', 'histories[0][5][0]'));
      await expect(model.predict([[[1, 2]]])).rejects.toThrow(code('INVALID_INPUT', 'histories[0][0]'));
      await expect(model.predict([[]])).rejects.toThrow(code('INVALID_INPUT', 'histories[0]'));
      const [p] = await model.predict([fleet[0]!.rows.slice(0, 40)]);
      expect(Number.isFinite(p!.rul) && Number.isFinite(p!.health)).toBe(true);
    } finally {
      model.dispose();
    }
  }, 60_000);
});

describe('resample input validation', () => {
  it('refuses NaN timestamps, infinite or non-numeric values and grids that would not end', () => {
    expect(() => resample([0, Number.NaN, 2000], [1, 2, 3], { intervalMs: 1000 })).toThrow(code('INVALID_INPUT', 'timestamps[1]'));
    expect(() => resample([0, 1000], [1, Infinity], { intervalMs: 1000 })).toThrow(code('INVALID_INPUT', 'values[1]'));
    expect(() => resample([0, 1000], [1, '2' as never], { intervalMs: 1000 })).toThrow(code('INVALID_INPUT', 'values[1]'));
    expect(() => resample([0, 1000], [1, 2], { intervalMs: Number.NaN })).toThrow(code('INVALID_ARGUMENT', 'options.intervalMs'));
    expect(() => resample([0, 1000], [1, 2], { intervalMs: 1000, fill: 'cubic' as never })).toThrow(code('INVALID_ARGUMENT', 'options.fill'));
    // 1e20 ms at 1 ms steps used to loop for ever (t += 1 no longer changes t): now a typed error at once.
    expect(() => resample([1e20, 1e20 + 1e9], [1, 2], { intervalMs: 1 })).toThrow(code('INVALID_ARGUMENT', 'options.intervalMs'));
    expect(() => resample([0, 1], [1, 2], { intervalMs: 1, end: Infinity })).toThrow(code('INVALID_ARGUMENT', 'options.end'));
    // NaN stays the missing-value marker.
    expect(Array.from(resample([0, 1000, 2000], [1, Number.NaN, 3], { intervalMs: 1000 }).values)).toEqual([1, 1, 3]);
  });
});

describe('Hotelling T² input validation', () => {
  const rows = Array.from({ length: 40 }, (_, i) => [Math.sin(i), Math.cos(i * 1.3), (i % 7) / 7]);
  it('refuses NaN rows and samples instead of returning NaN scores', () => {
    const bad = rows.map((r) => [...r]);
    bad[12]![1] = Number.NaN;
    expect(() => HotellingT2.fit(bad)).toThrow(code('INVALID_INPUT', 'rows[12][1]'));
    expect(() => HotellingT2.fit(rows, Number.NaN)).toThrow(code('INVALID_ARGUMENT', 'quantile'));
    const t2 = HotellingT2.fit(rows);
    expect(Number.isFinite(t2.threshold)).toBe(true);
    expect(() => t2.score([0, Number.NaN, 0])).toThrow(code('INVALID_INPUT', 'x[1]'));
    expect(() => t2.score([0, 0])).toThrow(code('INVALID_INPUT', 'x'));
    expect(() => t2.score([1e308, -1e308, 1e308])).toThrow(code('MFG_NON_FINITE_RESULT'));
    expect(Number.isFinite(t2.score([0.1, 0.2, 0.3]).t2)).toBe(true);
  });
});
