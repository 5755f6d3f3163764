import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { LAST_CONV_LAYER } from '../models/residual-cnn.js';
import { modelTask, recordTask } from '../models/task.js';

/** Options for {@link foldBatchNorm}. */
export interface FoldBatchNormOptions {
  /**
   * Names of layers whose output must stay observable in the folded model, with the same values (Grad-CAM targets,
   * feature taps). Such a layer is never removed, and a convolution named here is never rewritten. Replaces the
   * default `['last_conv']` ({@link LAST_CONV_LAYER}, the residual CNN's Grad-CAM layer).
   */
  keep?: readonly string[];
}

/** One inbound reference in a functional config: `[layerName, nodeIndex, tensorIndex, kwargs]`. */
type Ref = [string, number, number, Record<string, unknown>?];
interface LayerEntry {
  name: string;
  className: string;
  config: Record<string, unknown>;
  inboundNodes: Ref[][];
}
interface GraphConfig {
  name: string;
  layers: LayerEntry[];
  inputLayers: Ref[];
  outputLayers: Ref[];
}

/**
 * Layers a batch norm can be folded into, and the weight (by its name after the last `/`) that holds the output
 * channel on its last axis. DepthwiseConv2D's kernel is `[kh, kw, inChannels, multiplier]` with output channel
 * `c · multiplier + m`, so its scale is reshaped to the last two axes.
 */
const PRODUCERS: Readonly<Record<string, string>> = {
  Conv1D: 'kernel',
  Conv2D: 'kernel',
  Dense: 'kernel',
  SeparableConv2D: 'pointwise_kernel',
  DepthwiseConv2D: 'depthwise_kernel',
};

/** Activations a convolution applies exactly as the separate layer did (TF.js fuses relu into Conv2D/Dense; relu6 runs right after). */
const FOLDABLE_ACTIVATIONS = new Set(['relu', 'relu6', 'linear']);

interface Fold {
  producer: string;
  removed: string[];
  activation: string;
  /** Per output channel: γ/√(σ²+ε) and the new bias (b − μ)·γ/√(σ²+ε) + β. */
  scale: Float32Array;
  bias: Float32Array;
}

const suffix = (v: tfl.LayerVariable): string => v.originalName.slice(v.originalName.lastIndexOf('/') + 1);

function weightMap(layer: tfl.layers.Layer): Map<string, tf.Tensor> {
  return new Map(layer.weights.map((v) => [suffix(v), v.read()]));
}

/** The layer's only input, when it has one call with one input and no call arguments; else undefined. */
function onlyInput(entry: LayerEntry): Ref | undefined {
  const node = entry.inboundNodes.length === 1 ? entry.inboundNodes[0] : undefined;
  const ref = node?.length === 1 ? node[0] : undefined;
  if (ref === undefined || ref[1] !== 0 || ref[2] !== 0 || Object.keys(ref[3] ?? {}).length > 0) return undefined;
  return ref;
}

/** The activation an `Activation` or `ReLU` layer applies, when a convolution can apply it instead. */
function foldableActivation(entry: LayerEntry): string | undefined {
  let name: unknown;
  if (entry.className === 'Activation') name = entry.config['activation'];
  if (entry.className === 'ReLU') {
    const max = entry.config['maxValue'];
    name = max === null || max === undefined ? 'relu' : max === 6 ? 'relu6' : undefined;
  }
  return typeof name === 'string' && FOLDABLE_ACTIVATIONS.has(name) ? name : undefined;
}

