import type { Detection, Frame } from '../types.js';
import { iouOf } from '../rules/geometry.js';
import { nonMaxSuppression } from './nms.js';

/** @internal A rectangle of a frame, integer pixels. */
export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Share of a tile's width (height) that overlaps its neighbour, so an object cut by one tile's edge is whole in the next. */
const OVERLAP = 0.25;
/** A box edge this close to a tile edge inside the frame (share of the tile's size) belongs to an object the tile cut. */
const EDGE = 0.02;
/**
 * A tile box lying this much (share of its area) inside a larger whole-frame box of the same class is a part of that
 * object seen on its own (the rear half of a motorcycle in one tile), not another object.
 */
const CONTAINED = 0.6;

/**
 * @internal The `grid × grid` overlapping tiles of a `width × height` frame (grid ≥ 2), left to right, top to bottom.
 * Tiles overlap by a quarter of their size, so an object up to a quarter of a tile wide lies whole inside one tile.
 */
export function tileRegions(width: number, height: number, grid: number): Region[] {
  const tw = Math.min(width, Math.ceil((width / grid) * (1 + OVERLAP)));
  const th = Math.min(height, Math.ceil((height / grid) * (1 + OVERLAP)));
  const out: Region[] = [];
  for (let r = 0; r < grid; r++) {
    for (let c = 0; c < grid; c++) {
      const x = Math.round(((width - tw) * c) / (grid - 1));
      const y = Math.round(((height - th) * r) / (grid - 1));
      out.push({ x, y, width: tw, height: th });
    }
  }
  return out;
}

/**
 * @internal The tile grid `tiles: 'auto'` uses for a `width × height` frame and a model input of `input` pixels: the
 * largest `n` (at most 4) whose tiles are still at least as large as the input on one side, so no tile is ever
 * enlarged into the model (enlarged tiles of a 640 × 360 frame invented people on the tuning clip); 1 (no tiles) for a
 * frame no larger than 1.6 inputs. CenterNet's 512 × 512: 640 × 360 and 720 × 576 → 1, 1004 × 958 → 2, 1280 × 720 and
 * 1352 × 900 → 3, 1920 × 1080 → 4.
 */
export function autoTileGrid(width: number, height: number, input: readonly [number, number]): number {
  const n = Math.floor((1 + OVERLAP) * Math.max(width / input[0], height / input[1]));
  return Math.min(MAX_TILE_GRID, Math.max(1, n));
}

/** Largest tile grid (`tiles: 4`: 17 forward passes a frame). */
const MAX_TILE_GRID = 4;

/** @internal A copy of a region of a packed RGB frame, as a frame of its own (same camera, index and times). */
export function cropFrame(frame: Frame, r: Region): Frame {
  const data = new Uint8Array(r.width * r.height * 3);
  const row = r.width * 3;
  for (let y = 0; y < r.height; y++) {
    const from = ((r.y + y) * frame.width + r.x) * 3;
    data.set(frame.data.subarray(from, from + row), y * row);
  }
  return { ...frame, width: r.width, height: r.height, data };
}

function containedShare(inner: Detection['box'], outer: Detection['box']): number {
  const w = Math.min(inner.x + inner.width, outer.x + outer.width) - Math.max(inner.x, outer.x);
  const h = Math.min(inner.y + inner.height, outer.y + outer.height) - Math.max(inner.y, outer.y);
  return w <= 0 || h <= 0 ? 0 : (w * h) / (inner.width * inner.height);
}

/**
 * A box in a tile's own pixels touches an edge of the tile that lies inside the frame (within a margin): the tile cut
 * that object. Edges on the frame's own border cut nothing.
 */
function cutBy(b: Detection['box'], r: Region, frame: { width: number; height: number }): boolean {
  const ex = Math.max(2, EDGE * r.width);
  const ey = Math.max(2, EDGE * r.height);
  return (r.x > 0 && b.x <= ex) || (r.y > 0 && b.y <= ey) || (r.x + r.width < frame.width && b.x + b.width >= r.width - ex) || (r.y + r.height < frame.height && b.y + b.height >= r.height - ey);
}

/** A box in frame pixels lies inside a tile, clear of its inner edges: the tile sees that object whole. */
function fitsInside(b: Detection['box'], r: Region, frame: { width: number; height: number }): boolean {
  // a box with a non-finite coordinate fits nowhere (every comparison in cutBy would be false)
  return Number.isFinite(b.x + b.y + b.width + b.height) && !cutBy({ ...b, x: b.x - r.x, y: b.y - r.y }, r, frame);
}

/** Overlap at which a tile's box and a whole-frame box are taken for the same object. */
const SAME = 0.5;

/**
 * @internal Merges the detections of a whole frame and of its tiles into one list in frame pixels. Each object is
 * judged by the view that sees it largest and whole:
 *
 * - a tile box touching an edge of its tile that lies inside the frame is dropped (the tile cut that object);
 * - a whole-frame box that fits inside a tile (clear of its inner edges) is left to that tile, which saw the object
 *   uncut and larger: the whole-frame box is dropped, and the tile's box and score stand for the object (or its
 *   silence does). On photos held out at the time, the whole frame's boxes of people 20–50 px tall were looser than
 *   the tiles' (a child and the man beside her in one box) and its extra people were not confirmed by the tiles (a
 *   red kite). Where that tile's own box for the object crossed its edge margin (a box a few pixels larger than the
 *   whole frame's), the tile cut it after all and the whole-frame box is kept;
 * - the whole frame keeps the objects that fit inside no tile (too large, or lying across the tiles' overlap), and a
 *   tile box mostly inside a larger box of its class is a part of that object seen on its own (the rear half of a
 *   motorcycle), dropped — when the larger box is such a whole-frame box, or a box of the same tile that the whole
 *   frame also found (the object seen whole by both views);
 *
 * then per-class NMS over what is left.
 */
export function mergeTiles(whole: readonly Detection[], tiles: readonly (readonly Detection[])[], regions: readonly Region[], frame: { width: number; height: number }, iouThreshold: number, maxDetections: number): Detection[] {
  // Every tile box in frame pixels, with its tile and whether the tile cut it.
  const seen = tiles.flatMap((dets, i) => {
    const r = regions[i] as Region;
    return dets.map((d) => ({ det: { ...d, box: { ...d.box, x: d.box.x + r.x, y: d.box.y + r.y } }, tile: i, cut: cutBy(d.box, r, frame) }));
  });
  const kept = whole.filter((w) => {
    const homes = regions.flatMap((r, i) => (fitsInside(w.box, r, frame) ? [i] : []));
    return homes.length === 0 || seen.some((s) => s.cut && homes.includes(s.tile) && s.det.label === w.label && iouOf(s.det.box, w.box) >= SAME);
  });
  const uncut = seen.filter((s) => !s.cut);
  // Larger boxes whose parts a tile may have reported on their own: the whole frame's kept boxes, and tile boxes the
  // whole frame found too.
  const wholes = [...kept.map((d) => ({ det: d, tile: -1 })), ...uncut.filter((s) => whole.some((w) => w.label === s.det.label && iouOf(w.box, s.det.box) >= SAME))];
  const area = (b: Detection['box']): number => b.width * b.height;
  const parts = uncut.filter((s) => wholes.some((o) => o.det !== s.det && (o.tile === -1 || o.tile === s.tile) && o.det.label === s.det.label && area(o.det.box) > area(s.det.box) && containedShare(s.det.box, o.det.box) >= CONTAINED));
  const all = [...kept, ...uncut.filter((s) => !parts.includes(s)).map((s) => s.det)];
  return nonMaxSuppression(all, iouThreshold, maxDetections);
}
