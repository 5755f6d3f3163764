import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';

// Checks at the public entry points that take a model or tensors: a value that is not one used to fail deep inside
// TF.js with a TypeError ("Cannot read properties of undefined (reading '0')").

/**
 * @internal Throws `INVALID_ARGUMENT` unless `model` looks like a TF.js layers model (inputs, outputs, layers, predict).
 */
export function checkLayersModel(model: unknown, what: string): asserts model is tfl.LayersModel {
  const m = model as Partial<Record<'inputs' | 'outputs' | 'layers' | 'predict', unknown>> | null;
  if (
    m === null ||
    typeof m !== 'object' ||
    typeof m.predict !== 'function' ||
    !Array.isArray(m.inputs) ||
    m.inputs.length === 0 ||
    !Array.isArray(m.outputs) ||
    m.outputs.length === 0 ||
    !Array.isArray(m.layers)
  ) {
    throw new LeptonError('INVALID_ARGUMENT', `${what}: model must be a TF.js layers model, got ${describeValue(model)}.`, { details: { argument: 'model' } });
  }
}

/**
 * @internal Throws `INVALID_INPUT` unless `value` is a live tensor (TF.js' `instanceof` recognises tensors of any
 * copy of tfjs-core).
 */
export function checkTensor(value: unknown, what: string, name: string): asserts value is tf.Tensor {
  if (!(value instanceof tf.Tensor)) {
    throw new LeptonError('INVALID_INPUT', `${what}: ${name} must be a tensor, got ${describeValue(value)}.`, { details: { argument: name } });
  }
  if (value.isDisposed) throw new LeptonError('INVALID_INPUT', `${what}: ${name} has been disposed.`, { details: { argument: name } });
}

/** @internal One tensor or a non-empty array of tensors, as a model's `x`. */
export function checkInputs(value: unknown, what: string, name: string): asserts value is tf.Tensor | tf.Tensor[] {
  if (Array.isArray(value)) {
    if (value.length === 0) throw new LeptonError('INVALID_INPUT', `${what}: ${name} is an empty array; give one tensor per model input.`, { details: { argument: name } });
    value.forEach((t, i) => checkTensor(t, what, `${name}[${i}]`));
  } else {
    checkTensor(value, what, name);
  }
}
