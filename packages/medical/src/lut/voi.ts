import { describeValue, LeptonError } from '@lepton/core';
import type { DicomMetadata, VoiLutFunction, VoiWindow } from '../dicom/types.js';
import type { DecodedFrame } from '../pixels/frame.js';
import { applyModalityLut } from './modality.js';
import { lookup, type LookupTable } from './lookup-table.js';
import { windowPreset, type WindowPresetName } from './presets.js';

/**
 * Which VOI transform to render with:
 * - a preset name (`'lung'`, …);
 * - `{ center, width, function? }` — any window, LINEAR unless told;
 * - `{ fileWindow: n }` / `{ fileVoiLut: n }` — the n-th (0-based) window / VOI LUT stored in the file;
 * - `'minmax'` — a linear window spanning the frame's modality values;
 * - omitted — the file's first window, else its first VOI LUT, else `'minmax'`.
 */
export type VoiChoice =
  | WindowPresetName
  | 'minmax'
  | {
      /** Window centre, in modality units. */
      readonly center: number;
      /** Window width. */
      readonly width: number;
      /** VOI LUT function; LINEAR when omitted. */
      readonly function?: VoiLutFunction;
    }
  | {
      /** 0-based index into {@link DicomMetadata.windows}. */
      readonly fileWindow: number;
    }
  | {
      /** 0-based index into {@link DicomMetadata.voiLuts}. */
      readonly fileVoiLut: number;
    };

/** A resolved VOI transform: a window or a lookup table. */
export type VoiTransform =
  | {
      /** A window with its function. */
      readonly kind: 'window';
      /** The window. */
      readonly window: VoiWindow;
    }
  | {
      /** A lookup table (VOI LUT Sequence item). */
      readonly kind: 'lut';
      /** The table. */
      readonly lut: LookupTable;
    };

/**
 * Maps one modality value through a window to `[0, 1]` by the VOI LUT functions of PS3.3 C.11.2.1.2–3:
 * LINEAR (centre − 0.5, width − 1: the DICOM convention), LINEAR_EXACT (centre and width as given) and SIGMOID.
 *
 * @param x - modality value (e.g. HU)
 * @param w - the window
 * @returns display value in `[0, 1]`
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a width the function does not allow (LINEAR needs
 *   ≥ 1, the others > 0)
 * @example
 * ```ts
 * import { voiWindowValue } from '@lepton/medical';
 * console.log(voiWindowValue(40, { center: 40, width: 400, function: 'LINEAR_EXACT' })); // 0.5
 * ```
 */
export function voiWindowValue(x: number, w: Pick<VoiWindow, 'center' | 'width' | 'function'>): number {
  const { center: c, width } = w;
  switch (w.function) {
    case 'LINEAR_EXACT': {
      if (typeof width !== 'number' || !(width > 0)) throw badWidth(w);
      if (x <= c - width / 2) return 0;
      if (x > c + width / 2) return 1;
      return (x - c) / width + 0.5;
    }
    case 'SIGMOID':
      if (typeof width !== 'number' || !(width > 0)) throw badWidth(w);
      return 1 / (1 + Math.exp((-4 * (x - c)) / width));
    default: {
      if (typeof width !== 'number' || !(width >= 1)) throw badWidth(w);
      if (x <= c - 0.5 - (width - 1) / 2) return 0;
      if (x > c - 0.5 + (width - 1) / 2) return 1;
      return width === 1 ? 1 : (x - (c - 0.5)) / (width - 1) + 0.5;
    }
  }
}

const badWidth = (w: Pick<VoiWindow, 'width' | 'function'>): LeptonError =>
  new LeptonError('INVALID_ARGUMENT', `Window width ${describeValue(w.width)} is not allowed for ${typeof w.function === 'string' ? w.function.slice(0, 40) : describeValue(w.function)} (LINEAR needs ≥ 1, others > 0).`);

/**
 * Resolves a {@link VoiChoice} against an image's metadata and modality values.
 *
 * @param meta - the image's metadata (for file windows and VOI LUTs)
 * @param modalityValues - the frame's modality values (used by `'minmax'`)
 * @param choice - what to apply; see {@link VoiChoice} for the default
 * @returns the transform
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for an unknown preset or a file window/LUT index the file lacks
 */
