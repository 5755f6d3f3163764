import { isLeptonError } from '@lepton/core';
import {
  annotateFrame,
  classColor,
  drawAnnotations,
  drawLabel,
  drawLine,
  drawPolygon,
  drawRect,
  drawText,
  encodeJpeg,
  FONT_ADVANCE,
  FONT_HEIGHT,
  fillPolygon,
  fillRect,
  glyphRows,
  hasGlyph,
  measureText,
  seededRandom,
  snapshot,
  type Frame,
  type RgbImage,
} from '@lepton/surveillance';
import * as jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';

const BG = 7;

/** A blank image whose pixel bytes sit between guard bytes, so a write outside the image is caught. */
function guarded(width: number, height: number): { img: RgbImage; guardsIntact: () => boolean } {
  const pad = 64;
  const buffer = new Uint8Array(width * height * 3 + 2 * pad).fill(0xa5);
  const data = buffer.subarray(pad, pad + width * height * 3).fill(BG);
  return {
    img: { data, width, height },
    guardsIntact: () => buffer.subarray(0, pad).every((v) => v === 0xa5) && buffer.subarray(pad + width * height * 3).every((v) => v === 0xa5),
  };
}

/** Coordinates `"x,y"` of every pixel that is no longer the background. */
function changed(img: RgbImage): Set<string> {
  const out = new Set<string>();
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const p = (y * img.width + x) * 3;
      if (img.data[p] !== BG || img.data[p + 1] !== BG || img.data[p + 2] !== BG) out.add(`${x},${y}`);
    }
  }
  return out;
}

function pixel(img: RgbImage, x: number, y: number): number[] {
  const p = (y * img.width + x) * 3;
  return [img.data[p]!, img.data[p + 1]!, img.data[p + 2]!];
}

describe('rectangles', () => {
  it('outlines a 1-px rectangle on exactly its border pixels', () => {
    const { img } = guarded(8, 8);
    const n = drawRect(img, { x: 2, y: 2, width: 4, height: 3 }, [255, 0, 0]);
    const expected = new Set(['2,2', '3,2', '4,2', '5,2', '2,3', '5,3', '2,4', '3,4', '4,4', '5,4']);
    expect(changed(img)).toEqual(expected);
    expect(n).toBe(10);
    expect(pixel(img, 2, 2)).toEqual([255, 0, 0]);
  });

  it('grows thicker outlines inwards (8 × 6 box at thickness 2: 48 − 4 × 2 pixels)', () => {
    const { img } = guarded(12, 12);
    expect(drawRect(img, { x: 1, y: 1, width: 8, height: 6 }, [0, 255, 0], 2)).toBe(40);
    const c = changed(img);
    expect(c.size).toBe(40);
    expect(c.has('2,3') && c.has('7,5')).toBe(true); // second ring
    expect(c.has('3,3') || c.has('6,4')).toBe(false); // interior
    expect(c.has('9,1')).toBe(false); // just outside
  });

  it('fills translucently with out = old + (colour − old) × alpha', () => {
    const { img } = guarded(4, 4);
    img.data.fill(100);
    expect(fillRect(img, { x: 1, y: 1, width: 2, height: 2 }, [200, 0, 51], 0.5)).toBe(4);
    expect(pixel(img, 1, 1)).toEqual([150, 50, 76]); // 100 + 50, 100 − 50, 100 − 24.5 → 75.5 rounds to 76
    expect(pixel(img, 0, 0)).toEqual([100, 100, 100]);
  });

  it('clips at the frame edges without throwing, wrapping rows or writing outside', () => {
    const { img, guardsIntact } = guarded(10, 6);
    expect(fillRect(img, { x: 8, y: 2, width: 5, height: 2 }, [255, 255, 255])).toBe(4);
    expect(changed(img)).toEqual(new Set(['8,2', '9,2', '8,3', '9,3'])); // nothing wrapped onto x = 0
    expect(fillRect(img, { x: -3, y: -3, width: 4, height: 4 }, [255, 255, 255])).toBe(1);
    expect(drawRect(img, { x: -100, y: -100, width: 1000, height: 1000 }, [1, 2, 3], 3)).toBe(0);
    expect(drawRect(img, { x: 50, y: 50, width: 4, height: 4 }, [1, 2, 3])).toBe(0);
    expect(drawRect(img, { x: Number.NaN, y: 0, width: 4, height: 4 }, [1, 2, 3])).toBe(0);
    expect(drawRect(img, { x: 0, y: 0, width: 1e12, height: 3 }, [9, 9, 9])).toBeGreaterThan(0);
    expect(guardsIntact()).toBe(true);
  });
});

