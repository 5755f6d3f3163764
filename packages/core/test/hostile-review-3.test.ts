// Regression tests for the third hostile review of the serving layer (createPredictor, createWorkerPool,
// ModelWorkers, the ONNX engine). Each block is numbered by the review's finding; each test fails on the code before
// the fix.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createOnnxSession,
  createPredictor,
  createWorkerPool,
  foldBatchNorm,
  initRuntime,
  isLeptonError,
  layersModelToOnnx,
  ModelWorkers,
  onnxRuntimeAvailable,
  resolveWorkerCount,
  tf,
  type Predictor,
  type WorkerPool,
} from '@lepton/core';
import { HANG_VALUE, HangOnSentinel } from './fixtures/hang-layer.mjs';
import { CRASH_VALUE, CrashOnSentinel } from './fixtures/sentinel-layer.mjs';

const fixture = (name: string): URL => new URL(`./fixtures/${name}`, import.meta.url);
const WORKER = fixture('hostile-3-worker.mjs');
const hasOrt = await onnxRuntimeAvailable();

type Req = { op: string; value?: number; ms?: number; data?: Float32Array };
type Res = { value?: number; index: number; threadId: number };

let dir: string;

beforeAll(async () => {
  await initRuntime({ backend: 'cpu' }, {});
  dir = await mkdtemp(join(tmpdir(), 'lepton-hr3-'));
});

afterAll(async () => {
  delete process.env['LEPTON_TEST_FAIL_IMPORT'];
  await rm(dir, { recursive: true, force: true });
});

/** Settles `p` or says it is still pending after `ms`. */
async function settle<T>(p: Promise<T>, ms = 10_000): Promise<PromiseSettledResult<T> | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), ms)));
  const settled = Promise.allSettled([p]).then(([r]) => r!);
  try {
    return await Promise.race([settled, pending]);
  } finally {
    clearTimeout(timer);
  }
}

/** A predictor's model: the sentinel layer (a worker dies on CRASH_VALUE), then a dense layer of ones. */
function crashModel(withBatchNorm = false): tf.LayersModel {
  const layers: tf.layers.Layer[] = [new CrashOnSentinel({ inputShape: [3] })];
  if (withBatchNorm) layers.push(tf.layers.batchNormalization());
  layers.push(tf.layers.dense({ units: 1, kernelInitializer: 'ones', useBias: false }));
  return tf.sequential({ layers });
}

describe('1: replacements that fail setup leave no worker: requests and close() settle', () => {
  it('a pool whose crashed worker cannot be replaced rejects the waiting and later requests with WORKER_SETUP_FAILED', async () => {
    const marker = join(dir, 'pool-fail');
    const pool = await createWorkerPool<object, Req, Res>({ module: WORKER, init: { failIfExists: marker }, workers: 1 });
    await writeFile(marker, 'x');
    const crash = pool.run({ op: 'exit', ms: 50 });
    const next = pool.run({ op: 'echo', value: 1 });
    await expect(crash).rejects.toMatchObject({ code: 'WORKER_CRASHED' });
    expect(await settle(next)).toMatchObject({ status: 'rejected', reason: { code: 'WORKER_SETUP_FAILED' } });
    await expect(pool.run({ op: 'echo', value: 2 })).rejects.toMatchObject({ code: 'WORKER_SETUP_FAILED' });
    expect(await settle(pool.close())).toMatchObject({ status: 'fulfilled' });
    expect(pool.stats()).toMatchObject({ crashed: 1, restarts: 1, alive: 0 });
  });

  it('a predictor whose worker cannot be replaced (its workerImports module now throws) fails requests and closes', async () => {
    const marker = join(dir, 'predictor-fail');
    process.env['LEPTON_TEST_FAIL_IMPORT'] = marker;
    const predictor = await createPredictor(crashModel(), { workers: 1, offMainThread: true, maxBatchSize: 1, maxWaitMs: 1, workerImports: [fixture('fail-import.mjs')] });
    await writeFile(marker, 'x');
    await expect(predictor.predict([CRASH_VALUE, 0, 0])).rejects.toMatchObject({ code: 'WORKER_CRASHED' });
    expect(await settle(predictor.predict([1, 1, 1]))).toMatchObject({ status: 'rejected', reason: { code: 'WORKER_SETUP_FAILED' } });
    expect(await settle(predictor.close())).toMatchObject({ status: 'fulfilled' });
    expect(predictor.stats()).toMatchObject({ failed: 2, workerRestarts: 1 });
  });
});

