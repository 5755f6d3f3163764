/**
 * TF op → ONNX node(s), one converter per TF op. Tensors keep TF's layout (NHWC): convolutions, pooling and resizing
 * are wrapped in a Transpose to NCHW and back, and ONNX Runtime's transpose optimiser cancels the pairs between
 * consecutive layers (elementwise ops, ReduceMean, Concat and Resize are pushed through). Converting the layout here
 * instead would mean rewriting every broadcast constant and axis; the optimiser already does it.
 * @internal
 * @module
 */
import type { OnnxAttribute } from './proto.js';
import { constNumbers, GraphBuilder, permuteConst } from './graph-builder.js';
import { computedResizeSizes, SHAPE_CONVERTERS } from './graph-shape-ops.js';
import { dataInputs as args, MAX_SPLIT } from './graph-validate.js';
import { Attrs, invalidModel, onnxType, type GraphNode } from './graph-weights.js';

type Converter = (b: GraphBuilder, n: GraphNode, a: Attrs) => void;

const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];

const arg = (n: GraphNode, i: number): string | undefined => args(n)[i];

function unsupported(n: GraphNode, what: string): never {
  throw invalidModel(`node "${n.name}" (${n.op}): ${what} is not supported.`, { node: n.name, op: n.op });
}

/** Same-rank elementwise op of the inputs (rank = the largest, as broadcasting gives). */
function elementwise(op: string, attrs?: (a: Attrs) => Record<string, OnnxAttribute>): Converter {
  return (b, n, a) => {
    const ins = args(n).map((r) => b.input(r));
    const rank = Math.max(...args(n).map((r) => b.rank(r) ?? 0));
    b.node(op, ins, [n.name], rank, attrs?.(a));
  };
}

interface Spatial {
  nhwc: boolean;
  hw: (l: number[]) => [number, number];
}

function spatial(n: GraphNode, a: Attrs): Spatial {
  const fmt = a.str('data_format', 'NHWC');
  if (fmt !== 'NHWC' && fmt !== 'NCHW') unsupported(n, `data_format ${fmt}`);
  const nhwc = fmt === 'NHWC';
  return { nhwc, hw: (l) => (l.length === 4 ? (nhwc ? [l[1], l[2]] : [l[2], l[3]]) : [1, 1]) as [number, number] };
}

/**
 * ONNX auto_pad / pads for TF's padding attribute. `kernel` and `dilations` ([h, w]) are given for convolutions:
 * ONNX Runtime refuses auto_pad SAME with a dilation > 1 at run time ("Dilation not supported for
 * AutoPadType::SAME_UPPER"), so that case gets TF's SAME as explicit pads.
 */
function padding(n: GraphNode, a: Attrs, nhwc: boolean, kernel?: [number, number], dilations?: [number, number], strides?: [number, number]): Record<string, OnnxAttribute> {
  const p = a.str('padding');
  if (p === 'SAME' && kernel !== undefined && dilations !== undefined && dilations.some((d) => d !== 1)) {
    // TF and TF.js refuse a dilation > 1 with a stride > 1, so the stride is 1 here; TF's SAME total padding,
    // max(0, (ceil(in/s) − 1)·s + eff − in) with eff = (k − 1)·d + 1, is then eff − 1 whatever the input size.
    // TF puts the odd pixel at the end: floor(total/2) before, the rest after.
    if (strides?.some((s) => s !== 1)) unsupported(n, `dilations [${dilations.join(', ')}] with strides [${strides.join(', ')}] (TF takes one or the other)`);
    const total = kernel.map((k, i) => (k - 1) * (dilations[i] as number));
    const before = total.map((t) => Math.floor(t / 2));
    const after = total.map((t, i) => t - (before[i] as number));
    return { pads: { ints: [...before, ...after] } };
  }
  // TF's SAME puts the odd pixel at the end (bottom/right), which is ONNX's SAME_UPPER.
  if (p === 'SAME') return { auto_pad: { s: 'SAME_UPPER' } };
  if (p === 'VALID') return { auto_pad: { s: 'VALID' } };
  if (p === 'EXPLICIT') {
    const e = a.ints('explicit_paddings');
    if (e.length !== 8) unsupported(n, `explicit_paddings of length ${e.length}`);
    const [t, bt, l, r] = nhwc ? [e[2], e[3], e[4], e[5]] : [e[4], e[5], e[6], e[7]];
    return { pads: { ints: [t, l, bt, r] as number[] } };
  }
  return unsupported(n, `padding ${p}`);
}

