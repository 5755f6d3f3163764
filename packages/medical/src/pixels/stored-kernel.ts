/**
 * The per-pixel work of decoding a 16-bit greyscale frame — shift by High Bit, mask to Bits Stored or sign-extend,
 * minimum and maximum — as a 1 KB WebAssembly SIMD module (eight words a step), plus the interleaving of an RLE
 * frame's two byte planes into words. The same loop in JavaScript runs at 2–6 ns a pixel on the 2-core bench machine
 * (5 ms per 512×512 slice at worst), which kept `readDicom(bytes).decodeFrames()` of a CT slice below pydicom's
 * `pixel_array`; the kernel, with the copies into and out of its memory, takes a fraction of that.
 *
 * The module's source is `stored-kernel.wat` next to this file; test/decode.test.ts compiles it with wabt and checks
 * it equals the bytes below, so the two cannot drift apart. Where WebAssembly SIMD is missing, the callers fall back
 * to their JavaScript loops (`storedWords` returns undefined).
 * @internal
 */
export const STORED_KERNEL_WASM =
  'AGFzbQEAAAABCAFgBH9/f38AAwQDAAAABQMBAAEHLwQGbWVtb3J5AgAJc3RvcmVkVTE2AAAJc3RvcmVkUzE2AAEKam9pblBsYW5lcwACCv0IA8MDAwJ/BHsDfyAAIAFBeHFBAXRqIQQgACABQQF0aiEFIAP9ECEGQf//A/0QIQhBAP0QIQkgAkUEQAJAA0AgACAETw0BIAD9AAAAIAb9TiEHIAAgB/0LAAAgCCAH/ZcBIQggCSAH/ZkBIQkgAEEQaiEADAALCwUCQANAIAAgBE8NASAA/QAAACAC/Y0BIAb9TiEHIAAgB/0LAAAgCCAH/ZcBIQggCSAH/ZkBIQkgAEEQaiEADAALCwsgCCAIIAj9DQgJCgsMDQ4PAAECAwQFBgf9lwEhCCAIIAggCP0NBAUGBwABAgMEBQYHAAECA/2XASEIIAggCCAI/Q0CAwABAgMAAQIDAAECAwAB/ZcBIQggCSAJIAn9DQgJCgsMDQ4PAAECAwQFBgf9mQEhCSAJIAkgCf0NBAUGBwABAgMEBQYHAAECA/2ZASEJIAkgCSAJ/Q0CAwABAgMAAQIDAAECAwAB/ZkBIQkgCP0ZACELIAn9GQAhDAJAA0AgACAFTw0BIAAvAQAgAnYgA3EhCiAAIAo7AQAgCiALIAogC0kbIQsgCiAMIAogDEsbIQwgAEECaiEADAALC0EAIAs2AgBBBCAMNgIAC/YDAwJ/BXsEfyAAIAFBeHFBAXRqIQQgACABQQF0aiEFIANBEGohDkEBQRAgA2t0QQFr/RAhCUEBQQ8gA2t0/RAhCkH//wH9ECEHQYCAfv0QIQggAkUEQAJAA0AgACAETw0BIAD9AAAAIAn9TiAK/VEgCv2RASEGIAAgBv0LAAAgByAG/ZYBIQcgCCAG/ZgBIQggAEEQaiEADAALCwUCQANAIAAgBE8NASAA/QAAACAC/Y0BIAn9TiAK/VEgCv2RASEGIAAgBv0LAAAgByAG/ZYBIQcgCCAG/ZgBIQggAEEQaiEADAALCwsgByAHIAf9DQgJCgsMDQ4PAAECAwQFBgf9lgEhByAHIAcgB/0NBAUGBwABAgMEBQYHAAECA/2WASEHIAcgByAH/Q0CAwABAgMAAQIDAAECAwAB/ZYBIQcgCCAIIAj9DQgJCgsMDQ4PAAECAwQFBgf9mAEhCCAIIAggCP0NBAUGBwABAgMEBQYHAAECA/2YASEIIAggCCAI/Q0CAwABAgMAAQIDAAECAwAB/ZgBIQggB/0YACEMIAj9GAAhDQJAA0AgACAFTw0BIAAvAQAgAnYgDnQgDnUhCyAAIAs7AQAgCyAMIAsgDEgbIQwgCyANIAsgDUobIQ0gAEECaiEADAALC0EAIAw2AgBBBCANNgIAC70BAgJ/AnsgACADQXBxaiEEIAAgA2ohBQJAA0AgACAETw0BIAD9AAAAIQYgAf0AAAAhByACIAYgB/0NEAARARICEwMUBBUFFgYXB/0LAAAgAkEQaiAGIAf9DRgIGQkaChsLHAwdDR4OHw/9CwAAIABBEGohACABQRBqIQEgAkEgaiECDAALCwJAA0AgACAFTw0BIAIgAC0AAEEIdCABLQAAcjsBACAAQQFqIQAgAUEBaiEBIAJBAmohAgwACwsL';

