/**
 * Every error code `@lepton/core` itself raises, at run time (for JavaScript callers, log pipelines and dashboards
 * that cannot see TypeScript types). {@link CoreErrorCode} documents each one. A code never changes meaning once
 * released; `tests/error-codes.test.ts` fails when the source throws a code missing here, or when a code listed here
 * is no longer used anywhere.
 */
export const CORE_ERROR_CODES = [
  'BACKEND_UNAVAILABLE',
  'KERNEL_UNAVAILABLE',
  'GPU_ERROR',
  'RUNTIME_NOT_INITIALISED',
  'INVALID_ARGUMENT',
  'INVALID_INPUT',
  'SHAPE_MISMATCH',
  'INVALID_MODEL',
  'TRAINING_FAILED',
  'PROGRESS_LISTENER_FAILED',
  'BUNDLE_NOT_FOUND',
  'BUNDLE_FILE_MISSING',
  'BUNDLE_INTEGRITY',
  'BUNDLE_INVALID',
  'BUNDLE_INCOMPATIBLE',
  'BUNDLE_UNSIGNED',
  'BUNDLE_SIGNATURE_INVALID',
  'OVERLOADED',
  'PREDICTOR_CLOSED',
  'POOL_CLOSED',
  'WORKER_CRASHED',
  'WORKER_SETUP_FAILED',
  'WORKER_TASK_FAILED',
  'WORKER_TIMEOUT',
  'EXPLAIN_UNSUPPORTED',
  'FUSION_MISSING_SCORE',
  'READ_FAILED',
  'SINGULAR_MATRIX',
] as const;

/**
 * A code raised by `@lepton/core` (one of {@link CORE_ERROR_CODES}). The verticals raise these too, for the same
 * meaning (`INVALID_ARGUMENT` is a bad argument in every package).
 *
 * Runtime:
 * - `BACKEND_UNAVAILABLE` — no backend could start (the one asked for, or none at all); `details.attempts` says why
 *   each was skipped and the message names the package to install.
 * - `KERNEL_UNAVAILABLE` — the active backend lacks a kernel the model needs, and no other usable backend has it (or
 *   fallback was off); `details.missing` lists the kernels.
 * - `GPU_ERROR` — the WebGPU device refused work or ran out of memory inside {@link gpuErrorScope} (e.g. a buffer larger
 *   than `maxStorageBufferBindingSize`); the results, which would read back as zeros, are not returned.
 * - `RUNTIME_NOT_INITIALISED` — `runtimeInfo()` before `initRuntime()`, or after TensorFlow.js was switched outside
 *   Lepton to a backend Lepton does not run on.
 *
 * Arguments and data:
 * - `INVALID_ARGUMENT` — an option or argument of the wrong type or out of range (the message names it and the range).
 * - `INVALID_INPUT` — data that cannot be used: empty, malformed, non-finite, or of the wrong kind.
 * - `SHAPE_MISMATCH` — tensor or array shapes that do not fit the model or each other.
 *
 * Models and training:
 * - `INVALID_MODEL` — a model this call does not support (several inputs for a single-input predictor, a free
 *   dimension besides the batch, no layer to explain).
 * - `TRAINING_FAILED` — training could not go on (the loss became NaN or infinite, a solver did not converge).
 * - `PROGRESS_LISTENER_FAILED` — an `onProgress` listener threw; training stopped, its error is the `cause`.
 *
 * Model bundles:
 * - `BUNDLE_NOT_FOUND` — no `lepton.json` at the given directory.
 * - `BUNDLE_FILE_MISSING` — a file the manifest lists is not in the bundle.
 * - `BUNDLE_INTEGRITY` — a file's size or SHA-256 differs from the manifest (a changed or damaged file).
 * - `BUNDLE_INVALID` — `lepton.json` is not valid JSON or not a valid manifest.
 * - `BUNDLE_INCOMPATIBLE` — the bundle is valid but not what the loader expects (another task, input shapes that do
 *   not match the model).
 * - `BUNDLE_UNSIGNED` — a signature was required and the bundle has none.
 * - `BUNDLE_SIGNATURE_INVALID` — the signature does not verify with the given public key.
 *
 * Serving and workers:
 * - `OVERLOADED` — the predictor's or pool's queue is full (`maxQueue`); retry later.
 * - `PREDICTOR_CLOSED` — a request to a predictor after `close()`.
 * - `POOL_CLOSED` — a request to a worker pool after `close()`.
 * - `WORKER_CRASHED` — the worker thread died while running the request (it is replaced; requests it held but had not
 *   started are sent again).
 * - `WORKER_SETUP_FAILED` — a worker could not set up its module, or not within `setupTimeoutMs` (the pool does not
 *   start), or no worker is left because replacements cannot set up (later requests fail with it too).
 * - `WORKER_TASK_FAILED` — the worker's handler threw something that is not a `LeptonError`.
 * - `WORKER_TIMEOUT` — the request ran on its worker past its timeout (`taskTimeoutMs` or `timeoutMs`); the worker,
 *   which cannot be interrupted, was terminated and replaced.
 *
 * Explanations, fusion, input, numerics:
 * - `EXPLAIN_UNSUPPORTED` — the explanation method cannot run on this model (e.g. Grad-CAM without a conv layer).
 * - `FUSION_MISSING_SCORE` — late fusion with `missing: 'error'` was given a sample without one modality's score.
 * - `READ_FAILED` — a file or stream could not be read (readers let the caller choose a more specific code).
 * - `SINGULAR_MATRIX` — a linear system or matrix inverse has no (numerically stable) solution.
 */
export type CoreErrorCode = (typeof CORE_ERROR_CODES)[number];

/**
 * The error codes of every Lepton package in the program, by package. `@lepton/core` declares `core`; each other
 * package adds its own entry by declaration merging when it is imported (`@lepton/medical` adds
 * `medical: MedicalErrorCode`), so {@link LeptonErrorCode} — the union of the entries — holds the codes of exactly the
 * packages an application uses, with no package importing another's code list (core imports no vertical).
 *
 * An application that throws `LeptonError`s with codes of its own (or passes one as a reader's `readErrorCode`) adds
 * an entry the same way:
 *
 * @example
 * ```ts
 * import { LeptonError } from '@lepton/core';
 * declare module '@lepton/core' {
 *   interface LeptonErrorCodes {
 *     myApp: 'ORDERS_READ_FAILED' | 'ORDER_REJECTED';
 *   }
 * }
 * const err = new LeptonError('ORDER_REJECTED', 'The order was refused; see details.reason.');
 * console.log(err.code); // 'ORDER_REJECTED'
 * ```
 */
export interface LeptonErrorCodes {
  /** Codes raised by `@lepton/core` ({@link CORE_ERROR_CODES}). */
  core: CoreErrorCode;
}

/**
 * Stable error codes of every Lepton package: the one union of all packages' codes ({@link @lepton/core!LeptonErrorCodes}), the
 * type of `LeptonError.code`. Within a program that imports `@lepton/medical` it includes `MedicalErrorCode`, and so on
 * for each package; applications branch on it (`if (err.code === 'OVERLOADED') retryLater()`) and TypeScript rejects a
 * misspelt code. Each package documents its codes where it lists them: {@link CoreErrorCode} here, `MedicalErrorCode`,
 * `FinanceErrorCode`, `ManufacturingErrorCode`, `SurveillanceErrorCode`, `FederatedErrorCode`, `CliErrorCode` in theirs.
 */
export type LeptonErrorCode = LeptonErrorCodes[keyof LeptonErrorCodes];
