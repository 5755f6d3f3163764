/**
 * Forward passes of one model on worker threads for calls that already hold a batch of samples: a call's samples are
 * cut into chunks that keep every worker busy (the model is sent to the workers once, on first use), and one `close()`
 * frees the weights and ends the threads.
 *
 * Why chunks rather than one request per sample through `createPredictor`: for small dense models the per-sample work
 * on the calling thread (a promise, a check and a copy per row) costs more than the forward pass it moves away —
 * measured on 2 cores, 20,000 fraud rows took 82 ms as row requests against 65 ms in one thread, and 31 ms in two
 * chunks on two workers.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { checkLayersModel } from '../internal/checks.js';
import { activeBackend } from '../runtime/init.js';
import { createWorkerPool, type WorkerPool } from './pool.js';
import { MAX_WORKERS, resolveWorkerCount } from './pool-options.js';
import { serialiseModel } from './predictor-pool.js';
import type { PredictorWorkerInit, PredictorWorkerRequest } from './predictor-worker.js';

/** Values per sample of a shape whose first axis is the batch (a free dimension counts as NaN, failing every check). */
const shapeSize = (shape: ReadonlyArray<number | null>): number => shape.slice(1).reduce((a: number, d) => a * (d ?? Number.NaN), 1);

/**
 * Checks a `workers` option and resolves it: `undefined` → 1 (in this thread), an integer from 1 to 256 as given,
 * `'auto'` → one per core, capped by free memory (core's `resolveWorkerCount`) and at 256.
 *
 * @param workers - the caller's value (unchecked: JavaScript callers and JSON configs pass anything)
 * @param where - who asks, for the message
 * @returns the worker count
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for anything else
 * @example
 * ```ts
 * import { resolveWorkersOption } from '@lepton/core';
 * resolveWorkersOption(undefined, 'MyModel.load'); // 1
 * resolveWorkersOption(2, 'MyModel.load'); // 2
 * ```
 */
export function resolveWorkersOption(workers: unknown, where: string): number {
  if (workers === undefined) return 1;
  if (workers !== 'auto' && (typeof workers !== 'number' || !Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS)) {
    const at = typeof where === 'string' ? where : 'resolveWorkersOption';
    throw new LeptonError('INVALID_ARGUMENT', `${at}: workers must be an integer from 1 to ${MAX_WORKERS} or 'auto', got ${describeValue(workers)}.`, {
      details: { workers: describeValue(workers) },
    });
  }
  // 'auto' is one per core (capped by free memory): on a host with more than MAX_WORKERS cores, MAX_WORKERS.
  return Math.min(MAX_WORKERS, resolveWorkerCount(workers));
}

/**
 * One model's engines: with `count` 1 the owning class runs the model in this thread itself (its code path is
 * unchanged); with `count` ≥ 2 it sends samples here, and they run on a pool of `count` workers, started on first use,
 * each with its own copy of the model on this thread's backend. Outputs are bitwise those of the model in this thread
 * on `wasm`: a sample's output does not depend on which other samples share its forward pass.
 *
 * This is the batch-call counterpart of {@link createPredictor}'s `workers` (which merges single requests): the
 * verticals' `workers` options (diagnosis, fraud scoring, anomaly scoring, inspection) are built on it.
 *
 * @example
 * ```ts
 * import { buildMlp, initRuntime, ModelWorkers, resolveWorkersOption } from '@lepton/core';
 * await initRuntime({ backend: 'wasm' });
 * const model = buildMlp({ inputDim: 4 });
 * const engines = new ModelWorkers(model, resolveWorkersOption(2, 'example'), 4096, 'This example');
 * const out = await engines.predictMany(new Float32Array(4 * 100), 100); // 100 outputs, computed on 2 threads
 * await engines.close(); // also disposes the model
 * ```
 */
export class ModelWorkers {
  #pool: Promise<WorkerPool<PredictorWorkerRequest, Float32Array>> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  /**
   * @param model - the model (this object disposes it on {@link close}); its input shape must be fixed but for the batch
   * @param count - worker threads, from {@link resolveWorkersOption}
   * @param maxChunk - most samples per request: a call's samples are cut into near-equal chunks, a multiple of `count`
   *   of them (one per worker, or more when a chunk would exceed `maxChunk` samples)
   * @param what - the owning object, for messages (e.g. `'This DefectInspector'`)
   * @throws {@link LeptonError} `INVALID_ARGUMENT` for a model that is not a layers model, a count that is not a whole
   *   number from 1 to the worker limit, a `maxChunk` that is not a whole number ≥ 1 or a `what` that is not a string
   */
  constructor(
    private readonly model: tfl.LayersModel,
    readonly count: number,
    private readonly maxChunk: number,
    private readonly what: string,
  ) {
    // a NaN count made a pool-less object that ran nothing; a NaN chunk cut no requests
    checkLayersModel(model, 'ModelWorkers');
    if (!Number.isSafeInteger(count) || count < 1 || count > MAX_WORKERS) {
      throw new LeptonError('INVALID_ARGUMENT', `ModelWorkers: count must be a whole number from 1 to ${MAX_WORKERS}, got ${describeValue(count)}.`);
    }
    if (!Number.isSafeInteger(maxChunk) || maxChunk < 1) throw new LeptonError('INVALID_ARGUMENT', `ModelWorkers: maxChunk must be a whole number ≥ 1, got ${describeValue(maxChunk)}.`);
    if (typeof what !== 'string') throw new LeptonError('INVALID_ARGUMENT', `ModelWorkers: what must be a string naming the owner, got ${describeValue(what)}.`);
  }

