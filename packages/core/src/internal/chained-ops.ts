import * as tf from '@tensorflow/tfjs-core';

// Chained tensor methods (`t.reshape(…)`, `t.add(…)`, `t.cast(…)` …) for Node.js without the `@tensorflow/tfjs` union
// package. tfjs-core's Node build (dist/tf-core.node.js, what `import '@tensorflow/tfjs-core'` loads in Node) does not
// register them; the union's Node bundle does, and so does this module, with the same 137 methods and the same bodies
// as tfjs-core 4.22's dist/public/chained_ops/*.js. (tfjs-core's own registration files cannot be imported in Node:
// they are extension-less ES modules in a package without "type": "module".) Gradients need nothing of the kind:
// tfjs-layers' Node bundle registers all of them. Their TypeScript declarations are tfjs-core's own (see tf.ts).
//
// Methods already present are kept, so loading `@tensorflow/tfjs` (tfjs-node requires it) after core changes nothing.
// Do not "simplify" this away: core, the verticals and user code call chained methods, and without this module they
// are undefined at run time while still type-checking.

/**
 * The methods whose chained form is exactly `op(this, ...args)`, op being tfjs-core's function of the same name
 * (`tf.image.<name>` for the two resize methods, listed last).
 */
const FORWARDED = [
  'abs', 'acos', 'acosh', 'add', 'all', 'any', 'argMax', 'argMin', 'asin', 'asinh', 'atan', 'atan2', 'atanh', 'avgPool',
  'batchToSpaceND', 'batchNorm', 'broadcastTo', 'cast', 'ceil', 'clipByValue', 'conv1d', 'conv2dTranspose', 'conv2d',
  'cos', 'cosh', 'cumprod', 'cumsum', 'depthToSpace', 'depthwiseConv2d', 'dilation2d', 'divNoNan', 'div', 'dot', 'elu',
  'equal', 'erf', 'euclideanNorm', 'exp', 'expandDims', 'expm1', 'fft', 'floorDiv', 'floor', 'gather', 'greaterEqual',
  'greater', 'ifft', 'irfft', 'isFinite', 'isInf', 'isNaN', 'leakyRelu', 'lessEqual', 'less', 'localResponseNormalization',
  'logSigmoid', 'logSoftmax', 'logSumExp', 'log', 'log1p', 'logicalAnd', 'logicalNot', 'logicalOr', 'logicalXor',
  'matMul', 'maxPool', 'max', 'maximum', 'mean', 'min', 'minimum', 'mirrorPad', 'mod', 'mul', 'neg', 'norm',
  'notEqual', 'oneHot', 'onesLike', 'pad', 'pool', 'pow', 'prelu', 'prod', 'reciprocal', 'relu', 'relu6', 'reshape',
  'reverse', 'rfft', 'round', 'rsqrt', 'selu', 'separableConv2d', 'sigmoid',
  'sign', 'sin', 'sinh', 'slice', 'softmax', 'softplus', 'spaceToBatchND', 'split', 'sqrt', 'square',
  'squaredDifference', 'squeeze', 'step', 'stridedSlice', 'sub', 'sum', 'tan', 'tanh', 'tile', 'topk', 'transpose',
  'unique', 'unsortedSegmentSum', 'unstack', 'zerosLike',
] as const;
const IMAGE_FORWARDED = ['resizeBilinear', 'resizeNearestNeighbor'] as const;

type AnyTensor = tf.Tensor;
type Method = (this: AnyTensor, ...args: never[]) => unknown;

/** The methods with a body of their own, as in tfjs-core. */
const SPECIAL: Record<string, Method> = {
  as1D(this: AnyTensor) { this.throwIfDisposed(); return tf.reshape(this, [this.size]); },
  as2D(this: AnyTensor, rows: number, columns: number) { this.throwIfDisposed(); return tf.reshape(this, [rows, columns]); },
  as3D(this: AnyTensor, rows: number, columns: number, depth: number) { this.throwIfDisposed(); return tf.reshape(this, [rows, columns, depth]); },
  as4D(this: AnyTensor, rows: number, columns: number, depth: number, depth2: number) {
    this.throwIfDisposed();
    return tf.reshape(this, [rows, columns, depth, depth2]);
  },
  as5D(this: AnyTensor, rows: number, columns: number, depth: number, depth2: number, depth3: number) {
    this.throwIfDisposed();
    return tf.reshape(this, [rows, columns, depth, depth2, depth3]);
  },
  asScalar(this: AnyTensor) {
    this.throwIfDisposed();
    tf.util.assert(this.size === 1, () => 'The array must have only 1 element.');
    return tf.reshape(this, []);
  },
  asType(this: AnyTensor, dtype: tf.DataType) { this.throwIfDisposed(); return tf.cast(this, dtype); },
  concat(this: AnyTensor, x: AnyTensor | AnyTensor[], axis?: number) {
    this.throwIfDisposed();
    return tf.concat([this, ...(x instanceof tf.Tensor ? [x] : x)], axis);
  },
  flatten(this: AnyTensor) { this.throwIfDisposed(); return tf.reshape(this, [this.size]); },
  reshapeAs(this: AnyTensor, x: AnyTensor) { this.throwIfDisposed(); return tf.reshape(this, x.shape); },
  stack(this: AnyTensor, x: AnyTensor | AnyTensor[], axis?: number) {
    this.throwIfDisposed();
    return tf.stack(x instanceof tf.Tensor ? [this, x] : [this, ...x], axis);
  },
  toBool(this: AnyTensor) { this.throwIfDisposed(); return tf.cast(this, 'bool'); },
  toFloat(this: AnyTensor) { this.throwIfDisposed(); return tf.cast(this, 'float32'); },
  toInt(this: AnyTensor) { this.throwIfDisposed(); return tf.cast(this, 'int32'); },
  where(this: AnyTensor, condition: AnyTensor, x: AnyTensor) { this.throwIfDisposed(); return tf.where(condition, this, x); },
};

/** Number of chained methods this module provides (137, as tfjs-core 4.22 defines). */
export const CHAINED_OP_COUNT = FORWARDED.length + IMAGE_FORWARDED.length + Object.keys(SPECIAL).length;

type Op = (x: AnyTensor, ...args: unknown[]) => unknown;
const ops = tf as unknown as Record<string, Op>;
const imageOps = tf.image as unknown as Record<string, Op>;
const proto = tf.Tensor.prototype as unknown as Record<string, unknown>;
for (const [name, op] of [...FORWARDED.map((n) => [n, ops[n]] as const), ...IMAGE_FORWARDED.map((n) => [n, imageOps[n]] as const)]) {
  if (typeof op !== 'function') throw new Error(`@lepton/core: tfjs-core has no op '${name}' to chain; the TF.js version does not match 4.22`);
  if (typeof proto[name] !== 'function') {
    proto[name] = function chained(this: AnyTensor, ...args: unknown[]) {
      this.throwIfDisposed();
      return op(this, ...args);
    };
  }
}
for (const [name, method] of Object.entries(SPECIAL)) if (typeof proto[name] !== 'function') proto[name] = method;
