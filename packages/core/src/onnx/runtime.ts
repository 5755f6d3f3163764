/**
 * ONNX Runtime (the `onnxruntime-node` package, an optional peer dependency) behind a small typed session: loaded on
 * first use, never at import, so `@lepton/core` works without it. Its CPU kernels (MLAS) ship inside the npm package.
 */
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';

/** The slice of `onnxruntime-node` used here (its types are not part of this package's API: it is optional). */
interface OrtTensor {
  readonly data: unknown;
  readonly dims: readonly number[];
  readonly type: string;
}
interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>, options?: Record<string, unknown>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface OrtModule {
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
  InferenceSession: { create(model: Uint8Array, options: Record<string, unknown>): Promise<OrtSession> };
}

/** Options for {@link createOnnxSession}. */
export interface OnnxSessionOptions {
  /**
   * Threads ONNX Runtime uses inside one `run` (`intraOpNumThreads`). Default 1: with several sessions (one per
   * worker), one thread each keeps them from competing for the same cores. Integer 1–256.
   */
  threads?: number;
}

/** A float32 tensor given to or returned by an {@link OnnxSession}: values row-major and their dimensions. */
export interface OnnxTensorValue {
  /** Values, row-major; length = product of `dims`. */
  data: Float32Array;
  /** Dimensions. */
  dims: readonly number[];
}

/** Options of one {@link OnnxSession.run} call. */
export interface OnnxRunOptions {
  /**
   * Check that every output value is finite and reject the call with `INVALID_MODEL` otherwise. Default true. `false`
   * returns outputs as computed, NaN and ±Infinity included: for a caller that checks them itself, e.g. per sample of
   * a batch, so that one sample that overflows inside the model does not fail the others.
   */
  checkOutputs?: boolean;
}

/** One loaded ONNX model on ONNX Runtime's CPU provider. */
export interface OnnxSession {
  /** The model's input names, in order. */
  readonly inputNames: readonly string[];
  /** The model's output names, in order. */
  readonly outputNames: readonly string[];
  /**
   * Runs the model. ONNX Runtime computes in the calling thread and blocks its event loop for the duration of the
   * run (onnxruntime-node 1.31 calls the native run synchronously inside a `setImmediate`): run it on a worker
   * (`createPredictor(…, { engine: 'onnx', workers: 2 })` or {@link createWorkerPool}) to keep a thread responsive.
   *
   * Inputs are checked before the run and outputs after it, so no NaN or ±Infinity goes in or comes out: a
   * non-finite output computed from finite inputs (an overflow, or weights that are not finite) rejects the call with
   * `INVALID_MODEL` rather than being returned (unless `options.checkOutputs` is false). ONNX Runtime's own log lines
   * are silenced (severity FATAL only): a failed run surfaces only as the typed error.
   *
   * @param feeds - one float32 tensor per input name
   * @param options - whether to check the outputs for non-finite values (default true)
   * @returns every output by name (float32; all values finite unless `checkOutputs` is false)
   * @throws {@link LeptonError} `INVALID_INPUT` when `feeds` is not an object, a feed is missing, its `data` is not a
   *   Float32Array, its `dims` are not an array of whole numbers from 0 to 2^31 − 1 matching `data.length`, a value is
   *   NaN or ±Infinity, reading a feed throws (a getter or Proxy trap), or ONNX Runtime refuses the run (e.g. a shape the model cannot take); `INVALID_MODEL` when an output
   *   is not float32 or (when checked) holds a non-finite value; `INVALID_ARGUMENT` when `options` is not an object
   *   or `checkOutputs` not a boolean; `PREDICTOR_CLOSED` after {@link OnnxSession.close}
   */
  run(feeds: Readonly<Record<string, OnnxTensorValue>>, options?: OnnxRunOptions): Promise<Record<string, OnnxTensorValue>>;
  /** Frees the native session. Idempotent. */
  close(): Promise<void>;
}

const ORT_PACKAGE = 'onnxruntime-node';
let loading: Promise<OrtModule> | undefined;

/**
 * Imports `onnxruntime-node` once. The specifier is a variable so that bundlers (esbuild) leave the import alone and
 * the package is resolved at run time, from where `@lepton/core` is installed.
 *
 * @internal
 */
