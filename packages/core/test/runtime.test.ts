import { describe, expect, it } from 'vitest';
import {
  buildMlp,
  buildResidualCnn,
  initRuntime,
  missingKernels,
  planBackend,
  registeredBackendLoaders,
  requiredKernels,
  resolveRuntimeOptions,
  runtimeInfo,
  tf,
  train,
} from '@lepton/core';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isSoftwareAdapter } from '@lepton/core';
import { tabular } from './support/backends.js';

const run = promisify(execFile);
const coreDir = fileURLToPath(new URL('..', import.meta.url));

/** Runs a snippet in a fresh Node.js process (as a user's script would), returning what it printed. */
async function freshProcess(code: string, env: Record<string, string> = {}, timeout = 60_000): Promise<{ stdout: string; stderr: string }> {
  const clean = { ...process.env, ...env };
  delete clean['LEPTON_BACKEND'];
  if (!('LEPTON_DEBUG' in env)) delete clean['LEPTON_DEBUG'];
  return run(process.execPath, ['--input-type=module', '-e', code], { cwd: coreDir, env: clean, timeout });
}

describe('runtime', () => {
  it('auto picks the fastest backend present, in the order tensorflow → webgpu → wasm → cpu', async () => {
    expect(registeredBackendLoaders()).toEqual(['tensorflow', 'webgpu', 'wasm', 'cpu']);
    const info = await initRuntime({ backend: 'auto' }, {});
    const order = ['tensorflow', 'webgpu', 'wasm', 'cpu'];
    // Every backend before the chosen one was tried and reported with a reason.
    const chosen = order.indexOf(info.backend);
    expect(chosen).toBeGreaterThanOrEqual(0);
    expect(info.attempts.map((a) => a.backend)).toEqual(order.slice(0, chosen + 1));
    for (const skipped of info.attempts.slice(0, -1)) {
      expect(skipped.ok).toBe(false);
      expect(skipped.reason).toMatch(/\w/);
    }
    // wasm always installs from the registry alone, so auto can never fall as far as cpu.
    expect(chosen).toBeLessThanOrEqual(order.indexOf('wasm'));
    expect(tf.getBackend()).toBe(info.backend);
  });

  it('reports backend, device, threads and memory', async () => {
    await initRuntime({ backend: 'cpu' }, {});
    const t = tf.zeros([10, 10]);
    const info = runtimeInfo();
    expect(info.backend).toBe('cpu');
    expect(info.device).toBe('JavaScript (CPU)');
    expect(info.threads).toBe(1);
    expect(info.memory.numTensors).toBeGreaterThanOrEqual(1);
    expect(info.memory.numBytes).toBeGreaterThanOrEqual(400);
    expect(info.memory.systemTotalBytes).toBeGreaterThan(0);
    expect(info.tfjsVersion).toBe('4.22.0');
    t.dispose();
    const wasm = await initRuntime({ backend: 'wasm' }, {});
    expect(wasm.device).toMatch(/WebAssembly/);
    expect(wasm.threads).toBeGreaterThanOrEqual(1);
  });

  it('LEPTON_BACKEND overrides the option', async () => {
    expect(resolveRuntimeOptions({ backend: 'wasm' }, { LEPTON_BACKEND: 'cpu' })).toMatchObject({ backend: 'cpu', backendSource: 'env' });
    expect(resolveRuntimeOptions({ backend: 'wasm' }, {})).toMatchObject({ backend: 'wasm', backendSource: 'option' });
    expect(resolveRuntimeOptions({}, {})).toMatchObject({ backend: 'auto', backendSource: 'default' });
    const info = await initRuntime({ backend: 'wasm' }, { LEPTON_BACKEND: 'cpu' });
    expect(info.backend).toBe('cpu');
  });

  it('rejects unknown backends and unavailable explicit ones with a typed error', async () => {
    expect(() => resolveRuntimeOptions({}, { LEPTON_BACKEND: 'cuda' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('LEPTON_BACKEND') }),
    );
    const auto = await initRuntime({}, {});
    const webgpuSkipped = auto.attempts.find((a) => a.backend === 'webgpu' && !a.ok);
    if (webgpuSkipped && !/software/.test(webgpuSkipped.reason ?? '')) {
      // No GPU adapter here (CI): asking for webgpu explicitly must say why, not crash.
      await expect(initRuntime({ backend: 'webgpu' }, {})).rejects.toMatchObject({
        code: 'BACKEND_UNAVAILABLE',
        message: expect.stringContaining('webgpu'),
      });
    }
  });
});

