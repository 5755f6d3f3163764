import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { checkLayersModel } from '../internal/checks.js';
import { registeredBackendLoaders, type BackendName } from './backends.js';
import { activeBackend, useBackend } from './init.js';

/** Options for {@link requiredKernels} and {@link planBackend}. */
export interface KernelCheckOptions {
  /** Include the kernels of the backward pass (needed to train). Default false. */
  training?: boolean;
}

/** The outcome of {@link planBackend}. */
export interface BackendPlan {
  /** Backend the work will run on. */
  backend: BackendName;
  /** The backend that was active before, and was asked for. */
  requested: BackendName;
  /** Kernels the requested backend lacks (empty when it has them all). */
  missing: string[];
  /** True when the plan moved the work to another backend. */
  switched: boolean;
}

function dummyInputs(model: tfl.LayersModel): tf.Tensor[] {
  return model.inputs.map((input) => tf.zeros(input.shape.map((d) => d ?? 2), input.dtype));
}

/**
 * Reads the model's weights back to the CPU asynchronously before the work moves to another backend. Why: TF.js moves
 * a tensor between backends lazily with the source backend's *synchronous* `readSync`, which on `webgpu` in Node
 * throws (`OffscreenCanvas is not defined`) and on any GPU stalls the queue. `data()` caches the values on the CPU side
 * of the GPU backend, so the later move copies them without touching the GPU. Never drop this "because the probe
 * works on wasm": it only breaks when the source backend is a GPU one.
 */
async function stageWeightsOnCpu(model: tfl.LayersModel): Promise<void> {
  await Promise.all(model.weights.map((w) => w.read().data()));
}

/** Kernel lists per model, for inference (`false`) and training (`true`): a model's graph never changes. */
const cache = new WeakMap<tfl.LayersModel, Map<boolean, string[]>>();

/**
 * Runs the model once on `backend` under the profiler with a tiny zero batch (forward, plus backward when
 * training) and returns the kernels it ran. Throws TF.js' own error when a kernel is missing on that backend.
 */
async function probe(model: tfl.LayersModel, training: boolean, backend: BackendName): Promise<string[]> {
  const previous = activeBackend();
  if (backend !== previous) await stageWeightsOnCpu(model);
  await useBackend(backend);
  // A training-mode pass updates batch-norm moving statistics; the probe must leave the model as it found it.
  const saved = model.getWeights().map((w) => tf.clone(w));
  try {
    const info = await tf.profile(() => {
      tf.tidy(() => {
        const xs = dummyInputs(model);
        const run = (): tf.Scalar => {
          const out = model.apply(xs.length === 1 ? xs[0]! : xs, { training: true }) as tf.Tensor | tf.Tensor[];
          const outs = Array.isArray(out) ? out : [out];
          return tf.addN(outs.map((o) => tf.mean(tf.square(o)))) as tf.Scalar;
        };
        if (training) {
          const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
          tf.variableGrads(run, vars);
        } else {
          run();
        }
      });
    });
    // The profiler also records op scopes such as 'fusedMatMul__op'; keep only real kernel names.
    const kernels = [...new Set(info.kernelNames)].filter((k) => tf.getKernel(k, backend) !== undefined).sort();
    let perModel = cache.get(model);
    if (perModel === undefined) cache.set(model, (perModel = new Map()));
    perModel.set(training, kernels);
    return kernels;
  } finally {
    model.setWeights(saved);
    tf.dispose(saved);
    await useBackend(previous);
  }
}

/**
 * Lists the TensorFlow.js kernels a model runs, found by executing it once on the pure-JS `cpu` backend
 * (which implements every kernel) under the profiler, with a tiny zero batch. Results are cached per model.
 *
 * @param model - the model to inspect
 * @param options - `training: true` also runs the backward pass
 * @returns sorted kernel names
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for a model that is not a layers model, options that are not an
 *   object or a `training` that is not a boolean
 * @example
 * ```ts
 * import { buildMlp, initRuntime, requiredKernels } from '@lepton/core';
 * await initRuntime({ backend: 'cpu' });
 * console.log(await requiredKernels(buildMlp({ inputDim: 3 }), { training: true }));
 * ```
 */
export async function requiredKernels(model: tfl.LayersModel, options: KernelCheckOptions = {}): Promise<string[]> {
  checkLayersModel(model, 'requiredKernels');
  const training = flagOption(options, 'training', 'requiredKernels');
  return cache.get(model)?.get(training) ?? probe(model, training, 'cpu');
}

