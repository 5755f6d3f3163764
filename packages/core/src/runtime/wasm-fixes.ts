/**
 * Wrong results of TF.js 4.22's wasm kernels that a differential fuzz against the `cpu` backend found, fixed where
 * Lepton's users can meet them. Each wrapper handles only the failing case and leaves every other call to TF.js:
 * - `Cast` to bool copied the bytes (`-2.5` became 254, `0.5` false, int32 256 false): now `x ≠ 0`, as on `cpu`;
 * - `ClipByValue` of int32 read the integers as float32 bits: now clipped as integers;
 * - `OneHot` with a float32 dtype wrote int32 bits (1 became 1.4e-45): now the on and off values themselves;
 * - `StridedSlice` of int32 with a stride ≠ 1 labelled the copied integers float32, and of bool read 4 bytes an
 *   element: the integers are labelled int32 again, and bool is sliced as int32 and cast back;
 * - `Cumsum`/`Cumprod` with a negative axis read outside the tensor and trapped: the axis is counted from the end;
 * - `MaxPoolGrad` started each window at the smallest positive float, so a window of values ≤ 0 lost its gradient
 *   or sent it to the tensor's first element, and ties went to the last maximum: now the `cpu` backend's rule, the
 *   first maximum of the window.
 * Checked against the `cpu` backend in the tests.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { newOutput, wasmKernel, type Info, type WasmLike } from './wasm-heap.js';

/** A new output filled by `fill` (views taken after the allocation). */
function output(backend: WasmLike, shape: number[], dtype: tf.DataType, kernel: string, fill: (dst: Float32Array | Int32Array | Uint8Array) => void): Info {
  const out = newOutput(backend, shape, dtype, kernel);
  if (tf.util.sizeFromShape(shape) > 0) fill(backend.typedArrayFromHeap(out));
  return out;
}

const makeCast =
  (fallback: tf.KernelFunc): tf.KernelFunc =>
  (args) => {
    const { x } = args.inputs as { x: Info };
    const { dtype } = args.attrs as unknown as { dtype: tf.DataType };
    if (dtype !== 'bool' || x.dtype === 'bool' || (x.dtype !== 'float32' && x.dtype !== 'int32')) return fallback(args);
    const backend = args.backend as WasmLike;
    return output(backend, [...x.shape], 'bool', 'Cast', (dst) => {
      const src = backend.typedArrayFromHeap(x);
      for (let i = 0; i < dst.length; i++) dst[i] = src[i] !== 0 ? 1 : 0;
    });
  };

const makeClip =
  (fallback: tf.KernelFunc): tf.KernelFunc =>
  (args) => {
    const { x } = args.inputs as { x: Info };
    if (x.dtype !== 'int32') return fallback(args);
    const { clipValueMin: lo, clipValueMax: hi } = args.attrs as unknown as { clipValueMin: number; clipValueMax: number };
    const backend = args.backend as WasmLike;
    return output(backend, [...x.shape], 'int32', 'ClipByValue', (dst) => {
      const src = backend.typedArrayFromHeap(x);
      for (let i = 0; i < dst.length; i++) {
        const v = src[i]!;
        dst[i] = v > hi ? hi : v < lo ? lo : v;
      }
    });
  };

const makeOneHot =
  (fallback: tf.KernelFunc): tf.KernelFunc =>
  (args) => {
    const { indices } = args.inputs as { indices: Info };
    const { dtype, depth, onValue, offValue } = args.attrs as unknown as { dtype: tf.DataType; depth: number; onValue: number; offValue: number };
    if (dtype === 'int32' || indices.dtype !== 'int32' || (dtype !== 'float32' && dtype !== 'bool')) return fallback(args);
    const backend = args.backend as WasmLike;
    return output(backend, [...indices.shape, depth], dtype, 'OneHot', (dst) => {
      const idx = backend.typedArrayFromHeap(indices);
      dst.fill(offValue);
      for (let i = 0; i < idx.length; i++) {
        const k = idx[i]!;
        if (k >= 0 && k < depth) dst[i * depth + k] = onValue;
      }
    });
  };

