import { LeptonError, seededRandom } from '@lepton/core';
import { numberOption, optionsObject } from '../internal/guards.js';
import type { Transaction } from '../transactions/schema.js';

/** Options for {@link generateTransactions}. */
export interface SyntheticOptions {
  /** Number of cards (one customer each; some customers hold two cards). Default 400. */
  cards?: number;
  /** Days simulated. Default 30. */
  days?: number;
  /** Seed: same seed, same data. Default 1. */
  seed?: number;
  /** Start time, epoch ms. Default 2026-01-05T00:00:00Z. */
  start?: number;
  /** Mean genuine transactions per card per day. Default 2. */
  dailyRate?: number;
}

/** Fraud pattern that produced a transaction (`genuine` for normal spending). */
export type Pattern = 'genuine' | 'card-testing' | 'account-takeover' | 'compromised-merchant';

/** A synthetic transaction with its ground truth. */
export interface SyntheticTransaction extends Transaction {
  /** 1 fraud, 0 genuine. */
  label: number;
  /** Which pattern made it. */
  pattern: Pattern;
  /** When the label becomes known (fraud: chargeback 3–40 days later; genuine: 45 days). */
  labelKnownAt: number;
}

const DAY = 86_400_000;
/** Most days simulated: ten years (from a start up to 2100, labels then stay inside the schema's range). */
const MAX_DAYS = 3660;
/** Most cards × days × daily rate (about the number of genuine transactions, all held in memory). */
const MAX_EXPECTED = 10_000_000;
const CATEGORIES = ['5411', '5812', '5541', '5999', '5732', '4121', '7995', '5311'] as const;
const CITIES: ReadonlyArray<readonly [number, number]> = [
  [48.8566, 2.3522],
  [45.764, 4.8357],
  [43.2965, 5.3698],
  [50.6292, 3.0573],
  [44.8378, -0.5792],
  [47.2184, -1.5536],
];
const FAR: ReadonlyArray<readonly [number, number]> = [
  [40.7128, -74.006],
  [1.3521, 103.8198],
  [55.7558, 37.6173],
  [-23.5505, -46.6333],
];

/**
 * Generates a seeded, synthetic card-transaction history with realistic structure — **synthetic data, no real
 * cardholders**: daily and weekly seasonality of genuine spending around each cardholder's home city and usual
 * merchants, with genuine look-alikes of fraud (trips abroad, new devices, occasional large purchases, quick
 * successive purchases); card-testing bursts (many small e-commerce charges within minutes); account takeover (a new device, a
 * far-away location, then large purchases); and compromised merchants whose customers' cards are later defrauded.
 * Labels become known with a delay (`labelKnownAt`). Sorted by time.
 *
 * @param options - size, duration and seed
 * @returns transactions, oldest first
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for options that are not an object, cards, days or seed
 *   that are not integers ≥ 0 (days at most 3,660), a start outside 1970–2100, a negative or non-finite daily rate, or
 *   more than 10 million cards × days × max(1, daily rate)
 * @example
 * ```ts
 * import { generateTransactions } from '@lepton/finance';
 * const txs = generateTransactions({ cards: 50, days: 7, seed: 3 });
 * console.log(txs.length, txs.filter((t) => t.label === 1).length);
 * ```
 */
