// Property-based tests (fast-check) for issue 15, "bad input never turns into a wrong number": whatever goes into the
// configuration validator, the tracker, the rule engine or the geometry helpers, what comes out is either a valid
// result with every number finite, or a typed LeptonError — never another exception, never NaN or Infinity. Runs are
// kept small (a few hundred cases each) so the file runs in seconds; a failure prints the seed to replay it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isLeptonError } from '@lepton/core';
import {
  RuleEngine,
  SortTracker,
  anchorPoint,
  distanceToPolygonEdge,
  parseConfig,
  pointInPolygon,
  sideOfLine,
  type ConfigIssue,
  type Detection,
  type RuleEvent,
  type Track,
} from '@lepton/surveillance';

/** Every number anywhere inside `value` (objects, arrays) is finite. */
function allFinite(value: unknown, seen = new Set<unknown>()): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  if (value === null || typeof value !== 'object' || seen.has(value)) return true;
  seen.add(value);
  return Object.values(value).every((v) => allFinite(v, seen));
}

/** Calls `fn`; returns its result, or the LeptonError it threw with one of `codes` (anything else fails the test). */
function typed<T>(codes: readonly string[], fn: () => T): { ok: true; value: T } | { ok: false; code: string; error: Error } {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    if (!isLeptonError(err) || !codes.includes(err.code)) throw new Error(`expected a LeptonError ${codes.join(' | ')}, got ${String(err)}`, { cause: err });
    return { ok: false, code: err.code, error: err };
  }
}

// Numbers as hostile input: ordinary ones, edge values and non-finite ones.
const anyNumber = fc.oneof(
  fc.double(),
  fc.integer({ min: -1000, max: 1000 }),
  fc.constantFrom(NaN, Infinity, -Infinity, 0, -0, -1, 1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER),
);
const anyValue = fc.oneof(anyNumber, fc.string({ maxLength: 12 }), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.jsonValue({ maxDepth: 2 }));

const VALID = {
  detector: { classes: ['person', 'car', 'truck'], thresholds: { person: 0.4 }, batchSize: 4 },
  mqtt: { url: 'mqtt://127.0.0.1:1883', username: 'nvr', password: 'secret' },
  output: { dir: 'out', clips: { before: 2, after: 2 }, evidence: ['line-cross', 'crowd'] },
  cameras: [
    {
      name: 'gate',
      input: 'rtsp://admin:pw@10.0.0.7/stream2',
      fps: 10,
      width: 640,
      height: 360,
      motion: { enabled: true, threshold: 25, minArea: 200, masks: [[[0, 0], [640, 0], [640, 40]]] },
      tracker: { minHits: 3, maxMisses: 5, iouThreshold: 0.3 },
      thresholds: { car: 0.5 },
      zones: [{ name: 'queue', polygon: [[100, 200], [300, 200], [300, 350], [100, 350]], classes: ['person'], loiterSeconds: 20, crowdThreshold: 4 }],
      lines: [{ name: 'entry', from: [320, 0], to: [320, 360], direction: 'both', classes: ['person', 'car'] }],
    },
  ],
};

/** Every path (list of keys) of a JSON-like value, the root included. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}
const VALID_PATHS = paths(VALID);

/** A copy of `doc` with the value at `path` replaced (or deleted when `value` is the DELETE marker). */
const DELETE = Symbol('delete');
function mutate(doc: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value === DELETE ? undefined : value;
  const copy = (Array.isArray(doc) ? [...doc] : { ...(doc as object) }) as Record<string | number, unknown>;
  const [head, ...rest] = path;
  if (rest.length === 0 && value === DELETE) delete copy[head!];
  else copy[head!] = mutate(copy[head!], rest, value);
  return copy;
}

/** The checks every CONFIG_INVALID must pass: issues listed, each naming its path, no credentials repeated. */
function expectConfigError(error: Error): void {
  const details = (error as unknown as { details: { issues: ConfigIssue[]; problems: string[] } }).details;
  expect(details.issues.length).toBeGreaterThan(0);
  expect(details.problems).toEqual(details.issues.map((i) => i.message));
  for (const { path, message } of details.issues) {
    expect(typeof path).toBe('string');
    const cam = /^cameras\[(\d+)\]\.?(.*)$/.exec(path);
    if (cam) {
      expect(message).toContain(`(cameras[${cam[1]}]): `);
      if (cam[2] !== '') expect(message).toContain(`${cam[2]}: `);
    } else {
      expect(message.startsWith(path === '' ? 'the document: ' : `${path}: `)).toBe(true);
    }
  }
  for (const secret of ['admin:pw', 'secret']) expect(error.message).not.toContain(secret);
}