interface KernelExports {
  memory: WebAssembly.Memory;
  storedU16(p: number, n: number, shift: number, mask: number): void;
  storedS16(p: number, n: number, shift: number, up: number): void;
  joinPlanes(hi: number, lo: number, dst: number, n: number): void;
}

/** Bytes 0–7 of the kernel's memory hold the minimum and maximum (i32) it found; data starts here. */
const DATA = 64;
let kernel: KernelExports | null | undefined;

function instance(): KernelExports | null {
  if (kernel === undefined) {
    try {
      kernel = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(STORED_KERNEL_WASM, 'base64'))).exports as unknown as KernelExports;
    } catch {
      kernel = null; // no WebAssembly SIMD in this runtime
    }
  }
  return kernel;
}

/** Grows the kernel's memory to hold `bytes` after DATA; returns its buffer (views made before are stale). */
function reserve(k: KernelExports, bytes: number): ArrayBuffer {
  const need = DATA + bytes;
  const have = k.memory.buffer.byteLength;
  if (need > have) k.memory.grow(Math.ceil((need - have) / 65536));
  return k.memory.buffer;
}

/** Stored values of a greyscale 16-bit frame, with their range. @internal */
export interface StoredFrame {
  readonly values: Uint16Array | Int16Array;
  readonly min: number;
  readonly max: number;
}

/** Runs the stored-value kernel over the n words at DATA + offset and copies them out into an array of their own. */
function finish(k: KernelExports, at: number, n: number, bitsStored: number, highBit: number, signed: boolean): StoredFrame {
  const bs = Math.min(bitsStored, 16);
  const shift = Math.max(0, highBit + 1 - bs);
  if (signed) k.storedS16(at, n, shift, 16 - bs);
  else k.storedU16(at, n, shift, (1 << bs) - 1);
  const buffer = k.memory.buffer;
  const range = new Int32Array(buffer, 0, 2);
  // one copy out (ArrayBuffer#slice): the kernel's memory is reused by the next frame
  const copy = buffer.slice(at, at + 2 * n);
  return { values: signed ? new Int16Array(copy) : new Uint16Array(copy), min: range[0]!, max: range[1]! };
}

/**
 * Stored values of `n` 16-bit words (little endian, or big endian when `swap`), any alignment. Undefined without
 * WebAssembly SIMD.
 * @internal
 */
export function storedWords(words: Uint8Array, swap: boolean, n: number, bitsStored: number, highBit: number, signed: boolean): StoredFrame | undefined {
  const k = instance();
  if (k === null) return undefined;
  const buffer = reserve(k, 2 * n);
  new Uint8Array(buffer, DATA, 2 * n).set(words.subarray(0, 2 * n));
  if (swap) Buffer.from(buffer, DATA, 2 * n).swap16();
  return finish(k, DATA, n, bitsStored, highBit, signed);
}

/**
 * Stored values of a 16-bit RLE frame: `fill` writes its two byte planes (most significant first) into the views it
 * is given, in the kernel's memory; they are interleaved into words and masked there. Undefined without SIMD.
 * @internal
 */
export function storedPlanes(n: number, bitsStored: number, highBit: number, signed: boolean, fill: (planes: Uint8Array[]) => void): StoredFrame | undefined {
  const k = instance();
  if (k === null) return undefined;
  const buffer = reserve(k, 4 * n);
  const hi = DATA;
  const lo = DATA + n;
  const words = DATA + 2 * n;
  fill([new Uint8Array(buffer, hi, n), new Uint8Array(buffer, lo, n)]);
  k.joinPlanes(hi, lo, words, n);
  return finish(k, words, n, bitsStored, highBit, signed);
}
