import { describeValue, LeptonError } from '@lepton/core';
import type { VoiWindow } from '../dicom/types.js';

/** Names of the built-in CT window presets. */
export type WindowPresetName = 'lung' | 'mediastinum' | 'bone' | 'brain' | 'abdomen';

/**
 * Common CT window presets, in Hounsfield units (centre / width): lung −600/1500, mediastinum 50/350, bone 400/1800,
 * brain 40/80, abdomen (soft tissue) 40/400 — the usual radiology defaults.
 *
 * @example
 * ```ts
 * import { WINDOW_PRESETS } from '@lepton/medical';
 * console.log(WINDOW_PRESETS.lung); // { center: -600, width: 1500, function: 'LINEAR', explanation: 'lung' }
 * ```
 */
export const WINDOW_PRESETS: Readonly<Record<WindowPresetName, VoiWindow>> = Object.freeze({
  lung: { center: -600, width: 1500, function: 'LINEAR', explanation: 'lung' },
  mediastinum: { center: 50, width: 350, function: 'LINEAR', explanation: 'mediastinum' },
  bone: { center: 400, width: 1800, function: 'LINEAR', explanation: 'bone' },
  brain: { center: 40, width: 80, function: 'LINEAR', explanation: 'brain' },
  abdomen: { center: 40, width: 400, function: 'LINEAR', explanation: 'abdomen' },
});

/**
 * Looks a preset up by name.
 *
 * @param name - one of {@link WindowPresetName}
 * @returns the preset window
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for an unknown name, listing the known ones
 * @example
 * ```ts
 * import { windowPreset } from '@lepton/medical';
 * console.log(windowPreset('bone').center); // 400
 * ```
 */
export function windowPreset(name: string): VoiWindow {
  // Own names only: `WINDOW_PRESETS[{ toString: '' }]` throws a TypeError, and 'constructor' would find Object's.
  const preset = typeof name === 'string' && Object.hasOwn(WINDOW_PRESETS, name) ? (WINDOW_PRESETS as Record<string, VoiWindow>)[name] : undefined;
  if (preset === undefined) {
    throw new LeptonError('INVALID_ARGUMENT', `Unknown window preset ${describeValue(name)}; known: ${Object.keys(WINDOW_PRESETS).join(', ')}.`);
  }
  return preset;
}
