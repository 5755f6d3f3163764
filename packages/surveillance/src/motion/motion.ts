import { describeValue, LeptonError } from '@lepton/core';
import type { Box, Frame, Polygon } from '../types.js';
import { dilateInto, erodeInto, labelInto } from './morphology.js';
import { resolveMotionOptions, type MotionOptions, type ResolvedMotionOptions } from './options.js';
import { byteCount, isUint8Array } from '../detect/letterbox.js';

export type { MotionOptions } from './options.js';

/** What {@link MotionDetector.update} found in one frame. */
export interface MotionResult {
  /** True when at least one motion box was found. */
  motion: boolean;
  /**
   * Motion boxes in full-resolution pixels: the bounding boxes of the foreground pixels of each connected component
   * of the cleaned (eroded, then dilated) mask, at least `minArea` large, merged while any two overlap.
   */
  boxes: Box[];
  /** Share of the analysed, unmasked pixels whose difference from the background is over `threshold` (0–1). */
  changedFraction: number;
  /** True on a frame taken as a scene change (see {@link MotionOptions.sceneChangeFraction}); `motion` is false then. */
  sceneChange: boolean;
  /** True while the background is still being built (the first `warmupFrames` frames); `motion` is false then. */
  warmingUp: boolean;
  /** Time spent in `update`, in milliseconds. */
  ms: number;
}

/** Even-odd point-in-polygon test. */
function inside(poly: Polygon, x: number, y: number): boolean {
  let c = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i]!;
    const [xj, yj] = poly[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) c = !c;
  }
  return c;
}

/** Merges boxes in place while any two overlap (positive intersection area), each into their union. */
function mergeOverlapping(boxes: Box[]): Box[] {
  let merged = true;
  while (merged) {
    merged = false;
    for (let i = 0; i < boxes.length && !merged; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i]!;
        const b = boxes[j]!;
        if (a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height) {
          const x = Math.min(a.x, b.x);
          const y = Math.min(a.y, b.y);
          boxes[i] = { x, y, width: Math.max(a.x + a.width, b.x + b.width) - x, height: Math.max(a.y + a.height, b.y + b.height) - y };
          boxes.splice(j, 1);
          merged = true;
          break;
        }
      }
    }
  }
  return boxes;
}

/**
 * Motion detection that gates the expensive detector, so a static scene costs almost nothing.
 *
 * Each frame is reduced to a small greyscale image (about 160 px wide; each analysed pixel averages up to 4 × 4
 * evenly spread samples of its block, so the cost depends on the analysed size, not the camera resolution) and
 * compared with a running-average background. Pixels differing by more than `threshold` are foreground; masked
 * areas are cleared; the mask is eroded (noise) then dilated (joins fragments); the connected components give the
 * motion boxes. The background learns fast where nothing moves and slowly under movers, so a passing person leaves
 * no ghost, gradual lighting is absorbed, and a sudden global change (see `sceneChangeFraction`) resets it in one
 * frame.
 *
 * After the first frame of a given size, `update` allocates only the small result object: every image buffer is
 * reused. A change of frame size re-initialises the buffers and the background (a new warm-up).
 *
 * @example
 * ```ts
 * import { MotionDetector, type Frame } from '@lepton/surveillance';
 * const detector = new MotionDetector({ warmupFrames: 2 });
 * const frame = (n: number): Frame => {
 *   const data = new Uint8Array(320 * 240 * 3).fill(90);
 *   for (let y = 100; y < 140; y++) for (let x = 10 + n * 8; x < 50 + n * 8; x++) data.fill(230, (y * 320 + x) * 3, (y * 320 + x) * 3 + 3);
 *   return { camera: 'gate', index: n, sourceIndex: n, time: n / 10, wallTime: 0, width: 320, height: 240, data };
 * };
 * const empty = { ...frame(0), data: new Uint8Array(320 * 240 * 3).fill(90) };
 * detector.update(empty);
 * detector.update(empty);
 * console.log(detector.update(frame(5)).boxes); // [{ x: 50, y: 100, width: 40, height: 40 }]
 * ```
 */
export class MotionDetector {
  private readonly s: ResolvedMotionOptions;
  private masks: Polygon[];
  private masksDirty = true;
  // Geometry of the current frame size (0 until the first frame).
  private width = 0;
  private height = 0;
  private factor = 1;
  private dw = 0;
  private dh = 0;
  private k = 1;
  // Reused buffers.
  private colOffsets = new Int32Array(0);
  private rowOffsets = new Int32Array(0);
  private grey = new Float32Array(0);
  private background = new Float32Array(0);
  private ignore = new Uint8Array(0);
  private raw = new Uint8Array(0);
  private bufA = new Uint8Array(0);
  private bufB = new Uint8Array(0);
  private tmp = new Uint8Array(0);
  private labels = new Int32Array(0);
  private stack = new Int32Array(0);
  private stats = new Int32Array(0);
  private analysed = 0;
  private frames = 0;

  /**
   * @param options - see {@link MotionOptions}
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` naming the first invalid option
   */
  constructor(options: MotionOptions = {}) {
    this.s = resolveMotionOptions(options);
    this.masks = this.s.masks;
  }