/** `options[name]`: true or false (`'false'` was truthy), `fallback` when absent; options must be an object. */
function flagOption(options: object, name: string, what: string, fallback = false): boolean {
  if (options === null || typeof options !== 'object') throw new LeptonError('INVALID_ARGUMENT', `${what}: options must be an object, got ${describeValue(options)}.`);
  const v: unknown = (options as Record<string, unknown>)[name];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw new LeptonError('INVALID_ARGUMENT', `${what}: ${name} must be true or false, got ${describeValue(v)}.`);
  return v;
}

const MISSING_KERNEL = /Kernel '[^']+' not registered for backend/;

/**
 * Kernels from `kernels` that `backend` does not implement.
 *
 * @param kernels - kernel names (from {@link requiredKernels})
 * @param backend - backend name
 * @returns the missing kernel names
 * @throws {@link LeptonError} `INVALID_ARGUMENT` unless `kernels` is an array of names and `backend` a string
 */
export function missingKernels(kernels: readonly string[], backend: string): string[] {
  if (!Array.isArray(kernels) || !kernels.every((k) => typeof k === 'string')) {
    throw new LeptonError('INVALID_ARGUMENT', `missingKernels: kernels must be an array of kernel names, got ${describeValue(kernels)}.`);
  }
  if (typeof backend !== 'string') throw new LeptonError('INVALID_ARGUMENT', `missingKernels: backend must be a backend name, got ${describeValue(backend)}.`);
  return kernels.filter((k) => tf.getKernel(k, backend) === undefined);
}

/**
 * Checks up front that the active backend implements every kernel a model needs, by running it once on a tiny
 * batch. When it does not, the work moves to the fastest other backend that does (e.g. training a depthwise-conv
 * model on `wasm`, which lacks `DepthwiseConv2dNativeBackpropFilter`, moves to `cpu`); with `fallback: false` it
 * throws instead. Either way the problem is named before any training starts, never as a TF.js stack trace
 * mid-epoch. The model's weights are left exactly as they were.
 *
 * @param model - the model about to run
 * @param options - `training` to include backward kernels; `fallback` (default true) to allow a switch
 * @returns what was decided
 * @throws {@link LeptonError} `KERNEL_UNAVAILABLE` naming the kernels, when no usable backend has them or
 *   `fallback` is false; `INVALID_ARGUMENT` for a model that is not a layers model, options that are not an object or
 *   a flag that is not a boolean
 */
export async function planBackend(
  model: tfl.LayersModel,
  options: KernelCheckOptions & { fallback?: boolean } = {},
): Promise<BackendPlan> {
  checkLayersModel(model, 'planBackend');
  const training = flagOption(options, 'training', 'planBackend');
  const fallback = flagOption(options, 'fallback', 'planBackend', true);
  const requested = activeBackend();
  let kernels = cache.get(model)?.get(training);
  if (kernels === undefined && requested !== 'cpu') {
    // Fast path: probing on the requested backend itself succeeds exactly when it has every kernel, at that
    // backend's speed. Only when a kernel is missing is the full list taken from the (slow) cpu backend.
    try {
      await probe(model, training, requested);
      return { backend: requested, requested, missing: [], switched: false };
    } catch (err) {
      if (!MISSING_KERNEL.test(err instanceof Error ? err.message : String(err))) throw err;
    }
  }
  kernels ??= await requiredKernels(model, { training });
  const missing = missingKernels(kernels, requested);
  if (missing.length === 0) return { backend: requested, requested, missing, switched: false };
  const what = training ? 'train' : 'run';
  if (!fallback) {
    throw new LeptonError(
      'KERNEL_UNAVAILABLE',
      `Backend '${requested}' has no kernel for ${missing.join(', ')}, which this model needs to ${what}. ` +
        `Use another backend (initRuntime({ backend: 'cpu' })) or allow fallback.`,
      { details: { backend: requested, missing } },
    );
  }
  const order = registeredBackendLoaders();
  const start = order.indexOf(requested);
  for (const candidate of [...order.slice(start + 1), ...order.slice(0, Math.max(start, 0))]) {
    if (tf.findBackendFactory(candidate) === null && candidate !== 'cpu') continue;
    if (missingKernels(kernels, candidate).length > 0) continue;
    try {
      await stageWeightsOnCpu(model);
      await useBackend(candidate);
    } catch {
      continue;
    }
    return { backend: candidate, requested, missing, switched: true };
  }
  throw new LeptonError(
    'KERNEL_UNAVAILABLE',
    `No available backend implements ${missing.join(', ')}, which this model needs to ${what} ('${requested}' lacks them).`,
    { details: { backend: requested, missing } },
  );
}
