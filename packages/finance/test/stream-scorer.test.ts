// FraudScorerService in this process against a real redis-server: output with ids, dead letters, point-in-time
// features of a group equal to one consumer in order, graceful close, and a trained FraudModel through the service.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import {
  FeatureEngine,
  FraudModel,
  FraudScorerService,
  generateTransactions,
  initRuntime,
  isLeptonError,
  MemoryStateStore,
  partitionOf,
  ScorerStreamClient,
  type ScoreRecord,
  type ScorerLogEvent,
  type Transaction,
} from '@lepton/finance';
import { redisAvailable } from './support/redis.js';
import { standInScorer, startManagedRedis, waitUntil, type ManagedRedis } from './support/stream-scorer.js';
import { syntheticStream } from './support/stream.js';

const skip = !redisAvailable() && !process.env['CI'];
if (skip) console.warn('stream-scorer.test.ts skipped: install redis-server (apt-get install -y redis-server) to run it');

const names = new FeatureEngine().names;

async function allScores(client: ScorerStreamClient): Promise<ScoreRecord[]> {
  const out: ScoreRecord[] = [];
  for (;;) {
    const page = await client.readScores(out.length ? { after: out.at(-1)!.entryId, count: 5000 } : { count: 5000 });
    if (page.length === 0) return out;
    out.push(...page);
  }
}

/** Scores of the group until `n` are written, then every service closed. */
async function runGroup(url: string, stream: string, partitions: number, txs: Transaction[], consumers: number, batchSize: number): Promise<ScoreRecord[]> {
  const client = new ScorerStreamClient({ connection: url, stream, partitions });
  const services = await Promise.all(
    Array.from({ length: consumers }, (_, i) =>
      FraudScorerService.start({ connection: url, stream, partitions, consumer: `c${i}`, model: standInScorer(names), batchSize, blockMs: 100, minIdleMs: 5000, includeFeatures: true }),
    ),
  );
  try {
    // Published in slices while the group runs, so consumers interleave on live partitions.
    for (let i = 0; i < txs.length; i += 50) await client.publish(txs.slice(i, i + 50));
    await waitUntil(async () => (await client.status()).scores >= txs.length, 60_000, 'every score');
    return await allScores(client);
  } finally {
    await Promise.all(services.map((s) => s.close()));
    await client.close();
  }
}

