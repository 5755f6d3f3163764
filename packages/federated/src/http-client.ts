import { randomInt } from 'node:crypto';
import { LeptonError, type LeptonErrorCode } from '@lepton/core';
import { remoteCode } from './errors.js';
import type { FederatedLogger } from './http-options.js';
import { isTransientStatus } from './http-protocol.js';

/** Retry policy for transient failures (connection refused or reset, timeouts, HTTP 429 and 5xx). */
export interface RetryOptions {
  /** Retries after the first try. Default 8. */
  retries?: number;
  /** First backoff delay in ms; doubles each retry, with ±50 % jitter. Default 100. */
  baseDelayMs?: number;
  /** Largest backoff delay in ms. Default 5000. */
  maxDelayMs?: number;
  /** Per-request timeout in ms (a long poll adds its wait). Default 30 000. */
  timeoutMs?: number;
}

/** @internal One request. */
export interface ClientRequest {
  method: 'GET' | 'POST';
  path: string;
  json?: unknown;
  bytes?: Uint8Array;
  /** Extra time the server may hold the request (long poll). */
  holdMs?: number;
  /** Largest successful answer accepted, in bytes (default {@link MAX_JSON_RESPONSE_BYTES}). */
  maxBytes?: number;
}

/**
 * @internal Largest JSON answer a partner reads from the coordinator (1 MiB; documented in the README). The
 * coordinator is another party: a partner never buffers an answer of unbounded size. The global weights are bounded
 * separately, by the size the model's specs imply (see `FederatedPartner`).
 */
export const MAX_JSON_RESPONSE_BYTES = 1024 * 1024;

/** @internal Largest error body read from a 4xx answer (its message is cut to 2000 characters anyway). */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/**
 * What a failed `fetch` was, in fixed words: its error message may quote the URL (and any credentials in it), so it
 * never goes into a log line or an error message as is.
 */
function fetchFailure(err: unknown): string {
  const e = err as { name?: unknown; cause?: { code?: unknown } } | null;
  if (e?.name === 'TimeoutError') return 'the request timed out';
  if (e?.name === 'AbortError') return 'the request was aborted';
  const code = e?.cause?.code;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,39}$/.test(code) ? `the request failed (${code})` : 'the request failed';
}

/**
 * Reads a body, refusing it (and cancelling the rest, never buffering it) once it exceeds `limit` bytes.
 *
 * @throws {@link @lepton/core!LeptonError} `FEDERATED_BAD_RESPONSE` past the limit; `FEDERATED_UNREACHABLE` when the connection
 *   fails while the body is read
 */
async function readLimited(res: Response, limit: number, what: string): Promise<Uint8Array> {
  const tooLarge = (): LeptonError =>
    new LeptonError('FEDERATED_BAD_RESPONSE', `The coordinator's answer to ${what} is larger than ${limit} bytes; it was refused unread. Check the coordinator URL and the coordinator's version.`, {
      details: { limit },
    });
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > limit) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (res.body === null) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (err) {
      throw new LeptonError('FEDERATED_UNREACHABLE', `The connection failed while reading the answer to ${what}: ${fetchFailure(err)}. Check the network and that the coordinator is running.`);
    }
    if (chunk.done) break;
    total += chunk.value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(chunk.value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * @internal A small HTTP client for partners: bearer auth, JSON or binary bodies, retries with exponential backoff
 * for transient failures only, and typed errors for the coordinator's 4xx answers (their `code` becomes the
 * {@link @lepton/core!LeptonError} code, so callers branch on `FEDERATED_ROUND_CLOSED` and the like).
 */
