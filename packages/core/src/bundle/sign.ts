import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { MANIFEST_FILE, MAX_MANIFEST_DEPTH, validateManifest, type BundleManifest } from './manifest.js';
import { checkBundleDir, MAX_SIGNATURE_BYTES, readBundleFile, readBundleText, readManifestText } from './files.js';

/** File name of the signatures next to `lepton.json`. It is not listed in the manifest (it signs the manifest). */
export const SIGNATURE_FILE = 'lepton.sig.json';

/** Domain-separation prefix of the signed message, so a bundle signature can never be replayed as anything else. */
const CONTEXT = 'lepton-bundle-digest-v1\n';

/** A key as callers hold it: a `KeyObject`, or PEM text (PKCS#8 private / SPKI public). */
export type SigningKeyInput = KeyObject | string;

/** One signature over a bundle digest. */
export interface BundleSignature {
  /** Key id: the first 16 hex characters of the SHA-256 of the public key (SPKI DER). */
  keyId: string;
  /** Ed25519 signature of `lepton-bundle-digest-v1\n<digest>`, base64. */
  signature: string;
}

/** Contents of `lepton.sig.json`. */
export interface BundleSignatures {
  /** Format marker; always `'lepton-bundle-signatures'`. */
  format: 'lepton-bundle-signatures';
  /** Signature algorithm; always `'ed25519'`. */
  algorithm: 'ed25519';
  /** {@link bundleDigest} of the manifest that was signed. */
  digest: string;
  /** One or more signatures over that digest. */
  signatures: BundleSignature[];
}

/** An Ed25519 key pair for signing bundles, as PEM text (keep `privateKey` secret; distribute `publicKey`). */
export interface BundleSigningKeys {
  /** PKCS#8 PEM private key: signs bundles. Store it like any credential (a secret manager, never in the repo). */
  privateKey: string;
  /** SPKI PEM public key: what `loadBundle(dir, { trustedKeys })` is given. */
  publicKey: string;
  /** Its key id (see {@link BundleSignature.keyId}). */
  keyId: string;
}

/** Canonical JSON: keys sorted at every level, no whitespace, so the same manifest always hashes the same. */
function canonical(value: unknown, open: Set<object> = new Set()): string {
  // a manifest nested deeper than validateManifest allows would overflow the stack here (a RangeError)
  if (open.size > MAX_MANIFEST_DEPTH) throw new LeptonError('INVALID_ARGUMENT', `bundleDigest: the manifest nests values more than ${MAX_MANIFEST_DEPTH} levels deep.`);
  if (typeof value === 'bigint' || typeof value === 'symbol' || typeof value === 'function') {
    // JSON.stringify threw a TypeError for a BigInt; a manifest from JSON holds none of these
    throw new LeptonError('INVALID_ARGUMENT', `bundleDigest: the manifest holds ${describeValue(value)}, which JSON cannot hold.`);
  }
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (open.has(value)) throw new LeptonError('INVALID_ARGUMENT', 'bundleDigest: the manifest refers to itself (a cycle JSON cannot hold).');
  open.add(value);
  try {
    if (Array.isArray(value)) return `[${value.map((v) => canonical(v, open)).join(',')}]`;
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v, open)}`).join(',')}}`;
  } finally {
    open.delete(value);
  }
}

/**
 * The bundle digest: SHA-256 of the manifest in canonical JSON (keys sorted, no whitespace). The manifest holds the
 * size and SHA-256 of every other file, so this one digest covers labels, preprocessing, thresholds, metrics,
 * provenance and every byte of the model — it is what a signature signs.
 *
 * @param manifest - a validated manifest
 * @returns 64 lowercase hex characters
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for a manifest that is not an object or holds what JSON cannot (a
 *   BigInt, a Symbol, a function, a cycle), or nests values more than 64 levels deep
 */
export function bundleDigest(manifest: BundleManifest): string {
  if (manifest === null || typeof manifest !== 'object' || Array.isArray(manifest)) {
    throw new LeptonError('INVALID_ARGUMENT', `bundleDigest: manifest must be a bundle manifest object, got ${describeValue(manifest)}.`);
  }
  return createHash('sha256').update(canonical(manifest)).digest('hex');
}

