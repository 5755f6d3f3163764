import { describeValue } from '@lepton/core';
import { dicomWebError } from './errors.js';

/** HTTP Basic authentication (Orthanc's registered users, most PACS). */
export interface DicomWebBasicAuth {
  /** Discriminant. */
  readonly type: 'basic';
  /** User name. */
  readonly username: string;
  /** Password (sent only in the Authorization header; never logged or put in errors). */
  readonly password: string;
}

/** A bearer token (OAuth2 / OpenID Connect gateways, cloud DICOMweb services). */
export interface DicomWebBearerAuth {
  /** Discriminant. */
  readonly type: 'bearer';
  /**
   * The token, or a function called before every request that returns it, so that a refreshed token is picked up
   * without making a new client. It must be visible ASCII without spaces (RFC 7230 / RFC 6750 token68): anything
   * else is refused with `DICOMWEB_INVALID_OPTIONS`, without quoting it.
   */
  readonly token: string | (() => string | Promise<string>);
}

/** How {@link DicomWebClient} authenticates. */
export type DicomWebAuth = DicomWebBasicAuth | DicomWebBearerAuth;

/** A `fetch`-compatible function (the global `fetch` by default); a seam for proxies, tracing or tests. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** Options for {@link DicomWebClient}; only `url` is required. */
export interface DicomWebClientOptions {
  /**
   * The DICOMweb root, e.g. `http://pacs.local:8042/dicom-web` for Orthanc's DICOMweb plugin: QIDO-RS, WADO-RS paths
   * (`/studies`, …) are appended to it. Credentials written into the URL (`http://user:pass@host/…`) are moved into
   * HTTP Basic authentication.
   */
  readonly url: string;
  /** Authentication (default none). */
  readonly auth?: DicomWebAuth;
  /** Extra HTTP headers sent with every request (e.g. an API gateway's key). */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Time allowed for each HTTP request, answer body included, in milliseconds (default 30 000): a whole number from 1
   * to 2^31 − 1 (2 147 483 647, about 24.8 days, the longest timer Node.js keeps); anything else is
   * `DICOMWEB_INVALID_OPTIONS` (`details.option: 'timeoutMs'`).
   */
  readonly timeoutMs?: number;
  /** Instances retrieved at once by {@link DicomWebClient.retrieveSeries} and `retrieveInstances` (default 4). */
  readonly concurrency?: number;
  /**
   * Transfer syntax asked of WADO-RS: `'*'` (default) takes each instance as the server stored it — every syntax in
   * `TRANSFER_SYNTAXES` decodes, and no lossy re-encoding or server CPU is spent — or a UID such as
   * `'1.2.840.10008.1.2.1'` (Explicit VR Little Endian) to have the server transcode.
   */
  readonly transferSyntax?: string;
  /** The HTTP function (default the global `fetch`). */
  readonly fetch?: FetchLike;
  /**
   * Largest STOW-RS request body {@link DicomWebClient.store} sends, in bytes (default 64 MiB): instances are sent in
   * as many requests as needed to stay below it, and a single instance larger than it is refused before any request.
   */
  readonly maxStoreRequestBytes?: number;
  /**
   * Largest answer body read, in bytes after decompression (default 256 MiB). Counted while the body streams, so a
   * gzip bomb or an endless multipart stops here with `DICOMWEB_RESPONSE_TOO_LARGE` instead of filling memory; error
   * answers are read only up to 64 KiB. Raise it for very large multi-frame instances.
   */
  readonly maxResponseBytes?: number;
  /**
   * Follow a redirect to another origin (scheme, host or port)? Default `false`: such a redirect fails with
   * `DICOMWEB_REDIRECT_REFUSED`. When `true`, it is followed **without** credentials: the `auth` header and every header
   * given in `headers` (e.g. an API key) are sent to the configured origin only.
   */
  readonly allowCrossOriginRedirects?: boolean;
}

/** Every option filled in and checked. @internal */
export interface ResolvedDicomWebOptions {
  readonly url: string;
  readonly auth: DicomWebAuth | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly transferSyntax: string;
  readonly fetch: FetchLike;
  readonly maxStoreRequestBytes: number;
  readonly maxResponseBytes: number;
  readonly allowCrossOriginRedirects: boolean;
}

