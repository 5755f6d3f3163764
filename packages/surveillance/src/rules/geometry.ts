import { LeptonError } from '@lepton/core';
import { shownJson, type Box, type Point, type Polygon } from '../types.js';

// Cheap guards: these run per track and per rule every frame, so they test a handful of numbers and build their
// message only when they fail. A NaN point would otherwise come out as a NaN distance or an arbitrary side.
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isPoint = (p: unknown): p is Point => Array.isArray(p) && finite(p[0]) && finite(p[1]);

function bad(what: string, detail: () => string): LeptonError {
  return new LeptonError('INVALID_ARGUMENT', `${what}: ${detail()}`);
}

/** Coordinates near ±1.8e308 overflow the arithmetic (Infinity − Infinity is NaN): a typed error, not a NaN answer. */
function finiteResult(what: string, v: number): number {
  if (!Number.isFinite(v)) throw bad(what, () => 'the coordinates are too large to compute with; pass pixel coordinates.');
  return v;
}

function checkPoint(what: string, name: string, p: unknown): void {
  if (!isPoint(p)) throw bad(what, () => `${name} must be [x, y] with finite numbers, got ${shownJson(p)}.`);
}

function checkBox(what: string, name: string, box: unknown): asserts box is Box {
  const b = box as Box | null;
  if (b === null || typeof b !== 'object' || !finite(b.x) || !finite(b.y) || !finite(b.width) || !finite(b.height)) {
    throw bad(what, () => `${name} needs finite x, y, width and height, got ${shownJson(box)}.`);
  }
  // A negative size is no box; beyond ±1e7 px (the tracker's and rules' bound) the areas overflow and IoU read 0.
  if (b.width < 0 || b.height < 0 || Math.abs(b.x) > 1e7 || Math.abs(b.y) > 1e7 || b.width > 1e7 || b.height > 1e7) {
    throw bad(what, () => `${name} needs width and height ≥ 0 and coordinates within ±1e7 px, got ${shownJson(box)}.`);
  }
}

/**
 * Which point of a track's box stands for its position in zone and line tests.
 *
 * - `'bottom-center'` (default) — the middle of the bottom edge: a person's feet, a vehicle's ground contact. Zones
 *   drawn on the floor and lines drawn across a doorway's threshold then mean what they look like, whatever the
 *   object's height in the image.
 * - `'center'` — the box centre, for top-down cameras or objects not standing on the ground.
 */
export type Anchor = 'bottom-center' | 'center';

/**
 * The anchor point of a box.
 *
 * @param box - a box in pixels
 * @param anchor - which point (default `'bottom-center'`)
 * @returns `[x, y]` of that point
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a box with a non-finite field, or an anchor other
 *   than `'bottom-center'` and `'center'`
 * @example
 * ```ts
 * import { anchorPoint } from '@lepton/surveillance';
 * anchorPoint({ x: 10, y: 20, width: 40, height: 100 }); // [30, 120]
 * ```
 */
export function anchorPoint(box: Box, anchor: Anchor = 'bottom-center'): Point {
  checkBox('anchorPoint', 'the box', box);
  // Any other string once fell back to 'bottom-center' silently: a typo ('centre') moved every zone test.
  if (anchor !== 'bottom-center' && anchor !== 'center') throw bad('anchorPoint', () => `anchor must be 'bottom-center' or 'center', got ${shownJson(anchor)}.`);
  const x = box.x + box.width / 2;
  return anchor === 'center' ? [x, box.y + box.height / 2] : [x, box.y + box.height];
}

/**
 * Intersection over union of two boxes: overlap area ÷ union area, in [0, 1] (0 when either box is empty).
 *
 * @param a - first box
 * @param b - second box
 * @returns the IoU
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a box that is not an object with finite x, y, width
 *   and height, with a negative width or height, or with a coordinate or size beyond 10⁷ px
 * @example
 * ```ts
 * import { boxIou } from '@lepton/surveillance';
 * boxIou({ x: 0, y: 0, width: 2, height: 2 }, { x: 1, y: 0, width: 2, height: 2 }); // 2 / 6
 * ```
 */
