import * as tfl from '@tensorflow/tfjs-layers';
import { LeptonError } from '../errors/lepton-error.js';
import { imageShape } from './residual-cnn.js';
import { buildModel, builderOptions, modelName, positiveInt, recordTask } from './task.js';

/** Options for {@link buildUnet}. */
export interface UnetOptions {
  /** Image shape `[height, width, channels]`; height and width must be divisible by 2^depth. */
  inputShape: [number, number, number];
  /** Classes per pixel. 1 → sigmoid mask (binary); ≥ 2 → softmax over classes. Default 1. */
  numClasses?: number;
  /** Filters of the first level, doubled at each level down. Default 16. */
  baseFilters?: number;
  /** Down-sampling levels. Default 3. */
  depth?: number;
  /** Seed for the initial weights. */
  seed?: number;
  /** Model name. Default `'unet'`. */
  name?: string;
}

type S = tfl.SymbolicTensor;

function doubleConv(x: S, filters: number, name: string): S {
  for (const i of [1, 2]) {
    x = tfl.layers
      .conv2d({ filters, kernelSize: 3, padding: 'same', kernelInitializer: 'heNormal', name: `${name}_conv${i}` })
      .apply(x) as S;
    x = tfl.layers.batchNormalization({ name: `${name}_bn${i}` }).apply(x) as S;
    x = tfl.layers.activation({ activation: 'relu', name: `${name}_relu${i}` }).apply(x) as S;
  }
  return x;
}

/**
 * U-Net segmenter: an encoder–decoder with skip connections.
 *
 * Input `[batch, height, width, channels]`; output `[batch, height, width, 1]` sigmoid when `numClasses` is 1,
 * else `[batch, height, width, numClasses]` softmax.
 *
 * @param options - input shape, classes, width, depth and seed
 * @returns an uncompiled tfjs-layers model
 * @throws {@link LeptonError} `INVALID_ARGUMENT` when height/width are not divisible by 2^depth, for an `inputShape`
 *   that is not three sizes, options that are not an object, a size that is not a whole number in [1, 2^31 − 1], an
 *   unknown task, a flag that is not a boolean, a name that is not a string, a seed that is not a finite number, or a
 *   weight of more than 2^28 values (MAX_WEIGHT_VALUES) or otherwise too large to allocate (nothing is left allocated)
 * @example
 * ```ts
 * import { buildUnet } from '@lepton/core';
 * const unet = buildUnet({ inputShape: [32, 32, 1], depth: 2, baseFilters: 8 });
 * console.log(unet.outputs[0]!.shape); // [null, 32, 32, 1]
 * ```
 */
export function buildUnet(options: UnetOptions): tfl.LayersModel {
  builderOptions(options, 'buildUnet');
  const [h, w, c] = imageShape(options.inputShape, 'inputShape');
  const depth = positiveInt(options.depth ?? 3, 'depth');
  const base = positiveInt(options.baseFilters ?? 16, 'baseFilters');
  const numClasses = positiveInt(options.numClasses ?? 1, 'numClasses');
  const factor = 2 ** depth;
  if (h % factor !== 0 || w % factor !== 0) {
    throw new LeptonError(
      'INVALID_ARGUMENT',
      `U-Net input ${h}×${w} must be divisible by 2^depth = ${factor}; pad or resize the images, or lower depth.`,
    );
  }
  const name = modelName(options.name, 'unet', 'buildUnet');
  return buildModel('buildUnet', options.seed, () => {
    const input = tfl.input({ shape: [h, w, c], name: 'image' });
    const skips: S[] = [];
    let x: S = input;
    for (let level = 0; level < depth; level++) {
      x = doubleConv(x, base * 2 ** level, `down${level}`);
      skips.push(x);
      x = tfl.layers.maxPooling2d({ poolSize: 2, name: `pool${level}` }).apply(x) as S;
    }
    x = doubleConv(x, base * 2 ** depth, 'bottleneck');
    for (let level = depth - 1; level >= 0; level--) {
      x = tfl.layers
        .conv2dTranspose({ filters: base * 2 ** level, kernelSize: 2, strides: 2, padding: 'same', name: `up${level}_tconv` })
        .apply(x) as S;
      x = tfl.layers.concatenate({ name: `up${level}_concat` }).apply([x, skips[level]!]) as S;
      x = doubleConv(x, base * 2 ** level, `up${level}`);
    }
    const output = tfl.layers
      .conv2d({ filters: numClasses, kernelSize: 1, activation: numClasses === 1 ? 'sigmoid' : 'softmax', name: 'mask' })
      .apply(x) as S;
    const model = tfl.model({ inputs: input, outputs: output, name });
    return recordTask(model, numClasses === 1 ? 'binary' : 'multiclass');
  });
}
