import { LeptonError } from '../errors/lepton-error.js';
import { fedAvg } from './algorithms.js';
import type { ResolvedCoordinatorOptions } from './http-options.js';
import type { AppliedDp, FailureInfo, KeyPost, MetricsPost, ParticipantKey, RevealPost, RoundInfo, RoundPhase, UpdateMeta } from './http-protocol.js';
import { saveRoundModel, writeState, type AttemptFailure, type FederatedState, type RoundClose, type RoundRecord } from './http-state.js';
import { removeDroppedMasks, sumMasked, unmaskSum } from './privacy.js';
import { decodeWeights, type WeightSet } from './weights.js';

/** @internal Who is calling: an enrolled partner or the admin. */
export type Identity = { kind: 'partner'; id: string } | { kind: 'admin' };

/** One rejected request, as `status().rejections` lists it (the last 1000). */
export interface RejectionRecord {
  /** ISO time. */
  at: string;
  /** Round in progress when it was rejected. */
  round: number;
  /** HTTP status answered. */
  status: number;
  /** Error code answered. */
  code: string;
  /** Error message answered. */
  message: string;
  /** HTTP method. */
  method: string;
  /** Route template (or the raw path for unknown routes). */
  route: string;
  /** The authenticated partner, or null (admin, or no valid token). */
  partner: string | null;
}

/** @internal A received update's bookkeeping (never the update itself, which lives in `plain` or the masked sum). */
interface Received {
  samples: number;
  metrics: Record<string, number>;
  dp: AppliedDp | null;
}

