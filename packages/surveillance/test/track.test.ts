// Tracking: optimal assignment against scipy (fixtures/assignment.json, made by scripts/make-assignment-fixture.py),
// the SORT Kalman filter against a numpy transcription of sort.py (fixtures/kalman.json, scripts/make-kalman-fixture.py),
// and SortTracker's life cycle on hand-made scenes.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isLeptonError } from '@lepton/core';
import { KalmanBoxFilter, linearSumAssignment, seededRandom, SortTracker, type Box, type Detection, type LeptonErrorCode, type Track } from '@lepton/surveillance';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

interface AssignmentCase {
  name: string;
  cost: (number | null)[][];
  maxCost: number | null;
  rows: number[];
  cols: number[];
  cost_total: number;
  tiesPossible: boolean;
}
interface KalmanStep {
  detection: Box | null;
  predicted: Box | null;
  estimate: Box;
  state: number[];
  covarianceDiagonal?: number[];
}
const assignment = JSON.parse(readFileSync(join(FIXTURES, 'assignment.json'), 'utf8')) as { cases: AssignmentCase[] };
const kalman = JSON.parse(readFileSync(join(FIXTURES, 'kalman.json'), 'utf8')) as { sequences: { name: string; steps: KalmanStep[] }[] };

function expectBoxClose(actual: Box, expected: Box, tol: number, what: string): void {
  for (const k of ['x', 'y', 'width', 'height'] as const) {
    expect(Math.abs(actual[k] - expected[k]), `${what}.${k}: ${actual[k]} vs ${expected[k]}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(expected[k])));
  }
}

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

describe('linearSumAssignment against scipy.optimize.linear_sum_assignment', () => {
  it('has the fixture cases', () => expect(assignment.cases.length).toBeGreaterThanOrEqual(50));

  it.each(assignment.cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const cost = c.cost.map((row) => row.map((v) => (v === null ? Infinity : v)));
    const result = linearSumAssignment(cost, c.maxCost === null ? {} : { maxCost: c.maxCost });
    expect(Math.abs(result.cost - c.cost_total)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(c.cost_total)));
    expect(result.rows.length).toBe(c.rows.length);
    if (c.tiesPossible) {
      // several optima: check that ours is a valid pairing with the optimal total
      expect(new Set(result.cols).size).toBe(result.cols.length);
      const total = result.rows.reduce((s, r, k) => s + cost[r]![result.cols[k]!]!, 0);
      expect(total).toBeCloseTo(c.cost_total, 9);
    } else {
      expect(result.rows).toEqual(c.rows);
      expect(result.cols).toEqual(c.cols);
    }
    const n = cost.length;
    const m = cost[0]!.length;
    expect(result.unassignedRows).toEqual([...Array(n).keys()].filter((i) => !result.rows.includes(i)));
    expect(result.unassignedCols).toEqual([...Array(m).keys()].filter((j) => !result.cols.includes(j)));
  });

  it('solves the documented example and the empty cases', () => {
    expect(linearSumAssignment([[4, 1, 3], [2, 0, 5], [3, 2, 2]])).toEqual({ rows: [0, 1, 2], cols: [1, 0, 2], cost: 5, unassignedRows: [], unassignedCols: [] });
    expect(linearSumAssignment([])).toEqual({ rows: [], cols: [], cost: 0, unassignedRows: [], unassignedCols: [] });
    expect(linearSumAssignment([[], []])).toEqual({ rows: [], cols: [], cost: 0, unassignedRows: [0, 1], unassignedCols: [] });
    expect(linearSumAssignment([Float64Array.of(1, 2)]).cols).toEqual([0]);
  });

  it('rejects ragged rows, NaN and -Infinity with INVALID_ARGUMENT', () => {
    expectLeptonError(() => linearSumAssignment([[1, 2], [3]]), 'INVALID_ARGUMENT', /row 1 has 1 entries/);
    expectLeptonError(() => linearSumAssignment([[1, NaN]]), 'INVALID_ARGUMENT', /\[0\]\[1\] is NaN/);
    expectLeptonError(() => linearSumAssignment([[-Infinity]]), 'INVALID_ARGUMENT', /-Infinity/);
    expectLeptonError(() => linearSumAssignment([[1]], { maxCost: NaN }), 'INVALID_ARGUMENT', /maxCost/);
    expectLeptonError(() => linearSumAssignment([[-1e308, 1e308], [0, 0]]), 'INVALID_ARGUMENT', /too wide a range/);
  });
});

describe('KalmanBoxFilter against a numpy transcription of sort.py', () => {
  it.each(kalman.sequences.map((s) => [s.name, s] as const))('%s', (_, seq) => {
    const [first, ...rest] = seq.steps;
    const kf = new KalmanBoxFilter(first!.detection!);
    expectBoxClose(kf.box, first!.estimate, 1e-12, 'init');
    rest.forEach((step, i) => {
      const predicted = kf.predict();
      expectBoxClose(predicted, step.predicted!, 1e-9, `step ${i + 1} predicted`);
      if (step.detection !== null) kf.update(step.detection);
      expectBoxClose(kf.box, step.estimate, 1e-9, `step ${i + 1} estimate`);
      const state = kf.state;
      step.state.forEach((v, k) => expect(Math.abs(state[k]! - v), `step ${i + 1} state[${k}]`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(v))));
      const cov = kf.covariance;
      step.covarianceDiagonal!.forEach((v, k) => expect(Math.abs(cov[k * 8]! - v), `step ${i + 1} P[${k}][${k}]`).toBeLessThanOrEqual(1e-9 * Math.max(1, v)));
      expect(kf.velocity).toEqual([state[4], state[5]]);
    });
  });

  it('zeroes the area velocity when it would make the area non-positive (sort.py rule), as the fixture shows', () => {
    const seq = kalman.sequences.find((s) => s.name === 'shrinking fast')!;
    // the fixture really exercises the rule: a step whose area velocity went from negative to exactly 0
    expect(seq.steps.some((s, i) => i > 0 && seq.steps[i - 1]!.state[6]! < 0 && s.state[6] === 0)).toBe(true);
  });
});

function det(x: number, y: number, label = 'person', w = 40, h = 100, score = 0.9): Detection {
  return { box: { x, y, width: w, height: h }, label, score };
}

describe('SortTracker', () => {
  it('reports the Kalman estimate of sort.py for a single object, coasting through missed frames', () => {
    for (const name of ['walker with misses', 'steady car']) {
      const seq = kalman.sequences.find((s) => s.name === name)!;
      const tracker = new SortTracker({ minHits: 1 });
      seq.steps.forEach((step, i) => {
        const tracks = tracker.update(step.detection === null ? [] : [{ box: step.detection, label: 'person', score: 0.8 }]);
        expect(tracks.map((t) => t.id), `${name} frame ${i}`).toEqual([1]);
        expectBoxClose(tracks[0]!.box, step.estimate, 1e-9, `${name} frame ${i}`);
        expect(tracks[0]!.misses).toBe(step.detection === null ? (seq.steps[i - 1]!.detection === null ? 2 : 1) : 0);
        expect(tracks[0]!.velocity[0]).toBeCloseTo(step.state[4]!, 9);
      });
    }
  });

  it('keeps the IDs of two objects through their crossing', () => {
    // A walks right, B walks left, 8 px per frame each; their boxes overlap for ~5 frames and coincide at frame 10.
    for (const dy of [10, 0]) {
      const tracker = new SortTracker();
      let idRight = -1;
      let idLeft = -1;
      for (let f = 0; f < 21; f++) {
        const a = det(100 + 8 * f, 100);
        const b = det(260 - 8 * f, 100 + dy);
        const tracks = tracker.update(f % 2 === 0 ? [a, b] : [b, a]);
        if (f < 2) {
          expect(tracks).toEqual([]); // tentative for 2 frames
          continue;
        }
        expect(tracks.length).toBe(2);
        const right = tracks.find((t) => t.velocity[0] > 0)!;
        const left = tracks.find((t) => t.velocity[0] < 0)!;
        if (f === 2) {
          idRight = right.id;
          idLeft = left.id;
          expect(idRight).not.toBe(idLeft);
        }
        expect(right.id, `dy ${dy} frame ${f}`).toBe(idRight);
        expect(left.id, `dy ${dy} frame ${f}`).toBe(idLeft);
        // and each follows its own object (the crossing frame itself is ambiguous only when the boxes coincide)
        if (!(dy === 0 && f === 10)) {
          expect(Math.abs(right.box.x - a.box.x), `dy ${dy} frame ${f}`).toBeLessThan(4);
          expect(Math.abs(left.box.x - b.box.x), `dy ${dy} frame ${f}`).toBeLessThan(4);
        }
      }
      expect(tracker.stats().created).toBe(2);
    }
  });

  it('keeps a track through maxMisses − 1 missed frames and deletes it at the maxMisses-th', () => {
    for (const maxMisses of [1, 3, 5]) {
      const tracker = new SortTracker({ minHits: 1, maxMisses });
      tracker.update([det(100, 100)]);
      tracker.update([det(100, 100)]);
      for (let miss = 1; miss < maxMisses; miss++) {
        const tracks = tracker.update([]);
        expect(tracks.map((t) => [t.id, t.misses])).toEqual([[1, miss]]);
      }
      expect(tracker.update([])).toEqual([]);
      expect(tracker.allTracks()).toEqual([]);
      expect(tracker.stats().deleted).toBe(1);
      // the object comes back: a new ID
      expect(tracker.update([det(100, 100)]).map((t) => t.id)).toEqual([2]);
    }
    // coming back after maxMisses − 1 misses keeps the ID
    const tracker = new SortTracker({ minHits: 1, maxMisses: 3 });
    tracker.update([det(100, 100)]);
    tracker.update([]);
    tracker.update([]);
    expect(tracker.update([det(100, 100)]).map((t) => [t.id, t.misses, t.hits])).toEqual([[1, 0, 2]]);
  });

  it('keeps a track tentative until minHits matched frames, then confirmed for good', () => {
    const tracker = new SortTracker({ minHits: 3, maxMisses: 3 });
    expect(tracker.update([det(100, 100)])).toEqual([]);
    expect(tracker.allTracks().map((t) => [t.id, t.hits, t.confirmed])).toEqual([[1, 1, false]]);
    expect(tracker.update([])).toEqual([]); // a miss does not reset the count of hits
    expect(tracker.update([det(100, 100)])).toEqual([]);
    expect(tracker.allTracks().map((t) => [t.id, t.hits, t.confirmed])).toEqual([[1, 2, false]]);
    const t3 = tracker.update([det(101, 100)]);
    expect(t3.map((t) => [t.id, t.hits, t.confirmed])).toEqual([[1, 3, true]]);
    expect(tracker.update([]).map((t) => [t.id, t.misses, t.confirmed])).toEqual([[1, 1, true]]);
  });

  it('never reuses an ID, in a seeded scene of objects coming and going, nor after reset()', () => {
    const rand = seededRandom(11);
    const tracker = new SortTracker({ minHits: 1, maxMisses: 2 });
    const seen = new Set<number>();
    let maxId = 0;
    for (let f = 0; f < 200; f++) {
      const dets: Detection[] = [];
      const n = Math.floor(rand() * 6);
      for (let i = 0; i < n; i++) dets.push(det(Math.floor(rand() * 8) * 60, Math.floor(rand() * 4) * 120));
      for (const t of tracker.update(dets)) {
        if (!seen.has(t.id)) {
          expect(t.id).toBeGreaterThan(maxId); // a new ID is always above every earlier one
          maxId = t.id;
          seen.add(t.id);
        }
      }
    }
    const { created, deleted } = tracker.stats();
    expect(created).toBe(maxId);
    expect(created - deleted).toBe(tracker.allTracks().length);
    tracker.reset();
    expect(tracker.allTracks()).toEqual([]);
    expect(tracker.update([det(0, 0)]).map((t) => t.id)).toEqual([maxId + 1]);
  });

  it('matches only the same label when perClass, any label otherwise (majority label wins)', () => {
    const strict = new SortTracker({ minHits: 1 });
    strict.update([det(100, 100, 'person')]);
    expect(strict.update([det(100, 100, 'car')]).map((t) => [t.id, t.label, t.misses])).toEqual([[1, 'person', 1], [2, 'car', 0]]);

    const loose = new SortTracker({ minHits: 1, perClass: false });
    loose.update([det(100, 100, 'person')]);
    expect(loose.update([det(100, 100, 'car')]).map((t) => [t.id, t.label])).toEqual([[1, 'person']]); // tie: older label
    expect(loose.update([det(100, 100, 'car')]).map((t) => [t.id, t.label])).toEqual([[1, 'car']]); // 2 car vs 1 person
  });

  it('matches only above the IoU threshold', () => {
    // 40 × 100 boxes shifted by 20 px: IoU = 20·100 / (60·100) = 1/3
    const at = (iouThreshold: number): number[] => {
      const tracker = new SortTracker({ minHits: 1, iouThreshold });
      tracker.update([det(100, 100)]);
      return tracker.update([det(120, 100)]).map((t) => t.id);
    };
    expect(at(0.33)).toEqual([1]);
    expect(at(0.34)).toEqual([1, 2]);
    // IoU exactly at the threshold matches: 30 × 100 boxes shifted by 10 px, IoU = 2000 / 4000 = 0.5
    const exact = new SortTracker({ minHits: 1, iouThreshold: 0.5 });
    exact.update([det(100, 100, 'person', 30)]);
    expect(exact.update([det(110, 100, 'person', 30)]).map((t) => t.id)).toEqual([1]);
    // disjoint boxes never match, even with a threshold of 0
    const zero = new SortTracker({ minHits: 1, iouThreshold: 0 });
    zero.update([det(100, 100)]);
    expect(zero.update([det(140, 100)]).map((t) => t.id)).toEqual([1, 2]);
  });

  it('skips and counts malformed detections, tracking the rest', () => {
    const tracker = new SortTracker({ minHits: 1 });
    const bad = [
      det(NaN, 0),
      det(0, 0, 'person', 0, 10),
      det(0, 0, ''),
      { box: { x: 0, y: 0, width: 10, height: 10 }, label: 'person', score: NaN },
      null as unknown as Detection,
    ];
    const tracks: Track[] = tracker.update([...bad, det(300, 300)]);
    expect(tracks.map((t) => t.box.x)).toEqual([300]);
    expect(tracker.stats().rejectedDetections).toBe(5);
  });

  it('rejects invalid options with INVALID_ARGUMENT', () => {
    expectLeptonError(() => new SortTracker({ iouThreshold: 1.5 }), 'INVALID_ARGUMENT', /iouThreshold must be in \[0, 1\]/);
    expectLeptonError(() => new SortTracker({ minHits: 0 }), 'INVALID_ARGUMENT', /minHits must be an integer/);
    expectLeptonError(() => new SortTracker({ maxMisses: 2.5 }), 'INVALID_ARGUMENT', /maxMisses must be an integer/);
  });
});
