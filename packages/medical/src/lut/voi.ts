import { describeValue, LeptonError } from '@lepton/core';
import type { DicomMetadata, VoiLutFunction, VoiWindow } from '../dicom/types.js';
import type { DecodedFrame } from '../pixels/frame.js';
import { applyModalityLut, checkFrame } from './modality.js';
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
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a width the function does not allow (finite; LINEAR
 *   needs ≥ 1, the others > 0), a centre that is not a finite number, an unknown function, or an `x` that is not a
 *   number (NaN included)
 * @example
 * ```ts
 * import { voiWindowValue } from '@lepton/medical';
 * console.log(voiWindowValue(40, { center: 40, width: 400, function: 'LINEAR_EXACT' })); // 0.5
 * ```
 */
export function voiWindowValue(x: number, w: Pick<VoiWindow, 'center' | 'width' | 'function'>): number {
  if (typeof x !== 'number' || Number.isNaN(x)) throw new LeptonError('INVALID_ARGUMENT', `voiWindowValue: the value must be a number, got ${describeValue(x)}.`);
  checkWindow(w);
  return windowValue(x, w);
}

/** One value through a window already checked by {@link checkWindow} (the per-pixel path: no checks). */
function windowValue(x: number, w: Pick<VoiWindow, 'center' | 'width' | 'function'>): number {
  const { center: c, width } = w;
  switch (w.function) {
    case 'LINEAR_EXACT': {
      if (x <= c - width / 2) return 0;
      if (x > c + width / 2) return 1;
      return (x - c) / width + 0.5;
    }
    case 'SIGMOID':
      return 1 / (1 + Math.exp((-4 * (x - c)) / width));
    default: {
      if (x <= c - 0.5 - (width - 1) / 2) return 0;
      if (x > c - 0.5 + (width - 1) / 2) return 1;
      return width === 1 ? 1 : (x - (c - 0.5)) / (width - 1) + 0.5;
    }
  }
}

const VOI_FUNCTIONS: readonly unknown[] = ['LINEAR', 'LINEAR_EXACT', 'SIGMOID'];

/**
 * Checks a window from a JavaScript caller: an object with a finite centre, a finite width the function allows and a
 * known function (absent reads as LINEAR, as {@link resolveVoi} fills it). A NaN centre or an infinite width would make
 * every display value NaN.
 */
function checkWindow(w: unknown): asserts w is Pick<VoiWindow, 'center' | 'width' | 'function'> {
  if (typeof w !== 'object' || w === null) throw new LeptonError('INVALID_ARGUMENT', `A window must be an object { center, width, function? }, got ${describeValue(w)}.`);
  const { center, width, function: fn } = w as Record<string, unknown>;
  if (fn !== undefined && !VOI_FUNCTIONS.includes(fn)) {
    throw new LeptonError('INVALID_ARGUMENT', `Unknown VOI LUT function ${describeValue(fn)}: use LINEAR, LINEAR_EXACT or SIGMOID.`);
  }
  const exact = fn === 'LINEAR_EXACT' || fn === 'SIGMOID';
  if (typeof width !== 'number' || !Number.isFinite(width) || !(exact ? width > 0 : width >= 1)) throw badWidth({ width, function: fn });
  if (typeof center !== 'number' || !Number.isFinite(center)) throw new LeptonError('INVALID_ARGUMENT', `Window centre must be a finite number, got ${describeValue(center)}.`);
}

const badWidth = (w: { width: unknown; function: unknown }): LeptonError =>
  new LeptonError('INVALID_ARGUMENT', `Window width ${describeValue(w.width)} is not allowed for ${typeof w.function === 'string' ? w.function.slice(0, 40) : w.function === undefined ? 'LINEAR' : describeValue(w.function)} (a finite number: LINEAR needs ≥ 1, others > 0).`);

/**
 * Resolves a {@link VoiChoice} against an image's metadata and modality values.
 *
 * @param meta - the image's metadata (for file windows and VOI LUTs)
 * @param modalityValues - the frame's modality values (used by `'minmax'`)
 * @param choice - what to apply; see {@link VoiChoice} for the default
 * @returns the transform
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for an unknown preset, a file window/LUT index the file
 *   lacks, a choice of another type, an explicit window that {@link voiWindowValue} refuses, metadata without
 *   `windows`/`voiLuts`, or (`'minmax'`) values that are not array-like. `'minmax'` spans the finite values only.
 */
