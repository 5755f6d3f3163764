import { redactUrl } from '../internal/redact.js';
import { connectFix } from './network.js';
import { decodeCredential } from './services.js';
import type { ServiceCheck } from './types.js';

/** The system error code inside a fetch failure (`TypeError: fetch failed` with `cause.code`). */
function fetchCode(err: unknown): string {
  if ((err as Error)?.name === 'TimeoutError' || (err as Error)?.name === 'AbortError') return 'TIMEOUT';
  const cause = (err as { cause?: { code?: unknown } })?.cause;
  return typeof cause?.code === 'string' ? cause.code : 'ERROR';
}

/**
 * Sends one QIDO-RS study search (`GET <root>/studies?limit=1`, `Accept: application/dicom+json`) — the lightest
 * request every DICOMweb server answers — with credentials from the URL moved into Basic auth (fetch refuses URLs that
 * carry them, and they must never reach a log). A JSON array (or 204) is a pass; 401/403 mean other credentials.
 */
export async function checkDicomweb(url: URL, source: 'flag' | 'env', timeoutMs: number): Promise<ServiceCheck> {
  const base = { name: 'dicomweb' as const, required: true, source, target: redactUrl(url.toString()) };
  const headers: Record<string, string> = { accept: 'application/dicom+json, application/json' };
  if (url.username !== '' || url.password !== '') {
    const pair = `${decodeCredential(url.username) ?? ''}:${decodeCredential(url.password) ?? ''}`;
    headers['authorization'] = `Basic ${Buffer.from(pair).toString('base64')}`;
  }
  const target = new URL(url.toString());
  target.username = '';
  target.password = '';
  target.pathname = `${target.pathname.replace(/\/+$/, '')}/studies`;
  target.searchParams.set('limit', '1');
  const started = Date.now();
  let response: Response;
  let body: string;
  try {
    response = await fetch(target, { headers, signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
    body = (await response.text()).slice(0, 1 << 20);
  } catch (err) {
    const code = fetchCode(err);
    return {
      ...base,
      status: 'unreachable',
      ok: false,
      detail: code === 'TIMEOUT' ? `no answer within ${timeoutMs} ms` : code,
      fix: connectFix(code, 'the PACS (e.g. Orthanc with its DICOMweb plugin)', '--dicomweb or LEPTON_DICOMWEB_URL'),
    };
  }
  const ms = Date.now() - started;
  const status = response.status;
  if (status === 204) return { ...base, status: 'ok', ok: true, latencyMs: ms, detail: 'HTTP 204: QIDO-RS answered (no studies)' };
  if (status === 401 || status === 403) {
    return { ...base, status: 'refused', ok: false, latencyMs: ms, detail: `HTTP ${status}: the server wants other credentials`, fix: 'put the user and password in the URL (http://user:password@host:8042/dicom-web)' };
  }
  if (status >= 200 && status < 300) {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      json = undefined;
    }
    if (Array.isArray(json)) return { ...base, status: 'ok', ok: true, latencyMs: ms, detail: `HTTP ${status}: QIDO-RS answered` };
    return { ...base, status: 'error', ok: false, latencyMs: ms, detail: `HTTP ${status}, but not a DICOMweb answer`, fix: 'give the DICOMweb root, e.g. http://host:8042/dicom-web for Orthanc' };
  }
  return {
    ...base,
    status: 'error',
    ok: false,
    latencyMs: ms,
    detail: `HTTP ${status}`,
    fix: status === 404 ? 'give the DICOMweb root, e.g. http://host:8042/dicom-web for Orthanc (is its DICOMweb plugin enabled?)' : 'check the server’s log',
  };
}
