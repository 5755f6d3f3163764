import type * as tfl from '@tensorflow/tfjs-layers';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';

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
 * @example
 * ```ts
 * import { buildMlp, modelTask } from '@lepton/core';
 * modelTask(buildMlp({ inputDim: 4, task: 'binary' })); // 'binary'
 * ```
 */
export function modelTask(model: tfl.LayersModel): Task {
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

/** @internal Validates a positive integer option with a message naming it. */
export function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new LeptonError('INVALID_ARGUMENT', `${name} must be a positive integer, got ${describeValue(value)}.`);
  }
  return value;
}

/** @internal Validates a rate in [0, 1). */
export function rate(value: number, name: string): number {
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) {
    throw new LeptonError('INVALID_ARGUMENT', `${name} must be a number in [0, 1), got ${describeValue(value)}.`);
  }
  return value;
}
