// Zones, tripwires and rule events on hand-made trajectories whose expected events are worked out in the comments.
// Tracks are built so that their anchor (bottom-centre of the box) is exactly the point given.
import { describe, expect, it } from 'vitest';
import { isLeptonError } from '@lepton/core';
import {
  anchorPoint,
  parseConfig,
  boxIou,
  distanceToPolygonEdge,
  pointInPolygon,
  RuleEngine,
  seededRandom,
  segmentsIntersect,
  sideOfLine,
  SortTracker,
  type CameraRules,
  type LeptonErrorCode,
  type LineCrossEvent,
  type Point,
  type RuleEvent,
  type Track,
  type ZoneRule,
} from '@lepton/surveillance';

/** A confirmed track whose bottom-centre is (x, y): box 20 × 60. */
function at(id: number, x: number, y: number, extra: Partial<Track> = {}): Track {
  return { id, label: 'person', box: { x: x - 10, y: y - 60, width: 20, height: 60 }, score: 0.8, hits: 10, misses: 0, confirmed: true, velocity: [0, 0], ...extra };
}

const nextFrame = new WeakMap<RuleEngine, Map<string, number>>();

/**
 * Feeds one track's positions at 10 fps (time = frame / 10; frames carry on from the camera's previous walk) and
 * returns every event with its frame number.
 */
function walk(engine: RuleEngine, camera: string, points: readonly Point[], extra: Partial<Track> = {}, id = 1): (RuleEvent & { frame: number })[] {
  const frames = nextFrame.get(engine) ?? new Map<string, number>();
  nextFrame.set(engine, frames);
  const out: (RuleEvent & { frame: number })[] = [];
  for (const [x, y] of points) {
    const frame = frames.get(camera) ?? 0;
    frames.set(camera, frame + 1);
    for (const e of engine.process(camera, frame / 10, [at(id, x, y, extra)])) out.push({ ...e, frame });
  }
  return out;
}

/** The track ID of a one-track event (crowd events have members instead). */
const idOf = (e: RuleEvent): number => ('trackId' in e ? e.trackId : NaN);

const ys = (...v: number[]): Point[] => v.map((y) => [200, y] as const);
const range = (from: number, to: number, step: number): number[] => {
  const out: number[] = [];
  for (let v = from; step > 0 ? v <= to : v >= to; v += step) out.push(v);
  return out;
};

function expectLeptonError(fn: () => unknown, code: LeptonErrorCode, pattern: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(isLeptonError(caught, code), `expected LeptonError ${code}, got ${String(caught)}`).toBe(true);
  expect((caught as Error).message).toMatch(pattern);
}

