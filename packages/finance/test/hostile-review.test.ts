// Regression tests for the hostile-input review of @lepton/finance: each case below ended in a raw TypeError /
// SyntaxError, a NaN that left a public API, a lost batch or a quadratic slowdown before it was fixed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { initRuntime, seededRandom } from '@lepton/core';
import {
  FeatureEngine,
  FraudModel,
  FraudScorerService,
  generatePrices,
  IngestCollector,
  indicatorFeatures,
  ScorerStreamClient,
  validateBars,
  type FraudScore,
  type ScorerLogEvent,
  type Transaction,
} from '@lepton/finance';
import { outcome } from '../../../tests/support/hostile.js';
import { redisAvailable } from './support/redis.js';
import { startManagedRedis, waitUntil, type ManagedRedis } from './support/stream-scorer.js';
import { tx } from './support/transactions.js';

/** An object whose `field` getter throws (a hostile record from a JavaScript caller). */
const throwingGetter = <T extends object>(base: T, field: string, error: Error = new TypeError('getter called')): T =>
  Object.defineProperty({ ...base }, field, { get: () => { throw error; }, enumerable: true });

/** A Proxy that throws on every read, key listing and prototype lookup. */
const throwingProxy = (error: Error = new RangeError('trap called')): object =>
  new Proxy({}, { get: () => { throw error; }, has: () => { throw error; }, ownKeys: () => { throw error; }, getOwnPropertyDescriptor: () => { throw error; }, getPrototypeOf: () => { throw error; } });

describe('validateBars: a record that cannot be read is one counted rejection', () => {
  const bar = { timestamp: '2024-01-02', open: 10, high: 11, low: 9, close: 10.5, volume: 100 };
  it.each([
    ['a record whose getter throws', { record: throwingGetter(bar, 'open'), position: 0 }],
    ['a record that is a throwing Proxy', { record: throwingProxy(), position: 0 }],
    ['an item whose record getter throws', throwingGetter({ record: bar, position: 0 }, 'record')],
    ['an item whose position getter throws', throwingGetter({ record: bar, position: 0 }, 'position')],
    ['an item that is a throwing Proxy', throwingProxy()],
  ])('%s', (_, item) => {
    const r = validateBars([item as never, { record: { ...bar, timestamp: '2024-01-03' }, position: 1 }]);
    expect(r.stats).toEqual({ total: 2, valid: 1, rejected: 1, byField: { '(record)': 1 } });
    expect(r.rejected).toEqual([{ position: 0, issues: [{ field: '(record)', message: expect.stringMatching(/could not be read/) }] }]);
    expect(r.bars).toHaveLength(1);
  });
});

describe('FeatureEngine: a record that cannot be read is FINANCE_TRANSACTION_INVALID and counted', () => {
  it.each([
    ['a throwing getter', () => throwingGetter(tx('a', 0), 'amount')],
    ['a throwing getter on the id', () => throwingGetter(tx('a', 0), 'id', new RangeError('x'))],
    ['a throwing Proxy', () => throwingProxy()],
  ])('process, features: %s', async (_, make) => {
    const engine = new FeatureEngine();
    for (const method of ['process', 'features'] as const) {
      await expect(engine[method](make() as Transaction)).rejects.toMatchObject({ name: 'LeptonError', code: 'FINANCE_TRANSACTION_INVALID', details: { field: '(record)' } });
    }
    expect(engine.stats()).toMatchObject({ processed: 0, refusedInvalid: 1 });
    // The engine goes on with the next record.
    await engine.process(tx('b', 1));
    expect(engine.stats()).toMatchObject({ processed: 1, refusedInvalid: 1 });
  });

  it('recordLabel: a transaction whose merchantCategory cannot be read is INVALID_ARGUMENT', async () => {
    const engine = new FeatureEngine();
    expect(await outcome(() => engine.recordLabel(throwingGetter({ merchantCategory: '5411' }, 'merchantCategory'), 1, 0))).toBe('LeptonError INVALID_ARGUMENT');
    expect(await outcome(() => engine.recordLabel(throwingProxy() as never, 1, 0))).toBe('LeptonError INVALID_ARGUMENT');
    expect(engine.stats().labels).toBe(0);
  });
});

