import { beforeAll, describe, expect, it } from 'vitest';
import {
  AlarmManager,
  AnomalyDetector,
  assignPartitions,
  bearingRunToFailure,
  computeOee,
  controlChartSpec,
  cycleMeans,
  DefectClassifier,
  DefectInspector,
  generatePart,
  generateParts,
  generateRunToFailure,
  individuals,
  initRuntime,
  LINE_SIGNALS,
  LineMonitor,
  lineRecords,
  LineStatus,
  lineStatusMetrics,
  MACHINE_SIGNALS,
  monitor,
  MqttPlantPublisher,
  MqttTelemetry,
  parseAssetSnapshot,
  parseSensorRecord,
  QualityMonitor,
  renderPrometheus,
  resample,
  RuleStream,
  alarmSource,
  rulTarget,
  severityRank,
  RulModel,
  simulateLine,
  simulateMachine,
  topicLevel,
  xbarR,
  type Alarm,
  type AlarmTrackSnapshot,
} from '@lepton/manufacturing';
import { expectRejected, expectTypedOrOk, HOSTILE, HOSTILE_JSON, outcome } from '../../../tests/support/hostile.js';

// Every position below is validated; a hostile value there must come back as a rejection or a LeptonError, never as
// a TypeError from building a message (`${value}` / String(value) of a value without a usable toString).

/** Values that are not an options object (an object of any shape is a valid, if empty, options object). */
const NOT_OBJECTS: ReadonlyArray<readonly [string, unknown]> = [
  ['Symbol()', Symbol('hostile')],
  ['BigInt', 12n],
  ['null', null],
  ['"1"', '1'],
  ['1', 1],
];

/** A flat 8×8 image of value `v`. */
const flat = (v: number): Float32Array => new Float32Array(64).fill(v);

