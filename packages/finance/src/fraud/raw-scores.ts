/**
 * How `FraudModel` turns its two models' outputs into raw scores: the MLP's fraud probability, the autoencoder's
 * reconstruction error as a percentile among genuine training rows, and their blend (before calibration). The outputs
 * may come from this thread or from worker threads; the arithmetic here is the same either way.
 *
 * @internal
 * @module
 */
import { tf } from '@lepton/core';

/** The part of a fraud model's settings the blend needs. @internal */
export interface BlendSettings {
  /** Weight of the supervised probability in the blend. */
  blendWeight: number;
  /** Reconstruction-error quantiles (0, 0.1 %, …, 100 %) of genuine training rows; null without an autoencoder. */
  anomalyQuantiles: number[] | null;
}

/** The MLP's output for `x`, read back asynchronously (never `dataSync`: it blocks a GPU backend). */
export async function predictRead(mlp: tf.LayersModel, x: tf.Tensor2D): Promise<Float32Array> {
  return readAndDispose(tf.tidy(() => mlp.predict(x) as tf.Tensor));
}

/**
 * Mean squared reconstruction error per row, read back asynchronously (never `dataSync`: it blocks a GPU backend).
 * `reconstruct` gives the autoencoder's output for `x` — its forward pass here, or the workers' result as a tensor —
 * and runs inside the same `tf.tidy`, so whatever it allocates is freed.
 */
export async function reconstructionErrors(x: tf.Tensor2D, reconstruct: () => tf.Tensor): Promise<Float32Array> {
  return readAndDispose(tf.tidy(() => tf.mean(tf.square(tf.sub(reconstruct(), x)), 1)));
}

/** Reads a tensor's values with `data()` and frees it, also when the read fails. */
async function readAndDispose(t: tf.Tensor): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}

function percentile(quantiles: number[], v: number): number {
  let lo = 0;
  let hi = quantiles.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (quantiles[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo / (quantiles.length - 1);
}

/**
 * Supervised, anomaly and blended scores of the rows `x`, from the MLP's output and the autoencoder's reconstruction
 * (both computed in this thread or on workers: the arithmetic here is the same either way).
 */
export async function rawScores(
  s: BlendSettings,
  x: tf.Tensor2D,
  mlpOutput: Float32Array,
  reconstruct: (() => tf.Tensor) | undefined,
): Promise<{ supervised: number[]; anomaly: number[]; blended: number[] }> {
  const supervised = Array.from(mlpOutput);
  const anomaly = reconstruct && s.anomalyQuantiles ? Array.from(await reconstructionErrors(x, reconstruct), (e) => Math.min(1, percentile(s.anomalyQuantiles!, e))) : supervised.map(() => 0);
  const w = s.blendWeight;
  return { supervised, anomaly, blended: supervised.map((p, i) => w * p + (1 - w) * anomaly[i]!) };
}
