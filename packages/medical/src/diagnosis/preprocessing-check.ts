/**
 * The run-time check of an `ImagePreprocessing` handed to `preprocessImage` or `preprocessStack`. A model's own
 * preprocessing is checked when it is trained or loaded; these two functions are public, though, and a JavaScript
 * caller's object went unchecked: a NaN mean or a zero std gave NaN or Infinity inputs without a word, a `size` of
 * `[1e308, 32]` a `RangeError`, `null` a `TypeError`.
 *
 * @internal
 * @module
 */
import { describeValue, LeptonError } from '@lepton/core';
import { MAX_INPUT_SIZE, MAX_STACK_SLICES } from './input-limits.js';
import type { ImagePreprocessing } from './preprocess.js';

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Largest finite 32-bit float. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Throws unless `prep` is a preprocessing a model could store: a window of finite centre and width > 0, a size of two
 * integers from 1 to 512, a finite mean and a finite std > 0, and when present an odd `slices` from 1 to 9 (with a
 * slice spacing > 0 above 1), `fit` `stretch`/`letterbox` and `resample` `bilinear`/`area`.
 *
 * @param prep - what the caller passed
 * @param where - the function, named in the message
 * @returns `prep`, typed
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` naming the field (`details.option`)
 * @internal
 */
export function checkPreprocessing(prep: unknown, where: string): ImagePreprocessing {
  const bad = (option: string, what: string, value: unknown): never => {
    throw new LeptonError('INVALID_ARGUMENT', `${where}: prep.${option} must be ${what}, got ${describeValue(value)}.`, { details: { option } });
  };
  if (typeof prep !== 'object' || prep === null) {
    throw new LeptonError('INVALID_ARGUMENT', `${where} needs a preprocessing object (e.g. model.preprocessing), got ${describeValue(prep)}.`, { details: { option: 'prep' } });
  }
  const p = prep as Record<string, unknown>;
  const w = p['window'];
  const win = (typeof w === 'object' && w !== null ? w : {}) as Record<string, unknown>;
  if (!finite(win['center']) || !finite(win['width']) || !(win['width'] > 0)) bad('window', 'a window { center, width } with a finite centre and a finite width > 0', w);
  const size = p['size'];
  if (!Array.isArray(size) || size.length !== 2 || !size.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_INPUT_SIZE)) {
    bad('size', `[rows, columns], two integers from 1 to ${MAX_INPUT_SIZE}`, size);
  }
  if (!finite(p['mean'])) bad('mean', 'a finite number', p['mean']);
  if (!finite(p['std']) || !(p['std'] > 0)) bad('std', 'a finite number > 0', p['std']);
  // Windowed values lie in [0, 1]: the largest input is max(|mean|, |1 − mean|) / std, which must fit a Float32Array
  // (a mean of 1e308 or a std of 1e-300 made every input ±Infinity).
  const mean = p['mean'] as number;
  if (!(Math.max(Math.abs(mean), Math.abs(1 - mean)) / (p['std'] as number) <= FLOAT32_MAX)) {
    bad('mean', 'a mean and std that keep (windowed − mean) / std within 32-bit floats', mean);
  }
  const slices = p['slices'];
  if (slices !== undefined && !(typeof slices === 'number' && Number.isInteger(slices) && slices >= 1 && slices <= MAX_STACK_SLICES && slices % 2 === 1)) {
    bad('slices', `an odd integer from 1 to ${MAX_STACK_SLICES}`, slices);
  }
  const spacing = p['sliceSpacingMm'];
  if ((spacing !== undefined || (slices as number | undefined ?? 1) > 1) && !(finite(spacing) && spacing > 0)) {
    bad('sliceSpacingMm', 'a finite number of millimetres > 0 (needed when slices is above 1)', spacing);
  }
  if (p['fit'] !== undefined && p['fit'] !== 'stretch' && p['fit'] !== 'letterbox') bad('fit', "'stretch' or 'letterbox'", p['fit']);
  if (p['resample'] !== undefined && p['resample'] !== 'bilinear' && p['resample'] !== 'area') bad('resample', "'bilinear' or 'area'", p['resample']);
  return prep as ImagePreprocessing;
}
