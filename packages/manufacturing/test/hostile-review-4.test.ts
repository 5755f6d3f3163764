// Findings of a fourth hostile review (analytics: SPC, maintenance, inspection, alarms, monitoring, simulation), each
// reproduced here before its fix. Section numbers are the report's finding numbers.
//  1. HIGH: an asset snapshot with a sample time far in the future blinded a signal for good (every sample out of order).
//  2. HIGH: DefectInspector.load / DefectClassifier.load accepted damaged preprocessing (NaN scores: every part passed).
//  3. MEDIUM: AlarmManager.restoreTracks half-restored a sparse array; holes in evidence.signals; unknown fields kept.
//  4. MEDIUM: AlarmManager let an episode clear before it was raised, and merged one key across assets.
//  5. MEDIUM: constant data gave Pp ≈ 2e15, zero-width charts and a baseline σ of rounding noise.
//  6. MEDIUM: a LineMonitor SPC subgroup spanned a three-day gap.
//  7. cycleMeans: 0 for a signal missing all cycle, Infinity on overflow, holes skipped.
//  8. DefectInspector.fit checked validationFraction against the data only after training.
//  9. RulModel.fit normalisation overflowed silently.
// 10. RuleStream accepted { lcl: Infinity } / { ucl: -Infinity }.
// 11. controlChartSpec wrote ±Infinity limits (null in JSON) and dropped out-of-range violations.
// 12. Getters that throw and sparse option arrays escaped as raw errors.
// 13. The simulators and lineRecords let non-finite or wrong-typed values out.
// 14. generateParts had no joint bound on count × size².
// 15. nasaScore([], []) was 0; a length mismatch named no field.
// 16. HotellingT2.threshold took NaN.
import { mkdtemp, readFile, rm, writeFile, mkdir, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime, seededRandom, tf, type LeptonError } from '@lepton/core';
import {
  AlarmManager,
  bearingRunToFailure,
  capability,
  controlChartSpec,
  cusum,
  cycleMeans,
  DefectClassifier,
  DefectInspector,
  ewma,
  generateParts,
  HotellingT2,
  individuals,
  LINE_SIGNALS,
  lineRecords,
  LineMonitor,
  nasaScore,
  QualityMonitor,
  RuleStream,
  RulModel,
  simulateLine,
  simulateMachine,
  xbarR,
  xbarS,
  type AlarmTrackSnapshot,
  type LineEvent,
  type SimulatedLine,
} from '@lepton/manufacturing';

