import { join } from 'node:path';
import { describeValue, buildDenseAutoencoder, buildLstmAutoencoder, LeptonError, loadBundle, progressReporter, saveBundle, tf, train, ModelWorkers, resolveWorkersOption, type ProgressOptions } from '@lepton/core';
import { checkQuantile, isQuantile, keepSortedScores, sortedQuantile } from '../internal/scores.js';
import { MAX_NORMAL_SCORES, readAnomalySettings, scaleValue, type AnomalySettings as Settings } from './anomaly-settings.js';

/**
 * Most windows per request to a worker. A call's windows are cut into one chunk per worker (a line's tick of 256 windows
 * into 128 and 128 on two), and calls larger than `workers` × this into more chunks, each about 2 MB for 8 signals × 30.
 */
const WORKER_CHUNK = 1024;

/**
 * Options for {@link AnomalyDetector.fit}. `onProgress` and `progressBar` (see `ProgressOptions` in `@lepton/core`)
 * report the autoencoder's training as core `train()` does: `start`, batches and an `epoch` per epoch, `end`.
 */
export interface AnomalyDetectorOptions extends ProgressOptions {
  /** Signal names, one per column. */
  signals: string[];
  /** Samples per window. Default 30. */
  window?: number;
  /** `dense` (flattened window) or `lstm` (sequence-to-sequence). Default `dense`. */
  kind?: 'dense' | 'lstm';
  /**
   * Share of the normal data (the latest part of each series) held out of training. Its windows scale the signals
   * (`balanced` scoring) and join the training windows in the threshold's sample; where the model reconstructs its
   * training windows better than these, the training windows' scores are scaled up to their level first. Default 0.2.
   */
  validationFraction?: number;
  /** Threshold quantile of the normal windows' scores (training and held-out). Default 0.995. */
  quantile?: number;
  /** Training epochs. Default 20. */
  epochs?: number;
  /**
   * How per-signal errors combine into the score. `balanced` (default) divides each signal's error by its mean error on
   * held-out normal data before averaging, so a signal that is hard to reconstruct even when healthy (a lagging
   * temperature) neither hides nor dominates a fault on another; `mse` is the plain mean squared error.
   */
  scoring?: 'balanced' | 'mse';
  /** Seed. Default 1. */
  seed?: number;
  /**
   * Worker threads scoring windows ({@link AnomalyDetector.scoreRows}, {@link AnomalyDetector.scoreBatch}, and so a
   * `LineMonitor`'s ticks). Default 1: in this thread, as before. With 2 or more, or `'auto'` (one per core,
   * capped by free memory), each worker loads a copy of the trained model on this thread's backend when the detector
   * first scores, and each call's windows are cut into one chunk per worker (at most 1,024 windows each) that run at
   * once: TF.js computes on one core per engine, so this is how scoring uses every core. The error arithmetic stays in
   * this thread. Scores are the same as in this thread (bitwise on `wasm`).
   * {@link AnomalyDetector.stream} always scores in this thread (one window per push). Training is unaffected.
   */
  workers?: number | 'auto';
}

/** A streaming scorer from {@link AnomalyDetector.stream}. */
export interface AnomalyStream {
  /**
   * Adds the next sample.
   *
   * The sample enters the window at once (push the next one without waiting, the order is kept); the score is read
   * back from the backend asynchronously, so a GPU backend is never blocked by a synchronous read.
   *
   * @param sample - one value per signal
   * @returns the score of the window ending at this sample, or undefined until the first window is full
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a sample that is not one finite number per signal
   *   (the promise rejects; the sample is not added and the stream goes on)
   */
  push(sample: ArrayLike<number>): Promise<AnomalyScore | undefined>;
}

/** Options for {@link AnomalyDetector.calibrate}. */
export interface AnomalyCalibrateOptions {
  /** Threshold quantile of all normal windows. Default: the quantile last set (by `fit` or `setThresholdQuantile`), else 0.995. */
  quantile?: number;
}

/** What {@link AnomalyDetector.calibrate} did. */
export interface AnomalyCalibration {
  /** Windows of the calibration rows scored and added. */
  added: number;
  /** Normal windows the threshold is now a quantile of (training, held-out and calibrated; at most 200,000, thinned evenly beyond). */
  normalWindows: number;
  /** The new alarm threshold. */
  threshold: number;
}

