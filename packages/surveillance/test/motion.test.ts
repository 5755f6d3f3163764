import { readFileSync } from 'node:fs';
import { isLeptonError } from '@lepton/core';
import { binaryDilate, binaryErode, labelComponents, MotionDetector, seededRandom, type Box, type Frame } from '@lepton/surveillance';
import { describe, expect, it } from 'vitest';

// ---------------------------------------------------------------------------------------------------------------
// Synthetic scenes: a seeded, textured static background, per-frame sensor noise, bright moving rectangles.
// ---------------------------------------------------------------------------------------------------------------

const W = 320;
const H = 240;

interface Mover {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Textured background: 8 × 8 blocks of random grey 40–170 plus a mild colour tint. */
function background(seed: number): Uint8Array {
  const rand = seededRandom(seed);
  const bw = Math.ceil(W / 8);
  const blocks = Array.from({ length: bw * Math.ceil(H / 8) }, () => 40 + rand() * 130);
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const v = blocks[((y / 8) | 0) * bw + ((x / 8) | 0)]!;
      const p = (y * W + x) * 3;
      data[p] = v + 10;
      data[p + 1] = v;
      data[p + 2] = v - 10;
    }
  }
  return data;
}

/** A frame: background + `offset` (lighting) + noise of standard deviation `sigma`, movers painted white. */
function frame(bg: Uint8Array, noise: () => number, sigma: number, movers: Mover[], offset = 0, index = 0): Frame {
  const data = new Uint8Array(bg.length);
  for (let i = 0; i < bg.length; i++) {
    // Sum of three uniforms: zero mean, variance 1/4, so ×2σ gives standard deviation σ.
    const n = sigma === 0 ? 0 : (noise() + noise() + noise() - 1.5) * 2 * sigma;
    data[i] = Math.max(0, Math.min(255, Math.round(bg[i]! + offset + n)));
  }
  for (const m of movers) {
    for (let y = Math.max(0, m.y); y < Math.min(H, m.y + m.height); y++) {
      for (let x = Math.max(0, m.x); x < Math.min(W, m.x + m.width); x++) data.fill(250, (y * W + x) * 3, (y * W + x) * 3 + 3);
    }
  }
  return { camera: 'test', index, sourceIndex: index, time: index / 10, wallTime: 0, width: W, height: H, data };
}

function iou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const inter = ix * iy;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/** Runs `warmup` empty frames through the detector; returns the noise source to keep using. */
function warmUp(det: MotionDetector, bg: Uint8Array, sigma: number, seed: number, frames = 10): () => number {
  const noise = seededRandom(seed);
  for (let i = 0; i < frames; i++) expect(det.update(frame(bg, noise, sigma, [], 0, i)).warmingUp).toBe(true);
  return noise;
}

