import { describeValue, LeptonError, tf } from '@lepton/core';
import { checkModel, invalid } from './validate.js';

/*
 * Federated weight sets and their binary wire format.
 *
 * Error codes raised here:
 * - `FEDERATED_BAD_UPDATE` — a payload is truncated, garbled, has the wrong magic or length, carries NaN or infinite
 *   floats, metadata nested deeper than {@link MAX_META_DEPTH} or larger than {@link MAX_META_BYTES}, or its weight
 *   specs differ from the ones expected.
 * - `SHAPE_MISMATCH` — a weight set does not fit the model it is written into.
 */

/** One weight tensor of a model: its (layer-scoped) name and shape. */
export interface WeightSpec {
  /** Scoped name as the layer declared it, e.g. `dense_0/kernel` (without tfjs's uniqueness suffix). */
  name: string;
  /** Shape of the tensor. */
  shape: number[];
}

/** All of a model's weights flattened, in `model.getWeights()` order, into one `Float32Array`. */
export interface WeightSet {
  /** Name and shape of every tensor, in order. */
  specs: WeightSpec[];
  /** Concatenated values of every tensor (row-major); length is the sum of the specs' sizes. */
  values: Float32Array;
}

/** Element type carried by a wire payload. */
export type WeightDtype = 'float32' | 'uint32';

/** What {@link decodeWeights} returns. */
export interface DecodedPayload {
  /** Name and shape of every tensor, in order. */
  specs: WeightSpec[];
  /** `'float32'` for weights or deltas, `'uint32'` for secure-aggregation words. */
  dtype: WeightDtype;
  /** The values: a `Float32Array` when `dtype` is `'float32'`, a `Uint32Array` when `'uint32'`. */
  values: Float32Array | Uint32Array;
  /** Free-form JSON metadata the sender attached (round, partner id, sample count …); `{}` when none. */
  meta: Record<string, unknown>;
}

/** The four magic bytes that open every payload. */
export const WEIGHTS_MAGIC = 'LPW1';

/**
 * Deepest nesting of objects and arrays a payload's `meta` may have. Deeper metadata is refused on decode: code that
 * later copies or serialises it recursively (structuredClone, JSON.stringify) would overflow the stack.
 */
export const MAX_META_DEPTH = 8;

/** Largest `meta` a payload may carry, as UTF-8 JSON bytes. */
export const MAX_META_BYTES = 64 * 1024;

/**
 * @internal Why a JSON value is too deep or too big, or undefined when it is fine. Iterative, so a hostile value of any
 * depth cannot overflow the stack here.
 */
export function jsonShapeProblem(value: unknown, maxDepth: number, maxNodes: number): string | undefined {
  const stack: [unknown, number][] = [[value, 0]];
  let nodes = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (++nodes > maxNodes) return `more than ${maxNodes} values`;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= maxDepth) return `nested deeper than ${maxDepth} levels`;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return undefined;
}

const MAGIC_BYTES = new TextEncoder().encode(WEIGHTS_MAGIC);
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Values described by specs already checked by {@link validateSpecs} (no check of its own). */
function countOf(specs: readonly WeightSpec[]): number {
  let n = 0;
  for (const s of specs) n += s.shape.reduce((a, b) => a * b, 1);
  return n;
}

/** Whether `s` is a spec `{name: string, shape: safe integers ≥ 0}` (a caller's getter or Proxy may still throw). */
function isSpec(s: unknown): s is WeightSpec {
  if (typeof s !== 'object' || s === null) return false;
  const { name, shape } = s as { name?: unknown; shape?: unknown };
  return typeof name === 'string' && Array.isArray(shape) && shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0);
}

/**
 * Number of values a list of specs describes.
 *
 * @param specs - weight specs
 * @returns the sum over specs of the product of each shape
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when `specs` is not an array of `{name, shape}` with
 *   integer dimensions ≥ 0, describes more values than an array can hold, or reading it throws (a getter or Proxy)
 */
