import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildMlp,
  initRuntime,
  isLeptonError,
  rocAuc,
  seededRandom,
  tf,
} from '@lepton/core';
import {
  decodeWeights,
  encodeMasked,
  encodeWeights,
  evaluateWeights,
  fedAvg,
  fedProxLoss,
  readWeights,
  specsEqual,
  trainLocal,
  weightSpecs,
  writeWeights,
  type WeightSet,
  type WeightSpec,
} from '@lepton/federated';
import { tabular } from './support/federated.js';

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isLeptonError(err) ? err.code : `not a LeptonError: ${String(err)}`;
  }
  return undefined;
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  return '';
}

/** An independent writer of the wire format, straight from its description, to craft valid and corrupt payloads. */
function craft(header: unknown, body: Uint8Array, pad = 0): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const start = Math.ceil((8 + json.length) / 4) * 4;
  const out = new Uint8Array(start + body.length);
  out.set([0x4c, 0x50, 0x57, 0x31], 0); // 'LPW1'
  out[4] = json.length & 0xff;
  out[5] = (json.length >>> 8) & 0xff;
  out[6] = (json.length >>> 16) & 0xff;
  out[7] = (json.length >>> 24) & 0xff;
  out.set(json, 8);
  for (let i = 8 + json.length; i < start; i++) out[i] = pad;
  out.set(body, start);
  return out;
}

function f32le(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return out;
}

const SPECS: WeightSpec[] = [
  { name: 'dense_0/kernel', shape: [2, 3] },
  { name: 'dense_0/bias', shape: [3] },
];
const VALUES = [0.5, -1.25, 3, 1e-8, -0, 65504, 0.1, -0.2, 7];

describe('weight sets', () => {
  it('reads and writes every weight, batch-norm statistics included, in getWeights() order, without leaking', async () => {
    const a = buildMlp({ inputDim: 3, hiddenUnits: [4], batchNorm: true, seed: 1 });
    const b = buildMlp({ inputDim: 3, hiddenUnits: [4], batchNorm: true, seed: 2 });
    const before = tf.memory().numTensors;
    const set = await readWeights(a);
    // 3·4 + 4 (dense_0) + 4·4 (bn: gamma, beta, moving mean, moving variance) + 4·1 + 1 (output) = 37
    expect(set.values.length).toBe(37);
    expect(set.specs.map((s) => s.name)).toContain('dense_0/kernel');
    expect(set.specs.map((s) => s.name)).toContain('bn_0/moving_variance');
    // Two copies built in one process have equal specs even though tfjs makes their variable names unique.
    expect(specsEqual(weightSpecs(a), weightSpecs(b))).toBe(true);
    const expected = a.getWeights().flatMap((t) => Array.from(t.dataSync()));
    expect(Array.from(set.values)).toEqual(expected);
    writeWeights(b, set);
    expect(Array.from((await readWeights(b)).values)).toEqual(expected);
    expect(tf.memory().numTensors).toBe(before);
    const x = tf.randomNormal([5, 3], 0, 1, 'float32', 3);
    const pa = (a.predict(x) as tf.Tensor).dataSync();
    const pb = (b.predict(x) as tf.Tensor).dataSync();
    expect(Array.from(pb)).toEqual(Array.from(pa));
    a.dispose();
    b.dispose();
  });

  it('refuses a weight set that does not fit the model with SHAPE_MISMATCH', async () => {
    const a = buildMlp({ inputDim: 3, hiddenUnits: [4], seed: 1 });
    const wider = buildMlp({ inputDim: 3, hiddenUnits: [5], seed: 1 });
    const set = await readWeights(a);
    const before = tf.memory().numTensors;
    expect(codeOf(() => writeWeights(wider, set))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => writeWeights(a, { specs: set.specs, values: set.values.subarray(1) }))).toBe('SHAPE_MISMATCH');
    const renamed = { specs: set.specs.map((s, i) => (i === 0 ? { ...s, name: 'other/kernel' } : s)), values: set.values };
    expect(codeOf(() => writeWeights(a, renamed))).toBe('SHAPE_MISMATCH');
    expect(tf.memory().numTensors).toBe(before);
    a.dispose();
    wider.dispose();
  });

  it('specsEqual compares names and shapes position by position', () => {
    expect(specsEqual(SPECS, SPECS.map((s) => ({ name: s.name, shape: [...s.shape] })))).toBe(true);
    expect(specsEqual(SPECS, [SPECS[0]!])).toBe(false);
    expect(specsEqual(SPECS, [SPECS[1]!, SPECS[0]!])).toBe(false);
    expect(specsEqual(SPECS, [SPECS[0]!, { name: 'dense_0/bias', shape: [1, 3] }])).toBe(false);
  });
});

