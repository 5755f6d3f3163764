/**
 * Reading a TF.js graph model's pieces without `@tensorflow/tfjs-converter`: the weight bytes (dequantised to
 * float32 where the converter quantised them) and the GraphDef JSON attribute values.
 * @internal
 * @module
 */
import { concatWeights } from '../bundle/save.js';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import type { OnnxElementType } from './proto.js';

/** A constant known at conversion time. @internal */
export interface ConstTensor {
  readonly type: OnnxElementType;
  readonly dims: readonly number[];
  readonly data: Float32Array | Int32Array | BigInt64Array | Uint8Array;
}

/** One entry of a TF.js `weightsManifest` (`tf.io.WeightsManifestEntry`). */
export interface GraphWeightSpec {
  /** Name of the `Const` node the values belong to. */
  name: string;
  /** Dimensions. */
  shape: number[];
  /** Element type after dequantisation. */
  dtype: string;
  /** Present when the converter stored the values quantised. */
  quantization?: {
    /** Stored type: `'float16'`, `'uint8'` or `'uint16'`. */
    dtype: string;
    /** Affine step (uint8/uint16): value = stored × scale + min. */
    scale?: number;
    /** Affine offset (uint8/uint16). */
    min?: number;
    /** Type before quantisation (informational; `dtype` above is the dequantised type). */
    original_dtype?: string;
  };
}

export const invalidModel = (message: string, details: Record<string, unknown> = {}): LeptonError =>
  new LeptonError('INVALID_MODEL', `TF.js graph → ONNX: ${message}`, { details });

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/** IEEE 754 half → float. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : Number.NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function concatBuffers(data: ArrayBuffer | ArrayBuffer[] | Uint8Array): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (!Array.isArray(data)) throw invalidModel('weightData must be an ArrayBuffer, an array of them or a Uint8Array.');
  return concatWeights(data);
}

/**
 * Decodes every weight of the manifest, in manifest order, from the concatenated weight bytes. float16 and affine
 * uint8/uint16 quantisation become float32 (int32 weights quantised affinely are rounded back to integers).
 */
export function decodeWeights(specs: readonly GraphWeightSpec[], weightData: ArrayBuffer | ArrayBuffer[] | Uint8Array): Map<string, ConstTensor> {
  const bytes = concatBuffers(weightData);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Map<string, ConstTensor>();
  let at = 0;
  for (const spec of specs) {
    if (spec === null || typeof spec !== 'object' || typeof spec.name !== 'string' || !Array.isArray(spec.shape)) throw invalidModel('a weight spec lacks its name or shape.');
    if (!spec.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw invalidModel(`weight "${spec.name}" has shape [${spec.shape.map((d) => describeValue(d)).join(', ')}].`, { weight: spec.name });
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const q = spec.quantization;
    const stored = q?.dtype ?? spec.dtype;
    // Only a string indexes BYTES: a JSON object with a toString that is not a function would throw as a key.
    const per = typeof stored === 'string' && Object.hasOwn(BYTES, stored) ? BYTES[stored] : undefined;
    if (per === undefined) throw invalidModel(`weight "${spec.name}" is stored as ${describeValue(stored)}; supported: float32, int32, bool, and float16/uint8/uint16 quantisation.`, { weight: spec.name });
    const end = at + count * per;
    if (end > bytes.byteLength) throw invalidModel(`the weight bytes end before weight "${spec.name}" (need ${end}, have ${bytes.byteLength}).`, { weight: spec.name });
    const dims = spec.shape;
    if (q !== undefined) {
      const f = new Float32Array(count);
      for (let i = 0; i < count; i++) {
        const o = at + i * per;
        if (q.dtype === 'float16') f[i] = halfToFloat(view.getUint16(o, true));
        else f[i] = (q.dtype === 'uint8' ? view.getUint8(o) : view.getUint16(o, true)) * (q.scale ?? 1) + (q.min ?? 0);
      }
      if (spec.dtype === 'int32') out.set(spec.name, { type: 'int32', dims, data: Int32Array.from(f, Math.round) });
      else if (spec.dtype === 'float32') out.set(spec.name, { type: 'float32', dims, data: f });
      else throw invalidModel(`weight "${spec.name}": quantised ${describeValue(spec.dtype)} is not supported.`, { weight: spec.name });
    } else if (spec.dtype === 'float32') {
      const f = new Float32Array(count);
      for (let i = 0; i < count; i++) f[i] = view.getFloat32(at + i * 4, true);
      out.set(spec.name, { type: 'float32', dims, data: f });
    } else if (spec.dtype === 'int32') {
      const v = new Int32Array(count);
      for (let i = 0; i < count; i++) v[i] = view.getInt32(at + i * 4, true);
      out.set(spec.name, { type: 'int32', dims, data: v });
    } else if (spec.dtype === 'bool') {
      out.set(spec.name, { type: 'bool', dims, data: bytes.slice(at, end) });
    } else throw invalidModel(`weight "${spec.name}" has dtype ${describeValue(spec.dtype)}.`, { weight: spec.name });
    at = end;
  }
  return out;
}

/** A GraphDef JSON attribute value (`AttrValue` as the TF.js converter writes it). */
export interface GraphAttr {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  list?: { s?: string[]; i?: Array<string | number>; f?: number[] };
  shape?: { dim?: Array<{ size?: string | number }>; unknownRank?: boolean };
}

/** One GraphDef JSON node. */
export interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, GraphAttr>;
}