/** Applies TF's fused activation (after BiasAdd) to an NCHW value; returns the activated value's name. */
function activation(b: GraphBuilder, n: GraphNode, a: Attrs, op: string | undefined, x: string, extra: string | undefined): string {
  switch (op) {
    case undefined:
      return x;
    case 'Relu':
      return b.node('Relu', [x], [b.fresh(n.name)], 4);
    case 'Relu6':
      return b.node('Clip', [x, b.scalar(n.name, 0), b.scalar(n.name, 6)], [b.fresh(n.name)], 4);
    case 'Elu':
      return b.node('Elu', [x], [b.fresh(n.name)], 4);
    case 'Sigmoid':
      return b.node('Sigmoid', [x], [b.fresh(n.name)], 4);
    case 'LeakyRelu':
      return b.node('LeakyRelu', [x], [b.fresh(n.name)], 4, { alpha: { f: a.float('leakyrelu_alpha', 0.2) } });
    case 'Prelu': {
      const slope = b.needConst(extra, n, 'PReLU slope');
      const c = slope.dims.reduce((p, q) => p * q, 1);
      return b.node('PRelu', [x, b.constant(`${n.name}/slope`, { ...slope, dims: [c, 1, 1] })], [b.fresh(n.name)], 4);
    }
    default:
      return unsupported(n, `fused activation ${op}`);
  }
}

/** Conv2D, DepthwiseConv2dNative and their fused forms (BiasAdd + activation). */
function conv(depthwise: boolean, fused: boolean): Converter {
  return (b, n, a) => {
    const { nhwc, hw } = spatial(n, a);
    const filter = b.needConst(arg(n, 1), n, 'filter');
    if (filter.dims.length !== 4 || filter.type !== 'float32') unsupported(n, `a filter of shape [${filter.dims.join(', ')}]`);
    const [kh, kw, cin, cout] = filter.dims as [number, number, number, number];
    // TF HWIO → ONNX OIHW; depthwise [kh, kw, in, multiplier] → [in·multiplier, 1, kh, kw] with group = in.
    const w = depthwise ? { ...permuteConst(filter, [2, 3, 0, 1]), dims: [cin * cout, 1, kh, kw] } : permuteConst(filter, [3, 2, 0, 1]);
    const ops = fused ? a.strs('fused_ops') : [];
    if (fused && ops[0] !== 'BiasAdd') unsupported(n, `fused_ops [${ops.join(', ')}]`);
    if (ops.length > 2) unsupported(n, `fused_ops [${ops.join(', ')}]`);
    const inputs = [nhwc ? b.node('Transpose', [b.input(arg(n, 0))], [b.fresh(n.name)], 4, { perm: { ints: TO_NCHW } }) : b.input(arg(n, 0)), b.constant(`${n.name}/weight`, w)];
    if (fused) {
      const bias = b.needConst(arg(n, 2), n, 'bias');
      inputs.push(b.constant(`${n.name}/bias`, { ...bias, dims: [bias.data.length] }));
    }
    const strides = hw(a.ints('strides', [1, 1, 1, 1]));
    const dilations = hw(a.ints('dilations', [1, 1, 1, 1]));
    const attrs: Record<string, OnnxAttribute> = {
      kernel_shape: { ints: [kh, kw] },
      strides: { ints: strides },
      dilations: { ints: dilations },
      group: { i: depthwise ? cin : 1 },
      ...padding(n, a, nhwc, [kh, kw], dilations, strides),
    };
    const y = b.node('Conv', inputs, [b.fresh(n.name)], 4, attrs);
    const z = activation(b, n, a, ops[1], y, arg(n, 3));
    if (nhwc) b.node('Transpose', [z], [n.name], 4, { perm: { ints: TO_NHWC } });
    else b.node('Identity', [z], [n.name], 4);
  };
}

