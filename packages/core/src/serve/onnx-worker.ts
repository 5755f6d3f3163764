/**
 * The worker module of a predictor with `engine: 'onnx'` and workers (see `predictor-onnx.ts`): each worker loads the
 * converted model into its own ONNX Runtime session with one intra-op thread, warms it up, then runs one batch per
 * request. Internal: not exported from the package.
 */
import { createOnnxSession } from '../onnx/runtime.js';
import type { PredictorWorkerRequest } from './predictor-worker.js';
import type { WorkerHandler } from './worker-module.js';
import { onnxBatchRunner } from './predictor-onnx-run.js';

/** @internal */
export interface OnnxWorkerInit {
  /** The ONNX model bytes (copied to each worker). */
  model: Uint8Array;
  inputShape: number[];
  /** Batch sizes to run once before serving (empty: no warm-up). */
  warmupBatches: number[];
  /** Intra-op threads of the worker's session. */
  threads: number;
}

/** @internal */
export default async function setup(init: OnnxWorkerInit): Promise<WorkerHandler<PredictorWorkerRequest, Float32Array>> {
  const session = await createOnnxSession(init.model, { threads: init.threads });
  const run = onnxBatchRunner(session, init.inputShape);
  const warm = onnxBatchRunner(session, init.inputShape, true);
  for (const b of init.warmupBatches) await warm(new Float32Array(b * init.inputShape.reduce((a, d) => a * d, 1)), b);
  return async ({ input, n }) => {
    let values = await run(input, n);
    // Transfer the whole buffer only when the array is all of it; else copy the view first.
    if (values.byteOffset !== 0 || values.byteLength !== values.buffer.byteLength) values = values.slice();
    return { result: values, transfer: [values.buffer as ArrayBuffer] };
  };
}
