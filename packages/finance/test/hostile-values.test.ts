import { describe, expect, it } from 'vitest';
import {
  binCategorical,
  binIndex,
  binNumeric,
  decide,
  FeatureEngine,
  FraudScorerService,
  historicalVaR,
  kupiecTest,
  partitionOf,
  Scorecard,
  ScorerStreamClient,
  TransactionSchema,
  validateTransactions,
  describeFeature,
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
