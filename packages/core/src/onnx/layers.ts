/**
 * TF.js Layers model → ONNX, in memory: walks the functional graph from the model's outputs back to its inputs
 * (through `inboundNodes`, so Sequential models, shared layers and nested models work alike) and emits one or a few
 * ONNX ops per layer (`layer-ops.ts`, `layer-tensor-ops.ts`).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { conv, convTranspose, dense, batchNorm, pool, globalPool, type Emitter, type Weights } from './layer-ops.js';
import { activationLayer, concatenate, cropping, flatten, identity, merge, reshape, upSampling, zeroPadding } from './layer-tensor-ops.js';
import { GraphBuilder, type Value } from './layers-builder.js';
import { encodeOnnxModel, type OnnxValueInfo } from './proto.js';

const EMITTERS: Readonly<Record<string, Emitter>> = {
  Dense: dense,
  Conv1D: conv,
  Conv2D: conv,
  DepthwiseConv2D: conv,
  Conv2DTranspose: convTranspose,
  BatchNormalization: batchNorm,
  MaxPooling1D: pool,
  MaxPooling2D: pool,
  AveragePooling1D: pool,
  AveragePooling2D: pool,
  GlobalAveragePooling1D: globalPool,
  GlobalAveragePooling2D: globalPool,
  GlobalMaxPooling1D: globalPool,
  GlobalMaxPooling2D: globalPool,
  Activation: activationLayer,
  ReLU: activationLayer,
  LeakyReLU: activationLayer,
  ELU: activationLayer,
  Softmax: activationLayer,
  Add: merge,
  Multiply: merge,
  Subtract: merge,
  Average: merge,
  Maximum: merge,
  Minimum: merge,
  Concatenate: concatenate,
  Flatten: flatten,
  Reshape: reshape,
  ZeroPadding2D: zeroPadding,
  Cropping2D: cropping,
  UpSampling2D: upSampling,
  Dropout: identity,
  SpatialDropout1D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
};

/**
 * The TF.js Layers classes {@link layersModelToOnnx} converts (besides `InputLayer` and nested models made of these).
 * Conv1D/Conv2D/DepthwiseConv2D/Conv2DTranspose/pooling/up-sampling only with `dataFormat: 'channelsLast'` (TF.js'
 * default); activations `linear`, `relu`, `relu6`, `sigmoid`, `tanh`, `softmax`, `elu`, `selu`, `softplus`,
 * `softsign`, `hardSigmoid`, `swish`. Recurrent layers (LSTM, GRU), LayerNormalization, Embedding and custom layers
 * are not converted.
 */
export const ONNX_CONVERTIBLE_LAYERS: readonly string[] = Object.freeze(Object.keys(EMITTERS));

/** Options for {@link layersModelToOnnx}. */
export interface LayersToOnnxOptions {
  /** Name of the ONNX graph. Default: the model's name. */
  graphName?: string;
}

/** A symbolic tensor's producer, as TF.js records it. */
interface Produced {
  readonly id: number;
  readonly shape: ReadonlyArray<number | null>;
  readonly dtype: string;
  readonly sourceLayer: tfl.layers.Layer;
  readonly nodeIndex: number;
}
interface InboundNode {
  readonly inputTensors: Produced[];
  readonly outputTensors: Produced[];
}

const suffix = (name: string): string => name.slice(name.lastIndexOf('/') + 1);

async function readWeights(layer: tfl.layers.Layer): Promise<Weights> {
  const map = new Map<string, { data: Float32Array; shape: number[] }>();
  for (const v of layer.weights) {
    const t = v.read();
    if (t.dtype !== 'float32') throw new LeptonError('INVALID_MODEL', `ONNX conversion: weight ${v.originalName} is ${t.dtype}; only float32 weights convert.`);
    // Awaited read (no dataSync): this also runs where the weights live on a GPU.
    map.set(suffix(v.originalName), { data: (await t.data()) as Float32Array, shape: t.shape });
  }
  return map;
}

