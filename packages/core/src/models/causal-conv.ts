import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** Arguments of {@link CausalConv1D}. */
export interface CausalConv1DArgs {
  filters: number;
  kernelSize: number;
  /** Spacing between taps; output t sees inputs t, t − d, …, t − (k − 1)·d. */
  dilation: number;
  activation?: 'relu' | 'linear';
  name?: string;
}

/**
 * Dilated causal 1-D convolution as a layer: `[batch, steps, in] → [batch, steps, filters]`, where step t depends on
 * inputs ≤ t only.
 *
 * Why a layer of our own: tfjs-layers' Conv1D ignores `padding: 'causal'` when dilated, and TF.js has no gradient
 * for dilated Conv2D, so neither can train a TCN. This computes each tap as a time-shifted slice times a
 * `[in, filters]` matrix (pad, slice, matMul: every backend has their gradients, wasm included).
 */
export class CausalConv1D extends tfl.layers.Layer {
  /** Name under which the layer is serialised into model.json. */
  static readonly className = 'LeptonCausalConv1D';
  private readonly filters: number;
  private readonly kernelSize: number;
  private readonly dilation: number;
  private readonly activationName: 'relu' | 'linear';
  private kernel: tfl.LayerVariable | undefined;
  private bias: tfl.LayerVariable | undefined;

  constructor(args: CausalConv1DArgs) {
    super(args.name === undefined ? {} : { name: args.name });
    this.filters = args.filters;
    this.kernelSize = args.kernelSize;
    this.dilation = args.dilation;
    this.activationName = args.activation ?? 'linear';
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const inChannels = shape[shape.length - 1] as number;
    this.kernel = this.addWeight('kernel', [this.kernelSize, inChannels, this.filters], 'float32', tfl.initializers.heNormal({}));
    this.bias = this.addWeight('bias', [this.filters], 'float32', tfl.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    return [shape[0] ?? null, shape[1] ?? null, this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const [batch, steps, inChannels] = x.shape as [number, number, number];
      const pad = (this.kernelSize - 1) * this.dilation;
      const padded = tf.pad(x, [[0, 0], [pad, 0], [0, 0]]);
      const kernel = this.kernel!.read();
      let sum: tf.Tensor | undefined;
      for (let j = 0; j < this.kernelSize; j++) {
        // Tap j reads x[t − (k − 1 − j)·d]: in the left-padded sequence that is the window starting at j·d.
        const window = tf.reshape(tf.slice(padded, [0, j * this.dilation, 0], [batch, steps, inChannels]), [batch * steps, inChannels]);
        const w = tf.reshape(tf.slice(kernel, [j, 0, 0], [1, inChannels, this.filters]), [inChannels, this.filters]);
        const term = tf.matMul(window, w);
        sum = sum === undefined ? term : tf.add(sum, term);
      }
      const y = tf.reshape(tf.add(sum!, this.bias!.read()), [batch, steps, this.filters]);
      return this.activationName === 'relu' ? tf.relu(y) : y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: this.kernelSize,
      dilation: this.dilation,
      activation: this.activationName,
    };
  }
}

let registered = false;

/**
 * Registers Lepton's custom layers with TF.js serialisation, so bundles that use them load. Idempotent; called
 * by the builders that use them and by `loadBundle()`.
 */
export function registerLeptonLayers(): void {
  if (registered) return;
  tf.serialization.registerClass(CausalConv1D);
  registered = true;
}
