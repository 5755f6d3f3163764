/**
 * Matrix products on wasm that survive a reshape, and fused products that add their bias where it belongs. TF.js 4.22's
 * wasm `BatchMatMul` and `_FusedMatMul` run XNNPACK for one untransposed matrix a side, and cache the XNNPACK operator,
 * with the right-hand operand packed into it, under that operand's tensor id (and the bias and activation), not its
 * shape. A reshape shares the id, so the same data multiplied again under another shape reused the old operator:
 * `matMul(ones([2, 6]), m)` then `matMul(ones([2, 4]), reshape(m, [4, 6]))` returned wrong values, and larger cases
 * aborted the wasm module or corrupted its heap. Here each right-hand operand's first shape on that path is
 * remembered; a later call with the same data under another shape multiplies a fresh copy (its own id, freed right
 * after), so TF.js' cache can never hand it the stale operator. Every other product runs TF.js' scalar loop, which has
 * no cache but put a fused bias on the wrong elements (by flat output index, and once per 48 inner elements); those
 * calls run as a product, a bias and an activation ({@link unfusedWithBias}). A product of one matrix a side with a
 * transposed operand transposes a copy first and runs on XNNPACK ({@link viaTransposes}) instead of the scalar loop.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { newOutput, wasmKernel, type Info, type WasmLike } from './wasm-heap.js';

/** The shape under which TF.js' XNNPACK path first saw each right-hand operand's data. */
const firstSeen = new WeakMap<object, string>();

/** Whether TF.js' kernel takes its XNNPACK path (and caches an operator on `b`): one untransposed matrix a side. */
function xnnpackPath(a: Info, b: Info, attrs: { transposeA?: boolean | undefined; transposeB?: boolean | undefined }): boolean {
  return attrs.transposeA !== true && attrs.transposeB !== true && tf.util.sizeFromShape(a.shape.slice(0, -2)) === 1 && tf.util.sizeFromShape(b.shape.slice(0, -2)) === 1;
}

/** A copy of `x` under a new tensor id, which the caller disposes. */
function copy(backend: WasmLike, x: Info): Info {
  const out = newOutput(backend, x.shape, x.dtype, 'BatchMatMul');
  (backend.typedArrayFromHeap(out) as Float32Array).set(backend.typedArrayFromHeap(x) as Float32Array);
  return out;
}

/** The activations `_FusedMatMul` applies, as the kernels that apply them on their own. */
function activate(backend: WasmLike, x: Info, attrs: { activation?: string; leakyreluAlpha?: number }, alpha: Info | undefined): Info {
  const run = (name: string, inputs: Record<string, Info>, extra: tf.NamedAttrMap = {}): Info => wasmKernel(name)({ inputs, backend, attrs: extra }) as Info;
  switch (attrs.activation ?? 'linear') {
    case 'linear':
      return x;
    case 'relu':
      return run('Relu', { x });
    case 'relu6':
      return run('Relu6', { x });
    case 'elu':
      return run('Elu', { x });
    case 'sigmoid':
      return run('Sigmoid', { x });
    case 'leakyrelu':
      return run('LeakyRelu', { x }, { alpha: attrs.leakyreluAlpha ?? 0.2 });
    case 'prelu':
      if (alpha === undefined) throw new Error('_FusedMatMul: prelu needs its activation weights');
      return run('Prelu', { x, alpha });
    default:
      throw new Error(`_FusedMatMul: unknown activation ${String(attrs.activation)}`);
  }
}

/**
 * `_FusedMatMul` where TF.js' wasm kernel is wrong: with a bias and transposed operands or a batch of matrices (the
 * bias landed on the wrong elements, off by up to the bias itself), or with an inner size of 0 (uninitialised memory):
 * the product, then the bias, then the activation, each by its own kernel, as the `cpu` backend computes it.
 * Undefined where TF.js' kernel is right (no bias, or one untransposed matrix on each side: the dense layer's case).
 */
function unfusedWithBias(args: Parameters<tf.KernelFunc>[0]): Info | undefined {
  const { a, b, bias, preluActivationWeights } = args.inputs as { a: Info; b: Info; bias?: Info; preluActivationWeights?: Info };
  const attrs = args.attrs as unknown as { transposeA?: boolean; transposeB?: boolean; activation?: string; leakyreluAlpha?: number };
  const inner = attrs.transposeA === true ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
  // The op hands the kernel 3-D operands: one matrix each ([1, m, k] × [1, k, n]) is the dense layer's case.
  if (inner !== 0 && (bias == null || xnnpackPath(a, b, attrs))) return undefined;
  const backend = args.backend as WasmLike;
  const product = wasmKernel('BatchMatMul')({ inputs: { a, b }, backend, attrs: { transposeA: attrs.transposeA === true, transposeB: attrs.transposeB === true } }) as Info;
  let biased = product;
  if (bias != null) {
    try {
      biased = wasmKernel('Add')({ inputs: { a: product, b: bias }, backend, attrs: {} }) as Info;
    } finally {
      backend.disposeData(product.dataId);
    }
  }
  try {
    const out = activate(backend, biased, attrs, preluActivationWeights);
    if (out !== biased) backend.disposeData(biased.dataId);
    return out;
  } catch (err) {
    backend.disposeData(biased.dataId);
    throw err;
  }
}

