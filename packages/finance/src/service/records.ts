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
  /** The probability on a 0–999 scale (checked in [0, 999] when written and when read). */
  riskScore: number;
  /** Supervised model output before blending and calibration. */
  supervised: number;
  /** Anomaly percentile (checked in [0, 1] when written and when read). */
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
   * `FINANCE_FEATURE_NOT_FINITE`, `FINANCE_MESSAGE_POISON` (delivered more than `maxDeliveries` times), or
   * `INVALID_MODEL` (the model returned no usable score for this transaction: see `field`; the transaction is
   * recorded in the feature state, and the rest of its batch is scored).
   */
  code: string;
  /**
   * The offending field: for `FINANCE_TRANSACTION_INVALID` a transaction field; for `INVALID_MODEL` the score field
   * (`probability`, `riskScore`, `supervised`, `anomaly`, or `(score)` when the score is not an object).
   */
  field?: string;
  /** A sentence saying what was wrong (no values). */
  reason: string;
  /** The consumer that dead-lettered it. */
  consumer: string;
}

/** @internal Why a stream entry could not be read as a record: the field, and a sentence without its value. */
export interface MalformedEntry {
  /** The field that is missing or unreadable (`(entry)` for the entry as a whole). */
  field: string;
  /** What is wrong with it, never its value. */
  reason: string;
}

/** @internal Field/value pairs of a stream entry → object (`null`: an entry deleted from the stream). */
export function fieldMap(fields: readonly string[] | null): Map<string, string> {
  const m = new Map<string, string>();
  if (!Array.isArray(fields)) return m;
  for (let i = 0; i + 1 < fields.length; i += 2) m.set(String(fields[i]), String(fields[i + 1]));
  return m;
}

/**
 * How the service writes numbers (`String(n)` of a finite number: `0.25`, `-3`, `1e-7`, `1.5e+21`). `Number()` alone
 * would read `''` and `' '` as 0, and `'0x10'` as 16: a missing or tampered field would come back as a plausible score.
 */
const NUMBER_TEXT = /^-?(?:\d+(?:\.\d+)?|\.\d+)(?:e[+-]?\d+)?$/i;
/** A stream entry id (`<ms>-<seq>`). */
const ENTRY_ID = /^\d{1,20}-\d{1,20}$/;

/** Thrown inside the parsers below to reject one entry; never leaves this module. */
class Malformed {
  constructor(readonly entry: MalformedEntry) {}
}

const malformed = (field: string, reason: string): never => {
  throw new Malformed({ field, reason });
};

function text(f: Map<string, string>, field: string): string {
  const v = f.get(field);
  return v === undefined || v === '' ? malformed(field, 'is missing') : v;
}

function finite(f: Map<string, string>, field: string, min = -Infinity, max = Infinity): number {
  const v = text(f, field);
  const n = NUMBER_TEXT.test(v) ? Number(v) : Number.NaN;
  if (!Number.isFinite(n)) return malformed(field, 'is not a finite number');
  if (n < min || n > max) return malformed(field, `is outside [${min}, ${max}]`);
  return n;
}

function partitionField(f: Map<string, string>, partitions: number): number {
  const v = text(f, 'partition');
  const n = /^\d{1,4}$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isInteger(n)) return malformed('partition', 'is not a partition number');
  return n < partitions ? n : malformed('partition', `is not one of the ${partitions} partitions`);
}

function entryIdField(f: Map<string, string>, field: string): string {
  const v = text(f, field);
  return ENTRY_ID.test(v) ? v : malformed(field, 'is not a stream entry id');
}

/** Runs a parser; a {@link Malformed} (or anything else thrown while reading the entry) becomes the reason. */
function attempt<T>(parse: () => T): { record: T } | { malformed: MalformedEntry } {
  try {
    return { record: parse() };
  } catch (err) {
    if (err instanceof Malformed) return { malformed: err.entry };
    return { malformed: { field: '(entry)', reason: 'could not be read' } };
  }
}

/**
 * @internal One entry of the scores or alerts stream, checked field by field: every number finite (the probability
 * and the anomaly in [0, 1], the risk score in [0, 999]), the partition below `partitions`, `features` a JSON array
 * of finite numbers, `decision` absent or a known decision. Never throws.
 */
export function parseScore(entryId: string, fields: readonly string[] | null, partitions = 1024): { record: ScoreRecord } | { malformed: MalformedEntry } {
  return attempt(() => {
    const f = fieldMap(fields);
    const r: ScoreRecord = {
      entryId,
      inputId: entryIdField(f, 'input'),
      partition: partitionField(f, partitions),
      id: text(f, 'id'),
      probability: finite(f, 'probability', 0, 1),
      riskScore: finite(f, 'riskScore', 0, 999),
      supervised: finite(f, 'supervised'),
      anomaly: finite(f, 'anomaly', 0, 1),
      consumer: text(f, 'consumer'),
      rescored: f.get('rescored') === '1',
    };
    const decision = f.get('decision');
    if (decision === 'approve' || decision === 'review' || decision === 'decline') r.decision = decision;
    else if (decision !== undefined) malformed('decision', 'is not approve, review or decline');
    const features = f.get('features');
    if (features !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(features);
      } catch {
        // JSON.parse's own message quotes the text: never used.
        malformed('features', 'is not valid JSON');
      }
      if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === 'number' && Number.isFinite(v))) malformed('features', 'is not an array of finite numbers');
      r.features = parsed as number[];
    }
    return r;
  });
}

/** @internal One entry of the dead-letter stream, checked like {@link parseScore}. Never throws. */
export function parseDeadLetter(entryId: string, fields: readonly string[] | null, partitions = 1024): { record: DeadLetterRecord } | { malformed: MalformedEntry } {
  return attempt(() => {
    const f = fieldMap(fields);
    const r: DeadLetterRecord = {
      entryId,
      inputId: entryIdField(f, 'input'),
      partition: partitionField(f, partitions),
      code: text(f, 'code'),
      reason: text(f, 'reason'),
      consumer: text(f, 'consumer'),
    };
    const field = f.get('field');
    if (field !== undefined) r.field = field;
    return r;
  });
}