/** γ/√(σ²+ε) and (b − μ)·γ/√(σ²+ε) + β per channel, computed in float64; undefined when any is not finite. */
function affine(bn: tfl.layers.Layer, epsilon: number, producer: tfl.layers.Layer, values: Values): { scale: Float32Array; bias: Float32Array } | undefined {
  const w = weightMap(bn);
  const read = (key: string): Float32Array | undefined => {
    const t = w.get(key);
    return t === undefined ? undefined : values.get(t);
  };
  const mean = read('moving_mean');
  const variance = read('moving_variance');
  if (mean === undefined || variance === undefined) return undefined;
  const gamma = read('gamma');
  const beta = read('beta');
  const producerBias = weightMap(producer).get('bias');
  const oldBias = producerBias === undefined ? undefined : values.get(producerBias);
  const n = mean.length;
  if (variance.length !== n || (oldBias !== undefined && oldBias.length !== n)) return undefined;
  const scale = new Float32Array(n);
  const bias = new Float32Array(n);
  for (let c = 0; c < n; c++) {
    const s = (gamma?.[c] ?? 1) / Math.sqrt(variance[c]! + epsilon);
    const b = ((oldBias?.[c] ?? 0) - mean[c]!) * s + (beta?.[c] ?? 0);
    // A NaN here would come from a broken BN (negative variance, NaN statistics): leave that BN as it is.
    if (!Number.isFinite(s) || !Number.isFinite(b)) return undefined;
    scale[c] = s;
    bias[c] = b;
  }
  return { scale, bias };
}

/** Weight values read back from the backend before planning: batch-norm statistics and biases. */
type Values = Map<tf.Tensor, Float32Array>;

/**
 * Reads every batch-norm weight and every bias with `await data()`. Never `dataSync()`: on `webgpu` in Node a
 * synchronous read of a GPU tensor throws (`OffscreenCanvas is not defined`), and on any GPU it stalls the queue —
 * the backend-parity suite catches it.
 */
async function readValues(graph: tfl.LayersModel): Promise<Values> {
  const values: Values = new Map();
  for (const layer of graph.layers) {
    const bn = layer.getClassName() === 'BatchNormalization';
    for (const v of layer.weights) {
      if (!bn && suffix(v) !== 'bias') continue;
      const t = v.read();
      values.set(t, (await t.data()) as Float32Array);
    }
  }
  return values;
}

/** Decides what to fold, on the original graph only (so one fold never changes another's conditions). */
function planFolds(graph: tfl.LayersModel, config: GraphConfig, keep: ReadonlySet<string>, values: Values): Fold[] {
  const byName = new Map(config.layers.map((l) => [l.name, l]));
  const readers = new Map<string, string[]>();
  for (const l of config.layers) {
    for (const ref of l.inboundNodes.flat()) readers.set(ref[0], [...(readers.get(ref[0]) ?? []), l.name]);
  }
  const outputs = new Set(config.outputLayers.map((r) => r[0]));
  // Removing an output layer would rename a model output; a kept layer must keep computing what it did.
  const fixed = (name: string): boolean => outputs.has(name) || keep.has(name);
  const folds: Fold[] = [];
  for (const bnEntry of config.layers) {
    if (bnEntry.className !== 'BatchNormalization' || fixed(bnEntry.name)) continue;
    const ref = onlyInput(bnEntry);
    const p = ref === undefined ? undefined : byName.get(ref[0]);
    const kernelKey = p === undefined ? undefined : PRODUCERS[p.className];
    if (p === undefined || kernelKey === undefined || fixed(p.name) || p.inboundNodes.length !== 1) continue;
    if (readers.get(p.name)?.length !== 1) continue; // another layer reads the pre-BN values
    if ((p.config['activation'] ?? 'linear') !== 'linear') continue;
    if ((p.config['dataFormat'] ?? 'channelsLast') !== 'channelsLast') continue;
    const bn = graph.getLayer(bnEntry.name);
    const rank = (bn.outputShape as Array<number | null>).length;
    const axis = bnEntry.config['axis'];
    if (axis !== -1 && axis !== rank - 1) continue; // not the channel axis
    const epsilon = bnEntry.config['epsilon'];
    if (typeof epsilon !== 'number') continue;
    const producer = graph.getLayer(p.name);
    const kernel = weightMap(producer).get(kernelKey);
    const channels = kernel === undefined ? -1 : p.className === 'DepthwiseConv2D' ? kernel.shape[2]! * kernel.shape[3]! : kernel.shape[kernel.shape.length - 1]!;
    const coefficients = affine(bn, epsilon, producer, values);
    if (coefficients === undefined || coefficients.scale.length !== channels) continue;
    const fold: Fold = { producer: p.name, removed: [bnEntry.name], activation: 'linear', ...coefficients };
    const bnReaders = readers.get(bnEntry.name) ?? [];
    const next = bnReaders.length === 1 ? byName.get(bnReaders[0]!) : undefined;
    const activation = next === undefined ? undefined : foldableActivation(next);
    if (next !== undefined && activation !== undefined && !fixed(next.name) && onlyInput(next) !== undefined) {
      fold.removed.push(next.name);
      fold.activation = activation;
    }
    folds.push(fold);
  }
  return folds;
}

