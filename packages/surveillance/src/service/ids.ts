import { randomBytes } from 'node:crypto';

// Crockford's base 32 (no I, L, O, U), as the ULID specification uses.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

let lastTime = -1;
let lastRandom: number[] = [];

/**
 * A ULID (https://github.com/ulid/spec): 26 characters, 48 bits of milliseconds then 80 random bits, so ids sort by
 * creation time and two processes practically never make the same one. Within one millisecond the random part is
 * incremented instead of redrawn, so ids made by one process always sort in the order they were made.
 *
 * @param now - the time to encode, epoch ms (default `Date.now()`)
 * @returns the ULID
 * @internal
 */
export function ulid(now: number = Date.now()): string {
  let random: number[];
  if (now === lastTime) {
    random = [...lastRandom];
    // Increment the 80-bit random part (16 base-32 digits) by one; an overflow (2^80 ids in one ms) cannot happen.
    for (let i = random.length - 1; i >= 0; i--) {
      if (random[i]! < 31) {
        random[i]!++;
        break;
      }
      random[i] = 0;
    }
  } else {
    const bytes = randomBytes(16);
    random = Array.from(bytes, (b) => b & 31);
  }
  lastTime = now;
  lastRandom = random;
  let time = '';
  let t = Math.max(0, Math.floor(now));
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  return time + random.map((d) => ALPHABET[d]).join('');
}

/** What an event id looks like: `<camera>-<ULID>`. */
export const EVENT_ID = /^[A-Za-z0-9_.-]{1,128}-[0-9A-HJKMNP-TV-Z]{26}$/;

/**
 * An event id unique across processes and hosts: the camera's name, a dash and a {@link ulid}. Each camera runs in
 * one process (see `--shard`), and the ULID's time and random bits separate restarts of that process.
 *
 * @param camera - camera name
 * @param now - creation time, epoch ms
 * @returns e.g. `gate-01J9Z3K4V8QW5M6N7P8R9S0T1V`
 * @internal
 */
export function eventId(camera: string, now: number = Date.now()): string {
  return `${camera}-${ulid(now)}`;
}
