import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Bundle } from '../bundle/load.js';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { checkLayersModel } from '../internal/checks.js';
import { ensureRuntime } from '../runtime/init.js';
import { gpuErrorScope } from '../runtime/gpu-scope.js';
import { planBackend } from '../runtime/kernels.js';
import { BatchingPredictor, type BatchRunner } from './batcher.js';
import { checkTimeout, resolveWorkerCount } from './pool-options.js';
import { startPoolRunner } from './predictor-pool.js';
import { foldBatchNorm } from './fold.js';
import { checkEngine, chooseEngine } from './predictor-onnx.js';
import type { Predictor, PredictorOptions } from './predictor-types.js';

export type { Predictor, PredictorEngine, PredictorOptions, PredictorStats } from './predictor-types.js';

/** A count option: a whole number ≥ 1 (1.5 was floored to 1 silently). */
function count(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new LeptonError('INVALID_ARGUMENT', `${name} must be a whole number ≥ 1, got ${describeValue(value)}.`);
  }
  return value;
}

/** Longest wait setTimeout honours: a longer one fires after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Most batches one worker may hold (`pool.pipeline`): more would bypass `maxQueue` (the batches pile up in inboxes). */
const MAX_PIPELINE = 8;

type PoolOption = NonNullable<PredictorOptions['pool']>;

/**
 * Checks `options.pool` (JavaScript callers pass anything) and returns a plain copy of it, with `timeoutMs` as the
 * pool's `taskTimeoutMs` when given. The pool checks the rest of its options itself.
 */
function checkPool(pool: unknown, timeoutMs: number | undefined): PoolOption {
  if (pool !== undefined && (pool === null || typeof pool !== 'object')) {
    throw new LeptonError('INVALID_ARGUMENT', `createPredictor: pool must be an object of pool settings, got ${describeValue(pool)}.`);
  }
  let copy: PoolOption;
  try {
    // Array.isArray throws on a revoked Proxy; a getter may throw while copying
    if (Array.isArray(pool)) throw new LeptonError('INVALID_ARGUMENT', `createPredictor: pool must be an object of pool settings, got ${describeValue(pool)}.`);
    copy = { ...(pool as PoolOption | undefined) };
  } catch (err) {
    if (err instanceof LeptonError) throw err;
    throw new LeptonError('INVALID_ARGUMENT', `createPredictor: pool could not be read: ${err instanceof Error ? err.message : describeValue(err)}`, { cause: err });
  }
  const pipeline: unknown = copy.pipeline;
  if (pipeline !== undefined && (typeof pipeline !== 'number' || !Number.isInteger(pipeline) || pipeline < 1 || pipeline > MAX_PIPELINE)) {
    throw new LeptonError('INVALID_ARGUMENT', `createPredictor: pool.pipeline must be an integer from 1 to ${MAX_PIPELINE}, got ${describeValue(pipeline)}.`);
  }
  const name: unknown = copy.name;
  if (name !== undefined && typeof name !== 'string') throw new LeptonError('INVALID_ARGUMENT', `createPredictor: pool.name must be a string, got ${describeValue(name)}.`);
  return timeoutMs === undefined ? copy : { ...copy, taskTimeoutMs: timeoutMs };
}

/** Most values in one batch (maxBatchSize × sample size): TF.js indexes tensors with 32-bit integers. */
const MAX_BATCH_VALUES = 2 ** 31 - 1;

function fixedShape(shape: Array<number | null>, what: string): number[] {
  const rest = shape.slice(1);
  if (rest.some((d) => d === null)) {
    throw new LeptonError('INVALID_MODEL', `The model's ${what} shape [${shape.join(', ')}] has an unknown dimension besides the batch; give it a fixed input shape.`);
  }
  return rest as number[];
}

/** Forward passes in this thread, one batch at a time. Every pass runs in `tf.tidy`, so serving leaks no tensors. */
function inThreadRunner(model: tfl.LayersModel, inputShape: number[], release?: () => void): BatchRunner {
  return {
    slots: 1,
    prefetch: 0,
    workers: 1,
    offMainThread: false,
    async run(flat, n) {
      let out: tf.Tensor | undefined;
      try {
        // on webgpu a batch too large for the device reads back as zeros: GPU_ERROR instead (gpuErrorScope)
        out = await gpuErrorScope(
          () => tf.tidy(() => model.predict(tf.tensor(flat, [n, ...inputShape])) as tf.Tensor),
          (t) => t.dispose(),
        );
        return (await out.data()) as Float32Array;
      } catch (err) {
        if (err instanceof LeptonError && err.code === 'GPU_ERROR') throw err;
        throw new LeptonError('INVALID_INPUT', `The forward pass failed for a batch of ${n}: ${(err as Error).message}`, { cause: err });
      } finally {
        out?.dispose();
      }
    },
    restarts: () => 0,
    perWorker: () => undefined,
    close: async () => release?.(),
  };
}

