import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tf } from '@lepton/core';
import {
  backtestVaR,
  binCategorical,
  binIndex,
  binNumeric,
  decide,
  FeatureEngine,
  FraudModel,
  FraudScorerService,
  generatePrices,
  generateTransactions,
  historicalVaR,
  IngestCollector,
  indicatorFeatures,
  kupiecTest,
  MemoryStateStore,
  partitionOf,
  readOhlcvCsv,
  readTransactionsCsv,
  RedisStateStore,
  replayHistory,
  scaleRows,
  Scorecard,
  ScorerStreamClient,
  streamTransactionsNdjson,
  TransactionSchema,
  validateBars,
  validateTransaction,
  validateTransactions,
  walkForward,
  describeFeature,
  type LabelledTransaction,
} from '@lepton/finance';
import { expectRejected, HOSTILE, HOSTILE_JSON, outcome } from '../../../tests/support/hostile.js';
import { RAW_RECORD, RECORD_FIELDS } from './support/raw-record.js';

// Every position below is validated; a hostile value there must come back as a counted rejection or a LeptonError,
// never as a TypeError from building a message (`${value}` / String(value) of a value without a usable toString).

const record = RAW_RECORD;
const FIELDS = RECORD_FIELDS;

describe('finance entry points with hostile values: a counted rejection or a LeptonError, never a TypeError', () => {
  it('validateTransactions: a hostile value in any field is one counted rejection naming the field', () => {
    for (const [name, value] of [...HOSTILE, ...HOSTILE_JSON, ['10 MB string', 'x'.repeat(10 * 1024 * 1024)] as const]) {
      for (const field of FIELDS) {
        const r = validateTransactions([{ ...record, [field]: value }, record]);
        expect.soft([r.valid.length, r.rejected.length, r.rejected[0]?.issues[0]?.field], `${field} = ${name}`).toEqual([1, 1, field]);
        expect.soft(JSON.stringify(r.rejected).length, `${field} = ${name}: rejection size`).toBeLessThan(2000);
      }
    }
  });

  it('FeatureEngine.process: a hostile field of a supposedly validated transaction is FINANCE_TRANSACTION_INVALID', async () => {
    const tx = TransactionSchema.parse(record);
    const engine = new FeatureEngine();
    for (const field of FIELDS) {
      await expectRejected(`FeatureEngine.process(${field})`, (v) => engine.process({ ...tx, [field]: v }), 'FINANCE_TRANSACTION_INVALID');
    }
    expect(engine.stats().refusedInvalid).toBe(FIELDS.length * (HOSTILE.length + 1));
  });

  it('credit: binNumeric and binCategorical feature names, Scorecard characteristics and categorical values', async () => {
    await expectRejected('binNumeric(feature) with bad values', (v) => binNumeric(v as string, 'no' as unknown as number[], [0, 1]), 'INVALID_INPUT');
    await expectRejected('binNumeric(values[0])', (v) => binNumeric('age', [v as number, 2], [0, 1]), 'INVALID_INPUT');
    await expectRejected('binCategorical(feature) with bad values', (v) => binCategorical(v as string, [1 as unknown as string], [0]), 'INVALID_INPUT');
    await expectRejected('binCategorical(values[0])', (v) => binCategorical('home', [v as string, 'b'], [0, 1]), 'INVALID_INPUT', HOSTILE);
    const applicants = Array.from({ length: 40 }, (_, i) => ({ age: 20 + i, home: i % 2 === 0 ? 'own' : 'rent' }));
    const bad = applicants.map((_, i) => (i % 3 === 0 ? 1 : 0));
    await expectRejected('Scorecard.fit(characteristics[0].name)', (v) => Scorecard.fit(applicants, bad, { characteristics: [{ name: v as string, type: 'numeric' }] }), 'INVALID_ARGUMENT', HOSTILE);
    await expectRejected('Scorecard.fit(characteristics[0].type)', (v) => Scorecard.fit(applicants, bad, { characteristics: [{ name: 'age', type: v as 'numeric' }] }), 'INVALID_ARGUMENT');
    await expectRejected('Scorecard.fit(characteristics[0])', (v) => Scorecard.fit(applicants, bad, { characteristics: [v as never] }), 'INVALID_ARGUMENT');
    await expectRejected('Scorecard.fit(numeric value)', (v) => Scorecard.fit(applicants.map((a, i) => (i === 3 ? { ...a, age: v } : a)) as never, bad, { characteristics: [{ name: 'age', type: 'numeric' }] }), 'INVALID_INPUT');
    await expectRejected(
      'Scorecard.fit(categorical value)',
      (v) => Scorecard.fit(applicants.map((a, i) => (i === 3 ? { ...a, home: v } : a)) as never, bad, { characteristics: [{ name: 'home', type: 'categorical' }] }),
      'INVALID_INPUT',
      HOSTILE.filter(([name]) => name !== 'BigInt'),
    );
    const binning = binNumeric('age', applicants.map((a) => a.age), bad);
    await expectRejected('binIndex(value)', (v) => binIndex(binning, v as number), 'INVALID_INPUT');
  });

  it('risk and decisions: historicalVaR, kupiecTest, decide', async () => {
    const returns = Array.from({ length: 200 }, (_, i) => Math.sin(i) / 100);
    await expectRejected('historicalVaR(confidence)', (v) => historicalVaR(returns, v as number), 'INVALID_ARGUMENT');
    await expectRejected('historicalVaR(returns[0])', (v) => historicalVaR([v as number, ...returns]), 'INVALID_INPUT');
    await expectRejected('kupiecTest(confidence)', (v) => kupiecTest(3, 250, v as number), 'INVALID_ARGUMENT');
    await expectRejected('decide(score)', (v) => decide({ review: 0.5, decline: 0.9 }, v as number), 'INVALID_INPUT');
    await expectRejected('decide(policy.review)', (v) => decide({ review: v as number, decline: 0.9 }, 0.5), 'INVALID_ARGUMENT');
  });

  it('streams: partitionOf card ids, scorer options, a stream client’s read position', async () => {
    await expectRejected('partitionOf(cardId)', (v) => partitionOf(v as string, 4), 'INVALID_ARGUMENT', HOSTILE);
    await expectRejected('partitionOf(partitions)', (v) => partitionOf('c1', v as number), 'INVALID_ARGUMENT');
    const model = { score: async (): Promise<never[]> => [] };
    for (const key of ['stream', 'group', 'consumer', 'partitions', 'batchSize', 'minIdleMs', 'maxDeliveries']) {
      // Options are resolved before any connection is made.
      await expectRejected(`FraudScorerService.start(${key})`, (v) => FraudScorerService.start({ connection: 'redis://127.0.0.1:1', stream: 'tx', model, [key]: v } as never), 'INVALID_ARGUMENT');
    }
    // lazyConnect: the read position is checked before any command is sent, so no Redis is needed here.
    const client = new ScorerStreamClient({ stream: 'tx', connection: { host: '127.0.0.1', port: 1, lazyConnect: true } });
    try {
      await expectRejected('ScorerStreamClient.readScores(after)', (v) => client.readScores({ after: v as string }), 'INVALID_ARGUMENT', HOSTILE);
    } finally {
      await outcome(() => client.close());
    }
  });
  it('describeFeature refuses a hostile name, value or usual, and a window named like an Object member is only a name', async () => {
    await expectRejected('describeFeature(name)', (v) => describeFeature(v as string, 1, 1), 'INVALID_ARGUMENT', HOSTILE);
    await expectRejected('describeFeature(value)', (v) => describeFeature('card_count_1h', v as number, 1), 'INVALID_ARGUMENT', [...HOSTILE, ['NaN', NaN]]);
    await expectRejected('describeFeature(usual)', (v) => describeFeature('card_count_1h', 1, v as number), 'INVALID_ARGUMENT', [...HOSTILE, ['Infinity', Infinity]]);
    expect(describeFeature('card_count_constructor', 2, 1)).toBe('2 transactions on this card in the last constructor (usual 1)');
    expect(describeFeature('card_count_1h', 7, 0.3)).toBe('7 transactions on this card in the last hour (usual 0.30)');
  });
});

