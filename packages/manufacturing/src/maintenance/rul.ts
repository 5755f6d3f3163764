import { buildSequenceModel, LeptonError, progressReporter, seededRandom, tf, train, type ProgressOptions, type SequenceKind } from '@lepton/core';
import { atLeast, each, finite, finiteArray, finiteResult, integer, invalid, optionsObject, readFields } from '../internal/guards.js';

const KINDS: readonly string[] = ['tcn', 'lstm', 'gru'];

/** Checks sensor histories: arrays of rows, each `width` finite numbers (width taken from the first row if not given). */
function checkRows(fn: string, field: string, rows: unknown, width?: number): number | undefined {
  if (!Array.isArray(rows)) throw invalid(fn, field, 'an array of rows', rows);
  let d = width;
  each(rows, (row: unknown, t) => {
    finiteArray(fn, `${field}[${t}]`, row, 1);
    const n = (row as number[]).length;
    if (d === undefined) d = n;
    else if (n !== d) throw new LeptonError('INVALID_INPUT', `${fn}: ${field}[${t}] has ${n} values, expected ${d} (one per sensor).`, { details: { field: `${field}[${t}]` } });
  });
  return d;
}

/** One asset's run-to-failure (or run-so-far) history: one row of sensor values per cycle. */
export interface UnitHistory {
  /** Asset identifier. */
  unit: string;
  /** Sensor values per cycle, oldest first. */
  rows: number[][];
}

/**
 * Piecewise-linear RUL target: constant `cap` early in life (degradation is not yet observable), then falling one per
 * cycle to 0 at failure — the usual target for run-to-failure data such as NASA's C-MAPSS.
 *
 * @param cycle - cycle index (0-based), at most `life − 1`
 * @param life - cycles until failure
 * @param cap - plateau (default 125), ≥ 0
 * @returns the remaining useful life target, from 0 to `cap`
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` when an argument is not a finite number, `cycle` is negative
 *   or above `life − 1` (the unit has already failed: the target would be negative), or `cap` is negative
 * @example
 * ```ts
 * import { rulTarget } from '@lepton/manufacturing';
 * [rulTarget(0, 200), rulTarget(150, 200)]; // [125, 49]
 * ```
 */
export function rulTarget(cycle: number, life: number, cap = 125): number {
  finite('rulTarget', 'cycle', cycle);
  finite('rulTarget', 'life', life);
  finite('rulTarget', 'cap', cap);
  // A negative cycle, a cycle at or past failure or a negative cap gave a negative RUL target (cycle 1e308: -1e308).
  if (cycle < 0) throw invalid('rulTarget', 'cycle', 'a cycle index ≥ 0', cycle);
  if (!(cycle <= life - 1)) throw new LeptonError('INVALID_INPUT', 'rulTarget: cycle must be at most life − 1 (the last cycle before failure); the unit had failed by then.', { details: { field: 'cycle' } });
  if (cap < 0) throw invalid('rulTarget', 'cap', 'a plateau ≥ 0', cap);
  return Math.min(cap, life - 1 - cycle);
}

/**
 * NASA's asymmetric scoring function (PHM'08): late predictions (predicted RUL above the truth) are penalised more
 * than early ones — Σ exp(−d/13) − 1 for d < 0, exp(d/10) − 1 for d ≥ 0, with d = predicted − true.
 *
 * @param trueRul - true remaining useful life per case
 * @param predRul - predicted remaining useful life per case
 * @returns the score (lower is better; 0 is perfect)
 * @throws {@link @lepton/core!LeptonError} `SHAPE_MISMATCH` when the lengths differ (`details.field` `predRul`);
 *   `INVALID_INPUT` for no cases at all (an empty score would look perfect) or a value that is not a finite number (`details.field`, e.g. `predRul[3]`); `MFG_NON_FINITE_RESULT` when a prediction is so far
 *   off (~7 000 cycles late) that the exponential score overflows
 * @example
 * ```ts
 * import { nasaScore } from '@lepton/manufacturing';
 * nasaScore([50, 50], [40, 60]); // (e^(10/13) − 1) + (e^1 − 1) ≈ 2.88
 * ```
 */
