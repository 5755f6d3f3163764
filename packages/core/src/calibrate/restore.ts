import { LeptonError } from '../errors/lepton-error.js';
import type { Calibrator, CalibratorJSON } from './calibrator.js';
import { IsotonicCalibrator } from './isotonic.js';
import { PlattCalibrator } from './platt.js';

/**
 * Rebuilds a calibrator from its `toJSON()` form (e.g. from a bundle's preprocessing).
 *
 * @param json - the stored parameters
 * @returns the calibrator
 * @throws {@link LeptonError} `INVALID_INPUT` for an unknown kind or malformed parameters
 */
export function calibratorFromJSON(json: CalibratorJSON): Calibrator {
  if (json?.kind === 'platt' && Number.isFinite(json.a) && Number.isFinite(json.b)) return new PlattCalibrator(json.a, json.b);
  if (json?.kind === 'isotonic' && Array.isArray(json.x) && Array.isArray(json.y) && json.x.length === json.y.length && json.x.length > 0) {
    return new IsotonicCalibrator(json.x, json.y);
  }
  throw new LeptonError('INVALID_INPUT', 'Not a stored calibrator: expected { kind: "platt", a, b } or { kind: "isotonic", x, y }.');
}