/** Defaults, in one place. @internal */
export const DICOMWEB_DEFAULTS = { timeoutMs: 30_000, concurrency: 4, transferSyntax: '*', maxStoreRequestBytes: 64 * 1024 * 1024, maxResponseBytes: 256 * 1024 * 1024 } as const;

/**
 * Largest `timeoutMs` (2^31 − 1 ms, about 24.8 days): Node.js timers hold no longer delay. `AbortSignal.timeout` fires
 * at once for 2^31 … 2^32 − 1 and throws a RangeError beyond, so such values are refused up front.
 * @internal
 */
export const MAX_DICOMWEB_TIMEOUT_MS = 2 ** 31 - 1;

const positiveInt = (name: string, v: unknown, max = Number.MAX_SAFE_INTEGER): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
    throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `${name} must be a whole number from 1 to ${max}; got ${describeValue(v)}.`, { option: name });
  }
  return v;
};

/**
 * Reads one property of a caller's object once. A getter that throws (or a Proxy trap) becomes
 * `DICOMWEB_INVALID_OPTIONS` naming the option, never the thrown value's text (it could quote a credential); the thrown
 * value is not kept as the cause for the same reason.
 * @internal
 */
export function readOption(from: object, key: string, name: string = key): unknown {
  try {
    return (from as Record<string, unknown>)[key];
  } catch {
    throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `${name} could not be read (its getter threw).`, { option: name });
  }
}

/**
 * Fills defaults and validates.
 * @throws LeptonError `DICOMWEB_INVALID_OPTIONS`
 * @internal
 */
export function resolveDicomWebOptions(options: DicomWebClientOptions): ResolvedDicomWebOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `options must be an object with at least a url, got ${describeValue(options)}.`, { option: 'options' });
  }
  // Every option read exactly once, here: a getter cannot throw later or answer differently on a second read.
  const o = {} as Record<keyof DicomWebClientOptions, unknown>;
  for (const key of ['url', 'auth', 'headers', 'timeoutMs', 'concurrency', 'transferSyntax', 'fetch', 'maxStoreRequestBytes', 'maxResponseBytes', 'allowCrossOriginRedirects'] as const) {
    o[key] = readOption(options, key);
  }
  if (typeof o.url !== 'string') {
    throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `url must be a string such as http://pacs:8042/dicom-web, got ${describeValue(o.url, 16)}.`, { option: 'url' });
  }
  let parsed: URL;
  try {
    parsed = new URL(o.url);
  } catch {
    // no cause: the TypeError quotes the whole URL, credentials included
    throw dicomWebError('DICOMWEB_INVALID_OPTIONS', 'url is not a valid URL; pass the DICOMweb root, e.g. http://pacs:8042/dicom-web.', { option: 'url' });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `url must be http: or https:; got ${parsed.protocol}.`, { option: 'url' });
  }
  // Paths (/studies/…) are appended to the root: after a query or fragment they would end up in it. Never quoted (a
  // query often carries an API key).
  if (parsed.search !== '' || parsed.hash !== '' || /[?#]/.test(o.url)) {
    throw dicomWebError('DICOMWEB_INVALID_OPTIONS', 'url must be the DICOMweb root without a query (?…) or fragment (#…); pass API keys in headers or auth.', { option: 'url' });
  }
  let auth = copyAuth(o.auth);
  if (parsed.username !== '' || parsed.password !== '') {
    // fetch refuses URLs that carry credentials, and they would end up in logs; move them into a Basic header.
    if (auth === undefined) {
      try {
        auth = { type: 'basic', username: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) };
      } catch {
        // decodeURIComponent's URIError: a malformed %-escape in the URL's user name or password (never shown).
        throw dicomWebError('DICOMWEB_INVALID_OPTIONS', "url's user name or password holds a malformed %-escape; percent-encode it correctly, or pass auth separately.", { option: 'url' });
      }
    }
    parsed.username = '';
    parsed.password = '';
  }
  checkAuth(auth);
  const headers = checkHeaders(o.headers);
  const ts = o.transferSyntax ?? DICOMWEB_DEFAULTS.transferSyntax;
  if (ts !== '*' && (typeof ts !== 'string' || !/^[0-9]+(\.[0-9]+)*$/.test(ts))) {
    throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `transferSyntax must be '*' or a UID such as 1.2.840.10008.1.2.1; got ${describeValue(ts, 64)}.`, { option: 'transferSyntax' });
  }
  const f = o.fetch ?? (globalThis.fetch as FetchLike | undefined);
  if (f === undefined) throw dicomWebError('DICOMWEB_INVALID_OPTIONS', 'No fetch function: use Node 20 or later, or pass options.fetch.', { option: 'fetch' });
  if (typeof f !== 'function') throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `fetch must be a function, got ${describeValue(f)}.`, { option: 'fetch' });
  return {
    url: parsed.toString().replace(/\/+$/, ''),
    auth: auth as DicomWebAuth | undefined,
    headers,
    timeoutMs: positiveInt('timeoutMs', o.timeoutMs ?? DICOMWEB_DEFAULTS.timeoutMs, MAX_DICOMWEB_TIMEOUT_MS),
    concurrency: positiveInt('concurrency', o.concurrency ?? DICOMWEB_DEFAULTS.concurrency),
    transferSyntax: ts as string,
    fetch: f as FetchLike,
    maxStoreRequestBytes: positiveInt('maxStoreRequestBytes', o.maxStoreRequestBytes ?? DICOMWEB_DEFAULTS.maxStoreRequestBytes),
    maxResponseBytes: positiveInt('maxResponseBytes', o.maxResponseBytes ?? DICOMWEB_DEFAULTS.maxResponseBytes),
    allowCrossOriginRedirects: o.allowCrossOriginRedirects === true,
  };
}