function toPrivateKey(key: SigningKeyInput): KeyObject {
  try {
    const k = typeof key === 'string' ? createPrivateKey(key) : key;
    if (k.type !== 'private' || k.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 private key');
    return k;
  } catch (err) {
    throw new LeptonError('INVALID_ARGUMENT', 'The signing key must be an Ed25519 private key (KeyObject or PKCS#8 PEM).', { cause: err });
  }
}

function toPublicKey(key: SigningKeyInput): KeyObject {
  try {
    const k = typeof key === 'string' ? createPublicKey(key) : key.type === 'private' ? createPublicKey(key) : key;
    if (k.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 key');
    return k;
  } catch (err) {
    throw new LeptonError('INVALID_ARGUMENT', 'Each trusted key must be an Ed25519 public key (KeyObject or SPKI PEM).', { cause: err });
  }
}

/**
 * Key id of a public (or private) Ed25519 key: first 16 hex characters of the SHA-256 of its SPKI DER encoding.
 *
 * @param key - the key
 * @returns the key id
 */
export function bundleKeyId(key: SigningKeyInput): string {
  const der = toPublicKey(key).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

/**
 * Makes a new Ed25519 key pair for signing bundles.
 *
 * @returns PEM private and public keys and the key id
 * @example
 * ```ts
 * import { createBundleSigningKeys } from '@lepton/core';
 * const { privateKey, publicKey, keyId } = createBundleSigningKeys();
 * ```
 */
export function createBundleSigningKeys(): BundleSigningKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: bundleKeyId(publicKey),
  };
}

async function readVerifiedManifest(dir: string): Promise<BundleManifest> {
  const text = await readManifestText(dir);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new LeptonError('BUNDLE_INVALID', `Bundle ${dir}: ${MANIFEST_FILE} is not valid JSON.`, { cause: err, details: { dir } });
  }
  const manifest = validateManifest(dir, parsed);
  for (const file of Object.keys(manifest.files)) await readBundleFile(dir, file, manifest);
  return manifest;
}

/**
 * Signs a bundle with an Ed25519 key: checks every file against `lepton.json` first (a bundle that is already
 * altered is never signed), then writes `lepton.sig.json` with the signature over {@link bundleDigest}. Signing again
 * with another key adds a signature; signing a changed bundle replaces the old signatures.
 *
 * @param dir - bundle directory written by `saveBundle()`
 * @param privateKey - Ed25519 private key (KeyObject or PKCS#8 PEM)
 * @returns the signature file's contents
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for a directory that is not a path or a key that is not Ed25519; the
 *   bundle errors of `loadBundle`
 * @example
 * ```ts
 * import { createBundleSigningKeys, signBundle, loadBundle } from '@lepton/core';
 * const keys = createBundleSigningKeys();
 * await signBundle('/tmp/my-model', keys.privateKey);
 * await loadBundle('/tmp/my-model', { trustedKeys: [keys.publicKey] });
 * ```
 */
