import { damagedScores, isQuantile } from '../internal/scores.js';

/** @internal What an {@link AnomalyDetector} keeps beside its model (and saves in its bundle's preprocessing). */
export interface AnomalySettings {
  signals: string[];
  window: number;
  kind: 'dense' | 'lstm';
  mean: number[];
  std: number[];
  /** Sorted validation scores: thresholds can be re-chosen by quantile without retraining. */
  validationScores: number[];
  /** Per-signal divisor of the error in the score (1 for `mse`; mean held-out error for `balanced`). */
  signalScale?: number[];
  /** `Infinity` for no alarms (saved as `null`: JSON has no Infinity). */
  threshold: number;
  /** The quantile the threshold was last set to (absent after `setThreshold`, and in bundles before it was kept). */
  quantile?: number;
}

/** Most normal-window scores a detector keeps for its threshold (a bundle's size stays bounded); more are thinned evenly. */
export const MAX_NORMAL_SCORES = 200_000;

/** Longest window a bundle may declare (one window is `window × signals` model inputs). */
const MAX_WINDOW = 100_000;

/**
 * A scaled value is clipped to ± this many standard deviations of normal operation before the model sees it. A runaway
 * sensor (1e20 on a signal whose normal spread is 1) would otherwise overflow float32 in the model and score Infinity
 * or NaN, which never alarms; clipped, it scores far above any threshold and still alarms. Squared and summed over a
 * window it stays far inside float32.
 */
export const MAX_SCALED = 1e4;

/** `(v − mean) ÷ std`, clipped to ±{@link MAX_SCALED} (NaN stays NaN: callers refuse it before). */
export function scaleValue(v: number, mean: number, std: number): number {
  const z = (v - mean) / std;
  return z > MAX_SCALED ? MAX_SCALED : z < -MAX_SCALED ? -MAX_SCALED : z;
}

const finiteList = (v: unknown, n: number, positive: boolean): boolean =>
  Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0));

/**
 * Checks an anomaly detector bundle's preprocessing against its model's input shape.
 *
 * @returns the settings to use (threshold `null` read back as `Infinity`), or why the bundle is unusable
 */
export function readAnomalySettings(raw: unknown, inputShape: ReadonlyArray<number | null>): AnomalySettings | string {
  if (raw === null || typeof raw !== 'object') return 'it has no anomaly detector settings';
  const s = raw as Record<string, unknown>;
  const signals = s['signals'];
  if (!Array.isArray(signals) || signals.length === 0 || signals.some((x) => typeof x !== 'string' || x === '') || new Set(signals).size !== signals.length) return 'its signals are not distinct non-empty names';
  const n = signals.length;
  const window = s['window'];
  if (typeof window !== 'number' || !Number.isSafeInteger(window) || window < 2 || window > MAX_WINDOW) return `its window is not a whole number from 2 to ${MAX_WINDOW}`;
  const kind = s['kind'] ?? 'dense';
  if (kind !== 'dense' && kind !== 'lstm') return "its kind is not 'dense' or 'lstm'";
  const want = kind === 'dense' ? [window * n] : [window, n];
  if (inputShape.length !== want.length + 1 || want.some((d, i) => inputShape[i + 1] !== d)) return `its model takes [${inputShape.join(', ')}], not ${kind} windows of ${window} × ${n} signals`;
  if (!finiteList(s['mean'], n, false)) return 'its means are not one finite number per signal';
  if (!finiteList(s['std'], n, true)) return 'its standard deviations are not one finite number > 0 per signal';
  if (s['signalScale'] !== undefined && !finiteList(s['signalScale'], n, true)) return 'its signal scales are not one finite number > 0 per signal';
  const scores = damagedScores(s['validationScores'], MAX_NORMAL_SCORES);
  if (scores !== undefined) return scores;
  const threshold = s['threshold'] === null ? Infinity : s['threshold'];
  if (typeof threshold !== 'number' || Number.isNaN(threshold) || threshold < 0) return 'its threshold is not a number ≥ 0';
  if (s['quantile'] !== undefined && !isQuantile(s['quantile'])) return 'its quantile is not a number in (0, 1]';
  return {
    signals: [...(signals as string[])],
    window,
    kind,
    mean: [...(s['mean'] as number[])],
    std: [...(s['std'] as number[])],
    validationScores: [...(s['validationScores'] as number[])],
    ...(s['signalScale'] === undefined ? {} : { signalScale: [...(s['signalScale'] as number[])] }),
    threshold,
    ...(s['quantile'] === undefined ? {} : { quantile: s['quantile'] as number }),
  };
}
