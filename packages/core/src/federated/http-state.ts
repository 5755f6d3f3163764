import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { saveBundle } from '../bundle/save.js';
import { LeptonError } from '../errors/lepton-error.js';
import type { AppliedDp, DpOptions } from './http-protocol.js';
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
  /** Training samples per participant (the FedAvg weights). */
  samples: Record<string, number>;
  /** Sum of `samples`. */
  totalSamples: number;
  /** Last-epoch local training metrics each participant reported. */
  trainMetrics: Record<string, Record<string, number>>;
  /** Held-out metrics of this round's global model, per partner, as they arrive. */
  evaluations: Record<string, Record<string, number>>;
  /** Whether the round ran under secure aggregation. */
  secureAggregation: boolean;
  /** Differential privacy the coordinator required (null: none). */
  dp: DpOptions | null;
  /** Differential privacy each participant reported applying. */
  appliedDp: Record<string, AppliedDp>;
  /** The global weights file, relative to the state directory. */
  weightsFile: string;
  /** SHA-256 of that file. */
  weightsSha256: string;
  /** The bundle directory relative to the state directory, when the coordinator was given a model, else null. */
  bundleDir: string | null;
  /** ISO time the round closed. */
  closedAt: string;
}

/** A round attempt that missed its quorum (or could not be unmasked). */
export interface AttemptFailure {
  /** Round number. */
  round: number;
  /** Attempt that failed. */
  attempt: number;
  /** Phase it was in when its deadline fired. */
  phase: string;
  /** Updates (or keys, or reveals) received. */
  received: number;
  /** How many were needed. */
  required: number;
  /** Error code (`FEDERATED_QUORUM_NOT_MET`). */
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
  model: tfl.LayersModel | null,
  bundleName: string,
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
      const metrics = (manifest['meanTrainMetrics'] ?? {}) as Record<string, number>;
      await saveBundle(model, join(tmp, 'bundle'), {
        name: bundleName,
        version: `0.${round}.0`,
        description: `Global model after federated round ${round}.`,
        metrics,
        provenance: { federatedRound: round, participants: manifest['participants'], samples: manifest['samples'] },
      });
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

/**
 * @internal Loads `state.json` and the global weights it points to, verifying the digest and the specs, or returns null
 * when the directory holds no state yet.
 *
 * @throws {@link LeptonError} `FEDERATED_STATE_INVALID` for an unreadable, corrupt or foreign state
 */
export async function loadState(stateDir: string, specs: readonly WeightSpec[]): Promise<{ state: FederatedState; global: WeightSet } | null> {
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
  if (state?.format !== 'lepton-federated-state' || state.formatVersion !== 1) invalid(stateDir, `${STATE_FILE} is not a Lepton federated state (format 1)`);
  if (!Number.isInteger(state.completedRounds) || state.completedRounds < 0 || !Array.isArray(state.history)) {
    invalid(stateDir, `${STATE_FILE} has no valid completedRounds/history`);
  }
  if (state.history.length !== state.completedRounds) invalid(stateDir, `history lists ${state.history.length} rounds but completedRounds is ${state.completedRounds}`);
  if (!Array.isArray(state.specs) || !specsEqual(state.specs, specs)) invalid(stateDir, 'its weight specs differ from the model given to start()');
  if (typeof state.current?.file !== 'string' || typeof state.current.sha256 !== 'string') invalid(stateDir, `${STATE_FILE} names no current weights`);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(join(stateDir, state.current.file)));
  } catch (err) {
    return invalid(stateDir, `the global weights file ${state.current.file} cannot be read`, err);
  }
  if (sha256(bytes) !== state.current.sha256) invalid(stateDir, `${state.current.file} does not match its SHA-256 in ${STATE_FILE}`);
  let decoded;
  try {
    decoded = decodeWeights(bytes, specs);
  } catch (err) {
    return invalid(stateDir, `${state.current.file} does not decode`, err);
  }
  if (decoded.dtype !== 'float32') invalid(stateDir, `${state.current.file} holds ${decoded.dtype} words, not float32 weights`);
  state.baseline ??= {};
  state.failures ??= [];
  return { state, global: { specs: decoded.specs, values: decoded.values as Float32Array } };
}
