import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime, seededRandom, tf } from '@lepton/core';
import {
  AnomalyDetector,
  bearingRunToFailure,
  cycleMeans,
  evaluateRules,
  LINE_CYCLE,
  LINE_SIGNALS,
  LineMonitor,
  lineRecords,
  NELSON,
  RuleStream,
  simulateLine,
  WESTERN_ELECTRIC,
  type LineEvent,
  type RuleSet,
  type SensorRecord,
} from '@lepton/manufacturing';

const col = (s: string): number => LINE_SIGNALS.indexOf(s as (typeof LINE_SIGNALS)[number]);
const raised = (events: LineEvent[]) => events.flatMap((e) => (e.type === 'raised' ? [e.alarm] : []));
/** Pushes every record, waiting for each, then flushes: the events in order. */
async function replay(monitor: LineMonitor, records: Iterable<SensorRecord>): Promise<LineEvent[]> {
  const events: LineEvent[] = [];
  for (const r of records) events.push(...(await monitor.push(r)));
  return events.concat(await monitor.flush());
}

describe('simulated production line (synthetic data)', () => {
  it('is deterministic, keeps each asset the same machine across runs, and injects each fault as specified', () => {
    const a = simulateLine({ assets: ['m-1', 'm-2'], samples: 600, seed: 3 });
    expect(simulateLine({ assets: ['m-1', 'm-2'], samples: 600, seed: 3 })).toEqual(a);
    const faults = simulateLine({
      assets: ['m-1', 'm-2'],
      samples: 600,
      seed: 3,
      faults: [
        { asset: 'm-1', kind: 'step', from: 100, to: 200, signal: 'pressure', magnitude: 0.8 },
        { asset: 'm-1', kind: 'dropout', from: 300, to: 310, signal: 'vibration_rms' },
        { asset: 'm-1', kind: 'stuck', from: 400, to: 450, signal: 'coolant_flow' },
        { asset: 'm-2', kind: 'drift', from: 100, signal: 'temperature', magnitude: 0.01 },
        { asset: 'm-2', kind: 'bearing-wear', from: 200, to: 600 },
      ],
    });
    const p = col('pressure');
    expect(faults.rows['m-1']![150]![p]! - a.rows['m-1']![150]![p]!).toBeCloseTo(0.8, 10);
    expect(faults.rows['m-1']![250]![p]).toBe(a.rows['m-1']![250]![p]);
    expect(faults.rows['m-1']!.slice(300, 310).every((r) => Number.isNaN(r[col('vibration_rms')]))).toBe(true);
    expect(new Set(faults.rows['m-1']!.slice(400, 450).map((r) => r[col('coolant_flow')])).size).toBe(1);
    expect(faults.rows['m-2']![500]![col('temperature')]! - a.rows['m-2']![500]![col('temperature')]!).toBeGreaterThan(3.5);
    const wear = faults.wear['m-2']!;
    expect(wear[199]).toBe(0);
    expect(wear[599]).toBeGreaterThan(0.99);
    // Bearing wear raises vibration late in life (quadratic), beyond the healthy machine's range.
    const vib = (rows: number[][], from: number) => rows.slice(from, from + LINE_CYCLE).reduce((s, r) => s + r[col('vibration_rms')]!, 0) / LINE_CYCLE;
    expect(vib(faults.rows['m-2']!, 540) - vib(a.rows['m-2']!, 540)).toBeGreaterThan(2);
    // The same asset id is the same machine in another run: same cycle-mean load, different noise.
    const b = simulateLine({ assets: ['m-1'], samples: 600, seed: 4 });
    expect(cycleMeans(b.rows['m-1']!)[2]![col('current')]).toBeCloseTo(cycleMeans(a.rows['m-1']!)[2]![col('current')]!, 0);
    expect(b.rows['m-1']![5]).not.toEqual(a.rows['m-1']![5]);
    expect(() => simulateLine({ assets: 1, samples: 10, seed: 1, faults: [{ asset: 'nope', kind: 'step', from: 0 }] })).toThrow(/unknown asset/);
  });

  it('run-to-failure histories end at failure with rising vibration, one row per cycle', () => {
    const units = bearingRunToFailure({ units: 4, seed: 2 });
    expect(units).toHaveLength(4);
    for (const u of units) {
      expect(u.rows.length).toBeGreaterThanOrEqual(60);
      expect(u.rows[0]).toHaveLength(LINE_SIGNALS.length);
      expect(u.rows.at(-1)![col('vibration_rms')]! - u.rows[0]![col('vibration_rms')]!).toBeGreaterThan(2.5);
    }
  });
});

