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

/** Bytes per value of the dtypes a layers model's weights hold (a string weight has no fixed size: none is expected). */
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/** Bytes per stored value of a spec, or undefined for a dtype or quantisation this check does not know. */
function storedWidth(spec: io.WeightsManifestEntry): number | undefined {
  const q: unknown = spec.quantization;
  if (!Object.hasOwn(DTYPE_BYTES, spec.dtype)) return undefined;
  if (q === undefined || q === null) return DTYPE_BYTES[spec.dtype];
  const qd = (q as { dtype?: unknown }).dtype;
  return typeof q === 'object' && typeof qd === 'string' && Object.hasOwn(QUANTIZED_BYTES, qd) ? QUANTIZED_BYTES[qd] : undefined;
}

/**
 * @internal Why a layers model's weight specs cannot describe its `bytes` of weight data, or undefined when they can:
 * every spec an object with a name used once, a shape of non-negative safe integers, a known dtype (float32, int32,
 * bool; quantised uint8, uint16, float16), and the sizes adding up to exactly `bytes`. Checked before TF.js builds
 * anything, so that {@link firstNonFiniteWeight} reads every weight and no spec makes TF.js allocate more than the
 * file holds. The message names weights by index, never by their (file-supplied) names.
 */
export function weightSpecsProblem(specs: readonly unknown[], bytes: number): string | undefined {
  const names = new Set<string>();
  let total = 0;
  for (const [i, s] of specs.entries()) {
    const spec = s as io.WeightsManifestEntry | null;
    if (spec === null || typeof spec !== 'object' || typeof spec.name !== 'string' || typeof spec.dtype !== 'string' || !Array.isArray(spec.shape)) {
      return `weight ${i} needs a name, a shape and a dtype`;
    }
    if (names.has(spec.name)) return `weight ${i} repeats the name of an earlier weight`;
    names.add(spec.name);
    const width = storedWidth(spec);
    if (width === undefined) return `weight ${i} has a dtype or quantisation that is not a layers model's (float32, int32, bool; uint8, uint16, float16)`;
    if (!spec.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return `weight ${i} has a shape that is not a list of non-negative integers`;
    total += spec.shape.reduce((a, d) => a * d, 1) * width;
    if (!(total <= bytes)) return `the weights declare more bytes than the ${bytes} of weight data`;
  }
  return total === bytes ? undefined : `the weights declare ${total} bytes but the weight data holds ${bytes}`;
}

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
 * weight of another dtype or where the bytes run out: a bundle's specs pass {@link weightSpecsProblem} first, so
 * loading scans every weight.
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
