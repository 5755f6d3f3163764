import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMlp, foldBatchNorm, buildResidualCnn, buildUnet, gradCam, initRuntime, LAST_CONV_LAYER, seededRandom, tf, train } from '@lepton/core';

const BN = 'BatchNormalization';

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
});

/** Seeded, non-trivial BN statistics (as after training): γ∈[0.5,1.5], β,μ∈[-0.5,0.5], σ²∈[0.5,2]. */
function randomizeBatchNorm(model: tf.LayersModel, seed: number): void {
  const rand = seededRandom(seed);
  const range = (lo: number, hi: number) => lo + (hi - lo) * rand();
  for (const layer of model.layers.filter((l) => l.getClassName() === BN)) {
    const values = layer.weights.map((w) => {
      const n = w.shape.reduce((a, b) => a! * b!, 1)!;
      const kind = w.originalName.slice(w.originalName.lastIndexOf('/') + 1);
      const [lo, hi] = kind === 'gamma' ? [0.5, 1.5] : kind === 'moving_variance' ? [0.5, 2] : [-0.5, 0.5];
      return tf.tensor(Float32Array.from({ length: n }, () => range(lo, hi)), w.shape as number[]);
    });
    layer.setWeights(values);
    tf.dispose(values);
  }
}

function input(shape: number[], seed = 3): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed);
}

/** Largest absolute difference of all outputs, relative to the largest absolute reference output. */
function relativeError(a: tf.LayersModel, b: tf.LayersModel, x: tf.Tensor): number {
  return tf.tidy(() => {
    const ya = [a.predict(x)].flat() as tf.Tensor[];
    const yb = [b.predict(x)].flat() as tf.Tensor[];
    expect(yb.map((t) => t.shape)).toEqual(ya.map((t) => t.shape));
    let worst = 0;
    ya.forEach((t, i) => {
      const diff = tf.max(tf.abs(tf.sub(t, yb[i]!))).dataSync()[0]!;
      const scale = tf.max(tf.abs(t)).dataSync()[0]!;
      worst = Math.max(worst, diff / Math.max(scale, 1e-6));
    });
    return worst;
  });
}

const classes = (m: tf.LayersModel) => m.layers.map((l) => l.getClassName());
const names = (m: tf.LayersModel) => m.layers.map((l) => l.name);

/** Folds and checks what every fold must keep: no leaked tensors, same I/O names and shapes, same function. */
async function foldAndCompare(model: tf.LayersModel, x: tf.Tensor, options?: { keep?: string[] }): Promise<tf.LayersModel> {
  const layersBefore = names(model);
  const reference = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
  const tensorsBefore = tf.memory().numTensors;
  const folded = options === undefined ? await foldBatchNorm(model) : await foldBatchNorm(model, options);
  expect(tf.memory().numTensors - tensorsBefore).toBe(folded.weights.length); // only the new model's variables
  expect(folded).not.toBe(model);
  expect(folded.inputNames).toEqual(model.inputNames);
  expect(folded.outputNames).toEqual(model.outputNames);
  expect(folded.inputs.map((t) => t.shape)).toEqual(model.inputs.map((t) => t.shape));
  expect(relativeError(model, folded, x)).toBeLessThan(1e-4);
  // The original is untouched.
  expect(names(model)).toEqual(layersBefore);
  expect(tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync())).toEqual(reference);
  return folded;
}

async function kernelNames(model: tf.LayersModel, x: tf.Tensor): Promise<string[]> {
  const info = await tf.profile(() => model.predict(x) as tf.Tensor);
  return info.kernelNames;
}

