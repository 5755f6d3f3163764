/**
 * Broadcasting binary ops, Equal and Identity for the wasm backend. TF.js 4.22's wasm kernels walk a broadcast element
 * by element with index arithmetic (a per-channel multiply of a [32, 64, 64, 8] activation took 3.6× a same-shape one),
 * `Equal` has no fast path at all (a [32, 16, 16, 32] activation against its per-channel maxima, global max pooling's
 * gradient: 31 ms), and `Identity` copies. Batch normalisation's and global pooling's gradients are full of these. Here:
 * - a broadcast `Add`/`Sub`/`Multiply`/`RealDiv` of float32 expands the smaller operand at memcpy speed (the Tile of
 *   `wasm-kernels.ts`) and runs TF.js' own same-shape SIMD kernel;
 * - `Equal` of float32 or int32 expands likewise and compares in one JavaScript pass;
 * - a `Sum` of an empty tensor is 0 (TF.js' kernel left it uninitialised);
 * - `Identity` shares the input's memory, as the cpu and webgpu backends do.
 * Every other dtype and shape keeps TF.js' kernel. Checked against the `cpu` backend in the tests.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';

type Info = tf.TensorInfo;
interface WasmLike extends tf.KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType): Info;
  typedArrayFromHeap(info: Info): Float32Array | Int32Array | Uint8Array;
  incRef(dataId: object): void;
  disposeData(dataId: object, force?: boolean): boolean;
}

function wasmKernel(name: string): tf.KernelFunc {
  const k = tf.getKernel(name, 'wasm');
  if (k === undefined) throw new Error(`wasm kernel ${name} is missing`);
  return k.kernelFunc;
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * `x` broadcast to `shape` as a new tensor (the caller disposes it), or `x` itself when it has that shape already.
 * A view of `x` with its shape padded to the output's rank (same memory) is tiled.
 */
function expand(x: Info, shape: number[], backend: tf.KernelBackend): Info {
  if (sameShape(x.shape, shape)) return x;
  const padded = [...new Array<number>(shape.length - x.shape.length).fill(1), ...x.shape];
  return wasmKernel('Tile')({ inputs: { x: { dataId: x.dataId, shape: padded, dtype: x.dtype } }, backend, attrs: { reps: shape.map((d, i) => d / padded[i]!) } }) as Info;
}

/** A broadcast of float32 operands: both expanded to the output's shape, then TF.js' same-shape kernel. */
function makeArithmetic(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: Info; b: Info };
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || sameShape(a.shape, b.shape)) return fallback(args);
    const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    if (tf.util.sizeFromShape(shape) === 0) return fallback(args);
    const backend = args.backend as WasmLike;
    const ea = expand(a, shape, backend);
    const eb = expand(b, shape, backend);
    try {
      return fallback({ ...args, inputs: { a: ea, b: eb } });
    } finally {
      if (ea !== a) backend.disposeData(ea.dataId);
      if (eb !== b) backend.disposeData(eb.dataId);
    }
  };
}

/** Equal of float32 or int32: expanded to the output's shape, compared in one pass. */
function makeEqual(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: Info; b: Info };
    if (a.dtype !== b.dtype || (a.dtype !== 'float32' && a.dtype !== 'int32')) return fallback(args);
    const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const backend = args.backend as WasmLike;
    const ea = expand(a, shape, backend);
    const eb = expand(b, shape, backend);
    try {
      const out = backend.makeOutput(shape, 'bool');
      // Views after every allocation: growing the wasm memory detaches views taken before.
      const dst = backend.typedArrayFromHeap(out) as Uint8Array;
      const x = backend.typedArrayFromHeap(ea) as Float32Array | Int32Array;
      const y = backend.typedArrayFromHeap(eb) as Float32Array | Int32Array;
      for (let i = 0; i < dst.length; i++) dst[i] = x[i] === y[i] ? 1 : 0;
      return out;
    } finally {
      if (ea !== a) backend.disposeData(ea.dataId);
      if (eb !== b) backend.disposeData(eb.dataId);
    }
  };
}

/**
 * Sum of an empty tensor: TF.js' wasm kernel leaves the sums uninitialised (an int32 sum of a [0, 3] tensor came back as
 * 25504); a sum over nothing is 0. Everything else keeps TF.js' kernel. (A one-pass JavaScript reduction of leading axes
 * was tried for batch-norm statistics: no faster than TF.js' transpose-then-reduce inside a training step.)
 */
function makeSum(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: Info };
    if (tf.util.sizeFromShape(x.shape) !== 0 || (x.dtype !== 'float32' && x.dtype !== 'int32')) return fallback(args);
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const axes = tf.util.parseAxisParam(axis, x.shape);
    const shape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
    const backend = args.backend as WasmLike;
    const out = backend.makeOutput(shape, x.dtype);
    backend.typedArrayFromHeap(out).fill(0);
    return out;
  };
}

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
  ['Identity', makeIdentity],
];