describe('2: an output that overflows fails only its own sample, on both engines', () => {
  // 3 × 3e38 overflows float32 inside the dense layer (a sum of ones × input): that sample's output is Infinity.
  const model = (): tf.LayersModel => tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2, kernelInitializer: 'ones', biasInitializer: 'zeros' })] });
  const batchOfEight = async (predictor: Predictor): Promise<Array<PromiseSettledResult<Float32Array>>> => {
    const rows = Array.from({ length: 8 }, (_, i) => (i === 3 ? [3e38, 3e38, 3e38] : [i, 1, 1]));
    // maxWaitMs is long and maxBatchSize 8: the eight requests form one batch (the callers check stats().batches)
    return Promise.allSettled(rows.map((r) => predictor.predict(r)));
  };
  const expectOnlyFourthFails = (out: Array<PromiseSettledResult<Float32Array>>): void => {
    out.forEach((r, i) => {
      if (i === 3) expect(r).toMatchObject({ status: 'rejected', reason: { code: 'INVALID_MODEL' } });
      else {
        expect(r.status).toBe('fulfilled');
        expect(Array.from((r as PromiseFulfilledResult<Float32Array>).value)).toEqual([i + 2, i + 2]);
      }
    });
  };

  it('tfjs in this thread', async () => {
    const m = model();
    const predictor = await createPredictor(m, { maxBatchSize: 8, maxWaitMs: 200 });
    expectOnlyFourthFails(await batchOfEight(predictor));
    expect(predictor.stats()).toMatchObject({ failed: 1, batches: 1 });
    await predictor.close();
    m.dispose();
  });

  it.skipIf(!hasOrt)('onnx in this thread and on a worker', async () => {
    const m = model();
    for (const offMainThread of [false, true]) {
      const predictor = await createPredictor(m, { engine: 'onnx', maxBatchSize: 8, maxWaitMs: 200, offMainThread });
      expect(predictor.stats()).toMatchObject({ engine: 'onnx', offMainThread });
      expectOnlyFourthFails(await batchOfEight(predictor));
      expect(predictor.stats()).toMatchObject({ failed: 1, batches: 1 });
      await predictor.close();
    }
    m.dispose();
  });

  it.skipIf(!hasOrt)('OnnxSession.run still rejects a non-finite output unless checkOutputs is false', async () => {
    const m = model();
    const session = await createOnnxSession(await layersModelToOnnx(m));
    const feeds = { [session.inputNames[0]!]: { data: new Float32Array([3e38, 3e38, 3e38, 1, 1, 1]), dims: [2, 3] } };
    await expect(session.run(feeds)).rejects.toMatchObject({ code: 'INVALID_MODEL' });
    const raw = (await session.run(feeds, { checkOutputs: false }))[session.outputNames[0]!]!.data;
    expect(Array.from(raw)).toEqual([Infinity, Infinity, 3, 3]);
    await expect(session.run(feeds, { checkOutputs: 'no' as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await session.close();
    m.dispose();
  });
});

describe('3: a failed start with a folded (batch norm) copy reports its own error', () => {
  it('a bare workerImports entry and a workerImports module that throws give typed errors, not "already disposed"', async () => {
    const model = crashModel(true);
    await expect(createPredictor(model, { offMainThread: true, workerImports: ['not-a-path'] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const marker = join(dir, 'start-fail');
    await writeFile(marker, 'x');
    process.env['LEPTON_TEST_FAIL_IMPORT'] = marker;
    try {
      await expect(createPredictor(model, { offMainThread: true, workerImports: [fixture('fail-import.mjs')] })).rejects.toMatchObject({
        name: 'LeptonError',
        code: 'WORKER_SETUP_FAILED',
      });
    } finally {
      delete process.env['LEPTON_TEST_FAIL_IMPORT'];
    }
    // the caller's model is untouched and still serves
    const predictor = await createPredictor(model, { maxBatchSize: 1 });
    expect((await predictor.predict([1, 2, 3])).length).toBe(1);
    await predictor.close();
    model.dispose();
  });
});

describe('4: predict() and run() never throw synchronously', () => {
  it('inputs whose getters or Proxy traps throw reject with INVALID_INPUT, and are counted', async () => {
    const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 1 })] });
    const predictor = await createPredictor(m, { maxBatchSize: 2 });
    const revocable = Proxy.revocable([1, 2, 3], {});
    revocable.revoke();
    const inputs: unknown[] = [
      { get length(): number { throw new Error('boom length'); } },
      { length: 3, get 0(): number { throw new Error('boom elem'); } },
      new Proxy([1, 2, 3], { get() { throw new Error('proxy boom'); } }),
      revocable.proxy,
    ];
    for (const input of inputs) {
      let p: Promise<Float32Array> | undefined;
      expect(() => (p = predictor.predict(input as ArrayLike<number>))).not.toThrow();
      await expect(p).rejects.toMatchObject({ name: 'LeptonError', code: 'INVALID_INPUT' });
    }
    expect(predictor.stats()).toMatchObject({ rejectedInvalid: 4, requests: 0 });
    await predictor.close();
    m.dispose();
  });

  it('WorkerPool.run with options null, of the wrong type or with a throwing getter rejects with INVALID_ARGUMENT', async () => {
    const pool = await createWorkerPool<object, Req, Res>({ module: WORKER, workers: 1 });
    const bad: unknown[] = [null, 'x', { get transfer(): never { throw new Error('getter'); } }, { transfer: 'x' }, { timeoutMs: 0 }];
    for (const options of bad) {
      let p: Promise<Res> | undefined;
      expect(() => (p = pool.run({ op: 'echo', value: 1 }, options as never))).not.toThrow();
      await expect(p).rejects.toMatchObject({ name: 'LeptonError', code: 'INVALID_ARGUMENT' });
    }
    expect(pool.stats()).toMatchObject({ rejectedInvalid: 5, completed: 0 });
    await expect(pool.run({ op: 'echo', value: 1 })).resolves.toMatchObject({ value: 1 });
    await pool.close();
  });
});

