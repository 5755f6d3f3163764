import * as tf from '@tensorflow/tfjs-core';

type Info = tf.TensorInfo;
interface WasmLike extends tf.KernelBackend {
  disposeData(dataId: object, force?: boolean): boolean;
}

function wasmKernel(name: string): tf.KernelFunc {
  const k = tf.getKernel(name, 'wasm');
  if (k === undefined) throw new Error(`wasm kernel ${name} is missing`);
  return k.kernelFunc;
}

/**
 * Conv2DBackpropFilter for the wasm backend, which TF.js 4.22 does not ship — without it no convolutional model
 * can train on wasm. Built from wasm's own XNNPACK kernels with the classic identity
 *
 *   dW[kh, kw, c, f] = Σ_{n, oh, ow} x[n, oh·s + kh − pad, ow·s + kw − pad, c] · dy[n, oh, ow, f]
 *                    = conv2d(xᵀ [C, H, W, N], dyᵀ [OH, OW, N, F], stride 1, dilation s, same pads) → [C, KH, KW, F],
 *
 * i.e. the batch becomes the contraction channel and the forward stride becomes a dilation. When the stride does
 * not divide the padded extent evenly the result has extra trailing rows/columns (offsets beyond the kernel),
 * which are cropped. Checked against the cpu backend's kernel in test/wasm-kernels.test.ts.
 */
const conv2dBackpropFilter: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: Info; dy: Info };
  const a = attrs as unknown as {
    strides: number | [number, number];
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    filterShape: [number, number, number, number];
  };
  if (a.dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter on wasm supports NHWC only');
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    a.filterShape,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
  const [kh, kw, c, f] = a.filterShape;
  const transpose = wasmKernel('Transpose');
  const conv = wasmKernel('Conv2D');
  const slice = wasmKernel('Slice');
  const b = backend as WasmLike;
  const xt = transpose({ inputs: { x }, backend, attrs: { perm: [3, 1, 2, 0] } }) as Info;
  const dyt = transpose({ inputs: { x: dy }, backend, attrs: { perm: [1, 2, 0, 3] } }) as Info;
  const { top, bottom, left, right } = info.padInfo;
  const full = conv({
    inputs: { x: xt, filter: dyt },
    backend,
    attrs: {
      strides: [1, 1],
      pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
      dataFormat: 'NHWC',
      dilations: [info.strideHeight, info.strideWidth],
    },
  }) as Info;
  b.disposeData(xt.dataId);
  b.disposeData(dyt.dataId);
  let cropped = full;
  if (full.shape[1] !== kh || full.shape[2] !== kw) {
    cropped = slice({ inputs: { x: full }, backend, attrs: { begin: [0, 0, 0, 0], size: [c, kh, kw, f] } }) as Info;
    b.disposeData(full.dataId);
  }
  const out = transpose({ inputs: { x: cropped }, backend, attrs: { perm: [1, 2, 0, 3] } }) as Info;
  b.disposeData(cropped.dataId);
  return out;
};

/**
 * Adds the training kernels Lepton provides for the wasm backend (currently `Conv2DBackpropFilter`), unless
 * TF.js already has them. Called by the wasm backend loader; idempotent.
 *
 * @returns names of the kernels added
 */
export function registerWasmTrainingKernels(): string[] {
  const added: string[] = [];
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm') === undefined) {
    tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2dBackpropFilter });
    added.push('Conv2DBackpropFilter');
  }
  return added;
}
