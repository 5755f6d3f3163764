// The shared numeric module against SciPy/NumPy (test/fixtures/make_numeric_fixture.py), plus the failure modes the
// per-package copies had: a silent 1e-12 pivot, NaN in, singular matrices.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { erfc, fitLogisticRegression, invertMatrix, lnGamma, normalCdf, normalQuantile, solveLinear } from '@lepton/core';

interface Fixture {
  erfc: Array<[number, number]>;
  normalCdf: Array<[number, number]>;
  normalQuantile: Array<[number, number]>;
  lnGamma: Array<[number, number]>;
  linear: Array<{ a: number[][]; b: number[]; x: number[]; inverse: number[][] }>;
  logistic: Array<{ x: number[][]; y: number[]; l2: number; weights: number[]; bias: number }>;
}
const ref = JSON.parse(readFileSync(new URL('./fixtures/numeric.json', import.meta.url), 'utf8')) as Fixture;

const rel = (a: number, b: number): number => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(b), 1e-300));

describe('special functions equal SciPy', () => {
  it('erfc and Φ to 1e-13 relative, including deep tails', () => {
    for (const [x, want] of ref.erfc) expect(rel(erfc(x), want), `erfc(${x})`).toBeLessThan(1e-13);
    for (const [x, want] of ref.normalCdf) expect(rel(normalCdf(x), want), `Φ(${x})`).toBeLessThan(Math.abs(x) > 8 ? 1e-12 : 1e-13); // x/√2 rounds: ~x²·ε relative in the far tail, as in SciPy
  });

  it('normal quantile to 1e-13 relative (absolute near 0), from p = 1e-300 up', () => {
    for (const [p, want] of ref.normalQuantile) {
      const got = normalQuantile(p);
      expect(Math.abs(want) < 1e-3 ? Math.abs(got - want) : rel(got, want), `ndtri(${p})`).toBeLessThan(1e-13);
    }
  });

  it('ln Γ to 1e-13 relative (absolute near its zeros at 1 and 2)', () => {
    for (const [x, want] of ref.lnGamma) {
      const got = lnGamma(x);
      expect(Math.abs(want) < 1e-2 ? Math.abs(got - want) : rel(got, want), `lnΓ(${x})`).toBeLessThan(1e-13);
    }
  });

  it('reject what they cannot answer', () => {
    expect(() => erfc(Number.NaN)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => normalCdf('1' as unknown as number)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    for (const p of [0, 1, -0.1, Number.NaN]) expect(() => normalQuantile(p)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    for (const x of [0, -1, Number.POSITIVE_INFINITY]) expect(() => lnGamma(x)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(erfc(Number.POSITIVE_INFINITY)).toBe(0);
    expect(erfc(Number.NEGATIVE_INFINITY)).toBe(2);
  });

  it('property: Φ(quantile(p)) = p and quantile is monotone', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-12, max: 1 - 1e-12, noNaN: true }), fc.double({ min: 1e-12, max: 1 - 1e-12, noNaN: true }), (p, q) => {
        expect(rel(normalCdf(normalQuantile(p)), p)).toBeLessThan(1e-12);
        if (p < q) expect(normalQuantile(p)).toBeLessThanOrEqual(normalQuantile(q));
      }),
      { numRuns: 500 },
    );
  });
});

describe('linear algebra equals NumPy', () => {
  it('solve and inverse to 1e-10', () => {
    for (const c of ref.linear) {
      solveLinear(c.a, c.b).forEach((v, i) => expect(Math.abs(v - c.x[i]!)).toBeLessThan(1e-10 * Math.max(1, Math.abs(c.x[i]!))));
      invertMatrix(c.a).forEach((row, i) => row.forEach((v, j) => expect(Math.abs(v - c.inverse[i]![j]!)).toBeLessThan(1e-10 * Math.max(1, Math.abs(c.inverse[i]![j]!)))));
    }
  });

  it('a singular matrix is a typed error, never a silent 1e-12 pivot', () => {
    expect(() => solveLinear([[1, 2], [2, 4]], [1, 2])).toThrow(expect.objectContaining({ code: 'SINGULAR_MATRIX' }));
    expect(() => invertMatrix([[1e-20, 0], [0, 1e-20]].map((r) => r.map((v) => v * 0)))).toThrow(expect.objectContaining({ code: 'SINGULAR_MATRIX' }));
    expect(() => invertMatrix([[1, 1], [1, 1 + 1e-17]])).toThrow(expect.objectContaining({ code: 'SINGULAR_MATRIX' }));
    // scaled matrices are not "singular" just because their entries are small
    expect(invertMatrix([[1e-20, 0], [0, 2e-20]])[1]![1]).toBeCloseTo(5e19, -5);
  });

  it('non-square or non-finite input is INVALID_ARGUMENT', () => {
    expect(() => solveLinear([[1, 2]], [1])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => solveLinear([[Number.NaN]], [1])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => solveLinear([[1]], [Number.POSITIVE_INFINITY])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => invertMatrix([] as number[][])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('property: A·solve(A, b) = b for well-conditioned random systems', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }).chain((n) =>
          fc.tuple(fc.array(fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: n, maxLength: n }), { minLength: n, maxLength: n }), fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: n, maxLength: n })),
        ),
        ([a, b]) => {
          const n = b.length;
          const dominant = a.map((row, i) => row.map((v, j) => (i === j ? v + 100 * Math.sign(v || 1) : v)));
          const x = solveLinear(dominant, b);
          for (let i = 0; i < n; i++) expect(Math.abs(dominant[i]!.reduce((s, v, j) => s + v * x[j]!, 0) - b[i]!)).toBeLessThan(1e-9);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('logistic regression equals SciPy L-BFGS on the same objective', () => {
  it('weights and intercept to 1e-6', () => {
    for (const c of ref.logistic) {
      const fit = fitLogisticRegression(c.x, c.y, { l2: c.l2 });
      expect(fit.converged).toBe(true);
      fit.weights.forEach((w, j) => expect(Math.abs(w - c.weights[j]!)).toBeLessThan(1e-6));
      expect(Math.abs(fit.bias - c.bias)).toBeLessThan(1e-6);
    }
  });

  it('rejects bad input with typed errors', () => {
    expect(() => fitLogisticRegression([[1], [2]], [1, 1])).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => fitLogisticRegression([[1], [Number.NaN]], [0, 1])).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => fitLogisticRegression([[1], [2]], [0, 2])).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => fitLogisticRegression([[1], [2]], [0, 1], { l2: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
