import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildMlp, buildResidualCnn, createPredictor, initRuntime, tf } from '@lepton/core';
import { BACKENDS, useBackend } from './support/backends.js';

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
});

const row = (i: number, d: number): number[] => Array.from({ length: d }, (_, j) => Math.sin(i * 7 + j));

describe.each(BACKENDS)('predictor on %s', (backend) => {
  afterEach(async () => useBackend('wasm'));

  it('merges concurrent requests into batches and returns what the model computes', async () => {
    await useBackend(backend);
    const model = buildMlp({ inputDim: 8, seed: 2 });
    const predictor = await createPredictor(model, { maxBatchSize: 16, maxWaitMs: 5 });
    const inputs = Array.from({ length: 64 }, (_, i) => row(i, 8));
    const outputs = await Promise.all(inputs.map((r) => predictor.predict(r)));
    const direct = tf.tidy(() => (model.predict(tf.tensor2d(inputs)) as tf.Tensor).dataSync());
    outputs.forEach((o, i) => expect(o[0]).toBeCloseTo(direct[i]!, 5));
    const stats = predictor.stats();
    expect(stats.requests).toBe(64);
    expect(stats.batches).toBeLessThanOrEqual(8);
    expect(stats.meanBatchSize).toBeGreaterThanOrEqual(8);
    await predictor.close();
    model.dispose();
  });

  it('leaks no tensors over thousands of predictions', async () => {
    await useBackend(backend);
    const model = buildResidualCnn({ inputShape: [8, 8, 1], numClasses: 2, filters: [4], seed: 1 });
    const predictor = await createPredictor(model, { maxBatchSize: 32, maxWaitMs: 1 });
    const baseline = tf.memory().numTensors;
    const image = new Float32Array(64).fill(0.5);
    for (let round = 0; round < 25; round++) {
      await Promise.all(Array.from({ length: 120 }, () => predictor.predict(image)));
    }
    expect(predictor.stats().requests).toBe(3000);
    expect(tf.memory().numTensors).toBe(baseline);
    await predictor.close();
    model.dispose();
  });
});

describe('predictor limits', () => {
  it('rejects past maxQueue with OVERLOADED and serves the rest', async () => {
    const model = buildMlp({ inputDim: 4, seed: 1 });
    const predictor = await createPredictor(model, { maxBatchSize: 8, maxWaitMs: 20, maxQueue: 10 });
    const results = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => predictor.predict(row(i, 4))));
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    const fulfilled = results.filter((r) => r.status === 'fulfilled');
    expect(rejected.length).toBeGreaterThan(0);
    expect(fulfilled.length).toBeGreaterThanOrEqual(10);
    expect(fulfilled.length + rejected.length).toBe(30);
    rejected.forEach((r) => expect(r.reason).toMatchObject({ code: 'OVERLOADED', details: { maxQueue: 10 } }));
    expect(predictor.stats().rejectedOverload).toBe(rejected.length);
    await predictor.close();
  });

  it('drains every accepted request on close(), then refuses new ones', async () => {
    const model = buildMlp({ inputDim: 4, seed: 1 });
    const predictor = await createPredictor(model, { maxBatchSize: 4, maxWaitMs: 50 });
    const pending = Array.from({ length: 10 }, (_, i) => predictor.predict(row(i, 4)));
    await predictor.close();
    const settled = await Promise.allSettled(pending);
    expect(settled.every((s) => s.status === 'fulfilled')).toBe(true);
    await expect(predictor.predict(row(0, 4))).rejects.toMatchObject({ code: 'PREDICTOR_CLOSED' });
  });

  it('refuses malformed input without affecting other requests', async () => {
    const model = buildMlp({ inputDim: 4, seed: 1 });
    const predictor = await createPredictor(model, { maxBatchSize: 4 });
    const good = predictor.predict(row(1, 4));
    await expect(predictor.predict([1, 2, 3])).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(predictor.predict([1, 2, NaN, 4])).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(good).resolves.toHaveLength(1);
    await predictor.close();
  });

  it('validates its options', async () => {
    const model = buildMlp({ inputDim: 4, seed: 1 });
    await expect(createPredictor(model, { maxBatchSize: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(createPredictor(model, { maxQueue: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
