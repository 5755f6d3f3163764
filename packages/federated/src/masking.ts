import { createCipheriv, createHash, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, KeyObject } from 'node:crypto';
import { describeValue, LeptonError } from '@lepton/core';
import { checkFinite } from './privacy.js';
import { checkObject, checkWords, FLOAT32_MAX, invalid } from './validate.js';

/**
 * @internal Smallest fixed-point scale accepted: 2^31 / FLOAT32_MAX (≈ 6.3e-30). Below it an unmasked int32 word divided by the
 * scale (`unmaskSum`) or the clip limit (`maskClipLimit`) would overflow to Infinity.
 */
export const MIN_SCALE = 2 ** 31 / FLOAT32_MAX;

/*
 * Secure aggregation primitives: pairwise additive masks and self-masks (Bonawitz et al. 2017, "Practical Secure
 * Aggregation for Privacy-Preserving Machine Learning", §4, with double masking; drop-outs are recovered from keys the
 * survivors reveal, not from secret shares). The protocol that uses them — signed key announcements, participant and
 * survivor checks, verifiable reveals — is in secagg.ts.
 *
 * Every pair of partners (i, j) agrees on a seed by X25519 + HKDF; both expand it with AES-256-CTR into the same stream
 * of uint32 words m_ij. Partner i sends y_i = q_i + PRG(b_i) + Σ_{j>i} m_ij − Σ_{j<i} m_ji (mod 2^32), where q_i is its
 * fixed-point update and b_i a fresh self-mask seed. Pair masks cancel in the sum; the self-masks are removed once
 * every survivor has revealed its b_i. Any one y_i is uniform words to anybody who lacks b_i or one of its pair seeds.
 *
 * Why the self-mask: without it, a coordinator that falsely declares partner d dropped collects every survivor's pair
 * seed with d and unmasks the y_d it did receive. With it, y_d stays hidden behind PRG(b_d), which d reveals only after
 * every survivor signed a survivor set that contains d (so nobody reveals a pair seed with d).
 *
 * Each partner uses a separate X25519 key pair per peer, so that revealing the private key of the (survivor, dropped)
 * pair reveals that one pair seed and nothing else — and the coordinator can check the revealed key against the public
 * key the survivor announced and signed. The ids' order (JavaScript string comparison) decides who adds and who
 * subtracts.
 *
 * Error codes raised here: `INVALID_ARGUMENT` (scale or clip value out of range, a repeated id), `INVALID_INPUT`
 * (NaN or infinite values), `FEDERATED_BAD_KEY` (a malformed or degenerate key or seed), `FEDERATED_BAD_UPDATE`
 * (masked updates of different lengths).
 */

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
  /** Fixed-point scale: a value v is sent as round(v·scale). 2^16 gives a resolution of 1.5e-5. At least ≈ 6.3e-30. */
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
  checkObject(options, `${what}: options`);
  if (!(Number.isFinite(options.scale) && options.scale >= MIN_SCALE)) {
    throw new LeptonError('INVALID_ARGUMENT', `${what}: scale must be a finite number ≥ ${MIN_SCALE.toExponential(2)} (smaller scales overflow float32 when unmasked), got ${describeValue(options.scale)}.`);
  }
  if (!(Number.isFinite(options.clipValue) && options.clipValue > 0)) {
    throw new LeptonError('INVALID_ARGUMENT', `${what}: clipValue must be a positive finite number, got ${describeValue(options.clipValue)}.`);
  }
}

function checkSeed(seed: Uint8Array, what: string): void {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_BYTES) {
    throw new LeptonError('FEDERATED_BAD_KEY', `${what}: a pair seed must be ${SEED_BYTES} bytes, got ${seed instanceof Uint8Array ? seed.length : describeValue(seed)}.`);
  }
}

function checkId(id: string, what: string): void {
  if (typeof id !== 'string' || id.length === 0) throw new LeptonError('INVALID_ARGUMENT', `${what}: partner ids must be non-empty strings.`);
}