function pool(op: 'MaxPool' | 'AveragePool'): Converter {
  return (b, n, a) => {
    const { nhwc, hw } = spatial(n, a);
    const x = nhwc ? b.node('Transpose', [b.input(arg(n, 0))], [b.fresh(n.name)], 4, { perm: { ints: TO_NCHW } }) : b.input(arg(n, 0));
    // TF's SAME average excludes the padding, as ONNX's count_include_pad = 0 (its default).
    const y = b.node(op, [x], [nhwc ? b.fresh(n.name) : n.name], 4, { kernel_shape: { ints: hw(a.ints('ksize')) }, strides: { ints: hw(a.ints('strides')) }, ...padding(n, a, nhwc) });
    if (nhwc) b.node('Transpose', [y], [n.name], 4, { perm: { ints: TO_NHWC } });
  };
}

/**
 * TF ResizeBilinear → ONNX `Resize` (linear): align_corners → in = out·(in−1)/(out−1); half_pixel_centers →
 * in = (out+½)·in/out − ½ (clamped at the edges, as ONNX's linear mode does); neither → in = out·in/out
 * ('asymmetric', TF's legacy default).
 */
const resizeBilinear: Converter = (b, n, a) => {
  const mode = a.bool('align_corners') ? 'align_corners' : a.bool('half_pixel_centers') ? 'half_pixel' : 'asymmetric';
  const x = b.node('Transpose', [b.input(arg(n, 0))], [b.fresh(n.name)], 4, { perm: { ints: TO_NCHW } });
  const size = b.constOf(arg(n, 1));
  // A size computed at run time (Keras UpSampling2D on a free input size: Shape → StridedSlice → Mul) is cast and used.
  const sizes =
    size === undefined
      ? computedResizeSizes(b, n, x)
      : b.node('Concat', [b.node('Shape', [x], [b.fresh(n.name)], 1, { start: { i: 0 }, end: { i: 2 } }), b.int64(`${n.name}/hw`, constNumbers(size))], [b.fresh(n.name)], 1, { axis: { i: 0 } });
  const y = b.node('Resize', [x, '', '', sizes], [b.fresh(n.name)], 4, { mode: { s: 'linear' }, coordinate_transformation_mode: { s: mode } });
  b.node('Transpose', [y], [n.name], 4, { perm: { ints: TO_NHWC } });
};

/**
 * TF ResizeNearestNeighbor as TensorFlow computes it, in float32, one `Gather` per spatial axis of the NHWC input:
 * scale = in/out (align_corners, out > 1: (in−1)/(out−1)); source = out·scale (half_pixel_centers: (out+½)·scale);
 * index = floor(source) (align_corners: rounded, halves up), clamped to [0, in−1]. ONNX's own nearest `Resize`
 * divides by the scale instead of multiplying by it, and picks a neighbouring pixel at some sizes (21 → 3, 14 → 23 …).
 */