export function boxIou(a: Box, b: Box): number {
  checkBox('boxIou', 'a', a);
  checkBox('boxIou', 'b', b);
  return iouOf(a, b);
}

/**
 * @internal {@link boxIou} without the checks, for the tracker and NMS, whose boxes are validated where they come in
 * (per pair and per frame, the checks would cost more than the arithmetic).
 */
export function iouOf(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (!(w > 0 && h > 0)) return 0;
  const inter = w * h;
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Signed distance in pixels from `p` to the infinite line through `from` and `to`.
 *
 * Side convention (image coordinates, y down): stand on `from` and look towards `to` *as drawn on the image*. Points to
 * your **left** give a negative distance — side **A**; points to your **right** give a positive distance — side **B**.
 * A line drawn left to right across a doorway (`from` = left end) has side A above it in the image and side B below
 * it, so someone walking down the image (towards a camera looking at the door from inside) crosses `'a-to-b'`.
 *
 * @param p - the point
 * @param from - first end of the line (point A's end)
 * @param to - second end (must differ from `from`)
 * @returns the signed distance: < 0 on side A (left), > 0 on side B (right), 0 on the line
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a non-finite coordinate, `from` equal to `to`, or
 *   coordinates so large that the distance overflows
 * @example
 * ```ts
 * import { sideOfLine } from '@lepton/surveillance';
 * sideOfLine([5, -3], [0, 0], [10, 0]); // -3: above a left-to-right line, side A
 * ```
 */
export function sideOfLine(p: Point, from: Point, to: Point): number {
  checkPoint('sideOfLine', 'p', p);
  checkPoint('sideOfLine', 'from', from);
  checkPoint('sideOfLine', 'to', to);
  const dx = to[0] - from[0];
  const dy = to[1] - from[1];
  if (dx === 0 && dy === 0) throw bad('sideOfLine', () => `from and to are the same point ${shownJson(from)}; a line needs two distinct ends.`);
  return finiteResult('sideOfLine', (dx * (p[1] - from[1]) - dy * (p[0] - from[0])) / Math.hypot(dx, dy));
}

/**
 * Whether segments `a1–a2` and `b1–b2` share at least one point (touching and collinear overlap included).
 *
 * @param a1 - first end of segment a
 * @param a2 - second end of segment a
 * @param b1 - first end of segment b
 * @param b2 - second end of segment b
 * @returns true when they intersect
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a point that is not `[x, y]` with finite numbers
 * @example
 * ```ts
 * import { segmentsIntersect } from '@lepton/surveillance';
 * segmentsIntersect([0, 0], [2, 2], [0, 2], [2, 0]); // true
 * ```
 */
export function segmentsIntersect(a1: Point, a2: Point, b1: Point, b2: Point): boolean {
  checkPoint('segmentsIntersect', 'a1', a1);
  checkPoint('segmentsIntersect', 'a2', a2);
  checkPoint('segmentsIntersect', 'b1', b1);
  checkPoint('segmentsIntersect', 'b2', b2);
  const d1 = cross(b1, b2, a1);
  const d2 = cross(b1, b2, a2);
  const d3 = cross(a1, a2, b1);
  const d4 = cross(a1, a2, b2);
  if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))) return true;
  return (d1 === 0 && onSegment(b1, b2, a1)) || (d2 === 0 && onSegment(b1, b2, a2)) || (d3 === 0 && onSegment(a1, a2, b1)) || (d4 === 0 && onSegment(a1, a2, b2));
}

/**
 * Whether a point lies inside a polygon (even–odd rule, so self-intersecting polygons alternate). Points exactly on
 * an edge or a vertex count as inside, so a box resting on a zone's border is in the zone.
 *
 * @param p - the point
 * @param polygon - the polygon (≥ 3 points, closed implicitly)
 * @returns true when inside or on the boundary
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a non-finite point, or a polygon of fewer than 3
 *   points or with a non-finite one
 * @example
 * ```ts
 * import { pointInPolygon } from '@lepton/surveillance';
 * pointInPolygon([5, 5], [[0, 0], [10, 0], [10, 10], [0, 10]]); // true
 * ```
 */
