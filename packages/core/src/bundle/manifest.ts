import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import type { Task } from '../models/task.js';

/** Name, shape (`null` = any size, e.g. the batch) and dtype of one model input or output. */
export interface TensorSpec {
  /** The model's name for this input or output (its input/output name in TF.js). */
  name: string;
  /** Dimensions, each a positive integer or `null` for any size (e.g. the batch axis). */
  shape: Array<number | null>;
  /** TF.js data type, e.g. `float32` or `int32`. */
  dtype: string;
}

/** Where a bundle came from: enough to reproduce or audit it. Extra keys are kept. */
export interface Provenance {
  /** ISO-8601 creation time. */
  createdAt: string;
  /** Version of `@lepton/core` that wrote the bundle. */
  leptonCoreVersion: string;
  /** TensorFlow.js (tfjs-core) version that wrote the bundle. */
  tfjsVersion: string;
  /**
   * Backend the model was trained on: a `BackendName` when Lepton wrote the bundle. Typed `string` because a bundle is
   * a file from elsewhere (another version, another tool), read as data.
   */
  backend: string;
  /** Training seed, data description, commit … */
  [key: string]: unknown;
}

/** Size and SHA-256 of one file of the bundle. */
export interface FileDigest {
  /** File size in bytes. */
  bytes: number;
  /** SHA-256 of the file contents, as 64 lowercase hex characters. */
  sha256: string;
}

/**
 * `lepton.json`: everything needed to use a model correctly. Preprocessing parameters travel here so that
 * inference can never drift from training.
 */
export interface BundleManifest {
  /** Format marker; always `'lepton-bundle'`. */
  format: 'lepton-bundle';
  /** Version of the bundle format; this version of `@lepton/core` reads and writes 1. */
  formatVersion: 1;
  /** Model name (letters, digits, `-`, `_`, `.`). */
  name: string;
  /** Semantic version of this model (e.g. `1.2.0`). */
  version: string;
  /** What the model's output means: `binary`, `multiclass` or `regression`. */
  task: Task;
  /** Free-text description of the model. */
  description?: string;
  /** The model's inputs, in order (at least one). */
  inputs: TensorSpec[];
  /** The model's outputs, in order (at least one). */
  outputs: TensorSpec[];
  /** Class names, index-aligned with the model output. */
  labels?: string[];
  /** Preprocessing parameters (scaler means, window settings …), JSON-serialisable. */
  preprocessing?: Record<string, unknown>;
  /** Validation metrics measured when the bundle was made. */
  metrics?: Record<string, number>;
  /** Where the bundle came from: creation time, versions, backend and any extra keys. */
  provenance: Provenance;
  /** Every file of the bundle except lepton.json itself, with size and SHA-256. */
  files: Record<string, FileDigest>;
}

/** File name of the manifest in a bundle directory. */
export const MANIFEST_FILE = 'lepton.json';

/** @internal What a bundle name may hold: letters, digits, `-`, `_`, `.` (so it prints and names files safely). */
export const BUNDLE_NAME = /^[A-Za-z0-9._-]+$/;

/**
 * @internal Deepest nesting of arrays and objects a manifest may hold. Metadata never needs more; a deeper value
 * (20 000 nested arrays fit in a few KiB) would overflow the stack of anything that walks it recursively.
 */
export const MAX_MANIFEST_DEPTH = 64;

/** @internal How deeply `value` nests arrays and objects (walked without recursion), stopping once it passes `limit`. */
export function nestingDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    deepest = Math.max(deepest, depth);
    if (deepest > limit) break;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return deepest;
}

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/**
 * Is `version` a semantic version (`MAJOR.MINOR.PATCH[-pre][+build]`)?
 *
 * @param version - candidate
 * @returns true for a valid semver
 */
export function isSemver(version: string): boolean {
  // test() converted a Symbol (TypeError) or an object with a toString
  return typeof version === 'string' && SEMVER.test(version);
}

function fail(dir: string, what: string): never {
  // `dir` comes from the caller: a Symbol (or anything but a string) must not turn this into a TypeError.
  const shown = typeof dir === 'string' ? dir : describeValue(dir);
  throw new LeptonError('BUNDLE_INVALID', `Bundle ${shown}: ${what}. Re-create it with saveBundle().`, { details: { dir: shown } });
}

function checkSpecs(dir: string, value: unknown, field: string): TensorSpec[] {
  if (!Array.isArray(value) || value.length === 0) fail(dir, `lepton.json field '${field}' must be a non-empty array`);
  return value.map((s: unknown, i) => {
    const spec = s as Partial<TensorSpec>;
    if (typeof spec?.name !== 'string' || typeof spec.dtype !== 'string' || !Array.isArray(spec.shape)) {
      fail(dir, `lepton.json ${field}[${i}] needs name, shape and dtype`);
    }
    if (!spec.shape.every((d) => d === null || (Number.isInteger(d) && d > 0))) fail(dir, `lepton.json ${field}[${i}].shape is invalid`);
    return spec as TensorSpec;
  });
}

/**
 * Validates a parsed `lepton.json`.
 *
 * @param dir - bundle directory (for messages)
 * @param raw - parsed JSON
 * @returns the typed manifest
 * @throws {@link LeptonError} `BUNDLE_INVALID` naming the first problem (among them: a name that is not letters, digits,
 *   `-`, `_` and `.`; a file size that is not an integer from 0 to `Number.MAX_SAFE_INTEGER`; values nested more than
 *   64 levels deep)
 */
export function validateManifest(dir: string, raw: unknown): BundleManifest {
  const m = raw as Partial<BundleManifest> | null;
  if (m === null || typeof m !== 'object') fail(dir, 'lepton.json is not an object');
  if (m.format !== 'lepton-bundle') fail(dir, `lepton.json format is ${describeValue(m.format)}, expected 'lepton-bundle'`);
  if (m.formatVersion !== 1) fail(dir, `unsupported formatVersion ${describeValue(m.formatVersion)} (this version of @lepton/core reads 1)`);
  if (nestingDepth(m, MAX_MANIFEST_DEPTH) > MAX_MANIFEST_DEPTH) fail(dir, `lepton.json nests values more than ${MAX_MANIFEST_DEPTH} levels deep`);
  if (typeof m.name !== 'string' || !BUNDLE_NAME.test(m.name)) fail(dir, "lepton.json needs a name of letters, digits, '-', '_' and '.'");
  if (typeof m.version !== 'string' || !isSemver(m.version)) fail(dir, `version ${describeValue(m.version)} is not a semantic version`);
  if (m.task !== 'binary' && m.task !== 'multiclass' && m.task !== 'regression') fail(dir, `unknown task ${describeValue(m.task)}`);
  checkSpecs(dir, m.inputs, 'inputs');
  checkSpecs(dir, m.outputs, 'outputs');
  if (m.files === null || typeof m.files !== 'object' || Array.isArray(m.files) || Object.keys(m.files).length === 0) fail(dir, 'lepton.json lists no files');
  for (const [file, digest] of Object.entries(m.files)) {
    // a size is a byte count: 0 … 2^53-1 (a negative one, or 1e308, made totals meaningless or Infinity)
    if (typeof digest?.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(digest.sha256) || !Number.isSafeInteger(digest.bytes) || digest.bytes < 0) {
      fail(dir, `lepton.json has no valid size and SHA-256 for '${file}'`);
    }
    if (file.includes('..') || file.startsWith('/')) fail(dir, `file name '${file}' leaves the bundle directory`);
  }
  if (m.provenance === undefined || typeof m.provenance !== 'object') fail(dir, 'lepton.json needs provenance');
  return m as BundleManifest;
}
