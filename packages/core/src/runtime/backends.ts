import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { registerWasmTrainingKernels } from './wasm-kernels.js';
import { loadWebgpu } from './webgpu.js';

/**
 * The backends Lepton runs on, fastest first, at run time: `tensorflow` (native libtensorflow through
 * `@tensorflow/tfjs-node-gpu` or `@tensorflow/tfjs-node`), `webgpu` (Dawn), `wasm`, `cpu` (pure JavaScript).
 */
export const BACKEND_NAMES = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const;

/** Names of the backends Lepton runs on (one of {@link BACKEND_NAMES}): the only values `runtimeInfo().backend` takes. */
export type BackendName = (typeof BACKEND_NAMES)[number];

/**
 * Whether `name` is one of {@link BACKEND_NAMES}: the run-time check behind every `BackendName` parameter, for callers
 * whose value comes from JavaScript, configuration or an environment variable.
 *
 * @param name - any value
 * @returns true when `name` is a backend Lepton runs on
 * @example
 * ```ts
 * import { isBackendName } from '@lepton/core';
 * console.log(isBackendName('wasm'), isBackendName('webgl')); // true false
 * ```
 */
export function isBackendName(name: unknown): name is BackendName {
  return typeof name === 'string' && (BACKEND_NAMES as readonly string[]).includes(name);
}

/** What a backend loader found when asked to make its backend available. */
export interface BackendProbe {
  /** True when the backend is registered with TensorFlow.js and can be selected. */
  ok: boolean;
  /** Human-readable device name (GPU adapter, "libtensorflow (CUDA)", "WebAssembly SIMD" …). */
  device: string;
  /** Why the backend is not usable, when `ok` is false. */
  reason?: string;
  /** Reports how many threads the backend computes with, once it is initialised. Default 1. */
  threads?: () => number;
  /**
   * True when the backend computes on a GPU: `webgpu` on a hardware adapter, native TensorFlow's CUDA build. Default
   * false (a software WebGPU adapter such as lavapipe is not a GPU here).
   */
  gpu?: boolean;
}

/** Options passed through to every backend loader. */
export interface BackendLoadOptions {
  /** Thread count for the `wasm` backend where the platform supports threads. */
  wasmThreads?: number;
  /** WebGPU adapter preference. */
  powerPreference: 'high-performance' | 'low-power';
  /**
   * True when the user asked for this backend by name (option or `LEPTON_BACKEND`), false in automatic selection.
   * Automatic selection is stricter: the `webgpu` loader then refuses software adapters and probes quietly.
   */
  explicit?: boolean;
}

/**
 * A backend loader imports the package that implements a backend, registers it with TensorFlow.js
 * and reports the device. Loaders never throw: a missing package or device is a `{ ok: false }` probe.
 */
export type BackendLoader = (options: BackendLoadOptions) => Promise<BackendProbe>;

interface Registered {
  loader: BackendLoader;
  priority: number;
}

/**
 * Replaces the loader of one of the four backends (how it is imported and probed: a custom wasm binary path, a test
 * double) or its priority. Higher priority is tried first by `'auto'`. The built-in loaders are registered by the
 * core itself. Only the names of {@link BACKEND_NAMES} are accepted, so that `runtimeInfo().backend` is always a
 * {@link BackendName}.
 *
 * @param name - one of {@link BACKEND_NAMES}
 * @param loader - makes the backend available and reports its device
 * @param priority - order for automatic selection (tensorflow 40, webgpu 30, wasm 20, cpu 10)
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for another name (checked at run time for JavaScript callers), a
 *   loader that is not a function or a priority that is not a finite number
 * @example
 * ```ts
 * import { registerBackendLoader } from '@lepton/core';
 * registerBackendLoader('cpu', async () => ({ ok: true, device: 'my CPU' }), 10);
 * ```
 */
export function registerBackendLoader(name: BackendName, loader: BackendLoader, priority: number): void {
  if (!isBackendName(name)) {
    throw new LeptonError('INVALID_ARGUMENT', `Unknown backend ${describeValue(name, 50)}; Lepton runs on ${BACKEND_NAMES.join(', ')}.`);
  }
  if (typeof loader !== 'function') throw new LeptonError('INVALID_ARGUMENT', `The loader for '${name}' must be a function.`);
  if (typeof priority !== 'number' || !Number.isFinite(priority)) {
    throw new LeptonError('INVALID_ARGUMENT', `The priority of '${name}' must be a finite number (tensorflow 40, webgpu 30, wasm 20, cpu 10).`);
  }
  loaders.set(name, { loader, priority });
}

/**
 * Backend names with a registered loader, highest priority first.
 *
 * @returns registered backend names in automatic-selection order
 */
export function registeredBackendLoaders(): BackendName[] {
  return [...loaders.entries()].sort((a, b) => b[1].priority - a[1].priority).map(([name]) => name);
}

/** @internal */
export function getBackendLoader(name: BackendName): BackendLoader | undefined {
  return loaders.get(name)?.loader;
}

/** Dynamic import of a package whose name is a variable, so TypeScript does not need its types. */
async function importOptional(name: string): Promise<unknown> {
  return import(name);
}

function message(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]?.slice(0, 200) ?? text;
}

/**
 * Where the native binding of a tfjs-node package would be, or why it is not there. Checked before importing:
 * importing a tfjs-node whose binding is missing registers its kernels and the union package's backends before
 * it throws, which leaves duplicate-registration warnings and a half-made 'tensorflow' backend behind.
 */