export function specsSize(specs: readonly WeightSpec[]): number {
  return guarded('specsSize', () => {
    if (!Array.isArray(specs)) invalid(`specsSize: specs must be an array of {name, shape}, got ${describeValue(specs)}.`);
    specs.forEach((s, i) => {
      if (!isSpec(s)) invalid(`specsSize: spec ${i} is not {name: string, shape: integers ≥ 0}.`);
    });
    const n = countOf(specs);
    if (!Number.isSafeInteger(n)) invalid(`specsSize: the specs describe ${n} values, more than an array can hold.`);
    return n;
  });
}

/**
 * Whether two spec lists describe the same weights: same length, and the same name and shape at every position.
 * Anything that is not a list of well-formed specs (a coordinator's answer may hold anything) equals nothing.
 *
 * @param a - first spec list
 * @param b - second spec list
 * @returns true when they match exactly
 */
export function specsEqual(a: readonly WeightSpec[], b: readonly WeightSpec[]): boolean {
  try {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((s, i) => isSpec(s) && isSpec(b[i]) && firstDifference(s, b[i]) === undefined);
  } catch {
    return false; // a throwing getter or Proxy trap: not a list of well-formed specs
  }
}

function firstDifference(a: WeightSpec, b: WeightSpec): string | undefined {
  if (a.name !== b.name) return `name '${a.name}' vs '${b.name}'`;
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    return `'${a.name}' has shape [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`;
  }
  return undefined;
}

/** Describes where two spec lists part, for error messages; undefined when equal. */
function describeMismatch(got: readonly WeightSpec[], want: readonly WeightSpec[]): string | undefined {
  if (got.length !== want.length) return `${got.length} weight tensor(s) vs ${want.length} expected`;
  for (let i = 0; i < got.length; i++) {
    if (!isSpec(got[i]) || !isSpec(want[i])) return `tensor ${i} is not {name: string, shape: integers ≥ 0}`;
    const d = firstDifference(got[i]!, want[i]!);
    if (d !== undefined) return `tensor ${i}: ${d}`;
  }
  return undefined;
}

/**
 * The weight specs of a model, in `model.getWeights()` order. Names are the layer-scoped names without tfjs's
 * per-process uniqueness suffix, so two copies of a model built by the same builder (with named layers, as every
 * Lepton builder does) have equal specs, in one process or in two.
 *
 * @param model - a tfjs-layers model
 * @returns one spec per weight tensor (trainable and non-trainable, e.g. batch-norm moving statistics)
 */
export function weightSpecs(model: tf.LayersModel): WeightSpec[] {
  checkModel(model, 'weightSpecs');
  return model.weights.map((w) => ({ name: w.originalName, shape: w.shape.map((d) => d ?? 0) }));
}

/**
 * Reads all of a model's weights into one flat {@link WeightSet}.
 *
 * Asynchronous: the values are read back with `data()`, because a synchronous read of a GPU tensor throws on
 * `webgpu` in Node and stalls the GPU queue on every GPU backend.
 *
 * @param model - a tfjs-layers model
 * @returns specs and a copy of the values (changing it does not change the model)
 * @example
 * ```ts
 * import { buildMlp } from '@lepton/core';
 * import { readWeights } from '@lepton/federated';
 * const set = await readWeights(buildMlp({ inputDim: 4, hiddenUnits: [8], seed: 1 }));
 * console.log(set.values.length); // 4·8 + 8 + 8·1 + 1 = 49
 * ```
 */
export async function readWeights(model: tf.LayersModel): Promise<WeightSet> {
  checkModel(model, 'readWeights');
  const specs = weightSpecs(model);
  const values = new Float32Array(countOf(specs));
  // getWeights() returns the variables' own tensors, not copies: read them, never dispose them. Every read starts
  // before the first await, so the set is one snapshot even if a training step runs while the reads complete.
  const contents = await Promise.all(model.getWeights().map((t) => t.data()));
  let offset = 0;
  for (const data of contents) {
    values.set(data, offset);
    offset += data.length;
  }
  return { specs, values };
}

