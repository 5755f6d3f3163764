import type { Detection, Frame } from '../types.js';
import { nonMaxSuppression } from './nms.js';
import { cropFrame, mergeTiles, tileRegions, type Region } from './tiles.js';

/** @internal Where one frame's extra views sit in the expanded list of frames sent to the model. */
export interface ViewPlan {
  /** Index of the frame in the caller's list. */
  frame: number;
  /** Index of the whole frame in the expanded list. */
  whole: number;
  /** Index of the mirrored whole frame, when `flip` is on. */
  flipped: number | undefined;
  /** Tile regions (empty when tiles are off), and the index of the first tile in the expanded list. */
  regions: Region[];
  first: number;
}

/** @internal A left-right mirror image of a packed RGB frame (same camera, index and times). */
export function mirrorFrame(frame: Frame): Frame {
  const { width, height } = frame;
  const data = new Uint8Array(frame.data.length);
  const src = frame.data;
  for (let y = 0; y < height; y++) {
    const row = y * width * 3;
    for (let x = 0; x < width; x++) {
      const a = row + x * 3;
      const b = row + (width - 1 - x) * 3;
      data[b] = src[a] as number;
      data[b + 1] = src[a + 1] as number;
      data[b + 2] = src[a + 2] as number;
    }
  }
  return { ...frame, data };
}

/** @internal Detections on a mirrored `width`-wide frame, mapped back to the original frame. */
export function unmirror(detections: readonly Detection[], width: number): Detection[] {
  return detections.map((d) => ({ ...d, box: { ...d.box, x: width - d.box.x - d.box.width } }));
}

/**
 * @internal Expands the valid frames into the views the model sees: each frame whole, then (with `flip`) its mirror
 * image, then (where `gridOf` gives n ≥ 2 for its size) its `n × n` crops. All views of all frames go through the model together,
 * so they share batches and workers.
 */
export function expandViews(frames: readonly Frame[], valid: readonly number[], gridOf: (width: number, height: number) => number, flip: boolean): { expanded: Frame[]; plans: ViewPlan[] } {
  const expanded: Frame[] = [];
  const plans: ViewPlan[] = [];
  for (const fi of valid) {
    const f = frames[fi] as Frame;
    const whole = expanded.push(f) - 1;
    const flipped = flip ? expanded.push(mirrorFrame(f)) - 1 : undefined;
    const tiles = gridOf(f.width, f.height);
    const regions = tiles > 1 ? tileRegions(f.width, f.height, tiles) : [];
    const first = expanded.length;
    for (const r of regions) expanded.push(cropFrame(f, r));
    plans.push({ frame: fi, whole, flipped, regions, first });
  }
  return { expanded, plans };
}

/**
 * @internal One frame's detections from its views: the whole frame and its mirror image are merged by per-class NMS
 * (a person either view finds is kept, once), then the tiles are merged in as {@link mergeTiles} does: what fits inside
 * a tile is then left to that tile, the mirrored pass's finds included.
 *
 * Only the whole frame is mirrored, never the tiles: on the tuning clip mirrored tiles added duplicates (one more
 * false person at threshold 0.4) and found nobody the unmirrored tiles missed, at twice the tiles' cost.
 */
export function mergeViews(results: readonly Detection[][], plan: ViewPlan, frame: { width: number; height: number }, iouThreshold: number, maxDetections: number): Detection[] {
  let whole = results[plan.whole] ?? [];
  if (plan.flipped !== undefined) whole = nonMaxSuppression([...whole, ...unmirror(results[plan.flipped] ?? [], frame.width)], iouThreshold, maxDetections);
  if (plan.regions.length === 0) return whole;
  const tileDets = plan.regions.map((_, k) => results[plan.first + k] ?? []);
  return mergeTiles(whole, tileDets, plan.regions, frame, iouThreshold, maxDetections);
}
