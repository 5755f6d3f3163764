import { parseTimestamp, TIMESTAMP_MAX_MS } from '@lepton/core';
import { z } from 'zod';

/** Data-quality flag a sensor or gateway attaches to a sample (OPC UA style). */
export const QUALITIES = ['good', 'uncertain', 'bad'] as const;

/** Earliest timestamp a record may carry: 1970-01-01T00:00:00Z (epoch ms 0). */
export const MIN_TIMESTAMP = 0;
/**
 * Latest timestamp a record may carry: 2199-12-31T23:59:59.999Z, the range `@lepton/core`'s `parseTimestamp` accepts
 * for every vertical. Whether a time is plausible *now* is the quality monitor's `maxClockSkewMs` check.
 */
export const MAX_TIMESTAMP = TIMESTAMP_MAX_MS - 1;
/** Longest asset or signal identifier accepted (longer ones are refused rather than kept in memory per key). */
export const MAX_ID_LENGTH = 256;

const TIMESTAMP_MESSAGE = 'must be an ISO-8601 date-time with a UTC offset (e.g. 2026-05-04T06:00:00Z) or epoch milliseconds';
const RANGE_MESSAGE = 'is outside the accepted range (1970-01-01 to 2199-12-31 UTC)';

/**
 * Parses a record's timestamp with core's strict `parseTimestamp` (epoch ms as a number or digit string, ISO-8601 with a
 * UTC offset and a calendar check, or a valid Date; never `Date.parse`), within {@link MIN_TIMESTAMP}…{@link MAX_TIMESTAMP}.
 *
 * @returns epoch ms, or the reason it was refused
 */
function parseRecordTimestamp(v: unknown): number | { error: string } {
  const ms = parseTimestamp(v);
  if (ms !== undefined) return ms;
  // Well-formed but out of range (1e20, a negative epoch, year 2500) gets its own message.
  return parseTimestamp(v, { minMs: -Infinity, maxMs: Infinity }) === undefined ? { error: TIMESTAMP_MESSAGE } : { error: RANGE_MESSAGE };
}

// A plain decimal number: no hex (0x10), binary, "Infinity", or the empty string that Number() reads as 0.
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * One sensor sample. `value` may be NaN: the one marker of a missing value (a dropout), given as NaN, `null`, nothing,
 * an empty string or "NaN"; the quality monitor reports it rather than the schema. ±Infinity and numbers too large for a
 * double ("1e999") are refused: they are not measurements.
 */
export const SensorRecordSchema = z.object({
  /**
   * When it was measured: epoch ms (a number or a string of digits), an ISO-8601 date-time with a UTC offset, or a
   * Date, from 1970 to 2199 (UTC); becomes epoch ms. Whether it is plausible *now* (not in the future) is the quality
   * monitor's `maxClockSkewMs` check.
   */
  timestamp: z.unknown().transform((v, ctx) => {
    const ms = parseRecordTimestamp(v);
    if (typeof ms === 'number') return ms;
    ctx.addIssue({ code: 'custom', message: ms.error });
    return z.NEVER;
  }),
  /** Machine or line identifier. */
  asset: z.string().trim().min(1, 'must be a non-empty identifier').max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`),
  /** Signal name, e.g. `temperature`, `vibration_rms`. */
  signal: z.string().trim().min(1, 'must be a non-empty identifier').max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`),
  /** Measured value (NaN = missing). */
  value: z.preprocess(
    (v) => {
      if (v === null || v === undefined) return Number.NaN;
      if (typeof v !== 'string') return v;
      const t = v.trim();
      if (t === '' || t.toLowerCase() === 'nan') return Number.NaN;
      return DECIMAL.test(t) ? Number(t) : v; // anything else stays a string, and fails below
    },
    // NaN is the dropout marker (reported by the quality monitor); z.number() refuses ±Infinity (and "1e999").
    z.union([z.number(), z.nan()], { error: 'must be a finite number, or empty/null/NaN for a missing value' }),
  ),
  /** Quality flag; default `good`. */
  quality: z.preprocess((v) => (v === undefined || v === '' ? 'good' : v), z.enum(QUALITIES, { error: `must be one of ${QUALITIES.join(', ')}` })),
});