/**
 * Writes a flat {@link WeightSet} into a model.
 *
 * @param model - the model to overwrite
 * @param set - weights with the model's own specs (see {@link weightSpecs})
 * @throws {@link @lepton/core!LeptonError} `SHAPE_MISMATCH` when the specs differ from the model's or the value count is wrong;
 *   `INVALID_ARGUMENT` for a model or set of the wrong type; `INVALID_INPUT` for NaN or infinite values (a model holding
 *   them predicts NaN), before anything is written
 */
export function writeWeights(model: tf.LayersModel, set: WeightSet): void {
  checkModel(model, 'writeWeights');
  checkWeightSet(set, 'writeWeights');
  const specs = weightSpecs(model);
  const mismatch = describeMismatch(set.specs, specs);
  if (mismatch !== undefined) {
    throw new LeptonError(
      'SHAPE_MISMATCH',
      `writeWeights: the weight set does not fit model ${describeValue(model.name, 64)} (${mismatch}). Build the model with the same builder and options (and named layers) on every side.`,
      { details: { mismatch } },
    );
  }
  const n = countOf(specs);
  if (set.values.length !== n) {
    throw new LeptonError('SHAPE_MISMATCH', `writeWeights: the specs describe ${n} values but ${set.values.length} were given.`, {
      details: { expected: n, got: set.values.length },
    });
  }
  const bad = firstNonFinite(set.values);
  if (bad >= 0) {
    throw new LeptonError('INVALID_INPUT', `writeWeights: value ${bad} is ${set.values[bad]}; a model cannot hold NaN or infinite weights. Nothing was written.`, {
      details: { index: bad },
    });
  }
  const dtypes = model.weights.map((w) => w.dtype);
  let offset = 0;
  const tensors = specs.map((s, i) => {
    const size = s.shape.reduce((a, b) => a * b, 1);
    const t = tf.tensor(set.values.subarray(offset, offset + size), s.shape, 'float32');
    offset += size;
    if (dtypes[i] === 'float32') return t;
    const cast = tf.cast(t, dtypes[i]!);
    t.dispose();
    return cast;
  });
  try {
    model.setWeights(tensors);
  } finally {
    tf.dispose(tensors);
  }
}

function validateSpecs(specs: readonly WeightSpec[], fail: (m: string) => never): void {
  if (!Array.isArray(specs as unknown)) fail(`the specs are not an array (${describeValue(specs)})`);
  specs.forEach((s, i) => {
    if (typeof s !== 'object' || s === null || typeof s.name !== 'string' || !Array.isArray(s.shape)) {
      fail(`spec ${i} is not {name: string, shape: number[]}`);
    }
    // Safe integers only, as specsSize and isSpec: 2^60 is an "integer" to Number.isInteger, but not a dimension.
    if (!s.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`spec ${i} ('${s.name.slice(0, 64)}') has an invalid shape (dimensions must be safe integers ≥ 0)`);
  });
}

/** Index of the first NaN or infinite value, or -1. */
function firstNonFinite(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return i;
  return -1;
}

/** @internal Refuses anything but `{specs: array, values: Float32Array}` (the values' count is checked by the caller). */
export function checkWeightSet(set: unknown, what: string): asserts set is WeightSet {
  const s = set as { specs?: unknown; values?: unknown } | null;
  if (typeof s !== 'object' || s === null || !Array.isArray(s.specs) || !(s.values instanceof Float32Array)) {
    invalid(`${what}: the weights must be a WeightSet {specs, values: Float32Array}, got ${describeValue(set)}.`);
  }
}

/** @internal Checks a weight set the caller will trust as a model: well-formed specs, the right count, finite values. */
export function checkUsableWeights(set: unknown, what: string): asserts set is WeightSet {
  checkWeightSet(set, what);
  validateSpecs(set.specs, (m) => invalid(`${what}: ${m}.`));
  const n = countOf(set.specs);
  if (n !== set.values.length) invalid(`${what}: the specs describe ${n} values but ${set.values.length} were given.`);
  const bad = firstNonFinite(set.values);
  if (bad >= 0) throw new LeptonError('INVALID_INPUT', `${what}: value ${bad} is ${set.values[bad]}; NaN and infinite weights cannot be used.`, { details: { index: bad } });
}

