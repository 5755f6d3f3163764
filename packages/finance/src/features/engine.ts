import { LeptonError } from '@lepton/core';
import { finiteArray, isArrayLike, isFiniteNumber, numberOption } from '../internal/guards.js';
import { readTransaction } from '../transactions/guard.js';
import type { Transaction } from '../transactions/schema.js';
import { addLabel, applyTransaction, countTransaction, hasTransaction, labelsKnownBefore, transactionsBefore, type CategoryState, type EntityState } from './state.js';
import { MemoryStateStore, type StateStore } from './store.js';
import { DEFAULT_WINDOWS, ENTITIES, type Entity, type Window } from './windows.js';

/** Options for {@link FeatureEngine}. Each is checked when the engine is made (`INVALID_ARGUMENT` when out of range). */
export interface FeatureEngineOptions {
  /** Where state lives: an object with `getMany`, `update` and `close` methods. Default: a new {@link MemoryStateStore}. */
  store?: StateStore;
  /** Sliding windows (unique names, finite positive lengths). Default 10 min, 1 h, 24 h, 7 d. */
  windows?: readonly Window[];
  /**
   * Target-encoding smoothing: pseudo-count of the global fraud rate added to each merchant category; finite, > 0
   * (0 would divide 0 by 0 for a category never seen). Default 50.
   */
  smoothing?: number;
  /**
   * Labels known more than this long before the newest transaction are folded into counts. Scoring processes that
   * share a store must stay within this lag of each other. Finite, ≥ 0. Default 24 h.
   */
  labelFoldLagMs?: number;
  /** Offset of local time from UTC, minutes, for the hour/day-of-week features; within ±1440. Default 0. */
  utcOffsetMinutes?: number;
  /** Fraud rate assumed before any label is known (the target encoding's global prior), in [0, 1]. Default 0.01. */
  basePrior?: number;
  /**
   * Pseudo-count of {@link basePrior} in the global rate: how many labels it takes to outweigh it; finite, > 0.
   * Default 100.
   */
  priorStrength?: number;
}

/** The engine's settings with defaults filled in and every value checked: the one place defaults live. */
interface ResolvedOptions {
  store: StateStore;
  windows: readonly Window[];
  smoothing: number;
  labelFoldLagMs: number;
  utcOffsetMinutes: number;
  basePrior: number;
  priorStrength: number;
}

function resolveOptions(options: FeatureEngineOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new LeptonError('INVALID_ARGUMENT', 'FeatureEngine options must be an object.');
  const windows = options.windows ?? DEFAULT_WINDOWS;
  if (!Array.isArray(windows) || windows.length === 0 || windows.some((w: Window) => typeof w?.name !== 'string' || !isFiniteNumber(w.ms) || !(w.ms > 0))) {
    throw new LeptonError('INVALID_ARGUMENT', 'windows must be a non-empty list of { name, ms } with finite positive durations.');
  }
  if (new Set(windows.map((w: Window) => w.name)).size !== windows.length) throw new LeptonError('INVALID_ARGUMENT', 'window names must be unique (they name the features).');
  const store: unknown = options.store ?? new MemoryStateStore();
  // Checked here, not on the first process(): a wrong store made every call throw a TypeError from inside the engine.
  if (typeof store !== 'object' || store === null || !(['getMany', 'update', 'close'] as const).every((m) => typeof (store as StateStore)[m] === 'function')) {
    throw new LeptonError('INVALID_ARGUMENT', 'store must be a StateStore (getMany, update and close methods), e.g. a MemoryStateStore or RedisStateStore.');
  }
  return {
    store: store as StateStore,
    windows,
    smoothing: numberOption(options.smoothing ?? 50, 'smoothing', { min: 0, exclusiveMin: true }),
    labelFoldLagMs: numberOption(options.labelFoldLagMs ?? DAY, 'labelFoldLagMs', { min: 0 }),
    utcOffsetMinutes: numberOption(options.utcOffsetMinutes ?? 0, 'utcOffsetMinutes', { min: -1440, max: 1440 }),
    basePrior: numberOption(options.basePrior ?? 0.01, 'basePrior', { min: 0, max: 1 }),
    priorStrength: numberOption(options.priorStrength ?? 100, 'priorStrength', { min: 0, exclusiveMin: true }),
  };
}

const DAY = 86_400_000;
const STATS = ['count', 'sum', 'mean', 'max'] as const;
/** Keys of a merchant category's label statistics and of the global ones. */
function categoryKeys(mcc: string): { mcc: string; all: string } {
  return { mcc: `mcc:${mcc}`, all: 'mcc:*' };
}

