import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  capability,
  cChart,
  computeOee,
  cusum,
  evaluateRules,
  ewma,
  individuals,
  isLeptonError,
  LineMonitor,
  MAX_TIMESTAMP,
  monitor,
  nasaScore,
  NELSON,
  npChart,
  parseSensorRecord,
  pChart,
  QUALITIES,
  resample,
  RuleStream,
  uChart,
  WESTERN_ELECTRIC,
  xbarR,
  xbarS,
  type Chart,
  type LineEvent,
  type RuleSet,
  type SensorRecord,
} from '@lepton/manufacturing';

// Property tests for issue 15, "bad input never turns into a wrong number": whatever goes in, what comes out is a valid
// record with finite numbers, a counted rejection naming the field, or a typed LeptonError — never NaN, Infinity, a
// TypeError or a silent drop. Runs are kept modest so the file takes seconds.
const RUNS = { numRuns: 150 };
const T0 = Date.UTC(2026, 4, 4, 6);
const SECRET = 'zz-secret-7319';
const CODES = ['INVALID_INPUT', 'INVALID_ARGUMENT', 'SHAPE_MISMATCH', 'MFG_NON_FINITE_RESULT'];

/** Every number reachable in `v` (objects, arrays, typed arrays). */
function numbers(v: unknown, out: number[] = []): number[] {
  if (typeof v === 'number') out.push(v);
  else if (ArrayBuffer.isView(v) && !(v instanceof DataView)) out.push(...Array.from(v as unknown as ArrayLike<number>));
  else if (Array.isArray(v)) for (const x of v) numbers(x, out);
  else if (typeof v === 'object' && v !== null) for (const x of Object.values(v)) numbers(x, out);
  return out;
}
const allFinite = (v: unknown): boolean => numbers(v).every(Number.isFinite);

/** Runs `f`: its result must hold only finite numbers, or it must throw a LeptonError with a known code. */
function finiteOrTyped(f: () => unknown): 'ok' | 'error' {
  let out: unknown;
  try {
    out = f();
  } catch (err) {
    if (!isLeptonError(err) || !CODES.includes(err.code)) throw new Error(`untyped error: ${String(err)}`);
    return 'error';
  }
  if (!allFinite(out)) throw new Error('a non-finite number left the API');
  return 'ok';
}

// Numbers as hostile input has them: ordinary, huge, tiny, NaN, ±Infinity, −0.
const anyNumber = fc.oneof(
  { weight: 4, arbitrary: fc.double({ min: -1e3, max: 1e3, noNaN: true }) },
  { weight: 2, arbitrary: fc.integer({ min: -5, max: 60 }) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Infinity, -Infinity, 1.7e308, -1.7e308, 5e-324, -0) },
);
const hostile = fc.oneof({ weight: 5, arbitrary: anyNumber }, { weight: 1, arbitrary: fc.anything() }, { weight: 1, arbitrary: fc.constant(`${SECRET}`) });

const timestampLike = fc.oneof(
  fc.integer({ min: 0, max: 4e12 }),
  anyNumber,
  fc.date().map((d) => (Number.isNaN(d.getTime()) ? d : d.toISOString())),
  fc.date(),
  fc.constantFrom('2026-05-04T06:00:00Z', '2026-05-04T06:00:00', 'May 4 2026', '1e20', '1714800000000', '2026-02-30T00:00:00Z', ''),
  fc.string(),
  fc.anything(),
);
const recordLike = fc.record(
  {
    timestamp: timestampLike,
    asset: fc.oneof(fc.constantFrom('press-1', 'press-2', '', '  '), fc.string({ maxLength: 300 }), fc.anything()),
    signal: fc.oneof(fc.constantFrom('pressure', 'temperature', 'humidity'), fc.string(), fc.anything()),
    value: fc.oneof(anyNumber, fc.constantFrom('71.5', ' 3e2 ', 'NaN', '', 'Infinity', '1e999', '0x10', null, SECRET), fc.string(), fc.anything()),
    quality: fc.oneof(fc.constantFrom(...QUALITIES, '', 'great'), fc.anything()),
  },
  { requiredKeys: [] },
);

