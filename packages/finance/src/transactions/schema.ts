import { parseTimestamp, TIMESTAMP_MAX_MS } from '@lepton/core';
import { z } from 'zod';
import { parseDecimal } from '../internal/guards.js';

/** Payment channels the schema accepts. */
export const CHANNELS = ['pos', 'ecom', 'atm'] as const;

/**
 * Largest amount {@link TransactionSchema} accepts, in the currency's major unit: 10¹² (a trillion). Larger values are
 * data errors; from about 3.4·10³⁸ they also overflow the feature engine's 32-bit feature vectors into Infinity.
 */
export const AMOUNT_MAX = 1e12;

/**
 * Smallest amount {@link TransactionSchema} accepts, in the currency's major unit: 10⁻⁸ (one satoshi). A floor keeps
 * the feature engine's amount z-scores finite; express finer amounts in a smaller unit.
 */
export const AMOUNT_MIN = 1e-8;

/** Latest accepted timestamp (exclusive), epoch ms: 2200-01-01T00:00:00Z. The earliest is 0 (1970-01-01T00:00:00Z). */
export const TIMESTAMP_MAX = TIMESTAMP_MAX_MS;

/** `''`, `null` and `undefined` all mean "absent" (CSV writes empty cells for missing optional fields). */
const absent = (v: unknown): unknown => (v === '' || v === null ? undefined : v);

const id = z.string().trim().min(1, 'must be a non-empty identifier').max(128, 'must be at most 128 characters');

const TIMESTAMP_FORMS = 'an ISO-8601 date-time with a UTC offset (Z or ±hh:mm) or epoch milliseconds, from 1970-01-01 up to 2200-01-01';

/**
 * Timestamp of a transaction. Only unambiguous instants: an ISO-8601 date-time **with** a UTC offset, checked against
 * the calendar (no 30 February, no hour 24), or epoch milliseconds (a number, or a string of digits), or a `Date` —
 * all within [1970-01-01, 2200-01-01). Refused: a date without a time, a time without an offset (its meaning depends
 * on the server's time zone), and anything `Date.parse` would guess at (`'March 5'`).
 */
const transactionTimestamp = z.union([z.number(), z.string(), z.date()], { error: `must be ${TIMESTAMP_FORMS}` }).transform((v, ctx) => {
  const ms = parseTimestamp(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `must be ${TIMESTAMP_FORMS}` });
    return z.NEVER;
  }
  return ms;
});

/** Strings in the strict decimal grammar become numbers; anything else is left for the number schema to refuse. */
const decimal = (v: unknown): unknown => (typeof v === 'string' ? (parseDecimal(v) ?? v) : v);
const NOT_A_NUMBER = 'must be a finite decimal number (digits with an optional sign and point; no exponent, hex or Infinity)';
const number = (check: z.ZodType<number, number>) => z.preprocess(decimal, check);

/** One issue per bad amount (a second "too small" after "must be positive" would only repeat it). */
const amount = number(
  z.number({ error: NOT_A_NUMBER }).superRefine((v, ctx) => {
    const message = v <= 0 ? 'must be positive' : v < AMOUNT_MIN ? 'must be at least 0.00000001' : v > AMOUNT_MAX ? 'must be at most 1000000000000 (10^12)' : undefined;
    if (message !== undefined) ctx.addIssue({ code: 'custom', message });
  }),
);

/**
 * A card transaction as it arrives from CSV, JSON or application objects. Identifiers are opaque tokens: never put a
 * card number (PAN) in `cardId`. Validation never echoes field values in its messages.
 *
 * Numbers (`amount`, `latitude`, `longitude`, `label`) are finite numbers, or strings in one strict decimal grammar:
 * an optional sign, 1–15 digits, optionally a point and 1–24 digits (`12.50`, `+3`, `-0.5`, `48.838317600477005`).
 * `'1e3'`, `'0x10'`, `'Infinity'`, `'1,000'` and `'.5'` are refused, never read as 1000, 16 or Infinity. Amounts are
 * positive, from {@link AMOUNT_MIN} to {@link AMOUNT_MAX}. Timestamps: see `timestamp` below; they become epoch
 * milliseconds.
 */
export const TransactionSchema = z.object({
  /** Unique transaction id. */
  id,
  /**
   * When it happened: an ISO-8601 date-time with a UTC offset (`2026-03-05T14:30:00Z`, `2026-03-05T15:30:00+01:00`),
   * epoch milliseconds (number or digit string) or a Date, from 1970-01-01 up to 2200-01-01; stored as epoch ms.
   */
  timestamp: transactionTimestamp,
  /** Amount in the currency's major unit: positive, {@link AMOUNT_MIN} to {@link AMOUNT_MAX}. */
  amount,
  /** ISO 4217 currency code. */
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be a 3-letter ISO 4217 code'),
  /** Tokenised card identifier. */
  cardId: id,
  /** Customer (account holder) identifier. */
  customerId: id,
  /** Merchant identifier. */
  merchantId: id,
  /** ISO 18245 merchant category code (4 digits). */
  merchantCategory: z.string().regex(/^\d{4}$/, 'must be a 4-digit merchant category code'),
  /** Where the card was used. */
  channel: z.enum(CHANNELS, { error: `must be one of ${CHANNELS.join(', ')}` }),
  /** Device fingerprint, for card-not-present transactions. */
  deviceId: z.preprocess(absent, id.optional()),
  /** Latitude of the terminal or IP geolocation, degrees. */
  latitude: z.preprocess(absent, number(z.number({ error: NOT_A_NUMBER }).min(-90, 'must be ≥ −90').max(90, 'must be ≤ 90')).optional()),
  /** Longitude, degrees. */
  longitude: z.preprocess(absent, number(z.number({ error: NOT_A_NUMBER }).min(-180, 'must be ≥ −180').max(180, 'must be ≤ 180')).optional()),
  /** Fraud label when known (1 = fraud, 0 = genuine). */
  label: z.preprocess(absent, number(z.number({ error: NOT_A_NUMBER }).refine((v) => v === 0 || v === 1, 'must be 0 or 1')).optional()),
});

/** A validated transaction (timestamp normalised to epoch milliseconds). */
export type Transaction = z.output<typeof TransactionSchema>;

/** What callers may pass in before validation. */
export type TransactionInput = z.input<typeof TransactionSchema>;