let dir: string;
beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
  dir = await mkdtemp(join(tmpdir(), 'lepton-review4-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The LeptonError `f` throws (fails the test when it throws nothing or something else). */
function caught(f: () => unknown): LeptonError {
  try {
    f();
  } catch (e) {
    expect((e as Error).name).toBe('LeptonError');
    return e as LeptonError;
  }
  throw new Error('expected a LeptonError, nothing was thrown');
}
async function caughtAsync(f: () => Promise<unknown>): Promise<LeptonError> {
  try {
    await f();
  } catch (e) {
    expect((e as Error).name).toBe('LeptonError');
    return e as LeptonError;
  }
  throw new Error('expected a LeptonError, nothing was thrown');
}
const throwing = (): never => {
  throw new Error('boom');
};

const T0 = Date.UTC(2026, 0, 5);
const monitorAt = (now: number) =>
  new LineMonitor({ signals: ['p'], baseline: { '*': { p: { center: 5, sigma: 0.1 } } }, subgroup: 4, quality: { intervalMs: 1000, now: () => now }, ruleSet: { rules: [1], runLength: 8 } });

describe('1. a snapshot stamped in the future is refused whole', () => {
  it('refuses a lastTs past MAX_TIMESTAMP, and one past now() + maxClockSkewMs, restoring nothing; the signal stays judged', async () => {
    const now = T0 + 3_600_000;
    const a = monitorAt(now);
    await a.push({ timestamp: T0, asset: 'a', signal: 'p', value: 5, quality: 'good' });
    const good = JSON.parse(JSON.stringify(a.snapshotAsset('a'))) as Record<string, unknown> & { quality: Array<{ lastTs: number }>; lastSampleAt: number };

    const far = structuredClone(good);
    far.quality[0]!.lastTs = 4e15;
    far.lastSampleAt = 4e15;
    const b = monitorAt(now);
    const e1 = caught(() => b.restoreAsset(far));
    expect(e1.code).toBe('MFG_SNAPSHOT_INVALID');
    expect(e1.details?.field).toBe('lastSampleAt');

    // Within the timestamp range, but a day ahead of the restoring monitor's clock (skew bound 5 min by default).
    const ahead = structuredClone(good);
    ahead.quality[0]!.lastTs = now + 86_400_000;
    const e2 = caught(() => b.restoreAsset(ahead));
    expect(e2.code).toBe('MFG_SNAPSHOT_INVALID');
    expect(e2.details?.field).toBe('quality[0].lastTs');
    expect(b.snapshotAsset('a')).toBeUndefined(); // nothing applied

    // The signal is not blinded: 20σ samples are judged and alarm.
    const events: LineEvent[] = [];
    for (let i = 1; i <= 12; i++) events.push(...(await b.push({ timestamp: T0 + i * 1000, asset: 'a', signal: 'p', value: 9, quality: 'good' })));
    expect(events.filter((e) => e.type === 'quality' && e.issue.kind === 'out-of-order')).toHaveLength(0);
    expect(events.some((e) => e.type === 'raised' && e.alarm.evidence.source.startsWith('nelson'))).toBe(true);

    // The valid snapshot still restores.
    b.restoreAsset(good);
    expect(b.snapshotAsset('a')).toBeDefined();
  });

  it('QualityMonitor.restoreSignal refuses a lastTs past now() + maxClockSkewMs', () => {
    const q = new QualityMonitor({ now: () => T0 });
    const e = caught(() => q.restoreSignal('a', 'p', { lastTs: T0 + 86_400_000, lastValue: 1, repeats: 1 }));
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.details?.field).toBe('state.lastTs');
    expect(q.snapshotSignal('a', 'p')).toBeUndefined();
    expect(q.latestAcceptedTime()).toBe(T0 + 300_000);
  });
});

describe('2. damaged inspector and classifier bundles are refused on load', () => {
  const rand = seededRandom(3);
  const img = (): Float32Array => Float32Array.from({ length: 64 }, () => 0.4 + 0.2 * rand());

  /** Copies `src` to a new bundle directory whose manifest `patch` edits. */
  async function tampered(src: string, name: string, patch: (m: Record<string, any>) => void): Promise<string> {
    const d = join(dir, name);
    await mkdir(d);
    for (const f of await readdir(src)) await writeFile(join(d, f), await readFile(join(src, f)));
    const m = JSON.parse(await readFile(join(src, 'lepton.json'), 'utf8')) as Record<string, any>;
    patch(m);
    await writeFile(join(d, 'lepton.json'), JSON.stringify(m));
    return d;
  }

  it('inspector: smoothing, floor, error statistics and size are validated (BUNDLE_INVALID), the intact bundle loads', async () => {
    const insp = await DefectInspector.fit(Array.from({ length: 20 }, img), { width: 8, height: 8, epochs: 1, smoothing: 3 });
    const src = join(dir, 'insp');
    await insp.save(src, { name: 'insp', version: '1.0.0' });
    insp.dispose();
    const before = tf.memory().numTensors;
    const cases: Array<[string, (p: Record<string, any>) => void]> = [
      ['smoothing-0', (p) => (p.smoothing = 0)],
      ['smoothing-even', (p) => (p.smoothing = 2)],
      ['floor-negative', (p) => (p.floor = -1)],
      ['floor-string', (p) => (p.floor = '0.1')],
      ['errorStd-short', (p) => (p.errorStd = Buffer.from(new Float32Array([1, 1, 1]).buffer).toString('base64'))],
      ['errorStd-zero-floor-zero', (p) => ((p.errorStd = Buffer.from(new Float32Array(64).buffer).toString('base64')), (p.floor = 0))],
      ['errorMean-nan', (p) => (p.errorMean = Buffer.from(new Float32Array(64).fill(Number.NaN).buffer).toString('base64'))],
      ['width-16', (p) => (p.width = 16)],
      ['width-12', (p) => (p.width = 12)],
    ];
    for (const [name, patch] of cases) {
      const d = await tampered(src, `insp-${name}`, (m) => patch(m.preprocessing));
      const e = await caughtAsync(() => DefectInspector.load(d));
      expect(e.code, name).toBe('BUNDLE_INVALID');
    }
    expect(tf.memory().numTensors).toBe(before); // every refused model was disposed
    const ok = await DefectInspector.load(src);
    expect(Number.isFinite((await ok.inspect(img())).score)).toBe(true);
    ok.dispose();
  }, 30_000);

  it('classifier: downsample, highPass, gain and labels are validated (BUNDLE_INVALID), the intact bundle loads', async () => {
    const sample = (i: number) => ({ image: Float32Array.from({ length: 64 }, (_, k) => (i % 2 && k % 9 === 0 ? 0.95 : 0.5) + 0.02 * rand()), label: i % 2 ? 'scratch' : 'good' });
    const c = await DefectClassifier.fit(Array.from({ length: 16 }, (_, i) => sample(i)), { width: 8, height: 8, epochs: 1, filters: [4] });
    const src = join(dir, 'cls');
    await c.save(src, { name: 'cls', version: '1.0.0' });
    c.dispose();
    const cases: Array<[string, (m: Record<string, any>) => void]> = [
      ['highPass-0', (m) => (m.preprocessing.highPass = 0)],
      ['highPass-even', (m) => (m.preprocessing.highPass = 4)],
      ['gain-0', (m) => (m.preprocessing.gain = 0)],
      ['gain-string', (m) => (m.preprocessing.gain = '5')],
      ['downsample-3', (m) => (m.preprocessing.downsample = 3)],
      ['width-16', (m) => (m.preprocessing.width = 16)],
      ['labels-dup', (m) => (m.labels = ['good', 'good'])],
      ['labels-empty-name', (m) => (m.labels = ['good', ''])],
    ];
    for (const [name, patch] of cases) {
      const d = await tampered(src, `cls-${name}`, patch);
      const e = await caughtAsync(() => DefectClassifier.load(d));
      expect(e.code, name).toBe('BUNDLE_INVALID');
    }
    const ok = await DefectClassifier.load(src);
    const p = await ok.predict(sample(1).image);
    expect(Object.values(p.probabilities).every(Number.isFinite)).toBe(true);
    ok.dispose();
  }, 30_000);
});

const evidence = { source: 's', signals: ['x'], values: { v: 1 }, window: { from: 0, to: 0 } };
const activeTrack = (key: string, extra: Record<string, unknown> = {}): AlarmTrackSnapshot => ({
  key,
  asset: 'a',
  over: 1,
  under: 0,
  active: { id: `id-${key}`, key, asset: 'a', severity: 'high', raisedAt: 0, evidence, occurrences: 1, ...extra },
});

describe('3. AlarmManager.restoreTracks and evidence are validated index by index, and copied field by field', () => {
  it('refuses a sparse tracks array before restoring any of it', () => {
    const m = new AlarmManager();
    // eslint-disable-next-line no-sparse-arrays
    const tracks = [activeTrack('k1'), , activeTrack('k2')] as AlarmTrackSnapshot[];
    const e = caught(() => m.restoreTracks(tracks));
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.details?.field).toBe('tracks[1]');
    expect(m.active()).toEqual([]);
  });

  it('refuses a hole in evidence.signals', () => {
    const m = new AlarmManager({ raiseAfter: 1 });
    // eslint-disable-next-line no-sparse-arrays
    const e = caught(() => m.update({ key: 'k', asset: 'a', exceeded: true, severity: 'high', at: 1, evidence: { ...evidence, signals: [, 'x'] as string[] } }));
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.details?.field).toBe('evidence.signals[0]');
  });

  it('does not carry unknown fields of a restored alarm into active() or later events', () => {
    const m = new AlarmManager({ clearAfter: 1 });
    m.restoreTracks([activeTrack('k', { extra: { a: 1 }, huge: 'y'.repeat(100) })]);
    expect(Object.keys(m.active()[0]!).sort()).toEqual(['asset', 'evidence', 'id', 'key', 'occurrences', 'raisedAt', 'severity']);
    const [cleared] = m.update({ key: 'k', asset: 'a', exceeded: false, severity: 'high', at: 5, evidence });
    expect(cleared?.type).toBe('cleared');
    expect('huge' in cleared!.alarm).toBe(false);
  });
});

