/**
 * The ONNX engine of {@link createPredictor}: which engine serves (`engine: 'tfjs' | 'onnx' | 'auto'`), and the batch
 * runners on ONNX Runtime, in this thread or on a worker pool (`onnx-worker.ts`, one session with one intra-op thread
 * per worker). Internal: not exported from the package.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { layersModelToOnnx } from '../onnx/layers.js';
import { createOnnxSession, loadOnnxRuntime } from '../onnx/runtime.js';
import { ensureRuntime } from '../runtime/init.js';
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
    throw new LeptonError('INVALID_ARGUMENT', `engine must be one of ${ENGINES.map((e) => `'${e}'`).join(', ')}, got ${describeValue(engine)}.`);
  }
  return engine as PredictorEngine;
}

/** @internal What serves: ONNX Runtime, started and warmed up, or TF.js (with why, when 'auto' fell back). */
export type EngineChoice = { engine: 'onnx'; runner: BatchRunner } | { engine: 'tfjs'; note?: string };

/**
 * Errors on which `'auto'` serves on TF.js: ORT missing (`BACKEND_UNAVAILABLE`), a layer that does not convert or a
 * model ORT refuses or computes non-finite values with (`INVALID_MODEL`), a warm-up run ORT fails (`INVALID_INPUT`:
 * the input is zeros, so the model is at fault); the same codes from an ONNX worker's setup (`WORKER_SETUP_FAILED`
 * with `details.workerCode`).
 */
const FALLBACK_CODES: ReadonlySet<string> = new Set(['BACKEND_UNAVAILABLE', 'INVALID_MODEL', 'INVALID_INPUT']);

/** Whether 'auto' falls back on `err`: one of {@link FALLBACK_CODES}, here or in an ONNX worker's setup. */
function fallsBack(err: unknown): err is LeptonError {
  if (!(err instanceof LeptonError)) return false;
  const inner = err.code === 'WORKER_SETUP_FAILED' ? err.details['workerCode'] : err.code;
  return typeof inner === 'string' && FALLBACK_CODES.has(inner);
}

/**
 * For `'onnx'`: ONNX Runtime serving the converted model, started and warmed up, or the error. For `'auto'`: the
 * same, except that conversion, load and warm-up failures fall back to TF.js with a note saying why; 'auto' always
 * runs the warm-up batches (1 and `maxBatchSize`) on ONNX Runtime, `warmup: false` or not, since a model can convert
 * and load yet fail to run.
 *
 * @internal
 */
export async function chooseEngine(engine: 'onnx' | 'auto', model: tfl.LayersModel, c: OnnxRunnerConfig): Promise<EngineChoice> {
  if (engine === 'auto') {
    // ONNX Runtime runs here on its CPU kernels: a TF.js backend that computes on a GPU keeps the model.
    const runtime = await ensureRuntime();
    if (runtime.gpu) return { engine: 'tfjs', note: `engine 'auto' serves on TF.js: the '${runtime.backend}' backend computes on a GPU (${runtime.device})` };
  }
  try {
    await loadOnnxRuntime();
    const bytes = await layersModelToOnnx(model);
    return { engine: 'onnx', runner: await startOnnxRunner(bytes, engine === 'auto' ? { ...c, warmup: true } : c) };
  } catch (err) {
    if (engine === 'onnx' || !fallsBack(err)) throw err;
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
  const warm = onnxBatchRunner(session, c.inputShape, true);
  try {
    for (const b of warmupBatches) await warm(new Float32Array(b * size), b);
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