export async function signBundle(dir: string, privateKey: SigningKeyInput): Promise<BundleSignatures> {
  checkBundleDir(dir, 'signBundle');
  const key = toPrivateKey(privateKey);
  const manifest = await readVerifiedManifest(dir);
  const digest = bundleDigest(manifest);
  const keyId = bundleKeyId(key);
  const signature = sign(null, Buffer.from(CONTEXT + digest), key).toString('base64');
  let existing: BundleSignatures | undefined;
  try {
    existing = parseSignatures(dir, await readSignatureText(dir));
  } catch {
    // missing, malformed, a link out of the bundle or too large: replaced by the new file (never read through)
    existing = undefined;
  }
  const kept = existing !== undefined && existing.digest === digest ? existing.signatures.filter((s) => s.keyId !== keyId) : [];
  const out: BundleSignatures = { format: 'lepton-bundle-signatures', algorithm: 'ed25519', digest, signatures: [...kept, { keyId, signature }] };
  // A random name created exclusively ('wx' fails on anything already there, a planted link included), then renamed
  // over lepton.sig.json (rename replaces a link itself, never its target).
  const tmp = join(dir, `${SIGNATURE_FILE}.tmp-${randomBytes(12).toString('hex')}`);
  try {
    await writeFile(tmp, `${JSON.stringify(out, null, 2)}\n`, { flag: 'wx' });
    await rename(tmp, join(dir, SIGNATURE_FILE));
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return out;
}

/** `lepton.sig.json` as text, read as the manifest is: inside the bundle, a regular file, at most 1 MiB. */
function readSignatureText(dir: string): Promise<string> {
  return readBundleText(dir, SIGNATURE_FILE, MAX_SIGNATURE_BYTES);
}

function parseSignatures(dir: string, text: string): BundleSignatures {
  let raw: Partial<BundleSignatures>;
  try {
    raw = JSON.parse(text) as Partial<BundleSignatures>;
  } catch (err) {
    throw new LeptonError('BUNDLE_SIGNATURE_INVALID', `Bundle ${dir}: ${SIGNATURE_FILE} is not valid JSON.`, { cause: err, details: { dir } });
  }
  const ok =
    raw !== null &&
    typeof raw === 'object' &&
    raw.format === 'lepton-bundle-signatures' &&
    raw.algorithm === 'ed25519' &&
    typeof raw.digest === 'string' &&
    /^[0-9a-f]{64}$/.test(raw.digest) &&
    Array.isArray(raw.signatures) &&
    raw.signatures.length <= 64 &&
    raw.signatures.every((s) => typeof s?.keyId === 'string' && typeof s.signature === 'string' && s.signature.length <= 256);
  if (!ok) throw new LeptonError('BUNDLE_SIGNATURE_INVALID', `Bundle ${dir}: ${SIGNATURE_FILE} is malformed.`, { details: { dir } });
  return raw as BundleSignatures;
}

/**
 * Checks a bundle's signatures against trusted public keys: `lepton.sig.json` must exist, its digest must equal the
 * digest of the `lepton.json` on disk, and at least one signature must verify under a trusted key. (File contents are
 * checked against the manifest separately, as `loadBundle` reads them.)
 *
 * @param dir - bundle directory
 * @param manifest - its validated manifest
 * @param trustedKeys - Ed25519 public keys (KeyObject or SPKI PEM); at least one
 * @returns the key id that verified
 * @throws {@link LeptonError} `BUNDLE_UNSIGNED` (no signature file), `BUNDLE_INVALID` (a signature file that is a link
 *   out of the bundle, not a regular file, unreadable or over 1 MiB), `BUNDLE_SIGNATURE_INVALID` (tampered manifest or
 *   files, or no signature by a trusted key), `INVALID_ARGUMENT` (a directory that is not a path, no or bad keys)
 */
export async function verifyBundleSignature(dir: string, manifest: BundleManifest, trustedKeys: readonly SigningKeyInput[]): Promise<string> {
  checkBundleDir(dir, 'verifyBundleSignature');
  if (!Array.isArray(trustedKeys) || trustedKeys.length === 0) throw new LeptonError('INVALID_ARGUMENT', 'trustedKeys must list at least one Ed25519 public key.');
  const keys = trustedKeys.map((k) => {
    const pub = toPublicKey(k);
    return { pub, keyId: bundleKeyId(pub) };
  });
  let text: string;
  try {
    text = await readSignatureText(dir);
  } catch (err) {
    // only a missing file is "unsigned"; a link out, a directory, an unreadable or oversized file is BUNDLE_INVALID
    if ((err as LeptonError).code !== 'BUNDLE_FILE_MISSING') throw err;
    throw new LeptonError('BUNDLE_UNSIGNED', `Bundle ${dir} is not signed (${SIGNATURE_FILE} missing) and trusted keys were given: refusing it.`, {
      cause: err,
      details: { dir },
    });
  }
  const sigs = parseSignatures(dir, text);
  const digest = bundleDigest(manifest);
  if (sigs.digest !== digest) {
    throw new LeptonError('BUNDLE_SIGNATURE_INVALID', `Bundle ${dir}: lepton.json (or a file it lists) changed after signing.`, { details: { dir } });
  }
  const message = Buffer.from(CONTEXT + digest);
  for (const { pub, keyId } of keys) {
    for (const s of sigs.signatures) {
      if (s.keyId === keyId && verify(null, message, pub, Buffer.from(s.signature, 'base64'))) return keyId;
    }
  }
  throw new LeptonError('BUNDLE_SIGNATURE_INVALID', `Bundle ${dir} carries no valid signature by a trusted key.`, {
    details: { dir, keyIds: sigs.signatures.map((s) => s.keyId) },
  });
}
