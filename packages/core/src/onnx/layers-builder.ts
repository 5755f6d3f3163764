/**
 * The ONNX graph under construction while a TF.js Layers model is converted (`layers.ts`): nodes, constants, fresh
 * value names, and each TF.js tensor's value in one or both layouts. Internal: not exported from the package.
 *
 * Layouts. TF.js keeps channels last (`[batch, …spatial, channels]`, here "tf"); ONNX's Conv, pooling and Resize want
 * channels first (`[batch, channels, …spatial]`, here "cf"). A tensor of rank ≥ 3 is transposed at most once each
 * way, when an op first needs the other layout, and both names are kept: a chain of convolutions runs channels first
 * with no transposes between them, and a Flatten, Reshape or Dense on a spatial tensor reads the channels-last copy,
 * so every value equals TF.js' element for element in TF.js' own layout.
 */
import { LeptonError } from '../errors/lepton-error.js';
import type { OnnxAttribute, OnnxNode, OnnxTensor } from './proto.js';

/** A TF.js tensor's value in the ONNX graph: its name in the layouts built so far, rank and TF.js shape. */
export interface Value {
  /** Name of the channels-last value (TF.js' own layout), once built. */
  tf?: string;
  /** Name of the channels-first value (rank ≥ 3 only), once built. */
  cf?: string;
  /** Rank, batch axis included. */
  readonly rank: number;
  /** TF.js shape, batch axis included (`null` = unknown). */
  readonly shape: ReadonlyArray<number | null>;
}

/** @internal */
export type Layout = 'tf' | 'cf';

/** Permutation taking channels-last to channels-first for rank `r` (`[0, r−1, 1 … r−2]`). */
export const toCfPerm = (r: number): number[] => [0, r - 1, ...Array.from({ length: r - 2 }, (_, i) => i + 1)];
/** Permutation taking channels-first to channels-last for rank `r` (`[0, 2 … r−1, 1]`). */
export const toTfPerm = (r: number): number[] => [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2), 1];

/** The channels-first axis of TF.js axis `axis` (negative counts from the end) of a rank-`r` tensor. */
export function cfAxis(axis: number, r: number): number {
  const a = axis < 0 ? axis + r : axis;
  if (a < 0 || a >= r) throw new LeptonError('INVALID_MODEL', `ONNX conversion: axis ${axis} is out of range for rank ${r}.`);
  return a === 0 ? 0 : a === r - 1 ? 1 : a + 1;
}

/** @internal */
export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  readonly #used = new Set<string>();

  /** A value name not used yet, derived from `base`. */
  fresh(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./:-]/g, '_') || 'v';
    let name = clean;
    for (let i = 1; this.#used.has(name); i++) name = `${clean}_${i}`;
    this.#used.add(name);
    return name;
  }

  /** Appends a node with one output and returns the output's name. */
  op(op: string, inputs: readonly string[], base: string, attributes?: Record<string, OnnxAttribute>): string {
    const out = this.fresh(base);
    this.nodes.push({ op, inputs, outputs: [out], ...(attributes === undefined ? {} : { attributes }) });
    return out;
  }

  /** A float32 constant (initializer); returns its name. */
  floats(base: string, dims: readonly number[], data: Float32Array): string {
    const name = this.fresh(base);
    this.initializers.push({ name, type: 'float32', dims, data });
    return name;
  }

  /** An int64 constant (shapes, pads); returns its name. */
  ints(base: string, values: readonly number[]): string {
    const name = this.fresh(base);
    this.initializers.push({ name, type: 'int64', dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
    return name;
  }

  /** The value in TF.js' channels-last layout (transposing the channels-first one once, if that is all there is). */
  tf(v: Value): string {
    if (v.tf === undefined) v.tf = this.op('Transpose', [v.cf!], `${v.cf!}_nhwc`, { perm: { ints: toTfPerm(v.rank) } });
    return v.tf;
  }

  /** The value channels first (rank ≥ 3), transposing the channels-last one once if needed. */
  cf(v: Value): string {
    if (v.rank < 3) throw new LeptonError('INVALID_MODEL', `ONNX conversion: a rank-${v.rank} tensor has no channels-first layout.`);
    if (v.cf === undefined) v.cf = this.op('Transpose', [v.tf!], `${v.tf!}_nchw`, { perm: { ints: toCfPerm(v.rank) } });
    return v.cf;
  }

  /** The value in `layout`. */
  get(v: Value, layout: Layout): string {
    return layout === 'cf' ? this.cf(v) : this.tf(v);
  }

  /**
   * The layout an element-wise op on `inputs` should use: channels first when every input has the same rank ≥ 3 and
   * is already channels first (no transpose needed), else channels last.
   */
  shared(inputs: readonly Value[]): Layout {
    const r = inputs[0]!.rank;
    return r >= 3 && inputs.every((v) => v.rank === r && v.cf !== undefined) ? 'cf' : 'tf';
  }
}
