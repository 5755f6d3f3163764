import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { countClasses, lengthOf, numbers, optionsObject, type Numeric } from '../metrics/validate.js';
import { fitConvex, fitLogistic, sigmoid } from './solvers.js';

/** One modality's score per sample; `null`, `undefined` or `NaN` marks a missing score. */
export type ModalityScoreColumn = ArrayLike<number | null | undefined>;

/**
 * Scores of several modalities for the same samples: one column per modality (`scores[m][i]` = modality `m`, sample
 * `i`), as an array (modalities named by `names`, else `m0`, `m1` …) or as a record keyed by modality name.
 */
export type ModalityScores = ReadonlyArray<ModalityScoreColumn> | Readonly<Record<string, ModalityScoreColumn>>;

/** One sample's modality scores: an array in modality order, or a record keyed by modality name. */
export type SampleScores = ArrayLike<number | null | undefined> | Readonly<Record<string, number | null | undefined>>;

/**
 * How late fusion combines the modality scores:
 * - `logistic`: p = σ(b + Σ wₘ·fₘ), weights of any sign and a bias — stacking by logistic regression
 * - `convex`: weights wₘ ≥ 0 with Σ wₘ = 1 and no bias: p = Σ wₘ·sₘ (`input: 'raw'`) or σ(Σ wₘ·logit sₘ)
 *   (`input: 'logit'`); easier to explain, never lets one modality count against its own evidence
 */
export type LateFusionMethod = 'logistic' | 'convex';

/** What the fusion sees of each score: `logit` turns probabilities into log-odds first; `raw` uses them as given. */
export type LateFusionInput = 'logit' | 'raw';

/**
 * What to do with a sample whose score is missing for some modality:
 * - `error`: refuse with `FUSION_MISSING_SCORE`, listing every such sample (nothing is silently guessed)
 * - `renormalise`: leave the modality out and rescale the remaining weights to sum to 1 (`convex` only — logistic
 *   weights have signs and no fixed total, so there is nothing to renormalise); a sample left with no score of
 *   positive weight has no evidence to combine, and is refused with `FUSION_MISSING_SCORE` (never a `NaN`)
 * - `mean`: replace the missing (transformed) score by that modality's mean on the fitting data, its expected
 *   contribution; works for both methods
 */
export type MissingScorePolicy = 'error' | 'renormalise' | 'mean';

/** Options for {@link fitLateFusion}. */
export interface LateFusionOptions {
  /** Combination. Default `logistic`. */
  method?: LateFusionMethod;
  /** Score transform. Default `logit` (scores must then be probabilities in [0, 1]). */
  input?: LateFusionInput;
  /** Modality names for array input (default `m0`, `m1` …); ignored for record input. */
  names?: string[];
  /**
   * L2 penalty on the logistic weights (not the bias), objective Σ log-loss + (l2 / 2)·‖w‖², i.e. scikit-learn's
   * `C = 1 / l2`. 0 is an unpenalised fit, which has no finite optimum when the scores separate the labels perfectly.
   * Default 1e-3.
   */
  l2?: number;
  /** Missing-score policy stored with the fusion (predict may override it). Default `error`. */
  missing?: MissingScorePolicy;
  /** Iteration cap of the solver. Default 100 (logistic, Newton) / 20 000 (convex, projected gradient). */
  maxIterations?: number;
}

/** How the fit went. */
export interface LateFusionFitReport {
  /** Samples fitted on. */
  samples: number;
  /** Indices of the samples left out because some score was missing (fitting needs every score). */
  skipped: number[];
  /** Solver iterations. */
  iterations: number;
  /** Whether the solver met its tolerance within the iteration cap. */
  converged: boolean;
  /** Mean log-loss of the fused probabilities on the fitting samples. */
  logLoss: number;
}

