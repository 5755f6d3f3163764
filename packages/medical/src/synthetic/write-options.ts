/**
 * Run-time checks of what `writeCtSeries` and `generateCtDataset` are handed: TypeScript types do not reach JavaScript
 * callers or options read from JSON. Before these checks a Symbol patient ID was a `TypeError`, a NaN or 1.5 series
 * number was written into the files, an unknown `fileNames` or `sex` was taken for the default (or written as is), a
 * `lesionFraction` of 2 or `patients: Infinity` looped for ever, and a `prefix` of `../../x` wrote patients outside the
 * output folder.
 *
 * @internal
 * @module
 */
import { describeValue, LeptonError } from '@lepton/core';
import { MAX_PHANTOM_VOXELS, MAX_SIZE, MAX_SLICES, type CtPhantom } from './phantom.js';

/** Most patients {@link generateCtDataset} writes in one call (each is a folder of DICOM files, and stays in memory). @internal */
export const MAX_PATIENTS = 10_000;

/** Largest seed magnitude of `generateCtDataset`: each patient's phantom uses `seed × 1000 + index`, which must stay exact. @internal */
export const MAX_DATASET_SEED = 2 ** 32;

/**
 * A Patient ID prefix that is also a plain folder name: no path separator, so `<dir>/<prefix>001` stays under `dir`; at
 * most 59 characters, so with up to 5 digits (10,000 patients) the Patient ID stays within DICOM's 64.
 */
const PREFIX = /^[A-Za-z0-9._-]{0,59}$/;

/** A DICOM text value (LO/PN): no backslash (the value separator) and no control character, at most 64 characters. */
const TEXT = /^[^\\\u0000-\u001f\u007f]{1,64}$/;
/** A Short String (SH) such as the Accession Number: at most 16 characters. */
const SHORT_TEXT = /^[^\\\u0000-\u001f\u007f]{1,16}$/;

/** A DICOM date (DA), `YYYYMMDD`. */
const DATE = /^\d{4}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$/;

/** A DICOM UID: numeric components without leading zeros, at most 64 characters. */
const UID = /^(?=.{1,64}$)(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/;

const invalid = (where: string, option: string, message: string): LeptonError =>
  new LeptonError('INVALID_ARGUMENT', `${where}: ${option} ${message}`, { details: { option } });

/** @internal An options object (`undefined` only where `optional`), never null, a primitive or an array. */
export function optionsRecord(options: unknown, where: string, optional: boolean): Record<string, unknown> {
  if (options === undefined && optional) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new LeptonError('INVALID_ARGUMENT', `${where}: options must be an object, got ${describeValue(options)}.`);
  }
  return options as Record<string, unknown>;
}

/** @internal An output folder: a non-empty string (`mkdir` threw its own `TypeError`, or `ENOENT` for ''). */
export function checkDir(dir: unknown, where: string): string {
  if (typeof dir !== 'string' || dir === '') throw invalid(where, 'dir', `must be a non-empty folder path, got ${describeValue(dir)}.`);
  return dir;
}

/** @internal A finite number, or `fallback` when absent. */
export function finiteOption(value: unknown, where: string, option: string, fallback: number, maxMagnitude = Number.MAX_VALUE): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > maxMagnitude) {
    throw invalid(where, option, `must be a finite number${maxMagnitude < Number.MAX_VALUE ? ` of at most ${maxMagnitude} in magnitude` : ''}, got ${describeValue(value)}.`);
  }
  return value;
}

/** @internal An integer in [min, max], or `fallback` when absent. */
export function integerOption(value: unknown, where: string, option: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(where, option, `must be an integer from ${min} to ${max}, got ${describeValue(value)}.`);
  }
  return value;
}

/** @internal One of `allowed`, or `fallback` when absent (an unknown value was taken for the default before). */
export function choiceOption<T extends string>(value: unknown, where: string, option: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) throw invalid(where, option, `must be ${allowed.map((a) => `'${a}'`).join(' or ')}, got ${describeValue(value)}.`);
  return value as T;
}

