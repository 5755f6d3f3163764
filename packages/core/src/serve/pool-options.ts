import { existsSync } from 'node:fs';
import { availableParallelism, freemem } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ResourceLimits } from 'node:worker_threads';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { registeredBackendLoaders, type BackendName } from '../runtime/backends.js';
import { ensureRuntime } from '../runtime/init.js';

/**
 * Memory one pool worker is assumed to need when `workers: 'auto'` sizes the pool: a Node.js worker thread with its
 * own V8 isolate and TF.js engine, the wasm backend's heap, one copy of a small model's weights and the activations of
 * a batch of 64 reference-CNN images (64×64×1). Measured: about 80 MiB resident per worker for that CNN on `wasm` (with
 * 1, 2 and 4 workers); 256 MiB leaves headroom. Pass `memoryPerWorkerBytes` for bigger models or batches.
 */
export const DEFAULT_MEMORY_PER_WORKER_BYTES = 256 * 1024 * 1024;

/** @internal Most workers one pool (or predictor, or model) takes: far above any core count, low enough that a typo (`1e6`) is refused, not obeyed. */
export const MAX_WORKERS = 256;

/** @internal Longest wait `setTimeout` honours (a longer one fires after 1 ms), so the longest timeout an option may ask for. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** @internal Default `setupTimeoutMs`: two minutes, generous for loading a large model on a busy host. */
export const DEFAULT_SETUP_TIMEOUT_MS = 120_000;

/** Options for {@link createWorkerPool}. Only `module` is required; defaults are filled by {@link resolveWorkerPoolOptions}. */
export interface WorkerPoolOptions<Init = unknown> {
  /**
   * The ES module every worker runs: a file URL (`new URL('./my-worker.js', import.meta.url)`), a `file:` URL string
   * or a file path (relative paths resolve against the current directory). Its default export (or named export
   * `setup`) is a {@link WorkerSetup}. Bare package specifiers are refused: they would resolve from `@lepton/core`'s
   * own location, not the caller's.
   */
  module: string | URL;
  /** Passed to every worker's setup. Must be structured-cloneable (copied once per worker). */
  init?: Init;
  /** Worker threads: a count from 1 to 256, or `'auto'` (see {@link resolveWorkerCount}). Default `'auto'`. */
  workers?: number | 'auto';
  /**
   * TF.js backend each worker initialises. Default: the main thread's active backend (initialising the runtime with
   * its defaults first if needed), so a pool computes exactly what the main thread would. `LEPTON_BACKEND` does not
   * redirect the workers.
   */
  backend?: BackendName;
  /** Most requests waiting for a worker; beyond it `run()` rejects with `OVERLOADED`. Default 1024. */
  maxQueue?: number;
  /**
   * Requests one worker may hold at once: the one it computes and the ones next in its inbox. `1` sends a worker its
   * next request only after its answer is read here; `2` (the default) sends it while the worker computes, so a worker
   * never idles waiting for this thread, which competes with the workers for the cores when there is one worker per
   * core (measured on 2 cores at batch 1: a median idle gap of 1.4 ms per 7–12 ms request without it). Idle workers
   * are always served first. When a worker crashes, only the request it was running fails with `WORKER_CRASHED`; the
   * ones next in its inbox had not started and go back to the head of the queue.
   */
  pipeline?: number;
  /**
   * Longest a request may run on its worker, in milliseconds (from when the worker starts it, not while it waits in the
   * queue or in the worker's inbox). A request past it rejects with `WORKER_TIMEOUT`; since a worker cannot be
   * interrupted, the worker is terminated and replaced, and the requests next in its inbox go back to the head of
   * the queue. Default: none (a request may run for ever). {@link RunOptions.timeoutMs} overrides it per request.
   */
  taskTimeoutMs?: number;
  /**
   * Longest a worker may take to set up (initialise its runtime, import the module, run its setup), in milliseconds;
   * past it the worker is terminated and the start fails with `WORKER_SETUP_FAILED` (a replacement worker counts as
   * one failed setup attempt). Default 120,000 (two minutes).
   */
  setupTimeoutMs?: number;
  /**
   * The worker entry file (core's `worker-entry.js`). Default: the `LEPTON_WORKER_ENTRY` environment variable, else
   * `worker-entry.js` next to the pool's own code, which is `dist/serve/` in the package and the bundle's directory
   * when core is bundled into one file (bundle the entry there too, as bench/gpu-bundle.sh does).
   */
  workerEntry?: string | URL;
  /** For `workers: 'auto'`: memory assumed per worker. Default {@link DEFAULT_MEMORY_PER_WORKER_BYTES}. */
  memoryPerWorkerBytes?: number;
  /** V8 heap limits per worker (`worker_threads` resourceLimits); a worker past them crashes and is replaced. */
  resourceLimits?: ResourceLimits;
  /** Node.js flags for the workers. Default `[]`: the main program's flags (e.g. a loader) are not inherited. */
  execArgv?: string[];
  /** Name shown in error messages and given to the threads. Default `'lepton-pool'`. */
  name?: string;
}

