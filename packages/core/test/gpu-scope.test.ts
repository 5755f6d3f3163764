import { describe, expect, it } from 'vitest';
import { gpuErrorScope, initRuntime, isLeptonError, tf } from '@lepton/core';

/** The WebGPU device's storage-binding limit when an adapter exists here (lavapipe in CI: 128 MiB), else undefined. */
async function webgpuBindingLimit(): Promise<number | undefined> {
  try {
    await initRuntime({ backend: 'webgpu' }, {});
    return (tf.backend() as unknown as { device: { limits: { maxStorageBufferBindingSize: number } } }).device.limits.maxStorageBufferBindingSize;
  } catch {
    console.warn('no WebGPU adapter on this machine: gpuErrorScope is not exercised on webgpu (CI installs lavapipe)');
    return undefined;
  } finally {
    await initRuntime({ backend: 'wasm' }, {});
  }
}

const limit = await webgpuBindingLimit();
// Buffers just over the limit: affordable where the limit is small (lavapipe, integrated GPUs), not on a 4 GiB one.
const small = limit !== undefined && limit <= 256 * 2 ** 20;

describe('gpuErrorScope', () => {
  it('off webgpu it only runs the work (and passes its errors through unchanged)', async () => {
    await initRuntime({ backend: 'wasm' }, {});
    const y = await gpuErrorScope(() => tf.add(tf.ones([3]), 1));
    expect(Array.from(await y.data())).toEqual([2, 2, 2]);
    y.dispose();
    const boom = new Error('boom');
    await expect(gpuErrorScope(() => { throw boom; })).rejects.toBe(boom);
  });

  it.skipIf(!small)('on webgpu, a kernel whose buffer exceeds maxStorageBufferBindingSize is GPU_ERROR, not zeros', async () => {
    await initRuntime({ backend: 'webgpu' }, {});
    try {
      const n = Math.floor(limit! / 4) + 1024; // float32 elements: one binding just over the limit
      const x = tf.fill([n], 1);
      // Outside the scope the device skips the kernel and the result reads back as zeros: the failure this exists for.
      const silent = tf.add(x, 1);
      const head = (await silent.data()).subarray(0, 4);
      silent.dispose();
      expect(Array.from(head)).not.toEqual([2, 2, 2, 2]);
      // work recorded before the scope (an upload and a kernel, not yet submitted) must survive the refused work
      // (large enough to run on the GPU: TF.js computes tiny CPU-held tensors on the CPU)
      const before = tf.add(tf.tensor1d(Float32Array.from({ length: 1 << 16 }, (_, i) => i % 7)), 1);
      let released = 0;
      const err = await gpuErrorScope(() => tf.add(x, 1), (t) => {
        released++;
        t.dispose();
      }).catch((e: unknown) => e);
      expect(isLeptonError(err) && err.code).toBe('GPU_ERROR');
      expect((err as Error).message).toMatch(/binding size/i);
      expect(released).toBe(1);
      expect(Array.from((await before.data()).subarray(0, 9))).toEqual([1, 2, 3, 4, 5, 6, 7, 1, 2]);
      before.dispose();
      x.dispose();
      // the scopes were popped: work that fits runs inside a new scope, and a later error is still caught
      const y = await gpuErrorScope(() => tf.add(tf.ones([4]), 1));
      expect(Array.from(await y.data())).toEqual([2, 2, 2, 2]);
      y.dispose();
    } finally {
      await initRuntime({ backend: 'wasm' }, {});
    }
  });
});
