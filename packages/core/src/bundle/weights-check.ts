import type { io } from '@tensorflow/tfjs-core';

/** Where a model's serialised weights first hold a value that is not finite. */
export interface NonFiniteWeight {
  /** The weight's name (e.g. `dense_1/kernel`). */
  name: string;
  /** Index of the first bad value in the weight, row-major. */
  index: number;
  /** The value read there: NaN, Infinity or -Infinity. */
  value: number;
}

const QUANTIZED_BYTES: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };

/** A float16's bits hold an infinity or a NaN when its exponent is all ones. */
function float16Bad(bits: number): boolean {
  return (bits & 0x7c00) === 0x7c00;
}

function float16Value(bits: number): number {
  return (bits & 0x3ff) !== 0 ? Number.NaN : bits & 0x8000 ? -Infinity : Infinity;
}

/**
 * @internal The first weight value that is not finite in a layers model's serialised weights (the `weightSpecs` and
 * concatenated `weightData` of TF.js' `ModelArtifacts`), read from the bytes without a backend: float32 values, float16
 * quantised values, and the scale and minimum of uint8/uint16 quantisation (whose values are finite when those are).
 * A model that diverged in training, or a weights file edited after the fact, holds NaN; on the wasm backend a ReLU
 * turns NaN into 0, so such a model answers finite but meaningless numbers. Scanning stops (reporting nothing) at a
 * string weight or where the bytes run out: TF.js refuses those itself.
 */
export function firstNonFiniteWeight(specs: readonly io.WeightsManifestEntry[], data: Uint8Array): NonFiniteWeight | undefined {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let offset = 0;
  for (const spec of specs) {
    if (spec === null || typeof spec !== 'object' || !Array.isArray(spec.shape)) return undefined;
    const count = spec.shape.reduce((a, d) => a * d, 1);
    const q = spec.quantization;
    const width = q ? QUANTIZED_BYTES[q.dtype] : spec.dtype === 'float32' || spec.dtype === 'int32' ? 4 : spec.dtype === 'bool' ? 1 : undefined;
    if (width === undefined || !Number.isSafeInteger(count) || offset + count * width > data.byteLength) return undefined;
    if (q) {
      if (q.dtype === 'float16') {
        for (let i = 0; i < count; i++) {
          const bits = view.getUint16(offset + 2 * i, true);
          if (float16Bad(bits)) return { name: spec.name, index: i, value: float16Value(bits) };
        }
      } else {
        for (const v of [q.scale, q.min]) if (v !== undefined && !Number.isFinite(v)) return { name: spec.name, index: 0, value: v };
      }
    } else if (spec.dtype === 'float32') {
      for (let i = 0; i < count; i++) {
        const v = view.getFloat32(offset + 4 * i, true);
        if (!Number.isFinite(v)) return { name: spec.name, index: i, value: v };
      }
    }
    offset += count * width;
  }
  return undefined;
}
