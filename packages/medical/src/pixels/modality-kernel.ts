/**
 * The per-pixel loop of {@link decodeModalityFrame}'s fast path as a 224-byte WebAssembly module: `dst[i] = table[word]`
 * over 16-bit words (native frames) or over two RLE byte planes. A JS typed-array loop of the same work runs at
 * ~0.46 ms per 512×512 slice on the 2-core bench machine and its speed depends on which files V8 saw earlier; the wasm
 * loop, including the copies in and out of its memory, takes ~0.16 ms.
 *
 * The module's source is `modality-kernel.wat` next to this file; `tests/modality-kernel.test.ts` compiles it with
 * wabt and checks it equals the bytes below, so the two cannot drift apart.
 * @internal
 */
export const MODALITY_KERNEL_WASM =
  'AGFzbQEAAAABEAJgBH9/f38AYAV/f39/fwADAwIAAQUDAQABByEDBm1lbW9yeQIACG1hcFdvcmRzAAAJbWFwUGxhbmVzAAEKlgECQwEBfyAAIANBAXRqIQQCQCAAIARPDQADQCABIAIgAC8BAEECdGoqAgA4AgAgAEECaiEAIAFBBGohASAAIARJDQALCwtQAQF/IAAgBGohBQJAIAAgBU8NAANAIAIgAyAALQAAQQh0IAEtAAByQQJ0aioCADgCACAAQQFqIQAgAUEBaiEBIAJBBGohAiAAIAVJDQALCws=';

interface KernelExports {
  memory: WebAssembly.Memory;
  mapWords(raw: number, dst: number, table: number, n: number): void;
  mapPlanes(hi: number, lo: number, dst: number, table: number, n: number): void;
}

const TABLE_BYTES = 65536 * 4;
let kernel: KernelExports | undefined;
let tableKey = '';

function instance(): KernelExports {
  kernel ??= new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(MODALITY_KERNEL_WASM, 'base64'))).exports as unknown as KernelExports;
  return kernel;
}

/** Grows the kernel's memory to hold the table and `bytes` more; returns the memory's buffer (views made before are stale). */
function reserve(k: KernelExports, bytes: number): ArrayBuffer {
  const need = TABLE_BYTES + bytes;
  const have = k.memory.buffer.byteLength;
  if (need > have) k.memory.grow(Math.ceil((need - have) / 65536));
  return k.memory.buffer;
}

/**
 * Puts the modality value of every 16-bit word (masking, sign extension and rescale precomputed, in Float32) at the
 * start of the kernel's memory, unless the last call already did for the same parameters.
 */
function loadTable(k: KernelExports, shift: number, mask: number, signBit: number, range: number, slope: number, intercept: number): void {
  const key = `${shift},${mask},${signBit},${range},${slope},${intercept}`;
  if (key === tableKey) return;
  const values = new Float32Array(k.memory.buffer, 0, 65536);
  for (let w = 0; w < 65536; w++) {
    const v = (w >>> shift) & mask;
    values[w] = (v >= signBit ? v - range : v) * slope + intercept;
  }
  tableKey = key;
}

/** The rescale of one frame: stored-value layout and the modality LUT's slope and intercept. */
export interface WordRescale {
  shift: number;
  mask: number;
  signBit: number;
  range: number;
  slope: number;
  intercept: number;
}

/**
 * Modality values of `n` 16-bit words (little-endian unless `bigEndian`, any alignment) into `dst`.
 * @internal
 */
export function mapWords(words: Uint8Array, bigEndian: boolean, n: number, r: WordRescale, dst: Float32Array): void {
  const k = instance();
  const buffer = reserve(k, n * 6);
  loadTable(k, r.shift, r.mask, r.signBit, r.range, r.slope, r.intercept);
  const raw = TABLE_BYTES;
  const out = TABLE_BYTES + n * 2;
  new Uint8Array(buffer, raw, n * 2).set(words.subarray(0, n * 2));
  if (bigEndian) Buffer.from(buffer, raw, n * 2).swap16();
  k.mapWords(raw, out, 0, n);
  dst.set(new Float32Array(buffer, out, n));
}

/**
 * Modality values of an RLE frame: `fill` writes the frame's two byte planes (most significant first) into the views it
 * is given, in the kernel's memory; then each pixel is mapped through the table into `dst`.
 * @internal
 */
export function mapRlePlanes(n: number, r: WordRescale, dst: Float32Array, fill: (planes: Uint8Array[]) => void): void {
  const k = instance();
  const buffer = reserve(k, n * 6);
  loadTable(k, r.shift, r.mask, r.signBit, r.range, r.slope, r.intercept);
  const hi = TABLE_BYTES;
  const lo = TABLE_BYTES + n;
  const out = TABLE_BYTES + n * 2;
  fill([new Uint8Array(buffer, hi, n), new Uint8Array(buffer, lo, n)]);
  k.mapPlanes(hi, lo, out, 0, n);
  dst.set(new Float32Array(buffer, out, n));
}
