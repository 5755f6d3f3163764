import * as tfl from '@tensorflow/tfjs-layers';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { buildResidualCnn, imageShape } from '../models/residual-cnn.js';
import { boundedInt, buildModel, builderOptions, MAX_BLOCKS_PER_STAGE, modelName, oneOf, positiveInt, rate, recordTask, sizeList, type Task } from '../models/task.js';

/** Raw-image branch of a fusion model: core's residual CNN trunk (up to its global pooling), input named `image`. */
export interface FusionImageOptions {
  /** Image shape `[height, width, channels]`. */
  shape: [number, number, number];
  /** Filters per residual stage. Default `[8, 16, 32]`. */
  filters?: number[];
  /** Residual blocks per stage, 1 to {@link MAX_BLOCKS_PER_STAGE}. Default 1. */
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

/** A branch's options: absent when undefined or null, else an object (`false` or `0` no longer skip a branch silently). */
function branch<T extends object>(value: T | undefined, name: string): T | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new LeptonError('INVALID_ARGUMENT', `buildFusionModel: ${name} must be an object of branch options, got ${describeValue(value)}.`);
  }
  return value;
}

interface ImageBranch {
  shape: [number, number, number];
  filters: number[];
  blocksPerStage: number;
  pooling: 'average' | 'max';
}
interface SequenceBranch {
  kind: 'gru' | 'lstm' | 'conv';
  timesteps: number;
  features: number;
  units: number[];
  kernelSize: number;
}

function imageBranch(o: ImageBranch, seed: number | undefined): { input: S; features: S } {
  const cnn = buildResidualCnn({
    inputShape: o.shape,
    numClasses: 1,
    filters: o.filters,
    blocksPerStage: o.blocksPerStage,
    pooling: o.pooling,
    dropout: 0,
    ...(seed !== undefined ? { seed } : {}),
  });
  // The trunk is the reference CNN up to its global pooling: its layers (and `last_conv`) become part of the fusion
  // graph. Its own classifier is not; free that layer's weights or they would leak. Grad-CAM (and the other
  // explanations) take a model of one input, so they run on an image-only fusion model, not on one with other branches.
  const pooled = cnn.getLayer(o.pooling === 'max' ? 'gmp' : 'gap').output as S;
  cnn.getLayer('output').dispose();
  return { input: cnn.inputs[0]!, features: pooled };
}

