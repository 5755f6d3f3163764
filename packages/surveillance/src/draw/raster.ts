import { describeValue, LeptonError } from '@lepton/core';
import type { Box, Point, Polygon } from '../types.js';
import { FONT_ADVANCE, FONT_HEIGHT, FONT_LINE_GAP, glyphRows } from './font.js';
import { byteCount, isUint8Array } from '../detect/letterbox.js';

/** An RGB colour, each channel 0–255 (values are rounded and clamped when drawn). */
export type Rgb = readonly [number, number, number];

/** Any packed RGB image (3 bytes per pixel, row-major, no padding); a {@link Frame} is one. */
export interface RgbImage {
  /** `width × height × 3` bytes. */
  data: Uint8Array;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

// Pixel model shared by every primitive: pixel (x, y) covers [x, x + 1) × [y, y + 1). Every write goes through a
// bounds check, so shapes partly or wholly outside the image are clipped and never throw; non-finite coordinates
// draw nothing. Primitives return how many in-image pixels they wrote, which the tests use as an exact check.

/** @internal Throws `INVALID_INPUT` unless `img` is a well-formed packed RGB image. */
export function checkImage(img: RgbImage, what: string): void {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || !isUint8Array(data) || byteCount(data) !== width * height * 3) {
    throw new LeptonError(
      'INVALID_INPUT',
      `${what}: a ${describeValue(width)}×${describeValue(height)} RGB image needs a Uint8Array of width × height × 3 bytes; got ${isUint8Array(data) ? `${byteCount(data)} bytes` : describeValue(data)}.`,
    );
  }
}

function positiveInt(value: number, field: string, what: string): number {
  if (!Number.isInteger(value) || value < 1) throw new LeptonError('INVALID_ARGUMENT', `${what}: ${field} must be a positive integer; got ${describeValue(value)}.`);
  return value;
}

/**
 * Thicker lines cost `thickness` writes per step over a segment clipped to the image grown by `thickness`: a valid
 * integer such as 1e9 would never return. Wider than any frame's diagonal, so no real overlay notices the bound.
 */
export const MAX_LINE_THICKNESS = 4096;

function lineThickness(value: number, what: string): number {
  positiveInt(value, 'thickness', what);
  if (value > MAX_LINE_THICKNESS) throw new LeptonError('INVALID_ARGUMENT', `${what}: thickness must be at most ${MAX_LINE_THICKNESS}; got ${describeValue(value)}.`);
  return value;
}

/** Colours and opacities come from callers and configuration: a Symbol there threw a TypeError in the comparison. */
/** @internal Refuses anything but `[r, g, b]` with finite numbers (`INVALID_ARGUMENT` naming `what`). */
export function checkColor(color: unknown, what: string): void {
  if (!Array.isArray(color) || color.length !== 3 || !Array.from(color).every((c) => typeof c === 'number' && Number.isFinite(c))) {
    throw new LeptonError('INVALID_ARGUMENT', `${what}: color must be [r, g, b] with finite numbers (0–255); got ${describeValue(color)}.`);
  }
}

function checkAlpha(alpha: unknown, what: string): void {
  if (typeof alpha !== 'number' || Number.isNaN(alpha)) throw new LeptonError('INVALID_ARGUMENT', `${what}: alpha must be a number from 0 to 1; got ${describeValue(alpha)}.`);
}

/** A polygon must at least be an array; its points may be anything (a non-finite one draws nothing). */
function checkPolygon(polygon: unknown, what: string): void {
  if (!Array.isArray(polygon)) throw new LeptonError('INVALID_ARGUMENT', `${what}: polygon must be an array of [x, y] points; got ${describeValue(polygon)}.`);
  // By index: `forEach`/`every` skip the holes of a sparse array, which then drew nothing (or threw a TypeError).
  for (let i = 0; i < polygon.length; i++) checkPointShape(polygon[i], `polygon[${i}]`, what);
}

