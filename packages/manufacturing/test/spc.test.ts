import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  capability,
  cChart,
  chartConstants,
  cusum,
  evaluateRules,
  ewma,
  individuals,
  monitor,
  NELSON,
  npChart,
  pChart,
  uChart,
  WESTERN_ELECTRIC,
  xbarR,
  xbarRLimits,
  xbarS,
  type Chart,
  type NelsonRule,
} from '@lepton/manufacturing';

// Published factors for control charts (Montgomery, Introduction to Statistical Quality Control, Appendix VI).
const TABLE: Record<number, { A2: number; A3: number; c4: number; B3: number; B4: number; d2: number; d3: number; D3: number; D4: number }> = {
  2: { A2: 1.88, A3: 2.659, c4: 0.7979, B3: 0, B4: 3.267, d2: 1.128, d3: 0.853, D3: 0, D4: 3.267 },
  3: { A2: 1.023, A3: 1.954, c4: 0.8862, B3: 0, B4: 2.568, d2: 1.693, d3: 0.888, D3: 0, D4: 2.574 },
  4: { A2: 0.729, A3: 1.628, c4: 0.9213, B3: 0, B4: 2.266, d2: 2.059, d3: 0.88, D3: 0, D4: 2.282 },
  5: { A2: 0.577, A3: 1.427, c4: 0.94, B3: 0, B4: 2.089, d2: 2.326, d3: 0.864, D3: 0, D4: 2.114 },
  6: { A2: 0.483, A3: 1.287, c4: 0.9515, B3: 0.03, B4: 1.97, d2: 2.534, d3: 0.848, D3: 0, D4: 2.004 },
  7: { A2: 0.419, A3: 1.182, c4: 0.9594, B3: 0.118, B4: 1.882, d2: 2.704, d3: 0.833, D3: 0.076, D4: 1.924 },
  8: { A2: 0.373, A3: 1.099, c4: 0.965, B3: 0.185, B4: 1.815, d2: 2.847, d3: 0.82, D3: 0.136, D4: 1.864 },
  10: { A2: 0.308, A3: 0.975, c4: 0.9727, B3: 0.284, B4: 1.716, d2: 3.078, d3: 0.797, D3: 0.223, D4: 1.777 },
};

describe('control-chart constants against the published tables', () => {
  it.each(Object.keys(TABLE).map(Number))('n = %i', (n) => {
    const k = chartConstants(n);
    // d2, d3 and c4 are tabulated to 3 (c4: 4) decimals: ours must round to them. The factors derived from them
    // (A2, D4 …) were computed from the rounded d2/d3, which moves their third decimal by up to ~0.0007.
    const tolerance: Record<string, number> = { c4: 0.00005, d2: 0.0005, d3: 0.0005 };
    for (const [name, value] of Object.entries(TABLE[n]!)) {
      expect(Math.abs((k[name as keyof typeof k] as number) - value), name).toBeLessThanOrEqual((tolerance[name] ?? 0.001) + 1e-9);
    }
  });
});

// SciPy reference (adaptive quadrature of the joint density of min and max): test/reference/chart_constants.py.
const SCIPY = (JSON.parse(readFileSync(new URL('./fixtures/chart-constants.json', import.meta.url), 'utf8')) as { constants: Array<Record<string, number>> }).constants;

describe('control-chart constants against SciPy to 1e-6', () => {
  it.each(SCIPY.map((row) => [row.n!, row] as const))('n = %i', (n, row) => {
    const k = chartConstants(n);
    for (const name of ['d2', 'd3', 'c4', 'A2', 'A3', 'D3', 'D4', 'B3', 'B4'] as const) {
      expect(Math.abs(k[name] - row[name]!), name).toBeLessThanOrEqual(1e-6);
    }
  });
  it('d3(2) is exactly √(2 − 4/π) = 0.852502… (the range of two normals is √2·|Z|)', () => {
    expect(Math.abs(chartConstants(2).d3 - Math.sqrt(2 - 4 / Math.PI))).toBeLessThan(1e-9);
    expect(Math.abs(chartConstants(2).d2 - 2 / Math.sqrt(Math.PI))).toBeLessThan(1e-9);
  });
});