describe('4. AlarmManager: time never runs backwards within a condition; a key belongs to one asset', () => {
  it('never clears an episode before it was raised, and counts the backwards judgement', () => {
    const m = new AlarmManager({ raiseAfter: 1, clearAfter: 1 });
    expect(m.update({ key: 'k', asset: 'a', exceeded: true, severity: 'high', at: 10_000, evidence })[0]?.type).toBe('raised');
    const [c] = m.update({ key: 'k', asset: 'a', exceeded: false, severity: 'high', at: 5_000, evidence });
    expect(c?.type).toBe('cleared');
    expect(c!.alarm.clearedAt).toBeGreaterThanOrEqual(c!.alarm.raisedAt);
    expect(m.backwardsJudgements).toBe(1);
  });

  it('refuses a key already tracked for another asset', () => {
    const m = new AlarmManager({ raiseAfter: 1 });
    m.update({ key: 'k', asset: 'a', exceeded: true, severity: 'high', at: 1, evidence });
    const e = caught(() => m.update({ key: 'k', asset: 'b', exceeded: true, severity: 'high', at: 2, evidence }));
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.details?.field).toBe('asset');
    expect(m.active().map((x) => x.occurrences)).toEqual([1]);
  });
});

describe('5. constant data has no spread: a typed error, never Pp ≈ 1e15 or zero-width limits', () => {
  it('capability, individuals, xbarR, xbarS and fitBaseline refuse constant data; varying data still works', () => {
    for (const f of [
      () => capability([0.1, 0.1, 0.1], { lsl: 0, usl: 0.2 }, 0.01),
      () => capability(Array(7).fill(1.1), { lsl: 0, usl: 2 }),
      () => capability([5, 5, 5, 5], { lsl: 0, usl: 10 }),
      () => individuals([5, 5, 5, 5]),
      () => individuals(Array(20).fill(0.1)),
      () => xbarR([[0.1, 0.1], [0.1, 0.1], [0.1, 0.1]]),
      () => xbarS([[1.1, 1.1, 1.1], [1.1, 1.1, 1.1]]),
      () => LineMonitor.fitBaseline({ a: Array.from({ length: 600 }, (_, i) => [0.1, 5 + Math.sin(i)]) }, ['setpoint', 'p'], 60),
    ]) {
      expect(caught(f).code).toBe('MFG_NON_FINITE_RESULT');
    }
    expect(capability([9.8, 10.1, 10, 10.3, 9.9], { lsl: 9, usl: 11.5 }, 0.2).cp).toBeCloseTo(2.0833, 3);
    expect(individuals([5, 7, 6, 9, 8]).i.limits.sigma[0]).toBeGreaterThan(0);
    expect(LineMonitor.fitBaseline({ a: Array.from({ length: 600 }, (_, i) => [5 + Math.sin(i * 1.3)]) }, ['p'], 60).a!.p!.sigma).toBeGreaterThan(1e-6);
  });
});

