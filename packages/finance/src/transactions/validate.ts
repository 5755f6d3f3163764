import { LeptonError } from '@lepton/core';
import { recordsIterable } from '../internal/guards.js';
import { TransactionSchema, type Transaction } from './schema.js';

/** One problem with one field of a record. Messages never contain the field's value. */
export interface FieldIssue {
  /** Field name (dotted path), or `(record)` for the record as a whole. */
  field: string;
  /** Human-readable reason, e.g. `must be positive`. */
  message: string;
}

/** A record that failed validation, with every reason. */
export interface RejectedRecord {
  /** Position in the input (0-based record index; for CSV, the 1-based line number). */
  position: number;
  /** The record's id, when it had a usable one. */
  id?: string;
  /** Every problem found in the record (at least one). */
  issues: FieldIssue[];
}

/** Counts of a validation run, so nothing is dropped silently. */
export interface IngestStats {
  /** Records seen (always `valid + rejected`). */
  total: number;
  /** Records that passed validation. */
  valid: number;
  /** Records that were rejected. */
  rejected: number;
  /**
   * Rejections per field (a record with two bad fields counts once for each). An object without a prototype, so any
   * field name (`constructor`, `__proto__` …) is an own key: read it with `Object.keys`/`Object.entries` or `in`.
   */
  byField: Record<string, number>;
}

/** Valid transactions, rejected records with reasons, and counts. */
export interface IngestResult {
  /** Transactions that passed validation, in input order. */
  valid: Transaction[];
  /** Rejected records, each with its reasons, in input order. */
  rejected: RejectedRecord[];
  /** Counts for the run. */
  stats: IngestStats;
}

/**
 * Validates one record. Stateless, so it cannot recognise a repeated id: {@link IngestCollector} and
 * {@link validateTransactions} do. Never throws for a bad record: a record that cannot even be read is a rejection too.
 *
 * @param record - a plain object (e.g. a CSV row or parsed JSON)
 * @param position - its position, for the rejection report: an integer ≥ 0
 * @returns the transaction, or the rejection with a reason per field
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a position that is not an integer ≥ 0 (it would be
 *   copied into the rejection report as it came: NaN, an object, a string)
 * @example
 * ```ts
 * import { validateTransaction } from '@lepton/finance';
 * const r = validateTransaction({ id: 't1', timestamp: '2026-01-01T10:00:00Z', amount: '12.5', currency: 'EUR',
 *   cardId: 'c1', customerId: 'u1', merchantId: 'm1', merchantCategory: '5411', channel: 'pos' }, 0);
 * console.log('transaction' in r); // true
 * ```
 */
export function validateTransaction(
  record: unknown,
  position: number,
):
  | {
      /** The validated, normalised transaction. */
      transaction: Transaction;
    }
  | {
      /** The rejection, with a reason per field. */
      rejected: RejectedRecord;
    } {
  checkPosition(position, 'validateTransaction');
  let parsed: ReturnType<typeof TransactionSchema.safeParse>;
  let rawId: unknown;
  try {
    parsed = TransactionSchema.safeParse(record);
    rawId = parsed.success ? undefined : (record as { id?: unknown } | null)?.id;
  } catch {
    // A hostile object (a getter or proxy that throws) is a bad record like any other: reject it, keep the batch going.
    return { rejected: { position, issues: [{ field: '(record)', message: 'could not be read (a property access threw)' }] } };
  }
  if (parsed.success) return { transaction: parsed.data };
  const issues = parsed.error.issues.map((i) => ({ field: i.path.length ? i.path.join('.') : '(record)', message: i.message }));
  const rejected: RejectedRecord = { position, issues };
  if (typeof rawId === 'string' && rawId.trim() !== '' && rawId.length <= 128) rejected.id = rawId.trim();
  return { rejected };
}

/** Throws `INVALID_ARGUMENT` unless `position` is an integer ≥ 0 (what a rejection report may carry). */
function checkPosition(position: unknown, what: string): void {
  if (!(Number.isSafeInteger(position) && (position as number) >= 0)) throw new LeptonError('INVALID_ARGUMENT', `${what}: position must be an integer ≥ 0.`);
}

