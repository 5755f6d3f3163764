import * as tf from '@tensorflow/tfjs-core';
import { makePoolGuard, makeSamePadFix, stridedInputGradient } from './wasm-conv-strided.js';
import { WASM_ELEMENTWISE_KERNELS } from './wasm-elementwise.js';
import { WASM_FIXED_KERNELS } from './wasm-fixes.js';
import { makeFusedMatMul, makeReshapeSafeMatMul } from './wasm-matmul.js';
import { assertPlaced, newOutput, wasmKernel, type Info, type WasmLike } from './wasm-heap.js';

type Shape4 = [number, number, number, number];

/** Attributes shared by TF.js' two convolution-gradient kernels. */
interface ConvGradAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * Conv2DBackpropFilter for the wasm backend, which TF.js 4.22 does not ship — without it no convolutional model
 * can train on wasm. Built from wasm's own XNNPACK kernels with the classic identity
 *
 *   dW[kh, kw, c, f] = Σ_{n, oh, ow} x[n, oh·s + kh − pad, ow·s + kw − pad, c] · dy[n, oh, ow, f]
 *                    = conv2d(xᵀ [C, H, W, N], dyᵀ [OH, OW, N, F], stride 1, dilation s, same pads) → [C, KH, KW, F],
 *
 * i.e. the batch becomes the contraction channel and the forward stride becomes a dilation. When the stride does
 * not divide the padded extent evenly the result has extra trailing rows/columns (offsets beyond the kernel),
 * which are cropped. Checked against the cpu backend's kernel in test/runtime.test.ts.
 */
const conv2dBackpropFilter: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: Info; dy: Info };
  const a = attrs as unknown as ConvGradAttrs & { filterShape: Shape4 };
  if (a.dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter on wasm supports NHWC only');
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    a.filterShape,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
  const [kh, kw, c, f] = a.filterShape;
  if (tf.util.sizeFromShape(x.shape) === 0 || tf.util.sizeFromShape(dy.shape) === 0) return newOutput(backend as WasmLike, a.filterShape, 'float32', 'Conv2DBackpropFilter', 0);
  const transpose = wasmKernel('Transpose');
  const conv = wasmKernel('Conv2D');
  const slice = wasmKernel('Slice');
  const b = backend as WasmLike;
  const xt = transpose({ inputs: { x }, backend, attrs: { perm: [3, 1, 2, 0] } }) as Info;
  const dyt = transpose({ inputs: { x: dy }, backend, attrs: { perm: [1, 2, 0, 3] } }) as Info;
  const { top, bottom, left, right } = info.padInfo;
  const full = conv({
    inputs: { x: xt, filter: dyt },
    backend,
    attrs: {
      strides: [1, 1],
      pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
      dataFormat: 'NHWC',
      dilations: [info.strideHeight, info.strideWidth],
    },
  }) as Info;
  b.disposeData(xt.dataId);
  b.disposeData(dyt.dataId);
  let cropped = full;
  if (full.shape[1] !== kh || full.shape[2] !== kw) {
    cropped = slice({ inputs: { x: full }, backend, attrs: { begin: [0, 0, 0, 0], size: [c, kh, kw, f] } }) as Info;
    b.disposeData(full.dataId);
  }
  const out = transpose({ inputs: { x: cropped }, backend, attrs: { perm: [1, 2, 0, 3] } }) as Info;
  b.disposeData(cropped.dataId);
  return out;
};

/**
 * Conv2DBackpropInput for wasm on XNNPACK. TF.js 4.22's wasm kernel for it is a plain loop, about 10× slower
 * than XNNPACK's convolution, and it dominated CNN training time. The input gradient is a full convolution of
 * dy with the spatially reversed, channel-transposed filter. A forward stride s is split into s² stride-1
 * convolutions, one per phase of the input rows and columns (`wasm-conv-strided.ts`), so no multiplication is by an
 * inserted zero; where a phase would need a negative pad, s − 1 zeros are inserted between the rows/columns of dy
 * instead. Pads are the complements of the forward pads. Shapes the identity cannot cover (explicit pads larger than
 * the kernel) use TF.js' own kernel.
 */