describe('RuleStream: run rules one point at a time', () => {
  const series = (seed: number): number[] => {
    const r = seededRandom(seed);
    const out: number[] = [];
    for (let i = 0; i < 400; i++) {
      const phase = Math.floor(i / 50) % 4;
      // Noise, then a shift, a trend, an alternation and a quiet stretch: every rule gets something to find.
      const base = phase === 1 ? 1.2 : phase === 2 ? (i % 50) * 0.2 - 3 : phase === 3 ? (i % 2 ? 1.1 : -1.1) : 0;
      out.push(base + (phase >= 2 ? 0.05 : 1) * (r() - 0.5) * 2);
    }
    return out;
  };
  for (const [name, rs] of [['Western Electric', WESTERN_ELECTRIC], ['Nelson', NELSON]] as Array<[string, RuleSet]>) {
    it(`finds exactly what evaluateRules finds on the whole series (${name})`, () => {
      for (const seed of [1, 2, 3]) {
        const points = series(seed);
        const chart = { kind: 'I', points, limits: { center: 0, sigma: points.map(() => 1), ucl: points.map(() => 3), lcl: points.map(() => -3) } };
        const batch = evaluateRules(chart, rs);
        const stream = new RuleStream({ center: 0, sigma: 1 }, rs);
        const streamed = points.flatMap((p) => stream.push(p));
        expect(streamed).toEqual(batch);
        expect(new Set(batch.map((v) => v.rule)).size).toBe(rs.rules.length);
      }
    });
  }
  it('rejects unusable limits', () => {
    expect(() => new RuleStream({ center: 0, sigma: Number.NaN })).toThrow(/sigma/);
  });
});