describe('lines and polygons', () => {
  it('draws a horizontal line with both endpoints: |dx| + 1 pixels', () => {
    const { img } = guarded(12, 5);
    expect(drawLine(img, [1, 2], [10, 2], [255, 255, 0])).toBe(10);
    expect(changed(img)).toEqual(new Set(Array.from({ length: 10 }, (_, i) => `${i + 1},2`)));
  });

  it('draws a sloped line with one pixel per column within ½ px of the ideal line', () => {
    const { img } = guarded(12, 8);
    const n = drawLine(img, [1, 1], [9, 5], [255, 255, 0]);
    expect(n).toBe(9); // max(|8|, |4|) + 1
    const c = changed(img);
    expect(c.has('1,1') && c.has('9,5')).toBe(true);
    for (let x = 1; x <= 9; x++) {
      const ys = [...c].map((s) => s.split(',').map(Number)).filter(([px]) => px === x).map(([, py]) => py!);
      expect(ys).toHaveLength(1);
      expect(Math.abs(ys[0]! - (1 + (4 * (x - 1)) / 8))).toBeLessThanOrEqual(0.5);
    }
    // Steep lines: one pixel per row.
    const { img: steep } = guarded(8, 12);
    expect(drawLine(steep, [6, 10], [2, 1], [1, 1, 1])).toBe(10);
  });

  it('makes thick lines across the main direction (3 rows for a horizontal line)', () => {
    const { img } = guarded(16, 10);
    expect(drawLine(img, [2, 5], [12, 5], [0, 0, 255], 3)).toBe(33);
    const c = changed(img);
    expect(c.has('2,4') && c.has('12,6') && !c.has('2,3') && !c.has('2,7')).toBe(true);
  });

  it('clips lines with far-away or outside endpoints', () => {
    const { img, guardsIntact } = guarded(20, 10);
    expect(drawLine(img, [-1e9, 5], [1e9, 5], [9, 9, 9])).toBe(20);
    expect(drawLine(img, [-5, -5], [-1, 30], [9, 9, 9], 2)).toBe(0);
    expect(drawLine(img, [0, 0], [Number.POSITIVE_INFINITY, 3], [9, 9, 9])).toBe(0);
    expect(drawLine(img, [-10, -10], [30, 30], [9, 9, 9])).toBe(10); // the diagonal (0,0) … (9,9)
    expect(guardsIntact()).toBe(true);
  });

  it('fills a polygon on the pixels whose centres are inside (checked pixel by pixel)', () => {
    const { img, guardsIntact } = guarded(30, 20);
    const poly = [[3.2, 2.5], [25.7, 6.1], [14.3, 17.8], [-6, 12]] as const;
    fillPolygon(img, poly, [0, 0, 255]);
    // Independent check: even-odd ray test at every pixel centre.
    const insideAt = (x: number, y: number): boolean => {
      let c = false;
      for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
        const [xi, yi] = poly[i]!;
        const [xj, yj] = poly[j]!;
        if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) c = !c;
      }
      return c;
    };
    const expected = new Set<string>();
    for (let y = 0; y < 20; y++) for (let x = 0; x < 30; x++) if (insideAt(x + 0.5, y + 0.5)) expected.add(`${x},${y}`);
    expect(expected.size).toBeGreaterThan(100);
    expect(changed(img)).toEqual(expected);
    expect(guardsIntact()).toBe(true);
  });

  it('fills a 4 × 3 rectangle polygon on 12 pixels, at half opacity', () => {
    const { img } = guarded(10, 10);
    expect(fillPolygon(img, [[2, 2], [6, 2], [6, 5], [2, 5]], [207, 7, 107], 0.5)).toBe(12);
    expect(pixel(img, 2, 2)).toEqual([107, 7, 57]);
  });

  it('outlines a polygon through its vertices', () => {
    const { img } = guarded(12, 12);
    drawPolygon(img, [[1, 1], [10, 1], [5, 10]], [255, 200, 0]);
    const c = changed(img);
    for (const v of ['1,1', '10,1', '5,10']) expect(c.has(v)).toBe(true);
    expect(c.has('5,5')).toBe(false); // interior untouched
  });
});