const decoder = new TextDecoder();
const b64 = (s: string): string => decoder.decode(Buffer.from(s, 'base64'));

/** Typed attribute readers of one node. @internal */
export class Attrs {
  constructor(private readonly node: GraphNode) {}
  has(name: string): boolean {
    return this.node.attr?.[name] !== undefined;
  }
  str(name: string, fallback?: string): string {
    const a = this.node.attr?.[name];
    if (a?.s !== undefined) return b64(a.s);
    if (fallback !== undefined) return fallback;
    throw invalidModel(`node "${this.node.name}" (${this.node.op}) lacks attribute ${name}.`, { node: this.node.name, op: this.node.op });
  }
  int(name: string, fallback?: number): number {
    const a = this.node.attr?.[name];
    if (a?.i !== undefined) return this.#integer(name, a.i);
    if (fallback !== undefined) return fallback;
    throw invalidModel(`node "${this.node.name}" (${this.node.op}) lacks attribute ${name}.`, { node: this.node.name, op: this.node.op });
  }
  float(name: string, fallback: number): number {
    return this.node.attr?.[name]?.f ?? fallback;
  }
  bool(name: string, fallback = false): boolean {
    return this.node.attr?.[name]?.b ?? fallback;
  }
  ints(name: string, fallback: number[] = []): number[] {
    const l = this.node.attr?.[name]?.list?.i;
    if (l === undefined) return fallback;
    if (!Array.isArray(l)) throw this.#bad(name, 'is not a list');
    return l.map((v) => this.#integer(name, v));
  }
  strs(name: string): string[] {
    return (this.node.attr?.[name]?.list?.s ?? []).map(b64);
  }
  type(name: string): string | undefined {
    return this.node.attr?.[name]?.type;
  }
  shape(name: string): number[] | undefined {
    const s = this.node.attr?.[name]?.shape;
    if (s === undefined || s.unknownRank === true) return undefined;
    if (s.dim !== undefined && !Array.isArray(s.dim)) throw this.#bad(name, 'has no dim list');
    const dims = (s.dim ?? []).map((d) => this.#integer(name, d?.size ?? -1));
    if (dims.some((d) => d < -1)) throw this.#bad(name, `has dimensions [${dims.join(', ')}]`);
    return dims;
  }
  /** A JSON integer (TF writes int64 as a string), refused when it is not one: `Number('abc')` would be NaN. */
  #integer(name: string, v: unknown): number {
    const x = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    if (typeof x !== 'number' || !Number.isSafeInteger(x)) throw this.#bad(name, `holds ${JSON.stringify(v)}, not an integer`);
    return x;
  }
  #bad(name: string, what: string): Error {
    return invalidModel(`node "${this.node.name}" (${this.node.op}): attribute ${name} ${what}.`, { node: this.node.name, op: this.node.op });
  }
}

/** TF `DataType` enum names → ONNX element types (TF.js keeps int64 as int32). */
export function onnxType(tfType: string | undefined): OnnxElementType | undefined {
  switch (tfType) {
    case 'DT_FLOAT':
      return 'float32';
    case 'DT_INT32':
    case 'DT_INT64':
      return 'int32';
    case 'DT_BOOL':
      return 'bool';
    default:
      return undefined;
  }
}