/** The states one transaction reads. */
interface EntityStates {
  card?: EntityState | undefined;
  customer?: EntityState | undefined;
  merchant?: EntityState | undefined;
  device?: EntityState | undefined;
  mcc?: CategoryState | undefined;
  all?: CategoryState | undefined;
}

/** Time-since-previous is capped here (and used when there is no previous transaction). */
const NO_PREVIOUS_SECONDS = 30 * 86_400;

function haversineKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371.0088 * Math.asin(Math.min(1, Math.sqrt(a)));
}

/**
 * Welford statistics of an entity's history *strictly before* `t`: events at `t` itself (several transactions in
 * the same millisecond) are taken back out, so no feature ever sees the transaction being scored or a simultaneous one.
 */
function historyBefore(s: EntityState, t: number): { n: number; mean: number; std: number } {
  let { n, mean, m2 } = s;
  for (let i = s.events.length - 1; i >= 0 && s.events[i]![0] >= t; i--) {
    const x = s.events[i]![1];
    if (n <= 1) {
      n = 0;
      mean = 0;
      m2 = 0;
      continue;
    }
    const meanPrev = (n * mean - x) / (n - 1);
    m2 -= (x - mean) * (x - meanPrev);
    mean = meanPrev;
    n--;
  }
  // Taking an outlier back out cancels almost all of m2: what is left below ~1e-12 of the m2 it started from is rounding
  // error (2e-16 per operation), not spread. Kept, it divided an amount into a "z-score" of 1e16.
  if (m2 <= 1e-12 * s.m2) m2 = 0;
  return { n, mean, std: n > 1 ? Math.sqrt(Math.max(m2, 0) / (n - 1)) : 0 };
}

/** Time of the latest event strictly before `t`, and the latest *located* event before `t` (place and time). */
function previousBefore(s: EntityState, t: number): { ts?: number; place?: { lat: number; lon: number; ts: number } } {
  const out: { ts?: number; place?: { lat: number; lon: number; ts: number } } = {};
  for (let i = s.events.length - 1; i >= 0 && out.place === undefined; i--) {
    const e = s.events[i]!;
    if (e[0] >= t) continue;
    out.ts ??= e[0];
    if (e[2] !== null && e[3] !== null) out.place = { lat: e[2], lon: e[3], ts: e[0] };
  }
  // Older than the longest window: only the last event, and the last located one, are remembered beyond it.
  if (out.ts === undefined && s.lastTs !== undefined && s.lastTs < t) out.ts = s.lastTs;
  if (out.place === undefined && s.lastLocTs !== undefined && s.lastLocTs < t && s.lastLat !== undefined && s.lastLon !== undefined) {
    out.place = { lat: s.lastLat, lon: s.lastLon, ts: s.lastLocTs };
  }
  return out;
}

/**
 * Point-in-time fraud features per transaction, from state shared through a {@link StateStore}.
 *
 * Every feature of a transaction at time t uses only transactions strictly before t and labels known strictly before
 * t: sliding-window counts/sums/means/maxima per card, customer, merchant and device; time since the card's previous
 * transaction; the amount's z-score against the card's and the customer's own history; merchant-category risk by
 * smoothed target encoding; distance and implied travel speed from the card's previous location; cyclical hour and
 * day of week; first use of a device or merchant by the card; log amount and channel.
 *
 * Transactions must reach one engine in non-decreasing time order (per scoring process); an older one is refused
 * with `FINANCE_OUT_OF_ORDER` and counted, never folded in silently.
 *
 * Bad input never becomes a number. {@link process} and {@link features} check their argument at run time (the shape
 * `TransactionSchema` outputs: timestamp in epoch ms, finite amount within bounds …) and refuse anything else with
 * `FINANCE_TRANSACTION_INVALID` naming the field, never its value. A transaction whose id its card has already seen is
 * refused with `FINANCE_DUPLICATE` and counted, and the state is left as it was, so a redelivered message never counts
 * twice. The ids live in the card's state, next to its events, for as long as those events are kept: the longest window
 * (7 days by default) back from the card's latest transaction. So memory stays bounded, and a redelivery to another
 * scoring process sharing the store is recognised too. A repeat older than that is also older than the card's latest
 * transaction, so an engine that processed that one refuses it as out of order; an engine whose watermark is still
 * earlier (just started on a shared store) would record it again. Every feature is checked to be finite before
 * anything is recorded (`FINANCE_FEATURE_NOT_FINITE` otherwise).
 *
 * @example
 * ```ts
 * import { FeatureEngine } from '@lepton/finance';
 * const engine = new FeatureEngine();
 * const x = await engine.process({ id: 't1', timestamp: Date.parse('2026-01-01T10:00:00Z'), amount: 25, currency: 'EUR',
 *   cardId: 'c1', customerId: 'u1', merchantId: 'm1', merchantCategory: '5411', channel: 'pos' });
 * console.log(engine.names.length === x.length); // true
 * ```
 */