describe('foldBatchNorm on wasm', () => {
  const owned: Array<tf.LayersModel | tf.Tensor> = [];
  afterAll(() => owned.forEach((o) => o.dispose()));

  it('residual CNN after training: no BN left, same outputs and Grad-CAM, no FusedBatchNorm kernel, no leaks', async () => {
    const cnn = buildResidualCnn({ inputShape: [16, 16, 1], numClasses: 3, filters: [8, 16], seed: 1 });
    const x = input([8, 16, 16, 1]);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3);
    owned.push(cnn, x, y);
    await train(cnn, { x, y }, { epochs: 1, batchSize: 4, seed: 2, progressBar: false });
    const folded = await foldAndCompare(cnn, x);
    expect(classes(cnn)).toContain(BN);
    expect(classes(folded)).not.toContain(BN);
    // Each block's `_a` ReLU folds into its conv; `last_conv` (after an Add) and the other post-add ReLUs stay.
    expect(names(folded)).toContain(LAST_CONV_LAYER);
    expect(names(folded)).not.toContain('stem_relu');
    expect(folded.getLayer('stem_conv').getConfig()['activation']).toBe('relu');
    expect(await kernelNames(cnn, x)).toContain('FusedBatchNorm');
    const kernels = await kernelNames(folded, x);
    expect(kernels).not.toContain('FusedBatchNorm');
    expect(kernels).toContain('FusedConv2D');

    const image = tf.tidy(() => x.slice([0], [1]));
    owned.push(image);
    const [a, b] = [await gradCam(cnn, image), await gradCam(folded, image)];
    expect(Math.max(...a.data.map((v, i) => Math.abs(v - b.data[i]!)))).toBeLessThan(1e-4);

    folded.dispose();
    // Disposing a fold frees exactly its own variables; the original keeps the weight data they shared.
    const again = await foldBatchNorm(cnn);
    const [tensors, count] = [tf.memory().numTensors, again.weights.length];
    again.dispose();
    expect(tf.memory().numTensors).toBe(tensors - count);
    expect(relativeError(cnn, cnn, x)).toBe(0);
  });

  it('U-Net: every conv → BN → ReLU folds', async () => {
    const unet = buildUnet({ inputShape: [16, 16, 1], depth: 2, baseFilters: 4, seed: 4 });
    randomizeBatchNorm(unet, 5);
    const x = input([2, 16, 16, 1]);
    owned.push(unet, x);
    const folded = await foldAndCompare(unet, x);
    owned.push(folded);
    expect(classes(folded)).not.toContain(BN);
    expect(classes(folded)).not.toContain('Activation');
    expect(folded.layers.length).toBe(unet.layers.length - 2 * classes(unet).filter((c) => c === BN).length);
  });

  it('MLP: Dense → BN → ReLU folds; Dropout stays', async () => {
    const mlp = buildMlp({ inputDim: 6, batchNorm: true, task: 'multiclass', outputUnits: 3, seed: 6 });
    randomizeBatchNorm(mlp, 7);
    const x = input([5, 6]);
    owned.push(mlp, x);
    const folded = await foldAndCompare(mlp, x);
    owned.push(folded);
    expect(names(folded)).toEqual(['features', 'dense_0', 'dropout_0', 'dense_1', 'dropout_1', 'output']);
  });

  it('leaves alone BN not after a conv, on another axis, after a conv read elsewhere, or named in keep', async () => {
    const i = tf.input({ shape: [8, 8, 2], name: 'in' });
    const first = tf.layers.batchNormalization({ name: 'bn_input' }).apply(i) as tf.SymbolicTensor; // after the input
    const c1 = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'c1' }).apply(first) as tf.SymbolicTensor;
    const bnAxis = tf.layers.batchNormalization({ axis: 1, name: 'bn_axis1' }).apply(c1) as tf.SymbolicTensor; // not channels
    const c2 = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'c2' }).apply(bnAxis) as tf.SymbolicTensor;
    const bnShared = tf.layers.batchNormalization({ name: 'bn_conv_read_twice' }).apply(c2) as tf.SymbolicTensor;
    const add = tf.layers.add({ name: 'add' }).apply([bnShared, c2]) as tf.SymbolicTensor; // c2 also read here
    const bnAdd = tf.layers.batchNormalization({ name: 'bn_after_add' }).apply(add) as tf.SymbolicTensor;
    const c3 = tf.layers.conv2d({ filters: 4, kernelSize: 1, name: 'c3' }).apply(bnAdd) as tf.SymbolicTensor;
    const bnKept = tf.layers.batchNormalization({ name: 'bn_kept' }).apply(c3) as tf.SymbolicTensor;
    const c4 = tf.layers.conv2d({ filters: 2, kernelSize: 1, name: 'c4' }).apply(bnKept) as tf.SymbolicTensor;
    const out = tf.layers.batchNormalization({ name: 'bn_output' }).apply(c4) as tf.SymbolicTensor; // a model output
    const model = tf.model({ inputs: i, outputs: out });
    randomizeBatchNorm(model, 8);
    const x = input([3, 8, 8, 2]);
    owned.push(model, x);
    const folded = await foldAndCompare(model, x, { keep: ['bn_kept'] });
    owned.push(folded);
    expect(names(folded)).toEqual(names(model));
  });

  it('BN read by two layers folds, and its ReLU stays', async () => {
    const i = tf.input({ shape: [8, 8, 3], name: 'in' });
    const c = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', useBias: false, name: 'c' }).apply(i) as tf.SymbolicTensor;
    const bn = tf.layers.batchNormalization({ name: 'bn' }).apply(c) as tf.SymbolicTensor;
    const relu = tf.layers.activation({ activation: 'relu', name: 'relu' }).apply(bn) as tf.SymbolicTensor;
    const sum = tf.layers.add({ name: 'sum' }).apply([relu, bn]) as tf.SymbolicTensor;
    const model = tf.model({ inputs: i, outputs: sum, name: 'two_readers' });
    randomizeBatchNorm(model, 9);
    const x = input([2, 8, 8, 3]);
    owned.push(model, x);
    const folded = await foldAndCompare(model, x);
    owned.push(folded);
    expect(names(folded)).toEqual(['in', 'c', 'relu', 'sum']);
    expect(folded.getLayer('c').getConfig()['activation']).toBe('linear');
  });

  it('Conv1D, DepthwiseConv2D, SeparableConv2D, center/scale off, ReLU(6), kernel constraint, Sequential', async () => {
    const i = tf.input({ shape: [8, 8, 3], name: 'img' });
    let y = tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', name: 'dw' }).apply(i) as tf.SymbolicTensor;
    y = tf.layers.batchNormalization({ center: false, name: 'dw_bn' }).apply(y) as tf.SymbolicTensor;
    y = tf.layers.reLU({ maxValue: 6, name: 'dw_relu6' }).apply(y) as tf.SymbolicTensor;
    y = tf.layers.separableConv2d({ filters: 5, kernelSize: 3, useBias: false, name: 'sep' }).apply(y) as tf.SymbolicTensor;
    y = tf.layers.batchNormalization({ scale: false, name: 'sep_bn' }).apply(y) as tf.SymbolicTensor;
    y = tf.layers.conv2d({ filters: 4, kernelSize: 1, kernelConstraint: tf.constraints.maxNorm({ maxValue: 0.1 }), name: 'cc' }).apply(y) as tf.SymbolicTensor;
    y = tf.layers.batchNormalization({ name: 'cc_bn' }).apply(y) as tf.SymbolicTensor;
    y = tf.layers.activation({ activation: 'sigmoid', name: 'head' }).apply(y) as tf.SymbolicTensor; // not folded
    const images = tf.model({ inputs: i, outputs: y });
    const s = tf.input({ shape: [10, 2], name: 'series' });
    let z = tf.layers.conv1d({ filters: 4, kernelSize: 3, name: 'c1d' }).apply(s) as tf.SymbolicTensor;
    z = tf.layers.batchNormalization({ name: 'c1d_bn' }).apply(z) as tf.SymbolicTensor;
    z = tf.layers.activation({ activation: 'relu6', name: 'c1d_act' }).apply(z) as tf.SymbolicTensor;
    z = tf.layers.dense({ units: 1, name: 'c1d_out' }).apply(z) as tf.SymbolicTensor;
    const series = tf.model({ inputs: s, outputs: z });
    const seq = tf.sequential({
      layers: [
        tf.layers.dense({ units: 4, inputShape: [3], name: 'sq_dense' }),
        tf.layers.batchNormalization({ name: 'sq_bn' }),
        tf.layers.dense({ units: 2, name: 'sq_out' }),
      ],
    });
    const cases: Array<[tf.LayersModel, number[]]> = [[images, [2, 8, 8, 3]], [series, [2, 10, 2]], [seq, [4, 3]]];
    for (const [model, shape] of cases) {
      randomizeBatchNorm(model, 10);
      const x = input(shape);
      owned.push(model, x);
      const folded = await foldAndCompare(model, x);
      owned.push(folded);
      expect(classes(folded)).not.toContain(BN);
    }
  });

  it('rejects what is not a layers model', async () => {
    await expect(foldBatchNorm({} as tf.LayersModel)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const mlp = buildMlp({ inputDim: 2 });
    owned.push(mlp);
    await expect(foldBatchNorm(mlp, { keep: 'last_conv' as unknown as string[] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('reference CNN (64×64×1, filters 16/32/64), batch 64: ms per forward pass before and after folding', async () => {
    const cnn = buildResidualCnn({ inputShape: [64, 64, 1], numClasses: 2, seed: 11 });
    randomizeBatchNorm(cnn, 12);
    const folded = await foldBatchNorm(cnn);
    const x = input([64, 64, 64, 1]);
    owned.push(cnn, folded, x);
    const median = async (model: tf.LayersModel): Promise<number> => {
      const times: number[] = [];
      for (let r = 0; r < 6; r++) {
        const start = performance.now();
        const out = model.predict(x) as tf.Tensor;
        await out.data();
        out.dispose();
        if (r > 0) times.push(performance.now() - start); // the first pass warms up
      }
      return times.sort((a, b) => a - b)[2]!;
    };
    const before = await median(cnn);
    const after = await median(folded);
    console.log(`foldBatchNorm, reference CNN batch 64 on wasm: ${before.toFixed(1)} ms → ${after.toFixed(1)} ms per pass (${(before / after).toFixed(2)}×)`);
    expect(relativeError(cnn, folded, x)).toBeLessThan(1e-4);
  });
});
