import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildFusionModel,
  buildMlp,
  buildResidualCnn,
  calibratorFromJSON,
  checkProgressOptions,
  createOnnxSession,
  createPredictor,
  describeValue,
  diceLoss,
  expectedCalibrationError,
  fitLateFusion,
  graphModelToOnnx,
  initRuntime,
  integratedGradients,
  lateFusionFromJSON,
  loadBundle,
  learningRateAt,
  type LearningRateSchedule,
  parseCsv,
  parseTimestamp,
  precisionRecallF1,
  readCsv,
  readLines,
  registerBackendLoader,
  resolveRuntimeOptions,
  resolveTrainOptions,
  resolveWorkerCount,
  resolveWorkerPoolOptions,
  resolveWorkersOption,
  rocAuc,
  saveBundle,
  thresholdForFpr,
  validateManifest,
} from '@lepton/core';
import { expectRejected, HOSTILE, HOSTILE_JSON } from '../../../tests/support/hostile.js';

type Model = ReturnType<typeof buildMlp>;

describe('describeValue: never throws, never runs the value’s code', () => {
  it('describes primitives as JavaScript prints them, strings quoted and cut', () => {
    expect(describeValue(1.5)).toBe('1.5');
    expect(describeValue(Number.NaN)).toBe('NaN');
    expect(describeValue(-Infinity)).toBe('-Infinity');
    expect(describeValue(-0)).toBe('-0');
    expect(describeValue(true)).toBe('true');
    expect(describeValue(null)).toBe('null');
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue(12n)).toBe('12n');
    expect(describeValue(10n ** 40n)).toBe('(bigint)');
    expect(describeValue('cam-1')).toBe("'cam-1'");
    // JSON's escapes, so a value cannot forge a log line; a quote inside is escaped, a double quote is not
    expect(describeValue('a\nb\u0000')).toBe("'a\\nb\\u0000'");
    expect(describeValue(`it's "x" \\`)).toBe(`'it\\'s "x" \\\\'`);
    expect(describeValue('x'.repeat(100), 4)).toBe("'xxxx…' (100 characters)");
    // a surrogate pair is never cut in half
    expect(describeValue('ab😀', 3)).toBe("'ab…' (4 characters)");
    expect(describeValue('x'.repeat(100), Number.NaN)).toBe(`'${'x'.repeat(40)}…' (100 characters)`);
  });

  it('describes symbols, functions, arrays and objects by kind', () => {
    expect(describeValue(Symbol('id'))).toBe('Symbol(id)');
    expect(describeValue(Symbol())).toBe('Symbol()');
    expect(describeValue(Symbol('y'.repeat(100)), 3)).toBe('Symbol(yyy…)');
    expect(describeValue(() => 1)).toBe('(function)');
    expect(describeValue([1, 2, 3])).toBe('(array of 3)');
    expect(describeValue(new Date(0))).toBe('(object)');
  });

  it('a 10 MB string gives a short description', () => {
    const d = describeValue('z'.repeat(10 * 1024 * 1024));
    expect(d.length).toBeLessThan(80);
    expect(d).toContain('(10485760 characters)');
  });

  it('every hostile kind: a description, no user code run', () => {
    for (const [name, value] of HOSTILE) expect(typeof describeValue(value), name).toBe('string');
    expect(describeValue(Object.create(null))).toBe('(object)');
    expect(describeValue({ toString: '' })).toBe('(object)');
    const touched: string[] = [];
    const spy = {
      toString: () => (touched.push('toString'), 'x'),
      valueOf: () => (touched.push('valueOf'), 1),
      [Symbol.toPrimitive]: () => (touched.push('toPrimitive'), 'x'),
      get [Symbol.toStringTag]() {
        touched.push('toStringTag');
        return 'x';
      },
    };
    expect(describeValue(spy)).toBe('(object)');
    expect(touched).toEqual([]);
  });

  it('a Proxy whose every trap throws, a proxied array and a revoked Proxy', () => {
    const traps: string[] = [];
    const handler = new Proxy({}, {
      get: (_, trap) => () => {
        traps.push(String(trap));
        throw new Error(`trap ${String(trap)}`);
      },
    }) as ProxyHandler<object>;
    expect(describeValue(new Proxy({}, handler))).toBe('(proxy)');
    expect(describeValue(new Proxy([1, 2], handler))).toBe('(proxy)');
    expect(describeValue(new Proxy(() => 1, handler))).toBe('(function)');
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(describeValue(proxy)).toBe('(proxy)');
    const revocableArray = Proxy.revocable([1], {});
    revocableArray.revoke();
    expect(describeValue(revocableArray.proxy)).toBe('(proxy)');
    expect(traps).toEqual([]);
  });
});