describe('5: timeouts', () => {
  it('a request past taskTimeoutMs rejects WORKER_TIMEOUT; its worker is replaced and the request next in its inbox is served', async () => {
    const pool = await createWorkerPool<object, Req, Res>({ module: WORKER, workers: 1, pipeline: 2, taskTimeoutMs: 300 });
    const t0 = performance.now();
    const stuck = pool.run({ op: 'wait', ms: 2_000_000_000 });
    const behind = pool.run({ op: 'echo', value: 7 });
    await expect(stuck).rejects.toMatchObject({ name: 'LeptonError', code: 'WORKER_TIMEOUT', details: { timeoutMs: 300 } });
    expect(performance.now() - t0).toBeLessThan(5000);
    await expect(behind).resolves.toMatchObject({ value: 7 });
    // a per-request timeout overrides the pool's
    await expect(pool.run({ op: 'wait', ms: 500, value: 1 }, { timeoutMs: 5000 })).resolves.toMatchObject({ value: 1 });
    await expect(pool.run({ op: 'wait', ms: 2_000_000_000 }, { timeoutMs: 100 })).rejects.toMatchObject({ code: 'WORKER_TIMEOUT' });
    // the second timed-out worker is replaced once it has exited
    const end = Date.now() + 10_000;
    while (pool.stats().restarts < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(pool.stats()).toMatchObject({ timedOut: 2, restarts: 2, crashed: 0 });
    await expect(pool.run({ op: 'echo', value: 8 })).resolves.toMatchObject({ value: 8 });
    expect(await settle(pool.close())).toMatchObject({ status: 'fulfilled' });
  });

  it('a stuck request no longer blocks close() when it has a timeout', async () => {
    const pool = await createWorkerPool<object, Req, Res>({ module: WORKER, workers: 1 });
    const stuck = pool.run({ op: 'wait', ms: 2_000_000_000 }, { timeoutMs: 200 });
    const closing = pool.close();
    await expect(stuck).rejects.toMatchObject({ code: 'WORKER_TIMEOUT' });
    expect(await settle(closing)).toMatchObject({ status: 'fulfilled' });
  });

  it('a setup past setupTimeoutMs fails the start with WORKER_SETUP_FAILED; bad timeouts are refused', async () => {
    const t0 = performance.now();
    await expect(createWorkerPool({ module: WORKER, init: { hangSetup: true }, workers: 1, setupTimeoutMs: 300 })).rejects.toMatchObject({
      code: 'WORKER_SETUP_FAILED',
      details: { setupTimeoutMs: 300 },
    });
    expect(performance.now() - t0).toBeLessThan(10_000);
    for (const bad of [0, -1, Number.NaN, 2 ** 31, '5']) {
      await expect(createWorkerPool({ module: WORKER, workers: 1, taskTimeoutMs: bad as number })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(createWorkerPool({ module: WORKER, workers: 1, setupTimeoutMs: bad as number })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(createPredictor(tf.sequential({ layers: [tf.layers.dense({ inputShape: [1], units: 1 })] }), { timeoutMs: bad as number })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('timeoutMs'),
      });
    }
  });

  it('createPredictor timeoutMs on workers: a forward pass stuck in custom code fails its batch, the worker is replaced', async () => {
    const model = tf.sequential({ layers: [new HangOnSentinel({ inputShape: [3] }), tf.layers.dense({ units: 1, kernelInitializer: 'ones', useBias: false })] });
    const predictor = await createPredictor(model, { offMainThread: true, maxBatchSize: 1, maxWaitMs: 1, timeoutMs: 1000, workerImports: [fixture('hang-layer.mjs')] });
    await expect(predictor.predict([HANG_VALUE, 0, 0])).rejects.toMatchObject({ code: 'WORKER_TIMEOUT' });
    expect(Array.from(await predictor.predict([1, 2, 3]))).toEqual([6]);
    expect(predictor.stats()).toMatchObject({ failed: 1, workerRestarts: 1 });
    await predictor.close();
    model.dispose();
  });
});

describe('6: an output of the wrong length fails the batch', () => {
  class Lying extends tf.layers.Layer {
    static className = 'LeptonTestLying';
    override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape {
      return [(s as tf.Shape)[0] ?? null, 1];
    }
    override call(x: tf.Tensor | tf.Tensor[]): tf.Tensor {
      return tf.clone(Array.isArray(x) ? x[0]! : x);
    }
  }
  tf.serialization.registerClass(Lying);

  it('createPredictor rejects every request of the batch with INVALID_MODEL, no caller gets another one\'s values', async () => {
    const input = tf.input({ shape: [3] });
    const model = tf.model({ inputs: input, outputs: new Lying().apply(input) as tf.SymbolicTensor });
    const predictor = await createPredictor(model, { maxBatchSize: 3, maxWaitMs: 50, warmup: false });
    const out = await Promise.allSettled([[10, 11, 12], [20, 21, 22], [30, 31, 32]].map((r) => predictor.predict(r)));
    for (const r of out) expect(r).toMatchObject({ status: 'rejected', reason: { code: 'INVALID_MODEL', details: { expected: 3, actual: 9 } } });
    expect(predictor.stats()).toMatchObject({ failed: 3, batches: 0 });
    await predictor.close();
    model.dispose();
  });

  it('ModelWorkers.predictMany rejects with INVALID_MODEL when the outputs do not add up', async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2 })] });
    // The declared output shape now says 3 values per sample; the workers compute 2.
    (model.outputs[0] as unknown as { shape: Array<number | null> }).shape = [null, 3];
    const engines = new ModelWorkers(model, 2, 64, 'This test');
    await expect(engines.predictMany(new Float32Array(12), 4)).rejects.toMatchObject({ code: 'INVALID_MODEL', details: { expected: 12, actual: 8 } });
    await engines.close();
  });
});

