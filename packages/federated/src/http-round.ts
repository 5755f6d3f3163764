import { describeValue, LeptonError, type LeptonErrorCode } from '@lepton/core';
import { nextGlobal, roundPrivacy, weightedMean } from './http-aggregate.js';
import type { ResolvedCoordinatorOptions } from './http-options.js';
import type { DpClaim, FailureInfo, MetricsPost, RoundInfo, RoundPhase } from './http-protocol.js';
import { SecAggAttempt } from './http-secagg.js';
import { saveRoundModel, writeState, type AttemptFailure, type FederatedState, type RoundClose, type RoundRecord } from './http-state.js';
import { checkBounds, checkDpClaim, checkDpPlausible, parseMetrics, parseUpdateMeta } from './update-checks.js';
import { decodeWeights, type WeightSet } from './weights.js';

/** @internal Who is calling: an enrolled partner or the admin. */
export type Identity = { kind: 'partner'; id: string } | { kind: 'admin' };

/** @internal Longest message and route a {@link RejectionRecord} keeps (the rest is cut). */
export const MAX_REJECTION_TEXT = 200;

/**
 * One rejected request of an authenticated caller, as `status().rejections` lists it (the last 1000). Requests that
 * fail authentication are not recorded (see `CoordinatorStatus.unauthenticatedRequests`).
 */
export interface RejectionRecord {
  /** ISO time. */
  at: string;
  /** Round in progress when it was rejected. */
  round: number;
  /** HTTP status answered. */
  status: number;
  /** Error code answered. */
  code: string;
  /** Error message answered, cut to 200 characters. */
  message: string;
  /** HTTP method. */
  method: string;
  /** Route template (or the raw path for unknown routes, cut to 200 characters). */
  route: string;
  /** The authenticated partner, or null (admin, or no valid token). */
  partner: string | null;
}

/** @internal A received update's bookkeeping (never the update itself, which lives in `plain` or the masked sum). */
interface Received {
  /** Weight in the mean (the claim, capped). */
  samples: number;
  /** Whether the claim was capped. */
  capped: boolean;
  /** Training metrics, when they may be kept. */
  metrics: Record<string, number>;
  /** DP claim (diagnostics stripped unless they may be kept). */
  dp: DpClaim | null;
}