/**
 * @internal A string option matching `pattern`, or `undefined` when absent. The message does not repeat the value: these
 * are (fictitious, but patient-shaped) identifiers.
 */
function patterned(value: unknown, where: string, option: string, pattern: RegExp, what: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !pattern.test(value)) throw invalid(where, option, `must be ${what}; got ${typeof value === 'string' ? 'another string' : `a value of type ${typeof value}`}.`);
  return value;
}

/** The options of `writeCtSeries`, checked; absent ones stay absent (their defaults depend on the others). @internal */
export interface CheckedWriteOptions {
  /** Output folder. */
  dir: string;
  /** Patient ID. */
  patientId: string;
  /** Patient name. */
  patientName: string | undefined;
  /** Birth date, `YYYYMMDD`. */
  birthDate: string | undefined;
  /** Sex. */
  sex: 'M' | 'F' | 'O';
  /** Study date, `YYYYMMDD`. */
  studyDate: string | undefined;
  /** Accession number. */
  accessionNumber: string | undefined;
  /** Institution name. */
  institution: string | undefined;
  /** Study Instance UID. */
  studyInstanceUid: string | undefined;
  /** Series Instance UID. */
  seriesInstanceUid: string | undefined;
  /** Series number. */
  seriesNumber: number;
  /** File naming. */
  fileNames: 'ordered' | 'shuffled';
  /** Seed of the shuffled names. */
  seed: number;
}

/**
 * Checks every option of `writeCtSeries` before any folder is made.
 *
 * @param options - what the caller passed
 * @returns the options, with the defaults that do not depend on others filled in
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` (with `details.option`) for the first bad option
 * @internal
 */
export function checkWriteOptions(options: unknown): CheckedWriteOptions {
  const where = 'writeCtSeries';
  const o = optionsRecord(options, where, false);
  const text = 'a string of 1 to 64 characters without a backslash or a control character';
  const patientId = patterned(o['patientId'], where, 'patientId', TEXT, text);
  if (patientId === undefined) throw invalid(where, 'patientId', 'is required: a string of 1 to 64 characters.');
  const date = 'a date YYYYMMDD';
  const uid = 'a DICOM UID (digits and dots, at most 64 characters)';
  return {
    dir: checkDir(o['dir'], where),
    patientId,
    patientName: patterned(o['patientName'], where, 'patientName', TEXT, text),
    birthDate: patterned(o['birthDate'], where, 'birthDate', DATE, date),
    sex: choiceOption(o['sex'], where, 'sex', ['M', 'F', 'O'], 'O'),
    studyDate: patterned(o['studyDate'], where, 'studyDate', DATE, date),
    accessionNumber: patterned(o['accessionNumber'], where, 'accessionNumber', SHORT_TEXT, 'a string of 1 to 16 characters (DICOM SH) without a backslash or a control character'),
    institution: patterned(o['institution'], where, 'institution', TEXT, text),
    studyInstanceUid: patterned(o['studyInstanceUid'], where, 'studyInstanceUid', UID, uid),
    seriesInstanceUid: patterned(o['seriesInstanceUid'], where, 'seriesInstanceUid', UID, uid),
    // Integer String (IS) range; NaN, 1.5 and Infinity were written into every file.
    seriesNumber: integerOption(o['seriesNumber'], where, 'seriesNumber', 1, 0, 2 ** 31 - 1),
    fileNames: choiceOption(o['fileNames'], where, 'fileNames', ['ordered', 'shuffled'], 'shuffled'),
    seed: finiteOption(o['seed'], where, 'seed', 1),
  };
}

const finiteTriple = (p: unknown): boolean => Array.isArray(p) && p.length === 3 && p.every((v) => typeof v === 'number' && Number.isFinite(v));

/**
 * Checks that `phantom` is what `ctPhantom` returns, as far as writing needs it: a size within `ctPhantom`'s bounds, one
 * `Float32Array` of size² HU and one finite position per slice, finite positive spacing and thickness. A `size` of 1e6
 * asked for a 4 TB buffer (a `RangeError`), and a phantom without slices a `TypeError`.
 *
 * @param phantom - what the caller passed
 * @returns the phantom, typed
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` naming the first part that is wrong
 * @internal
 */
