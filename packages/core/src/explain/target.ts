import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { checkLayersModel, checkTensor } from '../internal/checks.js';

/**
 * @internal Explanations run on a model of one input and one output: `INVALID_MODEL` otherwise (a second input was
 * never fed, and the call failed inside TF.js with a raw `TypeError`).
 */
export function checkSingleInputOutput(model: tfl.LayersModel, what: string): void {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new LeptonError('INVALID_MODEL', `${what} explains a model of one input and one output; this one has ${model.inputs.length} input(s) and ${model.outputs.length} output(s).`);
  }
}

/**
 * @internal For an image model (one input `[batch, height, width, channels]`, one output): adds a batch axis to a
 * single image when needed and checks the shape against the model.
 */
export function asBatchOfOne(model: tfl.LayersModel, input: tf.Tensor, what: string): tf.Tensor {
  checkLayersModel(model, what);
  checkSingleInputOutput(model, what);
  const want = model.inputs[0]!.shape;
  if (want.length !== 4) {
    throw new LeptonError('EXPLAIN_UNSUPPORTED', `${what} explains an image model (input [batch, height, width, channels]); this model's input is [${want.map((d) => d ?? 'batch').join(', ')}]. Use integratedGradients for other models.`);
  }
  checkTensor(input, what, 'image');
  const x = input.rank === want.length - 1 ? tf.expandDims(input, 0) : input;
  const ok = x.rank === want.length && x.shape[0] === 1 && want.every((d, i) => i === 0 || d === null || d === x.shape[i]);
  if (!ok) {
    throw new LeptonError(
      'SHAPE_MISMATCH',
      `Explanations take one sample of shape [${want.slice(1).join(', ')}]; got [${input.shape.join(', ')}].`,
    );
  }
  return x;
}

/**
 * @internal Throws `INVALID_INPUT` when an explanation came out NaN or infinite: from NaN or infinite pixels or features,
 * or a model whose output is not finite (a NaN heatmap used to be returned as if it were one).
 */
export function checkFinite(values: ArrayLike<number>, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new LeptonError('INVALID_INPUT', `${what}: the result is not finite at ${i}; does the input hold NaN or infinite values, or the model compute them?`, {
        details: { index: i },
      });
    }
  }
}

/** @internal The scalar being explained: the chosen output unit of the (single) sample. */
export function targetScore(output: tf.Tensor, classIndex: number): tf.Scalar {
  const flat = tf.reshape(output, [output.shape[0]!, -1]);
  return tf.sum(tf.slice(flat, [0, classIndex], [1, 1]));
}

/**
 * @internal Default class: the arg-max output unit (the only unit of a sigmoid model). Asynchronous: the arg-max is
 * read back with `data()`, since a synchronous read of a GPU tensor throws on `webgpu` in Node.
 */
export async function resolveClassIndex(model: tfl.LayersModel, x: tf.Tensor, classIndex: number | undefined): Promise<number> {
  const units = (model.outputs[0]!.shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
  if (classIndex !== undefined) {
    if (!Number.isInteger(classIndex) || classIndex < 0 || classIndex >= units) {
      throw new LeptonError('INVALID_ARGUMENT', `classIndex ${describeValue(classIndex)} is outside the model's ${units} output unit(s).`);
    }
    return classIndex;
  }
  if (units === 1) return 0;
  const best = tf.tidy(() => tf.argMax(tf.reshape(model.predict(x) as tf.Tensor, [-1])));
  try {
    return (await best.data())[0]!;
  } finally {
    best.dispose();
  }
}
