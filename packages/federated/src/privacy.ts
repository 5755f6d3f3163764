import { describeValue, LeptonError } from '@lepton/core';
import { checkFloats, checkFunction, checkObject, FLOAT32_MAX } from './validate.js';

/*
 * Differential privacy for federated updates: L2 clipping and Gaussian noise, applied by each partner before its
 * update leaves it. (Secure aggregation lives in masking.ts and secagg.ts; privacy accounting in accountant.ts.)
 *
 * Error codes raised here: `INVALID_ARGUMENT` (a clip norm, standard deviation, noise multiplier or partner count out
 * of range), `INVALID_INPUT` (an update holding NaN or infinite values).
 *
 * Trust model: DP is enforced by the partner. The coordinator records the parameters each partner claims and, for
 * plain (unmasked) updates, checks that the update's norm is consistent with them; it cannot verify masked updates.
 */

/** What {@link clipUpdate} returns. */
export interface ClippedUpdate {
  /** The update scaled so that its L2 norm is at most the clip norm (a new array; the input is untouched). */
  values: Float32Array;
  /** L2 norm of the update before clipping. */
  norm: number;
  /** Whether the update was scaled down. */
  clipped: boolean;
}

/** Options for {@link privatizeUpdate}. */
export interface PrivatizeOptions {
  /** L2 bound C on each partner's update. */
  clipNorm: number;
  /** Noise multiplier z: the aggregate (sum) of all partners' updates carries Gaussian noise of std z·C. */
  noiseMultiplier: number;
  /** Number of partners n whose noised updates are summed. */
  partners: number;
  /** Uniform random numbers in [0, 1), e.g. `seededRandom(seed)`; use a cryptographic source in production. */
  random: () => number;
}

/** What {@link privatizeUpdate} returns: the noised update and the privacy parameters it was made with. */
export interface PrivatizedUpdate extends ClippedUpdate {
  /** The noise multiplier z used. */
  noiseMultiplier: number;
  /** The clip norm C used. */
  clipNorm: number;
  /** Standard deviation of the noise added to this partner's update, {@link gaussianNoiseStd}(C, z, n). */
  noiseStd: number;
}

/** @internal Throws `INVALID_ARGUMENT` for anything but a float array, `INVALID_INPUT` at the first NaN or infinite value. */
export function checkFinite(values: Float32Array, what: string): void {
  checkFloats(values, `${what}: the update`);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      throw new LeptonError('INVALID_INPUT', `${what}: the update holds a NaN or infinite value at index ${i}.`, { details: { index: i } });
    }
  }
}

/**
 * Clips an update to L2 norm at most `clipNorm` (scaling the whole vector, so its direction is kept). This bounds
 * any one partner's influence on the aggregate, which is what makes the Gaussian noise meaningful.
 *
 * @param delta - the update (flat weights delta)
 * @param clipNorm - the bound C > 0
 * @returns the clipped copy, the original norm and whether it was scaled
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a clip norm that is not a positive finite number or a delta
 *   that is not a Float32Array; `INVALID_INPUT` for NaN or infinite values
 * @example
 * ```ts
 * import { clipUpdate } from '@lepton/federated';
 * const r = clipUpdate(new Float32Array([3, 4]), 1);
 * console.log(r.norm, r.clipped, Array.from(r.values)); // 5 true [0.6, 0.8] (as float32)
 * ```
 */
export function clipUpdate(delta: Float32Array, clipNorm: number): ClippedUpdate {
  if (!(Number.isFinite(clipNorm) && clipNorm > 0)) {
    throw new LeptonError('INVALID_ARGUMENT', `clipUpdate: clipNorm must be a positive finite number, got ${describeValue(clipNorm)}.`);
  }
  checkFinite(delta, 'clipUpdate');
  let sq = 0;
  for (let i = 0; i < delta.length; i++) sq += delta[i]! * delta[i]!;
  const norm = Math.sqrt(sq);
  if (norm <= clipNorm) return { values: Float32Array.from(delta), norm, clipped: false };
  const factor = clipNorm / norm;
  const values = new Float32Array(delta.length);
  for (let i = 0; i < delta.length; i++) values[i] = delta[i]! * factor;
  return { values, norm, clipped: true };
}

/**
 * Adds independent Gaussian noise N(0, stddev²) to every value, drawn from `random` by the Box–Muller transform (each
 * pair of uniforms gives two normals). With a seeded `random` the noise is reproducible, which tests need; in
 * production pass a cryptographically secure source, or the noise can be predicted and subtracted.
 *
 * @param values - the values to noise
 * @param stddev - standard deviation ≥ 0 (0 returns a copy)
 * @param random - uniform numbers in [0, 1)
 * @returns a noised copy
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a negative or non-finite `stddev`, one so large that a noised
 *   value overflows float32 (it would be infinite), values that are not a Float32Array, a `random` that is not a function or returns anything but a number in [0, 1) (the noise would be NaN
 *   or infinite: no privacy and a poisoned update)
 */
