import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';

/**
 * @internal A seed: a finite number. `'1'` was taken as 1, and NaN, ±Infinity or an object all seeded as 0 (every
 * such "seed" gave the same stream); a Symbol or BigInt threw a `TypeError`.
 */
export function checkSeed(seed: unknown, what: string): asserts seed is number {
  if (typeof seed !== 'number' || !Number.isFinite(seed)) {
    throw new LeptonError('INVALID_ARGUMENT', `${what}: seed must be a finite number, got ${describeValue(seed)}.`, { details: { option: 'seed' } });
  }
}

/**
 * Seeded pseudo-random numbers in [0, 1) (mulberry32): tiny, fast and good enough for shuffling, initial weights and
 * synthetic data sets that must be regenerated bit for bit. Not for cryptography.
 *
 * @param seed - a 32-bit integer; any other finite number is reduced to one as `seed >>> 0` does (1.5 → 1, 2^32 → 0)
 * @returns a generator; each call returns the next number
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for a seed that is not a finite number
 * @example
 * ```ts
 * import { seededRandom } from '@lepton/core';
 * const rand = seededRandom(42);
 * console.log(rand(), rand()); // the same two numbers on every run
 * ```
 */
export function mulberry32(seed: number): () => number {
  checkSeed(seed, 'seededRandom');
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Runs `fn` with `Math.random` replaced by a seeded generator and restores it afterwards, even on error.
 *
 * Why: TensorFlow.js seeds every unseeded random op (weight initialisers, dropout masks) from `Math.random`.
 * Giving dropout a fixed `seed` instead would make every batch draw the *same* mask, which silently weakens
 * regularisation; seeding the source keeps masks varied and the run reproducible. Code that runs concurrently
 * during an awaited `fn` also draws from the seeded stream, which is why `train()` documents it.
 */
export async function withSeededRandom<T>(seed: number | undefined, fn: () => Promise<T>): Promise<T> {
  // null is "no seed", as undefined (it seeded as 0 before)
  if (seed === undefined || seed === null) return fn();
  checkSeed(seed, 'seeded run');
  const original = Math.random;
  Math.random = mulberry32(seed);
  try {
    return await fn();
  } finally {
    Math.random = original;
  }
}

/** Synchronous variant of {@link withSeededRandom}, for model construction. */
export function withSeededRandomSync<T>(seed: number | undefined, fn: () => T): T {
  if (seed === undefined || seed === null) return fn();
  checkSeed(seed, 'seeded run');
  const original = Math.random;
  Math.random = mulberry32(seed);
  try {
    return fn();
  } finally {
    Math.random = original;
  }
}

/** Fisher–Yates permutation of 0..n-1 drawn from `rand`. */
export function permutation(n: number, rand: () => number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}
