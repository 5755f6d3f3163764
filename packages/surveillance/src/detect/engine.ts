/**
 * Which runtime computes the detector's network: TF.js (the runtime's backend, wasm on a CPU machine) or ONNX
 * Runtime's native CPU kernels. Both sit behind {@link DetectorNet}, so letterboxing, decoding and NMS are shared.
 * @internal
 * @module
 */
import { isLeptonError, type LeptonError, type tf } from '@lepton/core';
import { loadLocalGraphModel, runGraph } from './model-io.js';
import { loadOnnxNet } from './onnx-engine.js';

/** The detector's runtime: `'tfjs'`, `'onnx'` (ONNX Runtime, needs `onnxruntime-node`) or `'auto'` (onnx when it loads). */
export type DetectorEngine = 'tfjs' | 'onnx' | 'auto';

/** @internal A loaded network, whichever runtime runs it. */
export interface DetectorNet {
  readonly engine: 'tfjs' | 'onnx';
  /** The image input's shape (-1 for a free dimension), when the model declares it. */
  readonly inputShape: ReadonlyArray<number | null> | undefined;
  /** The model's own outputs (used when the model spec names none). */
  readonly outputNames: string[];
  /** One forward pass: the tensors of `outputs`, in that order (the caller disposes them). */
  execute(x: tf.Tensor, outputs: string[]): Promise<tf.Tensor[]>;
  dispose(): void;
}

/** @internal */
export interface LoadedNet {
  net: DetectorNet;
  /** Why `'auto'` chose TF.js, when it did. */
  fallback: LeptonError | undefined;
}

async function loadTfjsNet(path: string): Promise<DetectorNet> {
  const model = await loadLocalGraphModel(path);
  return {
    engine: 'tfjs',
    inputShape: model.inputs[0]?.shape,
    outputNames: model.outputs.map((o) => o.name),
    execute: (x, outputs) => runGraph(model, x, outputs),
    dispose: () => model.dispose(),
  };
}

/**
 * Loads the network on the engine asked for. `'auto'` tries ONNX Runtime and falls back to TF.js when ONNX Runtime
 * is not installed (`BACKEND_UNAVAILABLE`), the graph has an op the converter lacks (`INVALID_MODEL`) or ONNX
 * Runtime refuses the converted model (`MODEL_LOAD_FAILED`; a missing model file then fails on TF.js too).
 *
 * @param threads - ORT intra-op threads per session
 */
export async function loadDetectorNet(path: string, outputs: string[] | undefined, engine: DetectorEngine, threads: number): Promise<LoadedNet> {
  if (engine === 'tfjs') return { net: await loadTfjsNet(path), fallback: undefined };
  if (engine === 'onnx') return { net: await loadOnnxNet(path, outputs, threads), fallback: undefined };
  try {
    return { net: await loadOnnxNet(path, outputs, threads), fallback: undefined };
  } catch (err) {
    if (!isLeptonError(err) || !['BACKEND_UNAVAILABLE', 'INVALID_MODEL', 'MODEL_LOAD_FAILED'].includes(err.code)) throw err;
    return { net: await loadTfjsNet(path), fallback: err };
  }
}