/** Serialised {@link LateFusion}, for a bundle's metadata; restore with {@link lateFusionFromJSON}. */
export interface LateFusionJSON {
  /** Format marker. */
  kind: 'late-fusion';
  /** Format version (1). */
  formatVersion: 1;
  /** Combination. */
  method: LateFusionMethod;
  /** Score transform. */
  input: LateFusionInput;
  /** Modality names, in weight order. */
  modalities: string[];
  /** One weight per modality. */
  weights: number[];
  /** Bias (0 for `convex`). */
  bias: number;
  /** Mean transformed score per modality on the fitting data (used by the `mean` policy). */
  means: number[];
  /** Default missing-score policy. */
  missing: MissingScorePolicy;
}

/** Options for {@link LateFusion.predict}. */
export interface LateFusionPredictOptions {
  /** Overrides the fusion's stored missing-score policy for this call. */
  missing?: MissingScorePolicy;
}

/** A fitted late fusion: per-modality scores in, one fused probability out. */
export interface LateFusion {
  /** Combination. */
  readonly method: LateFusionMethod;
  /** Score transform. */
  readonly input: LateFusionInput;
  /** Modality names, in weight order. */
  readonly modalities: readonly string[];
  /** One weight per modality (on the transformed scores). */
  readonly weights: readonly number[];
  /** Bias (0 for `convex`). */
  readonly bias: number;
  /** Default missing-score policy. */
  readonly missing: MissingScorePolicy;
  /** How the fit went (`undefined` on a fusion restored from JSON). */
  readonly report: LateFusionFitReport | undefined;
  /**
   * Fused probabilities of several samples.
   *
   * @param scores - one column per modality, same layout as for fitting. A modality left out of a record, and a
   *   `null`, `undefined`, `NaN` or hole (of a sparse array) in a column, is a missing score; at least one column must
   *   be given (it sets the sample count), and samples × modalities must not exceed {@link MAX_LATE_FUSION_SCORES}
   * @param options - missing-score policy override
   * @returns one probability per sample (empty for columns of no samples)
   * @throws {@link LeptonError} `FUSION_MISSING_SCORE` (policy `error`, or `renormalise` for a sample with no score of
   *   positive weight; `details.samples` lists every such sample), `INVALID_INPUT` for a score out of range, an unknown
   *   modality, no column at all, more scores than {@link MAX_LATE_FUSION_SCORES} or a column whose reading throws,
   *   `SHAPE_MISMATCH` for columns of unequal length, `INVALID_ARGUMENT` for options that are not an object or an
   *   unknown policy
   */
  predict(scores: ModalityScores, options?: LateFusionPredictOptions): number[];
  /**
   * Fused probability of one sample.
   *
   * @param scores - the sample's score per modality (array in modality order, or record by name; a modality left out
   *   of the record is missing, so `{}` is a sample with every score missing, which the policy decides)
   * @param options - missing-score policy override
   * @returns the probability
   * @throws {@link LeptonError} as {@link LateFusion.predict}; `SHAPE_MISMATCH` for an array whose length is not the
   *   number of modalities
   */
  predictOne(scores: SampleScores, options?: LateFusionPredictOptions): number;
  /** Parameters, for a bundle's metadata. */
  toJSON(): LateFusionJSON;
}

/** Probabilities are clipped to [ε, 1 − ε] before the logit, so a score of exactly 0 or 1 stays finite. */
const EPS = 1e-6;

function transform(v: number, input: LateFusionInput, modality: string, index: number): number {
  if (input === 'raw') {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new LeptonError('INVALID_INPUT', `Late fusion: score of modality ${describeValue(modality)} at sample ${index} is ${describeValue(v)}, not a finite number.`);
    }
    return v;
  }
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
    throw new LeptonError(
      'INVALID_INPUT',
      `Late fusion: score of modality ${describeValue(modality)} at sample ${index} is ${describeValue(v)}, but input 'logit' needs probabilities in [0, 1]; pass input: 'raw' for other scores.`,
    );
  }
  const p = Math.min(1 - EPS, Math.max(EPS, v));
  return Math.log(p / (1 - p));
}

const isMissing = (v: unknown): boolean => v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));

/**
 * Most scores (samples × modalities) one {@link LateFusion.predict} or {@link fitLateFusion} call takes: 2^24
 * (16,777,216, i.e. 128 MiB of features). Larger batches are `INVALID_INPUT` before anything is allocated; split them.
 */
export const MAX_LATE_FUSION_SCORES = 2 ** 24;