describe('geometry', () => {
  it('anchors a box at its bottom centre or its centre', () => {
    expect(anchorPoint({ x: 10, y: 20, width: 40, height: 100 })).toEqual([30, 120]);
    expect(anchorPoint({ x: 10, y: 20, width: 40, height: 100 }, 'center')).toEqual([30, 70]);
  });

  it('computes IoU by hand', () => {
    expect(boxIou({ x: 0, y: 0, width: 2, height: 2 }, { x: 1, y: 0, width: 2, height: 2 })).toBeCloseTo(2 / 6, 15);
    expect(boxIou({ x: 0, y: 0, width: 10, height: 10 }, { x: 5, y: 5, width: 10, height: 10 })).toBeCloseTo(25 / 175, 15);
    expect(boxIou({ x: 0, y: 0, width: 4, height: 4 }, { x: 1, y: 1, width: 2, height: 2 })).toBeCloseTo(4 / 16, 15);
    expect(boxIou({ x: 0, y: 0, width: 2, height: 2 }, { x: 2, y: 0, width: 2, height: 2 })).toBe(0); // touching edges
    expect(boxIou({ x: 0, y: 0, width: 0, height: 0 }, { x: 0, y: 0, width: 0, height: 0 })).toBe(0);
  });

  it('puts side A on the left and side B on the right of from → to, as drawn (y down)', () => {
    // a left-to-right line: above (smaller y) is A, below is B
    expect(sideOfLine([5, -3], [0, 0], [10, 0])).toBe(-3);
    expect(sideOfLine([5, 4], [0, 0], [10, 0])).toBe(4);
    // a top-to-bottom line (looking down the image): the left hand points to +x, so +x is side A
    expect(sideOfLine([3, 5], [0, 0], [0, 10])).toBe(-3);
    // distance to a diagonal line: (1, 0) from the line y = x is √2 / 2 away
    expect(sideOfLine([1, 0], [0, 0], [10, 10])).toBeCloseTo(-Math.SQRT1_2, 15);
  });

  it('intersects segments, touching and collinear overlap included', () => {
    expect(segmentsIntersect([0, 0], [2, 2], [0, 2], [2, 0])).toBe(true);
    expect(segmentsIntersect([0, 0], [1, 1], [2, 2], [3, 0])).toBe(false);
    expect(segmentsIntersect([0, 0], [2, 0], [1, 0], [1, 5])).toBe(true); // T junction
    expect(segmentsIntersect([0, 0], [2, 0], [1, 0], [3, 0])).toBe(true); // collinear overlap
    expect(segmentsIntersect([0, 0], [1, 0], [2, 0], [3, 0])).toBe(false); // collinear apart
    expect(segmentsIntersect([0, 0], [4, 0], [2, 1], [2, 3])).toBe(false);
  });

  it('tests points in a concave polygon, boundary included', () => {
    // a U shape: the notch [4, 8] × [0, 6] is outside
    const u = [[0, 0], [4, 0], [4, 6], [8, 6], [8, 0], [12, 0], [12, 10], [0, 10]] as const;
    expect(pointInPolygon([2, 2], u)).toBe(true);
    expect(pointInPolygon([6, 3], u)).toBe(false);
    expect(pointInPolygon([6, 8], u)).toBe(true);
    expect(pointInPolygon([13, 5], u)).toBe(false);
    expect(pointInPolygon([4, 3], u)).toBe(true); // on an edge
    expect(pointInPolygon([8, 6], u)).toBe(true); // on a vertex
    expect(pointInPolygon([-1, 6], u)).toBe(false); // the ray passes through the vertices (4, 6) and (8, 6)
    expect(pointInPolygon([2, 6], u)).toBe(true);
    expect(distanceToPolygonEdge([6, 3], u)).toBe(2);
    expect(distanceToPolygonEdge([2, 5], u)).toBe(2);
  });
});

// A door line across the image, left to right at y = 200: side A above it, side B below.
const DOOR: CameraRules = { name: 'lobby', lines: [{ name: 'door', from: [100, 200], to: [300, 200] }] };

