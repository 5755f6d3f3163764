import { describeValue, LeptonError } from '@lepton/core';
import { binaryLabels, isArrayLike, numberOption, optionsObject, parseDecimal } from '../internal/guards.js';

/** One bin of a characteristic: its range (numeric) or categories, counts, and weight of evidence. */
export interface Bin {
  /** Human-readable label, e.g. `[25, 34)` or `lt.0, 0.to.200`. */
  label: string;
  /** Numeric bins: lower bound (inclusive; −Infinity for the first). */
  lower?: number;
  /** Numeric bins: upper bound (exclusive; Infinity for the last). */
  upper?: number;
  /** Categorical bins: the categories it holds. */
  categories?: string[];
  /** Good applicants (label 0) in the bin. */
  goods: number;
  /** Bad applicants (label 1) in the bin. */
  bads: number;
  /** Weight of evidence ln(%good / %bad), with 0.5 added to each count; positive means lower risk. */
  woe: number;
  /** This bin's share of the information value. */
  iv: number;
}

/** A binned characteristic with its information value. */
export interface Binning {
  /** Characteristic name. */
  feature: string;
  /** Numeric (ranges) or categorical (sets of categories). */
  type: 'numeric' | 'categorical';
  /** The bins, in order (numeric: increasing value; categorical: increasing bad rate). */
  bins: Bin[];
  /** Information value Σ (%good − %bad) · WoE: < 0.02 useless, 0.1–0.3 medium, > 0.3 strong. */
  iv: number;
  /** Numeric bins: whether the bad rate rises or falls with the value. */
  trend?: 'increasing' | 'decreasing';
}

interface Cell {
  goods: number;
  bads: number;
}

function woeIv(cells: Cell[]): { woe: number[]; iv: number[]; total: number } {
  const g = cells.reduce((s, c) => s + c.goods + 0.5, 0);
  const b = cells.reduce((s, c) => s + c.bads + 0.5, 0);
  const woe = cells.map((c) => Math.log((c.goods + 0.5) / g / ((c.bads + 0.5) / b)));
  const iv = cells.map((c, i) => ((c.goods + 0.5) / g - (c.bads + 0.5) / b) * woe[i]!);
  return { woe, iv, total: iv.reduce((s, v) => s + v, 0) };
}

function badRate(c: Cell): number {
  return c.bads / Math.max(1, c.goods + c.bads);
}

/**
 * Monotonic optimal binning of a numeric characteristic: start from fine quantile bins, then merge adjacent bins
 * until the bad rate moves in one direction only (the direction of the overall correlation), every bin holds at
 * least `minShare` of the applicants, and at most `maxBins` remain — always merging the adjacent pair whose merge
 * loses the least information value. Monotone bins give scorecard points that a regulator and an applicant can follow.
 *
 * @param feature - characteristic name
 * @param values - its values (NaN = missing is not allowed here; impute first)
 * @param labels - 1 bad, 0 good
 * @param options - at most `maxBins` (default 5, an integer ≥ 1) of at least `minShare` (default 0.05, in [0, 1))
 * @returns the bins with WoE and IV
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for mismatched lengths, values that are not finite numbers,
 *   or labels other than 0/1 (`details.index`); `INVALID_ARGUMENT` for options that are not an object or out of range
 */
