import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';

/** Numbers as plain arrays or typed arrays. */
export type Numeric = ArrayLike<number>;

/**
 * @internal What the values of one argument must be:
 * - `binary`: 0 or 1
 * - `label`: a finite number (a class label)
 * - `class`: an integer (a class label of a confusion matrix: |v| ≤ 2^53 − 1, so a probability or a score is refused)
 * - `finite`: a finite number
 * - `float32`: a number finite in float32 (1e39 is finite, but Infinity in a float32 tensor)
 * - `ordered`: a number that is not NaN (±Infinity sort fine: ranking scores)
 * - `probability`: a number in [0, 1]
 * - `nonnegative`: a finite number ≥ 0 (a weight, or a row of class scores that is normalised before use)
 */
export type ValueRule = 'binary' | 'label' | 'class' | 'finite' | 'float32' | 'ordered' | 'probability' | 'nonnegative';

/** Typed arrays whose elements are numbers (a BigInt64Array's are not). */
function isNumberArray(v: unknown): v is Numeric {
  return ArrayBuffer.isView(v) && !(v instanceof DataView) && !(v instanceof BigInt64Array) && !(v instanceof BigUint64Array);
}

const RULE_TEXT: Record<ValueRule, string> = {
  binary: 'a binary label (0 or 1)',
  label: 'a finite number (a label)',
  class: 'an integer class label (pass class labels, not scores or probabilities)',
  finite: 'a finite number',
  float32: 'a finite float32 number (|v| < 3.4e38)',
  ordered: 'a number (not NaN)',
  probability: 'a probability in [0, 1]',
  nonnegative: 'a finite number ≥ 0',
};

function fits(v: unknown, rule: ValueRule): boolean {
  if (typeof v !== 'number') return false;
  switch (rule) {
    case 'binary':
      return v === 0 || v === 1;
    case 'class':
      return Number.isSafeInteger(v);
    case 'label':
    case 'finite':
      return Number.isFinite(v);
    case 'float32':
      return Number.isFinite(Math.fround(v));
    case 'ordered':
      return !Number.isNaN(v);
    case 'probability':
      return v >= 0 && v <= 1;
    case 'nonnegative':
      return v >= 0 && v < Infinity;
  }
}

/**
 * @internal The number of values of an array-like argument: a plain array, a typed array or an object with a
 * `length`, never a string or a function. Reads `length` once; a getter (or Proxy trap) that throws is `INVALID_INPUT`
 * with its error as `cause`.
 *
 * @throws {@link LeptonError} `INVALID_INPUT` naming `fn` and `name`
 */
export function lengthOf(values: unknown, fn: string, name: string): number {
  const bad = (cause?: unknown): never => {
    throw new LeptonError('INVALID_INPUT', `${fn}: ${name} must be an array of numbers, got ${describeValue(values)}.`, {
      details: { argument: name },
      ...(cause === undefined ? {} : { cause }),
    });
  };
  if (values === null || typeof values !== 'object') bad();
  if (isNumberArray(values)) return values.length;
  let length: unknown;
  try {
    length = (values as { length?: unknown }).length;
  } catch (err) {
    bad(err);
  }
  // No array holds more than 2^32 − 1 values: a larger length is not one.
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0 || length > 2 ** 32 - 1) bad();
  return length as number;
}

/**
 * @internal The values of an array-like argument, each read once and checked against `rule`: a typed array of numbers
 * as it is, anything else copied (so a getter cannot hand the check one value and the computation another).
 *
 * @throws {@link LeptonError} `INVALID_INPUT` for something that is not an array, or the first value that does not
 *   fit (its index in `details.index`; the value is described, never converted)
 */
export function numbers(values: unknown, fn: string, name: string, rule: ValueRule): Numeric {
  const n = lengthOf(values, fn, name);
  const badValue = (i: number, v: unknown): never => {
    throw new LeptonError('INVALID_INPUT', `${fn}: ${name}[${i}] must be ${RULE_TEXT[rule]}, got ${describeValue(v)}.`, { details: { argument: name, index: i } });
  };
  if (isNumberArray(values)) {
    for (let i = 0; i < n; i++) if (!fits(values[i], rule)) badValue(i, values[i]);
    return values;
  }
  const src = values as ArrayLike<unknown>;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let v: unknown;
    try {
      v = src[i];
    } catch (err) {
      throw new LeptonError('INVALID_INPUT', `${fn}: reading ${name}[${i}] threw (see cause).`, { cause: err, details: { argument: name, index: i } });
    }
    if (!fits(v, rule)) badValue(i, v);
    out.push(v as number);
  }
  return out;
}

/**
 * @internal Two arguments of one metric, checked and read once: same length, not empty, each value per its rule.
 *
 * @throws {@link LeptonError} `INVALID_INPUT` (not arrays, empty, a bad value) or `SHAPE_MISMATCH` (lengths differ)
 */
export function pair(
  fn: string,
  a: unknown,
  aRule: ValueRule,
  b: unknown,
  bRule: ValueRule,
  names: readonly [string, string] = ['yTrue', 'the predictions'],
): [Numeric, Numeric] {
  const na = lengthOf(a, fn, names[0]);
  const nb = lengthOf(b, fn, names[1]);
  if (na !== nb) throw new LeptonError('SHAPE_MISMATCH', `${fn}: ${names[0]} has ${na} values but ${names[1]} has ${nb}.`);
  if (na === 0) throw new LeptonError('INVALID_INPUT', `${fn}: no samples.`);
  return [numbers(a, fn, names[0], aRule), numbers(b, fn, names[1], bRule)];
}

/** @internal Binary labels must be 0 or 1. */
export function checkBinary(y: Numeric, what: string): void {
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (v !== 0 && v !== 1) throw new LeptonError('INVALID_INPUT', `${what}: binary labels must be 0 or 1, found ${describeValue(v)} at index ${i}.`);
  }
}

/** @internal Both classes must be present for ranking metrics. */
export function countClasses(y: Numeric): { pos: number; neg: number } {
  let pos = 0;
  for (let i = 0; i < y.length; i++) pos += y[i] === 1 ? 1 : 0;
  return { pos, neg: y.length - pos };
}

/**
 * @internal An options argument: `undefined` (the defaults) or a plain object; `null`, a primitive, an array or a
 * function is `INVALID_ARGUMENT`.
 */
export function optionsObject<T extends object>(options: T | undefined, fn: string, name = 'options'): Partial<T> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new LeptonError('INVALID_ARGUMENT', `${fn}: ${name} must be an object, got ${describeValue(options)}.`, { details: { option: name } });
  }
  return options;
}
