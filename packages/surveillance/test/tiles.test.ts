import { describe, expect, it } from 'vitest';
import type { Detection } from '@lepton/surveillance';
// Internal helpers of the tiled detector (not exported by the package): the built module, as the package runs it.
import { autoTileGrid, mergeTiles, tileRegions } from '../dist/detect/tiles.js';

// How `tiles` merges the whole frame with its tiles (issue 17 §1): each object is judged by the view that sees it
// largest and whole. Boxes here are in frame pixels for the whole frame and in tile pixels for the tiles.
const frame = { width: 1352, height: 900 };
const regions = tileRegions(frame.width, frame.height, 3); // 564 × 375 tiles, origins x 0/394/788, y 0/263/525
const det = (label: string, score: number, x1: number, y1: number, x2: number, y2: number): Detection => ({ label, score, box: { x: x1, y: y1, width: x2 - x1, height: y2 - y1 } });
const empty = (): Detection[][] => regions.map(() => []);
const corners = (d: Detection): number[] => [d.box.x, d.box.y, d.box.x + d.box.width, d.box.y + d.box.height];

describe('mergeTiles: the whole frame and its tiles', () => {
  it('the grid the tests assume', () => {
    expect(autoTileGrid(frame.width, frame.height, [512, 512])).toBe(3);
    expect(regions[4]).toEqual({ x: 394, y: 263, width: 564, height: 375 });
  });

  it("a small object inside a tile takes the tile's box, even where the whole frame scored it higher", () => {
    // the whole frame's loose box (a child with the man beside her) and the tile's tight box of the child
    const tiles = empty();
    tiles[4] = [det('person', 0.42, 519 - 394, 504 - 263, 532 - 394, 527 - 263)];
    const out = mergeTiles([det('person', 0.45, 513, 503, 557, 533)], tiles, regions, frame, 0.5, 100);
    expect(out.map(corners)).toEqual([[519, 504, 532, 527]]);
    expect(out[0]!.score).toBe(0.42);
  });

  it('a small whole-frame detection that the tile holding it does not confirm is dropped', () => {
    const out = mergeTiles([det('person', 0.43, 1081, 391, 1100, 420)], empty(), regions, frame, 0.5, 100);
    expect(out).toEqual([]);
  });

  it('an object too large for any tile stays as the whole frame saw it; its parts and cut pieces in the tiles go', () => {
    const bus = det('bus', 0.9, 300, 200, 1000, 700); // 700 × 500: wider and taller than a tile
    const tiles = empty();
    tiles[4] = [
      det('bus', 0.6, 100, 100, 400, 300), // inside the bus, clear of the tile's edges: a part
      det('car', 0.7, 0, 150, 60, 200), // touches tile 4's left edge, which is inside the frame: cut
      det('person', 0.5, 200, 150, 230, 230), // another class inside the bus: kept
    ];
    const out = mergeTiles([bus], tiles, regions, frame, 0.5, 100);
    expect(out.map((d) => [d.label, ...corners(d)])).toEqual([
      ['bus', 300, 200, 1000, 700],
      ['person', 594, 413, 624, 493],
    ]);
  });

  it("an object near a tile's inner edge fits no tile cleanly, so the whole frame keeps it", () => {
    // x 380–580: ends past tile 0's right edge less its 11-px margin (564 − 11) and starts left of tile 1 (394 + 11)
    const wide = det('car', 0.8, 380, 100, 580, 160);
    const out = mergeTiles([wide], empty(), regions, frame, 0.5, 100);
    expect(out.map(corners)).toEqual([[380, 100, 580, 160]]);
  });

  it("the frame's own edges need no margin: a box touching the frame's corner fits the corner tile", () => {
    const tiles = empty();
    tiles[0] = [det('person', 0.5, 0, 0, 40, 90)];
    const out = mergeTiles([det('person', 0.6, 0, 0, 42, 95)], tiles, regions, frame, 0.5, 100);
    expect(out.map(corners)).toEqual([[0, 0, 40, 90]]);
  });

  it("an object the fitting tile itself cut (its box a few pixels larger, across the edge margin) keeps the whole frame's box", () => {
    // the whole frame's car ends at x 550, inside tile 0's margin (564 − 11); tile 0 sees it to 553 (cut), tile 1 cuts
    // it on the left: without the whole-frame box nothing would be left of it
    const tiles = empty();
    tiles[0] = [det('car', 0.8, 400, 300, 553, 360)];
    tiles[1] = [det('car', 0.7, 400 - 394, 300, 553 - 394, 360)];
    const out = mergeTiles([det('car', 0.8, 400, 300, 550, 360)], tiles, regions, frame, 0.5, 100);
    expect(out.map(corners)).toEqual([[400, 300, 550, 360]]);
  });

  it('a part of an object that fits a tile is dropped when the tile also sees the whole object the whole frame found', () => {
    // tile 4 reports the motorcycle and, on its own, its rear half (IoU 0.46 with it: NMS alone would keep both)
    const tiles = empty();
    tiles[4] = [det('motorcycle', 0.8, 100, 100, 220, 180), det('motorcycle', 0.5, 100, 100, 155, 180)];
    const out = mergeTiles([det('motorcycle', 0.85, 494, 363, 614, 443)], tiles, regions, frame, 0.5, 100);
    expect(out.map(corners)).toEqual([[494, 363, 614, 443]]);
    expect(out[0]!.score).toBe(0.8); // the tile's view of it
  });

  it('without tiles nothing is merged away', () => {
    const whole = [det('person', 0.6, 10, 10, 50, 100)];
    expect(mergeTiles(whole, [], [], frame, 0.5, 100)).toEqual(whole);
  });
});
