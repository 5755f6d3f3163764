import { createHash, randomInt } from 'node:crypto';
import { describeValue, isLeptonError, LeptonError, type tf, type TrainData } from '@lepton/core';
import { remoteCode } from './errors.js';
import { checkLocalOptions, evaluateWeights, trainLocal, type LocalTrainOptions } from './algorithms.js';
import { FederatedHttpClient, type RetryOptions } from './http-client.js';
import { silentLogger, type FederatedLogger } from './http-options.js';
import { ROUTES, type AppliedDp, type DpClaim, type DpOptions, type RoundInfo, type UpdateMeta } from './http-protocol.js';
import { identityPublicKey, importIdentityKey, type IdentityKeys } from './identity.js';
import { PartnerSecAgg } from './partner-secagg.js';
import { checkRoundInfo } from './round-info-check.js';
import { privatizeUpdate } from './privacy.js';
import {
  checkBoolean,
  checkData,
  checkFunction,
  checkInteger,
  checkLogger,
  checkModel,
  checkNumber,
  checkObject,
  invalid,
  isPartnerId,
  isPlainObject,
  MAX_TIMER_MS,
} from './validate.js';
import { decodeWeights, encodeMasked, encodeWeights, MAX_META_BYTES, specsEqual, specsSize, weightSpecs, type WeightSet, type WeightSpec } from './weights.js';

/** Local training settings of a partner; the coordinator decides `algorithm` and `mu`. */
export type PartnerLocalOptions = Omit<LocalTrainOptions, 'algorithm' | 'mu'>;

/** Options of {@link FederatedPartner}. */
export interface PartnerOptions {
  /** The coordinator's base URL (`coordinator.url`), without credentials (`user:password@` is refused; use `token`). */
  url: string;
  /** This partner's id, as enrolled at the coordinator. */
  id: string;
  /** This partner's own bearer token. */
  token: string;
  /** The partner's copy of the model (same architecture as the coordinator's). */
  model: tf.LayersModel;
  /** Local training data; never leaves the partner. */
  trainData: TrainData;
  /** Local held-out data on which each new global model is scored; only the metrics are sent. */
  heldOutData?: TrainData;
  /** Local training settings (epochs, batch size, learning rate, seed …); the seed is offset by the round number. */
  local?: PartnerLocalOptions;
  /**
   * Refuse to send unmasked updates: fail with `FEDERATED_POLICY_MISMATCH` if the coordinator runs without secure
   * aggregation. A boolean (`'true'` is refused, never read as off).
   */
  secureAggregation?: boolean;
  /**
   * This partner's long-term Ed25519 identity (`createIdentityKeys`). Required to take part in secure aggregation: it
   * signs this partner's key announcements and survivor confirmations. Its public key is registered at the coordinator
   * (`PartnerCredential.identityKey`) and given to every other partner (their `peers`).
   */
  identity?: IdentityKeys;
  /**
   * The identity public keys of every other partner of the federation, by id (exchanged out of band, never through
   * the coordinator). Required for secure aggregation: a participant not listed here, or whose announcement its key did
   * not sign, makes this partner refuse the round (`FEDERATED_BAD_SIGNATURE`).
   */
  peers?: Record<string, string>;
  /**
   * Smallest participant set (and survivor set) this partner sends a masked update in, confirms or reveals for; a
   * smaller one fails with `FEDERATED_TOO_FEW_PARTICIPANTS` and nothing is sent. Default: a majority of the federation
   * (this partner and its `peers`), and never fewer than 2.
   */
  minParticipants?: number;
  /** The federation id this partner expects (`RoundInfo.federationId`); another one fails with `FEDERATED_POLICY_MISMATCH`. */
  federationId?: string;
  /**
   * Secure aggregation: a file in which this partner keeps, across restarts, the round ids it announced keys for and
   * the base models its updates were unmasked from, so that a restarted partner still refuses a replayed round id and
   * a second unmasked sum over one update. Written atomically (mode 0600, never through a symbolic link) before each key
   * announcement and each reveal leaves the partner; a write that fails stops the partner before it sends
   * (`FEDERATED_STATE_INVALID`), as does a file that is corrupt or another partner's when the partner is made. Without
   * it both records live in this process only. Keep it with the partner's identity key, one file per partner.
   */
  stateFile?: string;
  /**
   * Send per-partner diagnostics with each update: last-epoch training metrics and, under DP, the pre-clip norm and
   * whether it was clipped. Default: true without secure aggregation (the update itself is in clear anyway), false with
   * it, so that nothing about this partner's update leaves it in clear.
   */
  shareDiagnostics?: boolean;
  /** Differential privacy this partner applies even if the coordinator asks for less (the stricter of both is used). */
  dp?: DpOptions;
  /** Uniform [0, 1) source for the DP noise. Default: node:crypto. Seed it only in tests. */
  random?: () => number;
  /** Retry policy for transient HTTP failures. */
  retry?: RetryOptions;
  /** How long one long poll of the round state may wait, ms (0 to 600 000). Default 10 000. */
  pollWaitMs?: number;
  /** HTTP client seam; default the global `fetch`. */
  fetch?: typeof fetch;
  /** Logger; default silent. */
  logger?: FederatedLogger;
}

