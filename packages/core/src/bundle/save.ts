import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { coreVersion } from '../internal/version.js';
import { modelTask, type Task } from '../models/task.js';
import { checkBundleDir, sha256 } from './files.js';
import { BUNDLE_NAME, isSemver, MANIFEST_FILE, MAX_MANIFEST_DEPTH, nestingDepth, type BundleManifest, type TensorSpec } from './manifest.js';
import { firstNonFiniteWeight } from './weights-check.js';

/** File name of the TF.js model JSON (topology and weights manifest) inside a bundle. */
export const MODEL_FILE = 'model.json';
/** File name of the model's weights (all weights concatenated into one binary) inside a bundle. */
export const WEIGHTS_FILE = 'weights.bin';

/** What to record in the bundle besides the model. */
export interface SaveBundleOptions {
  /** Model name (letters, digits, `-`, `_`, `.`). */
  name: string;
  /** Semantic version, e.g. `1.0.0`. */
  version: string;
  /** Task; default: the one the builder recorded, or inferred from the output activation. */
  task?: Task;
  /** Free-text description of the model, recorded in `lepton.json`. */
  description?: string;
  /** Class names, index-aligned with the output. */
  labels?: string[];
  /** Preprocessing parameters the model was trained with. */
  preprocessing?: Record<string, unknown>;
  /** Validation metrics to record. */
  metrics?: Record<string, number>;
  /** Extra provenance (seed, data set, commit …), merged over the automatic fields. */
  provenance?: Record<string, unknown>;
}

function specs(tensors: tfl.SymbolicTensor[], names: string[]): TensorSpec[] {
  return tensors.map((t, i) => ({ name: names[i] ?? t.name, shape: [...t.shape], dtype: t.dtype }));
}

/** TF.js weight data (one buffer or several) as one byte array. @internal */
export function concatWeights(data: ArrayBuffer | ArrayBuffer[] | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  const parts = Array.isArray(data) ? data : [data];
  const total = parts.reduce((s, p) => s + p.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p), offset);
    offset += p.byteLength;
  }
  return out;
}

/**
 * Saves a model as a bundle directory: TF.js `model.json` + `weights.bin` + `lepton.json` (name, version,
 * task, input/output spec, labels, preprocessing, metrics, provenance and the SHA-256 of every file).
 * Written to a temporary directory first and renamed into place, so a crash never leaves half a bundle.
 *
 * @param model - the trained model
 * @param dir - target directory (replaced if it exists)
 * @param options - metadata to record
 * @returns the manifest written
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for a bad model, directory, name, version, labels (or their count),
 *   description, an unknown task, a `preprocessing` or `provenance` that is not an object (or nests more than 63 levels
 *   deep, which `loadBundle` would refuse), a metric that is not a finite
 *   number, or metadata JSON cannot hold (a BigInt, a cycle); `INVALID_MODEL` for a weight holding NaN or ±Infinity
 *   (nothing is written)
 * @example
 * ```ts
 * import { buildMlp, initRuntime, saveBundle } from '@lepton/core';
 * await initRuntime({ backend: 'cpu' });
 * await saveBundle(buildMlp({ inputDim: 3 }), '/tmp/my-model', { name: 'demo', version: '1.0.0' });
 * ```
 */
