import * as tf from '@tensorflow/tfjs-core';

interface WebgpuLike extends tf.KernelBackend {
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

let registered = false;

/**
 * Fixes TF.js 4.22's WebGPU `Cast` from `int32`/`bool` to `float32`, which we found on lavapipe running the surveillance
 * detector. The stock kernel does not convert: it returns a float32 tensor that shares the int32 buffer (no "encoding
 * loss", so no copy). Most shaders convert when they read such a buffer, but some generated ones do not — the
 * vectorised im2col reader of `Conv2DMMProgram` for 3-channel inputs emits `vec3<f32>(x[i], …)` over an `array<i32>`,
 * which is invalid WGSL: the pipeline is rejected and the convolution's output is garbage, for any RGB image whose bytes
 * are cast straight to float (e.g. a camera frame already at the detector's 512 × 512 input size). This kernel makes the cast real: it multiplies the shared view by 1.0 with the
 * backend's own `Multiply`, which reads the int32 buffer correctly and writes a genuine float32 buffer.
 * Do not "simplify" it back to an identity: the bug only shows for large 3-channel convolutions.
 */
export function registerWebgpuFixes(): void {
  if (registered) return;
  const cast = tf.getKernel('Cast', 'webgpu');
  const multiply = tf.getKernel('Multiply', 'webgpu');
  if (cast === undefined || multiply === undefined) return;
  const original = cast.kernelFunc;
  const mul = multiply.kernelFunc;
  const kernelFunc: tf.KernelFunc = (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { dtype } = args.attrs as unknown as { dtype: tf.DataType };
    if (dtype !== 'float32' || (x.dtype !== 'int32' && x.dtype !== 'bool')) return original(args);
    const backend = args.backend as WebgpuLike;
    const view = original(args) as tf.TensorInfo;
    const one = backend.makeTensorInfo([], 'float32', new Float32Array([1]));
    try {
      return mul({ inputs: { a: view, b: one }, backend, attrs: {} });
    } finally {
      backend.disposeData(view.dataId);
      backend.disposeData(one.dataId);
    }
  };
  tf.unregisterKernel('Cast', 'webgpu');
  tf.registerKernel({ ...cast, kernelFunc });
  registered = true;
}
