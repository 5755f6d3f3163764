/**
 * Strided convolutions on wasm.
 *
 * 1. TF.js 4.22's wasm convolutions hand `'same'` padding to XNNPACK as its TensorFlow-SAME flag, which goes wrong
 *    where the stride steps over the last rows or columns ((out − 1) · stride + kernel < size, e.g. a 2 × 2 kernel at
 *    stride 3 on 9 × 9): `Conv2D`, `FusedConv2D`, `DepthwiseConv2dNative` and `FusedDepthwiseConv2D` returned zeros or
 *    wrong values there. Those calls get the same padding as explicit pads instead ({@link makeSamePadFix}).
 * 2. The input gradient of a strided convolution (and so the forward pass of a strided transposed convolution)
 *    without multiplying zeros. Written as one convolution of `dy` with s − 1 zeros inserted between its rows and
 * columns, a stride-2 gradient spends three quarters of its multiplications on those zeros (a 3 × 3, stride-2
 * gradient took 4–7× the forward convolution). Split by phase instead: the rows `y` of the input gradient with
 * `(y + padTop) mod s = p` receive only the filter rows `p, p + s, p + 2s, …`, so each of the s² phases is a stride-1
 * convolution of `dy` itself with that sub-filter (spatially reversed, channels swapped), run on XNNPACK, and its
 * output is written to every s-th row and column of the gradient. Every multiplication left is one the gradient needs.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { newOutput, wasmKernel, type Info, type WasmLike } from './wasm-heap.js';

/** One phase along one axis: the filter taps it uses, where its outputs start, how many, and the convolution's pads. */
interface Phase {
  /** First filter tap (the phase) and the number of taps `p, p + s, …` below the kernel size. */
  first: number;
  taps: number;
  /** First and count of the `t` indices (gradient row `s·t + p − pad`) that lie inside the input. */
  start: number;
  count: number;
  /** Pads of the stride-1 convolution of `dy` that yields exactly those `count` rows. */
  before: number;
  after: number;
}

/** The phases of one axis, or undefined when one of them would need a negative pad (then the caller's path runs). */
function phases(size: number, outSize: number, kernel: number, stride: number, pad: number): Phase[] | undefined {
  const out: Phase[] = [];
  for (let p = 0; p < stride; p++) {
    const taps = Math.ceil((kernel - p) / stride);
    const start = Math.ceil((pad - p) / stride);
    const count = Math.floor((size - 1 + pad - p) / stride) - start + 1;
    if (taps <= 0 || count <= 0) continue; // no tap reaches these rows (a 1 × 1 stride-2 kernel): they stay 0
    const before = taps - 1 - start;
    const after = count - outSize - before + taps - 1;
    if (before < 0 || after < 0) return undefined;
    out.push({ first: p, taps, start, count, before, after });
  }
  return out;
}

/**
 * The input gradient `[n, h, w, c]` of a strided NHWC float32 convolution with filter `[kh, kw, c, f]`, from `dy`
 * `[n, oh, ow, f]`, or undefined when the phases do not fit (pads larger than the kernel): the caller then runs its
 * zero-insertion path. Throws a RangeError (freeing what it made) when the wasm memory cannot hold a tensor.
 */
export function stridedInputGradient(
  backend: WasmLike,
  dy: Info,
  filter: Info,
  inputShape: [number, number, number, number],
  strides: [number, number],
  pads: { top: number; left: number },
): Info | undefined {
  const [n, h, w, c] = inputShape;
  const [kh, kw, , f] = filter.shape as [number, number, number, number];
  const [, oh, ow] = dy.shape as [number, number, number, number];
  const [sh, sw] = strides;
  const rows = phases(h, oh, kh, sh, pads.top);
  const cols = phases(w, ow, kw, sw, pads.left);
  if (rows === undefined || cols === undefined) return undefined;
  const dx = newOutput(backend, [n, h, w, c], 'float32', 'Conv2DBackpropInput', 0);
  const conv = wasmKernel('Conv2D');
  try {
    for (const r of rows) {
      for (const q of cols) {
        // Sub-filter [r.taps, q.taps, f, c]: taps r.first + sh·i, reversed in space, input and output channels swapped.
        const sub = newOutput(backend, [r.taps, q.taps, f, c], 'float32', 'Conv2DBackpropInput');
        let part: Info;
        try {
          const dst = backend.typedArrayFromHeap(sub) as Float32Array;
          const src = backend.typedArrayFromHeap(filter) as Float32Array;
          for (let i = 0; i < r.taps; i++) {
            for (let j = 0; j < q.taps; j++) {
              const from = ((r.first + sh * (r.taps - 1 - i)) * kw + (q.first + sw * (q.taps - 1 - j))) * c * f;
              const to = (i * q.taps + j) * f * c;
              for (let ci = 0; ci < c; ci++) for (let fi = 0; fi < f; fi++) dst[to + fi * c + ci] = src[from + ci * f + fi]!;
            }
          }
          part = conv({
            inputs: { x: dy, filter: sub },
            backend,
            attrs: { strides: [1, 1], pad: [[0, 0], [r.before, r.after], [q.before, q.after], [0, 0]], dataFormat: 'NHWC', dilations: [1, 1] },
          }) as Info;
        } finally {
          backend.disposeData(sub.dataId);
        }
        // Views after the allocations above: growing the wasm memory detaches earlier ones.
        const out = backend.typedArrayFromHeap(dx) as Float32Array;
        const got = backend.typedArrayFromHeap(part) as Float32Array;
        for (let b = 0; b < n; b++) {
          for (let u = 0; u < r.count; u++) {
            const y = sh * (r.start + u) + r.first - pads.top;
            let from = ((b * r.count + u) * q.count) * c;
            for (let v = 0; v < q.count; v++, from += c) {
              const to = ((b * h + y) * w + sw * (q.start + v) + q.first - pads.left) * c;
              if (c < 64) for (let k = 0; k < c; k++) out[to + k] = got[from + k]!;
              else out.set(got.subarray(from, from + c), to);
            }
          }
        }
        backend.disposeData(part.dataId);
      }
    }
  } catch (err) {
    backend.disposeData(dx.dataId);
    throw err;
  }
  return dx;
}