export function binNumeric(feature: string, values: ArrayLike<number>, labels: ArrayLike<number>, options?: { maxBins?: number; minShare?: number }): Binning {
  options = optionsObject(options, 'binNumeric');
  const name = shownFeature(feature);
  if (!isArrayLike(values)) throw new LeptonError('INVALID_INPUT', `binNumeric(${name}): values must be an array of numbers.`);
  binaryLabels(labels, `binNumeric(${name}): labels`);
  numberOption(options.maxBins ?? 5, 'binNumeric: maxBins', { min: 1, integer: true });
  numberOption(options.minShare ?? 0.05, 'binNumeric: minShare', { min: 0, max: 1 });
  const n = values.length;
  if (n === 0 || labels.length !== n) throw new LeptonError('INVALID_INPUT', `binNumeric(${name}): values and labels must be non-empty and of equal length.`);
  for (let i = 0; i < n; i++) {
    if (typeof values[i] !== 'number' || !Number.isFinite(values[i])) {
      throw new LeptonError('INVALID_INPUT', `binNumeric(${name}): value ${i} is not a finite number; impute missing values first.`, { details: { index: i } });
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  // Fine bins: ~20 quantile bins, never splitting equal values.
  const fine = 20;
  const edges: number[] = [];
  for (let q = 1; q < fine; q++) {
    const v = values[order[Math.floor((q * n) / fine)]!]!;
    if (v > values[order[0]!]! && (edges.length === 0 || v > edges[edges.length - 1]!)) edges.push(v);
  }
  type B = Cell & { lower: number; upper: number };
  let bins: B[] = [...edges, Infinity].map((upper, i) => ({ lower: i === 0 ? -Infinity : edges[i - 1]!, upper, goods: 0, bads: 0 }));
  let k = 0;
  for (const i of order) {
    while (values[i]! >= bins[k]!.upper) k++;
    if (labels[i] === 1) bins[k]!.bads++;
    else bins[k]!.goods++;
  }
  bins = bins.filter((b) => b.goods + b.bads > 0);
  // Direction from the rank correlation of value and label (Spearman's sign): ranks are at most n, so the sums stay
  // finite whatever the values (sums of values near ±1e308 overflowed to Infinity and NaN, and picked a trend at
  // random). Tied values share their mean rank.
  const rank = new Float64Array(n);
  for (let a = 0; a < n; ) {
    let b = a + 1;
    while (b < n && values[order[b]!]! === values[order[a]!]!) b++;
    for (let j = a; j < b; j++) rank[order[j]!] = (a + b - 1) / 2;
    a = b;
  }
  let my = 0;
  for (let i = 0; i < n; i++) my += labels[i]!;
  my /= n;
  const mr = (n - 1) / 2;
  let cov = 0;
  for (let i = 0; i < n; i++) cov += (rank[i]! - mr) * (labels[i]! - my);
  if (!Number.isFinite(cov)) throw new LeptonError('INVALID_INPUT', `binNumeric(${name}): the trend of the bad rate could not be computed (not finite).`);
  const increasing = cov >= 0;
  const maxBins = options.maxBins ?? 5;
  const minCount = (options.minShare ?? 0.05) * n;
  const merge = (j: number): void => {
    const a = bins[j]!;
    const b = bins[j + 1]!;
    bins.splice(j, 2, { lower: a.lower, upper: b.upper, goods: a.goods + b.goods, bads: a.bads + b.bads });
  };
  const lossOfMerging = (j: number): number => {
    const before = woeIv(bins).total;
    const trial = [...bins.slice(0, j), { goods: bins[j]!.goods + bins[j + 1]!.goods, bads: bins[j]!.bads + bins[j + 1]!.bads }, ...bins.slice(j + 2)];
    return before - woeIv(trial).total;
  };
  for (;;) {
    if (bins.length <= 1) break;
    const violations: number[] = [];
    for (let j = 0; j + 1 < bins.length; j++) {
      const up = badRate(bins[j + 1]!) > badRate(bins[j]!);
      const tooSmall = bins[j]!.goods + bins[j]!.bads < minCount || bins[j + 1]!.goods + bins[j + 1]!.bads < minCount;
      if (up !== increasing && badRate(bins[j + 1]!) !== badRate(bins[j]!)) violations.push(j);
      else if (tooSmall) violations.push(j);
    }
    const candidates = violations.length > 0 ? violations : bins.length > maxBins ? bins.slice(0, -1).map((_, j) => j) : [];
    if (candidates.length === 0) break;
    let best = candidates[0]!;
    let bestLoss = Infinity;
    for (const j of candidates) {
      const loss = lossOfMerging(j);
      if (loss < bestLoss) {
        bestLoss = loss;
        best = j;
      }
    }
    merge(best);
  }
  const { woe, iv, total } = woeIv(bins);
  const fmt = (v: number): string => (Number.isFinite(v) ? String(Math.round(v * 1000) / 1000) : v > 0 ? '∞' : '−∞');
  return {
    feature,
    type: 'numeric',
    trend: increasing ? 'increasing' : 'decreasing',
    iv: total,
    bins: bins.map((b, i) => ({ label: `[${fmt(b.lower)}, ${fmt(b.upper)})`, lower: b.lower, upper: b.upper, goods: b.goods, bads: b.bads, woe: woe[i]!, iv: iv[i]! })),
  };
}

/**
 * Bins a categorical characteristic: one bin per category, categories under `minShare` pooled into their closest
 * (by bad rate) neighbour so every WoE rests on enough applicants.
 *
 * @param feature - characteristic name
 * @param values - category per applicant
 * @param labels - 1 bad, 0 good
 * @param options - minimum share per bin (default 0.05, in [0, 1])
 * @returns the bins with WoE and IV
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for mismatched lengths, a value that is not a string, or a
 *   label other than 0/1; `INVALID_ARGUMENT` for options that are not an object or a `minShare` out of range
 */
export function binCategorical(feature: string, values: ArrayLike<string>, labels: ArrayLike<number>, options?: { minShare?: number }): Binning {
  options = optionsObject(options, 'binCategorical');
  const name = shownFeature(feature);
  if (!isArrayLike(values) || Array.from(values).some((v) => typeof v !== 'string')) {
    throw new LeptonError('INVALID_INPUT', `binCategorical(${name}): values must be an array of strings (category names).`);
  }
  binaryLabels(labels, `binCategorical(${name}): labels`);
  numberOption(options.minShare ?? 0.05, 'binCategorical: minShare', { min: 0, max: 1 });
  const n = values.length;
  if (n === 0 || labels.length !== n) throw new LeptonError('INVALID_INPUT', `binCategorical(${name}): values and labels must be non-empty and of equal length.`);
  const cells = new Map<string, Cell>();
  for (let i = 0; i < n; i++) {
    const c = cells.get(values[i]!) ?? { goods: 0, bads: 0 };
    if (labels[i] === 1) c.bads++;
    else c.goods++;
    cells.set(values[i]!, c);
  }
  let bins = [...cells.entries()].map(([cat, c]) => ({ categories: [cat], ...c })).sort((a, b) => badRate(a) - badRate(b));
  const minCount = (options.minShare ?? 0.05) * n;
  for (;;) {
    const j = bins.findIndex((b) => b.goods + b.bads < minCount);
    if (j < 0 || bins.length <= 2) break;
    const k = j === 0 ? 1 : j === bins.length - 1 ? j - 1 : Math.abs(badRate(bins[j - 1]!) - badRate(bins[j]!)) <= Math.abs(badRate(bins[j + 1]!) - badRate(bins[j]!)) ? j - 1 : j + 1;
    const [a, b] = [Math.min(j, k), Math.max(j, k)];
    const merged = { categories: [...bins[a]!.categories, ...bins[b]!.categories], goods: bins[a]!.goods + bins[b]!.goods, bads: bins[a]!.bads + bins[b]!.bads };
    bins = [...bins.slice(0, a), merged, ...bins.slice(b + 1)];
  }
  const { woe, iv, total } = woeIv(bins);
  return {
    feature,
    type: 'categorical',
    iv: total,
    bins: bins.map((b, i) => ({ label: b.categories.join(', '), categories: b.categories, goods: b.goods, bads: b.bads, woe: woe[i]!, iv: iv[i]! })),
  };
}

/** A characteristic name for a message: a caller may pass anything, which `${feature}` could not always show. */
function shownFeature(feature: unknown): string {
  return typeof feature === 'string' ? feature.slice(0, 100) : describeValue(feature);
}

/**
 * Throws `INVALID_ARGUMENT` unless `binning` has the shape {@link binNumeric} and {@link binCategorical} return (a
 * binning read back from JSON, say): a string feature, a known type and at least one bin with numeric bounds or a list
 * of categories and a finite WoE. Without it a wrong object made {@link binIndex} throw a `TypeError`.
 */
function checkBinning(binning: unknown): asserts binning is Binning {
  const b = binning as Partial<Binning> | null;
  const ok =
    typeof b === 'object' &&
    b !== null &&
    typeof b.feature === 'string' &&
    (b.type === 'numeric' || b.type === 'categorical') &&
    Array.isArray(b.bins) &&
    b.bins.length > 0 &&
    b.bins.every(
      (bin: unknown) =>
        typeof bin === 'object' &&
        bin !== null &&
        typeof (bin as Bin).woe === 'number' &&
        Number.isFinite((bin as Bin).woe) &&
        (b.type === 'numeric'
          ? typeof (bin as Bin).lower === 'number' && typeof (bin as Bin).upper === 'number' && !Number.isNaN((bin as Bin).lower) && !Number.isNaN((bin as Bin).upper)
          : Array.isArray((bin as Bin).categories)),
    );
  if (!ok) throw new LeptonError('INVALID_ARGUMENT', 'binIndex needs a binning from binNumeric or binCategorical ({ feature, type, bins: [...] }).');
}

/**
 * The bin a value falls in (categories never seen in training go to the bin with WoE closest to 0, i.e. neutral).
 *
 * @param binning - a fitted binning
 * @param value - the applicant's value: for a numeric binning a finite number, or a string in the strict decimal
 *   grammar (`'42'`, `'-3.5'`; never `'0x10'` or `'1e3'`); for a categorical one a string or a number (its text)
 * @returns index of the bin
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` naming the characteristic (never the value) when the value is
 *   missing, not a number for a numeric binning, or neither a string nor a finite number for a categorical one;
 *   `INVALID_ARGUMENT` when `binning` is not a binning (from {@link binNumeric} or {@link binCategorical})
 */
export function binIndex(binning: Binning, value: number | string): number {
  checkBinning(binning);
  if (binning.type === 'numeric') {
    // Number() would read 'abc' as NaN (which fell into the last bin) and '0x10' as 16.
    const v = parseDecimal(value);
    if (v === undefined) throw new LeptonError('INVALID_INPUT', `Characteristic '${binning.feature}' needs a finite number (or a decimal string).`, { details: { characteristic: binning.feature } });
    const i = binning.bins.findIndex((b) => v >= b.lower! && v < b.upper!);
    return i >= 0 ? i : binning.bins.length - 1;
  }
  if (typeof value !== 'string' && !(typeof value === 'number' && Number.isFinite(value))) {
    throw new LeptonError('INVALID_INPUT', `Characteristic '${binning.feature}' needs a category (a string).`, { details: { characteristic: binning.feature } });
  }
  const i = binning.bins.findIndex((b) => b.categories!.includes(String(value)));
  if (i >= 0) return i;
  let neutral = 0;
  binning.bins.forEach((b, j) => {
    if (Math.abs(b.woe) < Math.abs(binning.bins[neutral]!.woe)) neutral = j;
  });
  return neutral;
}
