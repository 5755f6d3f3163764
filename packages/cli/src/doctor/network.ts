import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/** Why a conversation with a server failed: a system code (`ECONNREFUSED`, `ENOTFOUND` …), `TIMEOUT` or `CLOSED`. */
export class ProbeFailure extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** What {@link converse} needs: where, how, what to send, and when the answer is complete. */
export interface Conversation {
  host: string;
  port: number;
  tls: boolean;
  timeoutMs: number;
  /** Bytes sent once connected. */
  send: Buffer;
  /** True once `received` holds the whole answer. */
  complete: (received: Buffer) => boolean;
  /** Bytes sent after the answer, before closing (e.g. MQTT DISCONNECT). */
  goodbye?: Buffer;
}

/**
 * Connects (TCP, or TLS with the usual certificate checks), sends one request and collects the answer until it is
 * complete, all within `timeoutMs`. Resolves with the answer and the round-trip time; rejects with a
 * {@link ProbeFailure}. Nothing here logs or echoes what was sent (it may hold credentials).
 */
export function converse(c: Conversation): Promise<{ received: Buffer; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    let settled = false;
    const socket: Socket = c.tls
      ? tlsConnect({ host: c.host, port: c.port, servername: c.host, timeout: c.timeoutMs })
      : netConnect({ host: c.host, port: c.port, timeout: c.timeoutMs });
    const finish = (err: ProbeFailure | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err === undefined) {
        if (c.goodbye !== undefined) socket.end(c.goodbye);
        else socket.end();
        setTimeout(() => socket.destroy(), 200).unref();
        resolve({ received, ms: Date.now() - started });
      } else {
        socket.destroy();
        reject(err);
      }
    };
    const timer = setTimeout(() => finish(new ProbeFailure('TIMEOUT', `no answer within ${c.timeoutMs} ms`)), c.timeoutMs);
    socket.once(c.tls ? 'secureConnect' : 'connect', () => socket.write(c.send));
    socket.on('data', (d: Buffer) => {
      if (received.length < 1 << 16) received = Buffer.concat([received, d]);
      if (c.complete(received)) finish(undefined);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => finish(new ProbeFailure(err.code ?? 'ERROR', err.code ?? err.message)));
    socket.on('close', () => finish(new ProbeFailure('CLOSED', 'the server closed the connection without a complete answer')));
  });
}

/** Host and port of a URL, IPv6 brackets removed. */
export function hostPort(u: URL, defaultPort: number): { host: string; port: number } {
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port: u.port === '' ? defaultPort : Number(u.port) };
}

/** A fix for a failure to connect, by its code. */
export function connectFix(code: string, what: string, flag: string): string {
  if (code === 'ECONNREFUSED') return `nothing listens there: start ${what}, or correct the host/port (${flag})`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `the host name does not resolve: correct it (${flag})`;
  if (code === 'TIMEOUT' || code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return `no answer: check that ${what} runs and that no firewall drops the port, or raise --timeout`;
  }
  if (/CERT|SSL|TLS|SELF_SIGNED/i.test(code)) return `TLS failed (${code}): check the server certificate, or use the plain-TCP scheme`;
  return `check that ${what} runs at that address (${flag})`;
}
