/**
 * The partner's check of the coordinator's `GET /v1/round` answer. The coordinator is authenticated, but a partner
 * does not trust what it relays (secure aggregation verifies every signature): a round info whose fields have the
 * wrong type or range, from a buggy or compromised coordinator, stops the partner with a typed
 * `FEDERATED_BAD_RESPONSE` before it trains, masks or sends anything, instead of a `TypeError` or NaN weights later.
 * Deeper parts (key announcements, confirmations, the weight specs) are checked where they are used: by their
 * signatures and by comparing the specs with the local model's.
 * @internal
 * @module
 */
import { describeValue, LeptonError } from '@lepton/core';
import type { RoundInfo, RoundPhase } from './http-protocol.js';

const PHASES: readonly RoundPhase[] = ['keys', 'training', 'confirming', 'unmasking', 'aggregating', 'done', 'failed'];
const COUNTS = ['stateVersion', 'round', 'attempt', 'totalRounds', 'completedRounds', 'quorum', 'partners'] as const;
const VIEW_FLAGS = ['fetched', 'keySubmitted', 'submitted', 'participant', 'survivor', 'confirmed', 'revealed'] as const;
const LISTS = ['participants', 'survivors', 'dropped', 'confirmations'] as const;

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => v !== null && typeof v === 'object' && !Array.isArray(v);
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const shortString = (v: unknown, max = 256): v is string => typeof v === 'string' && v.length <= max;

/**
 * Checks a round info received from the coordinator.
 *
 * @param raw - the decoded JSON body
 * @returns the same object, typed
 * @throws LeptonError `FEDERATED_BAD_RESPONSE` naming the first field that is wrong (its value described, not shown)
 */
export function checkRoundInfo(raw: unknown): RoundInfo {
  const bad = (field: string, value: unknown, want: string): never => {
    throw new LeptonError('FEDERATED_BAD_RESPONSE', `The coordinator's round info is malformed: ${field} is ${describeValue(value)}, expected ${want}. Nothing was sent.`, {
      details: { field },
    });
  };
  if (!isPlain(raw)) return bad('the body', raw, 'an object');
  const r = raw;
  if (!shortString(r['session']) || r['session'] === '') bad('session', r['session'], 'a non-empty id');
  for (const k of COUNTS) if (!(Number.isSafeInteger(r[k]) && (r[k] as number) >= 0)) bad(k, r[k], 'an integer ≥ 0');
  if (!PHASES.includes(r['phase'] as RoundPhase)) bad('phase', r['phase'], PHASES.join(' | '));
  if (r['deadlineAt'] !== null && !finite(r['deadlineAt'])) bad('deadlineAt', r['deadlineAt'], 'epoch milliseconds or null');
  if (r['algorithm'] !== 'fedavg' && r['algorithm'] !== 'fedprox') bad('algorithm', r['algorithm'], "'fedavg' | 'fedprox'");
  if (!(finite(r['mu']) && r['mu'] >= 0)) bad('mu', r['mu'], 'a finite number ≥ 0');
  if (typeof r['secureAggregation'] !== 'boolean') bad('secureAggregation', r['secureAggregation'], 'true or false');
  const masking = r['masking'];
  if (masking !== null && !(isPlain(masking) && finite(masking['scale']) && masking['scale'] > 0 && finite(masking['clipValue']) && masking['clipValue'] > 0)) {
    bad('masking', masking, 'null or { scale > 0, clipValue > 0 }');
  }
  if (!shortString(r['federationId'])) bad('federationId', r['federationId'], 'an id');
  if (r['roundId'] !== null && !shortString(r['roundId'])) bad('roundId', r['roundId'], 'an id or null');
  for (const k of LISTS) if (r[k] !== null && !Array.isArray(r[k])) bad(k, r[k], 'an array or null');
  for (const k of ['survivors', 'dropped'] as const) {
    const list = r[k];
    if (Array.isArray(list) && !list.every((id) => shortString(id))) bad(k, list, 'partner ids');
  }
  if (r['totalSamples'] !== null && !(finite(r['totalSamples']) && r['totalSamples'] >= 0)) bad('totalSamples', r['totalSamples'], 'a number ≥ 0 or null');
  const dp = r['dp'];
  if (dp !== null) {
    const ok = isPlain(dp) && finite(dp['clipNorm']) && dp['clipNorm'] > 0 && finite(dp['noiseMultiplier']) && dp['noiseMultiplier'] >= 0 && (dp['delta'] === undefined || (finite(dp['delta']) && dp['delta'] > 0 && dp['delta'] < 1));
    if (!ok) bad('dp', dp, 'null or { clipNorm > 0, noiseMultiplier ≥ 0, delta in (0, 1)? }');
  }
  if (!Array.isArray(r['specs'])) bad('specs', r['specs'], 'an array of weight specs');
  const you = r['you'];
  if (!isPlain(you) || (you['id'] !== null && !shortString(you['id'])) || !VIEW_FLAGS.every((f) => typeof you[f] === 'boolean')) bad('you', you, 'the partner view { id, fetched, submitted, … }');
  const failure = r['failure'];
  if (failure !== null && !(isPlain(failure) && typeof failure['code'] === 'string' && typeof failure['message'] === 'string')) bad('failure', failure, 'null or { code, message }');
  return r as unknown as RoundInfo;
}