/**
 * A copy of a layer config with every weight constraint (at any depth, so wrapped layers too) removed. Why: a
 * LayerVariable re-applies its constraint on every write, so copying weights into a constrained clone would clip
 * them (initial weights are never projected, and a folded kernel is scaled past any max-norm), changing the model's
 * function. Constraints only matter to training, which the folded model is not for.
 */
function withoutConstraints<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutConstraints) as T;
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, k.endsWith('Constraint') ? null : withoutConstraints(v)]),
  ) as T;
}

/**
 * `depthMultiplier` of every SeparableConv2D in `model` (nested models included), by layer name. TF.js 4.22's
 * `SeparableConv.getConfig()` leaves it out, so a saved or rebuilt model gets the default 1 and its weights no longer
 * fit ("Shape mismatch: [3,3,2,1] vs. [3,3,2,2]").
 *
 * @internal
 */
export function separableDepthMultipliers(model: tfl.LayersModel): Map<string, number> {
  const found = new Map<string, number>();
  const visit = (layers: readonly tfl.layers.Layer[]): void => {
    for (const layer of layers) {
      const multiplier = (layer as { depthMultiplier?: unknown }).depthMultiplier;
      if (layer.getClassName() === 'SeparableConv2D' && typeof multiplier === 'number') found.set(layer.name, multiplier);
      const inner = (layer as { layers?: unknown }).layers;
      if (Array.isArray(inner)) visit(inner as tfl.layers.Layer[]);
    }
  };
  visit(model.layers);
  return found;
}

/**
 * Writes each SeparableConv2D's `depthMultiplier` (from {@link separableDepthMultipliers}) into a model config or
 * topology, wherever a layer entry of that class appears (nested models included), under `key` (`depth_multiplier`
 * in a saved topology, `depthMultiplier` in `getConfig()`). Mutates `config`.
 *
 * @internal
 */
export function patchDepthMultipliers(config: unknown, multipliers: ReadonlyMap<string, number>, key: 'depth_multiplier' | 'depthMultiplier'): void {
  if (multipliers.size === 0) return;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const entry = node as { class_name?: unknown; className?: unknown; config?: unknown };
    const cls = entry.class_name ?? entry.className;
    if (cls === 'SeparableConv2D' && entry.config !== null && typeof entry.config === 'object') {
      const layerConfig = entry.config as Record<string, unknown>;
      const multiplier = typeof layerConfig['name'] === 'string' ? multipliers.get(layerConfig['name']) : undefined;
      if (multiplier !== undefined) layerConfig[key] = multiplier;
    }
    for (const value of Object.values(node)) visit(value);
  };
  visit(config);
}