function makeConv2dBackpropInput(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { dy, filter } = inputs as { dy: Info; filter: Info };
    const a = attrs as unknown as ConvGradAttrs & { inputShape: Shape4 };
    if (a.dataFormat === 'NCHW' || dy.dtype !== 'float32') return fallback(args);
    // No output position (a window that fits nowhere): nothing flows back, as on cpu; XNNPACK would read outside dy.
    if (tf.util.sizeFromShape(dy.shape) === 0 || tf.util.sizeFromShape(a.inputShape) === 0) return newOutput(backend as WasmLike, a.inputShape, 'float32', 'Conv2DBackpropInput', 0);
    const info = tf.backend_util.computeConv2DInfo(a.inputShape, filter.shape as [number, number, number, number], a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
    const [n, h, w, c] = a.inputShape;
    const [kh, kw, , f] = filter.shape as [number, number, number, number];
    const [, oh, ow] = dy.shape as [number, number, number, number];
    const sh = info.strideHeight;
    const sw = info.strideWidth;
    const dh = (oh - 1) * sh + 1;
    const dw = (ow - 1) * sw + 1;
    const top = kh - 1 - info.padInfo.top;
    const left = kw - 1 - info.padInfo.left;
    const bottom = h - dh - top + kh - 1;
    const right = w - dw - left + kw - 1;
    if (top < 0 || left < 0 || bottom < 0 || right < 0) return fallback(args);
    const b = backend as WasmLike;
    if (sh > 1 || sw > 1) {
      const phased = stridedInputGradient(b, dy, filter, a.inputShape, [sh, sw], info.padInfo);
      if (phased !== undefined) return phased;
    }
    // dy with stride − 1 zeros between rows and columns (a plain copy when the stride is 1).
    let dilated = dy;
    if (sh > 1 || sw > 1) {
      dilated = b.makeOutput([n, dh, dw, f], 'float32');
      assertPlaced(b, dilated, 'Conv2DBackpropInput');
      const out = b.typedArrayFromHeap(dilated) as Float32Array;
      const src = b.typedArrayFromHeap(dy) as Float32Array;
      out.fill(0);
      for (let i = 0; i < n; i++) {
        for (let y = 0; y < oh; y++) {
          for (let x = 0; x < ow; x++) {
            const from = ((i * oh + y) * ow + x) * f;
            out.set(src.subarray(from, from + f), ((i * dh + y * sh) * dw + x * sw) * f);
          }
        }
      }
    }
    // filter [kh, kw, c, f] → reversed in space, channels swapped: [kh, kw, f, c].
    const flipped = b.makeOutput([kh, kw, f, c], 'float32');
    try {
      assertPlaced(b, flipped, 'Conv2DBackpropInput');
    } catch (err) {
      if (dilated !== dy) b.disposeData(dilated.dataId);
      throw err;
    }
    {
      const out = b.typedArrayFromHeap(flipped) as Float32Array;
      const src = b.typedArrayFromHeap(filter) as Float32Array;
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          const from = ((kh - 1 - y) * kw + (kw - 1 - x)) * c * f;
          const to = (y * kw + x) * f * c;
          for (let ci = 0; ci < c; ci++) for (let fi = 0; fi < f; fi++) out[to + fi * c + ci] = src[from + ci * f + fi]!;
        }
      }
    }
    const result = wasmKernel('Conv2D')({
      inputs: { x: dilated, filter: flipped },
      backend,
      attrs: { strides: [1, 1], pad: [[0, 0], [top, bottom], [left, right], [0, 0]], dataFormat: 'NHWC', dilations: [1, 1] },
    }) as Info;
    if (dilated !== dy) b.disposeData(dilated.dataId);
    b.disposeData(flipped.dataId);
    return result;
  };
}

/**
 * Tile for wasm: TF.js 4.22's wasm Tile copies element by element (batch-norm gradients tile per-channel vectors to
 * whole activations, which made it a fifth of CNN training time). This fills each axis once and then doubles the
 * filled block with `copyWithin`, i.e. memcpy speed.
 */
