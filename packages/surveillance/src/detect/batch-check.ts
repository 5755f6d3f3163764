/**
 * The load-time batch check of a detector model of your own (`ObjectDetector`): a model may run a larger batch
 * without an error and still get it wrong. A graph that reshapes or transposes across the batch axis mixes its frames
 * (TF.js reports a declared batch of 1 as free), and so does a decoder that indexes the batch wrongly (a YOLO decoder
 * written with `tf.gather`'s `batchDims` did, while the YOLO decoders were built). Two different images run as one
 * batch and one by one, and both are decoded (score floor 0, the best 20 candidates a frame); the detector runs frame
 * by frame, each frame decoded on its own, unless the candidates agree. The shipped models batch correctly (tested)
 * and are not checked.
 * @internal
 * @module
 */
import { tf } from '@lepton/core';
import type { DecodeFunction, RawDetection } from './decode.js';

/** The model input the check builds its two images for. */
export interface CheckInput {
  width: number;
  height: number;
  /** Multiplier on 0–255 RGB, then `offset` added (the model spec's). */
  scale: number;
  offset: number;
  layout: 'nhwc' | 'nchw';
  /** The label map and the wanted classes' indices, as the decoder gets them in detection. */
  labels: readonly string[];
  classIndices: readonly number[];
}

/** Whether two decoders' candidate lists hold the same detections (any order; scores within 1e-3, boxes within ½ px). */
export function sameCandidates(a: RawDetection[] | undefined, b: RawDetection[] | undefined): boolean {
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  const left = [...b];
  for (const d of a) {
    const k = left.findIndex((e) => e.classIndex === d.classIndex && Math.abs(e.score - d.score) <= 1e-3 && Math.abs(e.x1 - d.x1) <= 0.5 && Math.abs(e.y1 - d.y1) <= 0.5 && Math.abs(e.x2 - d.x2) <= 0.5 && Math.abs(e.y2 - d.y2) <= 0.5);
    if (k < 0) return false;
    left.splice(k, 1);
  }
  return true;
}

/**
 * Runs a seeded noise image and a dark ramp (its mean far from the noise's) as one batch and one by one.
 *
 * @param execute - one forward pass (the caller's outputs); the tensors returned are disposed here
 * @param decode - the model's decoder
 * @param input - the model input's size, scale, offset and layout; the label map and wanted classes
 * @returns true when the batch decodes to the same candidates as the two images alone; false when it does not, or a
 *   batch (or its decoding) fails
 */
export async function batchesLikeOneByOne(execute: (x: tf.Tensor) => Promise<tf.Tensor[]>, decode: DecodeFunction, input: CheckInput): Promise<boolean> {
  const { width: iw, height: ih } = input;
  const x = tf.tidy(() => {
    const noise = tf.randomUniform([1, ih, iw, 3], 0, 255, 'float32', 7);
    const ramp = tf.tile(tf.reshape(tf.linspace(0, 100, iw), [1, 1, iw, 1]), [1, ih, 1, 3]);
    let v: tf.Tensor = tf.concat([noise, ramp]);
    if (input.scale !== 1) v = tf.mul(v, input.scale);
    if (input.offset !== 0) v = tf.add(v, input.offset);
    return input.layout === 'nchw' ? tf.transpose(v, [0, 3, 1, 2]) : v;
  });
  const context = (batchSize: number) => ({ batchSize, inputWidth: iw, inputHeight: ih, labels: input.labels, classIndices: input.classIndices, minScore: 0, maxCandidates: 20 });
  const held: tf.Tensor[] = [x];
  try {
    const both = await execute(x);
    held.push(...both);
    const batched = await decode(both, context(2));
    for (let i = 0; i < 2; i++) {
      const one = tf.slice(x, [i], [1]);
      held.push(one);
      const out = await execute(one);
      held.push(...out);
      const [alone] = await decode(out, context(1));
      if (!Array.isArray(batched) || batched.length !== 2 || !sameCandidates(batched[i], alone)) return false;
    }
    return true;
  } catch {
    return false; // a batch (or its decoding) failed: run frame by frame
  } finally {
    tf.dispose(held);
  }
}
