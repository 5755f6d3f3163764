/**
 * Which runtime computes the detector's network: TF.js (the runtime's backend, wasm on a CPU machine) or ONNX
 * Runtime's native CPU kernels. Both sit behind {@link DetectorNet}, so letterboxing, decoding and NMS are shared.
 * @internal
 * @module
 */
import { ensureRuntime, gpuErrorScope, isLeptonError, tf, type LeptonError } from '@lepton/core';
import { surveillanceError } from '../types.js';
import { loadLocalGraphModel, runGraph } from './model-io.js';
import { loadOnnxNet } from './onnx-engine.js';

/** The detector's runtime: `'tfjs'`, `'onnx'` (ONNX Runtime, needs `onnxruntime-node`) or `'auto'` (onnx when it loads and runs). */
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
    // On webgpu a batch too large for the device would read back as zeros: GPU_ERROR instead, which the detector passes
    // to the caller (ObjectDetector #forward).
    execute: (x, outputs) => gpuErrorScope(() => runGraph(model, x, outputs), (r) => tf.dispose(r)),
    dispose: () => model.dispose(),
  };
}

/** @internal The input shape `[1, …]` of the blank image that `'auto'` runs once on ONNX Runtime, for a loaded net. */
export type ProbeShape = (net: DetectorNet) => number[];

/** Errors by which ONNX Runtime (or the conversion for it) turns this model down: `'auto'` falls back on them. */
const FALLS_BACK = ['BACKEND_UNAVAILABLE', 'INVALID_MODEL', 'MODEL_LOAD_FAILED'];

/**
 * Loads the network on the engine asked for. `'auto'` keeps it on TF.js when the TF.js backend computes on a GPU
 * (`runtimeInfo().gpu`; `fallback` is then undefined). Otherwise it tries ONNX Runtime and falls back to TF.js when ONNX Runtime
 * is not installed (`BACKEND_UNAVAILABLE`), the graph has an op the converter lacks (`INVALID_MODEL`), ONNX Runtime
 * refuses the converted model (`MODEL_LOAD_FAILED`; a missing model file then fails on TF.js too), or ONNX Runtime
 * fails one forward pass of a blank image of `probeShape` (`MODEL_LOAD_FAILED` with the run's error as cause: some
 * kernels check their arguments only when they run). Other errors (a bug, not the model) are thrown.
 *
 * @param threads - ORT intra-op threads per session
 * @param probeShape - the blank image's shape for `'auto'`'s forward pass (its errors, e.g. no input size, are thrown)
 */
export async function loadDetectorNet(path: string, outputs: string[] | undefined, engine: DetectorEngine, threads: number, probeShape: ProbeShape): Promise<LoadedNet> {
  if (engine === 'tfjs') return { net: await loadTfjsNet(path), fallback: undefined };
  if (engine === 'onnx') return { net: await loadOnnxNet(path, outputs, threads), fallback: undefined };
  // ONNX Runtime computes here on its CPU kernels: a TF.js backend on a GPU keeps the network.
  if ((await ensureRuntime()).gpu) return { net: await loadTfjsNet(path), fallback: undefined };
  let net: DetectorNet;
  try {
    net = await loadOnnxNet(path, outputs, threads);
  } catch (err) {
    if (!isLeptonError(err) || !FALLS_BACK.includes(err.code)) throw err;
    return { net: await loadTfjsNet(path), fallback: err };
  }
  let failure: LeptonError | undefined;
  try {
    failure = await probe(net, path, outputs ?? net.outputNames, probeShape(net));
  } catch (err) {
    net.dispose();
    throw err;
  }
  if (failure === undefined) return { net, fallback: undefined };
  net.dispose();
  return { net: await loadTfjsNet(path), fallback: failure };
}

/** One forward pass of a blank image on `net`: undefined when it runs, else the typed reason it did not. */
async function probe(net: DetectorNet, path: string, outputs: string[], shape: number[]): Promise<LeptonError | undefined> {
  const x = tf.zeros(shape);
  try {
    tf.dispose(await net.execute(x, outputs));
    return undefined;
  } catch (err) {
    // core's OnnxSession types every ORT run failure; an untyped error here is a bug of ours, not the model's.
    if (!isLeptonError(err)) throw err;
    return surveillanceError('MODEL_LOAD_FAILED', `ONNX Runtime failed a forward pass of the converted model ${path} on a blank [${shape.join(', ')}] input: ${err.message}`, { path }, err);
  } finally {
    x.dispose();
  }
}
