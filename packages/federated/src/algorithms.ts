import { describeValue, LeptonError, modelTask, predictBatched, taskMetrics, tf, train, type Task, type TrainData, type TrainOptions } from '@lepton/core';
import { checkData, checkFunction, checkInteger, checkModel, checkNumber, checkObject, invalid, isFloatArray, MAX_LOCAL_EPOCHS } from './validate.js';
import { checkWeightSet, readWeights, specsSize, weightSpecs, writeWeights, type WeightSet, type WeightSpec } from './weights.js';

/*
 * Federated averaging, FedProx and the local-training and evaluation steps a partner runs.
 *
 * Error codes raised here: `FEDERATED_BAD_UPDATE` (an update whose length differs from the others or that holds
 * NaN/infinite values), `INVALID_ARGUMENT` (no updates, a negative sample count, a bad `mu`), `SHAPE_MISMATCH`
 * (global weights that do not fit the model).
 */

/** A loss function of `(yTrue, yPred)`, as `train()` accepts it: per-sample losses (or a scalar). */
export type LossFn = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;

/** A FedProx loss: a {@link LossFn} that holds the global weights on the backend until {@link FedProxLoss.dispose}. */
export interface FedProxLoss extends LossFn {
  /** The proximal coefficient μ. */
  readonly mu: number;
  /** Frees the global-weight tensors the loss holds; call it when training is over. */
  dispose(): void;
}

/** One partner's contribution to {@link fedAvg}. */
export interface WeightedUpdate {
  /** Flat weights or weight deltas (all updates of one round have the same length). */
  values: Float32Array;
  /** Training samples behind the update: its weight in the mean (≥ 0; at least one update must be > 0). */
  samples: number;
}

/** Options for {@link trainLocal}. Every field is optional. */
export interface LocalTrainOptions {
  /** `'fedavg'` trains on the plain loss; `'fedprox'` adds (μ/2)·‖w − w_global‖². Default `'fedavg'`. */
  algorithm?: 'fedavg' | 'fedprox';
  /** FedProx proximal coefficient μ ≥ 0. Default 0.01. Ignored for `'fedavg'`. */
  mu?: number;
  /** Local epochs per round (1 to 65,536). Default 1. */
  epochs?: number;
  /** Samples per gradient step (a positive integer). Default 32. */
  batchSize?: number;
  /** Learning rate (a finite number > 0). Default 1e-3. */
  learningRate?: number;
  /** Optimiser (a fresh one each round, so no optimiser state leaks between rounds). Default `'adam'`. */
  optimizer?: 'adam' | 'sgd' | 'rmsprop';
  /** Seed for shuffling and dropout, an integer (vary it per round, e.g. `seed + round`). */
  seed?: number;
  /** Base loss; default the task's (binary → binary cross-entropy, multiclass → categorical, regression → MSE). */
  loss?: string | LossFn;
  /** Output meaning. Default: what the model's builder recorded. */
  task?: Task;
  /** Class weights, as for `train()`. */
  classWeight?: 'balanced' | Record<number, number>;
  /** Progress events, as for `train()`. */
  onProgress?: TrainOptions['onProgress'];
}

/** What one partner's local training produced. */
export interface LocalUpdate {
  /** Local weights minus the global weights, flat, in `model.getWeights()` order. */
  delta: Float32Array;
  /** Samples trained on: the update's weight in {@link fedAvg}. */
  samples: number;
  /** Training metrics of the last local epoch (`loss`, which for FedProx includes the proximal term). */
  metrics: Record<string, number>;
}

/**
 * Federated averaging (McMahan et al. 2017): the sample-weighted mean Σ nₖ·uₖ / Σ nₖ of the partners' updates. The
 * mean is linear, so it applies equally to full weights and to deltas (global + mean of deltas = mean of weights).
 * Accumulates in float64.
 *
 * @param updates - one per partner: values and sample count
 * @returns the weighted mean
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for no updates, an update that is not `{values: Float32Array,
 *   samples}`, a negative or non-finite sample count, or a total of 0 (or one too large to hold); `FEDERATED_BAD_UPDATE`
 *   when an update's length differs from the first's or it holds NaN/infinite values (also one weighted 0), or the mean
 *   does not fit float32
 * @example
 * ```ts
 * import { fedAvg } from '@lepton/federated';
 * const mean = fedAvg([
 *   { values: new Float32Array([1, 2]), samples: 1 },
 *   { values: new Float32Array([4, 8]), samples: 2 },
 * ]);
 * console.log(Array.from(mean)); // [3, 6]
 * ```
 */