describe('7: a crash fails only the request the worker was running', () => {
  it('the pool sends the request next in a crashed worker\'s inbox again', async () => {
    const pool = await createWorkerPool<object, Req, Res>({ module: WORKER, workers: 1, pipeline: 2 });
    const crash = pool.run({ op: 'exit', ms: 100 });
    const behind = pool.run({ op: 'echo', value: 5 });
    expect(pool.stats()).toMatchObject({ busy: 1, queued: 0 });
    await expect(crash).rejects.toMatchObject({ code: 'WORKER_CRASHED' });
    await expect(behind).resolves.toMatchObject({ value: 5 });
    expect(pool.stats()).toMatchObject({ crashed: 1, restarts: 1, completed: 1 });
    await pool.close();
  });

  it('a predictor fails the crashed batch only; the batch next in the worker\'s inbox is answered', async () => {
    const model = crashModel();
    const predictor = await createPredictor(model, { offMainThread: true, maxBatchSize: 2, maxWaitMs: 1, workerImports: [fixture('sentinel-layer.mjs')] });
    const rows = [[CRASH_VALUE, 0, 0], [1, 1, 1], [2, 2, 2], [3, 3, 3], [4, 4, 4], [5, 5, 5]];
    const out = await Promise.allSettled(rows.map((r) => predictor.predict(r)));
    expect(out.slice(0, 2).map((r) => r.status === 'rejected' && (r.reason as { code: string }).code)).toEqual(['WORKER_CRASHED', 'WORKER_CRASHED']);
    out.slice(2).forEach((r, i) => expect(r).toMatchObject({ status: 'fulfilled', value: new Float32Array([3 * (i + 2)]) }));
    expect(predictor.stats()).toMatchObject({ failed: 2, workerRestarts: 1, peakInFlight: 2 });
    await predictor.close();
    model.dispose();
  });
});

