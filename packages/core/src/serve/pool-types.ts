import type { TransferListItem } from 'node:worker_threads';
import type { BackendName } from '../runtime/backends.js';

/** Options of one {@link WorkerPool.run} call. */
export interface RunOptions {
  /** Buffers inside the request to move to the worker instead of copying (they are detached here afterwards). */
  transfer?: TransferListItem[];
}

/** Counters of a {@link WorkerPool} since it was created. */
export interface WorkerPoolStats {
  /** Worker slots of the pool (its size). */
  workers: number;
  /** Workers set up and serving right now (below `workers` while a replacement starts). */
  alive: number;
  /** Workers holding at least one request right now. */
  busy: number;
  /** Requests waiting for a free worker. */
  queued: number;
  /** Requests answered with a result. */
  completed: number;
  /** Requests whose handler threw (or whose request or result could not be sent between threads). */
  failed: number;
  /** Requests rejected `WORKER_CRASHED` because their worker died while holding them (running or next in line). */
  crashed: number;
  /** Replacement workers started after a crash. */
  restarts: number;
  /** Requests rejected `OVERLOADED` because `maxQueue` requests were already waiting. */
  rejectedOverload: number;
  /** Requests answered (with a result or a handler error) by each worker slot, by index. */
  perWorker: number[];
}

/** A pool of worker threads, each with its own TF.js engine, serving requests with one worker module. */
export interface WorkerPool<Req, Res> {
  /** Number of worker slots. */
  readonly size: number;
  /** The TF.js backend every worker runs. */
  readonly backend: BackendName;
  /**
   * Sends one request to the next free worker (FIFO when all are busy).
   *
   * @param request - structured-cloneable input for the worker handler
   * @param options - buffers to transfer instead of copy
   * @returns the handler's `result`
   * @throws {@link LeptonError} the handler's own code when it throws a `LeptonError` (else `WORKER_TASK_FAILED`),
   *   `WORKER_CRASHED` when the worker died holding the request, `OVERLOADED` when `maxQueue` requests are waiting,
   *   `INVALID_INPUT` when the request cannot be cloned, `POOL_CLOSED` after `close()`, `WORKER_SETUP_FAILED` when
   *   replacements for crashed workers cannot start any more
   */
  run(request: Req, options?: RunOptions): Promise<Res>;
  /** Counters since creation. */
  stats(): WorkerPoolStats;
  /** Stops accepting requests, finishes every accepted one, then terminates every worker. */
  close(): Promise<void>;
}
