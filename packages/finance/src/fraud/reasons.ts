import { describeValue, LeptonError } from '@lepton/core';

/** A human-readable reason for a score, from one feature's signed contribution. */
export interface ReasonCode {
  /** Stable code (the feature name), for adverse-action or case-management systems. */
  code: string;
  /** Sentence for an analyst, e.g. "7 transactions on this card in the last 10 minutes (usual 0.3)". */
  text: string;
  /** Signed contribution to the fraud score (integrated gradients, in probability units). */
  contribution: number;
  /** The transaction's raw value of the feature. */
  value: number;
  /** The feature's mean over the model's training rows, for comparison with {@link ReasonCode.value}. */
  usual: number;
}

const ENTITY: Record<string, string> = { card: 'this card', customer: 'this customer', merchant: 'this merchant', device: 'this device' };
const WINDOW: Record<string, string> = { '10m': '10 minutes', '1h': 'hour', '24h': '24 hours', '7d': '7 days' };

function fmt(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(1).replace(/\.0$/, '') : v.toFixed(2);
}

/**
 * Turns a feature's name and values into an analyst-readable sentence.
 *
 * @param name - feature name (from `FeatureEngine.names`)
 * @param value - the transaction's raw value
 * @param usual - the training population's mean of the feature
 * @returns the sentence
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a name that is not a string, or a value or usual
 *   that is not a finite number
 */
export function describeFeature(name: string, value: number, usual: number): string {
  if (typeof name !== 'string') throw new LeptonError('INVALID_ARGUMENT', `describeFeature: name must be a feature name, got ${describeValue(name)}.`);
  for (const [k, v] of [['value', value], ['usual', usual]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new LeptonError('INVALID_ARGUMENT', `describeFeature(${describeValue(name)}): ${k} must be a finite number, got ${describeValue(v)}.`);
  }
  const m = /^(card|customer|merchant|device)_(count|sum|mean|max)_(\w+)$/.exec(name);
  if (m) {
    const [, entity, stat, window] = m as unknown as [string, string, string, string];
    // own keys only: a window named 'constructor' must not print Object's source
    const span = `in the last ${Object.hasOwn(WINDOW, window) ? WINDOW[window] : window}`;
    const who = ENTITY[entity] ?? entity;
    const what =
      stat === 'count'
        ? `${fmt(value)} transaction${value === 1 ? '' : 's'} on ${who} ${span}`
        : stat === 'sum'
          ? `${fmt(value)} spent on ${who} ${span}`
          : stat === 'mean'
            ? `average amount ${fmt(value)} on ${who} ${span}`
            : `largest amount ${fmt(value)} on ${who} ${span}`;
    return `${what} (usual ${fmt(usual)})`;
  }
  switch (name) {
    case 'card_seconds_since_prev_log':
      return `${fmt(Math.expm1(value) / 60)} minutes since the card's previous transaction (usual ${fmt(Math.expm1(usual) / 60)})`;
    case 'card_amount_z':
      return `amount is ${fmt(value)} standard deviations from this card's usual amounts`;
    case 'customer_amount_z':
      return `amount is ${fmt(value)} standard deviations from this customer's usual amounts`;
    case 'merchant_category_risk':
      return `merchant category fraud rate ${fmt(100 * value)} % (usual ${fmt(100 * usual)} %)`;
    case 'card_distance_km_log':
      return `${fmt(Math.expm1(value))} km from the card's previous location`;
    case 'card_speed_kmh_log':
      return `implied travel speed ${fmt(Math.expm1(value))} km/h since the previous location`;
    case 'card_new_device':
      return value > 0.5 ? 'first use of this device by the card' : 'device already used by the card';
    case 'card_new_merchant':
      return value > 0.5 ? 'first purchase at this merchant with the card' : 'merchant already used by the card';
    case 'amount_log':
      return `amount ${fmt(Math.expm1(value))} (usual ${fmt(Math.expm1(usual))})`;
    case 'has_device':
      return value > 0.5 ? 'card-not-present with device fingerprint' : 'no device fingerprint';
    default:
      if (name.startsWith('hour_')) return 'time of day';
      if (name.startsWith('dow_')) return 'day of the week';
      if (name.startsWith('channel_')) return `channel ${name.slice(8)}${value > 0.5 ? '' : ' (not used)'}`;
      return `${name} = ${fmt(value)} (usual ${fmt(usual)})`;
  }
}
