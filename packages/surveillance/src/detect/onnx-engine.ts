/**
 * The detector's network on ONNX Runtime (`onnxruntime-node`, an optional peer of `@lepton/core`): the TF.js graph
 * model is converted to ONNX in memory at load time ({@link @lepton/core!graphModelToOnnx}) and run on ORT's native
 * CPU kernels. Letterboxing before and decoding after stay on TF.js, so detections go through the same code as with
 * the TF.js engine.
 * @internal
 * @module
 */
import { createOnnxSession, graphModelToOnnx, isLeptonError, requireOnnxRuntime, tf, type OnnxSession } from '@lepton/core';
import { surveillanceError } from '../types.js';
import { localModelHandler } from './model-io.js';
import type { DetectorNet } from './engine.js';

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
  // Without onnxruntime-node, BACKEND_UNAVAILABLE now, before a conversion ('auto' then falls back) that would cost ~1 s.
  await requireOnnxRuntime();
  const handler = localModelHandler(path);
  if (handler.load === undefined) throw surveillanceError('MODEL_LOAD_FAILED', `No loader for ${path}.`, { path }); // never: localModelHandler has load()
  const artifacts = await handler.load();
  const onnx = graphModelToOnnx(artifacts, outputs === undefined ? {} : { outputs });
  const input = onnx.inputs[0];
  if (onnx.inputs.length !== 1 || input === undefined) throw surveillanceError('MODEL_LOAD_FAILED', `Model ${path} has ${onnx.inputs.length} inputs; a detector takes one image input.`, { path });
  let session: OnnxSession;
  try {
    // core loads onnxruntime-node on first use (BACKEND_UNAVAILABLE with the install fix when it is missing).
    session = await createOnnxSession(onnx.bytes, { threads });
  } catch (err) {
    // INVALID_MODEL from core here means ORT refused a graph the converter produced: a load failure of this model
    // (engine 'auto' falls back to TF.js on it). BACKEND_UNAVAILABLE and INVALID_ARGUMENT pass through unchanged.
    if (isLeptonError(err) && err.code !== 'INVALID_MODEL') throw err;
    throw surveillanceError('MODEL_LOAD_FAILED', `ONNX Runtime refused the converted model ${path}: ${(err as Error).message}. Use engine 'tfjs' for this model.`, { path }, err);
  }
  const names = new Map(onnx.outputs.map((o, i) => [(outputs ?? onnx.outputs)[i] ?? o, o]));
  return {
    engine: 'onnx',
    inputShape: input.shape.map((d) => (typeof d === 'number' ? d : -1)),
    outputNames: [...names.keys()],
    async execute(x: tf.Tensor, wanted: string[]): Promise<tf.Tensor[]> {
      const data = (await x.data()) as Float32Array;
      const result = await session.run({ [input.name]: { data, dims: x.shape } });
      const missing = wanted.find((w) => result[names.get(w) ?? w] === undefined);
      // Checked before any tensor is made, so none is left behind when one output is missing.
      if (missing !== undefined) throw surveillanceError('MODEL_LOAD_FAILED', `ONNX Runtime returned no float output '${missing}'.`, { path, output: missing });
      return wanted.map((w) => {
        const o = result[names.get(w) ?? w] as { data: Float32Array; dims: readonly number[] };
        return tf.tensor(o.data, [...o.dims]);
      });
    },
    dispose(): void {
      void session.close();
    },
  };
}
