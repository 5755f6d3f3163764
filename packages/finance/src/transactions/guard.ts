/**
 * A cheap check that a value already has the shape {@link TransactionSchema} outputs, for hot paths that take a
 * validated {@link Transaction} (the feature engine): a hand-written test of each field, about a third of the cost of
 * parsing the record again (1.3 µs against 4.5 µs per transaction, Node 20). It accepts exactly the normalised form
 * (timestamp as epoch ms, numbers as numbers) with the schema's bounds, so anything the schema outputs passes (a
 * property test checks this). Keep the two in step when a field changes.
 *
 * @internal
 * @module
 */
import type { FieldIssue } from './validate.js';
import { AMOUNT_MAX, AMOUNT_MIN, CHANNELS, TIMESTAMP_MAX, type Transaction } from './schema.js';

const isId = (v: unknown): boolean => typeof v === 'string' && v.length <= 128 && v.trim() !== '';
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const optional = (v: unknown, ok: (v: unknown) => boolean): boolean => v === undefined || ok(v);

/** Field checks in schema order: the first failing one is reported. Messages never contain the value. */
const CHECKS: ReadonlyArray<readonly [keyof Transaction, (v: unknown) => boolean, string]> = [
  ['id', isId, 'must be a non-empty identifier of at most 128 characters'],
  ['timestamp', (v) => isNum(v) && v >= 0 && v < TIMESTAMP_MAX, 'must be epoch milliseconds from 1970-01-01 up to 2200-01-01 (validate the record with TransactionSchema first)'],
  ['amount', (v) => isNum(v) && v >= AMOUNT_MIN && v <= AMOUNT_MAX, 'must be a finite number from 0.00000001 to 10^12'],
  ['currency', (v) => typeof v === 'string' && /^[A-Z]{3}$/.test(v), 'must be a 3-letter ISO 4217 code'],
  ['cardId', isId, 'must be a non-empty identifier of at most 128 characters'],
  ['customerId', isId, 'must be a non-empty identifier of at most 128 characters'],
  ['merchantId', isId, 'must be a non-empty identifier of at most 128 characters'],
  ['merchantCategory', (v) => typeof v === 'string' && /^\d{4}$/.test(v), 'must be a 4-digit merchant category code'],
  ['channel', (v) => (CHANNELS as readonly unknown[]).includes(v), `must be one of ${CHANNELS.join(', ')}`],
  ['deviceId', (v) => optional(v, isId), 'must be absent or a non-empty identifier of at most 128 characters'],
  ['latitude', (v) => optional(v, (x) => isNum(x) && x >= -90 && x <= 90), 'must be absent or a finite number in [−90, 90]'],
  ['longitude', (v) => optional(v, (x) => isNum(x) && x >= -180 && x <= 180), 'must be absent or a finite number in [−180, 180]'],
  ['label', (v) => optional(v, (x) => x === 0 || x === 1), 'must be absent, 0 or 1'],
];

/** Optional fields: left out of the copy when absent (`exactOptionalPropertyTypes`). */
const OPTIONAL = new Set<keyof Transaction>(['deviceId', 'latitude', 'longitude', 'label']);

/**
 * Reads a supposedly validated transaction: each field once, checked, into a plain copy. The copy is what the caller
 * goes on with, so a getter or proxy cannot pass the check and then answer differently (or throw) on the next read.
 *
 * @param tx - any value
 * @returns the copy, or the first problem: the field and the reason, never the value (`(record)` when the value is
 *   not an object or reading it threw)
 */
export function readTransaction(tx: unknown): { tx: Transaction } | { issue: FieldIssue } {
  if (typeof tx !== 'object' || tx === null) return { issue: { field: '(record)', message: 'must be a transaction object' } };
  const record = tx as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  try {
    if (Array.isArray(tx)) return { issue: { field: '(record)', message: 'must be a transaction object' } };
    for (const [field, ok, message] of CHECKS) {
      const v = record[field];
      if (!ok(v)) return { issue: { field, message } };
      if (v !== undefined || !OPTIONAL.has(field)) copy[field] = v;
    }
  } catch {
    // A hostile object (a getter or proxy that throws, a revoked proxy) is an invalid record, not a crash of the caller.
    return { issue: { field: '(record)', message: 'could not be read (a property access threw)' } };
  }
  return { tx: copy as unknown as Transaction };
}
