import { createHash, randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { describeValue, LeptonError } from '@lepton/core';
import { resolveCoordinatorOptions, type CoordinatorOptions, type ResolvedCoordinatorOptions } from './http-options.js';
import { httpStatusFor, ROUTES, type DpOptions, type ErrorBody, type FailureInfo, type RoundPhase } from './http-protocol.js';
import { cumulativePrivacy } from './http-aggregate.js';
import { RoundEngine, type Identity, type RejectionRecord } from './http-round.js';
import { loadState, saveRoundModel, writeState, type AttemptFailure, type FederatedState, type PrivacySummary, type RoundRecord } from './http-state.js';
import { encodeWeights, writeWeights, type WeightSet } from './weights.js';

/** Partners at each stage of the round in progress. */
export interface RoundProgress {
  /** Fetched the global weights. */
  fetched: string[];
  /** Sent a secure-aggregation key. */
  keys: string[];
  /** Sent an accepted update. */
  submitted: string[];
  /** Secure aggregation: participants declared dropped, whose masks are being removed. */
  dropped: string[];
}

/** What {@link FederatedCoordinator.status} (and the admin route `GET /v1/status`) reports. */
export interface CoordinatorStatus {
  /** Random id of this coordinator process. */
  session: string;
  /** Current phase. */
  phase: RoundPhase;
  /** Round in progress (after the last, `totalRounds + 1`). */
  round: number;
  /** Attempt of that round. */
  attempt: number;
  /** Rounds planned. */
  totalRounds: number;
  /** Rounds completed (= version of the global weights). */
  completedRounds: number;
  /** Minimum updates per round. */
  quorum: number;
  /** Enrolled partner ids. */
  partners: string[];
  /** Secure aggregation on. */
  secureAggregation: boolean;
  /** Local algorithm. */
  algorithm: 'fedavg' | 'fedprox';
  /** Id of this federation (bound into every secure-aggregation key announcement). */
  federationId: string;
  /** Differential privacy required of partners, or null. */
  dp: DpOptions | null;
  /**
   * Cumulative partner-level (ε, δ) over the completed rounds, from each round's effective noise multiplier (RDP
   * accountant); `epsilon` is null when there is no finite guarantee. Holds only if the partners' DP claims are true.
   * Null without DP.
   */
  privacy: PrivacySummary | null;
  /** Epoch ms of the running deadline, or null. */
  deadlineAt: number | null;
  /** The round in progress. */
  current: RoundProgress;
  /** Completed rounds with per-partner held-out evaluations of each round's global model. */
  history: RoundRecord[];
  /** Held-out metrics of the initial model (version 0), per partner. */
  baseline: Record<string, Record<string, number>>;
  /** Round attempts that missed their quorum. */
  failures: AttemptFailure[];
  /**
   * The last 1000 rejected requests of authenticated callers (messages and routes cut to
   * {@link RejectionRecord}'s bounds). Requests that fail authentication are only counted, in
   * `unauthenticatedRequests`.
   */
  rejections: RejectionRecord[];
  /** Requests refused before they were authenticated (missing or unknown token, 401), since start. */
  unauthenticatedRequests: number;
  /** Why the federation failed, or null. */
  failure: FailureInfo | null;
}

/** One HTTP route the coordinator serves. */
export interface RouteInfo {
  /** HTTP method. */
  method: string;
  /** Path template. */
  url: string;
}

const CHUNK = 64 * 1024;
const MAX_WAIT_MS = 30_000;
const digest = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/**
 * The coordinator of a federated training run over HTTP. Partners fetch the global weights (binary), train locally,
 * and post their update (binary, with its sample count); the coordinator validates every request, aggregates with
 * sample-weighted FedAvg when a round closes (every partner sent; or the quorum, with `closeOnQuorum`; or the
 * deadline with at least the quorum), and writes each round's global model and the state file atomically, so that a
 * restart on the same `stateDir` resumes from the last completed round with bit-identical weights (an interrupted
 * round is restarted). Under secure aggregation partners post masked words and the coordinator only holds their sum.
 *
 * Every route needs a bearer token (each partner its own; tokens are looked up by SHA-256 digest, never compared
 * character by character); no route returns an individual update. Error codes: see {@link ErrorBody}.
 *
 * @example
 * ```ts
 * import { buildMlp, initRuntime } from '@lepton/core';
 * import { FederatedCoordinator, readWeights } from '@lepton/federated';
 * await initRuntime({ backend: 'cpu' });
 * const coordinator = await FederatedCoordinator.start({
 *   initialWeights: await readWeights(buildMlp({ inputDim: 4, hiddenUnits: [8], seed: 1 })),
 *   partners: [{ id: 'clinic-a', token: 'a'.repeat(32) }, { id: 'clinic-b', token: 'b'.repeat(32) }],
 *   rounds: 5,
 *   quorum: 2,
 *   roundDeadlineMs: 60_000,
 *   stateDir: '/tmp/federation',
 * });
 * console.log(coordinator.url); // give this URL and each partner's token to the partners
 * await coordinator.close();
 * ```
 */
export class FederatedCoordinator {
  /** Base URL partners connect to, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  private readonly routeList: RouteInfo[];
  private globalCache: { key: string; bytes: Uint8Array } | null = null;
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly app: FastifyInstance,
    private readonly engine: RoundEngine,
    private readonly o: ResolvedCoordinatorOptions,
    url: string,
    routes: RouteInfo[],
  ) {
    this.url = url;
    this.routeList = routes;
  }

  /**
   * Starts a coordinator: loads (or creates) the state in `stateDir`, opens the next round and listens.
   *
   * @param options - see {@link CoordinatorOptions}
   * @returns the listening coordinator
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for bad options; `FEDERATED_STATE_INVALID` when `stateDir` holds a
   *   corrupt state (a field of `state.json` of the wrong type or shape, or a weights file outside `stateDir`), one made for a model with other weight specs or another `federationId`, or no round whose
   *   weights verify (current weights that do not verify fall back to the last round that does, recorded in `failures`)
   */
  static async start(options: CoordinatorOptions): Promise<FederatedCoordinator> {
    const o = await resolveCoordinatorOptions(options);
    await mkdir(o.stateDir, { recursive: true });
    const restored = await loadState(o.stateDir, o.initialWeights.specs);
    let state: FederatedState;
    let global: WeightSet;
    if (restored === null) {
      global = { specs: o.initialWeights.specs, values: Float32Array.from(o.initialWeights.values) };
      const saved = await saveRoundModel(o.stateDir, 0, global, { participants: [], samples: {}, initial: true }, o.model, o.bundleName, o.bundleSigningKey);
      const now = new Date().toISOString();
      state = {
        format: 'lepton-federated-state',
        formatVersion: 1,
        federationId: o.federationId ?? randomUUID(),
        specs: global.specs,
        totalRounds: o.rounds,
        completedRounds: 0,
        current: { file: saved.file, sha256: saved.sha256, bytes: saved.bytes },
        history: [],
        baseline: {},
        failures: [],
        createdAt: now,
        updatedAt: now,
      };
      await writeState(o.stateDir, state);
    } else {
      ({ state, global } = restored);
      if (o.federationId !== null && state.federationId !== o.federationId) {
        throw new LeptonError(
          'FEDERATED_STATE_INVALID',
          `Federated state in ${o.stateDir} belongs to federation ${describeValue(state.federationId, 128)}, not '${o.federationId}'. Use that id or another stateDir.`,
          { details: { stateDir: o.stateDir } },
        );
      }
      state.totalRounds = o.rounds;
      if (restored.removed.length > 0) o.logger.warn('removed stale temporaries', { removed: restored.removed });
      if (restored.recovered !== null) {
        const { from, to, reason } = restored.recovered;
        const message = `Restart: the weights of round ${from} were unusable (${reason}); fell back to round ${to}, the last that verifies.`;
        state.failures.push({ round: from, attempt: 0, phase: 'restart', received: 0, required: 0, code: 'FEDERATED_STATE_INVALID', message, at: new Date().toISOString() });
        o.logger.warn('state recovered from an earlier round', { from, to, reason });
      }
      await writeState(o.stateDir, state);
      if (o.model !== null) writeWeights(o.model, global);
      o.logger.info('resumed federation', { completedRounds: state.completedRounds, stateDir: o.stateDir });
    }
    const engine = new RoundEngine(o, state, global, randomUUID());
    const routes: RouteInfo[] = [];
    // Without these limits a client sending one byte a second holds a connection open forever (slow loris). Node
    // enforces requestTimeout/headersTimeout only when it sweeps connections, so sweep often enough to honour them.
    const app = Fastify({
      logger: false,
      forceCloseConnections: true,
      bodyLimit: 1024 * 1024,
      requestTimeout: o.http.requestTimeoutMs,
      connectionTimeout: o.http.connectionTimeoutMs,
      keepAliveTimeout: o.http.keepAliveTimeoutMs,
      http: {
        headersTimeout: Math.min(o.http.requestTimeoutMs, 60_000),
        connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(o.http.requestTimeoutMs / 4))),
      },
    });
    app.addHook('onRoute', (r) => {
      for (const m of [r.method].flat()) if (m !== 'HEAD') routes.push({ method: m, url: r.url });
    });
    const coordinator = (url: string): FederatedCoordinator => new FederatedCoordinator(app, engine, o, url, routes);
    let self: FederatedCoordinator | null = null;
    registerRoutes(app, engine, o, () => self!);
    try {
      await app.listen({ host: o.host, port: o.port });
    } catch (err) {
      await engine.shutdown();
      throw new LeptonError('INVALID_ARGUMENT', `FederatedCoordinator: cannot listen on ${o.host}:${o.port} (${(err as Error).message}).`, { cause: err });
    }
    const addr = app.server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    self = coordinator(`http://${host}:${addr.port}`);
    o.logger.info('coordinator listening', { url: self.url, round: engine.round });
    return self;
  }

  /** @internal The encoded current global weights, cached per version. */
  globalBytes(): Uint8Array {
    const key = `${this.engine.state.completedRounds}`;
    if (this.globalCache?.key !== key) {
      const version = this.engine.state.completedRounds;
      this.globalCache = { key, bytes: encodeWeights(this.engine.global, { version, round: version + 1 }) };
    }
    return this.globalCache.bytes;
  }

  /**
   * Completed rounds: participants, sample counts, closing reason, dropped partners, training metrics and each
   * partner's held-out evaluation of that round's global model.
   *
   * @returns one record per completed round, oldest first
   */
  history(): RoundRecord[] {
    return structuredClone(this.engine.state.history);
  }

  /**
   * Held-out metrics of the initial model (version 0), per partner: the baseline the rounds improve on.
   *
   * @returns partner id → metrics
   */
  baseline(): Record<string, Record<string, number>> {
    return structuredClone(this.engine.state.baseline);
  }

  /**
   * The whole state for operators (also served to the admin token at `GET /v1/status`).
   *
   * @returns phase, round, progress, history, failures and recent rejections
   */
  status(): CoordinatorStatus {
    const e = this.engine;
    return structuredClone({
      session: e.session,
      phase: e.phase,
      round: e.round,
      attempt: e.attempt,
      totalRounds: this.o.rounds,
      completedRounds: e.state.completedRounds,
      quorum: this.o.quorum,
      partners: this.o.partners.map((p) => p.id),
      secureAggregation: this.o.secureAggregation,
      algorithm: this.o.algorithm,
      federationId: e.state.federationId,
      dp: this.o.dp,
      privacy: this.o.dp === null ? null : cumulativePrivacy(e.state.history, this.o.dp.delta),
      deadlineAt: e.info({ kind: 'admin' }).deadlineAt,
      current: e.current(),
      history: e.state.history,
      baseline: e.state.baseline,
      failures: e.state.failures,
      rejections: e.rejections,
      unauthenticatedRequests: e.unauthenticatedRequests,
      failure: e.failure,
    });
  }

  /**
   * A copy of the current global weights (version `completedRounds`).
   *
   * @returns specs and values
   */
  globalWeights(): WeightSet {
    return { specs: this.engine.global.specs.map((s) => ({ name: s.name, shape: [...s.shape] })), values: Float32Array.from(this.engine.global.values) };
  }

  /**
   * Settles when the federation ends.
   *
   * @returns the history once every round completed
   * @throws {@link @lepton/core!LeptonError} `FEDERATED_QUORUM_NOT_MET` when a round used up its attempts; `FEDERATED_UNAVAILABLE`
   *   when the coordinator was closed first; `FEDERATED_STATE_INVALID` when a round could not be saved
   */
  async done(): Promise<RoundRecord[]> {
    return structuredClone(await this.engine.done);
  }

  /**
   * Every route the coordinator serves (for audits: none returns an individual update).
   *
   * @returns method and path template of each route
   */
  routes(): RouteInfo[] {
    return this.routeList.map((r) => ({ ...r }));
  }

  /**
   * Stops listening (open connections are cut, long polls answered) after any round being saved has been written.
   * The round in progress is lost; a coordinator started on the same `stateDir` restarts it. Idempotent.
   *
   * @returns when the server is closed
   */
  async close(): Promise<void> {
    this.closing ??= (async () => {
      await this.engine.shutdown();
      await this.app.close();
    })();
    return this.closing;
  }
}