/** Values that are not an options object (an object of any kind, even a hostile one, is one: it only lacks options). */
const NOT_OPTIONS: ReadonlyArray<readonly [string, unknown]> = [
  ['null', null],
  ['Symbol()', Symbol('hostile')],
  ['BigInt', 12n],
  ['a number', 5],
  ['a string', 'fast'],
  ['true', true],
];

/** A text source that yields one chunk after the header: what a caller's async iterable may do. */
async function* chunks(header: string, chunk: unknown): AsyncGenerator<unknown> {
  yield header;
  yield chunk;
}

describe('finance entry points swept a second time: options, containers and positions', () => {
  it('validateTransactions refuses a non-iterable (or a string) as a whole; validateTransaction a position that is not an index', async () => {
    await expectRejected('validateTransactions(records)', (v) => validateTransactions(v as unknown[]), 'INVALID_INPUT');
    const notIndex: Array<readonly [string, unknown]> = [...HOSTILE, ['NaN', Number.NaN], ['-1', -1], ['1.5', 1.5], ["'1'", '1'], ['{}', {}]];
    await expectRejected('validateTransaction(position)', (v) => validateTransaction({ ...record, amount: 'x' }, v as number), 'INVALID_ARGUMENT', notIndex);
    const collector = new IngestCollector();
    await expectRejected('IngestCollector.add(position)', (v) => collector.add(record, v as number), 'INVALID_ARGUMENT', notIndex);
    await expectRejected('IngestCollector.reject(rejected)', (v) => collector.reject(v as never), 'INVALID_ARGUMENT');
    await expectRejected('IngestCollector.reject(rejected.issues[0])', (v) => collector.reject({ position: 0, issues: [v as never] }), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ['{}', {}]]);
    await expectRejected('IngestCollector.reject(rejected.position)', (v) => collector.reject({ position: v as number, issues: [{ field: 'x', message: 'y' }] }), 'INVALID_ARGUMENT', notIndex);
    expect(collector.done().stats).toEqual({ total: 0, valid: 0, rejected: 0, byField: {} }); // nothing counted for a refused call
    expect(validateTransaction(record, 3)).toHaveProperty('transaction');
  });

  it('validateBars: a malformed item is one counted rejection, a bad position becomes the index, prices are plain decimals', async () => {
    await expectRejected('validateBars(records)', (v) => validateBars(v as never), 'INVALID_INPUT');
    const bar = { timestamp: '2024-01-02', open: 10, high: 11, low: 9, close: 10.5, volume: 100 };
    for (const [name, item] of [...HOSTILE, ['null', null], ['undefined', undefined], ['a bare record', bar]] as const) {
      const r = validateBars([item as never, { record: { ...bar, timestamp: '2024-01-03' }, position: 1 }]);
      expect.soft([r.stats, r.rejected[0]?.position], name).toEqual([{ total: 2, valid: 1, rejected: 1, byField: { '(record)': 1 } }, 0]);
    }
    for (const [name, position] of [...HOSTILE, ['NaN', Number.NaN], ['1.5', 1.5], ["'7'", '7']] as const) {
      expect.soft(validateBars([{ record: { ...bar, open: -1 }, position: position as number }]).rejected[0]?.position, name).toBe(0);
    }
    for (const field of ['open', 'high', 'low', 'close', 'volume'] as const) {
      for (const text of ['0x10', '0b1010', '0o12', '1e1']) {
        // Number() reads these as 16, 10, 10 and 10: each would have passed as a plausible price or volume.
        expect.soft(validateBars([{ record: { ...bar, high: 20, [field]: text }, position: 0 }]).stats.byField, `${field} = '${text}'`).toEqual({ [field]: 1 });
      }
    }
    expect(validateBars([{ record: { ...bar, open: ' 10.25 ', volume: '100' }, position: 0 }]).bars).toMatchObject([{ open: 10.25, volume: 100 }]);
  });

  it('readers: a source yielding something other than text or bytes is a *_READ_FAILED error, never a TypeError', async () => {
    const values = [...HOSTILE, ['null', null], ['a number', 5], ['{}', {}]] as const;
    await expectRejected('readTransactionsCsv(chunk)', (v) => readTransactionsCsv(chunks('id,amount\n', v) as never), 'TRANSACTIONS_READ_FAILED', values);
    await expectRejected('readOhlcvCsv(chunk)', (v) => readOhlcvCsv(chunks('date,open,high,low,close,volume\n', v) as never), 'OHLCV_READ_FAILED', values);
    const drain = async (source: unknown, options?: unknown): Promise<number> => {
      let n = 0;
      for await (const _ of streamTransactionsNdjson(source as never, options as never)) n++;
      return n;
    };
    await expectRejected('streamTransactionsNdjson(chunk)', (v) => drain(chunks(`${JSON.stringify(record)}\n`, v)), 'TRANSACTIONS_READ_FAILED', values);
    await expectRejected('streamTransactionsNdjson(options)', (v) => drain([`${JSON.stringify(record)}\n`], v), 'INVALID_ARGUMENT', NOT_OPTIONS);
  });

  it('features: the engine checks its store when made, describe() its values, replayHistory its engine and labels before replaying', async () => {
    await expectRejected('new FeatureEngine({ store })', (v) => new FeatureEngine({ store: v as never }), 'INVALID_ARGUMENT', [...HOSTILE, ['{}', {}], ['a number', 5]]);
    const engine = new FeatureEngine();
    await expectRejected('FeatureEngine.describe(vector[0])', (v) => engine.describe([v as number, ...new Array<number>(engine.names.length - 1).fill(0)]), 'INVALID_INPUT', [...HOSTILE, ['NaN', Number.NaN], ["'1'", '1'], ['null', null]]);
    await expectRejected('replayHistory(engine)', (v) => replayHistory(v as FeatureEngine, []), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ['{}', {}]]);
    const tx = TransactionSchema.parse(record) as LabelledTransaction;
    await expectRejected('replayHistory(history[1])', (v) => replayHistory(new FeatureEngine(), [tx, v as never]), 'FINANCE_TRANSACTION_INVALID', [['null', null], ['undefined', undefined], ...HOSTILE]);
    const replayed = new FeatureEngine();
    await expectRejected('replayHistory(label)', (v) => replayHistory(replayed, [tx, { ...tx, id: 't2', label: v as number, labelKnownAt: tx.timestamp }]), 'INVALID_INPUT', [...HOSTILE, ['2', 2], ["'1'", '1'], ['null', null]]);
    expect(replayed.stats().processed).toBe(0); // refused before the first transaction, not half-way
  });

  it('state stores: arguments of the in-memory store, and Redis store options before any connection is made', async () => {
    const store = new MemoryStateStore();
    await expectRejected('MemoryStateStore.getMany(keys)', (v) => store.getMany(v as string[]), 'INVALID_ARGUMENT');
    await expectRejected('MemoryStateStore.getMany(keys[0])', (v) => store.getMany([v as string]), 'INVALID_ARGUMENT', HOSTILE);
    await expectRejected('MemoryStateStore.update(key)', (v) => store.update(v as string, () => 1), 'INVALID_ARGUMENT', HOSTILE);
    await expectRejected('MemoryStateStore.update(fn)', (v) => store.update('k', v as never), 'INVALID_ARGUMENT');
    expect(store.size).toBe(0);
    const connection = { host: '127.0.0.1', port: 1, lazyConnect: true };
    await expectRejected('new RedisStateStore(options)', (v) => new RedisStateStore(v as never), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_OPTIONS]);
    await expectRejected('new RedisStateStore(connection)', (v) => new RedisStateStore({ connection: v as never }), 'INVALID_ARGUMENT', [...HOSTILE.filter(([name]) => !name.startsWith('{') && name !== 'Object.create(null)'), ['null', null], ['a number', 6379]]);
    await expectRejected('new RedisStateStore(prefix)', (v) => new RedisStateStore({ connection, prefix: v as string }), 'INVALID_ARGUMENT', HOSTILE);
    for (const key of ['ttlSeconds', 'maxRetries']) {
      await expectRejected(`new RedisStateStore(${key})`, (v) => new RedisStateStore({ connection, [key]: v }), 'INVALID_ARGUMENT', [...HOSTILE, ['NaN', Number.NaN], ['1.5', 1.5], ['-1', -1]]);
    }
    await expectRejected('new ScorerStreamClient(connection)', (v) => new ScorerStreamClient({ stream: 'tx', connection: v as string }), 'INVALID_ARGUMENT', [['Symbol()', Symbol('x')], ['BigInt', 12n], ['null', null], ['a number', 6379]]);
    const model = { score: async (): Promise<never[]> => [] };
    await expectRejected('FraudScorerService.start(statePrefix)', (v) => FraudScorerService.start({ connection: 'redis://127.0.0.1:1', stream: 'tx', model, statePrefix: v as string }), 'INVALID_ARGUMENT', HOSTILE);
    await expectRejected('FraudScorerService.start(store)', (v) => FraudScorerService.start({ connection: 'redis://127.0.0.1:1', stream: 'tx', model, store: v as never }), 'INVALID_ARGUMENT', [...HOSTILE, ['{}', {}]]);
  });

  it('credit: binning options, a binning that is not one, and scorecard scaling that overflows', async () => {
    const ages = Array.from({ length: 40 }, (_, i) => 20 + i);
    const bad = ages.map((_, i) => (i % 3 === 0 ? 1 : 0));
    await expectRejected('binNumeric(options)', (v) => binNumeric('age', ages, bad, v as never), 'INVALID_ARGUMENT', NOT_OPTIONS);
    await expectRejected('binCategorical(options)', (v) => binCategorical('home', ages.map(String), bad, v as never), 'INVALID_ARGUMENT', NOT_OPTIONS);
    const binning = binNumeric('age', ages, bad);
    await expectRejected('binIndex(binning)', (v) => binIndex(v as never, 30), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ['{}', {}]]);
    await expectRejected('binIndex(binning.bins)', (v) => binIndex({ ...binning, bins: v as never }, 30), 'INVALID_ARGUMENT', [...HOSTILE, ['[]', []], ['[null]', [null]]]);
    await expectRejected('binIndex(binning.type)', (v) => binIndex({ ...binning, type: v as never }, 30), 'INVALID_ARGUMENT');
    // ±Infinity bounds read back from JSON are null, which compared as 0: -5 fell into the last bin instead of the first.
    expect(await outcome(() => binIndex(JSON.parse(JSON.stringify(binning)) as never, -5))).toBe('LeptonError INVALID_ARGUMENT');
    expect(binIndex(binning, -5)).toBe(0);
    const applicants = ages.map((age) => ({ age }));
    for (const [name, options] of [['pdo 1e308', { pdo: 1e308 }], ['baseOdds 1e-300 with pdo 1e307', { baseOdds: 1e-300, pdo: 1e307 }]] as const) {
      expect.soft(await outcome(() => Scorecard.fit(applicants, bad, { characteristics: [{ name: 'age', type: 'numeric' }], ...options })), name).toBe('LeptonError INVALID_ARGUMENT');
    }
  });

  it('market: options objects, huge counts, the forecaster kind and a scaler that is not one', async () => {
    const returns = Array.from({ length: 60 }, (_, i) => Math.sin(i) / 100);
    await expectRejected('backtestVaR(options)', (v) => backtestVaR(returns, v as never), 'INVALID_ARGUMENT', NOT_OPTIONS);
    for (const [name, n] of [['MAX_VALUE', Number.MAX_VALUE], ['1e300', 1e300], ['2^53', 2 ** 53]] as const) {
      // The likelihood ratio of a count near 1e308 was Infinity (and a p-value of 0) with no error.
      expect.soft(await outcome(() => kupiecTest(0, n, 0.5)), `kupiecTest(observations = ${name})`).toBe('LeptonError INVALID_ARGUMENT');
    }
    await expectRejected('generatePrices(options)', (v) => generatePrices(v as never), 'INVALID_ARGUMENT', NOT_OPTIONS);
    await expectRejected('generateTransactions(options)', (v) => generateTransactions(v as never), 'INVALID_ARGUMENT', NOT_OPTIONS);
    // Each ran out of memory (or for ever) before: refused up front now.
    expect(await outcome(() => generatePrices({ bars: 1e308 }))).toBe('LeptonError INVALID_ARGUMENT');
    expect(await outcome(() => generatePrices({ bars: 65_745 }))).toBe('LeptonError INVALID_ARGUMENT');
    expect(await outcome(() => generateTransactions({ cards: 1e308, days: 1 }))).toBe('LeptonError INVALID_ARGUMENT');
    expect(await outcome(() => generateTransactions({ cards: 1, days: 1e9, dailyRate: 0 }))).toBe('LeptonError INVALID_ARGUMENT');
    expect(await outcome(() => generateTransactions({ cards: 1000, days: 100, dailyRate: 1e6 }))).toBe('LeptonError INVALID_ARGUMENT');
    // The longest history stays inside the bar schema: dates before 2200, and low ≤ open, close even below a cent
    // (a floor of 0.01 put low above the close there: 13,514 of these bars were refused).
    const longest = generatePrices({ bars: 65_744 });
    expect(validateBars(longest.map((record, position) => ({ record, position }))).stats).toMatchObject({ valid: 65_744, rejected: 0 });
    const features = indicatorFeatures(generatePrices({ bars: 200, seed: 2 }));
    await expectRejected('walkForward(options)', (v) => walkForward(features, v as never), 'INVALID_ARGUMENT', NOT_OPTIONS);
    await expectRejected('walkForward(kind)', (v) => walkForward(features, { kind: v as never, folds: 1, epochs: 1 }), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ['-1', -1], ['{}', {}], ["'cnn'", 'cnn']]);
    await expectRejected('walkForward(target)', (v) => walkForward(features, { target: v as never, folds: 1, epochs: 1 }), 'INVALID_ARGUMENT');
    await expectRejected('scaleRows(scaler)', (v) => scaleRows([[1, 2]], v as never), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ['{}', {}]]);
    for (const key of ['mean', 'std'] as const) {
      const values = [...HOSTILE, ['NaN', Number.NaN], ["'0x10'", '0x10'], ['null', null], ...(key === 'std' ? ([['0', 0], ['-1', -1]] as const) : [])] as const;
      await expectRejected(`scaleRows(scaler.${key}[0])`, (v) => scaleRows([[1, 2]], { mean: [0, 0], std: [1, 1], [key]: [v, 1] } as never), 'INVALID_ARGUMENT', values);
    }
  });

  it('FraudModel: train options are checked before the data (never defaulted on a typo); save and load need a directory', async () => {
    const set = { rows: [[0], [1]], labels: [0, 1] };
    const base = { featureNames: ['x'], epochs: 1 };
    // Options are checked before the data is used and before any training: no model is trained in this test (a hostile
    // option used to reach the training code and fail there, with another code or a TypeError, or train with a default).
    await expectRejected('FraudModel.train(options)', (v) => FraudModel.train(set, set, v as never), 'INVALID_ARGUMENT', [...NOT_OPTIONS, ['undefined', undefined]]);
    await expectRejected('FraudModel.train(hiddenUnits)', (v) => FraudModel.train(set, set, { ...base, hiddenUnits: v as number[] }), 'INVALID_ARGUMENT', [...HOSTILE, ['{}', {}], ['a number', 8]]);
    await expectRejected('FraudModel.train(hiddenUnits[0])', (v) => FraudModel.train(set, set, { ...base, hiddenUnits: [v as number] }), 'INVALID_ARGUMENT', [...HOSTILE, ['1e308', 1e308], ['0', 0], ['1.5', 1.5], ["'8'", '8']]);
    for (const key of ['classWeight', 'calibration', 'autoencoder']) {
      await expectRejected(`FraudModel.train(${key})`, (v) => FraudModel.train(set, set, { ...base, [key]: v }), 'INVALID_ARGUMENT', [...HOSTILE, ["'None'", 'None'], ['1', 1]]);
    }
    await expectRejected('FraudModel.load(dir)', (v) => FraudModel.load(v as string), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ["''", ''], ['1', 1]]);
    // save() checks its arguments before it reads the model, so an instance without weights shows the check.
    const unsaved = Object.create(FraudModel.prototype) as FraudModel;
    await expectRejected('FraudModel.save(dir)', (v) => unsaved.save(v as string, { name: 'm', version: '1.0.0' }), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ["''", '']]);
    await expectRejected('FraudModel.save(meta)', (v) => unsaved.save('/nonexistent/dir', v as never), 'INVALID_ARGUMENT', [...NOT_OPTIONS, ['undefined', undefined]]);
  });
});