export async function saveBundle(model: tfl.LayersModel, dir: string, options: SaveBundleOptions): Promise<BundleManifest> {
  if (model === null || typeof model !== 'object' || typeof (model as { save?: unknown }).save !== 'function' || !Array.isArray(model.outputs)) {
    throw new LeptonError('INVALID_ARGUMENT', `saveBundle: model must be a TF.js layers model, got ${describeValue(model)}.`);
  }
  checkBundleDir(dir, 'saveBundle');
  if (options === null || typeof options !== 'object') throw new LeptonError('INVALID_ARGUMENT', `saveBundle: options must be an object with name and version, got ${describeValue(options)}.`);
  if (typeof options.name !== 'string' || !BUNDLE_NAME.test(options.name)) {
    throw new LeptonError('INVALID_ARGUMENT', `Bundle name ${describeValue(options.name)} may contain only letters, digits, '.', '_' and '-'.`);
  }
  if (typeof options.version !== 'string' || !isSemver(options.version)) {
    throw new LeptonError('INVALID_ARGUMENT', `Bundle version ${describeValue(options.version)} is not a semantic version such as 1.0.0.`);
  }
  const outputs = specs(model.outputs, model.outputNames);
  const outUnits = outputs[0]!.shape[outputs[0]!.shape.length - 1];
  if (options.labels !== undefined && !(Array.isArray(options.labels) && options.labels.every((l) => typeof l === 'string'))) {
    throw new LeptonError('INVALID_ARGUMENT', `saveBundle: labels must be an array of class names, got ${describeValue(options.labels)}.`);
  }
  if (options.description !== undefined && typeof options.description !== 'string') {
    throw new LeptonError('INVALID_ARGUMENT', `saveBundle: description must be a string, got ${describeValue(options.description)}.`);
  }
  if (options.metrics !== undefined) {
    // an undefined metric is left out, as JSON leaves it out
    const bad = options.metrics === null || typeof options.metrics !== 'object' ? ['(the record)', options.metrics] : Object.entries(options.metrics).find(([, v]) => v !== undefined && (typeof v !== 'number' || !Number.isFinite(v)));
    // JSON would write NaN or Infinity as null: a metric that silently became "no value".
    if (bad !== undefined) throw new LeptonError('INVALID_ARGUMENT', `saveBundle: metrics must be finite numbers by name; ${String(bad[0])} is ${describeValue(bad[1])}.`);
  }
  const task: unknown = options.task;
  if (task != null && task !== 'binary' && task !== 'multiclass' && task !== 'regression') {
    // written as given, it made a bundle loadBundle refuses
    throw new LeptonError('INVALID_ARGUMENT', `saveBundle: task must be 'binary', 'multiclass' or 'regression', got ${describeValue(task)}.`);
  }
  for (const name of ['preprocessing', 'provenance'] as const) {
    const v: unknown = options[name];
    // a string provenance was spread into the manifest character by character; a NaN preprocessing written as null
    if (v != null && (typeof v !== 'object' || Array.isArray(v))) {
      throw new LeptonError('INVALID_ARGUMENT', `saveBundle: ${name} must be an object of named values, got ${describeValue(v)}.`);
    }
    // one level below the manifest's root: deeper than loadBundle reads, it made a bundle that cannot be loaded
    if (v != null && nestingDepth(v, MAX_MANIFEST_DEPTH) > MAX_MANIFEST_DEPTH - 1) {
      throw new LeptonError('INVALID_ARGUMENT', `saveBundle: ${name} nests values more than ${MAX_MANIFEST_DEPTH - 1} levels deep.`);
    }
  }
  if (options.labels && outUnits !== null && options.labels.length !== outUnits && !(outUnits === 1 && options.labels.length === 2)) {
    throw new LeptonError('INVALID_ARGUMENT', `${options.labels.length} labels given for an output of ${outUnits} unit(s).`);
  }
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (artifacts === undefined) throw new LeptonError('INVALID_MODEL', 'The model produced no artifacts to save.');
  const weights = concatWeights(artifacts.weightData as ArrayBuffer | ArrayBuffer[] | undefined);
  const bad = firstNonFiniteWeight(artifacts.weightSpecs ?? [], weights);
  if (bad !== undefined) {
    throw new LeptonError('INVALID_MODEL', `Weight ${bad.name} holds ${bad.value} (value ${bad.index}): a model with NaN or infinite weights is not saved (training diverged, or the weights were set so).`, {
      details: { weight: bad.name, index: bad.index },
    });
  }
  const modelJson = new TextEncoder().encode(
    JSON.stringify({
      format: 'layers-model',
      generatedBy: `TensorFlow.js tfjs-layers v${tf.version_core}`,
      convertedBy: null,
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
    }),
  );
  const manifest: BundleManifest = {
    format: 'lepton-bundle',
    formatVersion: 1,
    name: options.name,
    version: options.version,
    task: options.task ?? modelTask(model),
    inputs: specs(model.inputs, model.inputNames),
    outputs,
    provenance: {
      createdAt: new Date().toISOString(),
      leptonCoreVersion: coreVersion(),
      tfjsVersion: tf.version_core,
      backend: tf.getBackend(),
      ...options.provenance,
    },
    files: {
      [MODEL_FILE]: { bytes: modelJson.byteLength, sha256: sha256(modelJson) },
      [WEIGHTS_FILE]: { bytes: weights.byteLength, sha256: sha256(weights) },
    },
  };
  if (options.description !== undefined) manifest.description = options.description;
  if (options.labels !== undefined) manifest.labels = options.labels;
  if (options.preprocessing != null) manifest.preprocessing = options.preprocessing;
  if (options.metrics !== undefined) manifest.metrics = options.metrics;

  let manifestText: string;
  try {
    manifestText = JSON.stringify(manifest, null, 2);
  } catch (err) {
    // a BigInt or a cycle in preprocessing or provenance
    throw new LeptonError('INVALID_ARGUMENT', `saveBundle: the metadata cannot be written as JSON (${err instanceof Error ? err.message : 'unknown error'}); nothing was written.`, { cause: err });
  }
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(tmp, { recursive: true });
  try {
    await writeFile(join(tmp, MODEL_FILE), modelJson);
    await writeFile(join(tmp, WEIGHTS_FILE), weights);
    await writeFile(join(tmp, MANIFEST_FILE), `${manifestText}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  return manifest;
}
