import { types } from 'node:util';

/** Shown digits of a bigint stop here: converting a million-digit bigint to text would take seconds. */
const BIGINT_SHOWN = 10n ** 30n;

/**
 * Describes any value for an error message or a log line, safely: it never throws and never runs code the value
 * brings with it (no `toString`, `valueOf`, `Symbol.toPrimitive`, getters or Proxy traps), and a long string is cut
 * to `maxLength` characters, so a 10 MB string is never copied into a message.
 *
 * Use it wherever a message shows a value a caller, a configuration file or a network peer supplied:
 * `` `got ${value}` `` or `String(value)` throws a `TypeError` for `Symbol()`, `Object.create(null)`,
 * `{ toString: '' }` or an object whose `toString` throws, so the caller would get that `TypeError` instead of the
 * typed error being built. (Never "simplify" this into `String(value)` or `JSON.stringify(value)`: both run user code
 * and the latter throws on a `BigInt` or a cycle.)
 *
 * What it returns:
 * - numbers as JavaScript prints them (`1.5`, `NaN`, `Infinity`), with `-0` as `-0`;
 * - strings in single quotes, as Lepton's messages quote names, with JSON's escapes (a newline shows as `\n`, so a
 *   value cannot forge log lines) and `\'` for a quote; cut to `maxLength` characters with `…` and the full length
 *   added: `'aaaa…' (10485760 characters)`; a run of 12 or more digits (spaces or dashes between them allowed: a
 *   card number's shape) shows as `<digits hidden>`, so a PAN passed where an option belongs is never echoed;
 * - booleans, `null`, `undefined` literally; a bigint with an `n` suffix (`12n`; beyond 30 digits `(bigint)`);
 * - a symbol as `Symbol(description)` (description cut like a string);
 * - a function as `(function)`, an array as `(array of N)`, a Proxy as `(proxy)`, any other object as `(object)`.
 *
 * @param value - anything at all
 * @param maxLength - most characters of a string (or symbol description) shown; a value that is not a whole number
 *   ≥ 1 means the default, 40
 * @returns a short, single-line description of `value`
 * @example
 * ```ts
 * import { describeValue } from '@lepton/core';
 * describeValue({ toString: '' });   // '(object)'
 * describeValue(Symbol('id'));       // 'Symbol(id)'
 * describeValue('cam-1');            // "'cam-1'"
 * describeValue('x'.repeat(100), 4); // "'xxxx…' (100 characters)"
 * describeValue(-0);                 // '-0'
 * describeValue('4111 1111 1111 1111'); // "'<digits hidden>'"
 * ```
 */
export function describeValue(value: unknown, maxLength = 40): string {
  const max = typeof maxLength === 'number' && Number.isInteger(maxLength) && maxLength >= 1 ? maxLength : 40;
  switch (typeof value) {
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'string':
      return quoted(value, max);
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'bigint':
      return value < BIGINT_SHOWN && value > -BIGINT_SHOWN ? `${String(value)}n` : '(bigint)';
    case 'symbol': {
      // `description` is a plain accessor of Symbol.prototype (no user code); it is undefined for Symbol().
      const description = value.description;
      return description === undefined ? 'Symbol()' : `Symbol(${cut(description, max)})`;
    }
    case 'function':
      return '(function)';
    default:
      if (value === null) return 'null';
      // Proxy first: Array.isArray throws on a revoked Proxy, and reading a proxied array's length runs its get trap.
      if (types.isProxy(value)) return '(proxy)';
      // A real array's `length` is an own data property: reading it runs no user code.
      if (Array.isArray(value)) return `(array of ${value.length})`;
      return '(object)';
  }
}

/**
 * A run of 12 or more digits, single spaces or dashes allowed between them: what a card number (13–19 digits, often
 * grouped by four) looks like. Such runs are hidden in quoted strings.
 */
const LONG_DIGITS = /\d(?:[ -]?\d){11,}/g;

/** `text` cut to `max` characters with `…`, never ending in half a surrogate pair. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/**
 * A string in single quotes (as Lepton's messages quote names), cut to `max` characters (then the full length), with
 * JSON's escapes for backslashes and control characters and `\'` for a quote inside.
 */
function quoted(text: string, max: number): string {
  // A card number (PAN) must never reach a message or a log line, even inside an option a caller mixed it into.
  text = text.replace(LONG_DIGITS, '<digits hidden>');
  // JSON.stringify of a string runs no user code; its output escapes every `"` as `\"`, which single quotes need not.
  const inner = JSON.stringify(cut(text, max)).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'");
  return text.length <= max ? `'${inner}'` : `'${inner}' (${text.length} characters)`;
}

/** @internal The message of a thrown value, never throwing itself (a getter may). */
export function messageOf(err: unknown): string {
  try {
    return err instanceof Error ? String(err.message) : describeValue(err, 200);
  } catch {
    return 'an error whose message cannot be read';
  }
}
