import { initRuntime, tf } from '@lepton/core';

/** Backends every backend-independent test runs on here (CI has no GPU: see GPU.md). */
export const BACKENDS = ['cpu', 'wasm'] as const;

/** Switches the runtime to `backend`, ignoring LEPTON_BACKEND so each describe.each case gets its own. */
export async function useBackend(backend: string): Promise<void> {
  await initRuntime({ backend: backend as 'cpu' | 'wasm' }, {});
}

/** Seeded two-class tabular data: the label is 1 when feature 0 + 0.5·feature 1 > 0. */
export function tabular(n: number, dims: number, seed: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  return tf.tidy(() => {
    const x = tf.randomNormal([n, dims], 0, 1, 'float32', seed) as tf.Tensor2D;
    const signal = tf.add(tf.slice(x, [0, 0], [-1, 1]), tf.mul(tf.slice(x, [0, 1], [-1, 1]), 0.5));
    return { x, y: tf.cast(tf.greater(signal, 0), 'float32') as tf.Tensor2D };
  });
}