  /** Frames seen since construction, the last {@link reset} or the last change of frame size. */
  get frameCount(): number {
    return this.frames;
  }

  /** Size of the analysed (downscaled) image, `[width, height]`; `[0, 0]` before the first frame. */
  get analysedSize(): [number, number] {
    return [this.dw, this.dh];
  }

  /**
   * Replaces the ignored areas; takes effect on the next frame without resetting the background.
   *
   * @param masks - polygons in full-resolution pixels
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when `masks` is not an array or a polygon has fewer than
   *   three finite points
   */
  setMasks(masks: readonly Polygon[]): void {
    this.masks = resolveMotionOptions({ masks }).masks;
    this.masksDirty = true;
  }

  /** Forgets the background: the next frame starts a new warm-up. */
  reset(): void {
    this.frames = 0;
  }

  /**
   * Analyses one frame and updates the background.
   *
   * @param frame - packed RGB frame (any object with `data`, `width` and `height` will do)
   * @returns motion boxes and flags for this frame
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` when `data` is not `width × height × 3` bytes
   */
  update(frame: Pick<Frame, 'data' | 'width' | 'height'>): MotionResult {
    const t0 = performance.now();
    if (frame === null || typeof frame !== 'object') throw new LeptonError('INVALID_INPUT', `MotionDetector.update: expected a frame { data, width, height }, got ${frame === null ? 'null' : typeof frame}.`);
    const { width, height, data } = frame;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || !isUint8Array(data) || byteCount(data) !== width * height * 3) {
      throw new LeptonError(
        'INVALID_INPUT',
        `MotionDetector.update: a ${describeValue(width)}×${describeValue(height)} RGB frame needs a Uint8Array of width × height × 3 bytes; got ${isUint8Array(data) ? `${byteCount(data)} bytes` : describeValue(data)}.`,
        { details: { width: describeValue(width), height: describeValue(height) } },
      );
    }
    if (width !== this.width || height !== this.height) this.allocate(width, height);
    if (this.masksDirty) this.rasteriseMasks();
    this.sampleGrey(data);

    const n = this.dw * this.dh;
    const { grey, background: bg, ignore, raw } = this;
    const result = (changedFraction: number, sceneChange: boolean, warmingUp: boolean, boxes: Box[]): MotionResult => ({
      motion: boxes.length > 0,
      boxes,
      changedFraction,
      sceneChange,
      warmingUp,
      ms: performance.now() - t0,
    });

    // Warm-up: cumulative mean of the first frames.
    if (this.frames < this.s.warmupFrames) {
      if (this.frames === 0) bg.set(grey);
      else {
        const a = 1 / (this.frames + 1);
        for (let i = 0; i < n; i++) bg[i]! += a * (grey[i]! - bg[i]!);
      }
      this.frames++;
      return result(0, false, true, []);
    }
    this.frames++;

