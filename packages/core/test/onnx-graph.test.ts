import { describe, expect, it, beforeAll } from 'vitest';
import { graphModelToOnnx, initRuntime, tf } from '@lepton/core';

// graphModelToOnnx on small GraphDef JSON graphs written here op by op, each checked against the same computation in
// TF.js ops (the kernels a TF.js graph model runs): the padding, layout and resize conventions that the shipped
// detectors do not all exercise (odd sizes with SAME stride 2, explicit paddings, depthwise multipliers, align_corners,
// quantised weights).

import { artifacts, b64, expectClose, FLOAT, ints, placeholder, rand, runOnnx, type Weight } from './support/onnx-graph.js';

describe('graphModelToOnnx: op conventions against TF.js', () => {
  beforeAll(async () => {
    await initRuntime({ backend: 'cpu' }, {});
  });

  it('SAME stride-2 conv on an odd size with fused bias + Relu6, depthwise ×2 with PReLU, EXPLICIT padding, AvgPool SAME, uint8 weights', async () => {
    const w1 = rand(3 * 3 * 3 * 4, 1);
    const b1 = rand(4, 2);
    const dw = rand(3 * 3 * 4 * 2, 3);
    const db = rand(8, 4);
    const slope = rand(8, 5);
    const w3 = rand(2 * 2 * 8 * 3, 6).map((v) => Math.round((v + 1) * 50) / 50 - 1); // exactly representable in uint8 steps of 0.02
    const art = artifacts(
      [
        placeholder('x', [-1, 9, 11, 3]),
        { name: 'c1', op: '_FusedConv2D', input: ['x', 'w1', 'b1'], attr: { T: FLOAT, padding: { s: b64('SAME') }, strides: ints(1, 2, 2, 1), data_format: { s: b64('NHWC') }, fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu6')] } }, num_args: { i: '1' } } },
        { name: 'd1', op: 'FusedDepthwiseConv2dNative', input: ['c1', 'dw', 'db', 'slope'], attr: { T: FLOAT, padding: { s: b64('SAME') }, strides: ints(1, 1, 1, 1), fused_ops: { list: { s: [b64('BiasAdd'), b64('Prelu')] } }, num_args: { i: '2' } } },
        { name: 'c3', op: 'Conv2D', input: ['d1', 'w3'], attr: { T: FLOAT, padding: { s: b64('EXPLICIT') }, explicit_paddings: ints(0, 0, 1, 0, 0, 2, 0, 0), strides: ints(1, 1, 1, 1) } },
        { name: 'p', op: 'AvgPool', input: ['c3'], attr: { T: FLOAT, padding: { s: b64('SAME') }, ksize: ints(1, 3, 3, 1), strides: ints(1, 2, 2, 1) } },
        { name: 'r', op: 'ResizeBilinear', input: ['p', 'size'], attr: { T: FLOAT, align_corners: { b: true }, half_pixel_centers: { b: false } } },
        { name: 'm', op: 'Mean', input: ['r', 'axes'], attr: { T: FLOAT, keep_dims: { b: false } } },
      ],
      [
        { name: 'w1', shape: [3, 3, 3, 4], dtype: 'float32', values: w1 },
        { name: 'b1', shape: [4], dtype: 'float32', values: b1 },
        { name: 'dw', shape: [3, 3, 4, 2], dtype: 'float32', values: dw },
        { name: 'db', shape: [8], dtype: 'float32', values: db },
        { name: 'slope', shape: [8], dtype: 'float32', values: slope },
        { name: 'w3', shape: [2, 2, 8, 3], dtype: 'float32', values: w3, quantization: { dtype: 'uint8', scale: 0.02, min: -1 } },
        { name: 'size', shape: [2], dtype: 'int32', values: [7, 5] },
        { name: 'axes', shape: [2], dtype: 'int32', values: [1, 2] },
      ],
    );
    const x = tf.tensor4d(rand(2 * 9 * 11 * 3, 7), [2, 9, 11, 3]);
    const [r, m] = await runOnnx(art, ['r', 'm'], x);
    const want = tf.tidy(() => {
      const c1 = tf.fused.conv2d({ x: x as tf.Tensor4D, filter: tf.tensor4d(w1, [3, 3, 3, 4]), strides: 2, pad: 'same', bias: tf.tensor1d(b1), activation: 'relu6' });
      const d1 = tf.fused.depthwiseConv2d({ x: c1, filter: tf.tensor4d(dw, [3, 3, 4, 2]), strides: 1, pad: 'same', bias: tf.tensor1d(db), activation: 'prelu', preluActivationWeights: tf.tensor1d(slope) });
      const c3 = tf.conv2d(d1, tf.tensor4d(w3, [2, 2, 8, 3]), 1, [[0, 0], [1, 0], [0, 2], [0, 0]]);
      const p = tf.avgPool(c3, 3, 2, 'same');
      const rr = tf.image.resizeBilinear(p, [7, 5], true);
      return [rr, tf.mean(rr, [1, 2])];
    });
    await expectClose(r as { data: Float32Array; dims: readonly number[] }, want[0] as tf.Tensor);
    await expectClose(m as { data: Float32Array; dims: readonly number[] }, want[1] as tf.Tensor);
    tf.dispose([x, ...want]);
  });

  it('half_pixel_centers resize, MaxPool VALID, ConcatV2, Pad, Transpose, SplitV, Reshape with constant-folded shape', async () => {
    const art = artifacts(
      [
        placeholder('x', [1, 6, 8, 2]),
        { name: 'r', op: 'ResizeBilinear', input: ['x', 'size'], attr: { T: FLOAT, align_corners: { b: false }, half_pixel_centers: { b: true } } },
        { name: 'mp', op: 'MaxPool', input: ['r'], attr: { T: FLOAT, padding: { s: b64('VALID') }, ksize: ints(1, 2, 2, 1), strides: ints(1, 2, 2, 1) } },
        { name: 'cat', op: 'ConcatV2', input: ['mp', 'mp', 'axis'], attr: { T: FLOAT, N: { i: '2' } } },
        { name: 'pad', op: 'PadV2', input: ['cat', 'paddings', 'fill'], attr: { T: FLOAT } },
        { name: 't', op: 'Transpose', input: ['pad', 'perm'], attr: { T: FLOAT } },
        { name: 's', op: 'SplitV', input: ['t', 'sizes', 'dim'], attr: { T: FLOAT, num_split: { i: '2' } } },
        { name: 'shape', op: 'AddV2', input: ['base', 'delta'], attr: { T: { type: 'DT_INT32' } } },
        { name: 'out', op: 'Reshape', input: ['s:1', 'shape'], attr: { T: FLOAT } },
      ],
      [
        { name: 'size', shape: [2], dtype: 'int32', values: [9, 12] },
        { name: 'axis', shape: [], dtype: 'int32', values: [-1] },
        { name: 'paddings', shape: [4, 2], dtype: 'int32', values: [0, 0, 1, 2, 0, 1, 0, 0] },
        { name: 'fill', shape: [], dtype: 'float32', values: [0.5] },
        { name: 'perm', shape: [4], dtype: 'int32', values: [0, 3, 1, 2] },
        { name: 'sizes', shape: [2], dtype: 'int32', values: [1, 3] },
        { name: 'dim', shape: [], dtype: 'int32', values: [1] },
        { name: 'base', shape: [3], dtype: 'int32', values: [1, 3, 0] },
        { name: 'delta', shape: [3], dtype: 'int32', values: [0, 0, 7 * 7] },
      ],
    );
    const x = tf.tensor4d(rand(6 * 8 * 2, 9), [1, 6, 8, 2]);
    const [got] = await runOnnx(art, ['out'], x);
    const want = tf.tidy(() => {
      const mp = tf.maxPool(tf.image.resizeBilinear(x as tf.Tensor4D, [9, 12], false, true), 2, 2, 'valid');
      const pad = tf.pad(tf.concat([mp, mp], -1), [[0, 0], [1, 2], [0, 1], [0, 0]], 0.5);
      const [, second] = tf.split(tf.transpose(pad, [0, 3, 1, 2]), [1, 3], 1);
      return tf.reshape(second as tf.Tensor, [1, 3, 49]);
    });
    await expectClose(got as { data: Float32Array; dims: readonly number[] }, want);
    tf.dispose([x, want]);
  });

  it('StridedSlice with an ellipsis (x[..., 4:], x[..., 0:2], x[0, ..., 1], x[..., ::2, 1:]) as YOLOv5\'s export writes it', async () => {
    const x = tf.tensor5d(rand(2 * 3 * 4 * 5 * 7, 33), [2, 3, 4, 5, 7]);
    // [begin, end, strides, begin_mask, end_mask, ellipsis_mask, shrink_axis_mask]
    const specs: Array<[number[], number[], number[], number, number, number, number]> = [
      [[0, 4], [0, 0], [1, 1], 0, 2, 1, 0],
      [[0, 0], [0, 2], [1, 1], 0, 0, 1, 0],
      [[0, 0, 1], [1, 0, 2], [1, 1, 1], 0, 0, 2, 5],
      [[0, 0, 1], [0, 0, 0], [1, 2, 1], 0, 6, 1, 0],
      [[1, 0], [3, 0], [1, 1], 0, 0, 2, 0],
    ];
    for (const [begin, end, strides, beginMask, endMask, ellipsisMask, shrinkMask] of specs) {
      const k = begin.length;
      const art = artifacts(
        [
          placeholder('x', [2, 3, 4, 5, 7]),
          { name: 's', op: 'StridedSlice', input: ['x', 'b', 'e', 'st'], attr: { T: FLOAT, Index: { type: 'DT_INT32' }, begin_mask: { i: String(beginMask) }, end_mask: { i: String(endMask) }, ellipsis_mask: { i: String(ellipsisMask) }, new_axis_mask: { i: '0' }, shrink_axis_mask: { i: String(shrinkMask) } } },
        ],
        [
          { name: 'b', shape: [k], dtype: 'int32', values: begin },
          { name: 'e', shape: [k], dtype: 'int32', values: end },
          { name: 'st', shape: [k], dtype: 'int32', values: strides },
        ],
      );
      const [got] = await runOnnx(art, ['s'], x);
      const want = tf.stridedSlice(x, begin, end, strides, beginMask, endMask, ellipsisMask, 0, shrinkMask);
      await expectClose(got as { data: Float32Array; dims: readonly number[] }, want, 0);
      want.dispose();
    }
    x.dispose();
  });

  it('free input size: Keras UpSampling2D (Shape → StridedSlice → Mul → ResizeBilinear) and StridedSlice with masks, shrink and a step', async () => {
    const I32 = { type: 'DT_INT32' };
    const art = artifacts(
      [
        placeholder('x', [-1, -1, -1, 3]),
        { name: 'sh', op: 'Shape', input: ['x'], attr: { T: FLOAT, out_type: I32 } },
        { name: 'hw', op: 'StridedSlice', input: ['sh', 'b1', 'e1', 's1'], attr: { T: I32, Index: I32, begin_mask: { i: '0' }, end_mask: { i: '0' }, shrink_axis_mask: { i: '0' } } },
        { name: 'size', op: 'Mul', input: ['hw', 'two'], attr: { T: I32 } },
        { name: 'up', op: 'ResizeBilinear', input: ['x', 'size'], attr: { T: FLOAT, align_corners: { b: false }, half_pixel_centers: { b: true } } },
        // up[:, 1:-1, ::2, -1]: begin/end masks on axes 0 and 2, a stride of 2, axis 3 shrunk at begin −1.
        { name: 'ss', op: 'StridedSlice', input: ['up', 'b2', 'e2', 's2'], attr: { T: FLOAT, Index: I32, begin_mask: { i: '5' }, end_mask: { i: '5' }, shrink_axis_mask: { i: '8' } } },
      ],
      [
        { name: 'b1', shape: [1], dtype: 'int32', values: [1] },
        { name: 'e1', shape: [1], dtype: 'int32', values: [3] },
        { name: 's1', shape: [1], dtype: 'int32', values: [1] },
        { name: 'two', shape: [], dtype: 'int32', values: [2] },
        { name: 'b2', shape: [4], dtype: 'int32', values: [0, 1, 0, -1] },
        { name: 'e2', shape: [4], dtype: 'int32', values: [0, -1, 0, 0] },
        { name: 's2', shape: [4], dtype: 'int32', values: [1, 1, 2, 1] },
      ],
    );
    // One converted graph, two input sizes: the resize size is computed at run time, not folded at conversion.
    for (const [h, w] of [[5, 7], [8, 4]] as const) {
      const x = tf.tensor4d(rand(2 * h * w * 3, h + w), [2, h, w, 3]);
      const [up, ss] = await runOnnx(art, ['up', 'ss'], x);
      const want = tf.tidy(() => {
        const u = tf.image.resizeBilinear(x as tf.Tensor4D, [2 * h, 2 * w], false, true);
        // Spelled out with slice + gather: tf.stridedSlice with this shrink at −1 returned other values (TF.js 4.22, cpu).
        return [u, tf.squeeze(tf.gather(tf.slice(u, [0, 1, 0, 2], [-1, 2 * h - 2, -1, 1]), tf.range(0, 2 * w, 2, 'int32'), 2), [3])];
      });
      await expectClose(up as { data: Float32Array; dims: readonly number[] }, want[0] as tf.Tensor);
      await expectClose(ss as { data: Float32Array; dims: readonly number[] }, want[1] as tf.Tensor);
      tf.dispose([x, ...want]);
    }
    const newAxis = artifacts([placeholder('x', [1, 4, 4, 1]), { name: 'e', op: 'StridedSlice', input: ['x', 'b', 'b', 'b'], attr: { T: FLOAT, new_axis_mask: { i: '1' } } }], [{ name: 'b', shape: [1], dtype: 'int32', values: [0] }]);
    expect(() => graphModelToOnnx(newAxis, { outputs: ['e'] })).toThrow(expect.objectContaining({ code: 'INVALID_MODEL', details: { node: 'e', op: 'StridedSlice' }, message: expect.stringContaining('new_axis_mask') }));
    const twoEllipses = artifacts([placeholder('x', [1, 4, 4, 1]), { name: 'e', op: 'StridedSlice', input: ['x', 'b', 'b', 'b'], attr: { T: FLOAT, ellipsis_mask: { i: '3' } } }], [{ name: 'b', shape: [2], dtype: 'int32', values: [0, 0] }]);
    expect(() => graphModelToOnnx(twoEllipses, { outputs: ['e'] })).toThrow(expect.objectContaining({ code: 'INVALID_MODEL', details: { node: 'e', op: 'StridedSlice' }, message: expect.stringContaining('more than one ellipsis') }));
  });

  it('SAME convolutions with a dilation (odd sizes, asymmetric padding, fused and depthwise) equal TF.js: explicit pads, which ORT runs', async () => {
    // ONNX Runtime refuses auto_pad SAME_UPPER with a dilation at run time; the converter writes TF's SAME as pads.
    const w1 = rand(3 * 2 * 3 * 4, 11);
    const b1 = rand(4, 12);
    const dw = rand(3 * 3 * 4 * 1, 13);
    const art = artifacts(
      [
        placeholder('x', [-1, 9, 11, 3]),
        // Kernel 3×2, dilations 2×3: effective 5×4, SAME total padding 4×3 (1 before, 2 after in width).
        { name: 'c', op: '_FusedConv2D', input: ['x', 'w1', 'b1'], attr: { T: FLOAT, padding: { s: b64('SAME') }, strides: ints(1, 1, 1, 1), dilations: ints(1, 2, 3, 1), fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu')] } }, num_args: { i: '1' } } },
        { name: 'd', op: 'DepthwiseConv2dNative', input: ['c', 'dw'], attr: { T: FLOAT, padding: { s: b64('SAME') }, strides: ints(1, 1, 1, 1), dilations: ints(1, 2, 2, 1) } },
      ],
      [
        { name: 'w1', shape: [3, 2, 3, 4], dtype: 'float32', values: w1 },
        { name: 'b1', shape: [4], dtype: 'float32', values: b1 },
        { name: 'dw', shape: [3, 3, 4, 1], dtype: 'float32', values: dw },
      ],
    );
    const x = tf.tensor4d(rand(2 * 9 * 11 * 3, 14), [2, 9, 11, 3]);
    const [c, d] = await runOnnx(art, ['c', 'd'], x);
    const want = tf.tidy(() => {
      const cc = tf.fused.conv2d({ x: x as tf.Tensor4D, filter: tf.tensor4d(w1, [3, 2, 3, 4]), strides: 1, pad: 'same', dilations: [2, 3], bias: tf.tensor1d(b1), activation: 'relu' });
      return [cc, tf.depthwiseConv2d(cc, tf.tensor4d(dw, [3, 3, 4, 1]), 1, 'same', 'NHWC', 2)];
    });
    await expectClose(c as { data: Float32Array; dims: readonly number[] }, want[0] as tf.Tensor);
    await expectClose(d as { data: Float32Array; dims: readonly number[] }, want[1] as tf.Tensor);
    tf.dispose([x, ...want]);
    // A dilation with a stride (which TF and TF.js refuse too) is a typed error, not a wrong padding.
    const strided = artifacts([placeholder('x', [1, 9, 9, 3]), { name: 's', op: 'Conv2D', input: ['x', 'w'], attr: { padding: { s: b64('SAME') }, strides: ints(1, 2, 2, 1), dilations: ints(1, 2, 2, 1) } }], [{ name: 'w', shape: [3, 3, 3, 1], dtype: 'float32', values: rand(27, 15) }]);
    expect(() => graphModelToOnnx(strided, { outputs: ['s'] })).toThrow(expect.objectContaining({ code: 'INVALID_MODEL', details: { node: 's', op: 'Conv2D' }, message: expect.stringContaining('dilations') }));
  });

  it('Mean, Sum, Max and Min over an empty axes constant are the identity, as in TF (ONNX would reduce every axis)', async () => {
    const x = tf.tensor4d(rand(2 * 3 * 5 * 2, 16), [2, 3, 5, 2]);
    for (const op of ['Mean', 'Sum', 'Max', 'Min']) {
      for (const keep of [false, true]) {
        const art = artifacts([placeholder('x', [-1, 3, 5, 2]), { name: 'm', op, input: ['x', 'axes'], attr: { T: FLOAT, keep_dims: { b: keep } } }], [{ name: 'axes', shape: [0], dtype: 'int32', values: [] }]);
        const [got] = await runOnnx(art, ['m'], x);
        const want = tf.tidy(() => ({ Mean: tf.mean, Sum: tf.sum, Max: tf.max, Min: tf.min })[op as 'Mean'](x, [], keep));
        await expectClose(got as { data: Float32Array; dims: readonly number[] }, want, 0);
        want.dispose();
      }
    }
    x.dispose();
  });

  it('hostile GraphDef JSON is a typed INVALID_MODEL error, found before any large allocation', () => {
    const x = placeholder('x', [1, 4]);
    const i32 = (name: string, shape: number[], values: number[]): Weight => ({ name, shape, dtype: 'int32', values });
    const refuses = (art: object, options: object, details: object, message: string): void => {
      expect(() => graphModelToOnnx(art, options)).toThrow(expect.objectContaining({ code: 'INVALID_MODEL', details, message: expect.stringContaining(message) }));
    };
    // SparseToDense folding to [1e5, 1e5] (4·10^10 values): refused by its element count, not a RangeError.
    const sparse = artifacts(
      [x, { name: 's', op: 'SparseToDense', input: ['i', 'sh', 'v', 'd'] }, { name: 'r', op: 'Reshape', input: ['x', 's'] }],
      [i32('i', [1, 2], [0, 0]), i32('sh', [2], [100000, 100000]), i32('v', [], [1]), i32('d', [], [0])],
    );
    refuses(sparse, { outputs: ['r'] }, { node: 's', op: 'SparseToDense' }, '16777216');
    // Broadcasting two small constants to N² values is bounded the same way.
    const outer = artifacts([x, { name: 'o', op: 'AddV2', input: ['col', 'row'] }, { name: 'r', op: 'Reshape', input: ['x', 'o'] }], [i32('col', [5000, 1], new Array<number>(5000).fill(1)), i32('row', [1, 5000], new Array<number>(5000).fill(1))]);
    refuses(outer, { outputs: ['r'] }, { node: 'o', op: 'AddV2' }, '16777216');
    // A Split into 10^7 parts (a 108 MB model from a few bytes of JSON) and a negative count.
    for (const count of ['10000000', '-1']) {
      refuses(artifacts([x, { name: 's', op: 'Split', input: ['ax', 'x'], attr: { num_split: { i: count } } }], [i32('ax', [], [0])]), { outputs: ['s'] }, { node: 's', op: 'Split' }, 'num_split');
    }
    // Malformed node fields and arity: each was a TypeError.
    refuses({ modelTopology: { node: [x, { name: 'a', op: 'Relu', input: 'x' }] } }, { outputs: ['a'] }, { node: 'a', op: 'Relu' }, 'array of strings');
    refuses(artifacts([x, { name: 'c', op: 'ConcatV2', input: ['ax'] }], [i32('ax', [], [0])]), { outputs: ['c'] }, { node: 'c', op: 'ConcatV2' }, 'at least 2');
    refuses({ modelTopology: { node: [x, { name: 'r', op: 'Relu' }] } }, { outputs: ['r'] }, { node: 'r', op: 'Relu' }, '0 inputs');
    refuses({ modelTopology: { node: [x, { name: 'a', op: 'Relu', input: ['x'] }] } }, { outputs: 'a' }, {}, 'options.outputs');
    refuses({ modelTopology: { node: [x, { name: 'a', op: 'Relu', input: ['x'] }] } }, { dynamicBatch: 'yes' }, {}, 'dynamicBatch');
    refuses({ modelTopology: { node: [{ ...x, attr: { dtype: FLOAT, shape: { shape: { dim: [{ size: 'abc' }] } } } }, { name: 'a', op: 'Relu', input: ['x'] }] } }, { outputs: ['a'] }, { node: 'x', op: 'Placeholder' }, 'not an integer');
    // Anything the checks above did not foresee (here padding's bytes as a number, which Buffer.from rejects) is
    // still INVALID_MODEL, naming the node.
    const odd = artifacts([placeholder('x', [1, 4, 4, 1]), { name: 'c', op: 'Conv2D', input: ['x', 'w'], attr: { padding: { s: 7 } } }], [{ name: 'w', shape: [1, 1, 1, 1], dtype: 'float32', values: [1] }]);
    refuses(odd, { outputs: ['c'] }, { node: 'c', op: 'Conv2D' }, 'conversion failed at node "c"');
  });

  it('an op without a conversion, a computed filter and a missing weight are typed INVALID_MODEL errors', () => {
    const x = placeholder('x', [1, 4, 4, 1]);
    expect(() => graphModelToOnnx(artifacts([x, { name: 'e', op: 'Erf', input: ['x'] }], []), { outputs: ['e'] })).toThrow(
      expect.objectContaining({ code: 'INVALID_MODEL', details: { node: 'e', op: 'Erf' }, message: expect.stringContaining('Erf') }),
    );
    expect(() => graphModelToOnnx(artifacts([x, { name: 'c', op: 'Conv2D', input: ['x', 'x'], attr: { padding: { s: b64('SAME') } } }], []), { outputs: ['c'] })).toThrow(
      expect.objectContaining({ code: 'INVALID_MODEL', message: expect.stringContaining('filter') }),
    );
    expect(() => graphModelToOnnx(artifacts([x, { name: 'k', op: 'Const' }, { name: 'a', op: 'Add', input: ['x', 'k'] }], []), { outputs: ['a'] })).toThrow(
      expect.objectContaining({ code: 'INVALID_MODEL', details: expect.objectContaining({ node: 'k' }) }),
    );
  });
});
