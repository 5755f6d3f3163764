import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';

/** Numbers as plain arrays or typed arrays. */
export type Numeric = ArrayLike<number>;

/** @internal Same length, non-empty, finite. */
export function checkPair(a: ArrayLike<unknown>, b: ArrayLike<unknown>, what: string): void {
  if (a.length !== b.length) {
    throw new LeptonError('SHAPE_MISMATCH', `${what}: yTrue has ${a.length} values but the predictions have ${b.length}.`);
  }
  if (a.length === 0) throw new LeptonError('INVALID_INPUT', `${what}: no samples.`);
}

/** @internal Binary labels must be 0 or 1. */
export function checkBinary(y: Numeric, what: string): void {
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (v !== 0 && v !== 1) throw new LeptonError('INVALID_INPUT', `${what}: binary labels must be 0 or 1, found ${describeValue(v)} at index ${i}.`);
  }
}

/** @internal Both classes must be present for ranking metrics. */
export function countClasses(y: Numeric): { pos: number; neg: number } {
  let pos = 0;
  for (let i = 0; i < y.length; i++) pos += y[i] === 1 ? 1 : 0;
  return { pos, neg: y.length - pos };
}
