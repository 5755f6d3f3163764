import { beforeAll, describe, expect, it } from 'vitest';
import { initRuntime, tf } from '@lepton/core';
import { artifacts, expectClose, FLOAT, placeholder, rand, runOnnx, type Weight } from './support/onnx-graph.js';

describe('graphModelToOnnx: ResizeNearestNeighbor against TF.js wasm', () => {
  beforeAll(async () => {
    await initRuntime({ backend: 'wasm' }, {});
  });

  it('ResizeNearestNeighbor picks the pixel TF.js wasm picks: every size 1–20 → 1–40, in all three coordinate modes', async () => {
    // YOLOv5's TF export upsamples with it (half_pixel_centers, ×2); ONNX's own nearest Resize picked a neighbouring
    // pixel at some sizes (21 → 3, 14 → 23 …), so the converter computes TensorFlow's float32 indices itself. The
    // reference is the wasm backend, which computes in float32 as TensorFlow does (the cpu backend computes in float64
    // and differs from both at 7 of these 2,400 size pairs, where the source lands exactly on a pixel edge).
    const modes: Array<[boolean, boolean]> = [[false, false], [false, true], [true, false]];
    let checked = 0;
    for (let h = 1; h <= 20; h++) {
      const x = tf.tensor4d(rand(h * 3 * 2, 40 + h), [1, h, 3, 2]);
      const nodes: object[] = [placeholder('x', [1, h, 3, 2])];
      const weights: Weight[] = [];
      const outputs: string[] = [];
      for (let out = 1; out <= 40; out++) {
        weights.push({ name: `s${out}`, shape: [2], dtype: 'int32', values: [out, 5] });
        modes.forEach(([align, half], m) => {
          nodes.push({ name: `r${out}_${m}`, op: 'ResizeNearestNeighbor', input: ['x', `s${out}`], attr: { T: FLOAT, align_corners: { b: align }, half_pixel_centers: { b: half } } });
          outputs.push(`r${out}_${m}`);
        });
      }
      const got = await runOnnx(artifacts(nodes, weights), outputs, x);
      for (let out = 1; out <= 40; out++) {
        for (const [m, [align, half]] of modes.entries()) {
          const want = tf.image.resizeNearestNeighbor(x, [out, 5], align, half);
          await expectClose(got[(out - 1) * 3 + m] as { data: Float32Array; dims: readonly number[] }, want, 0);
          want.dispose();
          checked++;
        }
      }
      x.dispose();
    }
    expect(checked).toBe(2400);
  });

});
