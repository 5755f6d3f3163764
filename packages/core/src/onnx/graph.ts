/**
 * TF.js graph model → ONNX, in memory, so that a model shipped for TF.js can run on ONNX Runtime's native CPU
 * kernels. Only the part of the graph that the requested outputs depend on is converted.
 */
import { encodeOnnxModel, type OnnxValueInfo } from './proto.js';
import { GraphBuilder, valueName } from './graph-builder.js';
import { foldConstant } from './graph-fold.js';
import { CONVERTERS } from './graph-ops.js';
import { checkArity, checkNodes, checkOptions } from './graph-validate.js';
import { Attrs, decodeWeights, invalidModel, onnxType, type GraphNode, type GraphWeightSpec } from './graph-weights.js';
import { isLeptonError, LeptonError } from '../errors/lepton-error.js';

export type { GraphWeightSpec } from './graph-weights.js';

/**
 * What {@link graphModelToOnnx} reads: the `model.json` of a TF.js graph model (its `modelTopology`, the GraphDef
 * JSON with `node[]`) and the weights. This is the shape of `tf.io.ModelArtifacts` as an `IOHandler.load()` returns
 * it, so any handler's result can be passed as it is.
 */
export interface GraphModelArtifactsLike {
  /** GraphDef JSON: `{ node: [{ name, op, input, attr }] }`. */
  modelTopology?: unknown;
  /** The weight entries, in the order their bytes follow each other in `weightData`. */
  weightSpecs?: GraphWeightSpec[];
  /** The weight bytes (all weight files concatenated). */
  weightData?: ArrayBuffer | ArrayBuffer[] | Uint8Array;
  /** The model's signature; its `outputs` (`{ key: { name } }`) are the default outputs. */
  signature?: object;
}

/** Options of {@link graphModelToOnnx}. */
export interface GraphToOnnxOptions {
  /** Node names to output (default: the signature's outputs, else every node no other node reads). */
  outputs?: readonly string[];
  /** Make the first dimension of every input symbolic (`'batch'`), so the ONNX model takes any batch. Default true. */
  dynamicBatch?: boolean;
}

/** A graph input of a converted model. */
export interface OnnxGraphInput {
  /** The placeholder's name (feed it under this name). */
  readonly name: string;
  /** Dimensions; a string is a symbolic (free) dimension. */
  readonly shape: ReadonlyArray<number | string>;
}

/** The result of {@link graphModelToOnnx}. */
export interface OnnxGraphModel {
  /** The serialised ONNX model (opset 17): pass to ONNX Runtime's `InferenceSession.create(bytes)`. */
  readonly bytes: Uint8Array;
  /** The graph inputs (the placeholders the outputs depend on). */
  readonly inputs: readonly OnnxGraphInput[];
  /** The graph output names, as requested. */
  readonly outputs: readonly string[];
  /** TF ops converted, with their counts (constants folded at conversion time are not counted). */
  readonly ops: Readonly<Record<string, number>>;
}

function defaultOutputs(artifacts: GraphModelArtifactsLike, nodes: GraphNode[]): string[] {
  const sig = (artifacts.signature as { outputs?: Record<string, { name?: string }> } | undefined)?.outputs;
  if (sig !== undefined && Object.keys(sig).length > 0) return Object.entries(sig).map(([k, v]) => valueName(v.name ?? k));
  const read = new Set(nodes.flatMap((n) => (n.input ?? []).map((r) => valueName(r.replace(/^\^/, '')).replace(/:\d+$/, ''))));
  return nodes.filter((n) => !read.has(n.name) && n.op !== 'Const' && n.op !== 'Placeholder' && n.op !== 'NoOp').map((n) => n.name);
}

