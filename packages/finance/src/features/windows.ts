/** A sliding window: name used in feature names, and length in milliseconds. */
export interface Window {
  /** Short label used in feature names, e.g. `1h` in `card_count_1h`. */
  name: string;
  /** Window length in milliseconds; must be positive. */
  ms: number;
}

/** The default windows: 10 minutes, 1 hour, 24 hours, 7 days. */
export const DEFAULT_WINDOWS: readonly Window[] = [
  { name: '10m', ms: 10 * 60_000 },
  { name: '1h', ms: 3_600_000 },
  { name: '24h', ms: 86_400_000 },
  { name: '7d', ms: 7 * 86_400_000 },
];

/** Entities whose history is tracked. */
export const ENTITIES = ['card', 'customer', 'merchant', 'device'] as const;
/** One of {@link ENTITIES}. */
export type Entity = (typeof ENTITIES)[number];