type Explicit = [[number, number], [number, number], [number, number], [number, number]];

/**
 * Wraps TF.js' wasm convolution kernel `fallback` (`Conv2D`, `FusedConv2D`, `DepthwiseConv2dNative` or
 * `FusedDepthwiseConv2D`) where TF.js' geometry would make XNNPACK write outside the output or compute the wrong
 * values; every other call is TF.js' own:
 * - a `'same'` padding whose windows do not reach the input's last row or column is passed as the explicit pads it
 *   stands for (TF.js' SAME flag gave zeros or wrong values there);
 * - a numeric padding is passed as explicit pads (TF.js sized the output's width with the kernel's height, and
 *   XNNPACK then wrote past the output into other tensors when the kernel was not square);
 * - a window larger than the padded input gives an empty output when it fits nowhere (as on `cpu`) and a typed
 *   error when the output size would be negative (XNNPACK trapped or overwrote the heap).
 */
export function makeSamePadFix(depthwise: boolean): (fallback: tf.KernelFunc) => tf.KernelFunc {
  return (fallback) => (args) => {
    const attrs = args.attrs as unknown as { pad: 'same' | 'valid' | number | Explicit; strides: number | [number, number]; dilations?: number | [number, number]; dimRoundingMode?: 'floor' | 'round' | 'ceil'; dataFormat?: string };
    const { x, filter } = args.inputs as { x: Info; filter: Info };
    if ((attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') || x.shape.length !== 4 || filter.shape.length !== 4) return fallback(args);
    const numeric = typeof attrs.pad === 'number';
    if (numeric && attrs.dimRoundingMode !== undefined && attrs.dimRoundingMode !== 'floor') return fallback(args);
    const p = attrs.pad as number;
    const pad = numeric ? ([[0, 0], [p, p], [p, p], [0, 0]] as Explicit) : attrs.pad;
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      attrs.strides,
      attrs.dilations ?? 1,
      pad,
      numeric ? undefined : attrs.dimRoundingMode,
      depthwise,
      'channelsLast',
    );
    if (info.outHeight < 0 || info.outWidth < 0) {
      throw new Error(
        `${depthwise ? 'Depthwise convolution' : 'Conv2D'}: a ${info.effectiveFilterHeight}×${info.effectiveFilterWidth} window does not fit a ` +
          `${info.inHeight}×${info.inWidth} input with this padding (output ${info.outHeight}×${info.outWidth})`,
      );
    }
    const backend = args.backend as WasmLike;
    if (tf.util.sizeFromShape(info.outShape) === 0) return backend.makeOutput([...info.outShape], 'float32');
    const explicit = (): Explicit => [[0, 0], [info.padInfo.top, info.padInfo.bottom], [info.padInfo.left, info.padInfo.right], [0, 0]];
    if (numeric) return fallback({ ...args, attrs: { ...args.attrs, pad: explicit(), dimRoundingMode: undefined } as unknown as tf.NamedAttrMap });
    if (attrs.pad !== 'same') return fallback(args);
    const short = (info.outHeight - 1) * info.strideHeight + info.effectiveFilterHeight < info.inHeight || (info.outWidth - 1) * info.strideWidth + info.effectiveFilterWidth < info.inWidth;
    if (!short) return fallback(args);
    return fallback({ ...args, attrs: { ...args.attrs, pad: explicit() } as unknown as tf.NamedAttrMap });
  };
}

/**
 * Wraps TF.js' wasm `MaxPool` or `AvgPool`: a window larger than the padded input gives an empty output where it
 * fits nowhere (as on `cpu`) and a typed error where the output size would be negative, instead of XNNPACK trapping
 * ("memory access out of bounds") or overwriting the heap. Every other call is TF.js' own.
 */
export function makePoolGuard(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: Info };
    const a = args.attrs as unknown as { filterSize: number | [number, number]; strides: number | [number, number]; pad: 'valid' | 'same' | number; dimRoundingMode?: 'floor' | 'round' | 'ceil' };
    if (x.shape.length !== 4) return fallback(args);
    const info = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
    if (info.outHeight < 0 || info.outWidth < 0) {
      throw new Error(`Pooling: a ${info.filterHeight}×${info.filterWidth} window does not fit a ${info.inHeight}×${info.inWidth} input with this padding`);
    }
    if (tf.util.sizeFromShape(info.outShape) === 0) return (args.backend as WasmLike).makeOutput([...info.outShape], x.dtype);
    return fallback(args);
  };
}
