import * as tf from '@tensorflow/tfjs-core';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';

/** The part of a `GPUDevice` this module uses (WebGPU's error scopes). */
interface ScopedDevice {
  pushErrorScope(filter: 'validation' | 'out-of-memory'): void;
  popErrorScope(): Promise<{ message: string } | null>;
}

/**
 * Submits the commands TF.js has recorded and not yet sent (tfjs-backend-webgpu 4.22 internals: `commandEncoder` is null
 * when nothing is pending; the open compute pass must be ended first).
 */
function submitPending(): void {
  const backend = tf.backend() as { commandEncoder?: unknown; endComputePassEncoder?: () => void; submitQueue?: () => void };
  if (backend.commandEncoder != null && typeof backend.endComputePassEncoder === 'function' && typeof backend.submitQueue === 'function') {
    backend.endComputePassEncoder();
    backend.submitQueue();
  }
}

function activeDevice(): ScopedDevice | undefined {
  if (tf.getBackend() !== 'webgpu') return undefined;
  const device = (tf.backend() as { device?: Partial<ScopedDevice> }).device;
  return typeof device?.pushErrorScope === 'function' && typeof device.popErrorScope === 'function' ? (device as ScopedDevice) : undefined;
}

/**
 * Runs GPU work with WebGPU's error scopes around it, so a device error becomes an exception instead of garbage.
 *
 * On `webgpu`, a kernel whose buffer is larger than the device allows (`maxStorageBufferBindingSize`: 128 MiB on
 * Mesa's lavapipe and on many integrated GPUs), or that runs out of GPU memory, is not dispatched: the device only
 * reports the error to its error handler, and the tensor reads back as zeros. A detector at batch 32 at 512 × 512 found
 * no one that way. Inside this scope such an error is caught: `release` gets what `work` returned (to dispose it) and
 * a `GPU_ERROR` is thrown. It catches what the device checks as the work is recorded (bind groups: buffer sizes and
 * limits; allocations that run out of memory) and, as it submits what TF.js has recorded before closing the scope,
 * what the queue finds at submission.
 * Data TF.js first uploads inside refused work is lost with it (the refused command buffer runs none of its commands),
 * so run a model once at batch 1 before large batches (the predictor's and the detector's warm-ups do). On every other
 * backend, `work` simply runs.
 *
 * @param work - dispatches the GPU work (e.g. a model's forward pass) and returns its result
 * @param release - frees the result when the device reported an error (e.g. `tf.dispose`)
 * @returns what `work` returned
 * @throws {@link LeptonError} `GPU_ERROR` with the device's message when the device refused the work or ran out of
 *   memory; whatever `work` throws, unchanged; `INVALID_ARGUMENT` when `work` (or a given `release`) is not a function
 * @example
 * ```ts
 * import { gpuErrorScope, initRuntime, tf } from '@lepton/core';
 * await initRuntime();
 * const y = await gpuErrorScope(() => tf.add(tf.ones([4]), 1), (t) => t.dispose());
 * console.log(await y.data()); // Float32Array [2, 2, 2, 2]
 * ```
 */
export async function gpuErrorScope<T>(work: () => T | Promise<T>, release?: (result: T) => void): Promise<T> {
  if (typeof work !== 'function') throw new LeptonError('INVALID_ARGUMENT', `gpuErrorScope: work must be a function, got ${describeValue(work)}.`);
  if (release !== undefined && typeof release !== 'function') throw new LeptonError('INVALID_ARGUMENT', `gpuErrorScope: release must be a function, got ${describeValue(release)}.`);
  const device = activeDevice();
  if (device === undefined) return await work();
  // Submit what TF.js recorded before (e.g. the upload of the input), outside the scopes: a command buffer with one
  // refused command runs none of its commands, so an upload recorded with the refused work would be lost, and the
  // tensor would read back as zeros afterwards.
  submitPending();
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await work() };
  } catch (error) {
    outcome = { ok: false, error };
  }
  // ... and submit what the work recorded, inside the scopes, so its errors are found here and not in the next work.
  submitPending();
  // pop both scopes whatever happened, so the device's scope stack is left as it was
  const popped = [await device.popErrorScope(), await device.popErrorScope()];
  if (!outcome.ok) throw outcome.error;
  const result = outcome.value;
  const errors = popped.filter((e): e is { message: string } => e !== null && e !== undefined);
  if (errors.length > 0) {
    release?.(result);
    const first = errors[0]!.message.split('\n')[0]!;
    throw new LeptonError(
      'GPU_ERROR',
      `The WebGPU device refused the work (${first}); its results would be wrong (zeros), so none are returned. ` +
        'Run smaller batches, or use the wasm backend.',
      { details: { backend: 'webgpu', errors: errors.map((e) => e.message.split('\n')[0]!) } },
    );
  }
  return result;
}
