// runtimeInfo().gpu, and engine 'auto' keeping a model on TF.js when the backend computes on a GPU. There is no GPU on
// CI: the GPU case uses a test double, a loader for the pure-JS 'cpu' backend that reports itself as a GPU (this
// file's module state only). The real backends must say false here: wasm, and lavapipe's software WebGPU adapter.
import { describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMlp, createPredictor, cudaDeviceVisible, initRuntime, registerBackendLoader, runtimeInfo, tf } from '@lepton/core';

/** ONNX Runtime is an optional peer: without it, 'auto' serves on TF.js anyway and the GPU case proves nothing. */
const ort = await import('onnxruntime-node').then(
  () => true,
  () => false,
);

describe('cudaDeviceVisible (what tfjs-node-gpu reports as gpu)', () => {
  it('is true only where an NVIDIA GPU shows (driver list, device node, WSL 2) and CUDA_VISIBLE_DEVICES does not hide them all', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lepton-nvidia-'));
    try {
      const gpus = join(dir, 'gpus');
      const dev = join(dir, 'dev');
      await mkdir(dev);
      await writeFile(join(dev, 'null'), '');
      await writeFile(join(dev, 'nvidiactl'), ''); // the control node alone is no GPU
      expect(cudaDeviceVisible({}, gpus, 'linux', dev)).toBe(false); // no driver list, no GPU node
      await mkdir(gpus);
      expect(cudaDeviceVisible({}, gpus, 'linux', dev)).toBe(false); // driver, no GPU
      await mkdir(join(gpus, '0000:01:00.0'));
      expect(cudaDeviceVisible({}, gpus, 'linux', dev)).toBe(true);
      for (const ids of ['0', '0,1', ' 0 , 1 ', 'GPU-8f1b44be-dc6a-2899-aaaa-000000000000', 'MIG-0', '0,-1']) expect(cudaDeviceVisible({ CUDA_VISIBLE_DEVICES: ids }, gpus, 'linux', dev), ids).toBe(true);
      for (const hidden of ['', ' ', '\t', '-1', ' -1 ', '-1,0', 'NoDevFiles']) expect(cudaDeviceVisible({ CUDA_VISIBLE_DEVICES: hidden }, gpus, 'linux', dev), JSON.stringify(hidden)).toBe(false);
      // A container with the device nodes but not the driver's proc entries, and WSL 2 (/dev/dxg, no /proc/driver/nvidia).
      const absent = join(dir, 'absent');
      await writeFile(join(dev, 'nvidia0'), '');
      expect(cudaDeviceVisible({}, absent, 'linux', dev)).toBe(true);
      await rm(join(dev, 'nvidia0'));
      await writeFile(join(dev, 'dxg'), '');
      expect(cudaDeviceVisible({}, absent, 'linux', dev)).toBe(true);
      expect(cudaDeviceVisible({}, absent, 'win32', absent)).toBe(true); // not checkable there: as before
      expect(cudaDeviceVisible({ CUDA_VISIBLE_DEVICES: '-1' }, absent, 'win32', absent)).toBe(false);
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
