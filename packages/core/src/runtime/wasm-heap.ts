/**
 * What Lepton's wasm kernels (`wasm-kernels.ts`, `wasm-elementwise.ts`) use of TF.js' wasm backend: its heap, its
 * allocator and its registered kernels.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';

/** A tensor as kernels see it. */
export type Info = tf.TensorInfo;

/** The parts of TF.js' `BackendWasm` the kernels call. */
export interface WasmLike extends tf.KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType): Info;
  typedArrayFromHeap(info: Info): Float32Array | Int32Array | Uint8Array;
  incRef(dataId: object): void;
  disposeData(dataId: object, force?: boolean): boolean;
  dataIdMap: { get(dataId: object): { memoryOffset: number | null } | undefined };
}

/** The wasm kernel registered now under `name` (Lepton's where it replaced TF.js'). */
export function wasmKernel(name: string): tf.KernelFunc {
  const k = tf.getKernel(name, 'wasm');
  if (k === undefined) throw new Error(`wasm kernel ${name} is missing`);
  return k.kernelFunc;
}

/**
 * Whether TF.js' allocator placed `info`: it returns address 0, unchecked, when the wasm memory cannot grow, and a
 * kernel writing there would overwrite the start of the heap.
 */
export function placed(backend: WasmLike, info: Info): boolean {
  return tf.util.sizeFromShape(info.shape) === 0 || (backend.dataIdMap.get(info.dataId)?.memoryOffset ?? 0) !== 0;
}

/** Throws a RangeError (after freeing it) when `info` was not {@link placed}. */
export function assertPlaced(backend: WasmLike, info: Info, kernel: string): void {
  if (placed(backend, info)) return;
  backend.disposeData(info.dataId);
  throw new RangeError(`${kernel} on wasm: the wasm memory cannot hold a ${info.dtype} tensor of shape [${info.shape.join(', ')}]`);
}
