import { createCipheriv, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, type KeyObject } from 'node:crypto';
import { LeptonError } from '../errors/lepton-error.js';

/*
 * Privacy for federated updates: differential privacy (L2 clipping and seeded Gaussian noise) and secure aggregation
 * by pairwise additive masking.
 *
 * Error codes raised here: `INVALID_ARGUMENT` (a clip norm, standard deviation, noise multiplier, partner count, scale
 * or clip value out of range; a partner id used twice), `INVALID_INPUT` (an update holding NaN or infinite values),
 * `FEDERATED_BAD_KEY` (a peer public key that is not 32 base64 bytes, or that yields an all-zero shared secret),
 * `FEDERATED_BAD_UPDATE` (masked updates of different lengths).
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

function checkFinite(values: Float32Array, what: string): void {
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
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for a clip norm that is not a positive finite number; `INVALID_INPUT`
 *   for NaN or infinite values
 * @example
 * ```ts
 * import { clipUpdate } from '@lepton/core';
 * const r = clipUpdate(new Float32Array([3, 4]), 1);
 * console.log(r.norm, r.clipped, Array.from(r.values)); // 5 true [0.6, 0.8] (as float32)
 * ```
 */
export function clipUpdate(delta: Float32Array, clipNorm: number): ClippedUpdate {
  if (!(Number.isFinite(clipNorm) && clipNorm > 0)) {
    throw new LeptonError('INVALID_ARGUMENT', `clipUpdate: clipNorm must be a positive finite number, got ${clipNorm}.`);
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
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for a negative or non-finite `stddev`
 */
export function addGaussianNoise(values: Float32Array, stddev: number, random: () => number): Float32Array {
  if (!(Number.isFinite(stddev) && stddev >= 0)) {
    throw new LeptonError('INVALID_ARGUMENT', `addGaussianNoise: stddev must be a finite number ≥ 0, got ${stddev}.`);
  }
  const out = Float32Array.from(values);
  if (stddev === 0) return out;
  for (let i = 0; i < out.length; i += 2) {
    // 1 − u lies in (0, 1], so the logarithm is finite.
    const r = Math.sqrt(-2 * Math.log(1 - random())) * stddev;
    const theta = 2 * Math.PI * random();
    out[i] = out[i]! + r * Math.cos(theta);
    if (i + 1 < out.length) out[i + 1] = out[i + 1]! + r * Math.sin(theta);
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
 * report the smaller effective multiplier z·√(m/n). Converting z into (ε, δ) over many rounds needs a privacy
 * accountant (e.g. RDP), which this helper does not do.
 *
 * @param clipNorm - C > 0
 * @param noiseMultiplier - z ≥ 0
 * @param partners - n ≥ 1
 * @returns σ = z·C/√n
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for values out of range
 * @example
 * ```ts
 * import { gaussianNoiseStd } from '@lepton/core';
 * console.log(gaussianNoiseStd(1, 1.1, 4)); // 0.55: four partners' noise sums to std 1.1
 * ```
 */
export function gaussianNoiseStd(clipNorm: number, noiseMultiplier: number, partners: number): number {
  if (!(Number.isFinite(clipNorm) && clipNorm > 0)) throw new LeptonError('INVALID_ARGUMENT', `gaussianNoiseStd: clipNorm must be > 0, got ${clipNorm}.`);
  if (!(Number.isFinite(noiseMultiplier) && noiseMultiplier >= 0)) {
    throw new LeptonError('INVALID_ARGUMENT', `gaussianNoiseStd: noiseMultiplier must be ≥ 0, got ${noiseMultiplier}.`);
  }
  if (!(Number.isInteger(partners) && partners >= 1)) {
    throw new LeptonError('INVALID_ARGUMENT', `gaussianNoiseStd: partners must be a positive integer, got ${partners}.`);
  }
  return (noiseMultiplier * clipNorm) / Math.sqrt(partners);
}

/**
 * Clips an update and adds this partner's share of the Gaussian noise ({@link gaussianNoiseStd}), reporting the
 * parameters used so they can be logged with the round.
 *
 * @param delta - the update
 * @param options - clip norm, noise multiplier, partner count and random source
 * @returns the noised update with its original norm, whether it was clipped, and C, z and σ
 * @throws {@link LeptonError} `INVALID_ARGUMENT` / `INVALID_INPUT` as {@link clipUpdate} and {@link gaussianNoiseStd}
 */
export function privatizeUpdate(delta: Float32Array, options: PrivatizeOptions): PrivatizedUpdate {
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

// ---------------------------------------------------------------------------------------------------------------
// Secure aggregation by pairwise additive masking (Bonawitz et al. 2017, "Practical Secure Aggregation for
// Privacy-Preserving Machine Learning", without the self-masks and secret sharing).
//
// Every pair of partners (i, j) agrees on a seed by X25519 + HKDF; both expand it with AES-256-CTR into the same stream
// of uint32 words m_ij. Partner i sends q_i + Σ_{j>i} m_ij − Σ_{j<i} m_ji (mod 2^32), where q_i is its fixed-point
// update. Every mask appears once with + and once with −, so the coordinator's sum is Σ q_i exactly, while any one
// masked update is indistinguishable from uniform words to anybody who lacks that partner's pair seeds.
//
// Trust model (what this does NOT protect against): without Bonawitz's self-masks, a coordinator that falsely declares
// a partner dropped, collects the survivors' seeds with it and then uses a masked update it did receive from that
// partner can unmask it. The coordinator must therefore fix the dropped set before asking for seeds, and refuse any
// update from a partner it has declared dropped; partners should reveal seeds only for partners named dropped in that
// round. The ids' order (JavaScript string comparison, code unit by code unit) decides who adds and who subtracts.
// ---------------------------------------------------------------------------------------------------------------

/** A partner's X25519 key pair for one aggregation (make a fresh pair per round or per session). */
export interface MaskingKeys {
  /** The public key: its raw 32 bytes in standard base64, to publish to the other partners through the coordinator. */
  publicKey: string;
  /** The private key; never leaves the partner. */
  privateKey: KeyObject;
}

/** The seed this partner shares with one peer, from {@link pairSeed}. */
export interface PeerSeed {
  /** The peer's partner id. */
  id: string;
  /** The 32-byte pair seed. */
  seed: Uint8Array;
}

/** Fixed-point encoding of updates for secure aggregation; every partner and the coordinator use the same values. */
export interface MaskOptions {
  /** Fixed-point scale: a value v is sent as round(v·scale). 2^16 gives a resolution of 1.5e-5. */
  scale: number;
  /**
   * Values are clipped to [−clipValue, clipValue] before quantising, so that the sum over all partners cannot wrap
   * around 2^32: partners · round(clipValue · scale) must stay ≤ 2^31 − 1 (see {@link maskClipLimit}).
   */
  clipValue: number;
}

const SEED_BYTES = 32;
const HKDF_SALT = Buffer.from('lepton/secagg/v1', 'utf8');
const INT32_MAX = 2 ** 31 - 1;

function checkMaskOptions(options: MaskOptions, what: string): void {
  if (!(Number.isFinite(options.scale) && options.scale > 0)) {
    throw new LeptonError('INVALID_ARGUMENT', `${what}: scale must be a positive finite number, got ${options.scale}.`);
  }
  if (!(Number.isFinite(options.clipValue) && options.clipValue > 0)) {
    throw new LeptonError('INVALID_ARGUMENT', `${what}: clipValue must be a positive finite number, got ${options.clipValue}.`);
  }
}

function checkSeed(seed: Uint8Array, what: string): void {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_BYTES) {
    throw new LeptonError('FEDERATED_BAD_KEY', `${what}: a pair seed must be ${SEED_BYTES} bytes, got ${seed?.length ?? 'none'}.`);
  }
}

function checkId(id: string, what: string): void {
  if (typeof id !== 'string' || id.length === 0) throw new LeptonError('INVALID_ARGUMENT', `${what}: partner ids must be non-empty strings.`);
}

/**
 * The largest `clipValue` for which the sum of `partners` quantised updates cannot wrap around.
 *
 * @param scale - the fixed-point scale
 * @param partners - partners in the aggregation
 * @returns the bound, floor((2^31 − 1) / partners) / scale
 */
export function maskClipLimit(scale: number, partners: number): number {
  if (!(Number.isInteger(partners) && partners >= 1)) {
    throw new LeptonError('INVALID_ARGUMENT', `maskClipLimit: partners must be a positive integer, got ${partners}.`);
  }
  return Math.floor(INT32_MAX / partners) / scale;
}

/**
 * Makes a fresh X25519 key pair for secure aggregation.
 *
 * @returns the public key (base64 of the raw 32 bytes) and the private key object
 * @example
 * ```ts
 * import { createMaskingKeys } from '@lepton/core';
 * const keys = createMaskingKeys();
 * console.log(Buffer.from(keys.publicKey, 'base64').length); // 32
 * ```
 */
export function createMaskingKeys(): MaskingKeys {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  const jwk = publicKey.export({ format: 'jwk' });
  return { publicKey: Buffer.from(String(jwk.x), 'base64url').toString('base64'), privateKey };
}

/**
 * The seed partner `myId` shares with partner `peerId` in round `roundId`: X25519(my private key, peer public key),
 * expanded by HKDF-SHA256 with info = the round id and the two partner ids in sorted order. Both partners of a pair
 * get the same 32 bytes; nobody else can, since it needs one of the two private keys; and each round gets new masks.
 *
 * @param keys - this partner's key pair
 * @param myId - this partner's id
 * @param peerId - the peer's id (≠ `myId`)
 * @param peerPublicKey - the peer's public key as published (base64 of 32 raw bytes)
 * @param roundId - the aggregation round (part of the key derivation: never reuse masks across rounds)
 * @returns the 32-byte pair seed
 * @throws {@link LeptonError} `FEDERATED_BAD_KEY` for a malformed or degenerate peer key; `INVALID_ARGUMENT` for
 *   empty or equal ids
 */
export function pairSeed(keys: MaskingKeys, myId: string, peerId: string, peerPublicKey: string, roundId: string | number): Uint8Array {
  checkId(myId, 'pairSeed');
  checkId(peerId, 'pairSeed');
  if (myId === peerId) throw new LeptonError('INVALID_ARGUMENT', `pairSeed: a partner cannot pair with itself ('${myId}').`);
  const raw = typeof peerPublicKey === 'string' ? Buffer.from(peerPublicKey, 'base64') : Buffer.alloc(0);
  if (raw.length !== 32 || raw.toString('base64') !== peerPublicKey) {
    throw new LeptonError('FEDERATED_BAD_KEY', `pairSeed: the public key of partner '${peerId}' is not the base64 of 32 raw X25519 bytes.`, {
      details: { peer: peerId },
    });
  }
  let shared: Buffer;
  try {
    const peerKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: raw.toString('base64url') }, format: 'jwk' });
    shared = diffieHellman({ privateKey: keys.privateKey, publicKey: peerKey });
  } catch (err) {
    throw new LeptonError('FEDERATED_BAD_KEY', `pairSeed: key agreement with partner '${peerId}' failed; its public key is invalid.`, {
      cause: err,
      details: { peer: peerId },
    });
  }
  // A low-order public key forces an all-zero secret that anybody could compute.
  if (shared.every((b) => b === 0)) {
    throw new LeptonError('FEDERATED_BAD_KEY', `pairSeed: partner '${peerId}' sent a degenerate public key (all-zero shared secret).`, {
      details: { peer: peerId },
    });
  }
  const [a, b] = myId < peerId ? [myId, peerId] : [peerId, myId];
  // JSON keeps the fields unambiguous whatever characters the ids contain.
  const info = Buffer.from(JSON.stringify(['lepton-secagg-v1', String(roundId), a, b]), 'utf8');
  return new Uint8Array(hkdfSync('sha256', shared, HKDF_SALT, info, SEED_BYTES));
}

/** The pair's mask: `count` uint32 words of AES-256-CTR keystream (key = seed, IV = 0), little-endian. */
function maskStream(seed: Uint8Array, count: number): Uint32Array {
  const cipher = createCipheriv('aes-256-ctr', seed, Buffer.alloc(16));
  const bytes = Buffer.concat([cipher.update(Buffer.alloc(count * 4)), cipher.final()]);
  const words = new Uint32Array(count);
  for (let i = 0; i < count; i++) words[i] = bytes.readUInt32LE(i * 4);
  return words;
}

/**
 * Fixed-point words of an update without any mask: round(clip(v, ±clipValue) · scale) as two's-complement uint32.
 * This is what the masked sum decodes to, summed over partners.
 *
 * @param delta - the update
 * @param options - scale and clip value
 * @returns one word per value
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for a bad scale or clip value; `INVALID_INPUT` for NaN or infinite values
 */
export function quantizeUpdate(delta: Float32Array, options: MaskOptions): Uint32Array {
  checkMaskOptions(options, 'quantizeUpdate');
  checkFinite(delta, 'quantizeUpdate');
  const { scale, clipValue } = options;
  const out = new Uint32Array(delta.length);
  for (let i = 0; i < delta.length; i++) {
    const v = Math.min(clipValue, Math.max(-clipValue, delta[i]!));
    out[i] = Math.round(v * scale) >>> 0;
  }
  return out;
}

/**
 * Masks one partner's update for secure aggregation: quantises it ({@link quantizeUpdate}) and, for every peer of the
 * key round, adds the pair mask when the peer's id sorts after `myId` and subtracts it when it sorts before (mod 2^32).
 *
 * @param delta - the update (e.g. a clipped, noised delta)
 * @param myId - this partner's id
 * @param peers - every other partner of the key round with its pair seed
 * @param options - scale and clip value, the same for every partner
 * @returns the masked words to send (see `encodeMasked`)
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for a bad scale, a clip value that would let the sum wrap, or a
 *   repeated id; `INVALID_INPUT` for NaN or infinite values; `FEDERATED_BAD_KEY` for a seed that is not 32 bytes
 */
export function maskUpdate(delta: Float32Array, myId: string, peers: readonly PeerSeed[], options: MaskOptions): Uint32Array {
  checkMaskOptions(options, 'maskUpdate');
  checkId(myId, 'maskUpdate');
  const partners = peers.length + 1;
  if (partners * Math.round(options.clipValue * options.scale) > INT32_MAX) {
    throw new LeptonError(
      'INVALID_ARGUMENT',
      `maskUpdate: ${partners} partners × clipValue ${options.clipValue} × scale ${options.scale} could wrap the int32 sum; use clipValue ≤ ${maskClipLimit(options.scale, partners)} or a smaller scale.`,
    );
  }
  const seen = new Set([myId]);
  for (const p of peers) {
    checkId(p.id, 'maskUpdate');
    if (seen.has(p.id)) throw new LeptonError('INVALID_ARGUMENT', `maskUpdate: partner id '${p.id}' appears twice (or is this partner's own).`);
    seen.add(p.id);
    checkSeed(p.seed, `maskUpdate (peer '${p.id}')`);
  }
  const words = quantizeUpdate(delta, options);
  for (const p of peers) {
    const mask = maskStream(p.seed, words.length);
    const add = p.id > myId;
    for (let i = 0; i < words.length; i++) words[i] = add ? words[i]! + mask[i]! : words[i]! - mask[i]!;
  }
  return words;
}

/**
 * The coordinator's sum of masked updates, word by word mod 2^32.
 *
 * @param parts - the masked updates received
 * @returns their sum (pairwise masks between senders cancel)
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for no parts; `FEDERATED_BAD_UPDATE` for parts of different lengths
 */
export function sumMasked(parts: readonly Uint32Array[]): Uint32Array {
  if (parts.length === 0) throw new LeptonError('INVALID_ARGUMENT', 'sumMasked: no masked updates to sum.');
  const n = parts[0]!.length;
  const out = new Uint32Array(n);
  parts.forEach((p, k) => {
    if (p.length !== n) {
      throw new LeptonError('FEDERATED_BAD_UPDATE', `sumMasked: masked update ${k} has ${p.length} words but update 0 has ${n}.`, {
        details: { update: k, expected: n, got: p.length },
      });
    }
    // Uint32Array stores wrap mod 2^32 exactly: the intermediate sum (< 2^33) is exact in a double.
    for (let i = 0; i < n; i++) out[i] = out[i]! + p[i]!;
  });
  return out;
}

/**
 * Removes from the sum the mask that survivor `survivorId` applied for a partner `droppedId` that never sent its
 * update, using the pair seed the survivor revealed. Call it once for every (survivor, dropped) pair; afterwards the sum
 * is exactly the survivors' quantised sum.
 *
 * @param sum - the sum of the survivors' masked updates (modified in place)
 * @param survivorId - the partner whose masked update is in the sum
 * @param droppedId - the partner that dropped out after the key round
 * @param seed - their pair seed, revealed by the survivor
 * @throws {@link LeptonError} `FEDERATED_BAD_KEY` for a seed that is not 32 bytes; `INVALID_ARGUMENT` for equal ids
 */
export function removeDroppedMasks(sum: Uint32Array, survivorId: string, droppedId: string, seed: Uint8Array): void {
  checkId(survivorId, 'removeDroppedMasks');
  checkId(droppedId, 'removeDroppedMasks');
  if (survivorId === droppedId) throw new LeptonError('INVALID_ARGUMENT', `removeDroppedMasks: survivor and dropped partner are both '${survivorId}'.`);
  checkSeed(seed, 'removeDroppedMasks');
  const mask = maskStream(seed, sum.length);
  // maskUpdate added the mask when the peer sorts after the partner, so undo it by subtracting, and vice versa.
  const survivorAdded = droppedId > survivorId;
  for (let i = 0; i < sum.length; i++) sum[i] = survivorAdded ? sum[i]! - mask[i]! : sum[i]! + mask[i]!;
}

/**
 * Decodes an unmasked sum back to floats: each word as a signed two's-complement int32, divided by `scale`.
 *
 * @param sum - the sum of masked updates with every mask cancelled or removed
 * @param options - the scale (and clip value) the partners used
 * @returns the float sum of the partners' updates (within 0.5/scale per partner, plus clipping)
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for a bad scale or clip value
 */
export function unmaskSum(sum: Uint32Array, options: MaskOptions): Float32Array {
  checkMaskOptions(options, 'unmaskSum');
  const out = new Float32Array(sum.length);
  for (let i = 0; i < sum.length; i++) out[i] = (sum[i]! | 0) / options.scale;
  return out;
}
