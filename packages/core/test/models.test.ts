import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildDenseAutoencoder,
  buildLstmAutoencoder,
  buildMlp,
  buildResidualCnn,
  buildSequenceModel,
  buildUnet,
  initRuntime,
  LAST_CONV_LAYER,
  modelTask,
  tf,
} from '@lepton/core';

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
});

function forward(model: tf.LayersModel, shape: number[]): number[] {
  return tf.tidy(() => (model.predict(tf.randomNormal(shape, 0, 1, 'float32', 5)) as tf.Tensor).shape);
}

describe('model builders: documented input/output shapes', () => {
  it('MLP: binary, multiclass, regression', () => {
    const bin = buildMlp({ inputDim: 7, seed: 1 });
    expect(forward(bin, [3, 7])).toEqual([3, 1]);
    expect(modelTask(bin)).toBe('binary');
    const multi = buildMlp({ inputDim: 7, task: 'multiclass', outputUnits: 4, batchNorm: true });
    expect(forward(multi, [3, 7])).toEqual([3, 4]);
    const probs = tf.tidy(() => tf.sum(multi.predict(tf.ones([2, 7])) as tf.Tensor, -1).dataSync());
    expect(Array.from(probs).every((p) => Math.abs(p - 1) < 1e-5)).toBe(true);
    const reg = buildMlp({ inputDim: 7, task: 'regression', outputUnits: 2 });
    expect(forward(reg, [3, 7])).toEqual([3, 2]);
    expect(modelTask(reg)).toBe('regression');
  });

  it('residual CNN: any size and channel count, named last conv layer', () => {
    const gray = buildResidualCnn({ inputShape: [64, 64, 1], numClasses: 3 });
    expect(forward(gray, [2, 64, 64, 1])).toEqual([2, 3]);
    expect(gray.layers.some((l) => l.name === LAST_CONV_LAYER)).toBe(true);
    const rgb = buildResidualCnn({ inputShape: [24, 40, 3], numClasses: 1, filters: [8, 16], blocksPerStage: 2 });
    expect(forward(rgb, [1, 24, 40, 3])).toEqual([1, 1]);
    expect(modelTask(rgb)).toBe('binary');
  });

  it('U-Net: mask at input resolution; rejects sizes not divisible by 2^depth', () => {
    const unet = buildUnet({ inputShape: [32, 32, 1], depth: 2, baseFilters: 4 });
    expect(forward(unet, [2, 32, 32, 1])).toEqual([2, 32, 32, 1]);
    const multi = buildUnet({ inputShape: [16, 16, 3], depth: 2, baseFilters: 4, numClasses: 3 });
    expect(forward(multi, [1, 16, 16, 3])).toEqual([1, 16, 16, 3]);
    expect(() => buildUnet({ inputShape: [30, 32, 1], depth: 2 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it.each(['tcn', 'lstm', 'gru'] as const)('%s sequence model: classification, regression, forecasting', (kind) => {
    const cls = buildSequenceModel({ kind, timesteps: 12, features: 3, task: 'multiclass', outputUnits: 4, units: [8] });
    expect(forward(cls, [2, 12, 3])).toEqual([2, 4]);
    const bin = buildSequenceModel({ kind, timesteps: 12, features: 3, task: 'binary', units: [8] });
    expect(forward(bin, [2, 12, 3])).toEqual([2, 1]);
    const reg = buildSequenceModel({ kind, timesteps: 12, features: 3, task: 'regression', outputUnits: 2, units: [8] });
    expect(forward(reg, [2, 12, 3])).toEqual([2, 2]);
    const fc = buildSequenceModel({ kind, timesteps: 12, features: 3, task: 'forecast', horizon: 5, outputUnits: 2, units: [8] });
    expect(forward(fc, [2, 12, 3])).toEqual([2, 5, 2]);
  });

  it('TCN is causal: changing step t never changes the features of earlier steps', () => {
    const tcn = buildSequenceModel({ kind: 'tcn', timesteps: 8, features: 1, units: [4, 4], seed: 2, dropout: 0 });
    const last = tcn.layers.find((l) => l.name === 'tcn1_add')!;
    const features = tf.model({ inputs: tcn.inputs, outputs: last.output as tf.SymbolicTensor });
    const run = (x: number[]): Float32Array =>
      tf.tidy(() => (features.predict(tf.tensor3d(x, [1, 8, 1])) as tf.Tensor).dataSync() as Float32Array);
    const base = run([1, 2, 3, 4, 5, 6, 7, 8]);
    const changed = run([1, 2, 3, 4, 5, 60, 7, 8]); // step 5 changed
    const perStep = 4; // [steps, 1, 4 channels]
    expect(Array.from(changed.subarray(0, 5 * perStep))).toEqual(Array.from(base.subarray(0, 5 * perStep)));
    expect(Array.from(changed.subarray(5 * perStep))).not.toEqual(Array.from(base.subarray(5 * perStep)));
  });

  it('dense and LSTM autoencoders reconstruct their input shape', () => {
    expect(forward(buildDenseAutoencoder({ inputDim: 20, latentDim: 4 }), [3, 20])).toEqual([3, 20]);
    expect(forward(buildLstmAutoencoder({ timesteps: 10, features: 3, units: 8, latentDim: 4 }), [2, 10, 3])).toEqual([2, 10, 3]);
  });

  it('same seed gives the same initial weights; another seed does not', () => {
    const w = (seed: number): number[] => Array.from(buildMlp({ inputDim: 5, seed }).getWeights()[0]!.dataSync());
    expect(w(11)).toEqual(w(11));
    expect(w(11)).not.toEqual(w(12));
  });

  it('rejects non-positive sizes with a message naming the option', () => {
    expect(() => buildMlp({ inputDim: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('inputDim') }));
    expect(() => buildMlp({ inputDim: 3, dropout: 1.5 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