/** Held-out metrics this partner computed for one global model version. */
export interface PartnerEvaluation {
  /** Global model version (= rounds completed when it was made). */
  version: number;
  /** Metrics by name (`loss`, `accuracy`, `auc` …). */
  metrics: Record<string, number>;
}

/** What one {@link FederatedPartner.runRound} call did. */
export interface PartnerRoundReport {
  /** The round taken part in (or, when `done`, the number of completed rounds). */
  round: number;
  /** True when the coordinator said the federation is over; nothing was trained. */
  done: boolean;
  /** Whether the coordinator accepted this partner's update. */
  submitted: boolean;
  /** Whether the round completed with this partner's update in its aggregate. */
  aggregated: boolean;
  /** Training samples behind the update (0 if none was made). */
  samples: number;
  /** Last-epoch local training metrics. */
  trainMetrics: Record<string, number>;
  /**
   * This partner's own update after differential privacy, before masking and pre-weighting — kept locally for audits
   * (under secure aggregation it never leaves the partner in this form). Null if none was made.
   */
  delta: Float32Array | null;
  /** Differential privacy applied to it, or null. */
  dp: AppliedDp | null;
  /** Held-out evaluation of the global model this call started from (null without held-out data). */
  evaluation: PartnerEvaluation | null;
  /** Rounds completed at the coordinator when the call returned. */
  completedRounds: number;
  /**
   * Secure-aggregation attempts of this round that this partner sat out, oldest first (empty without secure
   * aggregation). Each is also logged as a warning.
   */
  abstentions: PartnerAbstention[];
}

/**
 * One secure-aggregation attempt a partner sat out (it sent nothing for it, so the coordinator counts it as dropped).
 *
 * - `update-already-unmasked`: its update from the current global model (same version, or the same weights) was
 *   already part of an unmasked sum; a second one would let the coordinator difference the two. It sits out every
 *   attempt until the global model changes; one entry per attempt.
 * - `peer-key-unusable`: a peer's signed mask key fails X25519 agreement (`peer` names it).
 */
export interface PartnerAbstention {
  /** The attempt sat out (1 for a round's first). */
  attempt: number;
  /** Why. */
  reason: 'update-already-unmasked' | 'peer-key-unusable';
  /** The peer whose key failed agreement, or null. */
  peer: string | null;
}

/** What {@link FederatedPartner.run} did over the whole federation. */
export interface PartnerReport {
  /** This partner's id. */
  id: string;
  /** One entry per round taken part in. */
  rounds: PartnerRoundReport[];
  /** Held-out evaluations of every global model version seen, oldest first. */
  evaluations: PartnerEvaluation[];
  /** Rounds completed at the end. */
  completedRounds: number;
}

interface Prepared {
  round: number;
  baseVersion: number;
  /** SHA-256 (hex) of the global weights it was trained from. */
  baseDigest: string;
  delta: Float32Array;
  samples: number;
  metrics: Record<string, number>;
  dp: AppliedDp | null;
}

