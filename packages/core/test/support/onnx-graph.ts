// GraphDef JSON graphs written op by op for graphModelToOnnx's tests, run on ONNX Runtime and compared with TF.js.
import * as ort from 'onnxruntime-node';
import { expect } from 'vitest';
import { graphModelToOnnx, seededRandom, tf } from '@lepton/core';

export const b64 = (s: string): string => Buffer.from(s).toString('base64');
export const ints = (...v: number[]): { list: { i: string[] } } => ({ list: { i: v.map(String) } });
export const FLOAT = { type: 'DT_FLOAT' };

export interface Weight {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  values: number[];
  quantization?: { dtype: 'uint8' | 'float16'; scale?: number; min?: number; original_dtype?: string };
}

/** Artifacts of a graph: nodes, and weights packed as the TF.js converter packs them (uint8 quantisation included). */
export function artifacts(nodes: object[], weights: Weight[]): object {
  const parts: Uint8Array[] = [];
  for (const w of weights) {
    if (w.quantization?.dtype === 'uint8') parts.push(Uint8Array.from(w.values.map((v) => Math.round((v - (w.quantization?.min ?? 0)) / (w.quantization?.scale ?? 1)))));
    else parts.push(new Uint8Array((w.dtype === 'int32' ? Int32Array.from(w.values) : Float32Array.from(w.values)).buffer));
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const data = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  const consts = weights.map((w) => ({ name: w.name, op: 'Const', attr: { dtype: { type: w.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT' } } }));
  return {
    modelTopology: { node: [...consts, ...nodes] },
    weightSpecs: weights.map(({ name, shape, dtype, quantization }) => ({ name, shape, dtype, ...(quantization === undefined ? {} : { quantization }) })),
    weightData: data.buffer,
  };
}

export const placeholder = (name: string, shape: number[]): object => ({ name, op: 'Placeholder', attr: { dtype: FLOAT, shape: { shape: { dim: shape.map((s) => ({ size: String(s) })) } } } });

export async function runOnnx(art: object, outputs: string[], x: tf.Tensor): Promise<Array<{ data: Float32Array; dims: readonly number[] }>> {
  const onnx = graphModelToOnnx(art, { outputs });
  const session = await ort.InferenceSession.create(onnx.bytes);
  try {
    const r = await session.run({ [onnx.inputs[0]?.name as string]: new ort.Tensor('float32', (await x.data()) as Float32Array, x.shape) });
    return onnx.outputs.map((o) => r[o] as unknown as { data: Float32Array; dims: readonly number[] });
  } finally {
    await session.release();
  }
}

export async function expectClose(got: { data: Float32Array; dims: readonly number[] }, want: tf.Tensor, tol = 1e-4): Promise<void> {
  expect([...got.dims]).toEqual(want.shape);
  const w = (await want.data()) as Float32Array;
  let worst = 0;
  for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs((w[i] as number) - (got.data[i] as number)));
  expect(worst).toBeLessThanOrEqual(tol);
}

export const rand = (n: number, seed: number): number[] => {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => r() * 2 - 1);
};

