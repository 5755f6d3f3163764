import { createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { describeValue, LeptonError } from '@lepton/core';

/*
 * Long-term partner identities for secure aggregation: Ed25519 key pairs. Every partner is configured with the public
 * keys of the others (out of band, like TLS pins), and signs what it announces through the coordinator, so that a
 * coordinator cannot substitute a key or invent a participant. Signed messages are canonical JSON under a domain tag.
 *
 * Error codes raised here: `INVALID_ARGUMENT` (a private key that is not Ed25519), `FEDERATED_BAD_KEY` (a public key
 * that is not the base64 of 32 raw Ed25519 bytes).
 */

/** A partner's long-term Ed25519 identity. Keep `privateKey` on the partner; give `publicKey` to every other partner. */
export interface IdentityKeys {
  /** The public key: its raw 32 bytes in standard base64 (what peers are configured with). */
  publicKey: string;
  /** The private key; never leaves the partner. Load a stored one with node:crypto's `createPrivateKey(pem)`. */
  privateKey: KeyObject;
}

const CONTEXT = 'lepton-federated-statement-v1\n';

/**
 * Makes a new long-term Ed25519 identity for a federated partner.
 *
 * @returns the public key (base64 of 32 raw bytes) and the private key object
 * @example
 * ```ts
 * import { createIdentityKeys } from '@lepton/federated';
 * const id = createIdentityKeys();
 * console.log(Buffer.from(id.publicKey, 'base64').length); // 32
 * // store it: id.privateKey.export({ type: 'pkcs8', format: 'pem' })
 * ```
 */
export function createIdentityKeys(): IdentityKeys {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { publicKey: rawPublicKey(publicKey), privateKey };
}

/**
 * The raw public key (base64 of 32 bytes) of an Ed25519 key, public or private.
 *
 * @param key - an Ed25519 KeyObject (public or private)
 * @returns base64 of the 32 raw public-key bytes
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when the key is not Ed25519
 */
export function identityPublicKey(key: KeyObject): string {
  if (key?.asymmetricKeyType !== 'ed25519') throw new LeptonError('INVALID_ARGUMENT', 'identityPublicKey: the key must be an Ed25519 KeyObject.');
  return rawPublicKey(key.type === 'private' ? createPublicKey(key) : key);
}

function rawPublicKey(key: KeyObject): string {
  return Buffer.from(String(key.export({ format: 'jwk' }).x), 'base64url').toString('base64');
}

/** @internal Whether `v` is the base64 of 32 raw bytes (an Ed25519 or X25519 public key). */
export function isRawKey(v: unknown): v is string {
  if (typeof v !== 'string' || v.length !== 44) return false;
  const raw = Buffer.from(v, 'base64');
  return raw.length === 32 && raw.toString('base64') === v;
}

/** @internal An Ed25519 public KeyObject from its raw base64 form. */
export function importIdentityKey(publicKey: string, who: string): KeyObject {
  if (!isRawKey(publicKey)) {
    throw new LeptonError('FEDERATED_BAD_KEY', `The identity key of '${who}' must be the base64 of 32 raw Ed25519 bytes.`, { details: { partner: who } });
  }
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey, 'base64').toString('base64url') }, format: 'jwk' });
  } catch (err) {
    throw new LeptonError('FEDERATED_BAD_KEY', `The identity key of '${who}' is not a valid Ed25519 public key.`, { cause: err, details: { partner: who } });
  }
}

/** Deepest nesting a signed statement may have (they are two levels deep). */
const MAX_STATEMENT_DEPTH = 32;

/**
 * @internal Canonical JSON: object keys sorted at every level, no whitespace. Only for the plain statements this module
 * signs (strings, integers, arrays, objects), so both sides always serialise a statement to the same bytes. Anything
 * JSON would write as `null` or drop (NaN, ±Infinity, a Symbol, a function, an array hole) or cannot write at all (a
 * BigInt, a cycle) is refused: `{ n: NaN }` and `{ n: null }` must never sign the same bytes.
 *
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` naming the first value that has no canonical form
 */
export function canonicalJson(value: unknown, depth = 0): string {
  const refuse = (why: string): never => {
    throw new LeptonError('INVALID_ARGUMENT', `A signed statement holds ${why}; statements are JSON of strings, numbers, booleans, arrays and objects.`);
  };
  if (depth > MAX_STATEMENT_DEPTH) refuse(`values nested deeper than ${MAX_STATEMENT_DEPTH} levels`);
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : refuse(describeValue(value));
  if (typeof value !== 'object') return refuse(describeValue(value));
  if (Array.isArray(value)) {
    const parts: string[] = [];
    for (let i = 0; i < value.length; i++) {
      if (!(i in value) || value[i] === undefined) refuse('an array with a hole or an undefined entry');
      parts.push(canonicalJson(value[i], depth + 1));
    }
    return `[${parts.join(',')}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v, depth + 1)}`).join(',')}}`;
}

/**
 * Signs a federated protocol statement (a key announcement or a survivor confirmation) with a partner identity:
 * Ed25519 over a domain tag and the statement's canonical JSON.
 *
 * @param privateKey - the partner's Ed25519 private key
 * @param statement - a JSON object of strings, integers and arrays
 * @returns the signature, base64
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when the key is not an Ed25519 private key, or the statement is
 *   not an object of JSON values (NaN, a BigInt or a Symbol in it has no canonical form), or reading it throws (a getter or
 *   Proxy)
 */
export function signStatement(privateKey: KeyObject, statement: object): string {
  if (privateKey?.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    throw new LeptonError('INVALID_ARGUMENT', 'signStatement: the identity key must be an Ed25519 private KeyObject (see createIdentityKeys).');
  }
  if (typeof statement !== 'object' || statement === null) {
    throw new LeptonError('INVALID_ARGUMENT', `signStatement: the statement must be an object, got ${describeValue(statement)}.`);
  }
  let text: string;
  try {
    text = canonicalJson(statement);
  } catch (err) {
    if (err instanceof LeptonError) throw err;
    // A getter or Proxy trap in the statement threw: its message is the caller's code's, not quoted.
    throw new LeptonError('INVALID_ARGUMENT', 'signStatement: reading the statement threw; pass plain JSON data (no throwing getters or proxies).', { cause: err });
  }
  return sign(null, Buffer.from(CONTEXT + text, 'utf8'), privateKey).toString('base64');
}

/**
 * Verifies a signature made by {@link signStatement}. Never throws for a bad signature: it returns false.
 *
 * @param publicKey - the signer's identity public key (base64 of 32 raw bytes)
 * @param statement - the statement as received
 * @param signature - base64 signature
 * @returns true when the signature is valid for exactly this statement under this key
 * @throws {@link @lepton/core!LeptonError} `FEDERATED_BAD_KEY` when `publicKey` itself is malformed
 */
export function verifyStatement(publicKey: string, statement: object, signature: string): boolean {
  const key = importIdentityKey(publicKey, 'signer');
  if (typeof signature !== 'string' || signature.length > 200) return false;
  const sig = Buffer.from(signature, 'base64');
  if (sig.length !== 64 || sig.toString('base64') !== signature) return false;
  try {
    return verify(null, Buffer.from(CONTEXT + canonicalJson(statement), 'utf8'), key, sig);
  } catch {
    return false;
  }
}