describe('binary wire format', () => {
  const set: WeightSet = { specs: SPECS, values: Float32Array.from(VALUES) };

  it('lays bytes out as documented: LPW1, u32 LE header length, JSON header, zero padding to 4, LE float32', () => {
    const bytes = encodeWeights(set, { round: 3, partner: 'hospital-a' });
    const header = { specs: SPECS, dtype: 'float32', count: 9, meta: { round: 3, partner: 'hospital-a' } };
    expect(Array.from(bytes)).toEqual(Array.from(craft(header, f32le(VALUES))));
    expect(bytes.length % 4).toBe(0);
  });

  it('round-trips floats bit for bit, with metadata, from an unaligned buffer too', () => {
    const bytes = encodeWeights(set, { round: 3 });
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    for (const input of [bytes, shifted.subarray(1)]) {
      const d = decodeWeights(input, SPECS);
      expect(d.dtype).toBe('float32');
      expect(d.values).toBeInstanceOf(Float32Array);
      expect(Array.from(d.values)).toEqual(Array.from(set.values));
      expect(Object.is(d.values[4], -0)).toBe(true);
      expect(d.meta).toEqual({ round: 3 });
      expect(specsEqual(d.specs, SPECS)).toBe(true);
    }
    expect(decodeWeights(encodeWeights(set)).meta).toEqual({});
  });

  it('round-trips uint32 secure-aggregation words', () => {
    const words = Uint32Array.from([0, 1, 0xffffffff, 0x80000000, 12345, 0xdeadbeef, 7, 8, 9]);
    const d = decodeWeights(encodeMasked(words, SPECS, { round: 1 }), SPECS);
    expect(d.dtype).toBe('uint32');
    expect(d.values).toBeInstanceOf(Uint32Array);
    expect(Array.from(d.values)).toEqual(Array.from(words));
  });

  it('refuses to encode values that do not match the specs', () => {
    expect(codeOf(() => encodeWeights({ specs: SPECS, values: new Float32Array(8) }))).toBe('INVALID_ARGUMENT');
  });

  const good = craft({ specs: SPECS, dtype: 'float32', count: 9, meta: {} }, f32le(VALUES));
  // A header whose length leaves padding bytes after it (8 + length not a multiple of 4).
  let note = 'x';
  while ((8 + JSON.stringify({ specs: SPECS, dtype: 'float32', count: 9, meta: { note } }).length) % 4 === 0) note += 'x';
  const padded = { specs: SPECS, dtype: 'float32', count: 9, meta: { note } };
  const corruptions: Array<[string, () => Uint8Array, RegExp]> = [
    ['empty', () => new Uint8Array(0), /truncated/],
    ['shorter than the preamble', () => good.subarray(0, 6), /truncated/],
    ['wrong magic', () => Uint8Array.from(good, (b, i) => (i === 3 ? 0x32 : b)), /magic/],
    ['header length past the end', () => {
      const c = Uint8Array.from(good);
      c[6] = 1;
      return c;
    }, /truncated/],
    ['garbled header JSON', () => Uint8Array.from(good, (b, i) => (i === 8 ? 0x5c : b)), /garbled header/],
    ['header not valid UTF-8', () => Uint8Array.from(good, (b, i) => (i === 10 ? 0xff : b)), /garbled header/],
    ['header is an array', () => craft([1, 2], f32le(VALUES)), /garbled header/],
    ['unknown dtype', () => craft({ specs: SPECS, dtype: 'float64', count: 9, meta: {} }, f32le(VALUES)), /dtype/],
    ['count disagrees with specs', () => craft({ specs: SPECS, dtype: 'float32', count: 8, meta: {} }, f32le(VALUES.slice(0, 8))), /count/],
    ['negative dimension', () => craft({ specs: [{ name: 'w', shape: [-9] }], dtype: 'float32', count: -9, meta: {} }, new Uint8Array(0)), /shape/],
    ['specs missing', () => craft({ dtype: 'float32', count: 9, meta: {} }, f32le(VALUES)), /specs/],
    ['non-zero padding', () => craft(padded, f32le(VALUES), 7), /padding/],
    ['values truncated', () => good.subarray(0, good.length - 4), /wrong length/],
    ['trailing bytes', () => {
      const c = new Uint8Array(good.length + 4);
      c.set(good);
      return c;
    }, /wrong length/],
    ['NaN value', () => craft({ specs: SPECS, dtype: 'float32', count: 9, meta: {} }, f32le([...VALUES.slice(0, 8), NaN])), /NaN/],
    ['infinite value', () => craft({ specs: SPECS, dtype: 'float32', count: 9, meta: {} }, f32le([Infinity, ...VALUES.slice(1)])), /infinite/],
  ];

  it.each(corruptions)('rejects a payload with %s as FEDERATED_BAD_UPDATE, naming the problem', (_name, make, problem) => {
    const bytes = make();
    expect(codeOf(() => decodeWeights(bytes))).toBe('FEDERATED_BAD_UPDATE');
    expect(messageOf(() => decodeWeights(bytes))).toMatch(problem);
  });

  it('the crafted payloads above differ from a valid one only in the corruption (control)', () => {
    expect(Array.from(decodeWeights(good).values)).toEqual(Array.from(Float32Array.from(VALUES)));
    // padding of 7 is only wrong because it is not zero: the same header with zero padding decodes
    expect(decodeWeights(craft(padded, f32le(VALUES))).meta).toEqual({ note });
  });

  it('rejects specs that differ from the expected ones (shape, name, count)', () => {
    const bytes = encodeWeights(set);
    const otherShape = [SPECS[0]!, { name: 'dense_0/bias', shape: [1, 3] }];
    const otherName = [{ name: 'dense_1/kernel', shape: [2, 3] }, SPECS[1]!];
    for (const expect_ of [otherShape, otherName, [SPECS[0]!]]) {
      expect(codeOf(() => decodeWeights(bytes, expect_))).toBe('FEDERATED_BAD_UPDATE');
      expect(messageOf(() => decodeWeights(bytes, expect_))).toMatch(/specs differ/);
    }
  });
});