describe('tripwires', () => {
  it('counts a person walking down through the door once, a-to-b, and back out once, b-to-a', () => {
    const engine = new RuleEngine([DOOR]);
    // down at 5 px/frame from y = 170 to 230, then back up; default hysteresis: ≥ 4 px past the line for 2 frames
    const down = range(170, 230, 5);
    const up = range(225, 170, -5);
    const events = walk(engine, 'lobby', ys(...down, ...up));
    // down: y = 205 (frame 7) is the first frame ≥ 4 px below, y = 210 (frame 8) the second → event at frame 8
    // up: frames 13 … ; y = 195 (frame 19) first ≥ 4 px above, y = 190 (frame 20) second → event at frame 20
    expect(events.map((e) => [e.kind, (e as LineCrossEvent).direction, e.frame])).toEqual([
      ['line-cross', 'a-to-b', 8],
      ['line-cross', 'b-to-a', 20],
    ]);
    const first = events[0] as LineCrossEvent & { frame: number };
    expect(first).toMatchObject({ camera: 'lobby', time: 0.8, trackId: 1, label: 'person', confidence: 0.8, line: 'door', box: { x: 190, y: 150, width: 20, height: 60 } });
    expect(engine.counts('lobby').lines).toEqual({ door: { person: { aToB: 1, bToA: 1 } } });
  });

  it('counts a box jittering on the line once', () => {
    const engine = new RuleEngine([DOOR]);
    // jitter within the ±4 px band, then ±6 px across it on alternate frames (never 2 frames in a row past it),
    // then it walks on down: one crossing
    const path = ys(180, 190, 197, 202, 198, 203, 199, 206, 194, 206, 194, 206, 194, 206, 194, 210, 220, 230);
    const events = walk(engine, 'lobby', path);
    expect(events.map((e) => [(e as LineCrossEvent).direction, e.frame])).toEqual([['a-to-b', 16]]);
    expect(engine.counts('lobby').lines.door).toEqual({ person: { aToB: 1, bToA: 0 } });
    // the same path without hysteresis (no band, no frames, no re-arm) counts every pass over the line: 180 → 202
    // (a-to-b), 198 (b-to-a), 203, 199, 206, 194, 206, 194, 206, 194, 206, 194, 210: 13 crossings, 7 down and 6 up
    const raw = new RuleEngine([DOOR], { hysteresis: { pixels: 0, frames: 1, rearmSeconds: 0 } });
    walk(raw, 'lobby', path);
    expect(raw.counts('lobby').lines.door).toEqual({ person: { aToB: 7, bToA: 6 } });
  });

  it('counts a slow crossing that pauses in the band once, at the frame it is confirmed', () => {
    const engine = new RuleEngine([DOOR], { hysteresis: { pixels: 10, frames: 3 } });
    // 185 (A) … in band 192–208 … 210, 212, 215: third frame ≥ 10 px below is frame 9
    const events = walk(engine, 'lobby', ys(185, 192, 196, 200, 204, 208, 200, 210, 212, 215, 220));
    expect(events.map((e) => [(e as LineCrossEvent).direction, e.frame])).toEqual([['a-to-b', 9]]);
  });

  it('does not count walking round the end of the line', () => {
    const engine = new RuleEngine([DOOR]);
    // from above the line at x = 350 (past the end at x = 300) down to below, then left under the line
    const path: Point[] = [[350, 150], [350, 180], [350, 220], [350, 250], [300, 250], [200, 250]];
    expect(walk(engine, 'lobby', path)).toEqual([]);
    // and back up through the door: counted b-to-a
    const back = walk(engine, 'lobby', [[200, 250], [200, 220], [200, 180], [200, 150]] as Point[]);
    expect(back.map((e) => (e as LineCrossEvent).direction)).toEqual(['b-to-a']);
  });

  it('counts only watched classes, and reports only the wanted direction while counting both', () => {
    const engine = new RuleEngine([
      { name: 'gate', lines: [{ name: 'cars-in', from: [100, 200], to: [300, 200], classes: ['car'], direction: 'a-to-b' }] },
    ]);
    const there = ys(170, 180, 190, 210, 220, 230);
    const back = ys(220, 210, 190, 180, 170);
    expect(walk(engine, 'gate', there, { label: 'person' }, 1)).toEqual([]);
    const carThere = walk(engine, 'gate', there, { label: 'car' }, 2);
    const carBack = walk(engine, 'gate', back, { label: 'car' }, 2);
    expect(carThere.map((e) => [e.kind, (e as LineCrossEvent).direction, idOf(e)])).toEqual([['line-cross', 'a-to-b', 2]]);
    expect(carBack).toEqual([]);
    expect(engine.counts('gate').lines).toEqual({ 'cars-in': { car: { aToB: 1, bToA: 1 } } });
  });

  it('uses the centre anchor when asked', () => {
    // a 60 px tall box whose feet cross the line but whose centre stops 20 px short of it
    const feet = new RuleEngine([DOOR]);
    const centre = new RuleEngine([DOOR], { anchor: 'center' });
    const path = ys(170, 190, 210, 220, 230);
    expect(walk(feet, 'lobby', path)).toHaveLength(1);
    expect(walk(centre, 'lobby', path)).toHaveLength(0);
  });
});

/** A rider on a segway: a tall 40 × 120 box whose bottom centre is (x, y). */
function rider(id: number, x: number, y: number): Track {
  return { id, label: 'person', box: { x: x - 20, y: y - 120, width: 40, height: 120 }, score: 0.9, hits: 10, misses: 0, confirmed: true, velocity: [0, 0] };
}

/** Feeds one track along `path` (frame f at time f / 10) and returns its crossings as [direction, frame]. */
function crossings(engine: RuleEngine, camera: string, path: readonly Point[], make: (id: number, x: number, y: number) => Track = rider): [string, number][] {
  const out: [string, number][] = [];
  path.forEach(([x, y], f) => {
    for (const e of engine.process(camera, f / 10, [make(1, x, y)])) if (e.kind === 'line-cross') out.push([e.direction, f]);
  });
  return out;
}

