import { createHash } from 'node:crypto';
import { describeValue, LeptonError } from '@lepton/core';
import type { SurveillanceConfig } from './config.js';

/** One shard of `count`: `index` from 1 to `count` (`--shard 2/3` is `{ index: 2, count: 3 }`). */
export interface Shard {
  /** 1-based shard number. */
  index: number;
  /** Number of shards. */
  count: number;
}

/** Which cameras of a shared configuration one process runs; every given criterion must hold. */
export interface CameraSelection {
  /** Only the cameras that hash to this shard ({@link shardOf}). */
  shard?: Shard;
  /** Only these camera names (each must exist in the configuration). */
  cameras?: readonly string[];
  /** Only cameras whose `labels` have all of these keys with these values. */
  selector?: Readonly<Record<string, string>>;
}

/** Most shards: far more processes than any site runs, small enough that a typo (`--shard 1/20000`) is caught. */
export const MAX_SHARDS = 1024;

/**
 * Parses `i/n` (1 ≤ i ≤ n ≤ 1024), as given to `--shard`.
 *
 * @param text - e.g. `'2/3'`
 * @returns the shard
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for anything else
 * @example
 * ```ts
 * import { parseShard } from '@lepton/surveillance';
 * console.log(parseShard('2/3')); // { index: 2, count: 3 }
 * ```
 */
export function parseShard(text: string): Shard {
  const m = typeof text === 'string' ? /^\s*(\d{1,4})\s*\/\s*(\d{1,4})\s*$/.exec(text) : null;
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || !(count >= 1 && count <= MAX_SHARDS && index >= 1 && index <= count)) {
    throw new LeptonError('INVALID_ARGUMENT', `--shard must be i/n with 1 ≤ i ≤ n ≤ ${MAX_SHARDS} (e.g. 1/2 and 2/2 for two processes), got ${describeValue(text, 20)}.`, { details: { field: 'shard' } });
  }
  return { index, count };
}

/**
 * The shard (1 … `count`) a camera belongs to: the first four bytes of the SHA-256 of its name (UTF-8), read as a
 * big-endian unsigned integer, modulo `count`, plus one. It depends on the name and `count` only — not on the order of
 * the file, the other cameras or the host — so every process given the same file and `count` agrees on the split, and
 * adding a camera never moves another. With few cameras the split can be uneven; `--cameras` or labels pin them.
 *
 * @param name - camera name
 * @param count - number of shards (1 … 1024)
 * @returns the 1-based shard
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a name that is not a string or a count out of range
 * @example
 * ```ts
 * import { shardOf } from '@lepton/surveillance';
 * console.log(['gate', 'yard', 'lobby'].map((c) => shardOf(c, 2)));
 * ```
 */
export function shardOf(name: string, count: number): number {
  if (!(Number.isInteger(count) && count >= 1 && count <= MAX_SHARDS)) {
    throw new LeptonError('INVALID_ARGUMENT', `shardOf: count must be an integer in [1, ${MAX_SHARDS}], got ${describeValue(count)}.`);
  }
  if (typeof name !== 'string') throw new LeptonError('INVALID_ARGUMENT', `shardOf: name must be a camera name (a string), got ${describeValue(name)}.`);
  return (createHash('sha256').update(name, 'utf8').digest().readUInt32BE(0) % count) + 1;
}

/**
 * Parses a label selector `key=value[,key=value…]` (all must match).
 *
 * @param text - e.g. `'site=north,floor=2'`
 * @returns the selector
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a malformed selector
 */
export function parseSelector(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const parts = typeof text === 'string' ? text.split(',').map((p) => p.trim()) : [];
  for (const part of parts) {
    const m = /^([A-Za-z0-9_.-]{1,63})=([A-Za-z0-9_.-]{1,63})$/.exec(part);
    if (!m) throw new LeptonError('INVALID_ARGUMENT', `--selector must be key=value[,key=value…] with letters, digits, '_', '-', '.', got ${describeValue(text, 80)}.`, { details: { field: 'selector' } });
    out[m[1]!] = m[2]!;
  }
  if (parts.length === 0) throw new LeptonError('INVALID_ARGUMENT', '--selector needs at least one key=value.', { details: { field: 'selector' } });
  return out;
}

