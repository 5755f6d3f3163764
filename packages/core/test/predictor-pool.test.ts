import { existsSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildMlp,
  buildResidualCnn,
  createPredictor,
  createWorkerPool,
  initRuntime,
  resolveWorkerCount,
  tf,
  type Predictor,
  type WorkerPool,
} from '@lepton/core';
import { CRASH_VALUE, CrashOnSentinel } from './fixtures/sentinel-layer.mjs';

// Worker threads are OS threads: on Linux, /proc/self/task lists them, which shows whether close() really ended them.
const threads = (): number => (existsSync('/proc/self/task') ? readdirSync('/proc/self/task').length : Number.NaN);
const fixture = (name: string): URL => new URL(`./fixtures/${name}`, import.meta.url);
const row = (i: number, d: number): number[] => Array.from({ length: d }, (_, j) => Math.sin(i * 7 + j));
async function until(condition: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
});

type Req = { op: string; value?: number; ms?: number; data?: Float32Array };
type Echo = { value: number; threadId: number; index: number; backend: string; maxActive?: number };

describe('createWorkerPool', () => {
  let pool: WorkerPool<Req, Echo>;
  let before: number;

  beforeAll(async () => {
    before = threads();
    // LEPTON_BACKEND must not redirect the workers: they run the main thread's backend.
    process.env['LEPTON_BACKEND'] = 'cpu';
    try {
      pool = await createWorkerPool<{ factor: number }, Req, Echo>({ module: fixture('pool-worker.mjs'), init: { factor: 3 }, workers: 2, maxQueue: 3 });
    } finally {
      delete process.env['LEPTON_BACKEND'];
    }
  });

  it('serves requests on every worker, concurrently, on the main thread backend', async () => {
    expect(pool.size).toBe(2);
    expect(threads() - before).toBeGreaterThanOrEqual(2);
    const t0 = performance.now();
    const slept = await Promise.all([pool.run({ op: 'sleep', ms: 300 }), pool.run({ op: 'sleep', ms: 300 })]);
    // Two 300 ms blocks on one worker would take 600 ms.
    expect(performance.now() - t0).toBeLessThan(550);
    expect(new Set(slept.map((s) => s.index))).toEqual(new Set([0, 1]));
    const echo = await pool.run({ op: 'echo', value: 2 });
    expect(echo).toMatchObject({ value: 6, backend: 'wasm' });
    const data = new Float32Array([1, 2, 3]);
    const doubled = (await pool.run({ op: 'double', data }, { transfer: [data.buffer] })) as unknown as Float32Array;
    expect(Array.from(doubled)).toEqual([2, 4, 6]);
    expect(data.length).toBe(0); // transferred, not copied
  });

  it('re-creates handler errors as LeptonError with their code, and the worker keeps serving', async () => {
    await expect(pool.run({ op: 'throw', value: 5 })).rejects.toMatchObject({ name: 'LeptonError', code: 'FIXTURE_FAILED', details: { value: 5 } });
    await expect(pool.run({ op: 'throw-plain' })).rejects.toMatchObject({ code: 'WORKER_TASK_FAILED', message: expect.stringContaining('plain failure') });
    await expect(pool.run({ op: 'echo', value: 1, data: (() => 0) as never })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect(pool.stats()).toMatchObject({ alive: 2, restarts: 0, failed: 3 });
  });

  it('hands each worker its next request while it computes, yet serves them one at a time', async () => {
    const t0 = performance.now();
    const done = await Promise.all(Array.from({ length: 4 }, () => pool.run({ op: 'wait', ms: 150 })));
    // 2 workers × 2 requests each, in turn: about 300 ms (600 on one worker, 150 if they overlapped)
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect(done.filter((d) => d.index === 0)).toHaveLength(2);
    expect(done.every((d) => d.maxActive === 1)).toBe(true);
  });

  it('rejects past maxQueue with OVERLOADED', async () => {
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => pool.run({ op: 'sleep', ms: 50 })));
    // 2 workers × pipeline 2 held + 3 queued accepted, the other 3 refused
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(7);
    for (const r of results.filter((x): x is PromiseRejectedResult => x.status === 'rejected')) {
      expect(r.reason).toMatchObject({ code: 'OVERLOADED', details: { maxQueue: 3 } });
    }
    expect(pool.stats().rejectedOverload).toBe(3);
  });

  it('fails the request a crashed worker held with WORKER_CRASHED and replaces the worker', async () => {
    const other = pool.run({ op: 'sleep', ms: 200 });
    const crash = pool.run({ op: 'exit', ms: 20 });
    await expect(crash).rejects.toMatchObject({ name: 'LeptonError', code: 'WORKER_CRASHED', details: { exitCode: 42 } });
    await expect(other).resolves.toMatchObject({ index: expect.any(Number) });
    // The replacement takes the slot (once set up); both slots serve again.
    expect(pool.stats().restarts).toBe(1);
    await until(() => pool.stats().alive === 2);
    const after = await Promise.all([pool.run({ op: 'sleep', ms: 100 }), pool.run({ op: 'sleep', ms: 100 })]);
    expect(new Set(after.map((s) => s.index))).toEqual(new Set([0, 1]));
    expect(pool.stats()).toMatchObject({ crashed: 1, restarts: 1, alive: 2 });
  });

  it('close() drains accepted requests, then ends every worker thread', async () => {
    const pending = [pool.run({ op: 'sleep', ms: 100 }), pool.run({ op: 'echo', value: 1 }), pool.run({ op: 'echo', value: 2 })];
    const withPool = threads();
    await pool.close();
    expect((await Promise.allSettled(pending)).every((s) => s.status === 'fulfilled')).toBe(true);
    await expect(pool.run({ op: 'echo', value: 1 })).rejects.toMatchObject({ code: 'POOL_CLOSED' });
    expect(pool.stats()).toMatchObject({ alive: 0, busy: 0, queued: 0 });
    if (!Number.isNaN(withPool)) expect(withPool - threads()).toBeGreaterThanOrEqual(2);
  });

  it('rejects a failing setup with WORKER_SETUP_FAILED, and bad options with INVALID_ARGUMENT', async () => {
    await expect(createWorkerPool({ module: fixture('pool-worker.mjs'), init: { failSetup: true }, workers: 1 })).rejects.toMatchObject({
      code: 'WORKER_SETUP_FAILED',
      details: { workerCode: 'FIXTURE_SETUP' },
    });
    await expect(createWorkerPool({ module: fixture('missing.mjs'), workers: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(createWorkerPool({ module: 'some-package/worker', workers: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(createWorkerPool({ module: fixture('pool-worker.mjs'), workers: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(resolveWorkerCount('auto')).toBeGreaterThanOrEqual(1);
    expect(resolveWorkerCount('auto', Number.MAX_SAFE_INTEGER)).toBe(1);
  });
});

describe('createPredictor with workers', () => {
  const opened: Predictor[] = [];
  afterAll(async () => {
    await Promise.all(opened.map((p) => p.close()));
  });

  /** Same requests, same batches (sent synchronously, full batches go at once), in-thread and on 2 workers. */
  async function compare(model: tf.LayersModel, inputs: number[][], maxBatchSize: number): Promise<Predictor> {
    const inThread = await createPredictor(model, { maxBatchSize, maxWaitMs: 5 });
    const pooled = await createPredictor(model, { maxBatchSize, maxWaitMs: 5, workers: 2, maxQueue: 40 });
    opened.push(pooled);
    const expected = await Promise.all(inputs.map((x) => inThread.predict(x)));
    const got = await Promise.all(inputs.map((x) => pooled.predict(x)));
    await inThread.close();
    got.forEach((g, i) => expect(Array.from(g)).toEqual(Array.from(expected[i]!))); // bitwise: same backend, same batches
    const stats = pooled.stats();
    expect(stats).toMatchObject({ workers: 2, offMainThread: true, requests: inputs.length, failed: 0 });
    // Both workers computed: the batches were spread over them, several in flight at once.
    expect(stats.batchesPerWorker).toHaveLength(2);
    expect(stats.batchesPerWorker.every((b) => b > 0)).toBe(true);
    expect(stats.peakInFlight).toBeGreaterThanOrEqual(2);
    return pooled;
  }

  it('an MLP gives bitwise the in-thread results, two batches in flight; bad input, overload and no leaks', async () => {
    const model = buildMlp({ inputDim: 8, hiddenUnits: [16], seed: 2 });
    const pooled = await compare(model, Array.from({ length: 64 }, (_, i) => row(i, 8)), 16);
    await expect(pooled.predict([1, 2, 3])).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(pooled.predict([1, 2, NaN, 4, 5, 6, 7, 8])).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    // 2 workers × pipeline 2 batches of 16 go to the workers, 40 wait, the rest is refused.
    const burst = await Promise.allSettled(Array.from({ length: 120 }, (_, i) => pooled.predict(row(i, 8))));
    const refused = burst.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(burst.length - refused.length).toBe(2 * 2 * 16 + 40);
    refused.forEach((r) => expect(r.reason).toMatchObject({ code: 'OVERLOADED' }));
    const tensors = tf.memory().numTensors;
    for (let round = 0; round < 10; round++) await Promise.all(Array.from({ length: 40 }, (_, i) => pooled.predict(row(i, 8))));
    expect(tf.memory().numTensors).toBe(tensors);
    model.dispose();
  });

  it('a small residual CNN gives bitwise the in-thread results', async () => {
    const model = buildResidualCnn({ inputShape: [16, 16, 1], numClasses: 3, filters: [4, 8], seed: 3 });
    await compare(model, Array.from({ length: 24 }, (_, i) => row(i, 256)), 8);
    model.dispose();
  });

  it('a crashed worker fails its batch with WORKER_CRASHED; its replacement serves the next requests; close() ends it', async () => {
    const model = tf.sequential({ layers: [new CrashOnSentinel({ inputShape: [4] }), tf.layers.dense({ units: 2, kernelInitializer: 'ones' })] });
    const before = threads();
    // One worker thread, so the requests after the crash can only be served by its replacement.
    const predictor = await createPredictor(model, { workers: 1, offMainThread: true, maxBatchSize: 4, maxWaitMs: 1, workerImports: [fixture('sentinel-layer.mjs')] });
    const crashed = [predictor.predict([CRASH_VALUE, 0, 0, 0]), predictor.predict([1, 1, 1, 1])];
    for (const r of await Promise.allSettled(crashed)) expect(r).toMatchObject({ status: 'rejected', reason: { code: 'WORKER_CRASHED', details: { exitCode: 71 } } });
    const next = await Promise.all(Array.from({ length: 16 }, (_, i) => predictor.predict([i, 0, 0, 0])));
    next.forEach((out, i) => expect(Array.from(out)).toEqual([i, i]));
    expect(predictor.stats()).toMatchObject({ failed: 2, workerRestarts: 1, workers: 1, offMainThread: true });
    await predictor.close();
    if (!Number.isNaN(before)) expect(threads()).toBeLessThanOrEqual(before);
    await expect(predictor.predict([1, 1, 1, 1])).rejects.toMatchObject({ code: 'PREDICTOR_CLOSED' });
  });

  it('refuses offMainThread: false with several workers', async () => {
    await expect(createPredictor(buildMlp({ inputDim: 2, seed: 1 }), { workers: 2, offMainThread: false })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