const fail = (code: string, message: string, details: Record<string, unknown> = {}): never => {
  throw new LeptonError(code, message, { details });
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function isKeyString(v: unknown): v is string {
  return typeof v === 'string' && Buffer.from(v, 'base64').length === 32 && Buffer.from(v, 'base64').toString('base64') === v;
}

function checkMetrics(v: unknown, what: string): Record<string, number> {
  if (!isObject(v)) return fail('FEDERATED_BAD_REQUEST', `${what}: metrics must be an object of name → finite number.`);
  const entries = Object.entries(v);
  if (entries.length > 64) fail('FEDERATED_BAD_REQUEST', `${what}: at most 64 metrics, got ${entries.length}.`);
  for (const [k, x] of entries) {
    if (k.length > 64 || typeof x !== 'number' || !Number.isFinite(x)) fail('FEDERATED_BAD_REQUEST', `${what}: metric '${k.slice(0, 64)}' is not a finite number.`);
  }
  return { ...(v as Record<string, number>) };
}

const positiveCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 1e12;

/**
 * @internal The coordinator's round state machine, without HTTP: phases, deadlines, validation of every submission,
 * aggregation and persistence. Single-threaded by construction (Node's event loop); every public method either
 * throws a {@link LeptonError} and changes nothing, or applies its whole change.
 */
export class RoundEngine {
  phase: RoundPhase = 'training';
  round = 0;
  attempt = 1;
  stateVersion = 0;
  failure: FailureInfo | null = null;
  readonly rejections: RejectionRecord[] = [];
  private fetched = new Set<string>();
  private keys = new Map<string, { publicKey: string; samples: number }>();
  private participants: ParticipantKey[] | null = null;
  private totalSamples: number | null = null;
  private received = new Map<string, Received>();
  private plain = new Map<string, Float32Array>();
  private maskedSum: Uint32Array | null = null;
  private droppedParticipants: string[] = [];
  private reveals = new Map<string, Map<string, Uint8Array>>();
  private closedBy: RoundClose = 'all';
  private timer: NodeJS.Timeout | null = null;
  private deadlineAt: number | null = null;
  private writes: Promise<void> = Promise.resolve();
  private persisting: Promise<void> = Promise.resolve();
  private waiters = new Set<() => void>();
  private closed = false;
  private settle!: { resolve: (h: RoundRecord[]) => void; reject: (e: unknown) => void };
  /** Settles when every round is done (resolves with the history) or the federation fails. */
  readonly done: Promise<RoundRecord[]>;

  constructor(
    private readonly o: ResolvedCoordinatorOptions,
    public state: FederatedState,
    public global: WeightSet,
    readonly session: string,
  ) {
    this.done = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.done.catch(() => {}); // observed through done(); never an unhandled rejection
    this.openRound(state.completedRounds + 1);
  }

  // ---- lifecycle -------------------------------------------------------------------------------------------------

  private bump(): void {
    this.stateVersion++;
    for (const w of this.waiters) w();
    this.waiters.clear();
  }

  /** Resolves when the state changes from `since` (or at once if it already did), or after `waitMs`. */
  async waitForChange(since: number, waitMs: number): Promise<void> {
    if (since !== this.stateVersion || this.phase === 'done' || this.phase === 'failed' || waitMs <= 0) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.waiters.delete(wake);
        resolve();
      }, waitMs);
      const wake = (): void => {
        clearTimeout(t);
        resolve();
      };
      this.waiters.add(wake);
    });
  }

  private startTimer(ms: number, onFire: () => void): void {
    this.stopTimer();
    this.deadlineAt = Date.now() + ms;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.deadlineAt = null;
      onFire();
    }, ms);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.deadlineAt = null;
  }

  private roundId(): string {
    return `${this.session}:${this.round}:${this.attempt}`;
  }

  private resetAttempt(keepPlain: boolean): void {
    this.keys.clear();
    this.participants = null;
    this.totalSamples = null;
    this.maskedSum = null;
    this.droppedParticipants = [];
    this.reveals.clear();
    if (!keepPlain) {
      this.received.clear();
      this.plain.clear();
      this.fetched.clear();
    }
  }

  private openRound(round: number): void {
    this.stopTimer();
    this.round = round;
    this.attempt = 1;
    this.resetAttempt(false);
    if (round > this.o.rounds) {
      this.phase = 'done';
      this.o.logger.info('federation done', { rounds: this.state.completedRounds });
      this.settle.resolve(this.state.history);
    } else {
      this.phase = this.o.secureAggregation ? 'keys' : 'training';
      this.o.logger.info('round open', { round, phase: this.phase });
    }
    this.bump();
  }

  /** Stops the timers and wakes every long-poll; the engine accepts nothing afterwards. */
  async shutdown(): Promise<void> {
    this.closed = true;
    this.stopTimer();
    if (this.phase !== 'done' && this.phase !== 'failed') {
      this.failure = { code: 'FEDERATED_UNAVAILABLE', message: 'The coordinator was closed.' };
      this.settle.reject(new LeptonError('FEDERATED_UNAVAILABLE', 'The coordinator was closed before the federation finished.'));
    }
    for (const w of this.waiters) w();
    this.waiters.clear();
    await this.persisting.catch(() => {});
    await this.writes.catch(() => {});
  }

  private failFederation(code: string, message: string): void {
    this.stopTimer();
    this.phase = 'failed';
    this.failure = { code, message };
    this.o.logger.error('federation failed', { code, message, round: this.round });
    this.settle.reject(new LeptonError(code, message, { details: { round: this.round } }));
    this.bump();
  }

  private queueStateWrite(): Promise<void> {
    this.writes = this.writes.then(() => writeState(this.o.stateDir, this.state));
    return this.writes;
  }

  /** Records a rejected request (the HTTP layer calls this for every 4xx). */
  recordRejection(entry: Omit<RejectionRecord, 'at' | 'round'>): void {
    this.rejections.push({ at: new Date().toISOString(), round: this.round, ...entry });
    if (this.rejections.length > 1000) this.rejections.shift();
  }

  // ---- deadlines, closing, aggregation -----------------------------------------------------------------------

  private failAttempt(received: number, required: number): void {
    const failure: AttemptFailure = {
      round: this.round,
      attempt: this.attempt,
      phase: this.phase,
      received,
      required,
      code: 'FEDERATED_QUORUM_NOT_MET',
      message: `Round ${this.round} attempt ${this.attempt} (${this.phase}) got ${received} of the ${required} needed by its deadline.`,
      at: new Date().toISOString(),
    };
    this.state.failures.push(failure);
    void this.queueStateWrite().catch((err: unknown) => this.o.logger.error('state write failed', { error: String(err) }));
    this.o.logger.warn('round attempt failed', { ...failure });
    if (this.attempt >= this.o.maxRoundAttempts) {
      this.failFederation('FEDERATED_QUORUM_NOT_MET', `${failure.message} No attempts left (maxRoundAttempts ${this.o.maxRoundAttempts}).`);
      return;
    }
    this.attempt++;
    if (this.o.secureAggregation) {
      // Masks are bound to the attempt's keys: everything starts over from the key phase.
      this.resetAttempt(false);
      this.phase = 'keys';
    } else {
      // Plain updates stay valid (same global weights): keep them and give the others a new deadline.
      this.phase = 'training';
      this.startTimer(this.o.roundDeadlineMs, () => this.onTrainingDeadline());
    }
    this.bump();
  }

  private onTrainingDeadline(): void {
    if (this.received.size >= this.o.quorum) this.closeRound('deadline');
    else this.failAttempt(this.received.size, this.o.quorum);
  }

  private maybeClose(): void {
    const expected = this.participants?.length ?? this.o.partners.length;
    if (this.received.size >= expected) this.closeRound('all');
    else if (this.o.closeOnQuorum && this.received.size >= this.o.quorum) this.closeRound('quorum');
  }

  private closeRound(by: RoundClose): void {
    this.stopTimer();
    this.closedBy = by;
    if (this.o.secureAggregation) {
      this.droppedParticipants = (this.participants ?? []).map((p) => p.id).filter((id) => !this.received.has(id));
      if (this.droppedParticipants.length > 0) {
        // The dropped set is fixed here; their late updates are refused from now on (privacy.ts's trust model).
        this.phase = 'unmasking';
        this.o.logger.info('round needs unmasking', { round: this.round, dropped: this.droppedParticipants });
        this.startTimer(this.o.revealDeadlineMs, () => this.failAttempt(this.reveals.size, this.received.size));
        this.bump();
        return;
      }
    }
    this.aggregate();
  }

  private averageDelta(): Float32Array {
    if (!this.o.secureAggregation) {
      return fedAvg([...this.plain].map(([id, values]) => ({ values, samples: this.received.get(id)!.samples })));
    }
    const sum = this.maskedSum!;
    for (const [survivor, seeds] of this.reveals) {
      for (const [dropped, seed] of seeds) removeDroppedMasks(sum, survivor, dropped, seed);
    }
    // Each participant sent (samples / totalSamples)·delta; the survivors' weights sum to survivorSamples / total.
    const s = unmaskSum(sum, this.o.masking);
    let survivorSamples = 0;
    for (const r of this.received.values()) survivorSamples += r.samples;
    const factor = this.totalSamples! / survivorSamples;
    const out = new Float32Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s[i]! * factor;
    return out;
  }

  private aggregate(): void {
    this.phase = 'aggregating';
    this.bump();
    let avg: Float32Array;
    try {
      avg = this.averageDelta();
    } catch (err) {
      this.failFederation('FEDERATED_BAD_UPDATE', `Round ${this.round} could not be aggregated: ${(err as Error).message}`);
      return;
    }
    const values = new Float32Array(this.global.values.length);
    for (let i = 0; i < values.length; i++) values[i] = this.global.values[i]! + avg[i]!;
    const next: WeightSet = { specs: this.global.specs, values };
    this.persisting = this.persistRound(next).catch((err: unknown) => {
      this.failFederation('FEDERATED_STATE_INVALID', `Round ${this.round} could not be saved to ${this.o.stateDir}: ${(err as Error).message}`);
    });
  }

  private async persistRound(next: WeightSet): Promise<void> {
    const round = this.round;
    const ids = [...this.received.keys()].sort();
    const samples = Object.fromEntries(ids.map((id) => [id, this.received.get(id)!.samples]));
    const totalSamples = ids.reduce((s, id) => s + this.received.get(id)!.samples, 0);
    const trainMetrics = Object.fromEntries(ids.map((id) => [id, this.received.get(id)!.metrics]));
    const appliedDp: Record<string, AppliedDp> = {};
    for (const id of ids) if (this.received.get(id)!.dp !== null) appliedDp[id] = this.received.get(id)!.dp!;
    const dropped = this.o.secureAggregation ? [...this.droppedParticipants] : [...this.fetched].filter((id) => !this.received.has(id));
    const meanTrainMetrics: Record<string, number> = {};
    for (const id of ids) {
      for (const [k, v] of Object.entries(trainMetrics[id]!)) meanTrainMetrics[k] = (meanTrainMetrics[k] ?? 0) + (v * samples[id]!) / totalSamples;
    }
    const manifest = { participants: ids, dropped: dropped.sort(), samples, totalSamples, trainMetrics, meanTrainMetrics, closedBy: this.closedBy };
    const saved = await saveRoundModel(this.o.stateDir, round, next, manifest, this.o.model, this.o.bundleName);
    const record: RoundRecord = {
      round,
      attempt: this.attempt,
      closedBy: this.closedBy,
      participants: ids,
      dropped: manifest.dropped,
      samples,
      totalSamples,
      trainMetrics,
      evaluations: {},
      secureAggregation: this.o.secureAggregation,
      dp: this.o.dp,
      appliedDp,
      weightsFile: saved.file,
      weightsSha256: saved.sha256,
      bundleDir: saved.bundleDir,
      closedAt: new Date().toISOString(),
    };
    this.state = {
      ...this.state,
      completedRounds: round,
      current: { file: saved.file, sha256: saved.sha256, bytes: saved.bytes },
      history: [...this.state.history, record],
      updatedAt: record.closedAt,
    };
    this.global = next;
    // Partners see the next round only once the completed one is durable on disk.
    await this.queueStateWrite();
    this.o.logger.info('round closed', { round, closedBy: record.closedBy, participants: ids, dropped: record.dropped });
    if (this.phase === 'aggregating' && !this.closed) this.openRound(round + 1);
  }

  // ---- requests ------------------------------------------------------------------------------------------------

  private checkRound(param: string, what: string, phase: RoundPhase): number {
    const r = Number(param);
    if (!Number.isInteger(r) || r < 1) fail('FEDERATED_BAD_REQUEST', `${what}: round '${param}' is not a positive integer.`);
    const closed = (why: string): never => fail('FEDERATED_ROUND_CLOSED', `${what} for round ${r}: ${why}; fetch GET /v1/round and join the current round.`, { round: r });
    if (this.phase === 'failed') closed('the federation has failed');
    if (r < this.round || this.phase === 'done') closed('that round is closed');
    if (r > this.round) fail('FEDERATED_WRONG_PHASE', `${what} for round ${r}: round ${this.round} is in progress.`, { round: r });
    if (this.phase !== phase) {
      const order: RoundPhase[] = ['keys', 'training', 'unmasking', 'aggregating'];
      if (order.indexOf(this.phase) > order.indexOf(phase)) closed(`the ${phase} phase is over`);
      fail('FEDERATED_WRONG_PHASE', `${what} for round ${r}: the round is in its ${this.phase} phase, not ${phase}.`, { round: r });
    }
    return r;
  }

  private checkAttempt(attempt: unknown, what: string): void {
    if (attempt !== this.attempt) fail('FEDERATED_ROUND_CLOSED', `${what}: attempt ${String(attempt)} is over; round ${this.round} is on attempt ${this.attempt}.`);
  }

  /** A partner fetched the global weights: counts it as taking part, and starts the plain-mode deadline. */
  markFetched(id: string): void {
    if (this.phase !== 'training' && this.phase !== 'keys') return;
    this.fetched.add(id);
    if (!this.o.secureAggregation && this.phase === 'training' && this.timer === null) {
      this.startTimer(this.o.roundDeadlineMs, () => this.onTrainingDeadline());
      this.bump();
    }
  }

  /** `POST /v1/rounds/:round/keys/:id`. */
  postKey(id: string, roundParam: string, body: unknown): void {
    if (!this.o.secureAggregation) fail('FEDERATED_WRONG_PHASE', 'This coordinator does not run secure aggregation; send the update directly.');
    this.checkRound(roundParam, 'Key', 'keys');
    if (!isObject(body)) fail('FEDERATED_BAD_REQUEST', 'Key: the body must be {publicKey, samples, attempt}.');
    const b = body as Partial<KeyPost>;
    this.checkAttempt(b.attempt, 'Key');
    if (this.keys.has(id)) fail('FEDERATED_DUPLICATE_UPDATE', `Key: partner '${id}' already sent its key for round ${this.round}.`);
    if (!isKeyString(b.publicKey)) fail('FEDERATED_BAD_KEY', 'Key: publicKey must be the base64 of 32 raw X25519 bytes.');
    if (!positiveCount(b.samples)) fail('FEDERATED_BAD_REQUEST', `Key: samples must be a positive integer, got ${String(b.samples)}.`);
    this.keys.set(id, { publicKey: b.publicKey!, samples: b.samples! });
    if (this.keys.size === 1) this.startTimer(this.o.keyDeadlineMs, () => this.onKeyDeadline());
    if (this.keys.size === this.o.partners.length) this.publishKeys();
    this.bump();
  }

  private onKeyDeadline(): void {
    if (this.keys.size >= this.o.quorum) {
      this.publishKeys();
      this.bump();
    } else this.failAttempt(this.keys.size, this.o.quorum);
  }

  private publishKeys(): void {
    const ids = [...this.keys.keys()].sort();
    this.participants = ids.map((id) => ({ id, publicKey: this.keys.get(id)!.publicKey }));
    this.totalSamples = ids.reduce((s, id) => s + this.keys.get(id)!.samples, 0);
    this.phase = 'training';
    this.startTimer(this.o.roundDeadlineMs, () => this.onTrainingDeadline());
  }

  /** `POST /v1/rounds/:round/updates/:id`: validates completely before anything is kept. */
  postUpdate(id: string, roundParam: string, bytes: Uint8Array): void {
    this.checkRound(roundParam, 'Update', 'training');
    if (this.participants !== null && !this.keys.has(id)) {
      fail('FEDERATED_WRONG_PHASE', `Update: partner '${id}' sent no key for round ${this.round} attempt ${this.attempt}, so it cannot join it.`);
    }
    if (this.received.has(id)) fail('FEDERATED_DUPLICATE_UPDATE', `Update: partner '${id}' already sent its update for round ${this.round}.`);
    const payload = decodeWeights(bytes, this.global.specs);
    const want = this.o.secureAggregation ? 'uint32' : 'float32';
    if (payload.dtype !== want) {
      fail('FEDERATED_BAD_UPDATE', `Update: this coordinator expects ${want} ${this.o.secureAggregation ? 'masked words (encodeMasked)' : 'weights (encodeWeights)'}, got ${payload.dtype}.`);
    }
    const meta = payload.meta as Partial<UpdateMeta>;
    if (!positiveCount(meta.samples)) fail('FEDERATED_BAD_UPDATE', `Update: meta.samples must be a positive integer, got ${String(meta.samples)}.`);
    if (meta.baseVersion !== this.state.completedRounds) {
      fail('FEDERATED_ROUND_CLOSED', `Update: trained from global version ${String(meta.baseVersion)}, but round ${this.round} starts from version ${this.state.completedRounds}.`);
    }
    if (this.o.secureAggregation) {
      this.checkAttempt(meta.attempt, 'Update');
      if (meta.samples !== this.keys.get(id)!.samples) fail('FEDERATED_BAD_UPDATE', `Update: samples ${meta.samples} differ from the ${this.keys.get(id)!.samples} announced with the key.`);
    } else {
      // decodeWeights already refuses NaN/Inf; this guards the aggregate if that ever changes.
      const v = payload.values as Float32Array;
      for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) fail('FEDERATED_BAD_UPDATE', 'Update: NaN or infinite values.');
    }
    const metrics = meta.metrics === undefined ? {} : checkMetrics(meta.metrics, 'Update');
    const dp = meta.dp ?? null;
    if (this.o.dp !== null) {
      if (!isObject(dp) || !(dp.noiseMultiplier >= this.o.dp.noiseMultiplier) || !(dp.clipNorm <= this.o.dp.clipNorm)) {
        fail('FEDERATED_BAD_UPDATE', `Update: this federation requires differential privacy (clipNorm ≤ ${this.o.dp.clipNorm}, noiseMultiplier ≥ ${this.o.dp.noiseMultiplier}) and the update reports none or less.`);
      }
    }
    if (this.o.secureAggregation) {
      const words = payload.values as Uint32Array;
      this.maskedSum = this.maskedSum === null ? words : sumMasked([this.maskedSum, words]);
    } else {
      this.plain.set(id, payload.values as Float32Array);
    }
    this.received.set(id, { samples: meta.samples!, metrics, dp });
    // Also starts the plain-mode deadline when a partner posts without having fetched (the round must not wait forever).
    this.markFetched(id);
    this.o.logger.info('update accepted', { round: this.round, partner: id, samples: meta.samples });
    this.bump();
    this.maybeClose();
  }

  /** `POST /v1/rounds/:round/reveals/:id`: a survivor's pair seeds with the dropped participants. */
  postReveal(id: string, roundParam: string, body: unknown): void {
    this.checkRound(roundParam, 'Reveal', 'unmasking');
    if (!isObject(body) || !isObject(body['seeds'])) fail('FEDERATED_BAD_REQUEST', 'Reveal: the body must be {attempt, seeds: {droppedId: base64}}.');
    const b = body as unknown as RevealPost;
    this.checkAttempt(b.attempt, 'Reveal');
    if (!this.received.has(id)) fail('FEDERATED_FORBIDDEN', `Reveal: partner '${id}' is not a survivor of round ${this.round}; only survivors reveal.`);
    if (this.reveals.has(id)) fail('FEDERATED_DUPLICATE_UPDATE', `Reveal: partner '${id}' already revealed its seeds.`);
    const given = Object.keys(b.seeds).sort();
    if (given.join('\n') !== [...this.droppedParticipants].sort().join('\n')) {
      fail('FEDERATED_BAD_REQUEST', `Reveal: seeds must name exactly the dropped partners (${this.droppedParticipants.join(', ')}).`);
    }
    const seeds = new Map<string, Uint8Array>();
    for (const d of given) {
      const s = b.seeds[d];
      if (!isKeyString(s)) fail('FEDERATED_BAD_KEY', `Reveal: the seed for '${d}' is not the base64 of 32 bytes.`);
      seeds.set(d, new Uint8Array(Buffer.from(s!, 'base64')));
    }
    this.reveals.set(id, seeds);
    this.bump();
    if (this.reveals.size === this.received.size) this.aggregate();
  }

  /** `POST /v1/models/:version/metrics/:id`: held-out metrics of a completed global model. */
  postMetrics(id: string, versionParam: string, body: unknown): void {
    const v = Number(versionParam);
    if (!Number.isInteger(v) || v < 0) fail('FEDERATED_BAD_REQUEST', `Metrics: version '${versionParam}' is not an integer ≥ 0.`);
    if (v > this.state.completedRounds) fail('FEDERATED_WRONG_PHASE', `Metrics: global version ${v} does not exist yet (latest ${this.state.completedRounds}).`);
    if (!isObject(body)) fail('FEDERATED_BAD_REQUEST', 'Metrics: the body must be {metrics, samples}.');
    const b = body as Partial<MetricsPost>;
    const metrics = checkMetrics(b.metrics, 'Metrics');
    if (!positiveCount(b.samples)) fail('FEDERATED_BAD_REQUEST', `Metrics: samples must be a positive integer, got ${String(b.samples)}.`);
    const target = v === 0 ? this.state.baseline : this.state.history[v - 1]!.evaluations;
    if (target[id] !== undefined) fail('FEDERATED_DUPLICATE_UPDATE', `Metrics: partner '${id}' already reported on version ${v}.`);
    target[id] = metrics;
    void this.queueStateWrite().catch((err: unknown) => this.o.logger.error('state write failed', { error: String(err) }));
  }

  // ---- views ---------------------------------------------------------------------------------------------------

  /** The `GET /v1/round` body for `who`. */
  info(who: Identity): RoundInfo {
    const id = who.kind === 'partner' ? who.id : null;
    const survivor = id !== null && this.phase === 'unmasking' && this.received.has(id);
    return {
      session: this.session,
      stateVersion: this.stateVersion,
      phase: this.phase,
      round: this.round,
      attempt: this.attempt,
      totalRounds: this.o.rounds,
      completedRounds: this.state.completedRounds,
      quorum: this.o.quorum,
      partners: this.o.partners.length,
      deadlineAt: this.deadlineAt,
      algorithm: this.o.algorithm,
      mu: this.o.mu,
      secureAggregation: this.o.secureAggregation,
      masking: this.o.secureAggregation ? { ...this.o.masking } : null,
      roundId: this.o.secureAggregation ? this.roundId() : null,
      participants: this.participants === null ? null : this.participants.map((p) => ({ ...p })),
      totalSamples: this.totalSamples,
      dp: this.o.dp === null ? null : { ...this.o.dp },
      specs: this.global.specs,
      you: {
        id,
        fetched: id !== null && this.fetched.has(id),
        keySubmitted: id !== null && this.keys.has(id),
        submitted: id !== null && this.received.has(id),
        participant: id !== null && (this.participants?.some((p) => p.id === id) ?? false),
        reveal: survivor && !this.reveals.has(id) ? [...this.droppedParticipants] : [],
        revealed: id !== null && this.reveals.has(id),
      },
      failure: this.failure,
    };
  }

  /** Ids of partners in each stage of the current round (for the admin status). */
  current(): { fetched: string[]; keys: string[]; submitted: string[]; dropped: string[] } {
    return {
      fetched: [...this.fetched].sort(),
      keys: [...this.keys.keys()].sort(),
      submitted: [...this.received.keys()].sort(),
      dropped: [...this.droppedParticipants],
    };
  }
}