export function pointInPolygon(p: Point, polygon: Polygon): boolean {
  checkPoint('pointInPolygon', 'p', p);
  if (!Array.isArray(polygon) || polygon.length < 3 || !Array.from(polygon).every(isPoint)) throw bad('pointInPolygon', () => 'the polygon needs at least 3 points, each [x, y] with finite numbers.');
  const [px, py] = p;
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const a = polygon[j]!;
    const b = polygon[i]!;
    if (cross(a, b, p) === 0 && onSegment(a, b, p)) return true;
    // Half-open rule on y (one end inclusive, the other not) so a ray through a vertex counts it once.
    if (a[1] > py !== b[1] > py) {
      const x = a[0] + ((py - a[1]) * (b[0] - a[0])) / (b[1] - a[1]);
      if (px < x) inside = !inside;
    }
  }
  return inside;
}

/**
 * Distance in pixels from a point to the nearest edge of a polygon (0 on the boundary), inside or out.
 *
 * @param p - the point
 * @param polygon - the polygon (≥ 2 points)
 * @returns the distance
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a non-finite point, or a polygon of fewer than 2
 *   points (the distance would be Infinity) or with a non-finite one
 */
export function distanceToPolygonEdge(p: Point, polygon: Polygon): number {
  checkPoint('distanceToPolygonEdge', 'p', p);
  if (!Array.isArray(polygon) || polygon.length < 2 || !Array.from(polygon).every(isPoint)) throw bad('distanceToPolygonEdge', () => 'the polygon needs at least 2 points, each [x, y] with finite numbers.');
  let best = Infinity;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) best = Math.min(best, distanceToSegment(p, polygon[j]!, polygon[i]!));
  return best;
}

/**
 * Distance in pixels from a point to a segment.
 *
 * @param p - the point
 * @param a - one end
 * @param b - the other end
 * @returns the distance
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a non-finite coordinate, or coordinates so large that
 *   the distance overflows
 */
export function distanceToSegment(p: Point, a: Point, b: Point): number {
  checkPoint('distanceToSegment', 'p', p);
  checkPoint('distanceToSegment', 'a', a);
  checkPoint('distanceToSegment', 'b', b);
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2));
  return finiteResult('distanceToSegment', Math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy)));
}

/** z of (b − a) × (p − a): > 0 when p is to the right of a→b in image coordinates (y down). */
function cross(a: Point, b: Point, p: Point): number {
  return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]);
}

/** For p collinear with a–b: whether it lies within the segment's bounding box. */
function onSegment(a: Point, b: Point, p: Point): boolean {
  return Math.min(a[0], b[0]) <= p[0] && p[0] <= Math.max(a[0], b[0]) && Math.min(a[1], b[1]) <= p[1] && p[1] <= Math.max(a[1], b[1]);
}

/**
 * Twice the signed area of a polygon (shoelace formula): 0 for repeated or collinear points, whose zone contains no
 * point and so could never fire.
 *
 * @internal
 */
export function doublePolygonArea(points: ReadonlyArray<readonly [number, number]>): number {
  let a = 0;
  for (let i = 0; i < points.length; i++) {
    const [x, y] = points[i]!;
    const [nx, ny] = points[(i + 1) % points.length]!;
    a += x * ny - nx * y;
  }
  return a;
}

/** @internal Whether two edges of the polygon that share no vertex cross properly (a bowtie, a figure eight). */
export function selfIntersects(polygon: readonly Point[]): boolean {
  const n = polygon.length;
  const orient = (a: Point, b: Point, c: Point): number => Math.sign((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]));
  for (let i = 0; i < n; i++) {
    const a = polygon[i]!;
    const b = polygon[(i + 1) % n]!;
    for (let j = i + 2; j < n; j++) {
      if (i === 0 && j === n - 1) continue; // adjacent through the closing edge
      const c = polygon[j]!;
      const d = polygon[(j + 1) % n]!;
      const o1 = orient(a, b, c);
      const o2 = orient(a, b, d);
      const o3 = orient(c, d, a);
      const o4 = orient(c, d, b);
      if (o1 * o2 < 0 && o3 * o4 < 0) return true;
    }
  }
  return false;
}