function makeTile(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs as { x: Info };
    const reps = (attrs as unknown as { reps: number[] }).reps;
    if (x.dtype !== 'float32' && x.dtype !== 'int32') return fallback(args);
    const b = backend as WasmLike;
    const shape = x.shape;
    const outShape = shape.map((d, i) => d * reps[i]!);
    const out = b.makeOutput(outShape, x.dtype);
    assertPlaced(b, out, 'Tile');
    const dst = b.typedArrayFromHeap(out) as Float32Array | Int32Array;
    const src = b.typedArrayFromHeap(x) as Float32Array | Int32Array;
    if (dst.length === 0) return out;
    const rank = shape.length;
    const innerSrc = new Array<number>(rank).fill(1);
    const innerOut = new Array<number>(rank).fill(1);
    for (let i = rank - 2; i >= 0; i--) {
      innerSrc[i] = innerSrc[i + 1]! * shape[i + 1]!;
      innerOut[i] = innerOut[i + 1]! * outShape[i + 1]!;
    }
    const fill = (axis: number, from: number, to: number): void => {
      const block = shape[axis]! * innerOut[axis]!;
      if (axis === rank - 1) dst.set(src.subarray(from, from + shape[axis]!), to);
      else for (let i = 0; i < shape[axis]!; i++) fill(axis + 1, from + i * innerSrc[axis]!, to + i * innerOut[axis]!);
      const total = block * reps[axis]!;
      for (let done = block; done < total; ) {
        const n = Math.min(done, total - done);
        dst.copyWithin(to + done, to, to + n);
        done += n;
      }
    };
    if (rank === 0) dst[0] = src[0]!;
    else fill(0, 0, 0);
    return out;
  };
}

/**
 * Slice for wasm: TF.js 4.22's wasm Slice walks a rank-3+ slice element by element, which made dilated temporal
 * convolutions (time-shifted slices of every batch) spend 80 % of a training step in Slice. This copies each
 * contiguous run of the innermost axis with one `TypedArray.set` (memcpy).
 */
function makeSlice(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs as { x: Info };
    if (x.dtype !== 'float32' && x.dtype !== 'int32') return fallback(args);
    const a = attrs as unknown as { begin: number | number[]; size: number | number[] };
    const rank = x.shape.length;
    if (rank === 0) return fallback(args);
    const params = tf.slice_util.parseSliceParams(x as never, a.begin, a.size);
    const begin = params[0]!;
    const size = params[1]!;
    const b = backend as WasmLike;
    const out = b.makeOutput(size, x.dtype);
    assertPlaced(b, out, 'Slice');
    const dst = b.typedArrayFromHeap(out) as Float32Array | Int32Array;
    if (dst.length === 0) return out;
    const src = b.typedArrayFromHeap(x) as Float32Array | Int32Array;
    const strides = new Array<number>(rank).fill(1);
    for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1]! * x.shape[i + 1]!;
    const run = size[rank - 1]!;
    const outer = dst.length / run;
    const idx = new Array<number>(rank - 1).fill(0);
    for (let o = 0; o < outer; o++) {
      let from = begin[rank - 1]!;
      for (let d = 0; d < rank - 1; d++) from += (begin[d]! + idx[d]!) * strides[d]!;
      dst.set(src.subarray(from, from + run), o * run);
      for (let d = rank - 2; d >= 0; d--) {
        if (++idx[d]! < size[d]!) break;
        idx[d] = 0;
      }
    }
    return out;
  };
}

/**
 * GatherV2 for wasm: TF.js 4.22's wasm kernel computes every element's address with index arithmetic (8 rows of a
 * [240, 128, 128, 3] tensor took 24 ms), and training gathers every batch it takes from its data, and batch-norm
 * recalibration every chunk. This copies each gathered slice (the axes after `axis`) with one `TypedArray.set`. Same
 * index check and message as TF.js' kernel; dtypes other than float32, int32 and bool keep TF.js' kernel. It also gets
 * `batchDims` > 0 right, which TF.js' wasm kernel does not: `gather(x [3, 5, 4], [[4, 0], [1, 1], [2, 3]], 1, 1)`
 * came back with the wrong rows for the second batch and uninitialised memory for the third.
 */
