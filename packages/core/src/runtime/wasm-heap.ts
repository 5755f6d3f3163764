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
 * kernel writing there would overwrite the start of the heap. (`initRuntime` also installs
 * {@link guardWasmAllocator}, which throws first; this check stays for a backend started without it.)
 */
export function placed(backend: WasmLike, info: Info): boolean {
  return tf.util.sizeFromShape(info.shape) === 0 || (backend.dataIdMap.get(info.dataId)?.memoryOffset ?? 0) !== 0;
}

/**
 * A new output tensor that TF.js' allocator placed (else a RangeError, as {@link assertPlaced}), filled with `value`
 * when given.
 */
export function newOutput(backend: WasmLike, shape: readonly number[], dtype: tf.DataType, kernel: string, value?: number): Info {
  const out = backend.makeOutput([...shape], dtype);
  assertPlaced(backend, out, kernel);
  if (value !== undefined) backend.typedArrayFromHeap(out).fill(value);
  return out;
}

/** Throws a RangeError (after freeing it) when `info` was not {@link placed}. */
export function assertPlaced(backend: WasmLike, info: Info, kernel: string): void {
  if (placed(backend, info)) return;
  backend.disposeData(info.dataId);
  throw new RangeError(`${kernel} on wasm: the wasm memory cannot hold a ${info.dtype} tensor of shape [${info.shape.join(', ')}]`);
}

/** The allocator of an Emscripten module as TF.js' wasm backend calls it (`backend.wasm._malloc`). */
export interface WasmAllocator {
  _malloc: (bytes: number) => number;
  asm?: { malloc?: (bytes: number) => number };
}

const GUARDED = Symbol.for('lepton.wasmAllocatorGuarded');

/**
 * Makes the wasm module's `malloc`, as TF.js' wasm backend calls it for every tensor, throw a RangeError instead of
 * returning address 0 when the memory cannot grow (TF.js 4.22 does not check: every kernel, TF.js' own and
 * Lepton's, would then write its output over the start of the heap, and a tensor created from JavaScript would be
 * copied there). Idempotent. Emscripten's `_malloc` is a stub that replaces itself with the module's export on its
 * first call, so the export itself is wrapped when the module has it. @internal
 *
 * @returns whether the guard was installed now (false: already guarded)
 */
export function guardWasmAllocator(module: WasmAllocator): boolean {
  const current = module._malloc as WasmAllocator['_malloc'] & { [GUARDED]?: true };
  if (current[GUARDED]) return false;
  const inner = module.asm?.malloc ?? current;
  const guarded = (bytes: number): number => {
    const address = inner(bytes);
    if (address === 0 && bytes > 0) throw new RangeError(`The wasm memory cannot grow to hold ${bytes} more bytes (the wasm backend's heap is at most 4 GB): free tensors or use smaller batches`);
    return address;
  };
  module._malloc = Object.assign(guarded, { [GUARDED]: true as const });
  return true;
}