export function resolveVoi(meta: DicomMetadata, modalityValues: ArrayLike<number>, choice?: VoiChoice): VoiTransform {
  checkMeta(meta);
  if (choice === undefined) {
    if (meta.windows[0] !== undefined) return { kind: 'window', window: meta.windows[0] };
    if (meta.voiLuts[0] !== undefined) return { kind: 'lut', lut: meta.voiLuts[0] };
    return resolveVoi(meta, modalityValues, 'minmax');
  }
  if (choice === 'minmax') {
    checkValues(modalityValues);
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < modalityValues.length; i++) {
      const v: unknown = modalityValues[i];
      // only finite numbers span the window: an infinite value would make its centre and width infinite, and comparing
      // a Symbol or an object whose valueOf throws would throw
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    if (!Number.isFinite(min)) min = max = 0;
    return { kind: 'window', window: { center: (min + max) / 2, width: Math.max(max - min, 1), function: 'LINEAR_EXACT', explanation: 'minmax' } };
  }
  if (typeof choice === 'string') return { kind: 'window', window: windowPreset(choice) };
  if (typeof choice !== 'object' || choice === null) {
    throw new LeptonError('INVALID_ARGUMENT', `VOI choice ${describeValue(choice)} is not one: use a preset name, 'minmax', { center, width, function? }, { fileWindow } or { fileVoiLut }.`);
  }
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
  const window = { center: choice.center, width: choice.width, function: choice.function ?? 'LINEAR' };
  checkWindow(window);
  return { kind: 'window', window };
}

/** Metadata from a JavaScript caller: what {@link resolveVoi} reads must be there (a DicomImage's `meta` always is). */
function checkMeta(meta: unknown): asserts meta is DicomMetadata {
  if (typeof meta !== 'object' || meta === null || !Array.isArray((meta as DicomMetadata).windows) || !Array.isArray((meta as DicomMetadata).voiLuts)) {
    throw new LeptonError('INVALID_ARGUMENT', `Expected an image's metadata (DicomImage.meta, with windows and voiLuts), got ${describeValue(meta)}.`);
  }
}

/** Values from a JavaScript caller must be array-like (an array or a typed array). */
function checkValues(values: unknown): asserts values is ArrayLike<unknown> {
  const length: unknown = typeof values === 'object' && values !== null ? (values as ArrayLike<unknown>).length : undefined;
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
    throw new LeptonError('INVALID_ARGUMENT', `Expected modality values as an array or typed array, got ${describeValue(values)}.`);
  }
}

/**
 * Applies a VOI transform to modality values, giving display values in `[0, 1]` (a VOI LUT's output is divided by
 * `2^bits − 1`). `invert` flips the result, as MONOCHROME1 needs.
 *
 * @param values - modality values (see {@link applyModalityLut})
 * @param voi - the transform (see {@link resolveVoi})
 * @param invert - return `1 − y` (for MONOCHROME1)
 * @returns one display value per input
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a window {@link voiWindowValue} refuses, a
 *   transform or lookup table of another shape, values that are not array-like or an `invert` that is not a boolean;
 *   `INVALID_INPUT` (with `details.index`) for a value that is not a number or is NaN
 * @example
 * ```ts
 * import { applyVoi, WINDOW_PRESETS } from '@lepton/medical';
 * const y = applyVoi([-1400, -600, 400], { kind: 'window', window: WINDOW_PRESETS.lung });
 * console.log(y[0], y[2]); // 0 1
 * ```
 */
export function applyVoi(values: ArrayLike<number>, voi: VoiTransform, invert = false): Float32Array {
  checkValues(values);
  if (typeof invert !== 'boolean') throw new LeptonError('INVALID_ARGUMENT', `applyVoi: invert must be true or false, got ${describeValue(invert)}.`);
  const kind: unknown = typeof voi === 'object' && voi !== null ? voi.kind : undefined;
  if (kind === 'lut') {
    const lut: unknown = voi.kind === 'lut' ? voi.lut : undefined;
    const bits: unknown = typeof lut === 'object' && lut !== null ? (lut as LookupTable).bits : undefined;
    if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < 1 || bits > 16 || !((lut as LookupTable).data instanceof Uint16Array) || !Number.isFinite((lut as LookupTable).firstMapped)) {
      throw new LeptonError('INVALID_ARGUMENT', 'applyVoi: the lookup table needs bits from 1 to 16, a Uint16Array of data and a finite firstMapped (use one from DicomImage.meta.voiLuts).');
    }
  } else if (kind === 'window') {
    checkWindow((voi as { window: unknown }).window); // once, not per pixel
  } else {
    throw new LeptonError('INVALID_ARGUMENT', `applyVoi: expected a VOI transform { kind: 'window' | 'lut', … } (see resolveVoi), got ${describeValue(voi)}.`);
  }
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    // NaN (or a value of another type, which would be coerced or throw) would leave as a NaN display value
    const v: unknown = values[i];
    if (typeof v !== 'number' || Number.isNaN(v)) throw new LeptonError('INVALID_INPUT', `applyVoi: value ${i} is ${describeValue(v)}, not a number.`, { details: { index: i } });
  }
  if (voi.kind === 'lut') {
    const scale = 1 / (2 ** voi.lut.bits - 1);
    for (let i = 0; i < values.length; i++) out[i] = Math.min(1, lookup(voi.lut, values[i]!) * scale);
  } else {
    for (let i = 0; i < values.length; i++) out[i] = windowValue(values[i]!, voi.window);
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
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for an unknown preset, missing file window or bad width,
 *   or a frame, metadata or options of another shape
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
  if (typeof options !== 'object' || options === null) throw new LeptonError('INVALID_ARGUMENT', `renderFrame: options must be an object, got ${describeValue(options)}.`);
  checkFrame(frame);
  checkMeta(meta);
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