/** One window's anomaly score. */
export interface AnomalyScore {
  /** Mean over signals of the reconstruction error of the (scaled) window — each signal's error relative to its normal level under `balanced` scoring, plain mean squared error under `mse`. */
  score: number;
  /** Whether `score` exceeds the current threshold. */
  alarm: boolean;
  /** Each signal's term of `score` (its error over the window, relative to normal under `balanced`): which signals deviated. */
  contributions: Record<string, number>;
}

/** Normal-window scores sorted, at most {@link MAX_NORMAL_SCORES} (thinned evenly: every quantile keeps its place). */
function keepNormalScores(scores: number[]): number[] {
  return keepSortedScores(scores, MAX_NORMAL_SCORES);
}

/**
 * The training windows' scores, ready to join the held-out ones in the threshold's sample. A model can reconstruct the
 * windows it was trained on better than new ones; where the held-out windows' median score is above the training
 * windows', the training scores are scaled up by that ratio (never down), so an optimistic training set cannot pull the
 * threshold below what held-out data supports.
 */
function scaleTrainingScores(trained: number[], held: number[]): number[] {
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? 0 : s[Math.floor(s.length / 2)]!;
  };
  const mt = median(trained);
  const ratio = mt > 0 ? median(held) / mt : 1;
  return ratio > 1 && Number.isFinite(ratio) ? trained.map((x) => x * ratio) : trained;
}

/** Refuses fit options that would fail deep in training, or train on nonsense, before anything runs. */
function checkFitOptions(options: AnomalyDetectorOptions): void {
  const bad = (name: string, want: string, got: unknown): never => {
    throw new LeptonError('INVALID_ARGUMENT', `AnomalyDetector.fit: ${name} must be ${want}, got ${describeValue(got)}.`);
  };
  if (options == null || typeof options !== 'object') bad('options', 'an object with signals', options);
  const { signals, window, validationFraction, quantile, epochs, kind, scoring, seed } = options;
  if (!Array.isArray(signals) || signals.length === 0 || signals.some((x) => typeof x !== 'string' || x === '') || new Set(signals).size !== signals.length) bad('signals', 'distinct non-empty names', signals);
  if (window !== undefined && !(Number.isSafeInteger(window) && window >= 2)) bad('window', 'a whole number ≥ 2', window);
  if (validationFraction !== undefined && !(typeof validationFraction === 'number' && validationFraction > 0 && validationFraction < 1)) bad('validationFraction', 'a number in (0, 1)', validationFraction);
  if (quantile !== undefined && !isQuantile(quantile)) bad('quantile', 'a number in (0, 1]', quantile);
  if (epochs !== undefined && !(Number.isSafeInteger(epochs) && epochs >= 1)) bad('epochs', 'a whole number ≥ 1', epochs);
  if (kind !== undefined && kind !== 'dense' && kind !== 'lstm') bad('kind', "'dense' or 'lstm'", kind);
  if (scoring !== undefined && scoring !== 'balanced' && scoring !== 'mse') bad('scoring', "'balanced' or 'mse'", scoring);
  if (seed !== undefined && !Number.isSafeInteger(seed)) bad('seed', 'a whole number', seed);
}

/** The first sample that is not `width` finite numbers, with why (no value is quoted: it may be anything). */
function firstBadSample(rows: ReadonlyArray<unknown>, width: number): { sample: number; why: string } | undefined {
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as ArrayLike<unknown> | null | undefined;
    if (r == null || typeof r !== 'object' || r.length !== width) return { sample: i, why: `needs ${width} values (one per signal)` };
    for (let j = 0; j < width; j++) {
      const v = r[j];
      if (typeof v !== 'number' || !Number.isFinite(v)) return { sample: i, why: `value ${j} is not a finite number` };
    }
  }
  return undefined;
}

/**
 * Learned multivariate anomaly detection: an autoencoder (dense or LSTM, from `@lepton/core`) trained on windows of
 * normal operation, scaled with statistics of that normal data; a window's score is its reconstruction error and each
 * signal's share says which sensors deviated. The alarm threshold comes from a quantile of the normal windows' scores, can
 * be set from more normal operation ({@link AnomalyDetector.calibrate}) and changed at any time without retraining.
 */
