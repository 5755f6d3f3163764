// Regression tests for issue 15 ("bad input never turns into a wrong number"): each case below was accepted, or turned
// into NaN/Infinity or a plain TypeError, before the run-time checks were added.
import { beforeAll, describe, expect, it } from 'vitest';
import { initRuntime, seededRandom } from '@lepton/core';
import {
  AMOUNT_MAX,
  backtestVaR,
  binIndex,
  binNumeric,
  decide,
  erfc,
  evaluateFraud,
  FeatureEngine,
  fitScaler,
  FraudModel,
  generatePrices,
  historicalVaR,
  indicatorFeatures,
  kupiecTest,
  MemoryStateStore,
  parametricVaR,
  replayHistory,
  Scorecard,
  thresholdForAlertRate,
  timeSplit,
  validateTransactions,
  walkForward,
  type EntityState,
  type LabelledTransaction,
  type Transaction,
} from '@lepton/finance';
import { MIN, T0, tx } from './support/transactions.js';

const good = {
  id: 't1',
  timestamp: '2026-03-02T09:00:00Z',
  amount: '12.50',
  currency: 'EUR',
  cardId: 'tok_9f2c',
  customerId: 'u1',
  merchantId: 'm1',
  merchantCategory: '5411',
  channel: 'pos',
};

/** The fields each record was rejected for, one entry per record (records rejected for nothing are a bug). */
function rejectedFields(records: unknown[]): string[][] {
  const r = validateTransactions(records);
  expect(r.stats.total).toBe(r.stats.valid + r.stats.rejected);
  return r.rejected.map((x) => [...new Set(x.issues.map((i) => i.field))]);
}

describe('transaction timestamps: only unambiguous instants in 1970 … 2200', () => {
  it.each([
    ['March 5'],
    ['foo 12'],
    ['2026-02-30T10:00:00Z'], // V8 made this 2 March
    ['2026-13-01T10:00:00Z'],
    ['2026-03-05T25:00:00Z'],
    ['2026-03-05T10:60:00Z'],
    ['2026-03-05'], // a day is not an instant
    ['2026-03-05T10:00:00'], // no offset: local time of whichever server parses it
    [1e20],
    ['12345678901234567890'],
    [-1],
    [Date.UTC(2200, 0, 1)],
    [Number.NaN],
    [new Date(Number.NaN)],
    [true],
  ])('rejects %s with a timestamp issue', (timestamp) => {
    expect(rejectedFields([{ ...good, timestamp }])).toEqual([['timestamp']]);
  });

  it('accepts offsets, epoch ms (number or digits) and Dates, and reads them exactly', () => {
    const { valid, stats } = validateTransactions([
      { ...good, id: 'a', timestamp: '2026-03-05T15:30:00+01:00' },
      { ...good, id: 'b', timestamp: '2024-02-29T23:59:59.999-05:30' },
      { ...good, id: 'c', timestamp: String(T0) },
      { ...good, id: 'd', timestamp: T0 },
      { ...good, id: 'e', timestamp: new Date(T0) },
      { ...good, id: 'f', timestamp: '1970-01-01T00:00:00Z' },
    ]);
    expect(stats.rejected).toBe(0);
    expect(valid.map((t) => t.timestamp)).toEqual([Date.UTC(2026, 2, 5, 14, 30), Date.UTC(2024, 2, 1, 5, 29, 59, 999), T0, T0, T0, 0]);
  });
});

describe('amounts: a strict decimal grammar and bounds', () => {
  it.each([[1e39], [1e308], [AMOUNT_MAX * 10], ['0x10'], ['1e3'], ['Infinity'], ['NaN'], ['1,000'], ['.5'], [''], [Number.NaN], [Number.POSITIVE_INFINITY], [1e-9], [true], [[12]]])(
    'rejects %s',
    (amount) => {
      expect(rejectedFields([{ ...good, amount }])).toEqual([['amount']]);
    },
  );

  it('accepts plain decimals up to the maximum', () => {
    const { valid } = validateTransactions([
      { ...good, id: 'a', amount: ' 12.50 ' },
      { ...good, id: 'b', amount: '+3' },
      { ...good, id: 'c', amount: AMOUNT_MAX },
      { ...good, id: 'd', amount: '0.00000001' },
    ]);
    expect(valid.map((t) => t.amount)).toEqual([12.5, 3, 1e12, 1e-8]);
  });

  it('reads coordinates as JavaScript writes them (up to 24 decimals)', () => {
    const { valid } = validateTransactions([{ ...good, latitude: '48.838317600477005', longitude: '-1.5546213480677877' }]);
    expect([valid[0]!.latitude, valid[0]!.longitude]).toEqual([48.838317600477005, -1.5546213480677877]);
  });

  it('applies the same grammar to coordinates and labels ("0x10" is not 16)', () => {
    expect(rejectedFields([{ ...good, latitude: '0x10' }, { ...good, longitude: '1e1' }, { ...good, label: '1e0' }])).toEqual([['latitude'], ['longitude'], ['label']]);
  });

  it('never echoes the bad value', () => {
    const pan = '4111111111111111';
    const { rejected } = validateTransactions([{ ...good, amount: `${pan}e3`, timestamp: `${pan}x` }]);
    expect(JSON.stringify(rejected)).not.toContain(pan);
  });
});

