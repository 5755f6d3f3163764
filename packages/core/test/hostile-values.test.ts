import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  accuracy,
  averagePrecision,
  brierScore,
  buildDenseAutoencoder,
  buildFusionModel,
  buildLstmAutoencoder,
  buildMlp,
  buildResidualCnn,
  buildSequenceModel,
  buildUnet,
  bundleDigest,
  calibratorFromJSON,
  checkProgressOptions,
  confusionMatrix,
  createOnnxSession,
  createPredictor,
  cudaDeviceVisible,
  describeValue,
  diceCoefficient,
  diceLoss,
  ensure,
  erfc,
  expectedCalibrationError,
  fitIsotonic,
  fitLateFusion,
  fitLogisticRegression,
  fitPlatt,
  foldBatchNorm,
  gpuErrorScope,
  gradCam,
  graphModelToOnnx,
  heatmapToPng,
  initRuntime,
  integratedGradients,
  isSemver,
  isSoftwareAdapter,
  ksStatistic,
  lateFusionFromJSON,
  layersModelToOnnx,
  LeptonError,
  loadBundle,
  learningRateAt,
  type LearningRateSchedule,
  logLoss,
  meanAbsoluteError,
  missingKernels,
  ModelWorkers,
  modelTask,
  normalCdf,
  parseCsv,
  parseTimestamp,
  planBackend,
  populationStabilityIndex,
  precisionRecallCurve,
  precisionRecallF1,
  predictBatched,
  progressBar,
  progressReporter,
  r2Score,
  readCsv,
  readLines,
  registerBackendLoader,
  requiredKernels,
  resolveRuntimeOptions,
  resolveTrainOptions,
  resolveWorkerCount,
  resolveWorkerPoolOptions,
  resolveWorkersOption,
  rocAuc,
  rocCurve,
  rootMeanSquaredError,
  saliencyMap,
  saveBundle,
  seededRandom,
  shouldDrawBar,
  sigmoid,
  stageListeners,
  taskMetrics,
  tf,
  thresholdCurve,
  thresholdForCost,
  thresholdForFpr,
  thresholdForMaxF1,
  train,
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

// Values that are numbers to a sloppy check (`'1'` converts, `null` is 0, NaN compares false) or break one (a Symbol).
const NOT_NUMBERS: ReadonlyArray<readonly [string, unknown]> = [
  ['NaN', Number.NaN],
  ['undefined (a hole)', undefined],
  ['null', null],
  ["'1'", '1'],
  ['true', true],
  ['{}', {}],
  ['Symbol()', Symbol('s')],
  ['BigInt', 12n],
];
const NOT_ARRAYS: ReadonlyArray<readonly [string, unknown]> = [
  ...HOSTILE,
  ['null', null],
  ['undefined', undefined],
  ['5', 5],
  ["'01'", '01'],
  ['{ length: 1e308 }', { length: 1e308 }],
  ['{ length: -1 }', { length: -1 }],
  ['a length getter that throws', { get length(): number { throw new Error('length'); } }],
];
const at = (values: readonly number[], i: number, v: unknown): number[] => values.map((x, j) => (j === i ? v : x)) as number[];
const tensors = (): number => tf.memory().numTensors;

