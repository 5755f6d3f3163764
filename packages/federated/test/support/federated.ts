import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMlp, seededRandom, tf, type TrainData } from '@lepton/core';
import { encodeWeights, type FederatedLogger } from '@lepton/federated';

/** Features of the synthetic federated task. */
export const DIMS = 6;

/**
 * Seeded two-class tabular data for partner `k`: features ~ N(shift_k, 1) with a partner-specific shift (non-IID
 * inputs), label 1 when x0 + 0.5·x1 − 0.5·x2 > 0 (one shared concept the federation can learn).
 */
export function partnerData(k: number, n: number, seed: number): TrainData {
  const rand = seededRandom(seed * 7919 + k);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const shift = (k - 1) * 0.4;
  const x = new Float32Array(n * DIMS);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < DIMS; d++) x[i * DIMS + d] = normal() + (d < 3 ? shift : 0);
    const s = x[i * DIMS]! + 0.5 * x[i * DIMS + 1]! - 0.5 * x[i * DIMS + 2]! - shift;
    y[i] = s > 0 ? 1 : 0;
  }
  return { x: tf.tensor2d(x, [n, DIMS]), y: tf.tensor2d(y, [n, 1]) };
}

/** The small MLP every test federates (no dropout: deltas depend only on data, weights and seed). */
export function smallModel(seed = 1): ReturnType<typeof buildMlp> {
  return buildMlp({ inputDim: DIMS, hiddenUnits: [8], dropout: 0, seed });
}

/** A partner's test token (≥ 16 characters, distinct per partner). */
export const tokenOf = (id: string): string => `token-${id}-0123456789abcdef`;
/** The admin token used by the tests. */
export const ADMIN = 'admin-token-0123456789abcdef';

/** A fresh temporary state directory. */
export async function stateDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'lepton-fed-'));
}

/** What {@link call} got back. */
export interface CallResult {
  status: number;
  json: { code?: string; message?: string; [k: string]: unknown } | null;
  bytes: Uint8Array;
}

/** One raw HTTP request to the coordinator, as an outsider (or a misbehaving partner) would send it. */
export async function call(
  url: string,
  method: string,
  path: string,
  opts: { token?: string; json?: unknown; bytes?: Uint8Array; contentType?: string } = {},
): Promise<CallResult> {
  const headers: Record<string, string> = {};
  if (opts.token !== undefined) headers['authorization'] = `Bearer ${opts.token}`;
  let body: Uint8Array | string | undefined;
  if (opts.bytes !== undefined) {
    body = opts.bytes;
    headers['content-type'] = opts.contentType ?? 'application/octet-stream';
  } else if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers['content-type'] = opts.contentType ?? 'application/json';
  }
  const init: RequestInit = { method, headers };
  if (body !== undefined) init.body = body as BodyInit;
  const res = await fetch(`${url}${path}`, init);
  const bytes = new Uint8Array(await res.arrayBuffer());
  let json: CallResult['json'] = null;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes)) as CallResult['json'];
  } catch {
    json = null;
  }
  return { status: res.status, json, bytes };
}

/** Polls `check` until it returns true (or throws after `timeoutMs`). */
export async function until(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A logger that keeps every line, so tests can check what was logged. */
export function memoryLogger(): FederatedLogger & { lines: { level: string; message: string; fields: Record<string, unknown> }[] } {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: string, fields: Record<string, unknown> = {}) => void lines.push({ level, message, fields });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

/** Whether `needle` occurs in `hay` as a contiguous byte run. */
export function containsBytes(hay: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).indexOf(Buffer.from(needle.buffer, needle.byteOffset, needle.byteLength)) >= 0;
}

/** Seeded two-class tabular data: the label is 1 when feature 0 + 0.5·feature 1 > 0. */
export function tabular(n: number, dims: number, seed: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  return tf.tidy(() => {
    const x = tf.randomNormal([n, dims], 0, 1, 'float32', seed) as tf.Tensor2D;
    const signal = tf.add(tf.slice(x, [0, 0], [-1, 1]), tf.mul(tf.slice(x, [0, 1], [-1, 1]), 0.5));
    return { x, y: tf.cast(tf.greater(signal, 0), 'float32') as tf.Tensor2D };
  });
}

/**
 * The wire payload a hostile or outdated sender could build with any float32 values, NaN and ±Infinity included —
 * which `encodeWeights` itself refuses to write. Encodes zeros, then overwrites the value words (little-endian).
 */
export function forgeWeights(set: { specs: { name: string; shape: number[] }[]; values: Float32Array }, meta: Record<string, unknown> = {}): Uint8Array {
  const bytes = encodeWeights({ specs: set.specs, values: new Float32Array(set.values.length) }, meta);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = bytes.byteLength - set.values.length * 4;
  set.values.forEach((v, i) => view.setFloat32(start + i * 4, v, true));
  return bytes;
}
