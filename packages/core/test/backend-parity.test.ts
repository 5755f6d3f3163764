import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPredictor,
  gradCam,
  initRuntime,
  integratedGradients,
  loadBundle,
  missingKernels,
  requiredKernels,
  saliencyMap,
  saveBundle,
  tf,
  train,
  type BackendPlan,
} from '@lepton/core';
import { firstSample, parityCases, SAMPLES, tensorOf, webgpuUnavailable, withoutSyncReads, worst, type SyncRead } from './support/parity.js';

/*
 * WebGPU against wasm, on the same models with the same weights: every model is built once on wasm and saved as a
 * bundle, and each backend loads that bundle, so any difference is the backend's arithmetic. On a machine without a
 * GPU, WebGPU runs on Mesa's lavapipe (a software Vulkan driver; see packages/core/docs/backends.md), about 10× slower than wasm:
 * sizes here are tiny on purpose. The webgpu backend's readSync is wrapped to throw on any read that would download
 * from the GPU, so every part also proves that core never reads a GPU tensor synchronously.
 */

const WEBGPU_MISSING = await webgpuUnavailable();
const BACKENDS: string[] = WEBGPU_MISSING === null ? ['wasm', 'webgpu'] : ['wasm'];
const CASES = parityCases();

/** Agreement of webgpu with wasm: |webgpu − wasm| ≤ atol + rtol·|wasm| for every element. */
const TOL = {
  /** Forward pass, the predictor and the bundle round trip (float32 on both; summation order differs). */
  forward: { atol: 1e-4, rtol: 1e-3 },
  /** Training loss and validation metrics of one epoch. */
  metrics: { atol: 1e-4, rtol: 1e-3 },
  /** Outputs after one epoch (two SGD steps: the forward differences pass through the gradients into the weights). */
  trained: { atol: 5e-4, rtol: 5e-3 },
  /** Grad-CAM and saliency maps (scaled to [0, 1]). */
  heatmap: { atol: 2e-3, rtol: 0 },
  /** Integrated-gradient attributions and scores. */
  attribution: { atol: 1e-4, rtol: 1e-2 },
} as const;

/**
 * Kernels a core model needs that `webgpu` lacks, with the reason `planBackend` routes that work to another backend.
 * Empty: with TF.js 4.22 every core builder's forward and backward kernels exist on webgpu (checked by the first test).
 */
const ROUTED: Record<string, string> = {};

let dir: string;
const built = (name: string): string => join(dir, 'built', name);

beforeAll(async () => {
  if (WEBGPU_MISSING !== null) console.warn(`backend parity: webgpu skipped: ${WEBGPU_MISSING}`);
  dir = await mkdtemp(join(tmpdir(), 'lepton-parity-'));
  await initRuntime({ backend: 'wasm' }, {});
  for (const c of CASES) {
    const model = c.build();
    await saveBundle(model, built(c.name), { name: c.name, version: '1.0.0', provenance: { builtOn: 'wasm' } });
    model.dispose();
  }
});

/** One part run on one backend: its result, the GPU reads it attempted synchronously, and how long it took. */
interface Run<T> {
  value: T;
  syncReads: SyncRead[];
  ms: number;
}
const runs = new Map<string, Promise<Run<unknown>>>();

/** Runs `fn` on `backend` once (memoised: the wasm reference is shared by every other backend's checks). */
function on<T>(backend: string, part: string, fn: () => Promise<T>): Promise<Run<T>> {
  const key = `${backend}/${part}`;
  let run = runs.get(key);
  if (run === undefined) {
    run = (async () => {
      await initRuntime({ backend: backend as 'wasm' | 'webgpu' }, {});
      const started = performance.now();
      const r = await withoutSyncReads(backend, fn);
      return { ...r, ms: performance.now() - started };
    })();
    runs.set(key, run);
  }
  return run as Promise<Run<T>>;
}

const largest = new Map<string, number>();
function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: { atol: number; rtol: number }, what: string): void {
  const w = worst(got, want, tol.rtol);
  const part = what.split(':')[0]!;
  let maxAbs = 0;
  for (let i = 0; i < got.length; i++) maxAbs = Math.max(maxAbs, Math.abs(got[i]! - want[i]!));
  largest.set(part, Math.max(largest.get(part) ?? 0, maxAbs));
  expect(w.excess, `${what}: element ${w.index} is ${w.a}, wasm gives ${w.b}`).toBeLessThanOrEqual(tol.atol);
}

const inputOf = (xs: tf.Tensor[]): tf.Tensor | tf.Tensor[] => (xs.length === 1 ? xs[0]! : xs);

async function predictValues(model: Awaited<ReturnType<typeof loadBundle>>['model'], xs: tf.Tensor[]): Promise<{ values: Float32Array; shape: number[] }> {
  const y = tf.tidy(() => model.predict(inputOf(xs)) as tf.Tensor);
  try {
    return { values: (await y.data()) as Float32Array, shape: y.shape };
  } finally {
    y.dispose();
  }
}