const fail = (code: LeptonErrorCode, message: string, details: Record<string, unknown> = {}): never => {
  throw new LeptonError(code, message, { details });
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const positiveCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 1e12;

/** A round or version number in a path: plain decimal digits ('1e0', '0x1', '-0' and ' 1' name no round). */
const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;

const PHASE_ORDER: RoundPhase[] = ['keys', 'training', 'confirming', 'unmasking', 'aggregating'];

/**
 * @internal The coordinator's round state machine, without HTTP: phases, deadlines, validation of every submission,
 * aggregation and persistence. Single-threaded by construction (Node's event loop); every public method either
 * throws a {@link @lepton/core!LeptonError} and changes nothing, or applies its whole change.
 */
export class RoundEngine {
  phase: RoundPhase = 'training';
  round = 0;
  attempt = 1;
  stateVersion = 0;
  failure: FailureInfo | null = null;
  readonly rejections: RejectionRecord[] = [];
  /** Requests refused before authentication; counted only (see `CoordinatorStatus.unauthenticatedRequests`). */
  unauthenticatedRequests = 0;
  private fetched = new Set<string>();
  private received = new Map<string, Received>();
  private plain = new Map<string, Float32Array>();
  private sec: SecAggAttempt | null = null;
  /**
   * Partners whose update from the current global version was already in an unmasked sum (an attempt whose aggregate
   * was then rejected): they never contribute from this version again (partner-secagg.ts), so they are not waited for.
   */
  private unmasked = new Set<string>();
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
    this.sec = this.o.secureAggregation ? new SecAggAttempt(this.state.federationId, this.roundId(), this.o.partners) : null;
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
    this.unmasked.clear();
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

  private failFederation(code: LeptonErrorCode, message: string): void {
    this.stopTimer();
    this.phase = 'failed';
    this.failure = { code, message };
    this.o.logger.error('federation failed', { code, message, round: this.round });
    this.settle.reject(new LeptonError(code, message, { details: { round: this.round } }));
    this.bump();
  }

  /** Queues a write of the state file (writes never overlap). */
  queueStateWrite(): Promise<void> {
    this.writes = this.writes.then(() => writeState(this.o.stateDir, this.state));
    return this.writes;
  }

  /**
   * Records a rejected request of an authenticated caller (the HTTP layer calls this for every 4xx/5xx it answers an
   * identified caller), its message and route cut to {@link MAX_REJECTION_TEXT} characters. Returns the record.
   */
  recordRejection(entry: Omit<RejectionRecord, 'at' | 'round'>): RejectionRecord {
    const record: RejectionRecord = {
      at: new Date().toISOString(),
      round: this.round,
      ...entry,
      message: entry.message.slice(0, MAX_REJECTION_TEXT),
      route: entry.route.slice(0, MAX_REJECTION_TEXT),
    };
    this.rejections.push(record);
    if (this.rejections.length > 1000) this.rejections.shift();
    return record;
  }

  // ---- deadlines, closing, aggregation -----------------------------------------------------------------------

  /**
   * Ends the current attempt without a new global model: records why, and either retries the round (next attempt) or,
   * after the last attempt (or when `final`), fails the federation with `code`. The published global model is untouched.
   */
  private failAttempt(received: number, required: number, code: LeptonErrorCode = 'FEDERATED_QUORUM_NOT_MET', why?: string, final = false): void {
    const failure: AttemptFailure = {
      round: this.round,
      attempt: this.attempt,
      phase: this.phase,
      received,
      required,
      code,
      message: why ?? `Round ${this.round} attempt ${this.attempt} (${this.phase}) got ${received} of the ${required} needed by its deadline.`,
      at: new Date().toISOString(),
    };
    this.state.failures.push(failure);
    void this.queueStateWrite().catch((err: unknown) => this.o.logger.error('state write failed', { error: String(err) }));
    this.o.logger.warn('round attempt failed', { ...failure });
    if (final) {
      this.failFederation(code, failure.message);
      return;
    }
    if (this.attempt >= this.o.maxRoundAttempts) {
      this.failFederation(code, `${failure.message} No attempts left (maxRoundAttempts ${this.o.maxRoundAttempts}).`);
      return;
    }
    this.attempt++;
    // A bad aggregate leaves no update worth keeping; a missed quorum in plain mode keeps the (valid) updates it got.
    const keepPlain = !this.o.secureAggregation && code === 'FEDERATED_QUORUM_NOT_MET';
    this.resetAttempt(keepPlain);
    if (this.o.secureAggregation) {
      // Masks are bound to the attempt's keys: everything starts over from the key phase.
      this.phase = 'keys';
      this.stopTimer();
    } else {
      this.phase = 'training';
      if (keepPlain) this.startTimer(this.o.roundDeadlineMs, () => this.onTrainingDeadline());
      else this.stopTimer();
    }
    this.bump();
  }

  private onTrainingDeadline(): void {
    if (this.received.size >= this.o.quorum) this.closeRound('deadline');
    else this.failAttempt(this.received.size, this.o.quorum);
  }

  private maybeClose(): void {
    const expected = this.sec?.participants?.length ?? this.o.partners.length;
    if (this.received.size >= expected) this.closeRound('all');
    else if (this.o.closeOnQuorum && this.received.size >= this.o.quorum) this.closeRound('quorum');
  }

  private closeRound(by: RoundClose): void {
    this.stopTimer();
    this.closedBy = by;
    if (this.sec !== null) {
      // The survivor set is fixed here; late updates are refused from now on. Every survivor must confirm this exact
      // set before anyone reveals anything (secagg.ts, step 3).
      this.sec.fixSurvivors([...this.received.keys()]);
      this.phase = 'confirming';
      this.o.logger.info('round closed for confirmation', { round: this.round, survivors: this.sec.survivors, dropped: this.sec.dropped });
      this.startTimer(this.o.revealDeadlineMs, () => this.failAttempt(this.sec?.confirmationCount ?? 0, this.received.size));
      this.bump();
      return;
    }
    this.aggregate();
  }

  /** The round's average update in float64 (plain: FedAvg of the updates; secure: the unmasked, rescaled sum). */
  private averageDelta(): ArrayLike<number> {
    if (this.sec === null) return weightedMean([...this.plain].map(([id, values]) => ({ values, samples: this.received.get(id)!.samples })));
    // Each participant sent (samples / totalSamples)·delta; the survivors' weights sum to survivorSamples / total.
    const s = this.sec.unmask(this.o.masking);
    let survivorSamples = 0;
    for (const r of this.received.values()) survivorSamples += r.samples;
    const factor = this.sec.totalSamples! / survivorSamples;
    return Float64Array.from(s, (v) => v * factor);
  }

  private aggregate(): void {
    // The attempt's deadline (training or reveal) is over once its last submission is in: a timer left running could
    // fire during the awaits of persistRound and fail (reset) the attempt whose model is being saved.
    this.stopTimer();
    this.phase = 'aggregating';
    this.bump();
    let next: Float32Array | string;
    try {
      next = nextGlobal(this.global.values, this.averageDelta(), this.o.updateBounds);
    } catch (err) {
      next = (err as Error).message;
    }
    if (typeof next === 'string') {
      // Never publish a non-finite or out-of-bounds model: keep the last good one, fail (and retry) the attempt.
      const why = `Round ${this.round} attempt ${this.attempt} produced an unusable aggregate (${next}); the global model stays at version ${this.state.completedRounds}.`;
      if (this.sec === null) {
        this.failAttempt(this.received.size, this.received.size, 'FEDERATED_AGGREGATE_INVALID', why);
        return;
      }
      // The survivors' updates were unmasked: none of them sends another update from this version (a second unmasked
      // sum would reveal differences), so a retry can only count on the partners outside that sum.
      for (const id of this.sec.survivors ?? []) this.unmasked.add(id);
      const left = this.o.partners.length - this.unmasked.size;
      const final = left < this.o.quorum;
      const more = final
        ? ` The updates of ${this.unmasked.size} partner(s) from this version were unmasked and will not be sent again; ${left} left, below the quorum of ${this.o.quorum}.`
        : ` Retrying without the ${this.unmasked.size} partner(s) whose updates from this version were unmasked.`;
      this.failAttempt(this.received.size, this.received.size, 'FEDERATED_AGGREGATE_INVALID', why + more, final);
      return;
    }
    const set: WeightSet = { specs: this.global.specs, values: next };
    this.persisting = this.persistRound(set).catch((err: unknown) => {
      this.failFederation('FEDERATED_STATE_INVALID', `Round ${this.round} could not be saved to ${this.o.stateDir}: ${(err as Error).message}`);
    });
  }

  private async persistRound(next: WeightSet): Promise<void> {
    // Everything the record needs is read before the first await: the attempt's maps are not this method's to keep.
    const round = this.round;
    const attempt = this.attempt;
    const ids = [...this.received.keys()].sort();
    const samples = Object.fromEntries(ids.map((id) => [id, this.received.get(id)!.samples]));
    const totalSamples = ids.reduce((s, id) => s + this.received.get(id)!.samples, 0);
    const trainMetrics: Record<string, Record<string, number>> = {};
    for (const id of ids) if (Object.keys(this.received.get(id)!.metrics).length > 0) trainMetrics[id] = this.received.get(id)!.metrics;
    const appliedDp: Record<string, DpClaim> = {};
    for (const id of ids) if (this.received.get(id)!.dp !== null) appliedDp[id] = this.received.get(id)!.dp!;
    const dropped = this.sec !== null ? [...(this.sec.dropped ?? [])] : [...this.fetched].filter((id) => !this.received.has(id));
    const meanTrainMetrics: Record<string, number> = {};
    for (const id of Object.keys(trainMetrics)) {
      // Own entries only: a metric named 'constructor' read Object's function and turned the mean into text.
      for (const [k, v] of Object.entries(trainMetrics[id]!)) meanTrainMetrics[k] = (Object.hasOwn(meanTrainMetrics, k) ? meanTrainMetrics[k]! : 0) + (v * samples[id]!) / totalSamples;
    }
    const privacy = this.o.dp === null ? null : roundPrivacy(this.o.dp, appliedDp, samples, this.state.history, this.sec === null ? 'norm-checked' : 'claimed');
    const cappedSamples = ids.filter((id) => this.received.get(id)!.capped);
    const closedBy = this.closedBy;
    const manifest = { participants: ids, dropped: dropped.sort(), samples, totalSamples, trainMetrics, meanTrainMetrics, closedBy, privacy };
    const saved = await saveRoundModel(this.o.stateDir, round, next, manifest, this.o.model, this.o.bundleName, this.o.bundleSigningKey);
    // Nothing but close() may change the engine while it aggregates; if anything did, this model is not the round's.
    if (this.phase !== 'aggregating' || this.round !== round || this.attempt !== attempt) {
      if (!this.closed) this.o.logger.warn('round model saved but not published: the attempt changed while saving', { round, attempt });
      return;
    }
    const record: RoundRecord = {
      round,
      attempt,
      closedBy,
      participants: ids,
      dropped: manifest.dropped,
      samples,
      cappedSamples,
      totalSamples,
      trainMetrics,
      evaluations: {},
      secureAggregation: this.o.secureAggregation,
      dp: this.o.dp,
      appliedDp,
      privacy,
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
    const r = DECIMAL.test(param) ? Number(param) : NaN;
    if (!Number.isSafeInteger(r) || r < 1) fail('FEDERATED_BAD_REQUEST', `${what}: round '${param.slice(0, 32)}' is not a positive integer.`);
    const closed = (why: string): never => fail('FEDERATED_ROUND_CLOSED', `${what} for round ${r}: ${why}; fetch GET /v1/round and join the current round.`, { round: r });
    if (this.phase === 'failed') closed('the federation has failed');
    if (r < this.round || this.phase === 'done') closed('that round is closed');
    if (r > this.round) fail('FEDERATED_WRONG_PHASE', `${what} for round ${r}: round ${this.round} is in progress.`, { round: r });
    if (this.phase !== phase) {
      if (PHASE_ORDER.indexOf(this.phase) > PHASE_ORDER.indexOf(phase)) closed(`the ${phase} phase is over`);
      fail('FEDERATED_WRONG_PHASE', `${what} for round ${r}: the round is in its ${this.phase} phase, not ${phase}.`, { round: r });
    }
    return r;
  }

  private checkAttempt(attempt: unknown, what: string): void {
    // A malformed attempt is a bad request, not a closed one: a partner would read ROUND_CLOSED as "moved on" and retry.
    if (!(typeof attempt === 'number' && Number.isSafeInteger(attempt) && attempt >= 1)) {
      fail('FEDERATED_BAD_REQUEST', `${what}: attempt must be a positive integer, got ${describeValue(attempt, 32)}.`);
    }
    if (attempt !== this.attempt) {
      const why = (attempt as number) < this.attempt ? 'is over' : 'is not the current attempt';
      fail('FEDERATED_ROUND_CLOSED', `${what}: attempt ${describeValue(attempt, 32)} ${why}; round ${this.round} is on attempt ${this.attempt}.`);
    }
  }

  private secure(what: string): SecAggAttempt {
    if (this.sec === null) return fail('FEDERATED_WRONG_PHASE', `${what}: this coordinator does not run secure aggregation; send the update directly.`);
    return this.sec;
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

  /** `POST /v1/rounds/:round/keys/:id`: a signed key announcement. */
  postKey(id: string, roundParam: string, body: unknown): void {
    const sec = this.secure('Key');
    this.checkRound(roundParam, 'Key', 'keys');
    if (!isObject(body)) fail('FEDERATED_BAD_REQUEST', 'Key: the body must be {attempt, announcement, signature}.');
    const b = body as Record<string, unknown>;
    this.checkAttempt(b['attempt'], 'Key');
    if (this.unmasked.has(id)) {
      fail('FEDERATED_ROUND_CLOSED', `Key: the update of '${id}' from global version ${this.state.completedRounds} was already unmasked; it takes part again from the next global version.`);
    }
    const { capped } = sec.addKey(id, b);
    if (capped) this.o.logger.warn('sample claim capped', { round: this.round, partner: id, cap: this.o.maxSamples[id] });
    if (sec.keyCount === 1) this.startTimer(this.o.keyDeadlineMs, () => this.onKeyDeadline());
    if (sec.keyCount === this.o.partners.length - this.unmasked.size) this.publishKeys();
    this.bump();
  }

  private onKeyDeadline(): void {
    const sec = this.sec!;
    if (sec.keyCount >= this.o.quorum) {
      this.publishKeys();
      this.bump();
    } else this.failAttempt(sec.keyCount, this.o.quorum);
  }

  private publishKeys(): void {
    this.sec!.publish();
    this.phase = 'training';
    this.startTimer(this.o.roundDeadlineMs, () => this.onTrainingDeadline());
  }

  /** `POST /v1/rounds/:round/updates/:id`: validates completely before anything is kept. */
  postUpdate(id: string, roundParam: string, bytes: Uint8Array): void {
    this.checkRound(roundParam, 'Update', 'training');
    const sec = this.sec;
    if (sec !== null && !sec.isParticipant(id)) {
      fail('FEDERATED_WRONG_PHASE', `Update: partner '${id}' sent no key for round ${this.round} attempt ${this.attempt}, so it cannot join it.`);
    }
    if (this.received.has(id)) fail('FEDERATED_DUPLICATE_UPDATE', `Update: partner '${id}' already sent its update for round ${this.round}.`);
    const payload = decodeWeights(bytes, this.global.specs);
    const want = sec !== null ? 'uint32' : 'float32';
    if (payload.dtype !== want) {
      fail('FEDERATED_BAD_UPDATE', `Update: this coordinator expects ${want} ${sec !== null ? 'masked words (encodeMasked)' : 'weights (encodeWeights)'}, got ${payload.dtype}.`);
    }
    const meta = parseUpdateMeta(payload.meta);
    if (meta.baseVersion !== this.state.completedRounds) {
      fail('FEDERATED_ROUND_CLOSED', `Update: trained from global version ${meta.baseVersion}, but round ${this.round} starts from version ${this.state.completedRounds}.`);
    }
    const cap = this.o.maxSamples[id]!;
    let samples: number;
    let norm = 0;
    if (sec !== null) {
      this.checkAttempt(meta.attempt, 'Update');
      if (meta.samples !== sec.claimedSamples(id)) fail('FEDERATED_BAD_UPDATE', `Update: samples ${meta.samples} differ from the ${sec.claimedSamples(id)} signed in the key announcement.`);
      samples = sec.weight(id);
    } else {
      samples = Math.min(meta.samples, cap);
      ({ norm } = checkBounds(payload.values as Float32Array, this.o.updateBounds, `Update from '${id}'`));
    }
    let dp = meta.dp;
    if (this.o.dp !== null) {
      dp = checkDpClaim(dp, this.o.dp, this.o.partners.length);
      // A plain update can be checked against its claim; a masked one cannot (docs/security.md).
      if (sec === null) checkDpPlausible(norm, payload.values.length, dp);
    }
    // Under secure aggregation nothing about one partner's update is kept in clear unless the operator opted in.
    const keepDiagnostics = sec === null || this.o.partnerDiagnostics;
    if (dp !== null && !keepDiagnostics) dp = { clipNorm: dp.clipNorm, noiseMultiplier: dp.noiseMultiplier, noiseStd: dp.noiseStd, partners: dp.partners };
    const metrics = keepDiagnostics && meta.metrics !== null ? meta.metrics : {};
    if (sec !== null) sec.addMasked(payload.values as Uint32Array);
    else this.plain.set(id, payload.values as Float32Array);
    this.received.set(id, { samples, capped: samples < meta.samples, metrics, dp });
    if (samples < meta.samples) this.o.logger.warn('sample claim capped', { round: this.round, partner: id, claimed: meta.samples, cap });
    // Also starts the plain-mode deadline when a partner posts without having fetched (the round must not wait forever).
    this.markFetched(id);
    this.o.logger.info('update accepted', { round: this.round, partner: id, samples });
    this.bump();
    this.maybeClose();
  }

  /** `POST /v1/rounds/:round/confirmations/:id`: a survivor's signature over the participant and survivor sets. */
  postConfirmation(id: string, roundParam: string, body: unknown): void {
    const sec = this.secure('Confirmation');
    this.checkRound(roundParam, 'Confirmation', 'confirming');
    if (!isObject(body)) fail('FEDERATED_BAD_REQUEST', 'Confirmation: the body must be {attempt, signature}.');
    this.checkAttempt((body as Record<string, unknown>)['attempt'], 'Confirmation');
    sec.addConfirmation(id, body as Record<string, unknown>);
    if (sec.confirmationsComplete()) {
      this.phase = 'unmasking';
      this.startTimer(this.o.revealDeadlineMs, () => this.failAttempt(sec.revealCount, this.received.size));
    }
    this.bump();
  }

  /** `POST /v1/rounds/:round/reveals/:id`: a survivor's self-mask seed and its pair keys with the dropped participants. */
  postReveal(id: string, roundParam: string, body: unknown): void {
    const sec = this.secure('Reveal');
    this.checkRound(roundParam, 'Reveal', 'unmasking');
    if (!isObject(body)) fail('FEDERATED_BAD_REQUEST', 'Reveal: the body must be {attempt, selfMask, pairKeys}.');
    this.checkAttempt((body as Record<string, unknown>)['attempt'], 'Reveal');
    sec.addReveal(id, body as Record<string, unknown>);
    this.bump();
    if (sec.revealsComplete()) this.aggregate();
  }

  /** `POST /v1/models/:version/metrics/:id`: held-out metrics of a completed global model. */
  postMetrics(id: string, versionParam: string, body: unknown): void {
    const v = DECIMAL.test(versionParam) ? Number(versionParam) : NaN;
    if (!Number.isSafeInteger(v) || v < 0) fail('FEDERATED_BAD_REQUEST', `Metrics: version '${versionParam.slice(0, 32)}' is not an integer ≥ 0.`);
    if (v > this.state.completedRounds) fail('FEDERATED_WRONG_PHASE', `Metrics: global version ${v} does not exist yet (latest ${this.state.completedRounds}).`);
    if (!isObject(body)) fail('FEDERATED_BAD_REQUEST', 'Metrics: the body must be {metrics, samples}.');
    const b = body as Partial<MetricsPost>;
    const metrics = parseMetrics(b.metrics, 'Metrics');
    if (!positiveCount(b.samples)) fail('FEDERATED_BAD_REQUEST', `Metrics: samples must be a positive integer, got ${describeValue(b.samples, 32)}.`);
    const target = v === 0 ? this.state.baseline : this.state.history[v - 1]!.evaluations;
    // Own entries only: for a partner named 'constructor' or 'toString' the inherited method made every report a duplicate.
    if (Object.hasOwn(target, id)) fail('FEDERATED_DUPLICATE_UPDATE', `Metrics: partner '${id}' already reported on version ${v}.`);
    target[id] = metrics;
    void this.queueStateWrite().catch((err: unknown) => this.o.logger.error('state write failed', { error: String(err) }));
  }

  // ---- views ---------------------------------------------------------------------------------------------------

  /** The `GET /v1/round` body for `who`. */
  info(who: Identity): RoundInfo {
    const id = who.kind === 'partner' ? who.id : null;
    const sec = this.sec;
    const active = sec !== null && this.phase !== 'done' && this.phase !== 'failed';
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
      federationId: this.state.federationId,
      roundId: this.o.secureAggregation ? this.roundId() : null,
      participants: active && sec.participants !== null ? structuredClone(sec.participants) : null,
      totalSamples: active ? sec.totalSamples : null,
      survivors: active && sec.survivors !== null ? [...sec.survivors] : null,
      dropped: active && sec.dropped !== null ? [...sec.dropped] : null,
      confirmations: active ? sec.publishedConfirmations() : null,
      dp: this.o.dp === null ? null : { ...this.o.dp },
      specs: this.global.specs,
      you: {
        id,
        fetched: id !== null && this.fetched.has(id),
        keySubmitted: id !== null && (sec?.hasKey(id) ?? false),
        submitted: id !== null && this.received.has(id),
        participant: id !== null && (sec?.isParticipant(id) ?? false),
        survivor: id !== null && (sec?.isSurvivor(id) ?? false),
        confirmed: id !== null && (sec?.hasConfirmed(id) ?? false),
        revealed: id !== null && (sec?.hasRevealed(id) ?? false),
      },
      failure: this.failure,
    };
  }

  /** Ids of partners in each stage of the current round (for the admin status). */
  current(): { fetched: string[]; keys: string[]; submitted: string[]; dropped: string[] } {
    return {
      fetched: [...this.fetched].sort(),
      keys: this.sec?.keyIds() ?? [],
      submitted: [...this.received.keys()].sort(),
      dropped: [...(this.sec?.dropped ?? [])],
    };
  }
}
