import * as tfl from '@tensorflow/tfjs-layers';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { boundedInt, buildModel, builderOptions, MAX_BLOCKS_PER_STAGE, modelName, oneOf, positiveInt, rate, recordTask, sizeList } from './task.js';

/** Options for {@link buildResidualCnn}. */
export interface ResidualCnnOptions {
  /** Image shape `[height, width, channels]`, any size and channel count. */
  inputShape: [number, number, number];
  /** Classes. 1 → one sigmoid output (binary); ≥ 2 → softmax. */
  numClasses: number;
  /** Filters of each stage; every stage after the first halves the resolution. Default `[16, 32, 64]`. */
  filters?: number[];
  /** Residual blocks per stage, 1 to {@link MAX_BLOCKS_PER_STAGE}. Default 1. */
  blocksPerStage?: number;
  /** Dropout before the classifier. Default 0.2. */
  dropout?: number;
  /**
   * Global pooling before the classifier: `average` (default) for whole-image properties, `max` for "is there a small
   * finding anywhere" tasks (a nodule, a defect), where averaging would dilute the one region that matters.
   */
  pooling?: 'average' | 'max';
  /** Seed for the initial weights. */
  seed?: number;
  /** Model name. Default `'residual_cnn'`. */
  name?: string;
}

/** Name of the reference CNN's last convolutional activation: the default Grad-CAM target layer. */
export const LAST_CONV_LAYER = 'last_conv';

type S = tfl.SymbolicTensor;

/** @internal `[height, width, channels]`: three positive integers. */
export function imageShape(shape: unknown, name: string): [number, number, number] {
  if (!Array.isArray(shape) || shape.length !== 3) {
    throw new LeptonError('INVALID_ARGUMENT', `${name} must be [height, width, channels], got ${describeValue(shape)}.`);
  }
  return [positiveInt(shape[0], `${name}[0]`), positiveInt(shape[1], `${name}[1]`), positiveInt(shape[2], `${name}[2]`)];
}

function convBn(x: S, filters: number, strides: number, name: string, relu: boolean): S {
  let y = tfl.layers
    .conv2d({ filters, kernelSize: 3, strides, padding: 'same', useBias: false, kernelInitializer: 'heNormal', name: `${name}_conv` })
    .apply(x) as S;
  y = tfl.layers.batchNormalization({ name: `${name}_bn` }).apply(y) as S;
  return relu ? (tfl.layers.activation({ activation: 'relu', name: `${name}_relu` }).apply(y) as S) : y;
}

function residualBlock(x: S, filters: number, strides: number, name: string, last: boolean): S {
  const inChannels = x.shape[x.shape.length - 1];
  let y = convBn(x, filters, strides, `${name}_a`, true);
  y = convBn(y, filters, 1, `${name}_b`, false);
  let shortcut = x;
  if (strides !== 1 || inChannels !== filters) {
    shortcut = tfl.layers
      .conv2d({ filters, kernelSize: 1, strides, padding: 'same', useBias: false, kernelInitializer: 'heNormal', name: `${name}_proj` })
      .apply(x) as S;
    shortcut = tfl.layers.batchNormalization({ name: `${name}_proj_bn` }).apply(shortcut) as S;
  }
  const sum = tfl.layers.add({ name: `${name}_add` }).apply([y, shortcut]) as S;
  return tfl.layers.activation({ activation: 'relu', name: last ? LAST_CONV_LAYER : `${name}_out` }).apply(sum) as S;
}

/**
 * Residual convolutional image classifier (ResNet-style basic blocks with batch normalisation).
 *
 * Input `[batch, height, width, channels]`; output `[batch, 1]` sigmoid when `numClasses` is 1, else
 * `[batch, numClasses]` softmax. The last convolutional activation is named {@link LAST_CONV_LAYER} for Grad-CAM.
 *
 * @param options - input shape, classes, widths and seed
 * @returns an uncompiled tfjs-layers model
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for an `inputShape` that is not three sizes, a dropout outside [0, 1),
 *   an unknown pooling, options that are not an object, a size that is not a whole number in [1, 2^31 − 1], an unknown
 *   task, a flag that is not a boolean, a name that is not a string, a seed that is not a finite number, a
 *   `blocksPerStage` above {@link MAX_BLOCKS_PER_STAGE}, more than {@link MAX_LAYER_LIST} `filters`, or a model too
 *   large to allocate (nothing is left allocated)
 * @example
 * ```ts
 * import { buildResidualCnn } from '@lepton/core';
 * const cnn = buildResidualCnn({ inputShape: [64, 64, 1], numClasses: 2, seed: 7 });
 * console.log(cnn.outputs[0]!.shape); // [null, 2]
 * ```
 */
export function buildResidualCnn(options: ResidualCnnOptions): tfl.LayersModel {
  builderOptions(options, 'buildResidualCnn');
  const [h, w, c] = imageShape(options.inputShape, 'inputShape');
  const numClasses = positiveInt(options.numClasses, 'numClasses');
  const filters = sizeList(options.filters, [16, 32, 64], 'filters', false);
  const blocks = boundedInt(options.blocksPerStage ?? 1, 'blocksPerStage', MAX_BLOCKS_PER_STAGE);
  const dropout = rate(options.dropout ?? 0.2, 'dropout');
  const pooling = oneOf(options.pooling, ['average', 'max'], 'average', 'pooling');
  const name = modelName(options.name, 'residual_cnn', 'buildResidualCnn');
  return buildModel('buildResidualCnn', options.seed, () => {
    const input = tfl.input({ shape: [h, w, c], name: 'image' });
    let x = convBn(input, filters[0]!, 1, 'stem', true);
    filters.forEach((f, stage) => {
      for (let b = 0; b < blocks; b++) {
        const strides = stage > 0 && b === 0 ? 2 : 1;
        const last = stage === filters.length - 1 && b === blocks - 1;
        x = residualBlock(x, f, strides, `stage${stage}_block${b}`, last);
      }
    });
    x = (pooling === 'max' ? tfl.layers.globalMaxPooling2d({ name: 'gmp' }) : tfl.layers.globalAveragePooling2d({ name: 'gap' })).apply(x) as S;
    if (dropout > 0) x = tfl.layers.dropout({ rate: dropout, name: 'head_dropout' }).apply(x) as S;
    const binary = numClasses === 1;
    const output = tfl.layers
      .dense({ units: numClasses, activation: binary ? 'sigmoid' : 'softmax', name: 'output' })
      .apply(x) as S;
    const model = tfl.model({ inputs: input, outputs: output, name });
    return recordTask(model, binary ? 'binary' : 'multiclass');
  });
}
