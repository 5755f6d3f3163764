import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { checkLayersModel } from '../internal/checks.js';
import { lengthOf, numbers, optionsObject } from '../metrics/validate.js';
import { ensureRuntime } from '../runtime/init.js';
import { checkFinite, checkSingleInputOutput, resolveClassIndex } from './target.js';

/** One feature's contribution to a prediction. */
export interface FeatureAttribution {
  /** Feature index in the input vector. */
  index: number;
  /** Feature name (from `featureNames`, else `f<index>`). */
  feature: string;
  /** The sample's value of this feature. */
  value: number;
  /** Signed contribution: positive pushes the score up. */
  attribution: number;
}

/** Options for {@link integratedGradients}. */
export interface IntegratedGradientsOptions {
  /** Reference input (e.g. the training mean after scaling). Default all zeros. */
  baseline?: ArrayLike<number>;
  /** Riemann steps along the path (trapezoid rule), 1 to {@link MAX_IG_STEPS}. Default 64. */
  steps?: number;
  /** Output unit to explain. Default the predicted class (the single unit of a sigmoid/regression model). */
  outputIndex?: number;
  /** Names for the features, index-aligned. */
  featureNames?: string[];
  /** How many attributions to return in `top`, by absolute size. Default 5. */
  topK?: number;
}

/**
 * Most steps {@link integratedGradients} takes: 10,000 (each step is one sample through the model and back; a few
 * hundred are plenty, and `completenessGap` says when more would help).
 */
export const MAX_IG_STEPS = 10_000;

/**
 * Most path samples {@link integratedGradients} sends through the model at once: 128, and fewer for a large input
 * (at most 2^20 input values a batch). The path of `steps + 1` samples runs in batches of this size, so memory does
 * not grow with `steps` (one batch of `steps + 1` samples needed about 16 GiB for 100,000 steps of a small CNN).
 */
export const IG_BATCH_SIZE = 128;

/** What {@link integratedGradients} found. */
export interface IntegratedGradientsResult {
  /** Attribution of every feature, index-aligned with the input. */
  attributions: Float32Array;
  /** The `topK` attributions by absolute size, largest first. */
  top: FeatureAttribution[];
  /** Model score (the explained output unit) at the input. */
  score: number;
  /** Model score (the explained output unit) at the baseline. */
  baselineScore: number;
  /**
   * |Σ attributions − (score − baselineScore)|: integrated gradients' completeness check. Small means enough
   * steps; raise `steps` if it is large relative to the score difference.
   */
  completenessGap: number;
  /** Output unit that was explained (the requested one, else the predicted class). */
  outputIndex: number;
}

/**
 * Integrated gradients for a tabular model: the path integral of the gradient from a baseline to the
 * input, times (input − baseline). Attributions sum to score − baselineScore, so they read as "how much each
 * feature moved this score".
 *
 * @param model - a model with input `[batch, features]`
 * @param input - one sample's features
 * @param options - baseline, steps, output unit, feature names, top-k
 * @returns every attribution and the top-k signed ones
 * @throws {@link LeptonError} `SHAPE_MISMATCH` when the input or baseline length is wrong; `INVALID_INPUT` for an input
 *   or baseline value that is not a finite number; `INVALID_MODEL` for a model of several inputs or outputs, or whose
 *   input shape is not fixed; `INVALID_ARGUMENT` for a model that is not a layers model, options
 *   that are not an object, `steps` outside 1 to {@link MAX_IG_STEPS}, a `topK` that is not a whole number ≥ 0,
 *   `featureNames` that are not strings or a bad `outputIndex`
 * @example
 * ```ts
 * import { buildMlp, initRuntime, integratedGradients } from '@lepton/core';
 * await initRuntime({ backend: 'cpu' });
 * const mlp = buildMlp({ inputDim: 3, seed: 1 });
 * const ig = await integratedGradients(mlp, [0.5, -1, 2], { featureNames: ['amount', 'age', 'velocity'] });
 * console.log(ig.top[0]);
 * ```
 */