/** A point must be an array (destructuring anything else threw a TypeError); non-finite coordinates draw nothing. */
function checkPointShape(p: unknown, name: string, what: string): void {
  if (!Array.isArray(p)) throw new LeptonError('INVALID_ARGUMENT', `${what}: ${name} must be an [x, y] point; got ${describeValue(p)}.`);
}

function channel(v: number): number {
  return v >= 255 ? 255 : v > 0 ? Math.round(v) : 0;
}

/** A writer of (possibly translucent) pixels with the colour resolved once. */
class Pen {
  readonly r: number;
  readonly g: number;
  readonly b: number;
  readonly a: number;
  count = 0;
  constructor(
    readonly img: RgbImage,
    color: Rgb,
    alpha: number,
    what: string,
  ) {
    checkColor(color, what);
    checkAlpha(alpha, what);
    this.r = channel(color[0]);
    this.g = channel(color[1]);
    this.b = channel(color[2]);
    this.a = Number.isFinite(alpha) ? Math.min(1, Math.max(0, alpha)) : 1;
  }
  /** Writes pixel (x, y) if it is inside the image; x, y integers. */
  put(x: number, y: number): void {
    const { width, height, data } = this.img;
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const p = (y * width + x) * 3;
    const a = this.a;
    if (a >= 1) {
      data[p] = this.r;
      data[p + 1] = this.g;
      data[p + 2] = this.b;
    } else {
      data[p] = Math.round(data[p]! + (this.r - data[p]!) * a);
      data[p + 1] = Math.round(data[p + 1]! + (this.g - data[p + 1]!) * a);
      data[p + 2] = Math.round(data[p + 2]! + (this.b - data[p + 2]!) * a);
    }
    this.count++;
  }
  /** Fills pixel columns [x0, x1) × rows [y0, y1), clipped; integer bounds. */
  span(x0: number, y0: number, x1: number, y1: number): void {
    const xa = Math.max(0, x0);
    const xb = Math.min(this.img.width, x1);
    const ya = Math.max(0, y0);
    const yb = Math.min(this.img.height, y1);
    for (let y = ya; y < yb; y++) for (let x = xa; x < xb; x++) this.put(x, y);
  }
}

function finiteBox(box: Box, what: string): boolean {
  if (box === null || typeof box !== 'object') throw new LeptonError('INVALID_ARGUMENT', `${what}: box must be an object { x, y, width, height }; got ${describeValue(box)}.`);
  return Number.isFinite(box.x) && Number.isFinite(box.y) && Number.isFinite(box.width) && Number.isFinite(box.height);
}

/**
 * Fills a box, optionally translucent: covers pixel columns `round(x) … round(x + width) − 1` and the matching rows.
 *
 * @param img - image to draw on, in place
 * @param box - the box in pixels
 * @param color - fill colour
 * @param alpha - opacity 0–1 (`out = old + (colour − old) × alpha`). Default 1.
 * @returns pixels written (clipped to the image)
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a malformed image, `INVALID_ARGUMENT` for a colour that is not
 *   three finite numbers, a non-number alpha, or a box that is not an object
 * @example
 * ```ts
 * import { fillRect } from '@lepton/surveillance';
 * const img = { data: new Uint8Array(4 * 4 * 3), width: 4, height: 4 };
 * console.log(fillRect(img, { x: 2, y: 2, width: 5, height: 5 }, [255, 0, 0])); // 4 (clipped at the edge)
 * ```
 */
export function fillRect(img: RgbImage, box: Box, color: Rgb, alpha = 1): number {
  checkImage(img, 'fillRect');
  const pen = new Pen(img, color, alpha, 'fillRect');
  if (!finiteBox(box, 'fillRect')) return 0;
  pen.span(Math.round(box.x), Math.round(box.y), Math.round(box.x + box.width), Math.round(box.y + box.height));
  return pen.count;
}