interface Forward {
  values: Float32Array;
  shape: number[];
  missing: string[];
}
async function forward(): Promise<Record<string, Forward>> {
  const out: Record<string, Forward> = {};
  for (const c of CASES) {
    const { model } = await loadBundle(built(c.name));
    const xs = c.x.map(tensorOf);
    const predicted = await predictValues(model, xs);
    // After the forward pass the weights live only on the GPU; listing the kernels runs the model on the cpu backend,
    // which moves them there: that move must not be a synchronous GPU read either.
    const missing = missingKernels(await requiredKernels(model, { training: true }), tf.getBackend());
    out[c.name] = { ...predicted, missing };
    tf.dispose(xs);
    model.dispose();
  }
  return out;
}

interface Trained {
  metrics: Record<string, number>;
  plan: BackendPlan;
  after: Float32Array;
  reloaded: Float32Array;
}
async function trainEach(): Promise<Record<string, Trained>> {
  const out: Record<string, Trained> = {};
  const backend = tf.getBackend();
  for (const c of CASES) {
    const { model } = await loadBundle(built(c.name));
    const xs = c.x.map(tensorOf);
    const y = tensorOf(c.y);
    // SGD, not Adam: Adam's first steps move each weight by ±lr whatever the gradient's size, so a gradient of 1e-9 on
    // one backend and −1e-9 on the other would differ by 2·lr. SGD's step is continuous in the gradient.
    const r = await train(model, { x: xs, y }, { epochs: 1, batchSize: 8, optimizer: 'sgd', learningRate: 0.05, validationSplit: 0.25, seed: 3, progressBar: false });
    const after = (await predictValues(model, xs)).values;
    // bundle round trip of the model trained here: save (weights read asynchronously) → load (verified) → predict
    const saved = join(dir, backend, c.name);
    await saveBundle(model, saved, { name: c.name, version: '1.0.1', metrics: { val_loss: r.finalMetrics['val_loss']! } });
    const reloaded = await loadBundle(saved);
    out[c.name] = { metrics: r.history[0]!.metrics, plan: r.backend, after, reloaded: (await predictValues(reloaded.model, xs)).values };
    tf.dispose([...xs, y]);
    model.dispose();
    reloaded.model.dispose();
  }
  return out;
}

interface Explained {
  cam: Float32Array;
  camClass: number;
  saliency: Float32Array;
  attributions: Float32Array;
  scores: number[];
}
async function explain(): Promise<Explained> {
  const cnnCase = CASES.find((c) => c.name === 'residual-cnn')!;
  const mlpCase = CASES.find((c) => c.name === 'mlp')!;
  const cnn = (await loadBundle(built(cnnCase.name))).model;
  const mlp = (await loadBundle(built(mlpCase.name))).model;
  const image = firstSample(cnnCase.x[0]!);
  const cam = await gradCam(cnn, image);
  const saliency = await saliencyMap(cnn, image);
  const x0 = mlpCase.x[0]!;
  const ig = await integratedGradients(mlp, x0.values.subarray(0, x0.shape[1]!), { steps: 16 });
  image.dispose();
  cnn.dispose();
  mlp.dispose();
  return { cam: cam.data, camClass: cam.classIndex, saliency: saliency.data, attributions: ig.attributions, scores: [ig.score, ig.baselineScore] };
}

const SERVED = ['mlp', 'residual-cnn', 'tcn', 'lstm'];
async function serve(): Promise<Record<string, Float32Array>> {
  const out: Record<string, Float32Array> = {};
  for (const name of SERVED) {
    const c = CASES.find((k) => k.name === name)!;
    const bundle = await loadBundle(built(name));
    const predictor = await createPredictor(bundle);
    const x = c.x[0]!;
    const per = x.values.length / SAMPLES;
    const rows = Array.from({ length: SAMPLES }, (_, i) => x.values.subarray(i * per, (i + 1) * per));
    const answers = await Promise.all(rows.map((r) => predictor.predict(r)));
    await predictor.close();
    const size = answers[0]!.length;
    const flat = new Float32Array(SAMPLES * size);
    answers.forEach((a, i) => flat.set(a, i * size));
    out[name] = flat;
    bundle.model.dispose();
  }
  return out;
}

if (WEBGPU_MISSING !== null) {
  describe.skip(`backend parity on webgpu: SKIPPED, no WebGPU adapter (${WEBGPU_MISSING}); install Mesa ≥ 25 lavapipe, see packages/core/docs/backends.md`, () => {
    it('needs a WebGPU adapter', () => {});
  });
}

