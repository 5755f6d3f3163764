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

/** The numeric fields each named schedule reads (`true`: required). */
const FIELDS: Record<string, Record<string, boolean>> = {
  constant: {},
  step: { every: true, factor: true },
  exponential: { decay: true },
  cosine: { minLearningRate: false },
};

/**
 * @internal Throws `INVALID_ARGUMENT` for a schedule that is neither a function nor a named schedule with finite numbers: an
 * unknown `type` would otherwise run as cosine, and a BigInt factor would throw a `TypeError` mid-training.
 */
export function checkSchedule(schedule: unknown): void {
  if (typeof schedule === 'function') return;
  const bad = (what: string): never => {
    throw new LeptonError('INVALID_ARGUMENT', `learningRateSchedule: ${what}.`);
  };
  if (schedule === null || typeof schedule !== 'object') bad(`must be a function or { type, … }, got ${describeValue(schedule)}`);
  const s = schedule as Record<string, unknown>;
  const type = s['type'];
  const fields = typeof type === 'string' && Object.hasOwn(FIELDS, type) ? FIELDS[type]! : bad(`type must be 'constant', 'step', 'exponential' or 'cosine', got ${describeValue(type)}`);
  for (const [field, required] of Object.entries(fields)) {
    const v = s[field];
    if ((v !== undefined || required) && !(typeof v === 'number' && Number.isFinite(v))) bad(`${type}.${field} must be a finite number, got ${describeValue(v)}`);
  }
}

/**
 * The learning rate for an epoch under a schedule.
 *
 * @param schedule - the schedule
 * @param epoch - epoch index from 0
 * @param epochs - total epochs planned (for cosine)
 * @param base - base learning rate
 * @returns the learning rate
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for an unknown schedule type or a field that is not a finite number, an
 *   epoch that is not a whole number ≥ 0, epochs that is not one ≥ 1, a base rate that is not a finite number > 0, and
 *   when the schedule yields a non-positive or non-finite rate
 * @example
 * ```ts
 * import { learningRateAt } from '@lepton/core';
 * learningRateAt({ type: 'step', every: 10, factor: 0.5 }, 25, 30, 0.01); // 0.0025
 * ```
 */
export function learningRateAt(schedule: LearningRateSchedule, epoch: number, epochs: number, base: number): number {
  checkSchedule(schedule);
  // A string epoch or base was converted ('0.1' × factor), a Symbol threw a TypeError.
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new LeptonError('INVALID_ARGUMENT', `learningRateAt: epoch must be a whole number ≥ 0, got ${describeValue(epoch)}.`);
  if (!Number.isSafeInteger(epochs) || epochs < 1) throw new LeptonError('INVALID_ARGUMENT', `learningRateAt: epochs must be a whole number ≥ 1, got ${describeValue(epochs)}.`);
  if (typeof base !== 'number' || !Number.isFinite(base) || !(base > 0)) {
    throw new LeptonError('INVALID_ARGUMENT', `learningRateAt: the base rate must be a finite number > 0, got ${describeValue(base)}.`);
  }
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
