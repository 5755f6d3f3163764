/**
 * The worker module of a predictor with workers (see `predictor-pool.ts`): loads the serialised model once per
 * worker, warms it up, then runs one batch per request. Internal: not exported from the package.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { LeptonError } from '../errors/lepton-error.js';
import { registerLeptonLayers } from '../models/causal-conv.js';
import type { WorkerHandler } from './worker-module.js';

/** @internal */
export interface PredictorWorkerInit {
  topology: object;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: ArrayBuffer;
  inputShape: number[];
  /** Batch sizes to run once before serving (empty: no warm-up). */
  warmupBatches: number[];
  /** Module URLs to import before loading the model (custom layer registration). */
  imports: string[];
}

/** One batch: `n` samples packed row-major. @internal */
export interface PredictorWorkerRequest {
  input: Float32Array;
  n: number;
}

/** @internal */
export default async function setup(init: PredictorWorkerInit): Promise<WorkerHandler<PredictorWorkerRequest, Float32Array>> {
  for (const m of init.imports) await import(m);
  registerLeptonLayers();
  const model = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: init.topology, weightSpecs: init.weightSpecs, weightData: init.weightData }));
  const shape = init.inputShape;
  for (const b of init.warmupBatches) {
    const out = tf.tidy(() => model.predict(tf.zeros([b, ...shape])) as tf.Tensor);
    await out.data();
    out.dispose();
  }
  return async ({ input, n }) => {
    let out: tf.Tensor | undefined;
    try {
      out = tf.tidy(() => model.predict(tf.tensor(input, [n, ...shape])) as tf.Tensor);
      let values = (await out.data()) as Float32Array;
      // Transfer the whole buffer only when the array is all of it; else copy the view first.
      if (values.byteOffset !== 0 || values.byteLength !== values.buffer.byteLength) values = values.slice();
      return { result: values, transfer: [values.buffer as ArrayBuffer] };
    } catch (err) {
      throw new LeptonError('INVALID_INPUT', `The forward pass failed for a batch of ${n}: ${(err as Error).message}`);
    } finally {
      out?.dispose();
    }
  };
}