/** Most modalities a late fusion combines: 1024. */
export const MAX_LATE_FUSION_MODALITIES = 1024;

/** A modality absent from a record input: missing for every sample (the policy decides). */
const ABSENT: ModalityScoreColumn = Object.freeze({ length: -1 });

/** Runs `f`, turning a raw error (a throwing getter or Proxy trap in the caller's data) into `INVALID_INPUT`. */
function guarded<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof LeptonError) throw err;
    throw new LeptonError('INVALID_INPUT', `${what}: reading the scores threw (see cause).`, { cause: err });
  }
}

/** Columns in modality order; names from the record or the options. */
function columns(scores: ModalityScores, names: readonly string[] | undefined, what: string): { names: string[]; cols: ModalityScoreColumn[] } {
  if (scores === null || typeof scores !== 'object') {
    throw new LeptonError('INVALID_INPUT', `${what}: scores must be an array of score columns or a record of columns by modality, got ${describeValue(scores)}.`);
  }
  if (names !== undefined && !(Array.isArray(names) && names.length <= MAX_LATE_FUSION_MODALITIES && Array.from(names).every((n) => typeof n === 'string'))) {
    throw new LeptonError('INVALID_ARGUMENT', `${what}: names must be an array of at most ${MAX_LATE_FUSION_MODALITIES} modality names, got ${describeValue(names)}.`);
  }
  return guarded(what, () => {
    if (Array.isArray(scores)) {
      const count = scores.length;
      if (count > MAX_LATE_FUSION_MODALITIES) throw new LeptonError('INVALID_INPUT', `${what}: ${count} score columns; at most ${MAX_LATE_FUSION_MODALITIES} modalities are fused.`);
      // Index loops: a hole in a sparse array is read (as undefined, refused below), never skipped.
      const cols: ModalityScoreColumn[] = [];
      for (let m = 0; m < count; m++) cols.push((scores as ModalityScoreColumn[])[m]!);
      const n = names === undefined ? Array.from({ length: count }, (_, m) => `m${m}`) : Array.from(names);
      if (n.length !== cols.length) throw new LeptonError('SHAPE_MISMATCH', `${what}: ${cols.length} score columns but ${n.length} modality names.`);
      return { names: n, cols };
    }
    const rec = scores as Readonly<Record<string, ModalityScoreColumn>>;
    const keys = Object.keys(rec);
    if (names === undefined) {
      if (keys.length > MAX_LATE_FUSION_MODALITIES) throw new LeptonError('INVALID_INPUT', `${what}: ${keys.length} modalities; at most ${MAX_LATE_FUSION_MODALITIES} are fused.`);
      return { names: keys, cols: keys.map((k) => rec[k]!) };
    }
    const unknown = keys.filter((k) => !names.includes(k));
    if (unknown.length > 0) {
      throw new LeptonError('INVALID_INPUT', `${what}: unknown modality '${unknown[0]}'; this fusion combines ${names.map((n) => describeValue(n)).join(', ')}.`);
    }
    // A modality absent from the record is missing for every sample (the policy decides). Own properties only: a
    // modality named 'constructor' or 'toString' read Object.prototype's function when absent.
    const cols = names.map((k) => (Object.hasOwn(rec, k) ? rec[k] : undefined) ?? ABSENT);
    return { names: [...names], cols };
  });
}

/** Transformed scores, `data[i * m + j]` = sample `i`, modality `j`, NaN where missing. */
interface Features {
  /** Samples. */
  n: number;
  /** Modalities. */
  m: number;
  data: Float64Array;
}

/**
 * Reads every score once (index loops: a hole of a sparse column is `undefined`, i.e. missing) into one flat array,
 * after checking the sizes: nothing is allocated for a column longer than {@link MAX_LATE_FUSION_SCORES} allows.
 */