  /** True when forward passes go to worker threads. */
  get pooled(): boolean {
    return this.count >= 2;
  }

  /**
   * @throws {@link LeptonError} `PREDICTOR_CLOSED` after {@link close}
   */
  assertOpen(): void {
    if (this.#closed) throw new LeptonError('PREDICTOR_CLOSED', `${this.what} was closed (close() or dispose()); load or train a new one.`);
  }

  /**
   * Runs `n` samples, packed row-major in `flat`, on the workers.
   *
   * @param flat - the samples (copied into the requests before the first `await`): a Float32Array of `n` × the model's
   *   input size finite values
   * @param n - number of samples, a whole number ≥ 0
   * @returns the `n` outputs, packed row-major
   * @throws {@link LeptonError} `PREDICTOR_CLOSED` after {@link close}; `INVALID_INPUT` when `flat` is not a
   *   Float32Array, `n` is not a whole number ≥ 0, `flat.length` is not `n` × the input size, or a value is NaN or
   *   ±Infinity; `INVALID_MODEL` when the model returns another number of values than `n` × its output size; from the
   *   pool `WORKER_SETUP_FAILED` (a worker could not load the model: the next call tries again) or `WORKER_CRASHED`
   *   (the worker died running this call's chunk; it is replaced and retrying is safe)
   */
  async predictMany(flat: Float32Array, n: number): Promise<Float32Array> {
    this.assertOpen();
    if (!(flat instanceof Float32Array)) throw new LeptonError('INVALID_INPUT', `${this.what}: predictMany needs a Float32Array of samples, got ${describeValue(flat)}.`);
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
      throw new LeptonError('INVALID_INPUT', `${this.what}: predictMany needs a whole number of samples ≥ 0, got ${describeValue(n)}.`);
    }
    const size = shapeSize(this.model.inputs[0]!.shape);
    if (flat.length !== n * size) {
      throw new LeptonError('INVALID_INPUT', `${this.what}: predictMany got ${flat.length} values for ${n} samples of ${size} values each (expected ${n * size}).`);
    }
    for (let i = 0; i < flat.length; i++) {
      if (!Number.isFinite(flat[i])) throw new LeptonError('INVALID_INPUT', `${this.what}: input value ${i} is ${flat[i]}, not a finite number.`, { details: { index: i } });
    }
    if (n === 0) return new Float32Array(0);
    // A multiple of `count` near-equal chunks: every worker gets the same share, none waits on a straggler.
    const rounds = Math.ceil(n / (this.count * this.maxChunk));
    const chunk = Math.ceil(n / (this.count * rounds));
    const inputs: Array<Float32Array<ArrayBuffer>> = [];
    for (let i = 0; i < n; i += chunk) inputs.push(flat.slice(i * size, Math.min(n, i + chunk) * size));
    const pool = await this.#start();
    // Each chunk's buffer moves to its worker (no copy) and its output moves back.
    // Samples per chunk, read before the buffers move away (a moved buffer reads as length 0).
    const counts = inputs.map((input) => input.length / size);
    const outs = await Promise.all(inputs.map((input, i) => pool.run({ input, n: counts[i]! }, { transfer: [input.buffer] })));
    const total = outs.reduce((s, o) => s + o.length, 0);
    // A model computing another number of values than its output shape says would shift every later sample's output.
    const outputSize = shapeSize(this.model.outputs[0]!.shape);
    if (total !== n * outputSize || outs.some((o, i) => o.length !== counts[i]! * outputSize)) {
      throw new LeptonError('INVALID_MODEL', `${this.what}: the model returned ${total} values for ${n} samples, expected ${n * outputSize} (${n} × ${outputSize}); its declared output shape does not match what it computes.`, {
        details: { expected: n * outputSize, actual: total },
      });
    }
    if (outs.length === 1) return outs[0]!;
    const out = new Float32Array(total);
    outs.reduce((offset, o) => (out.set(o, offset), offset + o.length), 0);
    return out;
  }

  #start(): Promise<WorkerPool<PredictorWorkerRequest, Float32Array>> {
    // One start shared by concurrent first calls. A failed start is forgotten, so the next call tries again.
    this.#pool ??= (async () => {
      const inputShape = this.model.inputs[0]!.shape.slice(1) as number[];
      return createWorkerPool<PredictorWorkerInit, PredictorWorkerRequest, Float32Array>({
        // Next to this file: dist/serve/ in the package (the predictor's worker module serves chunks the same way).
        module: new URL('./predictor-worker.js', import.meta.url),
        init: { ...(await serialiseModel(this.model)), inputShape, warmupBatches: [1], imports: [] },
        backend: activeBackend(),
        workers: this.count,
        // A call queues all its chunks at once; they hold what the call already holds in memory, so no limit of its own.
        maxQueue: Number.MAX_SAFE_INTEGER,
        name: 'lepton-model',
      });
    })().catch((err: unknown) => {
      this.#pool = undefined;
      // close() disposed the weights while they were being sent to the workers: say so, not what TF.js said.
      this.assertOpen();
      throw err;
    });
    return this.#pool;
  }

  /**
   * Frees the model's weights at once, then lets the workers finish the chunks they accepted and ends their threads.
   * Idempotent.
   *
   * @returns a promise that resolves once every worker thread has exited
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      this.model.dispose();
      const pool = await this.#pool?.catch(() => undefined);
      this.#pool = undefined;
      await pool?.close();
    })();
    return this.#closing;
  }
}