/** A validated sensor sample. */
export type SensorRecord = z.output<typeof SensorRecordSchema>;

/** Why a raw record was refused. */
export interface RecordRejection {
  /** Where it came from (line number, MQTT topic …). */
  source: string;
  /** One entry per bad field; never the field's value. */
  issues: Array<{
    /** Field name, or `(record)`. */
    field: string;
    /** What is wrong. */
    message: string;
  }>;
}

/** Outcome of {@link parseSensorRecord}: a valid record, or a rejection. */
export type ParsedRecord =
  | {
      /** The validated sample. */
      record: SensorRecord;
    }
  | {
      /** Why the raw record was refused. */
      rejected: RecordRejection;
    };

/**
 * Validates one raw record. Never throws: whatever `raw` is (any JSON value, an object with fields of any type), the
 * result is a record whose timestamp is a finite epoch-ms number in range, whose asset and signal are non-empty
 * identifiers and whose value is a finite number or NaN (missing) — or a rejection naming every bad field, without its
 * value.
 *
 * @param raw - parsed JSON/CSV object
 * @param source - where it came from, for the rejection
 * @returns the record, or the rejection
 * @example
 * ```ts
 * import { parseSensorRecord } from '@lepton/manufacturing';
 * parseSensorRecord({ timestamp: '2026-05-04T06:00:00Z', asset: 'press-1', signal: 'temp', value: '71.5' }, 'line 2');
 * // { record: { timestamp: 1777874400000, asset: 'press-1', signal: 'temp', value: 71.5, quality: 'good' } }
 * parseSensorRecord({ timestamp: 1e20, asset: 'press-1', signal: 'temp', value: 'Infinity' }, 'line 3');
 * // { rejected: { source: 'line 3', issues: [{ field: 'timestamp', … }, { field: 'value', … }] } }
 * ```
 */
export function parseSensorRecord(raw: unknown, source: string): ParsedRecord {
  const where = typeof source === 'string' ? source : '(unknown source)';
  let r: ReturnType<typeof SensorRecordSchema.safeParse>;
  try {
    r = SensorRecordSchema.safeParse(raw);
  } catch {
    // An exotic object (a getter that throws, a revoked proxy) from a JavaScript caller: refused like any bad record.
    return { rejected: { source: where, issues: [{ field: '(record)', message: 'could not be read as a record' }] } };
  }
  if (r.success) return { record: r.data };
  return { rejected: { source: where, issues: r.error.issues.map((i) => ({ field: i.path.length ? i.path.map(String).join('.') : '(record)', message: i.message })) } };
}

/**
 * Cheap run-time check of an already-parsed {@link SensorRecord} (hot paths: the line monitor, the quality monitor):
 * the same guarantees as {@link parseSensorRecord} without conversions.
 *
 * @param r - anything
 * @returns the bad fields (empty when `r` is a valid record)
 */
export function sensorRecordIssues(r: unknown): RecordRejection['issues'] {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return [{ field: '(record)', message: 'must be a sensor record object' }];
  const o = r as Record<string, unknown>;
  const issues: RecordRejection['issues'] = [];
  const ts = o.timestamp;
  if (typeof ts !== 'number' || !Number.isFinite(ts)) issues.push({ field: 'timestamp', message: 'must be a finite number (epoch ms)' });
  else if (ts < MIN_TIMESTAMP || ts > MAX_TIMESTAMP) issues.push({ field: 'timestamp', message: RANGE_MESSAGE });
  for (const field of ['asset', 'signal'] as const) {
    const v = o[field];
    if (typeof v !== 'string' || v.trim().length === 0) issues.push({ field, message: 'must be a non-empty identifier' });
    else if (v.length > MAX_ID_LENGTH) issues.push({ field, message: `must be at most ${MAX_ID_LENGTH} characters` });
  }
  const v = o.value;
  if (typeof v !== 'number' || v === Infinity || v === -Infinity) issues.push({ field: 'value', message: 'must be a finite number, or NaN for a missing value' });
  if (!(QUALITIES as readonly unknown[]).includes(o.quality)) issues.push({ field: 'quality', message: `must be one of ${QUALITIES.join(', ')}` });
  return issues;
}
