import { describeValue, LeptonError, type LeptonErrorCode } from '@lepton/core';
import type { DpClaim, DpOptions } from './http-protocol.js';

/*
 * @internal The coordinator's checks on what one partner sends: the update metadata schema, value and norm bounds, and
 * the plausibility of a plain update's norm given the differential privacy it claims. Every check either throws a
 * LeptonError (and nothing is kept) or returns a clean copy built field by field — never the object received.
 */

/** Bounds on one partner's plain update (and on every round's aggregate). */
export interface UpdateBounds {
  /** Largest absolute value of any coordinate. */
  maxAbs: number;
  /** Largest L2 norm. */
  maxNorm: number;
}

/** @internal Update metadata after validation. */
export interface ParsedMeta {
  samples: number;
  baseVersion: number;
  attempt: number | null;
  metrics: Record<string, number> | null;
  dp: DpClaim | null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const fail = (code: LeptonErrorCode, message: string, details: Record<string, unknown> = {}): never => {
  throw new LeptonError(code, message, { details });
};
const finite = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isFinite(v) && v >= min;
const int = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/** @internal Largest sample count a partner may claim at all (before the per-partner cap). */
export const MAX_CLAIMED_SAMPLES = 1e12;

/**
 * @internal Validates a metrics object: at most 64 entries, names ≤ 64 characters, finite numbers.
 */
export function parseMetrics(v: unknown, what: string, code: LeptonErrorCode = 'FEDERATED_BAD_REQUEST'): Record<string, number> {
  if (!isObject(v)) return fail(code, `${what}: metrics must be an object of name → finite number.`);
  const entries = Object.entries(v);
  if (entries.length > 64) fail(code, `${what}: at most 64 metrics, got ${entries.length}.`);
  const out: Record<string, number> = {};
  for (const [k, x] of entries) {
    if (k.length > 64 || k === '__proto__' || typeof x !== 'number' || !Number.isFinite(x)) fail(code, `${what}: metric '${k.slice(0, 64)}' is not a finite number.`);
    out[k] = x as number;
  }
  return out;
}

function parseDpClaim(v: unknown): DpClaim {
  const bad = (m: string): never => fail('FEDERATED_BAD_UPDATE', `Update: meta.dp ${m}.`);
  if (!isObject(v)) return bad('must be an object {clipNorm, noiseMultiplier, noiseStd, partners}');
  for (const k of Object.keys(v)) {
    if (!['clipNorm', 'noiseMultiplier', 'noiseStd', 'partners', 'norm', 'clipped'].includes(k)) bad(`has an unknown field '${k.slice(0, 64)}'`);
  }
  const { clipNorm, noiseMultiplier, noiseStd, partners, norm, clipped } = v;
  if (!(finite(clipNorm, 0) && clipNorm > 0)) bad('.clipNorm must be a positive finite number');
  if (!finite(noiseMultiplier, 0)) bad('.noiseMultiplier must be a finite number ≥ 0');
  if (!finite(noiseStd, 0)) bad('.noiseStd must be a finite number ≥ 0');
  if (!int(partners, 1, 1e6)) bad('.partners must be a positive integer');
  if (norm !== undefined && !finite(norm, 0)) bad('.norm must be a finite number ≥ 0');
  if (clipped !== undefined && typeof clipped !== 'boolean') bad('.clipped must be a boolean');
  const out: DpClaim = { clipNorm: clipNorm as number, noiseMultiplier: noiseMultiplier as number, noiseStd: noiseStd as number, partners: partners as number };
  if (norm !== undefined) out.norm = norm as number;
  if (clipped !== undefined) out.clipped = clipped as boolean;
  return out;
}

/**
 * @internal The update metadata schema: `{samples, baseVersion, attempt?, metrics?, dp?}` and nothing else.
 *
 * @throws {@link @lepton/core!LeptonError} `FEDERATED_BAD_UPDATE`
 */
export function parseUpdateMeta(meta: unknown): ParsedMeta {
  if (!isObject(meta)) return fail('FEDERATED_BAD_UPDATE', 'Update: meta must be an object.');
  for (const k of Object.keys(meta)) {
    if (!['samples', 'baseVersion', 'attempt', 'metrics', 'dp'].includes(k)) {
      fail('FEDERATED_BAD_UPDATE', `Update: meta has an unknown field '${k.slice(0, 64)}' (allowed: samples, baseVersion, attempt, metrics, dp).`);
    }
  }
  if (!int(meta['samples'], 1, MAX_CLAIMED_SAMPLES)) fail('FEDERATED_BAD_UPDATE', `Update: meta.samples must be a positive integer, got ${describeValue(meta['samples'], 32)}.`);
  if (!int(meta['baseVersion'], 0, Number.MAX_SAFE_INTEGER)) fail('FEDERATED_BAD_UPDATE', 'Update: meta.baseVersion must be an integer ≥ 0.');
  if (meta['attempt'] !== undefined && !int(meta['attempt'], 1, Number.MAX_SAFE_INTEGER)) fail('FEDERATED_BAD_UPDATE', 'Update: meta.attempt must be a positive integer.');
  return {
    samples: meta['samples'] as number,
    baseVersion: meta['baseVersion'] as number,
    attempt: (meta['attempt'] as number | undefined) ?? null,
    metrics: meta['metrics'] === undefined ? null : parseMetrics(meta['metrics'], 'Update', 'FEDERATED_BAD_UPDATE'),
    dp: meta['dp'] === undefined ? null : parseDpClaim(meta['dp']),
  };
}

/**
 * @internal Max |v| and the L2 norm (accumulated in float64), checked against the bounds.
 *
 * @throws {@link @lepton/core!LeptonError} `FEDERATED_OUT_OF_BOUNDS` (also for NaN/Inf, which never pass a comparison)
 */
export function checkBounds(values: ArrayLike<number>, bounds: UpdateBounds, what: string): { maxAbs: number; norm: number } {
  let maxAbs = 0;
  let sq = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const a = Math.abs(v);
    if (!(a <= bounds.maxAbs)) {
      fail('FEDERATED_OUT_OF_BOUNDS', `${what}: value ${i} is ${v}, beyond ±${bounds.maxAbs} (updateBounds.maxAbs). The update was discarded.`, { index: i, maxAbs: bounds.maxAbs });
    }
    maxAbs = Math.max(maxAbs, a);
    sq += v * v;
  }
  const norm = Math.sqrt(sq);
  if (!(norm <= bounds.maxNorm)) {
    fail('FEDERATED_OUT_OF_BOUNDS', `${what}: L2 norm ${norm.toPrecision(6)} exceeds ${bounds.maxNorm} (updateBounds.maxNorm). The update was discarded.`, { norm, maxNorm: bounds.maxNorm });
  }
  return { maxAbs, norm };
}

