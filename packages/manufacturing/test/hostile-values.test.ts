import { beforeAll, describe, expect, it } from 'vitest';
import {
  AlarmManager,
  AnomalyDetector,
  computeOee,
  DefectClassifier,
  DefectInspector,
  generatePart,
  generateParts,
  initRuntime,
  MACHINE_SIGNALS,
  parseAssetSnapshot,
  parseSensorRecord,
  resample,
  simulateLine,
  simulateMachine,
  topicLevel,
  xbarR,
} from '@lepton/manufacturing';
import { expectRejected, expectTypedOrOk, HOSTILE, HOSTILE_JSON } from '../../../tests/support/hostile.js';

// Every position below is validated; a hostile value there must come back as a rejection or a LeptonError, never as
// a TypeError from building a message (`${value}` / String(value) of a value without a usable toString).

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
  it('messages describe the hostile value without running its code', () => {
    expect(() => generateParts(Symbol('n') as unknown as number)).toThrow(/Symbol\(n\)/);
    expect(() => generateParts({ valueOf: () => 3 } as unknown as number)).toThrow(/\(object\)/); // valueOf never called
  });
});
