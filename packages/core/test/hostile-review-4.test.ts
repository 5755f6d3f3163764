// Findings of the fourth hostile review (2026-12-07) of core's non-serving modules: explain, fusion, metrics,
// calibrate, onnx, numeric, io, models, train. Each block is numbered by the review's finding; each test fails on the
// code before the fix.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildFusionModel,
  buildMlp,
  buildResidualCnn,
  calibratorFromJSON,
  confusionMatrix,
  createOnnxSession,
  fitIsotonic,
  fitLateFusion,
  fitLogisticRegression,
  fitPlatt,
  gradCam,
  heatmapToPng,
  IG_BATCH_SIZE,
  initRuntime,
  integratedGradients,
  isLeptonError,
  lateFusionFromJSON,
  layersModelToOnnx,
  lnGamma,
  logLoss,
  MAX_BLOCKS_PER_STAGE,
  MAX_CLASS_LABELS,
  MAX_IG_STEPS,
  MAX_LATE_FUSION_SCORES,
  MAX_LAYER_LIST,
  normalCdf,
  normalQuantile,
  onnxRuntimeAvailable,
  parseCsv,
  precisionRecallF1,
  readLines,
  saliencyMap,
  solveLinear,
  taskMetrics,
  tf,
  thresholdForCost,
  type LateFusion,
} from '@lepton/core';
import { PNG } from 'pngjs';

const hasOrt = await onnxRuntimeAvailable();

/** The error `f` throws (or rejects with), or undefined. */
async function caught(f: () => unknown): Promise<unknown> {
  try {
    await f();
  } catch (err) {
    return err;
  }
  return undefined;
}

/** Asserts that `f` throws a LeptonError of `code`. */
async function expectCode(f: () => unknown, code: string): Promise<void> {
  const err = await caught(f);
  expect(isLeptonError(err), `expected a LeptonError ${code}, got ${String(err)}`).toBe(true);
  expect((err as { code: string }).code).toBe(code);
}

beforeAll(async () => {
  await initRuntime({ backend: 'cpu' }, {});
});

describe('1. taskMetrics multiclass checks its targets', () => {
  const pred = [
    [0.7, 0.2, 0.1],
    [0.1, 0.8, 0.1],
    [0.2, 0.2, 0.6],
  ];
  const run = async (labels: tf.Tensor, p: number[][] = pred): Promise<Record<string, number>> => {
    const yPred = tf.tensor2d(p);
    try {
      return await taskMetrics('multiclass', labels, yPred);
    } finally {
      labels.dispose();
      yPred.dispose();
    }
  };

  it('refuses NaN, infinite, fractional and out-of-range class indices with INVALID_INPUT', async () => {
    for (const bad of [Number.NaN, Infinity, 0.9, -1, 3]) {
      await expectCode(() => run(tf.tensor1d([bad, 1, 2])), 'INVALID_INPUT');
    }
  });

  it('refuses a one-hot row holding NaN, a value above 1 or only zeros', async () => {
    for (const row of [[Number.NaN, 0, 0], [2, 0, 0], [0, 0, 0]]) {
      await expectCode(() => run(tf.tensor2d([row, [0, 1, 0], [0, 0, 1]])), 'INVALID_INPUT');
    }
  });

  it('refuses sample counts that differ, and one-hot rows of another width, with SHAPE_MISMATCH', async () => {
    await expectCode(() => run(tf.tensor1d([0, 1])), 'SHAPE_MISMATCH');
    await expectCode(() => run(tf.tensor2d([[1, 0], [0, 1], [1, 0]])), 'SHAPE_MISMATCH');
  });

  it('scores index labels, [n, 1] labels and one-hot rows alike, and leaks no tensor', async () => {
    const before = tf.memory().numTensors;
    const a = await run(tf.tensor1d([0, 1, 2]));
    const b = await run(tf.tensor2d([[0], [1], [2]]));
    const c = await run(tf.tensor2d([[1, 0, 0], [0, 1, 0], [0, 0, 1]]));
    expect(a['accuracy']).toBe(1);
    // float32 predictions: close to the float64 value to float32 precision
    expect(a['loss']).toBeCloseTo((-Math.log(0.7) - Math.log(0.8) - Math.log(0.6)) / 3, 7);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    const wrong = await run(tf.tensor1d([1, 1, 2]));
    expect(wrong['accuracy']).toBeCloseTo(2 / 3, 12);
    expect(tf.memory().numTensors).toBe(before);
  });
});