async function warmup(model: tfl.LayersModel, inputShape: number[], maxBatchSize: number): Promise<void> {
  for (const b of new Set([1, maxBatchSize])) {
    const out = tf.tidy(() => model.predict(tf.zeros([b, ...inputShape])) as tf.Tensor);
    await out.data();
    out.dispose();
  }
}

/**
 * Creates a predictor that merges concurrent single-sample requests into batched forward passes
 * (up to `maxBatchSize`, waiting at most `maxWaitMs` for a batch to fill), warms the model up, bounds its
 * queue and drains on `close()`. Every forward pass runs in `tf.tidy`, so serving leaks no tensors.
 *
 * With `workers ≥ 2` (or `'auto'` on a multi-core machine) the model is serialised once and loaded by that many
 * worker threads, each with its own TF.js engine on the same backend; the batching queue then keeps up to `workers` ×
 * `pool.pipeline` (default 2) batches in flight at once: one running per worker, the others next in its inbox. A
 * worker that crashes fails the requests of the batch it was running with `WORKER_CRASHED` and is replaced; batches
 * next in its inbox had not started and are sent again. With `timeoutMs`, a batch that runs longer fails with
 * `WORKER_TIMEOUT` and its worker is replaced the same way (in this thread a forward pass cannot be interrupted).
 * `close()` drains, then terminates every worker.
 *
 * With `engine: 'onnx'` (or `'auto'`) the forward passes run on ONNX Runtime's native CPU kernels instead of TF.js:
 * the model is converted once by {@link layersModelToOnnx}, and each worker (or this thread) holds one ONNX Runtime
 * session with one intra-op thread. `stats().engine` says which engine serves.
 *
 * @param source - a loaded bundle or a model
 * @param options - batching and queue limits, worker count
 * @returns a ready predictor (with workers: every worker has loaded and warmed up the model)
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for a source that is not a bundle or layers model, options that are not
 *   an object, bad limits (`maxBatchSize`/`maxQueue` whole numbers ≥ 1, a batch of at most 2^31 − 1 values, `maxWaitMs`
 *   0 to 2^31 − 1, `timeoutMs` 1 to 2^31 − 1, `workers` at most 256) or engine, a flag that is not a boolean, a `pool`
 *   that is not an object (or whose `pipeline` is not an integer from 1 to 8, or `name` not a string),
 *   `INVALID_MODEL` for a multi-input model
 *   or one without a fixed sample shape (and with `engine: 'onnx'`, one with a layer the converter does not support,
 *   or one ONNX Runtime refuses), `KERNEL_UNAVAILABLE` when no backend can run the model, `BACKEND_UNAVAILABLE` for
 *   `engine: 'onnx'` without `onnxruntime-node`, `INVALID_INPUT` for `engine: 'onnx'` when ONNX Runtime fails the
 *   warm-up run, `WORKER_SETUP_FAILED` when a worker cannot load the model
 * @example
 * ```ts
 * import { buildMlp, createPredictor, initRuntime } from '@lepton/core';
 * await initRuntime({ backend: 'cpu' });
 * const predictor = await createPredictor(buildMlp({ inputDim: 3 }), { maxBatchSize: 16, maxWaitMs: 2 });
 * const scores = await Promise.all([predictor.predict([1, 2, 3]), predictor.predict([0, 1, 0])]);
 * await predictor.close();
 *
 * // two worker threads: two batches computing at once (and up to two more next in their inboxes)
 * const pooled = await createPredictor(buildMlp({ inputDim: 3 }), { workers: 2 });
 * console.log(pooled.stats().workers); // 2
 * await pooled.close();
 *
 * // ONNX Runtime when onnxruntime-node is installed and the model converts, else TF.js
 * const auto = await createPredictor(buildMlp({ inputDim: 3 }), { engine: 'auto' });
 * console.log(auto.stats().engine, auto.stats().engineNote ?? ''); // 'onnx' '' (or 'tfjs' and the reason)
 * await auto.close();
 * ```
 */
