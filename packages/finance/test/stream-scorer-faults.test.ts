// A scorer group of real processes under faults: one of three consumers killed with SIGKILL mid-stream (its pending
// entries are claimed by the others), and redis-server killed and restarted on its port from its AOF. Every input
// transaction must end with exactly one score, none lost, nothing left pending.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { FeatureEngine, generateTransactions, ScorerStreamClient, type ScoreRecord } from '@lepton/finance';
import { redisAvailable } from './support/redis.js';
import { spawnWorker, startManagedRedis, waitUntil, type ManagedRedis, type WorkerProcess } from './support/stream-scorer.js';

const skip = !redisAvailable() && !process.env['CI'];
if (skip) console.warn('stream-scorer-faults.test.ts skipped: install redis-server (apt-get install -y redis-server) to run it');

const PARTITIONS = 4;

async function allScores(client: ScorerStreamClient): Promise<ScoreRecord[]> {
  const out: ScoreRecord[] = [];
  for (;;) {
    const page = await client.readScores(out.length ? { after: out.at(-1)!.entryId, count: 5000 } : { count: 5000 });
    if (page.length === 0) return out;
    out.push(...page);
  }
}

async function stopAll(workers: WorkerProcess[]): Promise<Array<Record<string, number> | undefined>> {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
  return (await Promise.all(workers.map((w) => w.stats))) as Array<Record<string, number> | undefined>;
}

/**
 * Every transaction id once in the output, the output stream without repeats, nothing pending, no dead letters; and
 * every card feature as one consumer computes it in order, rescored transactions included.
 */
async function expectExactlyOnce(client: ScorerStreamClient, ids: string[], reference: Map<string, number[]>): Promise<ScoreRecord[]> {
  const scores = await allScores(client);
  const card = new FeatureEngine().names.map((n, i) => [n, i] as const).filter(([n]) => n.startsWith('card_'));
  for (const s of scores) {
    const want = reference.get(s.id)!;
    for (const [n, i] of card) expect([s.id, n, s.features![i]]).toEqual([s.id, n, want[i]]);
  }
  expect(scores.length).toBe(ids.length);
  expect(new Set(scores.map((s) => s.id)).size).toBe(ids.length);
  expect(scores.map((s) => s.id).sort()).toEqual([...ids].sort());
  const status = await client.status();
  expect(status.pending).toBe(0);
  expect(status.undelivered).toBe(0);
  expect(status.deadLetters).toBe(0);
  return scores;
}

describe.skipIf(skip)('scorer group processes under faults', () => {
  const txs = generateTransactions({ cards: 150, days: 6, seed: 8 }); // 1,684 synthetic transactions
  const ids = txs.map((t) => t.id);
  const reference = new Map<string, number[]>();
  beforeAll(async () => {
    const engine = new FeatureEngine();
    for (const t of txs) reference.set(t.id, Array.from(await engine.process(t)));
  });

  describe('a consumer killed with SIGKILL mid-stream', () => {
    let server: ManagedRedis;
    beforeAll(async () => {
      server = await startManagedRedis();
    });
    afterAll(async () => server?.stop());

    it('has its pending entries claimed by the other two after minIdleMs; every transaction scored exactly once', async () => {
      const stream = 'kill';
      const client = new ScorerStreamClient({ connection: server.url, stream, partitions: PARTITIONS });
      await client.publish(txs);
      // A slow stand-in model (30 ms a batch) keeps every consumer holding entries most of the time.
      const workers = ['w0', 'w1', 'w2'].map((consumer) =>
        spawnWorker({ url: server.url, stream, partitions: PARTITIONS, consumer, minIdleMs: 1500, batchSize: 16, delayMs: 30, includeFeatures: true }),
      );
      try {
        await waitUntil(async () => (await client.status()).scores >= txs.length * 0.3, 90_000, '30 % of the scores');
        const victim = workers[1]!;
        // Kill it while it holds entries (it does most of the time: the model takes 30 ms a batch).
        await waitUntil(async () => ((await client.status()).consumers['w1'] ?? 0) > 0, 30_000, 'w1 holding entries');
        victim.child.kill('SIGKILL');
        await new Promise((r) => victim.child.once('exit', r));
        const orphaned = (await client.status()).consumers['w1'] ?? 0;
        expect(orphaned).toBeGreaterThan(0); // it died holding entries
        await waitUntil(async () => (await client.status()).scores >= txs.length, 120_000, 'every score');
        await sleep(300); // anything still being written would show up as a repeat below
        const stats = await stopAll(workers);
        expect(stats[1]).toBeUndefined(); // killed: no orderly exit
        const survivors = [stats[0]!, stats[2]!];
        expect(survivors[0]!['claimed']! + survivors[1]!['claimed']!).toBeGreaterThanOrEqual(orphaned);
        await expectExactlyOnce(client, ids, reference);
        expect((await client.status()).consumers['w1'] ?? 0).toBe(0);
        // Logs name entries, partitions and codes, never a card.
        for (const w of workers) expect(w.stderr()).not.toMatch(/card_\d/);
        console.log(`kill -9: ${orphaned} entries orphaned; survivors claimed ${survivors.map((s) => s['claimed']).join(' + ')}, rescored ${survivors.map((s) => s['rescored']).join(' + ')}, duplicates dropped ${survivors.map((s) => s['duplicates']).join(' + ')}, scored ${survivors.map((s) => s['scored']).join(' + ')}`);
      } finally {
        await stopAll(workers);
        await client.close();
      }
    });
  });

  describe('redis-server killed and restarted mid-stream', () => {
    let server: ManagedRedis;
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'lepton-aof-'));
      server = await startManagedRedis(dir);
    });
    afterAll(async () => {
      await server?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it('consumers reconnect and finish from the append-only file; every transaction scored exactly once', async () => {
      const stream = 'restart';
      const client = new ScorerStreamClient({ connection: server.url, stream, partitions: PARTITIONS });
      await client.publish(txs);
      const workers = ['r0', 'r1'].map((consumer) => spawnWorker({ url: server.url, stream, partitions: PARTITIONS, consumer, minIdleMs: 2000, batchSize: 16, delayMs: 10, includeFeatures: true }));
      try {
        await waitUntil(async () => (await client.status()).scores >= txs.length * 0.3, 90_000, '30 % of the scores');
        await server.kill();
        await sleep(1000);
        await server.restart();
        const probe = new Redis(server.url);
        const before = await probe.xlen(`${stream}:scores`);
        probe.disconnect();
        expect(before).toBeLessThan(txs.length);
        await waitUntil(async () => (await client.status()).scores >= txs.length, 120_000, 'every score after the restart');
        await sleep(300);
        const stats = await stopAll(workers);
        expect(stats.every((s) => s !== undefined)).toBe(true);
        expect(stats.reduce((n, s) => n + s!['errors']!, 0)).toBeGreaterThan(0); // both saw the outage and retried
        await expectExactlyOnce(client, ids, reference);
        for (const w of workers) expect(w.stderr()).not.toMatch(/card_\d/);
        console.log(`redis restart: errors retried ${stats.map((s) => s!['errors']).join(' + ')}, rescored ${stats.map((s) => s!['rescored']).join(' + ')}, duplicates dropped ${stats.map((s) => s!['duplicates']).join(' + ')}`);
      } finally {
        await stopAll(workers);
        await client.close();
      }
    });
  });
});
