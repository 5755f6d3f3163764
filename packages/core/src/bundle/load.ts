import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import { registerLeptonLayers } from '../models/causal-conv.js';
import { ensureRuntime } from '../runtime/init.js';
import { MANIFEST_FILE, validateManifest, type BundleManifest, type TensorSpec } from './manifest.js';
import { checkBundleDir, readBundleFile, readManifestText } from './files.js';
import { MODEL_FILE } from './save.js';
import { verifyBundleSignature, type SigningKeyInput } from './sign.js';
import { firstNonFiniteWeight, weightSpecsProblem } from './weights-check.js';

/** A loaded, verified model bundle. */
export interface Bundle {
  /** The model, ready for inference. */
  model: tfl.LayersModel;
  /** Its `lepton.json`. */
  manifest: BundleManifest;
  /** Directory it was loaded from. */
  dir: string;
}

/** Options for {@link loadBundle}. */
export interface LoadBundleOptions {
  /**
   * The input the application will feed: shapes (use `null` for any size) and optional dtype per input.
   * A bundle whose inputs differ is refused with `BUNDLE_INCOMPATIBLE` instead of failing at first use.
   */
  expectInputs?: Array<
    Pick<TensorSpec, 'shape'> & {
      /** Expected TF.js dtype of this input (e.g. `float32`); not checked when absent. */
      dtype?: string;
    }
  >;
  /** Task the application expects (e.g. `binary`). */
  expectTask?: BundleManifest['task'];
  /**
   * Ed25519 public keys (KeyObject or SPKI PEM) whose signature the bundle must carry (`signBundle()`). When given, an
   * unsigned bundle is refused (`BUNDLE_UNSIGNED`), and so is one whose manifest or files changed after signing or
   * that no trusted key signed (`BUNDLE_SIGNATURE_INVALID`). SHA-256 file digests alone only catch accidents: anyone
   * who can edit the weights can also recompute their digest, so production loads should pass trusted keys.
   */
  trustedKeys?: readonly SigningKeyInput[];
}

function sameShape(a: Array<number | null>, b: Array<number | null>): boolean {
  return a.length === b.length && a.every((d, i) => d === null || b[i] === null || d === b[i]);
}

function describe(shape: Array<number | null>): string {
  // An application's expectInputs may hold anything: each dimension described without running its code.
  return `[${shape.map((d) => (d === null || d === undefined ? 'any' : describeValue(d))).join(', ')}]`;
}

/**
 * Loads a bundle directory written by `saveBundle()`, from the filesystem and with any backend (no
 * tfjs-node needed). Every file's size (from `stat`, before reading) and SHA-256 are checked against `lepton.json`
 * before use, links leaving the bundle directory are refused, and the model's real inputs are checked against the
 * manifest and the caller's expectations. With `trustedKeys`, the bundle must also carry a valid Ed25519 signature
 * (`signBundle()`) over its manifest, which covers every file.
 *
 * @param dir - bundle directory
 * @param options - expected inputs / task
 * @returns the model and its manifest
 * @throws {@link LeptonError} `INVALID_ARGUMENT` (a directory that is not a path, options that are not an object, an
 *   `expectInputs` that is not an array of `{ shape: [...] }`, checked before anything is read),
 *   `BUNDLE_NOT_FOUND` (no lepton.json), `BUNDLE_INVALID` (malformed manifest or model, a weight holding NaN or
 *   ±Infinity, a link out of the bundle), `BUNDLE_FILE_MISSING`, `BUNDLE_INTEGRITY` (truncated or altered file), `BUNDLE_INCOMPATIBLE`
 *   (input spec or task), `BUNDLE_UNSIGNED` / `BUNDLE_SIGNATURE_INVALID` (with `trustedKeys`)
 * @example
 * ```ts
 * import { buildMlp, initRuntime, loadBundle, saveBundle } from '@lepton/core';
 * await initRuntime({ backend: 'cpu' });
 * await saveBundle(buildMlp({ inputDim: 3 }), '/tmp/mlp-bundle', { name: 'mlp', version: '1.0.0' });
 * const { model, manifest } = await loadBundle('/tmp/mlp-bundle', { expectInputs: [{ shape: [null, 3] }] });
 * console.log(manifest.version, model.inputs[0]!.shape);
 * ```
 */