export class AnomalyDetector {
  readonly #engines: ModelWorkers;

  private constructor(
    private readonly model: tf.LayersModel,
    private readonly settings: Settings,
    workers: number,
  ) {
    this.#engines = new ModelWorkers(model, workers, WORKER_CHUNK, 'This AnomalyDetector');
  }

  /** Worker threads scoring windows (1: in this thread). */
  get workers(): number {
    return this.#engines.count;
  }

  /** Signal names, in column order. */
  get signals(): readonly string[] {
    return this.settings.signals;
  }

  /** Samples per window. */
  get window(): number {
    return this.settings.window;
  }

  /** Current alarm threshold. */
  get threshold(): number {
    return this.settings.threshold;
  }

  /**
   * Trains on normal operation (samples in time order, one value per signal).
   *
   * @param normal - normal-operation samples
   * @param options - signals, window, architecture, threshold quantile
   * @returns the detector
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for too little data, or a sample that is not one finite
   *   number per signal, `INVALID_ARGUMENT` for a bad option (`signals`, `window`, `quantile` …, before any training),
   *   `PROGRESS_LISTENER_FAILED` when the `onProgress` listener throws (training stops, nothing is kept)
   */
  static async fit(normal: ReadonlyArray<ArrayLike<number>>, options: AnomalyDetectorOptions): Promise<AnomalyDetector> {
    return AnomalyDetector.fitSeries([normal], options);
  }

  /**
   * Trains one detector on several series of normal operation — e.g. each asset of a line of identical machines —
   * without windows spanning two series; the threshold comes from the latest part of every series.
   *
   * @param series - normal-operation samples per series, each in time order
   * @param options - signals, window, architecture, threshold quantile
   * @returns the detector
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for too little data, or a sample that is not one finite
   *   number per signal, `INVALID_ARGUMENT` for a bad option (`signals`, `window`, `quantile` …, before any training),
   *   `PROGRESS_LISTENER_FAILED` when the `onProgress` listener throws (training stops, nothing is kept)
   */
  static async fitSeries(series: ReadonlyArray<ReadonlyArray<ArrayLike<number>>>, options: AnomalyDetectorOptions): Promise<AnomalyDetector> {
    checkFitOptions(options);
    const workers = resolveWorkersOption(options.workers, 'AnomalyDetector.fit');
    const progress = progressReporter(options, 'AnomalyDetector.fit');
    const s = options.signals.length;
    const w = options.window ?? 30;
    if (!Array.isArray(series) || series.some((rows) => !Array.isArray(rows))) throw new LeptonError('INVALID_INPUT', 'Normal operation must be an array of samples (fitSeries: an array of such arrays).');
    const all = series.flat();
    series.forEach((rows, k) => {
      const bad = firstBadSample(rows, s);
      if (bad) throw new LeptonError('INVALID_INPUT', `Series ${k}, sample ${bad.sample}: ${bad.why}; repair or drop it before training.`, { details: { series: k, ...bad } });
    });
    if (series.some((rows) => rows.length < 5 * w)) throw new LeptonError('INVALID_INPUT', `Need at least ${5 * w} normal samples per series for windows of ${w}.`);
    const mean = options.signals.map((_, j) => all.reduce((a, r) => a + r[j]!, 0) / all.length);
    const std = options.signals.map((_, j) => Math.sqrt(all.reduce((a, r) => a + (r[j]! - mean[j]!) ** 2, 0) / (all.length - 1)) || 1);
    // Values near ±1e308 overflow the sums: the scaling would be Infinity, every score 0 and the threshold 0.
    const huge = options.signals.findIndex((_, j) => !Number.isFinite(mean[j]!) || !Number.isFinite(std[j]!));
    if (huge >= 0) throw new LeptonError('INVALID_INPUT', `Signal ${huge} ('${options.signals[huge]}') holds values too large to scale (their mean or spread overflows); convert it to a smaller unit before training.`, { details: { signal: huge } });
    const kind = options.kind ?? 'dense';
    const fraction = options.validationFraction ?? 0.2;
    const settings: Settings = { signals: [...options.signals], window: w, kind, mean, std, validationScores: [], threshold: Infinity };
    const model =
      kind === 'dense'
        ? buildDenseAutoencoder({ inputDim: w * s, hiddenUnits: [64], latentDim: Math.max(4, Math.round(w * s * 0.1)), seed: options.seed ?? 1 })
        : buildLstmAutoencoder({ timesteps: w, features: s, units: 32, latentDim: 16, seed: options.seed ?? 1 });
    const detector = new AnomalyDetector(model, settings, workers);
    const splits = series.map((rows) => Math.floor(rows.length * (1 - fraction)));
    const trainX = tf.tidy(() => {
      const parts = series.map((rows, i) => detector.input(detector.windows(rows.slice(0, splits[i]))));
      return parts.length === 1 ? parts[0]! : tf.concat(parts, 0);
    });
    try {
      await train(model, { x: trainX, y: trainX }, { epochs: options.epochs ?? 20, batchSize: 64, learningRate: 2e-3, validationSplit: 0.1, seed: options.seed ?? 1, progressBar: false, ...(progress ? { onProgress: progress } : {}) });
    } catch (err) {
      model.dispose(); // no worker has started yet (they start on the first score): the weights are all there is to free
      throw err;
    } finally {
      trainX.dispose();
    }
    const held: AnomalyScore[] = [];
    for (let i = 0; i < series.length; i++) held.push(...(await detector.scoreRows(series[i]!.slice(splits[i]))));
    if ((options.scoring ?? 'balanced') === 'balanced')
      settings.signalScale = options.signals.map((name) => held.reduce((a, r) => a + r.contributions[name]!, 0) / held.length || 1);
    // Scored after signalScale is set, so every score below is in the detector's own units.
    const heldScores = held.map((r) => options.signals.reduce((a, name, j) => a + r.contributions[name]! / (settings.signalScale?.[j] ?? 1), 0) / s);
    const trained: number[] = [];
    for (let i = 0; i < series.length; i++) for (const r of await detector.scoreRows(series[i]!.slice(0, splits[i]))) trained.push(r.score);
    settings.validationScores = keepNormalScores([...heldScores, ...scaleTrainingScores(trained, heldScores)]);
    detector.setThresholdQuantile(options.quantile ?? 0.995);
    return detector;
  }