const resizeNearest: Converter = (b, n, a) => {
  const align = a.bool('align_corners');
  const half = a.bool('half_pixel_centers');
  const size = b.constOf(arg(n, 1));
  const name = n.name;
  const f32 = (v: number): string => b.scalar(name, v);
  const op = (type: string, inputs: string[], attrs?: Record<string, OnnxAttribute>): string => b.node(type, inputs, [b.fresh(name)], undefined, attrs);
  let y = b.input(arg(n, 0));
  for (const [k, axis] of [1, 2].entries()) {
    // in and out of this axis, as float32 scalars
    const inDim = op('Cast', [op('Squeeze', [op('Shape', [y], { start: { i: axis }, end: { i: axis + 1 } }), b.int64(`${name}/axis0`, [0])])], { to: { i: 1 } });
    const outDim =
      size === undefined
        ? op('Cast', [op('Gather', [b.input(arg(n, 1)), b.constant(name, { type: 'int64', dims: [], data: BigInt64Array.of(BigInt(k)) })], { axis: { i: 0 } })], { to: { i: 1 } })
        : f32(constNumbers(size)[k] as number);
    const plain = op('Div', [inDim, outDim]);
    const one = f32(1);
    const scale = align ? op('Where', [op('Greater', [outDim, one]), op('Div', [op('Sub', [inDim, one]), op('Sub', [outDim, one])]), plain]) : plain;
    let source = op('Range', [f32(0), outDim, one]);
    if (half) source = op('Add', [source, f32(0.5)]);
    source = op('Mul', [source, scale]);
    let index = op('Floor', [source]);
    // rounding halves up (away from zero: every source is ≥ 0): floor, plus one where the fraction is ≥ ½
    if (align) index = op('Where', [op('GreaterOrEqual', [op('Sub', [source, index]), f32(0.5)]), op('Add', [index, one]), index]);
    index = op('Min', [index, op('Sub', [inDim, one])]);
    if (half) index = op('Max', [index, f32(0)]);
    y = b.node('Gather', [y, op('Cast', [index], { to: { i: 7 } })], [k === 1 ? name : b.fresh(name)], 4, { axis: { i: axis } });
  }
};

function reduce(op: string): Converter {
  return (b, n, a) => {
    const axes = constNumbers(b.needConst(arg(n, 1), n, 'axis'));
    const rank = b.rank(arg(n, 0) as string);
    // TF reduces over no axis when the axes are empty (the identity); ONNX reduces over all of them (ReduceSum with
    // noop_with_empty_axes = 0, the others always).
    if (axes.length === 0) {
      b.node('Identity', [b.input(arg(n, 0))], [n.name], rank);
      return;
    }
    const keep = a.bool('keep_dims');
    const outRank = rank === undefined ? undefined : keep ? rank : rank - axes.length;
    // At opset 17, ReduceSum takes its axes as an input (since opset 13); the others as an attribute (until opset 18).
    if (op === 'ReduceSum') b.node(op, [b.input(arg(n, 0)), b.int64(`${n.name}/axes`, axes)], [n.name], outRank, { keepdims: { i: keep ? 1 : 0 } });
    else b.node(op, [b.input(arg(n, 0))], [n.name], outRank, { axes: { ints: axes }, keepdims: { i: keep ? 1 : 0 } });
  };
}

const concat: Converter = (b, n) => {
  const all = args(n);
  const axis = constNumbers(b.needConst(all[all.length - 1], n, 'axis'))[0] as number;
  const ins = all.slice(0, -1);
  b.node('Concat', ins.map((r) => b.input(r)), [n.name], b.rank(ins[0] as string), { axis: { i: axis } });
};

const reshape: Converter = (b, n) => {
  const shape = constNumbers(b.needConst(arg(n, 1), n, 'shape'));
  // TF's 0 is a zero-sized dimension; ONNX's 0 copies the input's unless allowzero.
  b.node('Reshape', [b.input(arg(n, 0)), b.int64(`${n.name}/shape`, shape)], [n.name], shape.length, shape.includes(0) ? { allowzero: { i: 1 } } : undefined);
};