export function fedAvg(updates: readonly WeightedUpdate[]): Float32Array {
  if (!Array.isArray(updates)) invalid(`fedAvg: updates must be an array of {values, samples}, got ${describeValue(updates)}.`);
  if (updates.length === 0) throw new LeptonError('INVALID_ARGUMENT', 'fedAvg: no updates to average.');
  let n = -1;
  let total = 0;
  for (let k = 0; k < updates.length; k++) {
    const u = updates[k] as Partial<WeightedUpdate> | undefined | null;
    if (typeof u !== 'object' || u === null) invalid(`fedAvg: update ${k} must be {values, samples}, got ${describeValue(u)}.`);
    if (!(typeof u.samples === 'number' && Number.isFinite(u.samples) && u.samples >= 0)) {
      throw new LeptonError('INVALID_ARGUMENT', `fedAvg: update ${k} has sample count ${describeValue(u.samples)}; it must be a finite number ≥ 0.`);
    }
    if (!isFloatArray(u.values)) invalid(`fedAvg: update ${k} values must be a Float32Array, got ${describeValue(u.values)}.`);
    if (n < 0) n = u.values.length;
    if (u.values.length !== n) {
      throw new LeptonError('FEDERATED_BAD_UPDATE', `fedAvg: update ${k} has ${u.values.length} values but update 0 has ${n}.`, {
        details: { update: k, expected: n, got: u.values.length },
      });
    }
    // Every update is checked, a zero-weight one too: a NaN update is refused, never silently left out.
    const v = u.values;
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(v[i]!)) {
        throw new LeptonError('FEDERATED_BAD_UPDATE', `fedAvg: update ${k} holds NaN or infinite values (index ${i}).`, { details: { update: k, index: i } });
      }
    }
    total += u.samples;
  }
  if (!(total > 0)) throw new LeptonError('INVALID_ARGUMENT', 'fedAvg: the updates have 0 samples in total; nothing to weight by.');
  // A total that overflows would make every weight 0 and the mean all zeros.
  if (!Number.isFinite(total)) throw new LeptonError('INVALID_ARGUMENT', 'fedAvg: the sample counts add up to more than a number can hold; use real sample counts.');
  const acc = new Float64Array(n);
  for (const u of updates) {
    if (u.samples === 0) continue;
    const w = u.samples / total;
    const v = u.values;
    for (let i = 0; i < n; i++) acc[i]! += w * v[i]!;
  }
  const out = Float32Array.from(acc);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(out[i]!)) {
      throw new LeptonError('FEDERATED_BAD_UPDATE', `fedAvg: the mean at index ${i} is ${acc[i]}, which float32 cannot hold.`, { details: { index: i } });
    }
  }
  return out;
}

