import type { MaskOptions } from './privacy.js';
import type { WeightSpec } from './weights.js';

/**
 * The HTTP protocol spoken between a {@link FederatedCoordinator} and its {@link FederatedPartner}s: JSON shapes,
 * error bodies and the error codes the two sides raise.
 *
 * Error codes (all {@link LeptonError} codes; HTTP status in brackets where the coordinator answers with one):
 * - `FEDERATED_UNAUTHORIZED` [401] — missing or unknown bearer token. Nothing changes on the coordinator.
 * - `FEDERATED_FORBIDDEN` [403] — a valid token used for another partner's id, or a partner calling an admin route.
 * - `FEDERATED_NOT_FOUND` [404] — no such route (there is deliberately no route that returns a partner's update).
 * - `FEDERATED_BAD_UPDATE` [400] — a payload that does not decode, has the wrong specs, NaN/Inf values, the wrong
 *   dtype for the mode, or bad metadata (sample count, base version, missing differential privacy).
 * - `FEDERATED_BAD_REQUEST` [400, 413, 415] — a malformed JSON body, a body over the size limit or a wrong content type.
 * - `FEDERATED_BAD_KEY` [400] — a secure-aggregation public key or revealed seed that is not well formed.
 * - `FEDERATED_ROUND_CLOSED` [409] — an update, key or reveal for a round (or attempt) that is already closed; replays
 *   and late updates get this.
 * - `FEDERATED_DUPLICATE_UPDATE` [409] — a second update (or key, reveal, evaluation) from the same partner for the
 *   same round.
 * - `FEDERATED_WRONG_PHASE` [409] — a request that does not fit the round's phase (an update before the key phase
 *   ended, a future round, a reveal nobody asked for).
 * - `FEDERATED_QUORUM_NOT_MET` — a round missed its quorum on every allowed attempt; the federation stops
 *   (`coordinator.done()` rejects, partners' `run()` throws).
 * - `FEDERATED_STATE_INVALID` — the state directory holds a state file or weights that are corrupt or belong to another
 *   model; the coordinator refuses to start rather than guess.
 * - `FEDERATED_UNREACHABLE` — the partner gave up after retrying transient failures (connection refused, 5xx, 429).
 * - `FEDERATED_POLICY_MISMATCH` — the partner requires secure aggregation or differential privacy and the coordinator
 *   does not run it, or the coordinator's model does not match the partner's.
 *
 * @module
 */

/** Phase of the federation as the coordinator reports it. */
export type RoundPhase = 'keys' | 'training' | 'unmasking' | 'aggregating' | 'done' | 'failed';

/** Differential-privacy parameters: every partner clips its update to `clipNorm` and adds Gaussian noise. */
export interface DpOptions {
  /** L2 bound C on each partner's update. */
  clipNorm: number;
  /** Noise multiplier z; see `gaussianNoiseStd` for the per-partner noise convention. */
  noiseMultiplier: number;
}

/** A secure-aggregation participant as published after the key phase. */
export interface ParticipantKey {
  /** Partner id. */
  id: string;
  /** Its X25519 public key for this round (base64 of 32 raw bytes). */
  publicKey: string;
}

/** What the coordinator tells one partner about its own part in the current round. */
export interface PartnerRoundView {
  /** The requesting partner's id (null for the admin). */
  id: string | null;
  /** Whether this partner fetched the global weights during this round. */
  fetched: boolean;
  /** Secure aggregation: whether its public key for this attempt was received. */
  keySubmitted: boolean;
  /** Whether its update for this round (attempt, under secure aggregation) was accepted. */
  submitted: boolean;
  /** Secure aggregation: whether it is one of the published participants of this attempt. */
  participant: boolean;
  /** Secure aggregation: ids of dropped participants whose pair seeds this partner must reveal now. */
  reveal: string[];
  /** Secure aggregation: whether its reveal was received. */
  revealed: boolean;
}

/** Failure report carried by a `failed` federation. */
export interface FailureInfo {
  /** Error code, e.g. `FEDERATED_QUORUM_NOT_MET`. */
  code: string;
  /** What went wrong. */
  message: string;
}

/** Body of `GET /v1/round`: the round's public metadata plus the caller's own view of it. */
export interface RoundInfo {
  /** Random id of this coordinator process; changes on restart. */
  session: string;
  /** Increases on every change of the round's state; long-poll with `?since=`. */
  stateVersion: number;
  /** Current phase. */
  phase: RoundPhase;
  /** Round in progress (1-based); after the last round, `totalRounds + 1`. */
  round: number;
  /** Attempt of this round (1-based); a round that missed its quorum is retried with the next attempt. */
  attempt: number;
  /** Rounds planned. */
  totalRounds: number;
  /** Rounds completed: also the version of the global weights served by `GET /v1/global`. */
  completedRounds: number;
  /** Minimum updates for a round to close. */
  quorum: number;
  /** Number of partners enrolled. */
  partners: number;
  /** Epoch milliseconds at which the current phase's deadline fires, or null while no deadline runs. */
  deadlineAt: number | null;
  /** Local training algorithm partners must use. */
  algorithm: 'fedavg' | 'fedprox';
  /** FedProx proximal weight (unused for FedAvg). */
  mu: number;
  /** Whether updates must be masked. */
  secureAggregation: boolean;
  /** Secure aggregation: fixed-point parameters (null otherwise). */
  masking: MaskOptions | null;
  /** Secure aggregation: the round id every pair seed is derived with (null otherwise). */
  roundId: string | null;
  /** Secure aggregation: participants and their public keys, once the key phase ended (null before). */
  participants: ParticipantKey[] | null;
  /** Secure aggregation: total samples of the participants; each partner pre-weights its update by samples / total. */
  totalSamples: number | null;
  /** Differential privacy every partner must apply (null: none required). */
  dp: DpOptions | null;
  /** Specs of the global weights. */
  specs: WeightSpec[];
  /** The caller's own part in the round. */
  you: PartnerRoundView;
  /** Why the federation failed (phase `failed`), else null. */
  failure: FailureInfo | null;
}