function makeGather(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { x, indices } = inputs as { x: Info; indices: Info };
    if ((x.dtype !== 'float32' && x.dtype !== 'int32' && x.dtype !== 'bool') || indices.dtype !== 'int32') return fallback(args);
    const a = attrs as unknown as { axis: number; batchDims: number };
    const axis = tf.util.parseAxisParam(a.axis, x.shape)[0]!;
    const b = backend as WasmLike;
    const dim = x.shape[axis]!;
    const idx = (b.typedArrayFromHeap(indices) as Int32Array).slice();
    for (const i of idx) tf.util.assert(i <= dim - 1 && i >= 0, () => `GatherV2: the index value ${i} is not in [0, ${dim - 1}]`);
    const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(x as tf.TensorInfo as tf.Tensor, indices as tf.TensorInfo as tf.Tensor, axis, a.batchDims);
    const out = b.makeOutput(info.outputShape, x.dtype);
    assertPlaced(b, out, 'GatherV2');
    const dst = b.typedArrayFromHeap(out);
    if (dst.length === 0) return out;
    const src = b.typedArrayFromHeap(x);
    const { batchSize, outerSize, sliceSize } = info;
    const n = idx.length / batchSize;
    let to = 0;
    for (let bi = 0; bi < batchSize; bi++) {
      for (let o = 0; o < outerSize; o++) {
        const base = (bi * outerSize + o) * dim;
        for (let j = 0; j < n; j++) {
          const from = (base + idx[bi * n + j]!) * sliceSize;
          if (sliceSize < 32) for (let k = 0; k < sliceSize; k++) dst[to + k] = src[from + k]!;
          else dst.set(src.subarray(from, from + sliceSize), to);
          to += sliceSize;
        }
      }
    }
    return out;
  };
}

function replace(name: string, make: (fallback: tf.KernelFunc) => tf.KernelFunc): void {
  const existing = tf.getKernel(name, 'wasm');
  if (existing === undefined) return;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ ...existing, kernelFunc: make(existing.kernelFunc) });
}

let registered: string[] | undefined;

/**
 * Adds or speeds up the kernels training needs on the wasm backend: `Conv2DBackpropFilter` (missing from TF.js
 * 4.22's wasm backend), XNNPACK-based `Conv2DBackpropInput`, memcpy-speed `Tile`, `Slice` and `GatherV2` (replacing
 * slow loops), matrix products that a reshape of their right-hand operand cannot confuse and that run transposed
 * operands on XNNPACK (`wasm-matmul.ts`),
 * broadcasting `Add`/`Sub`/`Multiply`/`RealDiv`/`Equal` without index arithmetic per element, a copy-free
 * `Identity`, empty sums and means of 0 and other empty reductions of their identity (`wasm-elementwise.ts`), `'same'` convolutions and strided input
 * gradients (`wasm-conv-strided.ts`), and the wrong results of TF.js' `Cast` to bool, int32 `ClipByValue`, float32
 * `OneHot`, int32/bool `StridedSlice`, negative-axis `Cumsum`/`Cumprod` and `MaxPoolGrad` (`wasm-fixes.ts`).
 * Each is checked against the `cpu` backend in the tests. Called by the wasm backend loader; idempotent. With the
 * environment variable `LEPTON_WASM_KERNELS=tfjs` only the missing `Conv2DBackpropFilter` is added and TF.js' own
 * kernels stay (for comparison, or to rule these out).
 *
 * @returns names of the kernels added or replaced
 */
export function registerWasmTrainingKernels(): string[] {
  if (registered !== undefined) return registered;
  registered = [];
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm') === undefined) {
    tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2dBackpropFilter });
    registered.push('Conv2DBackpropFilter');
  }
  // LEPTON_WASM_KERNELS=tfjs keeps TF.js' own kernel wherever it has one: the baseline of `pnpm bench`'s wasm-kernels
  // suite, and a way to rule these replacements out when a result on wasm looks wrong.
  if (typeof process !== 'undefined' && process.env['LEPTON_WASM_KERNELS'] === 'tfjs') return registered;
  replace('Conv2DBackpropInput', makeConv2dBackpropInput);
  replace('Tile', makeTile);
  replace('Slice', makeSlice);
  replace('GatherV2', makeGather);
  registered.push('Conv2DBackpropInput', 'Tile', 'Slice', 'GatherV2');
  replace('BatchMatMul', makeReshapeSafeMatMul);
  replace('_FusedMatMul', makeFusedMatMul);
  registered.push('BatchMatMul', '_FusedMatMul');
  for (const name of ['MaxPool', 'AvgPool']) {
    replace(name, makePoolGuard);
    registered.push(name);
  }
  for (const [name, depthwise] of [['Conv2D', false], ['FusedConv2D', false], ['DepthwiseConv2dNative', true], ['FusedDepthwiseConv2D', true]] as const) {
    replace(name, makeSamePadFix(depthwise));
    registered.push(name);
  }
  for (const [name, make] of [...WASM_ELEMENTWISE_KERNELS, ...WASM_FIXED_KERNELS]) {
    replace(name, make);
    registered.push(name);
  }
  return registered;
}
