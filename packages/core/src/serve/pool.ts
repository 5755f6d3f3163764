import { Worker, type TransferListItem } from 'node:worker_threads';
import { LeptonError } from '../errors/lepton-error.js';
import type { BackendName } from '../runtime/backends.js';
import { resolveWorkerPoolOptions, type ResolvedWorkerPoolOptions, type WorkerPoolOptions } from './pool-options.js';
import type { RunOptions, WorkerPool, WorkerPoolStats } from './pool-types.js';
import type { WorkerSetup } from './worker-module.js';
import { fromWire, type FromWorker, type ToWorker, type WorkerStart } from './worker-protocol.js';

export type { RunOptions, WorkerPool, WorkerPoolStats } from './pool-types.js';

interface Job {
  request: unknown;
  transfer: TransferListItem[] | undefined;
  resolve: (result: unknown) => void;
  reject: (err: unknown) => void;
}

interface Slot {
  index: number;
  worker: Worker;
  ready: boolean;
  /** Requests sent to this worker and not answered yet, by id (at most `pipeline`). */
  jobs: Map<number, Job>;
  lastError: Error | undefined;
  started: { resolve: () => void; reject: (err: LeptonError) => void };
}

/** A replacement that fails setup this many times in a row leaves its slot empty. */
const MAX_SETUP_RETRIES = 3;

class Pool<Req, Res> implements WorkerPool<Req, Res> {
  readonly size: number;
  readonly backend: BackendName;
  private readonly slots: Array<Slot | undefined>;
  private readonly queue: Job[] = [];
  private readonly idleWaiters: Array<() => void> = [];
  private nextId = 1;
  private live = false;
  private closing = false;
  private terminated = false;
  private closed: Promise<void> | undefined;
  private broken: LeptonError | undefined;
  private readonly setupFailures: number[];
  private readonly counters = { completed: 0, failed: 0, crashed: 0, restarts: 0, rejectedOverload: 0 };
  private readonly perWorker: number[];

  constructor(private readonly o: ResolvedWorkerPoolOptions) {
    this.size = o.workers;
    this.backend = o.backend;
    this.slots = new Array<Slot | undefined>(o.workers).fill(undefined);
    this.setupFailures = new Array<number>(o.workers).fill(0);
    this.perWorker = new Array<number>(o.workers).fill(0);
  }

