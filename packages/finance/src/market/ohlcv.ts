import type { Readable } from 'node:stream';
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import { z } from 'zod';
import { timestampSchema } from '../transactions/schema.js';
import type { IngestStats, RejectedRecord } from '../transactions/validate.js';

/** One price bar. */
export interface Bar {
  /** Bar time, epoch ms. */
  timestamp: number;
  /** Opening price. */
  open: number;
  /** Highest price. */
  high: number;
  /** Lowest price. */
  low: number;
  /** Closing price. */
  close: number;
  /** Traded volume. */
  volume: number;
}

const price = z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v), z.number({ error: 'must be a number' }).finite('must be finite').positive('must be positive'));

/** Schema of one OHLCV record (strings from CSV are converted). High/low must bracket open and close. */
export const BarSchema = z
  .object({
    /** Bar time: ISO-8601 or epoch ms; becomes epoch ms. */
    timestamp: timestampSchema,
    /** Opening price. */
    open: price,
    /** Highest price. */
    high: price,
    /** Lowest price. */
    low: price,
    /** Closing price. */
    close: price,
    /** Traded volume, ≥ 0. */
    volume: z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v), z.number({ error: 'must be a number' }).finite().min(0, 'must be ≥ 0')),
  })
  .superRefine((b, ctx) => {
    if (b.high < Math.max(b.open, b.close, b.low)) ctx.addIssue({ code: 'custom', path: ['high'], message: 'must be ≥ open, close and low' });
    if (b.low > Math.min(b.open, b.close)) ctx.addIssue({ code: 'custom', path: ['low'], message: 'must be ≤ open and close' });
  });

/** Valid bars in time order, rejected records with reasons, and counts. */
export interface OhlcvResult {
  /** Valid bars, strictly increasing in time. */
  bars: Bar[];
  /** Rejected records (invalid fields, duplicate or out-of-order timestamps). */
  rejected: RejectedRecord[];
  /** Counts; nothing is dropped without being counted. */
  stats: IngestStats;
}

/**
 * Validates OHLCV records: prices positive and consistent (low ≤ open, close ≤ high), volume ≥ 0, timestamps strictly
 * increasing (a duplicate or older timestamp is rejected, not reordered: look-ahead starts with silently sorted data).
 *
 * @param records - raw records (objects with timestamp, open, high, low, close, volume)
 * @returns bars, rejections and counts
 */
export function validateBars(records: Iterable<{ record: unknown; position: number }>): OhlcvResult {
  const out: OhlcvResult = { bars: [], rejected: [], stats: { total: 0, valid: 0, rejected: 0, byField: {} } };
  const reject = (r: RejectedRecord): void => {
    out.rejected.push(r);
    out.stats.rejected++;
    for (const f of new Set(r.issues.map((i) => i.field))) out.stats.byField[f] = (out.stats.byField[f] ?? 0) + 1;
  };
  for (const { record, position } of records) {
    out.stats.total++;
    const parsed = BarSchema.safeParse(record);
    if (!parsed.success) {
      reject({ position, issues: parsed.error.issues.map((i) => ({ field: i.path.length ? i.path.join('.') : '(record)', message: i.message })) });
      continue;
    }
    const last = out.bars[out.bars.length - 1];
    if (last && parsed.data.timestamp <= last.timestamp) {
      reject({ position, issues: [{ field: 'timestamp', message: parsed.data.timestamp === last.timestamp ? 'duplicate timestamp' : 'older than the previous bar' }] });
      continue;
    }
    out.bars.push(parsed.data);
    out.stats.valid++;
  }
  return out;
}

/**
 * Reads OHLCV bars from CSV with a header (`timestamp` or `date`, `open`, `high`, `low`, `close`, `volume`).
 *
 * @param source - file path or readable stream
 * @returns bars, rejections (1-based line numbers) and counts
 */
export async function readOhlcvCsv(source: string | Readable): Promise<OhlcvResult> {
  const input = typeof source === 'string' ? createReadStream(source) : source;
  const parser = input.pipe(parse({ columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()), skip_empty_lines: true, trim: true, bom: true, info: true, relax_column_count: true }));
  const records: Array<{ record: unknown; position: number }> = [];
  for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
    const r = { ...record };
    if (r['timestamp'] === undefined && r['date'] !== undefined) r['timestamp'] = r['date'];
    records.push({ record: r, position: info.lines });
  }
  return validateBars(records);
}
