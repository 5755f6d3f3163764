import { invertMatrix, isLeptonError, LeptonError } from '@lepton/core';
import { atLeast, each, finiteArray, finiteResult, invalid } from '../internal/guards.js';

/** A Hotelling T² score with each signal's share of it. */
export interface T2Score {
  /** (x − μ)ᵀ Σ⁻¹ (x − μ). */
  t2: number;
  /** Per-signal terms (x − μ)ⱼ · [Σ⁻¹(x − μ)]ⱼ; they sum to `t2` (a term can be negative). */
  contributions: number[];
}

function invert(a: number[][]): number[][] {
  try {
    return invertMatrix(a);
  } catch (err) {
    if (isLeptonError(err, 'SINGULAR_MATRIX')) {
      throw new LeptonError('INVALID_INPUT', 'Hotelling T²: the covariance matrix is singular (a constant or duplicated signal?).', { cause: err });
    }
    throw err;
  }
}

/**
 * Hotelling's T² on normal-operation samples: the classical multivariate baseline that learned detectors are compared
 * with. It sees correlation breaks between signals, but no temporal pattern.
 */
export class HotellingT2 {
  #threshold: number;

  private constructor(
    /** Mean of each signal in normal operation. */
    readonly mean: number[],
    private readonly inverse: number[][],
    threshold: number,
  ) {
    this.#threshold = threshold;
  }

  /**
   * Alarm threshold (a quantile of T² on the fitting data unless set). Setting it checks the value: a NaN threshold
   * would never be exceeded (nothing would ever alarm).
   *
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` (on setting) for a value that is not a finite number ≥ 0
   */
  get threshold(): number {
    return this.#threshold;
  }

  /** Sets the alarm threshold; see the getter. */
  set threshold(value: number) {
    this.#threshold = atLeast('HotellingT2.threshold', 'threshold', value, 0);
  }

  /**
   * Fits mean and covariance on normal operation; the threshold is the `quantile` of T² on those samples.
   *
   * @param rows - normal-operation samples (one value per signal)
   * @param quantile - threshold quantile (default 0.995)
   * @returns the fitted baseline
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for too few rows, a row that is not as many finite numbers
   *   as the first (`details.field`, e.g. `rows[12][3]`) or a singular covariance; `INVALID_ARGUMENT` for a quantile
   *   outside (0, 1]; `MFG_NON_FINITE_RESULT` when the values overflow
   */
  static fit(rows: ReadonlyArray<ArrayLike<number>>, quantile = 0.995): HotellingT2 {
    if (!Array.isArray(rows)) throw invalid('HotellingT2.fit', 'rows', 'an array of rows', rows);
    if (atLeast('HotellingT2.fit', 'quantile', quantile, 0, true) > 1) throw invalid('HotellingT2.fit', 'quantile', 'a number in (0, 1]', quantile, 'INVALID_ARGUMENT');
    each(rows, (r, i) => {
      finiteArray('HotellingT2.fit', `rows[${i}]`, r, 1);
      if (r.length !== rows[0]!.length) throw new LeptonError('INVALID_INPUT', `HotellingT2.fit: rows[${i}] has ${r.length} values, expected ${rows[0]!.length}.`, { details: { field: `rows[${i}]` } });
    });
    const d = rows[0]?.length ?? 0;
    if (rows.length <= d + 1) throw new LeptonError('INVALID_INPUT', `Hotelling T² needs more than ${d + 1} samples of ${d} signals.`);
    const mean = new Array<number>(d).fill(0);
    for (const r of rows) for (let j = 0; j < d; j++) mean[j]! += r[j]! / rows.length;
    const cov = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    for (const r of rows) for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) cov[a]![b]! += ((r[a]! - mean[a]!) * (r[b]! - mean[b]!)) / (rows.length - 1);
    finiteResult('HotellingT2.fit', 'the mean or covariance', ...mean, ...cov.flat());
    const model = new HotellingT2(mean, invert(cov), Infinity);
    const t2 = rows.map((r) => model.score(r).t2).sort((x, y) => x - y);
    const threshold = t2[Math.min(t2.length - 1, Math.floor(quantile * t2.length))]!;
    finiteResult('HotellingT2.fit', 'the threshold', threshold);
    model.#threshold = threshold;
    return model;
  }

  /**
   * Scores one sample.
   *
   * @param x - one value per signal
   * @returns T² and per-signal contributions
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a sample that is not one finite number per signal;
   *   `MFG_NON_FINITE_RESULT` when T² overflows
   */
  score(x: ArrayLike<number>): T2Score {
    finiteArray('HotellingT2.score', 'x', x, this.mean.length);
    if (x.length !== this.mean.length) throw new LeptonError('INVALID_INPUT', `HotellingT2.score: x needs ${this.mean.length} values (one per signal), got ${x.length}.`, { details: { field: 'x' } });
    const dev = this.mean.map((m, j) => x[j]! - m);
    const w = this.inverse.map((row) => row.reduce((s, v, k) => s + v * dev[k]!, 0));
    const contributions = dev.map((v, j) => v * w[j]!);
    const t2 = contributions.reduce((s, v) => s + v, 0);
    finiteResult('HotellingT2.score', 'T²', t2, ...contributions);
    return { t2, contributions };
  }
}