describe('Shewhart charts', () => {
  it("reproduce Montgomery's piston-ring X̄–R limits (x̿ = 74.001, R̄ = 0.023, n = 5)", () => {
    const l = xbarRLimits(74.001, 0.023, 5);
    expect(l.xbar.ucl).toBeCloseTo(74.014, 3);
    expect(l.xbar.lcl).toBeCloseTo(73.988, 3);
    expect(l.r.ucl).toBeCloseTo(0.049, 3);
    expect(l.r.lcl).toBe(0);
  });

  it("reproduce Montgomery's orange-juice-can p chart (n = 50, p̄ = 0.2313: UCL 0.4102, LCL 0.0524)", () => {
    const d = Array.from({ length: 30 }, (_, i) => (i < 17 ? 12 : 11)); // 347 nonconforming of 1,500
    const p = pChart(d, d.map(() => 50));
    expect(p.limits.center).toBeCloseTo(0.2313, 4);
    expect(p.limits.ucl[0]).toBeCloseTo(0.4102, 3);
    expect(p.limits.lcl[0]).toBeCloseTo(0.0524, 3);
  });

  it('compute X̄–R, X̄–S, I–MR and c charts from data as the formulas say', () => {
    const groups = [
      [10, 12, 11, 13],
      [11, 11, 12, 10],
      [12, 14, 13, 11],
    ];
    const r = xbarR(groups);
    expect(r.xbar.points).toEqual([11.5, 11, 12.5]);
    expect(r.r.points).toEqual([3, 2, 3]);
    const rBar = 8 / 3;
    expect(r.xbar.limits.ucl[0]).toBeCloseTo(35 / 3 + chartConstants(4).A2 * rBar, 12);
    const s = xbarS(groups);
    expect(s.s.limits.center).toBeCloseTo((Math.sqrt(5 / 3) + Math.sqrt(2 / 3) + Math.sqrt(5 / 3)) / 3, 12);
    const im = individuals([5, 7, 6, 9, 8]);
    expect(im.mr.points).toEqual([2, 1, 3, 1]);
    expect(im.i.limits.ucl[0]).toBeCloseTo(7 + (3 * 1.75) / chartConstants(2).d2, 12);
    const c = cChart([4, 9, 2]);
    expect(c.limits.center).toBe(5);
    expect(c.limits.lcl[0]).toBe(0); // 5 − 3√5 < 0 is floored
    // Phase II keeps the Phase I limits.
    const m = monitor(im.i, [20, 7]);
    expect(m.limits.ucl).toEqual([im.i.limits.ucl[0], im.i.limits.ucl[0]]);
    expect(evaluateRules(m).map((v) => v.index)).toEqual([0]);
  });
});

const unitChart = (points: number[]): Chart => ({
  kind: 'test',
  points,
  limits: { center: 0, ucl: points.map(() => 3), lcl: points.map(() => -3), sigma: points.map(() => 1) },
});
const firstHit = (rule: NelsonRule, points: number[], runLength = 9): number | undefined =>
  evaluateRules(unitChart(points), { rules: [rule], runLength }).find((v) => v.rule === rule)?.index;

describe('run rules', () => {
  it('detect each of Nelson’s eight patterns where it completes', () => {
    expect(firstHit(1, [0, 0, 3.5])).toBe(2);
    expect(firstHit(2, Array(9).fill(0.5))).toBe(8);
    expect(firstHit(2, Array(9).fill(0.5), 8)).toBe(7); // Western Electric run of 8
    expect(firstHit(3, [0, 0.1, 0.2, 0.3, 0.4, 0.5])).toBe(5);
    expect(firstHit(4, Array.from({ length: 14 }, (_, i) => (i % 2 ? -0.1 : 0.1)))).toBe(13);
    expect(firstHit(5, [2.5, 0, 2.5])).toBe(2);
    expect(firstHit(6, [1.5, 1.5, 0, 1.5, 1.5])).toBe(4);
    expect(firstHit(7, Array.from({ length: 15 }, (_, i) => (i % 3) * 0.2 - 0.2))).toBe(14);
    expect(firstHit(8, [1.5, -1.5, 1.5, -1.5, 1.5, -1.5, 1.5, -1.5])).toBe(7);
    // Near misses do not fire.
    expect(firstHit(5, [2.5, 0, -2.5])).toBeUndefined();
    expect(firstHit(3, [0, 0.1, 0.2, 0.2, 0.4, 0.5])).toBeUndefined();
  });

  it('switch rule sets without touching the limits', () => {
    const chart = unitChart([0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 0.3]);
    const before = JSON.stringify(chart.limits);
    // points 0–7 and 1–8 both complete a run of eight above the centre line
    expect(evaluateRules(chart, WESTERN_ELECTRIC).map((v) => `${v.rule}@${v.index}`)).toEqual(['2@7', '2@8']);
    expect(evaluateRules(chart, NELSON).map((v) => v.rule).sort()).toEqual([2, 3, 3, 3]);
    expect(JSON.stringify(chart.limits)).toBe(before);
  });
});