/** The nodes `outputs` depend on, each after its inputs. */
function reachable(byName: Map<string, GraphNode>, outputs: readonly string[]): GraphNode[] {
  const order: GraphNode[] = [];
  const state = new Map<string, 1 | 2>();
  for (const out of outputs) {
    const stack: Array<[string, boolean]> = [[out, false]];
    while (stack.length > 0) {
      const [name, done] = stack.pop() as [string, boolean];
      const node = byName.get(name);
      if (node === undefined) throw invalidModel(`the graph has no node "${name}".`, { node: name });
      if (done) {
        state.set(name, 2);
        order.push(node);
        continue;
      }
      if (state.has(name)) continue;
      state.set(name, 1);
      stack.push([name, true]);
      for (const r of node.input ?? []) {
        if (r.startsWith('^')) continue;
        const dep = r.replace(/:\d+$/, '');
        if (state.get(dep) === 1) throw invalidModel(`the graph has a cycle through "${dep}" (control flow is not supported).`, { node: dep });
        if (!state.has(dep)) stack.push([dep, false]);
      }
    }
  }
  return order;
}

/**
 * Converts a TF.js graph model to an ONNX model, in memory (no file, no TF.js converter): the weights are decoded
 * (float16 and uint8/uint16 quantisation become float32) and every op on the path to `outputs` is rewritten as ONNX
 * opset 17. Tensors keep TF's NHWC layout; convolutions, pooling and resizing are wrapped in Transposes that ONNX
 * Runtime's optimiser cancels between layers. Constant shape arithmetic (SparseToDense, integer AddV2, Cast,
 * Reshape of constants) is folded at conversion time, up to 2^24 elements a constant.
 *
 * ResizeBilinear's size may be computed at run time (Keras `UpSampling2D` on a free input size). SAME convolutions
 * with a dilation get TF's SAME padding as explicit pads (ONNX Runtime runs no auto_pad with a dilation).
 *
 * Each op is converted with TensorFlow's semantics, so where a TF.js kernel departs from TensorFlow the converted model
 * departs from the TF.js graph model. One such case is known: `StridedSlice` with a stride ≠ 1 on one axis and
 * `shrink_axis_mask` on another, where TF.js 4.22 (cpu and wasm) computes something else: `x[:, 1:-1, ::2, -1]` of a `[2, 3, 4, 3]` tensor gives TF's `[2, 1, 2]` shape but the
 * values of `x[:, 1:-1, 0, ::2]`; the converted model gives TensorFlow's values, so it differs from the TF.js graph
 * model there. (The detectors shipped with `@lepton/surveillance` have no `StridedSlice` on the outputs they read.)
 *
 * Converted ops: Conv2D, DepthwiseConv2dNative, _FusedConv2D and FusedDepthwiseConv2dNative (BiasAdd then Relu,
 * Relu6, Elu, Sigmoid, LeakyRelu or Prelu), MatMul/_FusedMatMul, MaxPool, AvgPool, ResizeBilinear (align_corners /
 * half_pixel_centers), Mean, Sum, Max, Min, ConcatV2, Reshape, Pad, PadV2, MirrorPad (REFLECT), Transpose, Split,
 * SplitV, ExpandDims, Squeeze, Cast, Shape, StridedSlice (constant begin/end/strides; begin, end and shrink-axis
 * masks), BiasAdd, elementwise Add/AddV2/Sub/Mul/RealDiv/Maximum/Minimum/Pow and
 * Relu/Relu6/Elu/LeakyRelu/Sigmoid/Tanh/Exp/Log/Sqrt/Rsqrt/Square/Abs/Neg/Floor/Softmax, Identity.
 *
 * @param artifacts - the graph model's artifacts (`tf.io.ModelArtifacts` from an `IOHandler`, or the same fields)
 * @param options - which outputs; see {@link GraphToOnnxOptions}
 * @returns the ONNX bytes with the input and output names
 * @throws {@link LeptonError} `INVALID_MODEL`, the only code it throws: an op on the path is not supported or not
 *   in a supported form, an op needs a constant it is not given, a node has the wrong number of inputs or a
 *   malformed field, a folded constant would exceed 2^24 elements or a `Split` 65536 outputs, the artifacts are not
 *   a graph model or `options` is malformed, or any other failure while converting; `details.node` and
 *   `details.op` name the node where there is one
 * @example
 * ```ts
 * import { graphModelToOnnx } from '@lepton/core';
 * import * as ort from 'onnxruntime-node';
 * const artifacts = await handler.load(); // any TF.js IOHandler of a graph model
 * const onnx = graphModelToOnnx(artifacts, { outputs: ['tower_0/keypoints'] });
 * const session = await ort.InferenceSession.create(onnx.bytes);
 * ```
 */