/** {@link WorkerPoolOptions} with every default filled in and checked. */
export interface ResolvedWorkerPoolOptions<Init = unknown> {
  /** URL (href) of the worker module, checked to exist when it is a file. */
  module: string;
  /** Data for every worker's setup. */
  init: Init | undefined;
  /** Worker count, `'auto'` resolved. */
  workers: number;
  /** TF.js backend of the workers. */
  backend: BackendName;
  /** Most requests waiting for a worker. */
  maxQueue: number;
  /** Requests one worker may hold at once. */
  pipeline: number;
  /** Longest a request may run on a worker (ms), or undefined for no limit. */
  taskTimeoutMs: number | undefined;
  /** Longest a worker may take to set up (ms). */
  setupTimeoutMs: number;
  /** The worker entry file, checked to exist. */
  workerEntry: URL;
  /** V8 heap limits per worker, if any. */
  resourceLimits: ResourceLimits | undefined;
  /** Node.js flags of the workers. */
  execArgv: string[];
  /** Name in error messages and thread names. */
  name: string;
}

/**
 * @internal A timeout option: undefined, or a number of milliseconds from 1 to 2^31 − 1 (`setTimeout`'s range).
 * @throws {@link LeptonError} `INVALID_ARGUMENT` otherwise, naming `name`
 */
export function checkTimeout(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !(value >= 1 && value <= MAX_TIMEOUT_MS)) {
    throw new LeptonError('INVALID_ARGUMENT', `${name} must be a number of milliseconds from 1 to ${MAX_TIMEOUT_MS}, got ${describeValue(value)}.`);
  }
  return value;
}

function positiveInt(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new LeptonError('INVALID_ARGUMENT', `${name} must be an integer ≥ 1, got ${describeValue(value)}.`);
  }
  return value;
}

/**
 * How many workers `workers` means: a number is checked and returned; `'auto'` is `os.availableParallelism()`
 * (one TF.js engine per core), capped so that `memoryPerWorkerBytes` per worker fits in the memory free now
 * (`os.freemem()`) and at 256, and at least 1.
 *
 * @param workers - a count from 1 to 256 or `'auto'`
 * @param memoryPerWorkerBytes - memory assumed per worker for `'auto'`
 * @returns the worker count
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for anything but an integer from 1 to 256 or `'auto'`
 * @example
 * ```ts
 * import { resolveWorkerCount } from '@lepton/core';
 * console.log(resolveWorkerCount('auto')); // e.g. 16 on a 16-core machine with ≥ 4 GiB free
 * ```
 */
export function resolveWorkerCount(workers: number | 'auto', memoryPerWorkerBytes = DEFAULT_MEMORY_PER_WORKER_BYTES): number {
  if (workers !== 'auto') {
    // 2 ** 32 failed with a raw RangeError (new Array), 1e6 would have started a million threads
    if (typeof workers !== 'number' || !Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) {
      throw new LeptonError('INVALID_ARGUMENT', `workers must be an integer from 1 to ${MAX_WORKERS} or 'auto', got ${describeValue(workers)}.`);
    }
    return workers;
  }
  if (typeof memoryPerWorkerBytes !== 'number' || !Number.isFinite(memoryPerWorkerBytes) || memoryPerWorkerBytes <= 0) {
    throw new LeptonError('INVALID_ARGUMENT', `memoryPerWorkerBytes must be a positive number, got ${describeValue(memoryPerWorkerBytes)}.`);
  }
  return Math.max(1, Math.min(MAX_WORKERS, availableParallelism(), Math.floor(freemem() / memoryPerWorkerBytes)));
}

