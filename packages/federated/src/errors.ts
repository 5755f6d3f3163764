import { CORE_ERROR_CODES, type LeptonErrorCode } from '@lepton/core';

/**
 * Every error code `@lepton/federated` adds to `@lepton/core`'s, at run time (for JavaScript callers and operators'
 * dashboards). {@link FederatedErrorCode} documents each one (the HTTP statuses the coordinator answers with are in
 * the protocol description of `FederatedCoordinator`). Federated also raises core's shared codes (`INVALID_ARGUMENT`,
 * `INVALID_INPUT`, `SHAPE_MISMATCH` …); `tests/error-codes.test.ts` fails when the source uses a code that is in
 * neither list, or when a code listed here is no longer used.
 */
export const FEDERATED_ERROR_CODES = [
  'FEDERATED_UNAUTHORIZED',
  'FEDERATED_FORBIDDEN',
  'FEDERATED_NOT_FOUND',
  'FEDERATED_BAD_REQUEST',
  'FEDERATED_BAD_UPDATE',
  'FEDERATED_OUT_OF_BOUNDS',
  'FEDERATED_DP_VIOLATION',
  'FEDERATED_BAD_SIGNATURE',
  'FEDERATED_BAD_KEY',
  'FEDERATED_TOO_FEW_PARTICIPANTS',
  'FEDERATED_AGGREGATE_INVALID',
  'FEDERATED_ROUND_CLOSED',
  'FEDERATED_DUPLICATE_UPDATE',
  'FEDERATED_WRONG_PHASE',
  'FEDERATED_QUORUM_NOT_MET',
  'FEDERATED_STATE_INVALID',
  'FEDERATED_UNREACHABLE',
  'FEDERATED_UNAVAILABLE',
  'FEDERATED_POLICY_MISMATCH',
  'FEDERATED_INTERNAL',
  'FEDERATED_BAD_RESPONSE',
] as const;

/**
 * An error code `@lepton/federated` adds (one of {@link FEDERATED_ERROR_CODES}); with core's codes it makes up
 * `LeptonErrorCode` in a program that imports `@lepton/federated`.
 *
 * - `FEDERATED_UNAUTHORIZED` — missing or unknown bearer token (HTTP 401); nothing changes on the coordinator.
 * - `FEDERATED_FORBIDDEN` — a valid token used for another partner's id, or a partner calling an admin route (403).
 * - `FEDERATED_NOT_FOUND` — no such route (404).
 * - `FEDERATED_BAD_REQUEST` — a malformed JSON body, a body over the size limit or a wrong content type (400/413/415).
 * - `FEDERATED_BAD_UPDATE` — an update that does not decode, has the wrong specs, NaN/Inf values or bad metadata.
 * - `FEDERATED_OUT_OF_BOUNDS` — a plain update with a value or an L2 norm beyond `updateBounds`.
 * - `FEDERATED_DP_VIOLATION` — a plain update whose norm cannot come from the clipping and noise it claims.
 * - `FEDERATED_BAD_SIGNATURE` — a key announcement or confirmation whose signature does not verify (also raised by a
 *   partner that refuses a statement the coordinator relayed).
 * - `FEDERATED_BAD_KEY` — a secure-aggregation public key or revealed seed that is not well formed.
 * - `FEDERATED_TOO_FEW_PARTICIPANTS` — a partner refuses to go on with fewer participants than its `minParticipants`.
 * - `FEDERATED_AGGREGATE_INVALID` — a round's aggregate is non-finite or out of bounds (the attempt fails).
 * - `FEDERATED_ROUND_CLOSED` — an update, key or reveal for a round or attempt that is already closed (replays, late
 *   updates).
 * - `FEDERATED_DUPLICATE_UPDATE` — a second update, key, reveal or evaluation from one partner for one round.
 * - `FEDERATED_WRONG_PHASE` — a request that does not fit the round's phase.
 * - `FEDERATED_QUORUM_NOT_MET` — a round missed its quorum on every attempt; the federation stops.
 * - `FEDERATED_STATE_INVALID` — the state directory holds a corrupt or foreign state and no earlier round verifies;
 *   or a partner's `stateFile` cannot be read or written, is corrupt or belongs to another partner (nothing is sent).
 * - `FEDERATED_UNREACHABLE` — the partner gave up after retrying transient failures (refused, 5xx, 429).
 * - `FEDERATED_UNAVAILABLE` — the coordinator was closed before the federation finished (503).
 * - `FEDERATED_POLICY_MISMATCH` — the partner requires secure aggregation or differential privacy the coordinator does
 *   not run, or the models differ.
 * - `FEDERATED_INTERNAL` — the coordinator failed inside (500); its log has the error.
 * - `FEDERATED_BAD_RESPONSE` — a partner refuses the coordinator's answer: a round info with a field of the wrong type
 *   or range (a buggy or compromised coordinator), an answer that is not JSON, or one larger than the partner reads (1 MiB
 *   of JSON; the weights' size plus header for the global model); the partner stops before it trains or sends anything.
 */
export type FederatedErrorCode = (typeof FEDERATED_ERROR_CODES)[number];

declare module '@lepton/core' {
  interface LeptonErrorCodes {
    /** Codes added by `@lepton/federated` ({@link FEDERATED_ERROR_CODES}). */
    federated: FederatedErrorCode;
  }
}

const KNOWN: ReadonlySet<string> = new Set<string>([...CORE_ERROR_CODES, ...FEDERATED_ERROR_CODES]);

/**
 * The code a coordinator's answer names, if it is one a coordinator raises (core's or federated's), else `fallback`.
 * The answer comes over the network: an unknown code is not passed on as a typed `LeptonErrorCode`. @internal
 */
export function remoteCode(code: unknown, fallback: FederatedErrorCode): LeptonErrorCode {
  return typeof code === 'string' && KNOWN.has(code) ? (code as LeptonErrorCode) : fallback;
}
