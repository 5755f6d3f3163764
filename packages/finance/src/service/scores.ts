import type { FraudScore } from '../fraud/model.js';
import type { Rejection } from './message.js';

/** The checks of one score field: its name, whether a value passes, and what it must be. */
const FIELDS: ReadonlyArray<readonly [keyof FraudScore, (v: number) => boolean, string]> = [
  ['probability', (v) => v >= 0 && v <= 1, 'a finite number in [0, 1]'],
  ['riskScore', (v) => v >= 0 && v <= 999, 'a finite number in [0, 999]'],
  ['supervised', () => true, 'a finite number'],
  ['anomaly', (v) => v >= 0 && v <= 1, 'a finite number in [0, 1]'],
];

/**
 * @internal Checks one score a `TransactionScorer` returned, right after the call: a NaN, an Infinity, a string
 * or a missing score written to the scores stream would read as a plausible result downstream (and a NaN probability
 * approves under every policy). Each field is read once, so a getter cannot pass the check and then change. Never
 * throws.
 *
 * @param score - what the scorer returned for one row
 * @returns a plain copy of the score, or why its entry is dead-lettered (`INVALID_MODEL`, the field, no value)
 */
export function checkScore(score: unknown): { score: FraudScore } | { rejection: Rejection } {
  const refuse = (field: string, what: string): { rejection: Rejection } => ({
    rejection: { code: 'INVALID_MODEL', field, reason: `the model returned ${what} for this transaction, so it was recorded but not scored; check the model` },
  });
  if (typeof score !== 'object' || score === null) return refuse('(score)', 'no score object');
  const out: Partial<Record<keyof FraudScore, number>> = {};
  for (const [field, ok, must] of FIELDS) {
    let v: unknown;
    try {
      v = (score as Record<string, unknown>)[field];
    } catch {
      return refuse(field, `a score whose '${field}' could not be read`);
    }
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) return refuse(field, `a '${field}' that is not ${must}`);
    out[field] = v;
  }
  return { score: out as FraudScore };
}