describe.skipIf(skip)('FraudScorerService on a real redis-server', () => {
  let server: ManagedRedis;
  beforeAll(async () => {
    server = await startManagedRedis();
  });
  afterAll(async () => server?.stop());

  it('partitionOf is FNV-1a of the card id, stable and in range', () => {
    // FNV-1a 32-bit of "a" is 0xe40c292c; of "" the offset basis 0x811c9dc5.
    expect(partitionOf('a', 2 ** 31)).toBe(0xe40c292c % 2 ** 31);
    expect(partitionOf('', 1000)).toBe(0x811c9dc5 % 1000);
    for (const id of ['c1', 'card-42', 'é']) expect(partitionOf(id, 7)).toBeLessThan(7);
    expect(() => partitionOf('c', 0)).toThrow(/positive integer/);
  });

  it('shared merchant state stays in time order when another partition records an older transaction later', async () => {
    // Two partitions' engines on one store: the second records a merchant's older transaction after the first
    // recorded a newer one. The next transaction's merchant windows must count both, as one engine in order does.
    const store = new MemoryStateStore();
    const [a, b] = [new FeatureEngine({ store }), new FeatureEngine({ store })];
    const t = Date.parse('2026-03-01T12:00:00Z');
    const tx = (id: string, card: string, at: number): Transaction => ({ id, timestamp: at, amount: 10, currency: 'EUR', cardId: card, customerId: card, merchantId: 'm', merchantCategory: '5411', channel: 'pos' });
    const stream = [tx('old', 'c2', t - 20 * 60_000), tx('new', 'c1', t - 5 * 60_000), tx('now', 'c1', t)];
    await a.process(stream[1]!);
    await b.process(stream[0]!); // late, from the other partition
    const got = a.describe(await a.process(stream[2]!));
    const one = new FeatureEngine();
    for (const x of stream.slice(0, 2)) await one.process(x);
    const want = one.describe(await one.process(stream[2]!));
    expect([got['merchant_count_10m'], got['merchant_count_1h']]).toEqual([1, 2]);
    for (const name of names) if (!name.startsWith('customer_')) expect([name, got[name]]).toEqual([name, want[name]]);
  });

  it('writes one score per transaction with its input entry id; bad entries go to the dead-letter stream, acked, with a reason and no card data', async () => {
    const stream = 'dl';
    const { txs } = syntheticStream(240, 21);
    const client = new ScorerStreamClient({ connection: server.url, stream, partitions: 2 });
    const ids = await client.publish(txs.slice(0, 120));
    // Bad entries in the middle of the stream, each carrying a recognisable fake card number.
    const raw = new Redis(server.url);
    const secret = '4111111111111111';
    const bad = [
      ['tx', `{"cardId":"${secret}", not json`],
      ['payload', JSON.stringify({ cardId: secret })],
      ['tx', JSON.stringify({ ...txs[0], id: 'bad-amount', cardId: secret, amount: -5 })],
      ['tx', JSON.stringify({ ...txs[0], id: 'bad-time', cardId: secret, timestamp: '2026-02-30T10:00:00Z' })],
      ['tx', `"${secret}${'x'.repeat(70_000)}"`],
    ];
    for (const [f, v] of bad) await raw.xadd(`${stream}:0`, '*', f!, v!);
    ids.push(...(await client.publish(txs.slice(120))));
    const logs: ScorerLogEvent[] = [];
    const services = await Promise.all(
      ['a', 'b'].map((c) => FraudScorerService.start({ connection: server.url, stream, partitions: 2, consumer: c, model: standInScorer(names), batchSize: 16, blockMs: 100, log: (e) => logs.push(e) })),
    );
    try {
      await waitUntil(async () => {
        const s = await client.status();
        return s.scores + s.deadLetters >= txs.length + bad.length && s.pending === 0;
      }, 60_000, 'scores and dead letters');
    } finally {
      await Promise.all(services.map((s) => s.close()));
    }
    const scores = await allScores(client);
    expect(scores.map((s) => s.id).sort()).toEqual(txs.map((t) => t.id).sort());
    const byId = new Map(scores.map((s) => [s.id, s]));
    txs.forEach((t, i) => {
      const s = byId.get(t.id)!;
      expect(s.inputId).toBe(ids[i]);
      expect(s.partition).toBe(partitionOf(t.cardId, 2));
      expect(s.probability).toBeGreaterThan(0);
      expect(s.probability).toBeLessThan(1);
    });
    const dead = await client.readDeadLetters();
    expect(dead.map((d) => d.code).sort()).toEqual(['FINANCE_MESSAGE_INVALID', 'FINANCE_MESSAGE_INVALID', 'FINANCE_MESSAGE_INVALID', 'FINANCE_TRANSACTION_INVALID', 'FINANCE_TRANSACTION_INVALID']);
    expect(dead.filter((d) => d.code === 'FINANCE_TRANSACTION_INVALID').map((d) => d.field).sort()).toEqual(['amount', 'timestamp']);
    const deadEntries = await raw.xrange(`${stream}:dead`, '-', '+');
    expect(JSON.stringify(deadEntries)).not.toContain(secret);
    expect(JSON.stringify(logs)).not.toContain(secret);
    expect(logs.filter((l) => l.event === 'dead-letter')).toHaveLength(5);
    const stats = services.map((s) => s.stats());
    expect(stats.reduce((n, s) => n + s.scored, 0)).toBe(txs.length);
    expect(stats.reduce((n, s) => n + s.deadLettered, 0)).toBe(bad.length);
    expect(stats.reduce((n, s) => n + s.acked, 0)).toBe(txs.length + bad.length);
    // Everything acknowledged: nothing pending in either partition.
    expect((await client.status()).pending).toBe(0);
    // Publishing with another partition count is refused: it would split cards across partitions.
    const wrong = new ScorerStreamClient({ connection: server.url, stream, partitions: 3 });
    await expect(wrong.publish(txs.slice(0, 1))).rejects.toSatisfy((e: unknown) => isLeptonError(e, 'FINANCE_STREAM_CONFIG'));
    await expect(FraudScorerService.start({ connection: server.url, stream, partitions: 3, model: standInScorer(names) })).rejects.toSatisfy((e: unknown) => isLeptonError(e, 'FINANCE_STREAM_CONFIG'));
    await wrong.close();
    await client.close();
    raw.disconnect();
  });

  it('gives each transaction the features one consumer computes in order: all of them with one partition, card features with four', async () => {
    const { txs } = syntheticStream(400, 22);
    const reference = new FeatureEngine();
    const expected = new Map<string, number[]>();
    for (const t of txs) expected.set(t.id, Array.from(await reference.process(t)));

    // One partition, three consumers in small batches: the whole vector, merchant and category state included.
    const one = await runGroup(server.url, 'pit1', 1, txs, 3, 8);
    expect(one).toHaveLength(txs.length);
    for (const s of one) expect(s.features).toEqual(expected.get(s.id));

    // Four partitions: each card's features (its windows, time since previous, z-score, distance, speed, new device
    // or merchant) are exact. Merchant, customer, device and category aggregates see what other partitions had scored.
    const cardFeatures = names.map((n, i) => [n, i] as const).filter(([n]) => n.startsWith('card_'));
    expect(cardFeatures.length).toBeGreaterThan(16);
    const four = await runGroup(server.url, 'pit4', 4, txs, 3, 8);
    expect(four).toHaveLength(txs.length);
    expect(new Set(four.map((s) => s.consumer)).size).toBeGreaterThan(1);
    for (const s of four) {
      const want = expected.get(s.id)!;
      for (const [n, i] of cardFeatures) expect([n, s.features![i]]).toEqual([n, want[i]]);
    }
  });

  it('waits for earlier entries another consumer holds, claims them once idle, and applies the partition in order', async () => {
    const stream = 'order';
    const { txs } = syntheticStream(60, 24);
    const client = new ScorerStreamClient({ connection: server.url, stream });
    const ids = await client.publish(txs);
    const raw = new Redis(server.url);
    await raw.xgroup('CREATE', `${stream}:0`, 'lepton-scorers', '0', 'MKSTREAM');
    // A consumer that will never come back takes the first 5 entries; 'live' itself (before a restart) took the next 5.
    await raw.xreadgroup('GROUP', 'lepton-scorers', 'ghost', 'COUNT', 5, 'STREAMS', `${stream}:0`, '>');
    await raw.xreadgroup('GROUP', 'lepton-scorers', 'live', 'COUNT', 5, 'STREAMS', `${stream}:0`, '>');
    const t0 = Date.now();
    const live = await FraudScorerService.start({ connection: server.url, stream, consumer: 'live', model: standInScorer(names), minIdleMs: 1500, blockMs: 100, includeFeatures: true });
    await waitUntil(async () => (await client.status()).scores >= txs.length, 60_000, 'every score');
    await live.close();
    const stats = live.stats();
    expect(stats.waits).toBeGreaterThanOrEqual(1); // its own entries 6–10 waited for the ghost's 1–5
    expect(stats.claimed).toBe(5);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1500);
    const scores = await allScores(client);
    // Output order is input order: nothing of the partition was applied before an earlier entry.
    expect(scores.map((s) => s.inputId)).toEqual(ids);
    const reference = new FeatureEngine();
    for (const [i, t] of txs.entries()) expect(scores[i]!.features).toEqual(Array.from(await reference.process(t)));
    raw.disconnect();
    await client.close();
  });

  it('drops a transaction published twice (one score), dead-letters one older than its partition and one delivered too often', async () => {
    const stream = 'dups';
    const { txs } = syntheticStream(80, 25);
    const client = new ScorerStreamClient({ connection: server.url, stream });
    const raw = new Redis(server.url);
    await raw.xgroup('CREATE', `${stream}:0`, 'lepton-scorers', '0', 'MKSTREAM');
    // The first entry has been delivered 5 times already (taken by consumers that crashed on it).
    const [poison] = await client.publish([{ ...txs[0]!, id: 'poison' }]);
    await raw.xreadgroup('GROUP', 'lepton-scorers', 'crashed', 'COUNT', 1, 'STREAMS', `${stream}:0`, '>');
    for (let i = 0; i < 4; i++) await raw.xclaim(`${stream}:0`, 'lepton-scorers', 'crashed', 0, poison!);
    await client.publish(txs);
    await client.publish([txs[10]!, { ...txs[5]!, id: 'late-new-id' }]);
    const service = await FraudScorerService.start({ connection: server.url, stream, model: standInScorer(names), minIdleMs: 200, maxDeliveries: 4, blockMs: 100 });
    await waitUntil(async () => {
      const s = await client.status();
      return s.pending === 0 && s.undelivered === 0 && s.scores >= txs.length;
    }, 60_000, 'every entry');
    await service.close();
    const scores = await allScores(client);
    expect(scores.map((s) => s.id).sort()).toEqual(txs.map((t) => t.id).sort());
    const dead = await client.readDeadLetters();
    expect(dead.map((d) => [d.inputId === poison ? 'poison' : 'other', d.code]).sort()).toEqual([
      ['other', 'FINANCE_OUT_OF_ORDER'],
      ['poison', 'FINANCE_MESSAGE_POISON'],
    ]);
    const stats = service.stats();
    expect(stats.duplicates).toBe(1);
    expect(stats.deadLetters).toEqual({ FINANCE_MESSAGE_POISON: 1, FINANCE_OUT_OF_ORDER: 1 });
    expect(stats.acked).toBe(txs.length + 3);
    raw.disconnect();
    await client.close();
  });

  it('close() finishes the entries it has read, acknowledges them and disconnects; another consumer finishes the stream', async () => {
    const stream = 'closing';
    const { txs } = syntheticStream(300, 23);
    const client = new ScorerStreamClient({ connection: server.url, stream, partitions: 2 });
    await client.publish(txs);
    // A slow model keeps a batch in flight when close() is called.
    const first = await FraudScorerService.start({ connection: server.url, stream, partitions: 2, consumer: 'first', model: standInScorer(names, 150), batchSize: 20 });
    await waitUntil(async () => first.stats().scored > 0 && first.stats().inFlight > 0, 30_000, 'a batch in flight');
    await first.close();
    const s = first.stats();
    expect(s.inFlight).toBe(0);
    expect(s.acked).toBe(s.read);
    expect(s.scored).toBeLessThan(txs.length);
    const status = await client.status();
    expect(status.pending).toBe(0);
    expect(status.scores).toBe(s.scored);
    const second = await FraudScorerService.start({ connection: server.url, stream, partitions: 2, consumer: 'second', model: standInScorer(names), batchSize: 50 });
    await waitUntil(async () => (await client.status()).scores >= txs.length, 60_000, 'the rest');
    await second.close();
    const scores = await allScores(client);
    expect(scores.map((x) => x.id).sort()).toEqual(txs.map((t) => t.id).sort());
    await client.close();
  });

  it('scores with a trained FraudModel exactly as the model scores the same features, with decisions and alerts', async () => {
    await initRuntime({ backend: 'wasm' }, {});
    const txs = generateTransactions({ cards: 60, days: 12, seed: 5 });
    const engine = new FeatureEngine();
    const rows: Float32Array[] = [];
    for (const t of txs) rows.push(await engine.process(t));
    const cut = Math.floor(txs.length * 0.6);
    const cut2 = Math.floor(txs.length * 0.8);
    const part = (a: number, b: number) => ({ rows: rows.slice(a, b), labels: txs.slice(a, b).map((t) => t.label) });
    const { model } = await FraudModel.train(part(0, cut), part(cut, cut2), { featureNames: engine.names, epochs: 2, autoencoder: false, seed: 3 });
    try {
      const live = txs.slice(cut2, cut2 + 200);
      const want = await model.score(rows.slice(cut2, cut2 + 200));
      const policy = { review: 0.2, decline: 0.6 };
      const stream = 'model';
      const client = new ScorerStreamClient({ connection: server.url, stream });
      // The service's state starts from the same history: the earlier transactions, published first.
      await client.publish(txs.slice(0, cut2));
      const service = await FraudScorerService.start({ connection: server.url, stream, model, policy, batchSize: 64, consumer: 'm' });
      await client.publish(live);
      await waitUntil(async () => (await client.status()).scores >= cut2 + live.length, 120_000, 'scores');
      await service.close();
      const byId = new Map((await allScores(client)).map((s) => [s.id, s]));
      live.forEach((t, i) => {
        const s = byId.get(t.id)!;
        // Batches of another size may round differently in the last float32 bit.
        expect(s.probability).toBeCloseTo(want[i]!.probability, 5);
        expect(Math.abs(s.riskScore - want[i]!.riskScore)).toBeLessThanOrEqual(1);
        expect(s.decision).toBe(s.probability >= 0.6 ? 'decline' : s.probability >= 0.2 ? 'review' : 'approve');
      });
      const alerts = await client.readAlerts({ count: 100_000 });
      expect(alerts.length).toBe([...byId.values()].filter((s) => s.decision !== 'approve').length);
      expect(alerts.every((a) => a.decision === 'review' || a.decision === 'decline')).toBe(true);
      await client.close();
    } finally {
      await model.close();
    }
  });

  it('refuses bad options with INVALID_ARGUMENT and an unreachable Redis with FINANCE_STREAM_UNAVAILABLE', async () => {
    const model = standInScorer(names);
    for (const bad of [{ partitions: 0 }, { batchSize: 1.5 }, { minIdleMs: 10 }, { stream: 'has space' }, { policy: { review: 0.9, decline: 0.1 } }]) {
      await expect(FraudScorerService.start({ connection: server.url, stream: 's', model, ...bad })).rejects.toSatisfy((e: unknown) => isLeptonError(e, 'INVALID_ARGUMENT'));
    }
    await expect(FraudScorerService.start({ connection: server.url, stream: 's', model: standInScorer(names.slice(1)) })).rejects.toSatisfy((e: unknown) => isLeptonError(e, 'INVALID_ARGUMENT'));
    const closed = `redis://127.0.0.1:1`;
    await expect(FraudScorerService.start({ connection: closed, stream: 's', model })).rejects.toSatisfy((e: unknown) => isLeptonError(e, 'FINANCE_STREAM_UNAVAILABLE'));
  });
});
