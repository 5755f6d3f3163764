import * as tf from '../tf.js';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { pair, type Numeric } from './validate.js';

/**
 * Dice similarity coefficient of two binary masks: 2|A∩B| ÷ (|A| + |B|). Values ≥ `threshold` count as inside.
 * Two empty masks agree perfectly (1).
 *
 * @param maskTrue - reference mask (0/1 or probabilities)
 * @param maskPred - predicted mask
 * @param threshold - cut-off for both masks. Default 0.5.
 * @returns Dice in [0, 1]
 * @throws {@link LeptonError} `SHAPE_MISMATCH` / `INVALID_INPUT` for masks of different or no length or a value that is
 *   not a finite number; `INVALID_ARGUMENT` for a threshold that is not a finite number
 * @example
 * ```ts
 * import { diceCoefficient } from '@lepton/core';
 * diceCoefficient([1, 1, 0, 0], [1, 0, 0, 0]); // 2·1 ÷ (2 + 1) = 0.667
 * ```
 */
export function diceCoefficient(maskTrue: Numeric, maskPred: Numeric, threshold = 0.5): number {
  // A NaN threshold put every pixel outside both masks: two "empty" masks, a perfect 1.
  if (typeof threshold !== 'number' || !Number.isFinite(threshold)) {
    throw new LeptonError('INVALID_ARGUMENT', `diceCoefficient: threshold must be a finite number, got ${describeValue(threshold)}.`);
  }
  const [mt, mp] = pair('diceCoefficient', maskTrue, 'finite', maskPred, 'finite', ['maskTrue', 'maskPred']);
  let inter = 0;
  let a = 0;
  let b = 0;
  for (let i = 0; i < mt.length; i++) {
    const t = mt[i]! >= threshold ? 1 : 0;
    const p = mp[i]! >= threshold ? 1 : 0;
    inter += t & p;
    a += t;
    b += p;
  }
  return a + b === 0 ? 1 : (2 * inter) / (a + b);
}

/**
 * Soft Dice loss for training segmentation models (sigmoid outputs): 1 − (2 Σ y·ŷ + s) ÷ (Σ y + Σ ŷ + s) per image,
 * averaged over the batch. Insensitive to how small the foreground is, unlike per-pixel cross-entropy.
 *
 * @param smooth - the smoothing term `s` (keeps empty masks well-defined). Default 1.
 * @returns a loss function for `train(…, { loss })`
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for a negative smoothing term
 * @example
 * ```ts
 * import { buildUnet, diceLoss, train } from '@lepton/core';
 * // await train(buildUnet({ inputShape: [64, 64, 1] }), { x: images, y: masks }, { loss: diceLoss() });
 * ```
 */
export function diceLoss(smooth = 1): (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor {
  if (typeof smooth !== 'number' || !(smooth >= 0)) throw new LeptonError('INVALID_ARGUMENT', `Dice smoothing must be a number ≥ 0, got ${describeValue(smooth)}.`);
  return (yTrue, yPred) =>
    tf.tidy(() => {
      const n = yTrue.shape[0]!;
      const t = tf.reshape(yTrue, [n, -1]);
      const p = tf.reshape(yPred, [n, -1]);
      const inter = tf.sum(tf.mul(t, p), 1);
      const denom = tf.add(tf.add(tf.sum(t, 1), tf.sum(p, 1)), smooth);
      return tf.mean(tf.sub(1, tf.div(tf.add(tf.mul(inter, 2), smooth), denom)));
    });
}