/**
 * Outlines a box. The outline grows inwards with `thickness`, so it stays on the pixels `fillRect` would fill: a box
 * `{ x: 2, y: 2, width: 4, height: 3 }` at thickness 1 writes columns 2–5 of rows 2 and 4 and the end columns of row 3.
 *
 * @param img - image to draw on, in place
 * @param box - the box in pixels
 * @param color - line colour
 * @param thickness - line width in pixels, a positive integer. Default 1.
 * @returns pixels written (clipped to the image)
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a malformed image, `INVALID_ARGUMENT` for a bad thickness, a colour
 *   that is not three finite numbers, or a box that is not an object
 * @example
 * ```ts
 * import { drawRect } from '@lepton/surveillance';
 * const img = { data: new Uint8Array(8 * 8 * 3), width: 8, height: 8 };
 * console.log(drawRect(img, { x: 2, y: 2, width: 4, height: 3 }, [0, 255, 0])); // 10
 * ```
 */
export function drawRect(img: RgbImage, box: Box, color: Rgb, thickness = 1): number {
  checkImage(img, 'drawRect');
  positiveInt(thickness, 'thickness', 'drawRect');
  checkColor(color, 'drawRect');
  if (!finiteBox(box, 'drawRect')) return 0;
  const x0 = Math.round(box.x);
  const y0 = Math.round(box.y);
  const x1 = Math.round(box.x + box.width);
  const y1 = Math.round(box.y + box.height);
  if (x1 <= x0 || y1 <= y0) return 0;
  const pen = new Pen(img, color, 1, 'drawRect');
  const t = thickness;
  if (2 * t >= x1 - x0 || 2 * t >= y1 - y0) {
    pen.span(x0, y0, x1, y1);
    return pen.count;
  }
  pen.span(x0, y0, x1, y0 + t); // top
  pen.span(x0, y1 - t, x1, y1); // bottom
  pen.span(x0, y0 + t, x0 + t, y1 - t); // left
  pen.span(x1 - t, y0 + t, x1, y1 - t); // right
  return pen.count;
}

/**
 * Liang–Barsky clip of a segment to a rectangle; returns null when nothing is left. Clipping before rasterising
 * keeps a segment with far-away endpoints (a box 10⁹ px off-screen) from looping over pixels nobody sees.
 */
function clipSegment(ax: number, ay: number, bx: number, by: number, minX: number, minY: number, maxX: number, maxY: number): [number, number, number, number] | null {
  let t0 = 0;
  let t1 = 1;
  const dx = bx - ax;
  const dy = by - ay;
  const edges: [number, number][] = [
    [-dx, ax - minX],
    [dx, maxX - ax],
    [-dy, ay - minY],
    [dy, maxY - ay],
  ];
  for (const [p, q] of edges) {
    if (p === 0) {
      if (q < 0) return null;
    } else {
      const r = q / p;
      if (p < 0) {
        if (r > t1) return null;
        if (r > t0) t0 = r;
      } else {
        if (r < t0) return null;
        if (r < t1) t1 = r;
      }
    }
  }
  return [ax + t0 * dx, ay + t0 * dy, ax + t1 * dx, ay + t1 * dy];
}

/** Bresenham from rounded endpoints; each step writes a span of `t` pixels across the major axis (no overlaps). */
function line(pen: Pen, from: Point, to: Point, t: number, what: string): void {
  checkPointShape(from, 'from', what);
  checkPointShape(to, 'to', what);
  const [fx, fy] = from;
  const [tx, ty] = to;
  if (![fx, fy, tx, ty].every(Number.isFinite)) return;
  const { width, height } = pen.img;
  const c = clipSegment(fx, fy, tx, ty, -t - 1, -t - 1, width + t, height + t);
  if (c === null) return;
  let x = Math.round(c[0]);
  let y = Math.round(c[1]);
  const x1 = Math.round(c[2]);
  const y1 = Math.round(c[3]);
  const dx = Math.abs(x1 - x);
  const dy = -Math.abs(y1 - y);
  const sx = x < x1 ? 1 : -1;
  const sy = y < y1 ? 1 : -1;
  const xMajor = dx >= -dy;
  const off = Math.floor((t - 1) / 2);
  let err = dx + dy;
  for (;;) {
    if (xMajor) for (let k = 0; k < t; k++) pen.put(x, y - off + k);
    else for (let k = 0; k < t; k++) pen.put(x - off + k, y);
    if (x === x1 && y === y1) break;
    const e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y += sy;
    }
  }
}

