import * as tfl from '@tensorflow/tfjs-layers';
import { LeptonError } from '../errors/lepton-error.js';
import { CausalConv1D, registerLeptonLayers } from './causal-conv.js';
import { buildModel, builderOptions, modelName, oneOf, positiveInt, rate, recordTask, sizeList, type Task } from './task.js';

/** Sequence architecture: dilated causal temporal convolutions, LSTM or GRU. */
export type SequenceKind = 'tcn' | 'lstm' | 'gru';

/** What a sequence model predicts. */
export type SequenceTask = 'binary' | 'multiclass' | 'regression' | 'forecast';

/** Options for {@link buildSequenceModel}. */
export interface SequenceModelOptions {
  /** Architecture. */
  kind: SequenceKind;
  /** Time steps per window. */
  timesteps: number;
  /** Features per time step. */
  features: number;
  /** Output meaning. Default `'regression'`. */
  task?: SequenceTask;
  /** Classes (`multiclass`) or regression targets (`regression`, `forecast`). Default 1. */
  outputUnits?: number;
  /** Forecast horizon in steps (`forecast` only). Default 1. */
  horizon?: number;
  /** Recurrent units (LSTM/GRU) or filters (TCN) per layer. Default `[32]` (TCN: `[32, 32, 32]`). */
  units?: number[];
  /** TCN kernel size. Default 3. Dilations double per layer (1, 2, 4 …). */
  kernelSize?: number;
  /** Dropout before the output layer. Default 0.1. */
  dropout?: number;
  /** Seed for the initial weights. */
  seed?: number;
  /** Model name. Default `'<kind>_<task>'`. */
  name?: string;
}

type S = tfl.SymbolicTensor;

function tcnStack(input: S, filters: number[], kernelSize: number): S {
  let x = input;
  filters.forEach((f, i) => {
    let y = new CausalConv1D({ filters: f, kernelSize, dilation: 2 ** i, activation: 'relu', name: `tcn${i}_conv` }).apply(x) as S;
    y = tfl.layers.layerNormalization({ name: `tcn${i}_norm` }).apply(y) as S;
    const inChannels = x.shape[x.shape.length - 1];
    const shortcut = inChannels === f ? x : (tfl.layers.dense({ units: f, name: `tcn${i}_proj` }).apply(x) as S);
    x = tfl.layers.add({ name: `tcn${i}_add` }).apply([y, shortcut]) as S;
  });
  // The last time step sees the whole receptive field through the causal convolutions.
  const steps = x.shape[1] as number;
  const channels = x.shape[2] as number;
  x = tfl.layers.reshape({ targetShape: [steps, 1, channels], name: 'as_image' }).apply(x) as S;
  return tfl.layers.cropping2D({ cropping: [[steps - 1, 0], [0, 0]], name: 'last_step' }).apply(x) as S;
}

function recurrentStack(x: S, units: number[], kind: 'lstm' | 'gru'): S {
  units.forEach((u, i) => {
    const args = { units: u, returnSequences: i < units.length - 1, name: `${kind}${i}` };
    x = (kind === 'lstm' ? tfl.layers.lstm(args) : tfl.layers.gru(args)).apply(x) as S;
  });
  return x;
}

/**
 * 1-D sequence model over windows of multivariate time series: temporal convolutions (causal, dilated,
 * residual), LSTM or GRU, with a classification, regression or multi-step forecasting head.
 *
 * Input `[batch, timesteps, features]`. Output: `binary` `[batch, 1]` sigmoid; `multiclass`
 * `[batch, outputUnits]` softmax; `regression` `[batch, outputUnits]`; `forecast` `[batch, horizon, outputUnits]`.
 *
 * @param options - architecture, window shape, task and seed
 * @returns an uncompiled tfjs-layers model
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for an unknown kind, empty `units`, a dropout outside [0, 1), options
 *   that are not an object, a size that is not a whole number in [1, 2^31 − 1], an unknown task, a flag that is not a
 *   boolean, a name that is not a string, a seed that is not a finite number, or a weight of more than 2^28 values
 *   (MAX_WEIGHT_VALUES) or otherwise too large to allocate (nothing is left allocated)
 * @example
 * ```ts
 * import { buildSequenceModel } from '@lepton/core';
 * const m = buildSequenceModel({ kind: 'gru', timesteps: 30, features: 4, task: 'forecast', horizon: 5 });
 * console.log(m.outputs[0]!.shape); // [null, 5, 1]
 * ```
 */
export function buildSequenceModel(options: SequenceModelOptions): tfl.LayersModel {
  builderOptions(options, 'buildSequenceModel');
  // Required: null (JSON's 'not set') is refused like undefined, not taken for the default.
  if (options.kind == null) throw new LeptonError('INVALID_ARGUMENT', "buildSequenceModel: kind must be 'tcn', 'lstm' or 'gru'.");
  const kind = oneOf<SequenceKind>(options.kind, ['tcn', 'lstm', 'gru'], 'tcn', 'kind');
  const timesteps = positiveInt(options.timesteps, 'timesteps');
  const features = positiveInt(options.features, 'features');
  const task = oneOf<SequenceTask>(options.task, ['binary', 'multiclass', 'regression', 'forecast'], 'regression', 'task');
  const outputUnits = task === 'binary' ? 1 : positiveInt(options.outputUnits ?? 1, 'outputUnits');
  const horizon = positiveInt(options.horizon ?? 1, 'horizon');
  const units = sizeList(options.units, kind === 'tcn' ? [32, 32, 32] : [32], 'units', false);
  const kernelSize = positiveInt(options.kernelSize ?? 3, 'kernelSize');
  const dropout = rate(options.dropout ?? 0.1, 'dropout');
  const name = modelName(options.name, `${kind}_${task}`, 'buildSequenceModel');
  registerLeptonLayers();
  return buildModel('buildSequenceModel', options.seed, () => {
    const input = tfl.input({ shape: [timesteps, features], name: 'sequence' });
    let x = kind === 'tcn' ? tcnStack(input, units, kernelSize) : recurrentStack(input, units, kind);
    if (kind === 'tcn') x = tfl.layers.flatten({ name: 'flatten' }).apply(x) as S;
    if (dropout > 0) x = tfl.layers.dropout({ rate: dropout, name: 'head_dropout' }).apply(x) as S;
    let output: S;
    let modelTask: Task;
    if (task === 'forecast') {
      x = tfl.layers.dense({ units: horizon * outputUnits, name: 'forecast_dense' }).apply(x) as S;
      output = tfl.layers.reshape({ targetShape: [horizon, outputUnits], name: 'output' }).apply(x) as S;
      modelTask = 'regression';
    } else {
      const activation = task === 'binary' ? 'sigmoid' : task === 'multiclass' ? 'softmax' : 'linear';
      output = tfl.layers.dense({ units: outputUnits, activation, name: 'output' }).apply(x) as S;
      modelTask = task;
    }
    const model = tfl.model({ inputs: input, outputs: output, name });
    return recordTask(model, modelTask);
  });
}