export async function createPredictor(source: Bundle | tfl.LayersModel, options: PredictorOptions = {}): Promise<Predictor> {
  await ensureRuntime();
  if (source === null || typeof source !== 'object') {
    throw new LeptonError('INVALID_ARGUMENT', `createPredictor: source must be a bundle or a TF.js layers model, got ${describeValue(source)}.`);
  }
  const model = 'manifest' in source ? source.model : source;
  checkLayersModel(model, 'createPredictor');
  if (options === null || typeof options !== 'object') throw new LeptonError('INVALID_ARGUMENT', `createPredictor: options must be an object, got ${describeValue(options)}.`);
  const maxBatchSize = count(options.maxBatchSize ?? 32, 'maxBatchSize');
  const maxWaitMs = options.maxWaitMs ?? 2;
  if (typeof maxWaitMs !== 'number' || !(maxWaitMs >= 0 && maxWaitMs <= MAX_TIMER_MS)) {
    throw new LeptonError('INVALID_ARGUMENT', `maxWaitMs must be a number of milliseconds from 0 to ${MAX_TIMER_MS}, got ${describeValue(maxWaitMs)}.`);
  }
  const maxQueue = count(options.maxQueue ?? 1024, 'maxQueue');
  for (const name of ['warmup', 'foldBatchNorm', 'offMainThread'] as const) {
    const v: unknown = options[name];
    if (v != null && typeof v !== 'boolean') throw new LeptonError('INVALID_ARGUMENT', `createPredictor: ${name} must be true or false, got ${describeValue(v)}.`);
  }
  const timeoutMs = checkTimeout(options.timeoutMs, 'createPredictor: timeoutMs');
  const pool = checkPool(options.pool, timeoutMs);
  const workers = resolveWorkerCount(options.workers ?? 1, pool.memoryPerWorkerBytes);
  const offMainThread = options.offMainThread ?? workers >= 2;
  if (!offMainThread && workers >= 2) {
    throw new LeptonError('INVALID_ARGUMENT', `offMainThread: false allows one engine only, but workers resolved to ${workers}; drop one of the two options.`);
  }
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new LeptonError('INVALID_MODEL', `createPredictor serves single-input, single-output models; this one has ${model.inputs.length} input(s) and ${model.outputs.length} output(s).`);
  }
  const inputShape = fixedShape(model.inputs[0]!.shape, 'input');
  const outputShape = fixedShape(model.outputs[0]!.shape, 'output');
  const sampleValues = Math.max(inputShape.reduce((a, b) => a * b, 1), outputShape.reduce((a, b) => a * b, 1));
  if (maxBatchSize * sampleValues > MAX_BATCH_VALUES) {
    // the warm-up batch failed in TF.js with a RangeError
    throw new LeptonError('INVALID_ARGUMENT', `maxBatchSize ${maxBatchSize} × ${sampleValues} values per sample exceeds a tensor's 2^31 − 1 values; lower maxBatchSize.`);
  }
  const warm = options.warmup ?? true;
  const engine = checkEngine(options.engine);
  let engineNote: string | undefined;
  if (engine !== 'tfjs') {
    // The ONNX model is converted from the copy TF.js would serve (batch norm folded), then that copy is not needed.
    const copy = options.foldBatchNorm === false ? model : await inferenceCopy(model);
    const onnx = { inputShape, maxBatchSize, warmup: warm, workers, offMainThread, pool };
    const choice = await chooseEngine(engine, copy, onnx).finally(() => copy !== model && copy.dispose());
    if (choice.engine === 'onnx') return new BatchingPredictor(choice.runner, { inputShape, outputShape, maxBatchSize, maxWaitMs, maxQueue, engine: 'onnx' });
    engineNote = choice.note;
  }
  // A kernel missing for inference on this backend is found now (and served from one that has it), not at the
  // first request. Workers then run on the backend chosen here, so they compute what this thread would.
  await planBackend(model, { training: false });
  const served = options.foldBatchNorm === false ? model : await inferenceCopy(model);
  let runner: BatchRunner;
  try {
    runner = offMainThread
      ? await startPoolRunner(served, { inputShape, maxBatchSize, warmup: warm, workers, imports: options.workerImports ?? [], pool })
      : inThreadRunner(served, inputShape, served === model ? undefined : () => served.dispose());
    if (!offMainThread && warm) await warmup(served, inputShape, maxBatchSize);
  } catch (err) {
    // Disposed exactly once: a second dispose() threw TF.js' "already disposed", hiding this error.
    if (served !== model) served.dispose();
    throw err;
  }
  // The workers hold their own copies: the folded one here was only needed to serialise them.
  if (offMainThread && served !== model) served.dispose();
  return new BatchingPredictor(runner, { inputShape, outputShape, maxBatchSize, maxWaitMs, maxQueue, engine: 'tfjs', engineNote });
}

/**
 * The model with batch norm folded, or the model itself when folding does not apply (nothing to fold, or a layer the
 * rewrite cannot rebuild — a custom class registered only in some other module): serving must never fail for an
 * optimisation.
 */
async function inferenceCopy(model: tfl.LayersModel): Promise<tfl.LayersModel> {
  if (!model.layers.some((l) => l.getClassName() === 'BatchNormalization')) return model;
  try {
    return await foldBatchNorm(model);
  } catch (err) {
    // Only "cannot rebuild this graph" falls back; anything else is a bug to see, not to serve around.
    if (err instanceof LeptonError && err.code === 'INVALID_MODEL') return model;
    throw err;
  }
}