/** @internal A file URL from a URL or a path; bare specifiers are refused (a worker would resolve them from core). */
export function toFileUrl(spec: string | URL, what: string): URL {
  if (spec instanceof URL) return spec;
  if (typeof spec !== 'string' || spec.length === 0) throw new LeptonError('INVALID_ARGUMENT', `${what} must be a file URL or a path.`);
  if (/^[a-z][a-z0-9+.-]*:/i.test(spec) && !/^[a-z]:[\\/]/i.test(spec)) return new URL(spec);
  if (isAbsolute(spec) || spec.startsWith('.')) return pathToFileURL(resolve(spec));
  throw new LeptonError(
    'INVALID_ARGUMENT',
    `${what} ${describeValue(spec, 200)} is a bare specifier, which a worker would resolve from @lepton/core's directory; pass a file URL such as new URL('./my-worker.js', import.meta.url).`,
  );
}

function mustExist(url: URL, what: string, hint: string): void {
  if (url.protocol === 'file:' && !existsSync(fileURLToPath(url))) {
    throw new LeptonError('INVALID_ARGUMENT', `${what} ${fileURLToPath(url)} does not exist; ${hint}`, { details: { path: fileURLToPath(url) } });
  }
}

/**
 * Fills defaults and validates pool options (resolving `backend` may initialise the main thread's runtime).
 *
 * @param options - the caller's options
 * @param env - environment to read `LEPTON_WORKER_ENTRY` from (injectable for tests)
 * @returns options with defaults filled
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for a missing module or entry file, a bad count or an unknown backend
 */
export async function resolveWorkerPoolOptions<Init>(
  options: WorkerPoolOptions<Init>,
  env: Record<string, string | undefined> = process.env,
): Promise<ResolvedWorkerPoolOptions<Init>> {
  if (options === null || typeof options !== 'object') throw new LeptonError('INVALID_ARGUMENT', 'createWorkerPool needs an options object with at least `module`.');
  const module = toFileUrl(options.module, 'The worker module');
  mustExist(module, 'The worker module', 'build it first, or pass the path of the compiled .js file.');
  const entrySpec = options.workerEntry ?? (env['LEPTON_WORKER_ENTRY']?.trim() || new URL('./worker-entry.js', import.meta.url));
  const workerEntry = toFileUrl(entrySpec, 'The worker entry');
  mustExist(
    workerEntry,
    'The worker entry',
    'when @lepton/core is bundled, bundle dist/serve/worker-entry.js next to the bundle (or set workerEntry / LEPTON_WORKER_ENTRY).',
  );
  const workers = resolveWorkerCount(options.workers ?? 'auto', options.memoryPerWorkerBytes);
  const maxQueue = positiveInt(options.maxQueue ?? 1024, 'maxQueue');
  const pipeline = positiveInt(options.pipeline ?? 2, 'pipeline');
  const taskTimeoutMs = checkTimeout(options.taskTimeoutMs, 'taskTimeoutMs');
  const setupTimeoutMs = checkTimeout(options.setupTimeoutMs, 'setupTimeoutMs') ?? DEFAULT_SETUP_TIMEOUT_MS;
  const backend = options.backend ?? (await ensureRuntime()).backend;
  if (!registeredBackendLoaders().includes(backend)) {
    throw new LeptonError('INVALID_ARGUMENT', `Unknown backend ${describeValue(backend, 50)} for the pool; registered: ${registeredBackendLoaders().join(', ')}.`);
  }
  return {
    module: module.href,
    init: options.init,
    workers,
    backend,
    maxQueue,
    pipeline,
    taskTimeoutMs,
    setupTimeoutMs,
    workerEntry,
    resourceLimits: options.resourceLimits,
    execArgv: options.execArgv ?? [],
    name: options.name ?? 'lepton-pool',
  };
}