describe('tripwires: one crossing of a wobbling track counts once (issue 15: a segway rider logged as two opposite crossings 0.6 s apart)', () => {
  // Without the re-arm rule (rearmSeconds: 0 — the behaviour before the fix) each of these paths counted three
  // crossings: the box's bottom edge swings back ≥ 4 px over the line for 2 frames right after the crossing.
  it('a rider moving forward across the line while the box bobs ±10 px around it: one a-to-b', () => {
    // feet at y = 160 + 2 f, bobbing +10, +10, −10, −10 … (2 frames each way): over the line (y = 200) around frame 20
    const path = Array.from({ length: 50 }, (_, f) => [200, 160 + 2 * f + [10, 10, -10, -10][f % 4]!] as const);
    expect(crossings(new RuleEngine([DOOR]), 'lobby', path)).toEqual([['a-to-b', 21]]);
    expect(crossings(new RuleEngine([DOOR], { hysteresis: { rearmSeconds: 0 } }), 'lobby', path).length).toBe(3);
  });

  it('a rider crossing a diagonal line while swaying ±15 px sideways: one a-to-b', () => {
    // line (100, 100) → (300, 300): side A above-right, B below-left; the rider walks down the image at 2 px/frame
    // while swaying in x, which moves the feet ∓10.6 px across the diagonal
    const diagonal: CameraRules = { name: 'ramp', lines: [{ name: 'edge', from: [100, 100], to: [300, 300] }] };
    const path = Array.from({ length: 50 }, (_, f) => [200 + [15, 15, -15, -15][f % 4]!, 160 + 2 * f] as const);
    expect(crossings(new RuleEngine([diagonal]), 'ramp', path)).toEqual([['a-to-b', 19]]);
    expect(crossings(new RuleEngine([diagonal], { hysteresis: { rearmSeconds: 0 } }), 'ramp', path).length).toBe(3);
  });

  it('any forward path with bounded jitter counts exactly one crossing, in its direction (200 random paths each way)', () => {
    // Speed 2–6 px/frame; a bob of up to ±10 px with a random period (3–8 frames) and phase, plus noise, never more
    // than ±10 px in all; box 120 px tall; 10 fps. The feet can be ≥ 4 px back over the line only while the path is
    // within 10 − 4 px of it on the far side: at most 2 × 6 / 2 = 6 frames < 1 s (rearmSeconds), and never 30 px
    // (rearmDepth 0.25 × 120) back. So one crossing, whatever the jitter within those bounds.
    const rand = seededRandom(15);
    let doubledWithoutRearm = 0;
    for (let run = 0; run < 400; run++) {
      const down = run % 2 === 0;
      const speed = 2 + 4 * rand();
      const amplitude = 10 * rand();
      const period = 3 + 5 * rand();
      const phase = 2 * Math.PI * rand();
      const path: Point[] = [];
      for (let y = 150, f = 0; y <= 250; y += speed, f++) {
        const bob = Math.max(-1, Math.min(1, 1.5 * Math.sin((2 * Math.PI * f) / period + phase) + 0.3 * (2 * rand() - 1)));
        path.push([200 + 20 * (rand() - 0.5), (down ? y : 400 - y) + amplitude * bob]);
      }
      const got = crossings(new RuleEngine([DOOR]), 'lobby', path);
      expect(got.map(([d]) => d), `run ${run}: speed ${speed.toFixed(2)}, jitter ±${amplitude.toFixed(1)}`).toEqual([down ? 'a-to-b' : 'b-to-a']);
      if (crossings(new RuleEngine([DOOR], { hysteresis: { rearmSeconds: 0 } }), 'lobby', path).length > 1) doubledWithoutRearm++;
    }
    expect(doubledWithoutRearm).toBeGreaterThan(0); // the paths do exercise the wobble
  });

  it('still counts someone who really turns back: at once when clearly back over, else once the re-arm time is over', () => {
    // 20 × 60 box: a clear return is ≥ 15 px back (a quarter of 60). Crossing down confirmed at frame 3 (t = 0.3).
    const deep = crossings(new RuleEngine([DOOR]), 'lobby', ys(180, 190, 210, 220, 210, 190, 180, 170, 170), at);
    expect(deep).toEqual([['a-to-b', 3], ['b-to-a', 7]]); // 180 (20 px back) at frame 6, 170 at frame 7: 2 frames deep
    // back only 10 px above the line, and staying there: counted at t = 1.3 s, 1 s after the first crossing
    const shallow = crossings(new RuleEngine([DOOR]), 'lobby', ys(180, 190, 210, 220, 210, 190, 190, 190, 190, 190, 190, 190, 190, 190, 190), at);
    expect(shallow).toEqual([['a-to-b', 3], ['b-to-a', 13]]);
  });

  it('rejects a negative or non-finite re-arm setting with CONFIG_INVALID', () => {
    expectLeptonError(() => new RuleEngine([DOOR], { hysteresis: { rearmSeconds: -1 } }), 'CONFIG_INVALID', /hysteresis\.rearmSeconds/);
    expectLeptonError(() => new RuleEngine([DOOR], { hysteresis: { rearmDepth: NaN } }), 'CONFIG_INVALID', /hysteresis\.rearmDepth/);
  });
});

