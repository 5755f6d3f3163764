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
