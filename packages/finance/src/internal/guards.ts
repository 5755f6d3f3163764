/**
 * Cheap run-time guards for the package's public entry points: TypeScript types do not reach JavaScript callers, JSON
 * from a queue or a CSV from another system, so every function that takes numbers checks them here. Messages name the
 * argument and the index, never the value (no card or customer data in errors).
 *
 * @internal
 * @module
 */
import { describeValue, LeptonError, type LeptonErrorCode } from '@lepton/core';

/**
 * The one decimal grammar for numbers that arrive as text (CSV cells, JSON strings): an optional sign, 1–15 digits,
 * optionally a point and 1–24 digits (enough for any coordinate JavaScript writes without an exponent, such as
 * `48.838317600477005`). No exponent (`1e3`), no hexadecimal (`0x10`), no `Infinity`, no thousands separators, no
 * leading point (`.5`). `Number('0x10')` is 16 and `Number('1e3')` is 1000: never let either happen to an amount.
 */
export const DECIMAL = /^[+-]?\d{1,15}(?:\.\d{1,24})?$/;

/** Whether `v` is a number and finite (no NaN, no ±Infinity, no numeric strings). */
export function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/**
 * A finite number from a number or a string in the {@link DECIMAL} grammar (surrounding spaces allowed).
 *
 * @returns the number, or undefined for anything else
 */
export function parseDecimal(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  return DECIMAL.test(s) ? Number(s) : undefined;
}

/** Whether `v` is an array or a typed array (what `ArrayLike<number>` means here). */
export function isArrayLike(v: unknown): v is ArrayLike<unknown> {
  return Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
}

/**
 * Throws unless `values` is an array (or typed array) of finite numbers.
 *
 * @param values - the argument
 * @param what - its name in messages, e.g. `historicalVaR: returns`
 * @param code - error code (default `INVALID_INPUT`)
 * @returns `values`, typed
 */
export function finiteArray(values: unknown, what: string, code: LeptonErrorCode = 'INVALID_INPUT'): ArrayLike<number> {
  if (!isArrayLike(values)) throw new LeptonError(code, `${what} must be an array of numbers.`);
  for (let i = 0; i < values.length; i++) {
    if (!isFiniteNumber(values[i])) {
      throw new LeptonError(code, `${what}[${i}] is not a finite number; remove or repair it (NaN, Infinity and strings are refused).`, { details: { index: i } });
    }
  }
  return values as ArrayLike<number>;
}

/**
 * Throws unless `labels` is an array of 0/1 labels.
 *
 * @param labels - the argument
 * @param what - its name in messages
 * @returns `labels`, typed
 */
export function binaryLabels(labels: unknown, what: string): ArrayLike<number> {
  if (!isArrayLike(labels)) throw new LeptonError('INVALID_INPUT', `${what} must be an array of 0/1 labels.`);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) throw new LeptonError('INVALID_INPUT', `${what}[${i}] must be 0 or 1.`, { details: { index: i } });
  }
  return labels as ArrayLike<number>;
}

/**
 * Throws unless `rows` is an array of rows (arrays or typed arrays) of `width` finite numbers each.
 *
 * @param rows - the argument
 * @param what - its name in messages
 * @param width - required row length; undefined: the first row's length, which must be positive
 * @param names - column names for messages (else the column index)
 * @returns the width
 */
export function finiteRows(rows: unknown, what: string, width?: number, names?: readonly string[]): number {
  if (!Array.isArray(rows)) throw new LeptonError('INVALID_INPUT', `${what} must be an array of rows.`);
  const d = width ?? (isArrayLike(rows[0]) ? rows[0].length : 0);
  for (let i = 0; i < rows.length; i++) {
    const r: unknown = rows[i];
    if (!isArrayLike(r)) throw new LeptonError('INVALID_INPUT', `${what}: row ${i} is not an array of numbers.`, { details: { row: i } });
    if (r.length !== d) throw new LeptonError('INVALID_INPUT', `${what}: row ${i} has ${r.length} values; expected ${d}.`, { details: { row: i } });
    for (let j = 0; j < d; j++) {
      if (!isFiniteNumber(r[j])) {
        const feature = names?.[j];
        const where = feature === undefined ? `column ${j}` : `'${feature}'`;
        throw new LeptonError('INVALID_INPUT', `${what}: row ${i} has no finite value for ${where}; repair or drop the row.`, {
          details: feature === undefined ? { row: i, column: j } : { row: i, feature, column: j },
        });
      }
    }
  }
  return d;
}