// A 200 × 200 square zone.
const SQUARE = [[100, 100], [300, 100], [300, 300], [100, 300]] as const;

describe('zones', () => {
  it('raises enter and exit once each for a walk through, with jitter on the edge absorbed', () => {
    const engine = new RuleEngine([{ name: 'cam', zones: [{ name: 'hall', polygon: SQUARE }] }]);
    // x = 200; y: 80, 90, 98, 101 (in band), 99, 103, 110 (≥ 4 px in: first), 120 (second → enter at frame 7, visit
    // since frame 6), … 290, 302 (band), 310 (first out), 320 (second → exit at frame 19)
    const path = ys(80, 90, 98, 101, 99, 103, 110, 120, 150, 180, 200, 220, 240, 260, 280, 290, 302, 298, 310, 320);
    const events = walk(engine, 'cam', path);
    expect(events.map((e) => [e.kind, e.frame])).toEqual([
      ['zone-enter', 7],
      ['zone-exit', 19],
    ]);
    expect(events[1]).toMatchObject({ zone: 'hall', reason: 'left' });
    expect((events[1] as { dwellSeconds: number }).dwellSeconds).toBeCloseTo(1.9 - 0.6, 12);
    expect(engine.counts('cam').zones).toEqual({ hall: { occupancy: 0, byLabel: {}, entries: 1 } });
  });

  it('enters a track that appears inside at once, and closes the visit with reason "lost" when it disappears', () => {
    const engine = new RuleEngine([{ name: 'cam', zones: [{ name: 'hall', polygon: SQUARE }] }]);
    expect(engine.process('cam', 0, [at(7, 200, 200), at(8, 50, 50)]).map((e) => [e.kind, idOf(e)])).toEqual([['zone-enter', 7]]);
    expect(engine.counts('cam').zones.hall).toEqual({ occupancy: 1, byLabel: { person: 1 }, entries: 1 });
    // coasting (misses > 0) keeps it inside, even when its predicted box has drifted out
    expect(engine.process('cam', 0.1, [at(7, 400, 400, { misses: 1 }), at(8, 50, 50)])).toEqual([]);
    expect(engine.counts('cam').zones.hall!.occupancy).toBe(1);
    // deleted by the tracker: gone from the list
    const lost = engine.process('cam', 0.2, [at(8, 50, 50)]);
    expect(lost).toEqual([
      { kind: 'zone-exit', camera: 'cam', time: 0.2, trackId: 7, label: 'person', confidence: 0.8, box: { x: 390, y: 340, width: 20, height: 60 }, zone: 'hall', reason: 'lost', dwellSeconds: 0.2 },
    ]);
    expect(engine.counts('cam').zones.hall!.occupancy).toBe(0);
  });

  it('ignores tentative tracks and tracks of classes the zone does not watch', () => {
    const engine = new RuleEngine([{ name: 'cam', zones: [{ name: 'lot', polygon: SQUARE, classes: ['car', 'truck'] }] }]);
    const events = engine.process('cam', 0, [at(1, 200, 200), at(2, 210, 210, { label: 'car', confirmed: false }), at(3, 220, 220, { label: 'truck' })]);
    expect(events.map((e) => [e.kind, idOf(e)])).toEqual([['zone-enter', 3]]);
    expect(engine.counts('cam').zones.lot).toEqual({ occupancy: 1, byLabel: { truck: 1 }, entries: 1 });
  });

  it('raises loitering exactly once per visit, loiterSeconds after the visit began', () => {
    const engine = new RuleEngine([{ name: 'cam', zones: [{ name: 'atm', polygon: SQUARE, loiterSeconds: 5 }] }], { hysteresis: { pixels: 4, frames: 1 } });
    // outside for frames 0–9, inside frames 10–99 (t = 1.0 … 9.9), out at 100–109, back in from 110 to 179
    const path: Point[] = [];
    for (let f = 0; f < 180; f++) path.push(f < 10 || (f >= 100 && f < 110) ? [50, 50] : [200, 200]);
    const events = walk(engine, 'cam', path);
    expect(events.map((e) => [e.kind, e.frame])).toEqual([
      ['zone-enter', 10],
      ['loitering', 60], // t = 6.0 = 1.0 + 5
      ['zone-exit', 100],
      ['zone-enter', 110],
      ['loitering', 160],
    ]);
    expect((events[1] as { dwellSeconds: number }).dwellSeconds).toBeCloseTo(5, 12);
  });

  it('does not lose the loitering frame to rounding of frame ÷ fps', () => {
    // at 30 fps, 9/30 − 3/30 = 0.19999999999999998 in floating point, yet frame 9 is exactly 0.2 s after frame 3
    const engine = new RuleEngine([{ name: 'cam', zones: [{ name: 'atm', polygon: SQUARE, loiterSeconds: 0.2 }] }], { hysteresis: { pixels: 0, frames: 1 } });
    const kinds: [string, number][] = [];
    for (let f = 0; f < 15; f++) {
      for (const e of engine.process('cam', f / 30, [at(1, f < 3 ? 50 : 200, f < 3 ? 50 : 200)])) kinds.push([e.kind, f]);
    }
    expect(kinds).toEqual([['zone-enter', 3], ['loitering', 9]]);
  });

  it('measures loitering from the first frame inside when entries need several frames', () => {
    const engine = new RuleEngine([{ name: 'cam', zones: [{ name: 'atm', polygon: SQUARE, loiterSeconds: 2 }] }], { hysteresis: { pixels: 4, frames: 3 } });
    const path: Point[] = [];
    for (let f = 0; f < 40; f++) path.push(f < 5 ? [50, 50] : [200, 200]);
    // inside from frame 5 (t = 0.5); entry confirmed at frame 7; loitering at t = 2.5, frame 25
    expect(walk(engine, 'cam', path).map((e) => [e.kind, e.frame])).toEqual([['zone-enter', 7], ['loitering', 25]]);
  });

  it('raises intrusion with every entry into a restricted zone', () => {
    const engine = new RuleEngine([{ name: 'cam', zones: [{ name: 'vault', polygon: SQUARE, restricted: true }, { name: 'hall', polygon: [[0, 0], [400, 0], [400, 400], [0, 400]] }] }], { hysteresis: { pixels: 0, frames: 1 } });
    const events = walk(engine, 'cam', [[50, 50], [200, 200], [50, 50], [200, 200]]);
    expect(events.map((e) => [e.kind, 'zone' in e ? e.zone : '', e.frame])).toEqual([
      ['zone-enter', 'hall', 0],
      ['zone-enter', 'vault', 1],
      ['intrusion', 'vault', 1],
      ['zone-exit', 'vault', 2],
      ['zone-enter', 'vault', 3],
      ['intrusion', 'vault', 3],
    ]);
  });

  it('raises crowd once per episode when occupancy reaches the threshold', () => {
    const engine = new RuleEngine([{ name: 'cam', zones: [{ name: 'queue', polygon: SQUARE, crowdThreshold: 3 }] }]);
    const inside = (ids: number[]): Track[] => ids.map((id) => at(id, 150 + 10 * id, 200));
    const frames = [[1], [1, 2], [1, 2, 3], [1, 2, 3, 4], [1, 2, 4], [1, 2, 3, 4], [2, 4], [2, 4, 5], [2, 4, 5]];
    const crowd = frames.map((ids, f) => engine.process('cam', f, inside(ids)).filter((e) => e.kind === 'crowd'));
    // reached at frame 2 (3 inside); still ≥ 3 at frames 3–5 (4, 3, 4), below at 6 (2), reached again at 7
    expect(crowd.map((c) => c.length)).toEqual([0, 0, 1, 0, 0, 0, 0, 1, 0]);
    expect(crowd[2]![0]).toMatchObject({ kind: 'crowd', camera: 'cam', time: 2, zone: 'queue', count: 3, threshold: 3 });
    expect(crowd[2]![0]!.kind === 'crowd' && crowd[2]![0]!.members.map((m) => m.trackId)).toEqual([1, 2, 3]);
    expect(crowd[7]![0]).toMatchObject({ count: 3, members: [{ trackId: 2 }, { trackId: 4 }, { trackId: 5 }] });
    expect(engine.counts('cam').zones.queue!.occupancy).toBe(3);
  });
});