export class FeatureEngine {
  /** Feature names, index-aligned with every vector this engine returns. */
  readonly names: readonly string[];
  private readonly store: StateStore;
  private readonly windows: readonly Window[];
  private readonly horizon: number;
  /** Window indices from the shortest to the longest. */
  private readonly shortestFirst: number[];
  private readonly basePrior: number;
  private readonly priorStrength: number;
  private readonly smoothing: number;
  private readonly foldLag: number;
  private readonly utcOffsetMs: number;
  private watermarkMs = -Infinity;
  private readonly counters = { processed: 0, refusedOutOfOrder: 0, refusedDuplicate: 0, refusedInvalid: 0, labels: 0 };

  /**
   * @param options - store, windows and encoding settings
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for an option out of range (see {@link FeatureEngineOptions})
   */
  constructor(options: FeatureEngineOptions = {}) {
    const o = resolveOptions(options);
    this.store = o.store;
    this.windows = o.windows;
    this.horizon = Math.max(...this.windows.map((w) => w.ms));
    this.shortestFirst = this.windows.map((_, i) => i).sort((a, b) => this.windows[a]!.ms - this.windows[b]!.ms);
    this.basePrior = o.basePrior;
    this.priorStrength = o.priorStrength;
    this.smoothing = o.smoothing;
    this.foldLag = o.labelFoldLagMs;
    this.utcOffsetMs = o.utcOffsetMinutes * 60_000;
    const names: string[] = [];
    for (const e of ENTITIES) for (const w of this.windows) for (const s of STATS) names.push(`${e}_${s}_${w.name}`);
    names.push(
      'card_seconds_since_prev_log',
      'card_amount_z',
      'customer_amount_z',
      'merchant_category_risk',
      'card_distance_km_log',
      'card_speed_kmh_log',
      'hour_sin',
      'hour_cos',
      'dow_sin',
      'dow_cos',
      'card_new_device',
      'card_new_merchant',
      'has_device',
      'amount_log',
      'channel_pos',
      'channel_ecom',
      'channel_atm',
    );
    this.names = names;
  }

  /** Time of the newest transaction processed (epoch ms); older ones are refused. */
  get watermark(): number {
    return this.watermarkMs;
  }

  /** Transactions processed, refused (out of order, duplicate, invalid), and labels recorded. */
  stats(): {
    /** Transactions recorded by {@link FeatureEngine.process}. */
    processed: number;
    /** Transactions refused with `FINANCE_OUT_OF_ORDER` because they were older than the watermark. */
    refusedOutOfOrder: number;
    /** Transactions refused with `FINANCE_DUPLICATE` because their card had already seen their id. */
    refusedDuplicate: number;
    /**
     * Transactions refused by {@link FeatureEngine.process} with `FINANCE_TRANSACTION_INVALID` (not a valid
     * transaction) or `FINANCE_FEATURE_NOT_FINITE`.
     */
    refusedInvalid: number;
    /** Labels recorded by {@link FeatureEngine.recordLabel}. */
    labels: number;
  } {
    return { ...this.counters };
  }

  /**
   * A checked plain copy of `tx` (each field read once: the engine never reads the caller's object again), or
   * `FINANCE_TRANSACTION_INVALID` unless it has the shape `TransactionSchema` outputs — also when reading it threw.
   */
  private check(tx: unknown, method: string): Transaction {
    const r = readTransaction(tx);
    if ('tx' in r) return r.tx;
    const issue = r.issue;
    if (method === 'process') this.counters.refusedInvalid++;
    throw new LeptonError(
      'FINANCE_TRANSACTION_INVALID',
      `FeatureEngine.${method}: '${issue.field}' ${issue.message}. Validate records with validateTransactions (or TransactionSchema) first.`,
      { details: { field: issue.field } },
    );
  }

