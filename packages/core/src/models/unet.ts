import * as tfl from '@tensorflow/tfjs-layers';
import { LeptonError } from '../errors/lepton-error.js';
import { withSeededRandomSync } from '../internal/random.js';
import { positiveInt, recordTask } from './task.js';

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
 * @throws {@link LeptonError} `INVALID_ARGUMENT` when height/width are not divisible by 2^depth
 * @example
 * ```ts
 * import { buildUnet } from '@lepton/core';
 * const unet = buildUnet({ inputShape: [32, 32, 1], depth: 2, baseFilters: 8 });
 * console.log(unet.outputs[0]!.shape); // [null, 32, 32, 1]
 * ```
 */
export function buildUnet(options: UnetOptions): tfl.LayersModel {
  const [h, w, c] = options.inputShape.map((v, i) => positiveInt(v, `inputShape[${i}]`)) as [number, number, number];
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
  return withSeededRandomSync(options.seed, () => {
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
    const model = tfl.model({ inputs: input, outputs: output, name: options.name ?? 'unet' });
    return recordTask(model, numClasses === 1 ? 'binary' : 'multiclass');
  });
}
