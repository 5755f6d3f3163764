import { seededRandom } from '@lepton/core';
import { numberOption } from '../internal/guards.js';
import type { Bar } from './ohlcv.js';

/**
 * Seeded synthetic daily OHLCV bars — **synthetic data**: log returns with GARCH(1,1)-style volatility clustering and
 * fat tails (Student-t-like shocks), plus a weak momentum component so that direction is slightly predictable.
 *
 * @param options - number of bars (default 1500), seed (default 1), start price (default 100)
 * @returns bars, one per day from 2020-01-01
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for bars or seed that are not integers (bars ≥ 0), or a
 *   start price that is not a finite positive number
 */
export function generatePrices(options: { bars?: number; seed?: number; start?: number } = {}): Bar[] {
  const rand = seededRandom(numberOption(options.seed ?? 1, 'generatePrices: seed', { integer: true }));
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const n = numberOption(options.bars ?? 1500, 'generatePrices: bars', { min: 0, integer: true });
  let price = numberOption(options.start ?? 100, 'generatePrices: start', { min: 0, exclusiveMin: true, max: 1e12 });
  let variance = 0.0001;
  let prev = 0;
  const bars: Bar[] = [];
  const t0 = Date.parse('2020-01-01T00:00:00Z');
  for (let i = 0; i < n; i++) {
    // Fat tails: a normal scaled by an occasional jump in volatility.
    const shock = normal() * (rand() < 0.05 ? 2.5 : 1);
    const r = 0.0002 + 0.08 * prev + Math.sqrt(variance) * shock;
    variance = 0.000002 + 0.08 * r * r + 0.9 * variance;
    prev = r;
    const open = price;
    const close = open * Math.exp(r);
    const spread = Math.abs(normal()) * Math.sqrt(variance) * open;
    bars.push({
      timestamp: t0 + i * 86_400_000,
      open,
      high: Math.max(open, close) + spread,
      low: Math.max(0.01, Math.min(open, close) - spread),
      close,
      volume: Math.round(1e6 * (1 + Math.abs(r) * 40) * (0.7 + rand() * 0.6)),
    });
    price = close;
  }
  return bars;
}