/**
 * Draws a straight line (Bresenham between the rounded endpoints, both included). At thickness 1 a line from
 * (x0, y0) to (x1, y1) writes `max(|x1 − x0|, |y1 − y0|) + 1` pixels; thicker lines add pixels across the main
 * direction, centred on the thin line.
 *
 * @param img - image to draw on, in place
 * @param from - first endpoint
 * @param to - second endpoint
 * @param color - line colour
 * @param thickness - line width in pixels, a positive integer. Default 1.
 * @returns pixels written (clipped to the image)
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a malformed image, `INVALID_ARGUMENT` for a thickness that is not an
 *   integer from 1 to {@link MAX_LINE_THICKNESS}, a colour that is not three finite numbers, or an endpoint that is
 *   not an array
 * @example
 * ```ts
 * import { drawLine } from '@lepton/surveillance';
 * const img = { data: new Uint8Array(10 * 10 * 3), width: 10, height: 10 };
 * console.log(drawLine(img, [1, 1], [8, 4], [255, 255, 0])); // 8
 * ```
 */
export function drawLine(img: RgbImage, from: Point, to: Point, color: Rgb, thickness = 1): number {
  checkImage(img, 'drawLine');
  lineThickness(thickness, 'drawLine');
  const pen = new Pen(img, color, 1, 'drawLine');
  line(pen, from, to, thickness, 'drawLine');
  return pen.count;
}

/**
 * Outlines a closed polygon (a line from each vertex to the next, and from the last back to the first).
 *
 * @param img - image to draw on, in place
 * @param polygon - vertices in pixels
 * @param color - line colour
 * @param thickness - line width in pixels, a positive integer. Default 1.
 * @returns pixel writes (a vertex shared by two edges counts twice)
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a malformed image, `INVALID_ARGUMENT` for a thickness that is not an
 *   integer from 1 to {@link MAX_LINE_THICKNESS}, a colour that is not three finite numbers, or a polygon (or a
 *   vertex) that is not an array
 * @example
 * ```ts
 * import { drawPolygon } from '@lepton/surveillance';
 * const img = { data: new Uint8Array(10 * 10 * 3), width: 10, height: 10 };
 * drawPolygon(img, [[1, 1], [8, 1], [4, 8]], [255, 200, 0]);
 * ```
 */
export function drawPolygon(img: RgbImage, polygon: Polygon, color: Rgb, thickness = 1): number {
  checkImage(img, 'drawPolygon');
  lineThickness(thickness, 'drawPolygon');
  checkPolygon(polygon, 'drawPolygon');
  const pen = new Pen(img, color, 1, 'drawPolygon');
  for (let i = 0; i < polygon.length; i++) line(pen, polygon[i]!, polygon[(i + 1) % polygon.length]!, thickness, 'drawPolygon');
  return pen.count;
}

/**
 * Fills a polygon (even-odd rule, a pixel is inside when its centre is), optionally translucent, for zones.
 *
 * @param img - image to draw on, in place
 * @param polygon - vertices in pixels (self-intersecting polygons follow the even-odd rule)
 * @param color - fill colour
 * @param alpha - opacity 0–1. Default 1.
 * @returns pixels written (clipped to the image)
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a malformed image, `INVALID_ARGUMENT` for a colour that is not three
 *   finite numbers, a non-number alpha, or a polygon (or a vertex) that is not an array
 * @example
 * ```ts
 * import { fillPolygon } from '@lepton/surveillance';
 * const img = { data: new Uint8Array(10 * 10 * 3), width: 10, height: 10 };
 * console.log(fillPolygon(img, [[2, 2], [6, 2], [6, 5], [2, 5]], [0, 0, 255], 0.5)); // 12
 * ```
 */