/** Layers' named losses; each returns per-sample losses, exactly what `model.compile({ loss: name })` would use. */
function namedLoss(name: string): LossFn {
  const m = tf.metrics;
  const table: Record<string, LossFn> = {
    binaryCrossentropy: m.binaryCrossentropy,
    categoricalCrossentropy: m.categoricalCrossentropy,
    sparseCategoricalCrossentropy: (yTrue, yPred) =>
      tf.tidy(() => {
        // tfjs-layers' own definition: integer labels → one-hot, then categorical cross-entropy on clipped probabilities.
        const eps = tf.backend().epsilon();
        const out = tf.clipByValue(yPred, eps, 1 - eps);
        const k = out.shape[out.shape.length - 1]!;
        const labels = tf.cast(tf.floor(tf.reshape(yTrue, [-1])), 'int32');
        return m.categoricalCrossentropy(tf.reshape(tf.oneHot(labels, k), out.shape), out);
      }),
    meanSquaredError: m.meanSquaredError,
    mse: m.meanSquaredError,
    MSE: m.meanSquaredError,
    meanAbsoluteError: m.meanAbsoluteError,
    mae: m.meanAbsoluteError,
    MAE: m.meanAbsoluteError,
    meanAbsolutePercentageError: m.meanAbsolutePercentageError,
    mape: m.meanAbsolutePercentageError,
    MAPE: m.meanAbsolutePercentageError,
    cosineProximity: m.cosineProximity,
  };
  // Own names only: a name from JavaScript may be anything, and `table[{ toString: '' }]` throws a TypeError (while
  // 'constructor' would find Object's).
  const fn = typeof name === 'string' && Object.hasOwn(table, name) ? table[name] : undefined;
  if (fn === undefined) {
    throw new LeptonError('INVALID_ARGUMENT', `fedProxLoss: unknown loss ${describeValue(name)}; use one of ${Object.keys(table).join(', ')} or pass a function.`);
  }
  return fn;
}

/**
 * FedProx (Li et al. 2020): the base loss plus the proximal term (μ/2)·Σ‖w − w_global‖² over the model's trainable
 * weights, which keeps each partner's local model near the global one when partners' data differ (non-IID).
 *
 * The term is computed from the model's variables each time the loss is called, so its gradient, μ·(w − w_global),
 * flows to the weights when `train()` differentiates the loss. It is a scalar added to every sample's base loss, so
 * after the batch mean it counts exactly once (with class weights whose batch mean is not 1 it is scaled by that mean).
 * Non-trainable weights (batch-norm statistics) are not pulled.
 *
 * @param base - the base loss: a tfjs-layers loss name (`'binaryCrossentropy'`, `'categoricalCrossentropy'`,
 *   `'sparseCategoricalCrossentropy'`, `'meanSquaredError'`, `'meanAbsoluteError'` …) or a function
 * @param model - the model being trained (its trainable variables are read inside the loss)
 * @param global - the global weights of this round, with the model's specs
 * @param mu - proximal coefficient μ ≥ 0
 * @returns the loss; call its `dispose()` after training to free the global-weight tensors it holds
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for an unknown loss name, a loss that is neither a name nor a
 *   function, or a bad `mu`; `SHAPE_MISMATCH` when `global`
 *   does not fit the model
 */