describe('6. an SPC subgroup never spans a gap in the data', () => {
  it('discards (and counts) the partial subgroup before a three-day gap instead of charting the mixed mean', async () => {
    const m = monitorAt(T0 + 1e12);
    const events: LineEvent[] = [];
    const push = async (ts: number, v: number) => events.push(...(await m.push({ timestamp: ts, asset: 'a', signal: 'p', value: v, quality: 'good' })));
    await push(T0, 5);
    await push(T0 + 1000, 5);
    await push(T0 + 2000, 5);
    await push(T0 + 3 * 86_400_000, 6.5);
    await push(T0 + 3 * 86_400_000 + 1000, 6.5);
    expect(events.filter((e) => e.type === 'raised' && e.alarm.evidence.source.startsWith('nelson'))).toEqual([]);
    expect(m.stats().subgroupsSkipped).toBe(1);
    expect(m.stats().subgroups).toBe(0);
    // Without a gap the same values form a subgroup and are charted.
    const n = monitorAt(T0 + 1e12);
    for (const [i, v] of [5, 5, 5, 6.5, 6.5].entries()) await n.push({ timestamp: T0 + i * 1000, asset: 'a', signal: 'p', value: v, quality: 'good' });
    expect(n.stats().subgroups).toBe(1);
  });
});