describe('fedAvg', () => {
  it('is the sample-weighted mean (hand-computed)', () => {
    const mean = fedAvg([
      { values: Float32Array.from([1, 2, 3]), samples: 10 },
      { values: Float32Array.from([3, 0, -1]), samples: 30 },
      { values: Float32Array.from([0, 4, 1]), samples: 60 },
    ]);
    // (10·[1,2,3] + 30·[3,0,−1] + 60·[0,4,1]) / 100 = [100, 260, 60] / 100
    expect(mean[0]).toBeCloseTo(1.0, 6);
    expect(mean[1]).toBeCloseTo(2.6, 6);
    expect(mean[2]).toBeCloseTo(0.6, 6);
  });

  it('ignores zero-sample updates and is linear: global + mean of deltas = mean of weights', () => {
    const global = Float32Array.from([0.5, -0.5]);
    const w1 = Float32Array.from([1.5, 0.5]);
    const w2 = Float32Array.from([0.5, 2.5]);
    const d = (w: Float32Array): Float32Array => w.map((v, i) => v - global[i]!);
    const meanW = fedAvg([{ values: w1, samples: 1 }, { values: w2, samples: 3 }, { values: Float32Array.from([99, 99]), samples: 0 }]);
    const meanD = fedAvg([{ values: d(w1), samples: 1 }, { values: d(w2), samples: 3 }]);
    expect(meanW[0]).toBeCloseTo(0.75, 6); // (1.5 + 3·0.5) / 4
    expect(meanW[1]).toBeCloseTo(2.0, 6); // (0.5 + 3·2.5) / 4
    meanD.forEach((v, i) => expect(v + global[i]!).toBeCloseTo(meanW[i]!, 6));
  });

  it('refuses empty input, mismatched lengths, bad sample counts and non-finite values', () => {
    expect(codeOf(() => fedAvg([]))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => fedAvg([{ values: new Float32Array(2), samples: 1 }, { values: new Float32Array(3), samples: 1 }]))).toBe('FEDERATED_BAD_UPDATE');
    expect(codeOf(() => fedAvg([{ values: new Float32Array(2), samples: -1 }]))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => fedAvg([{ values: new Float32Array(2), samples: 0 }]))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => fedAvg([{ values: Float32Array.from([1, NaN]), samples: 1 }]))).toBe('FEDERATED_BAD_UPDATE');
  });
});

