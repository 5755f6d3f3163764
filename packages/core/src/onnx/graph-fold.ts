/**
 * Constant folding for the TF.js graph → ONNX converter: nodes whose inputs are all constants, where that is how a
 * graph computes a shape or an index (NanoDet's reshape targets, built with SparseToDense and AddV2), are evaluated
 * at conversion time instead of being written as ONNX nodes.
 * @internal
 * @module
 */
import { constNumbers, foldBinary, type GraphBuilder, typedConst } from './graph-builder.js';
import { dataInputs as args, foldedCount } from './graph-validate.js';
import { type Attrs, invalidModel, onnxType, type ConstTensor, type GraphNode } from './graph-weights.js';

const INT_FOLD: Record<string, (x: number, y: number) => number> = {
  Add: (x, y) => x + y,
  AddV2: (x, y) => x + y,
  Sub: (x, y) => x - y,
  Mul: (x, y) => x * y,
  Maximum: Math.max,
  Minimum: Math.min,
};

/**
 * Evaluates a node whose inputs are all constants, where that is how the graph computes a shape or an index (e.g.
 * NanoDet's reshape targets, built with SparseToDense and AddV2). Returns undefined when the op is not folded here.
 */
export function foldConstant(b: GraphBuilder, n: GraphNode, a: Attrs): ConstTensor | undefined {
  const ins = args(n).map((r) => b.constOf(r));
  if (ins.length === 0 || ins.some((c) => c === undefined)) return undefined;
  const c = ins as ConstTensor[];
  const first = c[0] as ConstTensor;
  if (n.op === 'Identity') return first;
  if (n.op in INT_FOLD && first.type !== 'float32') return foldBinary(first, c[1] as ConstTensor, INT_FOLD[n.op] as (x: number, y: number) => number, n);
  if (n.op === 'Cast') {
    const to = onnxType(a.type('DstT'));
    return to === undefined ? undefined : typedConst(to, first.dims, constNumbers(first));
  }
  if (n.op === 'Reshape') {
    const shape = constNumbers(c[1] as ConstTensor);
    const known = shape.filter((d) => d >= 0).reduce((p, q) => p * q, 1);
    const dims = shape.map((d) => (d < 0 ? first.data.length / known : d));
    if (shape.filter((d) => d < 0).length > 1 || foldedCount(n, dims) !== first.data.length) {
      throw invalidModel(`node "${n.name}" (Reshape) reshapes ${first.data.length} values to [${shape.join(', ')}].`, { node: n.name, op: n.op });
    }
    return { ...first, dims };
  }
  if (n.op === 'SparseToDense') {
    // (sparse_indices, output_shape, sparse_values, default_value) → dense
    const [indices, shapeT, values, fill] = c as [ConstTensor, ConstTensor, ConstTensor, ConstTensor];
    const dims = constNumbers(shapeT);
    // Bounded before allocating: output_shape is data, and [1e5, 1e5] would ask for 4·10^10 bytes.
    const out = new Array<number>(foldedCount(n, dims)).fill(constNumbers(fill)[0] ?? 0);
    const idx = constNumbers(indices);
    const vals = constNumbers(values);
    const rank = dims.length;
    const count = indices.dims.length === 0 ? 1 : (indices.dims[0] as number);
    const bad = (what: string): never => {
      throw invalidModel(`node "${n.name}" (SparseToDense): ${what}.`, { node: n.name, op: n.op });
    };
    if (idx.length !== count * rank) bad(`${idx.length} index values for ${count} indices of rank ${rank}`);
    if (vals.length !== 1 && vals.length !== count) bad(`${vals.length} values for ${count} indices`);
    for (let k = 0; k < count; k++) {
      let flat = 0;
      for (let d = 0; d < rank; d++) {
        const i = idx[k * rank + d] as number;
        if (!(i >= 0 && i < (dims[d] as number))) bad(`index ${i} is outside dimension ${d} of [${dims.join(', ')}]`);
        flat = flat * (dims[d] as number) + i;
      }
      out[flat] = (vals.length === 1 ? vals[0] : vals[k]) as number;
    }
    return typedConst(values.type, dims, out);
  }
  return undefined;
}