function features(cols: ModalityScoreColumn[], names: string[], input: LateFusionInput, what: string): Features {
  if (cols.length === 0) throw new LeptonError('INVALID_INPUT', `${what}: no modality scores given.`);
  const lengths = cols.map((c, m) => {
    if (c === ABSENT) return -1;
    const bad = (cause?: unknown): never => {
      throw new LeptonError('INVALID_INPUT', `${what}: the scores of modality ${describeValue(names[m])} must be an array of numbers, got ${describeValue(c)}.`, cause === undefined ? {} : { cause });
    };
    if (c === null || typeof c !== 'object') bad();
    let length: unknown;
    try {
      length = (c as { length?: unknown }).length;
    } catch (err) {
      bad(err);
    }
    if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) bad();
    return length as number;
  });
  const present = lengths.filter((l) => l >= 0);
  if (present.length === 0) {
    throw new LeptonError('INVALID_INPUT', `${what}: no score column given (every modality is absent), so there is no sample count; pass at least one column.`);
  }
  const n = Math.max(...present);
  lengths.forEach((l, m) => {
    if (l !== n && l !== -1) throw new LeptonError('SHAPE_MISMATCH', `${what}: modality ${describeValue(names[m])} has ${l} scores but another has ${n}.`);
  });
  const M = cols.length;
  if (n * M > MAX_LATE_FUSION_SCORES) {
    throw new LeptonError('INVALID_INPUT', `${what}: ${n} samples × ${M} modalities is more than the ${MAX_LATE_FUSION_SCORES} scores one call takes; split the batch.`, { details: { samples: n, modalities: M, limit: MAX_LATE_FUSION_SCORES } });
  }
  const data = new Float64Array(n * M);
  for (let j = 0; j < M; j++) {
    const c = cols[j]!;
    if (c === ABSENT) {
      for (let i = 0; i < n; i++) data[i * M + j] = Number.NaN;
      continue;
    }
    for (let i = 0; i < n; i++) {
      let v: unknown;
      try {
        v = c[i];
      } catch (err) {
        throw new LeptonError('INVALID_INPUT', `${what}: reading score ${i} of modality ${describeValue(names[j])} threw (see cause).`, { cause: err });
      }
      data[i * M + j] = isMissing(v) ? Number.NaN : transform(v as number, input, names[j]!, i);
    }
  }
  return { n, m: M, data };
}

/** Indices of the samples with some score missing. */
function incomplete(f: Features): number[] {
  const out: number[] = [];
  for (let i = 0; i < f.n; i++) {
    for (let j = 0; j < f.m; j++) {
      if (Number.isNaN(f.data[i * f.m + j]!)) {
        out.push(i);
        break;
      }
    }
  }
  return out;
}

class FittedLateFusion implements LateFusion {
  constructor(
    readonly method: LateFusionMethod,
    readonly input: LateFusionInput,
    readonly modalities: readonly string[],
    readonly weights: readonly number[],
    readonly bias: number,
    private readonly means: readonly number[],
    readonly missing: MissingScorePolicy,
    readonly report: LateFusionFitReport | undefined = undefined,
  ) {}

  predict(scores: ModalityScores, options: LateFusionPredictOptions = {}): number[] {
    const o = optionsObject(options, 'LateFusion.predict');
    const { cols } = columns(scores, this.modalities, 'LateFusion.predict');
    if (cols.length !== this.modalities.length) {
      throw new LeptonError('SHAPE_MISMATCH', `LateFusion.predict: ${cols.length} score columns for a fusion of ${this.modalities.length} modalities (${this.modalities.join(', ')}).`);
    }
    const policy = resolvePolicy(o.missing ?? this.missing, this.method);
    const f = features(cols, [...this.modalities], this.input, 'LateFusion.predict');
    if (policy === 'error') {
      const bad = incomplete(f);
      if (bad.length > 0) {
        throw new LeptonError(
          'FUSION_MISSING_SCORE',
          `LateFusion.predict: ${bad.length} of ${f.n} sample(s) miss a modality score (first: sample ${bad[0]}). Supply every score, or predict with missing: 'mean'${this.method === 'convex' ? " or 'renormalise'" : ''}.`,
          { details: { samples: bad, count: bad.length } },
        );
      }
    }
    const out = new Array<number>(f.n);
    const empty: number[] = [];
    for (let i = 0; i < f.n; i++) {
      const p = this.fuse(f.data.subarray(i * f.m, (i + 1) * f.m), policy);
      if (p === undefined) empty.push(i);
      else out[i] = p;
    }
    if (empty.length > 0) {
      throw new LeptonError(
        'FUSION_MISSING_SCORE',
        `LateFusion.predict: ${empty.length} of ${f.n} sample(s) have no score of a modality with positive weight (first: sample ${empty[0]}), so missing: 'renormalise' has no evidence to combine. Supply a score, or predict with missing: 'mean'.`,
        { details: { samples: empty, count: empty.length } },
      );
    }
    return out;
  }

