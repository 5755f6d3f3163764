/**
 * The detector's network on ONNX Runtime (`onnxruntime-node`, an optional peer of `@lepton/core`): the TF.js graph
 * model is converted to ONNX in memory at load time ({@link @lepton/core!graphModelToOnnx}) and run on ORT's native
 * CPU kernels. Letterboxing before and decoding after stay on TF.js, so detections go through the same code as with
 * the TF.js engine.
 * @internal
 * @module
 */
import { createRequire } from 'node:module';
import { graphModelToOnnx, isLeptonError, LeptonError, tf } from '@lepton/core';
import { surveillanceError } from '../types.js';
import { localModelHandler } from './model-io.js';
import type { DetectorNet } from './engine.js';

/** The part of onnxruntime-node's API used here (its types are not a dependency of this package). */
interface OrtTensor {
  readonly data: unknown;
  readonly dims: readonly number[];
  readonly type: string;
}
interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface Ort {
  InferenceSession: { create(bytes: Uint8Array, options: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
}

let cached: Ort | undefined;

/**
 * Loads onnxruntime-node. It is resolved from `@lepton/core`'s location, where it is declared (optional peer), so
 * that an application installs it once for every Lepton package.
 * TODO(merge): replace with core's ONNX Runtime loader (core/src/onnx/runtime.ts) once it lands.
 */
function loadOrt(): Ort {
  if (cached !== undefined) return cached;
  try {
    const here = createRequire(import.meta.url);
    cached = createRequire(here.resolve('@lepton/core'))('onnxruntime-node') as Ort;
    return cached;
  } catch (err) {
    throw new LeptonError('BACKEND_UNAVAILABLE', `The detector's engine 'onnx' needs ONNX Runtime, which did not load (${(err as Error).message}). Install it next to @lepton/core (npm install onnxruntime-node), or use engine 'tfjs'.`, {
      cause: err,
      details: { engine: 'onnx', package: 'onnxruntime-node' },
    });
  }
}

/**
 * Converts the graph model at `path` and opens an ORT session on it.
 *
 * @param path - the model.json
 * @param outputs - output node names the decoder reads (undefined: the model's signature outputs)
 * @param threads - ORT intra-op threads of this session
 * @throws LeptonError `BACKEND_UNAVAILABLE` without onnxruntime-node; `INVALID_MODEL` for an op the converter lacks;
 *   `MODEL_LOAD_FAILED` when ORT refuses the converted model
 */
export async function loadOnnxNet(path: string, outputs: string[] | undefined, threads: number): Promise<DetectorNet> {
  const ort = loadOrt();
  const handler = localModelHandler(path);
  if (handler.load === undefined) throw surveillanceError('MODEL_LOAD_FAILED', `No loader for ${path}.`, { path }); // never: localModelHandler has load()
  const artifacts = await handler.load();
  const onnx = graphModelToOnnx(artifacts, outputs === undefined ? {} : { outputs });
  const input = onnx.inputs[0];
  if (onnx.inputs.length !== 1 || input === undefined) throw surveillanceError('MODEL_LOAD_FAILED', `Model ${path} has ${onnx.inputs.length} inputs; a detector takes one image input.`, { path });
  let session: OrtSession;
  try {
    session = await ort.InferenceSession.create(onnx.bytes, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (err) {
    if (isLeptonError(err)) throw err;
    throw surveillanceError('MODEL_LOAD_FAILED', `ONNX Runtime refused the converted model ${path}: ${(err as Error).message}. Use engine 'tfjs' for this model.`, { path }, err);
  }
  const names = new Map(onnx.outputs.map((o, i) => [(outputs ?? onnx.outputs)[i] ?? o, o]));
  return {
    engine: 'onnx',
    inputShape: input.shape.map((d) => (typeof d === 'number' ? d : -1)),
    outputNames: [...names.keys()],
    async execute(x: tf.Tensor, wanted: string[]): Promise<tf.Tensor[]> {
      const data = (await x.data()) as Float32Array;
      const result = await session.run({ [input.name]: new ort.Tensor('float32', data, x.shape) });
      return wanted.map((w) => {
        const o = result[names.get(w) ?? w];
        if (o === undefined || !(o.data instanceof Float32Array)) throw surveillanceError('MODEL_LOAD_FAILED', `ONNX Runtime returned no float output '${w}'.`, { path, output: w });
        return tf.tensor(o.data, [...o.dims]);
      });
    },
    dispose(): void {
      void session.release().catch(() => undefined);
    },
  };
}
