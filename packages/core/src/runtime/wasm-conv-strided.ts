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
import { assertPlaced, wasmKernel, type Info, type WasmLike } from './wasm-heap.js';

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
  const dx = backend.makeOutput([n, h, w, c], 'float32');
  assertPlaced(backend, dx, 'Conv2DBackpropInput');
  backend.typedArrayFromHeap(dx).fill(0);
  const conv = wasmKernel('Conv2D');
  try {
    for (const r of rows) {
      for (const q of cols) {
        // Sub-filter [r.taps, q.taps, f, c]: taps r.first + sh·i, reversed in space, input and output channels swapped.
        const sub = backend.makeOutput([r.taps, q.taps, f, c], 'float32');
        assertPlaced(backend, sub, 'Conv2DBackpropInput');
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

/**
 * Wraps TF.js' wasm convolution kernel `fallback` (`Conv2D`, `FusedConv2D`, `DepthwiseConv2dNative` or
 * `FusedDepthwiseConv2D`): a `'same'` padding whose windows do not reach the input's last row or column is passed as
 * the explicit pads it stands for (same output shape, same values as the `cpu` backend); every other call is TF.js'
 * own.
 */
export function makeSamePadFix(depthwise: boolean): (fallback: tf.KernelFunc) => tf.KernelFunc {
  return (fallback) => (args) => {
    const attrs = args.attrs as unknown as { pad: unknown; strides: number | [number, number]; dilations?: number | [number, number]; dimRoundingMode?: 'floor' | 'round' | 'ceil'; dataFormat?: string };
    if (attrs.pad !== 'same' || (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC')) return fallback(args);
    const { x, filter } = args.inputs as { x: Info; filter: Info };
    if (x.shape.length !== 4 || filter.shape.length !== 4) return fallback(args);
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      attrs.strides,
      attrs.dilations ?? 1,
      'same',
      attrs.dimRoundingMode,
      depthwise,
      'channelsLast',
    );
    const short = (info.outHeight - 1) * info.strideHeight + info.effectiveFilterHeight < info.inHeight || (info.outWidth - 1) * info.strideWidth + info.effectiveFilterWidth < info.inWidth;
    if (!short) return fallback(args);
    const { top, bottom, left, right } = info.padInfo;
    return fallback({ ...args, attrs: { ...args.attrs, pad: [[0, 0], [top, bottom], [left, right], [0, 0]] } as unknown as tf.NamedAttrMap });
  };
}