export function nasaScore(trueRul: ArrayLike<number>, predRul: ArrayLike<number>): number {
  finiteArray('nasaScore', 'trueRul', trueRul);
  finiteArray('nasaScore', 'predRul', predRul);
  if (trueRul.length !== predRul.length) throw new LeptonError('SHAPE_MISMATCH', `nasaScore: predRul has ${predRul.length} values, trueRul ${trueRul.length}; give one prediction per case.`, { details: { field: 'predRul' } });
  // An empty score would be 0, a perfect score for nothing.
  if (trueRul.length === 0) throw new LeptonError('INVALID_INPUT', 'nasaScore: no cases to score (trueRul is empty).', { details: { field: 'trueRul' } });
  let s = 0;
  for (let i = 0; i < trueRul.length; i++) {
    const d = predRul[i]! - trueRul[i]!;
    s += d < 0 ? Math.exp(-d / 13) - 1 : Math.exp(d / 10) - 1;
  }
  finiteResult('nasaScore', 'the score', s);
  return s;
}

/**
 * Seeded synthetic run-to-failure fleet (synthetic data, C-MAPSS-like): each unit runs 150–300 cycles; six sensors mix
 * operating noise with an exponential degradation trend that accelerates towards failure, at unit-specific rates.
 *
 * @param options - units (default 30; at most 10 000) and seed (default 1)
 * @returns one history per unit, each ending at failure
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for options that are not an object, a unit count that is
 *   not an integer from 1 to 10 000 or a seed that is not a finite number
 */
export function generateRunToFailure(options: { units?: number; seed?: number } = {}): UnitHistory[] {
  optionsObject('generateRunToFailure', 'options', options);
  integer('generateRunToFailure', 'options.units', options.units ?? 30, 1, 10_000);
  finite('generateRunToFailure', 'options.seed', options.seed ?? 1, 'INVALID_ARGUMENT');
  const rand = seededRandom(options.seed ?? 1);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const sensors = [
    { base: 642, trend: 1.5, noise: 0.4 },
    { base: 1590, trend: 12, noise: 3 },
    { base: 1400, trend: 18, noise: 4 },
    { base: 554, trend: -1.8, noise: 0.35 },
    { base: 47.5, trend: 0.5, noise: 0.12 },
    { base: 8.44, trend: 0.05, noise: 0.015 },
  ];
  return Array.from({ length: options.units ?? 30 }, (_, u) => {
    const life = 150 + Math.floor(rand() * 150);
    const rate = 3 + rand() * 2;
    const rows = Array.from({ length: life }, (_, t) => {
      const wear = Math.expm1((rate * t) / life) / Math.expm1(rate);
      return sensors.map((s) => s.base + s.trend * 2.5 * wear + s.noise * normal());
    });
    return { unit: `engine-${u + 1}`, rows };
  });
}

/** A remaining-useful-life prediction. */
export interface RulPrediction {
  /** Remaining useful life, cycles (at most the cap). */
  rul: number;
  /** Health index in [0, 1]: RUL ÷ cap (1 healthy, 0 failing). */
  health: number;
}

/**
 * Options for {@link RulModel.fit}. `onProgress` and `progressBar` (see `ProgressOptions` in `@lepton/core`) report
 * the training as core `train()` does: `start`, batches and an `epoch` per epoch, `end`.
 */
export interface RulOptions extends ProgressOptions {
  /** Cycles per input window. Default 30. */
  window?: number;
  /** Architecture. Default `gru` (on wasm it trains several times faster than the TCN at this size). */
  kind?: SequenceKind;
  /** RUL plateau. Default 125. */
  cap?: number;
  /** Default 25. */
  epochs?: number;
  /** Default 1. */
  seed?: number;
}