describe('the configuration validator: a valid configuration or CONFIG_INVALID naming a path, nothing else', () => {
  it('accepts the reference configuration', () => {
    expect(parseConfig(VALID).cameras[0]!.zones[0]!.crowdThreshold).toBe(4);
  });

  it('arbitrary JSON documents', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.anything()), (doc) => {
        const r = typed(['CONFIG_INVALID'], () => parseConfig(doc));
        if (r.ok) expect(allFinite(r.value)).toBe(true);
        else expectConfigError(r.error);
      }),
      { numRuns: 300 },
    );
  });

  it('mutations of a valid configuration: a field replaced by anything (NaN, Infinity, wrong types …), deleted, or a field added', () => {
    const mutation = fc.oneof(
      fc.record({ path: fc.constantFrom(...VALID_PATHS), value: fc.oneof(anyValue, fc.constant(DELETE)) }),
      fc.record({ path: fc.constantFrom(...VALID_PATHS.filter((p) => p.length > 0)).map((p) => [...p.slice(0, -1), 'unknownField']), value: anyValue }),
    );
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (mutations) => {
        const doc = mutations.reduce<unknown>((d, m) => mutate(d, m.path, m.value), VALID);
        const r = typed(['CONFIG_INVALID'], () => parseConfig(doc));
        if (!r.ok) return expectConfigError(r.error);
        accepted++;
        const config = r.value;
        expect(allFinite(config)).toBe(true);
        expect(config.cameras.length).toBeGreaterThan(0);
        for (const cam of config.cameras) {
          expect(typeof cam.name).toBe('string');
          expect(Number.isInteger(cam.width) && Number.isInteger(cam.height)).toBe(true);
          expect(cam.fps).toBeGreaterThan(0);
          for (const z of cam.zones) expect(z.polygon.length).toBeGreaterThanOrEqual(3);
        }
        // A valid configuration also builds a RuleEngine (no later INVALID_ARGUMENT / CONFIG_INVALID from the rules).
        expect(() => new RuleEngine(config.cameras)).not.toThrow();
      }),
      { numRuns: 400 },
    );
    expect(accepted).toBeGreaterThan(20); // both outcomes are exercised (deleting an optional field keeps it valid)
  });
});

// Boxes as a detector (or a buggy custom decoder, or JSON from elsewhere) might hand them over.
const anyBox = fc.oneof(
  fc.record({ x: fc.double({ min: -50, max: 700, noNaN: true }), y: fc.double({ min: -50, max: 400, noNaN: true }), width: fc.double({ min: 1, max: 200, noNaN: true }), height: fc.double({ min: 1, max: 200, noNaN: true }) }),
  fc.record({ x: anyNumber, y: anyNumber, width: anyNumber, height: anyNumber }),
);
const anyLabel = fc.oneof(fc.constantFrom('person', 'car', 'truck'), fc.string({ maxLength: 4 }));
const anyDetection = fc.oneof(
  { weight: 8, arbitrary: fc.record({ box: anyBox, label: anyLabel, score: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), anyNumber) }) },
  { weight: 1, arbitrary: anyValue },
);
const validDetection = (d: unknown): boolean => {
  if (d === null || typeof d !== 'object') return false;
  const { box, label, score } = d as Detection;
  if (box === null || typeof box !== 'object') return false;
  const within = (v: number): boolean => Number.isFinite(v) && Math.abs(v) <= 1e7;
  return within(box.x) && within(box.y) && within(box.width) && within(box.height) && box.width >= 1e-3 && box.height >= 1e-3 && typeof label === 'string' && label !== '' && typeof score === 'number' && score >= 0 && score <= 1; // a score is a probability
};

function expectFiniteTracks(tracks: Track[]): void {
  for (const t of tracks) {
    expect(Number.isSafeInteger(t.id)).toBe(true);
    expect(allFinite(t)).toBe(true);
    expect(t.box.width).toBeGreaterThan(0);
    expect(t.box.height).toBeGreaterThan(0);
  }
}