export function graphModelToOnnx(artifacts: GraphModelArtifactsLike, options: GraphToOnnxOptions = {}): OnnxGraphModel {
  const at: { node: GraphNode | undefined } = { node: undefined };
  try {
    return convert(artifacts, options, at);
  } catch (err) {
    // The converter reads JSON from anywhere; whatever it did not foresee is still this model's fault, typed.
    if (isLeptonError(err)) throw err;
    const where = at.node === undefined ? {} : { node: at.node.name, op: at.node.op };
    const node = at.node === undefined ? '' : ` at node "${at.node.name}" (${at.node.op})`;
    throw new LeptonError('INVALID_MODEL', `TF.js graph → ONNX: the conversion failed${node}: ${err instanceof Error ? err.message : String(err)}`, { details: where, cause: err });
  }
}

function convert(artifacts: GraphModelArtifactsLike, options: GraphToOnnxOptions, at: { node: GraphNode | undefined }): OnnxGraphModel {
  if (artifacts === null || typeof artifacts !== 'object') throw invalidModel('artifacts must be an object ({ modelTopology, weightSpecs, weightData }).');
  const opts = checkOptions(options);
  const nodes = checkNodes(artifacts.modelTopology);
  if (artifacts.weightSpecs !== undefined && !Array.isArray(artifacts.weightSpecs)) throw invalidModel('weightSpecs must be an array.');
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const outputs = (opts.outputs ?? defaultOutputs(artifacts, nodes)).map(valueName);
  if (outputs.length === 0) throw invalidModel('no outputs to convert; name them in options.outputs.');
  const b = new GraphBuilder();
  const weights = decodeWeights(artifacts.weightSpecs ?? [], artifacts.weightData ?? new Uint8Array(0));
  const inputs: OnnxValueInfo[] = [];
  const ops: Record<string, number> = {};
  for (const n of reachable(byName, outputs.map((o) => o.replace(/:\d+$/, '')))) {
    at.node = n;
    const a = new Attrs(n);
    if (n.op === 'Const') {
      const w = weights.get(n.name);
      if (w === undefined) throw invalidModel(`constant "${n.name}" has no values in the weights manifest.`, { node: n.name, op: n.op });
      b.consts.set(n.name, w);
      continue;
    }
    if (n.op === 'Placeholder') {
      const type = onnxType(a.type('dtype'));
      const dims = a.shape('shape');
      if (type === undefined || dims === undefined) throw invalidModel(`input "${n.name}" needs a float, int or bool dtype and a known rank.`, { node: n.name, op: n.op });
      const shape = dims.map((d, i) => (i === 0 && opts.dynamicBatch ? 'batch' : d < 0 ? `${n.name}_d${i}` : d));
      inputs.push({ name: n.name, type, shape });
      b.setRank(n.name, shape.length);
      continue;
    }
    checkArity(n);
    const folded = foldConstant(b, n, a);
    if (folded !== undefined) {
      b.consts.set(n.name, folded);
      continue;
    }
    const converter = CONVERTERS[n.op];
    if (converter === undefined) throw invalidModel(`op ${n.op} (node "${n.name}") has no ONNX conversion; run this model on TF.js (engine 'tfjs').`, { node: n.name, op: n.op });
    converter(b, n, a);
    ops[n.op] = (ops[n.op] ?? 0) + 1;
  }
  at.node = undefined;
  const outInfo: OnnxValueInfo[] = outputs.map((o) => {
    if (b.consts.has(o)) b.node('Identity', [b.input(o)], [`${o}/__out`], b.rank(o)); // rare: a constant output
    const name = b.consts.has(o) ? `${o}/__out` : o;
    const rank = b.rank(name);
    if (rank === undefined) throw invalidModel(`the rank of output "${o}" is not known after conversion.`, { node: o });
    return { name, type: 'float32' as const, shape: Array.from({ length: rank }, (_, i) => `${o}_d${i}`) };
  });
  const bytes = encodeOnnxModel({ graphName: 'tfjs-graph', nodes: b.nodes, initializers: b.initializers, inputs, outputs: outInfo, opset: 17 });
  return { bytes, inputs: inputs.map(({ name, shape }) => ({ name, shape })), outputs: outInfo.map((o) => o.name), ops };
}
