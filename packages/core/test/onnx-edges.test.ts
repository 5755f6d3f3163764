import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildMlp, createOnnxSession, createPredictor, initRuntime, layersModelToOnnx, onnxRuntimeAvailable, tf } from '@lepton/core';
import { FAIL_BATCH, failInThisThread } from './fixtures/onnx-fail-batch.mjs';
import { onnxMaxDiff, TOLERANCE } from './support/onnx-parity.js';

// Where TF.js 4.22 departs from Keras (and from ONNX's defaults), the converter follows what TF.js computes; the ONNX
// session checks what JavaScript callers pass it; engine 'auto' falls back when ONNX Runtime cannot run the model.

const l = tf.layers;
type Sym = tf.SymbolicTensor;

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
  expect(await onnxRuntimeAvailable()).toBe(true);
});

describe('layersModelToOnnx computes what TF.js computes', () => {
  it.each(['same', 'valid'] as const)('DepthwiseConv2D with dilationRate 2 (TF.js 4.22 ignores it), %s padding', async (padding) => {
    const input = tf.input({ shape: [7, 8, 3] });
    const y = l.depthwiseConv2d({ kernelSize: 3, dilationRate: 2, depthMultiplier: 2, padding, activation: 'relu' }).apply(input) as Sym;
    const model = tf.model({ inputs: input, outputs: y });
    // TF.js' own output shape is the undilated one ([5, 6] for 'valid'): the ONNX output must have it too.
    expect(y.shape).toEqual([null, padding === 'same' ? 7 : 5, padding === 'same' ? 8 : 6, 6]);
    expect(await onnxMaxDiff(model, 2)).toBeLessThanOrEqual(TOLERANCE);
    model.dispose();
  });

  it('Add([conv [N, 3, 2, 4], dense [N, 4]]): the dense output broadcasts as [N, 1, 1, 4], as TF.js does, at batch 2 and 3', async () => {
    const input = tf.input({ shape: [3, 2, 4] });
    const conv = l.conv2d({ filters: 4, kernelSize: 1 }).apply(input) as Sym;
    const dense = l.dense({ units: 4 }).apply(l.flatten().apply(input)) as Sym;
    const model = tf.model({ inputs: input, outputs: l.add().apply([conv, dense]) as Sym });
    for (const batch of [2, 3]) expect(await onnxMaxDiff(model, batch)).toBeLessThanOrEqual(TOLERANCE);
    model.dispose();
  });

  it('Add, Multiply, Average, Maximum, Minimum over ranks 4, 3 and 2 (channels-first and channels-last inputs mixed)', async () => {
    const input = tf.input({ shape: [4, 3, 2] });
    const a = l.conv2d({ filters: 2, kernelSize: 1 }).apply(input) as Sym; // rank 4, channels first inside
    const r3 = l.conv1d({ filters: 2, kernelSize: 1 }).apply(l.reshape({ targetShape: [3, 8] }).apply(input)) as Sym; // [N, 3, 2]
    const r2 = l.dense({ units: 2 }).apply(l.flatten().apply(input)) as Sym; // [N, 2]
    const merged = [l.add(), l.multiply(), l.average(), l.maximum(), l.minimum()].map((m) => m.apply([a, r3, r2]) as Sym);
    merged.push(l.multiply().apply([r2, r3]) as Sym); // the lower rank first
    const model = tf.model({ inputs: input, outputs: l.concatenate().apply(merged.map((m) => l.flatten().apply(m) as Sym)) as Sym });
    for (const batch of [2, 3]) expect(await onnxMaxDiff(model, batch)).toBeLessThanOrEqual(TOLERANCE);
    model.dispose();
  });
});

describe('batch norm axis given as a list', () => {
  it('axis [1] of [N, 3, 4] is refused like axis 1 (TF.js computes it differently); axis [2] converts', async () => {
    // The typings say number; TF.js takes a list at run time (and Keras JSON may hold one), keeping it in getConfig().
    const list = (k: number): number => [k] as unknown as number;
    const input = tf.input({ shape: [3, 4] });
    const first = tf.model({ inputs: input, outputs: l.batchNormalization({ axis: list(1) }).apply(input) as Sym });
    await expect(layersModelToOnnx(first)).rejects.toMatchObject({ code: 'INVALID_MODEL', details: { className: 'BatchNormalization' } });
    const bn = l.batchNormalization({ axis: list(2) });
    const last = tf.model({ inputs: input, outputs: bn.apply(input) as Sym });
    bn.setWeights(bn.getWeights().map((_w, k) => tf.tensor1d([1, 2, 3, 4].map((v) => v * (k + 1) * 0.3 + (k === 3 ? 1 : 0)))));
    expect(await onnxMaxDiff(last, 2)).toBeLessThanOrEqual(TOLERANCE);
    first.dispose();
    last.dispose();
  });
});

