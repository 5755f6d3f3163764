/**
 * TF ops that compute on a tensor's shape at run time (Keras' `UpSampling2D` reads its input's height and width with
 * `Shape` → `StridedSlice` → `Mul` and resizes to that): converted to ONNX `Shape`, `Slice` (+ `Squeeze`) and a
 * `Resize` whose size is a computed tensor. Models whose input size is free (MoveNet multipose) need them; with a
 * fixed size the same arithmetic would fold, but the converter keeps ranks only, not shapes.
 * @internal
 * @module
 */
import type { OnnxAttribute } from './proto.js';
import { constNumbers, type GraphBuilder } from './graph-builder.js';
import { invalidModel, onnxType, type Attrs, type GraphNode } from './graph-weights.js';

type Converter = (b: GraphBuilder, n: GraphNode, a: Attrs) => void;

const ONNX_TYPE_CODE = { float32: 1, int32: 6, int64: 7, bool: 9 } as const;
/** Slice's "to the end of the axis" (ONNX clamps ends to the dimension). */
const TO_END = 2 ** 31 - 1;

const arg = (n: GraphNode, i: number): string | undefined => n.input?.filter((r) => !r.startsWith('^'))[i];

function unsupported(n: GraphNode, what: string): never {
  throw invalidModel(`node "${n.name}" (${n.op}): ${what} is not supported.`, { node: n.name, op: n.op });
}

/** TF `Shape` (int32 by default) = ONNX `Shape` (always int64) then a `Cast` to TF's `out_type`. */
const shape: Converter = (b, n, a) => {
  const to = onnxType(a.type('out_type') ?? 'DT_INT32');
  if (to !== 'int32' && to !== 'int64') unsupported(n, `out_type ${String(a.type('out_type'))}`);
  const s = b.node('Shape', [b.input(arg(n, 0))], [b.fresh(n.name)], 1);
  b.node('Cast', [s], [n.name], 1, { to: { i: ONNX_TYPE_CODE[to] } });
};

/**
 * TF `StridedSlice` with constant begin/end/strides → ONNX `Slice` over every axis the spec names, then `Squeeze`
 * of the `shrink_axis_mask` axes. `begin_mask`/`end_mask` bits mean "from the start"/"to the end" of that axis. An
 * `ellipsis_mask` bit (`x[..., 4:]`, as YOLOv5's TF export writes) stands for every axis the spec leaves out, which needs
 * the input's rank; `new_axis_mask` is refused (not needed by the models converted so far). Limit: with a negative
 * stride, an explicit begin or end beyond the start of the axis (below −size, e.g. `x[-3::-1]` on an axis of 1) is
 * clamped as ONNX `Slice` clamps it, which can keep one element TensorFlow drops; the converter knows ranks, not
 * sizes, so it cannot clamp as TF does. Masked bounds (`x[::-1]`) and bounds within the axis are exact.
 */
const stridedSlice: Converter = (b, n, a) => {
  const begin = constNumbers(b.needConst(arg(n, 1), n, 'begin'));
  const end = constNumbers(b.needConst(arg(n, 2), n, 'end'));
  const steps = constNumbers(b.needConst(arg(n, 3), n, 'strides'));
  if (a.int('new_axis_mask', 0) !== 0) unsupported(n, 'new_axis_mask');
  const rank = b.rank(arg(n, 0) as string);
  const ellipsisMask = a.int('ellipsis_mask', 0);
  const ellipsis = ellipsisMask === 0 ? -1 : Math.log2(ellipsisMask & -ellipsisMask);
  if (ellipsis >= 0 && (ellipsisMask & (ellipsisMask - 1)) !== 0) unsupported(n, 'more than one ellipsis');
  if (ellipsis >= begin.length) unsupported(n, `an ellipsis bit (${ellipsisMask}) beyond the ${begin.length} spec entries`);
  if (ellipsis >= 0 && rank === undefined) unsupported(n, 'an ellipsis on an input of unknown rank');
  // Spec entries after the ellipsis address the last axes: shift them by the axes the ellipsis stands for, less one.
  const shift = ellipsis >= 0 ? (rank as number) - begin.length : 0;
  if (shift < -1) unsupported(n, `${begin.length} spec entries on a rank-${String(rank)} input`);
  const beginMask = a.int('begin_mask', 0);
  const endMask = a.int('end_mask', 0);
  const shrinkMask = a.int('shrink_axis_mask', 0);
  const starts: number[] = [];
  const ends: number[] = [];
  const axes: number[] = [];
  const strides: number[] = [];
  const shrink: number[] = [];
  for (let i = 0; i < begin.length; i++) {
    if (i === ellipsis) continue;
    const axis = ellipsis >= 0 && i > ellipsis ? i + shift : i;
    const step = steps[i] ?? 1;
    if (step === 0) unsupported(n, 'a stride of 0');
    const bit = 1 << i;
    axes.push(axis);
    if ((shrinkMask & bit) !== 0) {
      // One element at begin: end = begin + 1, except begin = −1, whose "+1" would be 0 (an empty slice).
      const s = begin[i] as number;
      starts.push(s);
      ends.push(s === -1 ? TO_END : s + 1);
      strides.push(1);
      shrink.push(axis);
      continue;
    }
    starts.push((beginMask & bit) !== 0 ? (step > 0 ? 0 : TO_END) : (begin[i] as number));
    ends.push((endMask & bit) !== 0 ? (step > 0 ? TO_END : -TO_END) : (end[i] as number));
    strides.push(step);
  }
  const sliceOut = shrink.length > 0 ? b.fresh(n.name) : n.name;
  if (axes.length === 0) b.node('Identity', [b.input(arg(n, 0))], [sliceOut], rank);
  else b.node('Slice', [b.input(arg(n, 0)), b.int64(`${n.name}/starts`, starts), b.int64(`${n.name}/ends`, ends), b.int64(`${n.name}/axes`, axes), b.int64(`${n.name}/steps`, strides)], [sliceOut], rank);
  if (shrink.length > 0) b.node('Squeeze', [sliceOut, b.int64(`${n.name}/shrink`, shrink)], [n.name], rank === undefined ? undefined : rank - shrink.length);
};

/** The ONNX `Resize` sizes input for a TF size tensor [h, w] computed at run time: concat(N, C of x, cast(size)). */
export function computedResizeSizes(b: GraphBuilder, n: GraphNode, xNchw: string): string {
  const nc = b.node('Shape', [xNchw], [b.fresh(n.name)], 1, { start: { i: 0 }, end: { i: 2 } } satisfies Record<string, OnnxAttribute>);
  const hw = b.node('Cast', [b.input(arg(n, 1))], [b.fresh(n.name)], 1, { to: { i: ONNX_TYPE_CODE.int64 } });
  return b.node('Concat', [nc, hw], [b.fresh(n.name)], 1, { axis: { i: 0 } });
}

/** Shape-reading TF ops → ONNX (merged into the converter table). */
export const SHAPE_CONVERTERS: Record<string, Converter> = {
  Shape: shape,
  StridedSlice: stridedSlice,
};
