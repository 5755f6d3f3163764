import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { LAST_CONV_LAYER } from '../models/residual-cnn.js';
import { optionsObject } from '../metrics/validate.js';
import { ensureRuntime } from '../runtime/init.js';
import type { Heatmap, HeatmapOptions } from './saliency.js';
import { asBatchOfOne, checkFinite, resolveClassIndex, targetScore } from './target.js';

/** Options for {@link gradCam}. */
export interface GradCamOptions extends HeatmapOptions {
  /**
   * Convolutional layer to explain. Default: `last_conv` (the residual CNN's last activation), else the last
   * layer with a 4-D output.
   */
  layerName?: string;
}

interface GraphNode {
  inputTensors: tfl.SymbolicTensor[];
  outputTensors: tfl.SymbolicTensor[];
}
interface GraphLayer {
  name: string;
  inboundNodes: GraphNode[];
  apply(x: tfl.SymbolicTensor | tfl.SymbolicTensor[]): tfl.SymbolicTensor | tfl.SymbolicTensor[];
}

/** Layers with one 4-D output (a layer of several outputs has an array of shapes). */
function fourDLayers(model: tfl.LayersModel): tfl.layers.Layer[] {
  // outputShape[0] is the batch size (null) of a single output, an array of shapes for several
  return model.layers.filter((l) => Array.isArray(l.outputShape) && l.outputShape.length === 4 && !Array.isArray(l.outputShape[0]));
}

function pickLayer(model: tfl.LayersModel, name: string | undefined): tfl.layers.Layer {
  if (name !== undefined) {
    const found = model.layers.find((l) => l.name === name);
    const convs = (): string => fourDLayers(model).map((l) => l.name).slice(-8).join(', ') || 'none';
    if (found === undefined) {
      throw new LeptonError('INVALID_ARGUMENT', `No layer ${describeValue(name, 100)} in the model. 4-D layers: ${convs()}.`);
    }
    if (!fourDLayers(model).includes(found)) {
      throw new LeptonError('INVALID_ARGUMENT', `Layer ${describeValue(name, 100)} has no 4-D output ([batch, height, width, channels]), so Grad-CAM cannot weigh its channels. 4-D layers: ${convs()}.`);
    }
    return found;
  }
  const named = model.layers.find((l) => l.name === LAST_CONV_LAYER);
  if (named) return named;
  const fourD = fourDLayers(model);
  const last = fourD[fourD.length - 1];
  if (last === undefined) throw new LeptonError('EXPLAIN_UNSUPPORTED', 'Grad-CAM needs a convolutional layer with a 4-D output; this model has none.');
  return last;
}

/**
 * Rebuilds the part of the model after `layer` as a function of that layer's output, reusing the same layer
 * objects (and so the same weights). Only possible when nothing after the layer reads anything from before
 * it, which holds for the usual "features → pooling → classifier" head.
 */
function headAfter(model: tfl.LayersModel, layer: tfl.layers.Layer): tfl.LayersModel {
  // Always go through the layer's first inbound node (the model's own graph): once a layer has been applied
  // again here, `layer.output` becomes ambiguous.
  const start = layer as unknown as GraphLayer;
  const startOut = firstOutput(start);
  const input = tfl.input({ shape: startOut.shape.slice(1) as number[] });
  const mapped = new Map<number, tfl.SymbolicTensor>([[startOut.id, input]]);
  const index = model.layers.indexOf(layer);
  for (const l of model.layers.slice(index + 1) as unknown as GraphLayer[]) {
    const node = l.inboundNodes[0];
    if (node === undefined) continue;
    const ins = node.inputTensors.map((t) => mapped.get(t.id));
    if (ins.every((t) => t === undefined)) continue;
    if (ins.some((t) => t === undefined)) {
      throw new LeptonError(
        'EXPLAIN_UNSUPPORTED',
        `Layer '${l.name}' after '${start.name}' also reads earlier activations; choose a later layerName for Grad-CAM.`,
      );
    }
    const out = l.apply(ins.length === 1 ? ins[0]! : (ins as tfl.SymbolicTensor[]));
    const outs = Array.isArray(out) ? out : [out];
    node.outputTensors.forEach((o, i) => mapped.set(o.id, outs[i]!));
  }
  const output = mapped.get(model.outputs[0]!.id);
  if (output === undefined) {
    throw new LeptonError('EXPLAIN_UNSUPPORTED', `The model output does not depend on layer '${start.name}'.`);
  }
  return tfl.model({ inputs: input, outputs: output });
}

