/**
 * Every error code `@lepton/finance` adds to `@lepton/core`'s, at run time (for JavaScript callers, log pipelines and
 * dead-letter dashboards). {@link FinanceErrorCode} documents each one. Finance also raises core's shared codes
 * (`INVALID_ARGUMENT`, `INVALID_INPUT`, `BUNDLE_INVALID` …, see `CORE_ERROR_CODES`); `tests/error-codes.test.ts` fails
 * when the source uses a code that is in neither list, or when a code listed here is no longer used.
 */
export const FINANCE_ERROR_CODES = [
  'TRANSACTIONS_READ_FAILED',
  'OHLCV_READ_FAILED',
  'FINANCE_TRANSACTION_INVALID',
  'FINANCE_OUT_OF_ORDER',
  'FINANCE_DUPLICATE',
  'FINANCE_FEATURE_NOT_FINITE',
  'FINANCE_STATE_CONFLICT',
  'FINANCE_STREAM_UNAVAILABLE',
  'FINANCE_STREAM_CONFIG',
  'FINANCE_MESSAGE_INVALID',
  'FINANCE_MESSAGE_POISON',
] as const;

/**
 * An error code `@lepton/finance` adds (one of {@link FINANCE_ERROR_CODES}); with core's codes it makes up
 * `LeptonErrorCode` in a program that imports `@lepton/finance`. Messages never carry card numbers or amounts.
 *
 * - `TRANSACTIONS_READ_FAILED` — a transactions CSV/NDJSON file or stream could not be read.
 * - `OHLCV_READ_FAILED` — an OHLCV price CSV could not be read.
 * - `FINANCE_TRANSACTION_INVALID` — a transaction that is not a validated one (`details.field` names the field).
 * - `FINANCE_OUT_OF_ORDER` — a transaction older than one its card's state has already folded in.
 * - `FINANCE_DUPLICATE` — a transaction id its card has already seen (counted once, never twice).
 * - `FINANCE_FEATURE_NOT_FINITE` — a feature came out NaN or infinite; nothing was recorded.
 * - `FINANCE_STATE_CONFLICT` — shared feature state kept changing under the store's retries (too many writers).
 * - `FINANCE_STREAM_UNAVAILABLE` — the Redis streams of the scoring service could not be set up or read (or Redis is
 *   older than 6.2).
 * - `FINANCE_STREAM_CONFIG` — the streams were set up with another partition count.
 * - `FINANCE_MESSAGE_INVALID` — a stream entry without a readable `tx` field (dead-lettered, not thrown).
 * - `FINANCE_MESSAGE_POISON` — a stream entry delivered more than `maxDeliveries` times (dead-lettered, not thrown).
 */
export type FinanceErrorCode = (typeof FINANCE_ERROR_CODES)[number];

declare module '@lepton/core' {
  interface LeptonErrorCodes {
    /** Codes added by `@lepton/finance` ({@link FINANCE_ERROR_CODES}). */
    finance: FinanceErrorCode;
  }
}
