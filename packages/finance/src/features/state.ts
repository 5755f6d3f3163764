import type { Transaction } from '../transactions/schema.js';

/**
 * Everything remembered about one entity (a card, customer, merchant or device). JSON-serialisable, so the in-memory
 * and Redis stores hold exactly the same thing and give identical features.
 */
export interface EntityState {
  /**
   * Recent events `[timestamp ms, amount, latitude | null, longitude | null, transaction id]`, oldest first, pruned to
   * the longest window. The id is kept for cards only (state written by older versions lacks it): it is how the feature
   * engine recognises a transaction delivered twice.
   */
  events: Array<[number, number, number | null, number | null, string?]>;
  /** Welford running statistics over the entity's whole amount history: number of transactions. */
  n: number;
  /** Welford running mean of the amounts. */
  mean: number;
  /** Welford sum of squared deviations of the amounts from the mean (variance is `m2 / (n - 1)`). */
  m2: number;
  /** Time of the latest event, epoch ms. */
  lastTs?: number;
  /** Latitude of the latest event that had a location, degrees. */
  lastLat?: number;
  /** Longitude of the latest event that had a location, degrees. */
  lastLon?: number;
  /** Time of the latest event that had a location, epoch ms. */
  lastLocTs?: number;
  /** Devices this entity has used (cards only) as `[deviceId, first seen ms]`; capped at 200, most recently first seen kept. */
  devices?: Array<[string, number]>;
  /** Merchants this entity has used (cards only) as `[merchantId, first seen ms]`; capped like `devices`. */
  merchants?: Array<[string, number]>;
}

/** Label statistics of one merchant category, for leak-free target encoding. */
export interface CategoryState {
  /** Transactions seen in the category (the encoding's denominator: a rate per transaction, not per label). */
  transactions?: number;
  /** Time of the latest transaction counted, epoch ms. */
  lastTs?: number;
  /** How many counted transactions were at exactly `lastTs` (excluded when scoring a transaction at that time). */
  atLastTs?: number;
  /** Labels already counted (known before the engine's watermark). */
  labelled: number;
  /** How many of the counted labels are fraud (label 1). */
  fraud: number;
  /** Labels that become known later: `[knownAt ms, label]`, sorted by time. */
  pending: Array<[number, number]>;
}

/** @internal Cap on remembered devices/merchants per card. */
export const SEEN_CAP = 200;

/**
 * Whether the entity's recent events include the transaction `id` (only card states record ids).
 *
 * @param s - entity state
 * @param id - transaction id
 * @returns true when `id` was already applied to this state within its longest window
 */
export function hasTransaction(s: EntityState | undefined, id: string): boolean {
  return s !== undefined && s.events.some((e) => e[4] === id);
}

/** An empty entity state. */
export function emptyEntity(): EntityState {
  return { events: [], n: 0, mean: 0, m2: 0 };
}

/**
 * Returns the entity's state after `tx` (a new object; `prev` is not modified).
 *
 * @param prev - state before the transaction
 * @param tx - the transaction
 * @param horizonMs - how much history the longest window needs
 * @param remember - also remember device, merchant and transaction id (for cards)
 * @returns the new state
 */
export function applyTransaction(prev: EntityState | undefined, tx: Transaction, horizonMs: number, remember: boolean): EntityState {
  const s = prev ?? emptyEntity();
  const cutoff = tx.timestamp - horizonMs;
  // Events are in time order: drop the expired prefix with one slice instead of testing every event.
  let expired = 0;
  while (expired < s.events.length && s.events[expired]![0] < cutoff) expired++;
  const events = s.events.slice(expired);
  // Kept sorted by time: the window pass and historyBefore walk back from the end. One engine sees its input in time
  // order, so this is the end of the list; but engines of a scorer group (one per stream partition) share merchant,
  // customer and device states, and another partition may record an older transaction after a newer one.
  let at = events.length;
  while (at > 0 && events[at - 1]![0] > tx.timestamp) at--;
  events.splice(at, 0, remember ? [tx.timestamp, tx.amount, tx.latitude ?? null, tx.longitude ?? null, tx.id] : [tx.timestamp, tx.amount, tx.latitude ?? null, tx.longitude ?? null]);
  const n = s.n + 1;
  const delta = tx.amount - s.mean;
  const mean = s.mean + delta / n;
  const m2 = s.m2 + delta * (tx.amount - mean);
  // The latest time and place only move forward (an older transaction recorded late changes neither).
  const newest = s.lastTs === undefined || tx.timestamp >= s.lastTs;
  const next: EntityState = { events, n, mean, m2, lastTs: newest ? tx.timestamp : s.lastTs! };
  if (newest && tx.latitude !== undefined && tx.longitude !== undefined) {
    next.lastLat = tx.latitude;
    next.lastLon = tx.longitude;
    next.lastLocTs = tx.timestamp;
  } else if (s.lastLat !== undefined && s.lastLon !== undefined && s.lastLocTs !== undefined) {
    next.lastLat = s.lastLat;
    next.lastLon = s.lastLon;
    next.lastLocTs = s.lastLocTs;
  }
  if (remember) {
    next.devices = remembered(s.devices, tx.deviceId, tx.timestamp);
    next.merchants = remembered(s.merchants, tx.merchantId, tx.timestamp);
  }
  return next;
}

