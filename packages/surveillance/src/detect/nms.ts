import { LeptonError, describeValue } from '@lepton/core';
import { iouOf } from '../rules/geometry.js';
import type { Box, Detection } from '../types.js';

/** Largest coordinate or size NMS takes (the tracker's and the rule engine's bound): every area and union stays finite. */
const MAX_COORDINATE = 1e7;

const isBoxSized = (b: Box): boolean =>
  b.width >= 0 && b.height >= 0 && Math.abs(b.x) <= MAX_COORDINATE && Math.abs(b.y) <= MAX_COORDINATE && b.width <= MAX_COORDINATE && b.height <= MAX_COORDINATE;

/** Two identical boxes without area: IoU says 0, yet one is plainly a duplicate of the other. */
const emptyTwin = (a: Box, b: Box): boolean => (a.width === 0 || a.height === 0) && a.x === b.x && a.y === b.y && a.width === b.width && a.height === b.height;

/**
 * Greedy non-maximum suppression, done per class: detections are taken in descending score order, and one is dropped
 * when its box overlaps an already kept detection **of the same label** with IoU above `iouThreshold` (the rule of
 * `tf.image.nonMaxSuppression`; a car under a person is never suppressed by the person).
 *
 * @param detections - candidates (not modified)
 * @param iouThreshold - overlap above which the lower-scored box is a duplicate, in [0, 1]
 * @param maxDetections - most detections to keep in total (default: all)
 * @returns the kept detections, highest score first (ties keep input order)
 * Two identical boxes of one label are duplicates even when their area is 0 (their IoU is undefined).
 *
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for `detections` that is not an array of
 *   `{ label, score, box }` with finite numbers (`details.index`), a box with a negative width or height or a
 *   coordinate beyond ±10⁷ px (where the areas would overflow; the tracker's bound too), an `iouThreshold` outside [0, 1] (NaN included) or
 *   a `maxDetections` that is not a count ≥ 0 (or Infinity)
 * @example
 * ```ts
 * import { nonMaxSuppression } from '@lepton/surveillance';
 * const kept = nonMaxSuppression([
 *   { label: 'car', score: 0.9, box: { x: 0, y: 0, width: 10, height: 10 } },
 *   { label: 'car', score: 0.8, box: { x: 1, y: 0, width: 10, height: 10 } }, // IoU 0.82 → dropped
 *   { label: 'person', score: 0.7, box: { x: 1, y: 0, width: 10, height: 10 } }, // other class → kept
 * ], 0.5);
 * kept.length; // 2
 * ```
 */
export function nonMaxSuppression<T extends Detection>(detections: readonly T[], iouThreshold: number, maxDetections = Number.POSITIVE_INFINITY): T[] {
  if (!Array.isArray(detections)) throw new LeptonError('INVALID_ARGUMENT', 'nonMaxSuppression: detections must be an array.');
  // A NaN threshold would make every overlap test false and keep every duplicate, silently.
  if (!(typeof iouThreshold === 'number' && iouThreshold >= 0 && iouThreshold <= 1)) throw new LeptonError('INVALID_ARGUMENT', `nonMaxSuppression: iouThreshold must be in [0, 1], got ${describeValue(iouThreshold)}.`);
  if (!(maxDetections === Number.POSITIVE_INFINITY || (Number.isInteger(maxDetections) && maxDetections >= 0))) {
    throw new LeptonError('INVALID_ARGUMENT', `nonMaxSuppression: maxDetections must be an integer ≥ 0 or Infinity, got ${describeValue(maxDetections)}.`);
  }
  for (let i = 0; i < detections.length; i++) {
    const d: unknown = detections[i]; // holes included
    // A NaN box or score would pass every overlap test as "no overlap" and come back out as a kept detection.
    const o = d as { label?: unknown; score?: unknown; box?: Record<string, unknown> } | null;
    const box = o !== null && typeof o === 'object' ? o.box : undefined;
    const finite = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);
    if (o === null || typeof o !== 'object' || typeof o.label !== 'string' || !finite(o.score) || box === null || typeof box !== 'object' || !['x', 'y', 'width', 'height'].every((k) => finite(box[k]))) {
      throw new LeptonError('INVALID_ARGUMENT', `nonMaxSuppression: detections[${i}] must be { label, score, box: { x, y, width, height } } with finite numbers.`, { details: { index: i } });
    }
    // A negative size is no box (and came back out as a kept one); beyond ±1e7 the areas overflow and IoU reads 0.
    if (!(isBoxSized(box as unknown as Box))) {
      throw new LeptonError('INVALID_ARGUMENT', `nonMaxSuppression: detections[${i}].box must have width and height ≥ 0 and coordinates within ±1e7 px, got ${describeValue(box)}.`, { details: { index: i } });
    }
  }
  const order = detections.map((d, i) => ({ d, i })).sort((a, b) => b.d.score - a.d.score || a.i - b.i);
  const keptByLabel = new Map<string, T[]>();
  const kept: T[] = [];
  for (const { d } of order) {
    if (kept.length >= maxDetections) break;
    const same = keptByLabel.get(d.label) ?? [];
    if (same.some((k) => iouOf(k.box, d.box) > iouThreshold || emptyTwin(k.box, d.box))) continue;
    same.push(d);
    keptByLabel.set(d.label, same);
    kept.push(d);
  }
  return kept;
}