export function fillPolygon(img: RgbImage, polygon: Polygon, color: Rgb, alpha = 1): number {
  checkImage(img, 'fillPolygon');
  checkPolygon(polygon, 'fillPolygon');
  const pen = new Pen(img, color, alpha, 'fillPolygon');
  polygon.forEach((p, i) => checkPointShape(p, `polygon[${i}]`, 'fillPolygon'));
  if (polygon.length < 3 || !polygon.every((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]))) return 0;
  const ys = polygon.map((p) => p[1]);
  const yStart = Math.max(0, Math.floor(Math.min(...ys)));
  const yEnd = Math.min(img.height - 1, Math.ceil(Math.max(...ys)));
  const xs: number[] = [];
  for (let y = yStart; y <= yEnd; y++) {
    const yc = y + 0.5;
    xs.length = 0;
    for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
      const [xi, yi] = polygon[i]!;
      const [xj, yj] = polygon[j]!;
      if (yi > yc !== yj > yc) xs.push(xi + ((yc - yi) * (xj - xi)) / (yj - yi));
    }
    xs.sort((a, b) => a - b);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      // Pixels whose centre x + 0.5 lies in [xs[k], xs[k + 1]).
      const xa = Math.max(0, Math.ceil(xs[k]! - 0.5));
      const xb = Math.min(img.width, Math.ceil(xs[k + 1]! - 0.5));
      for (let x = xa; x < xb; x++) pen.put(x, y);
    }
  }
  return pen.count;
}

/**
 * Draws text in the built-in bitmap font (see `glyphRows`); `(x, y)` is the top-left corner of the first character
 * cell, and the ink stays inside the box `measureText(text, scale)` reports from there. `\n` starts a new line.
 *
 * @param img - image to draw on, in place
 * @param text - the text (characters the font lacks render as an outlined box)
 * @param x - left edge in pixels (rounded)
 * @param y - top edge in pixels (rounded)
 * @param color - ink colour
 * @param scale - integer magnification. Default 1.
 * @returns pixels written (clipped to the image)
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a malformed image, `INVALID_ARGUMENT` for a bad scale, a text that is
 *   not a string, or a colour that is not three finite numbers
 * @example
 * ```ts
 * import { drawText } from '@lepton/surveillance';
 * const img = { data: new Uint8Array(40 * 10 * 3), width: 40, height: 10 };
 * drawText(img, 'Cam 1', 1, 1, [255, 255, 255]);
 * ```
 */
export function drawText(img: RgbImage, text: string, x: number, y: number, color: Rgb, scale = 1): number {
  checkImage(img, 'drawText');
  positiveInt(scale, 'scale', 'drawText');
  if (typeof text !== 'string') throw new LeptonError('INVALID_ARGUMENT', `drawText: text must be a string; got ${describeValue(text)}.`);
  const pen = new Pen(img, color, 1, 'drawText');
  if (!Number.isFinite(x) || !Number.isFinite(y)) return 0;
  const left = Math.round(x);
  let top = Math.round(y);
  for (const lineText of text.split('\n')) {
    let cx = left;
    for (const ch of lineText) {
      if (cx >= img.width) break;
      if (cx + FONT_ADVANCE * scale > 0 && top < img.height && top + FONT_HEIGHT * scale > 0) {
        const rows = glyphRows(ch);
        for (let r = 0; r < FONT_HEIGHT; r++) {
          const bits = rows[r]!;
          if (bits === 0) continue;
          for (let c = 0; c < 5; c++) {
            if ((bits & (1 << (4 - c))) !== 0) pen.span(cx + c * scale, top + r * scale, cx + (c + 1) * scale, top + (r + 1) * scale);
          }
        }
      }
      cx += FONT_ADVANCE * scale;
    }
    top += (FONT_HEIGHT + FONT_LINE_GAP) * scale;
  }
  return pen.count;
}