describe('8: worker counts are capped at 256', () => {
  it('refuses more with INVALID_ARGUMENT everywhere', async () => {
    for (const workers of [257, 1e6, 2 ** 32]) {
      expect(() => resolveWorkerCount(workers)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      await expect(createWorkerPool({ module: WORKER, workers })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(createPredictor(tf.sequential({ layers: [tf.layers.dense({ inputShape: [1], units: 1 })] }), { workers })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    expect(resolveWorkerCount(256)).toBe(256);
    expect(resolveWorkerCount('auto')).toBeLessThanOrEqual(256);
  });
});

describe('9: a worker that dies while others still set up is replaced', () => {
  it('the pool respawns it once live', async () => {
    const init = { crashOnceAfterReady: 0, crashMarker: join(dir, 'start-crash'), slowSetupIndex: 1, slowSetupMs: 600 };
    const pool = await createWorkerPool<object, Req, Res>({ module: WORKER, init, workers: 2 });
    const end = Date.now() + 15_000;
    while (pool.stats().alive < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(pool.stats()).toMatchObject({ alive: 2, restarts: 1 });
    const served = await Promise.all([pool.run({ op: 'wait', ms: 100 }), pool.run({ op: 'wait', ms: 100 })]);
    expect(new Set(served.map((s) => s.index))).toEqual(new Set([0, 1]));
    await pool.close();
  });
});

describe('10: run() takes the request over', () => {
  it('a queued request is copied at run(): later writes by the caller do not reach it; transferred buffers are detached', async () => {
    const pool = await createWorkerPool<object, Req, Float32Array>({ module: WORKER, workers: 1, pipeline: 1 });
    const busy = pool.run({ op: 'wait', ms: 200 });
    const data = new Float32Array([1, 2, 3]);
    const copied = pool.run({ op: 'double', data });
    data.fill(100);
    const moved = new Float32Array([1, 2, 3]);
    const transferred = pool.run({ op: 'double', data: moved }, { transfer: [moved.buffer] });
    expect(moved.byteLength).toBe(0);
    expect(pool.stats().queued).toBe(2);
    await busy;
    expect(Array.from(await copied)).toEqual([2, 4, 6]);
    expect(Array.from(await transferred)).toEqual([2, 4, 6]);
    await pool.close();
  });
});

describe('11: options.pool is checked', () => {
  it('refuses a pool that is not an object, a bad pipeline or name, naming the option', async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [1], units: 1 })] });
    const cases: Array<[unknown, RegExp]> = [
      ['not-an-object', /pool must be an object/],
      [null, /pool must be an object/],
      [{ pipeline: 0 }, /pool\.pipeline/],
      [{ pipeline: 'x' }, /pool\.pipeline/],
      [{ pipeline: 100_000 }, /pool\.pipeline/],
      [{ name: 42 }, /pool\.name/],
      [{ get pipeline(): number { throw new Error('getter'); } }, /pool could not be read/],
    ];
    for (const [pool, message] of cases) {
      await expect(createPredictor(model, { offMainThread: true, pool: pool as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(message) });
    }
    model.dispose();
  });
});

