/**
 * Parses a timestamp as applications send it: epoch milliseconds (number or digit string), an ISO-8601 string, or a
 * Date. Shared by every vertical's input schema so they all accept the same forms.
 *
 * @param value - the raw value
 * @returns epoch milliseconds, or undefined when the value is not a valid time
 * @example
 * ```ts
 * import { parseTimestamp } from '@lepton/core';
 * parseTimestamp('2026-01-01T00:00:00Z'); // 1767225600000
 * parseTimestamp('yesterday'); // undefined
 * ```
 */
export function parseTimestamp(value: unknown): number | undefined {
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number') ms = value;
  else if (typeof value === 'string') ms = /^\d+$/.test(value.trim()) ? Number(value) : Date.parse(value);
  else return undefined;
  return Number.isFinite(ms) ? ms : undefined;
}