describe('core sweep, part 2: the entry points the first sweep left out', () => {
  let model: Model;
  beforeAll(async () => {
    await initRuntime({ backend: 'cpu' }, {});
    model = buildMlp({ inputDim: 3, seed: 1 });
  });

  it('metrics: arrays and their values are checked, never NaN out (NaN, null, a string or a hole used to compute)', async () => {
    const y = [0, 1, 1, 0];
    const p = [0.1, 0.8, 0.6, 0.3];
    const ranking = { rocAuc, rocCurve, averagePrecision, precisionRecallCurve, ksStatistic, thresholdCurve, thresholdForMaxF1, logLoss, brierScore, expectedCalibrationError };
    for (const [name, fn] of Object.entries(ranking) as Array<[string, (a: unknown, b: unknown) => unknown]>) {
      await expectRejected(`${name}(scores)`, (v) => fn(y, v), ['INVALID_INPUT', 'SHAPE_MISMATCH'], NOT_ARRAYS);
      await expectRejected(`${name}(yTrue)`, (v) => fn(v, p), ['INVALID_INPUT', 'SHAPE_MISMATCH'], NOT_ARRAYS);
      await expectRejected(`${name}(scores[0])`, (v) => fn(y, at(p, 0, v)), 'INVALID_INPUT', NOT_NUMBERS);
    }
    const regression = { meanAbsoluteError, rootMeanSquaredError, r2Score, accuracy, diceCoefficient, confusionMatrix } as Record<string, (a: unknown, b: unknown) => unknown>;
    for (const [name, fn] of Object.entries(regression)) {
      await expectRejected(`${name}(yPred[0])`, (v) => fn(y, at(y, 0, v)), 'INVALID_INPUT', [...NOT_NUMBERS, ['Infinity', Infinity]]);
      await expectRejected(`${name}(yTrue[0])`, (v) => fn(at(y, 0, v), y), 'INVALID_INPUT', [...NOT_NUMBERS, ['Infinity', Infinity]]);
    }
    // probabilities must be probabilities; logLoss rows too
    for (const fn of [logLoss, brierScore, expectedCalibrationError] as Array<(a: unknown, b: unknown) => unknown>) {
      await expectRejected('probability', (v) => fn(y, at(p, 1, v)), 'INVALID_INPUT', [['1.5', 1.5], ['-0.1', -0.1], ['Infinity', Infinity]]);
    }
    await expectRejected('logLoss(row)', (v) => logLoss([0, 1], [[0.5, 0.5], v as number[]]), 'INVALID_INPUT', [...NOT_ARRAYS, ['[0, 0]', [0, 0]], ['[0.5, NaN]', [0.5, Number.NaN]], ['[1, -1]', [1, -1]], ['[1, Infinity]', [1, Infinity]], ['[1e308, 1e308]', [1e308, 1e308]]]);
    // multiclass rows are normalised (as scikit-learn does), so weights above 1 are a row: 0.3269 as before the sweep
    expect(logLoss([0, 1, 2], [[2, 1, 1], [1, 3, 0], [0, 0, 5]])).toBeCloseTo((Math.log(2) - Math.log(0.75)) / 3, 12);
    await expectRejected('thresholdForFpr(scores[0])', (v) => thresholdForFpr(y, at(p, 0, v), 0.5), 'INVALID_INPUT', NOT_NUMBERS);
    // ±Infinity ranks: still a number
    expect(rocAuc([0, 1, 0, 1], [-Infinity, Infinity, 0, Infinity])).toBe(1);
    // a getter that throws is a typed error with the getter's error as cause
    const trap = [0.1, 0.2];
    Object.defineProperty(trap, 1, { get: () => { throw new Error('getter'); } });
    expect(() => rocAuc([0, 1], trap)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', cause: expect.objectContaining({ message: 'getter' }) }));
  });

  it('metrics: options, thresholds and costs (a NaN threshold made two masks agree perfectly)', async () => {
    const y = [0, 1, 1, 0];
    const p = [0.1, 0.8, 0.6, 0.3];
    await expectRejected('diceCoefficient(threshold)', (v) => diceCoefficient([1, 0], [1, 0], v as number), 'INVALID_ARGUMENT', [...NOT_NUMBERS.filter(([n]) => !n.startsWith('undefined')), ['Infinity', Infinity]]);
    await expectRejected('precisionRecallF1(positiveLabel)', (v) => precisionRecallF1(y, y, { positiveLabel: v as number }), 'INVALID_ARGUMENT', NOT_NUMBERS.filter(([n]) => !n.startsWith('undefined') && n !== 'null'));
    await expectRejected('precisionRecallF1(options)', (v) => precisionRecallF1(y, y, v as object), 'INVALID_ARGUMENT', [...HOSTILE.filter(([n]) => n !== 'Object.create(null)' && !n.startsWith('{')), ['null', null], ['5', 5]]);
    await expectRejected('confusionMatrix(labels)', (v) => confusionMatrix(y, y, v as number[]), 'INVALID_ARGUMENT', [...NOT_ARRAYS.filter(([n]) => n !== 'undefined'), ['[0, 0]', [0, 0]], ['[0, NaN]', [0, Number.NaN]]]);
    await expectRejected('thresholdForCost(costs)', (v) => thresholdForCost(y, p, v as never), 'INVALID_ARGUMENT', [['undefined', undefined], ['null', null], ['5', 5], ['Symbol()', Symbol('c')]]);
    for (const key of ['falsePositive', 'falseNegative', 'truePositive']) {
      const values = key === 'truePositive' ? NOT_NUMBERS.filter(([n]) => !n.startsWith('undefined') && n !== 'null') : NOT_NUMBERS;
      await expectRejected(`thresholdForCost(${key})`, (v) => thresholdForCost(y, p, { falsePositive: 1, falseNegative: 1, [key]: v }), 'INVALID_ARGUMENT', [...values, ['-1', -1], ['Infinity', Infinity]]);
    }
    await expectRejected('populationStabilityIndex(bins)', (v) => populationStabilityIndex(p, p, v as number), 'INVALID_ARGUMENT', [...NOT_NUMBERS.filter(([n]) => !n.startsWith('undefined')), ['0', 0], ['1.5', 1.5], ['1e308', 1e308]]);
    await expectRejected('populationStabilityIndex(actual[0])', (v) => populationStabilityIndex(p, at(p, 0, v)), 'INVALID_INPUT', NOT_NUMBERS);
    await expectRejected('populationStabilityIndex(expected)', (v) => populationStabilityIndex(v as number[], p), 'INVALID_INPUT', NOT_ARRAYS);
  });

  it('metrics: huge bin counts and huge values give the identity result, at once (1e15 bins looped for ever)', () => {
    const y = [0, 1, 1, 0, 1];
    const p = [0.1, 0.8, 0.6, 0.3, 0.55];
    const t0 = performance.now();
    // more bins than values: every value its own bin, whatever the count
    const few = populationStabilityIndex(p, [0.2, 0.7, 0.6], p.length + 1);
    expect(populationStabilityIndex(p, [0.2, 0.7, 0.6], 1e15)).toEqual(few);
    expect(populationStabilityIndex(p, [0.2, 0.7, 0.6], 2 ** 53 - 1)).toEqual(few);
    // expected calibration error: only the bins that hold a sample exist (a 2^40-bin array was a RangeError)
    expect(expectedCalibrationError(y, p, 2 ** 40)).toBeCloseTo(expectedCalibrationError(y, p, 1e9), 12);
    expect(performance.now() - t0).toBeLessThan(1000);
    // sums of squares of finite values overflowed to ∞ / ∞ = NaN
    expect(r2Score([1e308, 1, 1, 0], [0.1, 0.8, 0.6, 0.3])).toBeCloseTo(-1 / 3, 12);
    // the mean of two 1.5e308 overflowed to Infinity, so R² read 1 − finite/∞ = 1; scaled, it is 0 (constant truth, errors)
    expect(r2Score([1.5e308, 1.5e308], [1.5e308, 1.5e308 - 1e293])).toBe(0);
    expect(rootMeanSquaredError([1e200], [-1e200])).toBeCloseTo(2e200, -190);
    expect(meanAbsoluteError([1e308, 1e308], [-1e308, 0])).toBe(1.5e308);
    // erfc(x·16) overflowed past 1e307: NaN
    expect(erfc(1e308)).toBe(0);
    expect(erfc(-1e308)).toBe(2);
    expect(normalCdf(1e308)).toBe(1);
    expect(normalCdf(-Infinity)).toBe(0);
  });

  it('calibration: fits, predictions and stored calibrators (a NaN knot or score predicted NaN)', async () => {
    await expectRejected('fitPlatt(scores[0])', (v) => fitPlatt(at([0.1, 0.4, 0.35, 0.8], 0, v), [0, 0, 1, 1]), 'INVALID_INPUT', [...NOT_NUMBERS, ['Infinity', Infinity]]);
    await expectRejected('fitIsotonic(scores[0])', (v) => fitIsotonic(at([0.1, 0.4, 0.35, 0.8], 0, v), [0, 0, 1, 1]), 'INVALID_INPUT', NOT_NUMBERS);
    await expectRejected('fitPlatt(scores)', (v) => fitPlatt(v as number[], [0, 1]), ['INVALID_INPUT', 'SHAPE_MISMATCH'], NOT_ARRAYS);
    const platt = fitPlatt([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]);
    const iso = fitIsotonic([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]);
    for (const cal of [platt, iso]) {
      await expectRejected(`${cal.kind}.predict`, (v) => cal.predict(v as number), 'INVALID_INPUT', NOT_NUMBERS);
      expect(cal.predict(Infinity)).toBeGreaterThanOrEqual(0);
    }
    const stored = (x: unknown[], y: unknown[]): unknown => ({ kind: 'isotonic', x, y });
    await expectRejected('calibratorFromJSON(isotonic x)', (v) => calibratorFromJSON(stored([v, 1], [0, 1]) as never), 'INVALID_INPUT', [...NOT_NUMBERS, ['2 (after 1: unordered)', 2], ['-Infinity', -Infinity]]);
    await expectRejected('calibratorFromJSON(isotonic y)', (v) => calibratorFromJSON(stored([0, 1], [v, 1]) as never), 'INVALID_INPUT', [...NOT_NUMBERS, ['1.5', 1.5], ['-1', -1]]);
    await expectRejected('calibratorFromJSON(isotonic y decreasing)', () => calibratorFromJSON(stored([0, 1], [1, 0]) as never), 'INVALID_INPUT', [['-', 0]]);
  });

  it('numeric: sigmoid, seededRandom and fitLogisticRegression options', async () => {
    await expectRejected('sigmoid', (v) => sigmoid(v as number), 'INVALID_ARGUMENT', NOT_NUMBERS);
    expect(sigmoid(Infinity)).toBe(1);
    expect(sigmoid(-Infinity)).toBe(0);
    // NaN, ±Infinity and objects all seeded as 0: one stream for every "seed"
    await expectRejected('seededRandom', (v) => seededRandom(v as number), 'INVALID_ARGUMENT', [...NOT_NUMBERS, ['Infinity', Infinity]]);
    expect(seededRandom(1.5)()).toBe(seededRandom(1)());
    await expectRejected('fitLogisticRegression(options)', (v) => fitLogisticRegression([[0], [1]], [0, 1], v as object), 'INVALID_ARGUMENT', [['null', null], ['5', 5], ['Symbol()', Symbol('o')], ['[]', []]]);
  });

  it('model builders: options, lists, tasks, flags, names and seeds (an unknown task built a linear output)', async () => {
    const builders: Array<[string, (o: never) => Model, Record<string, unknown>]> = [
      ['buildMlp', buildMlp, { inputDim: 2, hiddenUnits: [2] }],
      ['buildResidualCnn', buildResidualCnn, { inputShape: [4, 4, 1], numClasses: 2, filters: [2] }],
      ['buildUnet', buildUnet, { inputShape: [4, 4, 1], depth: 1, baseFilters: 2 }],
      ['buildSequenceModel', buildSequenceModel, { kind: 'gru', timesteps: 2, features: 1, units: [2] }],
      ['buildDenseAutoencoder', buildDenseAutoencoder, { inputDim: 2, hiddenUnits: [2], latentDim: 1 }],
      ['buildLstmAutoencoder', buildLstmAutoencoder, { timesteps: 2, features: 1, units: 2, latentDim: 1 }],
      ['buildFusionModel', buildFusionModel, { tabular: { features: 2, units: [2] }, headUnits: [2] }],
    ];
    const before = tensors();
    for (const [name, build, base] of builders) {
      await expectRejected(`${name}(options)`, (v) => build(v as never), 'INVALID_ARGUMENT', [...NOT_ARRAYS.filter(([n]) => !n.includes('length')), ['[]', []]]);
      await expectRejected(`${name}(seed)`, (v) => build({ ...base, seed: v } as never), 'INVALID_ARGUMENT', [...NOT_NUMBERS.filter(([n]) => !n.startsWith('undefined') && n !== 'null'), ['Infinity', Infinity]]);
      await expectRejected(`${name}(name)`, (v) => build({ ...base, name: v } as never), 'INVALID_ARGUMENT', [...NOT_NUMBERS.filter(([n]) => !n.startsWith('undefined') && n !== 'null' && n !== "'1'"), ['empty', '']]);
    }
    for (const [name, key, build, base] of [
      ['buildMlp', 'hiddenUnits', buildMlp, { inputDim: 2 }],
      ['buildResidualCnn', 'filters', buildResidualCnn, { inputShape: [4, 4, 1], numClasses: 2 }],
      ['buildSequenceModel', 'units', buildSequenceModel, { kind: 'tcn', timesteps: 2, features: 1 }],
      ['buildDenseAutoencoder', 'hiddenUnits', buildDenseAutoencoder, { inputDim: 2 }],
      ['buildFusionModel', 'headUnits', buildFusionModel, { tabular: { features: 2 } }],
    ] as const) {
      await expectRejected(`${name}(${key})`, (v) => (build as (o: object) => Model)({ ...base, [key]: v }), 'INVALID_ARGUMENT', [...NOT_ARRAYS.filter(([n]) => n !== 'undefined' && n !== 'null'), ['[1.5]', [1.5]], ['[, 2]', [, 2]], ['[2 ** 31]', [2 ** 31]]]);
    }
    await expectRejected('buildMlp(task)', (v) => buildMlp({ inputDim: 2, task: v as 'binary' }), 'INVALID_ARGUMENT', [...HOSTILE, ['Binary', 'Binary'], ['5', 5]]);
    await expectRejected('buildMlp(batchNorm)', (v) => buildMlp({ inputDim: 2, batchNorm: v as boolean }), 'INVALID_ARGUMENT', [["'false'", 'false'], ['1', 1]]);
    await expectRejected('buildSequenceModel(kind)', (v) => buildSequenceModel({ kind: v as 'tcn', timesteps: 2, features: 1 }), 'INVALID_ARGUMENT', [...HOSTILE, ['undefined', undefined], ['null (built a TCN)', null], ['-1', -1], ['{}', {}]]);
    await expectRejected('buildSequenceModel(task)', (v) => buildSequenceModel({ kind: 'gru', timesteps: 2, features: 1, task: v as 'binary' }), 'INVALID_ARGUMENT', [...HOSTILE, ['abc', 'abc']]);
    await expectRejected('buildResidualCnn(inputShape)', (v) => buildResidualCnn({ inputShape: v as [number, number, number], numClasses: 2 }), 'INVALID_ARGUMENT', [...NOT_ARRAYS, ['[]', []], ['[4, 4]', [4, 4]], ['[4, 4, 1e308]', [4, 4, 1e308]]]);
    await expectRejected('buildUnet(inputShape)', (v) => buildUnet({ inputShape: v as [number, number, number] }), 'INVALID_ARGUMENT', [...NOT_ARRAYS, ['[, 8, 1]', [, 8, 1]]]);
    for (const branch of ['image', 'embedding', 'tabular', 'sequence']) {
      await expectRejected(`buildFusionModel(${branch})`, (v) => buildFusionModel({ tabular: { features: 2 }, [branch]: v }), 'INVALID_ARGUMENT', [...HOSTILE.filter(([n]) => n === 'Symbol()' || n === 'BigInt'), ['false', false], ['5', 5], ['[]', []]]);
    }
    // every option is checked before a layer is built: a bad sequence kind left the tabular branch's weights behind
    await expectRejected('buildFusionModel(sequence.kind)', (v) => buildFusionModel({ tabular: { features: 2 }, embedding: { dim: 2 }, sequence: { kind: v as 'gru', timesteps: 2, features: 1 } }), 'INVALID_ARGUMENT', [...HOSTILE, ['undefined', undefined], ['null (built a GRU)', null], ['x', 'x']]);
    // sizes TF.js cannot allocate: a typed error and nothing left allocated (a RangeError from TF.js, with the first layers' weights leaked)
    await expectRejected('buildMlp(huge)', (v) => buildMlp({ inputDim: 4, hiddenUnits: [4, v as number] }), 'INVALID_ARGUMENT', [['2^30', 2 ** 30], ['1e308', 1e308]]);
    await expectRejected('buildSequenceModel(forecast too large)', () => buildSequenceModel({ kind: 'tcn', timesteps: 2, features: 1, units: [2], task: 'forecast', horizon: 2 ** 30, outputUnits: 2 ** 30 }), 'INVALID_ARGUMENT', [['-', 0]]);
    expect(tensors()).toBe(before);
  });

  it('training options: optimizer, flags, monitor, minDelta, seed, classWeight, loss, task, schedule (a typo trained with Adam)', async () => {
    await expectRejected('resolveTrainOptions(options)', (v) => resolveTrainOptions(v as object, false), 'INVALID_ARGUMENT', [['null', null], ['5', 5], ['Symbol()', Symbol('o')], ["'fast'", 'fast']]);
    await expectRejected('resolveTrainOptions(optimizer)', (v) => resolveTrainOptions({ optimizer: v as 'adam' }, false), 'INVALID_ARGUMENT', [...HOSTILE, ['adamw', 'adamw'], ['5', 5]]);
    for (const key of ['restoreBestWeights', 'shuffle', 'backendFallback']) {
      await expectRejected(`resolveTrainOptions(${key})`, (v) => resolveTrainOptions({ [key]: v }, false), 'INVALID_ARGUMENT', [["'false'", 'false'], ['0', 0], ['Symbol()', Symbol('b')]]);
    }
    await expectRejected('resolveTrainOptions(learningRate)', (v) => resolveTrainOptions({ learningRate: v as number }, false), 'INVALID_ARGUMENT', [['Infinity', Infinity]]);
    await expectRejected('resolveTrainOptions(earlyStopping)', (v) => resolveTrainOptions({ earlyStopping: v as false }, false), 'INVALID_ARGUMENT', [['true', true], ['5', 5], ["'yes'", 'yes']]);
    await expectRejected('resolveTrainOptions(earlyStopping.monitor)', (v) => resolveTrainOptions({ earlyStopping: { monitor: v as 'loss' } }, true), 'INVALID_ARGUMENT', [['val_acc', 'val_acc'], ['__proto__', '__proto__'], ['constructor', 'constructor']]);
    await expectRejected('resolveTrainOptions(earlyStopping.minDelta)', (v) => resolveTrainOptions({ earlyStopping: { minDelta: v as number } }, false), 'INVALID_ARGUMENT', [...NOT_NUMBERS.filter(([n]) => !n.startsWith('undefined') && n !== 'null'), ['-1', -1], ['Infinity', Infinity]]);
    await expectRejected('resolveTrainOptions(epochs)', (v) => resolveTrainOptions({ epochs: v as number }, false), 'INVALID_ARGUMENT', [['1e308', 1e308], ['2^53', 2 ** 53]]);
    await expectRejected('resolveTrainOptions(seed)', (v) => resolveTrainOptions({ seed: v as number }, false), 'INVALID_ARGUMENT', [...NOT_NUMBERS.filter(([n]) => !n.startsWith('undefined') && n !== 'null'), ['Infinity', Infinity]]);
    await expectRejected('resolveTrainOptions(classWeight)', (v) => resolveTrainOptions({ classWeight: v as 'balanced' }, false), 'INVALID_ARGUMENT', [...HOSTILE.filter(([n]) => n !== 'Object.create(null)' && !n.includes('toPrimitive')), ['Balanced', 'Balanced'], ['[1, 2]', [1, 2]], ['{ 0: NaN }', { 0: Number.NaN }], ["{ 0: '1' }", { 0: '1' }], ['{ a: 1 }', { a: 1 }], ['{ 0: -1 }', { 0: -1 }]]);
    await expectRejected('resolveTrainOptions(loss)', (v) => resolveTrainOptions({ loss: v as string }, false), 'INVALID_ARGUMENT', [...HOSTILE, ['empty', ''], ['5', 5]]);
    await expectRejected('resolveTrainOptions(task)', (v) => resolveTrainOptions({ task: v as 'binary' }, false), 'INVALID_ARGUMENT', [...HOSTILE, ['Binary', 'Binary']]);
    await expectRejected('resolveTrainOptions(learningRateSchedule)', (v) => resolveTrainOptions({ learningRateSchedule: v as LearningRateSchedule }, false), 'INVALID_ARGUMENT', [['{ type: "linear" }', { type: 'linear' }], ['5', 5], ['{ type: "step" }', { type: 'step' }]]);
    // null means "not set", as undefined and as everywhere in core's options
    expect(resolveTrainOptions({ optimizer: null, shuffle: null, earlyStopping: null, learningRateSchedule: null } as never, false)).toMatchObject({ optimizer: 'adam', shuffle: true, learningRateSchedule: { type: 'constant' } });
    // learningRateAt's numbers: '0.1' × factor converted, a Symbol threw a TypeError
    const step: LearningRateSchedule = { type: 'step', every: 2, factor: 0.5 };
    await expectRejected('learningRateAt(epoch)', (v) => learningRateAt(step, v as number, 4, 0.1), 'INVALID_ARGUMENT', [...NOT_NUMBERS, ['-1', -1], ['1.5', 1.5]]);
    await expectRejected('learningRateAt(epochs)', (v) => learningRateAt({ type: 'cosine' }, 1, v as number, 0.1), 'INVALID_ARGUMENT', [...NOT_NUMBERS, ['0', 0], ['Infinity', Infinity]]);
    await expectRejected('learningRateAt(base)', (v) => learningRateAt(step, 1, 4, v as number), 'INVALID_ARGUMENT', [...NOT_NUMBERS, ["'0.1'", '0.1'], ['Infinity', Infinity], ['0', 0]]);
  });

  it('train(): model, data and validation data are checked, and a failed compile leaks nothing', async () => {
    const x = tf.tensor2d([[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 1, 1]]);
    const y = tf.tensor2d([[0], [1], [0], [1]]);
    try {
      const quiet = { epochs: 1, progressBar: false, batchNormSamples: 0 } as const;
      await expectRejected('train(model)', (v) => train(v as Model, { x, y }, quiet), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ['{}', {}]]);
      await expectRejected('train(data)', (v) => train(model, v as never, quiet), 'INVALID_INPUT', [...HOSTILE, ['null', null], ['{}', {}], ['{ x: [1], y }', { x: [1], y }], ['{ x, y: [1] }', { x, y: [1] }], ['{ x: [], y }', { x: [], y }]]);
      await expectRejected('train(options)', (v) => train(model, { x, y }, v as object), 'INVALID_ARGUMENT', [['null', null], ['5', 5], ['Symbol()', Symbol('o')]]);
      // null counted as validation data and failed only after the first epoch
      await expectRejected('train(validationData)', (v) => train(model, { x, y }, { ...quiet, validationData: v as never }), ['INVALID_ARGUMENT', 'INVALID_INPUT'], [['5', 5], ['{}', {}], ['{ x, y: 1 }', { x, y: 1 }]]);
      expect((await train(model, { x, y }, { ...quiet, validationData: null as never })).validationSamples).toBe(0);
      const disposed = tf.tensor2d([[0, 0, 1]]);
      disposed.dispose();
      await expectRejected('train(disposed x)', () => train(model, { x: disposed, y }, quiet), 'INVALID_INPUT', [['-', 0]]);
      // a loss tfjs-layers does not know: INVALID_ARGUMENT, the optimiser and the split freed (they leaked before the try)
      const before = tensors();
      await expectRejected('train(loss name)', () => train(model, { x, y }, { ...quiet, validationSplit: 0.25, loss: 'noSuchLoss' }), 'INVALID_ARGUMENT', [['-', 0]]);
      expect(tensors()).toBe(before);
    } finally {
      x.dispose();
      y.dispose();
    }
  });

  it('progress: stageListeners, progressReporter, progressBar, shouldDrawBar, checkProgressOptions', async () => {
    await expectRejected('stageListeners(planned)', (v) => stageListeners(() => undefined, v as number[]), 'INVALID_ARGUMENT', [...NOT_ARRAYS, ['[1.5]', [1.5]], ['[]', []]]);
    await expectRejected('stageListeners(report)', (v) => stageListeners(v as () => void, [1]), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
    await expectRejected('progressReporter(env)', (v) => progressReporter({ progressBar: false }, 'fit', v as Record<string, string>), 'INVALID_ARGUMENT', [['null', null], ['5', 5], ['Symbol()', Symbol('e')]]);
    await expectRejected('checkProgressOptions(options)', (v) => checkProgressOptions(v as object, 'fit'), 'INVALID_ARGUMENT', [['null', null], ['5', 5], ['Symbol()', Symbol('o')]]);
    // the caller's name may be anything: a Symbol threw a TypeError while the message was built
    await expectRejected('checkProgressOptions(what)', (v) => checkProgressOptions({ onProgress: 5 as never }, v as string), 'INVALID_ARGUMENT');
    const stream = { write: (): boolean => true };
    await expectRejected('progressBar(stream)', (v) => progressBar(v as never), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ['{}', {}]]);
    await expectRejected('progressBar(options)', (v) => progressBar(stream, v as object), 'INVALID_ARGUMENT', [['null', null], ['5', 5]]);
    await expectRejected('progressBar(now)', (v) => progressBar(stream, { now: v as () => number }), 'INVALID_ARGUMENT', [...HOSTILE, ['5', 5], ['null', null]]);
    await expectRejected('progressBar(event)', (v) => progressBar(stream)(v as never), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ['{}', {}], ['{ type: "x" }', { type: 'x' }]]);
    for (const [name, v] of [...HOSTILE, ['null', null]] as const) {
      expect(shouldDrawBar(v as never, {}), name).toBe(false);
      expect(shouldDrawBar({ isTTY: true } as never, v as never), name).toBe(true);
    }
  });

  it('explanations: integratedGradients, saliencyMap, gradCam, heatmapToPng (NaN attributions, a leaked tensor, a 2^31-step hang)', async () => {
    const before = tensors();
    await expectRejected('integratedGradients(model)', (v) => integratedGradients(v as Model, [1, 2, 3]), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ['{}', {}]]);
    await expectRejected('integratedGradients(input)', (v) => integratedGradients(model, v as number[]), ['INVALID_INPUT', 'SHAPE_MISMATCH'], NOT_ARRAYS);
    await expectRejected('integratedGradients(input[0])', (v) => integratedGradients(model, at([1, 2, 3], 0, v)), 'INVALID_INPUT', [...NOT_NUMBERS, ['Infinity', Infinity], ['1e39 (Infinity in float32)', 1e39]]);
    await expectRejected('integratedGradients(baseline[0])', (v) => integratedGradients(model, [1, 2, 3], { baseline: at([0, 0, 0], 0, v) }), 'INVALID_INPUT', NOT_NUMBERS);
    await expectRejected('integratedGradients(options)', (v) => integratedGradients(model, [1, 2, 3], v as object), 'INVALID_ARGUMENT', [['null', null], ['5', 5]]);
    await expectRejected('integratedGradients(steps)', (v) => integratedGradients(model, [1, 2, 3], { steps: v as number }), 'INVALID_ARGUMENT', [['2^31', 2 ** 31], ['1e308', 1e308]]);
    await expectRejected('integratedGradients(topK)', (v) => integratedGradients(model, [1, 2, 3], { topK: v as number, steps: 2 }), 'INVALID_ARGUMENT', [...NOT_NUMBERS.filter(([n]) => !n.startsWith('undefined') && n !== 'null'), ['-1', -1]]);
    await expectRejected('integratedGradients(featureNames)', (v) => integratedGradients(model, [1, 2, 3], { featureNames: v as string[], steps: 2 }), 'INVALID_ARGUMENT', [...HOSTILE, ["'abc'", 'abc'], ['[1]', [1]]]);
    const cnn = buildResidualCnn({ inputShape: [4, 4, 1], numClasses: 2, filters: [2], seed: 1 });
    const image = tf.zeros([4, 4, 1]);
    try {
      for (const [name, explain] of [['saliencyMap', saliencyMap], ['gradCam', gradCam]] as const) {
        await expectRejected(`${name}(model)`, (v) => explain(v as Model, image), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
        await expectRejected(`${name}(image)`, (v) => explain(cnn, v as tf.Tensor), 'INVALID_INPUT', [...HOSTILE, ['null', null], ['[[1]]', [[1]]]]);
        await expectRejected(`${name}(options)`, (v) => explain(cnn, image, v as object), 'INVALID_ARGUMENT', [['null', null], ['5', 5]]);
      }
      const nan = tf.fill([4, 4, 1], Number.NaN);
      await expectRejected('saliencyMap(NaN image)', () => saliencyMap(cnn, nan), 'INVALID_INPUT', [['-', 0]]);
      nan.dispose();
    } finally {
      image.dispose();
      cnn.dispose();
    }
    expect(tensors()).toBe(before);
    const heatmap = { data: new Float32Array(4), width: 2, height: 2, classIndex: 0 };
    await expectRejected('heatmapToPng(heatmap)', (v) => heatmapToPng(v as never), 'INVALID_INPUT', [...HOSTILE, ['null', null]]);
    for (const key of ['width', 'height']) {
      await expectRejected(`heatmapToPng(${key})`, (v) => heatmapToPng({ ...heatmap, [key]: v }), ['INVALID_INPUT', 'SHAPE_MISMATCH'], [...NOT_NUMBERS, ['-1', -1], ['Infinity', Infinity], ['1e308', 1e308]]);
    }
    await expectRejected('heatmapToPng(data)', (v) => heatmapToPng({ ...heatmap, data: v as Float32Array }), ['INVALID_INPUT', 'SHAPE_MISMATCH'], NOT_ARRAYS);
    await expectRejected('heatmapToPng(data[0])', (v) => heatmapToPng({ ...heatmap, data: at([0, 0, 0, 0], 0, v) as unknown as Float32Array }), 'INVALID_INPUT', NOT_NUMBERS);
    await expectRejected('heatmapToPng(options)', (v) => heatmapToPng(heatmap, v as object), 'INVALID_ARGUMENT', [['null', null], ['5', 5]]);
    await expectRejected('heatmapToPng(alpha)', (v) => heatmapToPng(heatmap, { alpha: v as number }), 'INVALID_ARGUMENT', [...NOT_NUMBERS.filter(([n]) => !n.startsWith('undefined') && n !== 'null'), ['2', 2]]);
    await expectRejected('heatmapToPng(baseChannels)', (v) => heatmapToPng(heatmap, { base: new Float32Array(8), baseChannels: v as 1 }), 'INVALID_ARGUMENT', [...NOT_NUMBERS.filter(([n]) => !n.startsWith('undefined') && n !== 'null'), ['2', 2]]);
    await expectRejected('heatmapToPng(base)', (v) => heatmapToPng(heatmap, { base: v as number[] }), ['INVALID_INPUT', 'SHAPE_MISMATCH'], NOT_ARRAYS.filter(([n]) => n !== 'undefined' && n !== 'null'));
  });

  it('serving: createPredictor source and options, float32 overflow, predictBatched, foldBatchNorm, ModelWorkers', async () => {
    await expectRejected('createPredictor(source)', (v) => createPredictor(v as Model), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ['{}', {}], ["'model.json'", 'model.json']]);
    await expectRejected('createPredictor(options)', (v) => createPredictor(model, v as object), 'INVALID_ARGUMENT', [['null', null], ['5', 5]]);
    // 1.5 was floored to 1; 1e308 ms fired after 1 ms; 2^31 requests a batch failed in TF.js with a RangeError
    await expectRejected('createPredictor(maxBatchSize)', (v) => createPredictor(model, { maxBatchSize: v as number }), 'INVALID_ARGUMENT', [['1.5', 1.5], ['2^31', 2 ** 31], ['1e308', 1e308]]);
    await expectRejected('createPredictor(maxQueue)', (v) => createPredictor(model, { maxQueue: v as number }), 'INVALID_ARGUMENT', [['1.5', 1.5]]);
    await expectRejected('createPredictor(maxWaitMs)', (v) => createPredictor(model, { maxWaitMs: v as number }), 'INVALID_ARGUMENT', [['1e308', 1e308], ['2^31', 2 ** 31], ["'2'", '2']]);
    for (const key of ['warmup', 'foldBatchNorm', 'offMainThread']) {
      await expectRejected(`createPredictor(${key})`, (v) => createPredictor(model, { [key]: v }), 'INVALID_ARGUMENT', [["'false'", 'false'], ['0', 0]]);
    }
    const predictor = await createPredictor(model, { warmup: false });
    try {
      await expectRejected('predictor.predict(float32 overflow)', (v) => predictor.predict([v as number, 0, 0]), 'INVALID_INPUT', [['1e39', 1e39], ['-1e39', -1e39], ["'1'", '1']]);
    } finally {
      await predictor.close();
    }
    const x = tf.zeros([2, 3]);
    const before = tensors();
    try {
      await expectRejected('predictBatched(model)', (v) => predictBatched(v as Model, x, 2), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
      await expectRejected('predictBatched(x)', (v) => predictBatched(model, v as tf.Tensor, 2), ['INVALID_INPUT', 'SHAPE_MISMATCH'], [...HOSTILE, ['null', null], ['[]', []], ['[[1, 2, 3]]', [[1, 2, 3]]]]);
      await expectRejected('predictBatched(batchSize)', (v) => predictBatched(model, x, v as number), 'INVALID_ARGUMENT', [...NOT_NUMBERS, ['0', 0], ['1.5', 1.5]]);
      expect(tensors()).toBe(before);
    } finally {
      x.dispose();
    }
    await expectRejected('foldBatchNorm(options)', (v) => foldBatchNorm(model, v as object), 'INVALID_ARGUMENT', [['null', null], ['5', 5], ['Symbol()', Symbol('o')]]);
    await expectRejected('ModelWorkers(model)', (v) => new ModelWorkers(v as Model, 1, 8, 'This test'), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
    await expectRejected('ModelWorkers(count)', (v) => new ModelWorkers(model, v as number, 8, 'This test'), 'INVALID_ARGUMENT', [...NOT_NUMBERS, ['0', 0], ['1.5', 1.5]]);
    await expectRejected('ModelWorkers(maxChunk)', (v) => new ModelWorkers(model, 1, v as number, 'This test'), 'INVALID_ARGUMENT', [...NOT_NUMBERS, ['0', 0]]);
    await expectRejected('ModelWorkers(what)', (v) => new ModelWorkers(model, 1, 8, v as string), 'INVALID_ARGUMENT', HOSTILE);
  });

  it('runtime: runtime options, kernels, gpuErrorScope and the predicates', async () => {
    await expectRejected('resolveRuntimeOptions(options)', (v) => resolveRuntimeOptions(v as object, {}), 'INVALID_ARGUMENT', [['null', null], ['5', 5]]);
    await expectRejected('resolveRuntimeOptions(env)', (v) => resolveRuntimeOptions({}, v as Record<string, string>), 'INVALID_ARGUMENT', [['null', null], ['5', 5]]);
    // an empty or null backend silently meant 'auto'; a NaN wasmThreads or powerPreference was kept
    await expectRejected('resolveRuntimeOptions(backend)', (v) => resolveRuntimeOptions({ backend: v as 'cpu' }, {}), 'INVALID_ARGUMENT', [['empty', ''], ['false', false], ['0', 0]]);
    await expectRejected('resolveRuntimeOptions(wasmThreads)', (v) => resolveRuntimeOptions({ wasmThreads: v as number }, {}), 'INVALID_ARGUMENT', [...NOT_NUMBERS.filter(([n]) => !n.startsWith('undefined')), ['0', 0], ['1.5', 1.5], ['1e308', 1e308]]);
    await expectRejected('resolveRuntimeOptions(powerPreference)', (v) => resolveRuntimeOptions({ powerPreference: v as 'low-power' }, {}), 'INVALID_ARGUMENT', [...HOSTILE, ['NaN', Number.NaN], ['fast', 'fast']]);
    await expectRejected('resolveRuntimeOptions(prodMode)', (v) => resolveRuntimeOptions({ prodMode: v as boolean }, {}), 'INVALID_ARGUMENT', [["'false'", 'false'], ['0', 0]]);
    expect(resolveRuntimeOptions({}, { LEPTON_BACKEND: 5 as unknown as string })).toMatchObject({ backend: 'auto', backendSource: 'default' });
    await expectRejected('requiredKernels(model)', (v) => requiredKernels(v as Model), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ['{}', {}]]);
    await expectRejected('requiredKernels(options)', (v) => requiredKernels(model, v as object), 'INVALID_ARGUMENT', [['null', null], ['{ training: "yes" }', { training: 'yes' }]]);
    await expectRejected('planBackend(model)', (v) => planBackend(v as Model), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
    await expectRejected('planBackend(fallback)', (v) => planBackend(model, { fallback: v as boolean }), 'INVALID_ARGUMENT', [["'false'", 'false'], ['0', 0]]);
    await expectRejected('missingKernels(kernels)', (v) => missingKernels(v as string[], 'cpu'), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ['[1]', [1]]]);
    await expectRejected('missingKernels(backend)', (v) => missingKernels(['Add'], v as string), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
    await expectRejected('gpuErrorScope(work)', (v) => gpuErrorScope(v as () => number), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
    await expectRejected('gpuErrorScope(release)', (v) => gpuErrorScope(() => 1, v as () => void), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null]]);
    await expectRejected('modelTask', (v) => modelTask(v as Model), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ['{}', {}]]);
    for (const [name, v] of [...HOSTILE, ['null', null], ['undefined', undefined]] as const) {
      expect(typeof cudaDeviceVisible(v as never), name).toBe('boolean');
      expect(isSoftwareAdapter(v as never), name).toBe(false);
      expect(isSemver(v as string), name).toBe(false);
    }
  });

  it('bundles: expectInputs checked before reading (the model leaked), task/preprocessing/provenance, bundleDigest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lepton-sweep-'));
    try {
      await saveBundle(model, dir, { name: 'm', version: '1.0.0' });
      const before = tensors();
      await expectRejected('loadBundle(expectInputs)', (v) => loadBundle(dir, { expectInputs: v as [] }), 'INVALID_ARGUMENT', [...HOSTILE, ["'1'", '1'], ['null', null], ['[null]', [null]], ['[{ shape: 3 }]', [{ shape: 3 }]]]);
      await expectRejected('loadBundle(expectInputs[0].shape)', (v) => loadBundle(dir, { expectInputs: [{ shape: [null, v as number] }] }), 'BUNDLE_INCOMPATIBLE', [['4', 4], ['NaN', Number.NaN]]);
      expect(tensors()).toBe(before);
      const ok = { name: 'm', version: '1.0.0' };
      const other = join(dir, 'never');
      await expectRejected('saveBundle(task)', (v) => saveBundle(model, other, { ...ok, task: v as 'binary' }), 'INVALID_ARGUMENT', [...HOSTILE, ['NaN', Number.NaN], ['Binary', 'Binary']]);
      for (const key of ['preprocessing', 'provenance']) {
        await expectRejected(`saveBundle(${key})`, (v) => saveBundle(model, other, { ...ok, [key]: v }), 'INVALID_ARGUMENT', [['NaN', Number.NaN], ["'abc'", 'abc'], ['5', 5], ['[1]', [1]]]);
      }
      expect(existsSync(other)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const cycle: Record<string, unknown> = { name: 'm' };
    cycle['self'] = cycle;
    await expectRejected('bundleDigest', (v) => bundleDigest(v as never), 'INVALID_ARGUMENT', [...HOSTILE.filter(([n]) => n === 'Symbol()' || n === 'BigInt'), ['null', null], ['{ seed: 12n }', { seed: 12n }], ['a cycle', cycle]]);
  });

  it('input: reader options, parseCsv options, parseTimestamp options (a Symbol code became the error code)', async () => {
    async function* chunks(): AsyncGenerator<unknown> {
      yield 5;
    }
    const drain = async (it: AsyncIterable<unknown>): Promise<void> => {
      for await (const _ of it) void _;
    };
    await expectRejected('readLines(readErrorCode)', (v) => drain(readLines(chunks() as AsyncIterable<string>, { readErrorCode: v as 'READ_FAILED' })), 'INVALID_ARGUMENT', [...HOSTILE, ['5', 5], ['lower', 'read_failed'], ['empty', '']]);
    await expectRejected('readLines(options)', (v) => drain(readLines('x', v as object)), 'INVALID_ARGUMENT', [['null', null], ['5', 5]]);
    await expectRejected('readCsv(what)', (v) => drain(readCsv(chunks() as AsyncIterable<string>, { what: v as string })), 'INVALID_ARGUMENT');
    await expectRejected('readCsv(options)', (v) => drain(readCsv('x', v as object)), 'INVALID_ARGUMENT', [['null', null], ['5', 5]]);
    await expectRejected('parseCsv(options)', (v) => parseCsv('a\n1', v as object), 'INVALID_ARGUMENT', [['null', null], ['5', 5]]);
    await expectRejected('parseCsv(maxLineChars)', (v) => parseCsv('a\n1', { maxLineChars: v as number }), 'INVALID_ARGUMENT', [...HOSTILE, ['NaN', Number.NaN]]);
    await expectRejected('parseCsv(delimiter)', (v) => parseCsv('a\n1', { delimiter: v as string }), 'INVALID_ARGUMENT', [...HOSTILE, ['5', 5]]);
    await expectRejected('parseTimestamp(options)', (v) => parseTimestamp('2024-01-02T00:00:00Z', v as object), 'INVALID_ARGUMENT', [['null', null], ['5', 5]]);
    for (const key of ['minMs', 'maxMs']) {
      await expectRejected(`parseTimestamp(${key})`, (v) => parseTimestamp('2024-01-02T00:00:00Z', { [key]: v }), 'INVALID_ARGUMENT', NOT_NUMBERS.filter(([n]) => !n.startsWith('undefined') && n !== 'null'));
    }
    await expectRejected('parseTimestamp(dateOnly)', (v) => parseTimestamp('2024-01-02', { dateOnly: v as boolean }), 'INVALID_ARGUMENT', [["'true'", 'true'], ['1', 1]]);
    expect(parseTimestamp('2024-01-02T00:00:00Z', { maxMs: Infinity })).toBe(Date.UTC(2024, 0, 2));
  });

  it('late fusion: options, predict options, one sample, modalities named like Object members, stored duplicates', async () => {
    const scores = { a: [0.9, 0.2, 0.7, 0.1], b: [0.6, 0.3, 0.8, 0.2] };
    await expectRejected('fitLateFusion(options)', (v) => fitLateFusion(scores, [1, 0, 1, 0], v as object), 'INVALID_ARGUMENT', [['null', null], ['5', 5], ['Symbol()', Symbol('o')]]);
    await expectRejected('fitLateFusion(convex maxIterations)', (v) => fitLateFusion(scores, [1, 0, 1, 0], { method: 'convex', maxIterations: v as number }), 'INVALID_ARGUMENT', [...HOSTILE, ['NaN', Number.NaN], ['1.5', 1.5], ['1e308', 1e308]]);
    await expectRejected('fitLateFusion(raw score)', (v) => fitLateFusion({ a: at(scores.a, 0, v), b: scores.b }, [1, 0, 1, 0], { input: 'raw' }), 'INVALID_INPUT', [["'0.5'", '0.5'], ['{}', {}], ['Infinity', Infinity]]);
    const fusion = fitLateFusion(scores, [1, 0, 1, 0], { l2: 1 });
    await expectRejected('LateFusion.predict(options)', (v) => fusion.predict(scores, v as object), 'INVALID_ARGUMENT', [['null', null], ['5', 5]]);
    await expectRejected('LateFusion.predictOne(scores)', (v) => fusion.predictOne(v as number[]), 'INVALID_INPUT', [...HOSTILE.filter(([n]) => n === 'Symbol()' || n === 'BigInt'), ['null', null], ['undefined', undefined], ['0.5', 0.5]]);
    await expectRejected('LateFusion.predictOne(options)', (v) => fusion.predictOne([0.5, 0.5], v as object), 'INVALID_ARGUMENT', [['null', null], ['5', 5]]);
    // an absent modality named 'constructor' read Object.prototype.constructor and was refused as "not an array"
    const named = fitLateFusion({ constructor: scores.a, toString: scores.b }, [1, 0, 1, 0], { l2: 1, missing: 'mean' });
    expect(Number.isFinite(named.predict({ toString: [0.5] })[0])).toBe(true);
    expect(() => named.predict({ toString: [0.5] }, { missing: 'error' })).toThrow(expect.objectContaining({ code: 'FUSION_MISSING_SCORE' }));
    const stored = { ...fusion.toJSON(), modalities: ['a', 'a'] };
    expect(() => lateFusionFromJSON(stored)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });

  it('ONNX and errors: layersModelToOnnx options, createOnnxSession options and feed dims, LeptonError and ensure', async () => {
    await expectRejected('layersModelToOnnx(options)', (v) => layersModelToOnnx(model, v as object), 'INVALID_ARGUMENT', [['null', null], ['5', 5]]);
    await expectRejected('layersModelToOnnx(graphName)', (v) => layersModelToOnnx(model, { graphName: v as string }), 'INVALID_ARGUMENT');
    await expectRejected('createOnnxSession(options)', (v) => createOnnxSession(new Uint8Array([1]), v as object), 'INVALID_ARGUMENT', [['null', null], ['5', 5]]);
    const session = await createOnnxSession(await layersModelToOnnx(model));
    try {
      const feed = (dims: unknown[]): Record<string, { data: Float32Array; dims: number[] }> => ({ [session.inputNames[0]!]: { data: new Float32Array(3), dims: dims as number[] } });
      await expectRejected('OnnxSession.run(dims[0])', (v) => session.run(feed([v, 3])), 'INVALID_INPUT');
    } finally {
      await session.close();
    }
    expect(new LeptonError('INVALID_INPUT', 'm', null as never).details).toEqual({});
    expect(new LeptonError('INVALID_INPUT', 'm', { details: 5 as never }).details).toEqual({});
    expect(() => ensure(false, 'INVALID_INPUT', 'plain text' as never)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', message: 'plain text' }));
    expect(() => ensure(false, 'INVALID_INPUT', 5 as never)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });

  it('taskMetrics: an unknown task was scored as a regression; arguments must be live tensors', async () => {
    const y = tf.tensor1d([0, 1]);
    const p = tf.tensor1d([0.2, 0.8]);
    try {
      await expectRejected('taskMetrics(task)', (v) => taskMetrics(v as 'binary', y, p), 'INVALID_ARGUMENT', [...HOSTILE, ['Binary', 'Binary'], ['undefined', undefined]]);
      await expectRejected('taskMetrics(yTrue)', (v) => taskMetrics('binary', v as tf.Tensor, p), 'INVALID_INPUT', [...HOSTILE, ['null', null], ['[0, 1]', [0, 1]]]);
      await expectRejected('taskMetrics(yPred)', (v) => taskMetrics('binary', y, v as tf.Tensor), 'INVALID_INPUT', [...HOSTILE, ['null', null]]);
    } finally {
      y.dispose();
      p.dispose();
    }
  });
});
