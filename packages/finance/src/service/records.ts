import type { Decision } from '../fraud/decisions.js';

/**
 * One entry of `<stream>:scores` (and of `<stream>:alerts`, which repeats the scores whose decision is `review` or
 * `decline`), as {@link ScorerStreamClient.readScores} returns it. There is exactly one per transaction id (within the
 * dedupe TTL), whichever consumer wrote it.
 */
export interface ScoreRecord {
  /** Id of this output entry (its time part is when the score was written, by the Redis clock). */
  entryId: string;
  /** Id of the input entry the transaction came in (its time part is when it was published). */
  inputId: string;
  /** Input partition. */
  partition: number;
  /** Transaction id. */
  id: string;
  /** Calibrated probability of fraud. */
  probability: number;
  /** The probability on a 0–999 scale. */
  riskScore: number;
  /** Supervised model output before blending and calibration. */
  supervised: number;
  /** Anomaly percentile (0–1). */
  anomaly: number;
  /** Decision, when the service has a policy. */
  decision?: Decision;
  /** The consumer that scored it. */
  consumer: string;
  /**
   * True when the features were computed again after a consumer failed between recording the transaction and
   * writing its score (from the same state, strictly before the transaction).
   */
  rescored: boolean;
  /** The feature vector, when the service runs with `includeFeatures`. */
  features?: number[];
}

/** One entry of `<stream>:dead`: an input entry that could not be scored, and why. Never the entry's content. */
export interface DeadLetterRecord {
  /** Id of this dead-letter entry. */
  entryId: string;
  /** Id of the input entry (still in its partition stream unless trimmed: `XRANGE <stream>:<partition> id id`). */
  inputId: string;
  /** Input partition. */
  partition: number;
  /**
   * Why: `FINANCE_MESSAGE_INVALID` (no `tx` field, not JSON, too large), `FINANCE_TRANSACTION_INVALID` (not a valid
   * transaction; see `field`), `FINANCE_OUT_OF_ORDER` (older than one its partition already scored),
   * `FINANCE_FEATURE_NOT_FINITE`, or `FINANCE_MESSAGE_POISON` (delivered more than `maxDeliveries` times).
   */
  code: string;
  /** The offending field, for `FINANCE_TRANSACTION_INVALID`. */
  field?: string;
  /** A sentence saying what was wrong (no values). */
  reason: string;
  /** The consumer that dead-lettered it. */
  consumer: string;
}

/** @internal Field/value pairs of a stream entry → object. */
export function fieldMap(fields: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) m.set(fields[i]!, fields[i + 1]!);
  return m;
}

/** @internal */
export function parseScore(entryId: string, fields: readonly string[]): ScoreRecord {
  const f = fieldMap(fields);
  const r: ScoreRecord = {
    entryId,
    inputId: f.get('input') ?? '',
    partition: Number(f.get('partition')),
    id: f.get('id') ?? '',
    probability: Number(f.get('probability')),
    riskScore: Number(f.get('riskScore')),
    supervised: Number(f.get('supervised')),
    anomaly: Number(f.get('anomaly')),
    consumer: f.get('consumer') ?? '',
    rescored: f.get('rescored') === '1',
  };
  const decision = f.get('decision');
  if (decision === 'approve' || decision === 'review' || decision === 'decline') r.decision = decision;
  const features = f.get('features');
  if (features !== undefined) r.features = JSON.parse(features) as number[];
  return r;
}

/** @internal */
export function parseDeadLetter(entryId: string, fields: readonly string[]): DeadLetterRecord {
  const f = fieldMap(fields);
  const r: DeadLetterRecord = {
    entryId,
    inputId: f.get('input') ?? '',
    partition: Number(f.get('partition')),
    code: f.get('code') ?? '',
    reason: f.get('reason') ?? '',
    consumer: f.get('consumer') ?? '',
  };
  const field = f.get('field');
  if (field !== undefined) r.field = field;
  return r;
}