describe('text', () => {
  it('has a non-blank glyph for every digit, letter and listed symbol', () => {
    const chars = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.,:;-_/\\%()[]+=!?\'"*<>#@&|';
    for (const ch of chars) {
      expect(hasGlyph(ch)).toBe(true);
      expect(glyphRows(ch).some((r) => r !== 0)).toBe(true);
    }
    expect(glyphRows('T')[0]).toBe(0b11111);
    expect(hasGlyph('é')).toBe(false);
    expect(Array.from(glyphRows('é'))).toEqual([31, 17, 17, 17, 17, 17, 31, 0]); // the outlined box
  });

  it('measures text: 6 px a character minus the last spacing column, 8 rows a line, times scale', () => {
    expect(measureText('ID 7', 2)).toEqual({ width: 46, height: 16 });
    expect(measureText('')).toEqual({ width: 0, height: 8 });
    expect(measureText('ab\nxyz')).toEqual({ width: 17, height: 17 });
    expect(FONT_ADVANCE).toBe(6);
    expect(FONT_HEIGHT).toBe(8);
  });

  it('renders non-empty text inside its measured box, descenders included', () => {
    for (const scale of [1, 2, 3]) {
      const { img } = guarded(520, 40);
      const text = 'Gate 3: person #12 0.97 jpq!';
      const n = drawText(img, text, 4, 5, [255, 255, 255], scale);
      const size = measureText(text, scale);
      const c = changed(img);
      expect(n).toBeGreaterThan(0);
      expect(c.size).toBe(n);
      let maxX = 0;
      let maxY = 0;
      for (const s of c) {
        const [x, y] = s.split(',').map(Number) as [number, number];
        expect(x).toBeGreaterThanOrEqual(4);
        expect(y).toBeGreaterThanOrEqual(5);
        maxX = Math.max(maxX, x);
        maxY = Math.max(maxY, y);
      }
      expect(maxX).toBeLessThan(4 + size.width);
      expect(maxY).toBe(5 + size.height - 1); // 'j', 'p', 'q' reach the descender row
    }
  });

  it('draws the I glyph where designed (top bar .###.)', () => {
    const { img } = guarded(8, 10);
    drawText(img, 'I', 1, 1, [255, 255, 255]);
    const c = changed(img);
    expect(['2,1', '3,1', '4,1'].every((p) => c.has(p))).toBe(true);
    expect(c.has('1,1') || c.has('5,1')).toBe(false);
    expect(c.size).toBe(3 + 5 + 3);
  });

  it('clips text at every edge without throwing or writing outside', () => {
    const { img, guardsIntact } = guarded(30, 10);
    drawText(img, 'Clipped text 123', -7, -3, [255, 255, 255], 2);
    drawText(img, 'edge', 25, 6, [255, 255, 255], 3);
    drawText(img, 'far', 1e9, -1e9, [255, 255, 255]);
    expect(changed(img).size).toBeGreaterThan(0);
    expect(guardsIntact()).toBe(true);
  });

  it('keeps a label inside the frame and picks a contrasting text colour', () => {
    const { img } = guarded(64, 16);
    const box = drawLabel(img, 'car 0.91', 40, -5, { background: [0, 116, 217] });
    expect(box).toEqual({ x: 64 - 49, y: 0, width: 49, height: 10 });
    expect(pixel(img, 15, 0)).toEqual([0, 116, 217]);
    // Text on a dark background is white: the 'c' of 'car' has ink at row 2 of the glyph, column 1.
    expect(pixel(img, 15 + 1 + 1, 0 + 1 + 2)).toEqual([255, 255, 255]);
  });
});

