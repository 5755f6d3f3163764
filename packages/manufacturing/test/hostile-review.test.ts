// Findings of a hostile black-box review (2026-12-07), each reproduced here before its fix: finite but huge sensor
// values, damaged bundles, periods and counts near the limits of doubles, sparse arrays, and memory that ids from the
// network could grow.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime, isLeptonError } from '@lepton/core';
import { outcome } from '../../../tests/support/hostile.js';
import { AnomalyDetector, chartConstants, computeOee, controlChartSpec, HotellingT2, LineMonitor, QualityMonitor, resample, xbarR } from '@lepton/manufacturing';

const rows = Array.from({ length: 200 }, (_, i) => [Math.sin(i / 5), Math.cos(i / 7)]);
let det: AnomalyDetector;
let dir: string;

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
  det = await AnomalyDetector.fit(rows, { signals: ['a', 'b'], window: 4, epochs: 2, seed: 3 });
  dir = await mkdtemp(join(tmpdir(), 'lepton-mfg-hostile-'));
}, 120_000);

afterAll(async () => {
  await det?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('AnomalyDetector with runaway sensor values', () => {
  it('scores a finite but huge value (1e20, 1e39) as a finite alarm in every scoring path, not Infinity or NaN', async () => {
    const spike = [...rows.slice(0, 8), [1e20, 0], ...rows.slice(8, 12)];
    const scored = await det.scoreRows(spike);
    expect(scored.every((s) => Number.isFinite(s.score) && Object.values(s.contributions).every(Number.isFinite))).toBe(true);
    expect(scored.filter((s) => s.alarm).length).toBe(4); // the 4 windows that hold the spike
    const live = det.stream();
    for (const r of rows.slice(0, 3)) await live.push(r);
    const hit = await live.push([1e39, 0]);
    expect(Number.isFinite(hit!.score) && hit!.alarm).toBe(true);
    const after = await live.push([0, 1]);
    expect(Number.isFinite(after!.score)).toBe(true);
    const batch = await det.scoreBatch(new Float32Array([0, 1, 0, 1, 3e38, 1, 0, 1]), 1);
    expect(Number.isFinite(batch[0]!.score) && batch[0]!.alarm).toBe(true);
    // A non-finite raw value is still refused, not clipped into a score.
    expect(await outcome(() => det.scoreBatch(new Float32Array([0, 1, 0, 1, Infinity, 1, 0, 1]), 1))).toBe('LeptonError INVALID_INPUT');
  });

  it('keeps a finite threshold when a calibration row is huge; refuses training data whose spread overflows', async () => {
    const copy = await mkdtemp(join(dir, 'cal-'));
    await det.save(copy, { name: 'cal', version: '1.0.0' });
    const d = await AnomalyDetector.load(copy);
    try {
      const c = await d.calibrate([...rows.slice(0, 20), [1e20, 0]], { quantile: 1 });
      expect(Number.isFinite(c.threshold)).toBe(true);
      expect((await d.scoreRows(rows.slice(0, 10))).every((s) => !s.alarm)).toBe(true);
    } finally {
      await d.close();
    }
    const huge = Array.from({ length: 200 }, (_, i) => [i % 2 ? 1e308 : -1e308, 0]);
    expect(await outcome(() => AnomalyDetector.fit(huge, { signals: ['a', 'b'], window: 4, epochs: 1 }))).toBe('LeptonError INVALID_INPUT');
  }, 60_000);

  it('LineMonitor raises the model alarm for a 1e20 reading instead of rejecting every push of its window', async () => {
    const lm = new LineMonitor({ signals: ['a', 'b'], detector: det });
    const t0 = Date.now() - 100_000;
    let i = 0;
    const tick = async (a: number, b: number): Promise<void> => {
      const timestamp = t0 + 1000 * i++;
      await lm.push({ timestamp, asset: 'p', signal: 'a', value: a, quality: 'good' });
      await lm.push({ timestamp, asset: 'p', signal: 'b', value: b, quality: 'good' });
    };
    for (let k = 0; k < 6; k++) await tick(Math.sin(k / 5), Math.cos(k / 7));
    await tick(1e20, 0);
    for (let k = 0; k < 4; k++) await tick(0, 1);
    expect(lm.stats().raised.model).toBe(1);
  });
});

describe('AnomalyDetector bundles', () => {
  it('a detector set to never alarm (threshold Infinity) loads the same, not as "always alarm"', async () => {
    const copy = await mkdtemp(join(dir, 'inf-'));
    await det.save(copy, { name: 'inf', version: '1.0.0' });
    const d = await AnomalyDetector.load(copy);
    d.setThreshold(Infinity);
    const again = await mkdtemp(join(dir, 'inf2-'));
    await d.save(again, { name: 'inf', version: '1.0.0' });
    await d.close();
    const back = await AnomalyDetector.load(again);
    try {
      expect(back.threshold).toBe(Infinity);
      expect((await back.scoreRows([...rows.slice(0, 8), [1e20, 0]])).some((s) => s.alarm)).toBe(false);
    } finally {
      await back.close();
    }
  });

  it.each([
    ['a negative window', (p: Record<string, unknown>) => (p['window'] = -3), /window/],
    ['a window given as text', (p: Record<string, unknown>) => (p['window'] = '4'), /window/],
    ['an LSTM kind on a dense model', (p: Record<string, unknown>) => (p['kind'] = 'lstm'), /model takes/],
    ['a threshold given as text', (p: Record<string, unknown>) => (p['threshold'] = '0.5'), /threshold/],
    ['zero signal scales', (p: Record<string, unknown>) => (p['signalScale'] = [0, 0]), /signal scales/],
    ['a zero standard deviation', (p: Record<string, unknown>) => (p['std'] = [0, 1]), /standard deviations/],
    ['normal scores given as text', (p: Record<string, unknown>) => (p['validationScores'] = 'abc'), /normal scores/],
    ['unsorted normal scores', (p: Record<string, unknown>) => (p['validationScores'] = [3, 1, 2]), /normal scores/],
    ['a mean missing for one signal', (p: Record<string, unknown>) => (p['mean'] = [0]), /means/],
  ])('refuses a bundle with %s (BUNDLE_INVALID)', async (_, damage, why) => {
    const copy = await mkdtemp(join(dir, 'bad-'));
    await det.save(copy, { name: 'bad', version: '1.0.0' });
    const file = join(copy, 'lepton.json');
    const manifest = JSON.parse(await readFile(file, 'utf8')) as { preprocessing: Record<string, unknown> };
    damage(manifest.preprocessing);
    await writeFile(file, JSON.stringify(manifest));
    const err = await AnomalyDetector.load(copy).then(
      (d) => (d.dispose(), undefined),
      (e: unknown) => e,
    );
    // The bundle's checksums cover the model files; the manifest's preprocessing is read back and checked on load.
    expect(isLeptonError(err, 'BUNDLE_INVALID')).toBe(true);
    expect((err as Error).message).toMatch(why);
  });
});

describe('computeOee at the edges of doubles', () => {
  const shifts = [{ name: 'a', start: '06:00', end: '14:00' }];
  it('refuses a period beyond the dates JavaScript holds at once instead of looping forever', () => {
    const t0 = performance.now();
    expect(() => computeOee([], [], { shifts, idealCycleSeconds: {}, from: 1e25, to: 1e25 + 2 ** 32 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('refuses an ideal cycle time whose performance overflows, and part counts beyond 2^53', () => {
    const t0 = Date.UTC(2026, 4, 4, 6);
    const states = [{ timestamp: t0, asset: 'p', state: 'running' as const }];
    const period = { shifts, from: t0, to: t0 + 8 * 3_600_000 };
    expect(() => computeOee(states, [{ timestamp: t0 + 1, asset: 'p', good: 5, reject: 0 }], { ...period, idealCycleSeconds: { p: 1e308 } })).toThrow(expect.objectContaining({ code: 'MFG_NON_FINITE_RESULT' }));
    const big = Number.MAX_SAFE_INTEGER;
    const counts = [1, 2].map((k) => ({ timestamp: t0 + k, asset: 'p', good: big, reject: 0 }));
    expect(() => computeOee(states, counts, { ...period, idealCycleSeconds: { p: 1 } })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });
});

describe('QualityMonitor state', () => {
  it('keeps asset/signal pairs apart whatever characters their ids hold (NUL included)', () => {
    const q = new QualityMonitor({ now: () => 10_000 });
    q.check({ timestamp: 1000, asset: 'press', signal: 'x\u0000temp', value: 1, quality: 'good' });
    const v = q.check({ timestamp: 500, asset: 'press\u0000x', signal: 'temp', value: 1, quality: 'good' });
    expect(v.clean).toBe(true);
  });

  it('refuses a new pair beyond maxSignals (MFG_MAX_ASSETS), keeps judging known ones, and takes new ones after forgetSignal', () => {
    const q = new QualityMonitor({ now: () => 10_000, maxSignals: 2 });
    q.check({ timestamp: 1000, asset: 'a', signal: 's', value: 1, quality: 'good' });
    q.check({ timestamp: 1000, asset: 'b', signal: 's', value: 1, quality: 'good' });
    expect(() => q.check({ timestamp: 1000, asset: 'c', signal: 's', value: 1, quality: 'good' })).toThrow(expect.objectContaining({ code: 'MFG_MAX_ASSETS' }));
    expect(q.check({ timestamp: 2000, asset: 'a', signal: 's', value: 2, quality: 'good' }).clean).toBe(true);
    q.forgetSignal('b', 's');
    expect(q.check({ timestamp: 1000, asset: 'c', signal: 's', value: 1, quality: 'good' }).clean).toBe(true);
    expect(() => new QualityMonitor({ maxSignals: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('sparse arrays and shared objects', () => {
  it('a hole in the rows is INVALID_INPUT, never a raw TypeError or a made-up row', async () => {
    // eslint-disable-next-line no-sparse-arrays
    expect(await outcome(() => HotellingT2.fit([[1], , [3], [4]] as number[][]))).toBe('LeptonError INVALID_INPUT');
    // eslint-disable-next-line no-sparse-arrays
    expect(await outcome(() => xbarR([[1, 2], , [3, 4]] as number[][]))).toBe('LeptonError INVALID_INPUT');
  });

  it('chartConstants hands out a frozen object, so a caller cannot move every later chart limit', () => {
    const k = chartConstants(5);
    expect(Object.isFrozen(k)).toBe(true);
    expect(() => {
      (k as { A2: number }).A2 = 0;
    }).toThrow(TypeError);
    expect(chartConstants(5).A2).toBeCloseTo(0.577, 3);
  });

  it('controlChartSpec refuses zones that overflow (MFG_NON_FINITE_RESULT); resample refuses an interval too small to place its grid', () => {
    const huge = { kind: 'I', points: [1], limits: { center: 1e308, ucl: [1e308], lcl: [0], sigma: [1e308] } };
    expect(() => controlChartSpec(huge)).toThrow(expect.objectContaining({ code: 'MFG_NON_FINITE_RESULT' }));
    expect(() => resample([1000, 2000], [1, 2], { intervalMs: 5e-324 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