describe('software WebGPU adapters', () => {
  it('are recognised by what the adapter reports', () => {
    expect(isSoftwareAdapter({ vendor: 'mesa', architecture: 'software', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' })).toBe(true);
    expect(isSoftwareAdapter({ description: 'lavapipe' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'google', description: 'SwiftShader Device (Subzero)' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'microsoft', description: 'Microsoft Basic Render Driver' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'microsoft', device: 'WARP' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'unknown', fallback: true })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H100 80GB HBM3' })).toBe(false);
    expect(isSoftwareAdapter({ vendor: 'amd', architecture: 'rdna-3', description: 'AMD Radeon RX 7900 XTX (RADV NAVI31)' })).toBe(false);
    expect(isSoftwareAdapter({ vendor: 'apple', architecture: 'metal-3', description: 'Apple M2 Pro' })).toBe(false);
    expect(isSoftwareAdapter({})).toBe(false);
  });

  it('auto never picks one and prints nothing while probing; forcing webgpu still uses it', async () => {
    let forced;
    try {
      forced = await initRuntime({ backend: 'webgpu' }, {});
    } catch {
      console.warn('no WebGPU adapter on this machine: the software-adapter selection check is skipped (CI installs lavapipe)');
      return;
    }
    await initRuntime({ backend: 'wasm' }, {});
    if (!/llvmpipe|lavapipe|swiftshader|software/i.test(forced.device)) return; // a real GPU: auto may pick it
    expect(forced.backend).toBe('webgpu');
    // A fresh process, as `pnpm demo` is: the probe runs in a child, so Dawn's and Vulkan's stderr lines stay hidden.
    const code = `import { initRuntime } from '@lepton/core';
      const info = await initRuntime();
      console.log(JSON.stringify({ backend: info.backend, webgpu: info.attempts.find((a) => a.backend === 'webgpu') }));`;
    const quiet = await freshProcess(code);
    const result = JSON.parse(quiet.stdout.trim().split('\n').pop()!) as { backend: string; webgpu: { ok: boolean; reason: string } };
    expect(result.backend).toBe('wasm');
    expect(result.webgpu.ok).toBe(false);
    expect(result.webgpu.reason).toMatch(/software one \(llvmpipe/);
    expect(result.webgpu.reason).toMatch(/LEPTON_BACKEND=webgpu/);
    expect(quiet.stderr).toBe('');
    // Asked for, the diagnostics come through.
    const loud = await freshProcess(code, { LEPTON_DEBUG: 'webgpu' });
    expect(loud.stderr).not.toBe('');
    // In-process (navigator.gpu already present after the forced load above), auto refuses it too.
    const auto = await initRuntime({ backend: 'auto' }, {});
    expect(auto.backend).toBe('wasm');
    expect(auto.attempts.find((a) => a.backend === 'webgpu')?.reason).toMatch(/software/);
  });

  it('explains every skipped backend with the fix', async () => {
    const info = await initRuntime({ backend: 'auto' }, {});
    for (const a of info.attempts.filter((x) => !x.ok)) {
      expect(a.reason).toMatch(/docs\/backends\.md#/);
    }
    await initRuntime({ backend: 'wasm' }, {});
  });
});

/** A model whose training needs a kernel the wasm backend lacks (depthwise convolution's filter gradient). */
function depthwiseModel(): tf.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.depthwiseConv2d({ inputShape: [8, 8, 2], kernelSize: 3, depthMultiplier: 2, padding: 'same' }));
  model.add(tf.layers.globalAveragePooling2d({}));
  model.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
  return model;
}

describe('kernel availability', () => {
  it('lists the kernels a model needs, forward and backward', async () => {
    await initRuntime({ backend: 'wasm' }, {});
    const cnn = buildResidualCnn({ inputShape: [8, 8, 1], numClasses: 2, filters: [4], seed: 1 });
    const forward = await requiredKernels(cnn);
    const backward = await requiredKernels(cnn, { training: true });
    expect(forward).toContain('FusedConv2D');
    expect(forward).not.toContain('Conv2DBackpropFilter');
    expect(backward).toEqual(expect.arrayContaining(['Conv2DBackpropFilter', 'Conv2DBackpropInput']));
    expect(tf.getBackend()).toBe('wasm'); // the probe ran on cpu and switched back
    // TF.js 4.22's wasm backend ships no Conv2DBackpropFilter; Lepton registers one, so CNNs train on wasm.
    expect(missingKernels(backward, 'wasm')).toEqual([]);
    const depthwise = await requiredKernels(depthwiseModel(), { training: true });
    expect(missingKernels(depthwise, 'wasm')).toContain('DepthwiseConv2dNativeBackpropFilter');
    expect(missingKernels(depthwise, 'cpu')).toEqual([]);
    cnn.dispose();
  });

  it('throws KERNEL_UNAVAILABLE naming the kernel when fallback is off — before any training step', async () => {
    await initRuntime({ backend: 'wasm' }, {});
    const model = depthwiseModel();
    const before = model.getWeights().map((w) => Array.from(w.dataSync()));
    await expect(planBackend(model, { training: true, fallback: false })).rejects.toMatchObject({
      code: 'KERNEL_UNAVAILABLE',
      message: expect.stringContaining('DepthwiseConv2dNativeBackpropFilter'),
    });
    const x = tf.zeros([4, 8, 8, 2]);
    const y = tf.tensor2d([0, 1, 0, 1], [4, 1]);
    await expect(train(model, { x, y }, { epochs: 1, backendFallback: false, progressBar: false })).rejects.toMatchObject({
      code: 'KERNEL_UNAVAILABLE',
      details: { missing: expect.arrayContaining(['DepthwiseConv2dNativeBackpropFilter']) },
    });
    expect(model.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(before);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('falls back to a backend that has the kernel, trains, and returns to the fast backend', async () => {
    await initRuntime({ backend: 'wasm' }, {});
    const model = depthwiseModel();
    const x = tf.randomUniform([8, 8, 8, 2], 0, 1, 'float32', 3);
    const y = tf.tensor2d([0, 1, 0, 1, 0, 1, 0, 1], [8, 1]);
    const result = await train(model, { x, y }, { epochs: 1, progressBar: false, earlyStopping: false, task: 'binary' });
    expect(result.backend).toMatchObject({ requested: 'wasm', backend: 'cpu', switched: true });
    expect(result.backend.missing).toContain('DepthwiseConv2dNativeBackpropFilter');
    expect(tf.getBackend()).toBe('wasm');
    tf.dispose([x, y]);
    model.dispose();
  });

  it('CNNs and MLPs train on wasm itself (no fallback needed)', async () => {
    await initRuntime({ backend: 'wasm' }, {});
    const { x, y } = tabular(64, 3, 1);
    const mlp = buildMlp({ inputDim: 3, seed: 1 });
    const result = await train(mlp, { x, y }, { epochs: 1, progressBar: false, earlyStopping: false });
    expect(result.backend).toMatchObject({ backend: 'wasm', switched: false, missing: [] });
    const cnn = buildResidualCnn({ inputShape: [8, 8, 1], numClasses: 2, filters: [4], seed: 1 });
    const xi = tf.randomUniform([8, 8, 8, 1], 0, 1, 'float32', 3);
    const yi = tf.oneHot(tf.tensor1d([0, 1, 0, 1, 0, 1, 0, 1], 'int32'), 2);
    const cnnResult = await train(cnn, { x: xi, y: yi }, { epochs: 1, progressBar: false, earlyStopping: false });
    expect(cnnResult.backend).toMatchObject({ backend: 'wasm', switched: false });
    tf.dispose([x, y, xi, yi]);
    mlp.dispose();
    cnn.dispose();
  });
});

type Shape4 = [number, number, number, number];

/** Runs `fn` on cpu and on wasm and checks the wasm result against cpu's, relative to the largest value. */
async function matchesCpu(fn: () => tf.Tensor, relTol = 1e-5): Promise<void> {
  await initRuntime({ backend: 'cpu' }, {});
  const [reference, referenceShape] = tf.tidy(() => {
    const t = fn();
    return [t.dataSync(), t.shape] as const;
  });
  await initRuntime({ backend: 'wasm' }, {});
  const [got, shape] = tf.tidy(() => {
    const t = fn();
    return [t.dataSync(), t.shape] as const;
  });
  expect(shape).toEqual(referenceShape);
  expect(got.length).toBe(reference.length);
  const scale = Math.max(1, ...Array.from(reference, Math.abs).filter(Number.isFinite));
  got.forEach((v, i) => {
    if (Number.isNaN(reference[i])) expect(v).toBeNaN();
    else expect(Math.abs(v - reference[i]!)).toBeLessThanOrEqual(relTol * scale);
  });
}

const convCases = [
  [9, 9, 3, 4, 3, 1, 'same'],
  [9, 9, 3, 4, 3, 2, 'same'],
  [10, 7, 2, 5, 3, 2, 'valid'],
  [8, 8, 4, 4, 1, 2, 'same'],
  [11, 11, 2, 3, 5, 3, 'same'],
  [12, 12, 3, 2, 4, 2, 'same'],
  [9, 9, 3, 4, 2, 3, 'same'], // kernel smaller than the stride: one phase has no tap
  [10, 10, 2, 3, 3, 2, 'valid'],
  [7, 5, 3, 2, 4, 2, 'valid'],
  [6, 6, 2, 2, 1, 2, 'valid'],
] as const;

describe('Lepton wasm kernels match the cpu backend', () => {
  it.each(convCases)('Conv2DBackpropInput: x %i×%i×%i, %i filters, kernel %i, stride %i, %s', async (h, w, c, f, k, s, pad) => {
    await matchesCpu(() => {
      const x = tf.randomNormal([2, h, w, c], 0, 1, 'float32', 1) as tf.Tensor4D;
      const filter = tf.randomNormal([k, k, c, f], 0, 1, 'float32', 2) as tf.Tensor4D;
      return tf.grad((xx: tf.Tensor) => tf.sum(tf.square(tf.conv2d(xx as tf.Tensor4D, filter, s, pad))))(x);
    });
  });

  it.each([9, 10, 11])(
    "'same' convolutions whose stride steps over the last rows (2 × 2 kernel, stride 3, input %i pixels square; TF.js' wasm kernels were wrong at 9)",
    async (size) => {
      const x = (): tf.Tensor4D => tf.randomNormal([2, size, size, 2], 0, 1, 'float32', 1) as tf.Tensor4D;
      const filter = (mult: number): tf.Tensor4D => tf.randomNormal([2, 2, 2, mult], 0, 1, 'float32', 2) as tf.Tensor4D;
      await matchesCpu(() => tf.conv2d(x(), filter(3), 3, 'same'));
      await matchesCpu(() => tf.fused.conv2d({ x: x(), filter: filter(3), strides: 3, pad: 'same', bias: tf.ones([3]), activation: 'relu' }));
      await matchesCpu(() => tf.depthwiseConv2d(x(), filter(1), 3, 'same'));
      await matchesCpu(() => tf.fused.depthwiseConv2d({ x: x(), filter: filter(2), strides: 3, pad: 'same', bias: tf.ones([4]) }));
    },
  );

  it('Conv2DBackpropInput with explicit pads as large as the kernel (a phase with a negative pad: zeros inserted instead)', async () => {
    await matchesCpu(() => {
      const x = tf.randomNormal([2, 9, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
      const filter = tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 2) as tf.Tensor4D;
      const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [2, 1], [2, 2], [0, 0]];
      return tf.grad((xx: tf.Tensor) => tf.sum(tf.square(tf.conv2d(xx as tf.Tensor4D, filter, 2, pad))))(x);
    });
  });

  it.each([
    [[2, 8, 8, 6], [2, 2, 3, 6], 2, 'same'], // a U-Net up-sampling step
    [[1, 5, 7, 4], [3, 3, 2, 4], 2, 'same'],
    [[2, 4, 4, 3], [3, 3, 5, 3], 3, 'valid'],
  ] as Array<[Shape4, Shape4, number, 'same' | 'valid']>)('conv2dTranspose of %j with filter %j, stride %i, %s (its forward pass is Conv2DBackpropInput)', async (dyShape, filterShape, s, pad) => {
    const [n, h, w] = dyShape;
    const [kh, kw, c] = filterShape;
    const out: Shape4 = pad === 'same' ? [n, h * s, w * s, c] : [n, (h - 1) * s + kh, (w - 1) * s + kw, c];
    await matchesCpu(() => tf.conv2dTranspose(tf.randomNormal(dyShape, 0, 1, 'float32', 3) as tf.Tensor4D, tf.randomNormal(filterShape, 0, 1, 'float32', 4) as tf.Tensor4D, out, s, pad));
  });

  it.each([
    [[4, 7, 5], [1, 2, 0], [2, 4, 5]],
    [[3, 6], [0, 1], [3, -1]],
    [[2, 3, 4, 5], [1, 0, 2, 1], [1, 3, 2, 3]],
    [[9], [4], [3]],
  ])('Slice of %j from %j, size %j (float32 and int32)', async (shape, begin, size) => {
    await matchesCpu(() => tf.slice(tf.randomNormal(shape, 0, 1, 'float32', 4), begin, size), 0);
    await matchesCpu(() => tf.slice(tf.cast(tf.randomUniform(shape, 0, 100, 'float32', 4), 'int32'), begin, size), 0);
  });

  it.each([
    [[1, 1, 1, 5], [2, 3, 4, 1]],
    [[2, 3], [3, 2]],
    [[4], [5]],
    [[2, 1, 3], [1, 4, 2]],
  ])('Tile %j by %j (float32 and int32)', async (shape, reps) => {
    await matchesCpu(() => tf.tile(tf.randomNormal(shape, 0, 1, 'float32', 3), reps), 0);
    await matchesCpu(() => tf.tile(tf.cast(tf.randomUniform(shape, 0, 100, 'float32', 3), 'int32'), reps), 0);
  });
});

describe('Lepton wasm GatherV2 matches the cpu backend', () => {
  it.each([
    [[6, 5, 4, 3], [4, 0, 4, 2], 0, 0], // rows of 60 elements (copied with TypedArray.set)
    [[3, 7, 2], [6, 0, 3], 1, 0], // short slices, an outer axis
    [[4, 9], [8, 1, 1, 0], 1, 0], // single elements
    [[5], [], 0, 0], // no index at all
  ] as Array<[number[], number[], number, number]>)('of %j at %j on axis %i, batchDims %i (float32, int32, bool)', async (shape, indices, axis, batchDims) => {
    const x = (): tf.Tensor => tf.randomNormal(shape, 0, 3, 'float32', 13);
    const idx = (): tf.Tensor => tf.tensor1d(indices, 'int32');
    await matchesCpu(() => tf.gather(x(), idx(), axis, batchDims), 0);
    await matchesCpu(() => tf.gather(tf.cast(x(), 'int32'), idx(), axis, batchDims), 0);
    await matchesCpu(() => tf.cast(tf.gather(tf.greater(x(), 0), idx(), axis, batchDims), 'int32'), 0);
  });

  it('with 2-D indices and with batchDims 1', async () => {
    const x = (): tf.Tensor => tf.randomNormal([3, 5, 4], 0, 1, 'float32', 14);
    await matchesCpu(() => tf.gather(x(), tf.tensor2d([[4, 0], [1, 1], [2, 3]], [3, 2], 'int32'), 1), 0);
    await matchesCpu(() => tf.gather(x(), tf.tensor2d([[4, 0], [1, 1], [2, 3]], [3, 2], 'int32'), 1, 1), 0);
  });

  it('refuses an index out of range with TF.js\'s message, and leaks nothing', async () => {
    await initRuntime({ backend: 'wasm' }, {});
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
    const before = tf.memory().numTensors;
    for (const bad of [[0, 3], [-1]]) expect(() => tf.gather(x, tf.tensor1d(bad, 'int32'))).toThrow(`GatherV2: the index value ${bad.at(-1)} is not in [0, 2]`);
    expect(tf.memory().numTensors).toBe(before + 2); // the two index tensors, nothing else
    tf.dispose(x);
  });
});

describe("wasm kernels TF.js got wrong (found by a differential fuzz) match the cpu backend", () => {
  it('Cast to bool is x ≠ 0 (TF.js copied bytes: -2.5 became 254, 0.5 false, int32 256 false)', async () => {
    await matchesCpu(() => tf.cast(tf.cast(tf.tensor1d([0, 1, -2.5, 0.5, 3, NaN, -0, 1e-30]), 'bool'), 'int32'), 0);
    await matchesCpu(() => tf.cast(tf.cast(tf.tensor1d([0, 256, -1, 512, 7], 'int32'), 'bool'), 'int32'), 0);
    await matchesCpu(() => tf.cast(tf.logicalAnd(tf.cast(tf.tensor1d([0.5, 2, 0]), 'bool'), tf.cast(tf.tensor1d([256, 1, 1], 'int32'), 'bool')), 'int32'), 0);
  });

  it('ClipByValue of int32, OneHot as float32 and bool, StridedSlice of int32 and bool with strides', async () => {
    await matchesCpu(() => tf.clipByValue(tf.tensor1d([-3, -1, 0, 1, 3, 2147483647], 'int32'), -1, 2), 0);
    await matchesCpu(() => tf.oneHot(tf.tensor1d([0, 2, -1, 5, 1], 'int32'), 3, 5, 0.5, 'float32'), 0);
    await matchesCpu(() => tf.oneHot(tf.tensor1d([0, 2, -1], 'int32'), 3, -2.5, 7), 0);
    await matchesCpu(() => tf.cast(tf.oneHot(tf.tensor2d([[0, 2], [1, 9]], [2, 2], 'int32'), 3, 1, 0, 'bool'), 'int32'), 0);
    const ints = (): tf.Tensor => tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [3, 4], 'int32');
    await matchesCpu(() => tf.stridedSlice(ints(), [0, 0], [3, 4], [2, 2]), 0);
    await matchesCpu(() => tf.stridedSlice(ints(), [2, 3], [0, 0], [-1, -2]), 0);
    await matchesCpu(() => tf.cast(tf.stridedSlice(tf.greater(ints(), 5), [0, 1], [3, 4], [1, 2]), 'int32'), 0);
  });

  it('convolutions and pools whose window fits nowhere, or with a numeric pad and a non-square kernel, leave the heap intact (TF.js let XNNPACK write past the output)', async () => {
    const code = `
      import { initRuntime, tf } from '@lepton/core';
      const r = (s, seed) => tf.randomNormal(s, 0, 1, 'float32', seed);
      const cases = {
        convW1: () => tf.conv2d(r([3, 19, 1, 7], 1), r([2, 2, 7, 4], 2), 1, 'valid'),
        avgPool: () => tf.avgPool(r([3, 3, 3, 7], 3), [2, 4], [3, 1], 'valid'),
        maxPool: () => tf.maxPool(r([2, 1, 10, 7], 4), [2, 1], [4, 2], 'valid'),
        depthwise: () => tf.depthwiseConv2d(r([1, 3, 3, 2], 5), r([3, 4, 2, 1], 6), 1, 'valid'),
        numericPad: () => tf.conv2d(r([1, 32, 32, 8], 7), r([5, 1, 8, 8], 8), 1, 0),
        numericPadExplicit: () => tf.conv2d(r([1, 32, 32, 8], 7), r([5, 1, 8, 8], 8), 1, [[0, 0], [0, 0], [0, 0], [0, 0]]),
      };
      await initRuntime({ backend: 'wasm' }, {});
      const sentinel = tf.fill([8192], 7);
      const out = {};
      for (const [name, f] of Object.entries(cases)) {
        const y = f();
        out[name] = { shape: y.shape, sum: y.size === 0 ? 0 : Number(tf.sum(y).dataSync()[0].toFixed(2)) };
      }
      for (let i = 0; i < 200; i++) tf.dispose([tf.zeros([1 + ((i * 37) % 5000)]), tf.ones([1 + ((i * 91) % 300), 3])]);
      console.log(JSON.stringify({ out, overwritten: sentinel.dataSync().reduce((n, v) => n + (v !== 7 ? 1 : 0), 0), later: tf.ones([64, 64]).sum().dataSync()[0] }));`;
    const { stdout } = await freshProcess(code);
    const got = JSON.parse(stdout.trim().split('\n').at(-1)!) as { out: Record<string, { shape: number[]; sum: number }>; overwritten: number; later: number };
    expect(got.overwritten).toBe(0);
    expect(got.later).toBe(4096);
    expect(got.out['convW1']!.shape).toEqual([3, 18, 0, 4]); // the cpu backend's empty shapes
    expect(got.out['avgPool']!.shape).toEqual([3, 1, 0, 7]);
    expect(got.out['maxPool']!.shape).toEqual([2, 0, 5, 7]);
    expect(got.out['depthwise']!.shape).toEqual([1, 1, 0, 2]);
    expect(got.out['numericPad']).toEqual(got.out['numericPadExplicit']); // pad 0 is the explicit pad [0, 0] on every side
    expect(got.out['numericPad']!.shape).toEqual([1, 28, 32, 8]);
  });

  it('Cumsum and Cumprod with a negative axis (TF.js read outside the tensor and trapped)', async () => {
    await initRuntime({ backend: 'wasm' }, {});
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(Array.from(tf.cumsum(x, -1).dataSync())).toEqual([1, 3, 6, 4, 9, 15]);
    expect(Array.from(tf.cumsum(x, -2, true, true).dataSync())).toEqual([4, 5, 6, 0, 0, 0]);
    expect(Array.from(tf.cumprod(x, -1).dataSync())).toEqual([1, 2, 6, 4, 20, 120]);
    expect(tf.cumsum(x, -1).dtype).toBe('float32');
    tf.dispose(x);
  });

  it.each([
    [[1, 1, 4, 1], 2, 1, 'valid'],
    [[2, 8, 7, 2], [3, 2], 2, 'valid'],
    [[2, 7, 7, 3], 3, 2, 'same'],
    [[1, 6, 6, 2], 2, 2, 'valid'],
  ] as Array<[Shape4, number | [number, number], number, 'valid' | 'same']>)('MaxPoolGrad of %j, pool %j, stride %i, %s: the first maximum of a window gets its gradient, also when ≤ 0 or tied', async (shape, pool, stride, pad) => {
    const inputs = (): tf.Tensor4D => tf.tidy(() => {
      const x = tf.round(tf.mul(tf.randomNormal(shape, -1, 1, 'float32', 23), 2)) as tf.Tensor4D; // negatives and ties
      return tf.concat([x.slice([0, 0, 0, 0], [1, -1, -1, -1]).mul(0).sub(tf.linspace(4, 1, shape[1] * shape[2] * shape[3]).reshape([1, shape[1], shape[2], shape[3]])), x.slice([shape[0] > 1 ? 1 : 0, 0, 0, 0], [shape[0] - 1, -1, -1, -1])]) as tf.Tensor4D;
    });
    await matchesCpu(() => {
      const x = inputs();
      return tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(v as tf.Tensor4D, pool, stride, pad), tf.randomNormal(tf.maxPool(x, pool, stride, pad).shape, 0, 1, 'float32', 24))))(x);
    }, 0);
  });
});

describe('wasm matrix products of one tensor under two shapes match the cpu backend', () => {
  it.each([
    [[6, 4], [4, 6]],
    [[32, 16, 16, 8], [32, 2048]], // TF.js' kernel aborted the wasm module on this one
    [[2, 3, 5], [3, 10]],
  ] as Array<[number[], number[]]>)("the right operand %j, then reshaped to %j (TF.js' wasm kernel reused the first shape's operator)", async (shape, second) => {
    await matchesCpu(() => {
      const m = tf.randomNormal(shape, 0, 1, 'float32', 17);
      const first = [tf.util.sizeFromShape(shape.slice(0, -1)), shape.at(-1)!];
      const a = tf.matMul(tf.randomNormal([2, first[0]!], 0, 1, 'float32', 18), tf.reshape(m, first));
      const b = tf.matMul(tf.randomNormal([3, second[0]!], 0, 1, 'float32', 19), tf.reshape(m, second));
      const c = tf.fused.matMul({ a: tf.randomNormal([2, second[0]!], 0, 1, 'float32', 20), b: tf.reshape(m, second), bias: tf.ones([second[1]!]), activation: 'relu' });
      const d = tf.matMul(tf.randomNormal([2, first[0]!], 0, 1, 'float32', 21), tf.reshape(m, first)); // the first shape again
      return tf.concat([a.flatten(), b.flatten(), c.flatten(), d.flatten()]);
    }, 1e-5);
  });

  it.each([
    [[4, 3], [4, 5], true, false],
    [[3, 4], [5, 4], false, true],
    [[4, 3], [5, 4], true, true],
    [[2, 3, 4], [2, 4, 5], false, false],
    [[1, 3, 1], [2, 1, 5], false, false],
    [[2, 3, 4], [4, 5], false, false],
    [[3, 0], [0, 5], false, false],
    [[3, 4], [4, 5], false, false],
  ] as Array<[number[], number[], boolean, boolean]>)("fused.matMul of %j and %j (transposed %s, %s) with a bias and each activation (TF.js' wasm kernel put the bias on the wrong elements)", async (as, bs, tA, tB) => {
    const n = tB ? bs.at(-2)! : bs.at(-1)!;
    for (const activation of ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'] as const) {
      await matchesCpu(() => {
        const a = tf.randomNormal(as, 0, 1, 'float32', 25);
        const b = tf.randomNormal(bs, 0, 1, 'float32', 26);
        const bias = tf.randomNormal([n], 0, 1, 'float32', 27);
        const preluActivationWeights = activation === 'prelu' ? tf.randomUniform([n], 0, 0.5, 'float32', 28) : undefined;
        return tf.fused.matMul({ a, b, transposeA: tA, transposeB: tB, bias, activation, ...(preluActivationWeights ? { preluActivationWeights } : {}), leakyreluAlpha: 0.3 });
      }, 1e-5);
    }
    await matchesCpu(() => tf.matMul(tf.randomNormal(as, 0, 1, 'float32', 25), tf.randomNormal(bs, 0, 1, 'float32', 26), tA, tB), 1e-5); // and no bias
  });
});

describe('wasm products with a transposed operand (run as untransposed copies on XNNPACK) match the cpu backend', () => {
  it.each([
    [[300, 70], [50, 70], false, true],
    [[300, 70], [300, 50], true, false],
    [[70, 300], [50, 70], true, true],
    [[1, 40, 30], [1, 20, 30], false, true],
    [[1, 1], [1, 1], true, true],
  ] as Array<[number[], number[], boolean, boolean]>)('%j × %j (transposed %s, %s), and the same operands untransposed after it', async (as, bs, tA, tB) => {
    await matchesCpu(() => {
      const a = tf.randomNormal(as, 0, 1, 'float32', 31);
      const b = tf.randomNormal(bs, 0, 1, 'float32', 32);
      const product = tf.matMul(a, b, tA, tB);
      // The operands again, untransposed where the shapes allow: no cached operator of the copies may be reused.
      const again = tf.matMul(tA ? tf.transpose(a, [...a.shape.keys()].map((i) => (i < a.rank - 2 ? i : 2 * a.rank - 3 - i))) : a, tB ? tf.transpose(b, [...b.shape.keys()].map((i) => (i < b.rank - 2 ? i : 2 * b.rank - 3 - i))) : b);
      return tf.concat([product.flatten(), again.flatten()]);
    }, 1e-5);
  });

  it("a dense layer's gradients (dy · Wᵀ and xᵀ · dy) match, and the copies are freed", async () => {
    await matchesCpu(() => {
      const x = tf.randomNormal([64, 80], 0, 1, 'float32', 33);
      const w = tf.randomNormal([80, 16], 0, 0.2, 'float32', 34);
      const dy = tf.randomNormal([64, 16], 0, 1, 'float32', 35);
      const [gx, gw] = tf.grads((xv: tf.Tensor, wv: tf.Tensor) => tf.sum(tf.mul(tf.relu(tf.matMul(xv, wv)), dy)))([x, w]);
      return tf.concat([gx!.flatten(), gw!.flatten()]);
    }, 1e-5);
    await initRuntime({ backend: 'wasm' }, {});
    const a = tf.randomNormal([64, 80]);
    const b = tf.randomNormal([64, 16]);
    tf.matMul(a, b, true, false).dispose(); // warm up
    const before = tf.memory();
    for (let i = 0; i < 5; i++) tf.matMul(a, b, true, false).dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    const backend = tf.backend() as unknown as { dataIdMap: { numDataIds(): number } };
    const ids = backend.dataIdMap.numDataIds();
    tf.matMul(a, b, true, false).dispose();
    expect(backend.dataIdMap.numDataIds()).toBe(ids);
    tf.dispose([a, b]);
  });
});

describe('Sum and Mean gradients (broadcast, no tensor of ones) equal TF.js\'s, bit for bit', () => {
  /** The gradient TF.js' own Sum/Mean gradient gives: dy · 1 broadcast, divided by the reduced count for Mean. */
  function expected(shape: number[], axes: number[], dy: Float32Array, mean: boolean): Float32Array {
    const count = axes.reduce((n, a) => n * shape[a]!, 1);
    const strides = shape.map((_, i) => shape.slice(i + 1).reduce((n, d) => n * d, 1));
    const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const keptStrides = kept.map((_, i) => kept.slice(i + 1).reduce((n, d) => n * d, 1));
    const out = new Float32Array(shape.reduce((n, d) => n * d, 1));
    for (let i = 0; i < out.length; i++) {
      let j = 0;
      shape.forEach((_, d) => {
        const coord = Math.floor(i / strides[d]!) % shape[d]!;
        j += (axes.includes(d) ? 0 : coord) * keptStrides[d]!;
      });
      out[i] = mean ? Math.fround(Math.fround(dy[j]! * 1) / count) : dy[j]!;
    }
    return out;
  }
  it.each([
    [[2, 3, 4, 5], [0, 1, 2]],
    [[2, 3, 4, 5], [1, 2]],
    [[6, 7], [1]],
    [[6, 7], [0, 1]],
    [[0, 3], [0]],
  ] as Array<[number[], number[]]>)('of %j over %j on cpu and wasm', async (shape, axes) => {
    for (const backend of ['cpu', 'wasm'] as const) {
      await initRuntime({ backend }, {});
      const x = tf.randomNormal(shape, 0, 1, 'float32', 15);
      const outShape = shape.filter((_, i) => !axes.includes(i));
      const w = tf.randomUniform(outShape, -3, 3, 'float32', 16);
      for (const mean of [false, true]) {
        const reduce = mean ? tf.mean : tf.sum;
        const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(reduce(xx, axes), w)))(x);
        expect(g.shape).toEqual(shape);
        expect(Array.from(g.dataSync())).toEqual(Array.from(expected(shape, axes, w.dataSync() as Float32Array, mean)));
        g.dispose();
      }
      tf.dispose([x, w]);
    }
  });

  it("their own gradients (second order) equal TF.js' bit for bit, on cpu and wasm", async () => {
    const code = `
      import { createHash } from 'node:crypto';
      import { initRuntime, tf } from '@lepton/core';
      const out = [];
      for (const backend of ['cpu', 'wasm']) {
        await initRuntime({ backend }, {});
        for (const [shape, axis, mean] of [[[4, 8, 8, 3], [1, 2, 3], true], [[4, 5, 3], [1], false], [[3, 4, 2, 2], [0, 3], true], [[6], undefined, false]]) {
          const x = tf.randomNormal(shape, 0, 1, 'float32', 1);
          const red = (t) => (mean ? tf.mean(t, axis) : tf.sum(t, axis));
          const inner = tf.grad((v) => tf.sum(tf.square(red(tf.tanh(v)))));
          const g = tf.grad((v) => tf.sum(tf.square(inner(v))))(x);
          out.push(createHash('sha256').update(Buffer.from(g.dataSync().buffer)).digest('hex'));
        }
      }
      console.log(JSON.stringify(out));`;
    const [tfjs, lepton] = await Promise.all([freshProcess(code, { LEPTON_WASM_KERNELS: 'tfjs' }), freshProcess(code)]);
    const hashes = (o: { stdout: string }): string[] => JSON.parse(o.stdout.trim().split('\n').at(-1)!) as string[];
    expect(hashes(lepton)).toHaveLength(8);
    expect(hashes(lepton)).toEqual(hashes(tfjs));
  });

  it("their second-order gradients work at rank 5 (differentiating the broadcast's Tile instead threw there), with the analytic values", async () => {
    // f(v) = Σ (Σ₁ v²)² → ∂f/∂v = 4·S·v with S = Σ₁ v²; g(v) = Σ ∂f/∂v → ∂g/∂v = 4·S + 8·v·T with T = Σ₁ v.
    for (const backend of ['cpu', 'wasm'] as const) {
      await initRuntime({ backend }, {});
      const x = tf.randomNormal([2, 3, 2, 2, 2], 0, 1, 'float32', 22);
      const inner = tf.grad((v: tf.Tensor) => tf.sum(tf.square(tf.sum(tf.mul(v, v), [1], true))));
      const got = tf.grad((v: tf.Tensor) => tf.sum(inner(v)))(x);
      const want = tf.tidy(() => tf.add(tf.mul(4, tf.sum(tf.mul(x, x), [1], true)), tf.mul(tf.mul(8, x), tf.sum(x, [1], true))));
      const [g, w] = [got.dataSync(), want.dataSync()];
      expect(got.shape).toEqual(x.shape);
      g.forEach((v, i) => expect(Math.abs(v - w[i]!)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(w[i]!))));
      tf.dispose([x, got, want]);
    }
  });
});

