import { beforeAll, describe, expect, it } from 'vitest';
import { buildUnet, diceCoefficient, diceLoss, initRuntime, tf, train } from '@lepton/core';

describe('segmentation metrics and loss', () => {
  beforeAll(async () => {
    await initRuntime({ backend: 'wasm' }, {});
  });

  it('Dice coefficient matches hand counts', () => {
    expect(diceCoefficient([1, 1, 0, 0], [1, 0, 0, 0])).toBeCloseTo(2 / 3, 12);
    expect(diceCoefficient([1, 1, 1, 0], [0.9, 0.7, 0.2, 0.6])).toBeCloseTo((2 * 2) / (3 + 3), 12);
    expect(diceCoefficient([0, 0], [0, 0])).toBe(1); // both empty: perfect agreement
    expect(diceCoefficient([1, 0], [0, 1])).toBe(0);
    expect(() => diceCoefficient([1], [1, 0])).toThrow();
  });

  it('soft Dice loss is 1 − soft Dice per image, averaged over the batch', () => {
    const yTrue = tf.tensor4d([1, 1, 0, 0, 0, 0, 0, 0], [2, 2, 2, 1]);
    const yPred = tf.tensor4d([0.8, 0.6, 0.2, 0, 0.1, 0, 0, 0.1], [2, 2, 2, 1]);
    const loss = diceLoss(1)(yTrue, yPred).dataSync()[0]!;
    // image 1: inter 1.4, Σy 2, Σŷ 1.6 → 1 − 3.8/4.6; image 2: inter 0, Σy 0, Σŷ 0.2 → 1 − 1/1.2
    expect(loss).toBeCloseTo((1 - 3.8 / 4.6 + (1 - 1 / 1.2)) / 2, 6);
    expect(diceLoss(1)(yTrue, yTrue).dataSync()[0]).toBeCloseTo(0, 6);
    tf.dispose([yTrue, yPred]);
    expect(() => diceLoss(-1)).toThrow(/smoothing/);
  });

  it('train() accepts a loss function: a small U-Net learns disks with Dice loss', async () => {
    const n = 48;
    const size = 16;
    const x = new Float32Array(n * size * size);
    const y = new Float32Array(n * size * size);
    for (let i = 0; i < n; i++) {
      const cx = 4 + (i % 8);
      const cy = 4 + ((i * 3) % 8);
      for (let r = 0; r < size; r++) {
        for (let c = 0; c < size; c++) {
          const inside = (r - cy) ** 2 + (c - cx) ** 2 <= 9;
          y[i * size * size + r * size + c] = inside ? 1 : 0;
          x[i * size * size + r * size + c] = (inside ? 0.8 : 0.2) + 0.1 * Math.sin(r * 7 + c * 3 + i);
        }
      }
    }
    const model = buildUnet({ inputShape: [size, size, 1], baseFilters: 8, depth: 2, seed: 1 });
    const xs = tf.tensor4d(x, [n, size, size, 1]);
    const ys = tf.tensor4d(y, [n, size, size, 1]);
    const result = await train(model, { x: xs, y: ys }, { loss: diceLoss(), epochs: 25, batchSize: 16, learningRate: 1e-2, seed: 1, progressBar: false, earlyStopping: false });
    expect(result.history.at(-1)!.metrics['loss']).toBeLessThan(result.history[0]!.metrics['loss']! * 0.5);
    const pred = tf.tidy(() => (model.predict(xs) as tf.Tensor).dataSync());
    expect(diceCoefficient(y, pred)).toBeGreaterThan(0.8);
    tf.dispose([xs, ys]);
    model.dispose();
  }, 120_000);
});
