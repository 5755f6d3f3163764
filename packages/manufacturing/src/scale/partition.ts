import { LeptonError } from '@lepton/core';
import { MAX_ID_LENGTH } from '../telemetry/record.js';

/** Most partitions a plant's topics may be split into. */
export const MAX_PARTITIONS = 1024;

/** FNV-1a, 32-bit, of a string's UTF-8 bytes. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(text, 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

/** MurmurHash3's 32-bit finaliser: spreads FNV-1a's weak last-byte mixing over all bits (rendezvous weights). */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Checks a partition count.
 *
 * @internal
 */
export function checkPartitions(fn: string, partitions: unknown): number {
  if (typeof partitions !== 'number' || !Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) {
    throw new LeptonError('INVALID_ARGUMENT', `${fn}: partitions must be an integer from 1 to ${MAX_PARTITIONS}; every publisher and monitor of a plant uses the same count.`, {
      details: { field: 'partitions' },
    });
  }
  return partitions;
}

/**
 * Checks one MQTT topic level (an asset, a signal, a prefix part, a member id): non-empty, at most 256 characters, and
 * free of `/`, `+`, `#` and NUL, which would change what the topic means or matches.
 *
 * @internal
 */
export function checkLevel(fn: string, field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH || /[/+#\u0000]/.test(value) || value.startsWith('$')) {
    throw new LeptonError('INVALID_ARGUMENT', `${fn}: ${field} must be 1–${MAX_ID_LENGTH} characters without '/', '+', '#' or NUL, not starting with '$' (it is one MQTT topic level).`, {
      details: { field },
    });
  }
  return value;
}

/**
 * Checks a topic prefix: one or more levels, e.g. `plant` or `site-a/plant-3`.
 *
 * @internal
 */
export function checkPrefix(fn: string, prefix: unknown): string {
  if (typeof prefix !== 'string') throw new LeptonError('INVALID_ARGUMENT', `${fn}: prefix must be a string such as 'plant' or 'site-a/plant-3'.`, { details: { field: 'prefix' } });
  prefix.split('/').forEach((level) => checkLevel(fn, 'prefix', level));
  return prefix;
}

/**
 * The partition of an asset: FNV-1a (32-bit) of the asset id's UTF-8 bytes, modulo `partitions`. Stated exactly so
 * that a gateway in another language routes the same way: `h = 0x811c9dc5; for each byte b: h = ((h ^ b) × 0x01000193)
 * mod 2^32; partition = h mod partitions`. Every sample of one asset is published under one partition, and every
 * partition is consumed by one monitor, so an asset's windows, SPC charts and alarms live in one process.
 *
 * @param asset - the asset id
 * @param partitions - number of partitions of the plant (1 to {@link MAX_PARTITIONS})
 * @returns the partition, 0 to `partitions − 1`
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when `partitions` is not an integer from 1 to 1024 or
 *   `asset` is not a valid topic level
 * @example
 * ```ts
 * import { assetPartition } from '@lepton/manufacturing';
 * console.log(assetPartition('press-1', 16)); // the same number in every process, on every machine
 * ```
 */
export function assetPartition(asset: string, partitions: number): number {
  checkPartitions('assetPartition', partitions);
  checkLevel('assetPartition', 'asset', asset);
  return fnv1a(asset) % partitions;
}

/**
 * The topic a gateway publishes one sample to, for monitors that split a plant ({@link ScaledLineMonitor}):
 * `<prefix>/data/<partition>/<asset>/<signal>` with the partition from {@link assetPartition}. The payload is the usual
 * JSON `{ "timestamp": …, "value": …, "quality": … }`.
 *
 * @param prefix - the plant's topic prefix, e.g. `plant` (the monitors' `prefix`)
 * @param partitions - the plant's partition count (the monitors' `partitions`)
 * @param asset - asset id (one topic level: no `/`, `+`, `#`)
 * @param signal - signal name (one topic level)
 * @returns the topic
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad prefix, partition count, asset or signal
 * @example
 * ```ts
 * import { telemetryTopic } from '@lepton/manufacturing';
 * const topic = telemetryTopic('plant', 16, 'press-1', 'pressure'); // 'plant/data/<0-15>/press-1/pressure'
 * // client.publish(topic, JSON.stringify({ timestamp: Date.now(), value: 5.2 }), { qos: 1 });
 * ```
 */
export function telemetryTopic(prefix: string, partitions: number, asset: string, signal: string): string {
  checkPrefix('telemetryTopic', prefix);
  checkLevel('telemetryTopic', 'signal', signal);
  return `${prefix}/data/${assetPartition(asset, partitions)}/${asset}/${signal}`;
}

/**
 * Which live member owns each partition: rendezvous (highest-random-weight) hashing, `owner(p) = argmax over members m
 * of fmix32(FNV-1a("m/p"))` (MurmurHash3's finaliser over FNV-1a), ties to the smaller id. Every member computes the same answer from the same member list, and
 * when a member leaves only its own partitions move (to the members that rank next for each), when one joins only the
 * partitions it now ranks first for move to it: no other asset changes hands.
 *
 * @param members - ids of the live members (order does not matter)
 * @param partitions - partition count
 * @returns for each partition, its owner's id (empty when there are no members)
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad partition count, or members that are not an
 *   array of non-empty strings (ids are hashed as text: a number and its string would be one member)
 * @example
 * ```ts
 * import { assignPartitions } from '@lepton/manufacturing';
 * const before = assignPartitions(['a', 'b', 'c'], 8);
 * const after = assignPartitions(['a', 'c'], 8); // b left: only b's partitions changed owner
 * console.log(before.every((m, p) => m === 'b' || after[p] === m)); // true
 * ```
 */
export function assignPartitions(members: readonly string[], partitions: number): string[] {
  checkPartitions('assignPartitions', partitions);
  if (!Array.isArray(members)) throw new LeptonError('INVALID_ARGUMENT', 'assignPartitions: members must be an array of member ids.', { details: { field: 'members' } });
  members.forEach((m: unknown, i) => {
    if (typeof m !== 'string' || m.length === 0) throw new LeptonError('INVALID_ARGUMENT', `assignPartitions: members[${i}] must be a non-empty string.`, { details: { field: `members[${i}]` } });
  });
  if (members.length === 0) return [];
  const out: string[] = [];
  for (let p = 0; p < partitions; p++) {
    let best = '';
    let bestWeight = -1;
    for (const m of members) {
      const w = fmix32(fnv1a(`${m}/${p}`));
      if (w > bestWeight || (w === bestWeight && m < best)) {
        best = m;
        bestWeight = w;
      }
    }
    out.push(best);
  }
  return out;
}
