import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { initRuntime } from '@lepton/core';
import {
  backtestVaR,
  erfc,
  generatePrices,
  historicalVaR,
  indicatorFeatures,
  kupiecTest,
  normalQuantile,
  parametricVaR,
  readOhlcvCsv,
  walkForward,
} from '@lepton/finance';

// NumPy/SciPy reference values: fixtures/make_var_fixture.py.
const ref = JSON.parse(readFileSync(new URL('./fixtures/var.json', import.meta.url), 'utf8')) as {
  returns: number[];
  cases: Array<{ confidence: number; historical: { var: number; cvar: number }; parametric: { var: number; cvar: number } }>;
  kupiec: Array<{ breaches: number; observations: number; confidence: number; lr: number; p: number }>;
  normal_quantile: Array<{ p: number; z: number }>;
  erfc: Array<{ x: number; v: number }>;
};

describe('OHLCV ingestion', () => {
  it('keeps valid bars in order and reports each bad one', async () => {
    const csv = [
      'date,open,high,low,close,volume',
      '2024-01-02,100,105,99,104,1000',
      '2024-01-03,104,103,101,102,900', // high below open
      '2024-01-04,104,106,103,105,-5', // negative volume
      '2024-01-04,104,106,103,105,800',
      '2024-01-04,105,107,104,106,700', // duplicate timestamp
      '2024-01-01,100,101,99,100,500', // older than the previous bar
      '2024-01-05,105,108,104,107,abc',
      '2024-01-08,107,109,106,108,1200',
    ].join('\n');
    const r = await readOhlcvCsv(Readable.from([csv]));
    expect(r.bars.map((b) => new Date(b.timestamp).toISOString().slice(0, 10))).toEqual(['2024-01-02', '2024-01-04', '2024-01-08']);
    expect(r.stats).toMatchObject({ total: 8, valid: 3, rejected: 5 });
    expect(r.rejected.map((x) => `${x.position}:${x.issues.map((i) => i.field).join('+')}`)).toEqual(['3:high', '4:volume', '6:timestamp', '7:timestamp', '8:volume']);
    expect(r.rejected.find((x) => x.position === 6)!.issues[0]!.message).toBe('duplicate timestamp');
  });
});

describe('indicator features', () => {
  const bars = generatePrices({ bars: 400, seed: 3 });
  const full = indicatorFeatures(bars);

  it('aligns every indicator without look-ahead: row t equals the row computed from bars 0…t alone', () => {
    for (const t of [full.firstIndex, full.firstIndex + 1, 120, 250, 399]) {
      const prefix = indicatorFeatures(bars.slice(0, t + 1));
      const last = prefix.rows.at(-1)!;
      const same = full.rows[t - full.firstIndex]!;
      last.forEach((v, j) => expect(v, `${full.names[j]} at bar ${t}`).toBeCloseTo(same[j]!, 4));
    }
  });

  it('produces bounded oscillators and names every column', () => {
    expect(full.names).toHaveLength(13);
    const col = (name: string): number[] => full.rows.map((r) => r[full.names.indexOf(name)]!);
    for (const v of col('rsi14')) expect(v).toBeGreaterThanOrEqual(0), expect(v).toBeLessThanOrEqual(100);
    for (const v of col('stoch_k')) expect(v).toBeGreaterThanOrEqual(0), expect(v).toBeLessThanOrEqual(100);
    expect(full.timestamps[0]).toBe(bars[full.firstIndex]!.timestamp);
    expect(() => indicatorFeatures(bars.slice(0, 20))).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });
});

describe('VaR, CVaR and Kupiec against NumPy/SciPy', () => {
  it.each(ref.cases)('historical and parametric at $confidence', (c) => {
    const h = historicalVaR(ref.returns, c.confidence);
    expect(h.var).toBeCloseTo(c.historical.var, 12);
    expect(h.cvar).toBeCloseTo(c.historical.cvar, 12);
    const p = parametricVaR(ref.returns, c.confidence);
    expect(p.var).toBeCloseTo(c.parametric.var, 10);
    expect(p.cvar).toBeCloseTo(c.parametric.cvar, 10);
  });

  it('Kupiec statistic and p-value', () => {
    for (const k of ref.kupiec) {
      const r = kupiecTest(k.breaches, k.observations, k.confidence);
      expect(r.lr).toBeCloseTo(k.lr, 9);
      expect(r.pValue).toBeCloseTo(k.p, 9);
      expect(r.rejected).toBe(k.p < 0.05);
    }
  });

  it('normal quantile and erfc', () => {
    for (const q of ref.normal_quantile) expect(normalQuantile(q.p)).toBeCloseTo(q.z, 8); // ~1e-9 relative even at p = 1e-6
    for (const e of ref.erfc) expect(erfc(e.x)).toBeCloseTo(e.v, 11);
  });

  it('a rolling backtest flags the normal VaR on fat tails more than the historical one', () => {
    const bars = generatePrices({ bars: 1500, seed: 9 });
    const r = bars.slice(1).map((b, i) => Math.log(b.close / bars[i]!.close));
    const hist = backtestVaR(r, { window: 250, confidence: 0.99 });
    const norm = backtestVaR(r, { window: 250, confidence: 0.99, method: 'parametric' });
    expect(hist.observations).toBe(r.length - 250);
    expect(norm.breaches).toBeGreaterThanOrEqual(hist.breaches);
  });
});

describe('walk-forward forecasting', () => {
  it('trains one model per fold on earlier data only and reports out-of-sample metrics', async () => {
    await initRuntime({ backend: 'wasm' }, {});
    const features = indicatorFeatures(generatePrices({ bars: 700, seed: 4 }));
    const folds = await walkForward(features, { target: 'volatility', folds: 3, epochs: 4, window: 16 });
    expect(folds).toHaveLength(3);
    for (let i = 0; i < folds.length; i++) {
      const f = folds[i]!;
      expect(f.testFrom).toBeGreaterThan(i === 0 ? 0 : folds[i - 1]!.testFrom);
      if (i > 0) expect(f.trainSize).toBeGreaterThan(folds[i - 1]!.trainSize); // expanding window
      expect(Number.isFinite(f.metrics['rmse'])).toBe(true);
      expect(Number.isFinite(f.metrics['naiveRmse'])).toBe(true);
    }
    const direction = await walkForward(features, { target: 'direction', folds: 2, epochs: 3, kind: 'gru' });
    for (const f of direction) expect(f.metrics['hitRate']).toBeGreaterThan(0), expect(f.metrics['hitRate']).toBeLessThan(1);
  }, 120_000);
});
