/**
 * A minimal writer of ONNX models (the `onnx.proto3` wire format, IR version 8): just the messages a converted
 * inference graph needs — model, opset import, graph, node, attribute, tensor, value info with tensor shapes. It
 * encodes protobuf by hand (varints and length-delimited fields) so that `@lepton/core` needs no protobuf library.
 *
 * Field numbers follow onnx/onnx.proto3 (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto,
 * ValueInfoProto, TypeProto.Tensor, TensorShapeProto); only proto3-valid encodings are written (packed repeated
 * scalars, raw_data for tensor values).
 */
import { LeptonError } from '../errors/lepton-error.js';

/** Element types an ONNX tensor of a converted graph may have. */
export type OnnxElementType = 'float32' | 'int32' | 'int64' | 'bool';

/** TensorProto.DataType numbers. */
const DATA_TYPE: Record<OnnxElementType, number> = { float32: 1, int32: 6, int64: 7, bool: 9 };

/** A constant tensor: an initializer, or the value of a `t` attribute. `data` is row-major. */
export interface OnnxTensor {
  /** Tensor name (initializers are referenced by it; empty for an attribute value). */
  readonly name: string;
  /** Element type; must match `data` (float32 ↔ Float32Array, int32 ↔ Int32Array, int64 ↔ BigInt64Array, bool ↔ Uint8Array). */
  readonly type: OnnxElementType;
  /** Dimensions; `[]` is a scalar. */
  readonly dims: readonly number[];
  /** Values, row-major; its length must be the product of `dims`. */
  readonly data: Float32Array | Int32Array | BigInt64Array | Uint8Array;
}

/** An attribute value: the key says which AttributeProto field carries it. */
export type OnnxAttribute =
  | { readonly f: number }
  | { readonly i: number }
  | { readonly s: string }
  | { readonly t: OnnxTensor }
  | { readonly floats: readonly number[] }
  | { readonly ints: readonly number[] };

/** One graph node. */
export interface OnnxNode {
  /** Operator type, e.g. `Conv` (default domain, `ai.onnx`). */
  readonly op: string;
  /** Input value names; `''` marks an omitted optional input. */
  readonly inputs: readonly string[];
  /** Output value names. */
  readonly outputs: readonly string[];
  /** Node name (optional; unique when given). */
  readonly name?: string;
  /** Attributes by name. */
  readonly attributes?: Readonly<Record<string, OnnxAttribute>>;
}

/** A graph input or output: name, element type and shape (`string` entries are symbolic dimensions, e.g. `'batch'`). */
export interface OnnxValueInfo {
  readonly name: string;
  readonly type: OnnxElementType;
  readonly shape: ReadonlyArray<number | string>;
}

/** A whole model: one graph and the opset it is written against. */
export interface OnnxModelSpec {
  readonly graphName: string;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: readonly OnnxTensor[];
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  /** Default-domain opset version. Default 17. */
  readonly opset?: number;
  /** ModelProto.producer_name. Default `'@lepton/core'`. */
  readonly producer?: string;
}

