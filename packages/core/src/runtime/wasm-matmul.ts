/**
 * Matrix products on wasm that survive a reshape. TF.js 4.22's wasm `BatchMatMul` (and `_FusedMatMul`) keeps the
 * XNNPACK operator it built for a right-hand operand, with that operand's packed weights, under the operand's tensor
 * id alone. A reshape shares the id, so the same data multiplied again under another shape reused the old operator:
 * `matMul(ones([2, 6]), m)` then `matMul(ones([2, 4]), reshape(m, [4, 6]))` returned wrong values, and larger cases
 * aborted the wasm module or corrupted its heap. Here each right-hand operand's first shape is remembered; a later call
 * with the same data under another shape multiplies a fresh copy (its own id, freed right after), so TF.js' cache can
 * never hand it the stale operator. Calls under the first shape run unchanged.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertPlaced, type Info, type WasmLike } from './wasm-heap.js';

/**
 * The 3-D shape (batch, rows, columns) and transposition under which TF.js' kernel first saw each right-hand operand's
 * data. Shared by both kernels: which of TF.js' caches an operator lives in is its business, not ours.
 */
const firstSeen = new WeakMap<object, string>();

/** `b` as TF.js' kernel reshapes it: every leading dimension folded into one batch dimension. */
function key(b: Info, transposeB: boolean): string {
  const rank = b.shape.length;
  return `${tf.util.sizeFromShape(b.shape.slice(0, -2))},${b.shape[rank - 2]},${b.shape[rank - 1]},${transposeB ? 'T' : 'N'}`;
}

/** A copy of `x` under a new tensor id, which the caller disposes. */
function copy(backend: WasmLike, x: Info): Info {
  const out = backend.makeOutput([...x.shape], x.dtype);
  assertPlaced(backend, out, 'BatchMatMul');
  (backend.typedArrayFromHeap(out) as Float32Array).set(backend.typedArrayFromHeap(x) as Float32Array);
  return out;
}

/** Wraps TF.js' wasm `BatchMatMul` or `_FusedMatMul` (`fallback`) as described in this module's comment. */
export function makeReshapeSafeMatMul(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { b } = args.inputs as { b: Info };
    if (b.dtype !== 'float32' || b.shape.length < 2) return fallback(args);
    const k = key(b, (args.attrs as unknown as { transposeB?: boolean }).transposeB === true);
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
}