/**
 * Runs `f`, turning anything but a {@link @lepton/core!LeptonError} it throws (a caller's getter or Proxy trap that throws a
 * RangeError, a string, anything) into `INVALID_ARGUMENT` naming `what`. The thrown value's message is not quoted: it is
 * the caller's code, not ours, and may be anything.
 */
function guarded<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof LeptonError) throw err;
    const name = err instanceof Error ? err.name : typeof err;
    throw new LeptonError('INVALID_ARGUMENT', `${what}: reading the arguments threw (${name.slice(0, 40)}); pass plain data (no throwing getters or proxies).`, {
      cause: err,
    });
  }
}

/**
 * Where `meta` holds a value JSON cannot carry faithfully — NaN or ±Infinity (JSON.stringify writes null), a function,
 * `undefined` or a Symbol (dropped), a BigInt (throws), an array hole — as a path like `meta.x.y`, or undefined.
 * Iterative; the caller has already bounded depth and size with {@link jsonShapeProblem}.
 */
function metaProblem(meta: object): string | undefined {
  const stack: [unknown, string][] = [[meta, 'meta']];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (v === null || typeof v === 'string' || typeof v === 'boolean') continue;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return `${path} (${String(v)})`;
      continue;
    }
    if (typeof v !== 'object') return `${path} (of type ${typeof v})`;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        if (!(i in v)) return `${path}[${i}] (an array hole)`;
        stack.push([v[i], `${path}[${i}]`]);
      }
    } else {
      for (const [k, child] of Object.entries(v)) stack.push([child, `${path}.${k.slice(0, 64)}`]);
    }
  }
  return undefined;
}

function encode(dtype: WeightDtype, specs: readonly WeightSpec[], raw: Float32Array | Uint32Array, meta: Record<string, unknown>): Uint8Array {
  const bad = (m: string): never => {
    throw new LeptonError('INVALID_ARGUMENT', `encode: ${m}.`);
  };
  validateSpecs(specs, bad);
  if (!(dtype === 'float32' ? raw instanceof Float32Array : raw instanceof Uint32Array)) {
    bad(`the values must be a ${dtype === 'float32' ? 'Float32Array' : 'Uint32Array'}, got ${describeValue(raw)}`);
  }
  const count = countOf(specs);
  if (!Number.isSafeInteger(count)) bad(`the specs describe ${count} values, more than an array can hold`);
  if (raw.length !== count) bad(`the specs describe ${count} values but ${raw.length} were given`);
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) bad('meta must be a plain object');
  const shape = jsonShapeProblem(meta, MAX_META_DEPTH, 4096);
  if (shape !== undefined) bad(`meta is ${shape}`);
  // JSON.stringify would silently write NaN as null and drop functions: refuse what would not decode as it was given.
  const unfaithful = metaProblem(meta);
  if (unfaithful !== undefined) bad(`${unfaithful} cannot be written as JSON faithfully; meta holds strings, finite numbers, booleans, null, arrays and objects`);
  if (dtype === 'float32') {
    // decodeWeights refuses NaN and infinite floats: never write a payload our own decoder refuses.
    const nonFinite = firstNonFinite(raw);
    if (nonFinite >= 0) {
      throw new LeptonError('INVALID_INPUT', `encode: value ${nonFinite} is ${raw[nonFinite]}; NaN and infinite weights cannot be sent (the receiver refuses them).`, {
        details: { index: nonFinite },
      });
    }
  }
  let json = '';
  try {
    json = JSON.stringify({ specs: specs.map((s) => ({ name: s.name, shape: [...s.shape] })), dtype, count, meta });
  } catch (err) {
    // A BigInt, or a toJSON that throws, in the caller's meta: JSON.stringify throws a TypeError (or anything).
    bad(`meta cannot be written as JSON (${err instanceof Error ? err.message : describeValue(err)})`);
  }
  const header = new TextEncoder().encode(json);
  const start = Math.ceil((8 + header.length) / 4) * 4;
  const out = new Uint8Array(start + count * 4);
  out.set(MAGIC_BYTES, 0);
  new DataView(out.buffer).setUint32(4, header.length, true);
  out.set(header, 8);
  if (LITTLE_ENDIAN_HOST) {
    out.set(new Uint8Array(raw.buffer, raw.byteOffset, count * 4), start);
  } else {
    const view = new DataView(out.buffer, start);
    for (let i = 0; i < count; i++) {
      if (dtype === 'float32') view.setFloat32(i * 4, raw[i]!, true);
      else view.setUint32(i * 4, raw[i]!, true);
    }
  }
  return out;
}