  async start(): Promise<void> {
    const started = await Promise.allSettled(this.slots.map((_, i) => this.spawn(i)));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed !== undefined) {
      this.terminated = true;
      await Promise.all(this.slots.map((s) => s?.worker.terminate()));
      throw failed.reason;
    }
    this.live = true;
  }

  private spawn(index: number): Promise<void> {
    const o = this.o;
    const start: WorkerStart = { kind: 'lepton-worker-pool', module: o.module, init: o.init, backend: o.backend, index };
    let worker: Worker;
    try {
      worker = new Worker(o.workerEntry, {
        workerData: start,
        execArgv: o.execArgv,
        name: `${o.name}-${index}`,
        ...(o.resourceLimits === undefined ? {} : { resourceLimits: o.resourceLimits }),
      });
    } catch (err) {
      const error = new LeptonError('INVALID_ARGUMENT', `Could not start a worker of ${o.name}: ${(err as Error).message} (is \`init\` structured-cloneable?)`, { cause: err });
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      const slot: Slot = { index, worker, ready: false, jobs: new Map(), lastError: undefined, started: { resolve, reject } };
      this.slots[index] = slot;
      worker.on('message', (msg: FromWorker) => this.onMessage(slot, msg));
      worker.on('error', (err) => (slot.lastError = err));
      worker.on('exit', (code) => this.onExit(slot, code));
    });
  }

  private onMessage(slot: Slot, msg: FromWorker): void {
    switch (msg.type) {
      case 'ready':
        slot.ready = true;
        this.setupFailures[slot.index] = 0;
        slot.started.resolve();
        this.pump();
        return;
      case 'setup-error': {
        const cause = fromWire(msg.error, slot.index);
        slot.started.reject(
          new LeptonError('WORKER_SETUP_FAILED', `Worker ${slot.index} of ${this.o.name} failed to set up: ${msg.error.message}`, {
            cause,
            details: { worker: slot.index, workerCode: msg.error.code, module: this.o.module },
          }),
        );
        void slot.worker.terminate();
        return;
      }
      case 'result':
      case 'error': {
        const job = slot.jobs.get(msg.id);
        if (job === undefined) return;
        slot.jobs.delete(msg.id);
        this.perWorker[slot.index]!++;
        if (msg.type === 'result') {
          this.counters.completed++;
          job.resolve(msg.result);
        } else {
          this.counters.failed++;
          job.reject(fromWire(msg.error, slot.index));
        }
        this.pump();
      }
    }
  }

  private onExit(slot: Slot, code: number): void {
    if (this.slots[slot.index] === slot) this.slots[slot.index] = undefined;
    const reason = slot.lastError === undefined ? '' : `: ${slot.lastError.message}`;
    if (!slot.ready) {
      // Rejecting twice is harmless: a setup-error message already settled it.
      slot.started.reject(
        new LeptonError('WORKER_SETUP_FAILED', `Worker ${slot.index} of ${this.o.name} exited (code ${code}) before it was set up${reason}.`, {
          cause: slot.lastError,
          details: { worker: slot.index, exitCode: code, module: this.o.module },
        }),
      );
    }
    const held = [...slot.jobs.values()];
    slot.jobs.clear();
    this.counters.crashed += held.length;
    for (const job of held) {
      job.reject(
        new LeptonError('WORKER_CRASHED', `Worker ${slot.index} of ${this.o.name} stopped (exit code ${code}${reason}) while serving this request; a replacement is started, so the request may be retried.`, {
          cause: slot.lastError,
          details: { worker: slot.index, exitCode: code },
        }),
      );
    }
    if (this.terminated || !this.live || !slot.ready) {
      this.checkIdle();
      return;
    }
    // A crash after setup: replace the worker unless the pool is closing with nothing left to do.
    if (this.closing && this.queue.length === 0) {
      this.checkIdle();
      return;
    }
    this.counters.restarts++;
    this.respawn(slot.index);
  }

  private respawn(index: number): void {
    this.spawn(index).then(
      () => this.pump(),
      (err: LeptonError) => {
        if (this.terminated) return;
        const failures = ++this.setupFailures[index]!;
        if (failures < MAX_SETUP_RETRIES) {
          setTimeout(() => !this.terminated && this.respawn(index), 100 * failures);
        } else if (this.slots.every((s) => s === undefined)) {
          // No worker left and none can start: fail what waits and what comes, rather than hang.
          this.broken = err;
          for (const job of this.queue.splice(0)) job.reject(err);
          this.checkIdle();
        }
      },
    );
  }

  /**
   * Sends waiting requests: first to idle workers, then (up to `pipeline` each) to busy ones, so that a worker finds its
   * next request already in its inbox when it answers one, instead of idling until this thread, which competes for the
   * same cores, gets around to reading the answer.
   */
  private pump(): void {
    for (let depth = 1; depth <= this.o.pipeline && this.queue.length > 0; depth++) {
      for (const slot of this.slots) {
        if (this.queue.length === 0) break;
        if (slot === undefined || !slot.ready || slot.jobs.size >= depth) continue;
        this.send(slot, this.queue.shift()!);
      }
    }
    // An idle worker must not keep the process alive (like an idle in-process predictor); a busy one must.
    for (const slot of this.slots) if (slot?.ready && slot.jobs.size === 0) slot.worker.unref();
    this.checkIdle();
  }

  private send(slot: Slot, job: Job): void {
    const id = this.nextId++;
    slot.jobs.set(id, job);
    slot.worker.ref();
    try {
      slot.worker.postMessage({ type: 'request', id, request: job.request } satisfies ToWorker, job.transfer);
    } catch (err) {
      slot.jobs.delete(id);
      this.counters.failed++;
      job.reject(new LeptonError('INVALID_INPUT', `The request could not be sent to a worker: ${(err as Error).message}; send structured-cloneable data.`, { cause: err }));
    }
  }

  private checkIdle(): void {
    if (this.queue.length > 0 || this.slots.some((s) => s !== undefined && s.jobs.size > 0)) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  run(request: Req, options: RunOptions = {}): Promise<Res> {
    if (this.closing) return Promise.reject(new LeptonError('POOL_CLOSED', `The worker pool ${this.o.name} is closed; create a new one.`));
    if (this.broken !== undefined) return Promise.reject(this.broken);
    if (this.queue.length >= this.o.maxQueue) {
      this.counters.rejectedOverload++;
      return Promise.reject(
        new LeptonError('OVERLOADED', `The worker pool queue is full (${this.o.maxQueue} waiting); retry later or raise maxQueue.`, {
          details: { maxQueue: this.o.maxQueue },
        }),
      );
    }
    return new Promise<Res>((resolve, reject) => {
      this.queue.push({ request, transfer: options.transfer, resolve: resolve as (r: unknown) => void, reject });
      this.pump();
    });
  }

  stats(): WorkerPoolStats {
    const slots = this.slots.filter((s): s is Slot => s !== undefined);
    return {
      workers: this.size,
      alive: slots.filter((s) => s.ready).length,
      busy: slots.filter((s) => s.jobs.size > 0).length,
      queued: this.queue.length,
      ...this.counters,
      perWorker: [...this.perWorker],
    };
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      await new Promise<void>((resolve) => {
        this.idleWaiters.push(resolve);
        this.checkIdle();
      });
      this.terminated = true;
      await Promise.all(this.slots.map((s) => s?.worker.terminate()));
      this.slots.fill(undefined);
    })();
    return this.closed;
  }
}