function firstOutput(layer: GraphLayer): tfl.SymbolicTensor {
  const out = layer.inboundNodes[0]?.outputTensors[0];
  if (out === undefined) throw new LeptonError('EXPLAIN_UNSUPPORTED', `Layer '${layer.name}' is not connected to the model.`);
  return out;
}

const heads = new WeakMap<tfl.LayersModel, Map<string, { features: tfl.LayersModel; head: tfl.LayersModel }>>();

/**
 * Grad-CAM: weights each channel of a convolutional layer by the mean gradient of the class score, sums,
 * keeps the positive part and upsamples to the input size, scaled to [0, 1]. Shows *where* the model looked.
 *
 * @param model - a convolutional image model
 * @param image - one image, `[height, width, channels]` or `[1, height, width, channels]`
 * @param options - class and layer to explain
 * @returns the heatmap at input resolution
 * @throws {@link LeptonError} `EXPLAIN_UNSUPPORTED` when the model has no suitable convolutional layer,
 *   `SHAPE_MISMATCH` for an image of the wrong shape, `INVALID_INPUT` for an image that is not a live tensor,
 *   or for a model that is not an image model (input `[batch, height, width, channels]`); `INVALID_MODEL` for a model
 *   of several inputs or outputs; `INVALID_ARGUMENT` for a model that is not a layers model, options that are not an
 *   object, an unknown layer, a `layerName` whose output is not 4-D, or a bad class index
 * @example
 * ```ts
 * import { buildResidualCnn, gradCam, initRuntime, tf } from '@lepton/core';
 * await initRuntime({ backend: 'cpu' });
 * const cnn = buildResidualCnn({ inputShape: [16, 16, 1], numClasses: 2, filters: [4, 8] });
 * const cam = await gradCam(cnn, tf.randomUniform([16, 16, 1]));
 * console.log(cam.data.length); // 256
 * ```
 */
export async function gradCam(model: tfl.LayersModel, image: tf.Tensor, options: GradCamOptions = {}): Promise<Heatmap> {
  await ensureRuntime();
  const o = optionsObject(options, 'gradCam');
  const x = asBatchOfOne(model, image, 'gradCam');
  try {
    const layer = pickLayer(model, o.layerName);
    let cache = heads.get(model);
    if (cache === undefined) heads.set(model, (cache = new Map()));
    let parts = cache.get(layer.name);
    if (parts === undefined) {
      const features = tfl.model({ inputs: model.inputs, outputs: firstOutput(layer as unknown as GraphLayer) });
      parts = { features, head: headAfter(model, layer) };
      cache.set(layer.name, parts);
    }
    const { features, head } = parts;
    const classIndex = await resolveClassIndex(model, x, o.classIndex);
    const [height, width] = x.shape.slice(1, 3) as [number, number];
    const cam = tf.tidy(() => {
      const a = features.predict(x) as tf.Tensor4D;
      const grads = tf.grad((act: tf.Tensor) => targetScore(head.apply(act) as tf.Tensor, classIndex))(a);
      const weights = tf.mean(grads, [1, 2], true);
      const raw = tf.relu(tf.sum(tf.mul(a, weights), -1, true)) as tf.Tensor4D;
      // Pixel centres aligned (halfPixelCenters): without it TF.js maps output pixel i to input i·scale, which shifts
      // the map by half an input cell towards the top-left (1.5 pixels at 4× upsampling).
      const up = tf.squeeze(tf.image.resizeBilinear(raw, [height, width], false, true), [0, 3]);
      return tf.div(up, tf.maximum(tf.max(up), 1e-12));
    });
    const data = (await cam.data()) as Float32Array;
    cam.dispose();
    checkFinite(data, 'gradCam');
    return { data, width, height, classIndex };
  } finally {
    if (x !== image) x.dispose();
  }
}