describe('IngestCollector', () => {
  it('counts fields named like Object members as plain names', () => {
    const c = new IngestCollector();
    const fields = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];
    fields.forEach((field, position) => c.reject({ position, issues: [{ field, message: 'bad' }] }));
    c.reject({ position: 9, issues: [{ field: 'constructor', message: 'bad' }] });
    const { stats } = c.done();
    expect({ ...stats.byField }).toEqual({ constructor: 2, ['__proto__']: 1, toString: 1, hasOwnProperty: 1, valueOf: 1 });
    expect(Object.keys(stats.byField).sort()).toEqual([...fields].sort());
    expect(JSON.parse(JSON.stringify(stats.byField))).toEqual({ constructor: 2, ['__proto__']: 1, toString: 1, hasOwnProperty: 1, valueOf: 1 });
    expect(stats).toMatchObject({ total: 6, valid: 0, rejected: 6 });
  });

  it('a rejection recorded twice still counts once', () => {
    const c = new IngestCollector();
    const r = { position: 0, issues: [{ field: 'amount', message: 'bad' }] };
    c.reject(r);
    c.reject(r);
    expect(c.done().stats).toEqual({ total: 1, valid: 0, rejected: 1, byField: { amount: 1 } });
    expect(c.done().rejected).toEqual([r]);
  });

  it('counts every rejection of a fully bad batch of 200,000 records', () => {
    // Speed is not asserted here (CONVENTIONS: timings live in benchmarks). Measured when the list scan was replaced by
    // a set: 200,000 rejections in about 50 ms, against about 6 s before (every rejection scanned the whole list).
    const n = 200_000;
    const c = new IngestCollector();
    for (let i = 0; i < n; i++) c.reject({ position: i, issues: [{ field: 'amount', message: 'bad' }] });
    expect(c.done().stats).toMatchObject({ total: n, rejected: n, byField: { amount: n } });
  });
});