/** `x` with its last two axes swapped, as a new tensor the caller disposes. */
function transposeLast(backend: WasmLike, x: Info): Info {
  const perm = x.shape.map((_, i) => i);
  [perm[perm.length - 2], perm[perm.length - 1]] = [perm[perm.length - 1]!, perm[perm.length - 2]!];
  return wasmKernel('Transpose')({ inputs: { x }, backend, attrs: { perm } }) as Info;
}

/**
 * A product of one float32 matrix a side with a transposed operand, as the product of the transposed copies: TF.js'
 * kernel runs XNNPACK only for untransposed operands and takes a scalar loop otherwise, which is every dense layer's
 * backward pass (`dy · Wᵀ`, `xᵀ · dy`). Transposing costs one pass over the operand; the product then runs on XNNPACK,
 * 4.6–13.7× faster on the dense-gradient shapes of `bench/wasm-kernels.ts`. Sums run in XNNPACK's order, so results differ from
 * the scalar loop's by rounding only. The copies have their own tensor ids and are freed here, so XNNPACK's operator
 * cache never keeps one. Undefined (TF.js' path) for batches of matrices and other dtypes.
 */
function viaTransposes(args: Parameters<tf.KernelFunc>[0], untransposed: tf.KernelFunc): Info | undefined {
  const { a, b } = args.inputs as { a: Info; b: Info };
  const attrs = args.attrs as unknown as { transposeA?: boolean; transposeB?: boolean };
  const single = (x: Info): boolean => x.dtype === 'float32' && x.shape.length >= 2 && tf.util.sizeFromShape(x.shape.slice(0, -2)) === 1;
  if (!single(a) || !single(b)) return undefined;
  const backend = args.backend as WasmLike;
  const copies: Info[] = [];
  try {
    const ta = attrs.transposeA === true ? transposeLast(backend, a) : a;
    if (ta !== a) copies.push(ta);
    const tb = attrs.transposeB === true ? transposeLast(backend, b) : b;
    if (tb !== b) copies.push(tb);
    return untransposed({ ...args, inputs: { ...args.inputs, a: ta, b: tb }, attrs: { ...args.attrs, transposeA: false, transposeB: false } }) as Info;
  } finally {
    for (const c of copies) backend.disposeData(c.dataId);
  }
}

/** Wraps TF.js' wasm `_FusedMatMul`: {@link unfusedWithBias} where TF.js' kernel is wrong, else as `BatchMatMul`. */
export function makeFusedMatMul(fallback: tf.KernelFunc): tf.KernelFunc {
  const safe = makeReshapeSafeMatMul(fallback);
  return (args) => unfusedWithBias(args) ?? safe(args);
}

/** Wraps TF.js' wasm `BatchMatMul` (or `_FusedMatMul`) as described in this module's comment. */
export function makeReshapeSafeMatMul(fallback: tf.KernelFunc): tf.KernelFunc {
  const reshapeSafe: tf.KernelFunc = (args) => {
    const { a, b } = args.inputs as { a: Info; b: Info };
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA?: boolean; transposeB?: boolean };
    if (a.dtype === 'float32' && a.shape.length >= 2 && b.shape.length >= 2 && a.shape[a.shape.length - (transposeA === true ? 2 : 1)] === 0) {
      // An inner size of 0: every sum is empty, so 0 (TF.js' kernel returned uninitialised memory).
      const batch = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
      const rows = a.shape[a.shape.length - (transposeA === true ? 1 : 2)]!;
      const cols = b.shape[b.shape.length - (transposeB === true ? 2 : 1)]!;
      return newOutput(args.backend as WasmLike, [...batch, rows, cols], 'float32', 'BatchMatMul', 0);
    }
    if (transposeA === true || transposeB === true) {
      const untransposed = viaTransposes(args, reshapeSafe);
      if (untransposed !== undefined) return untransposed;
    }
    if (b.dtype !== 'float32' || b.shape.length < 2 || !xnnpackPath(a, b, { transposeA, transposeB })) return fallback(args);
    const k = b.shape.slice(-2).join(',');
    const first = firstSeen.get(b.dataId);
    if (first === undefined) firstSeen.set(b.dataId, k);
    if (first === undefined || first === k) return fallback(args);
    const backend = args.backend as WasmLike;
    const fresh = copy(backend, b);
    try {
      return fallback({ ...args, inputs: { ...args.inputs, b: fresh } });
    } finally {
      backend.disposeData(fresh.dataId);
    }
  };
  return reshapeSafe;
}