const makeStridedSlice =
  (fallback: tf.KernelFunc): tf.KernelFunc =>
  (args) => {
    const { x } = args.inputs as { x: Info };
    const backend = args.backend as WasmLike;
    if (x.dtype === 'int32') {
      const out = fallback(args) as Info;
      if (out.dtype === 'int32') return out;
      // TF.js' general path allocates float32 and copies the 4-byte integers unchanged: label them as what they are.
      const entry = backend.dataIdMap.get(out.dataId) as { dtype?: tf.DataType } | undefined;
      if (entry !== undefined) entry.dtype = 'int32';
      return { ...out, dtype: 'int32' };
    }
    if (x.dtype !== 'bool') return fallback(args);
    const cast = wasmKernel('Cast');
    const asInt = cast({ inputs: { x }, backend, attrs: { dtype: 'int32' } }) as Info;
    try {
      const sliced = wasmKernel('StridedSlice')({ ...args, inputs: { x: asInt } }) as Info;
      try {
        return cast({ inputs: { x: sliced }, backend, attrs: { dtype: 'bool' } }) as Info;
      } finally {
        backend.disposeData(sliced.dataId);
      }
    } finally {
      backend.disposeData(asInt.dataId);
    }
  };

const makeCumulative =
  (fallback: tf.KernelFunc): tf.KernelFunc =>
  (args) => {
    const { x } = args.inputs as { x: Info };
    const { axis } = args.attrs as unknown as { axis: number };
    if (!(axis < 0)) return fallback(args);
    return fallback({ ...args, attrs: { ...args.attrs, axis: axis + x.shape.length } as unknown as tf.NamedAttrMap });
  };

/** MaxPoolGrad by the `cpu` backend's rule: each window's gradient goes to its first maximum (NaN never is one). */
const makeMaxPoolGrad =
  (fallback: tf.KernelFunc): tf.KernelFunc =>
  (args) => {
    const { dy, input } = args.inputs as { dy: Info; input: Info };
    if (input.dtype !== 'float32' || input.shape.length !== 4) return fallback(args);
    const a = args.attrs as unknown as { filterSize: number | [number, number]; strides: number | [number, number]; pad: 'valid' | 'same' | number; dimRoundingMode?: 'floor' | 'round' | 'ceil' };
    const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
    const { batchSize, inHeight, inWidth, inChannels: ch, outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth } = info;
    const { top, left } = info.padInfo;
    const backend = args.backend as WasmLike;
    return output(backend, [...input.shape], 'float32', 'MaxPoolGrad', (dst) => {
      const sums = new Float64Array(dst.length); // summed in double and rounded once, as the cpu backend does
      const x = backend.typedArrayFromHeap(input) as Float32Array;
      const g = backend.typedArrayFromHeap(dy) as Float32Array;
      for (let b = 0; b < batchSize; b++) {
        for (let oh = 0; oh < outHeight; oh++) {
          const y0 = oh * strideHeight - top;
          for (let ow = 0; ow < outWidth; ow++) {
            const x0 = ow * strideWidth - left;
            for (let c = 0; c < ch; c++) {
              let best = Number.NEGATIVE_INFINITY;
              let at = -1;
              for (let fy = Math.max(0, -y0); fy < filterHeight && y0 + fy < inHeight; fy++) {
                for (let fx = Math.max(0, -x0); fx < filterWidth && x0 + fx < inWidth; fx++) {
                  const i = ((b * inHeight + y0 + fy) * inWidth + x0 + fx) * ch + c;
                  if (x[i]! > best) {
                    best = x[i]!;
                    at = i;
                  }
                }
              }
              if (at >= 0) sums[at] = sums[at]! + g[((b * outHeight + oh) * outWidth + ow) * ch + c]!;
            }
          }
        }
      }
      dst.set(sums);
    });
  };

/** The kernels of this module, by TF.js kernel name, as factories over TF.js' own kernel (their fallback). */
export const WASM_FIXED_KERNELS: ReadonlyArray<readonly [string, (fallback: tf.KernelFunc) => tf.KernelFunc]> = [
  ['Cast', makeCast],
  ['ClipByValue', makeClip],
  ['OneHot', makeOneHot],
  ['StridedSlice', makeStridedSlice],
  ['Cumsum', makeCumulative],
  ['Cumprod', makeCumulative],
  ['MaxPoolGrad', makeMaxPoolGrad],
];
