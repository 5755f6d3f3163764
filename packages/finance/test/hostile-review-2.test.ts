// Regression tests for the second hostile review of the scoring service (and of kupiecTest and binNumeric). Each
// section is numbered by its finding; every case failed on the code before the fix. Real redis-server on loopback.
import { spawn } from 'node:child_process';
import { inspect } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { isLeptonError } from '@lepton/core';
import {
  binNumeric,
  FeatureEngine,
  FraudScorerService,
  kupiecTest,
  partitionOf,
  ScorerStreamClient,
  type FraudScore,
  type ScorerLogEvent,
  type Transaction,
  type TransactionScorer,
} from '@lepton/finance';
import { freePort, redisAvailable } from './support/redis.js';
import { startManagedRedis, waitUntil, type ManagedRedis } from './support/stream-scorer.js';
import { tx } from './support/transactions.js';

const skip = !redisAvailable() && !process.env['CI'];
if (skip) console.warn('hostile-review-2.test.ts: Redis cases skipped: install redis-server to run them');

const names = new FeatureEngine().names;
const AMOUNT = names.indexOf('amount_log');

/** A deterministic score of one feature row: increasing in the amount, so a misaligned score is visible. */
const good = (row: ArrayLike<number>): FraudScore => {
  const p = 1 / (1 + Math.exp(-(row[AMOUNT]! - 3)));
  return { probability: p, riskScore: Math.round(p * 999), supervised: p, anomaly: 0 };
};

/** A scorer that answers `hook(rows, call).answer` when the hook returns an object, else the good scores; a hook may throw. */
function scorer(hook?: (rows: ReadonlyArray<ArrayLike<number>>, call: number) => { answer: unknown } | undefined): TransactionScorer {
  let calls = 0;
  return {
    featureNames: names,
    async score(rows: ReadonlyArray<ArrayLike<number>>): Promise<FraudScore[]> {
      const r = hook?.(rows, calls++);
      return (r === undefined ? rows.map(good) : r.answer) as FraudScore[];
    },
  };
}

/** Transactions of card c1, one a minute, amounts 10, 20, 30 … */
const txs = (n: number, prefix = 't'): Transaction[] => Array.from({ length: n }, (_, i) => tx(`${prefix}${i}`, i, { amount: 10 * (i + 1) }));

/** The probability each transaction must get: one in-order FeatureEngine, then the good model. */
async function expected(list: Transaction[]): Promise<Map<string, number>> {
  const engine = new FeatureEngine();
  const out = new Map<string, number>();
  for (const t of list) out.set(t.id, good(await engine.process(t)).probability);
  return out;
}