function remembered(list: Array<[string, number]> | undefined, value: string | undefined, ts: number): Array<[string, number]> {
  const out = [...(list ?? [])];
  if (value !== undefined && !out.some(([v]) => v === value)) out.push([value, ts]);
  return out.length > SEEN_CAP ? out.slice(out.length - SEEN_CAP) : out;
}

/**
 * Target statistics known strictly before `t`: counted labels plus pending ones whose `knownAt < t`.
 *
 * @param s - category state
 * @param t - scoring time
 * @returns labelled and fraud counts
 */
export function labelsKnownBefore(s: CategoryState | undefined, t: number): { labelled: number; fraud: number } {
  if (s === undefined) return { labelled: 0, fraud: 0 };
  let labelled = s.labelled;
  let fraud = s.fraud;
  for (const [knownAt, label] of s.pending) {
    if (knownAt >= t) break;
    labelled++;
    fraud += label;
  }
  return { labelled, fraud };
}

/**
 * Counts one more transaction in the category.
 *
 * @param s - category state
 * @param ts - the transaction's time
 * @returns the new state
 */
export function countTransaction(s: CategoryState | undefined, ts: number): CategoryState {
  const base: CategoryState = s ?? { labelled: 0, fraud: 0, pending: [] };
  // Recorded late by another partition's engine: counted, but the latest time (and its count) stays.
  if (base.lastTs !== undefined && ts < base.lastTs) return { ...base, transactions: (base.transactions ?? 0) + 1 };
  const same = base.lastTs === ts;
  return { ...base, transactions: (base.transactions ?? 0) + 1, lastTs: ts, atLastTs: same ? (base.atLastTs ?? 0) + 1 : 1 };
}

/**
 * Transactions counted in the category strictly before `t`.
 *
 * @param s - category state
 * @param t - scoring time (never before the latest counted transaction)
 * @returns the count
 */
export function transactionsBefore(s: CategoryState | undefined, t: number): number {
  if (s === undefined) return 0;
  return (s.transactions ?? 0) - (s.lastTs !== undefined && s.lastTs >= t ? (s.atLastTs ?? 0) : 0);
}

/**
 * Adds a label that becomes known at `knownAt`, and folds every pending label known before `watermark` into the
 * counts (they can no longer be "in the future" for any transaction the engine will accept).
 *
 * @param s - category state
 * @param knownAt - when the label became known (e.g. chargeback date)
 * @param label - 1 fraud, 0 genuine
 * @param watermark - the engine's current time: no transaction before it will be scored again
 * @returns the new state
 */
export function addLabel(s: CategoryState | undefined, knownAt: number, label: number, watermark: number): CategoryState {
  const pending = [...(s?.pending ?? [])];
  let i = pending.length;
  while (i > 0 && pending[i - 1]![0] > knownAt) i--;
  pending.splice(i, 0, [knownAt, label]);
  return fold({ ...(s ?? { labelled: 0, fraud: 0 }), pending }, watermark);
}

/** @internal Moves pending labels known before `watermark` into the counts. */
export function fold(s: CategoryState, watermark: number): CategoryState {
  let k = 0;
  let labelled = s.labelled;
  let fraud = s.fraud;
  while (k < s.pending.length && s.pending[k]![0] < watermark) {
    labelled++;
    fraud += s.pending[k]![1];
    k++;
  }
  return k === 0 ? s : { ...s, labelled, fraud, pending: s.pending.slice(k) };
}
