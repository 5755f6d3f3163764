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
import { tabular } from './helpers.js';

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
    if (webgpuSkipped) {
      // No GPU adapter here (CI): asking for webgpu explicitly must say why, not crash.
      await expect(initRuntime({ backend: 'webgpu' }, {})).rejects.toMatchObject({
        code: 'BACKEND_UNAVAILABLE',
        message: expect.stringContaining('webgpu'),
      });
    }
  });
});

describe('kernel availability', () => {
  it('lists the kernels a model needs, forward and backward', async () => {
    await initRuntime({ backend: 'wasm' }, {});
    const cnn = buildResidualCnn({ inputShape: [8, 8, 1], numClasses: 2, filters: [4], seed: 1 });
    const forward = await requiredKernels(cnn);
    const backward = await requiredKernels(cnn, { training: true });
    expect(forward).toContain('FusedConv2D');
    expect(forward).not.toContain('Conv2DBackpropFilter');
    expect(backward).toContain('Conv2DBackpropFilter');
    expect(tf.getBackend()).toBe('wasm'); // the probe ran on cpu and switched back
    // The wasm backend of TF.js 4.22 has no Conv2DBackpropFilter: training a CNN there needs another backend.
    expect(missingKernels(backward, 'wasm')).toContain('Conv2DBackpropFilter');
    expect(missingKernels(backward, 'cpu')).toEqual([]);
    cnn.dispose();
  });

  it('throws KERNEL_UNAVAILABLE naming the kernel when fallback is off — before any training step', async () => {
    await initRuntime({ backend: 'wasm' }, {});
    const cnn = buildResidualCnn({ inputShape: [8, 8, 1], numClasses: 2, filters: [4], seed: 1 });
    const before = cnn.getWeights().map((w) => Array.from(w.dataSync()));
    await expect(planBackend(cnn, { training: true, fallback: false })).rejects.toMatchObject({
      code: 'KERNEL_UNAVAILABLE',
      message: expect.stringContaining('Conv2DBackpropFilter'),
    });
    const x = tf.zeros([4, 8, 8, 1]);
    const y = tf.oneHot(tf.tensor1d([0, 1, 0, 1], 'int32'), 2);
    await expect(train(cnn, { x, y }, { epochs: 1, backendFallback: false, progressBar: false })).rejects.toMatchObject({
      code: 'KERNEL_UNAVAILABLE',
      details: { missing: expect.arrayContaining(['Conv2DBackpropFilter']) },
    });
    expect(cnn.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(before);
    tf.dispose([x, y]);
    cnn.dispose();
  });

  it('falls back to a backend that has the kernel, trains, and returns to the fast backend', async () => {
    await initRuntime({ backend: 'wasm' }, {});
    const cnn = buildResidualCnn({ inputShape: [8, 8, 1], numClasses: 2, filters: [4], seed: 1 });
    const x = tf.randomUniform([8, 8, 8, 1], 0, 1, 'float32', 3);
    const y = tf.oneHot(tf.tensor1d([0, 1, 0, 1, 0, 1, 0, 1], 'int32'), 2);
    const result = await train(cnn, { x, y }, { epochs: 1, progressBar: false, earlyStopping: false });
    expect(result.backend).toMatchObject({ requested: 'wasm', backend: 'cpu', switched: true });
    expect(result.backend.missing).toContain('Conv2DBackpropFilter');
    expect(tf.getBackend()).toBe('wasm');
    tf.dispose([x, y]);
    cnn.dispose();
  });

  it('an MLP trains on wasm itself (no fallback needed)', async () => {
    await initRuntime({ backend: 'wasm' }, {});
    const { x, y } = tabular(64, 3, 1);
    const mlp = buildMlp({ inputDim: 3, seed: 1 });
    const result = await train(mlp, { x, y }, { epochs: 1, progressBar: false, earlyStopping: false });
    expect(result.backend).toMatchObject({ backend: 'wasm', switched: false, missing: [] });
    tf.dispose([x, y]);
    mlp.dispose();
  });
});
