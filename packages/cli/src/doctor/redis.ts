import { redactUrl } from '../internal/redact.js';
import { connectFix, converse, hostPort, ProbeFailure } from './network.js';
import { decodeCredential } from './services.js';
import type { ServiceCheck } from './types.js';

/** A Redis command in RESP (an array of bulk strings). */
function resp(...parts: string[]): Buffer {
  return Buffer.from(`*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`);
}

/**
 * Connects to Redis and sends `PING` (after `AUTH` when the URL carries credentials). `+PONG` is a pass; `-NOAUTH`
 * or a refused `AUTH` means the server is there but wants other credentials.
 */
export async function checkRedis(url: URL, source: 'flag' | 'env', timeoutMs: number): Promise<ServiceCheck> {
  const base = { name: 'redis' as const, required: true, source, target: redactUrl(url.toString()) };
  const { host, port } = hostPort(url, 6379);
  // parseServiceUrl refused malformed escapes already; ?? '' keeps this total for any other caller.
  const user = decodeCredential(url.username) ?? '';
  const password = decodeCredential(url.password) ?? '';
  const auth = password !== '' ? (user !== '' ? resp('AUTH', user, password) : resp('AUTH', password)) : undefined;
  const expected = auth === undefined ? 1 : 2;
  const lines = (b: Buffer): string[] => b.toString('latin1').split('\r\n').slice(0, -1);
  try {
    const { received, ms } = await converse({
      host,
      port,
      tls: url.protocol === 'rediss:',
      timeoutMs,
      send: Buffer.concat([...(auth ? [auth] : []), resp('PING')]),
      complete: (b) => lines(b).length >= expected || (b.length > 0 && !/^[+\-:$*]/.test(b.toString('latin1', 0, 1))),
    });
    const replies = lines(received);
    const authReply = auth === undefined ? undefined : replies[0];
    const ping = replies[expected - 1];
    if (ping === '+PONG' && (authReply === undefined || authReply === '+OK')) return { ...base, status: 'ok', ok: true, latencyMs: ms, detail: 'PONG' };
    if (authReply !== undefined && authReply.startsWith('-')) {
      return { ...base, status: 'refused', ok: false, latencyMs: ms, detail: `Redis refused the credentials in the URL (${authReply.slice(1, 100)})`, fix: 'check the user name and password (redis://user:password@host:port, or redis://:password@host:port)' };
    }
    if (ping?.startsWith('-NOAUTH')) {
      return { ...base, status: 'refused', ok: false, latencyMs: ms, detail: 'Redis wants a password', fix: 'put it in the URL: redis://:password@host:port (or user:password for an ACL user)' };
    }
    return {
      ...base,
      status: 'error',
      ok: false,
      latencyMs: ms,
      detail: `not a Redis answer to PING${ping?.startsWith('-') ? ` (${ping.slice(1, 80)})` : ''}`,
      fix: 'check that the port is a Redis port (default 6379)',
    };
  } catch (err) {
    const code = err instanceof ProbeFailure ? err.code : 'ERROR';
    return { ...base, status: 'unreachable', ok: false, detail: err instanceof Error ? err.message : String(err), fix: connectFix(code, 'redis-server', '--redis or LEPTON_REDIS_URL') };
  }
}
