import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { checkLayersModel } from '../internal/checks.js';
import { checkSeed, withSeededRandomSync } from '../internal/random.js';

/**
 * What a model's output means, which decides its training loss and evaluation metrics:
 * - `binary`: one sigmoid probability per sample (or per pixel for segmentation)
 * - `multiclass`: softmax over classes
 * - `regression`: real values (MSE loss); forecasts and reconstructions are regressions
 */
export type Task = 'binary' | 'multiclass' | 'regression';

const tasks = new WeakMap<tfl.LayersModel, Task>();

/** @internal Builders record the task of the models they make. */
export function recordTask<M extends tfl.LayersModel>(model: M, task: Task): M {
  tasks.set(model, task);
  return model;
}

/**
 * The task of a model: the one its builder recorded, else inferred from the output activation
 * (sigmoid → binary, softmax → multiclass, anything else → regression).
 *
 * @param model - a tfjs-layers model
 * @returns the model's task
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for a value that is not a layers model
 * @example
 * ```ts
 * import { buildMlp, modelTask } from '@lepton/core';
 * modelTask(buildMlp({ inputDim: 4, task: 'binary' })); // 'binary'
 * ```
 */
export function modelTask(model: tfl.LayersModel): Task {
  checkLayersModel(model, 'modelTask');
  const known = tasks.get(model);
  if (known !== undefined) return known;
  const last = model.layers[model.layers.length - 1];
  let config = (last?.getConfig() ?? {}) as Record<string, unknown>;
  const inner = config['layer'] as { config?: Record<string, unknown> } | undefined;
  if (inner?.config !== undefined) config = inner.config;
  const activation = String(config['activation'] ?? last?.getClassName() ?? '').toLowerCase();
  if (activation === 'sigmoid') return 'binary';
  if (activation === 'softmax') return 'multiclass';
  return 'regression';
}

/** Largest size a builder takes for one dimension or layer width: TF.js indexes tensors with 32-bit integers. */
export const MAX_MODEL_DIMENSION = 2 ** 31 - 1;

/**
 * Most values one weight tensor of a built model may hold: 2^28 (1 GiB of float32). A 4 × 2^30 dense kernel was
 * allocated and filled with random numbers for minutes before anything failed; larger ones were a RangeError from TF.js.
 */
export const MAX_WEIGHT_VALUES = 2 ** 28;

/** @internal Validates a positive integer option (at most {@link MAX_MODEL_DIMENSION}) with a message naming it. */
export function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_MODEL_DIMENSION) {
    throw new LeptonError('INVALID_ARGUMENT', `${name} must be a positive integer (at most 2^31 − 1), got ${describeValue(value)}.`);
  }
  return value;
}

/**
 * Most residual blocks per stage a builder takes (`blocksPerStage` of {@link buildResidualCnn} and of
 * `buildFusionModel`'s image branch): 64, i.e. several hundred layers a stage. Each block is about seven layers, so
 * 2^31 − 1 blocks was accepted and never finished building.
 */
export const MAX_BLOCKS_PER_STAGE = 64;

/**
 * Most entries a builder's list of layer sizes takes (`hiddenUnits`, `filters`, `units`, `headUnits` …): 64 layers
 * or stages. A longer list built one layer per entry for as long as it lasted.
 */
export const MAX_LAYER_LIST = 64;

/** @internal A depth knob: a positive integer of at most `max`, with a message naming it. */
export function boundedInt(value: number, name: string, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new LeptonError('INVALID_ARGUMENT', `${name} must be a whole number from 1 to ${max}, got ${describeValue(value)}.`);
  }
  return value;
}

/** @internal A builder's options: a plain object (`null`, a primitive or an array is `INVALID_ARGUMENT`). */
export function builderOptions<T extends object>(options: T, what: string): T {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new LeptonError('INVALID_ARGUMENT', `${what}: options must be an object, got ${describeValue(options)}.`);
  }
  return options;
}

/**
 * @internal A list of layer sizes: `fallback` when undefined or null, else an array of at most {@link MAX_LAYER_LIST}
 * positive integers (`[]` only if `allowEmpty`).
 */
