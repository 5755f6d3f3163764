import { createHash, randomUUID, type KeyObject } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LeptonError, saveBundle, signBundle, type tf } from '@lepton/core';
import type { DpClaim, DpOptions } from './http-protocol.js';
import { isInsideStateDir, stateProblem } from './state-check.js';
import { decodeWeights, encodeWeights, specsEqual, writeWeights, type WeightSet, type WeightSpec } from './weights.js';

/** How a round ended. */
export type RoundClose = 'all' | 'quorum' | 'deadline';

/** One completed round, as `coordinator.history()` and the state file record it. */
export interface RoundRecord {
  /** Round number (1-based); the global model it produced has version `round`. */
  round: number;
  /** Attempt that closed it (1 unless earlier attempts missed the quorum). */
  attempt: number;
  /** Why it closed: every partner sent, the quorum was reached (`closeOnQuorum`), or the deadline fired. */
  closedBy: RoundClose;
  /** Partners whose updates are in the aggregate, sorted. */
  participants: string[];
  /** Partners that took part (fetched the weights or posted a key) but sent no update in time, sorted. */
  dropped: string[];
  /** Training samples per participant that the aggregate was weighted with (claims capped by `maxSamples`). */
  samples: Record<string, number>;
  /** Participants whose claimed sample count was above their cap and was capped, sorted. */
  cappedSamples: string[];
  /** Sum of `samples`. */
  totalSamples: number;
  /**
   * Last-epoch local training metrics each participant reported. Under secure aggregation empty unless both the
   * partner (`shareDiagnostics`) and the coordinator (`partnerDiagnostics`) opted in.
   */
  trainMetrics: Record<string, Record<string, number>>;
  /** Held-out metrics of this round's global model, per partner, as they arrive. */
  evaluations: Record<string, Record<string, number>>;
  /** Whether the round ran under secure aggregation. */
  secureAggregation: boolean;
  /** Differential privacy the coordinator required (null: none). */
  dp: DpOptions | null;
  /** Differential privacy each participant claims to have applied (pre-clip norms only with diagnostics). */
  appliedDp: Record<string, DpClaim>;
  /** What the round's noise is worth if the claims are true (null when no DP was required). */
  privacy: RoundPrivacy | null;
  /** The global weights file, relative to the state directory. */
  weightsFile: string;
  /** SHA-256 of that file. */
  weightsSha256: string;
  /** The bundle directory relative to the state directory, when the coordinator was given a model, else null. */
  bundleDir: string | null;
  /** ISO time the round closed. */
  closedAt: string;
}

/**
 * The privacy a round's aggregate has, computed from the participants' claims, their actual weights and who took part
 * — not from the configured noise multiplier. Partner-level (ε, δ): neighbouring federations differ in one partner's
 * update; the weights are treated as public. It holds only if every partner really clipped and noised as it claims.
 */
export interface RoundPrivacy {
  /** Largest clip norm claimed. */
  clipNorm: number;
  /** Smallest noise multiplier claimed. */
  claimedNoiseMultiplier: number;
  /** Noise std of the weighted aggregate divided by the largest weighted clip norm (see `effectiveNoiseMultiplier`). */
  effectiveNoiseMultiplier: number;
  /** δ of the guarantee. */
  delta: number;
  /** ε of this round alone (Gaussian mechanism, RDP); null when there is no finite guarantee (no noise). */
  epsilon: number | null;
  /** ε of every round so far composed (RDP accountant), at `delta`; null when there is no finite guarantee. */
  cumulativeEpsilon: number | null;
  /**
   * `'norm-checked'`: plain updates, each norm checked against its claim (noise presence and clipping are checked
   * statistically, not proven). `'claimed'`: masked updates, nothing about them could be checked.
   */
  verification: 'norm-checked' | 'claimed';
}

/** Cumulative privacy of the completed rounds, as `CoordinatorStatus.privacy` reports it. */
export interface PrivacySummary {
  /** δ of the guarantee. */
  delta: number;
  /** ε over every round with DP (RDP accountant on each round's effective noise multiplier); null if not finite. */
  epsilon: number | null;
  /** Rounds composed. */
  rounds: number;
}

/** A round attempt that missed its quorum (or could not be unmasked). */
export interface AttemptFailure {
  /** Round number. */
  round: number;
  /** Attempt that failed. */
  attempt: number;
  /** Phase it was in when it failed (`'restart'` for a restart that fell back to an earlier round). */
  phase: string;
  /** Updates (or keys, or reveals) received. */
  received: number;
  /** How many were needed. */
  required: number;
  /** Error code (`FEDERATED_QUORUM_NOT_MET`, `FEDERATED_AGGREGATE_INVALID`, or `FEDERATED_STATE_INVALID` for a restart that fell back to an earlier round). */
  code: string;
  /** What happened. */
  message: string;
  /** ISO time. */
  at: string;
}

