import { createHash, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { LeptonError, parseTimestamp } from '@lepton/core';
import { isLoopbackHost } from '../config/service.js';
import { z } from 'zod';
import type { RuleCounts } from '../rules/engine.js';
import { EVENT_ID } from './ids.js';
import type { TrackedObject } from './lifecycle.js';
import type { EventStore, StoredEvent } from './store.js';

/** What the API serves, provided by the service. */
export interface ApiSources {
  /** The event store. */
  store: EventStore;
  /** Health document (`GET /api/health`). */
  health: () => unknown;
  /** Line and zone counts per camera. */
  counts: () => Record<string, RuleCounts>;
  /** Prometheus exposition text. */
  metrics: () => string;
}

/** Where and how the API listens. */
export interface ApiListenOptions {
  /** Interface. */
  host: string;
  /** Port (0: any free one). */
  port: number;
  /** Bearer token, or `null` for none. */
  token: string | null;
  /** Whether `/metrics` needs the token. */
  metricsAuth: boolean;
  /** Longest time to receive a request, ms. */
  requestTimeoutMs: number;
}

/** A running API server. */
export interface ApiServer {
  /** Base URL, e.g. `http://127.0.0.1:5080`. */
  url: string;
  /** Closes the server (open connections are closed). */
  close: () => Promise<void>;
}

/** The JSON of one event in the API: the object, plus where its snapshot and clip are served and the clip's state. */
export interface ApiEvent extends TrackedObject {
  /** `none`, `pending`, `ready` or `failed`. */
  clip: StoredEvent['clip'];
  /** Path of the snapshot under the API, when there is one. */
  snapshotUrl: string | null;
  /** Path of the clip under the API, when it is ready. */
  clipUrl: string | null;
}

const name = z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/);
const timestamp = z.string().transform((v, ctx) => {
  const ms = parseTimestamp(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: 'epoch milliseconds or an ISO-8601 time with an offset (2026-01-02T10:00:00Z)' });
    return z.NEVER;
  }
  return ms;
});
const eventsQuery = z.strictObject({
  camera: name.optional(),
  label: z.string().min(1).max(128).optional(),
  zone: z.string().min(1).max(128).optional(),
  after: timestamp.optional(),
  before: timestamp.optional(),
  in_progress: z.enum(['true', 'false']).optional(),
  limit: z
    .string()
    .regex(/^\d{1,7}$/, 'an integer from 1 to 1000')
    .transform(Number)
    .refine((n) => n >= 1 && n <= 1000, 'an integer from 1 to 1000')
    .optional(),
});

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Longest event id (`<camera>-<ULID>`: a camera name of up to 128 characters, a dash and 26), with room to spare. */
const MAX_PARAM_LENGTH = 192;

const LOOPBACK_NAME = /^(?:localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])$/i;

/** The host name of a `Host` header or an origin's authority (`name`, `name:port`, `[v6]:port`), lower-cased. */
function hostName(authority: string): string {
  const a = authority.trim().toLowerCase();
  if (a.startsWith('[')) return a.slice(0, a.indexOf(']') + 1);
  const colon = a.lastIndexOf(':');
  return colon < 0 ? a : a.slice(0, colon);
}

/**
 * Whether a request served without a token comes from this machine's own pages and tools, not from a web page of
 * another site: on a loopback API, its `Host` must name the loopback (`localhost`, `127.x.x.x`, `[::1]`, a DNS
 * rebinding attack sends the attacker's name), and an `Origin` it carries must be a loopback one too. On another
 * interface (only `/metrics` can be open there) any `Host` is accepted, but a foreign `Origin` (a browser page of
 * another site) is not.
 */
function sameMachine(req: FastifyRequest, loopback: boolean): boolean {
  const host = req.headers.host;
  if (loopback && (typeof host !== 'string' || !LOOPBACK_NAME.test(hostName(host)))) return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (typeof origin !== 'string') return false;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return false;
  }
  return loopback ? LOOPBACK_NAME.test(hostName(originHost)) : typeof host === 'string' && originHost.toLowerCase() === host.trim().toLowerCase();
}