/**
 * @internal Checks that a DP claim meets the requirement (C ≤ required C, z ≥ required z, noise std at least z·C/√n for
 * the enrolled n).
 *
 * @throws {@link @lepton/core!LeptonError} `FEDERATED_BAD_UPDATE`
 */
export function checkDpClaim(claim: DpClaim | null, required: DpOptions, enrolled: number): DpClaim {
  const tolerance = 1 + 1e-9;
  if (
    claim === null ||
    !(claim.noiseMultiplier >= required.noiseMultiplier) ||
    !(claim.clipNorm <= required.clipNorm) ||
    !(claim.noiseStd * tolerance >= (claim.noiseMultiplier * claim.clipNorm) / Math.sqrt(enrolled))
  ) {
    return fail(
      'FEDERATED_BAD_UPDATE',
      `Update: this federation requires differential privacy (clipNorm ≤ ${required.clipNorm}, noiseMultiplier ≥ ${required.noiseMultiplier}, noise std ≥ z·C/√${enrolled}) and the update reports none or less.`,
    );
  }
  return claim;
}

// Laurent–Massart tail bounds for χ²_d at x = 30: a false rejection has probability below 2e-13 per update.
const TAIL_X = 30;

/**
 * @internal For a plain update claiming clip norm C and Gaussian noise of std σ per coordinate in d dimensions, the
 * range its L2 norm must lie in: ‖x + N‖ ∈ [σ·√(d − 2√(dx)) − C, C + σ·√(d + 2√(dx) + 2x)]. An unclipped update
 * breaks the upper bound; a noiseless one breaks the lower bound once d is large enough for the noise to dominate.
 */
export function dpNormRange(clipNorm: number, noiseStd: number, d: number): { min: number; max: number } {
  const lowSq = d - 2 * Math.sqrt(d * TAIL_X);
  const highSq = d + 2 * Math.sqrt(d * TAIL_X) + 2 * TAIL_X;
  return { min: Math.max(0, noiseStd * Math.sqrt(Math.max(0, lowSq)) - clipNorm), max: clipNorm + noiseStd * Math.sqrt(highSq) };
}

/**
 * @internal Refuses a plain update whose norm is impossible under its DP claim.
 *
 * @throws {@link @lepton/core!LeptonError} `FEDERATED_DP_VIOLATION`
 */
export function checkDpPlausible(norm: number, d: number, claim: DpClaim): void {
  const { min, max } = dpNormRange(claim.clipNorm, claim.noiseStd, d);
  if (norm > max) {
    fail(
      'FEDERATED_DP_VIOLATION',
      `Update: L2 norm ${norm.toPrecision(6)} is more than clipping to ${claim.clipNorm} plus noise of std ${claim.noiseStd.toPrecision(4)} allows (≤ ${max.toPrecision(6)}): the update was not clipped as claimed. Discarded.`,
      { norm, max },
    );
  }
  if (norm < min) {
    fail(
      'FEDERATED_DP_VIOLATION',
      `Update: L2 norm ${norm.toPrecision(6)} is less than noise of std ${claim.noiseStd.toPrecision(4)} over ${d} values gives (≥ ${min.toPrecision(6)}): the claimed noise was not added. Discarded.`,
      { norm, min },
    );
  }
}
