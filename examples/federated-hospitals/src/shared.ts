// What the main process (the hospitals and the consortium's evaluator) and the coordinator process agree on: the
// network every party builds, and the messages they exchange over the IPC channel of the forked coordinator.
import { buildResidualCnn, type BackendName, type tf } from '@lepton/core';
import type { PartnerCredential } from '@lepton/federated';

/** The shared architecture: every hospital and the coordinator build exactly this network. */
export interface NetworkSpec {
  /** Model input size in pixels (square, one channel). */
  size: number;
  /** Filters per residual stage. */
  filters: number[];
  /** Seed of the initial weights (only the coordinator's copy matters: partners receive the global weights). */
  seed: number;
}

/** Builds the residual CNN of the spec (one sigmoid output: probability of a nodule on the slice). */
export function buildNetwork(spec: NetworkSpec): tf.LayersModel {
  return buildResidualCnn({ inputShape: [spec.size, spec.size, 1], numClasses: 1, filters: spec.filters, pooling: 'max', dropout: 0, seed: spec.seed, name: 'ct_nodule' });
}

/** Main → coordinator: everything it needs to start. Sent over IPC, never on the command line (tokens are secrets). */
export interface StartMessage {
  /** Message kind. */
  type: 'start';
  /** TF.js backend the main process runs on (the coordinator uses the same one). */
  backend: BackendName;
  /** The coordinator's state directory (global models and state.json). */
  stateDir: string;
  /** Rounds to run. */
  rounds: number;
  /** The shared architecture, to build the initial global model. */
  network: NetworkSpec;
  /** Enrolled hospitals, each with its own bearer token. */
  partners: PartnerCredential[];
  /** Token of the consortium's evaluator (admin routes, global model downloads). */
  adminToken: string;
}

/** Main → coordinator: every hospital has made its last call (scored the final model); close and exit. */
export interface StopMessage {
  /** Message kind. */
  type: 'stop';
}

/** Coordinator → main: its URL once listening, the rounds completed once done, or why it failed. */
export type CoordinatorMessage =
  | { type: 'listening'; url: string; pid: number }
  | { type: 'done'; completedRounds: number }
  | { type: 'error'; code: string; message: string };