describe.skipIf(WEBGPU_MISSING !== null)('readSync guard on webgpu', () => {
  it('the guard catches a synchronous read of a GPU tensor (so its silence below means something)', async () => {
    await initRuntime({ backend: 'webgpu' }, {});
    const a = tf.fill([64, 64], 0.5);
    const { syncReads } = await withoutSyncReads('webgpu', async () => {
      const onGpu = tf.matMul(a, a);
      try {
        expect(() => onGpu.dataSync()).toThrow(/synchronous GPU read/);
        expect(Array.from((await onGpu.data()).slice(0, 2))).toEqual([16, 16]);
        onGpu.dataSync(); // cached on the CPU by data(): not a GPU read
      } finally {
        onGpu.dispose();
      }
    });
    a.dispose();
    expect(syncReads).toHaveLength(1);
  });
});

// lavapipe computes on the CPU: on the 2-core machine each part takes ≤ 10 s alone, but ~60 s while other test files
// load both cores, so the parts get more than the project's 60 s default.
describe.each(BACKENDS)('backend parity on %s', { timeout: 180_000 }, (backend) => {
  const vsWasm = backend !== 'wasm';

  it('forward pass of every core builder (bundle built on wasm); every kernel present or routed', async () => {
    const got = await on(backend, 'forward', forward);
    expect(got.syncReads).toEqual([]);
    const want = vsWasm ? (await on('wasm', 'forward', forward)).value : undefined;
    for (const c of CASES) {
      const g = got.value[c.name]!;
      expect(g.values.every((v) => Number.isFinite(v)), c.name).toBe(true);
      expect(g.missing.filter((k) => !(k in ROUTED)), `${c.name}: kernels ${backend} lacks and planBackend has no reason to route`).toEqual([]);
      if (want) {
        expect(g.shape).toEqual(want[c.name]!.shape);
        expectClose(g.values, want[c.name]!.values, TOL.forward, `forward: ${c.name}`);
      }
    }
  });

  it('one train() epoch of every builder: same loss, validation metrics and weights; saved bundle reloads identically', async () => {
    const got = await on(backend, 'train', trainEach);
    expect(got.syncReads).toEqual([]);
    const want = vsWasm ? (await on('wasm', 'train', trainEach)).value : undefined;
    for (const c of CASES) {
      const g = got.value[c.name]!;
      const routed = (await on(backend, 'forward', forward)).value[c.name]!.missing;
      // Trained where it was asked to, unless a kernel is missing; then the plan names it.
      expect(g.plan).toMatchObject({ requested: backend, switched: routed.length > 0, missing: routed });
      expect(Number.isFinite(g.metrics['loss']), c.name).toBe(true);
      expectClose(g.reloaded, g.after, { atol: 1e-6, rtol: 0 }, `roundtrip: ${c.name} reloaded on ${backend}`);
      if (want) {
        const w = want[c.name]!;
        expect(Object.keys(g.metrics).sort()).toEqual(Object.keys(w.metrics).sort());
        const keys = Object.keys(w.metrics).sort();
        expectClose(keys.map((k) => g.metrics[k]!), keys.map((k) => w.metrics[k]!), TOL.metrics, `metrics: ${c.name} (${keys.join(', ')})`);
        expectClose(g.after, w.after, TOL.trained, `trained: ${c.name}`);
      }
    }
  });

  it('Grad-CAM, saliency and integrated gradients', async () => {
    const got = await on(backend, 'explain', explain);
    expect(got.syncReads).toEqual([]);
    const g = got.value;
    expect(g.cam.length).toBe(64);
    expect(Math.max(...g.saliency)).toBeCloseTo(1, 5);
    if (vsWasm) {
      const w = (await on('wasm', 'explain', explain)).value;
      expect(g.camClass).toBe(w.camClass);
      expectClose(g.cam, w.cam, TOL.heatmap, 'heatmap: Grad-CAM');
      expectClose(g.saliency, w.saliency, TOL.heatmap, 'heatmap: saliency');
      expectClose(g.attributions, w.attributions, TOL.attribution, 'attribution: integrated gradients');
      expectClose(g.scores, w.scores, TOL.attribution, 'attribution: scores');
    }
  });

  it('predictor (in-process, default options) serves what the model computes', async () => {
    const got = await on(backend, 'predictor', serve);
    expect(got.syncReads).toEqual([]);
    const own = (await on(backend, 'forward', forward)).value;
    const want = vsWasm ? (await on('wasm', 'predictor', serve)).value : undefined;
    for (const name of SERVED) {
      expectClose(got.value[name]!, own[name]!.values, { atol: 1e-5, rtol: 0 }, `predictor-self: ${name} on ${backend}`);
      if (want) expectClose(got.value[name]!, want[name]!, TOL.forward, `predictor: ${name}`);
    }
  });
});

afterAll(async () => {
  const times = await Promise.all([...runs].map(async ([key, run]) => `${key} ${(await run.catch(() => ({ ms: NaN }))).ms.toFixed(0)} ms`));
  const diffs = [...largest].map(([part, d]) => `${part} ${d.toExponential(1)}`);
  console.log(`backend parity: ${times.join(', ')}; largest |difference| per check: ${diffs.join(', ') || 'n/a'}`);
  await rm(dir, { recursive: true, force: true });
  await initRuntime({ backend: 'wasm' }, {});
});
