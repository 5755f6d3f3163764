/**
 * The state of one TF.js graph → ONNX conversion: the ONNX nodes and initializers written so far, the constants
 * known at conversion time, and the rank of every value (ONNX graph outputs need one).
 * @internal
 * @module
 */
import type { OnnxAttribute, OnnxNode, OnnxTensor } from './proto.js';
import { foldedCount } from './graph-validate.js';
import { invalidModel, type ConstTensor, type GraphNode } from './graph-weights.js';

/** `node`, `node:0` → `node`; `node:2` stays; control inputs (`^node`) are not values. */
export function valueName(ref: string): string {
  return ref.endsWith(':0') ? ref.slice(0, -2) : ref;
}

/** @internal */
export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  /** Constants by TF value name (weights, and values folded at conversion time). */
  readonly consts = new Map<string, ConstTensor>();
  readonly #emitted = new Set<string>();
  readonly #ranks = new Map<string, number>();
  #serial = 0;

  /** The constant behind a TF input reference, if it is one. */
  constOf(ref: string | undefined): ConstTensor | undefined {
    return ref === undefined ? undefined : this.consts.get(valueName(ref));
  }

  /** A constant input that the op needs at conversion time (axes, shapes, paddings, filters). */
  needConst(ref: string | undefined, node: { name: string; op: string }, what: string): ConstTensor {
    const c = this.constOf(ref);
    if (c === undefined) throw invalidModel(`node "${node.name}" (${node.op}) has a computed ${what}; only constant ${what}s can be converted.`, { node: node.name, op: node.op });
    return c;
  }

  /** The ONNX value name of a TF input, writing it as an initializer the first time a constant is used. */
  input(ref: string | undefined): string {
    if (ref === undefined) throw invalidModel('a node lacks an input.');
    const name = valueName(ref);
    const c = this.consts.get(name);
    if (c !== undefined && !this.#emitted.has(name)) {
      this.#emitted.add(name);
      this.initializers.push({ name, ...c });
      this.#ranks.set(name, c.dims.length);
    }
    return name;
  }

  /** A new initializer under a unique name. */
  constant(base: string, t: ConstTensor): string {
    const name = this.fresh(base);
    this.initializers.push({ name, ...t });
    this.#ranks.set(name, t.dims.length);
    return name;
  }

  /** An int64 1-D initializer. */
  int64(base: string, values: readonly number[]): string {
    return this.constant(base, { type: 'int64', dims: [values.length], data: BigInt64Array.from(values.map((v) => BigInt(v))) });
  }

  /** A float32 scalar initializer. */
  scalar(base: string, v: number): string {
    return this.constant(base, { type: 'float32', dims: [], data: Float32Array.of(v) });
  }

  fresh(base: string): string {
    return `${base}/__onnx${this.#serial++}`;
  }

  /** Adds a node; `rank` is recorded for each output. Returns the first output's name. */
  node(op: string, inputs: string[], outputs: string[], rank: number | undefined, attributes?: Record<string, OnnxAttribute>): string {
    this.nodes.push({ op, inputs, outputs, name: this.fresh(outputs[0] ?? op), ...(attributes === undefined ? {} : { attributes }) });
    if (rank !== undefined) for (const o of outputs) this.#ranks.set(o, rank);
    return outputs[0] as string;
  }

  rank(ref: string): number | undefined {
    const name = valueName(ref);
    return this.#ranks.get(name) ?? this.consts.get(name)?.dims.length;
  }

  setRank(name: string, rank: number): void {
    this.#ranks.set(name, rank);
  }
}

/** Row-major strides of `dims`. */
function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = (s[i + 1] as number) * (dims[i + 1] as number);
  return s;
}

/** Permutes a constant's axes (`out.dims[i] = dims[perm[i]]`). */
export function permuteConst(t: ConstTensor, perm: readonly number[]): ConstTensor {
  const dims = perm.map((p) => t.dims[p] as number);
  const inStrides = strides(t.dims);
  const count = dims.reduce((a, b) => a * b, 1);
  const Ctor = t.data.constructor as new (n: number) => ConstTensor['data'];
  const data = new Ctor(count);
  const idx = new Array<number>(dims.length).fill(0);
  for (let o = 0; o < count; o++) {
    let src = 0;
    for (let k = 0; k < dims.length; k++) src += (idx[k] as number) * (inStrides[perm[k] as number] as number);
    (data as Float32Array)[o] = (t.data as Float32Array)[src] as number;
    for (let k = dims.length - 1; k >= 0; k--) {
      idx[k] = (idx[k] as number) + 1;
      if ((idx[k] as number) < (dims[k] as number)) break;
      idx[k] = 0;
    }
  }
  return { type: t.type, dims, data };
}

/** A constant's values as plain numbers (int64 included). */
export function constNumbers(t: ConstTensor): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

/** Elementwise binary op on two constants with numpy broadcasting, result typed like `a` (node `n` computes it). */
export function foldBinary(a: ConstTensor, b: ConstTensor, f: (x: number, y: number) => number, n: GraphNode): ConstTensor {
  const rank = Math.max(a.dims.length, b.dims.length);
  const pad = (d: readonly number[]): number[] => [...new Array<number>(rank - d.length).fill(1), ...d];
  const da = pad(a.dims);
  const db = pad(b.dims);
  const dims = da.map((x, i) => {
    const y = db[i] as number;
    if (x !== y && x !== 1 && y !== 1) throw invalidModel(`node "${n.name}" (${n.op}): constant shapes [${a.dims.join(', ')}] and [${b.dims.join(', ')}] do not broadcast.`, { node: n.name, op: n.op });
    return x === 1 ? y : x;
  });
  foldedCount(n, dims); // [N, 1] + [1, N] of two small weights would otherwise allocate N² values
  const sa = strides(da).map((s, i) => (da[i] === 1 ? 0 : s));
  const sb = strides(db).map((s, i) => (db[i] === 1 ? 0 : s));
  const count = dims.reduce((x, y) => x * y, 1);
  const av = constNumbers(a);
  const bv = constNumbers(b);
  const out: number[] = new Array<number>(count);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < count; o++) {
    let ia = 0;
    let ib = 0;
    for (let k = 0; k < rank; k++) {
      ia += (idx[k] as number) * (sa[k] as number);
      ib += (idx[k] as number) * (sb[k] as number);
    }
    out[o] = f(av[ia] as number, bv[ib] as number);
    for (let k = rank - 1; k >= 0; k--) {
      idx[k] = (idx[k] as number) + 1;
      if ((idx[k] as number) < (dims[k] as number)) break;
      idx[k] = 0;
    }
  }
  return typedConst(a.type, dims, out);
}

/** A constant of `type` from plain numbers. */
export function typedConst(type: ConstTensor['type'], dims: readonly number[], values: number[]): ConstTensor {
  if (type === 'float32') return { type, dims, data: Float32Array.from(values) };
  if (type === 'int64') return { type, dims, data: BigInt64Array.from(values.map((v) => BigInt(Math.trunc(v)))) };
  if (type === 'bool') return { type, dims, data: Uint8Array.from(values.map((v) => (v ? 1 : 0))) };
  return { type, dims, data: Int32Array.from(values.map(Math.trunc)) };
}