/**
 * Accumulates results of {@link validateTransaction} into an {@link IngestResult}, and makes ingestion idempotent: a
 * record whose `id` was already accepted by this collector is rejected (field `id`, message `duplicate id`) and
 * counted, so a record delivered twice is never counted twice. The first occurrence wins. The ids of accepted records
 * are kept for the collector's lifetime (the accepted records themselves are kept too, so this adds little).
 */
export class IngestCollector {
  // byField has no prototype: a field named `constructor` or `__proto__` (a CSV header, a caller's reject()) is counted
  // like any other name instead of reading Object.prototype's member or setting the prototype.
  private readonly result: IngestResult = { valid: [], rejected: [], stats: { total: 0, valid: 0, rejected: 0, byField: Object.create(null) as Record<string, number> } };
  private readonly ids = new Set<string>();
  /**
   * The rejections already recorded, so one passed twice counts once. A Set, not `rejected.includes()`: that scanned
   * the whole list on every rejection, and a file of 160,000 bad rows took four times as long as a good one.
   */
  private readonly recorded = new WeakSet<RejectedRecord>();

  /**
   * Validates and records one record.
   *
   * @param record - the raw record
   * @param position - its position, an integer ≥ 0
   * @returns the transaction, or undefined when rejected (the rejection is recorded), also when its id was already
   *   accepted
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a position that is not an integer ≥ 0 (nothing is
   *   counted)
   */
  add(record: unknown, position: number): Transaction | undefined {
    const r = validateTransaction(record, position);
    const stats = this.result.stats;
    stats.total++;
    if ('transaction' in r) {
      const id = r.transaction.id;
      if (this.ids.has(id)) {
        this.reject({ position, id, issues: [{ field: 'id', message: 'duplicate id: a record with this id was already accepted' }] });
        return undefined;
      }
      this.ids.add(id);
      stats.valid++;
      this.result.valid.push(r.transaction);
      return r.transaction;
    }
    this.reject(r.rejected);
    return undefined;
  }

  /**
   * Records a rejection that happened before validation (e.g. an unparsable CSV line).
   *
   * @param rejected - the rejection: an integer position ≥ 0 and at least one issue, each with a string field and
   *   message
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a rejection of another shape (nothing is counted)
   */
  reject(rejected: RejectedRecord): void {
    const r: unknown = rejected;
    if (
      typeof r !== 'object' ||
      r === null ||
      !Number.isSafeInteger((r as RejectedRecord).position) ||
      (r as RejectedRecord).position < 0 ||
      !Array.isArray((r as RejectedRecord).issues) ||
      (r as RejectedRecord).issues.length === 0 ||
      !(r as RejectedRecord).issues.every((i: unknown) => typeof i === 'object' && i !== null && typeof (i as FieldIssue).field === 'string' && typeof (i as FieldIssue).message === 'string')
    ) {
      throw new LeptonError('INVALID_ARGUMENT', 'IngestCollector.reject needs { position: integer ≥ 0, issues: [{ field: string, message: string }, …] }.');
    }
    const stats = this.result.stats;
    if (!this.recorded.has(rejected)) {
      this.recorded.add(rejected);
      stats.rejected++;
      this.result.rejected.push(rejected);
      for (const field of new Set(rejected.issues.map((i) => i.field))) stats.byField[field] = (stats.byField[field] ?? 0) + 1;
    }
    stats.total = stats.valid + stats.rejected;
  }

  /** @returns everything collected so far */
  done(): IngestResult {
    return this.result;
  }
}

/**
 * Validates a batch of records. One bad record never stops the batch: it is reported with a reason per field and
 * counted. A record whose id repeats an accepted one is rejected as a duplicate (see {@link IngestCollector}).
 *
 * @param records - raw records: an array or another iterable (not a string)
 * @returns valid transactions, rejections and counts
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` when `records` is not an iterable collection
 * @example
 * ```ts
 * import { validateTransactions } from '@lepton/finance';
 * const { stats } = validateTransactions([{ id: 'x' }]);
 * console.log(stats); // { total: 1, valid: 0, rejected: 1, byField: { timestamp: 1, amount: 1, … } }
 * ```
 */
export function validateTransactions(records: Iterable<unknown>): IngestResult {
  const collector = new IngestCollector();
  let i = 0;
  for (const r of recordsIterable(records, 'validateTransactions')) collector.add(r, i++);
  return collector.done();
}
