import { describeValue, fitLogisticRegression, ksStatistic, LeptonError, progressReporter, rocAuc, type ProgressOptions } from '@lepton/core';
import { binaryLabels, numberOption, parseDecimal } from '../internal/guards.js';
import { binCategorical, binIndex, binNumeric, type Binning } from './binning.js';

/** An applicant: characteristic name → value (numbers for numeric characteristics, strings for categorical). */
export type Applicant = Record<string, number | string>;

/** A characteristic to consider, and its kind. */
export interface Characteristic {
  /** Field name in each {@link Applicant}. */
  name: string;
  /** Numeric values are binned into ranges; categorical values into sets of categories. */
  type: 'numeric' | 'categorical';
}

/** A characteristic left out of the scorecard, and why (its information value). */
export interface DroppedCharacteristic {
  /** Its name. */
  characteristic: string;
  /** Its information value, below `minIv`. */
  iv: number;
}

/** One row of the scorecard table. */
export interface ScorecardRow {
  /** Characteristic name. */
  characteristic: string;
  /** Bin label. */
  bin: string;
  /** Good training applicants in the bin. */
  goods: number;
  /** Bad training applicants in the bin. */
  bads: number;
  /** Weight of evidence of the bin. */
  woe: number;
  /** The bin's share of the information value. */
  iv: number;
  /** Points the bin adds to the score. */
  points: number;
}

/**
 * Options for {@link Scorecard.fit}. `onProgress` and `progressBar` (see `ProgressOptions` in `@lepton/core`) report
 * one step per characteristic binned and one for the logistic regression (see {@link Scorecard.fit}).
 */
export interface ScorecardOptions extends ProgressOptions {
  /** Characteristics to bin and consider. */
  characteristics: Characteristic[];
  /** Most bins per numeric characteristic. Default 5. */
  maxBins?: number;
  /** Least share of applicants per bin. Default 0.05. */
  minBinShare?: number;
  /** Drop characteristics whose information value is below this. Default 0.02. */
  minIv?: number;
  /** Score at the base odds. Default 600. */
  baseScore?: number;
  /** Good:bad odds at the base score. Default 50. */
  baseOdds?: number;
  /** Points to double the odds. Default 20. */
  pdo?: number;
}

/** Points a characteristic contributes for an applicant. */
export interface Attribute {
  /** Characteristic name. */
  characteristic: string;
  /** Label of the bin the applicant falls in. */
  bin: string;
  /** Points that bin gives. */
  points: number;
  /** The most points any bin of this characteristic gives. */
  maxPoints: number;
}

/** An applicant's score, probability and adverse-action reasons. */
export interface ScoredApplicant {
  /** Total points (higher = lower risk). */
  score: number;
  /** Probability of being bad (default), from the same logistic model. */
  probabilityBad: number;
  /** Points per characteristic. */
  attributes: Attribute[];
  /**
   * Adverse-action reason codes: the characteristics where the applicant lost the most points against the best
   * attribute, largest loss first (what a lender must tell a declined applicant).
   */
  reasons: AdverseActionReason[];
}

/** Why an applicant scored lower than the best possible. */
export interface AdverseActionReason {
  /** Characteristic name. */
  characteristic: string;
  /** The applicant's bin. */
  bin: string;
  /** Points lost against the characteristic's best bin. */
  pointsBelowMax: number;
}

/** Gini and KS of a scorecard on labelled applicants. */
export interface ScorecardEvaluation {
  /** 2·AUC − 1 of the score against the bad flag. */
  gini: number;
  /** Kolmogorov–Smirnov statistic of good vs. bad score distributions. */
  ks: number;
  /** ROC AUC of the score (low score = bad). */
  auc: number;
}

/** A numeric characteristic's value: a finite number or a strict decimal string (never `Number('0x10')` = 16). */
function numericValue(v: unknown, name: string, index: number): number {
  const x = parseDecimal(v);
  if (x === undefined) {
    throw new LeptonError('INVALID_INPUT', `Characteristic '${name}' of applicant ${index} is not a finite number; impute or drop it.`, { details: { characteristic: name, index } });
  }
  return x;
}

/**
 * A categorical characteristic's value as its category name. Never String() of an object: one whose toString is not a
 * function (or throws) would make the fit throw a TypeError instead of naming the applicant.
 */
function categoryValue(v: unknown, name: string, index: number): string {
  if (v !== null && (typeof v === 'object' || typeof v === 'symbol' || typeof v === 'function')) {
    throw new LeptonError('INVALID_INPUT', `Characteristic '${name}' of applicant ${index} is ${describeValue(v)}, not a category (a string).`, { details: { characteristic: name, index } });
  }
  return String(v);
}

/**
 * A credit scorecard: monotone binning with weight of evidence per characteristic, selection by information value,
 * logistic regression on the WoE values, and points scaling (base score at base odds, points to double the odds).
 * Every applicant's score is a sum of readable points, with adverse-action reasons.
 *
 * @example
 * ```ts
 * import { Scorecard } from '@lepton/finance';
 * const card = Scorecard.fit(applicants, bad, { characteristics: [{ name: 'Age', type: 'numeric' }] });
 * console.log(card.score({ Age: 23 }).score);
 * ```
 */
