import { totalmem } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { BACKEND_NAMES, getBackendLoader, isBackendName, registeredBackendLoaders, type BackendName } from './backends.js';
import { registerLeanGradients } from './gradients.js';
import { guardWasmAllocator, type WasmAllocator } from './wasm-heap.js';

/** Which backend to use: `'auto'` picks the fastest present (tensorflow → webgpu → wasm → cpu). */
export type BackendPreference = 'auto' | BackendName;

/** Options for {@link initRuntime}. Every field is optional; defaults live in {@link resolveRuntimeOptions}. */
export interface RuntimeOptions {
  /** Backend to use. The environment variable `LEPTON_BACKEND` overrides this. Default `'auto'`. */
  backend?: BackendPreference;
  /** Threads for the `wasm` backend (only where the platform supports wasm threads). */
  wasmThreads?: number;
  /** WebGPU adapter preference. Default `'high-performance'`. */
  powerPreference?: 'high-performance' | 'low-power';
  /**
   * TensorFlow.js production mode (`tf.enableProdMode()`): skips debug-only checks and the pure-JS backend's
   * "install tfjs-node" banner, which is misleading once Lepton has chosen the fastest backend present.
   * Default true.
   */
  prodMode?: boolean;
}

/** {@link RuntimeOptions} with every default filled in. */
export interface ResolvedRuntimeOptions {
  /** Backend preference in effect: `LEPTON_BACKEND` if set, else the `backend` option, else `'auto'`. */
  backend: BackendPreference;
  /** Where `backend` came from. */
  backendSource: 'option' | 'env' | 'default';
  /** Threads for the `wasm` backend; absent when not given, leaving the backend's own default. */
  wasmThreads?: number;
  /** WebGPU adapter preference (default `'high-performance'`). */
  powerPreference: 'high-performance' | 'low-power';
  /** Whether TensorFlow.js production mode is enabled (default true). */
  prodMode: boolean;
}

/** One backend that {@link initRuntime} tried, and what happened. */
export interface BackendAttempt {
  /** Name of the backend tried (`'tensorflow'`, `'webgpu'`, `'wasm'` or `'cpu'`). */
  backend: BackendName;
  /** True if the backend started and became the active one. */
  ok: boolean;
  /** Why the backend was not used (absent when it was). */
  reason?: string;
}

/** What the runtime is running on. */
export interface RuntimeInfo {
  /** The active TensorFlow.js backend: one of {@link @lepton/core!BACKEND_NAMES} (checked at run time). */
  backend: BackendName;
  /** Device behind it: GPU adapter name, libtensorflow build, or the CPU path. */
  device: string;
  /** Threads the backend computes with (wasm thread pool; logical CPUs for native; 1 for pure JS). */
  threads: number;
  /**
   * True when the backend computes on a GPU: `webgpu` on a hardware adapter, or `tensorflow` from
   * `@tensorflow/tfjs-node-gpu` where a CUDA device is visible (`cudaDeviceVisible()`: its CUDA build computes on the
   *   CPU, without an error, where it finds none, and `device` says so).
   * False for `wasm`, `cpu`, native TensorFlow's CPU build and a software WebGPU adapter (lavapipe, SwiftShader).
   * Engines `'auto'` (the detector's, `createPredictor`'s) keep a model on TF.js when this is true, rather than move it
   * to ONNX Runtime's CPU kernels.
   */
  gpu: boolean;
  /** Memory: live tensors and their bytes in the engine, plus the process and machine. */
  memory: {
    /** Tensors currently allocated in the TensorFlow.js engine. */
    numTensors: number;
    /** Bytes held by the engine's live tensors. */
    numBytes: number;
    /** Bytes held on a GPU, where the backend reports it. */
    gpuBytes?: number;
    /** Resident set size of this process, in bytes (`process.memoryUsage().rss`). */
    processRssBytes: number;
    /** Total physical memory of the machine, in bytes (`os.totalmem()`). */
    systemTotalBytes: number;
  };
  /** Backends tried in order, with the reason each unused one was skipped. */
  attempts: BackendAttempt[];
  /** TensorFlow.js version. */
  tfjsVersion: string;
}

const VALID: readonly BackendPreference[] = ['auto', ...BACKEND_NAMES];

/**
 * Runs `fn` with TF.js warnings captured instead of printed. TF.js reports a backend whose initialisation failed only
 * as a console warning (suppressed entirely in production mode), so without this the reason would be lost.
 */