  /** Throws `FINANCE_FEATURE_NOT_FINITE` when a feature is NaN or ±Infinity (nothing is recorded then). */
  private checkFinite(tx: Transaction, features: Float32Array, method: string): void {
    const bad = features.findIndex((v) => !Number.isFinite(v));
    if (bad < 0) return;
    if (method === 'process') this.counters.refusedInvalid++;
    const feature = this.names[bad]!;
    throw new LeptonError('FINANCE_FEATURE_NOT_FINITE', `FeatureEngine.${method}: feature '${feature}' of transaction ${tx.id} is not finite; nothing was recorded.`, {
      details: { id: tx.id, feature },
    });
  }

  /** Store keys of every state a transaction reads and updates (no device key without a device). */
  private keys(tx: Transaction): { card: string; customer: string; merchant: string; device?: string; mcc: string; all: string } {
    const keys = { card: `card:${tx.cardId}`, customer: `customer:${tx.customerId}`, merchant: `merchant:${tx.merchantId}`, ...categoryKeys(tx.merchantCategory) };
    return tx.deviceId === undefined ? keys : { ...keys, device: `device:${tx.deviceId}` };
  }

  /** Every state `tx` reads. */
  private async read(tx: Transaction): Promise<EntityStates> {
    const k = this.keys(tx);
    const [card, customer, merchant, mcc, all, device] = await this.store.getMany<unknown>(
      k.device === undefined ? [k.card, k.customer, k.merchant, k.mcc, k.all] : [k.card, k.customer, k.merchant, k.mcc, k.all, k.device],
    );
    return {
      card: card as EntityState | undefined,
      customer: customer as EntityState | undefined,
      merchant: merchant as EntityState | undefined,
      device: device as EntityState | undefined,
      mcc: mcc as CategoryState | undefined,
      all: all as CategoryState | undefined,
    };
  }

  /**
   * Features of a transaction from the state as it is now, without recording the transaction.
   *
   * @param tx - a validated transaction
   * @returns the feature vector (see {@link names}), every value finite
   * @throws {@link @lepton/core!LeptonError} `FINANCE_TRANSACTION_INVALID` (with `details.field`; `(record)` when `tx`
   *   is not an object or reading it threw) when `tx` is not a validated transaction; `FINANCE_FEATURE_NOT_FINITE`
   *   when a feature would not be finite
   */
  async features(tx: Transaction): Promise<Float32Array> {
    tx = this.check(tx, 'features');
    const out = this.compute(tx, await this.read(tx));
    this.checkFinite(tx, out, 'features');
    return out;
  }

  /**
   * Scores-then-records: the features of `tx` from history strictly before it, then `tx` is added to the state.
   *
   * @param tx - a validated transaction (from `validateTransactions` or `TransactionSchema`), not older than
   *   {@link watermark}, whose id its card has not seen
   * @returns the feature vector, every value finite
   * @throws {@link @lepton/core!LeptonError} `FINANCE_TRANSACTION_INVALID` (with `details.field`; `(record)` when `tx`
   *   is not an object or reading it threw: a getter or proxy that throws) when `tx` is not a validated transaction; `FINANCE_DUPLICATE` when its card already recorded a transaction with its id (nothing is
   *   recorded again); `FINANCE_OUT_OF_ORDER` when `tx` is older than a transaction already processed;
   *   `FINANCE_FEATURE_NOT_FINITE` when a feature would not be finite. Each is counted in {@link stats}, and none
   *   changes the state.
   */
  async process(tx: Transaction): Promise<Float32Array> {
    tx = this.check(tx, 'process');
    const states = await this.read(tx);
    // Duplicates first: a redelivered message is safe to acknowledge, and should not read as a clock problem.
    if (hasTransaction(states.card, tx.id)) throw this.duplicate(tx);
    if (tx.timestamp < this.watermarkMs) {
      this.counters.refusedOutOfOrder++;
      throw new LeptonError(
        'FINANCE_OUT_OF_ORDER',
        `Transaction ${tx.id} is ${((this.watermarkMs - tx.timestamp) / 1000).toFixed(0)} s older than one already processed; ` +
          'send each card’s transactions in time order (or sort the batch first).',
        { details: { id: tx.id, timestamp: tx.timestamp, watermark: this.watermarkMs } },
      );
    }
    const features = this.compute(tx, states);
    this.checkFinite(tx, features, 'process');
    const k = this.keys(tx);
    // The card's update is the atomic check (one key, read-modify-write): another call or another process may have
    // recorded the same id since the read above. Never move it after the other updates, or they would count it twice.
    let duplicate = false;
    await this.store.update<EntityState>(k.card, (s) => {
      duplicate = hasTransaction(s, tx.id);
      return duplicate ? s! : applyTransaction(s, tx, this.horizon, true);
    });
    if (duplicate) throw this.duplicate(tx);
    this.watermarkMs = Math.max(this.watermarkMs, tx.timestamp);
    await this.store.update<EntityState>(k.customer, (s) => applyTransaction(s, tx, this.horizon, false));
    await this.store.update<EntityState>(k.merchant, (s) => applyTransaction(s, tx, this.horizon, false));
    if (k.device !== undefined) await this.store.update<EntityState>(k.device, (s) => applyTransaction(s, tx, this.horizon, false));
    await this.store.update<CategoryState>(k.mcc, (s) => countTransaction(s, tx.timestamp));
    await this.store.update<CategoryState>(k.all, (s) => countTransaction(s, tx.timestamp));
    this.counters.processed++;
    return features;
  }

