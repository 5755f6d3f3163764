// Typed transactions for the feature and validation tests: one card, one merchant, at minute offsets from T0.
import type { Transaction } from '@lepton/finance';
import { RAW_RECORD } from './raw-record.js';

/** The text fields every test record shares with {@link RAW_RECORD}: card c1 of customer u1 at grocery merchant m1. */
const { currency, cardId, customerId, merchantId, merchantCategory, channel } = RAW_RECORD;

/** The tests' clock origin, 2026-03-02 09:00 UTC, in ms. */
export const T0 = Date.parse('2026-03-02T09:00:00Z');
/** One minute in ms. */
export const MIN = 60_000;

/** A valid transaction `minutes` after {@link T0} (amount 10 EUR, card c1 at grocery merchant m1), with `extra` on top. */
export const tx = (id: string, minutes: number, extra: Partial<Transaction> = {}): Transaction => ({
  id,
  timestamp: T0 + minutes * MIN,
  amount: 10,
  currency,
  cardId,
  customerId,
  merchantId,
  merchantCategory,
  channel,
  ...extra,
});