  predictOne(scores: SampleScores, options: LateFusionPredictOptions = {}): number {
    if (scores === null || typeof scores !== 'object') {
      throw new LeptonError('INVALID_INPUT', `LateFusion.predictOne: scores must be an array in modality order or a record by modality, got ${describeValue(scores)}.`);
    }
    const names = this.modalities;
    // One column of one sample per modality, in modality order: a modality left out of a record is a missing score
    // (a record naming none of them is one sample with every score missing, which the policy decides).
    const cols = guarded('LateFusion.predictOne', (): ModalityScoreColumn[] => {
      const length: unknown = (scores as { length?: unknown }).length;
      if (typeof length === 'number') {
        if (length !== names.length) throw new LeptonError('SHAPE_MISMATCH', `LateFusion.predictOne: ${describeValue(length)} scores for a fusion of ${names.length} modalities (${names.join(', ')}).`);
        const a = scores as ArrayLike<number | null | undefined>;
        return names.map((_, m) => [a[m]]);
      }
      const rec = scores as Readonly<Record<string, number | null | undefined>>;
      const unknown = Object.keys(rec).filter((k) => !names.includes(k));
      if (unknown.length > 0) {
        throw new LeptonError('INVALID_INPUT', `LateFusion.predictOne: unknown modality '${unknown[0]}'; this fusion combines ${names.map((n) => describeValue(n)).join(', ')}.`);
      }
      return names.map((k) => [Object.hasOwn(rec, k) ? rec[k] : undefined]);
    });
    return this.predict(cols, options)[0]!;
  }

  /** The fused probability of one sample, or `undefined` when `renormalise` leaves no score of positive weight. */
  private fuse(f: ArrayLike<number>, policy: MissingScorePolicy): number | undefined {
    const w = this.weights;
    let z = this.bias;
    let total = 0;
    let present = 0;
    for (let m = 0; m < w.length; m++) {
      const v = Number.isNaN(f[m]!) ? (policy === 'mean' ? this.means[m]! : Number.NaN) : f[m]!;
      if (Number.isNaN(v)) continue; // renormalise: the modality is left out
      z += w[m]! * v;
      total += w[m]!;
      present++;
    }
    if (present === 0) return undefined;
    if (this.method === 'convex') {
      if (!(total > 0)) return undefined; // only zero-weight modalities are present: they carry no evidence
      z /= total; // renormalised weights; total is 1 when every score is there
      return this.input === 'logit' ? sigmoid(z) : z;
    }
    return sigmoid(z);
  }

  toJSON(): LateFusionJSON {
    return {
      kind: 'late-fusion',
      formatVersion: 1,
      method: this.method,
      input: this.input,
      modalities: [...this.modalities],
      weights: [...this.weights],
      bias: this.bias,
      means: [...this.means],
      missing: this.missing,
    };
  }
}

function resolvePolicy(policy: MissingScorePolicy, method: LateFusionMethod): MissingScorePolicy {
  if (policy !== 'error' && policy !== 'renormalise' && policy !== 'mean') {
    throw new LeptonError('INVALID_ARGUMENT', `missing must be 'error', 'renormalise' or 'mean', got ${describeValue(policy)}.`);
  }
  if (policy === 'renormalise' && method !== 'convex') {
    throw new LeptonError('INVALID_ARGUMENT', "missing: 'renormalise' needs method 'convex' (logistic weights have no fixed total); use 'mean' or 'error'.");
  }
  return policy;
}

