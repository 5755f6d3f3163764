import { Worker, type TransferListItem } from 'node:worker_threads';
import { describeValue, messageOf } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import type { BackendName } from '../runtime/backends.js';
import { checkTimeout, resolveWorkerPoolOptions, type ResolvedWorkerPoolOptions, type WorkerPoolOptions } from './pool-options.js';
import type { RunOptions, WorkerPool, WorkerPoolStats } from './pool-types.js';
import type { WorkerSetup } from './worker-module.js';
import { fromWire, type FromWorker, type ToWorker, type WorkerStart } from './worker-protocol.js';

export type { RunOptions, WorkerPool, WorkerPoolStats } from './pool-types.js';

interface Job {
  /** The caller's request while it is sent at once, else the pool's own copy (see `run`). */
  request: unknown;
  transfer: TransferListItem[] | undefined;
  /** Longest the job may run on its worker, if limited. */
  timeoutMs: number | undefined;
  /** Armed while the job runs (it is the first its worker holds). */
  timer: NodeJS.Timeout | undefined;
  /** Its buffers were moved to a worker: it cannot be sent again. */
  consumed: boolean;
  resolve: (result: unknown) => void;
  reject: (err: unknown) => void;
}

interface Slot {
  index: number;
  worker: Worker;
  ready: boolean;
  /** Terminated by the pool (a request ran past its timeout): takes no more requests, is replaced when it exits. */
  retiring: boolean;
  /**
   * Requests sent to this worker and not answered yet, by id, in the order sent (at most `pipeline`). The worker
   * serves its inbox strictly in turn (worker-entry.ts), so the first one is the one it runs; the others wait.
   */
  jobs: Map<number, Job>;
  lastError: Error | undefined;
  started: { resolve: () => void; reject: (err: LeptonError) => void };
  setupTimer: NodeJS.Timeout | undefined;
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
  /** Slots whose replacement is starting or waiting to retry. */
  private readonly recovering = new Set<number>();
  /** Slots whose worker set up, then died while others were still setting up: replaced once the pool is live. */
  private readonly diedDuringStart: number[] = [];
  private readonly counters = { completed: 0, failed: 0, crashed: 0, timedOut: 0, restarts: 0, rejectedOverload: 0, rejectedClosed: 0, rejectedInvalid: 0 };
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
    // A worker that set up and then died while a slower one was still setting up: replace it now (it was dropped).
    for (const index of this.diedDuringStart.splice(0)) {
      this.counters.restarts++;
      this.respawn(index);
    }
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
      const error = new LeptonError('INVALID_ARGUMENT', `Could not start a worker of ${o.name}: ${messageOf(err)} (is \`init\` structured-cloneable?)`, { cause: err });
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      const slot: Slot = { index, worker, ready: false, retiring: false, jobs: new Map(), lastError: undefined, started: { resolve, reject }, setupTimer: undefined };
      this.slots[index] = slot;
      slot.setupTimer = setTimeout(() => {
        if (slot.ready || this.slots[index] !== slot) return;
        this.drop(slot);
        slot.started.reject(
          new LeptonError('WORKER_SETUP_FAILED', `Worker ${index} of ${o.name} did not set up within ${o.setupTimeoutMs} ms (setupTimeoutMs); it was terminated.`, {
            details: { worker: index, setupTimeoutMs: o.setupTimeoutMs, module: o.module },
          }),
        );
        void worker.terminate();
      }, o.setupTimeoutMs);
      // The worker keeps the process alive while it sets up; this timer need not.
      slot.setupTimer.unref();
      worker.on('message', (msg: FromWorker) => this.onMessage(slot, msg));
      worker.on('error', (err) => (slot.lastError = err));
      worker.on('exit', (code) => this.onExit(slot, code));
    });
  }

  /** Empties the slot's place if it still holds it: the slot no longer counts as a worker ready or starting. */
  private drop(slot: Slot): void {
    clearTimeout(slot.setupTimer);
    if (this.slots[slot.index] === slot) this.slots[slot.index] = undefined;
  }

  private onMessage(slot: Slot, msg: FromWorker): void {
    switch (msg.type) {
      case 'ready':
        // A worker that answers after its setup timed out is being terminated: ignore it.
        if (this.slots[slot.index] !== slot) return;
        clearTimeout(slot.setupTimer);
        slot.ready = true;
        this.setupFailures[slot.index] = 0;
        slot.started.resolve();
        this.pump();
        return;
      case 'setup-error': {
        const cause = fromWire(msg.error, slot.index);
        // Gone now, before anything reads the slots: respawn() decides from them whether any worker is left.
        this.drop(slot);
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
        clearTimeout(job.timer);
        this.perWorker[slot.index]!++;
        if (msg.type === 'result') {
          this.counters.completed++;
          job.resolve(msg.result);
        } else {
          this.counters.failed++;
          job.reject(fromWire(msg.error, slot.index));
        }
        // The next request in this worker's inbox starts now: its timeout runs from here.
        this.armRunning(slot);
        this.pump();
      }
    }
  }

  /** Starts the timeout of the request the worker runs now (the first it holds), if it has one and it is not armed. */
  private armRunning(slot: Slot): void {
    const first = slot.jobs.entries().next();
    if (first.done === true) return;
    const [id, job] = first.value;
    if (job.timeoutMs === undefined || job.timer !== undefined) return;
    job.timer = setTimeout(() => this.onTimeout(slot, id, job), job.timeoutMs);
    // A busy worker keeps the process alive; the timer need not.
    job.timer.unref();
  }

  private onTimeout(slot: Slot, id: number, job: Job): void {
    if (slot.jobs.get(id) !== job) return;
    slot.jobs.delete(id);
    this.counters.timedOut++;
    job.reject(
      new LeptonError(
        'WORKER_TIMEOUT',
        `A request to worker ${slot.index} of ${this.o.name} ran past its ${job.timeoutMs} ms timeout; the worker, which cannot be interrupted, is terminated and replaced.`,
        { details: { worker: slot.index, timeoutMs: job.timeoutMs } },
      ),
    );
    // It takes nothing more; what waits in its inbox goes back to the queue; onExit replaces it.
    slot.retiring = true;
    this.requeue([...slot.jobs.values()]);
    slot.jobs.clear();
    void slot.worker.terminate();
    this.pump();
  }

  /**
   * Puts requests a worker held but had not started back at the head of the queue, in order. One whose buffers were
   * moved to that worker cannot be sent again: it fails as the worker's running request does.
   */
  private requeue(jobs: Job[], lost?: (job: Job) => void): void {
    const again: Job[] = [];
    for (const job of jobs) {
      clearTimeout(job.timer);
      job.timer = undefined;
      if (job.consumed) {
        if (lost !== undefined) lost(job);
        else {
          this.counters.crashed++;
          job.reject(new LeptonError('WORKER_CRASHED', `Worker of ${this.o.name} was replaced while holding this request, whose buffers it had taken; the request may be retried.`));
        }
      } else again.push(job);
    }
    this.queue.unshift(...again);
  }

  private onExit(slot: Slot, code: number): void {
    this.drop(slot);
    const reason = slot.lastError === undefined ? '' : `: ${slot.lastError.message}`;
    if (!slot.ready) {
      // Rejecting twice is harmless: a setup-error message or the setup timeout already settled it.
      slot.started.reject(
        new LeptonError('WORKER_SETUP_FAILED', `Worker ${slot.index} of ${this.o.name} exited (code ${code}) before it was set up${reason}.`, {
          cause: slot.lastError,
          details: { worker: slot.index, exitCode: code, module: this.o.module },
        }),
      );
    }
    const crashed = (job: Job): void => {
      clearTimeout(job.timer);
      this.counters.crashed++;
      job.reject(
        new LeptonError('WORKER_CRASHED', `Worker ${slot.index} of ${this.o.name} stopped (exit code ${code}${reason}) while serving this request; a replacement is started, so the request may be retried.`, {
          cause: slot.lastError,
          details: { worker: slot.index, exitCode: code },
        }),
      );
    };
    // Only the request the worker was running fails; the ones next in its inbox had not started and are sent again.
    const [running, ...waiting] = [...slot.jobs.values()];
    slot.jobs.clear();
    if (running !== undefined) crashed(running);
    this.requeue(waiting, crashed);
    if (this.terminated || !slot.ready) {
      this.checkIdle();
      return;
    }
    if (!this.live) {
      this.diedDuringStart.push(slot.index);
      return;
    }
    // A crash (or a timeout) after setup: replace the worker unless the pool is closing with nothing left to do.
    if (this.closing && this.queue.length === 0) {
      this.checkIdle();
      return;
    }
    this.counters.restarts++;
    this.respawn(slot.index);
    this.pump();
  }

  private respawn(index: number): void {
    this.recovering.add(index);
    this.spawn(index).then(
      () => {
        this.recovering.delete(index);
        this.pump();
      },
      (err: LeptonError) => {
        if (this.terminated) return;
        const failures = ++this.setupFailures[index]!;
        if (failures < MAX_SETUP_RETRIES) {
          setTimeout(() => !this.terminated && this.respawn(index), 100 * failures);
          return;
        }
        this.recovering.delete(index);
        // No worker left (none ready, starting or about to retry) and none can start: fail what waits and what comes,
        // rather than hang (close() then resolves at once).
        if (this.slots.every((s) => s === undefined) && this.recovering.size === 0) {
          this.broken = err;
          const waiting = this.queue.splice(0);
          this.counters.failed += waiting.length;
          for (const job of waiting) job.reject(err);
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
        if (slot === undefined || !slot.ready || slot.retiring || slot.jobs.size >= depth) continue;
        this.send(slot, this.queue.shift()!);
      }
    }
    // An idle worker must not keep the process alive (like an idle in-process predictor); a busy one must.
    for (const slot of this.slots) if (slot?.ready && slot.jobs.size === 0) slot.worker.unref();
    this.checkIdle();
  }

  private send(slot: Slot, job: Job): void {
    const id = this.nextId++;
    const runsNow = slot.jobs.size === 0;
    slot.jobs.set(id, job);
    slot.worker.ref();
    const message = { type: 'request', id, request: job.request } satisfies ToWorker;
    try {
      if (runsNow) {
        slot.worker.postMessage(message, job.transfer);
        job.consumed = (job.transfer?.length ?? 0) > 0;
      } else {
        // Next in the worker's inbox: copied, not moved, so that it can be sent again if the worker dies before it.
        try {
          slot.worker.postMessage(message);
        } catch {
          // Something in it can only be transferred (a MessagePort): move it, and lose the retry.
          slot.worker.postMessage(message, job.transfer);
          job.consumed = (job.transfer?.length ?? 0) > 0;
        }
      }
    } catch (err) {
      slot.jobs.delete(id);
      this.counters.failed++;
      job.reject(new LeptonError('INVALID_INPUT', `The request could not be sent to a worker: ${messageOf(err)}; send structured-cloneable data.`, { cause: err }));
      return;
    }
    if (runsNow) this.armRunning(slot);
  }

  private checkIdle(): void {
    if (this.queue.length > 0 || this.slots.some((s) => s !== undefined && s.jobs.size > 0)) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  run(request: Req, options?: RunOptions): Promise<Res> {
    if (this.closing) {
      this.counters.rejectedClosed++;
      return Promise.reject(new LeptonError('POOL_CLOSED', `The worker pool ${this.o.name} is closed; create a new one.`));
    }
    if (this.broken !== undefined) {
      this.counters.failed++;
      return Promise.reject(this.broken);
    }
    let transfer: TransferListItem[] | undefined;
    let timeoutMs: number | undefined;
    try {
      if (options !== undefined) {
        if (options === null || typeof options !== 'object') throw new LeptonError('INVALID_ARGUMENT', `run: options must be an object, got ${describeValue(options)}.`);
        const t: unknown = options.transfer;
        if (t !== undefined && !Array.isArray(t)) throw new LeptonError('INVALID_ARGUMENT', `run: options.transfer must be an array of transferable objects, got ${describeValue(t)}.`);
        transfer = t === undefined ? undefined : [...(t as TransferListItem[])];
        timeoutMs = checkTimeout(options.timeoutMs, 'run: options.timeoutMs');
      }
    } catch (err) {
      this.counters.rejectedInvalid++;
      return Promise.reject(err instanceof LeptonError ? err : new LeptonError('INVALID_ARGUMENT', `run: the options could not be read: ${messageOf(err)}`, { cause: err }));
    }
    if (this.queue.length >= this.o.maxQueue) {
      this.counters.rejectedOverload++;
      return Promise.reject(
        new LeptonError('OVERLOADED', `The worker pool queue is full (${this.o.maxQueue} waiting); retry later or raise maxQueue.`, {
          details: { maxQueue: this.o.maxQueue },
        }),
      );
    }
    const job: Job = { request, transfer, timeoutMs: timeoutMs ?? this.o.taskTimeoutMs, timer: undefined, consumed: false, resolve: () => undefined, reject: () => undefined };
    // Sent at once (copied, or its buffers moved, by postMessage) when a worker is idle and nothing waits before it.
    // Otherwise the pool takes it over now: a copy, with the transfer buffers moved into it (detached for the caller),
    // so that what the caller writes after run() returns never reaches the request.
    const sentNow = this.queue.length === 0 && this.slots.some((s) => s !== undefined && s.ready && !s.retiring && s.jobs.size === 0);
    if (!sentNow) {
      try {
        const owned = structuredClone({ request, transfer: transfer ?? [] }, { transfer: transfer ?? [] });
        job.request = owned.request;
        job.transfer = owned.transfer;
      } catch (err) {
        this.counters.failed++;
        return Promise.reject(new LeptonError('INVALID_INPUT', `The request could not be copied for a worker: ${messageOf(err)}; send structured-cloneable data.`, { cause: err }));
      }
    }
    return new Promise<Res>((resolve, reject) => {
      job.resolve = resolve as (r: unknown) => void;
      job.reject = reject;
      this.queue.push(job);
      this.pump();
    });
  }

  stats(): WorkerPoolStats {
    const slots = this.slots.filter((s): s is Slot => s !== undefined);
    return {
      workers: this.size,
      alive: slots.filter((s) => s.ready && !s.retiring).length,
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
 * its request; a worker that dies (uncaught exception, `process.exit`, out of memory) fails the request it was running
 * with `WORKER_CRASHED` and is replaced, and the requests next in its inbox, which had not started, are sent again. A
 * request that runs past `taskTimeoutMs` (or its own `timeoutMs`; no limit by default) fails with `WORKER_TIMEOUT`, and
 * its worker is terminated and replaced the same way. A worker that does not set up within `setupTimeoutMs` (120 s by
 * default) fails the start with `WORKER_SETUP_FAILED`; when replacements cannot set up either and no worker is left,
 * waiting and later requests fail with `WORKER_SETUP_FAILED` rather than hang. `close()` drains accepted requests,
 * then terminates every worker. Idle workers do not keep the process alive.
 *
 * A package that ships its own worker module compiles it next to the code that starts the pool and passes
 * `new URL('./my-worker.js', import.meta.url)`; in an esbuild bundle, bundle core's `dist/serve/worker-entry.js` and
 * the worker modules as extra entry points with code splitting (one shared copy of TF.js per worker), written next
 * to the bundled app.
 *
 * @param options - the worker module, its `init` data, the worker count and limits
 * @returns a pool whose workers are all set up
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for bad options (among them `workers` above 256) or a module file
 *   that does not exist, `WORKER_SETUP_FAILED` when a worker cannot initialise its runtime, import the module or run
 *   its setup (the worker's own error, code in `details.workerCode`, is the `cause`), or does not within
 *   `setupTimeoutMs`
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