describe('FedProx', () => {
  /** A tiny model without dropout, global weights a seeded perturbation of its own, and a few samples. */
  async function setup(): Promise<{ model: ReturnType<typeof buildMlp>; global: WeightSet; x: tf.Tensor2D; y: tf.Tensor2D }> {
    const model = buildMlp({ inputDim: 3, hiddenUnits: [4], dropout: 0, seed: 11 });
    const own = await readWeights(model);
    const rand = seededRandom(5);
    const global = { specs: own.specs, values: own.values.map((v) => v + (rand() - 0.5) * 0.6) };
    const x = tf.tensor2d([[0.2, -1, 0.5], [1.5, 0.3, -0.7], [-0.4, 0.9, 1.1], [0.8, -0.2, 0.1], [-1.2, -0.6, 0.4]]);
    const y = tf.tensor2d([[1], [0], [1], [0], [1]]);
    return { model, global, x, y };
  }
  const meanLoss = (fn: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, model: ReturnType<typeof buildMlp>, x: tf.Tensor, y: tf.Tensor): tf.Scalar =>
    tf.mean(fn(y, model.apply(x) as tf.Tensor)) as tf.Scalar;

  it('adds (mu/2)·‖w − w_global‖² to the base loss (values checked by hand)', async () => {
    const { model, global, x, y } = await setup();
    const mu = 0.7;
    const prox = fedProxLoss('binaryCrossentropy', model, global, mu);
    const base = fedProxLoss('binaryCrossentropy', model, global, 0);
    const p = (model.predict(x) as tf.Tensor).dataSync();
    const labels = y.dataSync();
    let bce = 0;
    for (let i = 0; i < labels.length; i++) bce -= labels[i]! * Math.log(p[i]!) + (1 - labels[i]!) * Math.log(1 - p[i]!);
    bce /= labels.length;
    const own = (await readWeights(model)).values;
    let sq = 0;
    for (let i = 0; i < own.length; i++) sq += (own[i]! - global.values[i]!) ** 2; // every weight is trainable here
    expect(meanLoss(base, model, x, y).dataSync()[0]).toBeCloseTo(bce, 5);
    expect(meanLoss(prox, model, x, y).dataSync()[0]).toBeCloseTo(bce + (mu / 2) * sq, 4);
    prox.dispose();
    base.dispose();
    model.dispose();
    tf.dispose([x, y]);
  });

  it('its gradient is the base gradient + mu·(w − w_global), analytically and by finite differences', async () => {
    const { model, global, x, y } = await setup();
    const mu = 0.5;
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const prox = fedProxLoss('binaryCrossentropy', model, global, mu);
    const base = fedProxLoss('binaryCrossentropy', model, global, 0);
    const gBase = tf.variableGrads(() => meanLoss(base, model, x, y), vars);
    const gProx = tf.variableGrads(() => meanLoss(prox, model, x, y), vars);
    const specs = weightSpecs(model);
    let offset = 0;
    specs.forEach((s, k) => {
      const size = s.shape.reduce((a, b) => a * b, 1);
      const v = vars[k]!;
      const w = v.dataSync();
      const gb = gBase.grads[v.name]!.dataSync();
      const gp = gProx.grads[v.name]!.dataSync();
      for (let i = 0; i < size; i++) expect(gp[i]!).toBeCloseTo(gb[i]! + mu * (w[i]! - global.values[offset + i]!), 5);
      offset += size;
    });
    // Central differences on a few entries of the first kernel: the analytic gradient is the true one.
    const kernel = vars[0]!;
    const h = 1e-2;
    for (const i of [0, 5, 11]) {
      const at = (delta: number): number => {
        const w = kernel.dataSync().slice();
        w[i] = w[i]! + delta;
        const saved = kernel.clone();
        kernel.assign(tf.tensor(w, kernel.shape));
        const value = tf.tidy(() => meanLoss(prox, model, x, y).dataSync()[0]!);
        kernel.assign(saved);
        saved.dispose();
        return value;
      };
      const numeric = (at(h) - at(-h)) / (2 * h);
      expect(numeric).toBeCloseTo(gProx.grads[kernel.name]!.dataSync()[i]!, 3);
    }
    tf.dispose([gBase.value, gProx.value, ...Object.values(gBase.grads), ...Object.values(gProx.grads), x, y]);
    prox.dispose();
    base.dispose();
    model.dispose();
  });

  it('refuses a bad mu, an unknown loss name and global weights of another model', async () => {
    const { model, global, x, y } = await setup();
    expect(codeOf(() => fedProxLoss('binaryCrossentropy', model, global, -1))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => fedProxLoss('noSuchLoss', model, global, 0.1))).toBe('INVALID_ARGUMENT');
    const other = buildMlp({ inputDim: 3, hiddenUnits: [5], seed: 1 });
    const otherWeights = await readWeights(other);
    expect(codeOf(() => fedProxLoss('binaryCrossentropy', model, otherWeights, 0.1))).toBe('SHAPE_MISMATCH');
    other.dispose();
    model.dispose();
    tf.dispose([x, y]);
  });
});