/**
 * Fits late fusion on held-out (validation) data: the weights that best combine each modality's model score into one
 * probability, by maximum likelihood. `logistic` is logistic regression on the (log-odds of the) scores — the same
 * estimator as scikit-learn's `LogisticRegression` (C = 1 / l2; penalty none for l2 = 0), solved by Newton's method;
 * `convex` restricts the weights to the probability simplex (projected gradient). Fit on data the modality models did
 * not train on, or the fusion learns their over-confidence. Samples with a missing score are left out of the fit and
 * listed in `report.skipped`. Binary labels only.
 *
 * @param scores - per modality, per sample (array of columns or record by modality name)
 * @param labels - 0/1 per sample
 * @param options - method, transform, penalty and missing-score policy
 * @returns the fitted fusion
 * @throws {@link LeptonError} `INVALID_INPUT` for non-binary labels, a score out of range or fewer than two classes among
 *   the complete samples, more scores than {@link MAX_LATE_FUSION_SCORES} or more modalities than
 *   {@link MAX_LATE_FUSION_MODALITIES}; `SHAPE_MISMATCH` for lengths that disagree; `INVALID_ARGUMENT` for bad options (not an
 *   object, an unknown method, input or policy, an `l2` that is not a finite number ≥ 0, a `maxIterations` that is not
 *   a whole number ≥ 1);
 *   `TRAINING_FAILED` when the solver diverges
 * @example
 * ```ts
 * import { fitLateFusion } from '@lepton/core';
 * const fusion = fitLateFusion({ image: [0.9, 0.2, 0.7, 0.4, 0.8, 0.1], clinical: [0.6, 0.3, 0.4, 0.6, 0.7, 0.2] }, [1, 0, 1, 0, 1, 0], { l2: 1 });
 * console.log(fusion.predictOne({ image: 0.8, clinical: 0.5 }));
 * const stored = fusion.toJSON(); // e.g. saveBundle(…, { preprocessing: { lateFusion: stored } })
 * ```
 */
export function fitLateFusion(scores: ModalityScores, labels: Numeric, options: LateFusionOptions = {}): LateFusion {
  const o = optionsObject(options, 'fitLateFusion');
  const method = o.method ?? 'logistic';
  const input = o.input ?? 'logit';
  if (method !== 'logistic' && method !== 'convex') throw new LeptonError('INVALID_ARGUMENT', `method must be 'logistic' or 'convex', got ${describeValue(method)}.`);
  if (input !== 'logit' && input !== 'raw') throw new LeptonError('INVALID_ARGUMENT', `input must be 'logit' or 'raw', got ${describeValue(input)}.`);
  const l2 = o.l2 ?? 1e-3;
  if (typeof l2 !== 'number' || !(l2 >= 0) || !Number.isFinite(l2)) throw new LeptonError('INVALID_ARGUMENT', `l2 must be a finite number ≥ 0, got ${describeValue(l2)}.`);
  const missing = resolvePolicy(o.missing ?? 'error', method);
  const maxIterations = o.maxIterations ?? (method === 'logistic' ? 100 : 20_000);
  if (!Number.isSafeInteger(maxIterations) || maxIterations < 1) {
    // a Symbol threw a TypeError in the convex solver
    throw new LeptonError('INVALID_ARGUMENT', `maxIterations must be a whole number ≥ 1, got ${describeValue(maxIterations)}.`);
  }
  const { names, cols } = columns(scores, o.names, 'fitLateFusion');
  if (new Set(names).size !== names.length) throw new LeptonError('INVALID_ARGUMENT', `fitLateFusion: modality names must be unique, got ${names.map((n) => describeValue(n)).join(', ')}.`);
  const f = features(cols, names, input, 'fitLateFusion');
  const n = lengthOf(labels, 'fitLateFusion', 'labels');
  if (n !== f.n) throw new LeptonError('SHAPE_MISMATCH', `fitLateFusion: ${f.n} samples of scores but ${n} labels.`);
  const labelValues = numbers(labels, 'fitLateFusion', 'labels', 'binary');
  if (method === 'convex' && input === 'raw') {
    for (let i = 0; i < f.n; i++) {
      for (let m = 0; m < f.m; m++) {
        const v = f.data[i * f.m + m]!;
        if (v < 0 || v > 1) throw new LeptonError('INVALID_INPUT', `fitLateFusion: convex fusion of raw scores needs probabilities in [0, 1]; modality ${describeValue(names[m])} has ${v} at sample ${i}.`);
      }
    }
  }
  const skipped = incomplete(f);
  const x: number[][] = [];
  const y: number[] = [];
  for (let i = 0, s = 0; i < f.n; i++) {
    if (skipped[s] === i) {
      s++;
      continue;
    }
    x.push(Array.from(f.data.subarray(i * f.m, (i + 1) * f.m)));
    y.push(labelValues[i]!);
  }
  const { pos, neg } = countClasses(y);
  if (pos === 0 || neg === 0) {
    throw new LeptonError('INVALID_INPUT', `fitLateFusion needs both classes among the ${x.length} samples with every score (${skipped.length} left out for a missing score).`);
  }
  const means = names.map((_, m) => x.reduce((s, r) => s + r[m]!, 0) / x.length);
  const fit =
    method === 'logistic'
      ? fitLogistic(x, y, l2, maxIterations)
      : fitConvex(x, y, input, maxIterations);
  const report: LateFusionFitReport = { samples: x.length, skipped, iterations: fit.iterations, converged: fit.converged, logLoss: fit.loss };
  return new FittedLateFusion(method, input, names, fit.weights, fit.bias, means, missing, report);
}

