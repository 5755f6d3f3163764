import { seededRandom } from '@lepton/core';
import { numberOption, optionsObject } from '../internal/guards.js';
import type { Bar } from './ohlcv.js';

const DAY = 86_400_000;
/** The first bar's time: 2020-01-01. */
const T0 = Date.UTC(2020, 0, 1);
/** Most bars: one a day from {@link T0} to 2199-12-31, the last day `validateBars` accepts (65,744). */
const MAX_BARS = (Date.UTC(2200, 0, 1) - T0) / DAY;

/**
 * Seeded synthetic daily OHLCV bars — **synthetic data**: log returns with GARCH(1,1)-style volatility clustering and
 * fat tails (Student-t-like shocks), plus a weak momentum component so that direction is slightly predictable.
 *
 * @param options - number of bars (default 1500), seed (default 1), start price (default 100)
 * @returns bars, one per day from 2020-01-01, each one `validateBars` accepts
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for options that are not an object, bars or seed that are
 *   not integers (bars from 0 to 65,744, so that every bar falls before 2200 like `validateBars` requires), or a start
 *   price that is not a finite positive number
 */
export function generatePrices(options?: { bars?: number; seed?: number; start?: number }): Bar[] {
  options = optionsObject(options, 'generatePrices');
  const rand = seededRandom(numberOption(options.seed ?? 1, 'generatePrices: seed', { integer: true }));
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  // Bounded by the bar schema's range (one bar a day from 2020 up to 2199): an unbounded count ran out of memory.
  const n = numberOption(options.bars ?? 1500, 'generatePrices: bars', { min: 0, max: MAX_BARS, integer: true });
  let price = numberOption(options.start ?? 100, 'generatePrices: start', { min: 0, exclusiveMin: true, max: 1e12 });
  let variance = 0.0001;
  let prev = 0;
  const bars: Bar[] = [];
  const t0 = T0;
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
      timestamp: t0 + i * DAY,
      open,
      high: Math.max(open, close) + spread,
      // Never above the body: a fixed floor of 0.01 made low > close once the price fell below a cent (a bar
      // validateBars refuses). Half the body's low keeps it positive; at usual spreads it is never the one taken.
      low: Math.max(Math.min(open, close) - spread, Math.min(open, close) / 2),
      close,
      volume: Math.round(1e6 * (1 + Math.abs(r) * 40) * (0.7 + rand() * 0.6)),
    });
    price = close;
  }
  return bars;
}