describe('FraudModel.load checks the preprocessing a bundle carries', () => {
  it('a damaged scaler, calibrator or blend in lepton.json is BUNDLE_INVALID at load, not an error at the first score', async () => {
    const rows = Array.from({ length: 40 }, (_, i) => [i % 7, (i * 3) % 5]);
    const labels = rows.map((_, i) => (i % 4 === 0 ? 1 : 0));
    const { model } = await FraudModel.train({ rows, labels }, { rows, labels }, { featureNames: ['a', 'b'], epochs: 1, hiddenUnits: [4], autoencoder: false, calibration: 'platt' });
    const dir = await mkdtemp(join(tmpdir(), 'lepton-fraud-load-'));
    try {
      await model.save(join(dir, 'ok'), { name: 'fraud', version: '1.0.0' });
      model.dispose();
      // lepton.json is not covered by the files' hashes: anyone (or a bad merge) can edit its preprocessing.
      const manifest = JSON.parse(await readFile(join(dir, 'ok', 'supervised', 'lepton.json'), 'utf8')) as { preprocessing: Record<string, unknown> };
      const scaler = manifest.preprocessing['scaler'] as { mean: number[]; std: number[] };
      const damaged: Array<readonly [string, Record<string, unknown>, string]> = [
        ['a NaN mean (null in JSON)', { scaler: { ...scaler, mean: [null, 0] } }, 'BUNDLE_INVALID'],
        ['a string mean', { scaler: { ...scaler, mean: ['0x10', 0] } }, 'BUNDLE_INVALID'],
        ['one mean and std short', { scaler: { mean: [0], std: [1] } }, 'BUNDLE_INVALID'],
        ['one std too many', { scaler: { ...scaler, std: [1, 1, 1] } }, 'BUNDLE_INVALID'],
        ['a zero std', { scaler: { ...scaler, std: [1, 0] } }, 'BUNDLE_INVALID'],
        ['a negative std', { scaler: { ...scaler, std: [-1, 1] } }, 'BUNDLE_INVALID'],
        ['a std of "Infinity" (JSON has no Infinity: a string)', { scaler: { ...scaler, std: ['Infinity', 1] } }, 'BUNDLE_INVALID'],
        ['no scaler', { scaler: null }, 'BUNDLE_INVALID'],
        ['a feature name that is not a string', { featureNames: ['a', 2] }, 'BUNDLE_INVALID'],
        ['a Platt calibrator with a null slope', { calibrator: { kind: 'platt', a: null, b: 0 } }, 'BUNDLE_INVALID'],
        ['an isotonic calibrator with a null knot', { calibrator: { kind: 'isotonic', x: [0, null], y: [0, 1] } }, 'BUNDLE_INVALID'],
        ['a blend weight that is a string', { blendWeight: '1' }, 'BUNDLE_INVALID'],
        ['a blend weight of 2', { blendWeight: 2 }, 'BUNDLE_INVALID'],
        ['anomaly quantiles with a null', { anomalyQuantiles: [0, null, 1] }, 'BUNDLE_INVALID'],
        ['three feature names (and a scaler to match) for a model that takes two', { featureNames: ['a', 'b', 'c'], scaler: { mean: [0, 0, 0], std: [1, 1, 1] } }, 'BUNDLE_INCOMPATIBLE'],
      ];
      const before = tf.memory().numTensors;
      for (const [name, edit, code] of damaged) {
        const target = join(dir, name.replace(/\W+/g, '-'));
        await cp(join(dir, 'ok'), target, { recursive: true });
        await writeFile(join(target, 'supervised', 'lepton.json'), JSON.stringify({ ...manifest, preprocessing: { ...manifest.preprocessing, ...edit } }));
        expect.soft(await outcome(async () => (await FraudModel.load(target)).close()), name).toBe(`LeptonError ${code}`);
      }
      expect(tf.memory().numTensors).toBe(before); // a refused bundle's weights are freed
      const loaded = await FraudModel.load(join(dir, 'ok'));
      expect((await loaded.score([[1, 2]]))[0]!.probability).toBeGreaterThanOrEqual(0);
      await loaded.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