describe('7. cycleMeans', () => {
  const cycle = (f: (k: number) => number[]): number[][] => Array.from({ length: 60 }, (_, k) => f(k));
  const base = [3000, 18, 55, 45, 1.8, 66, 5, 12];
  it('gives NaN for a signal missing the whole cycle, never 0', () => {
    const [row] = cycleMeans(cycle(() => [Number.NaN, ...base.slice(1)]));
    expect(row![0]).toBeNaN();
    expect(row![1]).toBeCloseTo(18);
  });
  it('does not overflow on values near the largest double', () => {
    const [row] = cycleMeans(cycle(() => [1e308, ...base.slice(1)]));
    expect(row![0]).toBeCloseTo(1e308, -300);
    expect(Number.isFinite(row![0]!)).toBe(true);
  });
  it('refuses a hole in the rows or in a row', () => {
    const rows = cycle(() => [...base]);
    delete (rows as unknown[])[5];
    expect(caught(() => cycleMeans(rows)).details?.field).toBe('rows[5]');
    const rows2 = cycle(() => [...base]);
    delete (rows2[7] as unknown[])[2];
    expect(caught(() => cycleMeans(rows2)).details?.field).toBe('rows[7][2]');
  });
});

describe('8. DefectInspector.fit checks validationFraction against the data before training', () => {
  it('refuses a split that leaves no held-out or no training image, with no training event', async () => {
    const rand = seededRandom(5);
    const good = Array.from({ length: 20 }, () => Float32Array.from({ length: 64 }, () => 0.4 + 0.2 * rand()));
    for (const validationFraction of [0.01, 0.99]) {
      let events = 0;
      const e = await caughtAsync(() => DefectInspector.fit(good, { width: 8, height: 8, epochs: 1, smoothing: 3, validationFraction, onProgress: () => void events++ }));
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.details?.field).toBe('options.validationFraction');
      expect(events).toBe(0);
    }
  });
});

