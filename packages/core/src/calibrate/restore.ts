import { LeptonError } from '../errors/lepton-error.js';
import type { Calibrator, CalibratorJSON } from './calibrator.js';
import { IsotonicCalibrator } from './isotonic.js';
import { PlattCalibrator } from './platt.js';

/**
 * Rebuilds a calibrator from its `toJSON()` form (e.g. from a bundle's preprocessing).
 *
 * @param json - the stored parameters
 * @returns the calibrator
 * @throws {@link LeptonError} `INVALID_INPUT` for an unknown kind or malformed parameters: an isotonic calibrator needs
 *   finite, strictly increasing knots `x` and non-decreasing probabilities `y` in [0, 1], as {@link fitIsotonic} makes
 *   them (a NaN or unordered knot made every prediction NaN or wrong)
 */
export function calibratorFromJSON(json: CalibratorJSON): Calibrator {
  try {
    return restore(json);
  } catch (err) {
    if (err instanceof LeptonError) throw err;
    // a throwing getter or Proxy trap in the stored object
    throw new LeptonError('INVALID_INPUT', 'Not a stored calibrator: reading it threw (see cause).', { cause: err });
  }
}

function restore(json: CalibratorJSON): Calibrator {
  if (json?.kind === 'platt') {
    // each field read once: a getter cannot pass the check with one value and be stored with another
    const { a, b } = json;
    if (typeof a === 'number' && Number.isFinite(a) && typeof b === 'number' && Number.isFinite(b)) return new PlattCalibrator(a, b);
  }
  if (json?.kind === 'isotonic' && Array.isArray(json.x) && Array.isArray(json.y) && json.x.length === json.y.length && json.x.length > 0) {
    const x = Array.from(json.x as unknown[]);
    const y = Array.from(json.y as unknown[]);
    const ok = x.every(
      (v, i) =>
        typeof v === 'number' && Number.isFinite(v) && (i === 0 || v > (x[i - 1] as number)) &&
        typeof y[i] === 'number' && (y[i] as number) >= 0 && (y[i] as number) <= 1 && (i === 0 || (y[i] as number) >= (y[i - 1] as number)),
    );
    if (ok) return new IsotonicCalibrator(x as number[], y as number[]);
  }
  throw new LeptonError('INVALID_INPUT', 'Not a stored calibrator: expected { kind: "platt", a, b } or { kind: "isotonic", x, y }.');
}