/**
 * Throws `INVALID_ARGUMENT` unless `v` is a finite number in `[min, max]` (and an integer when asked).
 *
 * @param v - the option's value
 * @param what - its name in messages
 * @param range - bounds (inclusive) and whether it must be an integer
 * @returns `v`, typed
 */
export function numberOption(v: unknown, what: string, range: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean } = {}): number {
  const { min = -Infinity, max = Infinity, integer = false, exclusiveMin = false } = range;
  if (!isFiniteNumber(v) || (integer && !Number.isInteger(v)) || v > max || (exclusiveMin ? v <= min : v < min)) {
    const bounds = [min > -Infinity ? `${exclusiveMin ? '>' : '≥'} ${min}` : '', max < Infinity ? `≤ ${max}` : ''].filter(Boolean).join(' and ');
    throw new LeptonError('INVALID_ARGUMENT', `${what} must be a finite ${integer ? 'integer' : 'number'}${bounds ? ` ${bounds}` : ''}.`);
  }
  return v;
}

/**
 * An options argument: `undefined` reads as no options; anything else must be an object. A `null`, a number or a string
 * passed by a JavaScript caller would otherwise throw a `TypeError` on the first option read, or be silently ignored.
 *
 * @param options - the argument
 * @param what - the function's name, for the message
 * @returns the options object (`{}` for undefined)
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for anything else
 */
export function optionsObject<T extends object>(options: T | undefined, what: string): Partial<T> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) throw new LeptonError('INVALID_ARGUMENT', `${what}: options must be an object, got ${describeValue(options)}.`);
  return options;
}

/**
 * An option that takes one of a few strings: `undefined` gives the default, anything else must be one of `allowed`
 * (never a silent fall-back to the default for a misspelt or wrong-typed value).
 *
 * @param v - the option's value
 * @param allowed - the values it may take
 * @param fallback - the default
 * @param what - its name in messages
 * @returns the value
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for anything else
 */
export function choiceOption<T extends string>(v: unknown, allowed: readonly T[], fallback: T, what: string): T {
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new LeptonError('INVALID_ARGUMENT', `${what} must be ${allowed.map((a) => `'${a}'`).join(' or ')}, got ${describeValue(v)}.`);
  }
  return v as T;
}

/**
 * Throws `INVALID_INPUT` unless `records` can be iterated as a collection of records (an array, a Set, a generator …).
 * A string is refused too: it iterates as characters, each of which would be counted as a rejected record.
 *
 * @param records - the argument
 * @param what - the function's name, for the message
 * @returns `records`, typed
 */
export function recordsIterable(records: unknown, what: string): Iterable<unknown> {
  if (typeof records !== 'object' || records === null || typeof (records as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== 'function') {
    // The kind only, never the value: a record passed where the collection belongs may be a card number.
    throw new LeptonError('INVALID_INPUT', `${what} needs an array (or another iterable) of records, got ${records === null ? 'null' : typeof records === 'object' ? 'an object' : `a ${typeof records}`}.`);
  }
  return records as Iterable<unknown>;
}

/**
 * Throws `INVALID_INPUT` when a computed result is not finite: the last line of defence against a NaN or Infinity
 * leaving a public function (overflow of finite but huge inputs, for example).
 *
 * @param v - the result
 * @param what - what it is, for the message
 * @returns `v`
 */
export function finiteResult(v: number, what: string): number {
  if (!Number.isFinite(v)) throw new LeptonError('INVALID_INPUT', `${what} is not finite (the inputs overflow double precision); rescale the inputs.`);
  return v;
}

/**
 * Whether `err` is a {@link LeptonError} whose details carry `key` (how a caller recognises the guard errors above).
 *
 * @param err - a thrown value
 * @param key - a details key, e.g. `column`
 */
export function isLeptonErrorWith(err: unknown, key: string): err is LeptonError {
  return err instanceof LeptonError && typeof err.details[key] === 'number';
}
