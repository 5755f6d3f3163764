/**
 * The messages between a {@link createWorkerPool} pool (main thread) and its workers (`worker-entry.ts`), and how an
 * error crosses the thread boundary. Internal: not exported from the package.
 */
import type { LeptonErrorCode } from '../errors/codes.js';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import type { BackendName } from '../runtime/backends.js';

/** `workerData` of every pool worker. @internal */
export interface WorkerStart {
  kind: 'lepton-worker-pool';
  /** URL (href) of the worker module. */
  module: string;
  init: unknown;
  backend: BackendName;
  index: number;
}

/** An error as it crosses threads: enough to re-create a `LeptonError` with the same code on the other side. @internal */
export interface WireError {
  code: string;
  message: string;
  name: string;
  stack?: string;
  details?: Record<string, unknown>;
}

/** Main thread → worker. @internal */
export type ToWorker = { type: 'request'; id: number; request: unknown };

/** Worker → main thread. @internal */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'setup-error'; error: WireError }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; error: WireError };

/** Details that survive structured cloning; anything else is dropped rather than failing the reply. */
function cloneableDetails(details: unknown): Record<string, unknown> | undefined {
  if (details === null || typeof details !== 'object') return undefined;
  try {
    return structuredClone(details) as Record<string, unknown>;
  } catch {
    try {
      return JSON.parse(JSON.stringify(details)) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }
}

/**
 * Flattens a thrown value for `postMessage`. A `LeptonError` (recognised by name and code, so a second copy of the
 * class in a bundle still counts) keeps its code; anything else becomes `fallbackCode`. @internal
 */
export function toWire(err: unknown, fallbackCode: LeptonErrorCode): WireError {
  // A thrown value's properties may be getters that throw: read each one on its own, so that the error still crosses
  // (a throw here used to escape serve() and crash the worker, failing its other requests with WORKER_CRASHED).
  const read = (get: () => unknown): unknown => {
    try {
      return get();
    } catch {
      return undefined;
    }
  };
  let isError = false;
  try {
    isError = err instanceof Error;
  } catch {
    // a revoked Proxy
  }
  if (isError) {
    const e = err as Error & { code?: unknown; details?: unknown };
    const code = read(() => e.code);
    const name = read(() => e.name);
    const message = read(() => e.message);
    const stack = read(() => e.stack);
    const lepton = name === 'LeptonError' && typeof code === 'string';
    const wire: WireError = {
      code: lepton ? code : fallbackCode,
      message: typeof message === 'string' ? message : `an error whose message cannot be read (${safeDescribe(err)})`,
      name: typeof name === 'string' ? name : 'Error',
    };
    if (typeof stack === 'string') wire.stack = stack;
    const details = lepton ? cloneableDetails(read(() => e.details)) : undefined;
    if (details !== undefined) wire.details = details;
    return wire;
  }
  // A worker module may throw anything: String() of an object without a callable toString would throw here.
  return { code: fallbackCode, message: typeof err === 'string' ? err : `a non-Error value was thrown: ${safeDescribe(err)}`, name: 'Error' };
}

function safeDescribe(value: unknown): string {
  try {
    return describeValue(value, 200);
  } catch {
    return 'a value that cannot be described';
  }
}

/**
 * Re-creates a worker's error as a `LeptonError` on the main thread: same code, message and details, plus the worker
 * index; the worker-side error (with its stack) is the `cause`. @internal
 */
export function fromWire(wire: WireError, worker: number, prefix = ''): LeptonError {
  const cause = new Error(wire.message);
  cause.name = wire.name;
  if (wire.stack !== undefined) cause.stack = wire.stack;
  // The code is a LeptonError's own (toWire keeps only those) or the pool's fallback, raised by the worker module the
  // application gave the pool, so it belongs to a package (or application) of this program: no narrower check exists.
  return new LeptonError(wire.code as LeptonErrorCode, `${prefix}${wire.message}`, { cause, details: { ...wire.details, worker } });
}
