/**
 * The worker module behind `model-workers.ts`: each worker thread of the pool loads the serialised model once, runs one
 * sample to warm it up, then answers each request with the forward pass of one chunk of samples.
 *
 * @internal
 * @module
 */
import { LeptonError, tf, type WorkerSetup } from '@lepton/core';

/** @internal What every worker is started with: the model as `tf.io.fromMemory` takes it, and one sample's shape. */
export interface ModelWorkerInit {
  topology: object;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: ArrayBuffer;
  inputShape: number[];
}

/** @internal One chunk: `n` samples packed row-major. */
export interface ModelWorkerRequest {
  input: Float32Array;
  n: number;
}

const setup: WorkerSetup<ModelWorkerInit, ModelWorkerRequest, Float32Array> = async (init) => {
  const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: init.topology, weightSpecs: init.weightSpecs, weightData: init.weightData }));
  const forward = async (input: Float32Array, n: number): Promise<Float32Array> => {
    const out = tf.tidy(() => model.predict(tf.tensor(input, [n, ...init.inputShape])) as tf.Tensor);
    try {
      const values = (await out.data()) as Float32Array;
      // Transfer the whole buffer only when the array is all of it; else copy the view first.
      return values.byteOffset === 0 && values.byteLength === values.buffer.byteLength ? values : values.slice();
    } finally {
      out.dispose();
    }
  };
  await forward(new Float32Array(init.inputShape.reduce((a, b) => a * b, 1)), 1);
  return async ({ input, n }) => {
    let result: Float32Array;
    try {
      result = await forward(input, n);
    } catch (err) {
      throw new LeptonError('INVALID_INPUT', `The forward pass failed for a chunk of ${n} samples: ${(err as Error).message}`);
    }
    return { result, transfer: [result.buffer as ArrayBuffer] };
  };
};
export default setup;
