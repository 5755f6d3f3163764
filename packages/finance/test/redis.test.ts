import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeatureEngine, MemoryStateStore, RedisStateStore } from '@lepton/finance';
import { redisAvailable, startRedis, type RedisServer } from './support/redis.js';
import { syntheticStream } from './support/stream.js';

const run = promisify(execFile);
// Outside CI a developer without Debian's redis-server sees these skipped (and why); in CI they must run.
const skip = !redisAvailable() && !process.env['CI'];
if (skip) console.warn('redis.test.ts skipped: install redis-server (apt-get install -y redis-server) to run it');

describe.skipIf(skip)('feature state in a real Redis', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => server?.stop());

  it('gives exactly the same features as the in-memory store on the same stream', async () => {
    const { txs, labels } = syntheticStream(300, 11);
    const memory = new FeatureEngine({ store: new MemoryStateStore() });
    const redis = new FeatureEngine({ store: new RedisStateStore({ connection: server.url, prefix: 'same:' }) });
    for (const e of [memory, redis]) for (const l of labels.slice(0, 150)) await e.recordLabel(l.tx, l.label, l.knownAt);
    for (const t of txs) {
      const [a, b] = [await memory.process(t), await redis.process(t)];
      expect(Array.from(b)).toEqual(Array.from(a));
    }
    await redis.close();
  });

  it('is shared by separate scoring processes', async () => {
    const { txs } = syntheticStream(200, 12);
    const single = new FeatureEngine();
    const expected: number[][] = [];
    for (const t of txs) expected.push(Array.from(await single.process(t)));

    // This process scores the first half; a second Node process scores the rest against the same Redis state.
    const first = new FeatureEngine({ store: new RedisStateStore({ connection: server.url, prefix: 'shared:' }) });
    const got: number[][] = [];
    for (const t of txs.slice(0, 100)) got.push(Array.from(await first.process(t)));
    await first.close();
    const script = `
      import { FeatureEngine, RedisStateStore } from '@lepton/finance';
      const txs = JSON.parse(process.argv[1]);
      const engine = new FeatureEngine({ store: new RedisStateStore({ connection: process.argv[2], prefix: 'shared:' }) });
      const out = [];
      for (const t of txs) out.push(Array.from(await engine.process(t)));
      await engine.close();
      process.stdout.write(JSON.stringify(out));`;
    const cwd = join(dirname(fileURLToPath(import.meta.url)), '..');
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(txs.slice(100)), server.url], { cwd });
    got.push(...(JSON.parse(stdout) as number[][]));
    expect(got).toEqual(expected);
  });

  it('optimistic updates lose nothing under concurrent writers', async () => {
    const stores = [0, 1, 2].map(() => new RedisStateStore({ connection: server.url, prefix: 'race:' }));
    try {
      await Promise.all(
        stores.flatMap((s) => Array.from({ length: 60 }, () => s.update<number>('counter', (v) => (v ?? 0) + 1))),
      );
      expect(await stores[0]!.getMany<number>(['counter'])).toEqual([180]);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});