/** A masking key pair's private half: an X25519 private KeyObject (anything else would fail deep in node:crypto). */
function checkMaskingKeys(keys: MaskingKeys, what: string): void {
  const k = (keys as { privateKey?: unknown } | null)?.privateKey;
  if (!(typeof keys === 'object' && k instanceof KeyObject && k.type === 'private' && k.asymmetricKeyType === 'x25519')) {
    invalid(`${what}: keys must be a masking key pair (createMaskingKeys) with an X25519 private key, got ${describeValue(keys)}.`);
  }
}

/**
 * The largest `clipValue` for which the sum of `partners` quantised updates cannot wrap around.
 *
 * @param scale - the fixed-point scale
 * @param partners - partners in the aggregation
 * @returns the bound, floor((2^31 − 1) / partners) / scale
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a scale that is not a finite number ≥ 2^31 / float32 max
 *   (≈ 6.3e-30; the bound would overflow) or a partner count that is not a positive integer
 */
export function maskClipLimit(scale: number, partners: number): number {
  if (!(typeof scale === 'number' && Number.isFinite(scale) && scale >= MIN_SCALE)) {
    throw new LeptonError('INVALID_ARGUMENT', `maskClipLimit: scale must be a finite number ≥ ${MIN_SCALE.toExponential(2)} (smaller scales overflow float32), got ${describeValue(scale)}.`);
  }
  if (!(Number.isInteger(partners) && partners >= 1)) {
    throw new LeptonError('INVALID_ARGUMENT', `maskClipLimit: partners must be a positive integer, got ${describeValue(partners)}.`);
  }
  return Math.floor(INT32_MAX / partners) / scale;
}

/**
 * X25519 agreement of `privateKey` with a peer's published public key (base64 of 32 raw bytes), refusing the keys no
 * pair seed may come from: malformed, not a curve point, or low order (an all-zero shared secret anybody can compute).
 */
function agree(privateKey: KeyObject, peerPublicKey: unknown, peerId: string, what: string): Buffer {
  const raw = typeof peerPublicKey === 'string' ? Buffer.from(peerPublicKey, 'base64') : Buffer.alloc(0);
  if (raw.length !== 32 || raw.toString('base64') !== peerPublicKey) {
    throw new LeptonError('FEDERATED_BAD_KEY', `${what}: the public key of partner '${peerId}' is not the base64 of 32 raw X25519 bytes.`, {
      details: { peer: peerId },
    });
  }
  let shared: Buffer;
  try {
    const peerKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: raw.toString('base64url') }, format: 'jwk' });
    shared = diffieHellman({ privateKey, publicKey: peerKey });
  } catch (err) {
    throw new LeptonError('FEDERATED_BAD_KEY', `${what}: key agreement with partner '${peerId}' failed; its public key is invalid.`, {
      cause: err,
      details: { peer: peerId },
    });
  }
  // A low-order public key forces an all-zero secret that anybody could compute.
  if (shared.every((b) => b === 0)) {
    throw new LeptonError('FEDERATED_BAD_KEY', `${what}: partner '${peerId}' sent a degenerate public key (all-zero shared secret).`, {
      details: { peer: peerId },
    });
  }
  return shared;
}

let probeKey: KeyObject | null = null;

/**
 * @internal Checks that a published X25519 mask key can take part in a key agreement (what {@link pairSeed} will do
 * with it): an agreement with a throwaway key of this process must succeed and give a non-zero secret. Low-order
 * points (all zeros, and the other small-order encodings) give the all-zero secret with every private key.
 *
 * @throws {@link @lepton/core!LeptonError} `FEDERATED_BAD_KEY` for a malformed or degenerate key
 */
export function checkMaskPublicKey(publicKey: unknown, peerId: string, what: string): void {
  probeKey ??= generateKeyPairSync('x25519').privateKey;
  agree(probeKey, publicKey, peerId, what);
}

/**
 * Makes a fresh X25519 key pair for secure aggregation.
 *
 * @returns the public key (base64 of the raw 32 bytes) and the private key object
 * @example
 * ```ts
 * import { createMaskingKeys } from '@lepton/federated';
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
 * @throws {@link @lepton/core!LeptonError} `FEDERATED_BAD_KEY` for a malformed or degenerate peer key; `INVALID_ARGUMENT` for
 *   empty or equal ids
 */
