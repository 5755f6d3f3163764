/**
 * Broadcasting binary ops, Equal, empty reductions and Identity for the wasm backend. TF.js 4.22's wasm kernels walk a broadcast element
 * by element with index arithmetic (a per-channel multiply of a [32, 64, 64, 8] activation took 3.6× a same-shape one),
 * `Equal` has no fast path at all (a [32, 16, 16, 32] activation against its per-channel maxima, global max pooling's
 * gradient: 31 ms), and `Identity` copies. Batch normalisation's and global pooling's gradients are full of these. Here:
 * - a broadcast `Add`/`Sub`/`Multiply`/`RealDiv` of float32 where one operand has the output's shape expands the other
 *   at memcpy speed (the Tile of `wasm-kernels.ts`) and runs TF.js' own same-shape SIMD kernel (a scalar, or a
 *   broadcast of both operands, stays on TF.js' kernel);
 * - `Equal` of float32 or int32 expands likewise and compares in one JavaScript pass;
 * - an allocation TF.js' allocator could not place (it returns address 0 unchecked) falls back to TF.js' kernel;
 * - a `Sum` or float32 `Mean` of an empty tensor is 0, as on `cpu` (TF.js' kernels left them uninitialised), and a
 *   `Max`, `Min`, `Prod`, `All` or `Any` of one is its operation's identity, as in TensorFlow;
 * - `Identity` shares the input's memory, as the cpu and webgpu backends do.
 * Every other dtype and shape keeps TF.js' kernel. Checked against the `cpu` backend in the tests.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { newOutput, placed, wasmKernel, type Info, type WasmLike } from './wasm-heap.js';

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Largest output (elements) whose smaller operand is expanded: 16 Mi float32, 64 MiB. The expansion is an extra
 * tensor of the output's size, and TF.js' allocator does not check for failure (its kernel would write the result to
 * address 0), so big tensors, where the per-element overhead matters least, keep TF.js' kernel and its memory use.
 */
const MAX_EXPANDED = 16 * 1024 * 1024;

/**
 * Which operand to expand: the one that is not the output's shape, when the other one is and the broadcast one has
 * more than one element. Otherwise undefined, and TF.js' kernel runs: a scalar has its own fast path there, and
 * expanding both operands (an outer sum, [1, n] + [n, 1]) would triple the memory for no gain.
 */
function toExpand(a: Info, b: Info, shape: number[]): 'a' | 'b' | undefined {
  if (tf.util.sizeFromShape(shape) > MAX_EXPANDED) return undefined;
  const aFull = sameShape(a.shape, shape);
  const bFull = sameShape(b.shape, shape);
  if (aFull === bFull) return undefined;
  const small = aFull ? b : a;
  return tf.util.sizeFromShape(small.shape) > 1 ? (aFull ? 'b' : 'a') : undefined;
}

/**
 * `x` broadcast to `shape` as a new tensor the caller disposes (a view of `x` padded to the output's rank is tiled), or
 * undefined when the wasm memory cannot hold it (the Tile refuses rather than write to address 0).
 */
function expand(x: Info, shape: number[], backend: tf.KernelBackend): Info | undefined {
  const padded = [...new Array<number>(shape.length - x.shape.length).fill(1), ...x.shape];
  try {
    return wasmKernel('Tile')({ inputs: { x: { dataId: x.dataId, shape: padded, dtype: x.dtype } }, backend, attrs: { reps: shape.map((d, i) => d / padded[i]!) } }) as Info;
  } catch (err) {
    if (err instanceof RangeError) return undefined;
    throw err;
  }
}

/**
 * A broadcast of float32 operands where one already has the output's shape: the other is expanded, then TF.js'
 * same-shape kernel runs. Everything else (and an expansion the wasm memory cannot hold) is TF.js' kernel.
 */
function makeArithmetic(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: Info; b: Info };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return fallback(args);
    const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const which = toExpand(a, b, shape);
    if (which === undefined) return fallback(args);
    const backend = args.backend as WasmLike;
    const wide = expand(which === 'a' ? a : b, shape, backend);
    if (wide === undefined) return fallback(args);
    try {
      return fallback({ ...args, inputs: which === 'a' ? { a: wide, b } : { a, b: wide } });
    } finally {
      backend.disposeData(wide.dataId);
    }
  };
}

/** Equal of float32 or int32 (TF.js' wasm Equal is slow even without a broadcast): compared in one pass. */
function makeEqual(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: Info; b: Info };
    if (a.dtype !== b.dtype || (a.dtype !== 'float32' && a.dtype !== 'int32')) return fallback(args);
    const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const same = sameShape(a.shape, b.shape);
    const which = same ? undefined : toExpand(a, b, shape);
    if (!same && which === undefined) return fallback(args);
    const backend = args.backend as WasmLike;
    const wide = which === undefined ? undefined : expand(which === 'a' ? a : b, shape, backend);
    if (which !== undefined && wide === undefined) return fallback(args);
    try {
      const out = backend.makeOutput(shape, 'bool');
      if (!placed(backend, out)) {
        backend.disposeData(out.dataId);
        return fallback(args);
      }
      // Views after every allocation: growing the wasm memory detaches views taken before.
      const dst = backend.typedArrayFromHeap(out) as Uint8Array;
      const x = backend.typedArrayFromHeap(which === 'a' ? wide! : a) as Float32Array | Int32Array;
      const y = backend.typedArrayFromHeap(which === 'b' ? wide! : b) as Float32Array | Int32Array;
      for (let i = 0; i < dst.length; i++) dst[i] = x[i] === y[i] ? 1 : 0;
      return out;
    } finally {
      if (wide !== undefined) backend.disposeData(wide.dataId);
    }
  };
}