/** The (layer, node) pairs that produce `outputs`, inputs before users (iterative: deep graphs do not grow the stack). */
function topoOrder(outputs: readonly Produced[], known: ReadonlySet<number>): Array<{ layer: tfl.layers.Layer; node: InboundNode }> {
  const order: Array<{ layer: tfl.layers.Layer; node: InboundNode }> = [];
  const seen = new Set<InboundNode>();
  const stack: Array<{ t: Produced; expanded: boolean }> = outputs.map((t) => ({ t, expanded: false }));
  const done = new Set<number>(known);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (done.has(top.t.id)) {
      stack.pop();
      continue;
    }
    const node = top.t.sourceLayer.inboundNodes[top.t.nodeIndex] as unknown as InboundNode;
    if (top.expanded) {
      stack.pop();
      if (!seen.has(node)) order.push({ layer: top.t.sourceLayer, node });
      seen.add(node);
      for (const o of node.outputTensors) done.add(o.id);
      continue;
    }
    top.expanded = true;
    if (node.inputTensors.length === 0) {
      throw new LeptonError('INVALID_MODEL', `ONNX conversion: tensor of layer '${top.t.sourceLayer.name}' is not computed from the model's inputs.`);
    }
    for (const i of node.inputTensors) if (!done.has(i.id)) stack.push({ t: i, expanded: false });
  }
  return order;
}

async function convertGraph(b: GraphBuilder, model: tfl.LayersModel, inputs: readonly Value[]): Promise<Value[]> {
  const values = new Map<number, Value>();
  const modelInputs = model.inputs as unknown as Produced[];
  modelInputs.forEach((t, i) => values.set(t.id, inputs[i]!));
  const modelOutputs = model.outputs as unknown as Produced[];
  for (const { layer, node } of topoOrder(modelOutputs, new Set(values.keys()))) {
    const args = node.inputTensors.map((t) => values.get(t.id)!);
    if (layer instanceof tfl.LayersModel) {
      const outs = await convertGraph(b, layer, args);
      node.outputTensors.forEach((t, i) => values.set(t.id, outs[i]!));
      continue;
    }
    const className = layer.getClassName();
    const emit = EMITTERS[className];
    if (emit === undefined) {
      throw new LeptonError(
        'INVALID_MODEL',
        `ONNX conversion: layer '${layer.name}' is a ${className}, which the converter does not support (supported: ${ONNX_CONVERTIBLE_LAYERS.join(', ')}); run this model on TF.js instead (engine: 'tfjs').`,
        { details: { layer: layer.name, className } },
      );
    }
    const call = {
      name: layer.name,
      className,
      config: layer.getConfig() as Record<string, unknown>,
      inputs: args,
      outShapes: node.outputTensors.map((t) => t.shape),
      weights: await readWeights(layer),
    };
    values.set(node.outputTensors[0]!.id, emit(b, call));
  }
  return modelOutputs.map((t) => values.get(t.id)!);
}

const dims = (shape: ReadonlyArray<number | null>, what: string): Array<number | string> =>
  shape.map((d, i) => (i === 0 ? 'batch' : d === null ? `${what}_d${i}` : d));