function registerRoutes(app: FastifyInstance, engine: RoundEngine, o: ResolvedCoordinatorOptions, self: () => FederatedCoordinator): void {
  const identities = new WeakMap<FastifyRequest, Identity>();
  const byToken = new Map<string, Identity>(o.partners.map((p) => [digest(p.token), { kind: 'partner', id: p.id }]));
  if (o.adminToken !== null) byToken.set(digest(o.adminToken), { kind: 'admin' });

  const reject = (err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply => {
    let code = 'FEDERATED_INTERNAL';
    let status = 500;
    let message = 'Internal error in the coordinator; see its log.';
    if (err instanceof LeptonError) {
      code = String(err.code);
      status = httpStatusFor(code);
      message = err.message;
    } else if (typeof (err as { statusCode?: unknown }).statusCode === 'number' && (err as { statusCode: number }).statusCode < 500) {
      // Fastify's own 4xx: body too large (413), wrong content type (415), malformed JSON (400).
      code = 'FEDERATED_BAD_REQUEST';
      status = (err as { statusCode: number }).statusCode;
      message = (err as Error).message;
    } else {
      o.logger.error('request failed', { error: String(err).slice(0, 2000), url: req.url.slice(0, 200) });
    }
    const who = identities.get(req);
    if (who === undefined) {
      // Failed authentication (or a request refused before it): counted, never recorded or logged one by one. An
      // outsider must not be able to write into the operator's rejection list or log, nor flush real rejections out.
      engine.unauthenticatedRequests++;
    } else {
      const entry = { status, code, message, method: req.method, route: req.routeOptions.url ?? req.url.split('?')[0]!, partner: who.kind === 'partner' ? who.id : null };
      // recordRejection cuts the message and route to a bounded length; the log line uses the same bounded record.
      o.logger.warn('request rejected', { ...engine.recordRejection(entry) });
    }
    const body: ErrorBody = { code, message };
    return reply.code(status).send(body);
  };

  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: o.maxUpdateBytes }, (_req, body, done) => done(null, body));
  app.setErrorHandler((err, req, reply) => reject(err, req, reply));
  app.setNotFoundHandler((req, reply) => reject(new LeptonError('FEDERATED_NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}.`), req, reply));

  // Authentication first, on every route including unknown ones: a missing or unknown token learns nothing.
  app.addHook('onRequest', async (req) => {
    const m = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '');
    const who = m === null ? undefined : byToken.get(digest(m[1]!));
    if (who === undefined) {
      throw new LeptonError('FEDERATED_UNAUTHORIZED', 'Missing or unknown bearer token; send "Authorization: Bearer <your partner token>".');
    }
    identities.set(req, who);
  });

  const who = (req: FastifyRequest): Identity => identities.get(req)!;
  const asPartner = (req: FastifyRequest, claimed: string): string => {
    const w = who(req);
    if (w.kind !== 'partner') throw new LeptonError('FEDERATED_FORBIDDEN', 'Only partners post to this route.');
    if (w.id !== claimed) throw new LeptonError('FEDERATED_FORBIDDEN', `The token belongs to partner '${w.id}', not '${claimed}'; use your own id.`);
    return w.id;
  };

  app.get<{ Querystring: { since?: string; session?: string; waitMs?: string } }>(ROUTES.round, async (req) => {
    const since = Number(req.query.since);
    const wait = Math.min(Number(req.query.waitMs ?? 0) || 0, MAX_WAIT_MS, o.http.connectionTimeoutMs / 2);
    if (req.query.session === engine.session && Number.isInteger(since)) await engine.waitForChange(since, wait);
    return engine.info(who(req));
  });

  app.get(ROUTES.global, async (req, reply) => {
    const w = who(req);
    if (w.kind === 'partner') engine.markFetched(w.id);
    const bytes = self().globalBytes();
    const chunks = function* (): Generator<Buffer> {
      for (let i = 0; i < bytes.length; i += CHUNK) yield Buffer.from(bytes.buffer, bytes.byteOffset + i, Math.min(CHUNK, bytes.length - i));
    };
    reply.type('application/octet-stream').header('content-length', bytes.length).header('x-lepton-version', engine.state.completedRounds);
    return reply.send(Readable.from(chunks()));
  });

  app.post<{ Params: { round: string; partnerId: string } }>(ROUTES.keys, async (req) => {
    engine.postKey(asPartner(req, req.params.partnerId), req.params.round, req.body);
    return { accepted: true, round: engine.round };
  });

  app.post<{ Params: { round: string; partnerId: string } }>(ROUTES.updates, async (req) => {
    const id = asPartner(req, req.params.partnerId);
    if (!Buffer.isBuffer(req.body)) throw new LeptonError('FEDERATED_BAD_UPDATE', 'Update: send the encoded update as application/octet-stream.');
    const body = req.body;
    engine.postUpdate(id, req.params.round, new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
    return { accepted: true, round: Number(req.params.round) };
  });

  app.post<{ Params: { round: string; partnerId: string } }>(ROUTES.confirmations, async (req) => {
    engine.postConfirmation(asPartner(req, req.params.partnerId), req.params.round, req.body);
    return { accepted: true };
  });

  app.post<{ Params: { round: string; partnerId: string } }>(ROUTES.reveals, async (req) => {
    engine.postReveal(asPartner(req, req.params.partnerId), req.params.round, req.body);
    return { accepted: true };
  });

  app.post<{ Params: { version: string; partnerId: string } }>(ROUTES.metrics, async (req) => {
    engine.postMetrics(asPartner(req, req.params.partnerId), req.params.version, req.body);
    return { accepted: true };
  });

  app.get(ROUTES.status, async (req) => {
    if (who(req).kind !== 'admin') throw new LeptonError('FEDERATED_FORBIDDEN', 'GET /v1/status needs the admin token.');
    return self().status();
  });
}