export function resolveVoi(meta: DicomMetadata, modalityValues: ArrayLike<number>, choice?: VoiChoice): VoiTransform {
  if (choice === undefined) {
    if (meta.windows[0] !== undefined) return { kind: 'window', window: meta.windows[0] };
    if (meta.voiLuts[0] !== undefined) return { kind: 'lut', lut: meta.voiLuts[0] };
    return resolveVoi(meta, modalityValues, 'minmax');
  }
  if (choice === 'minmax') {
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < modalityValues.length; i++) {
      const v = modalityValues[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    if (!Number.isFinite(min)) min = max = 0;
    return { kind: 'window', window: { center: (min + max) / 2, width: Math.max(max - min, 1), function: 'LINEAR_EXACT', explanation: 'minmax' } };
  }
  if (typeof choice === 'string') return { kind: 'window', window: windowPreset(choice) };
  if ('fileWindow' in choice) {
    // Only a number indexes: an object from JavaScript whose toString is not a function would throw as a key.
    const w = typeof choice.fileWindow === 'number' ? meta.windows[choice.fileWindow] : undefined;
    if (w === undefined) {
      throw new LeptonError('INVALID_ARGUMENT', `The file has ${meta.windows.length} window(s); there is no window ${describeValue(choice.fileWindow)}.`);
    }
    return { kind: 'window', window: w };
  }
  if ('fileVoiLut' in choice) {
    const lut = typeof choice.fileVoiLut === 'number' ? meta.voiLuts[choice.fileVoiLut] : undefined;
    if (lut === undefined) {
      throw new LeptonError('INVALID_ARGUMENT', `The file has ${meta.voiLuts.length} VOI LUT(s); there is no VOI LUT ${describeValue(choice.fileVoiLut)}.`);
    }
    return { kind: 'lut', lut };
  }
  return { kind: 'window', window: { center: choice.center, width: choice.width, function: choice.function ?? 'LINEAR' } };
}

/**
 * Applies a VOI transform to modality values, giving display values in `[0, 1]` (a VOI LUT's output is divided by
 * `2^bits − 1`). `invert` flips the result, as MONOCHROME1 needs.
 *
 * @param values - modality values (see {@link applyModalityLut})
 * @param voi - the transform (see {@link resolveVoi})
 * @param invert - return `1 − y` (for MONOCHROME1)
 * @returns one display value per input
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a width the window function does not allow
 * @example
 * ```ts
 * import { applyVoi, WINDOW_PRESETS } from '@lepton/medical';
 * const y = applyVoi([-1400, -600, 400], { kind: 'window', window: WINDOW_PRESETS.lung });
 * console.log(y[0], y[2]); // 0 1
 * ```
 */
export function applyVoi(values: ArrayLike<number>, voi: VoiTransform, invert = false): Float32Array {
  const out = new Float32Array(values.length);
  if (voi.kind === 'lut') {
    const scale = 1 / (2 ** voi.lut.bits - 1);
    for (let i = 0; i < values.length; i++) out[i] = Math.min(1, lookup(voi.lut, values[i]!) * scale);
  } else {
    voiWindowValue(0, voi.window); // validates the width once, not per pixel
    for (let i = 0; i < values.length; i++) out[i] = voiWindowValue(values[i]!, voi.window);
  }
  if (invert) for (let i = 0; i < out.length; i++) out[i] = 1 - out[i]!;
  return out;
}

/** Options for {@link renderFrame}. */
export interface RenderOptions {
  /** The VOI transform; see {@link VoiChoice} for the default. */
  readonly voi?: VoiChoice;
}

/**
 * Renders a frame to 8-bit display values: modality LUT, then VOI (window or VOI LUT), then MONOCHROME1 inversion,
 * then `floor(y × 255)`. Truncating (rather than rounding) is dcmtk's convention, so renders match `dcm2pnm`
 * output value for value. Colour frames are scaled from their bit depth to 8 bits.
 *
 * @param frame - from {@link DicomImage.decodeFrame}
 * @param meta - the image's metadata
 * @param options - which VOI to apply
 * @returns `rows × columns` bytes for greyscale, `rows × columns × 3` (RGB) for colour
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for an unknown preset, missing file window or bad width
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { readDicom, renderFrame } from '@lepton/medical';
 * const image = readDicom(readFileSync('packages/medical/test/fixtures/dicom/ct_s16.dcm'));
 * const lung = renderFrame(await image.decodeFrame(0), image.meta, { voi: 'lung' });
 * console.log(lung.length); // 3072 (48 × 64)
 * ```
 */
export function renderFrame(frame: DecodedFrame, meta: DicomMetadata, options: RenderOptions = {}): Uint8Array {
  if (frame.samplesPerPixel === 3) {
    const out = new Uint8Array(frame.pixels.length);
    const scale = 255 / (2 ** frame.bitsStored - 1);
    for (let i = 0; i < out.length; i++) out[i] = Math.round(frame.pixels[i]! * scale);
    return out;
  }
  const values = applyModalityLut(frame, meta);
  const y = applyVoi(values, resolveVoi(meta, values, options.voi), frame.photometricInterpretation === 'MONOCHROME1');
  const out = new Uint8Array(y.length);
  // y is float32: the epsilon keeps an exact 255 × 1.0 from becoming 254.99998 and truncating to 254.
  for (let i = 0; i < y.length; i++) out[i] = Math.floor(y[i]! * 255 + 1e-4);
  return out;
}
