import type { Transaction } from '../transactions/schema.js';
import { validateTransaction } from '../transactions/validate.js';

/** @internal Why an input entry is dead-lettered: a code, maybe a field, and a sentence without values. */
export interface Rejection {
  code: string;
  field?: string;
  reason: string;
}

/**
 * @internal Reads one input entry: its `tx` field holds a transaction as JSON. Never throws, and never copies the
 * content into a reason (JSON.parse's own message quotes the text, so it is not used).
 *
 * @param fields - the entry's field/value pairs (`null` for an entry deleted from the stream)
 * @param maxBytes - larger payloads are refused unread
 */
export function readMessage(fields: readonly string[] | null, maxBytes: number): { tx: Transaction } | { rejected: Rejection } {
  if (fields === null) return { rejected: { code: 'FINANCE_MESSAGE_INVALID', reason: 'the entry was deleted from the stream before it was scored' } };
  let payload: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === 'tx') payload = fields[i + 1];
  if (payload === undefined) return { rejected: { code: 'FINANCE_MESSAGE_INVALID', reason: "the entry has no 'tx' field (publish transactions as { tx: JSON })" } };
  // Exactly one field: anything else riding along (padding, a second copy, a card number in a side field) is refused,
  // never scored as if the entry were a plain transaction.
  if (fields.length !== 2) return { rejected: { code: 'FINANCE_MESSAGE_INVALID', reason: "the entry has fields other than 'tx' (publish transactions as { tx: JSON } alone)" } };
  if (Buffer.byteLength(payload, 'utf8') > maxBytes) {
    return { rejected: { code: 'FINANCE_MESSAGE_INVALID', reason: `the 'tx' field is larger than maxMessageBytes (${maxBytes} bytes)` } };
  }
  let record: unknown;
  try {
    record = JSON.parse(payload);
  } catch {
    return { rejected: { code: 'FINANCE_MESSAGE_INVALID', reason: "the 'tx' field is not valid JSON" } };
  }
  const r = validateTransaction(record, 0);
  if ('transaction' in r) return { tx: r.transaction };
  const first = r.rejected.issues[0]!;
  const fieldsList = [...new Set(r.rejected.issues.map((i) => i.field))];
  return {
    rejected: {
      code: 'FINANCE_TRANSACTION_INVALID',
      field: first.field,
      reason: `not a valid transaction: '${first.field}' ${first.message}${fieldsList.length > 1 ? ` (also: ${fieldsList.slice(1, 6).join(', ')})` : ''}`,
    },
  };
}
