/**
 * Run-time checks of the training options and data of the diagnosis models: TypeScript types do not reach JavaScript
 * callers or options read from JSON, so a Symbol, a BigInt, NaN or a '5' string must stop here with a typed error, not
 * as a TypeError deep in training or, worse, as a model trained on a coerced value.
 *
 * @module
 */
import { describeValue, LeptonError } from '@lepton/core';
import { DicomImage } from '../dicom/image.js';

const invalid = (option: string, message: string): LeptonError => new LeptonError('INVALID_ARGUMENT', message, { details: { option } });

/** @internal An options object (or `undefined` for the defaults), never null, a primitive or an array. */
export function checkOptionsObject<T>(options: T | undefined, where: string): T | undefined {
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    throw new LeptonError('INVALID_ARGUMENT', `${where}: options must be an object, got ${describeValue(options)}.`);
  }
  return options;
}

/** @internal A string option (a bundle name or version), or its default when absent. */
export function stringOption(value: unknown, option: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0 || value.length > 200) throw invalid(option, `${option} must be a non-empty string of at most 200 characters, got ${describeValue(value)}.`);
  return value;
}

/** @internal A boolean option, or its default when absent. */
export function booleanOption(value: unknown, option: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalid(option, `${option} must be true or false, got ${describeValue(value)}.`);
  return value;
}

/** @internal A finite number in [min, max] (`max` excluded when `maxOpen`), or its default when absent. */
export function numberOption(value: unknown, option: string, fallback: number, min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY, maxOpen = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || (maxOpen ? value >= max : value > max)) {
    const range = Number.isFinite(min) || Number.isFinite(max) ? ` in [${min}, ${max}${maxOpen ? ')' : ']'}` : '';
    throw invalid(option, `${option} must be a finite number${range}, got ${describeValue(value)}.`);
  }
  return value;
}

/** @internal An integer in [min, max], or its default when absent. */
export function integerOption(value: unknown, option: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw invalid(option, `${option} must be an integer from ${min} to ${max}, got ${describeValue(value)}.`);
  return value;
}

/** @internal The filters per stage of a CNN: a non-empty array of integers from 1 to 1024. */
export function filtersOption(value: unknown, fallback: number[]): number[] {
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || value.length === 0 || value.length > 16 || !value.every((f) => typeof f === 'number' && Number.isInteger(f) && f >= 1 && f <= 1024)) {
    throw invalid('filters', `filters must be 1 to 16 integers from 1 to 1024 (filters per stage), got ${describeValue(value)}.`);
  }
  return [...(value as number[])];
}

/** @internal Class names: at least two distinct non-empty strings (they key the model's answers and its bundle). */
export function labelsOption(value: unknown): string[] {
  if (!Array.isArray(value) || value.length < 2) throw invalid('labels', `A diagnosis model needs at least two labels (an array of strings), got ${describeValue(value)}.`);
  const labels = [...(value as unknown[])];
  labels.forEach((l, i) => {
    if (typeof l !== 'string' || l.length === 0) throw invalid('labels', `labels[${i}] must be a non-empty string, got ${describeValue(l)}.`);
  });
  if (new Set(labels).size !== labels.length) throw invalid('labels', 'labels must be distinct.');
  return labels as string[];
}

/** @internal A list argument (images, samples): an array, checked before any of its items is read. */
export function arrayInput<T>(value: readonly T[], what: string): readonly T[] {
  if (!Array.isArray(value)) throw new LeptonError('INVALID_INPUT', `${what} must be an array, got ${describeValue(value)}.`);
  return value;
}

/** @internal An image argument: a `DicomImage` (from `readDicom`, `readDicomFile` …); `INVALID_ARGUMENT` as in preprocessing. */
export function imageInput(value: unknown, what: string): DicomImage {
  if (!(value instanceof DicomImage)) throw new LeptonError('INVALID_ARGUMENT', `${what} must be a DicomImage (from readDicom or readDicomFile), got ${describeValue(value)}.`);
  return value;
}

/** @internal One record of a training set: an object with a `DicomImage` as `image`. */
export function recordInput(value: unknown, what: string): Record<string, unknown> & { image: DicomImage } {
  if (typeof value !== 'object' || value === null) throw new LeptonError('INVALID_INPUT', `${what} must be an object with an image, got ${describeValue(value)}.`);
  imageInput((value as { image?: unknown }).image, `${what}.image`);
  return value as Record<string, unknown> & { image: DicomImage };
}

/**
 * `{ source }` for an error's details, or `{}`: a file path may hold a patient's name, so it goes in details (which
 * callers are told not to log), never in the message.
 * @internal
 */
export function sourceDetails(image: { readonly source?: string | undefined }): { source?: string } {
  return image.source === undefined ? {} : { source: image.source };
}
