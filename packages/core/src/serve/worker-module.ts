import type { TransferListItem } from 'node:worker_threads';
import type { BackendName } from '../runtime/backends.js';
import type { RuntimeInfo } from '../runtime/init.js';

/**
 * What a worker module's setup function gets besides its `init` data: which worker it runs in and the runtime the
 * worker entry initialised for it (TF.js is ready on `backend` before setup is called).
 */
export interface WorkerContext {
  /** Index of the worker slot, 0 … workers − 1. A replacement for a crashed worker keeps the slot's index. */
  index: number;
  /** The TF.js backend active in this worker (the pool's `backend`). */
  backend: BackendName;
  /** The worker's runtime, as `initRuntime()` reported it. */
  runtime: RuntimeInfo;
}

/**
 * A worker handler's answer to one request. `transfer` lists buffers of `result` to move to the main thread instead
 * of copying them (for a typed-array result `r`, pass `[r.buffer]`; the worker must not touch them afterwards).
 */
export interface WorkerReply<Res> {
  /** The result, structured-cloneable (typed arrays, plain objects, arrays, numbers, strings …). */
  result: Res;
  /** Buffers inside `result` to transfer rather than copy. */
  transfer?: TransferListItem[];
}

/**
 * Serves one request inside a worker. Requests reach a worker one at a time, so a handler never runs concurrently
 * with itself. A handler that throws (or rejects) fails only that request: a `LeptonError`'s `code`, `message` and
 * `details` reach the caller unchanged; any other error arrives as `WORKER_TASK_FAILED`. The worker keeps serving.
 */
export type WorkerHandler<Req, Res> = (request: Req) => WorkerReply<Res> | Promise<WorkerReply<Res>>;

/**
 * The function a worker module exports, as its `default` export or as a named export `setup`. The pool calls it once
 * per worker, after TF.js is initialised there, with the pool's structured-cloneable `init` data; it loads what the
 * worker needs (a model, a detector …) and returns the request handler. A setup that throws makes
 * `createWorkerPool()` reject with `WORKER_SETUP_FAILED`.
 *
 * @example
 * ```ts
 * // my-worker.ts, compiled to dist/my-worker.js next to the code that starts the pool
 * import type { WorkerSetup } from '@lepton/core';
 * const setup: WorkerSetup<{ scale: number }, Float32Array, Float32Array> = ({ scale }) => (input) => {
 *   const result = input.map((v) => v * scale);
 *   return { result, transfer: [result.buffer] };
 * };
 * export default setup;
 * ```
 */
export type WorkerSetup<Init, Req, Res> = (init: Init, context: WorkerContext) => WorkerHandler<Req, Res> | Promise<WorkerHandler<Req, Res>>;