/** @internal The on-disk state file (`state.json`). */
export interface FederatedState {
  format: 'lepton-federated-state';
  formatVersion: 1;
  federationId: string;
  specs: WeightSpec[];
  totalRounds: number;
  completedRounds: number;
  current: { file: string; sha256: string; bytes: number };
  history: RoundRecord[];
  baseline: Record<string, Record<string, number>>;
  failures: AttemptFailure[];
  createdAt: string;
  updatedAt: string;
}

/** File name of the state file inside the state directory. */
export const STATE_FILE = 'state.json';
const WEIGHTS_NAME = 'weights.lpw';
const ROUND_MANIFEST = 'round.json';

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** @internal Directory of a round's global model, relative to the state directory. */
export function roundDir(round: number): string {
  return join('rounds', `round-${String(round).padStart(6, '0')}`);
}

/**
 * @internal Writes a file atomically: a temporary sibling, then rename. A crash leaves either the old file or the new
 * one, never half of either — which is what lets a restarted coordinator trust `state.json`.
 */
export async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** @internal What {@link saveRoundModel} wrote. */
export interface SavedRound {
  file: string;
  sha256: string;
  bytes: number;
  bundleDir: string | null;
}

/**
 * @internal Writes one round's global model: `weights.lpw` (the binary wire format), `round.json` (round,
 * participants, sample counts, metrics, digest) and, with a model, a versioned bundle (`0.<round>.0`). The directory
 * is assembled under a temporary name and renamed into place.
 */
export async function saveRoundModel(
  stateDir: string,
  round: number,
  global: WeightSet,
  manifest: Record<string, unknown>,
  model: tf.LayersModel | null,
  bundleName: string,
  signingKey: KeyObject | null = null,
): Promise<SavedRound> {
  const rel = roundDir(round);
  const final = join(stateDir, rel);
  const tmp = `${final}.tmp-${process.pid}-${Date.now()}`;
  const bytes = encodeWeights(global, { round, version: round });
  const digest = sha256(bytes);
  await mkdir(tmp, { recursive: true });
  try {
    await writeFile(join(tmp, WEIGHTS_NAME), bytes);
    await writeFile(join(tmp, ROUND_MANIFEST), `${JSON.stringify({ ...manifest, round, weightsFile: WEIGHTS_NAME, sha256: digest }, null, 2)}\n`);
    if (model !== null) {
      writeWeights(model, global);
      // Only finite means go into the bundle (saveBundle refuses others; JSON would have written them as null).
      const means = (manifest['meanTrainMetrics'] ?? {}) as Record<string, unknown>;
      const metrics = Object.fromEntries(Object.entries(means).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1])));
      await saveBundle(model, join(tmp, 'bundle'), {
        name: bundleName,
        version: `0.${round}.0`,
        description: `Global model after federated round ${round}.`,
        metrics,
        provenance: { federatedRound: round, participants: manifest['participants'], samples: manifest['samples'] },
      });
      if (signingKey !== null) await signBundle(join(tmp, 'bundle'), signingKey);
    }
    await rm(final, { recursive: true, force: true });
    await rename(tmp, final);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  return { file: join(rel, WEIGHTS_NAME), sha256: digest, bytes: bytes.byteLength, bundleDir: model !== null ? join(rel, 'bundle') : null };
}

/** @internal Writes `state.json` atomically. */
export async function writeState(stateDir: string, state: FederatedState): Promise<void> {
  await writeAtomic(join(stateDir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
}

function invalid(stateDir: string, what: string, cause?: unknown): never {
  throw new LeptonError(
    'FEDERATED_STATE_INVALID',
    `Federated state in ${stateDir}: ${what}. Restore the directory from a backup or start with an empty stateDir.`,
    cause === undefined ? { details: { stateDir } } : { cause, details: { stateDir } },
  );
}

/** @internal Removes what an interrupted write left behind: `rounds/round-*.tmp-*` folders and `state.json.tmp-*` files. */
export async function removeStaleTemporaries(stateDir: string): Promise<string[]> {
  const removed: string[] = [];
  const sweep = async (dir: string, pattern: RegExp): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(join(stateDir, dir));
    } catch {
      return;
    }
    for (const name of names) {
      if (!pattern.test(name)) continue;
      await rm(join(stateDir, dir, name), { recursive: true, force: true });
      removed.push(join(dir, name));
    }
  };
  await sweep('rounds', /^round-\d+\.tmp-/);
  await sweep('.', new RegExp(`^${STATE_FILE.replace('.', '\\.')}\\.tmp-`));
  return removed.sort();
}

