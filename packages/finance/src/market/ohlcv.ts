import { parseTimestamp, readCsv, type TextSource } from '@lepton/core';
import { z } from 'zod';
import { parseDecimal, recordsIterable } from '../internal/guards.js';
import { readFailuresTyped } from '../internal/read.js';
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

/** Earliest bar accepted: 1800-01-01 (long daily histories start in the 19th century). */
const BAR_MIN_MS = Date.UTC(1800, 0, 1);

/** Bar time: epoch ms, ISO-8601 with an offset, or a date alone (a trading day, midnight UTC). */
const barTimestamp = z.union([z.number(), z.string(), z.date()]).transform((v, ctx) => {
  const ms = parseTimestamp(v, { dateOnly: true, minMs: BAR_MIN_MS });
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be YYYY-MM-DD, an ISO-8601 date-time with an offset, or epoch milliseconds (1800–2199)' });
    return z.NEVER;
  }
  return ms;
});

/**
 * Text is read with the package's one decimal grammar ({@link parseDecimal}): `Number()` would read `'0x10'` as 16 and
 * `'0b1010'` as 10. Text outside the grammar stays text, which the number schema refuses (`must be a number`).
 */
const decimalText = (v: unknown): unknown => (typeof v === 'string' ? (parseDecimal(v) ?? v) : v);

const price = z.preprocess(decimalText, z.number({ error: 'must be a number' }).finite('must be finite').positive('must be positive'));

/**
 * Schema of one OHLCV record (strings from CSV are converted: plain decimals such as `'101.25'`, never `'0x10'` or
 * `'1e3'`). High/low must bracket open and close.
 */
export const BarSchema = z
  .object({
    /** Bar time: `YYYY-MM-DD` (midnight UTC), ISO-8601 with an offset, or epoch ms; becomes epoch ms. */
    timestamp: barTimestamp,
    /** Opening price. */
    open: price,
    /** Highest price. */
    high: price,
    /** Lowest price. */
    low: price,
    /** Closing price. */
    close: price,
    /** Traded volume, ≥ 0. */
    volume: z.preprocess(decimalText, z.number({ error: 'must be a number' }).finite().min(0, 'must be ≥ 0')),
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
 * @param records - `{ record, position }` items (an array or another iterable), each record an object with timestamp,
 *   open, high, low, close, volume (prices and volume as numbers or plain decimal text). An item that is not such an
 *   object (or that cannot be read: a getter or proxy that throws) is rejected as `(record)` and counted like an
 *   invalid bar; a position that is not an integer ≥ 0 is replaced by the item's index.
 * @returns bars, rejections and counts
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` when `records` is not an iterable collection
 */
export function validateBars(records: Iterable<{ record: unknown; position: number }>): OhlcvResult {
  // byField has no prototype: a field named `constructor` or `__proto__` is counted like any other name.
  const out: OhlcvResult = { bars: [], rejected: [], stats: { total: 0, valid: 0, rejected: 0, byField: Object.create(null) as Record<string, number> } };
  const reject = (r: RejectedRecord): void => {
    out.rejected.push(r);
    out.stats.rejected++;
    for (const f of new Set(r.issues.map((i) => i.field))) out.stats.byField[f] = (out.stats.byField[f] ?? 0) + 1;
  };
  let index = 0;
  for (const item of recordsIterable(records, 'validateBars')) {
    // One malformed item (null, a bare record, a getter or proxy that throws) is one rejection: reading it threw and
    // stopped the batch.
    let record: unknown;
    let given: unknown;
    let readable = true;
    try {
      ({ record, position: given } = (typeof item === 'object' && item !== null ? item : {}) as { record?: unknown; position?: unknown });
    } catch {
      readable = false;
    }
    const position = Number.isSafeInteger(given) && (given as number) >= 0 ? (given as number) : index;
    index++;
    out.stats.total++;
    let parsed: ReturnType<typeof BarSchema.safeParse> | undefined;
    try {
      if (readable) parsed = BarSchema.safeParse(record);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined) {
      reject({ position, issues: [{ field: '(record)', message: 'could not be read (a property access threw)' }] });
      continue;
    }
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
 * Reads OHLCV bars from CSV with a header (`timestamp` or `date`, `open`, `high`, `low`, `close`, `volume`; names are
 * case-insensitive). An unparsable line (unclosed quote, wrong field count) is rejected with its line number and
 * counted like an invalid bar, and reading goes on at the next line.
 *
 * @param source - file path, readable stream or async iterable of text/bytes
 * @returns bars, rejections (1-based line numbers) and counts
 * @throws {@link @lepton/core!LeptonError} `OHLCV_READ_FAILED` when the file or stream cannot be read (or yields
 *   something other than text or bytes)
 */
export async function readOhlcvCsv(source: TextSource): Promise<OhlcvResult> {
  let header: string[] = [];
  const records: Array<{ record: unknown; position: number }> = [];
  const unparsable: RejectedRecord[] = [];
  for await (const item of readFailuresTyped(readCsv(source, { readErrorCode: 'OHLCV_READ_FAILED', what: 'OHLCV CSV' }), 'OHLCV CSV', 'OHLCV_READ_FAILED')) {
    if ('header' in item) header = item.header.map((h) => h.toLowerCase());
    else if ('fields' in item) {
      const r: Record<string, string | undefined> = Object.fromEntries(header.map((h, i) => [h, item.fields[i]]));
      if (r['timestamp'] === undefined && r['date'] !== undefined) r['timestamp'] = r['date'];
      records.push({ record: r, position: item.line });
    } else unparsable.push({ position: item.line, issues: [{ field: '(record)', message: `unparsable CSV line: ${item.message}` }] });
  }
  const out = validateBars(records);
  if (unparsable.length > 0) {
    out.rejected = [...out.rejected, ...unparsable].sort((a, b) => a.position - b.position);
    out.stats.rejected += unparsable.length;
    out.stats.total += unparsable.length;
    out.stats.byField['(record)'] = (out.stats.byField['(record)'] ?? 0) + unparsable.length;
  }
  return out;
}
