import { createHmac } from 'node:crypto';

/**
 * Maps a UID to a new one: `2.25.` followed by the decimal form of a 128-bit UUID (PS3.5 B.2) whose bits come from
 * HMAC-SHA-256 of the original under the secret, with the version (8, RFC 9562 custom) and variant bits set. The
 * same UID and secret always give the same result — across files, runs and machines — which is what keeps a study's
 * references consistent; without the secret the mapping cannot be reversed or recomputed from a guessed UID (a
 * plain hash could be, by hashing candidate UIDs). At most 44 characters, so always a valid UI value.
 * @internal
 */
export function hmacUid(secret: Uint8Array, uid: string): string {
  const h = createHmac('sha256', secret).update('lepton-deid-uid\0').update(uid).digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  return `2.25.${BigInt(`0x${h.subarray(0, 16).toString('hex')}`).toString(10)}`;
}

/**
 * A pseudonym for an identifier (the default replacement Patient ID): `ANON-` and 16 upper-case hex digits of
 * HMAC-SHA-256 under the secret, so one patient keeps one pseudonym across studies de-identified with the same secret.
 * @internal
 */
export function hmacPseudonym(secret: Uint8Array, kind: string, value: string): string {
  const h = createHmac('sha256', secret).update(`lepton-deid-${kind}\0`).update(value).digest('hex');
  return `ANON-${h.slice(0, 16).toUpperCase()}`;
}
