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
    expect(m.stats()).toMatchObject({ records: 4, rejected: 1, unknownSignal: 1 });
    expect(() => new LineMonitor({ signals: LINE_SIGNALS })).toThrow(/detector, an SPC baseline/);
    expect(() => new LineMonitor({ signals: ['a'], detector })).toThrow(/trained on/);
  });
});