describe('duplicate transaction ids', () => {
  it('validateTransactions keeps the first and rejects the repeat, counted under id', () => {
    const { valid, rejected, stats } = validateTransactions([good, { ...good, id: 't2' }, { ...good, amount: '99' }]);
    expect(valid.map((t) => t.id)).toEqual(['t1', 't2']);
    expect(stats).toEqual({ total: 3, valid: 2, rejected: 1, byField: { id: 1 } });
    expect(rejected[0]).toMatchObject({ position: 2, id: 't1', issues: [{ field: 'id', message: expect.stringContaining('duplicate id') }] });
  });

  it('FeatureEngine.process refuses a repeated id, counts it, and does not count the transaction twice', async () => {
    const engine = new FeatureEngine();
    await engine.process(tx('a', 0));
    await expect(engine.process(tx('a', 0))).rejects.toMatchObject({ code: 'FINANCE_DUPLICATE', details: { id: 'a' } });
    await expect(engine.process(tx('a', 1))).rejects.toMatchObject({ code: 'FINANCE_DUPLICATE' }); // same id, later time
    const f = engine.describe(await engine.process(tx('b', 2)));
    expect(f['card_count_10m']).toBe(1); // was 3 when both repeats were folded in
    expect(engine.stats()).toMatchObject({ processed: 2, refusedDuplicate: 2 });
  });

  it('is recognised by another engine sharing the store (a redelivery to another process)', async () => {
    const store = new MemoryStateStore();
    const [first, second] = [new FeatureEngine({ store }), new FeatureEngine({ store })];
    await first.process(tx('a', 0));
    await expect(second.process(tx('a', 0))).rejects.toMatchObject({ code: 'FINANCE_DUPLICATE' });
    expect(second.stats()).toMatchObject({ processed: 0, refusedDuplicate: 1 });
  });

  it('keeps ids only as long as the card’s events (bounded memory)', async () => {
    const store = new MemoryStateStore();
    const engine = new FeatureEngine({ store, windows: [{ name: '1h', ms: 3_600_000 }] });
    for (let i = 0; i < 5; i++) await engine.process(tx(`x${i}`, i));
    await engine.process(tx('late', 180));
    const [card] = await store.getMany<EntityState>(['card:c1']);
    expect(card!.events.map((e) => e[4])).toEqual(['late']);
  });
});