describe('crowd zones count people by default (issue 15: a pickup counted as the fourth person of "crowd 4")', () => {
  const queue = (extra: Partial<ZoneRule> = {}): RuleEngine =>
    new RuleEngine([{ name: 'cam', zones: [{ name: 'queue', polygon: SQUARE, crowdThreshold: 4, ...extra }] }]);
  const people = [1, 2, 3].map((id) => at(id, 150 + 20 * id, 200));
  const pickup = at(9, 250, 250, { label: 'truck', box: { x: 200, y: 200, width: 90, height: 50 } });

  it('three people and a pickup are not a crowd of 4; a fourth person is, and the pickup is not among its members', () => {
    const engine = queue();
    expect(engine.process('cam', 0, [...people, pickup]).filter((e) => e.kind === 'crowd')).toEqual([]);
    // occupancy still counts every watched track: the zone watches every class
    expect(engine.counts('cam').zones.queue).toMatchObject({ occupancy: 4, byLabel: { person: 3, truck: 1 } });
    const crowd = engine.process('cam', 0.1, [...people, pickup, at(4, 240, 220)]).filter((e) => e.kind === 'crowd');
    expect(crowd).toHaveLength(1);
    expect(crowd[0]).toMatchObject({ count: 4, threshold: 4 });
    expect(crowd[0]!.kind === 'crowd' && crowd[0]!.members.map((m) => [m.trackId, m.label])).toEqual([[1, 'person'], [2, 'person'], [3, 'person'], [4, 'person']]);
  });

  it("counts the zone's own classes when it lists them, and crowdClasses when given", () => {
    const cars = queue({ classes: ['car', 'truck'] });
    const vehicles = [1, 2, 3].map((id) => at(id, 150 + 20 * id, 200, { label: 'car' }));
    expect(cars.process('cam', 0, [...vehicles, pickup, ...people.map((p) => ({ ...p, id: p.id + 10 }))]).filter((e) => e.kind === 'crowd')).toMatchObject([{ count: 4 }]);
    const mixed = queue({ crowdClasses: ['person', 'bicycle'] });
    const riders = [at(5, 260, 200, { label: 'bicycle' })];
    expect(mixed.process('cam', 0, [...people, pickup, ...riders]).filter((e) => e.kind === 'crowd')).toMatchObject([{ count: 4 }]);
  });

  it('takes crowdClasses from a parsed configuration, and rejects an empty or non-string list', () => {
    const config = parseConfig({ cameras: [{ name: 'cam', input: 'x.mp4', zones: [{ name: 'queue', polygon: SQUARE.map(([x, y]) => [x, y]), crowdThreshold: 4 }] }] });
    const engine = new RuleEngine(config.cameras);
    expect(engine.process('cam', 0, [...people, pickup]).filter((e) => e.kind === 'crowd')).toEqual([]);
    expectLeptonError(() => queue({ crowdClasses: [] }), 'CONFIG_INVALID', /zones\[0\]\.crowdClasses/);
  });
});