function fusion(options: Parameters<typeof fitLateFusion>[2] = {}): LateFusion {
  return fitLateFusion({ image: [0.9, 0.2, 0.7, 0.4, 0.8, 0.1], clinical: [0.6, 0.3, 0.4, 0.6, 0.7, 0.2] }, [1, 0, 1, 0, 1, 0], { l2: 1, ...options });
}

describe('2. LateFusion bounds the sample count before allocating', () => {
  it('refuses a column longer than MAX_LATE_FUSION_SCORES allows with INVALID_INPUT, before reading it', async () => {
    const f = fusion();
    let reads = 0;
    const huge = new Proxy({ length: 2 ** 32 }, { get: (t, k) => (k === 'length' ? t.length : (reads++, 0.5)) });
    await expectCode(() => f.predict([huge as ArrayLike<number>, huge as ArrayLike<number>]), 'INVALID_INPUT');
    const justOver = { length: MAX_LATE_FUSION_SCORES / 2 + 1 } as ArrayLike<number>;
    await expectCode(() => f.predict({ image: justOver, clinical: justOver }), 'INVALID_INPUT');
    await expectCode(() => fitLateFusion([justOver, justOver], { length: MAX_LATE_FUSION_SCORES / 2 + 1 } as ArrayLike<number>), 'INVALID_INPUT');
    expect(reads).toBe(0);
  });

  it('reads a sparse column by index: its holes are missing scores', async () => {
    const f = fusion();
    const sparse: number[] = [];
    sparse.length = 1000;
    sparse[3] = 0.5;
    const err = await caught(() => f.predict({ image: sparse, clinical: sparse }));
    expect(isLeptonError(err, 'FUSION_MISSING_SCORE')).toBe(true);
    expect((err as { details: { count: number } }).details.count).toBe(999);
    const out = f.predict({ image: sparse, clinical: sparse }, { missing: 'mean' });
    expect(out).toHaveLength(1000);
    expect(out.every(Number.isFinite)).toBe(true);
    expect(out[3]).toBe(f.predictOne([0.5, 0.5]));
  });

  it('a score whose getter throws is INVALID_INPUT; a sparse array of columns is refused, not skipped', async () => {
    const f = fusion();
    const bad = new Proxy([0.5], { get: (t, k) => (k === '0' ? ((): never => { throw new Error('boom'); })() : Reflect.get(t, k)) });
    await expectCode(() => f.predict([bad, [0.5]]), 'INVALID_INPUT');
    const holes: number[][] = [];
    holes.length = 2;
    holes[1] = [0.5];
    await expectCode(() => f.predict(holes), 'INVALID_INPUT');
  });
});

describe('3. LateFusion with no score at all', () => {
  it('predictOne({}) is one sample with every score missing: the policy decides, never undefined', async () => {
    const f = fusion();
    await expectCode(() => f.predictOne({}), 'FUSION_MISSING_SCORE');
    const mean = f.predictOne({}, { missing: 'mean' });
    expect(Number.isFinite(mean)).toBe(true);
    expect(mean).toBeGreaterThan(0);
    expect(mean).toBeLessThan(1);
    expect(mean).toBe(f.predictOne({ image: null, clinical: undefined }, { missing: 'mean' }));
  });

  it('predict({}) has no sample count: INVALID_INPUT', async () => {
    const f = fusion();
    await expectCode(() => f.predict({}), 'INVALID_INPUT');
    await expectCode(() => f.predict({}, { missing: 'mean' }), 'INVALID_INPUT');
  });

  it('renormalise with no score of positive weight is FUSION_MISSING_SCORE, not NaN', async () => {
    const f = fusion({ method: 'convex', missing: 'renormalise' });
    const err = await caught(() => f.predict({ image: [0.9, Number.NaN], clinical: [0.5, null] }));
    expect(isLeptonError(err, 'FUSION_MISSING_SCORE')).toBe(true);
    expect((err as { details: { samples: number[] } }).details.samples).toEqual([1]);
    await expectCode(() => f.predictOne({ image: null, clinical: undefined }), 'FUSION_MISSING_SCORE');
    expect(Number.isFinite(f.predictOne({ image: 0.9, clinical: null }))).toBe(true);
  });

  it('predictOne with an array of the wrong length is SHAPE_MISMATCH', async () => {
    await expectCode(() => fusion().predictOne([0.5]), 'SHAPE_MISMATCH');
  });
});