export class Scorecard {
  private constructor(
    /** Binned characteristics kept by the scorecard. */
    readonly binnings: Binning[],
    /** Characteristics dropped for low information value, with their IV. */
    readonly dropped: DroppedCharacteristic[],
    private readonly points: number[][],
    private readonly intercept: number,
    private readonly coefficients: number[],
  ) {}

  /**
   * Fits the scorecard.
   *
   * @param applicants - training applicants
   * @param bad - 1 when the applicant defaulted (bad), 0 when good
   * @param options - characteristics, binning, selection and scaling
   * @returns the fitted scorecard
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for mismatched lengths, a missing characteristic, a numeric
   *   value that is not a finite number or decimal string, a categorical value that is an object or a symbol, a label
   *   other than 0/1, or one class only; `INVALID_ARGUMENT` for options out of range (including
   *   `onProgress`/`progressBar`, and a `baseScore`, `baseOdds` and `pdo` whose points overflow) or a characteristic
   *   that is not `{ name, type }`; `PROGRESS_LISTENER_FAILED`
   *   when the `onProgress` listener throws (the fit stops)
   *
   * Progress, synchronously, as core `train()` reports it: `start` (`epochs` = characteristics + 1, `samples` = applicants,
   * `backend: 'cpu'` — the fit is plain JavaScript on the CPU, whichever TF.js backend is active), one `epoch` per characteristic binned
   * (`metrics: { iv }`, kept or dropped), one `epoch` for the logistic regression (`metrics: { loss }`, the mean
   * log-loss), then `end`. There are no `batch` events, and `learningRate` is 0 (binning and Newton's method have none).
   */
  static fit(applicants: readonly Applicant[], bad: ArrayLike<number>, options: ScorecardOptions): Scorecard {
    if (!Array.isArray(applicants) || applicants.some((a) => typeof a !== 'object' || a === null)) {
      throw new LeptonError('INVALID_INPUT', 'Scorecard.fit: applicants must be an array of objects.');
    }
    binaryLabels(bad, 'Scorecard.fit: bad');
    if (!Array.isArray(options?.characteristics)) throw new LeptonError('INVALID_ARGUMENT', 'Scorecard.fit: options.characteristics must be an array.');
    for (const c of options.characteristics as unknown[]) {
      const { name, type } = (typeof c === 'object' && c !== null ? c : {}) as Partial<Characteristic>;
      if (typeof name !== 'string' || (type !== 'numeric' && type !== 'categorical')) {
        throw new LeptonError('INVALID_ARGUMENT', `Scorecard.fit: each characteristic must be { name: string, type: 'numeric' | 'categorical' }, got name ${describeValue(name)} and type ${describeValue(type)}.`);
      }
    }
    numberOption(options.pdo ?? 20, 'Scorecard.fit: pdo', { min: 0, exclusiveMin: true });
    numberOption(options.baseOdds ?? 50, 'Scorecard.fit: baseOdds', { min: 0, exclusiveMin: true });
    numberOption(options.baseScore ?? 600, 'Scorecard.fit: baseScore');
    numberOption(options.minIv ?? 0.02, 'Scorecard.fit: minIv');
    if (applicants.length !== bad.length || applicants.length === 0) throw new LeptonError('INVALID_INPUT', 'Scorecard.fit: applicants and labels must be non-empty and of equal length.');
    const bads = Array.from(bad).filter((v) => v === 1).length;
    if (bads === 0 || bads === applicants.length) throw new LeptonError('INVALID_INPUT', 'Scorecard.fit needs both good and bad applicants.');
    const report = progressReporter(options, 'Scorecard.fit');
    const steps = options.characteristics.length + 1;
    report?.({ type: 'start', epochs: steps, samples: applicants.length, validationSamples: 0, backend: 'cpu' });
    const binnings: Binning[] = [];
    const dropped: DroppedCharacteristic[] = [];
    for (const [step, c] of options.characteristics.entries()) {
      if (applicants.some((a) => a[c.name] === undefined)) throw new LeptonError('INVALID_INPUT', `Characteristic '${c.name}' is missing for some applicants.`);
      const binning =
        c.type === 'numeric'
          ? binNumeric(c.name, applicants.map((a, i) => numericValue(a[c.name], c.name, i)), bad, { maxBins: options.maxBins ?? 5, minShare: options.minBinShare ?? 0.05 })
          : binCategorical(c.name, applicants.map((a, i) => categoryValue(a[c.name], c.name, i)), bad, { minShare: options.minBinShare ?? 0.05 });
      if (binning.iv >= (options.minIv ?? 0.02)) binnings.push(binning);
      else dropped.push({ characteristic: c.name, iv: binning.iv });
      report?.({ type: 'epoch', epoch: step, epochs: steps, metrics: { iv: binning.iv }, learningRate: 0, improved: false });
    }
    if (binnings.length === 0) throw new LeptonError('INVALID_INPUT', 'No characteristic reaches the minimum information value.');
    const x = applicants.map((a) => binnings.map((b) => b.bins[binIndex(b, a[b.feature]!)]!.woe));
    // Logistic regression on the WoE columns with a small ridge (core's Newton solver, shared with late fusion).
    const fit = fitLogisticRegression(x, Array.from(bad), { l2: 1e-4 });
    report?.({ type: 'epoch', epoch: steps - 1, epochs: steps, metrics: { loss: fit.loss }, learningRate: 0, improved: true });
    report?.({ type: 'end', epochsRun: steps, bestEpoch: steps - 1, stoppedEarly: false });
    const intercept = fit.bias;
    const coef = fit.weights;
    // Points: score = offset + factor · ln(good:bad odds), and ln(odds) = −(β₀ + Σ βⱼ·WoEⱼ) because the model predicts bad.
    const factor = (options.pdo ?? 20) / Math.LN2;
    const offset = (options.baseScore ?? 600) - factor * Math.log(options.baseOdds ?? 50);
    const share = (offset - factor * intercept) / binnings.length;
    const points = binnings.map((b, j) => b.bins.map((bin) => share - factor * coef[j]! * bin.woe));
    // Finite options can still overflow the scaling (a pdo of 1e308 makes the factor Infinity and every score NaN).
    // Bounding the sum of each characteristic's largest |points| keeps every score a finite sum.
    if (!Number.isFinite(points.reduce((sum, p) => sum + Math.max(...p.map(Math.abs)), 0))) {
      throw new LeptonError('INVALID_ARGUMENT', 'Scorecard.fit: baseScore, baseOdds and pdo give points that overflow double precision; use the usual scale (e.g. 600, 50, 20).');
    }
    return new Scorecard(binnings, dropped, points, intercept, coef);
  }

