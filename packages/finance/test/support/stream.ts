import { seededRandom } from '@lepton/core';
import type { Transaction } from '@lepton/finance';

/**
 * A small seeded synthetic transaction stream for tests: a few cards/customers/merchants/devices, locations, some
 * transactions in the same millisecond, and fraud labels with a delay. Synthetic: no real card data.
 */
export function syntheticStream(n: number, seed: number): { txs: Transaction[]; labels: Array<{ tx: Transaction; label: number; knownAt: number }> } {
  const rand = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const cards = Array.from({ length: 8 }, (_, i) => ({ card: `card${i}`, customer: `cust${i % 5}`, home: [48 + rand() * 4, 2 + rand() * 6] as const }));
  const merchants = Array.from({ length: 12 }, (_, i) => ({ id: `m${i}`, mcc: ['5411', '5812', '5999', '7995'][i % 4]! }));
  const txs: Transaction[] = [];
  let t = Date.parse('2026-03-01T00:00:00Z');
  for (let i = 0; i < n; i++) {
    // Mostly minutes apart, sometimes the very same millisecond, sometimes days.
    const r = rand();
    t += r < 0.08 ? 0 : r < 0.9 ? Math.floor(rand() * 30 * 60_000) : Math.floor(rand() * 3 * 86_400_000);
    const c = pick(cards);
    const m = pick(merchants);
    const channel = pick(['pos', 'ecom', 'atm'] as const);
    const tx: Transaction = {
      id: `tx${i}`,
      timestamp: t,
      amount: Math.round((5 + rand() ** 3 * 800) * 100) / 100,
      currency: 'EUR',
      cardId: c.card,
      customerId: c.customer,
      merchantId: m.id,
      merchantCategory: m.mcc,
      channel,
    };
    if (channel === 'ecom') tx.deviceId = `dev${Math.floor(rand() * 6)}`;
    if (rand() < 0.8) {
      tx.latitude = c.home[0] + (rand() < 0.05 ? 20 : (rand() - 0.5) * 0.5);
      tx.longitude = c.home[1] + (rand() - 0.5) * 0.5;
    }
    txs.push(tx);
  }
  const labels = txs.map((tx) => ({ tx, label: rand() < (tx.merchantCategory === '7995' ? 0.3 : 0.03) ? 1 : 0, knownAt: tx.timestamp + Math.floor((1 + rand() * 20) * 86_400_000) }));
  return { txs, labels };
}