describe('LineMonitor: validation → SPC → detector → alarms', () => {
  const assets = ['press-1', 'press-2', 'mill-1'];
  const normal = simulateLine({ assets, samples: 14_400, seed: 11 });
  const baseline = LineMonitor.fitBaseline(normal.rows, LINE_SIGNALS);
  const shift = simulateLine({
    assets,
    samples: 1800,
    seed: 12,
    faults: [
      { asset: 'press-2', kind: 'step', from: 900, signal: 'pressure', magnitude: 0.8 },
      { asset: 'mill-1', kind: 'dropout', from: 500, to: 540, signal: 'vibration_rms' },
      { asset: 'mill-1', kind: 'stuck', from: 1200, to: 1300, signal: 'coolant_flow' },
    ],
  });
  const spcOptions = { signals: LINE_SIGNALS, baseline, ruleSet: { rules: [1, 5], runLength: 9 } as RuleSet, alarms: { spc: { raiseAfter: 2 } } };
  let detector: AnomalyDetector;

  beforeAll(async () => {
    await initRuntime({ backend: 'wasm' }, {});
    detector = await AnomalyDetector.fitSeries(
      assets.map((a) => normal.rows[a]!.slice(0, 6000)),
      { signals: [...LINE_SIGNALS], window: 20, epochs: 6, quantile: 0.999, seed: 1 },
    );
  }, 120_000);
  afterAll(() => detector?.dispose());

  it('SPC: raises one alarm for a pressure step within two subgroups, with the chart evidence, and stays quiet elsewhere', async () => {
    const monitor = new LineMonitor(spcOptions);
    const events = await replay(monitor, lineRecords(shift));
    const spc = raised(events).filter((a) => a.id.startsWith('spc-'));
    const step = spc.filter((a) => a.asset === 'press-2' && a.evidence.signals[0] === 'pressure');
    expect(step).toHaveLength(1); // one alarm per episode, not one per subgroup
    const onset = shift.timestamps[900]!;
    expect(step[0]!.raisedAt).toBeGreaterThan(onset);
    expect(step[0]!.raisedAt - onset).toBeLessThanOrEqual(3 * 60 * 1000);
    expect(step[0]!.evidence.source).toMatch(/nelson-1/);
    expect(step[0]!.evidence.values.mean).toBeGreaterThan(step[0]!.evidence.values.ucl!);
    expect(step[0]!.severity).toBe('high');
    expect(spc.length - step.length).toBeLessThanOrEqual(1);
    const st = monitor.stats();
    expect(st.subgroups + st.subgroupsSkipped).toBe(assets.length * LINE_SIGNALS.length * (1800 / 60));
  });

  it('data quality: a dropout and a stuck sensor each become one quality alarm episode, counted, never scored', async () => {
    const monitor = new LineMonitor({ ...spcOptions, detector });
    const events = await replay(monitor, lineRecords(shift));
    const q = events.filter((e) => (e.type === 'raised' || e.type === 'cleared') && e.alarm.id.startsWith('quality-'));
    const dropout = q.filter((e) => e.type !== 'quality' && 'alarm' in e && e.alarm.evidence.signals[0] === 'vibration_rms');
    expect(dropout.map((e) => e.type)).toEqual(['raised', 'cleared']);
    expect(dropout[0]!.type === 'raised' && dropout[0]!.alarm.evidence.source).toBe('data-quality:missing-value');
    const stuckEvent = events.find((e) => e.type === 'quality' && e.issue.kind === 'stuck');
    expect(stuckEvent).toMatchObject({ issue: { asset: 'mill-1', signal: 'coolant_flow' } });
    expect(raised(events).some((a) => a.evidence.source === 'data-quality:stuck' && a.asset === 'mill-1')).toBe(true);
    const st = monitor.stats();
    expect(st.quality['missing-value']).toBe(40);
    expect(st.filled).toBe(3 * 2); // maxFill per episode: 3 for the dropout, 3 for the stuck sensor
    // Rows the detector could not score: the dropout and stuck spans after filling (a stuck sensor is caught on its 20th identical value), plus the window refill after each,
    // plus each asset's first (incomplete) window.
    expect(st.rowsUnscored).toBe(3 * 19 + (40 - 3 + 19) + (100 - 19 - 3 + 19));
    expect(st.windowsScored + st.rowsUnscored).toBe(st.rows);
  });

  it('detector: scores every asset in one forward pass per tick and names the faulty signal; no tensors leak', async () => {
    const monitor = new LineMonitor({ ...spcOptions, detector });
    const before = tf.memory().numTensors;
    const events = await replay(monitor, lineRecords(shift));
    expect(tf.memory().numTensors).toBe(before);
    const st = monitor.stats();
    expect(st.batches).toBeLessThanOrEqual(1800); // one per tick at most, for all three assets
    expect(st.windowsScored / st.batches).toBeGreaterThan(2.5);
    const model = raised(events).filter((a) => a.id.startsWith('model-'));
    const step = model.find((a) => a.asset === 'press-2' && a.raisedAt >= shift.timestamps[900]!);
    expect(step?.evidence.signals[0]).toBe('pressure');
    expect(step!.evidence.values.score).toBeGreaterThan(step!.evidence.values.threshold!);
    expect(step!.raisedAt - shift.timestamps[900]!).toBeLessThan(60_000);
    // A stuck sensor is itself anomalous (its variance vanishes): the model may flag it before the quality check does.
    const stuck = (a: { asset: string; raisedAt: number }) => a.asset === 'mill-1' && a.raisedAt >= shift.timestamps[1200]! && a.raisedAt < shift.timestamps[1300]!;
    expect(model.filter((a) => a !== step && !stuck(a)).length).toBeLessThanOrEqual(1);
  });

  it('batched scoring equals scoring each window alone', async () => {
    const rows = shift.rows['press-1']!.slice(0, 60);
    const w = detector.window;
    const s = LINE_SIGNALS.length;
    const alone = await detector.scoreRows(rows);
    const flat = new Float32Array(alone.length * w * s);
    for (let i = 0; i < alone.length; i++) for (let t = 0; t < w; t++) flat.set(rows[i + t]!, (i * w + t) * s);
    const pending = detector.scoreBatch(flat, alone.length);
    flat.fill(1e6); // the batch was copied when scoreBatch returned: refilling the buffer changes nothing
    const batched = await pending;
    batched.forEach((b, i) => expect(b.score).toBeCloseTo(alone[i]!.score, 5));
    await expect(detector.scoreBatch(new Float32Array(5), 1)).rejects.toThrow(/windows/);
  });

  it('pushes not awaited one by one settle in call order with the same events as awaited pushes', async () => {
    const records = [...lineRecords(shift, [800, 1100])];
    const awaited = await replay(new LineMonitor({ ...spcOptions, detector }), records);
    const monitor = new LineMonitor({ ...spcOptions, detector });
    const settled: number[] = [];
    const all = await Promise.all(records.map((r, i) => monitor.push(r).then((e) => (settled.push(i), e))));
    const fired = all.flat().concat(await monitor.flush());
    expect(settled).toEqual(records.map((_, i) => i));
    expect(fired).toEqual(awaited);
    expect(raised(fired).some((a) => a.id.startsWith('model-'))).toBe(true);
  });

  it('run() over an async source gives the same events as push(); rejections, unknown signals and late samples are counted', async () => {
    const records = [...lineRecords(shift, [0, 600])];
    const expected = await replay(new LineMonitor(spcOptions), records);
    async function* source() {
      for (const r of records) yield { record: r };
    }
    const streamed: LineEvent[] = [];
    const asyncMonitor = new LineMonitor(spcOptions);
    for await (const e of asyncMonitor.run(source())) streamed.push(e);
    expect(streamed).toEqual(expected);

    const m = new LineMonitor(spcOptions);
    const t0 = shift.timestamps[0]!;
    const rec = (over: Partial<SensorRecord>): SensorRecord => ({ timestamp: t0, asset: 'press-1', signal: 'pressure', value: 5, quality: 'good', ...over });
    await m.push(rec({ timestamp: t0 + 2000 }));
    const late = await m.push(rec({ timestamp: t0 + 1000 }));
    expect(late).toEqual([{ type: 'quality', issue: expect.objectContaining({ kind: 'out-of-order' }) }]);
    expect((await m.push({ rejected: { source: 'plant/x/y', issues: [{ field: 'value', message: 'must be a number' }] } }))[0]!.type).toBe('rejected');
    await m.push(rec({ signal: 'humidity', timestamp: t0 + 3000 }));
    expect(m.stats()).toMatchObject({ records: 4, accepted: 3, rejected: 1, unknownSignal: 1 });
    expect(() => new LineMonitor({ signals: LINE_SIGNALS })).toThrow(/detector, an SPC baseline/);
    expect(() => new LineMonitor({ signals: ['a'], detector })).toThrow(/trained on/);
  });

  describe('bad input never turns into a wrong number (issue 15)', () => {
    const DAY = 86_400_000;
    // The replay's own clock: the simulated shift is judged against its end, not against this machine's date.
    const now = (): number => shift.timestamps[1799]!;
    const notClock = (e: LineEvent): boolean =>
      !(e.type === 'quality' && e.issue.kind === 'future-timestamp') && !((e.type === 'raised' || e.type === 'cleared') && e.alarm.id.startsWith('clock-')) && e.type !== 'rejected';

    it('a sample a year ahead is refused and raises a clock alarm; one stamped 1e20 is rejected; neither blinds a signal or stalls scoring', async () => {
      const records = [...lineRecords(shift, [0, 400])];
      const clean = new LineMonitor({ ...spcOptions, detector, quality: { now } });
      const expected = await replay(clean, records);
      // Tick 100, after press-1's pressure: a copy a year ahead and one at 1e20.
      const k = records.findIndex((r) => r.timestamp === shift.timestamps[100] && r.asset === 'press-1' && r.signal === 'pressure');
      const bad = [...records];
      bad.splice(k + 1, 0, { ...records[k]!, timestamp: records[k]!.timestamp + 365 * DAY }, { ...records[k]!, timestamp: 1e20 });
      const monitor = new LineMonitor({ ...spcOptions, detector, quality: { now } });
      const events = await replay(monitor, bad);
      const st = monitor.stats();
      expect(st.quality['future-timestamp']).toBe(1);
      expect(st.rejected).toBe(1);
      expect(events.find((e) => e.type === 'rejected')).toMatchObject({ rejection: { issues: [{ field: 'timestamp' }] } });
      expect(st.quality['out-of-order']).toBe(0); // the signal is not blinded
      const clock = raised(events).filter((a) => a.id.startsWith('clock-'));
      expect(clock).toHaveLength(1);
      expect(clock[0]).toMatchObject({ asset: 'press-1', raisedAt: now(), evidence: { source: 'data-quality:future-timestamp', signals: ['pressure'] } });
      expect(events.some((e) => e.type === 'cleared' && e.alarm.id === clock[0]!.id)).toBe(true);
      expect(st.raised.quality).toBe(clean.stats().raised.quality + 1);
      // Every other event, every window scored and every forward pass: exactly as without the bad samples.
      expect(events.filter(notClock)).toEqual(expected);
      const { windowsScored, batches, rows, subgroups } = clean.stats();
      expect(st).toMatchObject({ windowsScored, batches, rows, subgroups });
    });

    it('a sample a few minutes ahead (within the skew bound) does not hold back scoring for the other assets', async () => {
      const records = [...lineRecords(shift, [0, 400])];
      const clean = new LineMonitor({ ...spcOptions, detector, quality: { now } });
      await replay(clean, records);
      const k = records.findIndex((r) => r.timestamp === shift.timestamps[100] && r.asset === 'press-1' && r.signal === 'pressure');
      const ahead = [...records];
      ahead.splice(k + 1, 0, { ...records[k]!, timestamp: records[k]!.timestamp + 4 * 60_000 });
      const monitor = new LineMonitor({ ...spcOptions, detector, quality: { now } });
      await replay(monitor, ahead);
      // One forward pass per tick still (the clock is not what completes a tick), not one per 256 windows.
      expect(monitor.stats().batches).toBeGreaterThan(0.95 * clean.stats().batches);
      expect(monitor.stats().quality['future-timestamp']).toBe(0);
    });

    it('push never throws on bad records: each is a counted rejection naming the field, and the good records go on', async () => {
      const m = new LineMonitor({ ...spcOptions, quality: { now } });
      const t0 = shift.timestamps[0]!;
      const rec = (over: Record<string, unknown>): SensorRecord => ({ timestamp: t0, asset: 'press-1', signal: 'pressure', value: 5, quality: 'good', ...over }) as SensorRecord;
      const cases: Array<[unknown, string]> = [
        [null, '(record)'],
        [undefined, '(record)'],
        [42, '(record)'],
        ['{"timestamp":1}', '(record)'],
        [rec({ timestamp: Number.NaN }), 'timestamp'],
        [rec({ timestamp: '2026-01-05T06:00:00Z' }), 'timestamp'],
        [rec({ timestamp: null }), 'timestamp'],
        [rec({ timestamp: 1e20 }), 'timestamp'],
        [rec({ value: Infinity }), 'value'],
        [rec({ value: '5' }), 'value'],
        [rec({ asset: '' }), 'asset'],
        [rec({ signal: 7 }), 'signal'],
        [rec({ quality: 'great' }), 'quality'],
        [{ record: rec({ timestamp: Number.NaN }) }, 'record.timestamp'],
        [{ record: null }, 'record.(record)'],
        [{ rejected: 5 }, 'rejected'],
      ];
      for (const [item, field] of cases) {
        const events = await m.push(item as SensorRecord);
        expect(events, field).toEqual([{ type: 'rejected', rejection: { source: expect.any(String), issues: expect.arrayContaining([expect.objectContaining({ field })]) } }]);
      }
      expect(m.stats()).toMatchObject({ records: cases.length, rejected: cases.length, accepted: 0 });
      const ok = [...lineRecords(shift, [0, 2])];
      for (const r of ok) expect((await m.push(r)).filter((e) => e.type === 'rejected')).toEqual([]);
      expect(m.stats()).toMatchObject({ records: cases.length + ok.length, accepted: ok.length, rejected: cases.length });
      expect(m.stats().quality.clean).toBe(ok.length);
    });

    it('a missing-value alarm carries no NaN in its evidence', async () => {
      const m = new LineMonitor({ ...spcOptions, quality: { now } });
      const events: LineEvent[] = [];
      for (let t = 0; t < 5; t++) events.push(...(await m.push({ timestamp: shift.timestamps[t]!, asset: 'press-1', signal: 'pressure', value: Number.NaN, quality: 'good' })));
      const alarm = raised(events).find((a) => a.evidence.source === 'data-quality:missing-value');
      expect(alarm).toBeDefined();
      expect(Object.values(alarm!.evidence.values).every(Number.isFinite)).toBe(true);
    });

    it('bounds the assets it tracks and validates its options and baseline at construction', async () => {
      const m = new LineMonitor({ ...spcOptions, maxAssets: 2, quality: { now } });
      const t0 = shift.timestamps[0]!;
      for (const asset of ['a', 'b', 'c']) await m.push({ timestamp: t0, asset, signal: 'pressure', value: 5, quality: 'good' });
      expect(m.stats()).toMatchObject({ accepted: 2, rejected: 1 });
      const bad = (o: object) => () => new LineMonitor({ ...spcOptions, ...o });
      expect(bad({ subgroup: Number.NaN })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', details: { field: 'options.subgroup' } }));
      expect(bad({ batchSize: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      expect(bad({ signals: ['a', 'a'] })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      expect(bad({ baseline: { '*': { pressure: { center: Number.NaN, sigma: 1 } } } })).toThrow(expect.objectContaining({ details: { field: 'options.baseline.*.pressure' } }));
      expect(bad({ quality: { maxClockSkewMs: -1 } })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      const rows = Array.from({ length: 600 }, () => LINE_SIGNALS.map(() => Number.NaN));
      expect(() => LineMonitor.fitBaseline({ m: rows }, LINE_SIGNALS)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    });
  });
});