describe('trainLocal and evaluateWeights', () => {
  it('returns local − global and the sample count; FedProx with mu 0 equals FedAvg; a large mu stays closer to global; no leaks', async () => {
    const { x, y } = tabular(256, 4, 21);
    const model = buildMlp({ inputDim: 4, hiddenUnits: [8], dropout: 0, seed: 3 });
    const global = await readWeights(model);
    const before = tf.memory().numTensors;
    const opts = { epochs: 3, batchSize: 32, learningRate: 0.02, seed: 9 } as const;
    const plain = await trainLocal(model, global, { x, y }, opts);
    const local = (await readWeights(model)).values;
    expect(plain.samples).toBe(256);
    expect(plain.delta.length).toBe(global.values.length);
    plain.delta.forEach((d, i) => expect(d).toBeCloseTo(local[i]! - global.values[i]!, 6));
    expect(plain.metrics['loss']).toBeGreaterThan(0);
    const proxZero = await trainLocal(model, global, { x, y }, { ...opts, algorithm: 'fedprox', mu: 0 });
    expect(Array.from(proxZero.delta)).toEqual(Array.from(plain.delta));
    const proxBig = await trainLocal(model, global, { x, y }, { ...opts, algorithm: 'fedprox', mu: 5 });
    const norm = (v: Float32Array): number => Math.sqrt(v.reduce((s, d) => s + d * d, 0));
    expect(norm(proxBig.delta)).toBeLessThan(0.6 * norm(plain.delta));
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    tf.dispose([x, y]);
  });

  it('evaluateWeights scores the given weights, not the model’s own', async () => {
    const { x, y } = tabular(300, 4, 22);
    const trained = buildMlp({ inputDim: 4, hiddenUnits: [8], dropout: 0, seed: 4 });
    const fresh = buildMlp({ inputDim: 4, hiddenUnits: [8], dropout: 0, seed: 5 });
    await trainLocal(trained, await readWeights(trained), { x, y }, { epochs: 5, learningRate: 0.02, seed: 1 });
    const weights = await readWeights(trained);
    const before = tf.memory().numTensors;
    const metrics = await evaluateWeights(fresh, weights, { x, y });
    expect(tf.memory().numTensors).toBe(before);
    const p = trained.predict(x) as tf.Tensor;
    expect(metrics['auc']).toBeCloseTo(rocAuc(y.dataSync(), p.dataSync()), 6);
    expect(metrics['auc']).toBeGreaterThan(0.9);
    tf.dispose([p, x, y]);
    trained.dispose();
    fresh.dispose();
  });
});