describe('4. fitLogisticRegression and solveLinear read sparse arrays by index', () => {
  it('a hole in a feature row is INVALID_INPUT, not a fit with loss NaN', async () => {
    const row = [0, 0];
    delete row[1];
    await expectCode(() => fitLogisticRegression([row, [1, 1], [2, 0], [3, 1]], [0, 0, 1, 1], { l2: 1 }), 'INVALID_INPUT');
  });

  it('a hole in b is INVALID_ARGUMENT, not SINGULAR_MATRIX', async () => {
    const b = [3, 5];
    delete b[1];
    await expectCode(() => solveLinear([[2, 1], [1, 3]], b), 'INVALID_ARGUMENT');
    expect(solveLinear([[2, 1], [1, 3]], [3, 5]).map((v) => Math.round(v * 1e12) / 1e12)).toEqual([0.8, 1.4]);
  });
});

describe('5. calibrators never return NaN', () => {
  it('Platt with a = 0 maps ±Infinity to σ(−b)', () => {
    const fitted = fitPlatt([0, 0, 0, 0], [0, 1, 0, 1]);
    expect(fitted.predict(Infinity)).toBe(fitted.predict(0));
    expect(fitted.predict(-Infinity)).toBe(fitted.predict(0));
    const stored = calibratorFromJSON({ kind: 'platt', a: 0, b: 1 });
    expect(stored.predict(Infinity)).toBeCloseTo(1 / (1 + Math.E), 15);
    expect(calibratorFromJSON({ kind: 'platt', a: -2, b: 0 }).predict(Infinity)).toBe(1);
  });

  it('isotonic knots more than the largest double apart interpolate finitely', () => {
    const c = fitIsotonic([-1.7e308, 1.7e308], [0, 1]);
    expect(c.predict(0)).toBe(0.5);
    expect(c.predict(1e308)).toBeCloseTo(0.5 + 0.5e308 / 1.7e308, 12);
    expect(calibratorFromJSON({ kind: 'isotonic', x: [-1.7e308, 1.7e308], y: [0, 1] }).predict(1e308)).toBeCloseTo(0.5 + 0.5e308 / 1.7e308, 12);
  });
});

describe('6. normalQuantile and lnGamma at the bottom of the doubles', () => {
  it('normalQuantile of subnormal p is finite and ordered', () => {
    const z = [5e-324, 1e-320, 1e-310, 1e-300].map(normalQuantile);
    expect(z.every(Number.isFinite)).toBe(true);
    for (let i = 1; i < z.length; i++) expect(z[i]!).toBeGreaterThan(z[i - 1]!);
    expect(z[0]).toBeCloseTo(-38.4674, 3);
    expect(normalCdf(z[3]!) / 1e-300).toBeCloseTo(1, 9);
  });

  it('lnGamma of a tiny x is −ln x − γx', () => {
    expect(lnGamma(5e-324)).toBeCloseTo(-Math.log(5e-324), 12);
    expect(lnGamma(1e-310)).toBeCloseTo(-Math.log(1e-310), 12);
    expect(lnGamma(1e-9)).toBeCloseTo(-Math.log(1e-9) - 0.5772156649015329e-9, 12);
  });
});

describe('7. saliencyMap and gradCam explain image models only', () => {
  it('an MLP or a sequence model is EXPLAIN_UNSUPPORTED, not a heatmap without width or height', async () => {
    const mlp = buildMlp({ inputDim: 4, seed: 1 });
    const seq = tf.sequential({ layers: [tf.layers.gru({ units: 2, inputShape: [6, 3] }), tf.layers.dense({ units: 1 })] });
    const x = tf.tensor1d([1, 2, 3, 4]);
    const s = tf.ones([6, 3]);
    try {
      await expectCode(() => saliencyMap(mlp, x), 'EXPLAIN_UNSUPPORTED');
      await expectCode(() => saliencyMap(seq, s), 'EXPLAIN_UNSUPPORTED');
      await expectCode(() => gradCam(mlp, x), 'EXPLAIN_UNSUPPORTED');
    } finally {
      tf.dispose([x, s]);
      mlp.dispose();
      seq.dispose();
    }
  });
});