describe('12: ModelWorkers.predictMany checks its arguments', () => {
  it('rejects bad samples and counts with INVALID_INPUT before starting any worker', async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 1 })] });
    const engines = new ModelWorkers(model, 2, 64, 'This test');
    const bad: Array<[unknown, unknown]> = [
      [new Float32Array(4), Number.NaN],
      [new Float32Array(4), -2],
      [new Float32Array(4), 2.5],
      [new Float32Array(4), 3],
      [new Float32Array([1, Number.NaN, 2, 3]), 2],
      [new Float32Array([1, Infinity, 2, 3]), 2],
      [[1, 2, 3, 4], 2],
      [null, 2],
    ];
    for (const [flat, n] of bad) {
      const err = await engines.predictMany(flat as Float32Array, n as number).catch((e: unknown) => e);
      expect(isLeptonError(err) && err.code).toBe('INVALID_INPUT');
    }
    expect(Array.from(await engines.predictMany(new Float32Array(0), 0))).toEqual([]);
    await engines.close();
  });
});

describe('13: SeparableConv2D with depthMultiplier > 1', () => {
  const build = (): tf.LayersModel =>
    tf.sequential({
      layers: [
        tf.layers.separableConv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, depthMultiplier: 2, seed: 1 } as never),
        tf.layers.batchNormalization({ movingMeanInitializer: tf.initializers.constant({ value: 0.1 }), movingVarianceInitializer: tf.initializers.constant({ value: 2 }) }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2, seed: 2 } as never),
      ],
    });
  const sample = Array.from({ length: 72 }, (_, i) => Math.sin(i));

  it('is served off the main thread with the in-thread results', async () => {
    const model = build();
    const inThread = await createPredictor(model, { foldBatchNorm: false });
    const expected = await inThread.predict(sample);
    await inThread.close();
    const off = await createPredictor(model, { offMainThread: true, foldBatchNorm: false });
    expect(Array.from(await off.predict(sample))).toEqual(Array.from(expected));
    await off.close();
    model.dispose();
  });

  it('folds its batch norm', async () => {
    const model = build();
    const folded = await foldBatchNorm(model);
    expect(folded.layers.some((l) => l.getClassName() === 'BatchNormalization')).toBe(false);
    const x = tf.tensor(sample, [1, 6, 6, 2]);
    const a = (model.predict(x) as tf.Tensor).dataSync();
    const b = (folded.predict(x) as tf.Tensor).dataSync();
    a.forEach((v, i) => expect(b[i]).toBeCloseTo(v, 4));
    tf.dispose(x);
    folded.dispose();
    model.dispose();
  });
});

describe('14: counters, worker errors with throwing getters', () => {
  it('counts requests rejected as invalid and after close', async () => {
    const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 1 })] });
    const predictor = await createPredictor(m);
    await expect(predictor.predict([1])).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(predictor.predict([1, Number.NaN])).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await predictor.close();
    await expect(predictor.predict([1, 2])).rejects.toMatchObject({ code: 'PREDICTOR_CLOSED' });
    expect(predictor.stats()).toMatchObject({ requests: 0, rejectedInvalid: 2, rejectedClosed: 1 });
    m.dispose();
    const pool: WorkerPool<Req, Res> = await createWorkerPool<object, Req, Res>({ module: WORKER, workers: 1 });
    await pool.close();
    await expect(pool.run({ op: 'echo' })).rejects.toMatchObject({ code: 'POOL_CLOSED' });
    expect(pool.stats()).toMatchObject({ rejectedClosed: 1 });
  });

  it('a handler error whose message, name and stack getters throw fails its request with WORKER_TASK_FAILED, without a crash', async () => {
    const pool = await createWorkerPool<object, Req, Res>({ module: WORKER, workers: 1 });
    await expect(pool.run({ op: 'bad-message' })).rejects.toMatchObject({ code: 'WORKER_TASK_FAILED', message: expect.stringContaining('cannot be read') });
    await expect(pool.run({ op: 'bad-getters' })).rejects.toMatchObject({ code: 'WORKER_TASK_FAILED' });
    await expect(pool.run({ op: 'echo', value: 3 })).resolves.toMatchObject({ value: 3 });
    expect(pool.stats()).toMatchObject({ crashed: 0, restarts: 0, failed: 2 });
    await pool.close();
  });
});