describe('CUSUM, EWMA and capability', () => {
  it('accumulate as the recursions define and signal a sustained 1σ shift', () => {
    const values = [10, 10.5, 9, 11.5, 11, 11.2, 10.9, 11.3, 11.1, 11.4, 11.2, 11.0];
    const c = cusum(values, 10, 1, { k: 0.5, h: 4 });
    expect(c[3]!.upper).toBeCloseTo(1, 12); // 0 → 0 → 0 → 1.0 (11.5 − 10.5)
    expect(c[4]!.upper).toBeCloseTo(1.5, 12);
    // C⁺ continues 2.2, 2.6, 3.4, 4.0, 4.9 → first above H = 4 at index 9
    expect(c[9]!.upper).toBeCloseTo(4.9, 12);
    expect(c.findIndex((p) => p.signal)).toBe(9);
    const e = ewma(values, 10, 1, { lambda: 0.2, L: 3 });
    expect(e[0]!.upper).toBeCloseTo(10, 12);
    expect(e[1]!.upper).toBeCloseTo(0.2 * 10.5 + 0.8 * 10, 12);
    expect(e[0]!.ucl).toBeCloseTo(10 + 3 * Math.sqrt((0.2 / 1.8) * (1 - 0.8 ** 2)), 12);
    expect(ewma(Array(200).fill(10), 10, 1).at(-1)!.ucl).toBeCloseTo(11, 6); // steady state 3·√(λ/(2 − λ)) = 1
  });

  it('compute Cp, Cpk, Pp and Ppk', () => {
    const v = [9.8, 10.1, 10.0, 10.3, 9.9, 10.2, 10.0, 9.7];
    const r = capability(v, { lsl: 9, usl: 11.5 }, 0.2);
    expect(r.cp).toBeCloseTo(2.5 / 1.2, 12);
    expect(r.cpk).toBeCloseTo((r.mean - 9) / 0.6, 12);
    expect(r.pp).toBeCloseTo(2.5 / (6 * r.sigmaOverall), 12);
    expect(r.ppk).toBeLessThanOrEqual(r.pp);
  });
});

/** Expects a LeptonError with this code naming this field (and never the bad value in its message). */
const rejects = (f: () => unknown, code: string, field?: string): void => {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, 'should throw').toMatchObject({ name: 'LeptonError', code });
  if (field !== undefined) expect((err as { details: { field: string } }).details.field).toBe(field);
};