/**
 * Refuses a selection that would silently select nothing or everything: a shard outside 1 … count (no camera ever
 * hashes to shard 3 of 2), names or selector values that are not strings (they never equal a camera's), a selector with
 * no own keys' worth of strings.
 */
function checkSelection(config: SurveillanceConfig, selection: CameraSelection): void {
  const bad = (field: string, why: string, got: unknown): never => {
    throw new LeptonError('INVALID_ARGUMENT', `selectCameras: ${field} must be ${why}, got ${describeValue(got)}.`, { details: { field } });
  };
  if (config === null || typeof config !== 'object' || !Array.isArray(config.cameras)) bad('config', 'a validated configuration (parseConfig, loadConfig)', config);
  if (selection === null || typeof selection !== 'object') bad('selection', 'an object { shard?, cameras?, selector? }', selection);
  const { shard, cameras, selector } = selection;
  if (shard !== undefined) {
    if (shard === null || typeof shard !== 'object') bad('shard', 'an object { index, count } (parseShard)', shard);
    if (!(Number.isInteger(shard.count) && shard.count >= 1 && shard.count <= MAX_SHARDS)) bad('shard.count', `an integer from 1 to ${MAX_SHARDS}`, shard.count);
    if (!(Number.isInteger(shard.index) && shard.index >= 1 && shard.index <= shard.count)) bad('shard.index', `an integer from 1 to shard.count (${shard.count})`, shard.index);
  }
  if (cameras !== undefined && !(Array.isArray(cameras) && cameras.every((n) => typeof n === 'string'))) bad('cameras', 'a list of camera names', cameras);
  if (selector !== undefined) {
    if (selector === null || typeof selector !== 'object' || Array.isArray(selector)) bad('selector', 'an object of label values (parseSelector)', selector);
    for (const [k, v] of Object.entries(selector)) if (typeof v !== 'string') bad(`selector.${k.slice(0, 63)}`, 'a string', v);
  }
}

/**
 * The part of a shared configuration one process runs: the cameras that match every criterion of `selection`, in
 * file order (the rest of the configuration unchanged). The result may have no camera (a shard that nothing hashes
 * to); the service then serves its API and waits.
 *
 * @param config - a validated configuration
 * @param selection - shard, names, label selector
 * @returns the configuration with only the selected cameras
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when `cameras` names a camera the file does not have
 *   (the message lists those it has), or for a malformed selection: a shard outside 1 … count, names or selector
 *   values that are not strings
 * @example
 * ```ts
 * import { parseConfig, selectCameras } from '@lepton/surveillance';
 * const config = parseConfig({ cameras: ['a', 'b', 'c', 'd'].map((name) => ({ name, input: `${name}.mp4` })) });
 * const mine = selectCameras(config, { shard: { index: 1, count: 2 } });
 * console.log(mine.cameras.map((c) => c.name));
 * ```
 */
export function selectCameras(config: SurveillanceConfig, selection: CameraSelection): SurveillanceConfig {
  checkSelection(config, selection);
  const names = config.cameras.map((c) => c.name);
  const unknown = (selection.cameras ?? []).filter((n) => !names.includes(n));
  if (unknown.length > 0) {
    throw new LeptonError('INVALID_ARGUMENT', `--cameras names ${unknown.map((n) => describeValue(n, 64)).join(', ')}, not in the configuration (it has: ${names.join(', ')}).`, {
      // Text only: a caller's selection may hold anything, and details are serialised by loggers.
      details: { field: 'cameras', unknown: unknown.map((n) => (typeof n === 'string' ? n : describeValue(n))) },
    });
  }
  const wanted = selection.cameras === undefined ? undefined : new Set(selection.cameras);
  const cameras = config.cameras.filter(
    (c) =>
      (wanted === undefined || wanted.has(c.name)) &&
      (selection.shard === undefined || shardOf(c.name, selection.shard.count) === selection.shard.index) &&
      Object.entries(selection.selector ?? {}).every(([k, v]) => c.labels !== undefined && Object.hasOwn(c.labels, k) && c.labels[k] === v),
  );
  return { ...config, cameras };
}