export function pairSeed(keys: MaskingKeys, myId: string, peerId: string, peerPublicKey: string, roundId: string | number): Uint8Array {
  checkMaskingKeys(keys, 'pairSeed');
  checkId(myId, 'pairSeed');
  checkId(peerId, 'pairSeed');
  if (myId === peerId) throw new LeptonError('INVALID_ARGUMENT', `pairSeed: a partner cannot pair with itself ('${myId}').`);
  const shared = agree(keys.privateKey, peerPublicKey, peerId, 'pairSeed');
  if (typeof roundId !== 'string' && typeof roundId !== 'number') throw new LeptonError('INVALID_ARGUMENT', `pairSeed: roundId must be a string or a number, got ${describeValue(roundId)}.`);
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
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad scale or clip value; `INVALID_INPUT` for NaN or infinite values
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
 * Masks one partner's update for secure aggregation: quantises it ({@link quantizeUpdate}), adds the self-mask
 * PRG(`selfSeed`) when one is given, and, for every peer of the key round, adds the pair mask when the peer's id sorts
 * after `myId` and subtracts it when it sorts before (mod 2^32).
 *
 * @param delta - the update (e.g. a clipped, noised delta)
 * @param myId - this partner's id
 * @param peers - every other partner of the key round with its pair seed
 * @param options - scale and clip value, the same for every partner
 * @param selfSeed - 32-byte self-mask seed (see {@link removeSelfMask}); omit for pair masks only
 * @returns the masked words to send (see `encodeMasked`)
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad scale, a clip value that would let the sum wrap, or a
 *   repeated id; `INVALID_INPUT` for NaN or infinite values; `FEDERATED_BAD_KEY` for a seed that is not 32 bytes
 */
export function maskUpdate(delta: Float32Array, myId: string, peers: readonly PeerSeed[], options: MaskOptions, selfSeed?: Uint8Array): Uint32Array {
  checkMaskOptions(options, 'maskUpdate');
  checkId(myId, 'maskUpdate');
  checkFinite(delta, 'maskUpdate');
  if (!Array.isArray(peers)) invalid(`maskUpdate: peers must be an array of {id, seed}, got ${describeValue(peers)}.`);
  for (let i = 0; i < peers.length; i++) {
    const p: unknown = peers[i];
    if (typeof p !== 'object' || p === null) invalid(`maskUpdate: peer ${i} must be {id, seed}, got ${describeValue(p)}.`);
  }
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
  if (selfSeed !== undefined) checkSeed(selfSeed, 'maskUpdate (self-mask)');
  const words = quantizeUpdate(delta, options);
  if (selfSeed !== undefined) {
    const self = maskStream(selfSeed, words.length);
    for (let i = 0; i < words.length; i++) words[i] = words[i]! + self[i]!;
  }
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
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for no parts; `FEDERATED_BAD_UPDATE` for parts of different lengths
 */
export function sumMasked(parts: readonly Uint32Array[]): Uint32Array {
  if (!Array.isArray(parts)) invalid(`sumMasked: parts must be an array of Uint32Array, got ${describeValue(parts)}.`);
  for (let k = 0; k < parts.length; k++) checkWords(parts[k], `sumMasked: masked update ${k}`);
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
 * @throws {@link @lepton/core!LeptonError} `FEDERATED_BAD_KEY` for a seed that is not 32 bytes; `INVALID_ARGUMENT` for equal ids
 */
export function removeDroppedMasks(sum: Uint32Array, survivorId: string, droppedId: string, seed: Uint8Array): void {
  checkWords(sum, 'removeDroppedMasks: sum');
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
 * @returns the float sum of the partners' updates (within 0.5/scale per partner, plus clipping); always finite
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad scale (below ≈ 6.3e-30 the decoded words would overflow
 *   float32) or clip value
 */
export function unmaskSum(sum: Uint32Array, options: MaskOptions): Float32Array {
  checkWords(sum, 'unmaskSum: sum');
  checkMaskOptions(options, 'unmaskSum');
  const out = new Float32Array(sum.length);
  for (let i = 0; i < sum.length; i++) out[i] = (sum[i]! | 0) / options.scale;
  return out;
}

/**
 * Removes one survivor's self-mask from the sum, using the seed it revealed. Call it once per survivor whose update
 * was masked with {@link maskUpdate}'s `selfSeed`.
 *
 * @param sum - the sum of masked updates (modified in place)
 * @param seed - the survivor's 32-byte self-mask seed
 * @throws {@link @lepton/core!LeptonError} `FEDERATED_BAD_KEY` for a seed that is not 32 bytes
 */
export function removeSelfMask(sum: Uint32Array, seed: Uint8Array): void {
  checkWords(sum, 'removeSelfMask: sum');
  checkSeed(seed, 'removeSelfMask');
  const mask = maskStream(seed, sum.length);
  for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! - mask[i]!;
}

/**
 * Commitment to a self-mask seed, published (and signed) in the key announcement before any update is sent, so that
 * a revealed seed can be checked: SHA-256 of a domain tag, the round id, the partner id and the seed.
 *
 * @param seed - the 32-byte self-mask seed
 * @param roundId - the aggregation round id
 * @param partnerId - the partner the seed belongs to
 * @returns 64 lowercase hex characters
 * @throws {@link @lepton/core!LeptonError} `FEDERATED_BAD_KEY` for a seed that is not 32 bytes; `INVALID_ARGUMENT` for a round
 *   or partner id that is not a string (a Symbol, NaN and null would all commit to the same bytes)
 */
export function selfMaskCommitment(seed: Uint8Array, roundId: string, partnerId: string): string {
  checkSeed(seed, 'selfMaskCommitment');
  if (typeof roundId !== 'string' || typeof partnerId !== 'string') {
    invalid(`selfMaskCommitment: roundId and partnerId must be strings, got ${describeValue(roundId)} and ${describeValue(partnerId)}.`);
  }
  return createHash('sha256').update(JSON.stringify(['lepton-secagg-selfmask-v1', roundId, partnerId]), 'utf8').update(seed).digest('hex');
}

// PKCS#8 DER prefix of an X25519 private key (RFC 8410): the raw 32 bytes follow it.
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/**
 * The raw private key of a masking key pair, base64 (32 bytes): what a survivor reveals for a dropped peer, so the
 * coordinator can recompute exactly that pair's seed (and check it against the announced public key).
 *
 * @param keys - a key pair from {@link createMaskingKeys}
 * @returns base64 of the 32 raw private-key bytes
 */
export function exportMaskingPrivateKey(keys: MaskingKeys): string {
  checkMaskingKeys(keys, 'exportMaskingPrivateKey');
  const jwk = keys.privateKey.export({ format: 'jwk' });
  return Buffer.from(String(jwk.d), 'base64url').toString('base64');
}

/**
 * Rebuilds a masking key pair from a revealed raw private key; its `publicKey` is derived from the private key, so a
 * caller can compare it with the public key that was announced.
 *
 * @param privateKey - base64 of 32 raw X25519 private-key bytes
 * @returns the key pair
 * @throws {@link @lepton/core!LeptonError} `FEDERATED_BAD_KEY` when the input is not the base64 of 32 bytes or not a valid key
 */
export function importMaskingPrivateKey(privateKey: string): MaskingKeys {
  const raw = typeof privateKey === 'string' ? Buffer.from(privateKey, 'base64') : Buffer.alloc(0);
  if (raw.length !== SEED_BYTES || raw.toString('base64') !== privateKey) {
    throw new LeptonError('FEDERATED_BAD_KEY', 'importMaskingPrivateKey: a revealed private key must be the base64 of 32 raw X25519 bytes.');
  }
  try {
    const key = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
    const jwk = createPublicKey(key).export({ format: 'jwk' });
    return { publicKey: Buffer.from(String(jwk.x), 'base64url').toString('base64'), privateKey: key };
  } catch (err) {
    throw new LeptonError('FEDERATED_BAD_KEY', 'importMaskingPrivateKey: not a valid X25519 private key.', { cause: err });
  }
}
