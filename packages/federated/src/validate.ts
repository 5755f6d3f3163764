import { describeValue, LeptonError, tf } from '@lepton/core';

/*
 * @internal Checks shared by the public entry points: what a JavaScript caller passes is checked before any work, and a
 * wrong type or range is an `INVALID_ARGUMENT` naming the position (the value described, never converted: `${value}`
 * would run a hostile value's toString). Nothing here is exported from the package.
 */

/**
 * @internal Longest delay Node's timers honour: a longer one (a 30-day round deadline) is silently cut to 1 ms, so a
 * deadline past it would fire at once. Every millisecond option is at most this (about 24.8 days).
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * @internal Most local epochs one round may train (as `@lepton/manufacturing`'s fit): a larger count never finishes.
 */
export const MAX_LOCAL_EPOCHS = 65_536;

/** @internal Throws `INVALID_ARGUMENT` with `message`. */
export function invalid(message: string): never {
  throw new LeptonError('INVALID_ARGUMENT', message);
}

/** @internal A non-null object that is not an array. */
export const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** @internal A Float32Array or Float64Array (the float vectors the package takes). */
export const isFloatArray = (v: unknown): v is Float32Array | Float64Array => v instanceof Float32Array || v instanceof Float64Array;

/** @internal Refuses anything but an options object (or `undefined` when `optional`). */
export function checkObject(v: unknown, what: string, optional = false): void {
  if (optional && v === undefined) return;
  if (!isPlainObject(v)) invalid(`${what} must be an object, got ${describeValue(v)}.`);
}

/** @internal Refuses anything but a Float32Array (or Float64Array) of values. */
export function checkFloats(v: unknown, what: string): void {
  if (!isFloatArray(v)) invalid(`${what} must be a Float32Array, got ${describeValue(v)}.`);
}

/** @internal Refuses anything but a Uint32Array of masked words. */
export function checkWords(v: unknown, what: string): void {
  if (!(v instanceof Uint32Array)) invalid(`${what} must be a Uint32Array of masked words, got ${describeValue(v)}.`);
}

/** @internal `true`, `false` or (when `undefined` is allowed) absent; `'false'` or `1` are refused, never coerced. */
export function checkBoolean(v: unknown, what: string): void {
  if (v !== undefined && typeof v !== 'boolean') invalid(`${what} must be true or false, got ${describeValue(v)}.`);
}

/** @internal A finite number ≥ `min` (or > `min` when `exclusive`), at most `max`. */
export function checkNumber(v: unknown, what: string, min: number, max = Number.MAX_VALUE, exclusive = false): number {
  if (!(typeof v === 'number' && Number.isFinite(v) && (exclusive ? v > min : v >= min) && v <= max)) {
    invalid(`${what} must be a finite number ${exclusive ? '>' : '≥'} ${min}${max < Number.MAX_VALUE ? ` and ≤ ${max}` : ''}, got ${describeValue(v)}.`);
  }
  return v as number;
}

/** @internal A safe integer in [min, max]. */
export function checkInteger(v: unknown, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!(typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max)) {
    invalid(`${what} must be an integer from ${min} to ${max}, got ${describeValue(v)}.`);
  }
  return v as number;
}

/** @internal A function (or absent when `optional`). */
export function checkFunction(v: unknown, what: string, optional = false): void {
  if (optional && v === undefined) return;
  if (typeof v !== 'function') invalid(`${what} must be a function, got ${describeValue(v)}.`);
}

/** @internal A logger: absent, or an object whose info, warn and error are functions. */
export function checkLogger(v: unknown, what: string): void {
  if (v === undefined) return;
  const l = v as Record<string, unknown> | null;
  if (typeof l !== 'object' || l === null || typeof l['info'] !== 'function' || typeof l['warn'] !== 'function' || typeof l['error'] !== 'function') {
    invalid(`${what} must be an object with info, warn and error functions, got ${describeValue(v)}.`);
  }
}

/** @internal Whether `x` looks like a tfjs-layers model (its weights and getWeights are what the package reads). */
export function isModel(x: unknown): x is tf.LayersModel {
  return typeof x === 'object' && x !== null && typeof (x as { getWeights?: unknown }).getWeights === 'function' && Array.isArray((x as { weights?: unknown }).weights);
}

/** @internal Refuses anything but a tfjs-layers model. */
export function checkModel(model: unknown, what: string): asserts model is tf.LayersModel {
  if (!isModel(model)) invalid(`${what}: the model must be a tfjs-layers model, got ${describeValue(model)}.`);
}

/** @internal Refuses training data that is not `{x: Tensor | Tensor[], y: Tensor}` (core checks the shapes). */
export function checkData(data: unknown, what: string): void {
  const d = data as { x?: unknown; y?: unknown } | null;
  const tensor = (t: unknown): boolean => t instanceof tf.Tensor;
  if (typeof d !== 'object' || d === null || !tensor(d.y) || !(tensor(d.x) || (Array.isArray(d.x) && d.x.length > 0 && d.x.every(tensor)))) {
    invalid(`${what} must be {x: Tensor (or Tensor[]), y: Tensor}, got ${describeValue(data)}.`);
  }
}

/** @internal Partner ids: letters, digits, `.`, `_`, `-`, at most 64, and never `__proto__` (no record could hold it). */
export const PARTNER_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** @internal Whether `v` is a usable partner id. */
export const isPartnerId = (v: unknown): v is string => typeof v === 'string' && PARTNER_ID.test(v) && v !== '__proto__';

/** @internal Largest finite float32 (2^128 − 2^104): a double above it becomes Infinity in a Float32Array. */
export const FLOAT32_MAX = 3.4028234663852886e38;