/**
 * Converts a TF.js Layers model to an ONNX model (opset 17), in memory, for ONNX Runtime or any ONNX tool. The ONNX
 * model takes and returns tensors in TF.js' own layout (channels last) and names its inputs and outputs after the
 * model's (`model.inputNames`, `model.outputNames`), batch dimension symbolic; inside, convolutions run channels
 * first with one transpose at the input and one before a Flatten/Reshape/Dense or a spatial output.
 *
 * What is checked: the package's parity tests run `model.predict` (TF.js `wasm`) and ONNX Runtime on the converted
 * model on random batches and require every output within 1e-4 (max |Δ| measured 2.4e-6) for `buildMlp`,
 * `buildResidualCnn` (batch norm folded or not), `buildUnet`, `buildDenseAutoencoder`, a Conv1D with dilation and 1-D
 * pooling, a nested Sequential, and one graph with depthwise and transposed convolutions, pooling, up-sampling
 * (nearest, bilinear), padding, cropping, concatenation, reshape, batch norm and merges. Where TF.js 4.22 departs
 * from Keras the converter follows TF.js: `DepthwiseConv2D` ignores `dilationRate` there, so it converts undilated;
 * merges of inputs of different ranks insert the missing axes at position 1 (`[N, C]` → `[N, 1, 1, C]`); both are
 * parity-tested. Other combinations of the listed layers convert by the same rules without a test of their own.
 *
 * Refused with `INVALID_MODEL` (serve such a model on TF.js): a class not in {@link ONNX_CONVERTIBLE_LAYERS},
 * `dataFormat: 'channelsFirst'`, batch norm over another axis than the last, padding other than `'same'`/`'valid'`
 * (`'causal'`), `'same'` padding or cropping on an input of unknown spatial size, an activation not listed there, a
 * softmax over several axes, ZeroPadding2D/Cropping2D on a tensor that is not rank 4, a non-float32 input.
 *
 * Inference only: dropout and noise layers are the identity, batch normalisation uses its moving statistics. Pass a
 * {@link foldBatchNorm} copy to get one fused Conv instead of Conv + Mul + Add.
 *
 * @param model - a TF.js Layers model (functional or Sequential) with float32 inputs and weights
 * @param options - graph name
 * @returns the serialised ONNX `ModelProto`
 * @throws {@link LeptonError} `INVALID_MODEL` for a layer class or setting the converter does not support (listed
 *   above; `details.className` and `details.layer` name the layer) or a non-float32 input;
 *   `INVALID_ARGUMENT` when `model` is not a Layers model, options are not an object or `graphName` is not a string
 * @example
 * ```ts
 * import { buildMlp, initRuntime, layersModelToOnnx } from '@lepton/core';
 * import { writeFileSync } from 'node:fs';
 * await initRuntime({ backend: 'cpu' });
 * const onnx = await layersModelToOnnx(buildMlp({ inputDim: 4 }));
 * writeFileSync('mlp.onnx', onnx); // open it in Netron, or run it with onnxruntime-node
 * ```
 */
export async function layersModelToOnnx(model: tfl.LayersModel, options: LayersToOnnxOptions = {}): Promise<Uint8Array> {
  if (!(model instanceof tfl.LayersModel)) {
    throw new LeptonError('INVALID_ARGUMENT', 'layersModelToOnnx needs a TF.js LayersModel (tf.model(…), tf.sequential(…) or a Lepton builder).');
  }
  if (options === null || typeof options !== 'object') throw new LeptonError('INVALID_ARGUMENT', `layersModelToOnnx: options must be an object, got ${describeValue(options)}.`);
  const graphName: unknown = options.graphName ?? model.name;
  if (typeof graphName !== 'string' || graphName.length > 1024) {
    throw new LeptonError('INVALID_ARGUMENT', `layersModelToOnnx: graphName must be a string of at most 1024 characters, got ${describeValue(graphName)}.`);
  }
  const b = new GraphBuilder();
  const inputs: OnnxValueInfo[] = [];
  const inValues = (model.inputs as unknown as Produced[]).map((t, i) => {
    if (t.dtype !== 'float32') throw new LeptonError('INVALID_MODEL', `ONNX conversion: input ${model.inputNames[i]} is ${t.dtype}; only float32 inputs convert.`);
    const name = b.fresh(model.inputNames[i] ?? `input_${i}`);
    inputs.push({ name, type: 'float32', shape: dims(t.shape, name) });
    return { tf: name, rank: t.shape.length, shape: t.shape } satisfies Value;
  });
  const outValues = await convertGraph(b, model, inValues);
  const outputs: OnnxValueInfo[] = outValues.map((v, i) => {
    const name = b.fresh(model.outputNames[i] ?? `output_${i}`);
    // Outputs in TF.js' layout, under the model's own output names.
    b.nodes.push({ op: 'Identity', inputs: [b.tf(v)], outputs: [name] });
    return { name, type: 'float32', shape: dims(v.shape, name) };
  });
  return encodeOnnxModel({ graphName, nodes: b.nodes, initializers: b.initializers, inputs, outputs });
}