/**
 * Restores a late fusion from its `toJSON()` form (e.g. from a bundle's metadata).
 *
 * @param json - the stored parameters
 * @returns the fusion (without a fit report)
 * @throws {@link LeptonError} `INVALID_INPUT` when `json` is not a stored late fusion (including one whose modality
 *   names repeat)
 * @example
 * ```ts
 * import { fitLateFusion, lateFusionFromJSON } from '@lepton/core';
 * const f = fitLateFusion([[0.9, 0.2, 0.7, 0.3], [0.6, 0.4, 0.5, 0.6]], [1, 0, 1, 0], { l2: 1 });
 * const g = lateFusionFromJSON(JSON.parse(JSON.stringify(f.toJSON())));
 * console.log(g.predictOne([0.8, 0.5]) === f.predictOne([0.8, 0.5])); // true
 * ```
 */
export function lateFusionFromJSON(json: LateFusionJSON): LateFusion {
  try {
    return restoreLateFusion(json);
  } catch (err) {
    if (err instanceof LeptonError) throw err;
    // a throwing getter or Proxy trap in the stored object
    throw new LeptonError('INVALID_INPUT', 'Not a stored late fusion: reading it threw (see cause).', { cause: err });
  }
}

function restoreLateFusion(json: LateFusionJSON): LateFusion {
  const j = json as Partial<LateFusionJSON> | null;
  // Array.from: every() skips the holes of a sparse array
  const finite = (a: unknown, n: number): boolean => Array.isArray(a) && a.length === n && Array.from(a).every((v) => typeof v === 'number' && Number.isFinite(v));
  const n = Array.isArray(j?.modalities) && j.modalities.length <= MAX_LATE_FUSION_MODALITIES ? j.modalities.length : -1;
  const ok =
    j?.kind === 'late-fusion' &&
    j.formatVersion === 1 &&
    (j.method === 'logistic' || j.method === 'convex') &&
    (j.input === 'logit' || j.input === 'raw') &&
    n > 0 &&
    Array.from(j.modalities!).every((m) => typeof m === 'string') &&
    new Set(j.modalities).size === n &&
    finite(j.weights, n) &&
    finite(j.means, n) &&
    typeof j.bias === 'number' &&
    Number.isFinite(j.bias) &&
    (j.missing === 'error' || j.missing === 'renormalise' || j.missing === 'mean');
  if (!ok) {
    throw new LeptonError('INVALID_INPUT', 'Not a stored late fusion: expected { kind: "late-fusion", formatVersion: 1, method, input, modalities, weights, bias, means, missing }.');
  }
  return new FittedLateFusion(j.method!, j.input!, [...j.modalities!], [...j.weights!], j.bias!, [...j.means!], resolvePolicy(j.missing!, j.method!));
}
