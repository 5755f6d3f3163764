import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isLeptonError } from '@lepton/core';
import { DEFAULT_RDP_ORDERS, effectiveNoiseMultiplier, epsilonFromRdp, gaussianNoiseStd, RdpAccountant, rdpSampledGaussian } from '@lepton/federated';

/**
 * Reference values made by test/reference/rdp_reference.py: the RDP of the sampled Gaussian by the binomial expansion
 * in 60-digit arithmetic (itself checked there against numerical integration of the definition), and (ε, δ) by the
 * Balle et al. 2020 conversion written from the formula.
 */
const reference = JSON.parse(readFileSync(new URL('./fixtures/federated/rdp-reference.json', import.meta.url), 'utf8')) as {
  orders: number[];
  rdp: { q: number; sigma: number; orders: number[]; rdp: number[] }[];
  epsilon: { name: string; q: number; sigma: number; steps: number; delta: number; epsilon: number; order: number }[];
  effectiveNoise: { samples: number[]; clipNorm: number; noiseMultiplier: number; planned: number; effective: number }[];
};

const relClose = (got: number, want: number, rel: number): void => {
  expect(Math.abs(got - want), `${got} vs ${want}`).toBeLessThanOrEqual(rel * Math.abs(want));
};

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isLeptonError(err) ? err.code : `not a LeptonError: ${String(err)}`;
  }
  return undefined;
}

describe('RDP accountant (sampled Gaussian mechanism)', () => {
  it('uses the orders the reference was computed at', () => {
    expect([...DEFAULT_RDP_ORDERS]).toEqual(reference.orders);
  });

  it('matches the 60-digit reference RDP at every checked (q, σ, α)', () => {
    for (const c of reference.rdp) {
      const got = rdpSampledGaussian(c.q, c.sigma, c.orders);
      got.forEach((r, i) => relClose(r, c.rdp[i]!, 1e-9));
    }
  });

  it('matches the published values of Google’s dp_accounting tests', () => {
    // rdp_privacy_accountant_test.test_compute_rdp_poisson_sampled_gaussian: q = 0.01, σ = 2.5, 50 steps (rtol 1e-4).
    const rdp = new RdpAccountant([5, 50, 100]).compose({ samplingRate: 0.01, noiseMultiplier: 2.5, steps: 50 }).rdp();
    relClose(rdp[0]!, 2.18075656e-3, 1e-4);
    relClose(rdp[1]!, 2.38460375e-2, 1e-4);
    relClose(rdp[2]!, 1.67416308e2, 1e-4);
    // test_compute_epsilon_delta_pure_dp: RDP 1.1 at orders 2…32, δ = 1e-5 → ε = 1.32783806176 at α = 32.
    const orders = Array.from({ length: 31 }, (_, i) => i + 2);
    const spent = epsilonFromRdp(orders.map(() => 1.1), orders, 1e-5);
    expect(spent.epsilon).toBeCloseTo(1.32783806176, 10);
    expect(spent.order).toBe(32);
  });

  it('gives the reference (ε, δ) after composition, Abadi et al. 2016’s settings included', () => {
    for (const c of reference.epsilon) {
      const acc = new RdpAccountant().compose({ samplingRate: c.q, noiseMultiplier: c.sigma, steps: c.steps });
      const spent = acc.epsilon(c.delta);
      relClose(spent.epsilon, c.epsilon, 1e-8);
      expect(spent.order, c.name).toBe(c.order);
    }
    // Abadi et al. (q = 0.01, 10 000 steps, δ = 1e-5): more noise, less ε — σ = 2, 4, 8 give ≈ 2.35, 1.04, 0.48.
    const abadi = reference.epsilon.filter((c) => c.name.startsWith('Abadi')).map((c) => c.epsilon);
    expect(abadi[0]).toBeGreaterThan(abadi[1]!);
    expect(abadi[1]).toBeGreaterThan(abadi[2]!);
  });

  it('handles the edge cases exactly: q = 1 is α/(2σ²), q = 0 is free, σ = 0 has no guarantee', () => {
    expect(rdpSampledGaussian(1, 2, [2, 7, 100])).toEqual([2 / 8, 7 / 8, 100 / 8]);
    expect(rdpSampledGaussian(0, 1, [2, 3])).toEqual([0, 0]);
    expect(rdpSampledGaussian(0.5, 0, [2])).toEqual([Infinity]);
    expect(new RdpAccountant().compose({ noiseMultiplier: 0 }).epsilon(1e-5).epsilon).toBe(Infinity);
    expect(new RdpAccountant().epsilon(1e-5).epsilon).toBe(0);
    // composition adds: two rounds equal one call with steps 2
    const a = new RdpAccountant().compose({ noiseMultiplier: 1.3 }).compose({ noiseMultiplier: 1.3 });
    const b = new RdpAccountant().compose({ noiseMultiplier: 1.3, steps: 2 });
    expect(a.epsilon(1e-6)).toEqual(b.epsilon(1e-6));
  });

  it('refuses parameters out of range with INVALID_ARGUMENT', () => {
    expect(codeOf(() => rdpSampledGaussian(1.5, 1))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => rdpSampledGaussian(0.1, -1))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => rdpSampledGaussian(0.1, 1, [2.5]))).toBe('INVALID_ARGUMENT'); // fractional orders: integer only with sampling
    expect(codeOf(() => rdpSampledGaussian(0.1, 1, [1]))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => epsilonFromRdp([1], [2], 0))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => epsilonFromRdp([1, 2], [2], 1e-5))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => new RdpAccountant().compose({ noiseMultiplier: 1, steps: -1 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => effectiveNoiseMultiplier([]))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => effectiveNoiseMultiplier([{ weight: 1, clipNorm: 0, noiseStd: 1 }]))).toBe('INVALID_ARGUMENT');
  });
});

describe('effective noise multiplier', () => {
  it('is z·√(m/n) for m of n partners with equal weights (1.1 → 0.898 with 2 of 3) and lower with unequal weights', () => {
    for (const c of reference.effectiveNoise) {
      const total = c.samples.reduce((s, x) => s + x, 0);
      const sd = gaussianNoiseStd(c.clipNorm, c.noiseMultiplier, c.planned);
      const got = effectiveNoiseMultiplier(c.samples.map((n) => ({ weight: n / total, clipNorm: c.clipNorm, noiseStd: sd })));
      relClose(got, c.effective, 1e-12);
    }
    expect(reference.effectiveNoise[0]!.effective).toBeCloseTo(1.1 * Math.sqrt(2 / 3), 12);
    expect(reference.effectiveNoise[1]!.effective).toBeLessThan(reference.effectiveNoise[0]!.effective);
  });
});
