/**
 * ONNX ops for each TF.js Layers class `layersModelToOnnx` converts (`layers.ts` walks the graph and calls these).
 * Spatial layers (convolutions, pooling, up-sampling) run channels first; element-wise layers keep whatever layout
 * their inputs already have; layers that depend on element order (Flatten, Reshape, Dense) read TF.js' channels-last
 * layout. Internal: not exported from the package.
 */
import { LeptonError } from '../errors/lepton-error.js';
import { type GraphBuilder, type Layout, type Value } from './layers-builder.js';

/** A layer's weights by name after the last `/` (`kernel`, `bias`, `gamma` …), read once. */
export type Weights = ReadonlyMap<string, { readonly data: Float32Array; readonly shape: readonly number[] }>;

/** One application of a layer: its config, input values, output shapes (TF.js, batch included) and weights. */
export interface LayerCall {
  readonly name: string;
  readonly className: string;
  readonly config: Readonly<Record<string, unknown>>;
  readonly inputs: readonly Value[];
  readonly outShapes: ReadonlyArray<ReadonlyArray<number | null>>;
  readonly weights: Weights;
}

/** Emits a layer's ops; returns its output values. */
export type Emitter = (b: GraphBuilder, c: LayerCall) => Value;

const unsupported = (c: LayerCall, what: string): LeptonError =>
  new LeptonError('INVALID_MODEL', `ONNX conversion: layer '${c.name}' (${c.className}) ${what}; run this model on TF.js instead (engine: 'tfjs').`, {
    details: { layer: c.name, className: c.className },
  });

function weight(c: LayerCall, key: string): { data: Float32Array; shape: readonly number[] } {
  const w = c.weights.get(key);
  if (w === undefined) throw unsupported(c, `has no '${key}' weight`);
  return w;
}

const num = (v: unknown, fallback: number): number => (typeof v === 'number' ? v : fallback);
const list = (v: unknown, n: number, fallback: number): number[] =>
  Array.isArray(v) ? (v as number[]) : Array.from({ length: n }, () => num(v, fallback));

const out = (c: LayerCall, layout: Layout, name: string): Value => {
  const shape = c.outShapes[0]!;
  return layout === 'cf' ? { cf: name, rank: shape.length, shape } : { tf: name, rank: shape.length, shape };
};

/** Applies a TF.js activation (by its serialised name) to `x`, whose softmax axis is `axis`; returns the result. */
export function activate(b: GraphBuilder, c: LayerCall, x: string, activation: unknown, axis: number): string {
  const a = String(activation ?? 'linear').replace(/_/g, '').toLowerCase();
  const base = `${c.name}/${a}`;
  switch (a) {
    case 'linear':
      return x;
    case 'relu':
      return b.op('Relu', [x], base);
    case 'relu6':
      return b.op('Clip', [x, b.floats(`${base}/min`, [], Float32Array.of(0)), b.floats(`${base}/max`, [], Float32Array.of(6))], base);
    case 'sigmoid':
      return b.op('Sigmoid', [x], base);
    case 'tanh':
      return b.op('Tanh', [x], base);
    case 'softmax':
      return b.op('Softmax', [x], base, { axis: { i: axis } });
    case 'elu':
      return b.op('Elu', [x], base, { alpha: { f: 1 } });
    case 'selu':
      return b.op('Selu', [x], base);
    case 'softplus':
      return b.op('Softplus', [x], base);
    case 'softsign':
      return b.op('Softsign', [x], base);
    case 'hardsigmoid':
      // TF.js: clip(0.2·x + 0.5, 0, 1), ONNX's HardSigmoid with these constants.
      return b.op('HardSigmoid', [x], base, { alpha: { f: 0.2 }, beta: { f: 0.5 } });
    case 'swish':
      return b.op('Mul', [x, b.op('Sigmoid', [x], `${base}/sigmoid`)], base);
    default:
      throw unsupported(c, `uses activation '${String(activation)}', which the ONNX converter does not support`);
  }
}