describe('FeatureEngine validates what it is given', () => {
  it.each([
    [{}, 'id'],
    [null, '(record)'],
    ['t1', '(record)'],
    [{ ...tx('s', 0), timestamp: '2026-03-02T09:00:00Z' }, 'timestamp'],
    [{ ...tx('n', 0), amount: Number.NaN }, 'amount'],
    [{ ...tx('i', 0), amount: 1e39 }, 'amount'],
    [{ ...tx('g', 0), latitude: Number.POSITIVE_INFINITY }, 'latitude'],
    [{ ...tx('c', 0), channel: 'fax' }, 'channel'],
  ])('process(%j) is refused naming %s', async (input, field) => {
    const engine = new FeatureEngine();
    await expect(engine.process(input as Transaction)).rejects.toMatchObject({ code: 'FINANCE_TRANSACTION_INVALID', details: { field } });
    await expect(engine.features(input as Transaction)).rejects.toMatchObject({ code: 'FINANCE_TRANSACTION_INVALID', details: { field } });
    expect(engine.stats()).toMatchObject({ processed: 0, refusedInvalid: 1 });
  });

  it('a refused string timestamp leaves the watermark a number, so older transactions stay refused', async () => {
    const engine = new FeatureEngine();
    await engine.process(tx('a', 10));
    await expect(engine.process({ ...tx('s', 20), timestamp: '2026-03-02T09:20:00Z' } as unknown as Transaction)).rejects.toMatchObject({ code: 'FINANCE_TRANSACTION_INVALID' });
    expect(engine.watermark).toBe(T0 + 10 * MIN);
    await expect(engine.process(tx('old', 5))).rejects.toMatchObject({ code: 'FINANCE_OUT_OF_ORDER' });
  });

  it('a huge amount never reaches the card state: later features stay finite', async () => {
    const engine = new FeatureEngine();
    await expect(engine.process(tx('huge', 0, { amount: 1e300 }))).rejects.toMatchObject({ code: 'FINANCE_TRANSACTION_INVALID' });
    for (let i = 1; i < 4; i++) expect((await engine.process(tx(`n${i}`, i, { amount: i === 3 ? AMOUNT_MAX : 10 }))).every(Number.isFinite)).toBe(true);
  });

  it('a z-score against equal amounts is 0, not rounding noise divided into 1e16', async () => {
    const engine = new FeatureEngine();
    await engine.process(tx('e0', 0, { amount: 0.1 }));
    await engine.process(tx('e1', 1, { amount: 0.1 }));
    await engine.process(tx('same-ms', 15, { amount: 1234.5678 })); // taken back out when scoring at minute 15
    const f = engine.describe(await engine.process(tx('q', 15, { amount: 1e12 })));
    expect(f['card_amount_z']).toBe(0); // history strictly before: 0.1, 0.1 — no spread (was 6.6e16)
  });

  it('refuses options that would make features NaN', () => {
    expect(() => new FeatureEngine({ smoothing: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => new FeatureEngine({ priorStrength: Number.NaN })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => new FeatureEngine({ utcOffsetMinutes: Number.POSITIVE_INFINITY })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('recordLabel refuses a non-finite knownAt; replayHistory a non-finite labelKnownAt before replaying anything', async () => {
    await expect(new FeatureEngine().recordLabel({ merchantCategory: '5411' }, 1, Number.NaN)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const engine = new FeatureEngine();
    const history = [tx('a', 0), { ...tx('b', 1), label: 1, labelKnownAt: Number.NaN }] as LabelledTransaction[];
    await expect(replayHistory(engine, history)).rejects.toMatchObject({ code: 'INVALID_INPUT', details: { index: 1 } });
    expect(engine.stats().processed).toBe(0);
  });
});

describe('FraudModel.score refuses rows that are not finite numbers of the right width', () => {
  const names = ['a', 'b', 'c'];
  let model: FraudModel;
  beforeAll(async () => {
    await initRuntime({ backend: 'wasm' }, {});
    const rand = seededRandom(1);
    const set = (n: number) => {
      const rows = Array.from({ length: n }, () => [rand() * 2, rand(), rand()]);
      return { rows, labels: rows.map((r) => (r[0]! > 1.6 ? 1 : 0)) };
    };
    ({ model } = await FraudModel.train(set(300), set(200), { featureNames: names, epochs: 2, autoencoder: false }));
    return () => model.dispose();
  }, 60_000);

  it.each([
    ['null row', [null], { row: 0 }],
    ['numeric strings', [['1', '2', '3']], { row: 0, feature: 'a' }],
    ['NaN', [[0, 1, 0], [0, Number.NaN, 0]], { row: 1, feature: 'b' }],
    ['Infinity', [[0, 0, Number.POSITIVE_INFINITY]], { row: 0, feature: 'c' }],
    ['-Infinity', [[Number.NEGATIVE_INFINITY, 0, 0]], { row: 0, feature: 'a' }],
    ['a boolean', [[true, 0, 0]], { row: 0, feature: 'a' }],
    ['an object', [{}], { row: 0 }],
    ['too short', [[1, 2]], { row: 0 }],
    ['overflow once scaled', [[1e300, 0, 0]], { row: 0, feature: 'a' }],
  ])('%s', async (_, rows, details) => {
    await expect(model.score(rows as number[][])).rejects.toMatchObject({ code: 'INVALID_INPUT', details });
  });

  it('refuses a non-array and never echoes the value', async () => {
    await expect(model.score(null as unknown as number[][])).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    const err: unknown = await model.score([[0, '4111111111111111', 0]] as unknown as number[][]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID_INPUT' });
    expect((err as Error).message).not.toContain('4111111111111111');
    await expect(model.reasons([0, Number.NaN, 0])).rejects.toMatchObject({ code: 'INVALID_INPUT', details: { feature: 'b' } });
    expect((await model.score([[1, 0.5, 0.5]]))[0]!.probability).toBeGreaterThanOrEqual(0);
  });
});

describe('market functions refuse non-finite input', () => {
  it.each([
    ['NaN', [0.01, Number.NaN, -0.02], 1],
    ['Infinity', [0.01, -0.02, Number.POSITIVE_INFINITY], 2],
    ['-Infinity', [Number.NEGATIVE_INFINITY, 0.01, -0.02], 0],
    ['a string', [0.01, '-0.5', -0.02], 1],
  ])('historicalVaR and parametricVaR with %s', (_, returns, index) => {
    for (const f of [historicalVaR, parametricVaR]) {
      expect(() => f(returns as number[], 0.95)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', details: { index } }));
    }
  });

  it('refuses results that overflow instead of returning Infinity', () => {
    expect(() => parametricVaR([1e308, -1e308, 1e308], 0.99)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    const h = historicalVaR([1e308, -1e308, 1e308, 0], 0.5);
    expect(Number.isFinite(h.var) && Number.isFinite(h.cvar)).toBe(true);
  });

  it('backtestVaR, kupiecTest and erfc', () => {
    const r = Array.from({ length: 40 }, (_, i) => Math.sin(i) / 100);
    r[30] = Number.NaN;
    expect(() => backtestVaR(r, { window: 20 })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', details: { index: 30 } }));
    expect(() => kupiecTest(1, 100, Number.NaN)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => kupiecTest(1.5, 100, 0.99)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => erfc(Number.NaN)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('indicatorFeatures names the bad bar; walkForward refuses NaN rows before training', async () => {
    const bars = generatePrices({ bars: 120, seed: 2 });
    bars[70] = { ...bars[70]!, close: Number.NaN };
    expect(() => indicatorFeatures(bars)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', details: { index: 70, field: 'close' } }));
    const features = indicatorFeatures(generatePrices({ bars: 400, seed: 2 }));
    features.rows[100] = Float32Array.from(features.rows[100]!, (v, j) => (j === 0 ? Number.NaN : v));
    await expect(walkForward(features, { folds: 2, epochs: 1 })).rejects.toMatchObject({ code: 'INVALID_INPUT', details: { row: 100 } });
    expect(() => generatePrices({ start: Number.NaN })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('decisions, evaluation and credit refuse what would be silently wrong', () => {
  it('decide never approves a NaN score', () => {
    expect(() => decide({ review: 0.2, decline: 0.8 }, Number.NaN)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => decide({ review: Number.NaN, decline: 0.8 }, 0.5)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('thresholdForAlertRate, timeSplit and evaluateFraud check their arrays', () => {
    expect(() => thresholdForAlertRate([0.1, Number.NaN, 0.5], 0.5)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', details: { index: 1 } }));
    expect(() => timeSplit([1, Number.NaN, 3], 2, 0)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', details: { index: 1 } }));
    expect(() => evaluateFraud([0, 2], [0.1, 0.2], { timestamps: [1, 2], cardIds: ['a', 'b'] })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    // a raw logit or a 0–100 score failed inside brierScore, with a message naming neither evaluateFraud nor the row
    expect(() => evaluateFraud([0, 1], [0.1, 1.5], { timestamps: [1, 2], cardIds: ['a', 'b'] })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringContaining('evaluateFraud: scores[1]'), details: { index: 1 } }));
    expect(() => fitScaler([[1, 2], [1, Number.NaN]])).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', details: { row: 1, column: 1 } }));
  });

  it('credit: labels are 0/1, numeric values are numbers ("abc" is not the last bin, "0x10" is not 16)', () => {
    const values = Array.from({ length: 200 }, (_, i) => i);
    const labels = values.map((v) => (v % 3 === 0 ? 1 : 0));
    const binning = binNumeric('x', values, labels);
    for (const v of ['abc', '0x10', Number.NaN, null]) {
      expect(() => binIndex(binning, v as number)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', details: { characteristic: 'x' } }));
    }
    expect(binIndex(binning, '150')).toBe(binIndex(binning, 150));
    expect(() => binNumeric('x', values, labels.map((l) => l * 2))).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    const applicants = values.map((v) => ({ x: v }));
    expect(() => Scorecard.fit(applicants, labels.map((l) => (l === 1 ? 2 : 0)), { characteristics: [{ name: 'x', type: 'numeric' }] })).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT' }),
    );
    expect(() => Scorecard.fit([...applicants.slice(1), { x: '0x10' }], labels, { characteristics: [{ name: 'x', type: 'numeric' }] })).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT', details: { characteristic: 'x', index: 199 } }),
    );
  });
});
