import { adx, atr, bollingerbands, ema, macd, obv, rsi, sma, stochastic } from 'technicalindicators';
import { LeptonError } from '@lepton/core';
import { isFiniteNumber } from '../internal/guards.js';
import type { Bar } from './ohlcv.js';

/** Indicator features per bar, aligned so that row t uses bars 0…t only. */
export interface IndicatorFeatures {
  /** Feature names, index-aligned with each row. */
  names: string[];
  /** One row per bar from `firstIndex` on (earlier bars lack warm-up history). */
  rows: Float32Array[];
  /** Index in the input bars of the first row. */
  firstIndex: number;
  /** Timestamp of each row's bar. */
  timestamps: number[];
}

/**
 * Bars straight from a caller are checked here, not only by `validateBars`: a NaN close makes every indicator NaN
 * from that bar on (reported as "too few bars" at best), and a zero price divides by zero. A hole in the array is a
 * missing bar (`forEach` and `map` skip holes, so it was silently left out). Each bar is read once, into the plain copy
 * returned, so a getter cannot pass the check and then answer differently.
 */
function checkBars(bars: readonly Bar[]): Bar[] {
  if (!Array.isArray(bars)) throw new LeptonError('INVALID_INPUT', 'indicatorFeatures needs an array of bars.');
  const out: Bar[] = [];
  let previous = -Infinity;
  for (let index = 0; index < bars.length; index++) {
    const bad = (field: string, what: string): LeptonError =>
      new LeptonError('INVALID_INPUT', `indicatorFeatures: bar ${index} ${field} ${what}; validate bars with validateBars first.`, { details: { index, field } });
    let values: Record<keyof Bar, unknown>;
    try {
      const b: unknown = bars[index];
      if (typeof b !== 'object' || b === null) throw bad('(record)', b === undefined ? 'is missing (a hole in the array, or undefined)' : 'is not a bar object');
      const bar = b as Record<string, unknown>;
      values = { timestamp: bar['timestamp'], open: bar['open'], high: bar['high'], low: bar['low'], close: bar['close'], volume: bar['volume'] };
    } catch (err) {
      if (err instanceof LeptonError) throw err;
      throw bad('(record)', 'could not be read (a property access threw)');
    }
    for (const field of ['open', 'high', 'low', 'close'] as const) if (!(isFiniteNumber(values[field]) && values[field] > 0)) throw bad(field, 'must be a finite positive number');
    if (!(isFiniteNumber(values.volume) && values.volume >= 0)) throw bad('volume', 'must be a finite number ≥ 0');
    if (!(isFiniteNumber(values.timestamp) && values.timestamp > previous)) throw bad('timestamp', 'must be a finite time after the previous bar');
    previous = values.timestamp;
    out.push(values as Bar);
  }
  return out;
}

/**
 * Aligns an indicator's output (shorter than the input by its warm-up) to the bars: output i belongs to bar
 * n − L + i. Putting it anywhere earlier would use future bars — the classic look-ahead bug.
 */
function align(n: number, out: ReadonlyArray<number | undefined>): Array<number | undefined> {
  const aligned = new Array<number | undefined>(n).fill(undefined);
  const shift = n - out.length;
  out.forEach((v, i) => (aligned[shift + i] = v));
  return aligned;
}

/**
 * Technical-indicator features from `technicalindicators`, each normalised to be comparable across price levels:
 * close/SMA(20) − 1, close/EMA(12) − 1, RSI(14), MACD(12, 26, 9) histogram / close, Bollinger %B(20, 2), ATR(14) / close,
 * 10-bar OBV change / 10-bar volume, Stochastic %K(14, 3), ADX(14), and 1-, 5- and 20-bar log returns and 20-bar
 * volatility. Row t depends on bars 0…t only (a test recomputes every row from the prefix and compares).
 *
 * @param input - bars in strictly increasing time order (as `validateBars` returns them)
 * @returns aligned feature rows from the first bar where every indicator is defined
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` when there are too few bars for the indicators' warm-up, or
 *   a bar is malformed (a price that is not a finite positive number, a volume that is not finite and ≥ 0, a timestamp
 *   not after the previous one), with `details.index` and `details.field` (`(record)` for a bar that is missing — a
 *   hole in the array — not an object, or cannot be read)
 */