describe('9. RulModel.fit refuses a normalisation that overflows', () => {
  it('MFG_NON_FINITE_RESULT for a spread past ~1e154 or values near 1e308, before any tensor exists', async () => {
    const units = bearingRunToFailure({ units: 2, minLife: 12, maxLife: 14 });
    const before = tf.memory().numTensors;
    const spread = units.map((u) => ({ unit: u.unit, rows: u.rows.map((r, i) => [i % 2 ? 1e200 : -1e200, ...r.slice(1)]) }));
    expect((await caughtAsync(() => RulModel.fit(spread, { window: 5, epochs: 1 }))).code).toBe('MFG_NON_FINITE_RESULT');
    const huge = units.map((u) => ({ unit: u.unit, rows: u.rows.map((r) => [1.7e308, ...r.slice(1)]) }));
    expect((await caughtAsync(() => RulModel.fit(huge, { window: 5, epochs: 1 }))).code).toBe('MFG_NON_FINITE_RESULT');
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('10. RuleStream refuses limits that put every point beyond them', () => {
  it('refuses lcl: Infinity, ucl: -Infinity and equal explicit limits; a one-sided chart is still accepted', () => {
    expect(caught(() => new RuleStream({ center: 0, sigma: 1, lcl: Infinity, ucl: Infinity })).details?.field).toBe('limits.lcl');
    expect(caught(() => new RuleStream({ center: 0, sigma: 1, lcl: -Infinity, ucl: -Infinity })).details?.field).toBe('limits.ucl');
    expect(caught(() => new RuleStream({ center: 0, sigma: 1, lcl: 2, ucl: 2 })).code).toBe('INVALID_ARGUMENT');
    expect(new RuleStream({ center: 0, sigma: 1, ucl: Infinity }).push(-5).map((v) => v.rule)).toEqual([1]);
  });
});

describe('11. controlChartSpec', () => {
  const oneSided = { kind: 'I', points: [1, 2, 3], limits: { center: 2, ucl: [Infinity, Infinity, Infinity], lcl: [0, 0, 0], sigma: [0.5, 0.5, 0.5] } };
  it('leaves an infinite limit out of the data instead of writing null', () => {
    const spec = controlChartSpec(oneSided);
    const json = JSON.stringify(spec);
    expect(json).not.toContain('null');
    const values = (spec.data as { values: Array<Record<string, unknown>> }).values;
    expect('ucl' in values[0]!).toBe(false);
    expect(values[0]!.lcl).toBe(0);
  });
  it('refuses a violation index past the chart', () => {
    const e = caught(() => controlChartSpec(oneSided, [{ rule: 1, index: 99, description: '' } as never]));
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.details?.field).toBe('violations[0].index');
  });
});

describe('12. getters that throw and sparse arrays give typed errors naming the field', () => {
  it('SPC, alarms, simulators and RUL', async () => {
    const getter = <T extends object>(o: T, key: string): T => Object.defineProperty({ ...o }, key, { get: throwing, enumerable: true });
    const cases: Array<[() => unknown, string, string]> = [
      [() => capability([1, 2, 3], getter({ lsl: 0, usl: 5 }, 'lsl')), 'INVALID_INPUT', 'spec.lsl'],
      [() => cusum([1, 2], 0, 1, getter({}, 'k')), 'INVALID_ARGUMENT', 'options.k'],
      [() => ewma([1, 2], 0, 1, getter({}, 'lambda')), 'INVALID_ARGUMENT', 'options.lambda'],
      [() => new RuleStream(getter({ center: 0, sigma: 1 }, 'sigma')), 'INVALID_ARGUMENT', 'limits.sigma'],
      [() => new AlarmManager().update(getter({ key: 'k', asset: 'a', exceeded: true, severity: 'high' as const, at: 1, evidence }, 'at')), 'INVALID_INPUT', 'input.at'],
      [() => simulateMachine(10, 1, getter({ kind: 'step-pressure' as const, from: 1 }, 'kind')), 'INVALID_ARGUMENT', 'fault.kind'],
      // eslint-disable-next-line no-sparse-arrays
      [() => simulateLine({ assets: 1, samples: 5, seed: 1, faults: [,] as never }), 'INVALID_ARGUMENT', 'options.faults[0]'],
      [() => simulateLine(getter({ assets: 1, samples: 5, seed: 1 }, 'samples')), 'INVALID_ARGUMENT', 'options.samples'],
    ];
    for (const [f, code, field] of cases) {
      const e = caught(f);
      expect([e.code, e.details?.field], field).toEqual([code, field]);
    }
    const e = await caughtAsync(() => RulModel.fit([getter({ unit: 'u', rows: [[1]] }, 'rows')], { window: 1, epochs: 1 }));
    expect([e.code, e.details?.field]).toEqual(['INVALID_INPUT', 'units[0].rows']);
  });
});

describe('13. the simulators keep values and timestamps finite and in range; lineRecords checks a hand-made line', () => {
  it('refuses a drift or step that would overflow, an interval past MAX_TIMESTAMP and a fault ending before it starts', () => {
    const opts = { assets: ['m'], samples: 10, seed: 1 };
    const cases: Array<[Parameters<typeof simulateLine>[0], string]> = [
      [{ ...opts, faults: [{ asset: 'm', kind: 'drift', from: 0, magnitude: 1e308 }] }, 'options.faults[0].magnitude'],
      [{ ...opts, faults: [{ asset: 'm', kind: 'step', from: 0, magnitude: -1e300 }] }, 'options.faults[0].magnitude'],
      [{ ...opts, intervalMs: 1e300 }, 'options.intervalMs'],
      [{ ...opts, start: 1e300 }, 'options.start'],
      [{ ...opts, faults: [{ asset: 'm', kind: 'bearing-wear', from: 8, to: 2 }] }, 'options.faults[0].to'],
    ];
    for (const [o, field] of cases) {
      const e = caught(() => simulateLine(o));
      expect([e.code, e.details?.field], field).toEqual(['INVALID_ARGUMENT', field]);
    }
    const line = simulateLine({ ...opts, faults: [{ asset: 'm', kind: 'drift', from: 0, magnitude: 5 }] });
    expect(line.rows.m!.flat().every(Number.isFinite)).toBe(true);
  });

  it('lineRecords refuses NaN timestamps and rows that do not hold one number per signal', () => {
    const line: SimulatedLine = { assets: ['m'], signals: ['a', 'b'], timestamps: [Number.NaN, 1], rows: { m: [[1, 2], [3, 4]] }, wear: { m: [0, 0] } };
    expect(caught(() => lineRecords(line)).details?.field).toBe('line.timestamps[0]');
    const short: SimulatedLine = { ...line, timestamps: [0, 1], rows: { m: [[1, 2], [3]] } };
    expect(caught(() => lineRecords(short)).details?.field).toBe('line.rows.m[1]');
    expect([...lineRecords({ ...line, timestamps: [0, 1] })]).toHaveLength(4);
    expect(LINE_SIGNALS).toHaveLength(8);
  });
});

describe('14. generateParts bounds count × size² before allocating', () => {
  it('refuses 100,000 parts of 4096² (about 8 TB) at once', () => {
    const e = caught(() => generateParts(100_000, { size: 4096 }));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.details?.field).toBe('count');
    expect(generateParts(2, { size: 32 })).toHaveLength(2);
  });
});

describe('15. nasaScore', () => {
  it('refuses no cases, and names predRul on a length mismatch', () => {
    expect(caught(() => nasaScore([], [])).code).toBe('INVALID_INPUT');
    const e = caught(() => nasaScore([1, 2], [1]));
    expect([e.code, e.details?.field]).toEqual(['SHAPE_MISMATCH', 'predRul']);
  });
});

describe('16. HotellingT2.threshold is validated when set', () => {
  it('refuses NaN, a negative or an infinite threshold and keeps the old one', () => {
    const rand = seededRandom(2);
    const h = HotellingT2.fit(Array.from({ length: 50 }, () => [rand(), rand() * 2]));
    const t = h.threshold;
    expect(Number.isFinite(t)).toBe(true);
    for (const bad of [Number.NaN, -1, Infinity]) {
      const e = caught(() => {
        h.threshold = bad;
      });
      expect(e.code).toBe('INVALID_ARGUMENT');
    }
    expect(h.threshold).toBe(t);
    h.threshold = 3;
    expect(h.threshold).toBe(3);
  });
});
