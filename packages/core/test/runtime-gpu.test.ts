// runtimeInfo().gpu, and engine 'auto' keeping a model on TF.js when the backend computes on a GPU. There is no GPU on
// CI: the GPU case uses a test double, a loader for the pure-JS 'cpu' backend that reports itself as a GPU (this
// file's module state only). The real backends must say false here: wasm, and lavapipe's software WebGPU adapter.
import { describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMlp, createPredictor, cudaDeviceVisible, initRuntime, registerBackendLoader, runtimeInfo, tf } from '@lepton/core';

/** ONNX Runtime is an optional peer: without it, 'auto' serves on TF.js anyway and the GPU case proves nothing. */
const ort = await import('onnxruntime-node').then(
  () => true,
  () => false,
);

describe('cudaDeviceVisible (what tfjs-node-gpu reports as gpu)', () => {
  it('is true only where the NVIDIA driver lists a GPU and CUDA_VISIBLE_DEVICES does not hide them all', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lepton-nvidia-'));
    try {
      const gpus = join(dir, 'gpus');
      expect(cudaDeviceVisible({}, gpus, 'linux')).toBe(false); // no driver
      await mkdir(gpus);
      expect(cudaDeviceVisible({}, gpus, 'linux')).toBe(false); // driver, no GPU
      await mkdir(join(gpus, '0000:01:00.0'));
      expect(cudaDeviceVisible({}, gpus, 'linux')).toBe(true);
      expect(cudaDeviceVisible({ CUDA_VISIBLE_DEVICES: '0' }, gpus, 'linux')).toBe(true);
      for (const hidden of ['', ' ', '-1', '-1,0', 'NoDevFiles']) expect(cudaDeviceVisible({ CUDA_VISIBLE_DEVICES: hidden }, gpus, 'linux')).toBe(false);
      expect(cudaDeviceVisible({}, join(dir, 'absent'), 'win32')).toBe(true); // not checkable there: as before
      expect(cudaDeviceVisible({ CUDA_VISIBLE_DEVICES: '-1' }, join(dir, 'absent'), 'win32')).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('runtimeInfo().gpu', () => {
  it('is false on wasm and on a software WebGPU adapter (lavapipe), which is how CI forces webgpu', async () => {
    expect((await initRuntime({ backend: 'wasm' }, {})).gpu).toBe(false);
    try {
      const info = await initRuntime({ backend: 'webgpu' }, {});
      expect(info.device).toMatch(/llvmpipe|lavapipe|software|swiftshader/i);
      expect(info.gpu).toBe(false);
    } catch (err) {
      console.warn(`no WebGPU adapter here (${(err as Error).message.split('\n')[0]}): the software-adapter case is not exercised`);
    } finally {
      await initRuntime({ backend: 'wasm' }, {});
    }
  });

  it.skipIf(!ort)("engine 'auto' serves on ONNX Runtime on a CPU backend, and stays on TF.js on a backend that computes on a GPU", async () => {
    await initRuntime({ backend: 'wasm' }, {});
    const model = buildMlp({ inputDim: 4, hiddenUnits: [8], seed: 3 });
    const x = Float32Array.from([0.1, -0.4, 0.7, 0.2]);
    const cpu = await createPredictor(model, { engine: 'auto', maxBatchSize: 4 });
    expect(cpu.stats().engine).toBe('onnx');
    const expected = await cpu.predict(x);
    await cpu.close();

    registerBackendLoader('cpu', async () => ({ ok: true, device: 'test double of a GPU', gpu: true }), 10);
    try {
      const info = await initRuntime({ backend: 'cpu' }, {});
      expect([info.backend, info.gpu, runtimeInfo().gpu]).toEqual(['cpu', true, true]);
      const gpu = await createPredictor(model, { engine: 'auto', maxBatchSize: 4 });
      expect(gpu.stats().engine).toBe('tfjs');
      expect(gpu.stats().engineNote).toMatch(/'cpu' backend computes on a GPU \(test double of a GPU\)/);
      const got = await gpu.predict(x);
      expect(Array.from(got).map((v) => Number(v.toFixed(5)))).toEqual(Array.from(expected).map((v) => Number(v.toFixed(5))));
      await gpu.close();
      // 'onnx' asked for by name still runs on ONNX Runtime
      const forced = await createPredictor(model, { engine: 'onnx', maxBatchSize: 4 });
      expect(forced.stats().engine).toBe('onnx');
      await forced.close();
    } finally {
      await initRuntime({ backend: 'wasm' }, {});
      model.dispose();
    }
    expect(tf.getBackend()).toBe('wasm');
  });
});