/**
 * A bearer token as a header value can carry: visible ASCII without spaces (RFC 7230 field-vchar; RFC 6750's token68 is
 * a subset). Anything else — a newline, a space, a NUL, a non-ASCII character — would make `fetch` throw a TypeError
 * whose message quotes the whole header value, and that message would end up in an error: never let it get that far.
 */
const BEARER_TOKEN = /^[\x21-\x7e]+$/;
/** Control characters: never valid in a header, and never in a Basic credential (RFC 7617). */
const CONTROL = /[\x00-\x1f\x7f]/;
/** An HTTP header name (RFC 7230 token). */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A header value fetch accepts: Latin-1 without NUL, CR or LF (leading/trailing spaces are trimmed by fetch). */
const HEADER_VALUE = /^[^\x00\r\n\u0100-\uffff]*$/;

/** Why a bearer token is unusable, or undefined when it is fine. Never quotes the token. */
function tokenProblem(token: unknown): string | undefined {
  if (typeof token !== 'string') return `must be a string, got a value of type ${token === null ? 'null' : typeof token}`;
  if (token.length === 0) return 'is empty';
  if (!BEARER_TOKEN.test(token)) return 'contains a space, a control character or a non-ASCII character (a header value allows visible ASCII only; check for a trailing newline)';
  return undefined;
}

/**
 * A plain copy of `auth`, each field read once (a getter that throws is `DICOMWEB_INVALID_OPTIONS`), so that what was
 * checked is what every request sends.
 */
function copyAuth(auth: unknown): unknown {
  if (typeof auth !== 'object' || auth === null) return auth;
  const out: Record<string, unknown> = {};
  for (const key of ['type', 'username', 'password', 'token']) {
    const v = readOption(auth, key, `auth.${key}`);
    if (v !== undefined) out[key] = v;
  }
  return Object.freeze(out);
}

/**
 * Checks `auth` at construction, so a bad credential fails as `DICOMWEB_INVALID_OPTIONS` before any request, and the
 * credential itself never appears in a message or in details.
 */