/** Body of `POST /v1/rounds/:round/keys/:partnerId` (secure aggregation). */
export interface KeyPost {
  /** The partner's X25519 public key for this round attempt (base64 of 32 raw bytes). */
  publicKey: string;
  /** Training samples this partner will weight its update with. */
  samples: number;
  /** The round attempt the key is for. */
  attempt: number;
}

/** Body of `POST /v1/rounds/:round/reveals/:partnerId` (secure aggregation drop-out recovery). */
export interface RevealPost {
  /** The attempt the seeds belong to. */
  attempt: number;
  /** Pair seed (base64 of 32 bytes) shared with each dropped partner, by that partner's id. */
  seeds: Record<string, string>;
}

/** Body of `POST /v1/models/:version/metrics/:partnerId`: held-out metrics of global model `version`. */
export interface MetricsPost {
  /** Metric name → value (e.g. `loss`, `auc`). */
  metrics: Record<string, number>;
  /** Held-out samples the metrics were computed on. */
  samples: number;
}

/** Metadata a partner puts in the header of a plain or masked update (`encodeWeights` / `encodeMasked`). */
export interface UpdateMeta {
  /** Training samples behind the update (the FedAvg weight). */
  samples: number;
  /** Version of the global weights the update was trained from (must be `round − 1`). */
  baseVersion: number;
  /** Secure aggregation: the attempt whose keys masked the update. */
  attempt?: number;
  /** Last-epoch local training metrics. */
  metrics?: Record<string, number>;
  /** Differential privacy the partner applied. */
  dp?: AppliedDp;
}

/** Differential privacy a partner reports having applied to one update. */
export interface AppliedDp {
  /** Clip norm C. */
  clipNorm: number;
  /** Noise multiplier z. */
  noiseMultiplier: number;
  /** Standard deviation of the noise this partner added. */
  noiseStd: number;
  /** L2 norm of the update before clipping. */
  norm: number;
  /** Whether the update was scaled down. */
  clipped: boolean;
}

/**
 * Body of every 4xx/5xx answer; `code` becomes the {@link LeptonError} code a partner throws. Codes:
 * `FEDERATED_UNAUTHORIZED` (401: missing/unknown token, nothing changes), `FEDERATED_FORBIDDEN` (403: a token used for
 * another partner's id, or a partner on an admin route), `FEDERATED_NOT_FOUND` (404), `FEDERATED_BAD_UPDATE` (400:
 * undecodable payload, wrong specs, NaN/Inf, wrong dtype, bad sample count, missing required DP),
 * `FEDERATED_BAD_REQUEST` (400/413/415: malformed JSON, too large, wrong content type), `FEDERATED_BAD_KEY` (400: a
 * malformed public key or seed), `FEDERATED_ROUND_CLOSED` (409: late update or replay for a closed round/attempt),
 * `FEDERATED_DUPLICATE_UPDATE` (409: a second update from the same partner in a round), `FEDERATED_WRONG_PHASE` (409:
 * e.g. an update before the key phase ended). Never sent over HTTP but raised by the classes:
 * `FEDERATED_QUORUM_NOT_MET` (a round missed its quorum on every attempt), `FEDERATED_STATE_INVALID` (corrupt or
 * foreign state directory), `FEDERATED_UNREACHABLE` (partner retries exhausted), `FEDERATED_UNAVAILABLE` (coordinator
 * closed before the end), `FEDERATED_POLICY_MISMATCH` (partner requires secure aggregation, or the models differ).
 */
export interface ErrorBody {
  /** Stable error code (see this module's list). */
  code: string;
  /** What was wrong and what to do. */
  message: string;
}

/** Paths of the coordinator's routes (templates as registered). */
export const ROUTES = {
  round: '/v1/round',
  global: '/v1/global',
  keys: '/v1/rounds/:round/keys/:partnerId',
  updates: '/v1/rounds/:round/updates/:partnerId',
  reveals: '/v1/rounds/:round/reveals/:partnerId',
  metrics: '/v1/models/:version/metrics/:partnerId',
  status: '/v1/status',
} as const;

const STATUS: Record<string, number> = {
  FEDERATED_UNAUTHORIZED: 401,
  FEDERATED_FORBIDDEN: 403,
  FEDERATED_NOT_FOUND: 404,
  FEDERATED_BAD_UPDATE: 400,
  FEDERATED_BAD_REQUEST: 400,
  FEDERATED_BAD_KEY: 400,
  INVALID_INPUT: 400,
  INVALID_ARGUMENT: 400,
  SHAPE_MISMATCH: 400,
  FEDERATED_ROUND_CLOSED: 409,
  FEDERATED_DUPLICATE_UPDATE: 409,
  FEDERATED_WRONG_PHASE: 409,
  FEDERATED_UNAVAILABLE: 503,
};

/** @internal HTTP status the coordinator answers an error code with (500 for codes it does not expect). */
export function httpStatusFor(code: string): number {
  return STATUS[code] ?? 500;
}

/** @internal Whether a status is worth retrying (the coordinator restarting, overloaded or briefly failing). */
export function isTransientStatus(status: number): boolean {
  return status === 429 || status >= 500;
}