/** Explicit begin/end pads reproducing TF's 'same' (more padding at the end when odd) for known sizes. */
function samePads(c: LayerCall, inSpatial: ReadonlyArray<number | null>, kernel: number[], strides: number[], dilation: number[]): number[] {
  const begin: number[] = [];
  const end: number[] = [];
  inSpatial.forEach((size, i) => {
    if (size === null) throw unsupported(c, "has 'same' padding on an input of unknown spatial size");
    const k = (kernel[i]! - 1) * dilation[i]! + 1;
    const outSize = Math.ceil(size / strides[i]!);
    const total = Math.max((outSize - 1) * strides[i]! + k - size, 0);
    begin.push(Math.floor(total / 2));
    end.push(total - Math.floor(total / 2));
  });
  return [...begin, ...end];
}

function channelsLast(c: LayerCall): void {
  const f = c.config['dataFormat'];
  if (f !== undefined && f !== null && f !== 'channelsLast') throw unsupported(c, `uses dataFormat '${String(f)}' (only channelsLast converts)`);
}

/** Permutes a TF kernel's axes (row-major) into a new array of shape `dims`: `dst[idx(dstIdx)] = src[...]`. */
function permute(src: Float32Array, shape: readonly number[], perm: readonly number[]): { data: Float32Array; dims: number[] } {
  const dims = perm.map((p) => shape[p]!);
  const r = shape.length;
  const srcStrides = new Array<number>(r).fill(1);
  for (let i = r - 2; i >= 0; i--) srcStrides[i] = srcStrides[i + 1]! * shape[i + 1]!;
  const stride = perm.map((p) => srcStrides[p]!);
  const data = new Float32Array(src.length);
  const idx = new Array<number>(r).fill(0);
  for (let o = 0; o < data.length; o++) {
    let s = 0;
    for (let d = 0; d < r; d++) s += idx[d]! * stride[d]!;
    data[o] = src[s]!;
    for (let d = r - 1; d >= 0; d--) {
      if (++idx[d]! < dims[d]!) break;
      idx[d] = 0;
    }
  }
  return { data, dims };
}

function conv(b: GraphBuilder, c: LayerCall): Value {
  channelsLast(c);
  const x = c.inputs[0]!;
  const spatial = x.rank - 2;
  if (spatial < 1 || spatial > 2) throw unsupported(c, `has rank-${x.rank} input`);
  const depthwise = c.className === 'DepthwiseConv2D';
  const k = weight(c, depthwise ? 'depthwise_kernel' : 'kernel');
  const strides = list(c.config['strides'], spatial, 1);
  // TF.js 4.22's DepthwiseConv2D ignores its dilationRate (convolutional_depthwise.js passes null to the op, and its
  // output shape is computed undilated too), so dilation 1 is what TF.js computes, and what is converted.
  const dilation = depthwise ? new Array<number>(spatial).fill(1) : list(c.config['dilationRate'], spatial, 1);
  const kernel = k.shape.slice(0, spatial) as number[];
  const kr = k.shape.length;
  let w: { data: Float32Array; dims: number[] };
  let group = 1;
  if (depthwise) {
    // [kh, kw, in, mult] → [in·mult, 1, kh, kw]: output channel c·mult + m, as TF.js orders them.
    const p = permute(k.data, k.shape, [2, 3, 0, 1]);
    w = { data: p.data, dims: [k.shape[2]! * k.shape[3]!, 1, k.shape[0]!, k.shape[1]!] };
    group = k.shape[2]!;
  } else {
    // [k…, in, out] → [out, in, k…]
    w = permute(k.data, k.shape, [kr - 1, kr - 2, ...Array.from({ length: spatial }, (_, i) => i)]);
  }
  const padding = c.config['padding'];
  const inSpatial = x.shape.slice(1, 1 + spatial);
  let pads: number[];
  let input = b.cf(x);
  if (padding === 'same') pads = samePads(c, inSpatial, kernel, strides, dilation);
  else if (padding === 'valid') pads = new Array<number>(2 * spatial).fill(0);
  else throw unsupported(c, `uses padding '${String(padding)}'`);
  const inputs = [input, b.floats(`${c.name}/kernel`, w.dims, w.data)];
  if (c.config['useBias'] !== false && c.weights.has('bias')) inputs.push(b.floats(`${c.name}/bias`, [weight(c, 'bias').data.length], weight(c, 'bias').data));
  input = b.op('Conv', inputs, `${c.name}/conv`, {
    kernel_shape: { ints: kernel },
    strides: { ints: strides },
    dilations: { ints: dilation },
    pads: { ints: pads },
    group: { i: group },
  });
  return out(c, 'cf', activate(b, c, input, c.config['activation'], 1));
}