  /**
   * Scores one applicant.
   *
   * @param applicant - characteristic values
   * @param topReasons - adverse-action reasons to return (default 4)
   * @returns score, probability of default, points per characteristic and reasons
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` when a characteristic the scorecard uses is missing or not
   *   a finite number (numeric) / a category (categorical), naming it but never its value
   */
  score(applicant: Applicant, topReasons = 4): ScoredApplicant {
    if (typeof applicant !== 'object' || applicant === null) throw new LeptonError('INVALID_INPUT', 'Scorecard.score needs an applicant object.');
    numberOption(topReasons, 'Scorecard.score: topReasons', { min: 0, integer: true });
    let total = 0;
    let z = this.intercept;
    const attributes: Attribute[] = this.binnings.map((b, j) => {
      const v = applicant[b.feature];
      if (v === undefined) throw new LeptonError('INVALID_INPUT', `Applicant lacks characteristic '${b.feature}'.`);
      const i = binIndex(b, v);
      const pts = this.points[j]![i]!;
      total += pts;
      z += this.coefficients[j]! * b.bins[i]!.woe;
      return { characteristic: b.feature, bin: b.bins[i]!.label, points: pts, maxPoints: Math.max(...this.points[j]!) };
    });
    const reasons = attributes
      .map((a) => ({ characteristic: a.characteristic, bin: a.bin, pointsBelowMax: a.maxPoints - a.points }))
      .filter((r) => r.pointsBelowMax > 1e-9)
      .sort((p, q) => q.pointsBelowMax - p.pointsBelowMax)
      .slice(0, topReasons);
    return { score: total, probabilityBad: 1 / (1 + Math.exp(-z)), attributes, reasons };
  }

  /**
   * The scorecard as a table: characteristic, bin, WoE, points — what a model-risk reviewer reads.
   *
   * @returns one row per bin
   */
  table(): ScorecardRow[] {
    return this.binnings.flatMap((b, j) => b.bins.map((bin, i) => ({ characteristic: b.feature, bin: bin.label, goods: bin.goods, bads: bin.bads, woe: bin.woe, iv: bin.iv, points: this.points[j]![i]! })));
  }

  /**
   * Gini and KS of the score on labelled applicants (a higher score must mean lower risk).
   *
   * @param applicants - applicants (ideally held out)
   * @param bad - their labels
   * @returns Gini, KS and AUC
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a label other than 0/1, mismatched lengths, or an
   *   applicant {@link Scorecard.score} refuses
   */
  evaluate(applicants: readonly Applicant[], bad: ArrayLike<number>): ScorecardEvaluation {
    binaryLabels(bad, 'Scorecard.evaluate: bad');
    if (!Array.isArray(applicants) || applicants.length !== bad.length) throw new LeptonError('INVALID_INPUT', 'Scorecard.evaluate: one label per applicant is needed.');
    const risk = applicants.map((a) => -this.score(a).score);
    const auc = rocAuc(bad, risk);
    return { gini: 2 * auc - 1, ks: ksStatistic(bad, risk), auc };
  }
}
