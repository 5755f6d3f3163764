import type { MaskOptions } from './masking.js';
import type { KeyAnnouncement, PublishedParticipant } from './secagg.js';
import type { WeightSpec } from './weights.js';

/**
 * The HTTP protocol spoken between a {@link FederatedCoordinator} and its {@link FederatedPartner}s: JSON shapes,
 * error bodies and the error codes the two sides raise.
 *
 * Error codes (all {@link @lepton/core!LeptonError} codes; HTTP status in brackets where the coordinator answers with one):
 * - `FEDERATED_UNAUTHORIZED` [401] — missing or unknown bearer token. Nothing changes on the coordinator.
 * - `FEDERATED_FORBIDDEN` [403] — a valid token used for another partner's id, or a partner calling an admin route.
 * - `FEDERATED_NOT_FOUND` [404] — no such route (there is deliberately no route that returns a partner's update).
 * - `FEDERATED_BAD_UPDATE` [400] — a payload that does not decode, has the wrong specs, NaN/Inf values, the wrong
 *   dtype for the mode, or metadata that fails its schema (unknown fields, nesting deeper than 8, bad sample count,
 *   base version, missing or insufficient differential privacy).
 * - `FEDERATED_OUT_OF_BOUNDS` [400] — a plain update with a value or an L2 norm beyond `updateBounds`.
 * - `FEDERATED_DP_VIOLATION` [400] — a plain update whose norm cannot come from the clipping and noise it claims
 *   (unclipped, or noiseless where noise was claimed).
 * - `FEDERATED_BAD_SIGNATURE` [400] — a secure-aggregation key announcement or survivor confirmation whose Ed25519
 *   signature does not verify under the partner's registered identity key, or that is bound to another round. Partners
 *   raise it too, when the coordinator relays a statement that does not verify (a substituted key, an unknown
 *   participant, a replay): they then refuse to send or reveal anything.
 * - `FEDERATED_TOO_FEW_PARTICIPANTS` — raised by a partner that refuses to send a masked update, confirm or reveal
 *   because the participant or survivor set is smaller than its `minParticipants`.
 * - `FEDERATED_AGGREGATE_INVALID` — a round whose aggregate is non-finite or out of bounds: the attempt fails, the last
 *   good global model stays published, and after the last attempt the federation fails with this code.
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
 * - `FEDERATED_STATE_INVALID` — the state directory holds a state file that is corrupt or belongs to another model,
 *   and no earlier round's weights verify either; the coordinator refuses to start rather than guess. (Corrupt or
 *   non-finite current weights with a good earlier round: it falls back to that round and records it in `failures`.)
 * - `FEDERATED_UNREACHABLE` — the partner gave up after retrying transient failures (connection refused, 5xx, 429).
 * - `FEDERATED_POLICY_MISMATCH` — the partner requires secure aggregation or differential privacy and the coordinator
 *   does not run it, or the coordinator's model does not match the partner's.
 *
 * @module
 */

/** Phase of the federation as the coordinator reports it. */
export type RoundPhase = 'keys' | 'training' | 'confirming' | 'unmasking' | 'aggregating' | 'done' | 'failed';

/** Differential-privacy parameters: every partner clips its update to `clipNorm` and adds Gaussian noise. */
export interface DpOptions {
  /** L2 bound C on each partner's update. */
  clipNorm: number;
  /** Noise multiplier z; see `gaussianNoiseStd` for the per-partner noise convention. */
  noiseMultiplier: number;
  /** δ at which the coordinator reports ε (partner-level, cumulative over rounds). Default 1e-5. */
  delta?: number;
}

