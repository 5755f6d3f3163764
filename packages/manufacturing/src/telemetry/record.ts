import { parseTimestamp } from '@lepton/core';
import { z } from 'zod';

/** Data-quality flag a sensor or gateway attaches to a sample (OPC UA style). */
export const QUALITIES = ['good', 'uncertain', 'bad'] as const;

/** One sensor sample. `value` may be NaN (a dropout): the quality monitor reports it rather than the schema. */
export const SensorRecordSchema = z.object({
  /** When it was measured: ISO-8601 or epoch ms; becomes epoch ms. */
  timestamp: z.union([z.number(), z.string(), z.date()]).transform((v, ctx) => {
    const ms = parseTimestamp(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: 'must be an ISO-8601 date-time or epoch milliseconds' });
      return z.NEVER;
    }
    return ms;
  }),
  /** Machine or line identifier. */
  asset: z.string().trim().min(1, 'must be a non-empty identifier'),
  /** Signal name, e.g. `temperature`, `vibration_rms`. */
  signal: z.string().trim().min(1, 'must be a non-empty identifier'),
  /** Measured value (NaN or null = missing). */
  value: z.preprocess(
    (v) => {
      if (v === null || v === undefined) return Number.NaN;
      if (typeof v !== 'string') return v;
      const t = v.trim();
      if (t === '' || t.toLowerCase() === 'nan') return Number.NaN;
      const n = Number(t);
      return Number.isNaN(n) ? v : n; // a non-numeric string stays a string, and fails below
    },
    // NaN is a legitimate dropout marker (reported by the quality monitor); any other non-number is an error.
    z.union([z.number(), z.nan()], { error: 'must be a number' }),
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
 * Validates one raw record.
 *
 * @param raw - parsed JSON/CSV object
 * @param source - where it came from, for the rejection
 * @returns the record, or the rejection
 */
export function parseSensorRecord(raw: unknown, source: string): ParsedRecord {
  const r = SensorRecordSchema.safeParse(raw);
  if (r.success) return { record: r.data };
  return { rejected: { source, issues: r.error.issues.map((i) => ({ field: i.path.length ? i.path.join('.') : '(record)', message: i.message })) } };
}