export function fedProxLoss(base: string | LossFn, model: tf.LayersModel, global: WeightSet, mu: number): FedProxLoss {
  checkModel(model, 'fedProxLoss');
  checkWeightSet(global, 'fedProxLoss');
  if (!(Number.isFinite(mu) && mu >= 0)) throw new LeptonError('INVALID_ARGUMENT', `fedProxLoss: mu must be a finite number ≥ 0, got ${describeValue(mu)}.`);
  checkFits(model, global, 'fedProxLoss');
  if (typeof base !== 'string' && typeof base !== 'function') {
    throw new LeptonError('INVALID_ARGUMENT', `fedProxLoss: the loss must be a loss name or a function, got ${describeValue(base)}.`);
  }
  const baseFn = typeof base === 'string' ? namedLoss(base) : base;
  const all = model.weights;
  const offsets: number[] = [];
  let offset = 0;
  for (const w of all) {
    offsets.push(offset);
    offset += w.shape.reduce<number>((a, b) => a * (b ?? 0), 1);
  }
  const trainable = model.trainableWeights;
  // Global values as constants, uploaded once (not per batch). tf.keep: the caller may be inside a tidy.
  const anchors = trainable.map((w) => {
    const i = all.indexOf(w);
    const shape = w.shape.map((d) => d ?? 0);
    const size = shape.reduce((a, b) => a * b, 1);
    return tf.keep(tf.tensor(global.values.subarray(offsets[i]!, offsets[i]! + size), shape, 'float32'));
  });
  let disposed = false;
  const loss = ((yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor => {
    if (disposed) throw new LeptonError('INVALID_ARGUMENT', 'fedProxLoss: this loss was disposed; make a new one for the next round.');
    const baseLoss = baseFn(yTrue, yPred);
    if (mu === 0 || trainable.length === 0) return baseLoss;
    // Read the variables here, inside the loss, so the optimiser's gradient tape sees w and the term's gradient
    // reaches them. A copy of the weights taken outside the loss would be a constant with zero gradient.
    const squares = trainable.map((w, k) => tf.sum(tf.square(tf.sub(w.read(), anchors[k]!))));
    const prox = tf.mul(mu / 2, tf.addN(squares));
    return tf.add(baseLoss, prox);
  }) as FedProxLoss;
  Object.defineProperty(loss, 'mu', { value: mu, enumerable: true });
  loss.dispose = () => {
    if (disposed) return;
    disposed = true;
    tf.dispose(anchors);
  };
  return loss;
}

function checkFits(model: tf.LayersModel, set: WeightSet, what: string): WeightSpec[] {
  const specs = weightSpecs(model);
  if (set.values.length !== specsSize(specs) || set.specs.length !== specs.length) {
    throw new LeptonError(
      'SHAPE_MISMATCH',
      `${what}: the weights have ${set.values.length} values in ${set.specs.length} tensors but model ${describeValue(model.name, 64)} has ${specsSize(specs)} in ${specs.length}.`,
    );
  }
  return specs;
}

function defaultLossName(task: Task, model: tf.LayersModel, y: tf.Tensor): string {
  // The same choice train() makes, so FedAvg and FedProx with μ = 0 train on the same loss.
  if (task === 'binary') return 'binaryCrossentropy';
  if (task === 'regression') return 'meanSquaredError';
  const out = model.outputs[0]!.shape;
  return y.rank === out.length && y.shape[y.rank - 1] === out[out.length - 1] ? 'categoricalCrossentropy' : 'sparseCategoricalCrossentropy';
}

const OPTIMIZERS = ['adam', 'sgd', 'rmsprop'];

/**
 * @internal Checks the local-training options {@link trainLocal} passes to `train()` (and a partner's `local`), before
 * any work: epochs 1–65,536 (more never finishes), a positive integer batch size, a positive learning rate, a known
 * optimiser, an integer seed (`seed + round` must stay a number), a loss name or function, a progress function.
 */
export function checkLocalOptions(options: Omit<LocalTrainOptions, 'algorithm' | 'mu'>, what: string): void {
  if (options.epochs !== undefined) checkInteger(options.epochs, `${what}: epochs`, 1, MAX_LOCAL_EPOCHS);
  if (options.batchSize !== undefined) checkInteger(options.batchSize, `${what}: batchSize`, 1);
  if (options.learningRate !== undefined) checkNumber(options.learningRate, `${what}: learningRate`, 0, Number.MAX_VALUE, true);
  if (options.optimizer !== undefined && !OPTIMIZERS.includes(options.optimizer as string)) {
    invalid(`${what}: optimizer must be one of ${OPTIMIZERS.join(', ')}, got ${describeValue(options.optimizer)}.`);
  }
  if (options.seed !== undefined) checkInteger(options.seed, `${what}: seed`, Number.MIN_SAFE_INTEGER);
  if (options.loss !== undefined && typeof options.loss !== 'string' && typeof options.loss !== 'function') {
    invalid(`${what}: loss must be a loss name or a function, got ${describeValue(options.loss)}.`);
  }
  checkFunction(options.onProgress, `${what}: onProgress`, true);
}

/**
 * One partner's local step of a federated round: writes the global weights into the model, trains it on the local
 * data with core's `train()` (all planned epochs, no validation split, no early stopping, no best-epoch restore: the
 * last weights are the update), and returns the delta local − global with the sample count.
 *
 * @param model - the partner's copy of the model (built by the same builder as everybody's); it is left holding the
 *   locally trained weights
 * @param global - the global weights of this round
 * @param data - local training data (never leaves the partner)
 * @param options - see {@link LocalTrainOptions}
 * @returns delta, samples and the last epoch's training metrics
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for options out of range (epochs 1–65,536, an integer seed …) or a
 *   model, weights or data of the wrong type, before any work; `INVALID_INPUT` for NaN or infinite global weights;
 *   `SHAPE_MISMATCH` when `global` or `data` do not fit the model; anything `train()` throws
 * @example
 * ```ts
 * import { buildMlp, initRuntime, tf } from '@lepton/core';
 * import { fedAvg, readWeights, trainLocal } from '@lepton/federated';
 * await initRuntime({ backend: 'cpu' });
 * const model = buildMlp({ inputDim: 2, hiddenUnits: [4], seed: 1 });
 * const global = await readWeights(model);
 * const x = tf.tensor2d([[0, 0], [1, 1], [0, 1], [1, 0]]);
 * const y = tf.tensor2d([[0], [1], [0], [1]]);
 * const update = await trainLocal(model, global, { x, y }, { epochs: 2, seed: 1, algorithm: 'fedprox', mu: 0.1 });
 * const mean = fedAvg([{ values: update.delta, samples: update.samples }]);
 * console.log(mean.length === global.values.length); // true
 * ```
 */
export async function trainLocal(model: tf.LayersModel, global: WeightSet, data: TrainData, options: LocalTrainOptions = {}): Promise<LocalUpdate> {
  checkObject(options, 'trainLocal: options');
  const algorithm = options.algorithm ?? 'fedavg';
  if (algorithm !== 'fedavg' && algorithm !== 'fedprox') {
    throw new LeptonError('INVALID_ARGUMENT', `trainLocal: algorithm must be 'fedavg' or 'fedprox', got ${describeValue(algorithm)}.`);
  }
  checkLocalOptions(options, 'trainLocal');
  if (options.mu !== undefined) checkNumber(options.mu, 'trainLocal: mu', 0);
  checkModel(model, 'trainLocal');
  checkWeightSet(global, 'trainLocal');
  checkData(data, 'trainLocal: data');
  checkFits(model, global, 'trainLocal');
  writeWeights(model, global);
  const task = options.task ?? modelTask(model);
  const base = options.loss ?? defaultLossName(task, model, data.y);
  const prox = algorithm === 'fedprox' ? fedProxLoss(base, model, global, options.mu ?? 0.01) : undefined;
  const trainOptions: TrainOptions = {
    epochs: options.epochs ?? 1,
    batchSize: options.batchSize ?? 32,
    learningRate: options.learningRate ?? 1e-3,
    optimizer: options.optimizer ?? 'adam',
    task,
    loss: prox ?? base,
    earlyStopping: false,
    restoreBestWeights: false,
    validationSplit: 0,
    progressBar: false,
  };
  if (options.seed !== undefined) trainOptions.seed = options.seed;
  if (options.classWeight !== undefined) trainOptions.classWeight = options.classWeight;
  if (options.onProgress !== undefined) trainOptions.onProgress = options.onProgress;
  try {
    const result = await train(model, data, trainOptions);
    const local = (await readWeights(model)).values;
    const delta = new Float32Array(local.length);
    for (let i = 0; i < local.length; i++) delta[i] = local[i]! - global.values[i]!;
    return { delta, samples: result.samples, metrics: { ...result.history.at(-1)!.metrics } };
  } finally {
    prox?.dispose();
  }
}

/**
 * Scores a set of weights on local held-out data without moving the data: writes the weights into the model, predicts
 * in batches and computes the task's metrics (`loss`, `accuracy`, and for binary models `auc`, `average_precision`,
 * `brier`; `mae`, `rmse` for regression), named as `train()` reports them.
 *
 * Asynchronous because the predictions are read back with `data()` (see `taskMetrics`).
 *
 * @param model - the partner's copy of the model; it is left holding `weights`
 * @param weights - the weights to score (e.g. this round's global model)
 * @param data - held-out samples
 * @returns metrics by name
 * @throws {@link @lepton/core!LeptonError} `SHAPE_MISMATCH` when `weights` do not fit the model
 */
export async function evaluateWeights(model: tf.LayersModel, weights: WeightSet, data: TrainData): Promise<Record<string, number>> {
  checkData(data, 'evaluateWeights: data');
  writeWeights(model, weights);
  const pred = predictBatched(model, data.x, 256);
  try {
    return await taskMetrics(modelTask(model), data.y, pred);
  } finally {
    pred.dispose();
  }
}
