import type { RuntimeInfo } from '../runtime/init.js';
import type { WorkerPoolOptions } from './pool-options.js';

/**
 * What computes a predictor's forward passes: `'tfjs'` (TF.js on the runtime's backend), `'onnx'` (the model
 * converted by {@link layersModelToOnnx} and run by ONNX Runtime's native CPU kernels; needs the optional
 * `onnxruntime-node` package) or `'auto'` (`'tfjs'` when the TF.js backend computes on a GPU, see
 * {@link RuntimeInfo.gpu}; otherwise `'onnx'` when ONNX Runtime is installed, the model converts and its warm-up runs,
 * else `'tfjs'`).
 */
export type PredictorEngine = 'tfjs' | 'onnx' | 'auto';

/** Options for {@link createPredictor}. */
export interface PredictorOptions {
  /** Most requests merged into one forward pass. Default 32. */
  maxBatchSize?: number;
  /** Longest a request waits for others to join its batch, in milliseconds. Default 2. */
  maxWaitMs?: number;
  /** Most requests waiting (not yet in a forward pass); beyond it requests are rejected `OVERLOADED`. Default 1024. */
  maxQueue?: number;
  /** Run the model once at batch 1 and at `maxBatchSize` before serving (compiles GPU shaders). Default true. */
  warmup?: boolean;
  /**
   * TF.js engines computing forward passes. `1` (the default) runs them in this thread, as before. `≥ 2` (at most
   * 256), or `'auto'` resolving to ≥ 2 (one per core, capped by free memory: see `resolveWorkerCount`), starts that
   * many worker threads, each loading a copy of the model, and keeps up to `workers` × `pool.pipeline` batches in
   * flight at once (one running per worker, the others next in a worker's inbox): this is how a predictor uses more
   * than one CPU core on `wasm`. Results are the same as in this thread (same backend).
   */
  workers?: number | 'auto';
  /**
   * Serve an inference copy of the model with batch normalisation folded into the layer before it, and a ReLU after it
   * into that layer's activation ({@link foldBatchNorm}): the same function up to float rounding (≈ 1e-7 relative),
   * one fused kernel instead of three. Measured on the reference CNN (64 × 64 × 1, batch 64, `wasm`): 1.4–1.5× faster.
   * Default true; `false` serves the model exactly as given.
   */
  foldBatchNorm?: boolean;
  /**
   * Run forward passes on worker threads even when `workers` is 1, so they never block this thread's event loop.
   * Default: true when `workers` resolves to ≥ 2, else false. `false` with `workers ≥ 2` is an `INVALID_ARGUMENT`.
   */
  offMainThread?: boolean;
  /**
   * Modules every worker imports before it loads the model, for a model with custom layers: each must register its
   * layer classes (`tf.serialization.registerClass`) on import, using the `tf` of `@lepton/core`. File URLs or paths.
   * Lepton's own layers are always registered.
   */
  workerImports?: Array<string | URL>;
  /**
   * Pool settings used when forward passes run on workers: the TF.js backend of the workers (default: the backend
   * this thread would run the model on), the worker entry file (for bundles), `memoryPerWorkerBytes` for `'auto'`,
   * `pipeline` (batches one worker may hold, an integer from 1 to 8, default 2), `setupTimeoutMs`, `taskTimeoutMs`
   * (prefer `timeoutMs` below), per-worker heap limits and Node flags. Must be an object; `name` a string.
   */
  pool?: Omit<WorkerPoolOptions, 'module' | 'init' | 'workers' | 'maxQueue'>;
  /**
   * Longest one forward pass may run when served off the main thread (`workers ≥ 2` or `offMainThread`), in
   * milliseconds (1 to 2^31 − 1): past it the requests of that batch reject with `WORKER_TIMEOUT`, and the worker,
   * which cannot be interrupted, is terminated and replaced (batches next in its inbox are sent again). Default: no
   * limit. In this thread (`workers: 1` without `offMainThread`) a forward pass cannot be interrupted at all, so this
   * option has no effect there: serve off the main thread to bound it.
   */
  timeoutMs?: number;
  /**
   * The engine ({@link PredictorEngine}). Default `'tfjs'`. With `'onnx'` the model (batch norm folded unless
   * `foldBatchNorm: false`) is converted to ONNX once and run by ONNX Runtime on the CPU, in this thread or, with
   * `workers ≥ 2` / `offMainThread`, one session per worker, each with one intra-op thread (same batching, queue,
   * crash-replacement and drain guarantees). Outputs are within 1e-4 of TF.js' on the models the parity tests cover
   * (max |Δ| measured 2.4e-6; which models, and what the converter refuses: {@link layersModelToOnnx}). Measured on
   * the reference CNN (64 × 64 × 1, batch 64, one worker): 6.2× TF.js `wasm`, 2.3× a PyTorch CPU thread (bench/README.md).
   * ONNX Runtime computes synchronously: in this thread it blocks the event loop for each forward pass, as TF.js does.
   * `'auto'` serves on TF.js when the backend computes on a GPU ({@link RuntimeInfo.gpu}: `webgpu` on a hardware
   * adapter, `tfjs-node-gpu`), since ONNX Runtime would compute on the CPU. It falls back to TF.js, saying why in
   * `stats().engineNote`, when `onnxruntime-node` is missing, a layer
   * does not convert (recurrent layers, custom layers; see {@link ONNX_CONVERTIBLE_LAYERS}), ONNX Runtime refuses the
   * model, or its warm-up run fails; 'auto' always runs that warm-up (batches of 1 and `maxBatchSize`), even with
   * `warmup: false`, since a model can convert and load yet fail to run. `'onnx'` throws those errors. `pool.backend` and
   * `workerImports` do not apply to ONNX workers.
   */
  engine?: PredictorEngine;
}