/** Growable byte buffer with protobuf primitives. */
class Writer {
  #buf = new Uint8Array(256);
  #len = 0;

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  /** Unsigned varint of a non-negative safe integer, or a negative one as its 64-bit two's complement (10 bytes). */
  varint(v: number | bigint): void {
    let x = typeof v === 'bigint' ? BigInt.asUintN(64, v) : v < 0 ? BigInt.asUintN(64, BigInt(v)) : v;
    this.#reserve(10);
    if (typeof x === 'number') {
      while (x > 0x7f) {
        this.#buf[this.#len++] = (x % 128) | 0x80;
        x = Math.floor(x / 128);
      }
      this.#buf[this.#len++] = x;
      return;
    }
    while (x > 0x7fn) {
      this.#buf[this.#len++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.#buf[this.#len++] = Number(x);
  }

  tag(field: number, wire: 0 | 1 | 2 | 5): void {
    this.varint(field * 8 + wire);
  }

  bytes(b: Uint8Array): void {
    this.#reserve(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }

  float32(v: number): void {
    this.#reserve(4);
    new DataView(this.#buf.buffer).setFloat32(this.#len, v, true);
    this.#len += 4;
  }

  /** A length-delimited field holding `b`. */
  lenField(field: number, b: Uint8Array): void {
    this.tag(field, 2);
    this.varint(b.length);
    this.bytes(b);
  }

  stringField(field: number, s: string): void {
    this.lenField(field, new TextEncoder().encode(s));
  }

  intField(field: number, v: number | bigint): void {
    this.tag(field, 0);
    this.varint(v);
  }

  /** Packed repeated varints. */
  packedInts(field: number, values: ReadonlyArray<number | bigint>): void {
    if (values.length === 0) return;
    const inner = new Writer();
    for (const v of values) inner.varint(v);
    this.lenField(field, inner.finish());
  }

  message(field: number, write: (w: Writer) => void): void {
    const inner = new Writer();
    write(inner);
    this.lenField(field, inner.finish());
  }

  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

const bad = (message: string): LeptonError => new LeptonError('INVALID_MODEL', `ONNX writer: ${message}`);

function checkDims(dims: readonly number[], what: string): void {
  for (const d of dims) if (!Number.isSafeInteger(d) || d < 0) throw bad(`${what} has dimension ${String(d)}; dimensions are non-negative integers.`);
}

function writeTensor(w: Writer, t: OnnxTensor): void {
  checkDims(t.dims, `tensor "${t.name}"`);
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== count) throw bad(`tensor "${t.name}" has ${t.data.length} values for dims [${t.dims.join(', ')}] (${count}).`);
  const expected = { float32: Float32Array, int32: Int32Array, int64: BigInt64Array, bool: Uint8Array }[t.type];
  if (!(t.data instanceof expected)) throw bad(`tensor "${t.name}" is ${t.type} but its data is a ${t.data.constructor.name}.`);
  w.packedInts(1, t.dims);
  w.intField(2, DATA_TYPE[t.type]);
  if (t.name !== '') w.stringField(8, t.name);
  // raw_data is little-endian, as every platform Node runs on stores typed arrays.
  w.lenField(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

/** AttributeProto.AttributeType numbers. */
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

function writeAttribute(w: Writer, name: string, a: OnnxAttribute): void {
  w.stringField(1, name);
  if ('f' in a) {
    w.tag(2, 5);
    w.float32(a.f);
    w.intField(20, ATTR.FLOAT);
  } else if ('i' in a) {
    if (!Number.isSafeInteger(a.i)) throw bad(`attribute ${name} = ${String(a.i)} is not an integer.`);
    w.intField(3, a.i);
    w.intField(20, ATTR.INT);
  } else if ('s' in a) {
    w.stringField(4, a.s);
    w.intField(20, ATTR.STRING);
  } else if ('t' in a) {
    w.message(5, (m) => writeTensor(m, a.t));
    w.intField(20, ATTR.TENSOR);
  } else if ('floats' in a) {
    if (a.floats.length > 0) {
      const inner = new Writer();
      for (const f of a.floats) inner.float32(f);
      w.lenField(7, inner.finish());
    }
    w.intField(20, ATTR.FLOATS);
  } else {
    for (const v of a.ints) if (!Number.isSafeInteger(v)) throw bad(`attribute ${name} holds ${String(v)}, not an integer.`);
    w.packedInts(8, a.ints);
    w.intField(20, ATTR.INTS);
  }
}

function writeNode(w: Writer, n: OnnxNode): void {
  for (const i of n.inputs) w.stringField(1, i);
  for (const o of n.outputs) w.stringField(2, o);
  if (n.name !== undefined) w.stringField(3, n.name);
  w.stringField(4, n.op);
  for (const [name, a] of Object.entries(n.attributes ?? {})) w.message(5, (m) => writeAttribute(m, name, a));
}

function writeValueInfo(w: Writer, v: OnnxValueInfo): void {
  w.stringField(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.intField(1, DATA_TYPE[v.type]);
      tensor.message(2, (shape) => {
        for (const d of v.shape) {
          shape.message(1, (dim) => {
            if (typeof d === 'string') dim.stringField(2, d);
            else {
              checkDims([d], `value "${v.name}"`);
              dim.intField(1, d);
            }
          });
        }
      });
    }),
  );
}

/**
 * Encodes a model as ONNX protobuf bytes (IR version 8), ready for `InferenceSession.create(bytes)` of ONNX Runtime
 * or for saving as a `.onnx` file.
 *
 * @param spec - the graph, its constants and its typed inputs and outputs
 * @returns the serialised `ModelProto`
 * @throws {@link LeptonError} `INVALID_MODEL` when a tensor's data does not match its type or dimensions
 */
export function encodeOnnxModel(spec: OnnxModelSpec): Uint8Array {
  const w = new Writer();
  w.intField(1, 8); // ir_version
  w.stringField(2, spec.producer ?? '@lepton/core');
  w.message(7, (g) => {
    for (const n of spec.nodes) g.message(1, (m) => writeNode(m, n));
    g.stringField(2, spec.graphName);
    for (const t of spec.initializers) g.message(5, (m) => writeTensor(m, t));
    for (const v of spec.inputs) g.message(11, (m) => writeValueInfo(m, v));
    for (const v of spec.outputs) g.message(12, (m) => writeValueInfo(m, v));
  });
  w.message(8, (o) => {
    o.stringField(1, '');
    o.intField(2, spec.opset ?? 17);
  });
  return w.finish();
}
