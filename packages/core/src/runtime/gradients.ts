/**
 * Gradients of `Sum` and `Mean` that broadcast the incoming gradient instead of multiplying it by a tensor of ones.
 * TF.js 4.22's gradients for both build `ones(x.shape)` as a JavaScript array the size of the input (filled element
 * by element, then uploaded to the backend), multiply, and for `Mean` divide the whole product: every global-pooling,
 * loss-averaging and batch-norm-statistics step of every training pass paid that. Here the incoming gradient (reduced
 * shape) is divided first, when `Mean`, and then broadcast with `broadcastTo` (a `Tile`) whose own gradient is one
 * `Sum`. Each element is the same float32 operation on the same operands as before (`dy · 1 = dy`, then `dy / n`), so
 * the gradients, and the gradients of these gradients, are bit-identical; checked against TF.js' own in the tests.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * The input's shape with the reduced axes set to 1 (the shape the incoming gradient is reshaped to), and how many
 * elements each output element reduced.
 */
function reduced(x: tf.Tensor, axis: unknown): { shape: number[]; count: number } {
  const axes = tf.util.parseAxisParam(axis as number | number[], x.shape);
  return { shape: x.shape.map((d, i) => (axes.includes(i) ? 1 : d)), count: axes.reduce((n, a) => n * x.shape[a]!, 1) };
}

/** The incoming gradient as float32 (TF.js' product with float32 ones upcasts it the same way). */
const asFloat = (t: tf.Tensor): tf.Tensor => (t.dtype === 'float32' ? t : tf.cast(t, 'float32'));

/**
 * `g` (the incoming gradient, reshaped to the input's rank) broadcast to `shape`, divided by `count` first when given
 * (`Mean`). The broadcast has a gradient of its own: one `Sum` over the broadcast axes (after the same division), which
 * is what TF.js' product with ones differentiates to. Left to TF.js, `broadcastTo`'s `Tile` would be differentiated
 * by its gradient, which slices and adds once per repetition (16× slower in a second-order gradient through a mean
 * over [8, 32, 32, 3]), is not bit-identical, and throws for rank 5 and above. An empty `shape` gets an empty tensor:
 * TF.js' `broadcastTo` returns its input unchanged when no axis grows by more than 1, so a [1, 3] gradient
 * "broadcast" to [0, 3] would keep the shape [1, 3].
 */
function spread(g: tf.Tensor, shape: number[], count?: number): tf.Tensor {
  if (tf.util.sizeFromShape(shape) === 0) return tf.zeros(shape);
  const scaled = (t: tf.Tensor): tf.Tensor => (count === undefined ? t : tf.div(t, count));
  const axes = shape.flatMap((d, i) => (g.shape[i] === 1 && d !== 1 ? [i] : []));
  if (axes.length === 0) return count === undefined ? tf.clone(g) : tf.div(g, count);
  const broadcast = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const a = args[0] as tf.Tensor;
    return { value: tf.broadcastTo(scaled(a), shape), gradFunc: (d: tf.Tensor) => tf.reshape(tf.sum(scaled(d), axes, true), a.shape) };
  });
  return broadcast(g);
}

/** The gradient of `Sum` or `Mean`: the incoming gradient spread over the reduced axes (divided by their size for `Mean`). */
const reductionGrad = (kernelName: 'Sum' | 'Mean'): tf.GradConfig => ({
  kernelName,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const x = saved[0] as tf.Tensor;
    const { shape, count } = reduced(x, attrs['axis']);
    return { x: () => spread(asFloat(tf.reshape(dy as tf.Tensor, shape)), x.shape, kernelName === 'Mean' ? count : undefined) };
  },
});

let registered: string[] | undefined;

/**
 * Registers the `Sum` and `Mean` gradients of this module in TF.js' (global) gradient registry, for every backend.
 * Idempotent. With `LEPTON_WASM_KERNELS=tfjs` in the environment TF.js' own gradients stay (the baseline of
 * `pnpm bench`'s wasm-kernels suite).
 *
 * @returns names of the kernels whose gradients were replaced
 */
export function registerLeanGradients(): string[] {
  if (registered !== undefined) return registered;
  registered = [];
  if (typeof process !== 'undefined' && process.env['LEPTON_WASM_KERNELS'] === 'tfjs') return registered;
  for (const g of [reductionGrad('Sum'), reductionGrad('Mean')]) {
    tf.registerGradient(g);
    registered.push(g.kernelName);
  }
  return registered;
}