describe('bad input never turns into a wrong number (issue 15)', () => {
  const groups = [
    [10, 12, 11, 13],
    [11, 11, 12, 10],
    [12, 14, 13, 11],
  ];
  it('NaN, Infinity or a string inside a subgroup is a typed error naming the cell, not NaN limits', () => {
    const nan = groups.map((g) => [...g]);
    nan[1]![2] = Number.NaN;
    rejects(() => xbarR(nan), 'INVALID_INPUT', 'subgroups[1][2]');
    rejects(() => xbarS(nan), 'INVALID_INPUT', 'subgroups[1][2]');
    const inf = groups.map((g) => [...g]);
    inf[2]![0] = Infinity;
    rejects(() => xbarR(inf), 'INVALID_INPUT', 'subgroups[2][0]');
    rejects(() => xbarR([[1, 2], ['3' as unknown as number, 4]]), 'INVALID_INPUT', 'subgroups[1][0]');
    rejects(() => individuals([1, Number.NaN, 3, 4]), 'INVALID_INPUT', 'values[1]');
    rejects(() => xbarRLimits(Number.NaN, 0.02, 5), 'INVALID_INPUT', 'grandMean');
    rejects(() => xbarRLimits(74, -1, 5), 'INVALID_INPUT', 'rBar');
    // Values that are each finite but overflow when summed: a typed error, not Infinity limits.
    rejects(() => xbarR([[1.7e308, 1.7e308], [1.7e308, 1.7e308]]), 'MFG_NON_FINITE_RESULT');
  });

  it('attribute charts: defectives > n, negative or fractional counts, zero sizes are typed errors', () => {
    rejects(() => pChart([3, 60, 2], [50, 50, 50]), 'INVALID_INPUT', 'defectives[1]');
    rejects(() => pChart([3, Number.NaN, 2], [50, 50, 50]), 'INVALID_INPUT', 'defectives[1]');
    rejects(() => pChart([3, 2], [50, 0]), 'INVALID_INPUT', 'sizes[1]');
    rejects(() => npChart([3, 51], 50), 'INVALID_INPUT', 'defectives[1]');
    rejects(() => npChart([3, 5], Number.NaN), 'INVALID_ARGUMENT', 'n');
    rejects(() => cChart([4, -1, 2]), 'INVALID_INPUT', 'counts[1]');
    rejects(() => cChart([4, 1.5, 2]), 'INVALID_INPUT', 'counts[1]');
    rejects(() => cChart([]), 'INVALID_INPUT', 'counts');
    rejects(() => uChart([4, -2], [1, 1]), 'INVALID_INPUT', 'counts[1]');
    rejects(() => uChart([4, 2], [1, Infinity]), 'INVALID_INPUT', 'units[1]');
    // Valid input still works, with finite limits.
    const u = uChart([4, 2, 7], [1, 1.5, 2]);
    expect([...u.limits.ucl, ...u.limits.lcl, u.limits.center].every(Number.isFinite)).toBe(true);
  });

  it('monitor and capability validate their input; no spread is a typed error, not an infinite Cp', () => {
    const im = individuals([5, 7, 6, 9, 8]);
    rejects(() => monitor(im.i, [6, Number.NaN]), 'INVALID_INPUT', 'points[1]');
    rejects(() => monitor({ ...im.i, limits: { center: 7, ucl: [], lcl: [], sigma: [] } }, [6]), 'INVALID_INPUT');
    rejects(() => capability([1, 2, Number.NaN], { lsl: 0, usl: 3 }), 'INVALID_INPUT', 'values[2]');
    rejects(() => capability([1, 2, 3], { lsl: Number.NaN, usl: 3 }), 'INVALID_INPUT', 'spec.lsl');
    rejects(() => capability([1, 2, 3], { lsl: 0, usl: 3 }, Number.NaN), 'INVALID_ARGUMENT', 'sigmaWithin');
    rejects(() => capability([2, 2, 2, 2], { lsl: 0, usl: 3 }), 'MFG_NON_FINITE_RESULT');
    rejects(() => evaluateRules({ ...im.i, points: [1, Number.NaN, 3, 4, 5] }), 'INVALID_INPUT', 'chart.points[1]');
  });

  it('EWMA and CUSUM: a NaN is a typed error naming its index, never a statistic that stays NaN (and silent) forever', () => {
    const values = [10, 10.5, Number.NaN, 11.5, 11, 11.2, 10.9, 11.3, 11.1, 11.4, 11.2, 11.0, 12, 13, 14];
    rejects(() => ewma(values, 10, 1), 'INVALID_INPUT', 'values[2]');
    rejects(() => cusum(values, 10, 1), 'INVALID_INPUT', 'values[2]');
    rejects(() => ewma([1, 2], 10, 0), 'INVALID_ARGUMENT', 'sigma');
    rejects(() => ewma([1, 2], 10, 1, { lambda: 0 }), 'INVALID_ARGUMENT', 'options.lambda');
    rejects(() => cusum([1, 2], Number.NaN, 1), 'INVALID_INPUT', 'target');
    rejects(() => cusum([1.7e308, 1.7e308], -1.7e308, 1), 'MFG_NON_FINITE_RESULT');
    // Dropping the bad sample (what the error asks for) gives a statistic that still signals.
    const clean = values.filter(Number.isFinite);
    expect(ewma(clean, 10, 1).some((p) => p.signal)).toBe(true);
  });

  it('error messages name the field but never echo the value', () => {
    const messages: string[] = [];
    for (const f of [() => individuals([1, 2, 31415.9265, Number.NaN]), () => pChart([31415], [100]), () => xbarR([[31415.9265, 2], ['31415' as unknown as number, 1]])]) {
      try {
        f();
      } catch (e) {
        messages.push((e as Error).message);
      }
    }
    expect(messages).toHaveLength(3);
    for (const m of messages) expect(m).not.toContain('31415');
    expect(messages[0]).toContain('values[3]');
  });
});

describe('control chart rendering', async () => {
  const { controlChartSpec } = await import('@lepton/manufacturing');
  const { renderChart } = await import('@lepton/charts');
  it('draws limits, zones and violations to SVG and PNG', async () => {
    const { i: chart } = individuals([5, 5.2, 4.9, 5.1, 5, 4.8, 5.1, 9, 5, 5.2]);
    const violations = evaluateRules(chart);
    expect(violations.map((v) => v.index)).toContain(7);
    const spec = controlChartSpec(chart, violations, { title: 'Press 1 — temperature (I chart)' }) as { layer: unknown[]; data: { values: Array<{ violation: boolean; ucl: number }> } };
    expect(spec.layer).toHaveLength(7);
    expect(spec.data.values.filter((v) => v.violation)).toHaveLength(1);
    expect(spec.data.values[0]!.ucl).toBeCloseTo(chart.limits.ucl[0]!, 12);
    const svg = await renderChart(spec);
    expect(svg).toContain('Press 1 — temperature (I chart)');
    const png = await renderChart(spec, { format: 'png' });
    expect(png.subarray(1, 4).toString()).toBe('PNG');
  });
});