// TF.js keeps one engine per process, and core's seeded training swaps Math.random for the duration of an awaited
// fit: two partners training at once in one process would interleave both. Local work therefore runs one at a time.
let tfQueue: Promise<unknown> = Promise.resolve();
function serialized<T>(fn: () => Promise<T> | T): Promise<T> {
  const run = tfQueue.then(fn, fn);
  tfQueue = run.catch(() => undefined);
  return run;
}

/** Longest long poll a partner asks for (the coordinator holds one at most 30 s anyway). */
const MAX_POLL_WAIT_MS = 600_000;

const RETRY_ON = new Set(['FEDERATED_ROUND_CLOSED', 'FEDERATED_DUPLICATE_UPDATE', 'FEDERATED_WRONG_PHASE']);
const cryptoRandom = (): number => randomInt(2 ** 47) / 2 ** 47;

/** The URL, or null when it does not parse. */
function parseUrl(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/**
 * A federated partner: loops over the coordinator's rounds, training on its own data and sending only its update
 * (binary; masked under secure aggregation; clipped and noised under differential privacy), and scores every new
 * global model on its held-out data, sending only the metrics. Transient HTTP failures (the coordinator restarting)
 * are retried with backoff; a coordinator that lost the partner's update (restart) gets it again.
 *
 * @example
 * ```ts
 * import { buildMlp, tf } from '@lepton/core';
 * import { FederatedPartner } from '@lepton/federated';
 * const partner = new FederatedPartner({
 *   url: 'http://127.0.0.1:40123', id: 'clinic-a', token: 'a-secret-token-of-clinic-a',
 *   model: buildMlp({ inputDim: 4, hiddenUnits: [8], seed: 1 }),
 *   trainData: { x: tf.zeros([8, 4]), y: tf.zeros([8, 1]) },
 *   local: { epochs: 2, batchSize: 32, learningRate: 1e-2, seed: 7 },
 * });
 * // const report = await partner.run(); // until the coordinator says done
 * ```
 */
export class FederatedPartner {
  private readonly client: FederatedHttpClient;
  private readonly specs: WeightSpec[];
  private readonly random: () => number;
  private readonly pollWaitMs: number;
  private readonly logger: FederatedLogger;
  private readonly evaluated = new Set<string>();
  private readonly evaluations: PartnerEvaluation[] = [];
  private cache: { key: string; set: WeightSet; digest: string } | null = null;
  private readonly secagg: PartnerSecAgg | null;

  /**
   * @param options - see {@link PartnerOptions}
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for any option of the wrong type or range, before anything is
   *   trained or sent: a missing url, id, token, model or training data; a url with credentials (`user:password@`, the
   *   message never quotes it); a boolean option that is not a boolean; `dp`,
   *   `retry`, `pollWaitMs` or `local` out of range; a `random`, `fetch` or `logger` that is not one; a bad identity, peer
   *   key or `minParticipants`; `FEDERATED_STATE_INVALID` for a `stateFile` that cannot be read, is corrupt or is
   *   another partner's
   */
  constructor(private readonly options: PartnerOptions) {
    FederatedPartner.checkOptions(options);
    this.specs = weightSpecs(options.model);
    this.random = options.random ?? cryptoRandom;
    this.pollWaitMs = options.pollWaitMs ?? 10_000;
    this.logger = options.logger ?? silentLogger;
    this.client = new FederatedHttpClient(options.url, options.token, options.fetch ?? fetch, this.logger, options.retry);
    this.secagg = FederatedPartner.secureAggregation(options);
  }

  /**
   * Every option, before anything is trained or sent: a wrong type or range would otherwise surface rounds later (a
   * NaN clip norm after a round of training), silently weaken the partner (`secureAggregation: 'true'` read as off), or
   * never end (`retry.retries: NaN` retried forever).
   */
  private static checkOptions(options: PartnerOptions): void {
    const bad = (m: string): never => invalid(`FederatedPartner: ${m}`);
    if (typeof options !== 'object' || options === null) bad(`options must be an object, got ${describeValue(options)}.`);
    const parsed = typeof options.url === 'string' && /^https?:\/\/[^\s]+$/.test(options.url) ? parseUrl(options.url) : null;
    if (parsed === null) bad('url must be an http(s) URL.');
    // Credentials in the URL would travel in every request and surface in fetch's error messages; the token is the
    // partner's only credential. (The message never quotes the URL: it holds the password.)
    if (parsed === null || parsed.username !== '' || parsed.password !== '') bad('url must not contain credentials (user:password@); remove them and pass the partner token in the token option.');
    if (typeof options.id !== 'string' || options.id.length === 0) bad('id is required.');
    if (!isPartnerId(options.id)) bad(`id ${describeValue(options.id, 64)} must be 1–64 letters, digits, '.', '_' or '-' (as the coordinator enrols it).`);
    if (typeof options.token !== 'string' || options.token.length === 0) bad('token is required.');
    // Sent as "Authorization: Bearer <token>": whitespace or control characters could never authenticate.
    if (options.token.length > 4096 || !/^[\x21-\x7e]+$/.test(options.token)) bad('token must be at most 4096 visible ASCII characters (no spaces).');
    if (options.model === undefined || options.trainData === undefined) bad('model and trainData are required.');
    checkModel(options.model, 'FederatedPartner');
    checkData(options.trainData, 'FederatedPartner: trainData');
    if (options.heldOutData !== undefined) checkData(options.heldOutData, 'FederatedPartner: heldOutData');
    checkObject(options.local, 'FederatedPartner: local', true);
    if (options.local !== undefined) {
      const local = options.local as LocalTrainOptions;
      if (local.algorithm !== undefined || local.mu !== undefined) bad('local must not set algorithm or mu: the coordinator decides them.');
      checkLocalOptions(options.local, 'FederatedPartner: local');
    }
    checkBoolean(options.secureAggregation, 'FederatedPartner: secureAggregation');
    checkBoolean(options.shareDiagnostics, 'FederatedPartner: shareDiagnostics');
    checkObject(options.dp, 'FederatedPartner: dp', true);
    if (options.dp !== undefined) {
      checkNumber(options.dp.clipNorm, 'FederatedPartner: dp.clipNorm', 0, Number.MAX_VALUE, true);
      checkNumber(options.dp.noiseMultiplier, 'FederatedPartner: dp.noiseMultiplier', 0);
      if (options.dp.delta !== undefined && !(typeof options.dp.delta === 'number' && options.dp.delta > 0 && options.dp.delta < 1)) {
        bad(`dp.delta must be in (0, 1), got ${describeValue(options.dp.delta)}.`);
      }
    }
    checkFunction(options.random, 'FederatedPartner: random', true);
    checkObject(options.retry, 'FederatedPartner: retry', true);
    if (options.retry !== undefined) {
      const r = options.retry;
      if (r.retries !== undefined) checkInteger(r.retries, 'FederatedPartner: retry.retries', 0, 1000);
      if (r.baseDelayMs !== undefined) checkNumber(r.baseDelayMs, 'FederatedPartner: retry.baseDelayMs', 0, MAX_TIMER_MS);
      if (r.maxDelayMs !== undefined) checkNumber(r.maxDelayMs, 'FederatedPartner: retry.maxDelayMs', 0, MAX_TIMER_MS);
      if (r.timeoutMs !== undefined) checkNumber(r.timeoutMs, 'FederatedPartner: retry.timeoutMs', 0, MAX_TIMER_MS - MAX_POLL_WAIT_MS, true);
    }
    if (options.pollWaitMs !== undefined) checkNumber(options.pollWaitMs, 'FederatedPartner: pollWaitMs', 0, MAX_POLL_WAIT_MS);
    checkFunction(options.fetch, 'FederatedPartner: fetch', true);
    checkLogger(options.logger, 'FederatedPartner: logger');
    if (options.federationId !== undefined && !(typeof options.federationId === 'string' && /^[\x21-\x7e]{1,128}$/.test(options.federationId))) {
      bad('federationId must be 1–128 printable ASCII characters without spaces.');
    }
    if (options.stateFile !== undefined) {
      if (typeof options.stateFile !== 'string' || options.stateFile.length === 0 || options.stateFile.includes('\0')) bad(`stateFile must be a file path, got ${describeValue(options.stateFile)}.`);
      if (options.identity === undefined) bad('stateFile keeps secure-aggregation records: it needs identity and peers.');
    }
    if (options.minParticipants !== undefined && options.identity === undefined && options.peers === undefined) {
      checkInteger(options.minParticipants, 'FederatedPartner: minParticipants', 2);
    }
  }

  private static secureAggregation(options: PartnerOptions): PartnerSecAgg | null {
    const bad = (m: string): never => {
      throw new LeptonError('INVALID_ARGUMENT', `FederatedPartner: ${m}`);
    };
    if (options.identity === undefined && options.peers === undefined) return null;
    if (options.identity === undefined || options.peers === undefined) bad('identity and peers go together: both are needed for secure aggregation.');
    let myKey = '';
    try {
      myKey = identityPublicKey(options.identity!.privateKey);
    } catch {
      bad('identity.privateKey must be an Ed25519 private key (createIdentityKeys).');
    }
    if (myKey !== options.identity!.publicKey) bad('identity.publicKey does not belong to identity.privateKey.');
    const peers: Record<string, string> = {};
    if (!isPlainObject(options.peers)) bad('peers must be an object {partnerId: identity public key}.');
    for (const [id, key] of Object.entries(options.peers!)) {
      if (id === options.id) bad('peers must not list this partner itself.');
      if (!isPartnerId(id)) bad(`peer id ${describeValue(id, 64)} is not a valid partner id.`);
      try {
        importIdentityKey(key, id);
      } catch {
        bad(`the identity key of peer '${id}' is not the base64 of a 32-byte Ed25519 public key.`);
      }
      peers[id] = key;
    }
    const size = Object.keys(peers).length + 1;
    const minParticipants = options.minParticipants ?? Math.max(2, Math.ceil(size / 2));
    if (!(Number.isInteger(minParticipants) && minParticipants >= 2 && minParticipants <= size)) {
      bad(`minParticipants must be an integer from 2 to ${size} (this partner and its peers), got ${describeValue(minParticipants)}.`);
    }
    return new PartnerSecAgg({ me: options.id, myKey, peers, minParticipants }, options.identity!, options.federationId ?? null, options.stateFile ?? null);
  }

  /**
   * Takes part in rounds until the coordinator says the federation is done.
   *
   * @returns every round's report and every held-out evaluation
   * @throws {@link @lepton/core!LeptonError} `FEDERATED_QUORUM_NOT_MET` when the federation failed; `FEDERATED_UNAUTHORIZED` /
   *   `FEDERATED_FORBIDDEN` for a bad token; `FEDERATED_UNREACHABLE` when retries ran out; `FEDERATED_POLICY_MISMATCH`
   *   (policy or model mismatch, or secure aggregation without `identity`/`peers`); under secure aggregation
   *   `FEDERATED_BAD_SIGNATURE` (a substituted, forged, unknown or replayed key, or unconfirmed survivors) and
   *   `FEDERATED_TOO_FEW_PARTICIPANTS` — in both cases the partner refused before sending or revealing anything.
   *
   * Under secure aggregation a partner abstains (logs a warning, lists it in the round report's `abstentions`, sends
   * nothing, keeps running) instead of failing in
   * two cases: a peer's signed mask key fails X25519 agreement (low order: that attempt only; it counts as dropped),
   * and its update from the current global model was already part of an unmasked sum (a revealed attempt whose
   * aggregate the coordinator did not publish): it joins no further attempt or round from that base model — same
   * version or same weights — since two unmasked sums over one update would let the coordinator difference them.
   */
  async run(): Promise<PartnerReport> {
    const rounds: PartnerRoundReport[] = [];
    for (;;) {
      const r = await this.runRound();
      if (r.done) return { id: this.options.id, rounds, evaluations: this.evaluations.map((e) => ({ ...e })), completedRounds: r.completedRounds };
      rounds.push(r);
    }
  }

  /**
   * One step: scores the current global model on the held-out data (once per version), then takes part in the round
   * in progress — key, training, update, and seed reveal if asked — and returns when that round has closed.
   *
   * @returns what this partner did in the round
   * @throws {@link @lepton/core!LeptonError} as {@link FederatedPartner.run}
   */
  async runRound(): Promise<PartnerRoundReport> {
    let info = await this.fetchInfo();
    this.checkPolicy(info);
    const evaluation = await this.evaluateLatest(info);
    const report: PartnerRoundReport = {
      round: info.phase === 'done' ? info.completedRounds : info.round,
      done: info.phase === 'done',
      submitted: false,
      aggregated: false,
      samples: 0,
      trainMetrics: {},
      delta: null,
      dp: null,
      evaluation,
      completedRounds: info.completedRounds,
      abstentions: [],
    };
    if (report.done) return report;
    const round = info.round;
    let prepared: Prepared | null = null;
    const sa = this.secagg;
    const base = `/v1/rounds/${round}`;
    const me = this.options.id;
    let abstainedAt: string | null = null;
    for (;;) {
      throwIfFailed(info);
      if (info.phase === 'done' || info.round !== round) break;
      const you = info.you;
      // A restarted coordinator (or a new secure-aggregation attempt) no longer holds our update: send it again.
      if (report.submitted && !you.submitted && (info.phase === 'keys' || info.phase === 'training')) report.submitted = false;
      try {
        if (!info.secureAggregation) {
          if (info.phase === 'training' && !you.submitted) {
            prepared = await this.prepare(info, prepared);
            if (prepared !== null) {
              await this.client.request({ method: 'POST', path: `${base}/updates/${me}`, bytes: this.encodePlain(prepared) });
              report.submitted = true;
            }
          }
        } else if (sa !== null) {
          if (info.phase === 'keys' && !you.keySubmitted) {
            // Never a second unmasked sum from one base model: after revealing, abstain until the global model changes.
            if (!sa.spent(info.federationId, info.completedRounds, null)) prepared = await this.prepare(info, prepared);
            const spent = sa.spent(info.federationId, info.completedRounds, prepared?.baseDigest ?? null);
            if (spent) {
              if (abstainedAt !== info.roundId) {
                this.logger.warn('update already unmasked for this base model: abstaining until it changes', { round, attempt: info.attempt, baseVersion: info.completedRounds });
                report.abstentions.push({ attempt: info.attempt, reason: 'update-already-unmasked', peer: null });
              }
              abstainedAt = info.roundId;
            } else if (prepared !== null) await this.post(`${base}/keys/${me}`, sa.keyPost(info, prepared.samples, prepared.baseVersion, prepared.baseDigest));
          } else if (info.phase === 'training' && !you.submitted && you.participant && sa.holds(info) && !sa.abstained(info)) {
            prepared = await this.prepare(info, prepared);
            if (prepared !== null) {
              const body = this.maskedOrAbstain(info, prepared, sa, report.abstentions);
              if (body !== null) {
                await this.client.request({ method: 'POST', path: `${base}/updates/${me}`, bytes: body });
                report.submitted = true;
              }
            }
          } else if (info.phase === 'confirming' && you.survivor && !you.confirmed && sa.uploaded(info)) {
            await this.post(`${base}/confirmations/${me}`, sa.confirmPost(info));
          } else if (info.phase === 'unmasking' && you.survivor && !you.revealed && sa.uploaded(info)) {
            await this.post(`${base}/reveals/${me}`, sa.revealPost(info));
          }
        }
      } catch (err) {
        if (!(isLeptonError(err) && RETRY_ON.has(String(err.code)))) throw err;
        this.logger.info('coordinator moved on', { round, code: err.code });
      }
      if (prepared !== null) Object.assign(report, { samples: prepared.samples, trainMetrics: prepared.metrics, delta: prepared.delta, dp: prepared.dp });
      info = await this.fetchInfo(info);
    }
    report.completedRounds = info.completedRounds;
    report.aggregated = report.submitted && info.completedRounds >= round;
    return report;
  }

  private async post(path: string, json: unknown): Promise<unknown> {
    return this.client.request({ method: 'POST', path, json });
  }

  private async fetchInfo(prev?: RoundInfo): Promise<RoundInfo> {
    if (prev === undefined) return checkRoundInfo(await this.client.request({ method: 'GET', path: ROUTES.round }));
    const q = `?since=${prev.stateVersion}&session=${encodeURIComponent(prev.session)}&waitMs=${this.pollWaitMs}`;
    return checkRoundInfo(await this.client.request({ method: 'GET', path: `${ROUTES.round}${q}`, holdMs: this.pollWaitMs }));
  }

  private checkPolicy(info: RoundInfo): void {
    if (this.options.secureAggregation === true && !info.secureAggregation) {
      throw new LeptonError('FEDERATED_POLICY_MISMATCH', `Partner '${this.options.id}' requires secure aggregation and the coordinator does not run it; no update was sent.`);
    }
    if (info.secureAggregation && this.secagg === null) {
      throw new LeptonError(
        'FEDERATED_POLICY_MISMATCH',
        `Partner '${this.options.id}': the coordinator runs secure aggregation, which needs this partner's identity and its peers' identity keys (options identity and peers) to check what the coordinator relays.`,
      );
    }
    if (!specsEqual(info.specs, this.specs)) {
      throw new LeptonError('FEDERATED_POLICY_MISMATCH', `Partner '${this.options.id}': the coordinator's model has other weight specs than the local model.`);
    }
  }

  private async globalFor(info: RoundInfo): Promise<WeightSet | null> {
    const key = `${info.session}:${info.completedRounds}`;
    if (this.cache?.key === key) return this.cache.set;
    // Bounded by what the model's weights can take: the values (4 bytes each), the header with the specs, the largest
    // metadata and some slack. A larger answer is refused unread (FEDERATED_BAD_RESPONSE).
    const maxBytes = 8 + 4 * specsSize(this.specs) + Buffer.byteLength(JSON.stringify(this.specs)) + MAX_META_BYTES + 1024;
    const bytes = (await this.client.request({ method: 'GET', path: ROUTES.global, maxBytes })) as Uint8Array;
    const payload = decodeWeights(bytes, this.specs);
    if (payload.dtype !== 'float32' || payload.meta['version'] !== info.completedRounds) return null; // it moved on
    const values = payload.values as Float32Array;
    const digest = createHash('sha256').update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength)).digest('hex');
    this.cache = { key, set: { specs: payload.specs, values }, digest };
    return this.cache.set;
  }

  private async evaluateLatest(info: RoundInfo): Promise<PartnerEvaluation | null> {
    const data = this.options.heldOutData;
    const key = `${info.completedRounds}`;
    if (data === undefined || info.phase === 'failed' || this.evaluated.has(key)) return null;
    const global = await this.globalFor(info);
    if (global === null) return null;
    const all = await serialized(() => evaluateWeights(this.options.model, global, data));
    const metrics = Object.fromEntries(Object.entries(all).filter(([, v]) => Number.isFinite(v)));
    try {
      await this.post(`/v1/models/${info.completedRounds}/metrics/${this.options.id}`, { metrics, samples: data.y.shape[0] });
    } catch (err) {
      if (!isLeptonError(err, 'FEDERATED_DUPLICATE_UPDATE')) throw err;
    }
    this.evaluated.add(key);
    const evaluation = { version: info.completedRounds, metrics };
    this.evaluations.push(evaluation);
    return { version: evaluation.version, metrics: { ...metrics } };
  }

  /** Trains (once per round and base version) and applies differential privacy; null if the global moved on. */
  private async prepare(info: RoundInfo, prepared: Prepared | null): Promise<Prepared | null> {
    if (prepared !== null && prepared.round === info.round && prepared.baseVersion === info.completedRounds) return prepared;
    const global = await this.globalFor(info);
    if (global === null) return null;
    const local = this.options.local ?? {};
    const options: LocalTrainOptions = { ...local, algorithm: info.algorithm, mu: info.mu };
    if (local.seed !== undefined) options.seed = local.seed + info.round;
    const baseDigest = this.cache!.digest;
    const update = await serialized(() => trainLocal(this.options.model, global, this.options.trainData, options));
    let delta = update.delta;
    let dp: AppliedDp | null = null;
    const want = strictest(info.dp, this.options.dp ?? null);
    if (want !== null) {
      // Under secure aggregation the partner count comes from this partner's own configuration, not the coordinator.
      const partners = this.options.peers !== undefined ? Object.keys(this.options.peers).length + 1 : info.partners;
      const p = privatizeUpdate(delta, { clipNorm: want.clipNorm, noiseMultiplier: want.noiseMultiplier, partners, random: this.random });
      delta = p.values;
      dp = { clipNorm: p.clipNorm, noiseMultiplier: p.noiseMultiplier, noiseStd: p.noiseStd, partners, norm: p.norm, clipped: p.clipped };
    }
    return { round: info.round, baseVersion: info.completedRounds, baseDigest, delta, samples: update.samples, metrics: update.metrics, dp };
  }

  /** The metadata of an update: diagnostics only when shared (by default not under secure aggregation). */
  private meta(p: Prepared, secure: boolean): UpdateMeta {
    const share = this.options.shareDiagnostics ?? !secure;
    const meta: UpdateMeta = { samples: p.samples, baseVersion: p.baseVersion };
    // Finite metrics only (as for evaluations): a NaN training loss must not fail the whole update.
    if (share) meta.metrics = Object.fromEntries(Object.entries(p.metrics).filter(([, v]) => Number.isFinite(v)));
    if (p.dp !== null) {
      const claim: DpClaim = { clipNorm: p.dp.clipNorm, noiseMultiplier: p.dp.noiseMultiplier, noiseStd: p.dp.noiseStd, partners: p.dp.partners };
      if (share) Object.assign(claim, { norm: p.dp.norm, clipped: p.dp.clipped });
      meta.dp = claim;
    }
    return meta;
  }

  private encodePlain(p: Prepared): Uint8Array {
    return encodeWeights({ specs: this.specs, values: p.delta }, { ...this.meta(p, false) });
  }

  /**
   * The masked update, or null when a peer's signed mask key fails agreement: the partner then abstains from this
   * attempt (sends nothing, so it counts as dropped) instead of ending its run — one bad peer must not end the others'.
   */
  private maskedOrAbstain(info: RoundInfo, p: Prepared, sa: PartnerSecAgg, abstentions: PartnerAbstention[]): Uint8Array | null {
    try {
      return this.encodeMasked(info, p, sa);
    } catch (err) {
      if (!isLeptonError(err, 'FEDERATED_BAD_KEY')) throw err;
      const peer = typeof err.details['peer'] === 'string' ? err.details['peer'] : null;
      this.logger.warn('peer mask key unusable: abstaining from this attempt', { round: info.round, attempt: info.attempt, peer });
      abstentions.push({ attempt: info.attempt, reason: 'peer-key-unusable', peer });
      return null;
    }
  }

  private encodeMasked(info: RoundInfo, p: Prepared, sa: PartnerSecAgg): Uint8Array {
    const words = sa.maskedUpdate(info, p.delta);
    const meta = this.meta(p, true);
    meta.attempt = info.attempt;
    return encodeMasked(words, this.specs, { ...meta });
  }
}

function throwIfFailed(info: RoundInfo): void {
  if (info.phase === 'failed') {
    const f = info.failure ?? { code: 'FEDERATED_QUORUM_NOT_MET', message: 'The federation failed.' };
    throw new LeptonError(remoteCode(f.code, 'FEDERATED_QUORUM_NOT_MET'), `The coordinator reports the federation failed: ${typeof f.message === 'string' ? f.message.slice(0, 2000) : describeValue(f.message)}`);
  }
}

function strictest(a: DpOptions | null, b: DpOptions | null): DpOptions | null {
  if (a === null) return b === null ? null : { clipNorm: b.clipNorm, noiseMultiplier: b.noiseMultiplier };
  if (b === null) return { clipNorm: a.clipNorm, noiseMultiplier: a.noiseMultiplier };
  return { clipNorm: Math.min(a.clipNorm, b.clipNorm), noiseMultiplier: Math.max(a.noiseMultiplier, b.noiseMultiplier) };
}
