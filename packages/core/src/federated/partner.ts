import { randomInt } from 'node:crypto';
import type * as tfl from '@tensorflow/tfjs-layers';
import { isLeptonError, LeptonError } from '../errors/lepton-error.js';
import type { TrainData } from '../train/train.js';
import { evaluateWeights, trainLocal, type LocalTrainOptions } from './algorithms.js';
import { FederatedHttpClient, type RetryOptions } from './http-client.js';
import { silentLogger, type FederatedLogger } from './http-options.js';
import { ROUTES, type AppliedDp, type DpOptions, type RoundInfo, type UpdateMeta } from './http-protocol.js';
import { createMaskingKeys, maskUpdate, pairSeed, privatizeUpdate, type MaskingKeys } from './privacy.js';
import { decodeWeights, encodeMasked, encodeWeights, specsEqual, weightSpecs, type WeightSet, type WeightSpec } from './weights.js';

/** Local training settings of a partner; the coordinator decides `algorithm` and `mu`. */
export type PartnerLocalOptions = Omit<LocalTrainOptions, 'algorithm' | 'mu'>;

/** Options of {@link FederatedPartner}. */
export interface PartnerOptions {
  /** The coordinator's base URL (`coordinator.url`). */
  url: string;
  /** This partner's id, as enrolled at the coordinator. */
  id: string;
  /** This partner's own bearer token. */
  token: string;
  /** The partner's copy of the model (same architecture as the coordinator's). */
  model: tfl.LayersModel;
  /** Local training data; never leaves the partner. */
  trainData: TrainData;
  /** Local held-out data on which each new global model is scored; only the metrics are sent. */
  heldOutData?: TrainData;
  /** Local training settings (epochs, batch size, learning rate, seed …); the seed is offset by the round number. */
  local?: PartnerLocalOptions;
  /** Refuse to send unmasked updates: fail with `FEDERATED_POLICY_MISMATCH` if the coordinator runs without secure aggregation. */
  secureAggregation?: boolean;
  /** Differential privacy this partner applies even if the coordinator asks for less (the stricter of both is used). */
  dp?: DpOptions;
  /** Uniform [0, 1) source for the DP noise. Default: node:crypto. Seed it only in tests. */
  random?: () => number;
  /** Retry policy for transient HTTP failures. */
  retry?: RetryOptions;
  /** How long one long poll of the round state may wait, ms. Default 10 000. */
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

const RETRY_ON = new Set(['FEDERATED_ROUND_CLOSED', 'FEDERATED_DUPLICATE_UPDATE', 'FEDERATED_WRONG_PHASE']);
const cryptoRandom = (): number => randomInt(2 ** 47) / 2 ** 47;

/**
 * A federated partner: loops over the coordinator's rounds, training on its own data and sending only its update
 * (binary; masked under secure aggregation; clipped and noised under differential privacy), and scores every new
 * global model on its held-out data, sending only the metrics. Transient HTTP failures (the coordinator restarting)
 * are retried with backoff; a coordinator that lost the partner's update (restart) gets it again.
 *
 * @example
 * ```ts
 * import { buildMlp, FederatedPartner, tf } from '@lepton/core';
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
  private cache: { key: string; set: WeightSet } | null = null;

  /**
   * @param options - see {@link PartnerOptions}
   * @throws {@link LeptonError} `INVALID_ARGUMENT` for a missing url, id, token, model or training data
   */
  constructor(private readonly options: PartnerOptions) {
    if (typeof options?.url !== 'string' || !/^https?:\/\//.test(options.url)) throw new LeptonError('INVALID_ARGUMENT', 'FederatedPartner: url must be an http(s) URL.');
    if (typeof options.id !== 'string' || options.id.length === 0) throw new LeptonError('INVALID_ARGUMENT', 'FederatedPartner: id is required.');
    if (typeof options.token !== 'string' || options.token.length === 0) throw new LeptonError('INVALID_ARGUMENT', 'FederatedPartner: token is required.');
    if (options.model === undefined || options.trainData === undefined) throw new LeptonError('INVALID_ARGUMENT', 'FederatedPartner: model and trainData are required.');
    this.specs = weightSpecs(options.model);
    this.random = options.random ?? cryptoRandom;
    this.pollWaitMs = options.pollWaitMs ?? 10_000;
    this.logger = options.logger ?? silentLogger;
    this.client = new FederatedHttpClient(options.url, options.token, options.fetch ?? fetch, this.logger, options.retry);
  }

  /**
   * Takes part in rounds until the coordinator says the federation is done.
   *
   * @returns every round's report and every held-out evaluation
   * @throws {@link LeptonError} `FEDERATED_QUORUM_NOT_MET` when the federation failed; `FEDERATED_UNAUTHORIZED` /
   *   `FEDERATED_FORBIDDEN` for a bad token; `FEDERATED_UNREACHABLE` when retries ran out; `FEDERATED_POLICY_MISMATCH`
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
   * @throws {@link LeptonError} as {@link FederatedPartner.run}
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
    };
    if (report.done) return report;
    const round = info.round;
    let prepared: Prepared | null = null;
    let keys: { roundId: string; keys: MaskingKeys } | null = null;
    for (;;) {
      throwIfFailed(info);
      if (info.phase === 'done' || info.round !== round) break;
      const you = info.you;
      // A restarted coordinator (or a new secure-aggregation attempt) no longer holds our update: send it again.
      if (report.submitted && !you.submitted && (info.phase === 'keys' || info.phase === 'training')) report.submitted = false;
      try {
        if (info.phase === 'keys' && !you.keySubmitted) {
          prepared = await this.prepare(info, prepared);
          if (prepared !== null) {
            keys = { roundId: info.roundId!, keys: createMaskingKeys() };
            await this.post(`/v1/rounds/${round}/keys/${this.options.id}`, { publicKey: keys.keys.publicKey, samples: prepared.samples, attempt: info.attempt });
          }
        } else if (info.phase === 'training' && !you.submitted && (!info.secureAggregation || you.participant)) {
          prepared = await this.prepare(info, prepared);
          const body = prepared === null ? null : this.encode(info, prepared, keys);
          if (body !== null) {
            await this.client.request({ method: 'POST', path: `/v1/rounds/${round}/updates/${this.options.id}`, bytes: body });
            report.submitted = true;
          }
        } else if (info.phase === 'unmasking' && you.reveal.length > 0 && keys?.roundId === info.roundId) {
          await this.post(`/v1/rounds/${round}/reveals/${this.options.id}`, { attempt: info.attempt, seeds: this.seedsFor(info, keys.keys, you.reveal) });
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
    if (prev === undefined) return (await this.client.request({ method: 'GET', path: ROUTES.round })) as RoundInfo;
    const q = `?since=${prev.stateVersion}&session=${encodeURIComponent(prev.session)}&waitMs=${this.pollWaitMs}`;
    return (await this.client.request({ method: 'GET', path: `${ROUTES.round}${q}`, holdMs: this.pollWaitMs })) as RoundInfo;
  }

  private checkPolicy(info: RoundInfo): void {
    if (this.options.secureAggregation === true && !info.secureAggregation) {
      throw new LeptonError('FEDERATED_POLICY_MISMATCH', `Partner '${this.options.id}' requires secure aggregation and the coordinator does not run it; no update was sent.`);
    }
    if (!specsEqual(info.specs, this.specs)) {
      throw new LeptonError('FEDERATED_POLICY_MISMATCH', `Partner '${this.options.id}': the coordinator's model has other weight specs than the local model.`);
    }
  }

  private async globalFor(info: RoundInfo): Promise<WeightSet | null> {
    const key = `${info.session}:${info.completedRounds}`;
    if (this.cache?.key === key) return this.cache.set;
    const bytes = (await this.client.request({ method: 'GET', path: ROUTES.global })) as Uint8Array;
    const payload = decodeWeights(bytes, this.specs);
    if (payload.dtype !== 'float32' || payload.meta['version'] !== info.completedRounds) return null; // it moved on
    this.cache = { key, set: { specs: payload.specs, values: payload.values as Float32Array } };
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
    const update = await serialized(() => trainLocal(this.options.model, global, this.options.trainData, options));
    let delta = update.delta;
    let dp: AppliedDp | null = null;
    const want = strictest(info.dp, this.options.dp ?? null);
    if (want !== null) {
      const p = privatizeUpdate(delta, { ...want, partners: info.partners, random: this.random });
      delta = p.values;
      dp = { clipNorm: p.clipNorm, noiseMultiplier: p.noiseMultiplier, noiseStd: p.noiseStd, norm: p.norm, clipped: p.clipped };
    }
    return { round: info.round, baseVersion: info.completedRounds, delta, samples: update.samples, metrics: update.metrics, dp };
  }

  private encode(info: RoundInfo, p: Prepared, keys: { roundId: string; keys: MaskingKeys } | null): Uint8Array | null {
    const meta: UpdateMeta = { samples: p.samples, baseVersion: p.baseVersion, metrics: p.metrics };
    if (p.dp !== null) meta.dp = p.dp;
    if (!info.secureAggregation) return encodeWeights({ specs: this.specs, values: p.delta }, { ...meta });
    if (keys === null || keys.roundId !== info.roundId || info.participants === null || info.totalSamples === null) return null;
    // Pre-weight by samples / total so the unmasked sum is already the FedAvg mean (and stays in the clip range).
    const weight = p.samples / info.totalSamples;
    const weighted = new Float32Array(p.delta.length);
    for (let i = 0; i < weighted.length; i++) weighted[i] = p.delta[i]! * weight;
    const peers = info.participants
      .filter((q) => q.id !== this.options.id)
      .map((q) => ({ id: q.id, seed: pairSeed(keys.keys, this.options.id, q.id, q.publicKey, info.roundId!) }));
    const words = maskUpdate(weighted, this.options.id, peers, info.masking!);
    meta.attempt = info.attempt;
    return encodeMasked(words, this.specs, { ...meta });
  }

  private seedsFor(info: RoundInfo, keys: MaskingKeys, dropped: string[]): Record<string, string> {
    const seeds: Record<string, string> = {};
    for (const d of dropped) {
      // Reveal only for published participants other than ourselves (privacy.ts: never for arbitrary ids).
      const peer = info.participants?.find((q) => q.id === d);
      if (peer === undefined || d === this.options.id) {
        throw new LeptonError('FEDERATED_POLICY_MISMATCH', `Partner '${this.options.id}' was asked to reveal a seed for '${d}', who is not a participant.`);
      }
      seeds[d] = Buffer.from(pairSeed(keys, this.options.id, d, peer.publicKey, info.roundId!)).toString('base64');
    }
    return seeds;
  }
}

function throwIfFailed(info: RoundInfo): void {
  if (info.phase === 'failed') {
    const f = info.failure ?? { code: 'FEDERATED_QUORUM_NOT_MET', message: 'The federation failed.' };
    throw new LeptonError(f.code, `The coordinator reports the federation failed: ${f.message}`);
  }
}

function strictest(a: DpOptions | null, b: DpOptions | null): DpOptions | null {
  if (a === null) return b === null ? null : { ...b };
  if (b === null) return { ...a };
  return { clipNorm: Math.min(a.clipNorm, b.clipNorm), noiseMultiplier: Math.max(a.noiseMultiplier, b.noiseMultiplier) };
}
