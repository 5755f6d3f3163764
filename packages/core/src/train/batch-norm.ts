import type * as tfl from '@tensorflow/tfjs-layers';
import * as tf from '../tf.js';

interface BatchNormLike {
  momentum: number;
}

/** The model's batch-normalisation layers (nested models included). */
function batchNormLayers(model: tfl.LayersModel): BatchNormLike[] {
  const out: BatchNormLike[] = [];
  const visit = (layers: tfl.layers.Layer[]): void => {
    for (const l of layers) {
      if (l.getClassName() === 'BatchNormalization') out.push(l as unknown as BatchNormLike);
      const inner = (l as unknown as { layers?: tfl.layers.Layer[] }).layers;
      if (Array.isArray(inner)) visit(inner);
    }
  };
  visit(model.layers);
  return out;
}

/**
 * @internal Re-estimates every batch-normalisation layer's moving mean and variance from the current weights
 * ("precise BN"): training-mode forward passes over up to `maxSamples` training samples, in chunks, with each
 * chunk's statistics averaged in. Why: the moving averages (momentum 0.99) lag the weights by ~100 steps, and with the
 * few hundred steps a small data set allows, inference — and so every validation metric — uses statistics of weights
 * long gone and can score near chance while training accuracy is high.
 *
 * @returns whether the model had batch-normalisation layers
 */
export function recalibrateBatchNorm(model: tfl.LayersModel, x: tf.Tensor | tf.Tensor[], maxSamples: number, rand: () => number, chunk = 64): boolean {
  const layers = batchNormLayers(model);
  if (layers.length === 0) return false;
  const xs = Array.isArray(x) ? x : [x];
  const n = xs[0]!.shape[0]!;
  const take = Math.min(n, maxSamples);
  // A seeded sample of the training data, so the estimate does not depend on the data's order.
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  const saved = layers.map((l) => l.momentum);
  try {
    for (let start = 0, k = 0; start < take; start += chunk, k++) {
      // Running average over chunks: new = old·k/(k+1) + chunk·1/(k+1); the first chunk replaces the old statistics.
      layers.forEach((l) => (l.momentum = k / (k + 1)));
      tf.tidy(() => {
        const rows = tf.tensor1d(idx.slice(start, Math.min(take, start + chunk)), 'int32');
        const part = xs.map((t) => tf.gather(t, rows));
        model.apply(part.length === 1 ? part[0]! : part, { training: true });
      });
    }
  } finally {
    layers.forEach((l, i) => (l.momentum = saved[i]!));
  }
  return true;
}