const pad: Converter = (b, n, a) => {
  const p = constNumbers(b.needConst(arg(n, 1), n, 'paddings'));
  const r = p.length / 2;
  const pads = [...Array.from({ length: r }, (_, i) => p[2 * i] as number), ...Array.from({ length: r }, (_, i) => p[2 * i + 1] as number)];
  const inputs = [b.input(arg(n, 0)), b.int64(`${n.name}/pads`, pads)];
  let mode = 'constant';
  if (n.op === 'PadV2') inputs.push(b.input(arg(n, 2)));
  if (n.op === 'MirrorPad') {
    const m = a.str('mode');
    if (m !== 'REFLECT') unsupported(n, `MirrorPad mode ${m}`);
    mode = 'reflect';
  }
  b.node('Pad', inputs, [n.name], r, { mode: { s: mode } });
};

const transpose: Converter = (b, n) => {
  const perm = constNumbers(b.needConst(arg(n, 1), n, 'permutation'));
  b.node('Transpose', [b.input(arg(n, 0))], [n.name], perm.length, { perm: { ints: perm } });
};

const splitV: Converter = (b, n, a) => {
  const sizes = constNumbers(b.needConst(arg(n, 1), n, 'size_splits'));
  const axis = constNumbers(b.needConst(arg(n, 2), n, 'split_dim'))[0] as number;
  if (sizes.some((s) => s < 0)) unsupported(n, 'a size_splits entry of -1');
  const count = splitCount(n, a.int('num_split', sizes.length));
  if (count !== sizes.length) throw invalidModel(`node "${n.name}" (SplitV): num_split ${count} but ${sizes.length} size_splits.`, { node: n.name, op: n.op });
  const outs = Array.from({ length: count }, (_, i) => (i === 0 ? n.name : `${n.name}:${i}`));
  b.node('Split', [b.input(arg(n, 0)), b.int64(`${n.name}/split`, sizes)], outs, b.rank(arg(n, 0) as string), { axis: { i: axis } });
};

/** A split's output count, bounded: each output is a name in the ONNX model, so 1e7 would write a 100 MB model. */
function splitCount(n: GraphNode, count: number): number {
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_SPLIT) throw invalidModel(`node "${n.name}" (${n.op}): num_split ${count} is not from 1 to ${MAX_SPLIT}.`, { node: n.name, op: n.op });
  return count;
}

const split: Converter = (b, n, a) => {
  const axis = constNumbers(b.needConst(arg(n, 0), n, 'split_dim'))[0] as number;
  const count = splitCount(n, a.int('num_split'));
  const outs = Array.from({ length: count }, (_, i) => (i === 0 ? n.name : `${n.name}:${i}`));
  // Opset 17's Split without a split input cuts the axis into as many equal parts as it has outputs.
  b.node('Split', [b.input(arg(n, 1))], outs, b.rank(arg(n, 1) as string), { axis: { i: axis } });
};

const expandDims: Converter = (b, n) => {
  const axis = constNumbers(b.needConst(arg(n, 1), n, 'axis'));
  const rank = b.rank(arg(n, 0) as string);
  b.node('Unsqueeze', [b.input(arg(n, 0)), b.int64(`${n.name}/axes`, axis)], [n.name], rank === undefined ? undefined : rank + 1);
};

const squeeze: Converter = (b, n, a) => {
  const axes = a.ints('squeeze_dims');
  if (axes.length === 0) unsupported(n, 'Squeeze without squeeze_dims');
  const rank = b.rank(arg(n, 0) as string);
  b.node('Squeeze', [b.input(arg(n, 0)), b.int64(`${n.name}/axes`, axes)], [n.name], rank === undefined ? undefined : rank - axes.length);
};

const cast: Converter = (b, n, a) => {
  const to = onnxType(a.type('DstT'));
  if (to === undefined) unsupported(n, `a cast to ${String(a.type('DstT'))}`);
  b.node('Cast', [b.input(arg(n, 0))], [n.name], b.rank(arg(n, 0) as string), { to: { i: { float32: 1, int32: 6, int64: 7, bool: 9 }[to] } });
};