export async function integratedGradients(
  model: tfl.LayersModel,
  input: ArrayLike<number>,
  options: IntegratedGradientsOptions = {},
): Promise<IntegratedGradientsResult> {
  await ensureRuntime();
  checkLayersModel(model, 'integratedGradients');
  checkSingleInputOutput(model, 'integratedGradients');
  const o = optionsObject(options, 'integratedGradients');
  const shape = model.inputs[0]!.shape.slice(1);
  if (shape.some((d) => d === null)) throw new LeptonError('INVALID_MODEL', 'integratedGradients needs a model with a fixed input shape.');
  const d = (shape as number[]).reduce((a, b) => a * b, 1);
  const inputLength = lengthOf(input, 'integratedGradients', 'input');
  const baselineLength = o.baseline == null ? d : lengthOf(o.baseline, 'integratedGradients', 'baseline');
  if (inputLength !== d || baselineLength !== d) {
    throw new LeptonError('SHAPE_MISMATCH', `integratedGradients: the model takes ${d} features; input has ${inputLength}, baseline ${baselineLength}.`);
  }
  // Read once and checked before any tensor exists (a Symbol in the baseline leaked the input's tensor; NaN gave NaN
  // attributions).
  const checked = numbers(input, 'integratedGradients', 'input', 'float32');
  const values = Float32Array.from(checked);
  const reference = o.baseline == null ? new Float32Array(d) : Float32Array.from(numbers(o.baseline, 'integratedGradients', 'baseline', 'float32'));
  const steps = o.steps ?? 64;
  if (!Number.isSafeInteger(steps) || steps < 1 || steps > MAX_IG_STEPS) {
    throw new LeptonError('INVALID_ARGUMENT', `steps must be a whole number from 1 to ${MAX_IG_STEPS}, got ${describeValue(steps)}.`);
  }
  const topK = o.topK ?? 5;
  if (!Number.isSafeInteger(topK) || topK < 0) throw new LeptonError('INVALID_ARGUMENT', `topK must be a whole number ≥ 0, got ${describeValue(topK)}.`);
  const names: unknown = o.featureNames ?? [];
  if (!Array.isArray(names) || !names.every((n) => n === undefined || typeof n === 'string')) {
    throw new LeptonError('INVALID_ARGUMENT', `featureNames must be an array of strings, got ${describeValue(names)}.`);
  }
  const x = tf.tensor(values, [1, ...(shape as number[])]);
  const x0 = tf.tensor(reference, [1, ...(shape as number[])]);
  try {
    const outputIndex = await resolveClassIndex(model, x, o.outputIndex);
    // steps + 1 points from baseline (α = 0) to input (α = 1), trapezoid weights; run through the model in batches
    // of at most IG_BATCH_SIZE points (and 2^20 input values), so memory does not grow with steps.
    const batch = Math.max(1, Math.min(IG_BATCH_SIZE, Math.floor(2 ** 20 / Math.max(d, 1))));
    const f = (inp: tf.Tensor): tf.Scalar => {
      const out = tf.reshape(model.apply(inp) as tf.Tensor, [inp.shape[0]!, -1]);
      return tf.sum(tf.slice(out, [0, outputIndex], [-1, 1]));
    };
    const alphas = tf.linspace(0, 1, steps + 1);
    const w = tf.tidy(() => tf.concat([tf.tensor1d([0.5]), tf.ones([steps - 1]), tf.tensor1d([0.5])]));
    const delta = tf.sub(x, x0);
    let sum: tf.Tensor = tf.zeros([d]);
    let attr: tf.Tensor | undefined;
    let scores: tf.Tensor | undefined;
    try {
      for (let start = 0; start <= steps; start += batch) {
        const size = Math.min(batch, steps + 1 - start);
        const next = tf.tidy(() => {
          const a = tf.reshape(tf.slice(alphas, start, size), [size, ...shape.map(() => 1)]);
          const path = tf.add(x0, tf.mul(a, delta));
          const grads = tf.reshape(tf.grad(f)(path), [size, d]);
          const part = tf.sum(tf.mul(grads, tf.reshape(tf.slice(w, start, size), [size, 1])), 0);
          return tf.add(sum, part);
        });
        sum.dispose();
        sum = next;
      }
      [attr, scores] = tf.tidy(() => {
        const a = tf.mul(tf.div(sum, steps), tf.reshape(delta, [d]));
        const out = tf.reshape(model.predict(tf.concat([x, x0])) as tf.Tensor, [2, -1]);
        const s = tf.reshape(tf.slice(out, [0, outputIndex], [2, 1]), [2]);
        return [a, s];
      });
    } finally {
      for (const t of [alphas, w, delta, sum]) t.dispose();
    }
    const attributions = (await attr.data()) as Float32Array;
    const [score, baselineScore] = Array.from(await scores.data()) as [number, number];
    attr!.dispose();
    scores!.dispose();
    checkFinite(attributions, 'integratedGradients');
    checkFinite([score, baselineScore], 'integratedGradients (scores)');
    const top = Array.from(attributions, (attribution, index) => ({
      index,
      feature: (names as Array<string | undefined>)[index] ?? `f${index}`,
      value: checked[index]!,
      attribution,
    }))
      .sort((a, b) => Math.abs(b.attribution) - Math.abs(a.attribution))
      .slice(0, topK);
    const total = attributions.reduce((s, v) => s + v, 0);
    return { attributions, top, score, baselineScore, completenessGap: Math.abs(total - (score - baselineScore)), outputIndex };
  } finally {
    x.dispose();
    x0.dispose();
  }
}