/**
 * Encodes a weight set (weights or a delta) in Lepton's binary wire format — never JSON floats, which lose bits and
 * triple the size. Layout: the ASCII magic `LPW1`; a little-endian u32 header length; a UTF-8 JSON header
 * `{specs, dtype: 'float32', count, meta}`; zero padding to a multiple of 4 bytes; `count` little-endian float32 values.
 *
 * @param set - specs and values
 * @param meta - JSON-serialisable metadata carried in the header (round, partner id, samples …)
 * @returns the payload
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when the value count does not match the specs, `meta` is not a
 *   plain object nested at most {@link MAX_META_DEPTH} deep, `meta` holds a value JSON cannot carry faithfully (NaN,
 *   ±Infinity, a function, undefined, a BigInt, a Symbol, an array hole), or reading `set` or `meta` throws (a getter
 *   or Proxy); `INVALID_INPUT` for NaN or infinite values (which {@link decodeWeights} would refuse)
 * @example
 * ```ts
 * import { decodeWeights, encodeWeights } from '@lepton/federated';
 * const bytes = encodeWeights({ specs: [{ name: 'w', shape: [2] }], values: new Float32Array([1, 2]) }, { round: 3 });
 * console.log(decodeWeights(bytes).meta); // { round: 3 }
 * ```
 */
export function encodeWeights(set: WeightSet, meta: Record<string, unknown> = {}): Uint8Array {
  if (typeof set !== 'object' || set === null) invalid(`encode: the weights must be a WeightSet {specs, values}, got ${describeValue(set)}.`);
  return guarded('encodeWeights', () => encode('float32', set.specs, set.values, meta));
}

/**
 * Encodes secure-aggregation words (see `maskUpdate`) in the same wire format as {@link encodeWeights}, with
 * `dtype: 'uint32'`.
 *
 * @param values - masked words, one per weight value
 * @param specs - the specs of the weights they mask
 * @param meta - JSON-serialisable metadata carried in the header
 * @returns the payload
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when the value count does not match the specs, `meta` is not a
 *   plain object nested at most {@link MAX_META_DEPTH} deep or holds a value JSON cannot carry faithfully, or reading the
 *   arguments throws (a getter or Proxy)
 */
export function encodeMasked(values: Uint32Array, specs: readonly WeightSpec[], meta: Record<string, unknown> = {}): Uint8Array {
  return guarded('encodeMasked', () => encode('uint32', specs, values, meta));
}

/**
 * Decodes and validates a payload made by {@link encodeWeights} or {@link encodeMasked}. Everything is checked before
 * a value is trusted: magic, header length, header JSON and its fields, zero padding, the exact total length, finite
 * floats, and (when `expect` is given) the specs.
 *
 * @param bytes - the payload (any alignment)
 * @param expect - when given, the specs the payload must carry (e.g. the global model's)
 * @returns specs, dtype, values (copied, aligned) and metadata
 * @throws {@link @lepton/core!LeptonError} `FEDERATED_BAD_UPDATE` naming the problem: truncated, wrong magic, garbled header,
 *   wrong length, NaN or infinite values, or specs that differ from `expect`
 */
