import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';

/** Options of {@link parseTimestamp}. */
export interface TimestampOptions {
  /** Earliest accepted time, epoch milliseconds (inclusive). Default `0` (1970-01-01T00:00:00Z). */
  minMs?: number;
  /** Latest accepted time, epoch milliseconds (exclusive). Default `7258118400000` (2200-01-01T00:00:00Z). */
  maxMs?: number;
  /**
   * Also accept a calendar date alone (`2024-01-02`), as midnight UTC — for daily data such as end-of-day prices,
   * where the date names a trading day rather than an instant. Default `false`.
   */
  dateOnly?: boolean;
}

/** Default upper bound of {@link parseTimestamp}: 2200-01-01T00:00:00Z. */
export const TIMESTAMP_MAX_MS = Date.UTC(2200, 0, 1);

// YYYY-MM-DD, 'T' or one space, hh:mm[:ss[.fraction]], then Z or ±hh:mm / ±hhmm / ±hh. Nothing else.
const ISO = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)$/;

function parseIso(s: string): number | undefined {
  const m = ISO.exec(s);
  if (!m) return undefined;
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number, number];
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const ms = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0').slice(0, 3));
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > daysInMonth) return undefined;
  let offsetMin = 0;
  if (m[8] === undefined) {
    const oh = Number(m[10]);
    const om = m[11] === undefined ? 0 : Number(m[11]);
    if (oh > 14 || om > 59) return undefined;
    offsetMin = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const t = new Date(0);
  t.setUTCFullYear(year, month - 1, day);
  t.setUTCHours(hour, minute, second, 0);
  return t.getTime() + ms - offsetMin * 60_000;
}

/**
 * Parses a timestamp as applications send it, strictly, in one of three forms:
 * - epoch milliseconds: a finite number, or a string of 1–16 digits;
 * - ISO-8601 date and time **with** a UTC offset: `2026-03-05T14:30:00Z`, `2026-03-05 14:30:00.250+01:00`
 *   (a calendar check applies: `2026-02-30` or hour 24 are invalid; a time without an offset is ambiguous and invalid);
 * - a valid `Date`.
 *
 * Anything else — `'March 5'`, `'2026-03-05'` without a time, `'0x10'`, `1e20`, `NaN` — is invalid, as is a time
 * outside `[minMs, maxMs)` (by default 1970-01-01 up to 2200-01-01). Shared by every vertical's input schema so they
 * all accept the same forms; it never falls back to `Date.parse`, whose leniency depends on the engine and the local
 * time zone.
 *
 * @param value - the raw value
 * @param options - accepted range
 * @returns epoch milliseconds, or undefined when the value is not a valid time in range
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for options that are not an object, a bound that is not a number (or is
 *   NaN) or a `dateOnly` that is not a boolean — a bad value is `undefined`, bad options are an error
 * @example
 * ```ts
 * import { parseTimestamp } from '@lepton/core';
 * parseTimestamp('2026-01-01T00:00:00Z'); // 1767225600000
 * parseTimestamp('2026-02-30T00:00:00Z'); // undefined
 * parseTimestamp('yesterday'); // undefined
 * ```
 */
export function parseTimestamp(value: unknown, options: TimestampOptions = {}): number | undefined {
  if (options === null || typeof options !== 'object') throw new LeptonError('INVALID_ARGUMENT', `parseTimestamp: options must be an object, got ${describeValue(options)}.`);
  const minMs = options.minMs ?? 0;
  const maxMs = options.maxMs ?? TIMESTAMP_MAX_MS;
  // A NaN bound refused every time silently, a string one was converted, a Symbol threw a TypeError.
  for (const [name, bound] of [['minMs', minMs], ['maxMs', maxMs]] as const) {
    if (typeof bound !== 'number' || Number.isNaN(bound)) {
      throw new LeptonError('INVALID_ARGUMENT', `parseTimestamp: ${name} must be a number of epoch milliseconds, got ${describeValue(bound)}.`, { details: { option: name } });
    }
  }
  if (options.dateOnly != null && typeof options.dateOnly !== 'boolean') {
    throw new LeptonError('INVALID_ARGUMENT', `parseTimestamp: dateOnly must be true or false, got ${describeValue(options.dateOnly)}.`, { details: { option: 'dateOnly' } });
  }
  let ms: number | undefined;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number') ms = value;
  else if (typeof value === 'string') {
    const s = value.trim();
    if (/^\d{1,16}$/.test(s)) ms = Number(s);
    else if (options.dateOnly === true && /^\d{4}-\d{2}-\d{2}$/.test(s)) ms = parseIso(`${s}T00:00:00Z`);
    else ms = s.length <= 40 ? parseIso(s) : undefined;
  }
  return ms !== undefined && Number.isFinite(ms) && ms >= minMs && ms < maxMs ? ms : undefined;
}