/** Counters of a predictor since it was created. */
export interface PredictorStats {
  /** Requests accepted since creation (excludes ones rejected as overloaded, invalid or after `close()`). */
  requests: number;
  /** Forward passes that succeeded (warm-up and failed passes are not counted). */
  batches: number;
  /** Mean requests per forward pass. */
  meanBatchSize: number;
  /** Requests rejected because the queue was full. */
  rejectedOverload: number;
  /** Requests rejected `INVALID_INPUT` at `predict()` (wrong length, a non-finite value, an input that cannot be read). */
  rejectedInvalid: number;
  /** Requests rejected `PREDICTOR_CLOSED` because they came after `close()`. */
  rejectedClosed: number;
  /**
   * Requests whose forward pass failed, including ones whose worker crashed or timed out, whose output was not
   * finite, or whose batch's output had the wrong length.
   */
  failed: number;
  /** Requests waiting right now. */
  queued: number;
  /** TF.js engines computing forward passes: 1 in this thread, else the number of worker threads. */
  workers: number;
  /** True when forward passes run on worker threads. */
  offMainThread: boolean;
  /**
   * Batches handed to the engines and not answered yet: running, or (on workers) next in a worker's inbox, at most
   * `workers` × the pool's `pipeline` (1 in this thread).
   */
  inFlight: number;
  /** Most batches in flight at once since creation. */
  peakInFlight: number;
  /** Workers replaced after a crash (always 0 in this thread). */
  workerRestarts: number;
  /**
   * Batches each engine answered (results and failures; batches lost with a crashed worker are not counted), by
   * worker index; one entry in this thread. Shows whether the load spreads over the workers.
   */
  batchesPerWorker: number[];
  /** The engine computing the forward passes (`'auto'` resolved). */
  engine: 'tfjs' | 'onnx';
  /**
   * Why `engine: 'auto'` serves on TF.js (a GPU backend, ONNX Runtime missing, the layer that does not convert, or
   * the ONNX load or warm-up error); absent otherwise.
   */
  engineNote?: string;
}

/** A batched, bounded inference service around one model. */
export interface Predictor {
  /** Shape of one input sample (without the batch axis). */
  readonly inputShape: number[];
  /** Shape of one output sample (without the batch axis). */
  readonly outputShape: number[];
  /**
   * Predicts one sample. Concurrent calls are merged into batches.
   *
   * @param input - one sample, flattened row-major to `inputShape` (length = product of `inputShape`); copied before
   *   this returns, so the caller may reuse its buffer at once
   * @returns the model output for that sample, flattened (finite numbers)
   * Never throws: every failure, even an input whose getters throw, is a rejection.
   *
   * @throws {@link LeptonError} `INVALID_INPUT` for a wrong length, a non-finite value or an input that cannot be read
   *   (or a failed forward pass), `INVALID_MODEL` when the model's output for this sample is not finite (values that
   *   overflow inside the model, or damaged weights; the other samples of its batch are answered, on both engines) or
   *   when the model returns another number of values than its output shape says (the whole batch fails),
   *   `OVERLOADED` when `maxQueue` requests are already waiting, `PREDICTOR_CLOSED` after `close()`, and with workers
   *   `WORKER_CRASHED` when the worker died while running this request's batch (every request of that batch fails;
   *   batches it held but had not started are sent again; it is replaced and retrying is safe), `WORKER_TIMEOUT`
   *   when the batch ran past `timeoutMs`, `WORKER_SETUP_FAILED` when no worker is left because replacements cannot
   *   load the model, and on `webgpu` (in this thread) `GPU_ERROR` when the device refused the batch (e.g. larger
   *   than its `maxStorageBufferBindingSize`: lower `maxBatchSize`) instead of answering zeros
   */
  predict(input: ArrayLike<number>): Promise<Float32Array>;
  /** Counters since creation. */
  stats(): PredictorStats;
  /** Stops accepting requests, finishes every accepted one, then resolves (terminating the workers, if any). */
  close(): Promise<void>;
}
