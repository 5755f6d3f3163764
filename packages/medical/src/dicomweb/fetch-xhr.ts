// dicomweb-client speaks XMLHttpRequest, which Node does not have. Rather than install a global XHR polyfill (a side
// effect on the whole process, and none of the npm ones reports *why* a request failed), every call hands
// dicomweb-client one of these through its documented per-request `request.instance` option: the subset of the XHR
// interface it uses, implemented on fetch with a per-request timeout, the caller's abort signal, and a record of the
// transport failure (timeout / refused / aborted) that XHR itself would flatten into `status === 0`.
import { isLeptonError, type LeptonError } from '@lepton/core';
import type { ResolvedDicomWebOptions } from './options.js';
import { exchange, TransportRefusal } from './transport.js';

/** Why a request got no HTTP answer. @internal */
export type TransportFailure =
  | { readonly kind: 'timeout' }
  | { readonly kind: 'aborted' }
  | { readonly kind: 'refused'; readonly refusal: TransportRefusal }
  | { readonly kind: 'invalid'; readonly error: LeptonError }
  | { readonly kind: 'malformed'; readonly reason: string }
  | { readonly kind: 'unreachable'; readonly reason: string; readonly cause: unknown };

/** The part of XMLHttpRequest that dicomweb-client 0.11 uses, on fetch. @internal */
export class FetchXhr {
  readyState = 0;
  status = 0;
  statusText = '';
  response: unknown = null;
  responseType = '';
  withCredentials = false;
  onreadystatechange: (() => void) | null = null;
  onloadstart: (() => void) | null = null;
  onloadend: (() => void) | null = null;
  onprogress: ((event: unknown) => void) | null = null;
  /** Set when the request got no HTTP answer. */
  failure: TransportFailure | undefined;
  /** True once send() ran. */
  sent = false;
  /**
   * Rejects when dicomweb-client's own response handler throws (e.g. a broken multipart body): that throw happens
   * outside its promise, which would then never settle, so callers race against this.
   */
  readonly callbackFailure: Promise<never>;
  #rejectCallback!: (err: unknown) => void;
  #method = 'GET';
  #url = '';
  readonly #headers = new Headers();
  #responseHeaders: Headers | undefined;
  #libContentType: string | undefined;
  readonly #options: ResolvedDicomWebOptions;
  readonly #signal: AbortSignal | undefined;
  readonly #accept: string | undefined;

