import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { IngestCollector, validateTransaction, type IngestResult, type RejectedRecord } from './validate.js';
import type { Transaction } from './schema.js';

function open(source: string | Readable): Readable {
  return typeof source === 'string' ? createReadStream(source) : source;
}

/**
 * Reads transactions from CSV with a header row (column names as in `TransactionSchema`). Malformed lines
 * (unbalanced quotes, wrong column count) and invalid records are reported with their line number and counted;
 * reading goes on.
 *
 * @param source - a file path or a readable stream
 * @returns valid transactions, rejections and counts
 * @example
 * ```ts
 * import { readTransactionsCsv } from '@lepton/finance';
 * const { valid, stats } = await readTransactionsCsv('transactions.csv');
 * ```
 */
export async function readTransactionsCsv(source: string | Readable): Promise<IngestResult> {
  const collector = new IngestCollector();
  const parser = open(source).pipe(
    parse({ columns: true, skip_empty_lines: true, trim: true, bom: true, info: true, skip_records_with_error: true }),
  );
  parser.on('skip', (err: Error & { lines?: number }) => {
    collector.reject({ position: err.lines ?? -1, issues: [{ field: '(record)', message: `unparsable CSV line: ${err.message.split(':')[0]}` }] });
  });
  for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
    collector.add(record, info.lines);
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

/**
 * Validates newline-delimited JSON (one transaction per line) as a stream: yields each transaction or rejection as
 * soon as its line arrives, so a bad line never stops the stream.
 *
 * @param source - a file path or a readable stream
 * @returns an async stream of transactions and rejections (1-based line numbers)
 * @example
 * ```ts
 * import { streamTransactionsNdjson } from '@lepton/finance';
 * for await (const item of streamTransactionsNdjson(process.stdin)) if ('rejected' in item) console.warn(item.rejected);
 * ```
 */
export async function* streamTransactionsNdjson(source: string | Readable): AsyncGenerator<StreamItem> {
  const lines = createInterface({ input: open(source), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      yield { rejected: { position: n, issues: [{ field: '(record)', message: 'not valid JSON' }] } };
      continue;
    }
    yield validateTransaction(record, n);
  }
}