describe('MotionDetector', () => {
  it('reports no motion in a static scene with sensor noise after warm-up', () => {
    const bg = background(1);
    const det = new MotionDetector();
    const noise = warmUp(det, bg, 10, 2);
    let maxFraction = 0;
    for (let i = 0; i < 60; i++) {
      const r = det.update(frame(bg, noise, 10, [], 0, 10 + i));
      expect(r.warmingUp).toBe(false);
      expect(r.sceneChange).toBe(false);
      expect(r.motion).toBe(false);
      expect(r.boxes).toEqual([]);
      maxFraction = Math.max(maxFraction, r.changedFraction);
    }
    expect(maxFraction).toBeLessThan(0.01);
    expect(det.analysedSize).toEqual([160, 120]);
  });

  it('stays quiet under heavy night-time noise thanks to the erosion (and not without it)', () => {
    // σ = 32: isolated analysed pixels cross the threshold every frame; only the 3 × 3 erosion removes them.
    const bg = background(1);
    const run = (erodeIterations: number): number => {
      const det = new MotionDetector({ erodeIterations });
      const noise = warmUp(det, bg, 32, 2);
      let frames = 0;
      for (let i = 0; i < 30; i++) if (det.update(frame(bg, noise, 32, [], 0, 10 + i)).motion) frames++;
      return frames;
    };
    expect(run(1)).toBe(0);
    expect(run(0)).toBeGreaterThan(0);
  });

  it('drops movers smaller than minArea (default 0.1 % of the frame) and keeps them with a smaller minArea', () => {
    const bg = new Uint8Array(W * H * 3).fill(90);
    const small = { x: 100, y: 100, width: 6, height: 6 }; // 36 px < 76.8 px
    for (const [minArea, boxes] of [[undefined, 0], [16, 1]] as const) {
      const det = new MotionDetector(minArea === undefined ? { warmupFrames: 1 } : { warmupFrames: 1, minArea });
      warmUp(det, bg, 0, 1, 1);
      expect(det.update(frame(bg, Math.random, 0, [small])).boxes).toHaveLength(boxes);
    }
  });

  it('finds the exact box of a block-aligned mover on a clean background (hand-computed)', () => {
    const bg = new Uint8Array(W * H * 3).fill(90);
    const det = new MotionDetector({ warmupFrames: 2 });
    warmUp(det, bg, 0, 1, 2);
    const r = det.update(frame(bg, Math.random, 0, [{ x: 50, y: 100, width: 40, height: 40 }]));
    expect(r.boxes).toEqual([{ x: 50, y: 100, width: 40, height: 40 }]);
    // 40 × 40 of 320 × 240 pixels changed: 1600 / 76800.
    expect(r.changedFraction).toBeCloseTo(1600 / 76800, 10);
  });

  it('puts one box around a moving rectangle (IoU ≥ 0.7 on every frame)', () => {
    const bg = background(3);
    const det = new MotionDetector();
    const noise = warmUp(det, bg, 8, 4);
    for (let i = 0; i < 40; i++) {
      const truth = { x: 20 + 5 * i, y: 90 + i, width: 40, height: 30 };
      const r = det.update(frame(bg, noise, 8, [truth], 0, 10 + i));
      expect(r.motion).toBe(true);
      expect(r.boxes).toHaveLength(1);
      expect(iou(r.boxes[0]!, truth)).toBeGreaterThanOrEqual(0.7);
    }
  });

  it('puts two boxes around two separate movers', () => {
    const bg = background(5);
    const det = new MotionDetector();
    const noise = warmUp(det, bg, 8, 6);
    for (let i = 0; i < 30; i++) {
      const a = { x: 10 + 4 * i, y: 20, width: 30, height: 50 };
      const b = { x: 250, y: 60 + 3 * i, width: 40, height: 30 };
      const r = det.update(frame(bg, noise, 8, [a, b], 0, 10 + i));
      expect(r.boxes).toHaveLength(2);
      const [first, second] = [...r.boxes].sort((p, q) => p.x - q.x);
      expect(iou(first!, a)).toBeGreaterThanOrEqual(0.7);
      expect(iou(second!, b)).toBeGreaterThanOrEqual(0.7);
    }
  });

  it('ignores motion inside a mask polygon, and sees it without the mask', () => {
    const bg = background(7);
    const mask = [[180, 10], [310, 10], [310, 100], [180, 100]] as const;
    const masked = new MotionDetector({ masks: [mask] });
    const open = new MotionDetector();
    const n1 = warmUp(masked, bg, 8, 8);
    const n2 = warmUp(open, bg, 8, 8);
    let openMotion = 0;
    for (let i = 0; i < 30; i++) {
      const m = { x: 190 + 3 * i, y: 30, width: 25, height: 40 };
      const rm = masked.update(frame(bg, n1, 8, [m], 0, 10 + i));
      expect(rm.motion).toBe(false);
      expect(rm.boxes).toEqual([]);
      if (open.update(frame(bg, n2, 8, [m], 0, 10 + i)).motion) openMotion++;
    }
    expect(openMotion).toBe(30);
  });

  it('takes a sudden global lighting change as a scene change, then is quiet and still sees movers', () => {
    const bg = background(9);
    const det = new MotionDetector();
    const noise = warmUp(det, bg, 8, 10);
    const step = det.update(frame(bg, noise, 8, [], 60, 10));
    expect(step.sceneChange).toBe(true);
    expect(step.motion).toBe(false);
    expect(step.changedFraction).toBeGreaterThan(0.5);
    for (let i = 0; i < 20; i++) {
      const r = det.update(frame(bg, noise, 8, [], 60, 11 + i));
      expect(r.motion).toBe(false);
      expect(r.sceneChange).toBe(false);
    }
    const truth = { x: 100, y: 100, width: 40, height: 40 };
    const r = det.update(frame(bg, noise, 8, [truth], 60, 31));
    expect(r.boxes).toHaveLength(1);
    expect(iou(r.boxes[0]!, truth)).toBeGreaterThanOrEqual(0.7);
  });

  it('absorbs a gradual lighting ramp below threshold × learningRate per frame without motion', () => {
    // Documented bound: a ramp of r levels a frame lags the background by ≈ r / learningRate = 0.5 / 0.05 = 10 < 25.
    const bg = background(11);
    const det = new MotionDetector();
    const noise = warmUp(det, bg, 5, 12);
    for (let i = 0; i < 80; i++) {
      const r = det.update(frame(bg, noise, 5, [], 0.5 * (i + 1), 10 + i));
      expect(r.motion).toBe(false);
      expect(r.sceneChange).toBe(false);
    }
  });

  it('absorbs an object that stops after the documented number of frames', () => {
    // A difference d fades below threshold after ln(threshold / d) / ln(1 − foregroundLearningRate) frames.
    const bg = new Uint8Array(W * H * 3).fill(100);
    const det = new MotionDetector({ warmupFrames: 1 });
    warmUp(det, bg, 0, 1, 1);
    const parked = frame(bg, Math.random, 0, [{ x: 60, y: 60, width: 40, height: 30 }]);
    const expected = Math.log(25 / 150) / Math.log(1 - 0.01); // ≈ 178.3
    const motion: boolean[] = [];
    for (let i = 0; i < Math.ceil(expected) + 10; i++) motion.push(det.update(parked).motion);
    expect(motion.slice(0, Math.floor(expected) - 1).every(Boolean)).toBe(true);
    expect(motion.slice(Math.ceil(expected) + 1).some(Boolean)).toBe(false);
  });

  it('starts a new warm-up when the frame size changes, and after reset()', () => {
    const det = new MotionDetector({ warmupFrames: 3 });
    const small = { width: 64, height: 48, data: new Uint8Array(64 * 48 * 3) };
    for (let i = 0; i < 3; i++) det.update(small);
    expect(det.update(small).warmingUp).toBe(false);
    expect(det.update({ width: 32, height: 24, data: new Uint8Array(32 * 24 * 3) }).warmingUp).toBe(true);
    det.reset();
    expect(det.frameCount).toBe(0);
    expect(det.update({ width: 32, height: 24, data: new Uint8Array(32 * 24 * 3) }).warmingUp).toBe(true);
  });

  it('rejects bad options and malformed frames with LeptonError codes', () => {
    const code = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (err) {
        return isLeptonError(err) ? err.code : 'not a LeptonError';
      }
      return undefined;
    };
    expect(code(() => new MotionDetector({ threshold: 0 }))).toBe('INVALID_ARGUMENT');
    expect(code(() => new MotionDetector({ scale: 1.5 }))).toBe('INVALID_ARGUMENT');
    expect(code(() => new MotionDetector({ learningRate: 2 }))).toBe('INVALID_ARGUMENT');
    expect(code(() => new MotionDetector({ masks: [[[0, 0], [1, 1]]] }))).toBe('INVALID_ARGUMENT');
    const det = new MotionDetector();
    expect(code(() => det.update({ width: 4, height: 4, data: new Uint8Array(47) }))).toBe('INVALID_INPUT');
    expect(code(() => det.setMasks([[[0, 0], [Number.NaN, 1], [2, 2]]]))).toBe('INVALID_ARGUMENT');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Morphology and labelling against SciPy (fixture written by test/fixtures/make_morphology_fixture.py).
// ---------------------------------------------------------------------------------------------------------------

interface MorphCase {
  width: number;
  height: number;
  mask: string[];
  erode1: string[];
  erode2: string[];
  dilate1: string[];
  dilate2: string[];
  labels: number[];
  count: number;
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/morphology.json', import.meta.url), 'utf8')) as { cases: MorphCase[] };
const decode = (rows: string[]): Uint8Array => Uint8Array.from(rows.join(''), (c) => (c === '1' ? 1 : 0));

describe.each(fixture.cases.map((c) => [`${c.width}×${c.height}`, c] as const))('morphology vs scipy.ndimage, %s', (_name, c) => {
  const mask = { data: decode(c.mask), width: c.width, height: c.height };

  it('binaryErode matches binary_erosion (1 and 2 iterations)', () => {
    expect(Array.from(binaryErode(mask, 1).data)).toEqual(Array.from(decode(c.erode1)));
    expect(Array.from(binaryErode(mask, 2).data)).toEqual(Array.from(decode(c.erode2)));
  });

  it('binaryDilate matches binary_dilation (1 and 2 iterations)', () => {
    expect(Array.from(binaryDilate(mask, 1).data)).toEqual(Array.from(decode(c.dilate1)));
    expect(Array.from(binaryDilate(mask, 2).data)).toEqual(Array.from(decode(c.dilate2)));
  });

  it('labelComponents matches ndimage.label with 8-connectivity', () => {
    const got = labelComponents(mask);
    expect(got.count).toBe(c.count);
    expect(Array.from(got.labels)).toEqual(c.labels);
    // Areas and boxes from the reference labels.
    for (let k = 1; k <= c.count; k++) {
      let area = 0;
      let minX = Infinity;
      let maxX = -1;
      let minY = Infinity;
      let maxY = -1;
      c.labels.forEach((l, i) => {
        if (l !== k) return;
        area++;
        const x = i % c.width;
        const y = Math.floor(i / c.width);
        minX = Math.min(minX, x);
        maxX = Math.max(maxX, x);
        minY = Math.min(minY, y);
        maxY = Math.max(maxY, y);
      });
      expect(got.areas[k - 1]).toBe(area);
      expect(got.boxes[k - 1]).toEqual({ x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1 });
    }
  });
});

describe('morphology, hand-computed', () => {
  it('erodes a full 5 × 5 square to its 3 × 3 centre (outside counts as off) and dilates a point to 3 × 3', () => {
    expect(Array.from(binaryErode({ data: new Uint8Array(25).fill(1), width: 5, height: 5 }).data).join('')).toBe('0000001110011100111000000');
    expect(Array.from(binaryDilate({ data: new Uint8Array([0, 0, 0, 0, 1, 0, 0, 0, 0]), width: 3, height: 3 }).data).join('')).toBe('111111111');
    const c = labelComponents({ data: new Uint8Array([1, 0, 0, 0, 0, 1, 1, 0, 1]), width: 3, height: 3 });
    expect(c.count).toBe(3);
    expect(c.areas).toEqual([1, 2, 1]);
  });
});