export async function loadBundle(dir: string, options: LoadBundleOptions = {}): Promise<Bundle> {
  checkBundleDir(dir, 'loadBundle');
  if (options === null || typeof options !== 'object') throw new LeptonError('INVALID_ARGUMENT', `loadBundle: options must be an object, got ${describeValue(options)}.`);
  // Its structure is checked before anything is read (a string expectInputs threw a TypeError after the model was
  // built, and the model leaked); what the shapes and dtypes say is compared with the model below.
  const expectInputs: unknown = options.expectInputs;
  if (expectInputs !== undefined) {
    if (!Array.isArray(expectInputs)) {
      throw new LeptonError('INVALID_ARGUMENT', `loadBundle: expectInputs must be an array of { shape, dtype? }, got ${describeValue(expectInputs)}.`, { details: { option: 'expectInputs' } });
    }
    expectInputs.forEach((want: unknown, i) => {
      if (want === null || typeof want !== 'object' || !Array.isArray((want as { shape?: unknown }).shape)) {
        throw new LeptonError('INVALID_ARGUMENT', `loadBundle: expectInputs[${i}] must be { shape: [...], dtype? }, got ${describeValue(want)}.`, { details: { option: 'expectInputs' } });
      }
    });
  }
  await ensureRuntime();
  const raw = await readManifestText(dir);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new LeptonError('BUNDLE_INVALID', `Bundle ${dir}: ${MANIFEST_FILE} is not valid JSON.`, { cause: err, details: { dir } });
  }
  const manifest = validateManifest(dir, parsed);
  if (options.trustedKeys !== undefined) await verifyBundleSignature(dir, manifest, options.trustedKeys);

  const modelBytes = await readBundleFile(dir, MODEL_FILE, manifest);
  let modelJson: unknown;
  try {
    modelJson = JSON.parse(new TextDecoder().decode(modelBytes));
  } catch (err) {
    throw new LeptonError('BUNDLE_INVALID', `Bundle ${dir}: ${MODEL_FILE} is not valid JSON.`, { cause: err, details: { dir } });
  }
  const { modelTopology, weightSpecs, paths } = modelParts(dir, modelJson);
  const parts: Uint8Array[] = [];
  for (const path of paths) parts.push(await readBundleFile(dir, path, manifest));
  const weightData = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  parts.reduce((offset, p) => (weightData.set(p, offset), offset + p.byteLength), 0);
  // Checked before TF.js builds anything: every spec a known dtype and a unique name, the sizes adding up to the bytes
  // read (an unknown dtype stopped the NaN scan below, and a spec bigger than the data made TF.js allocate it).
  const problem = weightSpecsProblem(weightSpecs, weightData.byteLength);
  if (problem !== undefined) throw new LeptonError('BUNDLE_INVALID', `Bundle ${dir}: ${MODEL_FILE} does not describe its weights: ${problem}.`, { details: { dir } });
  // NaN weights answer NaN, or (through a ReLU on wasm) finite nonsense.
  const bad = firstNonFiniteWeight(weightSpecs, weightData);
  if (bad !== undefined) {
    throw new LeptonError('BUNDLE_INVALID', `Bundle ${dir}: weight ${bad.name} holds ${bad.value} (value ${bad.index}); a model with NaN or infinite weights is not loaded.`, {
      details: { dir, weight: bad.name, index: bad.index },
    });
  }

  registerLeptonLayers();
  const model = await buildModel(dir, modelTopology, weightSpecs, weightData);
  try {
    checkExpectations(model, manifest, dir, options);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return { model, manifest, dir };
}

/** What `model.json` must hold: a topology object and weight groups of file paths and weight specs; else `BUNDLE_INVALID`. */
function modelParts(dir: string, modelJson: unknown): { modelTopology: object; weightSpecs: tf.io.WeightsManifestEntry[]; paths: string[] } {
  const invalid = (): never => {
    throw new LeptonError('BUNDLE_INVALID', `Bundle ${dir}: ${MODEL_FILE} is not a TF.js layers model.`, { details: { dir } });
  };
  const json = modelJson as { modelTopology?: unknown; weightsManifest?: unknown } | null;
  if (json === null || typeof json !== 'object' || json.modelTopology === null || typeof json.modelTopology !== 'object' || !Array.isArray(json.weightsManifest)) invalid();
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const paths: string[] = [];
  for (const group of json!.weightsManifest as unknown[]) {
    const g = group as { paths?: unknown; weights?: unknown } | null;
    if (g === null || typeof g !== 'object' || !Array.isArray(g.paths) || !Array.isArray(g.weights) || !g.paths.every((p) => typeof p === 'string')) invalid();
    paths.push(...(g!.paths as string[]));
    weightSpecs.push(...(g!.weights as tf.io.WeightsManifestEntry[]));
  }
  return { modelTopology: json!.modelTopology as object, weightSpecs, paths };
}

/** Variables TF.js holds now (those of every live model), by name. */
function variableNames(): Set<string> {
  return new Set(Object.keys(tf.engine().state.registeredVariables));
}