/** The config with every fold applied: BN (and activation) entries dropped, their readers wired to the producer. */
function rewrite(config: GraphConfig, folds: Fold[]): GraphConfig {
  const replacement = new Map<string, string>();
  const producers = new Map<string, Fold>();
  for (const f of folds) {
    f.removed.forEach((r) => replacement.set(r, f.producer));
    producers.set(f.producer, f);
  }
  const rewire = (ref: Ref): Ref => {
    const to = replacement.get(ref[0]);
    return to === undefined ? ref : [to, 0, 0, ...ref.slice(3)] as Ref;
  };
  const layers = config.layers
    .filter((l) => !replacement.has(l.name))
    .map((l) => {
      const fold = producers.get(l.name);
      const layerConfig = withoutConstraints(fold === undefined ? l.config : { ...l.config, useBias: true, activation: fold.activation });
      return { ...l, config: layerConfig, inboundNodes: l.inboundNodes.map((node) => node.map(rewire)) };
    });
  return { ...config, layers };
}

/** Weights of a folded producer, in the new layer's order: scaled kernel, new bias, anything else unchanged. */
function foldedWeights(fresh: tfl.layers.Layer, old: tfl.layers.Layer, fold: Fold): tf.Tensor[] {
  const kernelKey = PRODUCERS[old.getClassName()]!;
  const oldWeights = weightMap(old);
  return fresh.weights.map((v) => {
    const key = suffix(v);
    if (key === 'bias') return tf.tensor1d(fold.bias);
    const w = oldWeights.get(key);
    if (w === undefined) throw new Error(`no weight '${key}' in layer '${old.name}'`);
    if (key !== kernelKey) return w;
    const shape = old.getClassName() === 'DepthwiseConv2D' ? [w.shape[2]!, w.shape[3]!] : [w.shape[w.shape.length - 1]!];
    return tf.mul(w, tf.tensor(fold.scale, shape));
  });
}

function checkArguments(model: tfl.LayersModel, options: FoldBatchNormOptions): void {
  const m = model as unknown as Partial<tfl.LayersModel> | null;
  if (typeof m !== 'object' || m === null || typeof m.getConfig !== 'function' || !Array.isArray(m.layers)) {
    throw new LeptonError('INVALID_ARGUMENT', 'foldBatchNorm needs a tfjs-layers model (tf.LayersModel); pass the model, not a bundle or a graph model.');
  }
  if (options === null || typeof options !== 'object') throw new LeptonError('INVALID_ARGUMENT', `foldBatchNorm: options must be an object, got ${describeValue(options)}.`);
  const keep: unknown = options.keep;
  if (keep !== undefined && !(Array.isArray(keep) && keep.every((k) => typeof k === 'string'))) {
    throw new LeptonError('INVALID_ARGUMENT', 'options.keep must be an array of layer names.');
  }
  if (!Array.isArray(m.inputs) || m.inputs.length === 0) {
    throw new LeptonError('INVALID_MODEL', `Model '${String(m.name)}' has no inputs yet; give its first layer an inputShape.`);
  }
}