  /** Counts and builds the `FINANCE_DUPLICATE` refusal of `tx`. */
  private duplicate(tx: Transaction): LeptonError {
    this.counters.refusedDuplicate++;
    return new LeptonError(
      'FINANCE_DUPLICATE',
      `Transaction ${tx.id} was already recorded for its card; it is not counted again (safe to acknowledge a redelivery).`,
      { details: { id: tx.id } },
    );
  }

  /**
   * Records a fraud label that becomes known at `knownAt` (chargeback, confirmed case). It affects the merchant
   * category risk of transactions after `knownAt` only, so label delay never leaks into features.
   *
   * @param tx - the labelled transaction (its merchant category)
   * @param label - 1 fraud, 0 genuine
   * @param knownAt - when the label became known, epoch ms (finite)
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a label other than 0/1, a `knownAt` that is not a
   *   finite number, or a missing 4-digit merchant category (also when reading it throws)
   */
  async recordLabel(tx: Pick<Transaction, 'merchantCategory'>, label: number, knownAt: number): Promise<void> {
    if (label !== 0 && label !== 1) throw new LeptonError('INVALID_ARGUMENT', 'label must be 0 or 1.');
    if (!isFiniteNumber(knownAt)) throw new LeptonError('INVALID_ARGUMENT', 'knownAt must be a finite time in epoch milliseconds.');
    let mcc: unknown;
    try {
      mcc = tx?.merchantCategory; // read once: a getter or proxy that throws is a bad argument, not a TypeError
    } catch {
      mcc = undefined;
    }
    if (typeof mcc !== 'string' || !/^\d{4}$/.test(mcc)) {
      throw new LeptonError('INVALID_ARGUMENT', 'recordLabel needs the transaction\'s 4-digit merchantCategory.');
    }
    const watermark = this.watermarkMs - this.foldLag;
    const k = categoryKeys(mcc);
    await this.store.update<CategoryState>(k.mcc, (s) => addLabel(s, knownAt, label, watermark));
    await this.store.update<CategoryState>(k.all, (s) => addLabel(s, knownAt, label, watermark));
    this.counters.labels++;
  }

  /**
   * Names the values of a feature vector.
   *
   * @param vector - from {@link process} or {@link features}
   * @returns `{ name: value }`
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` when `vector` is not an array of {@link names}`.length`
   *   finite numbers (`details.index` names a bad value)
   */
  describe(vector: ArrayLike<number>): Record<string, number> {
    if (!isArrayLike(vector) || vector.length !== this.names.length) {
      throw new LeptonError('INVALID_INPUT', `describe needs a feature vector of ${this.names.length} values (from process or features).`);
    }
    // A named vector is read as numbers: a string, null or NaN handed back under a feature name is a wrong value.
    finiteArray(vector, 'FeatureEngine.describe: vector');
    return Object.fromEntries(this.names.map((n, i) => [n, vector[i]!]));
  }

  /** Releases the store. */
  async close(): Promise<void> {
    await this.store.close();
  }

