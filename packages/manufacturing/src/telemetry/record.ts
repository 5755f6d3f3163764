import { z } from 'zod';

/** Data-quality flag a sensor or gateway attaches to a sample (OPC UA style). */
export const QUALITIES = ['good', 'uncertain', 'bad'] as const;

/** Earliest timestamp a record may carry: 1970-01-01T00:00:00Z (epoch ms 0). */
export const MIN_TIMESTAMP = 0;
/** Latest timestamp a record may carry: 9999-12-31T23:59:59.999Z, the last instant a four-digit ISO-8601 year can write. */
export const MAX_TIMESTAMP = 253_402_300_799_999;
/** Longest asset or signal identifier accepted (longer ones are refused rather than kept in memory per key). */
export const MAX_ID_LENGTH = 256;

const TIMESTAMP_MESSAGE = 'must be an ISO-8601 date-time with a UTC offset (e.g. 2026-05-04T06:00:00Z) or epoch milliseconds';
const RANGE_MESSAGE = 'is outside the accepted range (1970-01-01 to 9999-12-31 UTC)';

// Date and time with seconds and fraction optional, and a UTC offset required: a date-time without one means a different
// instant on every machine, which is how a plant's records end up an hour (or a year, with a lenient parser) apart.
const ISO = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)$/;
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** 400 Gregorian years, in ms: Date.UTC reads years 0–99 as 1900–1999, so years are shifted by a whole cycle. */
const CYCLE_MS = 146_097 * 86_400_000;

/**
 * Strict ISO-8601 date-time with an offset → epoch ms; undefined when the text is not one or names a date that does not
 * exist (2026-02-30, 25:00). Never `Date.parse`, which accepts "May 4", local times and whatever the engine likes.
 */
function parseIso(text: string): number | undefined {
  const m = ISO.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number, number];
  const s = m[6] === undefined ? 0 : Number(m[6]);
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  if (mo < 1 || mo > 12 || d < 1 || d > (mo === 2 && leap ? 29 : DAYS[mo - 1]!) || h > 23 || mi > 59 || s > 59) return undefined;
  const ms = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000);
  let offset = 0;
  if (m[8] === undefined) {
    const oh = Number(m[10]);
    const om = m[11] === undefined ? 0 : Number(m[11]);
    if (oh > 23 || om > 59) return undefined;
    offset = (m[9] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  return Date.UTC(y + 400, mo - 1, d, h, mi, s, ms) - CYCLE_MS - offset;
}

/**
 * Parses a record's timestamp: a finite epoch-ms number, a string of digits (epoch ms), a strict ISO-8601 date-time with
 * a UTC offset, or a valid Date, within {@link MIN_TIMESTAMP}…{@link MAX_TIMESTAMP}.
 *
 * @returns epoch ms, or the reason it was refused
 */
function parseRecordTimestamp(v: unknown): number | { error: string } {
  let ms: number | undefined;
  if (typeof v === 'number') ms = Number.isFinite(v) ? v : undefined;
  else if (v instanceof Date) ms = v.getTime();
  else if (typeof v === 'string') {
    const t = v.trim();
    ms = /^\d{1,16}$/.test(t) ? Number(t) : parseIso(t);
  }
  if (ms === undefined || !Number.isFinite(ms)) return { error: TIMESTAMP_MESSAGE };
  if (ms < MIN_TIMESTAMP || ms > MAX_TIMESTAMP) return { error: RANGE_MESSAGE };
  return ms;
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
   * Date, from 1970 to 9999 (UTC); becomes epoch ms. Whether it is plausible *now* (not in the future) is the quality
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
