import { describeValue } from '@lepton/core';
import { dicomWebError } from './errors.js';

/**
 * QIDO-RS query parameters (PS3.18 §8.3.4): matching keys by keyword or tag — `PatientID`, `StudyDate`
 * (`'20240101-20241231'` ranges), `ModalitiesInStudy`, `AccessionNumber`, `SeriesInstanceUID`, `'00100020'` … with
 * `*`/`?` wildcards where the server supports them; `limit`, `offset`, `fuzzymatching`; and `includefield` (a tag or
 * keyword, a list of them, or `'all'`) to have more attributes returned. Lists become comma-separated values (UID list
 * matching). Undefined values are left out. Numbers must be finite, and `limit` and `offset` whole numbers ≥ 0 (or
 * strings of digits).
 */
export type QidoQuery = Readonly<Record<string, string | number | boolean | readonly (string | number)[] | undefined>>;

/** @internal */
export function toQueryParams(query: QidoQuery): Record<string, string> {
  if (typeof query !== 'object' || query === null || Array.isArray(query)) {
    throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `A QIDO query must be an object of matching keys, got ${describeValue(query)}.`, { option: 'query' });
  }
  const out: Record<string, string> = {};
  let entries: Array<[string, unknown]>;
  try {
    // every key and value read once, here, lists copied: a getter that throws is an invalid query, not a TypeError
    entries = Object.entries(query).map(([k, v]): [string, unknown] => [k, Array.isArray(v) ? Array.from(v as unknown[]) : v]);
  } catch {
    throw dicomWebError('DICOMWEB_INVALID_OPTIONS', 'The QIDO query could not be read (a getter threw).', { option: 'query' });
  }
  for (const [key, value] of entries as Array<[string, QidoQuery[string]]>) {
    if (value === undefined) continue;
    if (!/^[A-Za-z0-9.]+$/.test(key)) {
      throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `Query parameter names are attribute keywords, tags or QIDO options (letters, digits, dots); got ${JSON.stringify(key)}.`, { option: 'query' });
    }
    const scalar = (v: unknown): boolean => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
    // Never String() or join() of an object from JavaScript: one whose toString is missing or throws throws a TypeError.
    if (Array.isArray(value) ? !value.every((v) => typeof v === 'string' || typeof v === 'number') : !scalar(value)) {
      throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `Query parameter ${key} must be a string, number, boolean or list of strings/numbers; got ${describeValue(value)}.`, { option: 'query' });
    }
    // NaN, Infinity and 1e308 were sent as "NaN", "Infinity" and "1e+308"; QIDO's limit and offset are counts, so -1
    // and 1.5 were sent too. The message names the key, never the value (a Patient ID is patient data).
    if ((Array.isArray(value) ? value : [value]).some((v) => typeof v === 'number' && !Number.isFinite(v))) {
      throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `Query parameter ${key} must be a finite number.`, { option: 'query' });
    }
    if ((key === 'limit' || key === 'offset') && !(typeof value === 'number' ? Number.isSafeInteger(value) && value >= 0 : typeof value === 'string' && /^\d{1,15}$/.test(value))) {
      throw dicomWebError('DICOMWEB_INVALID_OPTIONS', `Query parameter ${key} must be a whole number ≥ 0.`, { option: 'query' });
    }
    out[key] = Array.isArray(value) ? value.join(',') : String(value);
  }
  return out;
}

/** Maps with at most `limit` calls in flight; results keep the input order. A throw stops new work and rethrows. @internal */
export async function mapPool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
