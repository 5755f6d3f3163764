import { DEFAULT_RDP_ORDERS, effectiveNoiseMultiplier, epsilonFromRdp, RdpAccountant, rdpSampledGaussian } from './accountant.js';
import type { DpClaim, DpOptions } from './http-protocol.js';
import type { PrivacySummary, RoundPrivacy, RoundRecord } from './http-state.js';
import { checkBounds, type UpdateBounds } from './update-checks.js';

/*
 * @internal The arithmetic of closing a round, kept free of state so it can be checked on its own: the weighted mean
 * in float64, the new global model with overflow checks, and what the round's noise is worth.
 */

/** Largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

/** @internal Σ wᵢ·vᵢ with wᵢ = samplesᵢ / Σ samples, accumulated in float64. */
export function weightedMean(parts: readonly { values: Float32Array; samples: number }[]): Float64Array {
  const total = parts.reduce((s, p) => s + p.samples, 0);
  const out = new Float64Array(parts[0]!.values.length);
  for (const p of parts) {
    const w = p.samples / total;
    const v = p.values;
    for (let i = 0; i < out.length; i++) out[i]! += w * v[i]!;
  }
  return out;
}

/**
 * @internal The next global model, global + average, or why it cannot be published: the average must be finite and
 * within the update bounds, and every new weight must be a finite float32. Never returns a non-finite model.
 */
export function nextGlobal(global: Float32Array, average: ArrayLike<number>, bounds: UpdateBounds): Float32Array | string {
  try {
    checkBounds(average, bounds, 'The aggregated update');
  } catch (err) {
    return (err as Error).message;
  }
  const out = new Float32Array(global.length);
  for (let i = 0; i < out.length; i++) {
    const v = global[i]! + average[i]!;
    if (!(Math.abs(v) <= FLOAT32_MAX)) return `global weight ${i} would become ${v}, which float32 cannot hold`;
    out[i] = v;
    if (!Number.isFinite(out[i]!)) return `global weight ${i} would round to ${out[i]} in float32`;
  }
  return out;
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/**
 * @internal What a round's aggregate is worth in differential privacy, from the participants' claims and weights, and
 * composed with the earlier rounds' effective noise (RDP accountant, every partner in every round: q = 1).
 */
export function roundPrivacy(
  required: Required<DpOptions>,
  claims: Record<string, DpClaim>,
  samples: Record<string, number>,
  history: readonly RoundRecord[],
  verification: RoundPrivacy['verification'],
): RoundPrivacy {
  const ids = Object.keys(samples);
  const total = ids.reduce((s, id) => s + samples[id]!, 0);
  const contributions = ids.map((id) => {
    const c = claims[id]!;
    return { weight: samples[id]! / total, clipNorm: c.clipNorm, noiseStd: c.noiseStd };
  });
  const effective = effectiveNoiseMultiplier(contributions);
  const orders = DEFAULT_RDP_ORDERS;
  const accountant = new RdpAccountant(orders);
  for (const r of history) {
    const z = r.privacy?.effectiveNoiseMultiplier;
    if (z !== undefined) accountant.compose({ noiseMultiplier: z });
  }
  accountant.compose({ noiseMultiplier: effective });
  return {
    clipNorm: Math.max(...ids.map((id) => claims[id]!.clipNorm)),
    claimedNoiseMultiplier: Math.min(...ids.map((id) => claims[id]!.noiseMultiplier)),
    effectiveNoiseMultiplier: effective,
    delta: required.delta,
    epsilon: finiteOrNull(epsilonFromRdp(rdpSampledGaussian(1, effective, orders), orders, required.delta).epsilon),
    cumulativeEpsilon: finiteOrNull(accountant.epsilon(required.delta).epsilon),
    verification,
  };
}

/**
 * @internal Cumulative (ε, δ) over the recorded rounds, for the status view; null when no round carried DP.
 */
export function cumulativePrivacy(history: readonly RoundRecord[], delta: number): PrivacySummary | null {
  const accountant = new RdpAccountant();
  let rounds = 0;
  for (const r of history) {
    const z = r.privacy?.effectiveNoiseMultiplier;
    if (z === undefined) continue;
    accountant.compose({ noiseMultiplier: z });
    rounds++;
  }
  if (rounds === 0) return null;
  return { delta, epsilon: finiteOrNull(accountant.epsilon(delta).epsilon), rounds };
}