  private compute(tx: Transaction, s: EntityStates): Float32Array {
    const t = tx.timestamp;
    const out = new Float32Array(this.names.length);
    let k = 0;
    // One backward pass per entity over its events (newest first) fills every window: an event counts in each window
    // at least as long as its age. Windows are visited shortest first, so most events touch only the longest ones.
    const nw = this.windows.length;
    const count = new Float64Array(nw);
    const sum = new Float64Array(nw);
    const max = new Float64Array(nw);
    for (const e of ENTITIES as readonly Entity[]) {
      count.fill(0);
      sum.fill(0);
      max.fill(0);
      const events = s[e]?.events ?? [];
      // Going back in time ages only grow, so the shortest window an event still falls in only moves forward.
      let first = 0;
      for (let i = events.length - 1; i >= 0; i--) {
        const ev = events[i]!;
        const ts = ev[0];
        if (ts >= t) continue;
        const age = t - ts;
        while (first < nw && age > this.windows[this.shortestFirst[first]!]!.ms) first++;
        if (first === nw) break;
        const amount = ev[1];
        for (let o = first; o < nw; o++) {
          const w = this.shortestFirst[o]!;
          count[w]! += 1;
          sum[w]! += amount;
          if (amount > max[w]!) max[w] = amount;
        }
      }
      for (let w = 0; w < nw; w++) {
        out[k++] = count[w]!;
        out[k++] = sum[w]!;
        out[k++] = count[w]! ? sum[w]! / count[w]! : 0;
        out[k++] = max[w]!;
      }
    }
    const card = s.card;
    const prev = card ? previousBefore(card, t) : {};
    const seconds = prev.ts === undefined ? NO_PREVIOUS_SECONDS : Math.min(NO_PREVIOUS_SECONDS, (t - prev.ts) / 1000);
    out[k++] = Math.log1p(seconds);
    const z = (st: EntityState | undefined): number => {
      if (!st) return 0;
      const h = historyBefore(st, t);
      // A spread below 1e-9 of the mean is rounding noise of the running statistics (equal amounts), not variation:
      // dividing by it would give a z-score of 1e20 or, on denormal spreads, Infinity.
      return h.n > 1 && h.std > 1e-9 * Math.abs(h.mean) ? (tx.amount - h.mean) / h.std : 0;
    };
    out[k++] = z(card);
    out[k++] = z(s.customer);
    const all = labelsKnownBefore(s.all, t);
    const mcc = labelsKnownBefore(s.mcc, t);
    // Global fraud rate known so far, shrunk towards basePrior while few labels are known (a cold start would
    // otherwise give every category a rate of 50 %).
    // Confirmed frauds per transaction seen (both strictly before t). Dividing by labelled transactions instead would
    // be biased: fraud is confirmed within weeks, genuine transactions only once the chargeback window has passed.
    const prior = (all.fraud + this.priorStrength * this.basePrior) / (transactionsBefore(s.all, t) + this.priorStrength);
    out[k++] = (mcc.fraud + this.smoothing * prior) / (transactionsBefore(s.mcc, t) + this.smoothing);
    let distance = 0;
    let speed = 0;
    if (tx.latitude !== undefined && tx.longitude !== undefined && prev.place !== undefined) {
      distance = haversineKm(prev.place.lat, prev.place.lon, tx.latitude, tx.longitude);
      // Speed over the time between the two located transactions; at least a minute, so it stays finite.
      const hours = Math.max((t - prev.place.ts) / 3_600_000, 1 / 60);
      speed = distance / hours;
    }
    out[k++] = Math.log1p(distance);
    out[k++] = Math.log1p(speed);
    const local = new Date(t + this.utcOffsetMs);
    const hour = local.getUTCHours() + local.getUTCMinutes() / 60;
    const dow = local.getUTCDay() + hour / 24;
    out[k++] = Math.sin((2 * Math.PI * hour) / 24);
    out[k++] = Math.cos((2 * Math.PI * hour) / 24);
    out[k++] = Math.sin((2 * Math.PI * dow) / 7);
    out[k++] = Math.cos((2 * Math.PI * dow) / 7);
    const seenBefore = (list: Array<[string, number]> | undefined, v: string | undefined): boolean =>
      v !== undefined && (list ?? []).some(([id, first]) => id === v && first < t);
    out[k++] = tx.deviceId !== undefined && !seenBefore(card?.devices, tx.deviceId) ? 1 : 0;
    out[k++] = seenBefore(card?.merchants, tx.merchantId) ? 0 : 1;
    out[k++] = tx.deviceId === undefined ? 0 : 1;
    out[k++] = Math.log1p(tx.amount);
    out[k++] = tx.channel === 'pos' ? 1 : 0;
    out[k++] = tx.channel === 'ecom' ? 1 : 0;
    out[k++] = tx.channel === 'atm' ? 1 : 0;
    return out;
  }
}