export function checkPhantom(phantom: unknown): CtPhantom {
  const bad = (why: string): never => {
    throw new LeptonError('INVALID_ARGUMENT', `writeCtSeries needs a phantom from ctPhantom: ${why}.`, { details: { option: 'phantom' } });
  };
  if (typeof phantom !== 'object' || phantom === null) return bad(`got ${describeValue(phantom)}`);
  const { size, hu, positions, pixelSpacing, sliceThickness } = phantom as Partial<Record<keyof CtPhantom, unknown>>;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > MAX_SIZE) bad(`its size must be an integer from 1 to ${MAX_SIZE}`);
  const n = size as number;
  if (!Array.isArray(hu) || hu.length === 0 || hu.length > MAX_SLICES || hu.length * n * n > MAX_PHANTOM_VOXELS) {
    bad(`its hu must be 1 to ${MAX_SLICES} slices, ${MAX_PHANTOM_VOXELS} voxels in all`);
  }
  const slices = hu as unknown[];
  if (!slices.every((s) => s instanceof Float32Array && s.length === n * n)) bad(`each of its hu slices must be a Float32Array of size × size (${n * n}) values`);
  if (!Array.isArray(positions) || positions.length !== slices.length || !positions.every(finiteTriple)) bad('it needs one finite [x, y, z] position per slice');
  const positive = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v > 0;
  if (!Array.isArray(pixelSpacing) || pixelSpacing.length !== 2 || !pixelSpacing.every(positive)) bad('its pixelSpacing must be two finite numbers > 0');
  if (!positive(sliceThickness)) bad('its sliceThickness must be a finite number > 0');
  return phantom as CtPhantom;
}

/** The options of `generateCtDataset`, checked and defaulted. @internal */
export interface CheckedDatasetOptions {
  /** Patients. */
  patients: number;
  /** Share of patients with a nodule. */
  lesionFraction: number;
  /** Slices per patient. */
  slices: number;
  /** Pixels per side. */
  size: number;
  /** Seed. */
  seed: number;
  /** Patient ID prefix. */
  prefix: string;
}

/**
 * Checks and defaults the options of `generateCtDataset` before anything is written, including the total size: every
 * phantom is kept in memory for the result.
 *
 * @param options - what the caller passed (`undefined` for the defaults)
 * @returns the options with defaults
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` (with `details.option`) for the first bad option
 * @internal
 */
export function checkDatasetOptions(options: unknown): CheckedDatasetOptions {
  const where = 'generateCtDataset';
  const o = optionsRecord(options, where, true);
  const patients = integerOption(o['patients'], where, 'patients', 12, 0, MAX_PATIENTS);
  const slices = integerOption(o['slices'], where, 'slices', 12, 1, MAX_SLICES);
  const size = integerOption(o['size'], where, 'size', 64, 16, MAX_SIZE);
  const lesionFraction = finiteOption(o['lesionFraction'], where, 'lesionFraction', 0.5);
  if (lesionFraction < 0 || lesionFraction > 1) throw invalid(where, 'lesionFraction', `must be a share from 0 to 1, got ${describeValue(lesionFraction)}.`);
  const seed = finiteOption(o['seed'], where, 'seed', 1, MAX_DATASET_SEED);
  const prefix = o['prefix'] === undefined ? 'PAT' : o['prefix'];
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    throw invalid(where, 'prefix', `must be at most 59 letters, digits, '.', '_' or '-' (it names each patient's folder under dir), got ${describeValue(prefix)}.`);
  }
  if (patients * slices * size * size > MAX_PHANTOM_VOXELS) {
    throw invalid(where, 'patients', `× slices × size² is ${patients * slices * size * size} voxels, more than the ${MAX_PHANTOM_VOXELS} a dataset may hold in memory; write fewer or smaller patients per call.`);
  }
  return { patients, lesionFraction, slices, size, seed, prefix };
}