  /** Scaled sliding windows (stride 1), packed window after window. */
  private windows(rows: ReadonlyArray<ArrayLike<number>>): Float32Array {
    const { window: w, signals, mean, std } = this.settings;
    const s = signals.length;
    const n = rows.length - w + 1;
    const data = new Float32Array(Math.max(0, n) * w * s);
    for (let i = 0; i < n; i++)
      for (let t = 0; t < w; t++) {
        const row = rows[i + t] as ArrayLike<unknown> | null | undefined;
        for (let j = 0; j < s; j++) {
          const v = row == null ? undefined : row[j];
          data[(i * w + t) * s + j] = typeof v === 'number' ? scaleValue(v, mean[j]!, std[j]!) : Number.NaN; // refused by firstBadSample
        }
      }
    return data;
  }

  /** Packed scaled windows as the model's input tensor. */
  private input(data: Float32Array): tf.Tensor {
    const { window: w, signals, kind } = this.settings;
    const s = signals.length;
    const n = data.length / (w * s);
    return kind === 'dense' ? tf.tensor2d(data, [n, w * s]) : tf.tensor3d(data, [n, w, s]);
  }

  /**
   * Scores packed scaled windows (`data`, owned by this call). The threshold is read before the first `await`; in this
   * thread the forward pass is dispatched then too, and only the read-back (`data()`, never a synchronous read, which
   * blocks a GPU backend and throws on WebGPU in Node) is awaited. With workers the reconstructions come back from
   * them and the same error arithmetic runs here, so the scores are those of this thread.
   *
   * @param inThread - run the model in this thread even when the detector has workers
   */
  private async score(data: Float32Array, inThread = false): Promise<AnomalyScore[]> {
    const { window: w, signals, threshold } = this.settings;
    const s = signals.length;
    const pooled = this.#engines.pooled && !inThread;
    const reconstruction = pooled ? await this.#engines.predictMany(data, data.length / (w * s)) : undefined;
    const perSignal = tf.tidy(() => {
      const x = this.input(data);
      const y = reconstruction ? tf.tensor(reconstruction, x.shape) : (this.model.predict(x) as tf.Tensor);
      const err = tf.square(tf.sub(y, x));
      return tf.mean(tf.reshape(err, [-1, w, s]), 1);
    });
    let values: Float32Array;
    try {
      values = (await perSignal.data()) as Float32Array;
    } finally {
      perSignal.dispose();
    }
    const scale = this.settings.signalScale;
    return Array.from({ length: values.length / s }, (_, i) => {
      const row = Array.from(values.subarray(i * s, (i + 1) * s), (v, j) => (scale ? v / scale[j]! : v));
      const score = row.reduce((a, v) => a + v, 0) / s;
      // Inputs are clipped (scaleValue), so only a damaged model gets here: a NaN score would never alarm.
      if (!Number.isFinite(score)) throw new LeptonError('MFG_NON_FINITE_RESULT', `Window ${i}: the model's reconstruction error is not finite; the model is damaged (reload or retrain it).`);
      return { score, alarm: score > threshold, contributions: Object.fromEntries(signals.map((name, j) => [name, row[j]!])) };
    });
  }

