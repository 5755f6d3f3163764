import { LeptonError } from '@lepton/core';

/**
 * Error codes thrown by {@link DicomWebClient} (always inside a `LeptonError`). Messages and details never carry patient
 * data or credentials: HTTP failures carry `details.status`, `details.method` and `details.level` (`'studies'`,
 * `'series'`, `'instances'`, `'metadata'`, `'instance'`), not the URL, whose path holds the study's UIDs.
 *
 * - `DICOMWEB_HTTP_ERROR` — the server answered with an error status (`details.status`: 400 bad query, 401/403
 *   credentials, 404 no such study/series/instance, 5xx server trouble).
 * - `DICOMWEB_UNREACHABLE` — no HTTP answer at all: connection refused, host not found, connection reset
 *   (`details.reason` is the system error code, e.g. `ECONNREFUSED`).
 * - `DICOMWEB_TIMEOUT` — no complete answer within `timeoutMs` (`details.timeoutMs`).
 * - `DICOMWEB_ABORTED` — the caller's `AbortSignal` fired.
 * - `DICOMWEB_BAD_RESPONSE` — a 2xx answer that is not what DICOMweb promises (not DICOM JSON, a broken
 *   multipart/related body, a result without its UIDs).
 * - `DICOMWEB_INVALID_OPTIONS` — the client or a call was configured wrongly (no URL, an empty UID, an unsupported
 *   transfer syntax, an instance to store that is not a Part 10 file or is larger than `maxStoreRequestBytes`).
 * - `DICOMWEB_STORE_FAILED` — STOW-RS: the server answered but did not store every instance (`details.status`, the
 *   HTTP status; `details.failed`, the instances it refused with their Failure Reason; `details.stored`, those it
 *   stored before or alongside; `details.notSent`, those of later batches that were not sent). The lists carry SOP
 *   Class/Instance UIDs (the caller's own objects), the message never does.
 *
 * - `DICOMWEB_REDIRECT_REFUSED` — the server redirected to another origin (refused unless `allowCrossOriginRedirects`;
 *   credentials are never forwarded) or more than 5 times.
 * - `DICOMWEB_RESPONSE_TOO_LARGE` — an answer body exceeded `maxResponseBytes` after decompression (`details.limit`).
 *
 * A retrieved instance that is not valid DICOM fails with the reader's own codes (`DICOM_MALFORMED`, `DICOM_TRUNCATED` …).
 */
export type DicomWebErrorCode =
  | 'DICOMWEB_HTTP_ERROR'
  | 'DICOMWEB_UNREACHABLE'
  | 'DICOMWEB_TIMEOUT'
  | 'DICOMWEB_ABORTED'
  | 'DICOMWEB_BAD_RESPONSE'
  | 'DICOMWEB_INVALID_OPTIONS'
  | 'DICOMWEB_STORE_FAILED'
  | 'DICOMWEB_REDIRECT_REFUSED'
  | 'DICOMWEB_RESPONSE_TOO_LARGE';

/** @internal */
export function dicomWebError(code: DicomWebErrorCode, message: string, details: Record<string, unknown> = {}, cause?: unknown): LeptonError {
  return new LeptonError(code, message, cause === undefined ? { details } : { details, cause });
}

/** What an HTTP status most likely means, and what to do about it. @internal */
export function statusAdvice(status: number): string {
  if (status === 401 || status === 403) return 'check the credentials given in the client\'s `auth` or `headers` option';
  if (status === 404) return 'the study, series or instance is not on this server (or the URL is not its DICOMweb root)';
  if (status === 400) return 'the server rejected the query; check the query parameters\' names and values';
  if (status === 413) return 'the request was too large for the server; lower `maxStoreRequestBytes`';
  if (status === 409) return 'the server refused some instances; see `details.failed` for their Failure Reasons';
  if (status === 406) return 'the server cannot send the requested media type or transfer syntax; try `transferSyntax: \'*\'`';
  if (status >= 500) return 'the server failed; retry later or check its logs';
  return 'check the request against the server\'s DICOMweb conformance statement';
}