describe('core entry points with hostile values: a LeptonError, never a TypeError', () => {
  let model: Model;
  beforeAll(async () => {
    await initRuntime({ backend: 'cpu' }, {});
    model = buildMlp({ inputDim: 3 });
  });

  it('runtime: registerBackendLoader, resolveRuntimeOptions', async () => {
    await expectRejected('registerBackendLoader(name)', (v) => registerBackendLoader(v as 'cpu', async () => ({ ok: false, device: '' }), 1), 'INVALID_ARGUMENT');
    await expectRejected('registerBackendLoader(priority)', (v) => registerBackendLoader('cpu', async () => ({ ok: false, device: '' }), v as number), 'INVALID_ARGUMENT');
    await expectRejected('resolveRuntimeOptions(backend)', (v) => resolveRuntimeOptions({ backend: v as 'cpu' }, {}), 'INVALID_ARGUMENT');
  });

  it('metrics: thresholdForFpr, precisionRecallF1, rocAuc labels, diceLoss, expectedCalibrationError', async () => {
    await expectRejected('thresholdForFpr(targetFpr)', (v) => thresholdForFpr([0, 1], [0.2, 0.8], v as number), 'INVALID_ARGUMENT');
    await expectRejected('precisionRecallF1(average)', (v) => precisionRecallF1([0, 1], [0, 1], { average: v as 'micro' }), 'INVALID_ARGUMENT');
    await expectRejected('rocAuc(yTrue[0])', (v) => rocAuc([v as number, 1, 0], [0.2, 0.8, 0.1]), 'INVALID_INPUT');
    await expectRejected('diceLoss(smooth)', (v) => diceLoss(v as number), 'INVALID_ARGUMENT');
    await expectRejected('expectedCalibrationError(bins)', (v) => expectedCalibrationError([0, 1], [0.2, 0.8], v as number), 'INVALID_ARGUMENT');
  });

  it('workers and pools: resolveWorkersOption, resolveWorkerCount, resolveWorkerPoolOptions', async () => {
    await expectRejected('resolveWorkersOption', (v) => resolveWorkersOption(v, 'Test.load'), 'INVALID_ARGUMENT');
    await expectRejected('resolveWorkerCount(workers)', (v) => resolveWorkerCount(v as number), 'INVALID_ARGUMENT');
    await expectRejected('resolveWorkerCount(memory)', (v) => resolveWorkerCount('auto', v as number), 'INVALID_ARGUMENT');
    await expectRejected('resolveWorkerPoolOptions(module)', (v) => resolveWorkerPoolOptions({ module: v as string }, {}), 'INVALID_ARGUMENT');
    const module = new URL(import.meta.url);
    for (const key of ['maxQueue', 'pipeline', 'backend'] as const) {
      await expectRejected(`resolveWorkerPoolOptions(${key})`, (v) => resolveWorkerPoolOptions({ module, workers: 1, [key]: v }, {}), 'INVALID_ARGUMENT');
    }
  });

  it('createPredictor options and createOnnxSession threads', async () => {
    for (const key of ['maxBatchSize', 'maxWaitMs', 'maxQueue', 'engine', 'workers'] as const) {
      await expectRejected(`createPredictor(${key})`, (v) => createPredictor(model, { [key]: v }), 'INVALID_ARGUMENT');
    }
    await expectRejected('createOnnxSession(threads)', (v) => createOnnxSession(new Uint8Array([1]), { threads: v as number }), 'INVALID_ARGUMENT');
  });

  it('model builders: buildMlp, buildResidualCnn, buildFusionModel', async () => {
    await expectRejected('buildMlp(inputDim)', (v) => buildMlp({ inputDim: v as number }), 'INVALID_ARGUMENT');
    await expectRejected('buildMlp(dropout)', (v) => buildMlp({ inputDim: 2, dropout: v as number }), 'INVALID_ARGUMENT');
    await expectRejected('buildResidualCnn(pooling)', (v) => buildResidualCnn({ inputShape: [8, 8, 1], numClasses: 2, pooling: v as 'max' }), 'INVALID_ARGUMENT');
    await expectRejected('buildFusionModel(task)', (v) => buildFusionModel({ tabular: { features: 2 }, task: v as 'binary' }), 'INVALID_ARGUMENT');
    await expectRejected('buildFusionModel(image.pooling)', (v) => buildFusionModel({ image: { shape: [8, 8, 1], pooling: v as 'max' } }), 'INVALID_ARGUMENT');
    await expectRejected('buildFusionModel(sequence.kind)', (v) => buildFusionModel({ sequence: { kind: v as 'gru', timesteps: 2, features: 1 } }), 'INVALID_ARGUMENT');
  });

  it('training: resolveTrainOptions, learningRateAt with a schedule returning anything, checkProgressOptions', async () => {
    for (const key of ['epochs', 'batchSize', 'learningRate', 'validationSplit', 'batchNormSamples'] as const) {
      await expectRejected(`resolveTrainOptions(${key})`, (v) => resolveTrainOptions({ [key]: v }, false), 'INVALID_ARGUMENT');
    }
    await expectRejected('learningRateAt(schedule result)', (v) => learningRateAt(() => v as number, 0, 1, 0.1), 'INVALID_ARGUMENT');
    await expectRejected('learningRateAt(schedule)', (v) => learningRateAt(v as LearningRateSchedule, 0, 1, 0.1), 'INVALID_ARGUMENT');
    await expectRejected('learningRateAt(schedule.type)', (v) => learningRateAt({ type: v } as unknown as LearningRateSchedule, 0, 1, 0.1), 'INVALID_ARGUMENT');
    for (const [type, field] of [['step', 'factor'], ['step', 'every'], ['exponential', 'decay'], ['cosine', 'minLearningRate']]) {
      const schedule = (v: unknown): LearningRateSchedule => ({ type, every: 2, factor: 0.5, decay: 0.9, [field!]: v }) as unknown as LearningRateSchedule;
      await expectRejected(`learningRateAt(${type}.${field})`, (v) => learningRateAt(schedule(v), 1, 4, 0.1), 'INVALID_ARGUMENT', [...HOSTILE, ['NaN', NaN]]);
    }
    // an unknown type used to run as cosine annealing
    expect(() => learningRateAt({ type: 'linear' } as unknown as LearningRateSchedule, 1, 4, 0.1)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(learningRateAt({ type: 'cosine' }, 0, 4, 0.1)).toBeCloseTo(0.1, 12);
    await expectRejected('checkProgressOptions(onProgress)', (v) => checkProgressOptions({ onProgress: v as () => void }, 'train'), 'INVALID_ARGUMENT');
  });

  it('late fusion: options, a score, stored JSON', async () => {
    const scores = { a: [0.9, 0.2, 0.7, 0.1], b: [0.6, 0.3, 0.8, 0.2] };
    for (const key of ['method', 'input', 'l2', 'missing'] as const) {
      await expectRejected(`fitLateFusion(${key})`, (v) => fitLateFusion(scores, [1, 0, 1, 0], { [key]: v }), 'INVALID_ARGUMENT');
    }
    await expectRejected('fitLateFusion(score)', (v) => fitLateFusion({ a: [v as number, 0.2, 0.7, 0.1], b: scores.b }, [1, 0, 1, 0]), 'INVALID_INPUT');
    await expectRejected('fitLateFusion(scores)', (v) => fitLateFusion(v as typeof scores, [1, 0, 1, 0]), ['INVALID_INPUT', 'SHAPE_MISMATCH']);
    await expectRejected('fitLateFusion(column)', (v) => fitLateFusion({ a: v as number[], b: scores.b }, [1, 0, 1, 0]), ['INVALID_INPUT', 'SHAPE_MISMATCH']);
    await expectRejected('fitLateFusion(column.length)', (v) => fitLateFusion({ a: { length: v } as unknown as number[], b: scores.b }, [1, 0, 1, 0]), 'INVALID_INPUT', HOSTILE);
    await expectRejected('fitLateFusion(labels)', (v) => fitLateFusion(scores, v as number[]), ['INVALID_INPUT', 'SHAPE_MISMATCH']);
    await expectRejected('fitLateFusion(names)', (v) => fitLateFusion([scores.a, scores.b], [1, 0, 1, 0], { names: v as string[] }), ['INVALID_ARGUMENT', 'SHAPE_MISMATCH']);
    await expectRejected('lateFusionFromJSON', (v) => lateFusionFromJSON(v as never), 'INVALID_INPUT');
    await expectRejected('calibratorFromJSON', (v) => calibratorFromJSON(v as never), 'INVALID_INPUT');
  });

  it('explanations and input: integratedGradients steps, readLines/parseCsv, parseTimestamp', async () => {
    await expectRejected('integratedGradients(steps)', (v) => integratedGradients(model, [1, 2, 3], { steps: v as number }), 'INVALID_ARGUMENT');
    await expectRejected('parseCsv(text)', (v) => parseCsv(v as string), 'INVALID_ARGUMENT', HOSTILE);
    await expectRejected('readLines(source)', async (v) => { for await (const _ of readLines(v as string)) break; }, 'INVALID_ARGUMENT', HOSTILE);
    await expectRejected('readLines(what)', async (v) => { for await (const _ of readLines(42 as unknown as string, { what: v as string })) break; }, 'INVALID_ARGUMENT', HOSTILE);
    // A source that yields something other than text or bytes: the read error, not the decoder's TypeError.
    async function* yields(v: unknown): AsyncGenerator<unknown> {
      yield 'a,b\n';
      yield v;
    }
    const chunks = [...HOSTILE, ['null', null], ['5', 5], ['{}', {}], ['[1, 2]', [1, 2]]] as const;
    await expectRejected('readLines(chunk)', async (v) => { for await (const _ of readLines(yields(v) as AsyncIterable<string>)) void _; }, 'READ_FAILED', chunks);
    await expectRejected('readCsv(chunk)', async (v) => { for await (const _ of readCsv(yields(v) as AsyncIterable<string>)) void _; }, 'READ_FAILED', chunks);
    for (const [name, value] of HOSTILE) expect(parseTimestamp(value), name).toBeUndefined();
  });

  it('bundles: saveBundle name and version, validateManifest fields from JSON', async () => {
    // Refused before anything is written (a long name is a valid one, so HOSTILE only there).
    const dir = join(tmpdir(), `lepton-hostile-${process.pid}`);
    await expectRejected('saveBundle(name)', (v) => saveBundle(model, dir, { name: v as string, version: '1.0.0' }), 'INVALID_ARGUMENT', HOSTILE);
    await expectRejected('saveBundle(version)', (v) => saveBundle(model, dir, { name: 'm', version: v as string }), 'INVALID_ARGUMENT');
    // the model, the directory (a long name is a valid path), the options and the metadata
    const ok = { name: 'm', version: '1.0.0' };
    await expectRejected('saveBundle(model)', (v) => saveBundle(v as typeof model, dir, ok), 'INVALID_ARGUMENT');
    await expectRejected('saveBundle(dir)', (v) => saveBundle(model, v as string, ok), 'INVALID_ARGUMENT', HOSTILE);
    await expectRejected('saveBundle(options)', (v) => saveBundle(model, dir, v as typeof ok), 'INVALID_ARGUMENT', HOSTILE);
    await expectRejected('saveBundle(labels)', (v) => saveBundle(model, dir, { ...ok, labels: v as string[] }), 'INVALID_ARGUMENT');
    await expectRejected('saveBundle(labels[0])', (v) => saveBundle(model, dir, { ...ok, labels: [v as string, 'b'] }), 'INVALID_ARGUMENT', HOSTILE);
    await expectRejected('saveBundle(description)', (v) => saveBundle(model, dir, { ...ok, description: v as string }), 'INVALID_ARGUMENT', HOSTILE);
    await expectRejected('saveBundle(metrics.auc)', (v) => saveBundle(model, dir, { ...ok, metrics: { auc: v as number } }), 'INVALID_ARGUMENT', [...HOSTILE, ['NaN', NaN], ['Infinity', Infinity]]);
    // an undefined metric is left out, as JSON leaves it out (the bundle is written)
    const kept = await mkdtemp(join(tmpdir(), 'lepton-metric-'));
    try {
      expect((await saveBundle(model, kept, { ...ok, metrics: { auc: undefined as unknown as number, f1: 0.5 } })).metrics).toEqual({ f1: 0.5 });
    } finally {
      await rm(kept, { recursive: true, force: true });
    }
    await expectRejected('saveBundle(provenance.seed)', (v) => saveBundle(model, dir, { ...ok, provenance: { seed: v } }), 'INVALID_ARGUMENT', [['BigInt', 12n]]);
    await expectRejected('loadBundle(dir)', (v) => loadBundle(v as string), 'INVALID_ARGUMENT', HOSTILE);
    await expectRejected('loadBundle(options)', (v) => loadBundle(dir, v as object), ['INVALID_ARGUMENT', 'BUNDLE_NOT_FOUND'], HOSTILE); // objects are options: then the folder is missing
    expect(existsSync(dir)).toBe(false);
    const manifest = (over: Record<string, unknown>): unknown => ({
      format: 'lepton-bundle', formatVersion: 1, name: 'm', version: '1.0.0', task: 'binary',
      inputs: [{ name: 'x', shape: [null, 3], dtype: 'float32' }], outputs: [{ name: 'y', shape: [null, 1], dtype: 'float32' }],
      files: {}, ...over,
    });
    for (const field of ['format', 'formatVersion', 'version', 'task', 'name', 'files', 'inputs']) {
      await expectRejected(`validateManifest(${field})`, (v) => validateManifest('/b', manifest({ [field]: v })), 'BUNDLE_INVALID', [...HOSTILE_JSON, ['long', 'v'.repeat(1e6)]]);
    }
  });

  it('loadBundle expectations, a predictor input, early-stopping monitor, late-fusion names, graph weight dtypes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lepton-hostile-'));
    try {
      await saveBundle(model, dir, { name: 'm', version: '1.0.0' });
      await expectRejected('loadBundle(expectTask)', (v) => loadBundle(dir, { expectTask: v as 'binary' }), 'BUNDLE_INCOMPATIBLE');
      await expectRejected('loadBundle(expectInputs[0].dtype)', (v) => loadBundle(dir, { expectInputs: [{ shape: [null, 3], dtype: v as 'float32' }] }), 'BUNDLE_INCOMPATIBLE');
      await expectRejected('loadBundle(expectInputs[0].shape[1])', (v) => loadBundle(dir, { expectInputs: [{ shape: [null, v as number] }] }), 'BUNDLE_INCOMPATIBLE');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const predictor = await createPredictor(model);
    try {
      await expectRejected('predictor.predict(input with a hostile length)', (v) => predictor.predict({ length: v } as unknown as number[]), 'INVALID_INPUT');
      await expectRejected('predictor.predict(input)', (v) => predictor.predict(v as number[]), 'INVALID_INPUT');
    } finally {
      await predictor.close();
    }
    await expectRejected('resolveTrainOptions(earlyStopping.monitor)', (v) => resolveTrainOptions({ earlyStopping: { monitor: v as 'loss' } }, true), 'INVALID_ARGUMENT', HOSTILE);
    await expectRejected('fitLateFusion(names)', (v) => fitLateFusion([[0.9, 0.2], [0.6, 0.3]], [1, 0], { names: [v as string, v as string] }), ['INVALID_ARGUMENT', 'INVALID_INPUT'], HOSTILE);
    // names are checked before the scores now: a hostile name is refused as an argument, before any score is read
    await expectRejected('fitLateFusion(names) with a bad score', (v) => fitLateFusion([[0.9, 2], [0.6, 0.3]], [1, 0], { names: [v as string, 'b'] }), 'INVALID_ARGUMENT', HOSTILE);
    const spec = (dtype: unknown): object => ({ modelTopology: { node: [{ name: 'x', op: 'Placeholder', attr: {} }] }, weightSpecs: [{ name: 'w', shape: [1], dtype }], weightData: new Uint8Array(4) });
    await expectRejected('graphModelToOnnx(weightSpecs[0].dtype)', (v) => graphModelToOnnx(spec(v) as never), 'INVALID_MODEL', HOSTILE_JSON);
    await expectRejected('graphModelToOnnx(weightSpecs[0].shape)', (v) => graphModelToOnnx({ ...spec('float32'), weightSpecs: [{ name: 'w', shape: [v], dtype: 'float32' }] } as never), 'INVALID_MODEL', HOSTILE_JSON);
  });
});
