import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildFusionModel,
  fitLateFusion,
  initRuntime,
  lateFusionFromJSON,
  loadBundle,
  rocAuc,
  saveBundle,
  seededRandom,
  tf,
  train,
  type LateFusionJSON,
} from '@lepton/core';

// Reference fits by scikit-learn's LogisticRegression and SciPy's SLSQP: fixtures/make_fusion_fixture.py.
interface Ref {
  weights: number[];
  bias: number;
  proba: number[];
}
const fx = JSON.parse(readFileSync(new URL('./fixtures/fusion.json', import.meta.url), 'utf8')) as {
  labels: number[];
  scores: number[][];
  logistic_logit_none: Ref;
  logistic_logit_c1: Ref;
  logistic_raw_none: Ref;
  convex_raw: { weights: number[]; loss: number };
  convex_logit: { weights: number[]; loss: number };
};

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));
const logit = (p: number): number => Math.log(p / (1 - p));

/** Standard normal from a seeded uniform source (Box–Muller). */
function normal(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

let dir: string;
beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
  dir = await mkdtemp(join(tmpdir(), 'lepton-fusion-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('late fusion vs scikit-learn / SciPy', () => {
  it.each([
    ['logit scores, no penalty', 'logistic_logit_none', { input: 'logit', l2: 0 }],
    ['logit scores, C = 1', 'logistic_logit_c1', { input: 'logit', l2: 1 }],
    ['raw scores, no penalty', 'logistic_raw_none', { input: 'raw', l2: 0 }],
  ] as const)('logistic weights match LogisticRegression (%s)', (_, key, opts) => {
    const ref = fx[key];
    const f = fitLateFusion(fx.scores, fx.labels, { method: 'logistic', ...opts });
    expect(f.report!.converged).toBe(true);
    f.weights.forEach((w, m) => expect(w).toBeCloseTo(ref.weights[m]!, 5));
    expect(f.bias).toBeCloseTo(ref.bias, 5);
    const p = f.predict(fx.scores.map((col) => col.slice(0, 5)));
    p.forEach((v, i) => expect(v).toBeCloseTo(ref.proba[i]!, 6));
  });

  it.each([
    ['raw', 'convex_raw'],
    ['logit', 'convex_logit'],
  ] as const)('convex weights (input %s) match SLSQP on the simplex', (input, key) => {
    const ref = fx[key];
    const f = fitLateFusion(fx.scores, fx.labels, { method: 'convex', input });
    expect(f.bias).toBe(0);
    expect(f.report!.converged).toBe(true);
    expect(f.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    for (const w of f.weights) expect(w).toBeGreaterThanOrEqual(0);
    f.weights.forEach((w, m) => expect(Math.abs(w - ref.weights[m]!)).toBeLessThan(1e-5));
    expect(f.report!.logLoss).toBeLessThanOrEqual(ref.loss + 1e-7);
  });
});

describe('late fusion', () => {
  // Three modalities, each with its own independent noisy view of the label.
  function data(n: number, seed: number): { scores: Record<string, number[]>; y: number[] } {
    const rand = seededRandom(seed);
    const z = normal(rand);
    const y = Array.from({ length: n }, () => (rand() < 0.5 ? 1 : 0));
    const view = (strength: number, offset: number): number[] => y.map((v) => sigmoid(offset + strength * (2 * v - 1) + 1.2 * z()));
    return { scores: { image: view(1.0, 0.3), clinical: view(0.8, -0.2), lab: view(0.6, 0) }, y };
  }

  it('beats every single modality on held-out samples when each carries independent signal', () => {
    const fit = data(600, 11);
    const test = data(1000, 12);
    const single = Object.values(test.scores).map((s) => rocAuc(test.y, s));
    for (const method of ['logistic', 'convex'] as const) {
      const f = fitLateFusion(fit.scores, fit.y, { method });
      expect(f.modalities).toEqual(['image', 'clinical', 'lab']);
      const fused = rocAuc(test.y, f.predict(test.scores));
      expect(fused).toBeGreaterThan(Math.max(...single) + 0.04);
    }
  });

  it('missing scores: error lists every such sample; mean imputes; convex renormalises; fitting skips them', () => {
    const { scores, y } = data(300, 5);
    const f = fitLateFusion(scores, y, { method: 'logistic', l2: 0 });
    const json = f.toJSON();
    const holes = { image: [0.7, 0.2, null], clinical: [Number.NaN, 0.4, 0.5], lab: [0.5, undefined, 0.6] };
    try {
      f.predict(holes);
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'FUSION_MISSING_SCORE', details: { samples: [0, 1, 2], count: 3 } });
    }
    // 'mean': the missing term is the weight times the modality's mean logit on the fitting data (hand-computed here).
    const meanLogit = scores.clinical!.reduce((s, v) => s + logit(v), 0) / y.length;
    const want = sigmoid(json.bias + json.weights[0]! * logit(0.7) + json.weights[1]! * meanLogit + json.weights[2]! * logit(0.5));
    expect(f.predict(holes, { missing: 'mean' })[0]).toBeCloseTo(want, 10);
    // A modality absent from the record is missing for every sample.
    expect(() => f.predict({ image: [0.5], lab: [0.5] })).toThrow(expect.objectContaining({ code: 'FUSION_MISSING_SCORE' }));
    expect(() => f.predict(holes, { missing: 'renormalise' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    // Convex on raw probabilities: the remaining weights are rescaled to sum to 1.
    const c = fitLateFusion(scores, y, { method: 'convex', input: 'raw', missing: 'renormalise' });
    const [w0, w1, w2] = c.weights as [number, number, number];
    expect(c.predictOne({ image: 0.7, clinical: null, lab: 0.5 })).toBeCloseTo((w0 * 0.7 + w2 * 0.5) / (w0 + w2), 12);
    expect(c.predictOne([0.7, 0.4, 0.5])).toBeCloseTo(w0 * 0.7 + w1 * 0.4 + w2 * 0.5, 12);
    // Fitting leaves out incomplete samples, says which, and equals a fit on the complete ones.
    const holed = { ...scores, lab: scores.lab!.map((v, i) => (i % 7 === 0 ? Number.NaN : v)) };
    const g = fitLateFusion(holed, y, { l2: 0 });
    const keep = y.map((_, i) => i % 7 !== 0);
    const complete = Object.fromEntries(Object.entries(scores).map(([k, v]) => [k, v.filter((_, i) => keep[i])]));
    const h = fitLateFusion(complete, y.filter((_, i) => keep[i]), { l2: 0 });
    expect(g.report!.skipped).toEqual(y.flatMap((_, i) => (i % 7 === 0 ? [i] : [])));
    expect(g.report!.samples).toBe(h.report!.samples);
    g.weights.forEach((w, m) => expect(w).toBeCloseTo(h.weights[m]!, 10));
  });

  it('survives JSON (as stored in a bundle) and refuses bad input with typed errors', () => {
    const { scores, y } = data(200, 9);
    for (const method of ['logistic', 'convex'] as const) {
      const f = fitLateFusion(scores, y, { method, missing: 'mean' });
      const g = lateFusionFromJSON(JSON.parse(JSON.stringify(f.toJSON())) as LateFusionJSON);
      expect(g.predict(scores)).toEqual(f.predict(scores));
      expect(g.missing).toBe('mean');
    }
    expect(() => lateFusionFromJSON({ kind: 'late-fusion' } as never)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => fitLateFusion([[0.2, 1.5]], [0, 1])).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => fitLateFusion([[0.2, 0.5]], [0, 2])).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => fitLateFusion([[0.2, 0.5], [0.1]], [0, 1])).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    expect(() => fitLateFusion([[0.2, 0.5]], [1, 1])).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    const f = fitLateFusion(scores, y);
    expect(() => f.predict({ ...scores, extra: [0.1] })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });
});

describe('early fusion (buildFusionModel)', () => {
  it('has one named input per branch, in the documented order, and the task head', () => {
    const m = buildFusionModel({ embedding: { dim: 10 }, tabular: { features: 4 }, sequence: { kind: 'gru', timesteps: 6, features: 3 }, task: 'multiclass', outputUnits: 3, seed: 1 });
    expect(m.inputNames).toEqual(['image_embedding', 'tabular', 'sequence']);
    expect(m.inputs.map((i) => i.shape)).toEqual([[null, 10], [null, 4], [null, 6, 3]]);
    expect(m.outputs[0]!.shape).toEqual([null, 3]);
    const p = tf.tidy(() => (m.predict([tf.zeros([2, 10]), tf.zeros([2, 4]), tf.zeros([2, 6, 3])]) as tf.Tensor).sum(-1).arraySync() as number[]);
    p.forEach((s) => expect(s).toBeCloseTo(1, 5));
    m.dispose();
    const img = buildFusionModel({ image: { shape: [16, 16, 1] }, sequence: { kind: 'conv', timesteps: 8, features: 2 }, task: 'regression', outputUnits: 2 });
    expect(img.inputNames).toEqual(['image', 'sequence']);
    expect(img.outputs[0]!.shape).toEqual([null, 2]);
    expect(img.layers.some((l) => l.name === 'last_conv')).toBe(true); // the CNN trunk, Grad-CAM target included
    img.dispose();
    expect(() => buildFusionModel({})).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => buildFusionModel({ image: { shape: [8, 8, 1] }, embedding: { dim: 3 } })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  // Images with one blob whose brightness is feature a, and tabular features [b, noise, noise]; label = a + b + noise > 0.
  function imageTabular(n: number, seed: number): { image: tf.Tensor4D; tabular: tf.Tensor2D; y: tf.Tensor2D; labels: number[] } {
    const S = 12;
    const rand = seededRandom(seed);
    const z = normal(rand);
    const pixels = new Float32Array(n * S * S);
    const tab = new Float32Array(n * 3);
    const labels: number[] = [];
    for (let i = 0; i < n; i++) {
      const a = z();
      const b = z();
      const cy = 3 + rand() * 6;
      const cx = 3 + rand() * 6;
      for (let r = 0; r < S; r++) for (let c = 0; c < S; c++) pixels[i * S * S + r * S + c] = a * Math.exp(-((r - cy) ** 2 + (c - cx) ** 2) / 4) + 0.2 * z();
      tab.set([b, z(), z()], i * 3);
      labels.push(a + b + 0.3 * z() > 0 ? 1 : 0);
    }
    return { image: tf.tensor4d(pixels, [n, S, S, 1]), tabular: tf.tensor2d(tab, [n, 3]), y: tf.tensor2d(labels, [n, 1]), labels };
  }

  it('trains with train() on image + tabular and beats either branch alone trained the same way; bundle round trip; no leaks', async () => {
    const before = tf.memory().numTensors;
    const tr = imageTabular(480, 21);
    const va = imageTabular(160, 22);
    const te = imageTabular(400, 23);
    const opts = { epochs: 25, batchSize: 32, learningRate: 3e-3, seed: 3, progressBar: false, earlyStopping: { monitor: 'val_auc', patience: 8 } } as const;
    const image = { shape: [12, 12, 1] as [number, number, number], filters: [6, 12] };
    const variants = {
      fused: { model: buildFusionModel({ image, tabular: { features: 3 }, seed: 2 }), x: (d: typeof tr) => [d.image, d.tabular] },
      image: { model: buildFusionModel({ image, seed: 2 }), x: (d: typeof tr) => [d.image] },
      tabular: { model: buildFusionModel({ tabular: { features: 3 }, seed: 2 }), x: (d: typeof tr) => [d.tabular] },
    };
    const auc: Record<string, number> = {};
    for (const [name, v] of Object.entries(variants)) {
      const r = await train(v.model, { x: v.x(tr), y: tr.y }, { ...opts, validationData: { x: v.x(va), y: va.y } });
      expect(r.task).toBe('binary');
      const p = tf.tidy(() => (v.model.predict(v.x(te)) as tf.Tensor).dataSync());
      auc[name] = rocAuc(te.labels, p);
    }
    // Each branch alone sees half of the signal; together they see all of it.
    expect(auc['image']).toBeGreaterThan(0.65);
    expect(auc['tabular']).toBeGreaterThan(0.65);
    expect(auc['fused']).toBeGreaterThan(Math.max(auc['image']!, auc['tabular']!) + 0.08);

    const fused = variants.fused.model;
    const bundle = join(dir, 'fusion-bundle');
    // A late fusion travels in the same bundle's metadata.
    const late = fitLateFusion({ a: [0.9, 0.2, 0.7, 0.4, 0.6], b: [0.6, 0.3, 0.4, 0.5, 0.7] }, [1, 0, 1, 0, 1], { l2: 1 });
    await saveBundle(fused, bundle, { name: 'fusion', version: '1.0.0', preprocessing: { inputs: fused.inputNames, lateFusion: late.toJSON() } });
    const loaded = await loadBundle(bundle, { expectInputs: [{ shape: [null, 12, 12, 1] }, { shape: [null, 3] }], expectTask: 'binary' });
    expect(loaded.manifest.inputs.map((s) => s.name)).toEqual(['image', 'tabular']);
    const restored = lateFusionFromJSON(loaded.manifest.preprocessing!['lateFusion'] as LateFusionJSON);
    expect(restored.predictOne({ a: 0.8, b: 0.1 })).toBe(late.predictOne({ a: 0.8, b: 0.1 }));
    const a = tf.tidy(() => Array.from((fused.predict([te.image, te.tabular]) as tf.Tensor).dataSync()));
    const b = tf.tidy(() => Array.from((loaded.model.predict([te.image, te.tabular]) as tf.Tensor).dataSync()));
    expect(b).toEqual(a);
    loaded.model.dispose();
    Object.values(variants).forEach((v) => v.model.dispose());
    tf.dispose([tr, va, te].flatMap((d) => [d.image, d.tabular, d.y]));
    expect(tf.memory().numTensors).toBe(before);
  });
});