describe('annotateFrame', () => {
  const blank = (): Frame => ({
    camera: 'yard',
    index: 0,
    sourceIndex: 0,
    time: 0,
    wallTime: Date.UTC(2026, 0, 2, 3, 4, 5),
    width: 320,
    height: 240,
    data: new Uint8Array(320 * 240 * 3).fill(BG),
  });
  const track = { id: 7, label: 'person', box: { x: 40, y: 60, width: 50, height: 90 }, score: 0.88, hits: 5, misses: 0, confirmed: true, velocity: [1, 0] as const };

  it('draws boxes in the class colour, captions, active zone fills, lines and the banner', () => {
    const f = blank();
    const out = annotateFrame(f, {
      tracks: [track],
      detections: [{ box: { x: 200, y: 150, width: 60, height: 40 }, label: 'car', score: 0.5 }],
      zones: [
        { name: 'door', polygon: [[200, 40], [300, 40], [300, 120], [200, 120]], active: true },
        { name: 'lawn', polygon: [[100, 170], [180, 170], [180, 230], [100, 230]] },
      ],
      lines: [{ name: 'gate', from: [10, 200], to: [90, 200], counts: 'in 3 out 1' }],
      motionBoxes: [{ x: 120, y: 10, width: 30, height: 20 }],
      textScale: 1,
      thickness: 2,
    });
    expect(out).toBe(f);
    // Track box: left edge at its middle height is the person colour; inside untouched.
    expect(pixel(f, 40, 105)).toEqual([...classColor('person')]);
    expect(pixel(f, 41, 105)).toEqual([...classColor('person')]);
    expect(pixel(f, 65, 105)).toEqual([BG, BG, BG]);
    // Caption above the box, filled with the class colour.
    expect(pixel(f, 40, 60 - 2)).toEqual([...classColor('person')]);
    expect(pixel(f, 259, 170)).toEqual([...classColor('car')]);
    // Active zone: centre blended 25 % towards red; inactive zone interior untouched, outline amber.
    expect(pixel(f, 250, 80)).toEqual([Math.round(BG + (255 - BG) * 0.25), Math.round(BG + (48 - BG) * 0.25), Math.round(BG + (48 - BG) * 0.25)]);
    expect(pixel(f, 140, 200)).toEqual([BG, BG, BG]);
    expect(pixel(f, 100, 200)).toEqual([255, 200, 0]);
    // Line and motion box.
    expect(pixel(f, 15, 200)).toEqual([0, 230, 255]);
    expect(pixel(f, 120, 20)).toEqual([255, 0, 255]);
    // Banner: 'yard  2026-01-02 03:04:05' in white on 60 % black, top-left.
    const banner = measureText('yard  2026-01-02 03:04:05', 1);
    let white = 0;
    for (let y = 0; y < banner.height + 4; y++) for (let x = 0; x < banner.width + 4; x++) if (pixel(f, x, y).every((v) => v === 255)) white++;
    expect(white).toBeGreaterThan(50);
  });

  it('a malformed frame is INVALID_INPUT, with or without copy: hostile data, a Proxy buffer, a getter that throws', () => {
    const throwing = Object.defineProperty(blank(), 'width', {
      get(): never {
        throw new Error('boom');
      },
    });
    for (const bad of [{ ...blank(), data: Symbol('x') }, { ...blank(), data: new Proxy(new Uint8Array(320 * 240 * 3), {}) }, { ...blank(), width: 321 }, throwing]) {
      for (const copy of [true, false]) expect(() => annotateFrame(bad as never, { tracks: [track], copy })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    }
  });

  it('copy: true copies a Buffer\'s pixels too and keeps the caller\'s other fields; a prototype trap never runs', () => {
    const f = { ...blank(), data: Buffer.alloc(320 * 240 * 3, BG), note: 'kept' };
    const out = annotateFrame(f, { tracks: [track], copy: true }) as Frame & { note?: string };
    expect(f.data.every((v) => v === BG)).toBe(true); // Buffer#slice would have shared the memory
    expect(pixel(out, 40, 105)).toEqual([...classColor('person')]);
    expect(out.note).toBe('kept');
    const trapped = Object.setPrototypeOf(new Uint8Array(320 * 240 * 3), new Proxy(Uint8Array.prototype, { getPrototypeOf: () => { throw new Error('trap'); } })) as Uint8Array;
    // Its pixels are a real Uint8Array: checked by its internal slot, without running the trap (instanceof would).
    for (const copy of [true, false]) expect(annotateFrame({ ...blank(), data: trapped }, { copy }).width).toBe(320);
  });

  it('draws on a copy when asked and leaves the input untouched', () => {
    const f = blank();
    const out = annotateFrame(f, { tracks: [track], copy: true });
    expect(out).not.toBe(f);
    expect(f.data.every((v) => v === BG)).toBe(true);
    expect(pixel(out, 40, 105)).toEqual([...classColor('person')]);
    expect(out.camera).toBe('yard');
  });

  it('skips and reports malformed items, drawing the rest', () => {
    const f = blank();
    const report = drawAnnotations(f, {
      tracks: [{ ...track, box: { x: Number.NaN, y: 0, width: 5, height: 5 } }, track],
      detections: [{ box: { x: 0, y: 0, width: -4, height: 5 }, label: 'car', score: 0.5 }],
      zones: [{ name: 'bad', polygon: [[0, 0], [5, 5]] }],
      lines: [{ name: 'bad', from: [0, 0], to: [Number.NaN, 1] }],
      banner: false,
    });
    expect(report.drawn).toBe(1);
    expect(report.skipped).toBe(4);
    expect(report.problems).toEqual([
      'zones[0]: polygon needs at least three finite [x, y] points',
      'lines[0]: from and to must be finite [x, y] points',
      'detections[0]: box has a non-finite or negative field',
      'tracks[0]: box has a non-finite or negative field',
    ]);
    expect(pixel(f, 40, 105)).toEqual([...classColor('person')]);
  });

  it('gives classes stable colours', () => {
    expect(classColor('person')).toEqual([46, 204, 64]);
    expect(classColor('dog')).toEqual(classColor('dog'));
  });
});

// ---------------------------------------------------------------------------------------------------------------
// JPEG: decode with jpeg-js and compare with the source.
// ---------------------------------------------------------------------------------------------------------------

/** A smooth seeded scene (gradients, soft blobs), the kind of content JPEG is made for. */
function scene(width: number, height: number, seed: number): Frame {
  const rand = seededRandom(seed);
  const blobs = Array.from({ length: 6 }, () => ({ x: rand() * width, y: rand() * height, r: 15 + rand() * 40, c: [rand() * 255, rand() * 255, rand() * 255] }));
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 3;
      const base = [60 + (120 * x) / width, 50 + (100 * y) / height, 140 - (60 * x) / width];
      for (const b of blobs) {
        const w = Math.exp(-((x - b.x) ** 2 + (y - b.y) ** 2) / (2 * b.r * b.r));
        for (let c = 0; c < 3; c++) base[c] = base[c]! * (1 - w) + b.c[c]! * w;
      }
      for (let c = 0; c < 3; c++) data[p + c] = Math.round(base[c]!);
    }
  }
  return { camera: 'cam', index: 0, sourceIndex: 0, time: 0, wallTime: 0, width, height, data };
}