describe('manufacturing entry points with hostile values: a rejection or a LeptonError, never a TypeError', () => {
  beforeAll(async () => {
    await initRuntime({ backend: 'cpu' }, {});
  });

  it('synthetic parts and lines: generatePart, generateParts, simulateLine faults', async () => {
    await expectRejected('generatePart(label)', (v) => generatePart(v as 'good', 1), 'INVALID_ARGUMENT');
    await expectRejected('generatePart(size)', (v) => generatePart('good', 1, v as number), 'INVALID_ARGUMENT');
    await expectRejected('generateParts(count)', (v) => generateParts(v as number), 'INVALID_ARGUMENT');
    await expectRejected('simulateLine(faults[0].asset)', (v) => simulateLine({ assets: 2, samples: 10, seed: 1, faults: [{ asset: v as string, kind: 'drift', from: 0 }] }), 'INVALID_ARGUMENT');
  });

  it('defect classifier: sample labels, class list and downsample; pixel values', async () => {
    const samples = [
      { image: flat(0.2), label: 'good' },
      { image: flat(0.8), label: 'scratch' },
    ];
    const options = { width: 8, height: 8, epochs: 1 };
    await expectRejected('DefectClassifier.fit(samples[1].label)', (v) => DefectClassifier.fit([samples[0]!, { image: flat(0.5), label: v as string }], { ...options, labels: ['good', 'scratch'] }), 'INVALID_INPUT');
    await expectRejected('DefectClassifier.fit(labels)', (v) => DefectClassifier.fit(samples, { ...options, labels: [v as string] }), 'INVALID_INPUT', HOSTILE);
    await expectRejected('DefectClassifier.fit(downsample)', (v) => DefectClassifier.fit(samples, { ...options, downsample: v as 2 }), 'INVALID_ARGUMENT');
    await expectRejected('DefectClassifier.fit(width)', (v) => DefectClassifier.fit(samples, { ...options, width: v as number }), 'INVALID_ARGUMENT');
    await expectRejected(
      'DefectClassifier.fit(image pixel)',
      (v) => DefectClassifier.fit([{ image: Object.assign([...flat(0.2)], { 5: v }) as unknown as Float32Array, label: 'good' }, samples[1]!], { ...options, downsample: 1 }),
      'INVALID_INPUT',
    );
  });

  it('defect inspector: options refused before training; a threshold quantile or threshold after it', async () => {
    const good = Array.from({ length: 20 }, (_, i) => flat(0.4 + i / 100));
    for (const key of ['validationFraction', 'learningRate', 'smoothing', 'epochs', 'width']) {
      await expectRejected(`DefectInspector.fit(${key})`, (v) => DefectInspector.fit(good, { width: 8, height: 8, [key]: v }), 'INVALID_ARGUMENT');
    }
    const inspector = await DefectInspector.fit(good, { width: 8, height: 8, filters: [2, 2, 2], latentChannels: 2, epochs: 1, batchSize: 20 });
    try {
      await expectRejected('DefectInspector.setThresholdQuantile', (v) => inspector.setThresholdQuantile(v as number), 'INVALID_ARGUMENT');
      await expectRejected('DefectInspector.setThreshold', (v) => inspector.setThreshold(v as number), 'INVALID_ARGUMENT');
    } finally {
      inspector.dispose();
    }
  });

  it('anomaly detector: fit options and samples, scoring, streaming, calibration and thresholds', async () => {
    const signals = [...MACHINE_SIGNALS];
    const normal = simulateMachine(200, 1);
    const withValue = (v: unknown): number[][] => normal.map((r, i) => (i === 37 ? [r[0]!, v as number, r[2]!, r[3]!] : r));
    const withRow = (v: unknown): number[][] => normal.map((r, i) => (i === 37 ? (v as number[]) : r));
    await expectRejected('AnomalyDetector.fit(sample value)', (v) => AnomalyDetector.fit(withValue(v), { signals, window: 5, epochs: 1 }), 'INVALID_INPUT', [...HOSTILE, ['NaN', Number.NaN], ['Infinity', Infinity], ['"1"', '1'], ['null', null]]);
    await expectRejected('AnomalyDetector.fit(sample)', (v) => AnomalyDetector.fit(withRow(v), { signals, window: 5, epochs: 1 }), 'INVALID_INPUT', [...HOSTILE, ['null', null], ['[1, 2]', [1, 2]]]);
    await expectRejected('AnomalyDetector.fit(rows)', (v) => AnomalyDetector.fit(v as number[][], { signals, window: 5, epochs: 1 }), 'INVALID_INPUT');
    for (const key of ['signals', 'window', 'validationFraction', 'quantile', 'epochs', 'kind', 'scoring', 'seed']) {
      await expectRejected(`AnomalyDetector.fit(${key})`, (v) => AnomalyDetector.fit(normal, { signals, window: 5, epochs: 1, [key]: v }), 'INVALID_ARGUMENT', [...HOSTILE, ['NaN', Number.NaN], key === 'seed' ? ['1.5', 1.5] : ['-1', -1]]);
    }
    const detector = await AnomalyDetector.fit(normal, { signals, window: 5, epochs: 1 });
    try {
      const before = { threshold: detector.threshold, windows: detector.normalWindows };
      await expectRejected('AnomalyDetector.scoreRows(rows)', (v) => detector.scoreRows(v as number[][]), 'INVALID_INPUT');
      await expectRejected('AnomalyDetector.scoreRows(sample)', (v) => detector.scoreRows(withRow(v).slice(0, 60)), 'INVALID_INPUT', [...HOSTILE, ['null', null]]);
      await expectRejected('AnomalyDetector.scoreRows(sample value)', (v) => detector.scoreRows(withValue(v).slice(0, 60)), 'INVALID_INPUT', [...HOSTILE, ['NaN', Number.NaN]]);
      await expectRejected('AnomalyDetector.scoreBatch(count)', (v) => detector.scoreBatch(new Float32Array(40), v as number), 'INVALID_INPUT', [...HOSTILE, ['NaN', Number.NaN], ['-1', -1], ['1.5', 1.5]]);
      await expectRejected('AnomalyDetector.scoreBatch(windows)', (v) => detector.scoreBatch(v as Float32Array, 1), 'INVALID_INPUT', [...HOSTILE, ['null', null]]);
      const stream = detector.stream();
      await expectRejected('AnomalyDetector.stream().push(sample)', (v) => stream.push(v as number[]), 'INVALID_INPUT', [...HOSTILE, ['null', null], ['[NaN × 4]', [Number.NaN, 1, 2, 3]]]);
      // The stream went on: the rejected samples never entered its window, so its scores are those of the rows alone.
      const rows = normal.slice(0, 12);
      const pushed = (await Promise.all(rows.map((r) => stream.push(r)))).flatMap((x) => (x ? [x.score] : []));
      expect(pushed).toEqual((await detector.scoreRows(rows)).map((x) => x.score));
      await expectRejected('AnomalyDetector.calibrate(rows)', (v) => detector.calibrate(v as number[][]), 'INVALID_INPUT');
      await expectRejected('AnomalyDetector.calibrate(sample value)', (v) => detector.calibrate(withValue(v)), 'INVALID_INPUT', [...HOSTILE, ['NaN', Number.NaN]]);
      await expectRejected('AnomalyDetector.calibrate(quantile)', (v) => detector.calibrate(normal, { quantile: v as number }), 'INVALID_ARGUMENT', [...HOSTILE, ['NaN', Number.NaN], ['0', 0]]);
      await expectRejected('AnomalyDetector.setThreshold', (v) => detector.setThreshold(v as number), 'INVALID_ARGUMENT', [...HOSTILE, ['NaN', Number.NaN], ['-1', -1]]);
      await expectRejected('AnomalyDetector.setThresholdQuantile', (v) => detector.setThresholdQuantile(v as number), 'INVALID_ARGUMENT');
      expect(detector.threshold).toBe(before.threshold);
      expect(detector.normalWindows).toBe(before.windows);
    } finally {
      detector.dispose();
    }
  }, 120_000);

  it('telemetry, SPC, OEE, alarms, snapshots and topics: records and options from data', async () => {
    const record = { asset: 'press-1', signal: 'pressure', timestamp: 1_767_225_600_000, value: 1.5 };
    for (const field of ['asset', 'signal', 'timestamp', 'value', 'quality']) {
      await expectTypedOrOk(`parseSensorRecord(${field})`, (v) => {
        const r = parseSensorRecord({ ...record, [field]: v }, 'test');
        expect.soft('rejected' in r, `parseSensorRecord(${field}) is a rejection`).toBe(true);
      }, [...HOSTILE, ...HOSTILE_JSON]);
    }
    await expectRejected('resample(options.fill)', (v) => resample([0, 1000], [1, 2], { intervalMs: 500, fill: v as 'previous' }), 'INVALID_ARGUMENT');
    await expectRejected('xbarR(subgroups[0][0])', (v) => xbarR([[v as number, 1], [1, 2], [2, 3]]), 'INVALID_INPUT');
    const period = { from: 0, to: 3_600_000 };
    await expectRejected('computeOee(states[0].state)', (v) => computeOee([{ asset: 'a', timestamp: 0, state: v as 'running' }], [], { shifts: [], ...period, idealCycleSeconds: { a: 1 } }), 'INVALID_INPUT');
    const alarms = new AlarmManager();
    const evidence = { source: 's', signals: ['x'], values: { x: 1 }, window: { from: 0, to: 1 } };
    await expectRejected('AlarmManager.update(severity)', (v) => alarms.update({ key: 'k', asset: 'a', exceeded: true, severity: v as 'high', at: 1, evidence }), 'INVALID_INPUT');
    await expectRejected('AlarmManager.update(evidence.values.x)', (v) => alarms.update({ key: 'k', asset: 'a', exceeded: true, severity: 'high', at: 1, evidence: { ...evidence, values: { x: v as number } } }), 'INVALID_INPUT');
    await expectRejected('parseAssetSnapshot', (v) => parseAssetSnapshot(v), 'MFG_SNAPSHOT_INVALID', [...HOSTILE, ...HOSTILE_JSON]);
    await expectRejected('topicLevel(name)', (v) => topicLevel(v as string), 'INVALID_ARGUMENT', HOSTILE);
  });
  it('SPC: a control-chart spec and a Phase II chart carry only checked values; a rule stream keeps its own limits', async () => {
    const { i: chart } = individuals([10, 10.2, 9.9, 10.1, 10, 13]);
    await expectRejected('controlChartSpec(chart)', (v) => controlChartSpec(v as typeof chart), 'INVALID_INPUT');
    await expectRejected('controlChartSpec(chart.kind)', (v) => controlChartSpec({ ...chart, kind: v as string }), 'INVALID_INPUT', HOSTILE);
    await expectRejected('controlChartSpec(chart.points[0])', (v) => controlChartSpec({ ...chart, points: [v as number, ...chart.points.slice(1)] }), 'INVALID_INPUT', [...HOSTILE, ['NaN', Number.NaN]]);
    await expectRejected('controlChartSpec(violations)', (v) => controlChartSpec(chart, v as []), 'INVALID_INPUT');
    await expectRejected('controlChartSpec(violations[0].rule)', (v) => controlChartSpec(chart, [{ rule: v as 1, index: 0, description: '' }]), 'INVALID_INPUT');
    await expectRejected('controlChartSpec(options)', (v) => controlChartSpec(chart, [], v as {}), 'INVALID_ARGUMENT', NOT_OBJECTS);
    await expectRejected('controlChartSpec(options.title)', (v) => controlChartSpec(chart, [], { title: v as string }), 'INVALID_ARGUMENT', HOSTILE);
    await expectRejected('controlChartSpec(options.labels[0])', (v) => controlChartSpec(chart, [], { labels: [v as string] }), 'INVALID_ARGUMENT', HOSTILE);
    expect(JSON.parse(JSON.stringify(controlChartSpec(chart, [], { title: 'press-1' })))).toMatchObject({ title: 'press-1' });
    await expectRejected('monitor(phaseOne.kind)', (v) => monitor({ ...chart, kind: v as string }, [1]), 'INVALID_INPUT', HOSTILE);
    const limits = { center: 0, sigma: 1 };
    const ruleSet = { rules: [2 as const], runLength: 3 };
    const rules = new RuleStream(limits, ruleSet);
    limits.sigma = Number.NaN; // changed after construction: the stream goes on with the limits it checked
    ruleSet.runLength = 100;
    expect([1, 1, 1].map((x) => rules.push(x).map((v) => v.rule))).toEqual([[], [], [2]]);
    expect(rules.limits.sigma).toBe(1);
  });

  it('alarms and data quality: restored state is checked first; an alarm keeps its own evidence', async () => {
    const track: AlarmTrackSnapshot = { key: 'a:x', asset: 'a', over: 1, under: 0 };
    const alarm: Alarm = { id: 'alarm-1', key: 'a:x', asset: 'a', severity: 'high', raisedAt: 1, occurrences: 1, evidence: { source: 's', signals: ['x'], values: { x: 1 }, window: { from: 0, to: 1 } } };
    const manager = new AlarmManager();
    await expectRejected('AlarmManager.restoreTracks(tracks)', (v) => manager.restoreTracks(v as []), 'INVALID_INPUT');
    await expectRejected('AlarmManager.restoreTracks(tracks[1])', (v) => manager.restoreTracks([track, v as AlarmTrackSnapshot]), 'INVALID_INPUT', [...HOSTILE, ['null', null]]);
    await expectRejected('AlarmManager.restoreTracks(tracks[0].over)', (v) => manager.restoreTracks([{ ...track, over: v as number }]), 'INVALID_INPUT', [...HOSTILE, ['NaN', Number.NaN], ['-1', -1]]);
    await expectRejected('AlarmManager.restoreTracks(active.evidence.values.x)', (v) => manager.restoreTracks([{ ...track, active: { ...alarm, evidence: { ...alarm.evidence, values: { x: v as number } } } }]), 'INVALID_INPUT', [...HOSTILE, ['NaN', Number.NaN]]);
    expect(manager.active()).toEqual([]); // nothing half-restored
    manager.restoreTracks([{ ...track, active: alarm }]);
    expect(manager.active()).toEqual([alarm]);

    const alarms = new AlarmManager({ raiseAfter: 1 });
    const evidence = { source: 's', signals: ['x'], values: { x: 1 }, window: { from: 0, to: 1 } };
    const [raised] = alarms.update({ key: 'k', asset: 'a', exceeded: true, severity: 'high', at: 1, evidence });
    evidence.values.x = Number.NaN; // a caller reusing its evidence object for the next sample
    evidence.signals.push('y');
    expect(raised!.alarm.evidence).toEqual({ source: 's', signals: ['x'], values: { x: 1 }, window: { from: 0, to: 1 } });
    expect(alarms.active()[0]!.evidence.values.x).toBe(1);

    const quality = new QualityMonitor({ now: () => 10_000 });
    await expectRejected('QualityMonitor.restoreSignal(state)', (v) => quality.restoreSignal('a', 's', v as { lastTs: number; lastValue: number; repeats: number }), 'INVALID_INPUT', [...HOSTILE, ['null', null]]);
    await expectRejected('QualityMonitor.restoreSignal(state.lastTs)', (v) => quality.restoreSignal('a', 's', { lastTs: v as number, lastValue: 1, repeats: 1 }), 'INVALID_INPUT', [...HOSTILE, ['NaN', Number.NaN], ['Infinity', Infinity]]);
    await expectRejected('QualityMonitor.restoreSignal(state.repeats)', (v) => quality.restoreSignal('a', 's', { lastTs: 1, lastValue: 1, repeats: v as number }), 'INVALID_INPUT', [...HOSTILE, ['0', 0], ['1.5', 1.5]]);
    await expectRejected('QualityMonitor.restoreSignal(asset)', (v) => quality.restoreSignal(v as string, 's', { lastTs: 1, lastValue: 1, repeats: 1 }), 'INVALID_INPUT', HOSTILE);
    expect(quality.snapshotSignal('a', 's')).toBeUndefined();
  });

  it('resample: linear fill between neighbours near ±1.8e308 stays finite', () => {
    const r = resample([0, 10], [-1.7e308, 1.7e308], { intervalMs: 1, fill: 'linear', maxFillMs: 100 });
    expect(r.unfilled).toBe(0);
    expect(Array.from(r.values).every(Number.isFinite)).toBe(true);
    expect(r.values[5]).toBe(0);
  });

  it('simulators and synthetic data: counts, seeds, faults and options are checked (no endless loop on Infinity)', async () => {
    const wide = [...HOSTILE, ['Infinity', Infinity], ['-1', -1], ['1.5', 1.5], ['"3"', '3']] as const;
    await expectRejected('simulateMachine(samples)', (v) => simulateMachine(v as number, 1), 'INVALID_ARGUMENT', wide);
    await expectRejected('simulateMachine(seed)', (v) => simulateMachine(3, v as number), 'INVALID_ARGUMENT', [...HOSTILE, ['NaN', Number.NaN], ['"1"', '1']]);
    await expectRejected('simulateMachine(fault)', (v) => simulateMachine(3, 1, v as { kind: 'step-pressure'; from: number }), 'INVALID_ARGUMENT');
    await expectRejected('simulateMachine(fault.from)', (v) => simulateMachine(3, 1, { kind: 'step-pressure', from: v as number }), 'INVALID_ARGUMENT', [...HOSTILE, ['NaN', Number.NaN]]);
    const line = { assets: 2, samples: 10, seed: 1 };
    await expectRejected('simulateLine(options)', (v) => simulateLine(v as typeof line), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
    await expectRejected('simulateLine(assets)', (v) => simulateLine({ ...line, assets: v as number }), 'INVALID_ARGUMENT', [...HOSTILE, ['Infinity', Infinity], ['[Symbol()]', [Symbol('a')]]]);
    await expectRejected('simulateLine(samples)', (v) => simulateLine({ ...line, samples: v as number }), 'INVALID_ARGUMENT', wide);
    await expectRejected('simulateLine(seed)', (v) => simulateLine({ ...line, seed: v as number }), 'INVALID_ARGUMENT', [...HOSTILE, ['NaN', Number.NaN]]);
    await expectRejected('simulateLine(faults)', (v) => simulateLine({ ...line, faults: v as [] }), 'INVALID_ARGUMENT');
    await expectRejected('simulateLine(faults[0].from)', (v) => simulateLine({ ...line, faults: [{ asset: 'asset-1', kind: 'drift', from: v as number }] }), 'INVALID_ARGUMENT', [...HOSTILE, ['NaN', Number.NaN]]);
    const sim = simulateLine(line);
    await expectRejected('lineRecords(line)', (v) => lineRecords(v as typeof sim), 'INVALID_INPUT', [...HOSTILE, ['null', null]]);
    await expectRejected('lineRecords(range[0])', (v) => lineRecords(sim, [v as number, 2]), 'INVALID_ARGUMENT', [...HOSTILE, ['-1', -1], ['1.5', 1.5], ['null', null]]);
    expect([...lineRecords(sim, [1, 2])]).toHaveLength(2 * LINE_SIGNALS.length);
    await expectRejected('bearingRunToFailure(options)', (v) => bearingRunToFailure(v as {}), 'INVALID_ARGUMENT', NOT_OBJECTS);
    await expectRejected('bearingRunToFailure(minLife)', (v) => bearingRunToFailure({ units: 1, minLife: v as number }), 'INVALID_ARGUMENT', [...HOSTILE, ['NaN', Number.NaN], ['"5"', '5']]);
    const row = LINE_SIGNALS.map(() => 1);
    await expectRejected('cycleMeans(rows)', (v) => cycleMeans(v as number[][]), 'INVALID_INPUT');
    await expectRejected('cycleMeans(rows[0][1])', (v) => cycleMeans([[1, v as number, ...row.slice(2)]]), 'INVALID_INPUT', [...HOSTILE, ['null', null], ['"1"', '1']]);
    await expectRejected('generateParts(options)', (v) => generateParts(1, v as {}), 'INVALID_ARGUMENT', NOT_OBJECTS);
    await expectRejected('generateParts(options.seed)', (v) => generateParts(1, { seed: v as number }), 'INVALID_ARGUMENT', [...HOSTILE, ['NaN', Number.NaN]]);
    await expectRejected('generatePart(seed)', (v) => generatePart('good', v as number), 'INVALID_ARGUMENT', [...HOSTILE, ['NaN', Number.NaN]]);
    await expectRejected('generateRunToFailure(options)', (v) => generateRunToFailure(v as {}), 'INVALID_ARGUMENT', NOT_OBJECTS);
    await expectRejected('assignPartitions(members)', (v) => assignPartitions(v as string[], 4), 'INVALID_ARGUMENT');
    await expectRejected('assignPartitions(members[0])', (v) => assignPartitions([v as string], 4), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
  });

  it('line monitor: detector, snapshot options, run source and baseline rows; assets and signals named like Object.prototype members', async () => {
    const options = { signals: ['p'], baseline: { '*': { p: { center: 5, sigma: 0.1 } } }, subgroup: 2 };
    await expectRejected('LineMonitor(detector)', (v) => new LineMonitor({ ...options, detector: v as AnomalyDetector }), 'INVALID_ARGUMENT');
    const lm = new LineMonitor({ ...options, quality: { now: () => 1e12 + 1e6 } });
    await lm.push({ timestamp: 1e12, asset: 'a1', signal: 'p', value: 5, quality: 'good' });
    await expectRejected('LineMonitor.snapshotAsset(options)', (v) => lm.snapshotAsset('a1', v as {}), 'INVALID_ARGUMENT', NOT_OBJECTS);
    await expectRejected('LineMonitor.run(source)', (v) => lm.run(v as AsyncIterable<never>).next(), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
    const rows = Array.from({ length: 40 }, (_, i) => [5 + (i % 3) / 10]);
    await expectRejected('LineMonitor.fitBaseline(normal.a[3][0])', (v) => LineMonitor.fitBaseline({ a: rows.map((r, i) => (i === 3 ? [v as number] : r)) }, ['p'], 2), 'INVALID_INPUT', [...HOSTILE, ['"5"', '5']]);
    await expectRejected('LineMonitor.fitBaseline(normal.a[3])', (v) => LineMonitor.fitBaseline({ a: rows.map((r, i) => (i === 3 ? (v as number[]) : r)) }, ['p'], 2), 'INVALID_INPUT', [['[]', []], ['[5, 5]', [5, 5]]]);
    const proto = LineMonitor.fitBaseline(JSON.parse(`{"__proto__": ${JSON.stringify(rows)}}`) as Record<string, number[][]>, ['p'], 2);
    expect(Object.keys(proto)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    // An asset or a signal named like an Object.prototype member gets the '*' baseline (or none), never 0 ± 0.
    for (const asset of ['constructor', 'toString', '__proto__']) {
      const m = new LineMonitor({ ...options, quality: { now: () => 1e12 + 1e6 } });
      const events = [];
      for (let i = 0; i < 10; i++) events.push(...(await m.push({ timestamp: 1e12 + i * 1000, asset, signal: 'p', value: 5, quality: 'good' })));
      expect(events, asset).toEqual([]);
    }
    const m = new LineMonitor({ signals: ['p', 'constructor'] as string[], baseline: options.baseline, subgroup: 2, quality: { now: () => 1e12 + 1e6 } });
    await expect(m.push({ timestamp: 1e12, asset: 'a', signal: 'p', value: 5, quality: 'good' })).resolves.toEqual([]);
  });

  it('plant outputs: metrics of a line, labels, retire options, TLS material; telemetry connection options', async () => {
    const lm = new LineMonitor({ signals: ['p'], baseline: { '*': { p: { center: 5, sigma: 0.1 } } } });
    const status = new LineStatus({ line: 'l', monitor: lm, signals: ['p'] });
    await expectRejected('lineStatusMetrics(status)', (v) => lineStatusMetrics(v as LineStatus), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
    await expectRejected('lineStatusMetrics(monitor)', (v) => lineStatusMetrics(status, v as LineMonitor), 'INVALID_ARGUMENT');
    await expectRejected('LineStatus.retire(options)', (v) => status.retire('a', v as {}), 'INVALID_ARGUMENT', NOT_OBJECTS);
    await expectRejected('renderPrometheus(samples[0].labels)', (v) => renderPrometheus([{ name: 'up', help: 'h', type: 'gauge', samples: [{ labels: v as {}, value: 1 }] }]), 'INVALID_INPUT', NOT_OBJECTS);
    const publisher = { status, url: 'mqtts://127.0.0.1:1', connectTimeoutMs: 200 };
    for (const key of ['ca', 'cert', 'key']) {
      // (Text that is not PEM is refused for a certificate or key; OpenSSL skips it in a CA bundle, and the handshake fails.)
      const notPem: ReadonlyArray<readonly [string, unknown]> = key === 'ca' ? [] : [['"not PEM"', 'not PEM']];
      await expectRejected(`MqttPlantPublisher.start(tls.${key})`, (v) => MqttPlantPublisher.start({ ...publisher, tls: { [key]: v } }), 'INVALID_ARGUMENT', [...HOSTILE, ...notPem, ['1', 1]]);
    }
    await expectRejected('MqttPlantPublisher.start(tls.rejectUnauthorized)', (v) => MqttPlantPublisher.start({ ...publisher, tls: { rejectUnauthorized: v as boolean } }), 'INVALID_ARGUMENT', [...HOSTILE, ['"false"', 'false']]);
    const telemetry = { url: 'mqtt://127.0.0.1:1', topic: 'plant/{asset}/{signal}' };
    await expectRejected('MqttTelemetry.connect(options)', (v) => MqttTelemetry.connect(v as typeof telemetry), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
    for (const key of ['url', 'topic', 'clientId', 'qos', 'maxQueue', 'reconnectPeriodMs']) {
      await expectRejected(`MqttTelemetry.connect(${key})`, (v) => MqttTelemetry.connect({ ...telemetry, [key]: v }), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
    }
    await expectRejected('MqttTelemetry.connect(topic)', (v) => MqttTelemetry.connect({ ...telemetry, topic: v as string }), 'INVALID_ARGUMENT', [['"plant/#"', 'plant/#'], ['""', '']]);
    // The broker URL's credentials never reach the error message.
    const err = await MqttTelemetry.connect({ url: 'mqtt://line-user:s3cret-pw@127.0.0.1:1', topic: 'a/{asset}/{signal}' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MFG_MQTT_CONNECT' });
    expect((err as Error).message).not.toMatch(/s3cret|line-user/);
  }, 30_000);

  it('models: RUL, inspector and classifier inputs and options are refused before training', async () => {
    const units = generateRunToFailure({ units: 2, seed: 1 }).map((u) => ({ ...u, rows: u.rows.slice(0, 30) }));
    await expectRejected('RulModel.fit(options)', (v) => RulModel.fit(units, v as {}), 'INVALID_ARGUMENT', NOT_OBJECTS);
    for (const key of ['kind', 'seed']) await expectRejected(`RulModel.fit(${key})`, (v) => RulModel.fit(units, { window: 5, epochs: 1, [key]: v }), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
    await expectRejected('RulModel.fit(epochs)', (v) => RulModel.fit(units, { window: 5, epochs: v as number }), 'INVALID_ARGUMENT', [['1e308', 1e308]]);
    const rul = await RulModel.fit(units, { window: 5, epochs: 1 });
    try {
      await expect(rul.predict([])).resolves.toEqual([]);
    } finally {
      rul.dispose();
    }

    const good = Array.from({ length: 20 }, (_, i) => flat(0.4 + i / 100));
    const small = { width: 8, height: 8, filters: [2, 2, 2] as [number, number, number], latentChannels: 2, epochs: 1, batchSize: 20 };
    await expectRejected('DefectInspector.fit(good)', (v) => DefectInspector.fit(v as [], small), 'INVALID_INPUT');
    await expectRejected('DefectInspector.fit(options)', (v) => DefectInspector.fit(good, v as {}), 'INVALID_ARGUMENT', NOT_OBJECTS);
    // (null is "not given", as everywhere in the package's options: the default applies.)
    await expectRejected('DefectInspector.fit(filters)', (v) => DefectInspector.fit(good, { ...small, filters: v as [number, number, number] }), 'INVALID_ARGUMENT', [...HOSTILE, ['[2, 2]', [2, 2]], ['[2, 2, 1e308]', [2, 2, 1e308]]]);
    await expectRejected('DefectInspector.fit(seed)', (v) => DefectInspector.fit(good, { ...small, seed: v as number }), 'INVALID_ARGUMENT', [...HOSTILE, ['NaN', Number.NaN]]);
    await expectRejected('DefectInspector.fit(quantile)', (v) => DefectInspector.fit(good, { ...small, quantile: v as number }), 'INVALID_ARGUMENT', [...HOSTILE, ['NaN', Number.NaN], ['0', 0], ['2', 2]]);
    await expectRejected('DefectInspector.fit(latentChannels)', (v) => DefectInspector.fit(good, { ...small, latentChannels: v as number }), 'INVALID_ARGUMENT', [...HOSTILE, ['1e308', 1e308]]);
    const inspector = await DefectInspector.fit(good, small);
    try {
      await expectRejected('DefectInspector.inspectBatch(images)', (v) => inspector.inspectBatch(v as []), 'INVALID_INPUT');
      await expectRejected('DefectInspector.evaluate(samples)', (v) => inspector.evaluate(v as []), 'INVALID_INPUT');
      await expectRejected('DefectInspector.evaluate(samples[0])', (v) => inspector.evaluate([v as { image: Float32Array }, { image: flat(0.9), label: 'dent' }]), 'INVALID_INPUT', [...HOSTILE, ['null', null]]);
      await expectRejected('DefectInspector.evaluate(samples[0].label)', (v) => inspector.evaluate([{ image: flat(0.5), label: v as string }, { image: flat(0.9), label: 'good' }]), 'INVALID_INPUT', HOSTILE);
      const mask = (v: unknown): number[] => Object.assign(new Array<number>(64).fill(0), { 3: v as number });
      await expectRejected('DefectInspector.evaluate(samples[1].mask[3])', (v) => inspector.evaluate([{ image: flat(0.5), label: 'good' }, { image: flat(0.9), label: 'dent', mask: mask(v) }]), 'INVALID_INPUT', [...HOSTILE, ['NaN', Number.NaN], ['"1"', '1']]);
      await expectRejected('DefectInspector.overlayPng(result)', (v) => inspector.overlayPng(flat(0.5), v as never), 'INVALID_INPUT', [...HOSTILE, ['null', null]]);
      await expectRejected('DefectInspector.overlayPng(alpha)', (v) => inspector.overlayPng(flat(0.5), undefined, v as number), 'INVALID_ARGUMENT', [...HOSTILE, ['NaN', Number.NaN], ['2', 2]]);
    } finally {
      inspector.dispose();
    }

    const samples = [
      { image: flat(0.2), label: 'good' },
      { image: flat(0.8), label: 'scratch' },
    ];
    const options = { width: 8, height: 8, epochs: 1, downsample: 1 as const };
    await expectRejected('DefectClassifier.fit(samples)', (v) => DefectClassifier.fit(v as [], options), 'INVALID_INPUT');
    await expectRejected('DefectClassifier.fit(samples[0])', (v) => DefectClassifier.fit([v as (typeof samples)[0], samples[1]!], options), 'INVALID_INPUT', [...HOSTILE, ['null', null]]);
    await expectRejected('DefectClassifier.fit(options)', (v) => DefectClassifier.fit(samples, v as {}), 'INVALID_ARGUMENT', NOT_OBJECTS);
    await expectRejected('DefectClassifier.fit(samples[1].label) without options.labels', (v) => DefectClassifier.fit([samples[0]!, { image: flat(0.5), label: v as string }], options), 'INVALID_INPUT', HOSTILE);
    await expectRejected('DefectClassifier.fit(options.labels)', (v) => DefectClassifier.fit(samples, { ...options, labels: v as string[] }), 'INVALID_ARGUMENT', [...HOSTILE, ['repeated', ['good', 'scratch', 'good']]]);
    await expectRejected('DefectClassifier.fit(filters)', (v) => DefectClassifier.fit(samples, { ...options, filters: v as number[] }), 'INVALID_ARGUMENT', [...HOSTILE, ['[]', []], ['[1.5]', [1.5]]]);
    await expectRejected('DefectClassifier.fit(seed)', (v) => DefectClassifier.fit(samples, { ...options, seed: v as number }), 'INVALID_ARGUMENT', [...HOSTILE, ['NaN', Number.NaN]]);
    await expectRejected('DefectClassifier.fit(epochs)', (v) => DefectClassifier.fit(samples, { ...options, epochs: v as number }), 'INVALID_ARGUMENT', [...HOSTILE, ['1e308', 1e308]]);
    const classifier = await DefectClassifier.fit(samples, options);
    try {
      await expectRejected('DefectClassifier.predictBatch(images)', (v) => classifier.predictBatch(v as []), 'INVALID_INPUT');
      await expectRejected('DefectClassifier.evaluate(samples)', (v) => classifier.evaluate(v as []), 'INVALID_INPUT');
      await expectRejected('DefectClassifier.evaluate(samples[0])', (v) => classifier.evaluate([v as (typeof samples)[0]]), 'INVALID_INPUT', [...HOSTILE, ['null', null]]);
    } finally {
      classifier.dispose();
    }
  }, 120_000);

  it('messages describe the hostile value without running its code', () => {
    expect(() => generateParts(Symbol('n') as unknown as number)).toThrow(/Symbol\(n\)/);
    expect(() => generateParts({ valueOf: () => 3 } as unknown as number)).toThrow(/\(object\)/); // valueOf never called
  });
});

describe('RuleStream limits: one-sided charts and limits that contradict each other', () => {
  const rule1 = { rules: [1 as const], runLength: 9 };

  it('{ ucl: Infinity } is a chart without an upper limit (it was MFG_NON_FINITE_RESULT), and the lower default still applies', () => {
    const upperOpen = new RuleStream({ center: 0, sigma: 1, ucl: Number.POSITIVE_INFINITY }, rule1);
    expect([upperOpen.push(1e300), upperOpen.push(2.9), upperOpen.push(-3.1)].map((v) => v.length)).toEqual([0, 0, 1]);
    expect(upperOpen.limits).toEqual({ center: 0, sigma: 1, ucl: Number.POSITIVE_INFINITY });
    const lowerOpen = new RuleStream({ center: 0, sigma: 1, lcl: Number.NEGATIVE_INFINITY }, rule1);
    expect([lowerOpen.push(-1e300), lowerOpen.push(3.1)].map((v) => v.length)).toEqual([0, 1]);
    // as before: both limits open, and both given
    expect(new RuleStream({ center: 0, sigma: 1, ucl: Number.POSITIVE_INFINITY, lcl: Number.NEGATIVE_INFINITY }, rule1).push(1e300)).toEqual([]);
  });

  it('an upper limit below the lower one (every point out of control) is INVALID_ARGUMENT; a defaulted limit that overflows is still MFG_NON_FINITE_RESULT', async () => {
    for (const [name, limits] of [
      ['ucl -Infinity', { ucl: Number.NEGATIVE_INFINITY }],
      ['lcl Infinity', { lcl: Number.POSITIVE_INFINITY }],
      ['ucl below lcl', { ucl: -1, lcl: 1 }],
      ['ucl below the default lcl', { ucl: -4 }],
    ] as const) {
      expect.soft(await outcome(() => new RuleStream({ center: 0, sigma: 1, ...limits }, rule1)), name).toBe('LeptonError INVALID_ARGUMENT');
    }
    expect(await outcome(() => new RuleStream({ center: 1e308, sigma: 1e308, ucl: 1e308 }))).toBe('LeptonError MFG_NON_FINITE_RESULT');
    expect(await outcome(() => new RuleStream({ center: 1e308, sigma: 1e308, lcl: 0 }))).toBe('LeptonError MFG_NON_FINITE_RESULT');
    expect(new RuleStream({ center: 5, sigma: 0 }).push(5)).toEqual([]); // sigma 0: ucl = lcl = centre, as before
  });
});

describe('plant and maintenance helpers without a sweep before: severityRank, alarmSource, rulTarget', () => {
  it('severityRank: an unknown severity is INVALID_ARGUMENT (it came back as undefined, toString as a function)', async () => {
    await expectRejected('severityRank(s)', (v) => severityRank(v as 'low'), 'INVALID_ARGUMENT', [...HOSTILE, ['undefined', undefined], ["'toString'", 'toString'], ["'LOW'", 'LOW'], ['1', 1]]);
    expect([null, 'low', 'medium', 'high', 'critical'].map((s) => severityRank(s as 'low' | null))).toEqual([0, 1, 2, 3, 4]);
  });

  it('alarmSource: a value that is not an alarm is INVALID_ARGUMENT (each was a TypeError)', async () => {
    const alarm = { id: 'a1', key: 'press-1:spc:temp', asset: 'press-1', evidence: { source: 'nelson' } } as unknown as Alarm;
    await expectRejected('alarmSource(a)', (v) => alarmSource(v as Alarm), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_OBJECTS, ['undefined', undefined], ['{}', {}]]);
    for (const key of ['key', 'asset', 'evidence']) {
      await expectRejected(`alarmSource(a.${key})`, (v) => alarmSource({ ...alarm, [key]: v } as Alarm), 'INVALID_ARGUMENT', [...HOSTILE.filter(([n]) => n !== '10 MB string'), ['null', null], ['1', 1]]);
    }
    await expectRejected('alarmSource(a.evidence.source)', (v) => alarmSource({ ...alarm, key: 'k', evidence: { source: v } } as unknown as Alarm), 'INVALID_ARGUMENT', [...HOSTILE.filter(([n]) => n !== '10 MB string'), ['null', null]]);
    expect(alarmSource(alarm)).toBe('spc');
    expect(alarmSource({ ...alarm, key: 'other', evidence: { source: 'data-quality/gap' } } as unknown as Alarm)).toBe('quality');
  });

  it('rulTarget: a negative cycle, a cycle at or past failure or a negative cap is INVALID_INPUT (a negative target before)', async () => {
    await expectRejected('rulTarget(cycle)', (v) => rulTarget(v as number, 200), 'INVALID_INPUT', [...HOSTILE, ['-1', -1], ['200 (= life)', 200], ['199.5', 199.5], ['1e308', 1e308]]);
    await expectRejected('rulTarget(life)', (v) => rulTarget(0, v as number), 'INVALID_INPUT', [...HOSTILE, ['-1', -1], ['0', 0], ['0.5', 0.5]]);
    await expectRejected('rulTarget(cap)', (v) => rulTarget(0, 200, v as number), 'INVALID_INPUT', [...HOSTILE, ['-1', -1], ['-Infinity', Number.NEGATIVE_INFINITY]]);
    expect([0, 50, 174, 199].map((c) => rulTarget(c, 200, 125))).toEqual([125, 125, 25, 0]); // as before
    expect(rulTarget(0, 200, 0)).toBe(0);
  });
});
