import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { ensureRuntime } from '../runtime/init.js';
import { resolveClassIndex } from './target.js';

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
  /** Riemann steps along the path (trapezoid rule). Default 64. */
  steps?: number;
  /** Output unit to explain. Default the predicted class (the single unit of a sigmoid/regression model). */
  outputIndex?: number;
  /** Names for the features, index-aligned. */
  featureNames?: string[];
  /** How many attributions to return in `top`, by absolute size. Default 5. */
  topK?: number;
}

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
 * @throws {@link LeptonError} `SHAPE_MISMATCH` when the input or baseline length is wrong
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
  const shape = model.inputs[0]!.shape.slice(1);
  if (shape.some((d) => d === null)) throw new LeptonError('INVALID_MODEL', 'integratedGradients needs a model with a fixed input shape.');
  const d = (shape as number[]).reduce((a, b) => a * b, 1);
  const baseline = options.baseline ?? new Float32Array(d);
  if (input.length !== d || baseline.length !== d) {
    throw new LeptonError('SHAPE_MISMATCH', `integratedGradients: the model takes ${d} features; input has ${input.length}, baseline ${baseline.length}.`);
  }
  const steps = options.steps ?? 64;
  if (!Number.isInteger(steps) || steps < 1) throw new LeptonError('INVALID_ARGUMENT', `steps must be a positive integer, got ${describeValue(steps)}.`);
  const x = tf.tensor(Float32Array.from(input), [1, ...(shape as number[])]);
  const x0 = tf.tensor(Float32Array.from(baseline), [1, ...(shape as number[])]);
  try {
    const outputIndex = await resolveClassIndex(model, x, options.outputIndex);
    const [attr, scores] = tf.tidy(() => {
      // steps + 1 points from baseline (α = 0) to input (α = 1); trapezoid weights.
      const alphas = tf.reshape(tf.linspace(0, 1, steps + 1), [steps + 1, ...shape.map(() => 1)]);
      const delta = tf.sub(x, x0);
      const path = tf.add(x0, tf.mul(alphas, delta));
      const f = (inp: tf.Tensor): tf.Scalar => {
        const out = tf.reshape(model.apply(inp) as tf.Tensor, [inp.shape[0]!, -1]);
        return tf.sum(tf.slice(out, [0, outputIndex], [-1, 1]));
      };
      const grads = tf.reshape(tf.grad(f)(path), [steps + 1, d]);
      const w = tf.reshape(tf.concat([tf.tensor1d([0.5]), tf.ones([steps - 1]), tf.tensor1d([0.5])]), [steps + 1, 1]);
      const avg = tf.div(tf.sum(tf.mul(grads, w), 0), steps);
      const a = tf.mul(avg, tf.reshape(delta, [d]));
      const out = tf.reshape(model.predict(tf.concat([x, x0])) as tf.Tensor, [2, -1]);
      const s = tf.reshape(tf.slice(out, [0, outputIndex], [2, 1]), [2]);
      return [a, s];
    });
    const attributions = (await attr.data()) as Float32Array;
    const [score, baselineScore] = Array.from(await scores.data()) as [number, number];
    attr.dispose();
    scores.dispose();
    const names = options.featureNames ?? [];
    const top = Array.from(attributions, (attribution, index) => ({
      index,
      feature: names[index] ?? `f${index}`,
      value: input[index]!,
      attribution,
    }))
      .sort((a, b) => Math.abs(b.attribution) - Math.abs(a.attribution))
      .slice(0, options.topK ?? 5);
    const total = attributions.reduce((s, v) => s + v, 0);
    return { attributions, top, score, baselineScore, completenessGap: Math.abs(total - (score - baselineScore)), outputIndex };
  } finally {
    x.dispose();
    x0.dispose();
  }
}