export function decodeWeights(bytes: Uint8Array, expect?: readonly WeightSpec[]): DecodedPayload {
  const fail = (m: string, details: Record<string, unknown> = {}): never => {
    throw new LeptonError('FEDERATED_BAD_UPDATE', `Bad weights payload: ${m}. Discard this update and ask the sender to resend it.`, {
      details: { problem: m, ...details },
    });
  };
  if (expect !== undefined && !Array.isArray(expect)) invalid(`decodeWeights: expect must be an array of weight specs, got ${describeValue(expect)}.`);
  if (!(bytes instanceof Uint8Array)) fail('not a byte array');
  if (bytes.length < 8) fail(`truncated: ${bytes.length} byte(s), fewer than the 8-byte preamble`);
  for (let i = 0; i < 4; i++) if (bytes[i] !== MAGIC_BYTES[i]) fail(`wrong magic (expected '${WEIGHTS_MAGIC}')`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(4, true);
  if (8 + headerLength > bytes.length) fail(`truncated: the header claims ${headerLength} byte(s) but only ${bytes.length - 8} follow`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (err) {
    fail(`garbled header (${err instanceof Error ? err.message : String(err)})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('garbled header (not a JSON object)');
  const h = header as Record<string, unknown>;
  if (h['dtype'] !== 'float32' && h['dtype'] !== 'uint32') fail(`garbled header (dtype ${describeValue(h['dtype'])})`);
  const dtype = h['dtype'] as WeightDtype;
  if (!Array.isArray(h['specs'])) fail('garbled header (specs missing)');
  const specs = h['specs'] as WeightSpec[];
  validateSpecs(specs, (m) => fail(`garbled header (${m})`));
  const meta = h['meta'] ?? {};
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) fail('garbled header (meta is not an object)');
  const shape = jsonShapeProblem(meta, MAX_META_DEPTH, 4096);
  if (shape !== undefined) fail(`garbled header (meta ${shape})`);
  const metaBytes = Buffer.byteLength(JSON.stringify(meta), 'utf8');
  if (metaBytes > MAX_META_BYTES) fail(`garbled header (meta is ${metaBytes} bytes, more than ${MAX_META_BYTES})`);
  const count = countOf(specs);
  if (!Number.isSafeInteger(count)) fail(`garbled header (the specs describe ${count} values, more than an array can hold)`);
  if (h['count'] !== count) fail(`garbled header (count ${describeValue(h['count'])} but the specs describe ${count} values)`);
  const start = Math.ceil((8 + headerLength) / 4) * 4;
  for (let i = 8 + headerLength; i < Math.min(start, bytes.length); i++) if (bytes[i] !== 0) fail('garbled padding');
  const expected = start + count * 4;
  if (bytes.length !== expected) {
    fail(`wrong length: ${bytes.length} byte(s), expected ${expected} for ${count} values`, { expected, got: bytes.length });
  }
  if (expect !== undefined) {
    const mismatch = describeMismatch(specs, expect);
    if (mismatch !== undefined) fail(`weight specs differ from the model's (${mismatch})`, { mismatch });
  }
  const values = dtype === 'float32' ? new Float32Array(count) : new Uint32Array(count);
  if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(values.buffer).set(bytes.subarray(start, expected));
  } else {
    for (let i = 0; i < count; i++) {
      values[i] = dtype === 'float32' ? view.getFloat32(start + i * 4, true) : view.getUint32(start + i * 4, true);
    }
  }
  if (dtype === 'float32') {
    let bad = 0;
    for (let i = 0; i < count; i++) if (!Number.isFinite(values[i]!)) bad++;
    if (bad > 0) fail(`${bad} NaN or infinite value(s)`, { nonFinite: bad });
  }
  return { specs: specs.map((s) => ({ name: s.name, shape: [...s.shape] })), dtype, values, meta: meta as Record<string, unknown> };
}
