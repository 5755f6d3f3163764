import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';

/** @internal A score to calibrate: a number, not NaN (±Infinity map to the ends of the curve). */
export function checkScore(score: unknown, what: string): void {
  if (typeof score !== 'number' || Number.isNaN(score)) {
    throw new LeptonError('INVALID_INPUT', `${what}: the score must be a number (not NaN), got ${describeValue(score)}.`);
  }
}

/** @internal Last guard of a calibrator's `predict`: a probability in [0, 1], never NaN. */
export function finiteProbability(p: number, score: number, what: string): number {
  if (!(p >= 0 && p <= 1)) {
    throw new LeptonError('INVALID_INPUT', `${what}: the calibrated value of score ${describeValue(score)} is ${describeValue(p)}, not a probability.`);
  }
  return p;
}

/** A fitted probability calibrator: maps raw scores to calibrated probabilities. JSON-serialisable via `toJSON`. */
export interface Calibrator {
  /** `platt` or `isotonic`. */
  readonly kind: 'platt' | 'isotonic';
  /**
   * Calibrated probability of one score.
   *
   * @param score - a raw model score
   * @returns probability in [0, 1]
   * @throws {@link LeptonError} `INVALID_INPUT` for a score that is not a number or is NaN
   */
  predict(score: number): number;
  /** Parameters, for storing in a bundle's preprocessing and restoring with `calibratorFromJSON`. */
  toJSON(): CalibratorJSON;
}

/** Serialised form of a {@link Calibrator}. */
export type CalibratorJSON =
  | {
      /** Platt scaling. */
      kind: 'platt';
      /** Slope of p = 1 / (1 + exp(a·score + b)). */
      a: number;
      /** Intercept of the same. */
      b: number;
    }
  | {
      /** Isotonic regression. */
      kind: 'isotonic';
      /** Increasing score knots. */
      x: number[];
      /** Calibrated probability at each knot. */
      y: number[];
    };
