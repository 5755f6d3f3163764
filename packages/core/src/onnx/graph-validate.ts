/**
 * Run-time checks of what {@link graphModelToOnnx} is given (model.json is JSON from anywhere): node fields, the
 * number of inputs each converted op takes, the options, and the bounds on what a tiny JSON may make the converter
 * allocate (folded constants, split counts).
 * @internal
 * @module
 */
import { invalidModel, type GraphNode } from './graph-weights.js';

/**
 * Most elements a constant folded at conversion time may have (SparseToDense, broadcasting of two constants):
 * 2^24 = 16 M (64 MB of float32). Real graphs fold shape vectors of a few elements; a bigger request is a hostile or
 * broken model.json, refused before anything is allocated.
 */
export const MAX_FOLDED_ELEMENTS = 2 ** 24;

/** Most outputs of one Split/SplitV node (each becomes an ONNX output name). */
export const MAX_SPLIT = 2 ** 16;

/** Data inputs (control inputs `^x` not counted) each op takes: [min, max]. */
const ARITY: Record<string, readonly [number, number]> = {};
const set = (ops: string, min: number, max = min): void => {
  for (const op of ops.split(' ')) ARITY[op] = [min, max];
};
set('Identity StopGradient Snapshot Relu Elu Sigmoid Tanh Exp Log Sqrt Abs Neg Floor Softmax LeakyRelu Relu6 Rsqrt Square', 1);
set('MaxPool AvgPool Squeeze Cast Shape', 1);
set('Add AddV2 BiasAdd Sub Mul RealDiv Div Maximum Minimum Pow MatMul', 2);
set('Conv2D DepthwiseConv2dNative ResizeBilinear Mean Sum Max Min Reshape Pad MirrorPad Transpose Split ExpandDims', 2);
// Fused ops: the bias, then (num_args 2) the PReLU slope.
set('_FusedConv2D FusedDepthwiseConv2dNative _FusedMatMul', 3, 4);
set('PadV2 SplitV', 3);
set('StridedSlice SparseToDense', 4);
// N ≥ 1 values, then the axis.
set('ConcatV2', 2, Number.MAX_SAFE_INTEGER);

/** Data inputs of a node (control inputs dropped). */
export const dataInputs = (n: GraphNode): string[] => (n.input ?? []).filter((r) => !r.startsWith('^'));

/** The checked nodes of a GraphDef JSON. */
export function checkNodes(topology: unknown): GraphNode[] {
  const t = topology as { node?: unknown } | undefined;
  if (t === null || typeof t !== 'object' || !Array.isArray(t.node)) throw invalidModel('modelTopology is not a GraphDef JSON with node[] (is this a TF.js graph model, not a layers model?).');
  for (const n of t.node as unknown[]) {
    const node = n as Partial<GraphNode> | null;
    if (node === null || typeof node !== 'object' || typeof node.name !== 'string' || typeof node.op !== 'string') throw invalidModel('a node of modelTopology lacks its name or op.');
    const where = { node: node.name, op: node.op };
    if (node.input !== undefined && (!Array.isArray(node.input) || !node.input.every((r) => typeof r === 'string'))) {
      throw invalidModel(`node "${node.name}" (${node.op}): input must be an array of strings.`, where);
    }
    if (node.attr !== undefined && (node.attr === null || typeof node.attr !== 'object' || Array.isArray(node.attr))) {
      throw invalidModel(`node "${node.name}" (${node.op}): attr must be an object.`, where);
    }
  }
  return t.node as GraphNode[];
}

/** Refuses a node whose number of data inputs is not what its op takes (ops not listed are left to their converter). */
export function checkArity(n: GraphNode): void {
  const range = ARITY[n.op];
  if (range === undefined) return;
  const count = dataInputs(n).length;
  if (count < range[0] || count > range[1]) {
    const want = range[0] === range[1] ? `${range[0]}` : range[1] === Number.MAX_SAFE_INTEGER ? `at least ${range[0]}` : `${range[0]} to ${range[1]}`;
    throw invalidModel(`node "${n.name}" (${n.op}) has ${count} inputs; ${n.op} takes ${want}.`, { node: n.name, op: n.op });
  }
}

/** The output names asked for, checked (undefined: not given). */
export function checkOptions(options: unknown): { outputs: string[] | undefined; dynamicBatch: boolean } {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalidModel('options must be an object ({ outputs?, dynamicBatch? }).');
  const o = options as { outputs?: unknown; dynamicBatch?: unknown };
  if (o.outputs !== undefined && (!Array.isArray(o.outputs) || !o.outputs.every((x) => typeof x === 'string' && x !== ''))) {
    throw invalidModel('options.outputs must be an array of node names (strings).');
  }
  if (o.dynamicBatch !== undefined && typeof o.dynamicBatch !== 'boolean') throw invalidModel('options.dynamicBatch must be a boolean.');
  return { outputs: o.outputs as string[] | undefined, dynamicBatch: o.dynamicBatch ?? true };
}

/** Element count of `dims` (each a non-negative integer), refused above {@link MAX_FOLDED_ELEMENTS}. */
export function foldedCount(n: GraphNode, dims: readonly number[]): number {
  if (!dims.every((d) => Number.isSafeInteger(d) && d >= 0)) throw invalidModel(`node "${n.name}" (${n.op}) folds to a constant of shape [${dims.join(', ')}].`, { node: n.name, op: n.op });
  let count = 1;
  for (const d of dims) {
    count *= d;
    if (count > MAX_FOLDED_ELEMENTS) {
      throw invalidModel(`node "${n.name}" (${n.op}) folds to a constant of shape [${dims.join(', ')}], over ${MAX_FOLDED_ELEMENTS} elements.`, { node: n.name, op: n.op });
    }
  }
  return count;
}
