/**
 * The preprocessing a `FraudModel` stores in its supervised bundle (feature names, scaler, calibrator, blend), and the
 * check that a bundle read back from disk carries a sound copy of it.
 *
 * @internal
 * @module
 */
import { LeptonError, type CalibratorJSON } from '@lepton/core';
import type { ScalerJSON } from './scaler.js';

/** A fraud model's preprocessing, as saved in `lepton.json`. @internal */
export interface FraudSettings {
  /** Feature names, index-aligned with each row. */
  featureNames: string[];
  /** Standardisation fitted on the training rows, one mean and one std per feature. */
  scaler: ScalerJSON;
  /** Calibration of the blended score. */
  calibrator: CalibratorJSON;
  /** Weight of the supervised probability in the blend. */
  blendWeight: number;
  /** Reconstruction-error quantiles (0, 0.1 %, …, 100 %) of genuine training rows. */
  anomalyQuantiles: number[] | null;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const finiteList = (v: unknown, min: number): v is number[] => Array.isArray(v) && v.length >= min && v.every(finite);
const nonDecreasing = (v: readonly number[]): boolean => v.every((x, i) => i === 0 || x >= v[i - 1]!);

/** Why `value` is not a sound calibrator (as `calibratorFromJSON` needs it, and with values it can compute with), or undefined. */
function calibratorProblem(value: unknown): string | undefined {
  const c = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (c['kind'] === 'platt') return finite(c['a']) && finite(c['b']) ? undefined : 'a Platt calibrator needs finite a and b';
  if (c['kind'] === 'isotonic') {
    const { x, y } = c;
    if (!finiteList(x, 1) || !finiteList(y, 1) || x.length !== y.length) return 'an isotonic calibrator needs x and y: finite numbers, as many of one as of the other';
    if (!nonDecreasing(x) || !nonDecreasing(y) || y[0]! < 0 || y[y.length - 1]! > 1) return 'an isotonic calibrator needs increasing knots x and non-decreasing probabilities y in [0, 1]';
    return undefined;
  }
  return "the calibrator's kind is neither 'platt' nor 'isotonic'";
}

/** Why `value` is not a sound set of fraud-model settings, or undefined. */
function settingsProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'it has no preprocessing';
  const s = value as Partial<Record<keyof FraudSettings, unknown>>;
  const names = s.featureNames;
  if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string')) return 'featureNames is not a non-empty list of strings';
  const { mean, std } = (typeof s.scaler === 'object' && s.scaler !== null ? s.scaler : {}) as Partial<Record<keyof ScalerJSON, unknown>>;
  // Checked here, not left to score(): a damaged scaler loaded fine and every later call failed (or was scaled wrong).
  if (!finiteList(mean, names.length) || mean.length !== names.length) return `the scaler's mean is not ${names.length} finite numbers (one per feature)`;
  if (!finiteList(std, names.length) || std.length !== names.length || !std.every((v) => v > 0)) {
    return `the scaler's std is not ${names.length} finite positive numbers (one per feature)`;
  }
  const calibrator = calibratorProblem(s.calibrator);
  if (calibrator) return calibrator;
  if (!finite(s.blendWeight) || s.blendWeight < 0 || s.blendWeight > 1) return 'blendWeight is not a number from 0 to 1';
  const q = s.anomalyQuantiles;
  if (q !== null && (!finiteList(q, 2) || !nonDecreasing(q) || q[0]! < 0)) return 'anomalyQuantiles is neither null nor a non-decreasing list of non-negative finite numbers';
  return undefined;
}

/**
 * Returns the settings read from a bundle's `lepton.json` once each part is sound: feature names, a scaler of one
 * finite mean and one finite positive std per feature, a calibrator with finite values, a blend weight in [0, 1] and
 * the anomaly quantiles (or null).
 *
 * @param value - `manifest.preprocessing` of the supervised bundle
 * @param dir - the model directory (named in the message)
 * @returns the same object, typed
 * @throws {@link @lepton/core!LeptonError} `BUNDLE_INVALID` naming the first part that is missing or damaged
 * @internal
 */
export function checkSettings(value: unknown, dir: string): FraudSettings {
  const problem = settingsProblem(value);
  if (problem) throw new LeptonError('BUNDLE_INVALID', `${dir} is not a sound Lepton fraud model: ${problem}. Save the model again (FraudModel.save) or restore the bundle.`);
  return value as FraudSettings;
}
