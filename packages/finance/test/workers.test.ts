// The `workers` option of FraudModel: rows scored on worker threads (the MLP and the autoencoder each on their own
// pool) must get exactly the scores of the model in this thread (bitwise on wasm), close() must end every thread, and a
// bad count is refused before any work. A small model on seeded synthetic transactions, so the file runs in seconds.
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime, tf } from '@lepton/core';
import { FraudModel } from '@lepton/finance';
import { fraudDataset } from './support/dataset.js';

// Worker threads are OS threads: on Linux /proc/self/task lists them, which shows whether close() really ended them.
const threads = (): number => (existsSync('/proc/self/task') ? readdirSync('/proc/self/task').length : Number.NaN);
const HAVE_PROC = !Number.isNaN(threads());

let data: Awaited<ReturnType<typeof fraudDataset>>;
let local: FraudModel;
let pooled: FraudModel;
let dir: string;
const options = () => ({ featureNames: data.engine.names, seed: 3, epochs: 2 });

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
  data = await fraudDataset(120, 16, 5);
  ({ model: local } = await FraudModel.train(data.train, data.validation, options()));
  dir = await mkdtemp(join(tmpdir(), 'lepton-fraud-workers-'));
  await local.save(join(dir, 'model'), { name: 'fraud', version: '1.0.0' });
  pooled = await FraudModel.load(join(dir, 'model'), { workers: 2 });
}, 60_000);
afterAll(async () => {
  local?.dispose();
  await pooled?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('FraudModel on 2 workers', () => {
  it('refuses a bad worker count with INVALID_ARGUMENT, before any training or loading', async () => {
    for (const workers of [0, -1, 2.5, 257, Number.NaN, '2', 'max', null] as never[]) {
      await expect(FraudModel.train(data.train, data.validation, { ...options(), workers })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('workers'),
      });
      await expect(FraudModel.load('/nonexistent', { workers })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
  });

  it('score() equals the in-thread scores bitwise, rows spread over both workers of each model', async () => {
    expect([local.workers, pooled.workers]).toEqual([1, 2]);
    const rows = [...data.validation.rows, ...data.test.rows];
    expect(rows.length).toBeGreaterThan(1000); // several batches of 256 per pool
    const before = threads();
    const tensors = tf.memory().numTensors;
    const expected = await local.score(rows);
    expect(expected.some((s) => s.anomaly > 0)).toBe(true); // the autoencoder takes part
    expect(await pooled.score(rows)).toEqual(expected);
    expect(tf.memory().numTensors).toBe(tensors);
    if (HAVE_PROC) expect(threads() - before).toBeGreaterThanOrEqual(4); // two pools of two, started on first use
    expect(await pooled.score(rows.slice(0, 3))).toEqual(expected.slice(0, 3));
    expect(await pooled.score([])).toEqual([]);
  });

  it('a model without an autoencoder, trained with workers: 2, scores as the same model trained without', async () => {
    const noAe = { ...options(), autoencoder: false };
    const [{ model: a }, { model: b }] = [await FraudModel.train(data.train, data.validation, noAe), await FraudModel.train(data.train, data.validation, { ...noAe, workers: 2 })];
    try {
      expect(await b.score(data.test.rows)).toEqual(await a.score(data.test.rows));
    } finally {
      a.dispose();
      await b.close();
    }
  });

  it('refuses a row with a missing or overflowing value, in this thread and on workers alike', async () => {
    const row = Float32Array.from(data.test.rows[0]!);
    row[2] = Number.NaN;
    const huge = Array.from(data.test.rows[0]!, (v, j) => (j === 1 ? 1e300 : v));
    for (const m of [local, pooled]) {
      await expect(m.score([data.test.rows[0]!, row])).rejects.toMatchObject({ code: 'INVALID_INPUT', details: { row: 1, feature: data.engine.names[2] } });
      await expect(m.score([huge])).rejects.toMatchObject({ code: 'INVALID_INPUT', details: { row: 0 } });
    }
  });

  it('close() ends the worker threads of both models; the model then refuses work with PREDICTOR_CLOSED', async () => {
    await pooled.score(data.test.rows.slice(0, 10));
    const running = threads();
    await pooled.close();
    if (HAVE_PROC) expect(running - threads()).toBeGreaterThanOrEqual(4);
    await expect(pooled.score(data.test.rows.slice(0, 10))).rejects.toMatchObject({ code: 'PREDICTOR_CLOSED' });
    await pooled.close(); // idempotent
    // dispose() stops them too, without waiting.
    const again = await FraudModel.load(join(dir, 'model'), { workers: 2 });
    await again.score(data.test.rows.slice(0, 10));
    const started = threads();
    again.dispose();
    await expect(again.score(data.test.rows.slice(0, 1))).rejects.toMatchObject({ code: 'PREDICTOR_CLOSED' });
    if (HAVE_PROC) await expect.poll(() => started - threads(), { timeout: 5_000 }).toBeGreaterThanOrEqual(4);
  });
});
