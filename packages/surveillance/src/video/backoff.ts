/** Longest delay `setTimeout` honours, ms; a longer one (or Infinity, or NaN) fires at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/** A reconnect backoff with its defaults filled in. */
export interface Backoff {
  initialDelayMs: number;
  maxDelayMs: number;
  factor: number;
}

/**
 * @internal Fills in and checks a reconnect backoff (`initialDelayMs × factor^(attempt − 1)`, at most `maxDelayMs`).
 * Each delay must be a number of milliseconds a timer can wait: NaN, a string or anything past {@link MAX_TIMER_MS}
 * made the timer fire at once, so a dead camera was retried in a tight loop of ffmpeg starts.
 *
 * @param r - the caller's `reconnect` block (undefined for the defaults)
 * @param bad - throws the caller's typed error for a field and what is wrong with it
 */
export function resolveBackoff(r: unknown, bad: (field: string, why: string) => never): Backoff {
  if (r !== undefined && (r === null || typeof r !== 'object' || Array.isArray(r))) bad('reconnect', 'must be an object');
  const o = (r ?? {}) as Partial<Record<keyof Backoff, unknown>>;
  const initialDelayMs = o.initialDelayMs ?? 500;
  const maxDelayMs = o.maxDelayMs ?? 30_000;
  const factor = o.factor ?? 2;
  const ms = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= MAX_TIMER_MS;
  if (!ms(initialDelayMs)) bad('reconnect.initialDelayMs', `must be a number of milliseconds from 0 to ${MAX_TIMER_MS}`);
  if (!ms(maxDelayMs) || maxDelayMs < initialDelayMs) bad('reconnect.maxDelayMs', `must be ≥ reconnect.initialDelayMs and ≤ ${MAX_TIMER_MS}`);
  if (!(typeof factor === 'number' && factor >= 1 && Number.isFinite(factor))) bad('reconnect.factor', 'must be a finite number ≥ 1');
  return { initialDelayMs, maxDelayMs, factor } as Backoff;
}
