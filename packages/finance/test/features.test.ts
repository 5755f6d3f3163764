import { describe, expect, it } from 'vitest';
import { FeatureEngine, MemoryStateStore, type Transaction } from '@lepton/finance';
import { syntheticStream } from './support/stream.js';
import { MIN, T0, tx } from './support/transactions.js';

describe('point-in-time features', () => {
  it('computes window aggregates, recency, z-scores, travel and first-use flags by hand', async () => {
    const engine = new FeatureEngine();
    await engine.process(tx('a', 0, { amount: 10, latitude: 48.8566, longitude: 2.3522 })); // Paris
    await engine.process(tx('b', 5, { amount: 30, merchantId: 'm2' }));
    await engine.process(tx('c', 50, { amount: 20, deviceId: 'd1', channel: 'ecom' }));
    // Scored 70 minutes after the first: the 10-minute window is empty; the last hour holds only c (b is 65 min back).
    const f = engine.describe(await engine.process(tx('d', 70, { amount: 100, latitude: 51.5074, longitude: -0.1278, deviceId: 'd2', channel: 'ecom' })));
    expect(f['card_count_10m']).toBe(0);
    expect(f['card_count_1h']).toBe(1); // only c (50 min)
    expect(f['card_sum_1h']).toBe(20);
    expect(f['card_count_24h']).toBe(3);
    expect(f['card_sum_24h']).toBe(60);
    expect(f['card_mean_24h']).toBe(20);
    expect(f['card_max_24h']).toBe(30);
    expect(f['merchant_count_24h']).toBe(2); // m1: a and c
    expect(f['device_count_24h']).toBe(0); // d2 never seen
    expect(f['card_seconds_since_prev_log']).toBeCloseTo(Math.log1p(20 * 60), 4);
    // history 10, 30, 20: mean 20, sample std 10 → (100 − 20) / 10
    expect(f['card_amount_z']).toBeCloseTo(8, 4);
    // Paris → London ≈ 343.5 km in 70 minutes (previous *located* transaction is a)
    expect(Math.expm1(f['card_distance_km_log']!)).toBeCloseTo(343.5, 0);
    expect(Math.expm1(f['card_speed_kmh_log']!)).toBeCloseTo(343.5 / (70 / 60), -1);
    expect(f['card_new_device']).toBe(1);
    expect(f['card_new_merchant']).toBe(0);
    expect(f['hour_sin']).toBeCloseTo(Math.sin((2 * Math.PI * (10 + 10 / 60)) / 24), 5);
    expect(f['channel_ecom']).toBe(1);
    const again = engine.describe(await engine.features(tx('e', 71, { deviceId: 'd1', merchantId: 'm9' })));
    expect(again['card_new_device']).toBe(0);
    expect(again['card_new_merchant']).toBe(1);
    expect(again['card_count_10m']).toBe(1);
  });

  it('no feature ever uses a transaction at or after the one being scored', async () => {
    // Streaming features vs. a fresh engine that only ever sees the strict past of each transaction, with future
    // transactions and labels *altered*: every vector must be identical.
    const { txs, labels } = syntheticStream(260, 7);
    const streaming = new FeatureEngine();
    for (const l of labels) await streaming.recordLabel(l.tx, l.label, l.knownAt);
    const streamed: Float32Array[] = [];
    for (const t of txs) streamed.push(await streaming.process(t));
    expect(txs.some((t, i) => i > 0 && t.timestamp === txs[i - 1]!.timestamp)).toBe(true); // same-millisecond cases present

    for (let i = 0; i < txs.length; i += 13) {
      const t = txs[i]!;
      const fresh = new FeatureEngine();
      for (const l of labels) {
        // labels known at or after t are flipped: if they leaked, features would differ
        await fresh.recordLabel(l.tx, l.knownAt >= t.timestamp ? 1 - l.label : l.label, l.knownAt);
      }
      for (const p of txs) {
        if (p.timestamp >= t.timestamp) continue; // the strict past only
        await fresh.process(p);
      }
      // Simultaneous and later transactions, with different amounts, must not matter either.
      const vector = await fresh.features(t);
      expect(Array.from(vector), `transaction ${i}`).toEqual(Array.from(streamed[i]!));
    }
  });

  it('merchant-category risk uses only labels known before scoring time (label delay)', async () => {
    const engine = new FeatureEngine({ smoothing: 1 });
    const risk = async (minutes: number): Promise<number> =>
      engine.describe(await engine.features(tx('q', minutes, { merchantCategory: '7995' })))['merchant_category_risk']!;
    const before = await risk(0);
    await engine.recordLabel({ merchantCategory: '7995' }, 1, T0 + 60 * MIN); // fraud confirmed an hour later
    expect(await risk(30)).toBe(before);
    expect(await risk(61)).toBeGreaterThan(before);
    await expect(engine.recordLabel({ merchantCategory: '7995' }, 2, T0)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('refuses an out-of-order transaction with a typed error and counts it', async () => {
    const engine = new FeatureEngine({ store: new MemoryStateStore() });
    await engine.process(tx('a', 10));
    await expect(engine.process(tx('late', 5))).rejects.toMatchObject({ code: 'FINANCE_OUT_OF_ORDER', details: { id: 'late' } });
    await engine.process(tx('b', 10)); // same millisecond is fine
    expect(engine.stats()).toEqual({ processed: 2, refusedOutOfOrder: 1, refusedDuplicate: 0, refusedInvalid: 0, labels: 0 });
  });
});
