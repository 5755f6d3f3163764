/**
 * The settings a `DiagnosisModel` keeps in its bundle: resolved from training options (defaults in one place) and
 * checked when a bundle is loaded, so nothing downstream sees an undefined or out-of-range value.
 *
 * @module
 */
import { describeValue, LeptonError, type tf } from '@lepton/core';
import { resolveWindow, type ImagePreprocessing, type InputFit, type InputResample, type WindowSpec } from './preprocess.js';
import type { DiagnosisOptions } from './model.js';

import { MAX_INPUT_SIZE, MAX_STACK_SLICES, MIN_INPUT_SIZE } from './input-limits.js';

export { MAX_INPUT_SIZE, MAX_STACK_SLICES, MIN_INPUT_SIZE };

/** Everything a diagnosis model stores: preprocessing with every field set, labels and operating point. */
export interface DiagnosisSettings extends ImagePreprocessing {
  slices: number;
  fit: InputFit;
  resample: InputResample;
  labels: string[];
  threshold: number;
  name: string;
  version: string;
}

/** The preprocessing options of `DiagnosisOptions`, as the caller passed them (unchecked). */
export type InputOptions = Pick<DiagnosisOptions, 'window' | 'size' | 'slices' | 'sliceSpacingMm' | 'fit' | 'resample'>;

const invalid = (option: string, message: string): LeptonError => new LeptonError('INVALID_ARGUMENT', message, { details: { option } });

/**
 * @internal Checks and fills the input options of a new model (the slice spacing of stacks comes from the data).
 *
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` naming the option (`details.option`)
 */
export function resolveInputOptions(o: InputOptions): Pick<DiagnosisSettings, 'window' | 'size' | 'slices' | 'fit' | 'resample'> & { sliceSpacingMm?: number } {
  const size = o.size ?? 64;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < MIN_INPUT_SIZE || size > MAX_INPUT_SIZE) {
    throw invalid('size', `size must be an integer from ${MIN_INPUT_SIZE} to ${MAX_INPUT_SIZE} (the model input's side in pixels), got ${describeValue(size)}.`);
  }
  const slices = o.slices ?? 1;
  if (typeof slices !== 'number' || !Number.isInteger(slices) || slices < 1 || slices > MAX_STACK_SLICES || slices % 2 === 0) {
    throw invalid('slices', `slices must be an odd integer from 1 to ${MAX_STACK_SLICES} (the image and as many neighbours on each side), got ${describeValue(slices)}.`);
  }
  if (o.sliceSpacingMm !== undefined && !(typeof o.sliceSpacingMm === 'number' && Number.isFinite(o.sliceSpacingMm) && o.sliceSpacingMm > 0)) {
    throw invalid('sliceSpacingMm', `sliceSpacingMm must be a finite number of millimetres > 0, got ${describeValue(o.sliceSpacingMm)}.`);
  }
  const fit = o.fit ?? 'letterbox';
  if (fit !== 'letterbox' && fit !== 'stretch') throw invalid('fit', `fit must be 'letterbox' or 'stretch', got ${describeValue(fit)}.`);
  const resample = o.resample ?? 'area';
  if (resample !== 'area' && resample !== 'bilinear') throw invalid('resample', `resample must be 'area' or 'bilinear', got ${describeValue(resample)}.`);
  const window = resolveWindow(o.window ?? 'lung');
  return { window, size: [size, size], slices, fit, resample, ...(o.sliceSpacingMm !== undefined && slices > 1 ? { sliceSpacingMm: o.sliceSpacingMm } : {}) };
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * @internal Reads and checks a bundle's stored settings, and that its network takes what they describe: an input of
 * `size` and `slices` channels. Fields added after the first bundles (`slices`, `fit`, `resample`) default to what those
 * bundles did: one slice, stretched, bilinear.
 *
 * @throws {@link @lepton/core!LeptonError} `BUNDLE_INVALID` (not a diagnosis model, or a field out of range:
 *   `details.field`), `BUNDLE_INCOMPATIBLE` (the network's input differs from the stored size or stack depth)
 */
export function bundleSettings(dir: string, stored: unknown, manifest: { name: string; version: string }, net: tf.LayersModel): DiagnosisSettings {
  const s = (typeof stored === 'object' && stored !== null ? stored : {}) as Record<string, unknown>;
  const bad = (field: string, what: string): never => {
    throw new LeptonError('BUNDLE_INVALID', `${dir}: the diagnosis settings' ${field} ${what}.`, { details: { dir, field } });
  };
  const window = s['window'] as Partial<WindowSpec> | undefined;
  if (typeof window !== 'object' || window === null || !Array.isArray(s['size']) || !Array.isArray(s['labels']) || typeof s['mean'] !== 'number') {
    throw new LeptonError('BUNDLE_INVALID', `${dir} is not a Lepton diagnosis model.`, { details: { dir } });
  }
  if (!finite(window.center) || !finite(window.width) || !(window.width > 0)) bad('window', 'needs a finite center and a width > 0');
  const size = s['size'] as unknown[];
  if (size.length !== 2 || !size.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_INPUT_SIZE)) bad('size', `must be two integers from 1 to ${MAX_INPUT_SIZE}`);
  const slices = s['slices'] ?? 1;
  if (typeof slices !== 'number' || !Number.isInteger(slices) || slices < 1 || slices > MAX_STACK_SLICES || slices % 2 === 0) bad('slices', `must be an odd integer from 1 to ${MAX_STACK_SLICES}`);
  const spacing = s['sliceSpacingMm'];
  if ((slices as number) > 1 && !(finite(spacing) && spacing > 0)) bad('sliceSpacingMm', 'must be a number of millimetres > 0 for a model that stacks slices');
  const fit = s['fit'] ?? 'stretch';
  if (fit !== 'stretch' && fit !== 'letterbox') bad('fit', "must be 'stretch' or 'letterbox'");
  const resample = s['resample'] ?? 'bilinear';
  if (resample !== 'bilinear' && resample !== 'area') bad('resample', "must be 'bilinear' or 'area'");
  if (!finite(s['mean']) || !finite(s['std']) || !((s['std'] as number) > 0)) bad('mean/std', 'must be finite, with std > 0');
  const labels = s['labels'] as unknown[];
  if (labels.length < 2 || !labels.every((l) => typeof l === 'string')) bad('labels', 'must be at least two strings');
  const threshold = s['threshold'] ?? 0.5;
  if (!(finite(threshold) && threshold >= 0 && threshold <= 1)) bad('threshold', 'must be in [0, 1]');
  const [h, w] = size as [number, number];
  const shape = net.inputs[0]?.shape ?? [];
  if (net.inputs.length !== 1 || shape.length !== 4 || shape[1] !== h || shape[2] !== w || shape[3] !== slices) {
    throw new LeptonError('BUNDLE_INCOMPATIBLE', `${dir}: the settings describe ${h}×${w} inputs of ${String(slices)} slice(s), but the network takes [${shape.map((d) => d ?? 'any').join(', ')}].`, {
      details: { dir },
    });
  }
  return {
    window: { center: window.center!, width: window.width! },
    size: [h, w],
    mean: s['mean'] as number,
    std: s['std'] as number,
    slices: slices as number,
    ...((slices as number) > 1 ? { sliceSpacingMm: spacing as number } : {}),
    fit: fit as InputFit,
    resample: resample as InputResample,
    labels: [...(labels as string[])],
    threshold: threshold as number,
    name: manifest.name,
    version: manifest.version,
  };
}