describe('8. explanations throw LeptonError, not TF.js errors', () => {
  it('a two-input model is INVALID_MODEL for saliencyMap and integratedGradients', async () => {
    const model = buildFusionModel({ embedding: { dim: 4 }, tabular: { features: 3 }, seed: 1 });
    const x = tf.ones([4]);
    const before = tf.memory().numTensors;
    try {
      await expectCode(() => saliencyMap(model, x), 'INVALID_MODEL');
      await expectCode(() => integratedGradients(model, [1, 2, 3, 4]), 'INVALID_MODEL');
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      x.dispose();
      model.dispose();
    }
  });

  it('gradCam with a layerName whose output is not 4-D is INVALID_ARGUMENT naming the 4-D layers', async () => {
    const cnn = buildResidualCnn({ inputShape: [8, 8, 1], numClasses: 2, filters: [4], seed: 1 });
    const img = tf.ones([8, 8, 1]);
    try {
      const err = await caught(() => gradCam(cnn, img, { layerName: 'output' }));
      expect(isLeptonError(err, 'INVALID_ARGUMENT')).toBe(true);
      expect((err as Error).message).toContain('last_conv');
      const ok = await gradCam(cnn, img, { layerName: 'last_conv' });
      expect(ok.width).toBe(8);
    } finally {
      img.dispose();
      cnn.dispose();
    }
  });
});

describe('9. integratedGradients runs the path in bounded batches', () => {
  it('never sends more than IG_BATCH_SIZE samples through the model, and matches the one-batch integral', async () => {
    const model = buildMlp({ inputDim: 3, hiddenUnits: [5], seed: 3 });
    const input = [0.5, -1, 2];
    const steps = 3 * IG_BATCH_SIZE + 7;
    // The reference: the whole path as one batch (the former algorithm), computed here.
    const reference = tf.tidy(() => {
      const x = tf.tensor2d([input]);
      const alphas = tf.reshape(tf.linspace(0, 1, steps + 1), [steps + 1, 1]);
      const path = tf.mul(alphas, x);
      const grads = tf.grad((p: tf.Tensor) => tf.sum(model.apply(p) as tf.Tensor))(path);
      const w = tf.reshape(tf.concat([tf.tensor1d([0.5]), tf.ones([steps - 1]), tf.tensor1d([0.5])]), [steps + 1, 1]);
      return tf.mul(tf.div(tf.sum(tf.mul(grads, w), 0), steps), tf.reshape(x, [3])).dataSync();
    });
    const apply = model.apply.bind(model);
    let largest = 0;
    model.apply = ((inputs: tf.Tensor, kwargs?: unknown) => {
      largest = Math.max(largest, (inputs as tf.Tensor).shape[0]!);
      return apply(inputs, kwargs as never);
    }) as typeof model.apply;
    const before = tf.memory().numTensors;
    try {
      const ig = await integratedGradients(model, input, { steps });
      expect(largest).toBeGreaterThan(0);
      expect(largest).toBeLessThanOrEqual(IG_BATCH_SIZE);
      for (let i = 0; i < 3; i++) expect(ig.attributions[i]).toBeCloseTo(reference[i]!, 5);
      expect(ig.completenessGap).toBeLessThan(1e-3);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      model.dispose();
    }
  });

  it('steps above MAX_IG_STEPS (10,000) is INVALID_ARGUMENT', async () => {
    expect(MAX_IG_STEPS).toBe(10_000);
    const model = buildMlp({ inputDim: 2, seed: 1 });
    try {
      await expectCode(() => integratedGradients(model, [1, 2], { steps: MAX_IG_STEPS + 1 }), 'INVALID_ARGUMENT');
    } finally {
      model.dispose();
    }
  });
});

