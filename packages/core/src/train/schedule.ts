import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';

/**
 * Learning rate per epoch: a named schedule or a function `(epoch, baseRate) => rate` (epochs count from 0).
 * - `constant`: the base rate throughout
 * - `step`: multiply by `factor` every `every` epochs
 * - `exponential`: multiply by `decay` each epoch
 * - `cosine`: cosine annealing from the base rate to `minLearningRate` over the run
 */
export type LearningRateSchedule =
  | {
      /** The base rate throughout. */
      type: 'constant';
    }
  | {
      /** Multiply the rate by `factor` every `every` epochs. */
      type: 'step';
      /** Epochs between steps (values below 1 act as 1). */
      every: number;
      /** Multiplier applied at each step (e.g. 0.5 halves the rate). */
      factor: number;
    }
  | {
      /** Multiply the rate by `decay` each epoch. */
      type: 'exponential';
      /** Per-epoch multiplier (rate at epoch e is `base * decay ** e`). */
      decay: number;
    }
  | {
      /** Cosine annealing from the base rate towards `minLearningRate` over the run. */
      type: 'cosine';
      /** Rate the curve anneals towards. Default 0. */
      minLearningRate?: number;
    }
  | ((epoch: number, baseRate: number) => number);

/**
 * The learning rate for an epoch under a schedule.
 *
 * @param schedule - the schedule
 * @param epoch - epoch index from 0
 * @param epochs - total epochs planned (for cosine)
 * @param base - base learning rate
 * @returns the learning rate
 * @throws {@link LeptonError} `INVALID_ARGUMENT` when the schedule yields a non-positive or non-finite rate
 * @example
 * ```ts
 * import { learningRateAt } from '@lepton/core';
 * learningRateAt({ type: 'step', every: 10, factor: 0.5 }, 25, 30, 0.01); // 0.0025
 * ```
 */
export function learningRateAt(schedule: LearningRateSchedule, epoch: number, epochs: number, base: number): number {
  let lr: number;
  if (typeof schedule === 'function') lr = schedule(epoch, base);
  else if (schedule.type === 'constant') lr = base;
  else if (schedule.type === 'step') lr = base * schedule.factor ** Math.floor(epoch / Math.max(1, schedule.every));
  else if (schedule.type === 'exponential') lr = base * schedule.decay ** epoch;
  else {
    const min = schedule.minLearningRate ?? 0;
    lr = min + ((base - min) * (1 + Math.cos((Math.PI * epoch) / Math.max(1, epochs)))) / 2;
  }
  if (typeof lr !== 'number' || !(lr > 0) || !Number.isFinite(lr)) {
    throw new LeptonError('INVALID_ARGUMENT', `The learning-rate schedule gave ${describeValue(lr)} at epoch ${epoch}; it must be a positive number.`);
  }
  return lr;
}
