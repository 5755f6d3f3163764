import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildDenseAutoencoder,
  buildLstmAutoencoder,
  buildMlp,
  buildResidualCnn,
  buildUnet,
  createOnnxSession,
  createPredictor,
  foldBatchNorm,
  initRuntime,
  layersModelToOnnx,
  onnxRuntimeAvailable,
  tf,
} from '@lepton/core';
import { CrashOnSentinel } from './fixtures/sentinel-layer.mjs';
import { CRASH_VALUE } from './fixtures/onnx-crash.mjs';
import { onnxMaxDiff, TOLERANCE } from './support/onnx-parity.js';

type LayersModel = tf.LayersModel;

// Parity of the TF.js Layers → ONNX converter: every model runs on TF.js (wasm) and on ONNX Runtime (onnxruntime-node,
// a dev dependency of core) on the same random batch; outputs must agree element for element (support/onnx-parity.ts).

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
  // ONNX Runtime is a dev dependency of @lepton/core: without it these tests must fail, not skip.
  expect(await onnxRuntimeAvailable()).toBe(true);
});

/** Batch-norm statistics far from the identity (a fresh model has mean 0, variance 1), so a wrong axis shows. */
function randomiseBatchNorm(model: LayersModel, seed: number): LayersModel {
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    layer.setWeights(layer.getWeights().map((w, i) => tf.randomUniform(w.shape, i === 2 ? -0.5 : 0.5, 1.5, 'float32', seed++)));
  }
  return model;
}

/** Every other converted layer class in one graph: depthwise, pooling, concatenation, transposed convs, resizing … */
function mixedModel(): LayersModel {
  const l = tf.layers;
  const input = tf.input({ shape: [9, 11, 3] });
  const a = l.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'elu' }).apply(input) as tf.SymbolicTensor;
  const b = l.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', activation: 'relu6' }).apply(input) as tf.SymbolicTensor;
  const bp = l.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(b) as tf.SymbolicTensor;
  const cat = l.concatenate({ axis: -1 }).apply([a, bp]) as tf.SymbolicTensor;
  const valid = l.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: 'valid' }).apply(cat) as tf.SymbolicTensor;
  const same = l.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'tanh' }).apply(cat) as tf.SymbolicTensor;
  const nearest = l.upSampling2d({ size: [2, 3] }).apply(cat) as tf.SymbolicTensor;
  const bilinear = l.upSampling2d({ size: [2, 2], interpolation: 'bilinear' }).apply(cat) as tf.SymbolicTensor;
  const padded = l.zeroPadding2d({ padding: [[1, 2], [0, 1]] }).apply(bilinear) as tf.SymbolicTensor;
  const cropped = l.cropping2D({ cropping: [[1, 0], [2, 1]] }).apply(padded) as tf.SymbolicTensor;
  const pooled = l.maxPooling2d({ poolSize: 2, padding: 'valid' }).apply(cropped) as tf.SymbolicTensor;
  const leaky = l.leakyReLU({ alpha: 0.1 }).apply(pooled) as tf.SymbolicTensor;
  const soft = l.softmax({ axis: -1 }).apply(leaky) as tf.SymbolicTensor;
  const flat = [valid, same, nearest, soft].map((t) => l.flatten().apply(t) as tf.SymbolicTensor);
  const dense = l.dense({ units: 12, activation: 'swish' }).apply(l.concatenate().apply(flat)) as tf.SymbolicTensor;
  const shaped = l.reshape({ targetShape: [3, 4] }).apply(dense) as tf.SymbolicTensor;
  const bn = l.batchNormalization().apply(shaped) as tf.SymbolicTensor;
  const product = l.multiply().apply([bn, shaped]) as tf.SymbolicTensor;
  return randomiseBatchNorm(tf.model({ inputs: input, outputs: l.flatten().apply(product) as tf.SymbolicTensor }), 5);
}

function conv1dModel(): LayersModel {
  const input = tf.input({ shape: [20, 3] });
  let y = tf.layers.conv1d({ filters: 5, kernelSize: 3, padding: 'same', dilationRate: 2, activation: 'relu' }).apply(input) as tf.SymbolicTensor;
  y = tf.layers.maxPooling1d({ poolSize: 2 }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.globalAveragePooling1d().apply(y) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2, activation: 'sigmoid' }).apply(y) as tf.SymbolicTensor });
}