  /**
   * @param accept - when given, replaces the Accept header dicomweb-client builds (see `DicomWebClient`'s instance
   *   retrieval for why)
   */
  constructor(options: ResolvedDicomWebOptions, signal: AbortSignal | undefined, accept?: string) {
    this.#options = options;
    this.#signal = signal;
    this.#accept = accept;
    this.callbackFailure = new Promise<never>((_, reject) => (this.#rejectCallback = reject));
    this.callbackFailure.catch(() => undefined); // raced by the caller; never an unhandled rejection on its own
    for (const [k, v] of Object.entries(options.headers)) this.#headers.set(k, v);
  }

  open(method: string, url: string): void {
    this.#method = method.toUpperCase();
    this.#url = url;
    this.readyState = 1;
  }

  setRequestHeader(name: string, value: string): void {
    if (this.#accept !== undefined && name.toLowerCase() === 'accept') return;
    this.#headers.set(name, value);
  }

  getResponseHeader(name: string): string | null {
    if (this.#libContentType !== undefined && name.toLowerCase() === 'content-type') return this.#libContentType;
    return this.#responseHeaders?.get(name) ?? null;
  }

  getAllResponseHeaders(): string {
    let s = '';
    this.#responseHeaders?.forEach((v, k) => (s += `${k}: ${v}\r\n`));
    return s;
  }

  send(body?: BodyInit | null): void {
    this.sent = true;
    // #run catches everything it can; anything left (a throwing onreadystatechange is already caught) rejects the
    // callback race instead of becoming an unhandled rejection.
    this.#run(body ?? null).catch((err: unknown) => this.#rejectCallback(err));
  }

  /**
   * The answer's own Content-Type header. `getResponseHeader('content-type')` tells dicomweb-client the part's type
   * once a multipart answer has been decoded here, so that its own (quadratic) decoder never runs.
   */
  get responseContentType(): string | null {
    return this.#responseHeaders?.get('content-type') ?? null;
  }

  async #run(body: BodyInit | null): Promise<void> {
    let timeout: AbortSignal | undefined;
    try {
      // Inside the try: AbortSignal.timeout throws a RangeError for delays Node cannot keep (timeoutMs is checked to
      // be at most 2^31 − 1 ms at construction; this is the backstop), which must fail this request, not escape.
      timeout = AbortSignal.timeout(this.#options.timeoutMs);
      const signal = this.#signal === undefined ? timeout : AbortSignal.any([timeout, this.#signal]);
      if (this.#accept !== undefined) this.#headers.set('Accept', this.#accept);
      // The whole body is read under the same signal (a server that stalls mid-body times out too), bounded by
      // maxResponseBytes, with redirects checked hop by hop.
      const res = await exchange(this.#options, this.#url, { method: this.#method, headers: this.#headers, body, signal });
      const type = res.headers.get('content-type') ?? '';
      const ok = res.status === 200 || res.status === 206;
      if (ok && /multipart/i.test(type)) {
        if (this.responseType !== 'arraybuffer') throw new MalformedAnswer('a multipart answer where DICOM JSON was asked for');
        // Decoded here, with native searches: dicomweb-client's decoder takes its boundary from the body and compares
        // byte by byte in JavaScript, which a hostile body turns into minutes of blocked event loop.
        const part = firstPart(res.bytes, type);
        this.#libContentType = 'application/dicom';
        this.response = part;
      } else {
        const bytes = res.bytes.buffer;
        this.response = this.responseType === 'arraybuffer' ? bytes : this.responseType === 'json' ? parseJson(bytes) : new TextDecoder().decode(bytes);
      }
      this.status = res.status;
      this.statusText = res.statusText;
      this.#responseHeaders = res.headers;
    } catch (cause) {
      this.status = 0;
      this.response = null;
      if (cause instanceof MalformedAnswer) this.failure = { kind: 'malformed', reason: cause.message };
      else if (cause instanceof TransportRefusal) this.failure = { kind: 'refused', refusal: cause };
      else if (this.#signal?.aborted === true) this.failure = { kind: 'aborted' };
      else if (timeout?.aborted === true) this.failure = { kind: 'timeout' };
      else if (isLeptonError(cause)) this.failure = { kind: 'invalid', error: cause }; // e.g. a token function's bad token
      else this.failure = { kind: 'unreachable', ...safeFailure(cause) };
    }
    this.readyState = 4;
    try {
      this.onreadystatechange?.();
    } catch (err) {
      this.#rejectCallback(err);
    }
  }
}

/** A 2xx answer whose framing is broken; the message is a fixed text (never a byte of the body). @internal */
class MalformedAnswer extends Error {}

/** RFC 2046 §5.1.1: a boundary is 1 to 70 of these characters, not ending in a space. */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
/** Most bytes of one part's headers (dicomweb-client's limit too). */
const MAX_PART_HEADER_BYTES = 1000;

/** The `boundary` parameter of a multipart Content-Type, unquoted, or undefined. */
function boundaryOf(contentType: string): string | undefined {
  const m = /;\s*boundary\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType);
  return m === null ? undefined : (m[1] ?? m[2]);
}

/**
 * The first body part of a multipart/related answer (WADO-RS sends one part per instance), found with
 * `Buffer.indexOf` (native, linear in practice) using the boundary of the Content-Type header, which must be a valid
 * RFC 2046 boundary (at most 70 characters) and must open the body (after an optional preamble of at most 1000 bytes).
 * @throws MalformedAnswer
 */
function firstPart(bytes: Uint8Array<ArrayBuffer>, contentType: string): ArrayBuffer {
  const boundary = boundaryOf(contentType);
  if (boundary === undefined || !BOUNDARY.test(boundary)) {
    throw new MalformedAnswer('a multipart answer without a valid boundary (1 to 70 characters) in its Content-Type');
  }
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  // the opening boundary and the first part's header are searched for near the start only
  const head = buf.subarray(0, Math.min(buf.length, 2 * MAX_PART_HEADER_BYTES + delimiter.length + 64));
  const first = head.indexOf(delimiter);
  if (first < 0 || first > MAX_PART_HEADER_BYTES || (first > 0 && (buf[first - 2] !== 0x0d || buf[first - 1] !== 0x0a))) {
    throw new MalformedAnswer('a multipart answer whose body does not open with the boundary of its Content-Type');
  }
  const headerStart = head.indexOf('\r\n', first + delimiter.length);
  if (headerStart < 0 || headerStart - (first + delimiter.length) > 64) throw new MalformedAnswer('a multipart answer with no line break after its first boundary');
  const headerEnd = head.indexOf('\r\n\r\n', headerStart);
  if (headerEnd < 0 || headerEnd - headerStart > MAX_PART_HEADER_BYTES) throw new MalformedAnswer('a multipart answer whose first part has no (or too long a) header');
  const start = headerEnd + 4;
  const end = buf.indexOf(Buffer.from(`\r\n--${boundary}`, 'latin1'), headerEnd + 2);
  if (end < 0) throw new MalformedAnswer('a multipart answer whose first part has no closing boundary');
  return bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + Math.max(start, end));
}

/** XHR's `json` response type: null when the body is not JSON; an empty body is an empty result. */
function parseJson(bytes: ArrayBuffer): unknown {
  const text = new TextDecoder().decode(bytes).trim();
  if (text === '') return [];
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** The system error code a network failure carries (`ECONNREFUSED`, `ENOTFOUND`, `UND_ERR_…`). */
const SYSTEM_CODE = /^[A-Z][A-Z0-9_]{1,63}$/;
/** Messages from fetch that are known not to quote a request value, kept as the reason. */
const SAFE_MESSAGES = new Set(['fetch failed', 'bad port', 'network error', 'other side closed', 'terminated']);

/**
 * Why a request got no answer, safe to put in a message, and the cause that may go with it. undici reports
 * `TypeError('fetch failed')` with the system error (`ECONNREFUSED`, `ENOTFOUND` …) as its cause: the first such code
 * down the cause chain is the reason, and the chain is kept as the error's cause. Anything else — notably the
 * TypeError `Headers` throws for an invalid header, whose message quotes the whole value, credentials included — is
 * never passed on: the reason is a fixed text (the innermost message only when it is one of a few known-safe ones) and
 * the cause is dropped. Never "simplify" this back to `err.message`: that put bearer tokens into error messages.
 * @internal
 */
export function safeFailure(err: unknown): { reason: string; cause: unknown } {
  let message = 'network error';
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    // Node's argument errors (ERR_INVALID_CHAR, ERR_INVALID_ARG_VALUE …) quote the value they refused: code only
    if (typeof code === 'string' && SYSTEM_CODE.test(code)) return { reason: code, cause: code.startsWith('ERR_INVALID') ? undefined : err };
    if (e instanceof Error) message = e.message;
    e = (e as { cause?: unknown }).cause;
  }
  return { reason: SAFE_MESSAGES.has(message) ? message : 'the request could not be sent', cause: undefined };
}

/** The reason part of {@link safeFailure}. @internal */
export function systemCode(err: unknown): string {
  return safeFailure(err).reason;
}