function nativeBindingMissing(pkg: string): string | undefined {
  let dir: string;
  try {
    dir = dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`));
  } catch {
    return 'not installed (an optional peer dependency: install it to use it)';
  }
  const lib = join(dir, 'lib');
  const found = existsSync(lib) && readdirSync(lib).some((d) => existsSync(join(lib, d, 'tfjs_binding.node')));
  return found
    ? undefined
    : 'installed without its native binding: its install script downloads libtensorflow, and it did not run (pnpm ≥ 10: `pnpm approve-builds`) or could not reach the download host';
}

/**
 * Whether the CUDA build of libtensorflow will find a GPU: it runs on the CPU, without an error, where it finds none.
 * False when `CUDA_VISIBLE_DEVICES` hides every device (empty, `-1…`, `NoDevFiles`) or, on Linux, when there is no
 * sign of an NVIDIA GPU: none listed by the driver under `/proc/driver/nvidia/gpus`, and no `/dev/nvidia<N>` device
 * node (containers) or `/dev/dxg` (WSL 2, which passes GPUs through without the proc entries). True elsewhere (other
 * platforms cannot be checked this way).
 *
 * @param env - the environment to read `CUDA_VISIBLE_DEVICES` from
 * @param driverDir - where the NVIDIA driver lists its GPUs (Linux)
 * @param platform - the operating system
 * @param devDir - where device nodes live (Linux)
 * @returns whether a CUDA device is visible to this process
 * @example
 * ```ts
 * import { cudaDeviceVisible } from '@lepton/core';
 * console.log(cudaDeviceVisible()); // false on a machine without an NVIDIA driver
 * ```
 */
export function cudaDeviceVisible(env: NodeJS.ProcessEnv = process.env, driverDir = '/proc/driver/nvidia/gpus', platform: NodeJS.Platform = process.platform, devDir = '/dev'): boolean {
  const visible = env !== null && typeof env === 'object' ? env['CUDA_VISIBLE_DEVICES'] : undefined;
  if (typeof visible === 'string' && /^\s*(-1.*|NoDevFiles)?\s*$/.test(visible)) return false;
  if (platform !== 'linux') return true;
  const entries = (dir: string): string[] => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  return entries(driverDir).length > 0 || entries(devDir).some((name) => /^nvidia\d+$/.test(name) || name === 'dxg');
}

const loadTensorflow: BackendLoader = async () => {
  // tfjs-node* are optional peer dependencies, installed by the application that wants native TensorFlow: their
  // install script downloads libtensorflow, and where that failed the package is present without its native binding.
  // Absent or unbound, we fall through.
  const reasons: string[] = [];
  for (const [pkg, device] of [
    ['@tensorflow/tfjs-node-gpu', 'libtensorflow (CUDA)'],
    ['@tensorflow/tfjs-node', 'libtensorflow (CPU)'],
  ] as const) {
    const missing = nativeBindingMissing(pkg);
    if (missing !== undefined) {
      reasons.push(`${pkg}: ${missing}`);
      continue;
    }
    try {
      await importOptional(pkg);
      if (tf.findBackendFactory('tensorflow') !== null) {
        // The CUDA build runs on the CPU where it finds no GPU: say so rather than claim one.
        const gpu = pkg === '@tensorflow/tfjs-node-gpu' && cudaDeviceVisible();
        const shown = pkg === '@tensorflow/tfjs-node-gpu' && !gpu ? 'libtensorflow (CUDA build, no GPU visible: computes on the CPU)' : device;
        return { ok: true, device: shown, gpu, threads: () => availableParallelism() };
      }
      reasons.push(`${pkg}: loaded but registered no 'tensorflow' backend`);
    } catch (err) {
      reasons.push(`${pkg}: ${message(err)}`);
    }
  }
  return {
    ok: false,
    device: '',
    reason:
      `${reasons.join('; ')}. Fix (optional, for native CUDA): on a machine with internet access, CUDA 11.2 and cuDNN 8, ` +
      'npm install @tensorflow/tfjs-node-gpu (or @tensorflow/tfjs-node for native CPU) and let its install script run, see @lepton/core/docs/backends.md#tensorflow',
  };
};

const loadWasm: BackendLoader = async ({ wasmThreads }) => {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    registerWasmTrainingKernels();
    if (wasmThreads !== undefined) wasm.setThreadsCount(wasmThreads);
    return { ok: true, device: 'WebAssembly (XNNPACK)', threads: () => wasm.getThreadsCount() };
  } catch (err) {
    return { ok: false, device: '', reason: `@tensorflow/tfjs-backend-wasm: ${message(err)}` };
  }
};

const loadCpu: BackendLoader = async () => {
  await import('@tensorflow/tfjs-backend-cpu');
  return { ok: true, device: 'JavaScript (CPU)' };
};

// The built-in loaders. Nothing is imported or registered with TensorFlow.js until initRuntime() asks.
const loaders = new Map<BackendName, Registered>([
  ['tensorflow', { loader: loadTensorflow, priority: 40 }],
  ['webgpu', { loader: loadWebgpu, priority: 30 }],
  ['wasm', { loader: loadWasm, priority: 20 }],
  ['cpu', { loader: loadCpu, priority: 10 }],
]);