const matMul: Converter = (b, n, a) => {
  const t = (r: string, flag: boolean): string => (flag ? b.node('Transpose', [b.input(r)], [b.fresh(n.name)], 2, { perm: { ints: [1, 0] } }) : b.input(r));
  const x = t(arg(n, 0) as string, a.bool('transpose_a'));
  const w = t(arg(n, 1) as string, a.bool('transpose_b'));
  if (n.op === 'MatMul') {
    b.node('MatMul', [x, w], [n.name], 2);
    return;
  }
  const ops = a.strs('fused_ops');
  if (ops[0] !== 'BiasAdd' || ops.length > 2) unsupported(n, `fused_ops [${ops.join(', ')}]`);
  const y = b.node('Add', [b.node('MatMul', [x, w], [b.fresh(n.name)], 2), b.input(arg(n, 2))], [b.fresh(n.name)], 2);
  if (ops[1] === 'Prelu') unsupported(n, 'fused Prelu on a MatMul');
  b.node('Identity', [activation(b, n, a, ops[1], y, undefined)], [n.name], 2);
};

/** Converters by TF op. */
export const CONVERTERS: Record<string, Converter> = {
  Identity: elementwise('Identity'),
  StopGradient: elementwise('Identity'),
  Snapshot: elementwise('Identity'),
  Add: elementwise('Add'),
  AddV2: elementwise('Add'),
  BiasAdd: (b, n, a) => {
    if (a.str('data_format', 'NHWC') !== 'NHWC') unsupported(n, 'BiasAdd on NCHW');
    elementwise('Add')(b, n, a);
  },
  Sub: elementwise('Sub'),
  Mul: elementwise('Mul'),
  RealDiv: elementwise('Div'),
  Div: elementwise('Div'),
  Maximum: elementwise('Max'),
  Minimum: elementwise('Min'),
  Pow: elementwise('Pow'),
  Relu: elementwise('Relu'),
  Elu: elementwise('Elu'),
  Sigmoid: elementwise('Sigmoid'),
  Tanh: elementwise('Tanh'),
  Exp: elementwise('Exp'),
  Log: elementwise('Log'),
  Sqrt: elementwise('Sqrt'),
  Abs: elementwise('Abs'),
  Neg: elementwise('Neg'),
  Floor: elementwise('Floor'),
  Softmax: elementwise('Softmax', () => ({ axis: { i: -1 } })),
  LeakyRelu: elementwise('LeakyRelu', (a) => ({ alpha: { f: a.float('alpha', 0.2) } })),
  Relu6: (b, n) => {
    b.node('Clip', [b.input(arg(n, 0)), b.scalar(n.name, 0), b.scalar(n.name, 6)], [n.name], b.rank(arg(n, 0) as string));
  },
  Rsqrt: (b, n) => {
    const r = b.rank(arg(n, 0) as string);
    b.node('Reciprocal', [b.node('Sqrt', [b.input(arg(n, 0))], [b.fresh(n.name)], r)], [n.name], r);
  },
  Square: (b, n) => {
    const x = b.input(arg(n, 0));
    b.node('Mul', [x, x], [n.name], b.rank(arg(n, 0) as string));
  },
  Conv2D: conv(false, false),
  _FusedConv2D: conv(false, true),
  DepthwiseConv2dNative: conv(true, false),
  FusedDepthwiseConv2dNative: conv(true, true),
  MaxPool: pool('MaxPool'),
  AvgPool: pool('AveragePool'),
  ResizeBilinear: resizeBilinear,
  ResizeNearestNeighbor: resizeNearest,
  Mean: reduce('ReduceMean'),
  Sum: reduce('ReduceSum'),
  Max: reduce('ReduceMax'),
  Min: reduce('ReduceMin'),
  ConcatV2: concat,
  Reshape: reshape,
  Pad: pad,
  PadV2: pad,
  MirrorPad: pad,
  Transpose: transpose,
  SplitV: splitV,
  Split: split,
  ExpandDims: expandDims,
  Squeeze: squeeze,
  Cast: cast,
  MatMul: matMul,
  _FusedMatMul: matMul,
  ...SHAPE_CONVERTERS,
};