describe('OnnxSession.run checks what it is given and what it returns', () => {
  it('feeds that are not float32 tensors: INVALID_INPUT (never a TypeError)', async () => {
    const session = await createOnnxSession(await layersModelToOnnx(buildMlp({ inputDim: 2, seed: 1 })));
    const name = session.inputNames[0]!;
    const bad: unknown[] = [
      null,
      undefined,
      'features',
      { [name]: null },
      { [name]: { data: [1, 2], dims: [1, 2] } },
      { [name]: { data: new Float32Array(2), dims: 2 } },
      { [name]: { data: new Float32Array(2), dims: ['1', '2'] } },
      { [name]: { data: new Float32Array(2) } },
      Object.create({ [name]: { data: new Float32Array(2), dims: [1, 2] } }), // inherited, not the caller's own feed
    ];
    for (const feeds of bad) await expect(session.run(feeds as never), JSON.stringify(feeds)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      await expect(session.run({ [name]: { data: Float32Array.of(1, v), dims: [1, 2] } })).rejects.toMatchObject({ code: 'INVALID_INPUT', details: { index: 1 } });
    }
    expect((await session.run({ [name]: { data: Float32Array.of(1, 2), dims: [1, 2] } }))[session.outputNames[0]!]!.dims).toEqual([1, 1]);
    await session.close();
  });

  it('a non-finite output from finite inputs (overflow, NaN weights): INVALID_MODEL, never returned', async () => {
    const dense = l.dense({ units: 2, inputShape: [2] });
    const model = tf.sequential({ layers: [dense] });
    dense.setWeights([tf.tensor2d([[3e38, Number.NaN], [3e38, 1]]), tf.zeros([2])]);
    const session = await createOnnxSession(await layersModelToOnnx(model));
    // Output 0 = 3e38·(x0 + x1) overflows float32 for x = [1, 1]; output 1 is NaN whatever the input.
    await expect(session.run({ [session.inputNames[0]!]: { data: Float32Array.of(1, 1), dims: [1, 2] } })).rejects.toMatchObject({
      code: 'INVALID_MODEL',
      details: { index: 0 },
    });
    await session.close();
    model.dispose();
  });
});

describe("engine 'auto' and ONNX Runtime failing at run time", () => {
  it('falls back to TF.js with engineNote when the ONNX warm-up fails (in this thread, warmup on or off, and on a worker)', async () => {
    const model = buildMlp({ inputDim: 4, seed: 2 });
    const row = [0.5, -1, 2, 0.25];
    const want = ((await (model.predict(tf.tensor2d([row])) as tf.Tensor).data()) as Float32Array)[0]!;
    const execArgv = ['--import', new URL('./fixtures/onnx-fail-batch.mjs', import.meta.url).href];
    failInThisThread(true);
    try {
      for (const options of [{}, { warmup: false }, { workers: 1, offMainThread: true, pool: { execArgv } }]) {
        const p = await createPredictor(model, { engine: 'auto', maxBatchSize: FAIL_BATCH, ...options });
        expect(p.stats().engine, JSON.stringify(options)).toBe('tfjs');
        expect(p.stats().engineNote).toMatch(/injected ONNX Runtime failure/);
        expect(Math.abs((await p.predict(row))[0]! - want)).toBeLessThanOrEqual(TOLERANCE);
        await p.close();
      }
      // engine 'onnx' does not fall back: the warm-up's failure is the caller's error.
      await expect(createPredictor(model, { engine: 'onnx', maxBatchSize: FAIL_BATCH })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    } finally {
      failInThisThread(false);
    }
    const onnx = await createPredictor(model, { engine: 'auto', maxBatchSize: FAIL_BATCH });
    expect(onnx.stats().engine).toBe('onnx');
    await onnx.close();
    model.dispose();
  });
});

describe('what leaves the process', () => {
  const cwd = fileURLToPath(new URL('..', import.meta.url));
  const node = (args: string[], script: string): { stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, [...args, '--input-type=module', '-e', script], { cwd, encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    return { stdout: r.stdout, stderr: r.stderr };
  };

  it('a run ONNX Runtime fails writes nothing to stderr: the typed error is all', () => {
    // A free time axis: Concatenate([x, Conv1D 'valid'(x)]) converts, then fails inside ONNX Runtime for any length.
    const { stdout, stderr } = node(
      [],
      `import { tf, initRuntime, layersModelToOnnx, createOnnxSession } from '@lepton/core';
      await initRuntime({ backend: 'cpu' }, {});
      const x = tf.input({ shape: [null, 2] });
      const y = tf.layers.concatenate().apply([x, tf.layers.conv1d({ filters: 2, kernelSize: 3 }).apply(x)]);
      const s = await createOnnxSession(await layersModelToOnnx(tf.model({ inputs: x, outputs: y })));
      await s.run({ [s.inputNames[0]]: { data: new Float32Array(10), dims: [1, 5, 2] } }).then(() => console.log('ran'), (e) => console.log(e.code));
      await s.close();`,
    );
    expect(stdout.trim().split('\n').at(-1)).toBe('INVALID_INPUT');
    expect(stderr).toBe('');
  });

  it('onnxruntime-node missing: BACKEND_UNAVAILABLE (requireOnnxRuntime too), the import error (with its paths) in cause, not in the message', () => {
    const { stdout } = node(
      ['--import', new URL('./fixtures/ort-missing.mjs', import.meta.url).href],
      `import { createOnnxSession, requireOnnxRuntime } from '@lepton/core';
      await requireOnnxRuntime().catch((e) => console.log(JSON.stringify({ code: e.code })));
      await createOnnxSession(new Uint8Array(4)).catch((e) => console.log(JSON.stringify({ code: e.code, message: e.message, cause: e.cause.message })));`,
    );
    expect(JSON.parse(stdout.trim().split('\n').at(-2)!)).toEqual({ code: 'BACKEND_UNAVAILABLE' });
    const err = JSON.parse(stdout.trim().split('\n').at(-1)!) as { code: string; message: string; cause: string };
    expect(err.code).toBe('BACKEND_UNAVAILABLE');
    expect(err.cause).toContain('no-such-dir'); // Node's message names the absolute path it looked for …
    expect(err.message).not.toContain('no-such-dir'); // … which the message leaves out
    expect(err.message).not.toContain(cwd);
    expect(err.message).toMatch(/npm i onnxruntime-node/);
  });
});
