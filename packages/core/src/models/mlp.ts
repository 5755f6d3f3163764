import * as tfl from '@tensorflow/tfjs-layers';
import { buildModel, builderOptions, flag, modelName, oneOf, positiveInt, rate, recordTask, sizeList, type Task } from './task.js';

/** Options for {@link buildMlp}. */
export interface MlpOptions {
  /** Number of input features. */
  inputDim: number;
  /** Units of each hidden layer. Default `[64, 32]`. */
  hiddenUnits?: number[];
  /** Output meaning. Default `'binary'`. */
  task?: Task;
  /** Output units: classes for `multiclass`, targets for `regression`. Default 1 (`binary` is always 1). */
  outputUnits?: number;
  /** Dropout after each hidden layer. Default 0.1. */
  dropout?: number;
  /** Batch normalisation after each hidden layer. Default false. */
  batchNorm?: boolean;
  /** Seed for the initial weights. */
  seed?: number;
  /** Model name. Default `'mlp'`. */
  name?: string;
}

/**
 * Multilayer perceptron for tabular data.
 *
 * Input `[batch, inputDim]`; output `[batch, 1]` sigmoid for `binary`, `[batch, outputUnits]` softmax for
 * `multiclass`, `[batch, outputUnits]` linear for `regression`.
 *
 * @param options - layer sizes, task and seed
 * @returns an uncompiled tfjs-layers model (train it with `train()`)
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for a dropout outside [0, 1), options that are not an object, a size
 *   that is not a whole number in [1, 2^31 − 1], an unknown task, a flag that is not a boolean, a name that is not a
 *   string, a seed that is not a finite number, or a weight of more than 2^28 values (MAX_WEIGHT_VALUES) or otherwise
 *   too large to allocate (nothing is left allocated)
 * @example
 * ```ts
 * import { buildMlp } from '@lepton/core';
 * const model = buildMlp({ inputDim: 12, hiddenUnits: [32, 16], task: 'binary', seed: 1 });
 * console.log(model.outputs[0]!.shape); // [null, 1]
 * ```
 */
export function buildMlp(options: MlpOptions): tfl.LayersModel {
  builderOptions(options, 'buildMlp');
  const task = oneOf<Task>(options.task, ['binary', 'multiclass', 'regression'], 'binary', 'task');
  const inputDim = positiveInt(options.inputDim, 'inputDim');
  const hidden = sizeList(options.hiddenUnits, [64, 32], 'hiddenUnits');
  const outputUnits = task === 'binary' ? 1 : positiveInt(options.outputUnits ?? 1, 'outputUnits');
  const dropout = rate(options.dropout ?? 0.1, 'dropout');
  const batchNorm = flag(options.batchNorm, false, 'batchNorm');
  const name = modelName(options.name, 'mlp', 'buildMlp');
  return buildModel('buildMlp', options.seed, () => {
    const input = tfl.input({ shape: [inputDim], name: 'features' });
    let x: tfl.SymbolicTensor = input;
    hidden.forEach((units, i) => {
      x = tfl.layers.dense({ units, kernelInitializer: 'heNormal', name: `dense_${i}` }).apply(x) as tfl.SymbolicTensor;
      if (batchNorm) x = tfl.layers.batchNormalization({ name: `bn_${i}` }).apply(x) as tfl.SymbolicTensor;
      x = tfl.layers.activation({ activation: 'relu', name: `relu_${i}` }).apply(x) as tfl.SymbolicTensor;
      if (dropout > 0) x = tfl.layers.dropout({ rate: dropout, name: `dropout_${i}` }).apply(x) as tfl.SymbolicTensor;
    });
    const activation = task === 'binary' ? 'sigmoid' : task === 'multiclass' ? 'softmax' : 'linear';
    const output = tfl.layers.dense({ units: outputUnits, activation, name: 'output' }).apply(x) as tfl.SymbolicTensor;
    return recordTask(tfl.model({ inputs: input, outputs: output, name }), task);
  });
}
