import { expect } from 'vitest';
import { isLeptonError } from '@lepton/core';

// Values a JavaScript caller, a configuration file or a network peer can hand to a validator and that break a naive
// error message: `${value}` and String(value) throw a TypeError for all of them but the BigInt (and the Symbol under
// String()). Shared by every package's hostile-values.test.ts (one copy, imported by relative path).

/** Every hostile kind, named (the name goes into the failure message of a test). */
export const HOSTILE: ReadonlyArray<readonly [string, unknown]> = [
  ['Symbol()', Symbol('hostile')],
  ['Object.create(null)', Object.create(null) as unknown],
  ["{ toString: '' }", { toString: '' }],
  ['{ toString() { throw } }', { toString: (): never => { throw new Error('toString called'); } }],
  ['{ [Symbol.toPrimitive]() { throw } }', { [Symbol.toPrimitive]: (): never => { throw new Error('toPrimitive called'); } }],
  ['BigInt', 12n],
];

/** The same kinds as plain JSON can carry them (a network or file peer cannot send a Symbol or a function). */
export const HOSTILE_JSON: ReadonlyArray<readonly [string, unknown]> = [
  ["{ toString: '' }", JSON.parse('{"toString":""}') as unknown],
  ['{ valueOf: 1, toString: 1 }', JSON.parse('{"valueOf":1,"toString":1}') as unknown],
  ['{ __proto__: null }', JSON.parse('{"__proto__":null}') as unknown],
];

/** How one call ended: `ok`, `LeptonError <code>`, or what went wrong instead (a plain error, an oversized message …). */
export type Outcome = string;

/**
 * Runs `call` (sync or async) and says how it ended. A `LeptonError` counts only when its message is bounded (a 10 MB
 * input never lands in it) and its `details` can be serialised; anything else thrown (a `TypeError` from building a
 * message, say) is reported as such.
 *
 * @param call - the call to make
 * @returns how it ended
 */
export async function outcome(call: () => unknown): Promise<Outcome> {
  try {
    await call();
    return 'ok';
  } catch (err) {
    if (!isLeptonError(err)) return `threw ${err instanceof Error ? `${err.name}: ${err.message.slice(0, 200)}` : typeof err}`;
    if (err.message.length >= 4000) return `LeptonError ${err.code} with a message of ${err.message.length} characters`;
    try {
      JSON.stringify(err.details);
    } catch (e) {
      return `LeptonError ${err.code} whose details cannot be serialised (${(e as Error).message})`;
    }
    return `LeptonError ${err.code}`;
  }
}

/**
 * Calls `make(value)` with every hostile value (and a 10 MB string) and says how each call ended.
 *
 * @param make - the call, given one hostile value
 * @param values - the values to try (default: {@link HOSTILE} plus a 10 MB string)
 * @returns the outcomes, by value name
 */
export async function eachHostile(
  make: (value: unknown) => unknown,
  values: ReadonlyArray<readonly [string, unknown]> = [...HOSTILE, ['10 MB string', 'x'.repeat(10 * 1024 * 1024)]],
): Promise<Record<string, Outcome>> {
  const out: Record<string, Outcome> = {};
  for (const [name, value] of values) out[name] = await outcome(() => make(value));
  return out;
}

/**
 * Expects every hostile value at one position to be refused with a `LeptonError` of `code` (soft: every failing
 * value and position is reported, not only the first).
 *
 * @param what - names the entry point and the position
 * @param make - the call, given one hostile value
 * @param code - the code expected (several when the position may fail either way)
 * @param values - the values to try (default: {@link HOSTILE} plus a 10 MB string)
 */
export async function expectRejected(
  what: string,
  make: (value: unknown) => unknown,
  code: string | readonly string[],
  values?: ReadonlyArray<readonly [string, unknown]>,
): Promise<void> {
  const codes = typeof code === 'string' ? [code] : code;
  for (const [name, got] of Object.entries(await eachHostile(make, values))) {
    expect.soft(codes.map((c) => `LeptonError ${c}`), `${what} with ${name}`).toContain(got);
  }
}

/**
 * Expects every hostile value at one position to return normally or throw a `LeptonError` (any code).
 *
 * @param what - names the entry point and the position
 * @param make - the call, given one hostile value
 * @param values - the values to try (default: {@link HOSTILE} plus a 10 MB string)
 */
export async function expectTypedOrOk(what: string, make: (value: unknown) => unknown, values?: ReadonlyArray<readonly [string, unknown]>): Promise<void> {
  for (const [name, got] of Object.entries(await eachHostile(make, values))) {
    expect.soft(got, `${what} with ${name}`).toMatch(/^(ok|LeptonError [A-Z0-9_]+)$/);
  }
}