describe('RuleEngine', () => {
  it('keeps cameras independent: same track IDs, separate state and counters', () => {
    const engine = new RuleEngine([DOOR, { ...DOOR, name: 'garage' }]);
    const down = ys(170, 180, 190, 210, 220);
    const lobby: RuleEvent[] = [];
    const garage: RuleEvent[] = [];
    down.forEach(([x, y], f) => {
      lobby.push(...engine.process('lobby', f, [at(1, x, y)]));
      // in the garage track 1 stays above the line the whole time
      garage.push(...engine.process('garage', f, [at(1, x, 170)]));
    });
    expect(lobby.map((e) => [e.camera, e.kind])).toEqual([['lobby', 'line-cross']]);
    expect(garage).toEqual([]);
    expect(engine.counts('lobby').lines.door).toEqual({ person: { aToB: 1, bToA: 0 } });
    expect(engine.counts('garage').lines.door).toEqual({});
    engine.reset('lobby');
    expect(engine.counts('lobby').lines.door).toEqual({});
  });

  it('rejects bad configuration with CONFIG_INVALID naming every problem', () => {
    expectLeptonError(
      () =>
        new RuleEngine([
          {
            name: 'cam',
            zones: [
              { name: 'a', polygon: [[0, 0], [1, 1]] },
              { name: 'a', polygon: SQUARE, loiterSeconds: 0, crowdThreshold: 1.5 },
            ],
            lines: [{ name: 'l', from: [5, 5], to: [5, 5] }],
          },
        ]),
      'CONFIG_INVALID',
      /zones\[0\]\.polygon: needs at least 3 points.*zones\[1\]\.name: 'a' repeats.*loiterSeconds.*crowdThreshold.*lines\[0\]: from and to are the same point/,
    );
    expectLeptonError(() => new RuleEngine([DOOR, DOOR]), 'CONFIG_INVALID', /repeats an earlier camera/);
    expectLeptonError(() => new RuleEngine([DOOR], { hysteresis: { frames: 0 } }), 'CONFIG_INVALID', /hysteresis\.frames/);
  });

  it('rejects unknown cameras and time going backwards with INVALID_ARGUMENT, and skips malformed tracks', () => {
    const engine = new RuleEngine([DOOR]);
    expectLeptonError(() => engine.process('yard', 0, []), 'INVALID_ARGUMENT', /Unknown camera 'yard'.*lobby/);
    engine.process('lobby', 5, []);
    expectLeptonError(() => engine.process('lobby', 4.9, []), 'INVALID_ARGUMENT', /before the previous frame/);
    expectLeptonError(() => engine.process('lobby', NaN, []), 'INVALID_ARGUMENT', /not a finite number/);
    const bad = [at(1.5, 200, 150), at(2, NaN, 150), at(3, 200, 150, { label: '' }), at(4, 200, 150), at(4, 200, 150)];
    engine.process('lobby', 5, bad);
    expect(engine.counts('lobby').rejectedTracks).toBe(4);
  });

  it('takes the cameras of a parsed configuration as they are', () => {
    const config = parseConfig({
      cameras: [
        {
          name: 'entrance',
          input: 'entrance.mp4',
          zones: [{ name: 'hall', polygon: SQUARE.map(([x, y]) => [x, y]), classes: ['person'], loiterSeconds: 20 }],
          lines: [{ name: 'door', from: [100, 200], to: [300, 200], direction: 'b-to-a' }],
        },
      ],
    });
    const engine = new RuleEngine(config.cameras);
    const events = walk(engine, 'entrance', ys(170, 180, 190, 210, 220, 230));
    expect(events.map((e) => [e.kind, 'zone' in e ? e.zone : 'line' in e ? e.line : '', e.frame])).toEqual([['zone-enter', 'hall', 0]]);
    expect(engine.counts('entrance').lines.door).toEqual({ person: { aToB: 1, bToA: 0 } });
  });

  it('counts a walker once when fed by SortTracker from raw detections', () => {
    const tracker = new SortTracker();
    const engine = new RuleEngine([DOOR]);
    const events: RuleEvent[] = [];
    for (let f = 0; f < 30; f++) {
      // feet go from y = 140 to 285 at 5 px/frame; the detector misses frames 14 and 15 (right at the line)
      const feet = 140 + 5 * f;
      const dets = f === 14 || f === 15 ? [] : [{ box: { x: 190, y: feet - 80, width: 30, height: 80 }, label: 'person', score: 0.9 }];
      events.push(...engine.process('lobby', f / 10, tracker.update(dets)));
    }
    expect(events.map((e) => [e.kind, e.kind === 'line-cross' ? e.direction : '', idOf(e)])).toEqual([['line-cross', 'a-to-b', 1]]);
  });
});
