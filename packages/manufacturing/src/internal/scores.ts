import { describeValue, LeptonError } from '@lepton/core';

/**
 * @internal Normal scores sorted ascending, at most `max` of them: beyond that they are thinned evenly, so every
 * quantile keeps its place and a saved bundle stays bounded.
 */
export function keepSortedScores(scores: number[], max: number): number[] {
  const sorted = scores.sort((a, b) => a - b);
  if (sorted.length <= max) return sorted;
  const step = sorted.length / max;
  return Array.from({ length: max }, (_, i) => sorted[Math.min(sorted.length - 1, Math.floor((i + 0.5) * step))]!);
}

/** @internal The `quantile` order statistic of sorted scores (the largest where `quantile × n` reaches the end). */
export function sortedQuantile(sorted: readonly number[], quantile: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(quantile * sorted.length))]!;
}

/** @internal Whether `q` is a threshold quantile: a number in (0, 1]. */
export function isQuantile(q: unknown): q is number {
  return typeof q === 'number' && q > 0 && q <= 1;
}

/**
 * @internal Refuses a threshold quantile that is not a number in (0, 1] (`INVALID_ARGUMENT`, naming `who`).
 */
export function checkQuantile(q: unknown, who: string): number {
  if (!isQuantile(q)) throw new LeptonError('INVALID_ARGUMENT', `${who}: the quantile must be a number in (0, 1], got ${describeValue(q)}.`);
  return q;
}

/**
 * @internal Why a saved list of normal scores is unusable (undefined when it is a non-empty, sorted list of at most
 * `max` finite numbers): a bundle's threshold is re-chosen from it, so a damaged list must not load.
 */
export function damagedScores(scores: unknown, max: number): string | undefined {
  if (!Array.isArray(scores) || scores.length === 0 || scores.length > max) return `its normal scores are not a list of 1 to ${max} numbers`;
  for (let i = 0; i < scores.length; i++) {
    const v: unknown = scores[i];
    if (typeof v !== 'number' || !Number.isFinite(v) || (i > 0 && v < (scores[i - 1] as number))) return 'its normal scores are not a sorted list of finite numbers';
  }
  return undefined;
}
