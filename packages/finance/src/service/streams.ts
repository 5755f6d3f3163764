import { describeValue, LeptonError } from '@lepton/core';
import type { Redis } from 'ioredis';

/**
 * The input partition of a card: FNV-1a (32-bit) of the card id's UTF-8 bytes, modulo `partitions`. Stated exactly
 * so a producer in another language can route the same way: `h = 0x811c9dc5; for each byte b: h = ((h ^ b) * 0x01000193)
 * mod 2^32; partition = h mod partitions`. One card's transactions always land in one partition, where the scorer
 * group applies them in stream order.
 *
 * @param cardId - the card token
 * @param partitions - number of partitions (a positive integer)
 * @returns the partition, 0 to `partitions − 1`
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when `partitions` is not a positive integer or `cardId` is
 *   neither a string nor a number
 * @example
 * ```ts
 * import { partitionOf } from '@lepton/finance';
 * console.log(partitionOf('card-42', 8)); // the same number in every process, on every machine
 * ```
 */
export function partitionOf(cardId: string, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) throw new LeptonError('INVALID_ARGUMENT', 'partitions must be a positive integer.');
  if (typeof cardId !== 'string' && typeof cardId !== 'number') throw new LeptonError('INVALID_ARGUMENT', `cardId must be a string or a number, got ${describeValue(cardId)}.`);
  let h = 0x811c9dc5;
  for (const b of Buffer.from(String(cardId), 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h % partitions;
}

/** @internal Redis key names of one scorer group's streams. */
export interface StreamKeys {
  partition(p: number): string;
  meta: string;
  scores: string;
  alerts: string;
  dead: string;
  /** Marker that a transaction id has its score (SET NX, with a TTL). */
  done(txId: string): string;
  /** Marker that an entry has its dead letter. */
  deadDone(p: number, entryId: string): string;
  /** Newest transaction time scored in a partition. */
  watermark(p: number): string;
}

/** @internal */
export function streamKeys(stream: string): StreamKeys {
  return {
    partition: (p) => `${stream}:${p}`,
    meta: `${stream}:meta`,
    scores: `${stream}:scores`,
    alerts: `${stream}:alerts`,
    dead: `${stream}:dead`,
    done: (id) => `${stream}:done:${id}`,
    deadDone: (p, entry) => `${stream}:dead-done:${p}:${entry}`,
    watermark: (p) => `${stream}:wm:${p}`,
  };
}

/**
 * @internal Records the partition count of `stream` on first use and refuses a different one later: producers and
 * consumers that disagree would route one card to two partitions and lose its ordering.
 */
export async function checkPartitions(redis: Redis, stream: string, partitions: number): Promise<void> {
  const key = streamKeys(stream).meta;
  await redis.hsetnx(key, 'partitions', String(partitions));
  const recorded = Number(await redis.hget(key, 'partitions'));
  if (recorded !== partitions) {
    throw new LeptonError(
      'FINANCE_STREAM_CONFIG',
      `Stream '${stream}' was set up with ${recorded} partitions, not ${partitions}; every producer and scorer must use the same count (it cannot change while entries are in flight).`,
      { details: { stream, recorded, requested: partitions } },
    );
  }
}

/**
 * @internal One Lua script writes an entry's result and acknowledges it, atomically: the result (score, alert, or
 * dead letter) is added only when its marker key is new (SET NX with a TTL), so a redelivered entry never gets a
 * second result, and the XACK happens in the same step, so no entry is acknowledged without its result.
 *
 * KEYS: marker, input stream, output stream, alert stream, watermark. ARGV: group, entry id, ttl seconds, alert flag
 * ('1'/'0'), timestamp for the watermark ('' for none), output MAXLEN ('' for none), then field/value pairs.
 * Returns 1 when the result was written, 0 when the marker existed (a duplicate).
 */
export const WRITE_ONCE_LUA = `
local fresh = redis.call('SET', KEYS[1], ARGV[2], 'NX', 'EX', tonumber(ARGV[3]))
if fresh then
  local fields = {}
  for i = 7, #ARGV do fields[#fields + 1] = ARGV[i] end
  if ARGV[6] ~= '' then
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[6], '*', unpack(fields))
    if ARGV[4] == '1' then redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[6], '*', unpack(fields)) end
  else
    redis.call('XADD', KEYS[3], '*', unpack(fields))
    if ARGV[4] == '1' then redis.call('XADD', KEYS[4], '*', unpack(fields)) end
  end
  if ARGV[5] ~= '' then
    local cur = tonumber(redis.call('GET', KEYS[5]) or '-1')
    if tonumber(ARGV[5]) > cur then redis.call('SET', KEYS[5], ARGV[5]) end
  end
end
redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
if fresh then return 1 end
return 0
`;

/** @internal The script as ioredis exposes it once defined with `defineCommand('leptonWriteOnce', …)`. */
export interface WriteOnce {
  leptonWriteOnce(...args: Array<string | number>): Promise<number>;
}