/** The API's error body: `{ error: { code, message } }`. */
function fail(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').send({ error: { code, message } });
}

function apiEvent(e: StoredEvent): ApiEvent {
  const base = `/api/events/${encodeURIComponent(e.object.id)}`;
  return {
    ...e.object,
    clip: e.clip,
    snapshotUrl: e.snapshotPath === null || !e.object.hasSnapshot ? null : `${base}/snapshot.jpg`,
    clipUrl: e.clip === 'ready' ? `${base}/clip.mp4` : null,
  };
}

/**
 * Starts the service's HTTP API (fastify): bearer-token authentication on every route but `/healthz` (and `/metrics`
 * when `metricsAuth` is off), tokens compared in constant time (SHA-256 digests, `timingSafeEqual`), request timeout,
 * a 16 KiB body limit (every route is a GET), and `{ error: { code, message } }` bodies for failures (router errors
 * included, after the token check). What is served without a token (everything with `token: null`, `/metrics`
 * without `metricsAuth`) is refused with `403 FORBIDDEN` to a request whose `Host` is not a loopback name on a
 * loopback API (DNS rebinding) or whose `Origin` is another site's.
 *
 * @param sources - what to serve
 * @param options - host, port, token, timeouts
 * @returns the running server
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when it cannot listen (port in use, bad host)
 * @internal
 */