/**
 * Remaining-useful-life regression over sliding windows of multivariate sensor history (temporal conv or LSTM from
 * `@lepton/core`), trained on run-to-failure histories with the piecewise-linear target, plus a health index
 * (predicted RUL ÷ cap: 1 healthy, 0 failing).
 */
export class RulModel {
  private constructor(
    private readonly model: tf.LayersModel,
    private readonly mean: number[],
    private readonly std: number[],
    /** Cycles per window. */
    readonly window: number,
    /** RUL plateau. */
    readonly cap: number,
  ) {}

  /**
   * Trains on run-to-failure histories (each ends at failure).
   *
   * @param units - histories
   * @param options - window, architecture, cap, epochs, seed
   * @returns the model
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` when no history is as long as a window, or a row is not
   *   an array of finite numbers as wide as the others (`details.field`, e.g. `units[2].rows[17]`), or a field whose
   *   getter throws; `MFG_NON_FINITE_RESULT` when a sensor's mean or standard deviation overflows; `INVALID_ARGUMENT`
   *   for options that are not an object, a window or epoch count that is not a positive integer (epochs at most
   *   65,536), a cap that is not a
   *   finite number > 0, a `kind` other than `gru`, `lstm` or `tcn`, a seed that is not a finite number, or a bad
   *   `onProgress`/`progressBar`; `PROGRESS_LISTENER_FAILED` when the `onProgress` listener throws (training stops,
   *   nothing is kept)
   */
  static async fit(units: readonly UnitHistory[], options: RulOptions = {}): Promise<RulModel> {
    optionsObject('RulModel.fit', 'options', options);
    // Read once: a getter that throws is INVALID_ARGUMENT naming the field, and no getter is read twice.
    options = readFields('RulModel.fit', 'options', options, ['kind', 'seed', 'window', 'cap', 'epochs', 'onProgress', 'progressBar'] as const) as RulOptions;
    if (options.kind !== undefined && !KINDS.includes(options.kind)) throw invalid('RulModel.fit', 'options.kind', `one of ${KINDS.join(', ')}`, options.kind, 'INVALID_ARGUMENT');
    if (options.seed !== undefined) finite('RulModel.fit', 'options.seed', options.seed, 'INVALID_ARGUMENT');
    const w = integer('RulModel.fit', 'options.window', options.window ?? 30, 1, 10_000);
    const cap = atLeast('RulModel.fit', 'options.cap', options.cap ?? 125, 0, true);
    integer('RulModel.fit', 'options.epochs', options.epochs ?? 25, 1, 65_536); // bounded: 1e308 epochs would never end
    const progress = progressReporter(options, 'RulModel.fit');
    if (!Array.isArray(units)) throw invalid('RulModel.fit', 'units', 'an array of unit histories', units);
    let width: number | undefined;
    const histories: Array<{ rows: number[][] }> = [];
    each(units, (u, i) => {
      if (typeof u !== 'object' || u === null) throw invalid('RulModel.fit', `units[${i}]`, 'a unit history { unit, rows }', u);
      const { rows } = readFields('RulModel.fit', `units[${i}]`, u, ['rows'] as const, 'INVALID_INPUT');
      width = checkRows('RulModel.fit', `units[${i}].rows`, rows, width);
      histories.push({ rows: rows as number[][] });
    });
    const all = histories.flatMap((u) => u.rows);
    const d = all[0]?.length ?? 0;
    const mean = Array.from({ length: d }, (_, j) => all.reduce((s, r) => s + r[j]!, 0) / all.length);
    const std = Array.from({ length: d }, (_, j) => Math.sqrt(all.reduce((s, r) => s + (r[j]! - mean[j]!) ** 2, 0) / all.length) || 1);
    // Values near ±1.8e308 overflow the mean, a spread beyond ~1e154 the standard deviation: an infinite std would
    // normalise every feature to 0 and train a model on nothing, without a word.
    finiteResult('RulModel.fit', 'a sensor mean or standard deviation', ...mean, ...std);
    const xs: number[] = [];
    const ys: number[] = [];
    for (const u of histories) {
      for (let end = w; end <= u.rows.length; end++) {
        for (let t = end - w; t < end; t++) for (let j = 0; j < d; j++) xs.push((u.rows[t]![j]! - mean[j]!) / std[j]!);
        ys.push(rulTarget(end - 1, u.rows.length, cap) / cap);
      }
    }
    if (ys.length === 0) throw new LeptonError('INVALID_INPUT', `No history is at least ${w} cycles long.`);
    const kind = options.kind ?? 'gru';
    const model = buildSequenceModel({ kind, timesteps: w, features: d, task: 'regression', units: kind === 'tcn' ? [32, 32, 32] : [32], seed: options.seed ?? 1, dropout: 0.1 });
    const x = tf.tensor3d(xs, [ys.length, w, d]);
    const y = tf.tensor2d(ys, [ys.length, 1]);
    try {
      await train(model, { x, y }, { epochs: options.epochs ?? 25, batchSize: 128, learningRate: 2e-3, validationSplit: 0.15, seed: options.seed ?? 1, progressBar: false, ...(progress ? { onProgress: progress } : {}) });
    } catch (err) {
      model.dispose();
      throw err;
    } finally {
      tf.dispose([x, y]);
    }
    return new RulModel(model, mean, std, w, cap);
  }

