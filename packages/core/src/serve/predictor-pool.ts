/**
 * A predictor's forward passes on a worker pool: the model is serialised once (topology, weight specs, weights) and
 * every worker loads its own copy (`predictor-worker.ts`). Internal: not exported from the package.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { concatWeights } from '../bundle/save.js';
import { LeptonError } from '../errors/lepton-error.js';
import type { BackendName } from '../runtime/backends.js';
import { activeBackend } from '../runtime/init.js';
import type { BatchRunner } from './batcher.js';
import { patchDepthMultipliers, separableDepthMultipliers } from './fold.js';
import { createWorkerPool } from './pool.js';
import { toFileUrl, type WorkerPoolOptions } from './pool-options.js';
import type { PredictorWorkerInit, PredictorWorkerRequest } from './predictor-worker.js';

/** What {@link startPoolRunner} needs besides the model. @internal */
export interface PoolRunnerConfig {
  inputShape: number[];
  maxBatchSize: number;
  warmup: boolean;
  workers: number;
  imports: Array<string | URL>;
  pool: Omit<WorkerPoolOptions, 'module' | 'init' | 'workers' | 'maxQueue'>;
}

/** @internal The model as `tf.io.fromMemory` takes it back: JSON topology, weight specs and one buffer of weights. */
export async function serialiseModel(model: tfl.LayersModel): Promise<Pick<PredictorWorkerInit, 'topology' | 'weightSpecs' | 'weightData'>> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (artifacts?.modelTopology === undefined) throw new LeptonError('INVALID_MODEL', 'The model produced no topology to send to the workers.');
  patchDepthMultipliers(artifacts.modelTopology, separableDepthMultipliers(model), 'depth_multiplier');
  const weights = concatWeights(artifacts.weightData as ArrayBuffer | ArrayBuffer[] | undefined);
  return { topology: artifacts.modelTopology as object, weightSpecs: artifacts.weightSpecs ?? [], weightData: weights.buffer as ArrayBuffer };
}

/**
 * Starts the pool and returns a runner that sends each batch to a free worker, transferring the batch's buffer
 * (no copy) and receiving the outputs the same way. @internal
 */
export async function startPoolRunner(model: tfl.LayersModel, c: PoolRunnerConfig): Promise<BatchRunner> {
  const init: PredictorWorkerInit = {
    ...(await serialiseModel(model)),
    inputShape: c.inputShape,
    warmupBatches: c.warmup ? [...new Set([1, c.maxBatchSize])] : [],
    imports: c.imports.map((m) => toFileUrl(m, 'workerImports entry').href),
  };
  // Next to this file: dist/serve/ in the package, the bundle's directory in a bundle (see bench/gpu-bundle.sh).
  return startBatchPool(new URL('./predictor-worker.js', import.meta.url), init, activeBackend(), c);
}

/**
 * A pool of `c.workers` workers running `module` (a worker module serving {@link PredictorWorkerRequest}s) as a
 * batch runner: the TF.js predictor's and the ONNX one's. @internal
 */
export async function startBatchPool<Init>(module: URL, init: Init, backend: BackendName, c: Pick<PoolRunnerConfig, 'workers' | 'pool'>): Promise<BatchRunner> {
  const pipeline = c.pool.pipeline ?? 2;
  const pool = await createWorkerPool<Init, PredictorWorkerRequest, Float32Array>({
    name: 'lepton-predictor',
    backend,
    ...c.pool,
    module,
    init,
    workers: c.workers,
    // The batcher keeps at most workers × pipeline batches in flight; they may all wait while a crashed worker restarts
    // (batches requeued from a crashed worker's inbox go back ahead of this limit).
    maxQueue: c.workers * pipeline,
  });
  return {
    slots: pool.size,
    prefetch: pipeline - 1,
    workers: pool.size,
    offMainThread: true,
    run: (flat, n) => pool.run({ input: flat, n }, { transfer: [flat.buffer] }),
    restarts: () => pool.stats().restarts,
    perWorker: () => pool.stats().perWorker,
    close: () => pool.close(),
  };
}
