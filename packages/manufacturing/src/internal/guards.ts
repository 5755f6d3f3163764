import { LeptonError } from '@lepton/core';

/**
 * Cheap run-time guards for the package's public functions. TypeScript types do not reach JavaScript callers or data
 * parsed from a file, so every public function that takes numbers checks them here before computing anything: a NaN or
 * an Infinity that got in would come back out as a wrong number (NaN limits, a filter that never signals again).
 *
 * Messages name the field and say what kind of value it held (NaN, a string …), never the value itself: telemetry can
 * be confidential, and messages end up in logs.
 */

/** What kind of value `v` is, without echoing it. */
export function kindOf(v: unknown): string {
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : 'a number out of range';
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/**
 * A broker URL as it may be shown in a message or a log: scheme, host, port and path, never the credentials (nor the
 * query or fragment) that the URL can carry.
 *
 * @param url - the URL, parsed or as given
 * @returns e.g. `mqtt://127.0.0.1:1883`, or `the broker` for text that is not a URL
 */
export function shownUrl(url: string | URL): string {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return 'the broker';
  }
  return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
}

/**
 * The error for one bad input field: `INVALID_INPUT` (data) or `INVALID_ARGUMENT` (an option), with `details.field`.
 *
 * @param fn - the public function, e.g. `xbarR`
 * @param field - path of the bad field, e.g. `subgroups[3][1]`
 * @param what - what it must be, e.g. `a finite number`
 * @param got - the bad value (only its kind goes into the message)
 * @param code - error code
 */
export function invalid(fn: string, field: string, what: string, got: unknown, code: 'INVALID_INPUT' | 'INVALID_ARGUMENT' = 'INVALID_INPUT'): LeptonError {
  return new LeptonError(code, `${fn}: ${field} must be ${what}, got ${kindOf(got)}. Repair or drop it before calling ${fn}.`, { details: { field } });
}

/** Throws `INVALID_INPUT` unless `v` is a finite number. */
export function finite(fn: string, field: string, v: unknown, code: 'INVALID_INPUT' | 'INVALID_ARGUMENT' = 'INVALID_INPUT'): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(fn, field, 'a finite number', v, code);
  return v;
}

/** Throws unless `v` is a finite number ≥ `min` (or > `min` when `strict`). */
export function atLeast(fn: string, field: string, v: unknown, min: number, strict = false, code: 'INVALID_INPUT' | 'INVALID_ARGUMENT' = 'INVALID_ARGUMENT'): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || (strict ? !(v > min) : !(v >= min))) throw invalid(fn, field, `a finite number ${strict ? '>' : '≥'} ${min}`, v, code);
  return v;
}