export function loadOnnxRuntime(): Promise<OrtModule> {
  loading ??= (async () => {
    try {
      const mod = (await import(ORT_PACKAGE)) as OrtModule & { default?: OrtModule };
      return typeof mod.InferenceSession === 'object' || typeof mod.InferenceSession === 'function' ? mod : mod.default!;
    } catch (err) {
      loading = undefined;
      // The import error's text may name absolute paths of this machine: it stays in `cause`, out of the message.
      const code = typeof (err as { code?: unknown })?.code === 'string' ? ` (${(err as { code: string }).code})` : '';
      throw new LeptonError(
        'BACKEND_UNAVAILABLE',
        `ONNX Runtime could not be loaded${code}. Install it next to @lepton/core: npm i onnxruntime-node ` +
          '(its CPU binaries are inside the npm package; if its install script tries to download CUDA binaries and fails, ' +
          'install with --onnxruntime-node-install=skip or ONNXRUNTIME_NODE_INSTALL=skip), or use engine: \'tfjs\'.',
        { cause: err, details: { package: ORT_PACKAGE } },
      );
    }
  })();
  return loading;
}

/**
 * True when `onnxruntime-node` can be imported here (it is loaded, once, to find out).
 *
 * @returns whether {@link createOnnxSession} can work
 * @example
 * ```ts
 * import { onnxRuntimeAvailable } from '@lepton/core';
 * console.log(await onnxRuntimeAvailable()); // true once `npm i onnxruntime-node` is done
 * ```
 */
export async function onnxRuntimeAvailable(): Promise<boolean> {
  return loadOnnxRuntime().then(
    () => true,
    () => false,
  );
}

/**
 * Resolves once `onnxruntime-node` is loaded (it is imported once), and otherwise throws the typed error that says
 * how to install it: for a caller that wants to know before expensive work, such as converting a model to ONNX.
 *
 * @throws {@link LeptonError} `BACKEND_UNAVAILABLE` when `onnxruntime-node` cannot be imported (the import error,
 *   which may name local paths, is in `cause`, not in the message)
 * @example
 * ```ts
 * import { requireOnnxRuntime } from '@lepton/core';
 * await requireOnnxRuntime(); // throws BACKEND_UNAVAILABLE with the npm command when it is not installed
 * ```
 */
export async function requireOnnxRuntime(): Promise<void> {
  await loadOnnxRuntime();
}

const MAX_THREADS = 256;

/**
 * Loads an ONNX model (bytes, e.g. from {@link layersModelToOnnx}) into ONNX Runtime's CPU execution provider, with
 * all graph optimisations on, sequential execution and `threads` intra-op threads.
 *
 * @param model - the ONNX `ModelProto` bytes
 * @param options - intra-op threads
 * @returns a session whose `run` takes and returns float32 tensors
 * @throws {@link LeptonError} `BACKEND_UNAVAILABLE` when `onnxruntime-node` is not installed (the message says how to
 *   install it), `INVALID_ARGUMENT` for a bad `threads` or non-bytes `model`, `INVALID_MODEL` when ONNX Runtime
 *   refuses the model
 * @example
 * ```ts
 * import { buildMlp, createOnnxSession, initRuntime, layersModelToOnnx } from '@lepton/core';
 * await initRuntime({ backend: 'cpu' });
 * const model = buildMlp({ inputDim: 4 });
 * const session = await createOnnxSession(await layersModelToOnnx(model), { threads: 1 });
 * const out = await session.run({ [model.inputNames[0]!]: { data: new Float32Array(8), dims: [2, 4] } });
 * console.log(out[model.outputNames[0]!]!.dims); // [2, 1]
 * await session.close();
 * ```
 */
export async function createOnnxSession(model: Uint8Array, options: OnnxSessionOptions = {}): Promise<OnnxSession> {
  if (!(model instanceof Uint8Array) || model.length === 0) throw new LeptonError('INVALID_ARGUMENT', 'createOnnxSession needs the ONNX model as non-empty bytes (a Uint8Array).');
  if (options === null || typeof options !== 'object') throw new LeptonError('INVALID_ARGUMENT', `createOnnxSession: options must be an object, got ${describeValue(options)}.`);
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new LeptonError('INVALID_ARGUMENT', `threads must be an integer from 1 to ${MAX_THREADS}, got ${describeValue(threads)}.`);
  }
  const ort = await loadOnnxRuntime();
  let session: OrtSession;
  try {
    session = await ort.InferenceSession.create(model, {
      executionProviders: ['cpu'],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // FATAL only: ORT's info, warning and error lines (removed initialisers, a failed kernel) would go straight to
      // stderr from native code; every failure reaches the caller as a typed LeptonError instead.
      logSeverityLevel: 4,
    });
  } catch (err) {
    throw new LeptonError('INVALID_MODEL', `ONNX Runtime refused the model: ${(err as Error).message}`, { cause: err });
  }
  return new Session(ort, session);
}

/** Index of the first NaN or ±Infinity in `data`, or −1. */
function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}

/** Largest dimension of a feed: ONNX Runtime's own limit (2^31 − 1); a larger one was a raw `TypeError` from ORT. */
const MAX_FEED_DIM = 2 ** 31 - 1;