export function generateTransactions(options?: SyntheticOptions): SyntheticTransaction[] {
  options = optionsObject(options, 'generateTransactions');
  const rand = seededRandom(numberOption(options.seed ?? 1, 'generateTransactions: seed', { integer: true }));
  const nCards = numberOption(options.cards ?? 400, 'generateTransactions: cards', { min: 0, integer: true });
  const days = numberOption(options.days ?? 30, 'generateTransactions: days', { min: 0, max: MAX_DAYS, integer: true });
  // Up to 2100, so that the generated history (and its label dates) stays inside the transaction schema's range.
  const start = numberOption(options.start ?? Date.parse('2026-01-05T00:00:00Z'), 'generateTransactions: start', { min: 0, max: Date.UTC(2100, 0, 1) });
  const rate = numberOption(options.dailyRate ?? 2, 'generateTransactions: dailyRate', { min: 0 });
  // Everything is built in memory: a huge count (cards: 1e308) ran for ever or out of memory instead of being refused.
  if (nCards * days * Math.max(1, rate) > MAX_EXPECTED) {
    throw new LeptonError('INVALID_ARGUMENT', `generateTransactions: cards × days × dailyRate must stay within ${MAX_EXPECTED.toLocaleString('en')} (about that many transactions, all held in memory); generate in parts with different seeds.`);
  }
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const merchants = Array.from({ length: 120 }, (_, i) => ({ id: `mer_${i}`, mcc: CATEGORIES[i % CATEGORIES.length]!, city: pick(CITIES), online: i % 3 === 0 }));
  const compromised = new Set(merchants.filter(() => rand() < 0.04).map((m) => m.id));
  const out: SyntheticTransaction[] = [];
  let n = 0;
  const push = (tx: Omit<SyntheticTransaction, 'id' | 'currency' | 'labelKnownAt'>): void => {
    const delay = tx.label === 1 ? (3 + rand() * 37) * DAY : 45 * DAY;
    out.push({ ...tx, id: `tx_${(n++).toString(36)}`, currency: 'EUR', labelKnownAt: Math.round(tx.timestamp + delay) });
  };
  for (let c = 0; c < nCards; c++) {
    const cardId = `card_${c}`;
    const customerId = `cust_${c % Math.ceil(nCards * 0.9)}`;
    const home = pick(CITIES);
    const usual = Array.from({ length: 6 }, () => pick(merchants));
    let device = `dev_${c}`;
    const spend = Math.exp(3 + normal() * 0.6); // typical basket for this cardholder
    // Genuine behaviour that looks like fraud, so the task is not trivially separable: a trip abroad, a new phone,
    // occasional big purchases and quick successive purchases.
    const trip = rand() < 0.06 ? { from: Math.floor(rand() * days), length: 2 + Math.floor(rand() * 5), place: pick(FAR) } : undefined;
    let hitCompromised: number | undefined;
    for (let d = 0; d < days; d++) {
      const weekend = new Date(start + d * DAY).getUTCDay() % 6 === 0;
      const count = Math.floor(rate * (weekend ? 1.4 : 1) * (0.5 + rand()));
      const away = trip !== undefined && d >= trip.from && d < trip.from + trip.length;
      if (rand() < 0.004) device = `dev_${c}_${d}`; // new phone or browser
      for (let k = 0; k < count; k++) {
        const hour = Math.min(23.9, Math.max(6, 13 + normal() * 4));
        const m = away || rand() >= 0.85 ? pick(merchants) : pick(usual);
        const ts = Math.round(start + d * DAY + hour * 3_600_000);
        const online = m.online;
        const place = away ? trip!.place : home;
        const big = rand() < 0.02 ? 8 + rand() * 10 : 1;
        const extra = rand() < 0.05 ? 1 + Math.floor(rand() * 3) : 0; // a few purchases within minutes
        for (let e = 0; e <= extra; e++) {
          push({
            timestamp: ts + e * Math.floor(60_000 + rand() * 240_000),
            amount: Math.max(1, Math.round(spend * big * Math.exp(normal() * 0.5) * 100) / 100),
            cardId,
            customerId,
            merchantId: e === 0 ? m.id : pick(merchants).id,
            merchantCategory: m.mcc,
            channel: online ? 'ecom' : rand() < 0.05 ? 'atm' : 'pos',
            ...(online ? { deviceId: device } : {}),
            ...(online ? {} : { latitude: place[0] + normal() * 0.05, longitude: place[1] + normal() * 0.05 }),
            label: 0,
            pattern: 'genuine',
          });
        }
        if (compromised.has(m.id) && hitCompromised === undefined && rand() < 0.5) hitCompromised = ts;
      }
    }
    const at = (): number => start + Math.floor((0.2 + rand() * 0.75) * days * DAY);
    // Card testing: a burst of tiny e-commerce charges at one merchant from a fresh device.
    if (rand() < 0.05) {
      const t0 = at();
      const m = pick(merchants.filter((x) => x.online));
      const tester = `dev_x${c}`;
      for (let k = 0, burst = 6 + Math.floor(rand() * 10); k < burst; k++) {
        push({ timestamp: t0 + k * Math.floor(20_000 + rand() * 60_000), amount: Math.round((0.5 + rand() * 2) * 100) / 100, cardId, customerId, merchantId: m.id, merchantCategory: m.mcc, channel: 'ecom', deviceId: tester, label: 1, pattern: 'card-testing' });
      }
    }
    // Account takeover: new device far away, then a few large purchases within hours.
    if (rand() < 0.04) {
      const t0 = at();
      const [lat, lon] = pick(FAR);
      for (let k = 0, count = 2 + Math.floor(rand() * 4); k < count; k++) {
        const m = pick(merchants);
        push({ timestamp: t0 + k * Math.floor(600_000 + rand() * 3_600_000), amount: Math.round(spend * (6 + rand() * 20) * 100) / 100, cardId, customerId, merchantId: m.id, merchantCategory: pick(['5732', '7995', '5999'] as const), channel: rand() < 0.6 ? 'ecom' : 'pos', deviceId: `dev_ato${c}`, latitude: lat + normal() * 0.1, longitude: lon + normal() * 0.1, label: 1, pattern: 'account-takeover' });
      }
    }
    // Compromised merchant: days after the card was used there, fraudulent purchases appear.
    if (hitCompromised !== undefined && rand() < 0.6) {
      const t0 = hitCompromised + Math.floor((1 + rand() * 6) * DAY);
      if (t0 < start + days * DAY) {
        for (let k = 0, count = 1 + Math.floor(rand() * 3); k < count; k++) {
          const m = pick(merchants.filter((x) => x.online));
          push({ timestamp: t0 + k * Math.floor(rand() * 7_200_000), amount: Math.round(spend * (3 + rand() * 8) * 100) / 100, cardId, customerId, merchantId: m.id, merchantCategory: m.mcc, channel: 'ecom', deviceId: `dev_cm${c}`, label: 1, pattern: 'compromised-merchant' });
        }
      }
    }
  }
  return out.sort((a, b) => a.timestamp - b.timestamp || (a.id < b.id ? -1 : 1));
}