/** Throws unless `v` is an integer in [min, max]. */
export function integer(fn: string, field: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER, code: 'INVALID_INPUT' | 'INVALID_ARGUMENT' = 'INVALID_ARGUMENT'): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalid(fn, field, max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`, v, code);
  }
  return v;
}

/** Throws `INVALID_INPUT` unless `values` is an array (or typed array) of finite numbers; returns it. */
export function finiteArray(fn: string, field: string, values: unknown, minLength = 0): ArrayLike<number> {
  if (!Array.isArray(values) && !(ArrayBuffer.isView(values) && !(values instanceof DataView))) throw invalid(fn, field, 'an array of numbers', values);
  const a = values as ArrayLike<unknown>;
  if (a.length < minLength) throw new LeptonError('INVALID_INPUT', `${fn}: ${field} needs at least ${minLength} values, got ${a.length}.`, { details: { field } });
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(fn, `${field}[${i}]`, 'a finite number', v);
  }
  return a as ArrayLike<number>;
}

/** Throws `INVALID_INPUT` unless `values` is an array of integers ≥ `min` (counts). */
export function countArray(fn: string, field: string, values: unknown, min = 0, minLength = 1): number[] {
  if (!Array.isArray(values)) throw invalid(fn, field, 'an array of counts', values);
  if (values.length < minLength) throw new LeptonError('INVALID_INPUT', `${fn}: ${field} needs at least ${minLength} values, got ${values.length}.`, { details: { field } });
  values.forEach((v: unknown, i) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw invalid(fn, `${field}[${i}]`, min > 0 ? 'a positive integer' : 'a non-negative integer', v);
  });
  return values as number[];
}

/**
 * Throws `MFG_NON_FINITE_RESULT` unless every number is finite: inputs that are each finite can still overflow
 * (sums of values near 1.8e308) or divide by zero (no spread), and such a result must not leave the API as a number.
 */
export function finiteResult(fn: string, what: string, ...values: number[]): void {
  for (const v of values) {
    if (!Number.isFinite(v)) {
      throw new LeptonError('MFG_NON_FINITE_RESULT', `${fn}: ${what} is not a finite number for this input (values too large or too close together); rescale the data or check it.`, { details: { result: what } });
    }
  }
}

/** Spreads at or below this many ε (machine epsilon) of the data's scale are rounding noise, not variation. */
export const NO_SPREAD_EPS = 64 * Number.EPSILON;

/**
 * The largest magnitude among `values` (the data's scale, for {@link noSpread}).
 *
 * @param values - finite numbers
 */
export function scaleOf(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]!));
  return m;
}

/**
 * Throws `MFG_NON_FINITE_RESULT` when a spread (σ, R̄, MR̄ …) is zero or only the rounding noise of data of magnitude
 * `scale` (σ ≤ 64·ε·scale): constant data would give infinite (or 1e15) indices, or zero-width limits that every later
 * point breaks. Constant data cannot be charted; it is usually a stuck sensor.
 */
export function noSpread(fn: string, what: string, spread: number, scale: number): void {
  if (!(spread > NO_SPREAD_EPS * scale) || spread === 0) {
    throw new LeptonError(
      'MFG_NON_FINITE_RESULT',
      `${fn}: ${what} is zero, or only rounding noise of the data's scale (the data is constant): limits or indices would be meaningless. Check the sensor (stuck?) or chart data that varies.`,
      { details: { result: what } },
    );
  }
}

/** Throws `INVALID_ARGUMENT` unless `v` is an options object (not null, an array or a primitive); returns it. */
export function optionsObject<T extends object>(fn: string, field: string, v: T | undefined): T {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(fn, field, 'an object', v, 'INVALID_ARGUMENT');
  return v;
}

/**
 * Calls `f` for every index of `values`, holes included (as `undefined`). Validation loops use it instead of
 * `forEach`, which skips the holes of a sparse array (`[a, , b]`): a missing row would pass every check and then be
 * read as `undefined` (a raw TypeError) or as zeros (a result for data that does not exist).
 */
export function each<T>(values: ArrayLike<T>, f: (value: T, index: number) => void): void {
  for (let i = 0; i < values.length; i++) f(values[i] as T, i);
}

/**
 * Reads `keys` of an options object once, each inside a try/catch: a getter that throws (or a revoked proxy) becomes
 * `INVALID_ARGUMENT` (or `code`) naming the field, never a raw `TypeError`. Validation then works on the copy, so a getter
 * is never read twice (it could answer differently the second time).
 *
 * @param fn - the public function, e.g. `OpcUaSource.start`
 * @param field - path of the object, e.g. `options` or `options.nodes[3]`
 * @param o - the object (already checked to be a non-null object)
 * @param keys - the fields to read
 * @param code - error code
 * @returns a plain copy holding the values read
 */
export function readFields<K extends string>(fn: string, field: string, o: object, keys: readonly K[], code: 'INVALID_INPUT' | 'INVALID_ARGUMENT' = 'INVALID_ARGUMENT'): Partial<Record<K, unknown>> {
  const out: Partial<Record<K, unknown>> = {};
  for (const k of keys) {
    try {
      out[k] = (o as Record<string, unknown>)[k];
    } catch {
      throw new LeptonError(code, `${fn}: ${field}.${k} could not be read (its getter threw). Pass plain data.`, { details: { field: `${field}.${k}` } });
    }
  }
  return out;
}