  /**
   * Scores every full window of a sample series (window i ends at sample i + window − 1).
   *
   * @param rows - samples in time order
   * @returns one score per window (read back asynchronously: no synchronous GPU read)
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a missing or non-finite value (the promise rejects),
   *   `PREDICTOR_CLOSED` after {@link close}; with workers, `WORKER_CRASHED` when a worker died (retrying is safe)
   */
  async scoreRows(rows: ReadonlyArray<ArrayLike<number>>): Promise<AnomalyScore[]> {
    this.#engines.assertOpen();
    if (!Array.isArray(rows)) throw new LeptonError('INVALID_INPUT', `Rows must be an array of samples, got ${describeValue(rows)}.`);
    if (rows.length < this.settings.window) return [];
    const data = this.windows(rows);
    const bad = this.firstNonFinite(data);
    if (bad) throw new LeptonError('INVALID_INPUT', `Sample ${bad.window + bad.step} has no finite value for signal '${bad.signal}'; repair or drop it before scoring.`, { details: { sample: bad.window + bad.step, signal: bad.signal } });
    return this.score(data);
  }

  /**
   * Scores many windows in one forward pass — e.g. the current window of every asset of a line, so a fleet costs one
   * model call per tick instead of one per asset.
   *
   * `windows` is copied before this returns its promise: the caller may refill the buffer while the scores are read
   * back (asynchronously, so a GPU backend is never blocked by a synchronous read).
   *
   * @param windows - raw (unscaled) values, window after window, each `window × signals` values oldest sample first
   * @param count - number of windows in `windows`
   * @returns one score per window
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` when `windows` does not hold `count` windows or holds a
   *   non-finite value (the promise rejects), `PREDICTOR_CLOSED` after {@link close}; with workers, `WORKER_CRASHED`
   *   when a worker died (retrying is safe)
   */
  async scoreBatch(windows: Float32Array, count: number): Promise<AnomalyScore[]> {
    this.#engines.assertOpen();
    const { window: w, signals, mean, std } = this.settings;
    const s = signals.length;
    if (!Number.isSafeInteger(count) || count < 0) throw new LeptonError('INVALID_INPUT', `count must be a whole number ≥ 0, got ${describeValue(count)}.`);
    if (windows == null || typeof (windows as { length?: unknown }).length !== 'number') throw new LeptonError('INVALID_INPUT', `windows must be a Float32Array, got ${describeValue(windows)}.`);
    if (windows.length < count * w * s) throw new LeptonError('INVALID_INPUT', `Expected ${count} windows of ${w}×${s} values, got ${windows.length} values.`);
    if (count === 0) return [];
    const data = new Float32Array(count * w * s);
    for (let i = 0; i < data.length; i++) {
      const j = i % s;
      const v: unknown = windows[i];
      // Non-finite raw values stay NaN and are refused below with their place; finite ones are scaled and clipped.
      data[i] = typeof v === 'number' && Number.isFinite(v) ? scaleValue(v, mean[j]!, std[j]!) : Number.NaN;
    }
    const bad = this.firstNonFinite(data);
    if (bad) throw new LeptonError('INVALID_INPUT', `Window ${bad.window} has no finite value for signal '${bad.signal}' at step ${bad.step}; repair or drop it before scoring.`, { details: { ...bad } });
    return this.score(data);
  }