    // Foreground and selective background update in one pass.
    const thr = this.s.threshold;
    const lr = this.s.learningRate;
    const lrFg = this.s.foregroundLearningRate;
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const d = grey[i]! - bg[i]!;
      const fg = (d > thr || d < -thr) && ignore[i] === 0;
      raw[i] = fg ? 1 : 0;
      if (fg) changed++;
      bg[i]! += (fg ? lrFg : lr) * d;
    }
    const changedFraction = this.analysed > 0 ? changed / this.analysed : 0;
    if (changedFraction > this.s.sceneChangeFraction) {
      bg.set(grey);
      return result(changedFraction, true, false, []);
    }
    if (changed === 0) return result(0, false, false, []);

    // Clean: erode, then dilate (ping-pong between two buffers). Past max(width, height) passes a 3 × 3 erosion or
    // dilation no longer changes the mask, so more is the same result: bounding it keeps `erodeIterations: 1e9` (a
    // valid integer) from hanging the camera's loop.
    const passes = Math.max(this.dw, this.dh);
    let src: Uint8Array = raw;
    let dst = this.bufA;
    for (let i = 0; i < Math.min(this.s.erodeIterations, passes); i++) {
      erodeInto(src, dst, this.tmp, this.dw, this.dh);
      src = dst;
      dst = dst === this.bufA ? this.bufB : this.bufA;
    }
    for (let i = 0; i < Math.min(this.s.dilateIterations, passes); i++) {
      dilateInto(src, dst, this.tmp, this.dw, this.dh);
      src = dst;
      dst = dst === this.bufA ? this.bufB : this.bufA;
    }

    // Components of the cleaned mask; each box spans the raw foreground pixels of its component.
    const count = labelInto(src, this.dw, this.dh, this.labels, this.stack, this.stats);
    if (count === 0) return result(changedFraction, false, false, []);
    const st = this.stats;
    const comps = Math.min(count, Math.floor(st.length / 5));
    for (let c = 0; c < comps; c++) {
      st[c * 5] = this.dw;
      st[c * 5 + 1] = this.dh;
      st[c * 5 + 2] = -1;
      st[c * 5 + 3] = -1;
      st[c * 5 + 4] = 0;
    }
    const labels = this.labels;
    for (let y = 0, i = 0; y < this.dh; y++) {
      for (let x = 0; x < this.dw; x++, i++) {
        const l = labels[i]!;
        if (l === 0 || raw[i] === 0 || l > comps) continue;
        const s = (l - 1) * 5;
        if (x < st[s]!) st[s] = x;
        if (y < st[s + 1]!) st[s + 1] = y;
        if (x > st[s + 2]!) st[s + 2] = x;
        if (y > st[s + 3]!) st[s + 3] = y;
        st[s + 4]!++;
      }
    }
    const f = this.factor;
    const minArea = this.s.minArea ?? 0.001 * width * height;
    const boxes: Box[] = [];
    for (let c = 0; c < comps; c++) {
      const s = c * 5;
      if (st[s + 4]! === 0 || st[s + 4]! * f * f < minArea) continue;
      const x0 = st[s]! * f;
      const y0 = st[s + 1]! * f;
      const x1 = Math.min(width, (st[s + 2]! + 1) * f);
      const y1 = Math.min(height, (st[s + 3]! + 1) * f);
      boxes.push({ x: x0, y: y0, width: x1 - x0, height: y1 - y0 });
    }
    return result(changedFraction, false, false, mergeOverlapping(boxes));
  }

  /** (Re)builds every buffer and the sampling grid for a new frame size; the background starts over. */
  private allocate(width: number, height: number): void {
    this.width = width;
    this.height = height;
    const f = this.s.scale ?? Math.max(1, Math.ceil(width / this.s.targetWidth));
    this.factor = f;
    this.dw = Math.ceil(width / f);
    this.dh = Math.ceil(height / f);
    // Up to 4 × 4 samples a block: enough averaging to quieten sensor noise, and a cost independent of resolution.
    const k = Math.min(f, 4);
    this.k = k;
    this.colOffsets = new Int32Array(this.dw * k);
    for (let i = 0; i < this.dw; i++) {
      const x0 = i * f;
      const span = Math.min(f, width - x0);
      for (let b = 0; b < k; b++) this.colOffsets[i * k + b] = (x0 + Math.min(span - 1, Math.floor(((b + 0.5) * span) / k))) * 3;
    }
    this.rowOffsets = new Int32Array(this.dh * k);
    for (let j = 0; j < this.dh; j++) {
      const y0 = j * f;
      const span = Math.min(f, height - y0);
      for (let a = 0; a < k; a++) this.rowOffsets[j * k + a] = (y0 + Math.min(span - 1, Math.floor(((a + 0.5) * span) / k))) * width * 3;
    }
    const n = this.dw * this.dh;
    this.grey = new Float32Array(n);
    this.background = new Float32Array(n);
    this.ignore = new Uint8Array(n);
    this.raw = new Uint8Array(n);
    this.bufA = new Uint8Array(n);
    this.bufB = new Uint8Array(n);
    this.tmp = new Uint8Array(n);
    this.labels = new Int32Array(n);
    this.stack = new Int32Array(n);
    // 8-connected components are at most one per 2 × 2 block.
    this.stats = new Int32Array(5 * (Math.ceil(this.dw / 2) * Math.ceil(this.dh / 2) + 1));
    this.frames = 0;
    this.masksDirty = true;
  }

  /** Marks analysed pixels whose block is at least half covered (by sample points) by a mask polygon. */
  private rasteriseMasks(): void {
    const { dw, dh, k, ignore } = this;
    ignore.fill(0);
    if (this.masks.length > 0) {
      for (let j = 0; j < dh; j++) {
        for (let i = 0; i < dw; i++) {
          let hits = 0;
          for (let a = 0; a < k; a++) {
            const y = this.rowOffsets[j * k + a]! / (this.width * 3) + 0.5;
            for (let b = 0; b < k; b++) {
              const x = this.colOffsets[i * k + b]! / 3 + 0.5;
              if (this.masks.some((p) => inside(p, x, y))) hits++;
            }
          }
          if (hits * 2 >= k * k) ignore[j * dw + i] = 1;
        }
      }
    }
    let analysed = 0;
    for (let i = 0; i < dw * dh; i++) if (ignore[i] === 0) analysed++;
    this.analysed = analysed;
    this.masksDirty = false;
  }

  /** Block-sampled luma (BT.601 weights) into `grey`. */
  private sampleGrey(data: Uint8Array): void {
    const { dw, dh, k, colOffsets, rowOffsets, grey } = this;
    const norm = 1 / (k * k);
    for (let j = 0; j < dh; j++) {
      for (let i = 0; i < dw; i++) {
        let sum = 0;
        for (let a = 0; a < k; a++) {
          const row = rowOffsets[j * k + a]!;
          for (let b = 0; b < k; b++) {
            const p = row + colOffsets[i * k + b]!;
            sum += 0.299 * data[p]! + 0.587 * data[p + 1]! + 0.114 * data[p + 2]!;
          }
        }
        grey[j * dw + i] = sum * norm;
      }
    }
  }
}
