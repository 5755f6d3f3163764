// One HTTP exchange with a DICOMweb server, safely: redirects followed by hand (same origin only unless allowed, and
// then without any credential), and answer bodies counted while they stream (after decompression) so a gzip bomb or an
// endless multipart stops at `maxResponseBytes` instead of filling memory. Used by the XHR adapter (QIDO/WADO) and by
// STOW-RS.
import { authorization, type ResolvedDicomWebOptions } from './options.js';

/** Most redirects followed for one request. */
const MAX_REDIRECTS = 5;
/** Most bytes of an error answer (4xx/5xx) read: enough for a diagnosis, never a memory cost. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** Why an exchange ended without a usable answer, beyond what fetch itself reports. @internal */
export class TransportRefusal extends Error {
  constructor(
    readonly kind: 'cross-origin-redirect' | 'too-many-redirects' | 'too-large',
    readonly limit?: number,
  ) {
    super(kind);
    this.name = 'TransportRefusal';
  }
}

/** A complete answer. @internal */
export interface Answer {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly bytes: Uint8Array<ArrayBuffer>;
}

/** Request headers that may carry a credential: every header the caller configured, plus these. */
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie'];

/**
 * Sends one request and reads its whole answer, bounded. The caller's `headers` option and the Authorization header go
 * to the configured origin only: a redirect to another origin is refused (`cross-origin-redirect`) unless
 * `allowCrossOriginRedirects` is set, and even then it is followed without them.
 *
 * @internal
 */
export async function exchange(
  options: ResolvedDicomWebOptions,
  url: string,
  init: { method: string; headers: Headers; body?: BodyInit | null; signal: AbortSignal; maxBytes?: number },
): Promise<Answer> {
  const auth = await authorization(options.auth, init.signal);
  const origin = new URL(options.url).origin;
  let target = new URL(url);
  let method = init.method;
  let body = init.body ?? null;
  const headers = new Headers(init.headers);
  if (auth !== undefined) headers.set('Authorization', auth);
  let credentials = true;
  for (let hop = 0; ; hop++) {
    if (credentials && target.origin !== origin) {
      if (!options.allowCrossOriginRedirects) throw new TransportRefusal('cross-origin-redirect');
      credentials = false;
      for (const name of [...CREDENTIAL_HEADERS, ...Object.keys(options.headers).map((h) => h.toLowerCase())]) headers.delete(name);
    }
    const res = await options.fetch(target.toString(), { method, headers, body, signal: init.signal, redirect: 'manual' });
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location !== null) {
      await res.body?.cancel().catch(() => undefined);
      if (hop + 1 > MAX_REDIRECTS) throw new TransportRefusal('too-many-redirects', MAX_REDIRECTS);
      target = new URL(location, target);
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = 'GET';
        body = null;
        headers.delete('content-type');
      }
      continue;
    }
    const limit = res.status >= 400 ? MAX_ERROR_BODY_BYTES : (init.maxBytes ?? options.maxResponseBytes);
    const bytes = await readBounded(res, limit, res.status < 400);
    return { status: res.status, statusText: res.statusText, headers: res.headers, bytes };
  }
}

/**
 * Reads a body up to `limit` bytes (as delivered, i.e. decompressed). Beyond it: a refusal when `strict` (a success
 * answer that must be complete), else the first `limit` bytes (an error answer, read for diagnosis only).
 */
async function readBounded(res: Response, limit: number, strict: boolean): Promise<Uint8Array<ArrayBuffer>> {
  const declared = Number(res.headers.get('content-length'));
  if (strict && Number.isFinite(declared) && declared > limit && res.headers.get('content-encoding') === null) {
    await res.body?.cancel().catch(() => undefined);
    throw new TransportRefusal('too-large', limit);
  }
  if (res.body === null) return new Uint8Array(new ArrayBuffer(0));
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (n + value.byteLength > limit) {
      await reader.cancel().catch(() => undefined);
      if (strict) throw new TransportRefusal('too-large', limit);
      parts.push(value.subarray(0, limit - n));
      n = limit;
      break;
    }
    parts.push(value);
    n += value.byteLength;
  }
  const out = new Uint8Array(new ArrayBuffer(n));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