function sequenceBranch(o: SequenceBranch): { input: S; features: S } {
  const input = tfl.input({ shape: [o.timesteps, o.features], name: 'sequence' });
  let x: S = input;
  if (o.kind === 'conv') {
    o.units.forEach((f, i) => {
      x = tfl.layers.conv1d({ filters: f, kernelSize: o.kernelSize, padding: 'same', activation: 'relu', name: `sequence_conv_${i}` }).apply(x) as S;
    });
    x = tfl.layers.globalAveragePooling1d({ name: 'sequence_pool' }).apply(x) as S;
  } else {
    o.units.forEach((u, i) => {
      const args = { units: u, returnSequences: i < o.units.length - 1, name: `sequence_${o.kind}_${i}` };
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
 * @throws {@link LeptonError} `INVALID_ARGUMENT` without any branch, with both `image` and `embedding`, for a branch
 *   that is not an object, an unknown task, pooling or sequence kind, a size that is not a whole number in [1, 2^31 −
 *   1], an `image.blocksPerStage` above {@link MAX_BLOCKS_PER_STAGE}, a list of more than {@link MAX_LAYER_LIST} sizes,
 *   a dropout outside [0, 1), a name that is not a string, a seed that is not a finite number, or a weight of more
 *   than 2^28 values (MAX_WEIGHT_VALUES) or otherwise too large to allocate (every option is checked before any layer is
 *   built; nothing is left allocated)
 * @example
 * ```ts
 * import { buildFusionModel } from '@lepton/core';
 * const model = buildFusionModel({ image: { shape: [32, 32, 1] }, tabular: { features: 6 }, task: 'binary', seed: 1 });
 * console.log(model.inputNames); // ['image', 'tabular']
 * ```
 */
export function buildFusionModel(options: FusionModelOptions): tfl.LayersModel {
  builderOptions(options, 'buildFusionModel');
  const task = oneOf<Task>(options.task, ['binary', 'multiclass', 'regression'], 'binary', 'task');
  // Every branch is checked before any layer is built (a bad sequence.kind used to leave the tabular weights behind).
  const imageOptions = branch(options.image, 'image');
  const embeddingOptions = branch(options.embedding, 'embedding');
  const tabularOptions = branch(options.tabular, 'tabular');
  const sequenceOptions = branch(options.sequence, 'sequence');
  if (imageOptions && embeddingOptions) {
    throw new LeptonError('INVALID_ARGUMENT', 'Give either image (raw pixels through the CNN trunk) or embedding (precomputed features), not both.');
  }
  if (!imageOptions && !embeddingOptions && !tabularOptions && !sequenceOptions) {
    throw new LeptonError('INVALID_ARGUMENT', 'A fusion model needs at least one branch: image or embedding, tabular, sequence.');
  }
  const image: ImageBranch | undefined = imageOptions && {
    shape: imageShape(imageOptions.shape, 'image.shape'),
    filters: sizeList(imageOptions.filters, [8, 16, 32], 'image.filters', false),
    blocksPerStage: boundedInt(imageOptions.blocksPerStage ?? 1, 'image.blocksPerStage', MAX_BLOCKS_PER_STAGE),
    pooling: oneOf(imageOptions.pooling, ['average', 'max'], 'average', 'image.pooling'),
  };
  const embedding = embeddingOptions && { dim: positiveInt(embeddingOptions.dim, 'embedding.dim'), units: sizeList(embeddingOptions.units, [32], 'embedding.units') };
  const tabular = tabularOptions && { features: positiveInt(tabularOptions.features, 'tabular.features'), units: sizeList(tabularOptions.units, [16], 'tabular.units') };
  let sequence: SequenceBranch | undefined;
  if (sequenceOptions) {
    if (sequenceOptions.kind == null) throw new LeptonError('INVALID_ARGUMENT', "sequence.kind must be 'gru', 'lstm' or 'conv'.");
    sequence = {
      kind: oneOf(sequenceOptions.kind, ['gru', 'lstm', 'conv'], 'gru', 'sequence.kind'),
      timesteps: positiveInt(sequenceOptions.timesteps, 'sequence.timesteps'),
      features: positiveInt(sequenceOptions.features, 'sequence.features'),
      units: sizeList(sequenceOptions.units, [16], 'sequence.units', false),
      kernelSize: positiveInt(sequenceOptions.kernelSize ?? 3, 'sequence.kernelSize'),
    };
  }
  const outputUnits = task === 'binary' ? 1 : positiveInt(options.outputUnits ?? 1, 'outputUnits');
  const headUnits = sizeList(options.headUnits, [32], 'headUnits');
  const dropout = rate(options.dropout ?? 0.1, 'dropout');
  const name = modelName(options.name, 'fusion', 'buildFusionModel');
  return buildModel('buildFusionModel', options.seed, () => {
    const inputs: S[] = [];
    const branches: S[] = [];
    if (image) {
      const b = imageBranch(image, options.seed);
      inputs.push(b.input);
      branches.push(b.features);
    }
    if (embedding) {
      const input = tfl.input({ shape: [embedding.dim], name: 'image_embedding' });
      inputs.push(input);
      branches.push(dense(input, embedding.units, 'embedding'));
    }
    if (tabular) {
      const input = tfl.input({ shape: [tabular.features], name: 'tabular' });
      inputs.push(input);
      branches.push(dense(input, tabular.units, 'tabular'));
    }
    if (sequence) {
      const b = sequenceBranch(sequence);
      inputs.push(b.input);
      branches.push(b.features);
    }
    let x = branches.length > 1 ? (tfl.layers.concatenate({ name: 'fusion_concat' }).apply(branches) as S) : branches[0]!;
    x = dense(x, headUnits, 'head');
    if (dropout > 0) x = tfl.layers.dropout({ rate: dropout, name: 'head_dropout' }).apply(x) as S;
    const activation = task === 'binary' ? 'sigmoid' : task === 'multiclass' ? 'softmax' : 'linear';
    const output = tfl.layers.dense({ units: outputUnits, activation, name: 'output' }).apply(x) as S;
    return recordTask(tfl.model({ inputs, outputs: output, name }), task);
  });
}
