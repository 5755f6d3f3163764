import { parseTimestamp } from '@lepton/core';
import { z } from 'zod';

/** Payment channels the schema accepts. */
export const CHANNELS = ['pos', 'ecom', 'atm'] as const;

/** `''`, `null` and `undefined` all mean "absent" (CSV writes empty cells for missing optional fields). */
const absent = (v: unknown): unknown => (v === '' || v === null ? undefined : v);

const id = z.string().trim().min(1, 'must be a non-empty identifier').max(128, 'must be at most 128 characters');

/** ISO-8601, epoch milliseconds or Date → epoch milliseconds (the forms every Lepton package accepts). */
export const timestampSchema = z.union([z.number(), z.string(), z.date()]).transform((v, ctx) => {
  const ms = parseTimestamp(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be an ISO-8601 date-time or epoch milliseconds' });
    return z.NEVER;
  }
  return ms;
});

const number = (check: z.ZodNumber) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v), check);

/**
 * A card transaction as it arrives from CSV, JSON or application objects. Identifiers are opaque tokens: never put a
 * card number (PAN) in `cardId`. Validation never echoes field values in its messages.
 */
export const TransactionSchema = z.object({
  /** Unique transaction id. */
  id,
  /** When it happened: ISO-8601 string, epoch milliseconds, or Date; stored as epoch ms. */
  timestamp: timestampSchema,
  /** Amount in the currency's major unit; must be positive. */
  amount: number(z.number({ error: 'must be a number' }).finite('must be finite').positive('must be positive')),
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
  latitude: z.preprocess(absent, number(z.number().min(-90, 'must be ≥ −90').max(90, 'must be ≤ 90')).optional()),
  /** Longitude, degrees. */
  longitude: z.preprocess(absent, number(z.number().min(-180, 'must be ≥ −180').max(180, 'must be ≤ 180')).optional()),
  /** Fraud label when known (1 = fraud, 0 = genuine). */
  label: z.preprocess(absent, number(z.number().refine((v) => v === 0 || v === 1, 'must be 0 or 1')).optional()),
});

/** A validated transaction (timestamp normalised to epoch milliseconds). */
export type Transaction = z.output<typeof TransactionSchema>;

/** What callers may pass in before validation. */
export type TransactionInput = z.input<typeof TransactionSchema>;