export function addGaussianNoise(values: Float32Array, stddev: number, random: () => number): Float32Array {
  if (!(Number.isFinite(stddev) && stddev >= 0)) {
    throw new LeptonError('INVALID_ARGUMENT', `addGaussianNoise: stddev must be a finite number ≥ 0, got ${describeValue(stddev)}.`);
  }
  checkFloats(values, 'addGaussianNoise: values');
  checkFunction(random, 'addGaussianNoise: random');
  const out = Float32Array.from(values);
  if (stddev === 0) return out;
  const uniform = (): number => {
    const u: unknown = random();
    if (!(typeof u === 'number' && u >= 0 && u < 1)) {
      throw new LeptonError('INVALID_ARGUMENT', `addGaussianNoise: random() returned ${describeValue(u)}; it must return numbers in [0, 1).`);
    }
    return u;
  };
  for (let i = 0; i < out.length; i += 2) {
    // 1 − u lies in (0, 1], so the logarithm is finite.
    const r = Math.sqrt(-2 * Math.log(1 - uniform())) * stddev;
    const theta = 2 * Math.PI * uniform();
    out[i] = out[i]! + r * Math.cos(theta);
    if (i + 1 < out.length) out[i + 1] = out[i + 1]! + r * Math.sin(theta);
    // A huge stddev (finite as a double) overflows float32: an infinite "noised" value is no update at all.
    if (!Number.isFinite(out[i]!) || (i + 1 < out.length && !Number.isFinite(out[i + 1]!))) {
      throw new LeptonError(
        'INVALID_ARGUMENT',
        `addGaussianNoise: stddev ${describeValue(stddev)} is too large: the noised values overflow float32. Use a stddev well below ${FLOAT32_MAX.toExponential(2)}.`,
      );
    }
  }
  return out;
}

/**
 * Per-partner noise standard deviation for distributed Gaussian differential privacy.
 *
 * Convention: every one of the `partners` (n) partners clips its update to L2 norm C and adds independent
 * N(0, σ²) noise with σ = z·C/√n. The **sum** of the n noised updates then carries noise N(0, (z·C)²) — the Gaussian
 * mechanism with noise multiplier z on a sum whose sensitivity to any one partner is C (partner-level DP). The
 * sample-weighted or plain mean divides both signal and noise by the same factor, so the guarantee is unchanged.
 *
 * Caveats: each single update carries only z/√n of the noise, so it is private only when nobody sees it alone — use
 * it together with secure aggregation. If partners drop out, the survivors' sum has noise z·C·√(m/n) for m survivors:
 * report the smaller effective multiplier z·√(m/n) (see `effectiveNoiseMultiplier`, which also accounts for unequal
 * weights). Converting z into (ε, δ) over many rounds is the job of `RdpAccountant`.
 *
 * @param clipNorm - C > 0
 * @param noiseMultiplier - z ≥ 0
 * @param partners - n ≥ 1
 * @returns σ = z·C/√n (always finite)
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for values out of range, or a product z·C that overflows
 * @example
 * ```ts
 * import { gaussianNoiseStd } from '@lepton/federated';
 * console.log(gaussianNoiseStd(1, 1.1, 4)); // 0.55: four partners' noise sums to std 1.1
 * ```
 */
export function gaussianNoiseStd(clipNorm: number, noiseMultiplier: number, partners: number): number {
  if (!(Number.isFinite(clipNorm) && clipNorm > 0)) throw new LeptonError('INVALID_ARGUMENT', `gaussianNoiseStd: clipNorm must be > 0, got ${describeValue(clipNorm)}.`);
  if (!(Number.isFinite(noiseMultiplier) && noiseMultiplier >= 0)) {
    throw new LeptonError('INVALID_ARGUMENT', `gaussianNoiseStd: noiseMultiplier must be ≥ 0, got ${describeValue(noiseMultiplier)}.`);
  }
  if (!(Number.isInteger(partners) && partners >= 1)) {
    throw new LeptonError('INVALID_ARGUMENT', `gaussianNoiseStd: partners must be a positive integer, got ${describeValue(partners)}.`);
  }
  const std = (noiseMultiplier * clipNorm) / Math.sqrt(partners);
  if (!Number.isFinite(std)) {
    throw new LeptonError('INVALID_ARGUMENT', 'gaussianNoiseStd: noiseMultiplier × clipNorm overflows (the noise std would be infinite); use values whose product is finite.');
  }
  return std;
}

/**
 * Clips an update and adds this partner's share of the Gaussian noise ({@link gaussianNoiseStd}), reporting the
 * parameters used so they can be logged with the round.
 *
 * @param delta - the update
 * @param options - clip norm, noise multiplier, partner count and random source
 * @returns the noised update with its original norm, whether it was clipped, and C, z and σ
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` / `INVALID_INPUT` as {@link clipUpdate}, {@link gaussianNoiseStd} and
 *   {@link addGaussianNoise} (a noise std so large that the noised update overflows float32)
 */
export function privatizeUpdate(delta: Float32Array, options: PrivatizeOptions): PrivatizedUpdate {
  checkObject(options, 'privatizeUpdate: options');
  checkFunction(options.random, 'privatizeUpdate: random');
  const noiseStd = gaussianNoiseStd(options.clipNorm, options.noiseMultiplier, options.partners);
  const clipped = clipUpdate(delta, options.clipNorm);
  return {
    values: addGaussianNoise(clipped.values, noiseStd, options.random),
    norm: clipped.norm,
    clipped: clipped.clipped,
    clipNorm: options.clipNorm,
    noiseMultiplier: options.noiseMultiplier,
    noiseStd,
  };
}
