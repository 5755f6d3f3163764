/**
 * Forward passes of one model on worker threads, behind the `workers` option of the package's model classes: the
 * option check, the model sent to the workers once (`model-worker.ts` loads it in each), a lazy start, a call's samples
 * cut into chunks that keep every worker busy, and one `close()` that frees the weights and ends the threads.
 *
 * Why chunks through `createWorkerPool` rather than one request per sample through `createPredictor`: for the small
 * dense models here the per-sample work on this thread (a promise, a check and a copy per row) cost more than the
 * forward pass it moved away — measured on 2 cores, 20,000 fraud rows took 82 ms per row-request against 65 ms in
 * this thread, and 31 ms in two chunks on two workers.
 *
 * @internal
 * @module
 */
import { createWorkerPool, LeptonError, resolveWorkerCount, tf, type WorkerPool } from '@lepton/core';
import type { ModelWorkerInit, ModelWorkerRequest } from './model-worker.js';

/** Most workers a model takes: far above any core count, low enough that a typo (`1e6`) is refused, not obeyed. */
const MAX_WORKERS = 256;

/**
 * Checks a `workers` option and resolves it: `undefined` → 1 (in this thread), an integer from 1 to 256 as given,
 * `'auto'` → one per core, capped by free memory (core's `resolveWorkerCount`).
 *
 * @param workers - the caller's value (unchecked: JavaScript callers and JSON configs pass anything)
 * @param where - who asks, for the message
 * @returns the worker count
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for anything else
 * @internal
 */
export function resolveWorkers(workers: unknown, where: string): number {
  if (workers === undefined) return 1;
  if (workers !== 'auto' && (typeof workers !== 'number' || !Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS)) {
    throw new LeptonError('INVALID_ARGUMENT', `${where}: workers must be an integer from 1 to ${MAX_WORKERS} or 'auto', got ${String(workers)}.`, {
      details: { workers: String(workers) },
    });
  }
  return resolveWorkerCount(workers);
}

/** The model as `tf.io.fromMemory` takes it back: JSON topology, weight specs and one buffer of weights. */
async function serialise(model: tf.LayersModel): Promise<Pick<ModelWorkerInit, 'topology' | 'weightSpecs' | 'weightData'>> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (artifacts?.modelTopology === undefined) throw new LeptonError('INVALID_MODEL', 'The model produced no topology to send to the workers.');
  const data = artifacts.weightData;
  const parts = data === undefined ? [] : Array.isArray(data) ? data : [data];
  const weights = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  parts.reduce((offset, p) => (weights.set(new Uint8Array(p), offset), offset + p.byteLength), 0);
  return { topology: artifacts.modelTopology as object, weightSpecs: artifacts.weightSpecs ?? [], weightData: weights.buffer };
}

/**
 * One model's engines: with `count` 1 the owning class runs the model in this thread itself (its code path is
 * unchanged); with `count` ≥ 2 it sends samples here, and they run on a pool of `count` workers, started on first use,
 * each with its own copy of the model on this thread's backend. Outputs are bitwise those of the model in this thread
 * on `wasm`: a sample's output does not depend on which other samples share its forward pass.
 *
 * @internal
 */
export class ModelWorkers {
  #pool: Promise<WorkerPool<ModelWorkerRequest, Float32Array>> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  /**
   * @param model - the model (this object disposes it on {@link close}); its input shape must be fixed but for the batch
   * @param count - worker threads, from {@link resolveWorkers}
   * @param maxChunk - most samples per request: a call's samples are cut into near-equal chunks, a multiple of `count`
   *   of them (one per worker, or more when a chunk would exceed `maxChunk` samples)
   * @param what - the owning object, for messages (e.g. `'This DefectInspector'`)
   */
  constructor(
    private readonly model: tf.LayersModel,
    readonly count: number,
    private readonly maxChunk: number,
    private readonly what: string,
  ) {}

  /** True when forward passes go to worker threads. */
  get pooled(): boolean {
    return this.count >= 2;
  }

  /**
   * @throws {@link @lepton/core!LeptonError} `PREDICTOR_CLOSED` after {@link close}
   */
  assertOpen(): void {
    if (this.#closed) throw new LeptonError('PREDICTOR_CLOSED', `${this.what} was closed (close() or dispose()); load or train a new one.`);
  }

  /**
   * Runs `n` samples, packed row-major in `flat` (finite values: the caller checks them), on the workers.
   *
   * @param flat - the samples (copied into the requests before the first `await`)
   * @param n - number of samples
   * @returns the `n` outputs, packed row-major
   * @throws {@link @lepton/core!LeptonError} `PREDICTOR_CLOSED` after {@link close}; from the pool
   *   `WORKER_SETUP_FAILED` (a worker could not load the model: the next call tries again) or `WORKER_CRASHED` (the
   *   worker died holding this call's chunk; it is replaced and retrying is safe)
   */
  async predictMany(flat: Float32Array, n: number): Promise<Float32Array> {
    this.assertOpen();
    if (n === 0) return new Float32Array(0);
    const size = flat.length / n;
    // A multiple of `count` near-equal chunks: every worker gets the same share, none waits on a straggler.
    const rounds = Math.ceil(n / (this.count * this.maxChunk));
    const chunk = Math.ceil(n / (this.count * rounds));
    const inputs: Array<Float32Array<ArrayBuffer>> = [];
    for (let i = 0; i < n; i += chunk) inputs.push(flat.slice(i * size, Math.min(n, i + chunk) * size));
    const pool = await this.#start();
    // Each chunk's buffer moves to its worker (no copy) and its output moves back.
    const outs = await Promise.all(inputs.map((input) => pool.run({ input, n: input.length / size }, { transfer: [input.buffer] })));
    if (outs.length === 1) return outs[0]!;
    const out = new Float32Array(outs.reduce((s, o) => s + o.length, 0));
    outs.reduce((offset, o) => (out.set(o, offset), offset + o.length), 0);
    return out;
  }

  #start(): Promise<WorkerPool<ModelWorkerRequest, Float32Array>> {
    // One start shared by concurrent first calls. A failed start is forgotten, so the next call tries again.
    this.#pool ??= (async () => {
      const inputShape = this.model.inputs[0]!.shape.slice(1) as number[];
      return createWorkerPool<ModelWorkerInit, ModelWorkerRequest, Float32Array>({
        // Next to this file: dist/internal/ in the package.
        module: new URL('./model-worker.js', import.meta.url),
        init: { ...(await serialise(this.model)), inputShape },
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