/**
 * A feed as JavaScript callers may pass it, checked: Float32Array data, whole-number dims (each 0 to 2^31 − 1)
 * matching it, finite values. Its fields are read once; a getter or Proxy trap that throws is `INVALID_INPUT`.
 */
function checkFeed(name: string, feeds: object): OnnxTensorValue {
  let data: unknown;
  let rawDims: unknown;
  let dims: unknown[] | undefined;
  try {
    const feed = (Object.hasOwn(feeds, name) ? (feeds as Record<string, unknown>)[name] : undefined) as Partial<OnnxTensorValue> | null | undefined;
    if (typeof feed === 'object' && feed !== null) {
      data = feed.data;
      rawDims = feed.dims;
      if (Array.isArray(rawDims)) dims = Array.from(rawDims as unknown[]);
    }
  } catch (err) {
    throw new LeptonError('INVALID_INPUT', `Input '${name}': reading the feed threw (see cause).`, { cause: err, details: { input: name } });
  }
  if (!(data instanceof Float32Array)) {
    throw new LeptonError('INVALID_INPUT', `Input '${name}' needs a feed { data: Float32Array, dims: number[] }.`);
  }
  if (
    dims === undefined ||
    dims.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0 || d > MAX_FEED_DIM) ||
    (dims as number[]).reduce((a: number, d: number) => a * d, 1) !== data.length
  ) {
    throw new LeptonError('INVALID_INPUT', Array.isArray(dims) ? `Input '${name}' has ${data.length} values for dims [${dims.map((d) => describeValue(d)).join(', ')}].` : `Input '${name}' has no dims array.`);
  }
  const bad = firstNonFinite(data);
  if (bad >= 0) throw new LeptonError('INVALID_INPUT', `Input '${name}' value ${bad} is ${data[bad]}, not a finite number.`, { details: { input: name, index: bad } });
  return { data, dims: dims as number[] };
}

class Session implements OnnxSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  #closed: Promise<void> | undefined;
  /** Runs in progress: close() waits for them, so the native session is never freed under a run. */
  readonly #running = new Set<Promise<unknown>>();

  constructor(
    private readonly ort: OrtModule,
    private readonly session: OrtSession,
  ) {
    this.inputNames = [...session.inputNames];
    this.outputNames = [...session.outputNames];
  }

  async run(feeds: Readonly<Record<string, OnnxTensorValue>>, options: OnnxRunOptions = {}): Promise<Record<string, OnnxTensorValue>> {
    if (this.#closed !== undefined) throw new LeptonError('PREDICTOR_CLOSED', 'The ONNX session is closed; create a new one.');
    if (options === null || typeof options !== 'object') throw new LeptonError('INVALID_ARGUMENT', `run: options must be an object, got ${describeValue(options)}.`);
    const checkOutputs: unknown = options.checkOutputs ?? true;
    if (typeof checkOutputs !== 'boolean') throw new LeptonError('INVALID_ARGUMENT', `run: options.checkOutputs must be true or false, got ${describeValue(checkOutputs)}.`);
    if (typeof feeds !== 'object' || feeds === null) throw new LeptonError('INVALID_INPUT', 'run() needs an object of feeds, one per input name.');
    const tensors: Record<string, OrtTensor> = {};
    for (const name of this.inputNames) {
      const f = checkFeed(name, feeds);
      try {
        tensors[name] = new this.ort.Tensor('float32', f.data, f.dims);
      } catch (err) {
        throw new LeptonError('INVALID_INPUT', `Input '${name}': ONNX Runtime refused the feed: ${(err as Error)?.message ?? String(err)}`, { cause: err, details: { input: name } });
      }
    }
    let outs: Record<string, OrtTensor>;
    const running = this.session.run(tensors, { logSeverityLevel: 4 });
    this.#running.add(running);
    try {
      outs = await running;
    } catch (err) {
      throw new LeptonError('INVALID_INPUT', `ONNX Runtime failed to run the model: ${(err as Error).message}`, { cause: err });
    } finally {
      this.#running.delete(running);
    }
    const result: Record<string, OnnxTensorValue> = {};
    for (const [name, t] of Object.entries(outs)) {
      if (!(t.data instanceof Float32Array)) throw new LeptonError('INVALID_MODEL', `Output '${name}' is ${t.type}, not float32.`);
      const bad = checkOutputs ? firstNonFinite(t.data) : -1;
      if (bad >= 0) {
        throw new LeptonError('INVALID_MODEL', `Output '${name}' value ${bad} is ${t.data[bad]} from finite inputs (an overflow, or weights that are not finite).`, {
          details: { output: name, index: bad },
        });
      }
      result[name] = { data: t.data, dims: [...t.dims] };
    }
    return result;
  }

  close(): Promise<void> {
    this.#closed ??= Promise.allSettled([...this.#running]).then(() => this.session.release().catch(() => undefined));
    return this.#closed;
  }
}