function convTranspose(b: GraphBuilder, c: LayerCall): Value {
  channelsLast(c);
  const x = c.inputs[0]!;
  const k = weight(c, 'kernel'); // [kh, kw, out, in]
  const w = permute(k.data, k.shape, [3, 2, 0, 1]); // [in, out, kh, kw]
  const kernel = [k.shape[0]!, k.shape[1]!];
  const strides = list(c.config['strides'], 2, 1);
  const outSpatial = c.outShapes[0]!.slice(1, 3);
  const begin: number[] = [];
  const end: number[] = [];
  const extra: number[] = [];
  x.shape.slice(1, 3).forEach((size, i) => {
    const o = outSpatial[i];
    if (size === null || o === null || o === undefined) throw unsupported(c, 'has an input of unknown spatial size');
    // The gradient of a convolution from size `o` with TF's padding: crop what that convolution padded.
    const full = (size - 1) * strides[i]! + kernel[i]!;
    const total = Math.max(full - o, 0);
    begin.push(Math.floor(total / 2));
    end.push(total - Math.floor(total / 2));
    extra.push(Math.max(o - full, 0));
  });
  const inputs = [b.cf(x), b.floats(`${c.name}/kernel`, w.dims, w.data)];
  if (c.config['useBias'] !== false && c.weights.has('bias')) inputs.push(b.floats(`${c.name}/bias`, [weight(c, 'bias').data.length], weight(c, 'bias').data));
  const y = b.op('ConvTranspose', inputs, `${c.name}/deconv`, {
    kernel_shape: { ints: kernel },
    strides: { ints: strides },
    pads: { ints: [...begin, ...end] },
    output_padding: { ints: extra },
  });
  return out(c, 'cf', activate(b, c, y, c.config['activation'], 1));
}

function dense(b: GraphBuilder, c: LayerCall): Value {
  const x = c.inputs[0]!;
  const k = weight(c, 'kernel');
  const kernel = b.floats(`${c.name}/kernel`, k.shape, k.data);
  const bias = c.config['useBias'] !== false && c.weights.has('bias') ? b.floats(`${c.name}/bias`, [weight(c, 'bias').data.length], weight(c, 'bias').data) : undefined;
  let y: string;
  if (x.rank === 2) y = b.op('Gemm', [b.tf(x), kernel, ...(bias === undefined ? [] : [bias])], `${c.name}/gemm`);
  else {
    y = b.op('MatMul', [b.tf(x), kernel], `${c.name}/matmul`);
    if (bias !== undefined) y = b.op('Add', [y, bias], `${c.name}/bias_add`);
  }
  return out(c, 'tf', activate(b, c, y, c.config['activation'], -1));
}