function nestedModel(): LayersModel {
  const inner = tf.sequential({
    layers: [tf.layers.dense({ inputShape: [5], units: 4, activation: 'relu' }), tf.layers.dropout({ rate: 0.5 }), tf.layers.dense({ units: 2 })],
  });
  const input = tf.input({ shape: [5] });
  // The same sub-model applied twice: two copies of its ops, one set of weights.
  const twice = [inner.apply(input), inner.apply(input)] as tf.SymbolicTensor[];
  return tf.model({ inputs: input, outputs: tf.layers.add().apply(twice) as tf.SymbolicTensor });
}

const features = (m: LayersModel): LayersModel => tf.model({ inputs: m.inputs, outputs: m.getLayer('gap').output as tf.SymbolicTensor });
const cnn = (): LayersModel => randomiseBatchNorm(buildResidualCnn({ inputShape: [16, 15, 2], numClasses: 3, filters: [4, 8, 8], seed: 2 }), 1);

describe('layersModelToOnnx parity with TF.js (max |Δ| ≤ 1e-4)', () => {
  const cases: Array<[string, () => LayersModel | Promise<LayersModel>]> = [
    ['buildMlp (dense, batch norm, dropout, softmax)', () => randomiseBatchNorm(buildMlp({ inputDim: 7, hiddenUnits: [16, 8], task: 'multiclass', outputUnits: 3, batchNorm: true, seed: 1 }), 3)],
    ['buildResidualCnn (stride-2 same convs: asymmetric pads on 16, symmetric on 15)', cnn],
    ['buildResidualCnn, batch norm folded', () => foldBatchNorm(cnn())],
    // The pooled features, before the head: unsaturated values, so a wrong pad or axis cannot hide behind a softmax.
    ['buildResidualCnn up to its pooled features', () => features(cnn())],
    ['buildResidualCnn up to its pooled features, folded', async () => features(await foldBatchNorm(cnn()))],
    ['buildResidualCnn, global max pooling, sigmoid', () => buildResidualCnn({ inputShape: [16, 16, 1], numClasses: 1, filters: [4, 8], pooling: 'max', seed: 2 })],
    ['buildUnet (max pooling, Conv2DTranspose, Concatenate)', () => randomiseBatchNorm(buildUnet({ inputShape: [16, 16, 1], depth: 2, baseFilters: 4, seed: 3 }), 2)],
    ['buildUnet, softmax over 3 classes', () => buildUnet({ inputShape: [8, 8, 3], depth: 1, baseFilters: 4, numClasses: 3, seed: 3 })],
    ['buildDenseAutoencoder', () => buildDenseAutoencoder({ inputDim: 10, hiddenUnits: [8], latentDim: 3, seed: 4 })],
    ['depthwise, pooling, concat, transposed convs, up-sampling, padding, cropping, reshape', mixedModel],
    ['Conv1D with dilation, 1-D pooling', conv1dModel],
    ['a Sequential model applied twice inside a functional one', nestedModel],
  ];
  it.each(cases)('%s', async (_name, build) => {
    const model = await build();
    expect(await onnxMaxDiff(model)).toBeLessThanOrEqual(TOLERANCE);
    model.dispose();
  });
});