export class FederatedHttpClient {
  private readonly retries: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    private readonly fetchFn: typeof fetch,
    private readonly logger: FederatedLogger,
    retry: RetryOptions = {},
  ) {
    this.retries = retry.retries ?? 8;
    this.baseDelayMs = retry.baseDelayMs ?? 100;
    this.maxDelayMs = retry.maxDelayMs ?? 5000;
    this.timeoutMs = retry.timeoutMs ?? 30_000;
  }

  /**
   * Sends a request; returns parsed JSON, or the bytes for `application/octet-stream` answers.
   *
   * @throws {@link @lepton/core!LeptonError} the coordinator's code for a 4xx answer; `FEDERATED_UNREACHABLE` after the retries;
   *   `FEDERATED_BAD_RESPONSE` for an answer over `maxBytes` (or {@link MAX_JSON_RESPONSE_BYTES}) or JSON that does not parse
   */
  async request(req: ClientRequest): Promise<unknown> {
    const url = `${this.baseUrl.replace(/\/+$/, '')}${req.path}`;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
        let body: BodyInit | undefined;
        if (req.bytes !== undefined) {
          headers['content-type'] = 'application/octet-stream';
          body = req.bytes as Uint8Array<ArrayBuffer>;
        } else if (req.json !== undefined) {
          headers['content-type'] = 'application/json';
          body = JSON.stringify(req.json);
        }
        const init: RequestInit = { method: req.method, headers, signal: AbortSignal.timeout(this.timeoutMs + (req.holdMs ?? 0)) };
        if (body !== undefined) init.body = body;
        res = await this.fetchFn(url, init);
      } catch (err) {
        // Never the raw message: fetch's errors may quote the URL. The cause keeps the original error for debugging.
        await this.backoff(attempt, `${req.method} ${req.path}: ${fetchFailure(err)}`, err);
        continue;
      }
      if (isTransientStatus(res.status)) {
        // Discarded unread: a hostile 5xx body of any size costs nothing.
        await res.body?.cancel().catch(() => undefined);
        await this.backoff(attempt, `${req.method} ${req.path}: HTTP ${res.status}`);
        continue;
      }
      if (!res.ok) {
        let code: LeptonErrorCode = 'FEDERATED_BAD_REQUEST';
        let message = `HTTP ${res.status}`;
        try {
          const text = new TextDecoder().decode(await readLimited(res, MAX_ERROR_BODY_BYTES, `${req.method} ${req.path}`));
          const b = JSON.parse(text) as { code?: unknown; message?: unknown };
          code = remoteCode(b.code, 'FEDERATED_BAD_REQUEST');
          // Bounded: the body is the coordinator's, and a message is no place for megabytes of it.
          if (typeof b.message === 'string') message = b.message.slice(0, 2000);
        } catch {
          // not our error body: keep the status line
        }
        throw new LeptonError(code, `Coordinator refused ${req.method} ${req.path} (HTTP ${res.status}): ${message}`, { details: { status: res.status } });
      }
      const what = `${req.method} ${req.path}`;
      const bytes = await readLimited(res, req.maxBytes ?? MAX_JSON_RESPONSE_BYTES, what);
      if ((res.headers.get('content-type') ?? '').startsWith('application/octet-stream')) return bytes;
      try {
        return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
      } catch {
        throw new LeptonError('FEDERATED_BAD_RESPONSE', `The coordinator's answer to ${what} is not valid JSON. Check the coordinator URL and the coordinator's version.`);
      }
    }
  }

  private async backoff(attempt: number, what: string, cause?: unknown): Promise<void> {
    if (attempt >= this.retries) {
      throw new LeptonError('FEDERATED_UNREACHABLE', `Gave up after ${attempt + 1} tries: ${what}. Check the coordinator URL and that it is running.`, {
        cause,
        details: { tries: attempt + 1 },
      });
    }
    // Jitter from node:crypto, not Math.random: local training may have swapped Math.random for a seeded stream.
    const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** attempt) * (0.5 + randomInt(1000) / 1000);
    this.logger.warn('transient failure, retrying', { what, attempt: attempt + 1, delayMs: Math.round(delay) });
    await sleep(delay);
  }
}
