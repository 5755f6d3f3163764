import * as tfl from '@tensorflow/tfjs-layers';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { withSeededRandomSync } from '../internal/random.js';
import { buildResidualCnn } from '../models/residual-cnn.js';
import { positiveInt, rate, recordTask, type Task } from '../models/task.js';

/** Raw-image branch of a fusion model: core's residual CNN trunk (up to its global pooling), input named `image`. */
export interface FusionImageOptions {
  /** Image shape `[height, width, channels]`. */
  shape: [number, number, number];
  /** Filters per residual stage. Default `[8, 16, 32]`. */
  filters?: number[];
  /** Residual blocks per stage. Default 1. */
  blocksPerStage?: number;
  /** Global pooling of the trunk: `max` for small focal findings, `average` (default) for whole-image properties. */
  pooling?: 'average' | 'max';
}

/** Precomputed image-embedding branch (e.g. a CNN's pooled features), input named `image_embedding`. */
export interface FusionEmbeddingOptions {
  /** Embedding length. */
  dim: number;
  /** Dense ReLU layers over the embedding. Default `[32]`; `[]` feeds it to the head as it is. */
  units?: number[];
}

/** Tabular branch (already scaled/encoded numeric features), input named `tabular`. */
export interface FusionTabularOptions {
  /** Number of features. */
  features: number;
  /** Dense ReLU layers. Default `[16]`; `[]` feeds the features to the head as they are. */
  units?: number[];
}

/** Sequence branch, input named `sequence` with shape `[timesteps, features]`. */
export interface FusionSequenceOptions {
  /** `gru`, `lstm`, or `conv` (1-D convolutions with global average pooling). */
  kind: 'gru' | 'lstm' | 'conv';
  /** Time steps per sample. */
  timesteps: number;
  /** Features per time step. */
  features: number;
  /** Units (recurrent) or filters (conv) per layer. Default `[16]`. */
  units?: number[];
  /** Convolution kernel size (`conv` only). Default 3. */
  kernelSize?: number;
}

/** Options for {@link buildFusionModel}: at least one branch; `image` and `embedding` exclude each other. */
export interface FusionModelOptions {
  /** Raw-image branch through the residual CNN trunk. */
  image?: FusionImageOptions;
  /** Precomputed image-embedding branch. */
  embedding?: FusionEmbeddingOptions;
  /** Tabular branch. */
  tabular?: FusionTabularOptions;
  /** Sequence branch. */
  sequence?: FusionSequenceOptions;
  /** Output meaning, as core's other builders. Default `binary`. */
  task?: Task;
  /** Output units: classes (`multiclass`) or targets (`regression`). Default 1 (`binary` is always 1). */
  outputUnits?: number;
  /** Dense ReLU layers of the head over the concatenated branches. Default `[32]`. */
  headUnits?: number[];
  /** Dropout before the output layer. Default 0.1. */
  dropout?: number;
  /** Seed for the initial weights. */
  seed?: number;
  /** Model name. Default `fusion`. */
  name?: string;
}

type S = tfl.SymbolicTensor;

function dense(x: S, units: number[], prefix: string): S {
  units.forEach((u, i) => {
    x = tfl.layers.dense({ units: u, activation: 'relu', kernelInitializer: 'heNormal', name: `${prefix}_dense_${i}` }).apply(x) as S;
  });
  return x;
}

const sizes = (units: number[], name: string): number[] => units.map((u, i) => positiveInt(u, `${name}[${i}]`));

function imageBranch(o: FusionImageOptions, seed: number | undefined): { input: S; features: S } {
  if (o.pooling !== undefined && o.pooling !== 'average' && o.pooling !== 'max') {
    throw new LeptonError('INVALID_ARGUMENT', `image.pooling must be 'average' or 'max', got ${describeValue(o.pooling)}.`);
  }
  const cnn = buildResidualCnn({
    inputShape: o.shape,
    numClasses: 1,
    filters: o.filters ?? [8, 16, 32],
    blocksPerStage: o.blocksPerStage ?? 1,
    pooling: o.pooling ?? 'average',
    dropout: 0,
    ...(seed !== undefined ? { seed } : {}),
  });
  // The trunk is the reference CNN up to its global pooling: its layers (and `last_conv`, for Grad-CAM) become part of
  // the fusion graph. Its own classifier is not; free that layer's weights or they would leak.
  const pooled = cnn.getLayer(o.pooling === 'max' ? 'gmp' : 'gap').output as S;
  cnn.getLayer('output').dispose();
  return { input: cnn.inputs[0]!, features: pooled };
}

