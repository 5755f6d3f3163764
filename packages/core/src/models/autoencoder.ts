import * as tfl from '@tensorflow/tfjs-layers';
import { buildModel, builderOptions, modelName, positiveInt, recordTask, sizeList } from './task.js';

/** Options for {@link buildDenseAutoencoder}. */
export interface DenseAutoencoderOptions {
  /** Features per sample. */
  inputDim: number;
  /** Encoder hidden units; the decoder mirrors them. Default `[32]`. */
  hiddenUnits?: number[];
  /** Bottleneck size. Default 8. */
  latentDim?: number;
  /** Seed for the initial weights. */
  seed?: number;
  /** Model name. Default `'dense_autoencoder'`. */
  name?: string;
}

/** Options for {@link buildLstmAutoencoder}. */
export interface LstmAutoencoderOptions {
  /** Time steps per window. */
  timesteps: number;
  /** Features per time step. */
  features: number;
  /** Encoder/decoder LSTM units. Default 32. */
  units?: number;
  /** Bottleneck size. Default 16. */
  latentDim?: number;
  /** Seed for the initial weights. */
  seed?: number;
  /** Model name. Default `'lstm_autoencoder'`. */
  name?: string;
}

type S = tfl.SymbolicTensor;

/**
 * Dense autoencoder for tabular or flattened data; its reconstruction error is an anomaly score.
 *
 * Input `[batch, inputDim]`; output `[batch, inputDim]` (linear reconstruction). Train with `x` as both input
 * and target.
 *
 * @param options - sizes and seed
 * @returns an uncompiled tfjs-layers model
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for options that are not an object, a size that is not a whole number
 *   in [1, 2^31 − 1], an unknown task, a flag that is not a boolean, a name that is not a string, a seed that is not a
 *   finite number, or a weight of more than 2^28 values (MAX_WEIGHT_VALUES) or otherwise too large to allocate (nothing
 *   is left allocated)
 * @example
 * ```ts
 * import { buildDenseAutoencoder } from '@lepton/core';
 * const ae = buildDenseAutoencoder({ inputDim: 20, latentDim: 4 });
 * console.log(ae.outputs[0]!.shape); // [null, 20]
 * ```
 */
export function buildDenseAutoencoder(options: DenseAutoencoderOptions): tfl.LayersModel {
  builderOptions(options, 'buildDenseAutoencoder');
  const inputDim = positiveInt(options.inputDim, 'inputDim');
  const hidden = sizeList(options.hiddenUnits, [32], 'hiddenUnits');
  const latent = positiveInt(options.latentDim ?? 8, 'latentDim');
  const name = modelName(options.name, 'dense_autoencoder', 'buildDenseAutoencoder');
  return buildModel('buildDenseAutoencoder', options.seed, () => {
    const input = tfl.input({ shape: [inputDim], name: 'features' });
    let x: S = input;
    hidden.forEach((u, i) => {
      x = tfl.layers.dense({ units: u, activation: 'relu', name: `enc${i}` }).apply(x) as S;
    });
    x = tfl.layers.dense({ units: latent, activation: 'linear', name: 'latent' }).apply(x) as S;
    [...hidden].reverse().forEach((u, i) => {
      x = tfl.layers.dense({ units: u, activation: 'relu', name: `dec${i}` }).apply(x) as S;
    });
    const output = tfl.layers.dense({ units: inputDim, name: 'reconstruction' }).apply(x) as S;
    return recordTask(tfl.model({ inputs: input, outputs: output, name }), 'regression');
  });
}

/**
 * LSTM sequence-to-sequence autoencoder for windows of multivariate time series.
 *
 * Input `[batch, timesteps, features]`; output `[batch, timesteps, features]`. The encoder LSTM compresses
 * the window to `latentDim`, which is repeated over time and decoded by a second LSTM.
 *
 * @param options - window shape, sizes and seed
 * @returns an uncompiled tfjs-layers model
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for options that are not an object, a size that is not a whole number
 *   in [1, 2^31 − 1], an unknown task, a flag that is not a boolean, a name that is not a string, a seed that is not a
 *   finite number, or a weight of more than 2^28 values (MAX_WEIGHT_VALUES) or otherwise too large to allocate (nothing
 *   is left allocated)
 * @example
 * ```ts
 * import { buildLstmAutoencoder } from '@lepton/core';
 * const ae = buildLstmAutoencoder({ timesteps: 20, features: 3 });
 * console.log(ae.outputs[0]!.shape); // [null, 20, 3]
 * ```
 */
export function buildLstmAutoencoder(options: LstmAutoencoderOptions): tfl.LayersModel {
  builderOptions(options, 'buildLstmAutoencoder');
  const timesteps = positiveInt(options.timesteps, 'timesteps');
  const features = positiveInt(options.features, 'features');
  const units = positiveInt(options.units ?? 32, 'units');
  const latent = positiveInt(options.latentDim ?? 16, 'latentDim');
  const name = modelName(options.name, 'lstm_autoencoder', 'buildLstmAutoencoder');
  return buildModel('buildLstmAutoencoder', options.seed, () => {
    const input = tfl.input({ shape: [timesteps, features], name: 'sequence' });
    let x = tfl.layers.lstm({ units, returnSequences: false, name: 'encoder' }).apply(input) as S;
    x = tfl.layers.dense({ units: latent, activation: 'tanh', name: 'latent' }).apply(x) as S;
    x = tfl.layers.repeatVector({ n: timesteps, name: 'repeat' }).apply(x) as S;
    x = tfl.layers.lstm({ units, returnSequences: true, name: 'decoder' }).apply(x) as S;
    const output = tfl.layers
      .timeDistributed({ layer: tfl.layers.dense({ units: features }), name: 'reconstruction' })
      .apply(x) as S;
    return recordTask(tfl.model({ inputs: input, outputs: output, name }), 'regression');
  });
}
