import type { TransferListItem } from 'node:worker_threads';
import type { BackendName } from '../runtime/backends.js';

/** Options of one {@link WorkerPool.run} call. */
export interface RunOptions {
  /**
   * Buffers inside the request to move to the worker instead of copying: they are detached by the time `run()`
   * returns, whether the request went to a worker at once or waits in the queue.
   */
  transfer?: TransferListItem[];
  /**
   * Longest this request may run on its worker, in milliseconds (1 to 2^31 − 1), overriding the pool's
   * `taskTimeoutMs`. Past it the request rejects with `WORKER_TIMEOUT` and its worker, which cannot be interrupted,
   * is terminated and replaced. Default: the pool's `taskTimeoutMs` (none unless set).
   */
  timeoutMs?: number;
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
  /**
   * Requests whose handler threw, whose request or result could not be sent between threads, or that failed with
   * `WORKER_SETUP_FAILED` because no worker could be started any more.
   */
  failed: number;
  /**
   * Requests rejected `WORKER_CRASHED` because their worker died while running them (requests next in its inbox are
   * not counted: they go back to the queue).
   */
  crashed: number;
  /** Requests rejected `WORKER_TIMEOUT` because they ran past their timeout (their worker was replaced). */
  timedOut: number;
  /** Replacement workers started after a crash or a timeout. */
  restarts: number;
  /** Requests rejected `OVERLOADED` because `maxQueue` requests were already waiting. */
  rejectedOverload: number;
  /** Requests rejected `POOL_CLOSED` because they came after `close()`. */
  rejectedClosed: number;
  /** Requests rejected at `run()` with `INVALID_ARGUMENT` (bad options) or `INVALID_INPUT` (a request that cannot be copied). */
  rejectedInvalid: number;
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
   * Sends one request to the next free worker (FIFO when all are busy). The pool takes the request over when `run()`
   * is called: it is copied (or its `transfer` buffers moved) before `run()` returns, so later writes by the caller
   * never reach it. Never throws: every failure is a rejection.
   *
   * @param request - structured-cloneable input for the worker handler
   * @param options - buffers to transfer instead of copy, a timeout
   * @returns the handler's `result`
   * @throws {@link LeptonError} the handler's own code when it throws a `LeptonError` (else `WORKER_TASK_FAILED`),
   *   `WORKER_CRASHED` when the worker died while running the request (requests it held but had not started are
   *   sent again, to another worker or its replacement), `WORKER_TIMEOUT` when it ran past its timeout,
   *   `OVERLOADED` when `maxQueue` requests are waiting, `INVALID_INPUT` when the request cannot be cloned,
   *   `INVALID_ARGUMENT` for options that are not an object of valid values, `POOL_CLOSED` after `close()`,
   *   `WORKER_SETUP_FAILED` when no worker is left and none can start any more
   */
  run(request: Req, options?: RunOptions): Promise<Res>;
  /** Counters since creation. */
  stats(): WorkerPoolStats;
  /** Stops accepting requests, finishes every accepted one, then terminates every worker. */
  close(): Promise<void>;
}
