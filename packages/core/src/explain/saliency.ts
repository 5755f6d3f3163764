import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { optionsObject } from '../metrics/validate.js';
import { ensureRuntime } from '../runtime/init.js';
import { asBatchOfOne, checkFinite, resolveClassIndex, targetScore } from './target.js';

/** A per-pixel importance map in [0, 1], row-major `height × width`. */
export interface Heatmap {
  /** Importance per pixel in [0, 1], row-major (`data[row * width + col]`), length `height × width`. */
  data: Float32Array;
  /** Map width in pixels (the model's input width). */
  width: number;
  /** Map height in pixels (the model's input height). */
  height: number;
  /** Output unit that was explained. */
  classIndex: number;
}

/** Options for {@link saliencyMap} and `gradCam()`. */
export interface HeatmapOptions {
  /** Output unit to explain. Default: the predicted class (the single unit of a sigmoid model). */
  classIndex?: number;
}

/**
 * Gradient saliency: |∂ score / ∂ pixel|, maximum over channels, scaled to [0, 1].
 *
 * @param model - an image model with input `[batch, height, width, channels]`
 * @param image - one image, `[height, width, channels]` or `[1, height, width, channels]`
 * @param options - class to explain
 * @returns the heatmap at input resolution
 * @throws {@link LeptonError} `SHAPE_MISMATCH` for an image of the wrong shape, `INVALID_INPUT` for an image that is
 *   not a live tensor, `EXPLAIN_UNSUPPORTED` for a model whose input is not `[batch, height, width, channels]`,
 *   `INVALID_MODEL` for a model of several inputs or outputs, `INVALID_ARGUMENT` for a bad class index, options that
 *   are not an object or a model that is not a layers model
 * @example
 * ```ts
 * import { buildResidualCnn, initRuntime, saliencyMap, tf } from '@lepton/core';
 * await initRuntime({ backend: 'cpu' });
 * const cnn = buildResidualCnn({ inputShape: [16, 16, 1], numClasses: 2, filters: [4] });
 * const map = await saliencyMap(cnn, tf.zeros([16, 16, 1]));
 * console.log(map.width, map.height); // 16 16
 * ```
 */
export async function saliencyMap(model: tfl.LayersModel, image: tf.Tensor, options: HeatmapOptions = {}): Promise<Heatmap> {
  await ensureRuntime();
  const o = optionsObject(options, 'saliencyMap');
  const x = asBatchOfOne(model, image, 'saliencyMap');
  try {
    const classIndex = await resolveClassIndex(model, x, o.classIndex);
    const map = tf.tidy(() => {
      const grad = tf.grad((inp: tf.Tensor) => targetScore(model.apply(inp) as tf.Tensor, classIndex))(x);
      const m = tf.squeeze(tf.max(tf.abs(grad), -1), [0]);
      return tf.div(m, tf.maximum(tf.max(m), 1e-12));
    });
    const [height, width] = map.shape as [number, number];
    const data = (await map.data()) as Float32Array;
    map.dispose();
    checkFinite(data, 'saliencyMap');
    return { data, width, height, classIndex };
  } finally {
    if (x !== image) x.dispose();
  }
}