describe('Lepton wasm elementwise kernels (broadcasts, Equal, empty sums, Identity) match the cpu backend', () => {
  const shapes: Array<[number[], number[]]> = [
    [[2, 3, 4, 5], [5]],
    [[5], [2, 3, 4, 5]],
    [[2, 3, 4, 5], [2, 1, 1, 5]],
    [[2, 1, 1, 5], [2, 3, 4, 5]],
    [[3, 1], [1, 4]],
    [[], [2, 3]],
    [[2, 3, 4], [3, 1]],
    [[2, 3], [2, 3]],
    [[0, 3], [3]],
  ];
  it.each(shapes)('Add, Sub, Multiply, RealDiv of %j and %j (float32; int32 stays on TF.js)', async (sa, sb) => {
    const a = (): tf.Tensor => tf.randomNormal(sa, 0, 1, 'float32', 5);
    const b = (): tf.Tensor => tf.add(tf.randomUniform(sb, 0.5, 2, 'float32', 6), 0); // no division by ~0
    for (const op of [tf.add, tf.sub, tf.mul, tf.div]) await matchesCpu(() => op(a(), b()), 0);
    await matchesCpu(() => tf.mul(tf.cast(tf.mul(a(), 10), 'int32'), tf.cast(tf.mul(b(), 10), 'int32')), 0);
  });

  it.each(shapes)('Equal of %j and %j (float32 and int32, with ties, NaN never equal)', async (sa, sb) => {
    const rounded = (shape: number[], seed: number): tf.Tensor => tf.round(tf.randomUniform(shape, 0, 3, 'float32', seed));
    await matchesCpu(() => tf.equal(rounded(sa, 7), rounded(sb, 8)), 0);
    await matchesCpu(() => tf.equal(tf.cast(rounded(sa, 7), 'int32'), tf.cast(rounded(sb, 8), 'int32')), 0);
    await matchesCpu(() => tf.equal(tf.div(tf.zerosLike(rounded(sa, 7)), tf.zerosLike(rounded(sa, 7))), tf.div(tf.zerosLike(rounded(sa, 7)), 0)), 0);
  });

  it.each([
    [[2, 3, 4, 5], [0, 1, 2], false],
    [[2, 3, 4, 5], [1, 0], true],
    [[2, 3, 4, 5], [1, 2], true],
    [[6, 1], [0], false],
    [[7, 5], [-2], true],
    [[0, 3], [0], false],
    [[2, 0, 3], [1], true],
    [[0], [0], false],
  ] as Array<[number[], number[], boolean]>)('Sum and Mean of %j over %j, keepDims %s (float32, and int32 sums; empty ones are 0, as on cpu)', async (shape, axes, keepDims) => {
    const x = (): tf.Tensor => tf.randomNormal(shape, 3, 2, 'float32', 9);
    await matchesCpu(() => tf.sum(x(), axes, keepDims), 1e-6);
    await matchesCpu(() => tf.mean(x(), axes, keepDims), 1e-6);
    await matchesCpu(() => tf.sum(tf.cast(tf.mul(x(), 10), 'int32'), axes, keepDims), 0);
  });

  it("a full wasm heap is a RangeError from every kernel, and the backend works again once tensors are freed (TF.js' allocator returned address 0: the next kernel corrupted the heap and aborted the module)", async () => {
    const code = `
      import { initRuntime, tf } from '@lepton/core';
      await initRuntime({ backend: 'wasm' }, {});
      const small = tf.tensor1d([1, 2, 3]);
      const kept = [];
      const errors = [];
      try {
        for (let i = 0; i < 10; i++) kept.push(tf.fill([150 * 1024 * 1024], i)); // 600 MB each: the heap stops at 4 GB
      } catch (err) { errors.push(err.constructor.name); }
      try { tf.add(kept[0], 1); } catch (err) { errors.push(err.constructor.name); } // a kernel's output
      // One element of each (a copy of each whole 600 MB tensor took most of this test's time on a loaded machine).
      const heldOk = kept.every((t, i) => tf.tidy(() => tf.slice(t, [12345], [1]).dataSync()[0]) === i);
      tf.dispose(kept);
      console.log(JSON.stringify({ errors, heldOk, kept: kept.length, after: Array.from(tf.add(small, 1).dataSync()), tensors: tf.memory().numTensors }));`;
    const { stdout } = await freshProcess(code, {}, 110_000); // filling 4 GB takes 15–60 s, depending on the machine's load
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { errors: string[]; heldOk: boolean; kept: number; after: number[]; tensors: number };
    expect(result.errors).toEqual(['RangeError', 'RangeError']);
    expect(result.kept).toBeGreaterThan(0);
    expect(result).toMatchObject({ heldOk: true, after: [2, 3, 4], tensors: 2 });
  }, 120_000);

  it("Max, Min, Prod, All and Any over an empty axis are their operation's identity, as in TensorFlow (TF.js' wasm kernels left them uninitialised)", async () => {
    await initRuntime({ backend: 'wasm' }, {});
    const values = (t: tf.Tensor): { dtype: string; shape: number[]; values: number[] } => {
      const out = { dtype: t.dtype, shape: t.shape, values: Array.from(t.dataSync()) };
      t.dispose();
      return out;
    };
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const f = tf.zeros([2, 0, 3]);
      const i = tf.zeros([2, 0, 3], 'int32');
      const b = tf.zeros([2, 0, 3], 'bool');
      expect(values(tf.max(f, 1))).toEqual({ dtype: 'float32', shape: [2, 3], values: Array(6).fill(-Infinity) });
      expect(values(tf.min(f, [0, 1], true))).toEqual({ dtype: 'float32', shape: [1, 1, 3], values: Array(3).fill(Infinity) });
      expect(values(tf.prod(f, 1))).toEqual({ dtype: 'float32', shape: [2, 3], values: Array(6).fill(1) });
      expect(values(tf.max(i, 1))).toEqual({ dtype: 'int32', shape: [2, 3], values: Array(6).fill(-2147483648) });
      expect(values(tf.min(i))).toEqual({ dtype: 'int32', shape: [], values: [2147483647] });
      expect(values(tf.prod(i, -2))).toEqual({ dtype: 'int32', shape: [2, 3], values: Array(6).fill(1) });
      expect(values(tf.all(b, 1))).toEqual({ dtype: 'bool', shape: [2, 3], values: Array(6).fill(1) });
      expect(values(tf.any(b, 1))).toEqual({ dtype: 'bool', shape: [2, 3], values: Array(6).fill(0) });
      expect(values(tf.max(f, 2))).toEqual({ dtype: 'float32', shape: [2, 0], values: [] }); // nothing to fill
      // Non-empty reductions stay TF.js' kernels.
      expect(values(tf.max(tf.tensor2d([[1, 5], [3, 2]]), 1)).values).toEqual([5, 3]);
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('Identity shares memory safely: the clone outlives its source, and nothing leaks', async () => {
    await initRuntime({ backend: 'wasm' }, {});
    const before = tf.memory().numBytes;
    const a = tf.tensor2d([1, 2, 3, 4.5], [2, 2]);
    const b = tf.clone(a);
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3, 4.5]);
    const c = tf.add(b, 1); // a kernel reading the shared memory after the source went
    expect(Array.from(c.dataSync())).toEqual([2, 3, 4, 5.5]);
    tf.dispose([b, c]);
    expect(tf.memory().numBytes).toBe(before);
  });

  it('a batch-norm-and-global-max-pool gradient (moments, broadcasts, channel sums, Equal) equals cpu\'s', async () => {
    await matchesCpu(() => {
      const x = tf.randomNormal([4, 6, 6, 3], 1, 2, 'float32', 11);
      const gamma = tf.randomUniform([3], 0.5, 1.5, 'float32', 12);
      return tf.grad((xx: tf.Tensor) => {
        const { mean, variance } = tf.moments(xx, [0, 1, 2]);
        const y = tf.batchNorm(xx, mean, variance, tf.zeros([3]), gamma, 1e-3);
        const pooled = tf.max(tf.relu(y), [1, 2]); // GlobalMaxPooling2D: its gradient is an Equal broadcast
        return tf.sum(tf.square(tf.mul(pooled, tf.tensor1d([1, -2, 3]))));
      })(x);
    }, 1e-4);
  });
});