describe('10. OnnxSession.run refuses impossible dims and throwing feeds with INVALID_INPUT', () => {
  it.skipIf(!hasOrt)('dims above 2^31 − 1 (with a 0 elsewhere) and a feeds Proxy that throws', async () => {
    const model = buildMlp({ inputDim: 4, seed: 1 });
    const session = await createOnnxSession(await layersModelToOnnx(model));
    model.dispose();
    try {
      const name = session.inputNames[0]!;
      for (const d of [1e300, 2 ** 53, 2 ** 31]) {
        await expectCode(() => session.run({ [name]: { data: new Float32Array(0), dims: [0, d] } }), 'INVALID_INPUT');
      }
      const trap = new Proxy({}, { getOwnPropertyDescriptor: () => { throw new Error('trap'); } });
      await expectCode(() => session.run(trap as never), 'INVALID_INPUT');
      const feed = { data: new Float32Array(4), get dims(): number[] { throw new Error('getter'); } };
      await expectCode(() => session.run({ [name]: feed }), 'INVALID_INPUT');
    } finally {
      await session.close();
    }
  });
});

describe('11. confusionMatrix and precisionRecallF1 take class labels, not scores', () => {
  it('a fractional label (probabilities passed as predictions) is INVALID_INPUT', async () => {
    await expectCode(() => precisionRecallF1([0, 1, 1], [0.2, 0.7, 0.9]), 'INVALID_INPUT');
    await expectCode(() => confusionMatrix([0, 1, 1], [0.2, 0.7, 0.9]), 'INVALID_INPUT');
    await expectCode(() => confusionMatrix([0, 1], [0, 1], [0, 0.5]), 'INVALID_ARGUMENT');
    await expectCode(() => precisionRecallF1([0, 1], [0, 1], { positiveLabel: 0.5 }), 'INVALID_ARGUMENT');
  });

  it('more than MAX_CLASS_LABELS distinct labels is INVALID_INPUT, fast', async () => {
    const n = MAX_CLASS_LABELS + 1;
    const y = Array.from({ length: n }, (_, i) => i);
    const t = performance.now();
    await expectCode(() => precisionRecallF1(y, y, { average: 'macro' }), 'INVALID_INPUT');
    await expectCode(() => confusionMatrix(y, y), 'INVALID_INPUT');
    await expectCode(() => confusionMatrix([0], [0], y), 'INVALID_ARGUMENT');
    expect(performance.now() - t).toBeLessThan(2000);
  });

  it('counters give the same scores as the confusion matrix', () => {
    const t = [0, 1, 2, 2, 1, 0, 3, 3, 1, 2];
    const p = [0, 2, 2, 1, 1, 0, 3, 0, 1, 2];
    const { labels, matrix } = confusionMatrix(t, p);
    const per = labels.map((_, k) => {
      const tp = matrix[k]![k]!;
      const fp = matrix.reduce((s, r, i) => s + (i === k ? 0 : r[k]!), 0);
      const fn = matrix[k]!.reduce((s, v, j) => s + (j === k ? 0 : v), 0);
      const pr = tp + fp === 0 ? 0 : tp / (tp + fp);
      const rc = tp + fn === 0 ? 0 : tp / (tp + fn);
      return { pr, rc, f1: pr + rc === 0 ? 0 : (2 * pr * rc) / (pr + rc), tp, fp, fn };
    });
    const macro = precisionRecallF1(t, p, { average: 'macro' });
    expect(macro.precision).toBeCloseTo(per.reduce((s, v) => s + v.pr, 0) / per.length, 15);
    expect(macro.recall).toBeCloseTo(per.reduce((s, v) => s + v.rc, 0) / per.length, 15);
    expect(macro.f1).toBeCloseTo(per.reduce((s, v) => s + v.f1, 0) / per.length, 15);
    expect(precisionRecallF1(t, p, { average: 'micro' }).precision).toBeCloseTo(7 / 10, 15);
    expect(precisionRecallF1(t, p, { positiveLabel: 2 })).toEqual({ precision: per[2]!.pr, recall: per[2]!.rc, f1: per[2]!.f1 });
  });
});