describe('the tracker and the rule engine: finite outputs or typed errors, the good inputs go on', () => {
  it('SortTracker.update with arbitrary detection arrays: finite tracks, malformed detections counted, never thrown', () => {
    fc.assert(
      fc.property(fc.array(fc.array(anyDetection, { maxLength: 8 }), { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 3 }), (frames, minHits) => {
        const tracker = new SortTracker({ minHits });
        let malformed = 0;
        for (const dets of frames) {
          malformed += dets.filter((d) => !validDetection(d)).length;
          expectFiniteTracks(tracker.update(dets as Detection[]));
          expectFiniteTracks(tracker.allTracks());
        }
        const stats = tracker.stats();
        expect(stats.rejectedDetections).toBe(malformed); // exactly the malformed ones: every good detection was tracked
        expect(allFinite(stats)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('SortTracker.update with something that is not an array: INVALID_ARGUMENT, and the tracker is unchanged', () => {
    fc.assert(
      fc.property(anyValue.filter((v) => !Array.isArray(v)), (input) => {
        const tracker = new SortTracker();
        const r = typed(['INVALID_ARGUMENT'], () => tracker.update(input as unknown as Detection[]));
        expect(r.ok).toBe(false);
        expect(tracker.stats().frames).toBe(0);
      }),
      { numRuns: 100 },
    );
  });

  const RULES = [
    {
      name: 'cam',
      zones: [{ name: 'queue', polygon: [[100, 100], [300, 100], [300, 300], [100, 300]] as const, loiterSeconds: 0.5, crowdThreshold: 2, restricted: true }],
      lines: [{ name: 'door', from: [0, 200] as const, to: [640, 200] as const }],
    },
  ];
  const anyTrack = fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record({
        id: fc.oneof(fc.integer({ min: 1, max: 6 }), anyNumber),
        label: anyLabel,
        box: anyBox,
        score: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), anyNumber),
        hits: fc.integer({ min: 0, max: 20 }),
        misses: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3 }), anyNumber),
        confirmed: fc.oneof(fc.boolean(), anyValue),
        velocity: fc.tuple(anyNumber, anyNumber),
      }),
    },
    { weight: 1, arbitrary: anyValue },
  );

  it('RuleEngine.process with arbitrary track arrays: every event and counter finite, malformed tracks counted', () => {
    fc.assert(
      fc.property(fc.array(fc.array(anyTrack, { maxLength: 6 }), { minLength: 1, maxLength: 15 }), (frames) => {
        const engine = new RuleEngine(RULES);
        const events: RuleEvent[] = [];
        frames.forEach((tracks, f) => events.push(...engine.process('cam', f / 10, tracks as Track[])));
        expect(allFinite(events)).toBe(true);
        for (const e of events) if ('trackId' in e) expect(Number.isSafeInteger(e.trackId)).toBe(true);
        const counts = engine.counts('cam');
        expect(allFinite(counts)).toBe(true);
        expect(Number.isInteger(counts.rejectedTracks)).toBe(true);
        expect(counts.zones.queue!.occupancy).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 200 },
    );
  });

  it('RuleEngine.process with a time or camera that cannot be made a string (fast-check found { toString: "" }): INVALID_ARGUMENT', () => {
    const engine = new RuleEngine(RULES);
    for (const odd of [{ toString: '' }, Object.create(null) as object, { [Symbol.toPrimitive]: 1 }]) {
      expect(typed(['INVALID_ARGUMENT'], () => engine.process('cam', odd as unknown as number, [])).ok).toBe(false);
      expect(typed(['INVALID_ARGUMENT'], () => engine.process(odd as unknown as string, 1, [])).ok).toBe(false);
    }
  });

  it('RuleEngine.process with a bad time or a non-array: INVALID_ARGUMENT, nothing changed; bad rules: CONFIG_INVALID', () => {
    fc.assert(
      fc.property(anyValue, anyValue, (time, tracks) => {
        const engine = new RuleEngine(RULES);
        engine.process('cam', 1, []);
        const goodTime = typeof time === 'number' && Number.isFinite(time) && time >= 1;
        const r = typed(['INVALID_ARGUMENT'], () => engine.process('cam', time as number, tracks as unknown as Track[]));
        if (r.ok) {
          expect(goodTime && Array.isArray(tracks)).toBe(true);
          expect(allFinite(r.value)).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.array(fc.record({ name: anyValue, zones: fc.oneof(anyValue, fc.array(fc.record({ name: fc.string(), polygon: fc.array(fc.tuple(anyNumber, anyNumber), { maxLength: 5 }) }), { maxLength: 2 })), lines: anyValue }), { maxLength: 2 })), fc.jsonValue(), (cameras, options) => {
        typed(['CONFIG_INVALID'], () => new RuleEngine(cameras as never, options as never));
      }),
      { numRuns: 200 },
    );
  });
});

describe('geometry helpers: finite answers or INVALID_ARGUMENT', () => {
  const anyPoint = fc.oneof(fc.tuple(fc.double({ min: -1e4, max: 1e4, noNaN: true }), fc.double({ min: -1e4, max: 1e4, noNaN: true })), fc.tuple(anyNumber, anyNumber), anyValue);
  it('sideOfLine, distanceToPolygonEdge, pointInPolygon and anchorPoint', () => {
    fc.assert(
      fc.property(anyPoint, anyPoint, anyPoint, fc.array(anyPoint, { maxLength: 5 }), anyBox, (p, a, b, polygon, box) => {
        const side = typed(['INVALID_ARGUMENT'], () => sideOfLine(p as never, a as never, b as never));
        if (side.ok) expect(Number.isFinite(side.value)).toBe(true);
        const dist = typed(['INVALID_ARGUMENT'], () => distanceToPolygonEdge(p as never, polygon as never));
        if (dist.ok) expect(Number.isFinite(dist.value)).toBe(true);
        typed(['INVALID_ARGUMENT'], () => pointInPolygon(p as never, polygon as never));
        const anchor = typed(['INVALID_ARGUMENT'], () => anchorPoint(box));
        if (anchor.ok && [box.x, box.y, box.width, box.height].every((v) => Math.abs(v) <= 1e7)) expect(allFinite(anchor.value)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
