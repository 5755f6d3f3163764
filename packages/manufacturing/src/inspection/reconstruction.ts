import { tf } from '@lepton/core';

/** @internal What {@link buildAutoencoder} needs to know. */
export interface AutoencoderShape {
  width: number;
  height: number;
  filters: [number, number, number];
  latentChannels: number;
  seed: number;
}

/**
 * @internal The inspector's convolutional autoencoder: strided convolutions down to 1/8 resolution, a narrow 1×1
 * bottleneck, and transposed convolutions back up. There are deliberately no skip connections: a U-Net-style skip
 * would copy a scratch straight to the output and hide it from the reconstruction error.
 */
export function buildAutoencoder(o: AutoencoderShape): tf.LayersModel {
  let seed = o.seed;
  const init = () => tf.initializers.heNormal({ seed: seed++ });
  const L = tf.layers;
  const input = tf.input({ shape: [o.height, o.width, 1], name: 'image' });
  const [f0, f1, f2] = o.filters;
  const conv = (filters: number, kernelSize: number, strides: number, name: string): tf.layers.Layer =>
    L.conv2d({ filters, kernelSize, strides, padding: 'same', activation: 'relu', kernelInitializer: init(), name });
  const up = (filters: number, kernelSize: number, name: string, activation: 'relu' | 'linear'): tf.layers.Layer =>
    L.conv2dTranspose({ filters, kernelSize, strides: 2, padding: 'same', activation, kernelInitializer: init(), name });
  let x = conv(f0, 4, 2, 'enc1').apply(input) as tf.SymbolicTensor;
  x = conv(f1, 3, 2, 'enc2').apply(x) as tf.SymbolicTensor;
  x = conv(f2, 3, 2, 'enc3').apply(x) as tf.SymbolicTensor;
  x = conv(o.latentChannels, 1, 1, 'latent').apply(x) as tf.SymbolicTensor;
  x = up(f2, 3, 'dec3', 'relu').apply(x) as tf.SymbolicTensor;
  x = up(f1, 3, 'dec2', 'relu').apply(x) as tf.SymbolicTensor;
  const output = up(1, 4, 'reconstruction', 'linear').apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output, name: 'defect_autoencoder' });
}

/**
 * @internal Squared reconstruction error, box-smoothed so one noisy pixel weighs less than a defect's neighbourhood.
 * `reconstruction`, when given, is the model's output for `x` computed elsewhere (on a worker thread).
 */
export function smoothedError(model: tf.LayersModel, x: tf.Tensor4D, smoothing: number, reconstruction?: tf.Tensor4D): tf.Tensor4D {
  const error = tf.square(tf.sub(reconstruction ?? (model.predict(x) as tf.Tensor4D), x)) as tf.Tensor4D;
  return tf.avgPool(error, smoothing, 1, 'same') as tf.Tensor4D;
}
