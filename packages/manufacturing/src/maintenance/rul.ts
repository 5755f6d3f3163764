import { buildSequenceModel, LeptonError, seededRandom, tf, train, type SequenceKind } from '@lepton/core';

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
 * @param cycle - cycle index (0-based)
 * @param life - cycles until failure
 * @param cap - plateau (default 125)
 * @returns the remaining useful life target
 */
export function rulTarget(cycle: number, life: number, cap = 125): number {
  return Math.min(cap, life - 1 - cycle);
}

/**
 * NASA's asymmetric scoring function (PHM'08): late predictions (predicted RUL above the truth) are penalised more
 * than early ones — Σ exp(−d/13) − 1 for d < 0, exp(d/10) − 1 for d ≥ 0, with d = predicted − true.
 *
 * @param trueRul - true remaining useful life per case
 * @param predRul - predicted remaining useful life per case
 * @returns the score (lower is better; 0 is perfect)
 */
export function nasaScore(trueRul: ArrayLike<number>, predRul: ArrayLike<number>): number {
  if (trueRul.length !== predRul.length) throw new LeptonError('SHAPE_MISMATCH', 'nasaScore: lengths differ.');
  let s = 0;
  for (let i = 0; i < trueRul.length; i++) {
    const d = predRul[i]! - trueRul[i]!;
    s += d < 0 ? Math.exp(-d / 13) - 1 : Math.exp(d / 10) - 1;
  }
  return s;
}

/**
 * Seeded synthetic run-to-failure fleet (synthetic data, C-MAPSS-like): each unit runs 150–300 cycles; six sensors mix
 * operating noise with an exponential degradation trend that accelerates towards failure, at unit-specific rates.
 *
 * @param options - units (default 30) and seed (default 1)
 * @returns one history per unit, each ending at failure
 */
export function generateRunToFailure(options: { units?: number; seed?: number } = {}): UnitHistory[] {
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

/** Options for {@link RulModel.fit}. */
export interface RulOptions {
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
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` when no history is as long as a window
   */
  static async fit(units: readonly UnitHistory[], options: RulOptions = {}): Promise<RulModel> {
    const w = options.window ?? 30;
    const cap = options.cap ?? 125;
    const all = units.flatMap((u) => u.rows);
    const d = all[0]?.length ?? 0;
    const mean = Array.from({ length: d }, (_, j) => all.reduce((s, r) => s + r[j]!, 0) / all.length);
    const std = Array.from({ length: d }, (_, j) => Math.sqrt(all.reduce((s, r) => s + (r[j]! - mean[j]!) ** 2, 0) / all.length) || 1);
    const xs: number[] = [];
    const ys: number[] = [];
    for (const u of units) {
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
      await train(model, { x, y }, { epochs: options.epochs ?? 25, batchSize: 128, learningRate: 2e-3, validationSplit: 0.15, seed: options.seed ?? 1, progressBar: false });
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
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for an empty history (the promise rejects)
   */
  async predict(histories: ReadonlyArray<readonly number[][]>): Promise<RulPrediction[]> {
    const w = this.window;
    const d = this.mean.length;
    const data = new Float32Array(histories.length * w * d);
    histories.forEach((rows, i) => {
      if (rows.length === 0) throw new LeptonError('INVALID_INPUT', `History ${i} is empty.`);
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
