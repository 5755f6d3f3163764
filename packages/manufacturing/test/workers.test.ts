// The `workers` option of AnomalyDetector (and so LineMonitor) and DefectInspector: scoring on worker threads must give
// exactly what scoring in this thread gives (bitwise on wasm), close() must end every thread, and a bad count is refused
// before any work. Small models and seeded synthetic data, so the file runs in seconds on two cores.
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime, tf } from '@lepton/core';
import {
  AnomalyDetector,
  DefectInspector,
  generateParts,
  LINE_SIGNALS,
  LineMonitor,
  lineRecords,
  PART_LABELS,
  simulateLine,
  type LineEvent,
} from '@lepton/manufacturing';

// Worker threads are OS threads: on Linux /proc/self/task lists them, which shows whether close() really ended them.
const threads = (): number => (existsSync('/proc/self/task') ? readdirSync('/proc/self/task').length : Number.NaN);
const HAVE_PROC = !Number.isNaN(threads());

const assets = ['press-1', 'press-2', 'mill-1'];
const signals = [...LINE_SIGNALS];
let dir: string;

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
  dir = await mkdtemp(join(tmpdir(), 'lepton-mfg-workers-'));
});
afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('workers option: checked before any work', () => {
  it.each([0, -1, 1.5, 257, Number.NaN, '2', 'many', null])('refuses workers: %s with INVALID_ARGUMENT', async (workers) => {
    const normal = simulateLine({ assets: ['a'], samples: 200, seed: 1 }).rows['a']!;
    const w = workers as never;
    await expect(AnomalyDetector.fit(normal, { signals, window: 10, epochs: 1, workers: w })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('workers') });
    await expect(AnomalyDetector.load('/nonexistent', { workers: w })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(DefectInspector.fit([], { workers: w })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('workers') });
    await expect(DefectInspector.load('/nonexistent', { workers: w })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('AnomalyDetector and LineMonitor on 2 workers', () => {
  const normal = simulateLine({ assets, samples: 1500, seed: 11 });
  const shift = simulateLine({ assets, samples: 300, seed: 12, faults: [{ asset: 'press-2', kind: 'step', from: 150, signal: 'pressure', magnitude: 0.8 }] });
  const options = { signals, window: 10, epochs: 2, seed: 1 };
  let local: AnomalyDetector;
  let pooled: AnomalyDetector;

  beforeAll(async () => {
    local = await AnomalyDetector.fitSeries(assets.map((a) => normal.rows[a]!), options);
    await local.save(join(dir, 'ae'), { name: 'ae', version: '1.0.0' });
    pooled = await AnomalyDetector.load(join(dir, 'ae'), { workers: 2 });
  }, 60_000);
  afterAll(async () => {
    local?.dispose();
    await pooled?.close();
  });

  it('fit with workers: 2 sets the same threshold (held-out windows scored on the workers)', async () => {
    const fitted = await AnomalyDetector.fitSeries(assets.map((a) => normal.rows[a]!), { ...options, workers: 2 });
    try {
      expect(fitted.workers).toBe(2);
      expect(fitted.threshold).toBe(local.threshold);
    } finally {
      await fitted.close();
    }
  });

  it('scoreRows and scoreBatch equal the in-thread scores bitwise', async () => {
    expect([local.workers, pooled.workers]).toEqual([1, 2]);
    const rows = shift.rows['press-2']!;
    const before = threads();
    expect(await pooled.scoreRows(rows)).toEqual(await local.scoreRows(rows));
    if (HAVE_PROC) expect(threads() - before).toBeGreaterThanOrEqual(2); // the workers started on first use
    const w = local.window;
    const flat = new Float32Array(200 * w * signals.length);
    for (let i = 0; i < 200; i++) for (let t = 0; t < w; t++) flat.set(rows[i + t]!, (i * w + t) * signals.length);
    const expected = await local.scoreBatch(flat, 200);
    const pending = pooled.scoreBatch(flat, 200);
    flat.fill(1e6); // copied when scoreBatch returned, as in this thread
    expect(await pending).toEqual(expected);
    expect(await pooled.scoreBatch(flat, 0)).toEqual([]);
    const bad = Float32Array.from(flat.subarray(0, w * signals.length)).fill(Number.NaN, 3, 4);
    for (const d of [local, pooled]) await expect(d.scoreBatch(bad, 1)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('a LineMonitor with the pooled detector emits the same events, pushes awaited or not', async () => {
    const records = [...lineRecords(shift)];
    const run = async (detector: AnomalyDetector, awaitEach: boolean): Promise<LineEvent[]> => {
      const monitor = new LineMonitor({ signals: LINE_SIGNALS, detector });
      const events = awaitEach ? [] : (await Promise.all(records.map((r) => monitor.push(r)))).flat();
      if (awaitEach) for (const r of records) events.push(...(await monitor.push(r)));
      return events.concat(await monitor.flush());
    };
    const expected = await run(local, true);
    expect(expected.some((e) => e.type === 'raised')).toBe(true);
    expect(await run(pooled, true)).toEqual(expected);
    expect(await run(pooled, false)).toEqual(expected);
  });
});

describe('DefectInspector on 2 workers', () => {
  let local: DefectInspector;
  let pooled: DefectInspector;
  const test = generateParts(12, { seed: 99, labels: PART_LABELS }).map((p) => p.image);

  beforeAll(async () => {
    local = await DefectInspector.fit(generateParts(24, { seed: 11 }).map((p) => p.image), { epochs: 2, seed: 3 });
    await local.save(join(dir, 'inspector'), { name: 'inspector', version: '1.0.0' });
    pooled = await DefectInspector.load(join(dir, 'inspector'), { workers: 2 });
  }, 60_000);
  afterAll(async () => {
    local?.dispose();
    await pooled?.close();
  });

  it('inspectBatch, inspect and evaluate equal the in-thread results bitwise, with no tensor left behind', async () => {
    expect([local.workers, pooled.workers]).toEqual([1, 2]);
    const expected = await local.inspectBatch(test);
    const tensors = tf.memory().numTensors;
    expect(await pooled.inspectBatch(test)).toEqual(expected);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(await pooled.inspect(test[5]!)).toEqual(expected[5]);
    const samples = generateParts(12, { seed: 5, labels: PART_LABELS });
    expect(await pooled.evaluate(samples)).toEqual(await local.evaluate(samples));
    await expect(pooled.inspect(new Float32Array(10))).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('close() ends the worker threads; the inspector then refuses work with PREDICTOR_CLOSED', async () => {
    await pooled.inspect(test[0]!);
    const running = threads();
    await pooled.close();
    if (HAVE_PROC) expect(running - threads()).toBeGreaterThanOrEqual(2);
    await expect(pooled.inspect(test[0]!)).rejects.toMatchObject({ code: 'PREDICTOR_CLOSED' });
    await pooled.close(); // idempotent
    // dispose() stops them too, without waiting; a detector whose workers never started closes at once.
    const again = await DefectInspector.load(join(dir, 'inspector'), { workers: 2 });
    await again.inspect(test[0]!);
    const started = threads();
    again.dispose();
    await expect(again.inspect(test[0]!)).rejects.toMatchObject({ code: 'PREDICTOR_CLOSED' });
    if (HAVE_PROC) await expect.poll(() => started - threads(), { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
    const unused = await AnomalyDetector.load(join(dir, 'ae'), { workers: 2 });
    await unused.close();
    await expect(unused.scoreRows([])).rejects.toMatchObject({ code: 'PREDICTOR_CLOSED' });
  });
});