export function indicatorFeatures(input: readonly Bar[]): IndicatorFeatures {
  const bars = checkBars(input);
  const n = bars.length;
  const close = bars.map((b) => b.close);
  const high = bars.map((b) => b.high);
  const low = bars.map((b) => b.low);
  const volume = bars.map((b) => b.volume);
  const s20 = align(n, sma({ period: 20, values: close }));
  const e12 = align(n, ema({ period: 12, values: close }));
  const r14 = align(n, rsi({ period: 14, values: close }));
  const m = align(n, macd({ values: close, fastPeriod: 12, slowPeriod: 26, signalPeriod: 9, SimpleMAOscillator: false, SimpleMASignal: false }).map((o) => o.histogram));
  const bb = align(n, bollingerbands({ period: 20, stdDev: 2, values: close }).map((o) => o.pb));
  const a14 = align(n, atr({ period: 14, high, low, close }));
  const ob = align(n, obv({ close, volume }));
  const st = align(n, stochastic({ period: 14, signalPeriod: 3, high, low, close }).map((o) => o.k));
  const ad = align(n, adx({ period: 14, high, low, close }).map((o) => o.adx));
  const logRet = (t: number, k: number): number | undefined => (t - k >= 0 ? Math.log(close[t]! / close[t - k]!) : undefined);
  const names = ['close_sma20', 'close_ema12', 'rsi14', 'macd_hist', 'bollinger_pb', 'atr14_rel', 'obv_change10', 'stoch_k', 'adx14', 'ret1', 'ret5', 'ret20', 'vol20'];
  const rows: Float32Array[] = [];
  const timestamps: number[] = [];
  let firstIndex = -1;
  for (let t = 0; t < n; t++) {
    let vol20: number | undefined;
    if (t >= 20) {
      let s = 0;
      let s2 = 0;
      for (let k = t - 19; k <= t; k++) {
        const r = Math.log(close[k]! / close[k - 1]!);
        s += r;
        s2 += r * r;
      }
      vol20 = Math.sqrt(Math.max(0, s2 / 20 - (s / 20) ** 2));
    }
    let volSum = 0;
    for (let k = Math.max(0, t - 9); k <= t; k++) volSum += volume[k]!;
    const obvChange = t >= 10 && ob[t] !== undefined && ob[t - 10] !== undefined ? (ob[t]! - ob[t - 10]!) / Math.max(volSum, 1e-9) : undefined;
    const values = [
      s20[t] === undefined ? undefined : close[t]! / s20[t]! - 1,
      e12[t] === undefined ? undefined : close[t]! / e12[t]! - 1,
      r14[t],
      m[t] === undefined ? undefined : m[t]! / close[t]!,
      bb[t],
      a14[t] === undefined ? undefined : a14[t]! / close[t]!,
      obvChange,
      st[t],
      ad[t],
      logRet(t, 1),
      logRet(t, 5),
      logRet(t, 20),
      vol20,
    ];
    if (values.some((v) => v === undefined || !Number.isFinite(v))) {
      if (firstIndex >= 0) throw new LeptonError('INVALID_INPUT', `Indicator value missing at bar ${t} after warm-up; check the bars.`);
      continue;
    }
    if (firstIndex < 0) firstIndex = t;
    rows.push(Float32Array.from(values as number[]));
    timestamps.push(bars[t]!.timestamp);
  }
  if (firstIndex < 0) throw new LeptonError('INVALID_INPUT', `${n} bars are too few: the indicators need about 40 bars of warm-up.`);
  return { names, rows, firstIndex, timestamps };
}