describe('indicatorFeatures: a hole in the bars is a missing bar', () => {
  it('names the index of the hole', () => {
    const bars = generatePrices({ bars: 120, seed: 2 });
    delete (bars as unknown[])[70];
    expect(() => indicatorFeatures(bars)).toThrow(expect.objectContaining({ name: 'LeptonError', code: 'INVALID_INPUT', details: { index: 70, field: '(record)' } }));
    const sparse = generatePrices({ bars: 120, seed: 2 });
    sparse.length = 200; // 80 trailing holes
    expect(() => indicatorFeatures(sparse)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', details: { index: 120, field: '(record)' } }));
  });

  it('a bar with a throwing getter is INVALID_INPUT naming the bar', () => {
    const bars = generatePrices({ bars: 120, seed: 2 });
    bars[10] = throwingGetter(bars[10]!, 'close');
    expect(() => indicatorFeatures(bars)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', details: { index: 10, field: '(record)' } }));
  });
});

describe('FraudModel.reasons after dispose', () => {
  it('is PREDICTOR_CLOSED, as score is', async () => {
    await initRuntime({ backend: 'wasm' }, {});
    const rand = seededRandom(1);
    const set = (n: number): { rows: number[][]; labels: number[] } => {
      const rows = Array.from({ length: n }, () => [rand() * 2, rand(), rand()]);
      return { rows, labels: rows.map((r) => (r[0]! > 1.6 ? 1 : 0)) };
    };
    const { model } = await FraudModel.train(set(200), set(100), { featureNames: ['a', 'b', 'c'], epochs: 1, autoencoder: false });
    expect(await model.reasons([1, 0.5, 0.5])).toBeInstanceOf(Array);
    model.dispose();
    await expect(model.score([[1, 0.5, 0.5]])).rejects.toMatchObject({ code: 'PREDICTOR_CLOSED' });
    await expect(model.reasons([1, 0.5, 0.5])).rejects.toMatchObject({ name: 'LeptonError', code: 'PREDICTOR_CLOSED' });
  }, 60_000);
});

const skip = !redisAvailable() && !process.env['CI'];
if (skip) console.warn('hostile-review.test.ts: Redis cases skipped: install redis-server (apt-get install -y redis-server) to run them');

describe.skipIf(skip)('scorer streams on a real redis-server', () => {
  let server: ManagedRedis;
  let redis: Redis;
  beforeAll(async () => {
    server = await startManagedRedis();
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  const txs = (n: number, prefix: string): Transaction[] => Array.from({ length: n }, (_, i) => tx(`${prefix}${i}`, i, { cardId: `card-${i}` }));

  it('readScores / readAlerts skip a malformed entry, count and log it, and return the rest (never NaN, never a SyntaxError)', async () => {
    const logs: ScorerLogEvent[] = [];
    const client = new ScorerStreamClient({ connection: server.url, stream: 'tamper', log: (e) => logs.push(e) });
    const good = (id: string): string[] => ['input', '1-1', 'partition', '0', 'id', id, 'probability', '0.25', 'riskScore', '250', 'supervised', '0.3', 'anomaly', '0', 'decision', 'review', 'consumer', 'c0'];
    try {
      for (const key of ['tamper:scores', 'tamper:alerts']) {
        await redis.xadd(key, '*', ...good('g1'));
        await redis.xadd(key, '*', ...good('g2'), 'features', '{not json');
        await redis.xadd(key, '*', 'garbage', 'x');
        await redis.xadd(key, '*', ...good('g3').map((v) => (v === '0.25' ? 'NaN' : v)));
        await redis.xadd(key, '*', ...good('g4').map((v) => (v === '250' ? '' : v)));
        await redis.xadd(key, '*', ...good('g5'), 'features', '[1,"x",null]');
        await redis.xadd(key, '*', ...good('g6'), 'features', '[0.5,1e400]');
        await redis.xadd(key, '*', ...good('g7').map((v) => (v === '0.25' ? '1.5' : v)));
        await redis.xadd(key, '*', ...good('g8'), 'features', '[0.5,2]');
      }
      for (const read of [(o?: { count?: number }) => client.readScores(o), (o?: { count?: number }) => client.readAlerts(o)]) {
        const records = await read();
        expect(records.map((r) => r.id)).toEqual(['g1', 'g8']);
        for (const r of records) for (const v of [r.partition, r.probability, r.riskScore, r.supervised, r.anomaly, ...(r.features ?? [])]) expect(Number.isFinite(v)).toBe(true);
        expect(records[1]!.features).toEqual([0.5, 2]);
        // A page of malformed entries is not mistaken for the end of the stream.
        expect((await read({ count: 2 })).map((r) => r.id)).toEqual(['g1', 'g8']);
      }
      expect(client.stats().malformed).toBe(4 * 7);
      const events = logs.filter((e) => e.event === 'malformed-entry');
      expect(events).toHaveLength(4 * 7);
      expect(events[0]).toMatchObject({ level: 'warn', details: { stream: 'tamper:scores', field: 'features' } });
      // Never the entry's content in the log.
      expect(JSON.stringify(logs)).not.toContain('not json');
    } finally {
      await client.close();
    }
  });

  it('readDeadLetters skips an entry without a partition or code', async () => {
    const client = new ScorerStreamClient({ connection: server.url, stream: 'tamper-dead' });
    try {
      await redis.xadd('tamper-dead:dead', '*', 'input', '1-1', 'partition', '0', 'code', 'FINANCE_MESSAGE_INVALID', 'reason', 'r', 'consumer', 'c');
      await redis.xadd('tamper-dead:dead', '*', 'input', '1-2', 'partition', 'x', 'code', 'FINANCE_MESSAGE_INVALID', 'reason', 'r', 'consumer', 'c');
      await redis.xadd('tamper-dead:dead', '*', 'input', '1-3', 'partition', '0', 'reason', 'r', 'consumer', 'c');
      const dead = await client.readDeadLetters();
      expect(dead.map((d) => d.inputId)).toEqual(['1-1']);
      expect(client.stats().malformed).toBe(2);
    } finally {
      await client.close();
    }
  });

  it('publish refuses records that are not plain JSON objects before sending anything; read options are checked', async () => {
    const client = new ScorerStreamClient({ connection: server.url, stream: 'pub' });
    const cyclic: Record<string, unknown> = { ...tx('c', 0) };
    cyclic['self'] = cyclic;
    const bad: Array<readonly [string, unknown]> = [
      ['null', null],
      ['a string', '4111111111111111'],
      ['an object that is not an array', { 0: tx('a', 0), length: 1 }],
    ];
    const badRecords: Array<readonly [string, unknown]> = [
      ['undefined', undefined],
      ['null', null],
      ['a function', () => 1],
      ['a string', '4111111111111111'],
      ['a number', 7],
      ['an array', [1, 2]],
      ['a BigInt field', { ...tx('b', 0), amount: 10n }],
      ['a cycle', cyclic],
      ['a throwing getter', throwingGetter(tx('g', 0), 'cardId')],
      ['a throwing toJSON', { toJSON: () => { throw new Error('toJSON'); } }],
      ['a toJSON giving a string', { toJSON: () => '4111111111111111' }],
      ['a throwing Proxy', throwingProxy()],
      ['a Date', new Date(0)],
    ];
    try {
      for (const [name, records] of bad) expect.soft(await outcome(() => client.publish(records as never)), name).toBe('LeptonError INVALID_INPUT');
      for (const [name, record] of badRecords) {
        const err: unknown = await client.publish([tx('ok', 0), record]).catch((e: unknown) => e);
        expect.soft(err, name).toMatchObject({ name: 'LeptonError', code: 'INVALID_INPUT', details: { index: 1 } });
        expect.soft((err as Error).message, name).not.toContain('4111111111111111');
      }
      // All or nothing: the good record before the bad one was not published either.
      expect(await redis.xlen('pub:0')).toBe(0);
      expect(await client.publish([tx('ok', 0)])).toHaveLength(1);
      expect(await redis.xlen('pub:0')).toBe(1);
      for (const options of [null, 7, 'after', true]) {
        for (const read of ['readScores', 'readAlerts', 'readDeadLetters'] as const) {
          expect.soft(await outcome(() => client[read](options as never)), `${read}(${String(options)})`).toBe('LeptonError INVALID_ARGUMENT');
        }
      }
    } finally {
      await client.close();
    }
  });

  it.each([
    ['NaN probability', { probability: Number.NaN }, 'probability'],
    ['probability above 1', { probability: 1.5 }, 'probability'],
    ['Infinity riskScore', { riskScore: Number.POSITIVE_INFINITY }, 'riskScore'],
    ['string supervised', { supervised: 'x' }, 'supervised'],
    ['NaN anomaly', { anomaly: Number.NaN }, 'anomaly'],
    ['null score', null, '(score)'],
  ])('FraudScorerService dead-letters a score with a %s as INVALID_MODEL and scores the rest of the batch', async (name, override, field) => {
    const stream = `bad-score-${name.replace(/\W/g, '-')}`;
    const logs: ScorerLogEvent[] = [];
    let calls = 0;
    // A scorer that cannot score one transaction (amount 999), e.g. a remote model returning NaN for one input.
    const amountLog = new FeatureEngine().names.indexOf('amount_log');
    const model = {
      async score(rows: ReadonlyArray<ArrayLike<number>>): Promise<FraudScore[]> {
        calls++;
        return rows.map((r) => {
          const ok: FraudScore = { probability: 0.1, riskScore: 100, supervised: 0.1, anomaly: 0 };
          return (r[amountLog]! > Math.log1p(500) ? (override === null ? null : { ...ok, ...override }) : ok) as FraudScore;
        });
      },
    };
    const client = new ScorerStreamClient({ connection: server.url, stream });
    const batch = txs(5, `${stream}-`);
    batch[2] = { ...batch[2]!, amount: 999 };
    await client.publish(batch);
    const service = await FraudScorerService.start({
      connection: server.url, stream, model, blockMs: 50, minIdleMs: 200, claimIntervalMs: 50, maxDeliveries: 2, batchSize: 16, policy: { review: 0.5, decline: 0.9 }, log: (e) => logs.push(e),
    });
    try {
      await waitUntil(async () => { const s = await client.status(); return s.scores + s.deadLetters >= 5 && s.pending === 0; }, 20_000, 'every entry scored or dead-lettered');
      const scores = await client.readScores();
      expect(scores.map((s) => s.id).sort()).toEqual([0, 1, 3, 4].map((i) => `${stream}-${i}`));
      const dead = await client.readDeadLetters();
      expect(dead).toHaveLength(1);
      expect(dead[0]).toMatchObject({ code: 'INVALID_MODEL', field, reason: expect.stringMatching(/model|scorer/) });
      const stats = service.stats();
      expect(stats).toMatchObject({ scored: 4, deadLettered: 1, deadLetters: { INVALID_MODEL: 1 }, errors: 0 });
      expect(calls).toBe(1); // never retried as a batch, never POISON
      expect(logs.some((e) => e.event === 'dead-letter' && e.details?.['code'] === 'INVALID_MODEL')).toBe(true);
    } finally {
      await service.close();
      await client.close();
    }
  });
});