export function sizeList(value: unknown, fallback: number[], name: string, allowEmpty = true): number[] {
  if (value === undefined || value === null) return fallback;
  if (!Array.isArray(value) || (!allowEmpty && value.length === 0) || value.length > MAX_LAYER_LIST) {
    throw new LeptonError('INVALID_ARGUMENT', `${name} must be ${allowEmpty ? 'an' : 'a non-empty'} array of at most ${MAX_LAYER_LIST} positive integers, got ${describeValue(value)}.`);
  }
  return Array.from(value as unknown[], (u, i) => positiveInt(u as number, `${name}[${i}]`));
}

/** @internal One of `allowed`, or `fallback` when undefined or null. */
export function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T, name: string): T {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new LeptonError('INVALID_ARGUMENT', `${name} must be ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describeValue(value)}.`);
  }
  return value as T;
}

/** @internal A boolean option (`'false'` was truthy), `fallback` when undefined or null. */
export function flag(value: unknown, fallback: boolean, name: string): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') throw new LeptonError('INVALID_ARGUMENT', `${name} must be true or false, got ${describeValue(value)}.`);
  return value;
}

/** @internal A model name: a non-empty string, `fallback` when undefined or null. */
export function modelName(value: unknown, fallback: string, what: string): string {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string' || value.length === 0 || value.length > 256) {
    throw new LeptonError('INVALID_ARGUMENT', `${what}: name must be a non-empty string of at most 256 characters, got ${describeValue(value)}.`);
  }
  return value;
}

/**
 * @internal Builds a model with its seed checked (see {@link withSeededRandomSync}) and nothing left behind on failure:
 * no weight tensor may hold more than {@link MAX_WEIGHT_VALUES} values (checked before it is allocated), the weights of
 * the layers built before an error are disposed, and an error from TF.js becomes `INVALID_ARGUMENT`.
 */
export function buildModel<M>(what: string, seed: unknown, build: () => M): M {
  if (seed !== undefined && seed !== null) checkSeed(seed, what);
  const before = new Set(Object.keys(tf.engine().registeredVariables));
  // Every layer allocates its weights through Layer.addWeight: the size is checked there, before the allocation. The
  // build is synchronous, so nothing else runs while the check is in place.
  const proto = tfl.layers.Layer.prototype as unknown as { addWeight: (name: string, shape: unknown, ...rest: unknown[]) => unknown };
  const addWeight = proto.addWeight;
  proto.addWeight = function (this: unknown, name: string, shape: unknown, ...rest: unknown[]): unknown {
    const size = Array.isArray(shape) ? shape.reduce((a: number, d: unknown) => a * (typeof d === 'number' ? d : 1), 1) : 0;
    if (size > MAX_WEIGHT_VALUES) {
      throw new LeptonError(
        'INVALID_ARGUMENT',
        `${what}: weight '${name}' of shape [${(shape as unknown[]).join(', ')}] would hold ${size} values, more than a builder allocates for one weight (2^28, 1 GiB of float32); lower the sizes.`,
        { details: { weight: name, values: size } },
      );
    }
    return addWeight.call(this, name, shape, ...rest);
  };
  try {
    return withSeededRandomSync((seed ?? undefined) as number | undefined, build);
  } catch (err) {
    for (const [name, v] of Object.entries(tf.engine().registeredVariables)) if (!before.has(name)) v.dispose();
    if (err instanceof LeptonError) throw err;
    throw new LeptonError('INVALID_ARGUMENT', `${what}: TF.js could not build the model (${err instanceof Error ? err.message.slice(0, 200) : describeValue(err)}); a size too large to allocate?`, {
      cause: err,
    });
  } finally {
    proto.addWeight = addWeight;
  }
}

/** @internal Validates a rate in [0, 1). */
export function rate(value: number, name: string): number {
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) {
    throw new LeptonError('INVALID_ARGUMENT', `${name} must be a number in [0, 1), got ${describeValue(value)}.`);
  }
  return value;
}