/** Attributes of TF.js' reduction kernels. */
interface ReduceAttrs {
  axis: number | number[];
  keepDims: boolean;
}

/** The output shape of a reduction of `shape` over `axes`. */
const reducedShape = (shape: readonly number[], axes: readonly number[], keepDims: boolean): number[] =>
  keepDims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));

/**
 * Sum of an empty tensor: 0 (TF.js' kernel left the sums uninitialised: an int32 sum of a [0, 3] tensor came back as
 * 25504). Everything else keeps TF.js' kernel. Tried and dropped for sums over leading axes (batch-norm statistics),
 * each no faster than TF.js' transpose-then-reduce on fresh inputs: a one-pass JavaScript reduction, and a product
 * with a row of ones on XNNPACK (bit-identical, and 7–20× faster on one input used again, but 2.5–5× slower on fresh
 * ones: XNNPACK packs the right-hand operand anew each time). So was a JavaScript `FusedBatchNorm` in the `cpu`
 * backend's arithmetic: 0.8–1.6× TF.js' kernel, depending on the channels.
 */
function makeSum(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: Info };
    if (tf.util.sizeFromShape(x.shape) !== 0 || (x.dtype !== 'float32' && x.dtype !== 'int32')) return fallback(args);
    const { axis, keepDims } = args.attrs as unknown as ReduceAttrs;
    const backend = args.backend as WasmLike;
    return newOutput(backend, reducedShape(x.shape, tf.util.parseAxisParam(axis, x.shape), keepDims), x.dtype, 'Sum', 0);
  };
}

/** Mean of an empty float32 tensor: 0, as on the `cpu` backend (TF.js' wasm kernel left the means uninitialised). */
function makeMean(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: Info };
    if (tf.util.sizeFromShape(x.shape) !== 0 || x.dtype !== 'float32') return fallback(args);
    const { axis, keepDims } = args.attrs as unknown as ReduceAttrs;
    const backend = args.backend as WasmLike;
    return newOutput(backend, reducedShape(x.shape, tf.util.parseAxisParam(axis, x.shape), keepDims), 'float32', 'Mean', 0);
  };
}

/**
 * The value a reduction of nothing takes: the identity of its operation, as TensorFlow defines it (`reduce_max` of an
 * empty axis is the dtype's lowest value, `reduce_all` true). TF.js' wasm kernels left these outputs uninitialised
 * (a float32 max came back as 3.6e-41, an int32 min as 25440); its `cpu` kernels read past the data instead (max and
 * min NaN, `all` false).
 */
const EMPTY_REDUCTION: Record<string, (dtype: tf.DataType) => number> = {
  Max: (dtype) => (dtype === 'int32' ? -2147483648 : dtype === 'bool' ? 0 : -Infinity),
  Min: (dtype) => (dtype === 'int32' ? 2147483647 : dtype === 'bool' ? 1 : Infinity),
  Prod: () => 1,
  All: () => 1,
  Any: () => 0,
};

/** `Max`, `Min`, `Prod`, `All` or `Any` of an empty tensor: {@link EMPTY_REDUCTION}'s value; anything else TF.js' kernel. */
const makeEmptyReduction =
  (name: keyof typeof EMPTY_REDUCTION) =>
  (fallback: tf.KernelFunc): tf.KernelFunc =>
  (args) => {
    const { x } = args.inputs as { x: Info };
    if (tf.util.sizeFromShape(x.shape) !== 0 || (x.dtype !== 'float32' && x.dtype !== 'int32' && x.dtype !== 'bool')) return fallback(args);
    // `Max` names its axes `reductionIndices`; the others, `axis`.
    const { axis, reductionIndices, keepDims } = args.attrs as unknown as { axis?: number | number[]; reductionIndices?: number | number[]; keepDims: boolean };
    // Prod of int32 or bool stays int32 (TF.js' upcast); the rest keep the input's dtype.
    const dtype = name === 'Prod' && x.dtype === 'bool' ? 'int32' : x.dtype;
    return newOutput(args.backend as WasmLike, reducedShape(x.shape, tf.util.parseAxisParam(axis ?? reductionIndices!, x.shape), keepDims), dtype, name, EMPTY_REDUCTION[name]!(x.dtype));
  };

/** Identity shares the input's memory (as the cpu and webgpu backends do) instead of copying it. */
const makeIdentity =
  (fallback: tf.KernelFunc): tf.KernelFunc =>
  (args) => {
    const { x } = args.inputs as { x: Info };
    if (x.dtype === 'string') return fallback(args);
    (args.backend as WasmLike).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };

/**
 * The kernels of this module, by TF.js kernel name, as factories over TF.js' own kernel (their fallback). Registered
 * after the Tile of `wasm-kernels.ts`, which the broadcasts use.
 */
export const WASM_ELEMENTWISE_KERNELS: ReadonlyArray<readonly [string, (fallback: tf.KernelFunc) => tf.KernelFunc]> = [
  ['Add', makeArithmetic],
  ['Sub', makeArithmetic],
  ['Multiply', makeArithmetic],
  ['RealDiv', makeArithmetic],
  ['Equal', makeEqual],
  ['Sum', makeSum],
  ['Mean', makeMean],
  ...(['Max', 'Min', 'Prod', 'All', 'Any'] as const).map((name) => [name, makeEmptyReduction(name)] as const),
  ['Identity', makeIdentity],
];