describe('layersModelToOnnx output', () => {
  // An independent check of the bytes: the ONNX project's own checker (Debian python3-onnx), with shape inference.
  const python = '/usr/bin/python3';
  const hasOnnx = existsSync(python) && spawnSync(python, ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0;
  it.skipIf(!hasOnnx)('passes onnx.checker.check_model(full_check=True) (skipped without python3-onnx)', async () => {
    for (const model of [mixedModel(), buildUnet({ inputShape: [16, 16, 1], depth: 2, baseFilters: 4, seed: 3 }), nestedModel()]) {
      const script = 'import onnx, sys\nm = onnx.load_from_string(sys.stdin.buffer.read())\nonnx.checker.check_model(m, full_check=True)\nprint(len(m.graph.node))';
      const r = spawnSync(python, ['-c', script], { input: await layersModelToOnnx(model), encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(Number(r.stdout)).toBeGreaterThan(0);
      model.dispose();
    }
  });

  it('names the ONNX inputs and outputs after the model, batch dimension free', async () => {
    const model = buildMlp({ inputDim: 4, seed: 1 });
    const session = await createOnnxSession(await layersModelToOnnx(model));
    expect(session.inputNames).toEqual(model.inputNames);
    expect(session.outputNames).toEqual(model.outputNames);
    for (const n of [1, 5]) {
      const out = await session.run({ [model.inputNames[0]!]: { data: new Float32Array(4 * n).fill(0.5), dims: [n, 4] } });
      expect(out[model.outputNames[0]!]!.dims).toEqual([n, 1]);
    }
    await session.close();
    await expect(session.run({})).rejects.toMatchObject({ code: 'PREDICTOR_CLOSED' });
  });
});

describe('what does not convert', () => {
  it('recurrent layers: INVALID_MODEL naming the layer class', async () => {
    const lstm = buildLstmAutoencoder({ timesteps: 4, features: 2, units: 3, latentDim: 2 });
    await expect(layersModelToOnnx(lstm)).rejects.toMatchObject({ code: 'INVALID_MODEL', details: { className: 'LSTM', layer: 'encoder' } });
  });

  it('custom layers: INVALID_MODEL naming the class', async () => {
    const model = tf.sequential({ layers: [new CrashOnSentinel({ inputShape: [4] }), tf.layers.dense({ units: 2 })] });
    await expect(layersModelToOnnx(model)).rejects.toMatchObject({ code: 'INVALID_MODEL', details: { className: 'LeptonTestCrashOnSentinel' } });
  });

  it('batch norm over a non-last axis (TF.js computes it differently): INVALID_MODEL', async () => {
    const input = tf.input({ shape: [3, 4] });
    const model = tf.model({ inputs: input, outputs: tf.layers.batchNormalization({ axis: 1 }).apply(input) as tf.SymbolicTensor });
    await expect(layersModelToOnnx(model)).rejects.toMatchObject({ code: 'INVALID_MODEL', details: { className: 'BatchNormalization' } });
  });

  it('bad arguments are typed errors', async () => {
    await expect(layersModelToOnnx({} as LayersModel)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const bytes = await layersModelToOnnx(buildMlp({ inputDim: 2, seed: 1 }));
    await expect(createOnnxSession(bytes, { threads: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(createOnnxSession(new Uint8Array([1, 2, 3]))).rejects.toMatchObject({ code: 'INVALID_MODEL' });
    const session = await createOnnxSession(bytes);
    const name = session.inputNames[0]!;
    await expect(session.run({})).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(session.run({ [name]: { data: new Float32Array(3), dims: [2, 2] } })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(session.run({ [name]: { data: new Float32Array(6), dims: [2, 3] } })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await session.close();
  });
});

// Worker threads are OS threads: on Linux, /proc/self/task lists them, which shows whether close() really ended them.
const threads = (): number => (existsSync('/proc/self/task') ? readdirSync('/proc/self/task').length : Number.NaN);

describe("createPredictor({ engine: 'onnx' | 'auto' })", () => {
  let model: LayersModel;
  const rows = Array.from({ length: 24 }, (_, i) => Float32Array.from({ length: 16 * 15 * 2 }, (_, j) => Math.sin(i * 7 + j * 0.3)));
  let reference: Float32Array[];

  const serve = async (options: Parameters<typeof createPredictor>[1]): Promise<{ outs: Float32Array[]; stats: ReturnType<Awaited<ReturnType<typeof createPredictor>>['stats']> }> => {
    const predictor = await createPredictor(model, { maxBatchSize: 8, ...options });
    try {
      const outs = await Promise.all(rows.map((r) => predictor.predict(r)));
      return { outs, stats: predictor.stats() };
    } finally {
      await predictor.close();
    }
  };
  const maxAbs = (a: Float32Array[], b: Float32Array[]): number => Math.max(...a.map((row, i) => Math.max(...row.map((v, j) => Math.abs(v - b[i]![j]!)))));

  beforeAll(async () => {
    model = cnn(); // built here, not at collection: the runtime is initialised by then
    const tfjs = await serve({});
    expect(tfjs.stats.engine).toBe('tfjs'); // the default engine is unchanged
    reference = tfjs.outs;
  });

  it('in this thread and on 2 workers: the outputs of engine tfjs (≤ 1e-4) and of each other', async () => {
    const one = await serve({ engine: 'onnx' });
    expect(one.stats).toMatchObject({ engine: 'onnx', workers: 1, offMainThread: false, requests: rows.length, failed: 0 });
    expect(one.stats.engineNote).toBeUndefined();
    const before = threads();
    const two = await serve({ engine: 'onnx', workers: 2 });
    expect(two.stats).toMatchObject({ engine: 'onnx', workers: 2, offMainThread: true, requests: rows.length, failed: 0 });
    // close() (inside serve) ended both worker threads.
    expect(threads()).toBe(before);
    expect(maxAbs(one.outs, reference)).toBeLessThanOrEqual(TOLERANCE);
    expect(maxAbs(two.outs, reference)).toBeLessThanOrEqual(TOLERANCE);
    expect(maxAbs(two.outs, one.outs)).toBeLessThanOrEqual(1e-6);
  });

  it('leaks no tensors: converting, serving and closing leave the TF.js engine as it was', async () => {
    await layersModelToOnnx(model);
    await serve({ engine: 'onnx' }); // first run: anything TF.js creates once per process is created here
    const before = tf.memory().numTensors;
    await layersModelToOnnx(model);
    await serve({ engine: 'onnx' });
    await serve({ engine: 'onnx', workers: 2 });
    expect(tf.memory().numTensors).toBe(before);
  });

  it("'auto' serves on ONNX Runtime when the model converts, else on TF.js saying why", async () => {
    const auto = await serve({ engine: 'auto' });
    expect(auto.stats.engine).toBe('onnx');
    expect(maxAbs(auto.outs, reference)).toBeLessThanOrEqual(TOLERANCE);
    const lstm = buildLstmAutoencoder({ timesteps: 4, features: 2, units: 3, latentDim: 2, seed: 1 });
    const fallback = await createPredictor(lstm, { engine: 'auto' });
    expect(fallback.stats().engine).toBe('tfjs');
    expect(fallback.stats().engineNote).toMatch(/LSTM/);
    expect(await fallback.predict(new Float32Array(8).fill(0.5))).toHaveLength(8);
    await fallback.close();
    await expect(createPredictor(lstm, { engine: 'onnx' })).rejects.toMatchObject({ code: 'INVALID_MODEL', details: { className: 'LSTM' } });
    await expect(createPredictor(model, { engine: 'fast' as 'onnx' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    lstm.dispose();
  });

  it('a crashed ONNX worker fails its batch with WORKER_CRASHED; its replacement serves the next requests', async () => {
    // The preload makes ONNX Runtime's run end the worker thread on CRASH_VALUE (test/fixtures/onnx-crash.mjs).
    const execArgv = ['--import', new URL('./fixtures/onnx-crash.mjs', import.meta.url).href];
    const mlp = buildMlp({ inputDim: 4, seed: 1 });
    const predictor = await createPredictor(mlp, { engine: 'onnx', workers: 1, offMainThread: true, pool: { execArgv } });
    const crashed = await Promise.allSettled([predictor.predict([CRASH_VALUE, 0, 0, 0]), predictor.predict([1, 1, 1, 1])]);
    for (const r of crashed) expect(r).toMatchObject({ status: 'rejected', reason: { code: 'WORKER_CRASHED', details: { exitCode: 72 } } });
    const after = await predictor.predict([1, 2, 3, 4]);
    const want = (await (mlp.predict(tf.tensor2d([[1, 2, 3, 4]])) as tf.Tensor).data()) as Float32Array;
    expect(Math.abs(after[0]! - want[0]!)).toBeLessThanOrEqual(TOLERANCE);
    expect(predictor.stats()).toMatchObject({ engine: 'onnx', workerRestarts: 1, failed: 2 });
    await predictor.close();
    await expect(predictor.predict([1, 2, 3, 4])).rejects.toMatchObject({ code: 'PREDICTOR_CLOSED' });
    mlp.dispose();
  });
});