function psnr(a: Uint8Array, rgba: Uint8Array): number {
  let se = 0;
  const n = a.length / 3;
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) se += (a[i * 3 + c]! - rgba[i * 4 + c]!) ** 2;
  return 10 * Math.log10((255 * 255) / (se / (n * 3)));
}

describe('JPEG', () => {
  it('encodes a frame that jpeg-js decodes back at PSNR > 30 dB (quality 90)', () => {
    const f = scene(160, 120, 1);
    const bytes = encodeJpeg(f, 90);
    expect([bytes[0], bytes[1]]).toEqual([0xff, 0xd8]);
    const back = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
    expect([back.width, back.height]).toEqual([160, 120]);
    expect(psnr(f.data, back.data)).toBeGreaterThan(30);
    // Lower quality loses more: the comparison shows `quality` reaches the encoder.
    const low = jpeg.decode(encodeJpeg(f, 10), { useTArray: true, formatAsRGBA: true });
    expect(psnr(f.data, low.data)).toBeLessThan(psnr(f.data, back.data));
  });

  it('snapshots with the event box drawn in its colour, leaving the frame untouched', () => {
    const f = scene(200, 150, 2);
    const before = f.data.slice();
    const box = { x: 60, y: 40, width: 50, height: 70 };
    const bytes = snapshot(f, box, { quality: 90, label: '#3 person 0.87' });
    expect(f.data).toEqual(before);
    const back = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
    expect([back.width, back.height]).toEqual([200, 150]);
    const at = (x: number, y: number): number[] => Array.from(back.data.subarray((y * 200 + x) * 4, (y * 200 + x) * 4 + 3));
    // Middle of each edge of the box (thickness 2): red within JPEG error.
    for (const [x, y] of [[60, 75], [109, 75], [85, 40], [85, 109]] as const) {
      const [r, g, b] = at(x, y);
      expect(r!).toBeGreaterThan(200);
      expect(g!).toBeLessThan(60);
      expect(b!).toBeLessThan(60);
    }
    // Away from the box the picture is the source, within JPEG error.
    const src = Array.from(f.data.subarray((140 * 200 + 180) * 3, (140 * 200 + 180) * 3 + 3));
    at(180, 140).forEach((v, c) => expect(Math.abs(v - src[c]!)).toBeLessThan(12));
  });

  it('crops a snapshot to the box plus the margin', () => {
    const f = scene(200, 150, 3);
    const bytes = snapshot(f, { x: 60, y: 40, width: 40, height: 60 }, { crop: true, cropMargin: 0.25, color: [0, 0, 255] });
    const back = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
    // x: 60 − 10 … 100 + 10, y: 40 − 15 … 100 + 15.
    expect([back.width, back.height]).toEqual([60, 90]);
    const [r, g, b] = Array.from(back.data.subarray((45 * 60 + 10) * 4, (45 * 60 + 10) * 4 + 3)); // left edge of the box
    expect(b!).toBeGreaterThan(200);
    expect(r! + g!).toBeLessThan(120);
    // A box at the frame corner: the crop is clipped to the frame.
    const corner = jpeg.decode(snapshot(f, { x: 0, y: 0, width: 20, height: 20 }, { crop: true }), { useTArray: true });
    expect([corner.width, corner.height]).toEqual([25, 25]);
  });

  it('rejects bad quality, a non-finite box and a crop outside the frame', () => {
    const f = scene(32, 32, 4);
    const code = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (err) {
        return isLeptonError(err) ? err.code : 'not a LeptonError';
      }
      return undefined;
    };
    expect(code(() => encodeJpeg(f, 0))).toBe('INVALID_ARGUMENT');
    expect(code(() => encodeJpeg({ data: new Uint8Array(5), width: 2, height: 2 }))).toBe('INVALID_INPUT');
    expect(code(() => snapshot(f, { x: Number.NaN, y: 0, width: 1, height: 1 }))).toBe('INVALID_ARGUMENT');
    expect(code(() => snapshot(f, { x: 100, y: 100, width: 5, height: 5 }, { crop: true }))).toBe('INVALID_ARGUMENT');
    expect(code(() => drawRect(f, { x: 0, y: 0, width: 4, height: 4 }, [0, 0, 0], 0))).toBe('INVALID_ARGUMENT');
  });
});