function sequenceBranch(o: FusionSequenceOptions): { input: S; features: S } {
  if (o.kind !== 'gru' && o.kind !== 'lstm' && o.kind !== 'conv') {
    throw new LeptonError('INVALID_ARGUMENT', `sequence.kind must be 'gru', 'lstm' or 'conv', got ${describeValue(o.kind)}.`);
  }
  const input = tfl.input({ shape: [positiveInt(o.timesteps, 'sequence.timesteps'), positiveInt(o.features, 'sequence.features')], name: 'sequence' });
  const units = sizes(o.units ?? [16], 'sequence.units');
  let x: S = input;
  if (o.kind === 'conv') {
    const kernelSize = positiveInt(o.kernelSize ?? 3, 'sequence.kernelSize');
    units.forEach((f, i) => {
      x = tfl.layers.conv1d({ filters: f, kernelSize, padding: 'same', activation: 'relu', name: `sequence_conv_${i}` }).apply(x) as S;
    });
    x = tfl.layers.globalAveragePooling1d({ name: 'sequence_pool' }).apply(x) as S;
  } else {
    units.forEach((u, i) => {
      const args = { units: u, returnSequences: i < units.length - 1, name: `sequence_${o.kind}_${i}` };
      x = (o.kind === 'lstm' ? tfl.layers.lstm(args) : tfl.layers.gru(args)).apply(x) as S;
    });
  }
  return { input, features: x };
}

/**
 * Early-fusion model: one network over several inputs — an image (raw, through core's residual CNN trunk, or a
 * precomputed embedding), tabular features and a sequence — whose branch features are concatenated and go through a
 * dense head. Inputs come in this order, with these names: `image` or `image_embedding`, `tabular`, `sequence` (only
 * the branches configured); pass `x` to `train()` / `predict()` as an array in that order (`model.inputNames`).
 * Output as core's other builders: `[batch, 1]` sigmoid (`binary`), softmax (`multiclass`), linear (`regression`).
 * Saves and loads with `saveBundle` / `loadBundle` like any core model.
 *
 * @param options - branches, head, task and seed
 * @returns an uncompiled tfjs-layers model (train it with `train()`)
 * @throws {@link LeptonError} `INVALID_ARGUMENT` without any branch, with both `image` and `embedding`, or for a
 *   non-positive size or a dropout outside [0, 1)
 * @example
 * ```ts
 * import { buildFusionModel } from '@lepton/core';
 * const model = buildFusionModel({ image: { shape: [32, 32, 1] }, tabular: { features: 6 }, task: 'binary', seed: 1 });
 * console.log(model.inputNames); // ['image', 'tabular']
 * ```
 */
export function buildFusionModel(options: FusionModelOptions): tfl.LayersModel {
  const task = options.task ?? 'binary';
  if (task !== 'binary' && task !== 'multiclass' && task !== 'regression') {
    throw new LeptonError('INVALID_ARGUMENT', `task must be 'binary', 'multiclass' or 'regression', got ${describeValue(task)}.`);
  }
  if (options.image && options.embedding) {
    throw new LeptonError('INVALID_ARGUMENT', 'Give either image (raw pixels through the CNN trunk) or embedding (precomputed features), not both.');
  }
  if (!options.image && !options.embedding && !options.tabular && !options.sequence) {
    throw new LeptonError('INVALID_ARGUMENT', 'A fusion model needs at least one branch: image or embedding, tabular, sequence.');
  }
  const outputUnits = task === 'binary' ? 1 : positiveInt(options.outputUnits ?? 1, 'outputUnits');
  const headUnits = sizes(options.headUnits ?? [32], 'headUnits');
  const dropout = rate(options.dropout ?? 0.1, 'dropout');
  return withSeededRandomSync(options.seed, () => {
    const inputs: S[] = [];
    const branches: S[] = [];
    if (options.image) {
      const b = imageBranch(options.image, options.seed);
      inputs.push(b.input);
      branches.push(b.features);
    }
    if (options.embedding) {
      const input = tfl.input({ shape: [positiveInt(options.embedding.dim, 'embedding.dim')], name: 'image_embedding' });
      inputs.push(input);
      branches.push(dense(input, sizes(options.embedding.units ?? [32], 'embedding.units'), 'embedding'));
    }
    if (options.tabular) {
      const input = tfl.input({ shape: [positiveInt(options.tabular.features, 'tabular.features')], name: 'tabular' });
      inputs.push(input);
      branches.push(dense(input, sizes(options.tabular.units ?? [16], 'tabular.units'), 'tabular'));
    }
    if (options.sequence) {
      const b = sequenceBranch(options.sequence);
      inputs.push(b.input);
      branches.push(b.features);
    }
    let x = branches.length > 1 ? (tfl.layers.concatenate({ name: 'fusion_concat' }).apply(branches) as S) : branches[0]!;
    x = dense(x, headUnits, 'head');
    if (dropout > 0) x = tfl.layers.dropout({ rate: dropout, name: 'head_dropout' }).apply(x) as S;
    const activation = task === 'binary' ? 'sigmoid' : task === 'multiclass' ? 'softmax' : 'linear';
    const output = tfl.layers.dense({ units: outputUnits, activation, name: 'output' }).apply(x) as S;
    return recordTask(tfl.model({ inputs, outputs: output, name: options.name ?? 'fusion' }), task);
  });
}
