/**
 * One forward pass of a converted single-input, single-output model on an ONNX Runtime session: shared by the
 * in-thread ONNX predictor and its workers. Internal: not exported from the package.
 */
import type { OnnxSession } from '../onnx/runtime.js';

/**
 * @internal Runs `n` samples packed row-major in `flat`; resolves with the `n` outputs packed the same way.
 *
 * Outputs come back as computed, non-finite values included, unless `checkOutputs`: the batcher checks each sample's
 * output itself, so one sample that overflows inside the model fails alone, not its whole batch (as on TF.js). Warm-up
 * runs (zeros) check them, so that a model with non-finite weights is found at start.
 */
export function onnxBatchRunner(session: OnnxSession, inputShape: readonly number[], checkOutputs = false): (flat: Float32Array, n: number) => Promise<Float32Array> {
  const input = session.inputNames[0]!;
  const output = session.outputNames[0]!;
  return async (flat, n) => (await session.run({ [input]: { data: flat, dims: [n, ...inputShape] } }, { checkOutputs }))[output]!.data;
}