function checkAuth(auth: unknown): void {
  if (auth === undefined) return;
  const bad = (why: string): never => {
    throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `auth${why.startsWith('.') ? '' : ' '}${why}.`, { option: 'auth' });
  };
  if (typeof auth !== 'object' || auth === null) return bad("must be { type: 'basic', username, password } or { type: 'bearer', token }");
  const a = auth as { type?: unknown; username?: unknown; password?: unknown; token?: unknown };
  if (a.type === 'basic') {
    for (const field of ['username', 'password'] as const) {
      const v = a[field];
      if (typeof v !== 'string') bad(`.${field} must be a string, got a value of type ${v === null ? 'null' : typeof v}`);
      if (CONTROL.test(v as string)) bad(`.${field} contains a control character (check for a trailing newline)`);
    }
    if ((a.username as string).includes(':')) bad('.username must not contain a colon (RFC 7617: Basic authentication splits user and password at the first colon)');
    return;
  }
  if (a.type === 'bearer') {
    if (typeof a.token === 'function') return; // checked on every call, see authorization()
    const problem = tokenProblem(a.token);
    if (problem !== undefined) bad(`.token ${problem}; pass the token itself, or a function returning it`);
    return;
  }
  bad(`.type must be 'basic' or 'bearer', got ${describeValue(a.type, 32)}`);
}

/** Checks the extra headers: names must be tokens, values valid header values. Values are never quoted. */
function checkHeaders(headers: unknown): Record<string, string> {
  if (headers === undefined) return {};
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `headers must be an object of name → value, got ${describeValue(headers, 32)}.`, { option: 'headers' });
  }
  const out: Record<string, string> = {};
  let entries: Array<[string, unknown]>;
  try {
    entries = Object.entries(headers as Record<string, unknown>); // every value read once, here
  } catch {
    throw dicomWebError('DICOMWEB_INVALID_OPTIONS', 'headers could not be read (a getter threw).', { option: 'headers' });
  }
  for (const [name, value] of entries) {
    if (!HEADER_NAME.test(name)) {
      throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `headers: ${describeValue(name, 64)} is not a valid HTTP header name.`, { option: 'headers' });
    }
    if (typeof value !== 'string' || !HEADER_VALUE.test(value)) {
      // the name is the caller's own configuration; the value may be a secret (an API key) and is never quoted
      throw dicomWebError(
        'DICOMWEB_INVALID_OPTIONS',
        `headers: the value of ${name} must be a string without line breaks, NUL or characters beyond Latin-1 (check for a trailing newline).`,
        { option: 'headers', header: name },
      );
    }
    out[name] = value;
  }
  return out;
}

/**
 * The Authorization header value for `auth`, or undefined. A token function's result is checked on every call.
 * @throws LeptonError `DICOMWEB_INVALID_OPTIONS` when a token function returns no usable token (the value is not quoted)
 * @internal
 */
export async function authorization(auth: DicomWebAuth | undefined, signal?: AbortSignal): Promise<string | undefined> {
  if (auth === undefined) return undefined;
  if (auth.type === 'basic') return `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}`;
  let token: unknown;
  if (typeof auth.token === 'function') {
    const fn = auth.token;
    try {
      // Raced against the request's signal (timeout and caller abort): a token provider that never answers must not
      // hold the call forever. The abort reason is rethrown as is, for the caller to tell timeout from abort.
      token = await untilAborted(Promise.resolve().then(() => fn()), signal);
    } catch (cause) {
      if (signal?.aborted === true && cause === signal.reason) throw cause;
      // the function's own error may quote a credential: keep it as the cause only, never in the message
      throw dicomWebError('DICOMWEB_INVALID_OPTIONS', 'The auth.token function threw; check the token provider.', { option: 'auth' }, cause);
    }
  } else token = auth.token;
  const problem = tokenProblem(token);
  if (problem !== undefined) throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `The bearer token returned by auth.token ${problem}.`, { option: 'auth' });
  return `Bearer ${token as string}`;
}

/**
 * `promise`, or a rejection with the signal's reason as soon as it aborts (the promise is then left to settle on its
 * own; its outcome is ignored).
 * @internal
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e as Error)),
    );
  });
}