/** Reads and verifies one weights file: digest (when known), decodes with the specs, float32, every value finite. */
async function readGlobal(stateDir: string, file: string, sha: string | null, specs: readonly WeightSpec[]): Promise<{ set: WeightSet; bytes: number; sha256: string } | string> {
  // Never read outside the state directory, whatever state.json names (an edited or foreign file: "../../etc/…").
  if (!isInsideStateDir(stateDir, file)) return 'a weights file outside the state directory';
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(join(stateDir, file)));
  } catch {
    return `${file} cannot be read`;
  }
  const digest = sha256(bytes);
  if (sha !== null && digest !== sha) return `${file} does not match its SHA-256`;
  try {
    // decodeWeights refuses NaN and infinite values: a non-finite global model is never restored.
    const decoded = decodeWeights(bytes, specs);
    if (decoded.dtype !== 'float32') return `${file} holds ${decoded.dtype} words, not float32 weights`;
    return { set: { specs: decoded.specs, values: decoded.values as Float32Array }, bytes: bytes.byteLength, sha256: digest };
  } catch (err) {
    return `${file} does not decode (${(err as Error).message})`;
  }
}

/** The digest a round directory's own manifest records for its weights, or null. */
async function manifestDigest(stateDir: string, round: number): Promise<string | null> {
  try {
    const m = JSON.parse(await readFile(join(stateDir, roundDir(round), ROUND_MANIFEST), 'utf8')) as { sha256?: unknown };
    return typeof m.sha256 === 'string' && /^[0-9a-f]{64}$/.test(m.sha256) ? m.sha256 : null;
  } catch {
    return null;
  }
}

/** @internal What {@link loadState} restored. */
export interface LoadedState {
  state: FederatedState;
  global: WeightSet;
  /** When the current weights were unusable: the round the state fell back to and why. */
  recovered: { from: number; to: number; reason: string } | null;
  /** Stale temporary files and folders that were removed. */
  removed: string[];
}

/**
 * @internal Loads `state.json` and the global weights it points to, verifying the digest, the specs and that every
 * value is finite, or returns null when the directory holds no state yet. If the current weights are unusable, falls
 * back to the latest earlier round whose weights verify (truncating the history there). Removes stale temporaries.
 *
 * @throws {@link @lepton/core!LeptonError} `FEDERATED_STATE_INVALID` for an unreadable, corrupt or foreign state file, a field
 *   of the wrong type or shape (named, its value not echoed), a weights file outside `stateDir`, or when no round's
 *   weights verify
 */
export async function loadState(stateDir: string, specs: readonly WeightSpec[]): Promise<LoadedState | null> {
  const removed = await removeStaleTemporaries(stateDir);
  let text: string;
  try {
    text = await readFile(join(stateDir, STATE_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return invalid(stateDir, `${STATE_FILE} cannot be read`, err);
  }
  let state: FederatedState;
  try {
    state = JSON.parse(text) as FederatedState;
  } catch (err) {
    return invalid(stateDir, `${STATE_FILE} is not valid JSON`, err);
  }
  if (typeof state !== 'object' || state === null || state.format !== 'lepton-federated-state' || state.formatVersion !== 1) {
    invalid(stateDir, `${STATE_FILE} is not a Lepton federated state (format 1)`);
  }
  // Every field's type is checked here, once: later code (round timers included) trusts the state's shape.
  const problem = stateProblem(stateDir, state as unknown as Record<string, unknown>);
  if (problem !== null) invalid(stateDir, `${STATE_FILE} has a missing or malformed field: ${problem}`);
  if (state.history.length !== state.completedRounds) invalid(stateDir, `history lists ${state.history.length} rounds but completedRounds is ${state.completedRounds}`);
  if (!specsEqual(state.specs, specs)) invalid(stateDir, 'its weight specs differ from the model given to start()');
  state.baseline ??= {};
  state.failures ??= [];
  state.federationId ??= randomUUID();
  const current = await readGlobal(stateDir, state.current.file, state.current.sha256, specs);
  if (typeof current !== 'string') return { state, global: current.set, recovered: null, removed };
  // The current weights are unusable (e.g. non-finite weights written by an older version): fall back to the latest
  // round that verifies, so a restart over any saved state either succeeds or names what is missing.
  for (let k = state.completedRounds - 1; k >= 0; k--) {
    const file = join(roundDir(k), WEIGHTS_NAME);
    const sha = k === 0 ? await manifestDigest(stateDir, 0) : (state.history[k - 1]?.weightsSha256 ?? null);
    if (sha === null) continue;
    const earlier = await readGlobal(stateDir, file, sha, specs);
    if (typeof earlier === 'string') continue;
    const recovered = { from: state.completedRounds, to: k, reason: current };
    state = {
      ...state,
      completedRounds: k,
      history: state.history.slice(0, k),
      current: { file, sha256: earlier.sha256, bytes: earlier.bytes },
    };
    return { state, global: earlier.set, recovered, removed };
  }
  return invalid(stateDir, `${current}, and no earlier round's weights verify`);
}
