import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { isIP } from 'node:net';
import { LeptonError } from '@lepton/core';
import { integer, invalid, readFields } from '../internal/guards.js';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus, type MetricFamily, type MetricsSource } from './prometheus.js';

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions {
  /** What to expose: sources ({@link LineStatus} via {@link lineStatusMetrics}, publishers, the OPC UA source) or a function returning families. */
  sources: ReadonlyArray<MetricsSource> | (() => MetricFamily[]);
  /** Address to bind. Default `127.0.0.1` (loopback only). */
  host?: string;
  /** Port; 0 picks a free one. Default 9464. */
  port?: number;
  /** Path served. Default `/metrics`. */
  path?: string;
  /** Bearer token a scrape must send (`Authorization: Bearer <token>`, Prometheus `authorization.credentials`). At least 16 characters. */
  token?: string;
  /** Bind a non-loopback address without a token. Default false: such a bind is refused. */
  allowUnauthenticated?: boolean;
  /** Most connections open at once; more are refused (closed at once). Default 64 (1 to 10,000). */
  maxConnections?: number;
}

/**
 * Longest a connection may stay idle (no bytes in or out), ms: a client that stops sending in the middle of a request,
 * or connects and sends nothing, is dropped after it (checked every second, so within about 11 s).
 */
const METRICS_IDLE_TIMEOUT_MS = 10_000;

/** Counters of a {@link MetricsServer}. */
export interface MetricsServerStats {
  /** Scrapes answered with metrics. */
  scrapes: number;
  /** Requests refused: wrong path (404), method (405) or token (401). */
  refused: number;
  /** Scrapes that failed because a source threw (500). */
  failures: number;
}

/** A running metrics endpoint. */
export interface MetricsServer {
  /** The scrape URL, e.g. `http://127.0.0.1:9464/metrics`. */
  url: string;
  /** The port bound. */
  port: number;
  /** Scrapes served, requests refused, and scrapes that failed. */
  stats(): MetricsServerStats;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/**
 * Serves Prometheus metrics over HTTP (`node:http`, no dependency): `GET /metrics` answers the text exposition format
 * (`text/plain; version=0.0.4`); anything else is 404 or 405. Bound to `127.0.0.1` by default; binding another address
 * needs a bearer `token` (or an explicit `allowUnauthenticated: true`), compared in constant time. A source that fails
 * makes that scrape a 500 (counted), never a crash. Connections are bounded, before any authentication: at most
 * `maxConnections` (64) at once, and one that stalls (10 s without a byte, or headers
 * not complete within 10 s, or a request not complete within 15 s) is closed within about a second of its limit;
 * an idle keep-alive connection is closed after 5 s.
 *
 * @param options - sources, address, token
 * @returns the running server
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad option or a non-loopback bind without a token;
 *   `MFG_METRICS_LISTEN` when the address cannot be bound (port in use …)
 * @example
 * ```ts
 * import { LineMonitor, LineStatus, lineStatusMetrics, startMetricsServer } from '@lepton/manufacturing';
 * const monitor = new LineMonitor({ signals: ['pressure'], baseline: { '*': { pressure: { center: 5, sigma: 0.1 } } } });
 * const status = new LineStatus({ line: 'line-1', monitor, signals: ['pressure'] });
 * const server = await startMetricsServer({ sources: () => lineStatusMetrics(status, monitor), port: 0 });
 * console.log((await fetch(server.url)).headers.get('content-type')); // text/plain; version=0.0.4; charset=utf-8
 * await server.close();
 * ```
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const fn = 'startMetricsServer';
  if (typeof options !== 'object' || options === null) throw invalid(fn, 'options', 'an object', options, 'INVALID_ARGUMENT');
  // Read once: a getter that throws is INVALID_ARGUMENT naming it.
  options = readFields(fn, 'options', options, ['sources', 'host', 'port', 'path', 'token', 'allowUnauthenticated', 'maxConnections'] as const) as MetricsServerOptions;
  const { sources } = options;
  const collect: () => MetricFamily[] =
    typeof sources === 'function'
      ? sources
      : Array.isArray(sources) && sources.every((s) => typeof s?.metricFamilies === 'function')
        ? () => sources.flatMap((s) => s.metricFamilies())
        : (() => {
            throw invalid(fn, 'options.sources', 'metric sources (each with metricFamilies()) or a function', sources, 'INVALID_ARGUMENT');
          })();
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || (isIP(host) === 0 && host !== 'localhost')) throw invalid(fn, 'options.host', 'an IP address to bind, e.g. 127.0.0.1', host, 'INVALID_ARGUMENT');
  const port = integer(fn, 'options.port', options.port ?? 9464, 0, 65_535);
  const path = options.path ?? '/metrics';
  if (typeof path !== 'string' || !/^\/[\w./-]*$/.test(path)) throw invalid(fn, 'options.path', 'a path such as /metrics', path, 'INVALID_ARGUMENT');
  const token = options.token;
  if (token !== undefined && (typeof token !== 'string' || token.length < 16 || /\s/.test(token))) throw invalid(fn, 'options.token', 'a string of at least 16 characters without spaces', token, 'INVALID_ARGUMENT');
  if (!LOOPBACK.test(host) && token === undefined && options.allowUnauthenticated !== true) {
    throw new LeptonError('INVALID_ARGUMENT', `${fn}: binding ${host} exposes the line's metrics beyond this machine; set options.token (Prometheus: authorization.credentials) or allowUnauthenticated: true.`, { details: { field: 'options.token' } });
  }
  // Compared as digests: equal length always, so timingSafeEqual never throws and the length is not revealed.
  const maxConnections = integer(fn, 'options.maxConnections', options.maxConnections ?? 64, 1, 10_000);
  const want = token === undefined ? undefined : createHash('sha256').update(token).digest();
  const counts = { scrapes: 0, refused: 0, failures: 0 };

  // connectionsCheckingInterval: how often headersTimeout/requestTimeout are enforced (Node's default is 30 s).
  const server: Server = createServer({ connectionsCheckingInterval: 1000, headersTimeout: 10_000, requestTimeout: 15_000, keepAliveTimeout: 5000 }, (req, res) => {
    req.resume(); // a body is never read: drain it, memory stays bounded
    const url = (req.url ?? '').split('?')[0];
    const refuse = (code: number, text: string, headers: Record<string, string> = {}): void => {
      counts.refused++;
      res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(`${text}\n`);
    };
    if (url !== path) return refuse(404, 'not found');
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(405, 'method not allowed', { allow: 'GET, HEAD' });
    if (want) {
      const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
      const got = createHash('sha256')
        .update(m?.[1] ?? '')
        .digest();
      if (!m || !timingSafeEqual(got, want)) return refuse(401, 'unauthorized', { 'www-authenticate': 'Bearer realm="lepton"' });
    }
    let body: string;
    try {
      body = renderPrometheus(collect());
    } catch {
      counts.failures++;
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('collecting metrics failed\n');
      return;
    }
    counts.scrapes++;
    res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  server.maxHeadersCount = 50;
  server.maxConnections = maxConnections;
  // Idle sockets (no byte in or out) are destroyed: a stalled client cannot hold a file descriptor.
  server.setTimeout(METRICS_IDLE_TIMEOUT_MS, (socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new LeptonError('MFG_METRICS_LISTEN', `Could not listen on ${host}:${port} (${(err as NodeJS.ErrnoException).code ?? err.message}); pick another port.`, { cause: err })));
    server.listen(port, host, () => resolve());
  });
  server.on('error', () => undefined);
  const bound = (server.address() as { port: number }).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}${path}`,
    port: bound,
    stats: () => ({ ...counts }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
