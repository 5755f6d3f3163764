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
 * Lua scripts are not rolled back when a command fails, so nothing that can fail runs after the marker is set
 * without being undone: every deterministic failure (an output key of the wrong type, a MAXLEN that is not an
 * integer) is checked before the marker, and the writes run with `redis.pcall`; when one fails anyway, the entries
 * already added by this call are deleted again, the marker is deleted, and the error is returned (the batch is
 * retried). A marker therefore always means "the result is written".
 *
 * KEYS: marker, input stream, output stream, alert stream, watermark. ARGV: group, entry id, ttl seconds, alert flag
 * ('1'/'0'), timestamp for the watermark ('' for none), output MAXLEN ('' for none), then field/value pairs.
 * Returns 1 when the result was written, 0 when the marker existed (a duplicate), or an error reply.
 */
export const WRITE_ONCE_LUA = `
local function kind(key) return redis.call('TYPE', key)['ok'] end
local function refuse(what) return redis.error_reply('WRONGTYPE LEPTON ' .. what) end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
  return 0
end
local t = kind(KEYS[2])
if t ~= 'stream' and t ~= 'none' then return refuse('the input key is not a stream') end
t = kind(KEYS[3])
if t ~= 'stream' and t ~= 'none' then return refuse('the output key is not a stream') end
if ARGV[4] == '1' then
  t = kind(KEYS[4])
  if t ~= 'stream' and t ~= 'none' then return refuse('the alerts key is not a stream') end
end
if ARGV[5] ~= '' then
  t = kind(KEYS[5])
  if t ~= 'string' and t ~= 'none' then return refuse('the watermark key is not a string') end
  if tonumber(ARGV[5]) == nil then return redis.error_reply('ERR LEPTON the watermark timestamp is not a number') end
  if t == 'string' and tonumber(redis.call('GET', KEYS[5])) == nil then return refuse('the watermark key does not hold a number') end
end
if ARGV[6] ~= '' and not string.match(ARGV[6], '^%d+$') then return redis.error_reply('ERR LEPTON MAXLEN is not an integer') end
if tonumber(ARGV[3]) == nil then return redis.error_reply('ERR LEPTON the TTL is not a number') end
local fields = {}
for i = 7, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('SET', KEYS[1], ARGV[2], 'NX', 'EX', tonumber(ARGV[3]))
local added = {}
local function undo(err)
  for _, a in ipairs(added) do redis.pcall('XDEL', a[1], a[2]) end
  redis.pcall('DEL', KEYS[1])
  return err
end
local function add(key)
  local r
  if ARGV[6] ~= '' then r = redis.pcall('XADD', key, 'MAXLEN', '~', ARGV[6], '*', unpack(fields))
  else r = redis.pcall('XADD', key, '*', unpack(fields)) end
  if type(r) == 'table' and r['err'] then return r end
  added[#added + 1] = { key, r }
  return nil
end
local err = add(KEYS[3])
if err then return undo(err) end
if ARGV[4] == '1' then
  err = add(KEYS[4])
  if err then return undo(err) end
end
if ARGV[5] ~= '' then
  local cur = tonumber(redis.call('GET', KEYS[5]) or '-1')
  if tonumber(ARGV[5]) > cur then
    local r = redis.pcall('SET', KEYS[5], ARGV[5])
    if type(r) == 'table' and r['err'] then return undo(r) end
  end
end
-- The result is written and the marker says so: an XACK that fails now leaves the entry pending, and its retry
-- finds the marker and acknowledges it.
redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
return 1
`;

/** @internal The script as ioredis exposes it once defined with `defineCommand('leptonWriteOnce', …)`. */
export interface WriteOnce {
  leptonWriteOnce(...args: Array<string | number>): Promise<number>;
}

/**
 * @internal Trims one input partition to about `ARGV[1]` entries without ever deleting an entry a consumer group has
 * not acknowledged: the cut (`XTRIM MINID`) is the lower of "keep the newest ARGV[1]" and, over every group of the
 * stream, its oldest pending entry (or the entry after its last delivered one when nothing is pending). A stream with
 * no group is never trimmed (nobody has read anything yet). At most 10,000 entries go per call. KEYS: the stream.
 * Returns the number of entries deleted.
 */
export const TRIM_ACKED_LUA = `
if redis.call('TYPE', KEYS[1])['ok'] ~= 'stream' then return 0 end
local excess = redis.call('XLEN', KEYS[1]) - tonumber(ARGV[1])
if excess <= 0 then return 0 end
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
if #groups == 0 then return 0 end
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function less(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  return am < bm or (am == bm and as < bs)
end
local limit = nil
for _, g in ipairs(groups) do
  local name, last
  for i = 1, #g, 2 do
    if g[i] == 'name' then name = g[i + 1] elseif g[i] == 'last-delivered-id' then last = g[i + 1] end
  end
  local p = redis.call('XPENDING', KEYS[1], name)
  local bound
  if tonumber(p[1]) > 0 then bound = p[2]
  else
    local ms, seq = parse(last)
    bound = string.format('%d-%d', ms, seq + 1)
  end
  if limit == nil or less(bound, limit) then limit = bound end
end
local count = math.min(excess, 10000)
local page = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', count + 1)
if #page <= count then return 0 end
local cut = page[count + 1][1]
if less(limit, cut) then cut = limit end
return redis.call('XTRIM', KEYS[1], 'MINID', cut)
`;