describe('12. thresholdForCost never returns an infinite cost', () => {
  it('costs whose totals overflow are compared in units of the largest cost; an overflowing least cost is refused', async () => {
    const y = [0, 1, 0, 1];
    const s = [0.1, 0.9, 0.2, 0.8];
    const r = thresholdForCost(y, s, { falsePositive: 1e308, falseNegative: 1e308 });
    expect(r.threshold).toBe(0.8);
    expect(r.cost).toBe(0);
    // a negative (0.4) above a positive (0.3): the least cost is one error
    const r2 = thresholdForCost([0, 1, 0, 1], [0.1, 0.9, 0.4, 0.3], { falsePositive: 1e308, falseNegative: 1e308 });
    expect(r2.cost).toBe(1e308);
    expect(Number.isFinite(r2.threshold)).toBe(true);
    await expectCode(() => thresholdForCost([0, 1, 0, 1, 1], [0.1, 0.05, 0.2, 0.01, 0.02], { falsePositive: 1.5e308, falseNegative: 1.5e308 }), 'INVALID_ARGUMENT');
  });
});

describe('13. heatmapToPng clamps heat outside [0, 1]', () => {
  it('heat 2 over a base image blends as heat 1, never past the heat colour', () => {
    const png = heatmapToPng({ data: new Float32Array([2, 1, -1, 0]), width: 4, height: 1, classIndex: 0 }, { base: new Float32Array([0, 0, 0.5, 0.5]) });
    const d = PNG.sync.read(png).data;
    expect(Array.from(d.subarray(0, 3))).toEqual(Array.from(d.subarray(4, 7)));
    expect(Array.from(d.subarray(8, 11))).toEqual(Array.from(d.subarray(12, 15)));
  });
});

describe('14. readLines counts maxLineChars without the allowance for a CR', () => {
  async function* source(text: string): AsyncGenerator<string> {
    yield text;
  }
  it('a 6-character line is too long for maxLineChars 5; with a trailing CR, 5 characters are not', async () => {
    const items = [];
    for await (const item of readLines(source('abcdef\nabcde\r\nabcde\nabcdef\r\n'), { maxLineChars: 5 })) items.push(item);
    expect(items).toEqual([
      { line: 1, tooLong: true },
      { line: 2, text: 'abcde' },
      { line: 3, text: 'abcde' },
      { line: 4, tooLong: true },
    ]);
    const csv = parseCsv('a\nabcdef\n', { maxLineChars: 5 });
    expect(JSON.stringify(csv)).toContain('too-long');
  });
});

describe('15. builders cap their depth knobs', () => {
  it('blocksPerStage above MAX_BLOCKS_PER_STAGE and lists longer than MAX_LAYER_LIST are INVALID_ARGUMENT, at once', async () => {
    const t = performance.now();
    await expectCode(() => buildResidualCnn({ inputShape: [8, 8, 1], numClasses: 2, filters: [4], blocksPerStage: MAX_BLOCKS_PER_STAGE + 1 }), 'INVALID_ARGUMENT');
    await expectCode(() => buildFusionModel({ image: { shape: [8, 8, 1], blocksPerStage: MAX_BLOCKS_PER_STAGE + 1 } }), 'INVALID_ARGUMENT');
    await expectCode(() => buildMlp({ inputDim: 2, hiddenUnits: new Array<number>(MAX_LAYER_LIST + 1).fill(1) }), 'INVALID_ARGUMENT');
    expect(performance.now() - t).toBeLessThan(2000);
  });
});

describe('16. throwing getters in metrics and stored objects are INVALID_INPUT', () => {
  it('logLoss, calibratorFromJSON and lateFusionFromJSON', async () => {
    const boom = (): never => {
      throw new Error('boom');
    };
    const probs = new Proxy([0.5], { get: (t, k) => (k === '0' ? boom() : Reflect.get(t, k)) });
    await expectCode(() => logLoss([1], probs), 'INVALID_INPUT');
    await expectCode(() => calibratorFromJSON({ kind: 'platt', get a(): number { return boom(); }, b: 0 } as never), 'INVALID_INPUT');
    const stored = fusion().toJSON();
    await expectCode(() => lateFusionFromJSON({ ...stored, get weights(): number[] { return boom(); } } as never), 'INVALID_INPUT');
    await expectCode(() => lateFusionFromJSON(new Proxy(stored, { get: boom }) as never), 'INVALID_INPUT');
  });
});