/** What the coordinator tells one partner about its own part in the current round. */
export interface PartnerRoundView {
  /** The requesting partner's id (null for the admin). */
  id: string | null;
  /** Whether this partner fetched the global weights during this round. */
  fetched: boolean;
  /** Secure aggregation: whether its key announcement for this attempt was received. */
  keySubmitted: boolean;
  /** Whether its update for this round (attempt, under secure aggregation) was accepted. */
  submitted: boolean;
  /** Secure aggregation: whether it is one of the published participants of this attempt. */
  participant: boolean;
  /** Secure aggregation: whether its update is in the sum (it must confirm the survivors, then reveal). */
  survivor: boolean;
  /** Secure aggregation: whether its survivor confirmation was received. */
  confirmed: boolean;
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

/** One survivor's signature over the participant and survivor sets of an attempt (a `SurvivorConfirmation`). */
export interface SignedConfirmation {
  /** The survivor. */
  id: string;
  /** Its Ed25519 signature, base64. */
  signature: string;
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
  /** Id of this federation (kept in the state directory; stable across restarts). Key announcements are bound to it. */
  federationId: string;
  /** Secure aggregation: the round attempt id every key announcement and pair seed is bound to (null otherwise). */
  roundId: string | null;
  /** Secure aggregation: the participants' signed key announcements, once the key phase ended (null before). */
  participants: PublishedParticipant[] | null;
  /** Secure aggregation: total samples of the participants; each partner pre-weights its update by samples / total. */
  totalSamples: number | null;
  /** Secure aggregation: participants whose update is in the sum (from the confirming phase on; null before). */
  survivors: string[] | null;
  /** Secure aggregation: participants whose update did not arrive (from the confirming phase on; null before). */
  dropped: string[] | null;
  /** Secure aggregation: every survivor's signed confirmation (in the unmasking phase; null before). */
  confirmations: SignedConfirmation[] | null;
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
  /** The round attempt the announcement is for. */
  attempt: number;
  /** The signed key announcement (see `createKeyAnnouncement`). */
  announcement: KeyAnnouncement;
  /** Its Ed25519 signature by the partner's identity key, base64. */
  signature: string;
}

/** Body of `POST /v1/rounds/:round/confirmations/:partnerId` (secure aggregation, confirming phase). */
export interface ConfirmPost {
  /** The round attempt. */
  attempt: number;
  /** Ed25519 signature of the partner's `SurvivorConfirmation` of the published participants and survivors, base64. */
  signature: string;
}

/** Body of `POST /v1/rounds/:round/reveals/:partnerId` (secure aggregation, unmasking phase). */
export interface RevealPost {
  /** The round attempt. */
  attempt: number;
  /** The partner's self-mask seed (base64 of 32 bytes); must match the commitment in its announcement. */
  selfMask: string;
  /**
   * For each dropped participant, the raw X25519 private key (base64 of 32 bytes) this partner used for that pair;
   * must reproduce the public key it announced for that peer. Reveals that one pair seed and nothing else.
   */
  pairKeys: Record<string, string>;
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
  /**
   * Last-epoch local training metrics. Under secure aggregation sent only when the partner opts in
   * (`shareDiagnostics`) and kept only when the coordinator opts in (`partnerDiagnostics`).
   */
  metrics?: Record<string, number>;
  /** Differential privacy the partner claims to have applied. */
  dp?: DpClaim;
}

/**
 * Differential privacy a partner claims for one update, as sent and recorded. The coordinator cannot verify a masked
 * update's noise: these are claims (for plain updates it checks that the norm is consistent with them).
 */
export interface DpClaim {
  /** Clip norm C. */
  clipNorm: number;
  /** Noise multiplier z. */
  noiseMultiplier: number;
  /** Standard deviation of the noise this partner added: z·C/√partners. */
  noiseStd: number;
  /** The partner count n its noise share was computed for. */
  partners: number;
  /** L2 norm of the update before clipping — a per-partner diagnostic, present only when shared. */
  norm?: number;
  /** Whether the update was scaled down — a per-partner diagnostic, present only when shared. */
  clipped?: boolean;
}

/** Differential privacy a partner applied to one update, as it records it locally. */
export interface AppliedDp extends DpClaim {
  /** L2 norm of the update before clipping. */
  norm: number;
  /** Whether the update was scaled down. */
  clipped: boolean;
}

/**
 * Body of every 4xx/5xx answer; `code` becomes the {@link @lepton/core!LeptonError} code a partner throws. Codes:
 * `FEDERATED_UNAUTHORIZED` (401: missing/unknown token, nothing changes), `FEDERATED_FORBIDDEN` (403: a token used for
 * another partner's id, or a partner on an admin route), `FEDERATED_NOT_FOUND` (404), `FEDERATED_BAD_UPDATE` (400:
 * undecodable payload, wrong specs, NaN/Inf, wrong dtype, bad sample count, missing required DP),
 * `FEDERATED_BAD_REQUEST` (400/413/415: malformed JSON, too large, wrong content type), `FEDERATED_BAD_KEY` (400: a
 * malformed key announcement, or a revealed key or seed that does not match what was announced),
 * `FEDERATED_BAD_SIGNATURE` (400: a signature that does not verify), `FEDERATED_OUT_OF_BOUNDS` (400: a value or norm
 * beyond the bounds), `FEDERATED_DP_VIOLATION` (400: a norm inconsistent with the DP claimed), `FEDERATED_ROUND_CLOSED` (409: late update or replay for a closed round/attempt),
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
  confirmations: '/v1/rounds/:round/confirmations/:partnerId',
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
  FEDERATED_BAD_SIGNATURE: 400,
  FEDERATED_OUT_OF_BOUNDS: 400,
  FEDERATED_DP_VIOLATION: 400,
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
