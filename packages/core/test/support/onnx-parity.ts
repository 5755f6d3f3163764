import { expect } from 'vitest';
import { createOnnxSession, layersModelToOnnx, tf } from '@lepton/core';

// Measured max |Δ| between TF.js (wasm) and ONNX Runtime is ≈ 1e-6 (float rounding: ONNX Runtime sums in another
// order); 1e-4 is the bound every parity test uses.
export const TOLERANCE = 1e-4;

/**
 * Max |Δ| between `model.predict` and ONNX Runtime on the converted model, on one seeded random batch of `batch`
 * samples; also checks that the output dims equal TF.js' output shape.
 */
export async function onnxMaxDiff(model: tf.LayersModel, batch = 3): Promise<number> {
  const shape = [batch, ...(model.inputs[0]!.shape.slice(1) as number[])];
  const x = tf.randomNormal(shape, 0, 1, 'float32', 11);
  const y = model.predict(x) as tf.Tensor;
  const want = (await y.data()) as Float32Array;
  const session = await createOnnxSession(await layersModelToOnnx(model));
  try {
    const outs = await session.run({ [session.inputNames[0]!]: { data: (await x.data()) as Float32Array, dims: shape } });
    const got = outs[session.outputNames[0]!]!;
    expect(got.dims).toEqual(y.shape);
    expect(got.data.length).toBe(want.length);
    let max = 0;
    for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(want[i]! - got.data[i]!));
    return max;
  } finally {
    tf.dispose([x, y]);
    await session.close();
  }
}
