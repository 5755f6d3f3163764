import { LeptonError, readCsv, readLines, type TextSource } from '@lepton/core';
import { optionsObject } from '../internal/guards.js';
import { readFailuresTyped } from '../internal/read.js';
import { IngestCollector, validateTransaction, type IngestResult, type RejectedRecord } from './validate.js';
import type { Transaction } from './schema.js';

const CSV = { readErrorCode: 'TRANSACTIONS_READ_FAILED', what: 'transactions CSV' } as const;
const NDJSON = { readErrorCode: 'TRANSACTIONS_READ_FAILED', what: 'transactions NDJSON' } as const;

/**
 * Reads transactions from CSV with a header row (column names as in `TransactionSchema`). Malformed lines
 * (an unclosed quote, text after a closing quote, a wrong column count, a line over 1 MiB) and invalid records are
 * reported with their physical line number and counted, and reading goes on at the next line: an unclosed quote costs
 * its own line only (see `readCsv` in `@lepton/core`). `stats.total` counts every non-blank data line or record.
 *
 * @param source - a file path, a readable stream or an async iterable of text/bytes
 * @returns valid transactions, rejections and counts
 * @throws {@link @lepton/core!LeptonError} `TRANSACTIONS_READ_FAILED` when the file or stream cannot be read (or
 *   yields something other than text or bytes)
 * @example
 * ```ts
 * import { readTransactionsCsv } from '@lepton/finance';
 * const { valid, stats } = await readTransactionsCsv('transactions.csv');
 * ```
 */
export async function readTransactionsCsv(source: TextSource): Promise<IngestResult> {
  const collector = new IngestCollector();
  let header: string[] = [];
  for await (const item of readFailuresTyped(readCsv(source, CSV), CSV.what, CSV.readErrorCode)) {
    if ('header' in item) header = item.header;
    else if ('fields' in item) collector.add(Object.fromEntries(header.map((h, i) => [h, item.fields[i]])), item.line);
    else collector.reject({ position: item.line, issues: [{ field: '(record)', message: `unparsable CSV line: ${item.message}` }] });
  }
  return collector.done();
}

/** One item of a validated stream: a transaction, or a rejection. */
export type StreamItem =
  | {
      /** A line that passed validation. */
      transaction: Transaction;
    }
  | {
      /** A line that was not valid JSON or failed validation, with its 1-based line number. */
      rejected: RejectedRecord;
    };

/** Options of {@link streamTransactionsNdjson}. */
export interface NdjsonStreamOptions {
  /**
   * How many of the most recent transaction ids are remembered to reject a repeat (idempotent ingestion of a stream
   * that may redeliver). Memory is bounded by this count; a repeat older than the window is not recognised here (the
   * `FeatureEngine` still refuses it per card). Default 100,000.
   */
  dedupeWindow?: number;
}

/**
 * Validates newline-delimited JSON (one transaction per line) as a stream: yields each transaction or rejection as
 * soon as its line arrives, so a bad line never stops the stream. A UTF-8 byte-order mark, `\r\n` line ends and blank
 * lines are fine; a line over 1 MiB is rejected without being held in memory; a transaction id already seen among the
 * last `dedupeWindow` transactions is rejected (field `id`).
 *
 * @param source - a file path, a readable stream or an async iterable of text/bytes
 * @param options - duplicate window
 * @returns an async stream of transactions and rejections (1-based line numbers)
 * @throws {@link @lepton/core!LeptonError} `TRANSACTIONS_READ_FAILED` when the file or stream cannot be read (or
 *   yields something other than text or bytes); `INVALID_ARGUMENT` for options that are not an object or a
 *   `dedupeWindow` that is not an integer ≥ 0
 * @example
 * ```ts
 * import { streamTransactionsNdjson } from '@lepton/finance';
 * for await (const item of streamTransactionsNdjson(process.stdin)) if ('rejected' in item) console.warn(item.rejected);
 * ```
 */
export async function* streamTransactionsNdjson(source: TextSource, options: NdjsonStreamOptions = {}): AsyncGenerator<StreamItem> {
  const window = optionsObject(options, 'streamTransactionsNdjson').dedupeWindow ?? 100_000;
  if (!(Number.isInteger(window) && window >= 0)) throw new LeptonError('INVALID_ARGUMENT', 'dedupeWindow must be an integer ≥ 0.');
  const seen = new Set<string>(); // insertion-ordered: the oldest id is the first one
  for await (const item of readFailuresTyped(readLines(source, NDJSON), NDJSON.what, NDJSON.readErrorCode)) {
    const n = item.line;
    if (!('text' in item)) {
      yield { rejected: { position: n, issues: [{ field: '(record)', message: 'line too long' }] } };
      continue;
    }
    if (item.text.trim() === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(item.text);
    } catch {
      yield { rejected: { position: n, issues: [{ field: '(record)', message: 'not valid JSON' }] } };
      continue;
    }
    const result = validateTransaction(record, n);
    if ('transaction' in result && window > 0) {
      const id = result.transaction.id;
      if (seen.has(id)) {
        yield { rejected: { position: n, id, issues: [{ field: 'id', message: 'duplicate id: a transaction with this id came earlier in the stream' }] } };
        continue;
      }
      seen.add(id);
      if (seen.size > window) seen.delete(seen.values().next().value as string);
    }
    yield result;
  }
}