// Mostly valid records (each field from its valid forms, sometimes one hostile field), so both outcomes are exercised.
const validish = fc.record({
  timestamp: fc.oneof(fc.integer({ min: 0, max: 4e12 }), fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString()), timestampLike),
  asset: fc.constantFrom('press-1', 'mill-2'),
  signal: fc.constantFrom('pressure', 'temperature'),
  value: fc.oneof(fc.double({ min: -1e6, max: 1e6 }), fc.double({ min: -1e6, max: 1e6, noNaN: true }).map(String), anyNumber),
  quality: fc.constantFrom(...QUALITIES, undefined),
});

function validRecord(r: SensorRecord): void {
  expect(Number.isFinite(r.timestamp) && r.timestamp >= 0 && r.timestamp <= MAX_TIMESTAMP).toBe(true);
  expect(typeof r.asset === 'string' && r.asset.trim().length > 0 && r.asset.length <= 256).toBe(true);
  expect(typeof r.signal === 'string' && r.signal.trim().length > 0).toBe(true);
  expect(typeof r.value === 'number' && (Number.isFinite(r.value) || Number.isNaN(r.value))).toBe(true);
  expect(QUALITIES).toContain(r.quality);
}

describe('parseSensorRecord on arbitrary input', () => {
  it('any JSON value or object with arbitrary fields → a valid record with finite numbers, or a rejection naming fields; never throws, never echoes a value', () => {
    let accepted = 0;
    let rejected = 0;
    let total = 0;
    fc.assert(
      fc.property(fc.oneof(validish, recordLike, fc.jsonValue(), fc.anything()), (raw) => {
        total++;
        const out = parseSensorRecord(raw, 'prop');
        if ('record' in out) {
          accepted++;
          validRecord(out.record);
        } else {
          rejected++;
          expect(out.rejected.source).toBe('prop');
          expect(out.rejected.issues.length).toBeGreaterThan(0);
          for (const i of out.rejected.issues) expect(typeof i.field === 'string' && typeof i.message === 'string').toBe(true);
          expect(JSON.stringify(out)).not.toContain(SECRET);
        }
      }),
      { numRuns: 400 },
    );
    expect(accepted + rejected).toBe(total);
    expect(accepted).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(0);
  });
});

