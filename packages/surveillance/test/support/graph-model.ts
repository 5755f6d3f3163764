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

/**
 * A YOLOv8-layout graph (`[B, 4 + 2 classes, 2 anchors]`) of 8 × 8 inputs whose output is a constant: two boxes in
 * input pixels, a 'person' at 0.9 and a 'dog' at 0.2 (the image is multiplied by zero, so the graph still reads it).
 *
 * @returns the model.json path
 */
export async function writeConstantYolo(dir: string): Promise<string> {
  const head = [
    [4, 1],
    [4, 1],
    [4, 2],
    [2, 2],
    [0.9, 0.0],
    [0.0, 0.2],
  ];
  return writeGraphModel(
    dir,
    [
      placeholder('images', [-1, 8, 8, 3]),
      { name: 'mean', op: 'Mean', input: ['images', 'axes'], attr: { T: { type: 'DT_FLOAT' }, Tidx: { type: 'DT_INT32' }, keep_dims: { b: true } } },
      { name: 'none', op: 'Mul', input: ['mean', 'zero'], attr: { T: { type: 'DT_FLOAT' } } },
      { name: 'flat', op: 'Reshape', input: ['none', 'shape'], attr: { T: { type: 'DT_FLOAT' }, Tshape: { type: 'DT_INT32' } } },
      { name: 'output0', op: 'AddV2', input: ['flat', 'head'], attr: { T: { type: 'DT_FLOAT' } } },
    ],
    [
      { name: 'axes', dtype: 'int32', shape: [3], values: [1, 2, 3] },
      { name: 'zero', dtype: 'float32', shape: [], values: [0] },
      { name: 'shape', dtype: 'int32', shape: [3], values: [-1, 1, 1] },
      { name: 'head', dtype: 'float32', shape: [1, 6, 2], values: head.flat() },
    ],
  );
}