  /**
   * Predicts the RUL at the last cycle of each history (histories shorter than a window are padded with their first
   * row, which reads as "early in life").
   *
   * Asynchronous because the predictions are read back with `data()`: a synchronous read blocks a GPU backend (and
   * throws on WebGPU in Node).
   *
   * @param histories - sensor rows per asset, oldest first
   * @returns RUL in cycles and the health index per history
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for an empty history or a row that is not an array of one
   *   finite number per sensor (`details.field`, e.g. `histories[0][12]`); `MFG_NON_FINITE_RESULT` when the model
   *   itself produces a non-finite prediction (retrain it) — the promise rejects
   */
  async predict(histories: ReadonlyArray<readonly number[][]>): Promise<RulPrediction[]> {
    const w = this.window;
    const d = this.mean.length;
    if (!Array.isArray(histories)) throw invalid('RulModel.predict', 'histories', 'an array of histories', histories);
    if (histories.length === 0) return []; // nothing to predict (a model cannot run on an empty batch)
    const data = new Float32Array(histories.length * w * d);
    each(histories, (rows, i) => {
      // Only the rows that go into the window are read, so only they are checked (cheap on long histories).
      if (Array.isArray(rows)) checkRows('RulModel.predict', `histories[${i}]`, rows.slice(-w), d);
      if (!Array.isArray(rows) || rows.length === 0) throw new LeptonError('INVALID_INPUT', `History ${i} is empty.`, { details: { field: `histories[${i}]` } });
      for (let t = 0; t < w; t++) {
        const src = rows[Math.max(0, rows.length - w + t)]!;
        for (let j = 0; j < d; j++) data[(i * w + t) * d + j] = (src[j]! - this.mean[j]!) / this.std[j]!;
      }
    });
    const pred = tf.tidy(() => this.model.predict(tf.tensor3d(data, [histories.length, w, d])) as tf.Tensor);
    let out: Float32Array;
    try {
      out = (await pred.data()) as Float32Array;
    } finally {
      pred.dispose();
    }
    // A NaN would survive the clamp below (Math.max(0, NaN) is NaN) and come out as a RUL.
    for (const v of out) finiteResult('RulModel.predict', 'a prediction', v);
    return Array.from(out, (v) => {
      const health = Math.min(1, Math.max(0, v));
      return { rul: health * this.cap, health };
    });
  }

  /** Frees the model's weights. */
  dispose(): void {
    this.model.dispose();
  }
}