async function withWarningsCaptured<T>(fn: () => Promise<T>): Promise<{ ok: T; warnings: string[] }> {
  const warnings: string[] = [];
  const original = console.warn;
  const prod = tf.env().getBool('PROD');
  console.warn = (...args: unknown[]) => {
    warnings.push(args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ').split('\n')[0] ?? '');
  };
  tf.env().set('PROD', false);
  try {
    return { ok: await fn(), warnings };
  } finally {
    tf.env().set('PROD', prod);
    console.warn = original;
  }
}

/**
 * Fills defaults and validates runtime options. `LEPTON_BACKEND` (if set) wins over `options.backend`,
 * so operators can force a backend without a code change.
 *
 * @param options - partial options
 * @param env - environment to read `LEPTON_BACKEND` from (injectable for tests)
 * @returns options with defaults filled
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for an unknown backend name, options or an env that are not objects, a
 *   `wasmThreads` that is not a whole number from 1 to 1024, an unknown `powerPreference` or a `prodMode` that is not a
 *   boolean
 */
export function resolveRuntimeOptions(
  options: RuntimeOptions = {},
  env: Record<string, string | undefined> = process.env,
): ResolvedRuntimeOptions {
  if (options === null || typeof options !== 'object') throw new LeptonError('INVALID_ARGUMENT', `Runtime options must be an object, got ${describeValue(options)}.`);
  if (env === null || typeof env !== 'object') throw new LeptonError('INVALID_ARGUMENT', `env must be an object of environment variables, got ${describeValue(env)}.`);
  const rawEnv: unknown = env['LEPTON_BACKEND'];
  const fromEnv = typeof rawEnv === 'string' ? rawEnv.trim() : undefined;
  // An empty or false backend option meant 'auto' silently: only a missing (or null) one does now.
  const backend = (fromEnv || (options.backend ?? 'auto')) as BackendPreference;
  if (!VALID.includes(backend)) {
    throw new LeptonError(
      'INVALID_ARGUMENT',
      `Unknown backend ${describeValue(backend, 50)}${fromEnv ? ' (from LEPTON_BACKEND)' : ''}; use one of ${VALID.join(', ')}.`,
    );
  }
  const powerPreference: unknown = options.powerPreference ?? 'high-performance';
  if (powerPreference !== 'high-performance' && powerPreference !== 'low-power') {
    throw new LeptonError('INVALID_ARGUMENT', `powerPreference must be 'high-performance' or 'low-power', got ${describeValue(powerPreference)}.`);
  }
  const prodMode: unknown = options.prodMode ?? true;
  if (typeof prodMode !== 'boolean') throw new LeptonError('INVALID_ARGUMENT', `prodMode must be true or false, got ${describeValue(prodMode)}.`);
  const resolved: ResolvedRuntimeOptions = {
    backend,
    backendSource: fromEnv ? 'env' : options.backend != null ? 'option' : 'default',
    powerPreference,
    prodMode,
  };
  if (options.wasmThreads !== undefined) {
    const threads: unknown = options.wasmThreads;
    if (!Number.isSafeInteger(threads) || (threads as number) < 1 || (threads as number) > 1024) {
      throw new LeptonError('INVALID_ARGUMENT', `wasmThreads must be a whole number from 1 to 1024, got ${describeValue(threads)}.`);
    }
    resolved.wasmThreads = threads as number;
  }
  return resolved;
}

interface Loaded {
  device: string;
  threads: () => number;
  gpu: boolean;
}
interface State {
  attempts: BackendAttempt[];
  /** Backends initialised so far, for runtimeInfo() after a backend switch. */
  loaded: Map<BackendName, Loaded>;
}
let state: State | undefined;

/**
 * Initialises TensorFlow.js on the fastest backend present, or on the one asked for, and reports it.
 * Safe to call again (e.g. to switch backend); backends already loaded are reused.
 *
 * @param options - backend preference and backend tuning
 * @param env - environment read for `LEPTON_BACKEND` (injectable for tests; default `process.env`)
 * @returns the runtime now in use
 * @throws {@link LeptonError} `BACKEND_UNAVAILABLE` when an explicitly requested backend cannot start
 *   (the message lists why, and which backends are registered)
 * @example
 * ```ts
 * import { initRuntime } from '@lepton/core';
 * const info = await initRuntime({ backend: 'auto' });
 * console.log(info.backend, info.device);
 * ```
 */
export async function initRuntime(
  options: RuntimeOptions = {},
  env: Record<string, string | undefined> = process.env,
): Promise<RuntimeInfo> {
  const resolved = resolveRuntimeOptions(options, env);
  if (resolved.prodMode) tf.enableProdMode();
  registerLeanGradients();
  const candidates = resolved.backend === 'auto' ? registeredBackendLoaders() : [resolved.backend];
  const attempts: BackendAttempt[] = [];
  const loaded = state?.loaded ?? new Map<BackendName, Loaded>();
  for (const name of candidates) {
    const loader = getBackendLoader(name);
    if (loader === undefined) {
      attempts.push({ backend: name, ok: false, reason: 'no loader registered' });
      continue;
    }
    const load: Parameters<typeof loader>[0] = { powerPreference: resolved.powerPreference, explicit: resolved.backend !== 'auto' };
    if (resolved.wasmThreads !== undefined) load.wasmThreads = resolved.wasmThreads;
    const probe = await loader(load);
    if (!probe.ok) {
      attempts.push({ backend: name, ok: false, reason: probe.reason ?? 'unavailable' });
      continue;
    }
    let selected = false;
    let reason = 'TensorFlow.js could not initialise it';
    try {
      const { ok, warnings } = await withWarningsCaptured(() => tf.setBackend(name));
      selected = ok;
      await tf.ready();
      if (!selected && warnings.length > 0) reason = `TensorFlow.js could not initialise it: ${warnings.join(' ').slice(0, 300)}`;
    } catch (err) {
      reason = err instanceof Error ? err.message : String(err);
    }
    if (!selected || tf.getBackend() !== name) {
      attempts.push({ backend: name, ok: false, reason });
      continue;
    }
    if (name === 'wasm') guardWasmAllocator((tf.backend() as unknown as { wasm: WasmAllocator }).wasm);
    attempts.push({ backend: name, ok: true });
    loaded.set(name, { device: probe.device, threads: probe.threads ?? (() => 1), gpu: probe.gpu === true });
    state = { attempts, loaded };
    return runtimeInfo();
  }
  const why = attempts.map((a) => `${a.backend}: ${a.reason ?? 'failed'}`).join('; ');
  throw new LeptonError(
    'BACKEND_UNAVAILABLE',
    `No usable backend for '${resolved.backend}'${resolved.backendSource === 'env' ? ' (from LEPTON_BACKEND)' : ''}. ` +
      `Tried ${why}. Registered: ${registeredBackendLoaders().join(', ')}. Use backend 'auto' or install the missing package.`,
    { details: { attempts } },
  );
}

/**
 * Ensures a backend is active: initialises with defaults (`'auto'`, or `LEPTON_BACKEND`) on first use.
 *
 * @returns the runtime in use
 */
export async function ensureRuntime(): Promise<RuntimeInfo> {
  return state === undefined ? initRuntime() : runtimeInfo();
}

/** @internal Switches to a backend that was already loaded by {@link initRuntime} (or loads it). */
export async function useBackend(name: BackendName): Promise<void> {
  if (tf.getBackend() === name) return;
  if (state?.loaded.has(name)) {
    await tf.setBackend(name);
    return;
  }
  // Loading another backend must not forget why the original choice was made.
  const attempts = state?.attempts ?? [];
  // An explicit internal switch (e.g. to a backend that has a missing kernel) must not be redirected by LEPTON_BACKEND.
  await initRuntime({ backend: name }, {});
  if (state !== undefined) state.attempts = attempts;
}

/**
 * The active TensorFlow.js backend as a {@link BackendName}. `tf.getBackend()` is typed `string`, and an application
 * can call `tf.setBackend()` itself: a backend Lepton does not run on is refused here rather than reported under a
 * type that would be a lie. @internal
 */
export function activeBackend(): BackendName {
  const name = tf.getBackend();
  if (!isBackendName(name)) {
    throw new LeptonError(
      'RUNTIME_NOT_INITIALISED',
      `TensorFlow.js runs on '${String(name).slice(0, 50)}', which was selected outside Lepton and is not a backend Lepton runs on (${BACKEND_NAMES.join(', ')}); call initRuntime().`,
      { details: { active: String(name).slice(0, 50) } },
    );
  }
  return name;
}

/**
 * Reports the active backend, its device, threads and memory.
 *
 * @returns the runtime in use
 * @throws {@link LeptonError} `RUNTIME_NOT_INITIALISED` before {@link initRuntime} has run, or when TensorFlow.js was
 *   switched outside Lepton to a backend that is not one of {@link @lepton/core!BACKEND_NAMES}
 * @example
 * ```ts
 * import { initRuntime, runtimeInfo } from '@lepton/core';
 * await initRuntime({ backend: 'cpu' });
 * console.log(runtimeInfo().memory.numTensors);
 * ```
 */
export function runtimeInfo(): RuntimeInfo {
  if (state === undefined) {
    throw new LeptonError('RUNTIME_NOT_INITIALISED', 'The Lepton runtime is not initialised; call initRuntime() first.');
  }
  const backend = activeBackend();
  const loaded = state.loaded.get(backend);
  const mem = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
  const info: RuntimeInfo = {
    backend,
    device: loaded?.device ?? 'unknown (backend selected outside Lepton)',
    threads: loaded?.threads() ?? 1,
    gpu: loaded?.gpu ?? false,
    memory: {
      numTensors: mem.numTensors,
      numBytes: mem.numBytes,
      processRssBytes: process.memoryUsage().rss,
      systemTotalBytes: totalmem(),
    },
    attempts: state.attempts,
    tfjsVersion: tf.version_core,
  };
  if (mem.numBytesInGPU !== undefined) info.memory.gpuBytes = mem.numBytesInGPU;
  return info;
}