/** The end of the last build: builds run one at a time, so a failed one can tell its own variables apart. */
let building: Promise<unknown> = Promise.resolve();

/**
 * Prepares a topology for building, in one walk without recursion: every `*_initializer` is set to zeros (the file's
 * weights replace the initial values right away, so computing them is wasted work, and a hostile topology could ask
 * for an orthogonal initializer — a QR decomposition — of any size), and every `name` in it (the layer names) is
 * returned.
 */
function prepareTopology(topology: object): Set<string> {
  const names = new Set<string>();
  const stack: unknown[] = [topology];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    for (const [key, child] of Object.entries(v)) {
      if (key.endsWith('_initializer') && child !== null && typeof child === 'object') (v as Record<string, unknown>)[key] = { class_name: 'Zeros', config: {} };
      else if (key === 'name' && typeof child === 'string') names.add(child);
      else stack.push(child);
    }
  }
  return names;
}

/**
 * Builds the model with TF.js, then sets its weights. When either fails (a topology whose layers do not fit the
 * weights), everything made for it is disposed: the half-built model and the decoded weights were never returned, so
 * each failed load leaked the memory the topology asked for.
 */
function buildModel(dir: string, modelTopology: object, weightSpecs: tf.io.WeightsManifestEntry[], weightData: Uint8Array): Promise<tfl.LayersModel> {
  const run = building.then(() => buildModelNow(dir, modelTopology, weightSpecs, weightData));
  building = run.catch(() => undefined);
  return run;
}

async function buildModelNow(dir: string, modelTopology: object, weightSpecs: tf.io.WeightsManifestEntry[], weightData: Uint8Array): Promise<tfl.LayersModel> {
  const mine = prepareTopology(modelTopology);
  const before = variableNames();
  let model: tfl.LayersModel | undefined;
  try {
    model = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology }));
    const weights = tf.io.decodeWeights(weightData.buffer as ArrayBuffer, weightSpecs);
    try {
      model.loadWeights(weights, true);
    } finally {
      tf.dispose(Object.values(weights));
    }
    return model;
  } catch (err) {
    if (model !== undefined) {
      model.dispose();
    } else {
      // TF.js failed half way through building: the variables of the layers it made are those registered since that
      // belong to this topology's layers (`<layer>/<weight>[_n]`), so that no variable another part of the
      // application made in the meantime is touched (builds by loadBundle run one at a time)
      const registered = tf.engine().state.registeredVariables;
      for (const name of Object.keys(registered)) if (!before.has(name) && mine.has(name.split('/')[0]!)) registered[name]!.dispose();
    }
    throw new LeptonError('BUNDLE_INVALID', `Bundle ${dir}: TF.js could not build the model (${(err as Error).message}).`, {
      cause: err,
      details: { dir },
    });
  }
}

/** The model against the manifest and the application's expectations; throws `BUNDLE_INCOMPATIBLE`. */
function checkExpectations(model: tfl.LayersModel, manifest: BundleManifest, dir: string, options: LoadBundleOptions): void {
  const actual = model.inputs.map((t) => ({ shape: [...t.shape], dtype: t.dtype as string }));
  const incompatible = (why: string): never => {
    throw new LeptonError('BUNDLE_INCOMPATIBLE', `Bundle ${dir} (${manifest.name}@${manifest.version}): ${why}`, { details: { dir } });
  };
  if (manifest.inputs.length !== actual.length || !manifest.inputs.every((s, i) => sameShape(s.shape, actual[i]!.shape))) {
    incompatible(`lepton.json declares inputs ${manifest.inputs.map((s) => describe(s.shape)).join(', ')} but the model takes ${actual.map((s) => describe(s.shape)).join(', ')}.`);
  }
  if (options.expectInputs) {
    if (options.expectInputs.length !== actual.length) {
      incompatible(`the application feeds ${options.expectInputs.length} input(s); the model takes ${actual.length}.`);
    }
    options.expectInputs.forEach((want, i) => {
      const have = actual[i]!;
      if (!sameShape(want.shape, have.shape)) {
        incompatible(`input ${i} is ${describe(have.shape)}, the application expects ${describe(want.shape)}. Use a bundle trained for this input.`);
      }
      if (want.dtype !== undefined && want.dtype !== have.dtype) incompatible(`input ${i} has dtype ${have.dtype}, expected ${describeValue(want.dtype)}.`);
    });
  }
  if (options.expectTask !== undefined && options.expectTask !== manifest.task) {
    incompatible(`task is '${manifest.task}', the application expects ${describeValue(options.expectTask)}.`);
  }
}