  /**
   * The first value of packed scaled windows that is NaN or infinite (a missing value, a short row, an overflow), so it
   * is refused with its place rather than scored as NaN — in this thread and on workers alike.
   */
  private firstNonFinite(data: Float32Array): { window: number; step: number; signal: string } | undefined {
    const { window: w, signals } = this.settings;
    const s = signals.length;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i]!)) return { window: Math.floor(i / (w * s)), step: Math.floor(i / s) % w, signal: signals[i % s]! };
    }
    return undefined;
  }

  /**
   * A streaming scorer: push one sample at a time; it keeps the last `window` scaled samples in a ring buffer (one
   * sample's work per push, no re-windowing of history) and scores as soon as the window is full. It scores in this
   * thread even when the detector has workers: one window per push, where a round trip to a worker only adds latency.
   *
   * @returns `push(sample)` → a promise of the score of the window ending at that sample, or undefined while filling
   * @example
   * ```ts
   * const live = detector.stream();
   * for (const row of rows) {
   *   const s = await live.push(row);
   *   if (s?.alarm) console.log(s.score, s.contributions);
   * }
   * ```
   */
  stream(): AnomalyStream {
    const { window: w, signals, mean, std } = this.settings;
    const s = signals.length;
    const ring = new Float32Array(w * s);
    let filled = 0;
    let head = 0; // next slot to overwrite = oldest sample
    return {
      push: async (sample) => {
        this.#engines.assertOpen();
        // Refused before it enters the window: a NaN would otherwise score the next `window` windows as NaN, never alarming.
        const bad = firstBadSample([sample], s);
        if (bad) throw new LeptonError('INVALID_INPUT', `A sample ${bad.why}; it was not added (the stream goes on without it).`);
        for (let j = 0; j < s; j++) ring[head * s + j] = scaleValue(sample[j]!, mean[j]!, std[j]!);
        head = (head + 1) % w;
        filled = Math.min(w, filled + 1);
        if (filled < w) return undefined;
        // A fresh array per push: the next push may run while this window's score is still being read back.
        const ordered = new Float32Array(w * s);
        ordered.set(ring.subarray(head * s), 0);
        ordered.set(ring.subarray(0, head * s), (w - head) * s);
        return (await this.score(ordered, true))[0];
      },
    };
  }

  /**
   * Sets the alarm threshold to a quantile of the normal windows' scores (training, held-out and calibrated) — no retraining.
   *
   * @param quantile - e.g. 0.999 for fewer alarms
   */
  setThresholdQuantile(quantile: number): void {
    const v = this.settings.validationScores;
    checkQuantile(quantile, 'AnomalyDetector.setThresholdQuantile');
    if (v.length === 0) throw new LeptonError('INVALID_ARGUMENT', 'AnomalyDetector.setThresholdQuantile: the detector keeps no normal scores to take a quantile of; calibrate it first.');
    this.settings.threshold = sortedQuantile(v, quantile);
    this.settings.quantile = quantile;
  }

  /**
   * Sets the alarm threshold directly.
   *
   * @param threshold - reconstruction error above which a window alarms (a finite number ≥ 0, or `Infinity` for none)
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for anything else (NaN would silence every alarm)
   */
  setThreshold(threshold: number): void {
    if (typeof threshold !== 'number' || Number.isNaN(threshold) || threshold < 0) throw new LeptonError('INVALID_ARGUMENT', `Threshold must be a number ≥ 0, got ${describeValue(threshold)}.`);
    this.settings.threshold = threshold;
    delete this.settings.quantile;
  }

  /** Normal-window scores the threshold is chosen from: the training and held-out windows of `fit`, plus any {@link calibrate}d. */
  get normalWindows(): number {
    return this.settings.validationScores.length;
  }

  /**
   * Sets the threshold from more normal operation, without retraining: every window of `rows` (samples in time order —
   * e.g. days of a commissioned machine, start-ups included) is scored and joins the normal windows the threshold is a
   * quantile of; call once per series (an asset, a day). `fit`'s windows overlap, so their 0.995 quantile rests on a few
   * dozen excursions: on the package's simulated machine, 13 fits alarmed on 0.00–1.48 % of fresh normal windows against
   * the 0.5 % asked, and on 0.00–0.54 % once calibrated with 6,000 more samples (`bench/manufacturing-threshold.ts`).
   * Calibrate on what you call normal: windows of start-ups included raise the threshold to cover start-ups. Scores and
   * threshold travel with {@link save}.
   *
   * @param rows - normal-operation samples in time order, one value per signal (at least one window)
   * @param options - `quantile`: the threshold quantile (default: the one last set, else 0.995)
   * @returns the windows added, the normal windows now kept, and the new threshold
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad quantile, `INVALID_INPUT` for fewer samples
   *   than a window, rows of the wrong width or a non-finite value (nothing is added), `PREDICTOR_CLOSED` after
   *   {@link close}
   */
  async calibrate(rows: ReadonlyArray<ArrayLike<number>>, options: AnomalyCalibrateOptions = {}): Promise<AnomalyCalibration> {
    const quantile = checkQuantile(options?.quantile ?? this.settings.quantile ?? 0.995, 'AnomalyDetector.calibrate');
    if (!Array.isArray(rows) || rows.length < this.settings.window) throw new LeptonError('INVALID_INPUT', `Calibration needs at least ${this.settings.window} samples (one window), got ${Array.isArray(rows) ? rows.length : describeValue(rows)}.`);
    const bad = firstBadSample(rows, this.settings.signals.length);
    if (bad) throw new LeptonError('INVALID_INPUT', `Calibration sample ${bad.sample}: ${bad.why}; nothing was added.`, { details: { ...bad } });
    const added = (await this.scoreRows(rows)).map((r) => r.score);
    const merged = keepNormalScores([...this.settings.validationScores, ...added]);
    this.settings.validationScores = merged;
    this.setThresholdQuantile(quantile);
    return { added: added.length, normalWindows: merged.length, threshold: this.settings.threshold };
  }

  /**
   * Saves as a verified core bundle; scaling, window and threshold travel in its preprocessing.
   *
   * @param dir - target directory
   * @param meta - name and semantic version
   */
  async save(dir: string, meta: { name: string; version: string }): Promise<void> {
    await saveBundle(this.model, join(dir), { ...meta, task: 'regression', preprocessing: { ...this.settings } as unknown as Record<string, unknown>, description: 'Lepton anomaly detector (autoencoder on windows of normal operation)' });
  }

  /**
   * Loads a detector saved by {@link save}.
   *
   * @param dir - bundle directory
   * @param options - `workers`: threads scoring windows (default 1, in this thread; see {@link AnomalyDetectorOptions.workers})
   * @returns the detector (its workers start when it first scores)
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad `workers`, `BUNDLE_INVALID` when the bundle
   *   is not an anomaly detector or its settings are damaged (signals, window or kind that do not fit the model, scaling
   *   that is not finite, normal scores, threshold or quantile out of range), or any bundle error from loading
   */
  static async load(dir: string, options: Pick<AnomalyDetectorOptions, 'workers'> = {}): Promise<AnomalyDetector> {
    const workers = resolveWorkersOption(options?.workers, 'AnomalyDetector.load');
    const b = await loadBundle(dir, { expectTask: 'regression' });
    const s = readAnomalySettings(b.manifest.preprocessing, b.model.inputs[0]?.shape ?? []);
    if (typeof s === 'string') {
      b.model.dispose();
      throw new LeptonError('BUNDLE_INVALID', `${dir} is not a usable Lepton anomaly detector: ${s}.`);
    }
    return new AnomalyDetector(b.model, s, workers);
  }

  /**
   * Frees the model's weights and stops the workers, if any, once they have scored what they accepted. The detector
   * cannot be used afterwards; await {@link close} instead to know when the threads are gone.
   */
  dispose(): void {
    this.close().catch(() => undefined); // close() only rejects if a thread cannot be ended; nothing to do about it here
  }

  /**
   * Like {@link dispose}, resolving once every worker thread has exited. Idempotent.
   *
   * @returns when the weights are freed and no worker thread is left
   */
  close(): Promise<void> {
    return this.#engines.close();
  }
}