export async function startApi(sources: ApiSources, options: ApiListenOptions): Promise<ApiServer> {
  const app = Fastify({
    logger: false,
    forceCloseConnections: true,
    bodyLimit: 16 * 1024,
    requestTimeout: options.requestTimeoutMs,
    connectionTimeout: options.requestTimeoutMs * 6,
    // Longer than clients' idle timeouts (undici 4 s, browsers, load balancers 60 s), so that the client, not the
    // server, closes an idle connection: a server that closes first races a client reusing it (ECONNRESET).
    keepAliveTimeout: 65_000,
    // Node enforces requestTimeout/headersTimeout only when it sweeps connections: sweep often enough to honour them.
    http: { headersTimeout: options.requestTimeoutMs, connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(options.requestTimeoutMs / 4))) },
    // Every event id fits (fastify's default, 100, refused the ids of cameras with long names).
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // A URL the router cannot take (bad percent-encoding, a parameter past the limit): checked like any request
    // (401 without the token), then answered in the API's error shape.
    frameworkErrors: (err, req, reply) => {
      const refused = guard(req, reply);
      if (refused !== undefined) return refused;
      // fastify's max-param-length error is the one with status 414 (URI Too Long); a bad URL is 400.
      const tooLong = (err as { statusCode?: number }).statusCode === 414;
      return fail(reply, tooLong ? 414 : 400, 'BAD_REQUEST', tooLong ? 'A path parameter is too long (no event id is that long).' : 'The URL is malformed (bad percent-encoding).');
    },
  });
  const expected = options.token === null ? null : digest(options.token);
  const loopback = isLoopbackHost(options.host);
  /** Authentication (and, for what is served without it, the same-machine check); a reply when refused. */
  const guard = (req: FastifyRequest, reply: FastifyReply): FastifyReply | undefined => {
    const path = req.url.split('?')[0];
    if (path === '/healthz') return undefined;
    if (expected === null || (path === '/metrics' && !options.metricsAuth)) {
      if (sameMachine(req, loopback)) return undefined;
      return fail(reply, 403, 'FORBIDDEN', 'Requests without a token are served to this machine only: the Host must be localhost or a loopback address, and no other site may send them (Origin).');
    }
    const header = req.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    // Digests have one length, so the comparison takes the same time whatever the token sent.
    if (m === null || !timingSafeEqual(digest(m[1]!), expected)) {
      reply.header('www-authenticate', 'Bearer');
      return fail(reply, 401, 'UNAUTHORIZED', 'This API needs `Authorization: Bearer <token>` with the service token.');
    }
    return undefined;
  };
  app.addHook('onRequest', async (req, reply) => guard(req, reply));
  app.setErrorHandler((err: { statusCode?: number; code?: string }, _req, reply) => {
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    return fail(reply, status, status === 500 ? 'INTERNAL' : (err.code ?? 'BAD_REQUEST'), status === 500 ? 'The request failed inside the service.' : 'The request was refused.');
  });
  app.setNotFoundHandler((req, reply) => fail(reply, 404, 'NOT_FOUND', `No route ${req.method} ${(req.url.split('?')[0] ?? '').slice(0, 100)}.`));

  const findEvent = (req: FastifyRequest, reply: FastifyReply): StoredEvent | undefined => {
    const id = (req.params as { id?: string }).id ?? '';
    const e = EVENT_ID.test(id) ? sources.store.get(id) : undefined;
    if (e === undefined) void fail(reply, 404, 'EVENT_NOT_FOUND', 'No event with this id (it may have been dropped from the store).');
    return e;
  };

  app.get('/healthz', async (_req, reply) => reply.header('cache-control', 'no-store').send({ ok: true }));
  app.get('/api/health', async (_req, reply) => reply.header('cache-control', 'no-store').send(sources.health()));
  app.get('/api/counts', async (_req, reply) => reply.header('cache-control', 'no-store').send({ cameras: sources.counts() }));
  app.get('/metrics', async (_req, reply) => reply.header('cache-control', 'no-store').type('text/plain; version=0.0.4; charset=utf-8').send(sources.metrics()));
  app.get('/api/events', async (req, reply) => {
    const q = eventsQuery.safeParse(req.query);
    if (!q.success) {
      const issue = q.error.issues[0]!;
      const field = issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : issue.path.join('.');
      return fail(reply, 400, 'INVALID_QUERY', issue.code === 'unrecognized_keys' ? `Unknown query parameter(s): ${field.slice(0, 100)} (known: camera, label, zone, after, before, in_progress, limit).` : `Query parameter '${field}': ${issue.message}.`);
    }
    const { in_progress: inProgress, ...rest } = q.data;
    const filter = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
    const events = sources.store.list({ ...filter, ...(inProgress === undefined ? {} : { inProgress: inProgress === 'true' }) });
    return reply.header('cache-control', 'no-store').send({ events: events.map(apiEvent) });
  });
  app.get('/api/events/:id', async (req, reply) => {
    const e = findEvent(req, reply);
    return e === undefined ? reply : reply.header('cache-control', 'no-store').send(apiEvent(e));
  });
  app.get('/api/events/:id/snapshot.jpg', async (req, reply) => {
    const e = findEvent(req, reply);
    if (e === undefined) return reply;
    const bytes = e.snapshotPath === null || !e.object.hasSnapshot ? undefined : await readFile(e.snapshotPath).catch(() => undefined);
    if (bytes === undefined) return fail(reply, 404, 'SNAPSHOT_NOT_FOUND', 'This event has no snapshot.');
    return reply.header('cache-control', 'no-store').type('image/jpeg').send(bytes);
  });
  app.get('/api/events/:id/clip.mp4', async (req, reply) => {
    const e = findEvent(req, reply);
    if (e === undefined) return reply;
    if (e.clip === 'pending') return fail(reply.header('retry-after', '10'), 404, 'CLIP_PENDING', 'The clip is cut once the recording covers the end of the event; try again later.');
    const size = e.clipPath === null || e.clip !== 'ready' ? undefined : await stat(e.clipPath).then((s) => s.size, () => undefined);
    if (size === undefined) return fail(reply, 404, 'CLIP_NOT_FOUND', e.clip === 'failed' ? 'The clip could not be cut (see the service log).' : 'This event has no clip (recording is off for its camera).');
    return reply.type('video/mp4').header('content-length', size).send(createReadStream(e.clipPath!));
  });

  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (err) {
    await app.close().catch(() => undefined);
    throw new LeptonError('INVALID_ARGUMENT', `The HTTP API cannot listen on ${options.host}:${options.port} (${(err as Error).message}); choose another api.port or --port.`, { cause: err });
  }
  const addr = app.server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return { url: `http://${host}:${addr.port}`, close: () => app.close() };
}
