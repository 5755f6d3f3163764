// A TF.js graph model written by hand (model.json + weights.bin) for the detector tests: the weights become Const
// nodes, packed in order as the TF.js converter packs them.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One weight: its name (the Const node's), dtype, shape and values. */
export interface GraphWeight {
  name: string;
  dtype: 'float32' | 'int32';
  shape: number[];
  values: number[];
}

/** A Placeholder node of `shape` (a −1 for a free dimension). */
export const placeholder = (name: string, shape: number[]): object => ({
  name,
  op: 'Placeholder',
  attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: shape.map((s) => ({ size: String(s) })) } } },
});

/**
 * Writes `dir/model.json` and `dir/weights.bin`.
 *
 * @returns the model.json path
 */
export async function writeGraphModel(dir: string, nodes: object[], weights: GraphWeight[]): Promise<string> {
  const consts = weights.map((w) => ({ name: w.name, op: 'Const', attr: { dtype: { type: w.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT' } } }));
  const path = join(dir, 'model.json');
  await writeFile(
    path,
    JSON.stringify({
      format: 'graph-model',
      modelTopology: { node: [...consts, ...nodes], library: {}, versions: { producer: 898 } },
      weightsManifest: [{ paths: ['weights.bin'], weights: weights.map(({ name, shape, dtype }) => ({ name, shape, dtype })) }],
    }),
  );
  const parts = weights.map((w) => Buffer.from((w.dtype === 'int32' ? Int32Array.from(w.values) : Float32Array.from(w.values)).buffer));
  await writeFile(join(dir, 'weights.bin'), Buffer.concat(parts));
  return path;
}
