import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  buildMlp,
  initRuntime,
  learningRateAt,
  progressBar,
  shouldDrawBar,
  taskMetrics,
  tf,
  train,
  type TrainEvent,
} from '@lepton/core';
import { BACKENDS, tabular, useBackend } from './support/backends.js';

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
});

describe.each(BACKENDS)('train() on %s', (backend) => {
  afterEach(async () => useBackend('wasm'));

  it('is reproducible: same seed, same backend → same metrics; another seed differs', async () => {
    await useBackend(backend);
    const { x, y } = tabular(300, 4, 1);
    const run = async (seed: number): Promise<number[]> => {
      const model = buildMlp({ inputDim: 4, hiddenUnits: [16], dropout: 0.2, seed });
      const r = await train(model, { x, y }, { epochs: 3, batchSize: 32, validationSplit: 0.25, seed, progressBar: false });
      model.dispose();
      return r.history.flatMap((h) => Object.values(h.metrics));
    };
    const a = await run(5);
    expect(await run(5)).toEqual(a);
    expect(await run(6)).not.toEqual(a);
    tf.dispose([x, y]);
  });
});

describe('train()', () => {
  it('learns a separable task and reports validation metrics for its task', async () => {
    const { x, y } = tabular(600, 4, 2);
    const model = buildMlp({ inputDim: 4, seed: 1 });
    const r = await train(model, { x, y }, { epochs: 10, learningRate: 1e-2, validationSplit: 0.2, seed: 1, progressBar: false });
    expect(r.task).toBe('binary');
    expect(r.samples).toBe(480);
    expect(r.validationSamples).toBe(120);
    expect(Object.keys(r.finalMetrics).sort()).toEqual(
      ['loss', 'val_accuracy', 'val_auc', 'val_average_precision', 'val_brier', 'val_loss'].sort(),
    );
    expect(r.finalMetrics['val_auc']).toBeGreaterThan(0.95);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('early stopping on a chosen metric, and best-weights restore', async () => {
    // Random labels: the model can only overfit, so validation loss rises after the first epochs.
    const x = tf.randomNormal([200, 10], 0, 1, 'float32', 3);
    const y = tf.cast(tf.greater(tf.randomUniform([200, 1], 0, 1, 'float32', 4), 0.5), 'float32');
    const model = buildMlp({ inputDim: 10, hiddenUnits: [64, 64], dropout: 0, seed: 2 });
    const r = await train(model, { x, y }, {
      epochs: 60,
      learningRate: 1e-2,
      validationSplit: 0.3,
      earlyStopping: { monitor: 'val_loss', patience: 3 },
      seed: 2,
      progressBar: false,
    });
    expect(r.stoppedEarly).toBe(true);
    expect(r.history.length).toBeLessThan(60);
    expect(r.history.length - 1 - r.bestEpoch).toBe(3);
    const best = Math.min(...r.history.map((h) => h.metrics['val_loss']!));
    expect(r.bestValue).toBe(best);
    // The weights now in the model are the best epoch's: re-evaluating gives its validation loss.
    const valX = tf.slice(x, 140, 60);
    const valY = tf.slice(y, 140, 60);
    const pred = model.predict(valX) as tf.Tensor;
    expect((await taskMetrics('binary', valY, pred))['loss']).toBeCloseTo(best, 5);
    tf.dispose([x, y, valX, valY, pred]);
    model.dispose();
  });

  it('monitors a higher-is-better metric', async () => {
    const { x, y } = tabular(300, 4, 5);
    const model = buildMlp({ inputDim: 4, seed: 3 });
    const r = await train(model, { x, y }, {
      epochs: 4,
      validationSplit: 0.2,
      earlyStopping: { monitor: 'val_auc', patience: 10 },
      seed: 3,
      progressBar: false,
    });
    expect(r.monitor).toBe('val_auc');
    expect(r.bestValue).toBe(Math.max(...r.history.map((h) => h.metrics['val_auc']!)));
    tf.dispose([x, y]);
    model.dispose();
  });

  it('class weights raise recall on a rare class', async () => {
    // 5 % positives that overlap the negatives: unweighted training mostly predicts "negative".
    const n = 2000;
    const x = tf.randomNormal([n, 2], 0, 1, 'float32', 7);
    const score = tf.add(tf.slice(x, [0, 0], [-1, 1]), tf.randomNormal([n, 1], 0, 1, 'float32', 8));
    const y = tf.cast(tf.greater(score, 2.3), 'float32');
    const recall = async (classWeight?: 'balanced'): Promise<number> => {
      const model = buildMlp({ inputDim: 2, hiddenUnits: [8], seed: 4 });
      const opts = { epochs: 5, learningRate: 1e-2, seed: 4, progressBar: false as const, earlyStopping: false as const };
      await train(model, { x, y }, classWeight ? { ...opts, classWeight } : opts);
      const p = (model.predict(x) as tf.Tensor).dataSync();
      const t = y.dataSync();
      let tp = 0;
      let pos = 0;
      for (let i = 0; i < n; i++) if (t[i] === 1) (pos++, (tp += p[i]! >= 0.5 ? 1 : 0));
      model.dispose();
      return tp / pos;
    };
    const plain = await recall();
    const weighted = await recall('balanced');
    expect(weighted).toBeGreaterThan(plain + 0.3);
    tf.dispose([x, y, score]);
  });

  it('follows the learning-rate schedule and emits start, batch, epoch and end events in order', async () => {
    const { x, y } = tabular(100, 3, 6);
    const model = buildMlp({ inputDim: 3, seed: 5 });
    const events: TrainEvent[] = [];
    await train(model, { x, y }, {
      epochs: 4,
      batchSize: 25,
      learningRate: 0.01,
      learningRateSchedule: { type: 'step', every: 2, factor: 0.1 },
      earlyStopping: false,
      onProgress: (e) => events.push(e),
      progressBar: false,
      seed: 5,
    });
    expect(events[0]).toMatchObject({ type: 'start', epochs: 4, samples: 100 });
    expect(events.at(-1)).toMatchObject({ type: 'end', epochsRun: 4, stoppedEarly: false });
    expect(events.filter((e) => e.type === 'batch')).toHaveLength(16);
    const epochs = events.filter((e): e is Extract<TrainEvent, { type: 'epoch' }> => e.type === 'epoch');
    expect(epochs.map((e) => e.learningRate)).toEqual([0.01, 0.01, 0.001, 0.001].map((v) => expect.closeTo(v, 12)));
    // each epoch's batch events come before its epoch event
    const firstEpochAt = events.findIndex((e) => e.type === 'epoch');
    expect(events.slice(1, firstEpochAt).every((e) => e.type === 'batch')).toBe(true);
    expect(learningRateAt({ type: 'cosine' }, 0, 10, 0.1)).toBeCloseTo(0.1);
    expect(learningRateAt({ type: 'exponential', decay: 0.5 }, 2, 10, 0.1)).toBeCloseTo(0.025);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('re-estimates batch-norm statistics from the final weights, so inference matches them', async () => {
    const { x, y } = tabular(256, 4, 3);
    const trained = async (batchNormSamples: number) => {
      const model = buildMlp({ inputDim: 4, hiddenUnits: [8], batchNorm: true, seed: 4 });
      await train(model, { x, y }, { epochs: 2, batchSize: 32, learningRate: 0.05, seed: 1, progressBar: false, earlyStopping: false, batchNormSamples });
      // The first dense layer's outputs over all training samples, with the final weights.
      const dense = model.layers.find((l) => l.getClassName() === 'Dense')!;
      const bn = model.layers.find((l) => l.getClassName() === 'BatchNormalization')!;
      const h = tf.tidy(() => (dense.apply(x) as tf.Tensor).arraySync() as number[][]);
      const mean = h[0]!.map((_, j) => h.reduce((a, r) => a + r[j]!, 0) / h.length);
      const movingMean = (bn.getWeights()[2]!.arraySync() as number[]);
      model.dispose();
      return Math.max(...mean.map((m, j) => Math.abs(m - movingMean[j]!)));
    };
    // Recalibrated over every sample (4 chunks of 64, averaged): the moving mean is the data mean.
    expect(await trained(256)).toBeLessThan(1e-4);
    // Without it, the moving mean still carries the initial zeros and lags the weights (momentum 0.99, 16 steps).
    expect(await trained(0)).toBeGreaterThan(0.05);
    await expect(train(buildMlp({ inputDim: 4 }), { x, y }, { epochs: 1, batchNormSamples: -1, progressBar: false })).rejects.toThrow(/batchNormSamples/);
  });

  it('draws a progress bar only on a TTY outside CI', () => {
    expect(shouldDrawBar({ isTTY: false, write: () => true }, {})).toBe(false);
    expect(shouldDrawBar({ isTTY: true, write: () => true }, { CI: 'true' })).toBe(false);
    expect(shouldDrawBar({ isTTY: true, write: () => true }, {})).toBe(true);
    let out = '';
    const bar = progressBar({ isTTY: true, columns: 80, write: (s) => ((out += s), true) });
    bar({ type: 'batch', epoch: 0, epochs: 2, batch: 4, batches: 10, loss: 0.5 });
    bar({ type: 'epoch', epoch: 0, epochs: 2, metrics: { loss: 0.5, val_auc: 0.9 }, learningRate: 0.001, improved: true });
    expect(out).toContain('epoch 1/2');
    expect(out).toContain('5/10 loss 0.5000');
    expect(out).toContain('val_auc 0.9000');
  });

  it('rejects bad data and NaN losses with typed errors', async () => {
    const model = buildMlp({ inputDim: 3, seed: 1 });
    const x = tf.zeros([10, 4]);
    const y = tf.zeros([10, 1]);
    await expect(train(model, { x, y }, { progressBar: false })).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    const x3 = tf.zeros([9, 3]);
    await expect(train(model, { x: x3, y }, { progressBar: false })).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    await expect(train(model, { x: x3, y: tf.zeros([9, 1]) }, { earlyStopping: { monitor: 'val_auc' }, progressBar: false })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    const nan = tf.fill([10, 3], NaN);
    await expect(train(model, { x: nan, y }, { epochs: 2, progressBar: false })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      details: { nonFinite: 30 },
    });
    // A diverging run (targets near float32's limit) fails with advice instead of returning NaN weights.
    const reg = buildMlp({ inputDim: 3, task: 'regression', seed: 1 });
    const huge = tf.fill([10, 1], 1e30);
    await expect(train(reg, { x: x3.concat(tf.ones([1, 3])), y: huge }, { epochs: 2, progressBar: false })).rejects.toMatchObject({
      code: 'TRAINING_FAILED',
      message: expect.stringContaining('learning rate'),
    });
    tf.dispose([x, y, x3, nan, huge]);
    reg.dispose();
    model.dispose();
  });
});
