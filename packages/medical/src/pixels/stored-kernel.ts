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
  'AGFzbQEAAAABEAJgBX9/f39/AGAEf39/fwADBAMAAAEFAwEAAQcvBAZtZW1vcnkCAAlzdG9yZWRVMTYAAAlzdG9yZWRTMTYAAQpqb2luUGxhbmVzAAIKxAsD4gQDAn8FewN/IAAgAUF4cUEBdGohBSAAIAFBAXRqIQb9DAEAAwIFBAcGCQgLCg0MDw79DAABAgMEBQYHCAkKCwwNDg8gBBshCyAD/RAhB0H//wP9ECEJQQD9ECEKIAIgBHJFBEACQANAIAAgBU8NASAA/QAAACAH/U4hCCAAIAj9CwAAIAkgCP2XASEJIAogCP2ZASEKIABBEGohAAwACwsFIAJFBEACQANAIAAgBU8NASAA/QAAACAA/QAAAP0NAQADAgUEBwYJCAsKDQwPDiAH/U4hCCAAIAj9CwAAIAkgCP2XASEJIAogCP2ZASEKIABBEGohAAwACwsFAkADQCAAIAVPDQEgAP0AAAAgC/0OIAL9jQEgB/1OIQggACAI/QsAACAJIAj9lwEhCSAKIAj9mQEhCiAAQRBqIQAMAAsLCwsgCSAJIAn9DQgJCgsMDQ4PAAECAwQFBgf9lwEhCSAJIAkgCf0NBAUGBwABAgMEBQYHAAECA/2XASEJIAkgCSAJ/Q0CAwABAgMAAQIDAAECAwAB/ZcBIQkgCiAKIAr9DQgJCgsMDQ4PAAECAwQFBgf9mQEhCiAKIAogCv0NBAUGBwABAgMEBQYHAAECA/2ZASEKIAogCiAK/Q0CAwABAgMAAQIDAAECAwAB/ZkBIQogCf0ZACENIAr9GQAhDgJAA0AgACAGTw0BIAAvAQAiDEH/AXFBCHQgDEEIdnIgDCAEGyACdiADcSEMIAAgDDsBACAMIA0gDCANSRshDSAMIA4gDCAOSxshDiAAQQJqIQAMAAsLQQAgDTYCAEEEIA42AgALngUDAn8GewR/IAAgAUF4cUEBdGohBSAAIAFBAXRqIQb9DAEAAwIFBAcGCQgLCg0MDw79DAABAgMEBQYHCAkKCwwNDg8gBBshDCADQRBqIRBBAUEQIANrdEEBa/0QIQpBAUEPIANrdP0QIQtB//8B/RAhCEGAgH79ECEJIAIgBHJFBEACQANAIAAgBU8NASAA/QAAACAK/U4gC/1RIAv9kQEhByAAIAf9CwAAIAggB/2WASEIIAkgB/2YASEJIABBEGohAAwACwsFIAJFBEACQANAIAAgBU8NASAA/QAAACAA/QAAAP0NAQADAgUEBwYJCAsKDQwPDiAK/U4gC/1RIAv9kQEhByAAIAf9CwAAIAggB/2WASEIIAkgB/2YASEJIABBEGohAAwACwsFAkADQCAAIAVPDQEgAP0AAAAgDP0OIAL9jQEgCv1OIAv9USAL/ZEBIQcgACAH/QsAACAIIAf9lgEhCCAJIAf9mAEhCSAAQRBqIQAMAAsLCwsgCCAIIAj9DQgJCgsMDQ4PAAECAwQFBgf9lgEhCCAIIAggCP0NBAUGBwABAgMEBQYHAAECA/2WASEIIAggCCAI/Q0CAwABAgMAAQIDAAECAwAB/ZYBIQggCSAJIAn9DQgJCgsMDQ4PAAECAwQFBgf9mAEhCSAJIAkgCf0NBAUGBwABAgMEBQYHAAECA/2YASEJIAkgCSAJ/Q0CAwABAgMAAQIDAAECAwAB/ZgBIQkgCP0YACEOIAn9GAAhDwJAA0AgACAGTw0BIAAvAQAiDUH/AXFBCHQgDUEIdnIgDSAEGyACdiAQdCAQdSENIAAgDTsBACANIA4gDSAOSBshDiANIA8gDSAPShshDyAAQQJqIQAMAAsLQQAgDjYCAEEEIA82AgALvQECAn8CeyAAIANBcHFqIQQgACADaiEFAkADQCAAIARPDQEgAP0AAAAhBiAB/QAAACEHIAIgBiAH/Q0QABEBEgITAxQEFQUWBhcH/QsAACACQRBqIAYgB/0NGAgZCRoKGwscDB0NHg4fD/0LAAAgAEEQaiEAIAFBEGohASACQSBqIQIMAAsLAkADQCAAIAVPDQEgAiAALQAAQQh0IAEtAAByOwEAIABBAWohACABQQFqIQEgAkECaiECDAALCws=';

interface KernelExports {
  memory: WebAssembly.Memory;
  storedU16(p: number, n: number, shift: number, mask: number, swap: number): void;
  storedS16(p: number, n: number, shift: number, up: number, swap: number): void;
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

/**
 * Runs the stored-value kernel over the n words at `at` (big endian when `swap`: swapped in the same pass) and copies
 * them out into an array of their own.
 */
function finish(k: KernelExports, at: number, n: number, bitsStored: number, highBit: number, signed: boolean, swap = false): StoredFrame {
  const bs = Math.min(bitsStored, 16);
  const shift = Math.max(0, highBit + 1 - bs);
  if (signed) k.storedS16(at, n, shift, 16 - bs, swap ? 1 : 0);
  else k.storedU16(at, n, shift, (1 << bs) - 1, swap ? 1 : 0);
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
  return finish(k, DATA, n, bitsStored, highBit, signed, swap);
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