/**
 * Folds batch normalisation into the convolution (or dense layer) before it, for inference: a trained BN is a fixed
 * per-channel affine map, so `conv → BN` equals one convolution with kernel·γ/√(σ²+ε) and bias
 * (b − μ)·γ/√(σ²+ε) + β, and a ReLU that only reads that BN becomes the convolution's activation, which TF.js runs as a
 * single fused kernel (one FusedConv2D with bias and relu instead of FusedConv2D + FusedBatchNorm + Relu).
 *
 * Folded: a `BatchNormalization` on the channel axis (−1) whose only input is a Conv1D, Conv2D, DepthwiseConv2D,
 * SeparableConv2D or Dense layer (channels-last, linear activation, called once, read by nothing else); readers of
 * the BN then read the convolution. If the BN's only reader is an `Activation` (relu, relu6, linear) or `ReLU`
 * layer (no max or max 6), that layer is folded too. Left as they are: BN after anything else or on another axis,
 * BN whose input is also read elsewhere, shared layers, layers called with arguments, nested models, output layers
 * (so output names do not change), layers named in `options.keep` (`last_conv` by default), and BN whose statistics
 * give non-finite values. Dropout stays (it is the identity at inference). Sequential models are folded through
 * their functional graph, so they come back as a functional model. Layer names of the survivors, input and output
 * names and shapes, the task and user metadata are kept.
 *
 * The result is always a new, uncompiled, inference-only model (a plain clone when there is nothing to fold): the
 * caller owns it and disposes it; the original is not modified. Layers that are not folded share their weight data
 * with the original by reference count, so the clone costs memory only for the folded weights. Do not train the
 * result: a batch norm's statistics no longer adapt once folded.
 *
 * @param model - a built functional or sequential tfjs-layers model
 * @param options - layers to keep observable
 * @returns (a promise of) a new model computing the same function (to float32 rounding) with fewer layers
 * @throws {@link LeptonError} `INVALID_ARGUMENT` when `model` is not a layers model or `keep` is not a list of
 *   names; `INVALID_MODEL` when the model has no inputs, or cannot be rebuilt from its config (a custom layer not
 *   registered with `tf.serialization.registerClass`)
 * @example
 * ```ts
 * import { buildResidualCnn, foldBatchNorm, initRuntime, tf } from '@lepton/core';
 * await initRuntime({ backend: 'cpu' });
 * const cnn = buildResidualCnn({ inputShape: [32, 32, 1], numClasses: 2, filters: [8, 16] });
 * const fast = await foldBatchNorm(cnn);
 * console.log(fast.layers.some((l) => l.getClassName() === 'BatchNormalization')); // false
 * const x = tf.randomNormal([4, 32, 32, 1]);
 * (fast.predict(x) as tf.Tensor).print(); // the same probabilities as cnn.predict(x)
 * ```
 */
export async function foldBatchNorm(model: tfl.LayersModel, options: FoldBatchNormOptions = {}): Promise<tfl.LayersModel> {
  checkArguments(model, options);
  // A Sequential's own config has no inbound nodes; its functional view has, over the same layer objects.
  const graph = model.getClassName() === 'Sequential' ? tfl.model({ inputs: model.inputs, outputs: model.outputs, name: model.name }) : model;
  const config = graph.getConfig() as unknown as GraphConfig;
  // TF.js 4.22 leaves SeparableConv2D's depthMultiplier out of its config: put it back, or the rebuild fails.
  patchDepthMultipliers(config, separableDepthMultipliers(graph), 'depthMultiplier');
  const folds = planFolds(graph, config, new Set(options.keep ?? [LAST_CONV_LAYER]), await readValues(graph));
  const byProducer = new Map(folds.map((f) => [f.producer, f]));
  let folded: tfl.LayersModel | undefined;
  try {
    // fastWeightInit: every weight is overwritten below, so skip the (slow) initialisers.
    const rebuilt = tfl.LayersModel.fromConfig(tfl.LayersModel, rewrite(config, folds) as unknown as tf.serialization.ConfigDict, {}, true);
    folded = rebuilt as tfl.LayersModel;
    for (const fresh of folded.layers) {
      const old = graph.getLayer(fresh.name);
      const fold = byProducer.get(fresh.name);
      // setWeights assigns by reference: unchanged weights share the original's data; folded ones are new tensors,
      // which the tidy releases once the variables hold them.
      tf.tidy(() => fresh.setWeights(fold === undefined ? old.getWeights() : foldedWeights(fresh, old, fold)));
    }
  } catch (cause) {
    folded?.dispose();
    throw new LeptonError(
      'INVALID_MODEL',
      `Could not rebuild model '${model.name}' to fold its batch norms: ${cause instanceof Error ? cause.message : String(cause)}. ` +
        'Register custom layers with tf.serialization.registerClass, or serve the model unfolded.',
      { cause },
    );
  }
  const metadata = model.getUserDefinedMetadata();
  if (metadata !== undefined) folded.setUserDefinedMetadata(metadata);
  return recordTask(folded, modelTask(model));
}
