/**
 * The ONNX engine of {@link createPredictor}: which engine serves (`engine: 'tfjs' | 'onnx' | 'auto'`), and the batch
 * runners on ONNX Runtime, in this thread or on a worker pool (`onnx-worker.ts`, one session with one intra-op thread
 * per worker). Internal: not exported from the package.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { LeptonError } from '../errors/lepton-error.js';
import { layersModelToOnnx } from '../onnx/layers.js';
import { createOnnxSession, loadOnnxRuntime } from '../onnx/runtime.js';
import type { BatchRunner } from './batcher.js';
import type { OnnxWorkerInit } from './onnx-worker.js';
import { startBatchPool, type PoolRunnerConfig } from './predictor-pool.js';
import { onnxBatchRunner } from './predictor-onnx-run.js';
import type { PredictorEngine } from './predictor-types.js';

const ENGINES: readonly PredictorEngine[] = ['tfjs', 'onnx', 'auto'];

/** @internal Checks the `engine` option (JavaScript callers pass anything). */
export function checkEngine(engine: unknown): PredictorEngine {
  if (engine === undefined) return 'tfjs';
  if (!ENGINES.includes(engine as PredictorEngine)) {
    throw new LeptonError('INVALID_ARGUMENT', `engine must be one of ${ENGINES.map((e) => `'${e}'`).join(', ')}, got ${String(engine)}.`);
  }
  return engine as PredictorEngine;
}

/** @internal What serves: ONNX Runtime with the converted model, or TF.js (with why, when 'auto' fell back). */
export type EngineChoice = { engine: 'onnx'; model: Uint8Array } | { engine: 'tfjs'; note?: string };

/**
 * For `'onnx'`: the converted model, or the error (ORT missing: `BACKEND_UNAVAILABLE`; a layer that does not convert:
 * `INVALID_MODEL`). For `'auto'`: the same, except that those two errors fall back to TF.js with a note saying why.
 *
 * @internal
 */
export async function chooseEngine(engine: 'onnx' | 'auto', model: tfl.LayersModel): Promise<EngineChoice> {
  try {
    await loadOnnxRuntime();
    return { engine: 'onnx', model: await layersModelToOnnx(model) };
  } catch (err) {
    const fallback = err instanceof LeptonError && (err.code === 'BACKEND_UNAVAILABLE' || err.code === 'INVALID_MODEL');
    if (engine === 'onnx' || !fallback) throw err;
    return { engine: 'tfjs', note: `engine 'auto' serves on TF.js: ${err.message}` };
  }
}

/** @internal */
export interface OnnxRunnerConfig extends Pick<PoolRunnerConfig, 'inputShape' | 'maxBatchSize' | 'warmup' | 'workers' | 'pool'> {
  offMainThread: boolean;
}

/**
 * Starts ONNX Runtime for a converted model: one session in this thread (which then blocks this thread's event loop
 * while it computes, as TF.js does), or one per worker. Each session uses one intra-op thread, so N workers use N
 * cores and never compete for them. @internal
 */
export async function startOnnxRunner(model: Uint8Array, c: OnnxRunnerConfig): Promise<BatchRunner> {
  const warmupBatches = c.warmup ? [...new Set([1, c.maxBatchSize])] : [];
  const size = c.inputShape.reduce((a, d) => a * d, 1);
  if (c.offMainThread) {
    const init: OnnxWorkerInit = { model, inputShape: c.inputShape, warmupBatches, threads: 1 };
    // The workers' TF.js engine is unused: 'cpu' is the one that starts fastest and holds no wasm heap.
    return startBatchPool(new URL('./onnx-worker.js', import.meta.url), init, 'cpu', c);
  }
  const session = await createOnnxSession(model, { threads: 1 });
  const run = onnxBatchRunner(session, c.inputShape);
  try {
    for (const b of warmupBatches) await run(new Float32Array(b * size), b);
  } catch (err) {
    await session.close();
    throw err;
  }
  return {
    slots: 1,
    prefetch: 0,
    workers: 1,
    offMainThread: false,
    run,
    restarts: () => 0,
    perWorker: () => undefined,
    close: () => session.close(),
  };
}
