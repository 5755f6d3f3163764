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

  /** Sends a request; returns parsed JSON, or the bytes for `application/octet-stream` answers. */
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
        await this.backoff(attempt, `${req.method} ${req.path}: ${(err as Error).message}`, err);
        continue;
      }
      if (isTransientStatus(res.status)) {
        await res.arrayBuffer().catch(() => undefined);
        await this.backoff(attempt, `${req.method} ${req.path}: HTTP ${res.status}`);
        continue;
      }
      if (!res.ok) {
        let code: LeptonErrorCode = 'FEDERATED_BAD_REQUEST';
        let message = `HTTP ${res.status}`;
        try {
          const b = (await res.json()) as { code?: unknown; message?: unknown };
          code = remoteCode(b.code, 'FEDERATED_BAD_REQUEST');
          // Bounded: the body is the coordinator's, and a message is no place for megabytes of it.
          if (typeof b.message === 'string') message = b.message.slice(0, 2000);
        } catch {
          // not our error body: keep the status line
        }
        throw new LeptonError(code, `Coordinator refused ${req.method} ${req.path} (HTTP ${res.status}): ${message}`, { details: { status: res.status } });
      }
      if ((res.headers.get('content-type') ?? '').startsWith('application/octet-stream')) return new Uint8Array(await res.arrayBuffer());
      return res.json();
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