describe.skipIf(skip)('scoring service (real redis-server)', () => {
  let server: ManagedRedis;
  let raw: Redis;
  let n = 0;
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => {
    unhandled.push(e);
  };
  beforeAll(async () => {
    server = await startManagedRedis();
    raw = new Redis(server.url);
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    raw?.disconnect();
    await server?.stop();
  });
  const fresh = (): string => `s${++n}`;

  async function run(
    stream: string,
    options: Partial<Parameters<typeof FraudScorerService.start>[0]>,
    body: (service: FraudScorerService, client: ScorerStreamClient) => Promise<void>,
    partitions = 1,
  ): Promise<void> {
    const client = new ScorerStreamClient({ connection: server.url, stream, partitions });
    const service = await FraudScorerService.start({ connection: server.url, stream, partitions, model: scorer(), blockMs: 50, ...options });
    try {
      await body(service, client);
    } finally {
      await service.close();
      await client.close();
    }
  }

  describe('1. nothing is acknowledged without its result when a write fails after the marker', () => {
    it.each([
      ['scores', 'the scores stream'],
      ['alerts', 'the alerts stream'],
    ])('%s key of the wrong type, then fixed: every transaction scored (and alerted) exactly once', async (which) => {
      const stream = fresh();
      await raw.set(`${stream}:${which}`, 'operator mistake');
      const list = txs(3);
      await run(stream, { policy: { review: 0, decline: 0 } }, async (service, client) => {
        await client.publish(list);
        await waitUntil(async () => service.stats().errors > 0, 10_000, 'a failed write');
        expect((await raw.keys(`${stream}:done:*`)).length).toBe(0); // no marker without its result
        await raw.del(`${stream}:${which}`);
        await waitUntil(async () => (await client.status()).scores === 3 && (await client.status()).pending === 0 && service.stats().inFlight === 0, 20_000, 'every score');
        const scores = await client.readScores();
        expect(scores.map((s) => s.id).sort()).toEqual(['t0', 't1', 't2']);
        const alerts = await client.readAlerts();
        expect(alerts.map((s) => s.id).sort()).toEqual(['t0', 't1', 't2']);
        const stats = service.stats();
        expect(stats).toMatchObject({ scored: 3, alerts: 3, duplicates: 0, deadLettered: 0 });
        expect((await client.status()).deadLetters).toBe(0);
      });
    });
  });

  describe('2 & 3. a model answer that is not one score per row fails the batch; every caller is settled', () => {
    it.each([
      ['one score too many (at the front)', (rows: ReadonlyArray<ArrayLike<number>>) => [{ probability: 0.99, riskScore: 999, supervised: 1, anomaly: 0 }, ...rows.map(good)]],
      ['null', () => null],
      ['undefined', () => undefined],
      ['{}', () => ({})],
    ])('%s: retried, then every transaction gets its own score; no unhandled rejection', async (_, bad) => {
      const stream = fresh();
      const list = txs(4);
      const want = await expected(list);
      const before = unhandled.length;
      const model = scorer((rows, call) => (call < 2 ? { answer: bad(rows) } : undefined));
      await run(stream, { model }, async (service, client) => {
        await client.publish(list);
        await waitUntil(async () => (await client.status()).scores === 4, 20_000, 'every score');
        expect(service.stats().errors).toBeGreaterThan(0);
        const scores = await client.readScores();
        for (const s of scores) expect([s.id, s.probability]).toEqual([s.id, want.get(s.id)]);
        expect(scores.filter((s) => s.riskScore === 999)).toHaveLength(0);
      });
      expect(unhandled.length).toBe(before);
    });

    it('a model that never answers with an array: nothing acknowledged, close() resolves', async () => {
      const stream = fresh();
      const before = unhandled.length;
      await run(stream, { model: scorer(() => ({ answer: {} })) }, async (service, client) => {
        await client.publish(txs(2));
        await waitUntil(async () => service.stats().errors >= 2, 10_000, 'retries');
        expect(service.stats()).toMatchObject({ scored: 0, acked: 0 });
        // Nothing acknowledged: both entries pending, or the second not read yet (its partition is busy with the first).
        const st = await client.status();
        expect([st.pending + (st.undelivered ?? 0), st.scores, st.deadLetters]).toEqual([2, 0, 0]);
        expect(st.pending).toBeGreaterThan(0);
      });
      expect(unhandled.length).toBe(before);
    });
  });

  describe('4. a card is scored only in its own partition', () => {
    it('the client routes on the trimmed card id; an entry in another partition is dead-lettered without its value', async () => {
      const stream = fresh();
      const P = 8;
      expect(partitionOf('c1', P)).not.toBe(partitionOf(' c1', P)); // the case the review found
      const logs: ScorerLogEvent[] = [];
      await run(stream, { log: (e) => logs.push(e) }, async (service, client) => {
        const list = [tx('a', 0), tx('b', 1, { cardId: ' c1' }), tx('c', 2, { cardId: 'c1 ' })];
        const ids = await client.publish(list);
        const home = `${stream}:${partitionOf('c1', P)}`;
        expect((await raw.xrange(home, '-', '+')).map((e) => e[0])).toEqual(ids);
        // A producer that routes otherwise: card c1 in a partition that is not its own.
        const wrong = (partitionOf('c1', P) + 1) % P;
        const secret = '4111111111111111';
        const payload = JSON.stringify(tx('d', 3, { cardId: 'c1', deviceId: secret }));
        const stray = await raw.xadd(`${stream}:${wrong}`, '*', 'tx', payload);
        await waitUntil(async () => { const s = await client.status(); return s.scores + s.deadLetters === 4 && s.pending === 0 && service.stats().inFlight === 0; }, 20_000, 'all entries');
        expect((await client.readScores()).map((s) => s.id)).toEqual(['a', 'b', 'c']);
        const dead = await client.readDeadLetters();
        expect(dead).toEqual([expect.objectContaining({ inputId: stray, partition: wrong, code: 'FINANCE_MESSAGE_INVALID', field: 'cardId', reason: expect.stringContaining('published to the wrong partition') })]);
        expect(JSON.stringify(await raw.xrange(`${stream}:dead`, '-', '+'))).not.toContain(secret);
        expect(JSON.stringify(logs)).not.toContain(secret);
        expect(service.stats().deadLetters).toEqual({ FINANCE_MESSAGE_INVALID: 1 });
      }, P);
    });
  });

  describe('5. a model outage is retried from memory; a poison entry is still dead-lettered', () => {
    it('a 12 s model outage with the default maxDeliveries loses nothing', async () => {
      const stream = fresh();
      const list = txs(30);
      let upAt = Infinity;
      const model = scorer(() => {
        if (Date.now() < upAt) throw new Error('model restarting');
        return undefined;
      });
      await run(stream, { model, batchSize: 8 }, async (service, client) => {
        upAt = Date.now() + 12_000;
        await client.publish(list);
        await waitUntil(async () => (await client.status()).scores === 30 && service.stats().inFlight === 0, 40_000, 'every score after the outage');
        expect(Date.now()).toBeGreaterThanOrEqual(upAt);
        expect(service.stats()).toMatchObject({ scored: 30, deadLettered: 0 });
        expect((await client.status()).deadLetters).toBe(0);
        // Retries counted no delivery: every entry was delivered once.
      });
    }, 60_000);

    it('an entry that fails alone while the others succeed is dead-lettered as poison', async () => {
      const stream = fresh();
      const list = txs(6);
      const engine = new FeatureEngine();
      let badAmount = 0;
      for (const t of list) {
        const row = await engine.process(t);
        if (t.id === 't3') badAmount = row[AMOUNT]!;
      }
      const model = scorer((rows) => {
        if (rows.some((r) => r[AMOUNT] === badAmount)) throw new Error('this row crashes the model');
        return undefined;
      });
      await run(stream, { model, maxDeliveries: 3 }, async (_service, client) => {
        await client.publish(list);
        await waitUntil(async () => { const s = await client.status(); return s.scores === 5 && s.deadLetters === 1 && s.pending === 0; }, 20_000, 'scores and the poison');
        expect((await client.readDeadLetters()).map((d) => [d.code, d.inputId !== ''])).toEqual([['FINANCE_MESSAGE_POISON', true]]);
        expect((await client.readScores()).map((s) => s.id).sort()).toEqual(['t0', 't1', 't2', 't4', 't5']);
      });
    });
  });

  describe('6. stream lengths Redis cannot parse are refused up front', () => {
    it.each([1e21, 2 ** 64, Number.MAX_SAFE_INTEGER + 1])('maxOutputLength / maxInputLength %s', async (v) => {
      await expect(FraudScorerService.start({ connection: server.url, stream: fresh(), model: scorer(), maxOutputLength: v })).rejects.toSatisfy((e: unknown) => isLeptonError(e, 'INVALID_ARGUMENT'));
      expect(() => new ScorerStreamClient({ connection: server.url, stream: fresh(), maxInputLength: v })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    });

    it('Number.MAX_SAFE_INTEGER is sent as plain digits and scores', async () => {
      const stream = fresh();
      await run(stream, { maxOutputLength: Number.MAX_SAFE_INTEGER }, async (service, client) => {
        await client.publish(txs(2));
        await waitUntil(async () => (await client.status()).scores === 2 && service.stats().inFlight === 0, 10_000, 'scores');
        expect(service.stats()).toMatchObject({ scored: 2, duplicates: 0, errors: 0 });
      });
    });
  });

  describe('7. errors carry no password and no card data', () => {
    const leaks = (err: unknown, secrets: string[]): string[] => {
      const text = [JSON.stringify(err, Object.getOwnPropertyNames(err)), inspect(err, { depth: 10, showHidden: true }), JSON.stringify((err as Error).cause, Object.getOwnPropertyNames((err as Error).cause ?? {}))].join('\n');
      return secrets.filter((s) => text.includes(s));
    };

    it('WRONGPASS: the client error and its cause hold no password', async () => {
      const port = await freePort();
      const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', 'right-password'], { stdio: 'ignore' });
      try {
        const password = 'S3CRET-PW-xyzzy';
        await waitUntil(async () => {
          const probe = new Redis(`redis://default:right-password@127.0.0.1:${port}`, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
          probe.on('error', () => undefined);
          const ok = await probe.connect().then(() => probe.ping(), () => undefined).catch(() => undefined);
          probe.disconnect();
          return ok === 'PONG';
        }, 10_000, 'redis-server with a password');
        const client = new ScorerStreamClient({ connection: `redis://default:${password}@127.0.0.1:${port}`, stream: 'pw' });
        const err = await client.publish([tx('a', 0)]).then(() => undefined, (e: unknown) => e);
        await client.close();
        expect(err).toMatchObject({ code: 'FINANCE_STREAM_UNAVAILABLE' });
        expect(((err as Error).cause as Error).message).toBe('WRONGPASS');
        expect(leaks(err, [password, 'right-password'])).toEqual([]);
        await expect(FraudScorerService.start({ connection: `redis://default:${password}@127.0.0.1:${port}`, stream: 'pw', model: scorer() })).rejects.toSatisfy(
          (e: unknown) => isLeptonError(e, 'FINANCE_STREAM_UNAVAILABLE') && leaks(e, [password]).length === 0,
        );
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    });

    it('a refused XADD: the error holds no card number and no command arguments', async () => {
      const stream = fresh();
      await raw.set(`${stream}:0`, 'not a stream');
      const client = new ScorerStreamClient({ connection: server.url, stream });
      const pan = '4111111111111111';
      const err = await client.publish([tx('a', 0, { deviceId: pan })]).then(() => undefined, (e: unknown) => e);
      await client.close();
      expect(err).toMatchObject({ code: 'FINANCE_STREAM_UNAVAILABLE' });
      expect(((err as Error).cause as Error).message).toBe('WRONGTYPE');
      expect(leaks(err, [pan, 'deviceId', '"tx"'])).toEqual([]);
      expect('command' in ((err as Error).cause as object)).toBe(false);
    });
  });

  describe('8. a log callback that throws never stops scoring', () => {
    it.each([
      ['throws', () => { throw new Error('log transport down'); }],
      ['rejects', () => Promise.reject(new Error('log transport down'))],
    ])('a log that %s: dead letters and scores go on, close() resolves', async (_, log) => {
      const stream = fresh();
      const before = unhandled.length;
      await run(stream, { log: log as never }, async (service, client) => {
        await raw.xadd(`${stream}:0`, '*', 'tx', 'not json');
        await client.publish(txs(3));
        await waitUntil(async () => { const s = await client.status(); return s.scores === 3 && s.deadLetters === 1 && s.pending === 0 && service.stats().inFlight === 0; }, 10_000, 'everything');
        expect(service.stats()).toMatchObject({ scored: 3, deadLettered: 1 });
      });
      await sleep(20);
      expect(unhandled.length).toBe(before);
    });

    it('a log that is not a function is refused, like the client does', async () => {
      for (const log of [42, 'console', {}]) {
        await expect(FraudScorerService.start({ connection: server.url, stream: fresh(), model: scorer(), log: log as never })).rejects.toSatisfy((e: unknown) => isLeptonError(e, 'INVALID_ARGUMENT'));
        expect(() => new ScorerStreamClient({ connection: server.url, stream: fresh(), log: log as never })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      }
    });
  });

  describe('9. entries with more than the tx field are not scored', () => {
    it('an entry padded with other fields is dead-lettered, counted, without its content', async () => {
      const stream = fresh();
      await run(stream, {}, async (service, client) => {
        const pad = 'p'.repeat(1000);
        await raw.xadd(`${stream}:0`, '*', 'tx', JSON.stringify(tx('a', 0)), 'pad', pad);
        await raw.xadd(`${stream}:0`, '*', 'tx', JSON.stringify(tx('b', 1)), 'tx', JSON.stringify(tx('b2', 2)));
        await client.publish([tx('c', 3)]);
        await waitUntil(async () => { const s = await client.status(); return s.scores + s.deadLetters === 3 && s.pending === 0 && service.stats().inFlight === 0; }, 10_000, 'everything');
        expect((await client.readScores()).map((s) => s.id)).toEqual(['c']);
        const dead = await client.readDeadLetters();
        expect(dead.map((d) => [d.code, d.reason])).toEqual([
          ['FINANCE_MESSAGE_INVALID', expect.stringContaining("fields other than 'tx'")],
          ['FINANCE_MESSAGE_INVALID', expect.stringContaining("fields other than 'tx'")],
        ]);
        expect(JSON.stringify(await raw.xrange(`${stream}:dead`, '-', '+'))).not.toContain(pad);
        expect(service.stats().deadLetters).toEqual({ FINANCE_MESSAGE_INVALID: 2 });
      });
    });
  });

  describe('10. the client trims only what the group has acknowledged', () => {
    it('nothing undelivered is trimmed; acknowledged entries are; status reports an unknown backlog as null', async () => {
      const stream = fresh();
      const client = new ScorerStreamClient({ connection: server.url, stream, maxInputLength: 10 });
      try {
        const list = txs(60);
        // No group yet: never trimmed, and the backlog is unknown (not 0).
        await client.publish(list.slice(0, 20));
        expect(await raw.xlen(`${stream}:0`)).toBe(20);
        expect((await client.status()).undelivered).toBeNull();
        // A group that has read nothing (as a scorer creates it): still nothing trimmed.
        await raw.xgroup('CREATE', `${stream}:0`, 'lepton-scorers', '0');
        await sleep(1100);
        await client.publish(list.slice(20, 40));
        expect(await raw.xlen(`${stream}:0`)).toBe(40);
        expect((await client.status()).undelivered).toBe(40);
        await run(stream, {}, async (_service, c2) => {
          await waitUntil(async () => (await c2.status()).scores === 40, 20_000, 'the backlog scored');
        });
        await sleep(1100);
        await client.publish(list.slice(40));
        // The 40 acknowledged entries may go, the 20 new ones (undelivered) never.
        expect(await raw.xlen(`${stream}:0`)).toBe(20);
        expect((await client.status()).undelivered).toBe(20);
      } finally {
        await client.close();
      }
    });
  });

  describe('11. a pending entry deleted from the stream is dead-lettered when another consumer claims it', () => {
    it('XAUTOCLAIM reports it deleted: dead letter "deleted from the stream before it was scored"', async () => {
      const stream = fresh();
      const client = new ScorerStreamClient({ connection: server.url, stream });
      try {
        await client.publish([tx('a', 0)]);
        await raw.xgroup('CREATE', `${stream}:0`, 'lepton-scorers', '0', 'MKSTREAM');
        const read = (await raw.xreadgroup('GROUP', 'lepton-scorers', 'dead-consumer', 'COUNT', 10, 'STREAMS', `${stream}:0`, '>')) as Array<[string, Array<[string, string[]]>]>;
        const id = read[0]![1][0]![0];
        await raw.xdel(`${stream}:0`, id);
        await client.publish([tx('b', 1)]);
        await run(stream, { minIdleMs: 100, claimIntervalMs: 50 }, async (service) => {
          await waitUntil(async () => { const s = await client.status(); return s.scores === 1 && s.deadLetters === 1 && s.pending === 0 && service.stats().inFlight === 0; }, 10_000, 'the claim');
          expect(await client.readDeadLetters()).toEqual([expect.objectContaining({ inputId: id, code: 'FINANCE_MESSAGE_INVALID', reason: expect.stringContaining('deleted from the stream before it was scored') })]);
          expect(service.stats().deadLetters).toEqual({ FINANCE_MESSAGE_INVALID: 1 });
        });
      } finally {
        await client.close();
      }
    });
    it('XCLAIM returns nothing for it: the consumer waiting on it dead-letters it, then scores the next', async () => {
      const stream = fresh();
      const client = new ScorerStreamClient({ connection: server.url, stream });
      try {
        await client.publish([tx('a', 0), tx('b', 1)]);
        const key = `${stream}:0`;
        await raw.xgroup('CREATE', key, 'lepton-scorers', '0', 'MKSTREAM');
        const first = (await raw.xreadgroup('GROUP', 'lepton-scorers', 'dead-consumer', 'COUNT', 1, 'STREAMS', key, '>')) as Array<[string, Array<[string, string[]]>]>;
        await raw.xreadgroup('GROUP', 'lepton-scorers', 'me', 'COUNT', 1, 'STREAMS', key, '>');
        const id = first[0]![1][0]![0];
        await raw.xdel(key, id);
        // Restarted as 'me': it resumes b, finds the earlier a held by an idle consumer and claims it with XCLAIM.
        await run(stream, { consumer: 'me', minIdleMs: 100, claimIntervalMs: 60_000 }, async (service) => {
          await waitUntil(async () => { const s = await client.status(); return s.scores === 1 && s.deadLetters === 1 && s.pending === 0 && service.stats().inFlight === 0; }, 10_000, 'a dead-lettered, b scored');
          expect(await client.readDeadLetters()).toEqual([expect.objectContaining({ inputId: id, code: 'FINANCE_MESSAGE_INVALID', reason: expect.stringContaining('deleted from the stream before it was scored') })]);
          expect((await client.readScores()).map((r) => r.id)).toEqual(['b']);
        });
      } finally {
        await client.close();
      }
    });
  });

  describe('14. options whose getters or Proxy traps throw are INVALID_ARGUMENT', () => {
    const base = (): Record<string, unknown> => ({ connection: server.url, stream: fresh(), model: scorer() });
    const throwing = (o: Record<string, unknown>, key: string): Record<string, unknown> => Object.defineProperty({ ...o }, key, { get: () => { throw new Error('getter'); }, enumerable: true });
    it.each(['stream', 'policy', 'connection', 'log', 'partitions', 'features'])('FraudScorerService.start: a throwing %s getter', async (key) => {
      await expect(FraudScorerService.start(throwing(base(), key) as never)).rejects.toSatisfy((e: unknown) => isLeptonError(e, 'INVALID_ARGUMENT'));
    });
    it('FraudScorerService.start: a throwing Proxy, a throwing model.score and policy.review getter', async () => {
      await expect(FraudScorerService.start(new Proxy({}, { get: () => { throw new Error('trap'); } }) as never)).rejects.toSatisfy((e: unknown) => isLeptonError(e, 'INVALID_ARGUMENT'));
      const model = Object.defineProperty({}, 'score', { get: () => { throw new Error('getter'); } });
      await expect(FraudScorerService.start({ ...base(), model } as never)).rejects.toSatisfy((e: unknown) => isLeptonError(e, 'INVALID_ARGUMENT'));
      const named = Object.defineProperty({ score: scorer().score }, 'featureNames', { get: () => { throw new Error('getter'); } });
      await expect(FraudScorerService.start({ ...base(), model: named } as never)).rejects.toSatisfy((e: unknown) => isLeptonError(e, 'INVALID_ARGUMENT'));
      const policy = Object.defineProperty({ decline: 0.9 }, 'review', { get: () => { throw new Error('getter'); } });
      await expect(FraudScorerService.start({ ...base(), policy } as never)).rejects.toSatisfy((e: unknown) => isLeptonError(e, 'INVALID_ARGUMENT'));
    });
    it.each(['stream', 'connection', 'partitions', 'maxInputLength', 'log'])('new ScorerStreamClient: a throwing %s getter', (key) => {
      expect(() => new ScorerStreamClient(throwing({ connection: server.url, stream: 'x' }, key) as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    });
    it('publish: an array element getter that throws is INVALID_INPUT with its index; nothing published', async () => {
      const stream = fresh();
      const client = new ScorerStreamClient({ connection: server.url, stream });
      try {
        const records: unknown[] = [tx('a', 0)];
        Object.defineProperty(records, 1, { get: () => { throw new Error('getter'); }, enumerable: true });
        await expect(client.publish(records)).rejects.toMatchObject({ code: 'INVALID_INPUT', details: { index: 1 } });
        expect(await raw.exists(`${stream}:0`)).toBe(0);
      } finally {
        await client.close();
      }
    });
  });

  describe('15. score ranges are checked when written and when read', () => {
    it('a riskScore or anomaly out of range is INVALID_MODEL for its entry; readScores refuses foreign entries', async () => {
      const stream = fresh();
      // Bad scores for t0 and t1, picked by row (the service may read the three in one batch or in several).
      const engine = new FeatureEngine();
      const amounts: number[] = [];
      for (const t of txs(3)) amounts.push((await engine.process(t))[AMOUNT]!);
      const model = scorer((rows) => ({
        answer: rows.map((r) => (r[AMOUNT] === amounts[0] ? { ...good(r), riskScore: -1e300 } : r[AMOUNT] === amounts[1] ? { ...good(r), anomaly: 42 } : good(r))),
      }));
      await run(stream, { model }, async (_service, client) => {
        await client.publish(txs(3));
        await waitUntil(async () => { const s = await client.status(); return s.scores + s.deadLetters === 3 && s.pending === 0; }, 10_000, 'everything');
        const dead = await client.readDeadLetters();
        expect(dead.map((d) => [d.code, d.field]).sort()).toEqual([['INVALID_MODEL', 'anomaly'], ['INVALID_MODEL', 'riskScore']]);
        expect((await client.readScores()).map((s) => s.id)).toEqual(['t2']);
        const fields = { input: '1-0', id: 'x', probability: '0.5', riskScore: '500', supervised: '0.5', anomaly: '0.5', consumer: 'c' };
        const flat = (o: Record<string, string>): string[] => Object.entries(o).flat();
        await raw.xadd(`${stream}:scores`, '*', ...flat({ ...fields, partition: '9999' }));
        await raw.xadd(`${stream}:scores`, '*', ...flat({ ...fields, partition: '0', anomaly: '-7' }));
        await raw.xadd(`${stream}:scores`, '*', ...flat({ ...fields, partition: '0', riskScore: '1000' }));
        await raw.xadd(`${stream}:dead`, '*', ...flat({ input: '1-0', partition: '5', code: 'X', reason: 'r', consumer: 'c' }));
        const before = client.stats().malformed;
        expect((await client.readScores()).map((s) => s.id)).toEqual(['t2']);
        expect(await client.readDeadLetters()).toHaveLength(2);
        expect(client.stats().malformed - before).toBe(4);
      });
    });
  });
});

describe('12. kupiecTest when 1 − confidence rounds', () => {
  it('a tiny confidence rejects a model with breaches, continuously with a slightly larger one', () => {
    const tiny = kupiecTest(3, 10, 1e-17);
    const small = kupiecTest(3, 10, 1e-10);
    expect(small.rejected).toBe(true);
    expect(tiny.rejected).toBe(true);
    expect(tiny.lr).toBeGreaterThan(small.lr);
    expect(Number.isFinite(tiny.lr)).toBe(true);
    expect(tiny.pValue).toBeLessThan(1e-100);
    // Unchanged where nothing rounds.
    const [x, n, p] = [3, 250, 0.01];
    const ref = -2 * ((n - x) * Math.log(1 - p) + x * Math.log(p) - ((n - x) * Math.log(1 - x / n) + x * Math.log(x / n)));
    expect(kupiecTest(x, n, 1 - p).lr).toBeCloseTo(ref, 10);
    expect(kupiecTest(10, 10, 1e-17)).toMatchObject({ lr: 0, rejected: false });
  });
});

describe('13. binNumeric picks the trend from ranks, whatever the scale', () => {
  it('values near ±1e308 give the same trend and IV as the same data scaled down', () => {
    const n = 200;
    const values: number[] = [];
    const labels: number[] = [];
    for (let i = 0; i < n; i++) {
      const v = -1 + (2 * i) / (n - 1);
      values.push(v * 1.7e308);
      labels.push(i % 10 < Math.floor((i / n) * 10) ? 1 : 0);
    }
    const huge = binNumeric('x', values, labels);
    const scaled = binNumeric('x', values.map((v) => v / 1e300), labels);
    expect(scaled.trend).toBe('increasing');
    expect(huge.trend).toBe('increasing');
    expect(huge.iv).toBeCloseTo(scaled.iv, 10);
    expect(huge.iv).toBeGreaterThan(1);
  });
});