describe('wasm Conv2DBackpropFilter matches the cpu backend', () => {
  it.each([
    [9, 9, 3, 4, 3, 1, 'same'],
    [9, 9, 3, 4, 3, 2, 'same'],
    [10, 7, 2, 5, 3, 2, 'valid'],
    [8, 8, 4, 4, 1, 2, 'same'],
    [11, 11, 2, 3, 5, 3, 'same'],
  ] as const)('x %i×%i×%i, %i filters, kernel %i, stride %i, %s', async (h, w, c, f, k, s, pad) => {
    const grad = (): Float32Array =>
      tf.tidy(() => {
        const x = tf.randomNormal([2, h, w, c], 0, 1, 'float32', 1) as tf.Tensor4D;
        const filter = tf.randomNormal([k, k, c, f], 0, 1, 'float32', 2) as tf.Tensor4D;
        return tf.grad((fl: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x, fl as tf.Tensor4D, s, pad))))(filter).dataSync() as Float32Array;
      });
    await initRuntime({ backend: 'cpu' }, {});
    const reference = grad();
    await initRuntime({ backend: 'wasm' }, {});
    const got = grad();
    expect(got.length).toBe(k * k * c * f);
    const scale = Math.max(...reference.map(Math.abs));
    got.forEach((v, i) => expect(Math.abs(v - reference[i]!)).toBeLessThan(1e-5 * scale + 1e-5));
  });
});