function batchNorm(b: GraphBuilder, c: LayerCall): Value {
  const x = c.inputs[0]!;
  // TF.js serialises `axis` as a number or (axis: [k]) a list: one axis converts, several do not.
  const raw = c.config['axis'];
  const axes = Array.isArray(raw) ? (raw as unknown[]) : [raw ?? -1];
  if (axes.length !== 1 || typeof axes[0] !== 'number') throw unsupported(c, `normalises over axis ${JSON.stringify(raw)} (one axis converts)`);
  const axis = axes[0];
  // TF.js 4.22's inference batch norm over any other axis applies the per-channel parameters cyclically along the
  // flattened last axes (checked on cpu and wasm: gamma [1, 2, 3] over axis 1 of [1, 3, 4] gives 1, 2, 3, 1 | 2, 3, …),
  // not per channel: converting it correctly would disagree with TF.js, so it is refused and TF.js serves it.
  if (axis !== -1 && axis !== x.rank - 1) throw unsupported(c, `normalises over axis ${axis}, not the last one (TF.js computes that case differently from ONNX)`);
  const mean = weight(c, 'moving_mean').data;
  const variance = weight(c, 'moving_variance').data;
  const gamma = c.weights.get('gamma')?.data;
  const beta = c.weights.get('beta')?.data;
  const eps = num(c.config['epsilon'], 1e-3);
  const n = mean.length;
  // Inference batch norm is one affine map per channel: y = x·s + t, s = γ/√(σ²+ε), t = β − μ·s (computed in float64).
  const scale = new Float32Array(n);
  const shift = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const s = (gamma?.[i] ?? 1) / Math.sqrt(variance[i]! + eps);
    scale[i] = s;
    shift[i] = (beta?.[i] ?? 0) - mean[i]! * s;
  }
  // The channel axis is the last one: 1 channels first, so the constants broadcast as [n, 1, …] there and [n] here.
  const layout: Layout = x.rank >= 3 && x.cf !== undefined ? 'cf' : 'tf';
  const dims = layout === 'cf' ? [n, ...new Array<number>(x.rank - 2).fill(1)] : [n];
  const y = b.op('Mul', [b.get(x, layout), b.floats(`${c.name}/scale`, dims, scale)], `${c.name}/mul`);
  return out(c, layout, b.op('Add', [y, b.floats(`${c.name}/shift`, dims, shift)], `${c.name}/add`));
}

function pool(b: GraphBuilder, c: LayerCall): Value {
  channelsLast(c);
  const x = c.inputs[0]!;
  const spatial = x.rank - 2;
  const size = list(c.config['poolSize'], spatial, 2);
  const strides = c.config['strides'] === null || c.config['strides'] === undefined ? size : list(c.config['strides'], spatial, 1);
  const padding = c.config['padding'];
  const pads =
    padding === 'same' ? samePads(c, x.shape.slice(1, 1 + spatial), size, strides, new Array<number>(spatial).fill(1)) : new Array<number>(2 * spatial).fill(0);
  if (padding !== 'same' && padding !== 'valid') throw unsupported(c, `uses padding '${String(padding)}'`);
  const max = c.className.startsWith('Max');
  // AveragePool leaves padded cells out of the mean (count_include_pad 0), as TF does; MaxPool pads with −∞.
  const y = b.op(max ? 'MaxPool' : 'AveragePool', [b.cf(x)], `${c.name}/pool`, {
    kernel_shape: { ints: size },
    strides: { ints: strides },
    pads: { ints: pads },
  });
  return out(c, 'cf', y);
}

function globalPool(b: GraphBuilder, c: LayerCall): Value {
  channelsLast(c);
  const x = c.inputs[0]!;
  const axes = Array.from({ length: x.rank - 2 }, (_, i) => i + 2);
  const op = c.className.startsWith('GlobalMax') ? 'ReduceMax' : 'ReduceMean';
  const keep = c.config['keepDims'] === true;
  const y = b.op(op, [b.cf(x)], `${c.name}/reduce`, { axes: { ints: axes }, keepdims: { i: keep ? 1 : 0 } });
  return out(c, keep ? 'cf' : 'tf', y);
}

export { conv, convTranspose, dense, batchNorm, pool, globalPool, unsupported, weight };