/**
 * Starts a pool of `worker_threads` workers, each with its own TF.js engine on one backend, all running one worker
 * module. TF.js's threaded wasm build does not run in Node.js, so one engine computes on one core: a pool is how a
 * process puts every core to work.
 *
 * Each worker initialises the runtime (`backend`, default the main thread's), imports `module`, calls its setup
 * (`default` or `setup` export, see {@link WorkerSetup}) once with `init`, then serves requests one at a time.
 * `run()` sends a request to a free worker, or queues it (FIFO, at most `maxQueue`). A handler that throws fails only
 * its request; a worker that dies (uncaught exception, `process.exit`, out of memory) fails the request it held with
 * `WORKER_CRASHED` and is replaced. `close()` drains accepted requests, then terminates every worker. Idle workers do
 * not keep the process alive.
 *
 * A package that ships its own worker module compiles it next to the code that starts the pool and passes
 * `new URL('./my-worker.js', import.meta.url)`; in an esbuild bundle, bundle core's `dist/serve/worker-entry.js` and
 * the worker modules as extra entry points with code splitting (one shared copy of TF.js per worker), written next
 * to the bundled app.
 *
 * @param options - the worker module, its `init` data, the worker count and limits
 * @returns a pool whose workers are all set up
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for bad options or a module file that does not exist,
 *   `WORKER_SETUP_FAILED` when a worker cannot initialise its runtime, import the module or run its setup (the
 *   worker's own error, code in `details.workerCode`, is the `cause`)
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * import { createWorkerPool, initRuntime } from '@lepton/core';
 * await initRuntime({ backend: 'cpu' });
 * const file = join(tmpdir(), 'double-worker.mjs');
 * writeFileSync(file, 'export default (init) => (x) => ({ result: x * init.factor });');
 * const pool = await createWorkerPool<{ factor: number }, number, number>({ module: file, init: { factor: 2 }, workers: 2 });
 * console.log(await Promise.all([pool.run(1), pool.run(2)])); // [2, 4]
 * await pool.close();
 * ```
 */
export async function createWorkerPool<Init = unknown, Req = unknown, Res = unknown>(options: WorkerPoolOptions<Init>): Promise<WorkerPool<Req, Res>> {
  const resolved = await resolveWorkerPoolOptions(options);
  const pool = new Pool<Req, Res>(resolved as ResolvedWorkerPoolOptions);
  await pool.start();
  return pool;
}