describe('LineMonitor.push on arbitrary items', () => {
  const signals = ['pressure', 'temperature'];
  const baseline = { '*': { pressure: { center: 5, sigma: 0.5 }, temperature: { center: 60, sigma: 2 } } };
  const good = fc.record({
    dt: fc.integer({ min: -2000, max: 5000 }),
    asset: fc.constantFrom('press-1', 'press-2', 'mill-1'),
    signal: fc.constantFrom('pressure', 'temperature', 'humidity'),
    value: anyNumber,
    quality: fc.constantFrom(...QUALITIES),
    ahead: fc.oneof({ weight: 20, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(365 * 86_400_000, 1e13) }),
  });
  const item = fc.oneof(
    { weight: 6, arbitrary: good.map((g) => ({ kind: 'good' as const, g })) },
    { weight: 1, arbitrary: good.map((g) => ({ kind: 'wrapped' as const, g })) },
    { weight: 2, arbitrary: recordLike.map((raw) => ({ kind: 'raw' as const, raw })) },
    { weight: 1, arbitrary: fc.anything().map((raw) => ({ kind: 'raw' as const, raw })) },
    { weight: 1, arbitrary: fc.anything().map((raw) => ({ kind: 'raw' as const, raw: { rejected: raw } })) },
  );

  it('every pushed item is a valid record or a counted, typed rejection; records = accepted + rejected; no event carries a non-finite number', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(item, { minLength: 1, maxLength: 120 }), async (items) => {
        let clock = T0;
        const m = new LineMonitor({ signals, baseline, subgroup: 3, quality: { now: () => clock + 60_000 } });
        const events: LineEvent[] = [];
        for (const it of items) {
          let pushed: unknown;
          if (it.kind === 'raw') pushed = it.raw;
          else {
            clock += Math.max(it.g.dt, 0);
            const r = { timestamp: clock + it.g.dt * (it.g.dt < 0 ? 1 : 0) + it.g.ahead, asset: it.g.asset, signal: it.g.signal, value: it.g.value, quality: it.g.quality };
            pushed = it.kind === 'wrapped' ? { record: r } : r;
          }
          events.push(...(await m.push(pushed as SensorRecord)));
        }
        events.push(...(await m.flush()));
        const st = m.stats();
        expect(st.records).toBe(items.length);
        expect(st.accepted + st.rejected).toBe(st.records);
        expect(events.filter((e) => e.type === 'rejected')).toHaveLength(st.rejected);
        for (const e of events) {
          expect(['raised', 'cleared', 'quality', 'rejected']).toContain(e.type);
          expect(allFinite(e), JSON.stringify(e)).toBe(true);
          if (e.type === 'rejected') expect(e.rejection.issues.length).toBeGreaterThan(0);
        }
        expect(allFinite(st)).toBe(true);
        expect(allFinite(m.active())).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});

describe('SPC on arbitrary numeric series', () => {
  const series = fc.array(anyNumber, { minLength: 0, maxLength: 40 });
  const counts = fc.array(fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 60 }) }, { weight: 1, arbitrary: anyNumber }), { minLength: 0, maxLength: 30 });

  it('variables charts, Phase II and capability: finite limits or a typed error', () => {
    fc.assert(
      fc.property(series, fc.integer({ min: 1, max: 6 }), fc.tuple(anyNumber, anyNumber), anyNumber, (values, size, [lsl, usl], sigma) => {
        const groups: number[][] = [];
        for (let i = 0; i + size <= values.length; i += size) groups.push(values.slice(i, i + size));
        finiteOrTyped(() => xbarR(groups));
        finiteOrTyped(() => xbarS(groups));
        if (finiteOrTyped(() => individuals(values)) === 'ok') {
          const im = individuals(values);
          finiteOrTyped(() => evaluateRules(im.i, NELSON));
          finiteOrTyped(() => monitor(im.i, values.slice().reverse()));
        }
        finiteOrTyped(() => capability(values, { lsl, usl }));
        finiteOrTyped(() => capability(values, { lsl, usl }, sigma));
      }),
      RUNS,
    );
  });

  it('attribute charts: finite limits or a typed error (defectives > n, negative counts, NaN sizes …)', () => {
    fc.assert(
      fc.property(counts, counts, anyNumber, (a, b, n) => {
        finiteOrTyped(() => pChart(a, b));
        finiteOrTyped(() => npChart(a, n));
        finiteOrTyped(() => cChart(a));
        finiteOrTyped(() => uChart(a, b));
      }),
      RUNS,
    );
  });

  it('CUSUM and EWMA: finite statistics and limits or a typed error; RuleStream never judges a non-finite value', () => {
    fc.assert(
      fc.property(series, anyNumber, anyNumber, fc.record({ k: anyNumber, h: anyNumber, lambda: anyNumber, L: anyNumber }, { requiredKeys: [] }), (values, target, sigma, o) => {
        finiteOrTyped(() => cusum(values, target, sigma, { ...(o.k !== undefined && { k: o.k }), ...(o.h !== undefined && { h: o.h }) }));
        finiteOrTyped(() => ewma(values, target, sigma, { ...(o.lambda !== undefined && { lambda: o.lambda }), ...(o.L !== undefined && { L: o.L }) }));
        let stream: RuleStream | undefined;
        if (finiteOrTyped(() => (stream = new RuleStream({ center: target, sigma }))) === 'ok') {
          const out = values.flatMap((v) => stream!.push(v));
          expect(stream!.count + stream!.rejected).toBe(values.length);
          expect(stream!.rejected).toBe(values.filter((v) => !Number.isFinite(v)).length);
          expect(out.every((v) => Number.isInteger(v.index) && v.index < stream!.count)).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('resample, nasaScore and computeOee: finite output or a typed error', () => {
    fc.assert(
      fc.property(series, series, anyNumber, fc.array(hostile, { maxLength: 6 }), (ts, vs, interval, junk) => {
        const sorted = ts.slice().sort((x, y) => x - y);
        finiteOrTyped(() => {
          const r = resample(sorted, vs.slice(0, sorted.length), { intervalMs: interval, maxFillMs: 5000 });
          // NaN marks a grid point nothing could fill (documented); everything else is finite.
          return { timestamps: r.timestamps, unfilled: r.unfilled, values: Array.from(r.values).filter((v) => !Number.isNaN(v)) };
        });
        finiteOrTyped(() => nasaScore(ts, vs.slice(0, ts.length)));
        const states = ts.slice(0, 4).map((t, i) => ({ timestamp: T0 + t * 1000, asset: 'press-1', state: (['running', 'idle', 'down', 'planned-stop'] as const)[i % 4] }));
        const countEvents = vs.slice(0, 4).map((v, i) => ({ timestamp: T0 + i * 60_000, asset: 'press-1', good: v, reject: junk[i] ?? 0 }));
        // The test's own conversion of the junk into a start time must not throw (an object whose toString is not a
        // function makes Number() throw): that would be the test's TypeError, not the library's.
        let shift = 0;
        try {
          shift = junk.length ? Number(junk[0]) || 0 : 0;
        } catch {
          shift = 0;
        }
        finiteOrTyped(() =>
          computeOee(states as never, countEvents as never, { shifts: [{ name: 'early', start: '06:00', end: '14:00' }], idealCycleSeconds: { 'press-1': 30 }, from: T0 + shift, to: T0 + 8 * 3_600_000 }),
        );
      }),
      RUNS,
    );
  });
});

// An oracle written from the textbook definitions, deliberately naive (one rule at a time, whole windows), to check
// both evaluators on series where ties with the zone boundaries and the centre line are common.
function oracle(x: number[], rs: RuleSet): Array<[number, number]> {
  const z = x; // centre 0, sigma 1, limits ±3
  const out: Array<[number, number]> = [];
  const last = (i: number, k: number): number[] | undefined => (i + 1 >= k ? z.slice(i + 1 - k, i + 1) : undefined);
  const steps = (w: number[]): number[] => w.slice(1).map((v, k) => Math.sign(v - w[k]!));
  for (let i = 0; i < z.length; i++) {
    const on = (r: number): boolean => rs.rules.includes(r as never);
    const zi = z[i]!;
    if (on(1) && Math.abs(zi) > 3) out.push([1, i]);
    const run = last(i, rs.runLength);
    if (on(2) && run && (run.every((v) => v > 0) || run.every((v) => v < 0))) out.push([2, i]);
    const six = last(i, 6);
    if (on(3) && six && (steps(six).every((s) => s > 0) || steps(six).every((s) => s < 0))) out.push([3, i]);
    const fourteen = last(i, 14);
    if (on(4) && fourteen && steps(fourteen).every((s, k, d) => s !== 0 && (k === 0 || s === -d[k - 1]!))) out.push([4, i]);
    const three = last(i, 3);
    if (on(5) && three && ((zi > 2 && three.filter((v) => v > 2).length >= 2) || (zi < -2 && three.filter((v) => v < -2).length >= 2))) out.push([5, i]);
    const five = last(i, 5);
    if (on(6) && five && ((zi > 1 && five.filter((v) => v > 1).length >= 4) || (zi < -1 && five.filter((v) => v < -1).length >= 4))) out.push([6, i]);
    const fifteen = last(i, 15);
    if (on(7) && fifteen && fifteen.every((v) => Math.abs(v) < 1)) out.push([7, i]);
    const eight = last(i, 8);
    if (on(8) && eight && eight.every((v) => Math.abs(v) > 1) && eight.some((v) => v > 0) && eight.some((v) => v < 0)) out.push([8, i]);
  }
  return out.sort((a, b) => a[1] - b[1] || a[0] - b[0]);
}

describe('run rules against a textbook oracle (fast-check)', () => {
  const point = fc.oneof(fc.constantFrom(-3.5, -3, -2.5, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5), fc.double({ min: -4, max: 4, noNaN: true }));
  for (const [name, rs] of [
    ['Western Electric', WESTERN_ELECTRIC],
    ['Nelson', NELSON],
  ] as Array<[string, RuleSet]>) {
    it(`evaluateRules and RuleStream equal the oracle (${name})`, () => {
      fc.assert(
        fc.property(fc.array(point, { minLength: 0, maxLength: 60 }), (x) => {
          const chart: Chart = { kind: 'I', points: x, limits: { center: 0, ucl: x.map(() => 3), lcl: x.map(() => -3), sigma: x.map(() => 1) } };
          const expected = oracle(x, rs);
          expect(evaluateRules(chart, rs).map((v) => [v.rule, v.index])).toEqual(expected);
          const stream = new RuleStream({ center: 0, sigma: 1 }, rs);
          expect(x.flatMap((p) => stream.push(p)).map((v) => [v.rule, v.index])).toEqual(expected);
        }),
        { numRuns: 300 },
      );
    });
  }
});
