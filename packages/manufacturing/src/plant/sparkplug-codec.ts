import { LeptonError } from '@lepton/core';
import { decodeError, readField, Reader, Writer } from './sparkplug-wire.js';

/**
 * Sparkplug B metric datatypes (the `DataType` enum of `sparkplug_b.proto`, Sparkplug 3.0) that this encoder writes.
 * Values are the enum numbers on the wire.
 */
export const SparkplugDataType = {
  /** Signed 8-bit integer (`int_value`). */
  Int8: 1,
  /** Signed 16-bit integer (`int_value`). */
  Int16: 2,
  /** Signed 32-bit integer (`int_value`, two's complement). */
  Int32: 3,
  /** Signed 64-bit integer (`long_value`). */
  Int64: 4,
  /** Unsigned 8-bit integer (`int_value`). */
  UInt8: 5,
  /** Unsigned 16-bit integer (`int_value`). */
  UInt16: 6,
  /** Unsigned 32-bit integer (`int_value`). */
  UInt32: 7,
  /** Unsigned 64-bit integer (`long_value`). */
  UInt64: 8,
  /** 32-bit float (`float_value`). */
  Float: 9,
  /** 64-bit float (`double_value`). */
  Double: 10,
  /** Boolean (`boolean_value`). */
  Boolean: 11,
  /** UTF-8 string (`string_value`). */
  String: 12,
  /** Epoch milliseconds, UTC (`long_value`). */
  DateTime: 13,
  /** UTF-8 text (`string_value`). */
  Text: 14,
  /** A template (UDT) definition or instance (`template_value`): the value is a {@link SparkplugTemplate}. */
  Template: 19,
} as const;

/** A {@link SparkplugDataType} name. */
export type SparkplugDataTypeName = keyof typeof SparkplugDataType;

/** One Sparkplug B metric. */
export interface SparkplugMetric {
  /** Metric name, `/`-separated folders, e.g. `Alarms/Active`. May be left out when `alias` is given (data messages). */
  name?: string;
  /** Alias (non-negative safe integer), declared with the name in a birth; data messages may then send it alone. */
  alias?: number;
  /** A value from the past, sent late (store-and-forward): `is_historical`. */
  historical?: boolean;
  /** When the value was taken, epoch ms. */
  timestamp: number;
  /** Its datatype. */
  type: SparkplugDataTypeName;
  /**
   * The value; null is sent as `is_null`. Integers as numbers (or bigint for 64-bit), DateTime as epoch ms; a
   * {@link SparkplugTemplate} for type `Template`.
   */
  value: SparkplugScalar | SparkplugTemplate | null;
}

/** A scalar metric or parameter value: integers as numbers (or bigint for 64-bit), DateTime as epoch ms. */
export type SparkplugScalar = number | bigint | boolean | string;

/** A template parameter (`Template.Parameter`): a name, a scalar datatype and its value. */
export interface SparkplugTemplateParameter {
  /** The parameter name. */
  name: string;
  /** Its datatype: any scalar {@link SparkplugDataTypeName} (not `Template`). */
  type: Exclude<SparkplugDataTypeName, 'Template'>;
  /** Its value, or null for none (the value field is then left out: a parameter has no `is_null`). */
  value: SparkplugScalar | null;
}

/**
 * A Sparkplug B template (UDT, `Payload.Template`), the value of a metric of type `Template`: a definition
 * (`isDefinition: true`, no `templateRef`; only in NBIRTH) or an instance (`isDefinition: false`, `templateRef` naming
 * its definition). Members are metrics; a member of type `Template` nests another template.
 */
export interface SparkplugTemplate {
  /** Version of the template (UTF-8), optional. */
  version?: string;
  /** Instances: the name of the definition (required); definitions: left out (the encoder refuses it). */
  templateRef?: string;
  /** Whether this is a definition; always sent, as Sparkplug 3.0 requires. */
  isDefinition: boolean;
  /** The members (each with a name); nested templates at most {@link SPARKPLUG_MAX_TEMPLATE_DEPTH} deep. */
  metrics: SparkplugMetric[];
  /** Parameters, if any. */
  parameters?: SparkplugTemplateParameter[];
}

/** How deep templates may nest (a template in a template …): deeper ones are refused by the encoder and the decoder. */
export const SPARKPLUG_MAX_TEMPLATE_DEPTH = 8;

/** A Sparkplug B payload. */
export interface SparkplugPayload {
  /** When the message was published, epoch ms. */
  timestamp: number;
  /** Sequence number 0–255; absent in NDEATH. */
  seq?: number;
  /** Metrics. */
  metrics: SparkplugMetric[];
}

const RANGES: Partial<Record<SparkplugDataTypeName, [bigint, bigint]>> = {
  Int8: [-128n, 127n],
  Int16: [-32768n, 32767n],
  Int32: [-(2n ** 31n), 2n ** 31n - 1n],
  Int64: [-(2n ** 63n), 2n ** 63n - 1n],
  UInt8: [0n, 255n],
  UInt16: [0n, 65535n],
  UInt32: [0n, 2n ** 32n - 1n],
  UInt64: [0n, 2n ** 64n - 1n],
  DateTime: [0n, 2n ** 64n - 1n],
};


function bad(field: string, what: string): LeptonError {
  return new LeptonError('INVALID_INPUT', `encodeSparkplugPayload: ${field} ${what}.`, { details: { field } });
}

function uint64(field: string, v: unknown): bigint {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(field, 'must be a non-negative safe integer');
  return BigInt(v);
}

function encodeMetric(m: SparkplugMetric, at: string, depth = 0): Buffer {
  if (typeof m !== 'object' || m === null) throw bad(at, 'must be a metric object');
  if (m.name !== undefined && (typeof m.name !== 'string' || m.name.length === 0)) throw bad(`${at}.name`, 'must be a non-empty string');
  if (m.alias !== undefined) uint64(`${at}.alias`, m.alias);
  if (m.name === undefined && m.alias === undefined) throw bad(`${at}.name`, 'must be given (or an alias)');
  // Own keys only: `type: 'constructor'` or `'toString'` must not read the prototype.
  const code = typeof m.type === 'string' && Object.hasOwn(SparkplugDataType, m.type) ? SparkplugDataType[m.type] : undefined;
  if (code === undefined) throw bad(`${at}.type`, `must be one of ${Object.keys(SparkplugDataType).join(', ')}`);
  const w = new Writer();
  if (m.name !== undefined) w.bytes(1, Buffer.from(m.name, 'utf8'));
  if (m.alias !== undefined) w.tag(2, 0).varint(BigInt(m.alias));
  w.tag(3, 0).varint(uint64(`${at}.timestamp`, m.timestamp));
  w.tag(4, 0).varint(BigInt(code));
  if (m.historical !== undefined && typeof m.historical !== 'boolean') throw bad(`${at}.historical`, 'must be a boolean');
  if (m.historical === true) w.tag(5, 0).varint(1n);
  const v = m.value;
  if (v === null) return w.tag(7, 0).varint(1n).finish();
  if (m.type === 'Template') return w.bytes(18, encodeTemplate(v, `${at}.value`, depth + 1)).finish();
  return scalarValue(w, m.type, v, at, METRIC_FIELDS).finish();
}

/** Largest finite float32 (FLT_MAX): a `Float` value beyond ±this does not fit its type. */
const FLOAT32_MAX = 3.4028234663852886e38;

/** Field numbers of a value oneof (Metric: 10–15, Template.Parameter: 3–8). */
type ValueFields = { int: number; long: number; float: number; double: number; bool: number; string: number };

function scalarValue(w: Writer, type: Exclude<SparkplugDataTypeName, 'Template'>, v: unknown, at: string, f: ValueFields): Writer {
  const code = SparkplugDataType[type];
  const range = RANGES[type];
  if (range) {
    if (!((typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint')) throw bad(`${at}.value`, `must be an integer for ${type}`);
    const big = BigInt(v);
    if (big < range[0] || big > range[1]) throw bad(`${at}.value`, `is out of the ${type} range`);
    // 8-, 16- and 32-bit types go in int_value (uint32; negative values as 32-bit two's complement), 64-bit in long_value.
    return code === 4 || code === 8 || code === 13 ? w.tag(f.long, 0).varint(BigInt.asUintN(64, big)) : w.tag(f.int, 0).varint(BigInt.asUintN(32, big));
  }
  if (type === 'Float' || type === 'Double') {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`${at}.value`, 'must be a finite number');
    // Beyond the float32 range writeFloatLE would put ±Infinity on the wire.
    if (type === 'Float' && Math.abs(v) > FLOAT32_MAX) throw bad(`${at}.value`, 'is out of the Float (32-bit) range');
    const b = Buffer.alloc(type === 'Float' ? 4 : 8);
    if (type === 'Float') b.writeFloatLE(v);
    else b.writeDoubleLE(v);
    return w.fixed(type === 'Float' ? f.float : f.double, b);
  }
  if (type === 'Boolean') {
    if (typeof v !== 'boolean') throw bad(`${at}.value`, 'must be a boolean');
    return w.tag(f.bool, 0).varint(v ? 1n : 0n);
  }
  if (typeof v !== 'string') throw bad(`${at}.value`, 'must be a string');
  return w.bytes(f.string, Buffer.from(v, 'utf8'));
}

/** `Payload.Template`: version (1), metrics (2), parameters (3), template_ref (4), is_definition (5, always sent). */
function encodeTemplate(t: unknown, at: string, depth: number): Buffer {
  if (depth > SPARKPLUG_MAX_TEMPLATE_DEPTH) throw bad(at, `nests templates deeper than ${SPARKPLUG_MAX_TEMPLATE_DEPTH}`);
  if (typeof t !== 'object' || t === null || Array.isArray(t)) throw bad(at, 'must be a template object for Template');
  const { version, templateRef, isDefinition, metrics, parameters } = t as Partial<SparkplugTemplate>;
  if (typeof isDefinition !== 'boolean') throw bad(`${at}.isDefinition`, 'must be a boolean');
  // Sparkplug 3.0: a definition MUST omit template_ref; an instance MUST name its definition.
  if (isDefinition && templateRef !== undefined) throw bad(`${at}.templateRef`, 'must be left out of a definition');
  if (!isDefinition && (typeof templateRef !== 'string' || templateRef.length === 0)) throw bad(`${at}.templateRef`, 'must name the definition of an instance');
  if (version !== undefined && typeof version !== 'string') throw bad(`${at}.version`, 'must be a string');
  if (!Array.isArray(metrics)) throw bad(`${at}.metrics`, 'must be an array');
  if (parameters !== undefined && !Array.isArray(parameters)) throw bad(`${at}.parameters`, 'must be an array');
  const w = new Writer();
  if (version !== undefined) w.bytes(1, Buffer.from(version, 'utf8'));
  metrics.forEach((m, i) => w.bytes(2, encodeMetric(m, `${at}.metrics[${i}]`, depth)));
  (parameters ?? []).forEach((p, i) => w.bytes(3, encodeParameter(p, `${at}.parameters[${i}]`)));
  if (templateRef !== undefined) w.bytes(4, Buffer.from(templateRef, 'utf8'));
  return w.tag(5, 0).varint(isDefinition ? 1n : 0n).finish();
}

/** `Template.Parameter`: name (1), type (2), then int/long/float/double/bool/string value (3–8) unless null. */
function encodeParameter(p: SparkplugTemplateParameter, at: string): Buffer {
  if (typeof p !== 'object' || p === null) throw bad(at, 'must be a parameter object');
  if (typeof p.name !== 'string' || p.name.length === 0) throw bad(`${at}.name`, 'must be a non-empty string');
  const type = p.type as string;
  if (typeof type !== 'string' || type === 'Template' || !Object.hasOwn(SparkplugDataType, type)) throw bad(`${at}.type`, 'must be a scalar datatype (not Template)');
  const w = new Writer().bytes(1, Buffer.from(p.name, 'utf8'));
  w.tag(2, 0).varint(BigInt(SparkplugDataType[p.type]));
  return (p.value === null ? w : scalarValue(w, p.type, p.value, at, PARAMETER_FIELDS)).finish();
}

/**
 * Encodes a Sparkplug B payload (`org.eclipse.tahu.protobuf.Payload`, Sparkplug 3.0) as protobuf bytes: the payload
 * timestamp (field 1), metrics (2: name and/or alias, timestamp, datatype, and `int_value` / `long_value` / `float_value` /
 * `double_value` / `boolean_value` / `string_value`, or `is_null`) and `seq` (3). Written here (a few dozen lines, no
 * protobuf runtime); the tests decode it with Eclipse Tahu's own decoder. `UInt32` goes in `int_value` as the 3.0
 * specification says; Tahu's JavaScript library (1.0.3) reads `UInt32` from `long_value`, so for portable counts use
 * `Int32` (or `UInt64`), as {@link SparkplugEdgeNode} does.
 *
 * @param payload - timestamp, seq (omit for NDEATH) and metrics
 * @returns the protobuf bytes
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` (`details.field`) for a timestamp that is not a non-negative
 *   safe integer, a seq outside 0–255, an unknown type, or a value that does not fit its type (NaN never goes out)
 * @example
 * ```ts
 * import { encodeSparkplugPayload } from '@lepton/manufacturing';
 * const bytes = encodeSparkplugPayload({ timestamp: Date.now(), seq: 0, metrics: [{ name: 'bdSeq', timestamp: Date.now(), type: 'UInt64', value: 0 }] });
 * console.log(bytes.length > 0); // true
 * ```
 */
export function encodeSparkplugPayload(payload: SparkplugPayload): Buffer {
  if (typeof payload !== 'object' || payload === null) throw bad('payload', 'must be an object');
  const w = new Writer().tag(1, 0).varint(uint64('timestamp', payload.timestamp));
  if (!Array.isArray(payload.metrics)) throw bad('metrics', 'must be an array');
  payload.metrics.forEach((m, i) => w.bytes(2, encodeMetric(m, `metrics[${i}]`)));
  if (payload.seq !== undefined) {
    if (!Number.isInteger(payload.seq) || payload.seq < 0 || payload.seq > 255) throw bad('seq', 'must be an integer from 0 to 255');
    w.tag(3, 0).varint(BigInt(payload.seq));
  }
  return w.finish();
}

/** A metric as {@link decodeSparkplugPayload} reads it. */
export interface DecodedSparkplugMetric {
  /** Name, when sent. */
  name?: string;
  /** Alias, when sent. */
  alias?: number;
  /** Datatype number, when sent. */
  datatype?: number;
  /**
   * The value: booleans, strings, numbers (signed for the Int types); 64-bit integers beyond 2^53 as bigint; a
   * {@link DecodedSparkplugTemplate} for a template; null when `is_null`, absent or not finite.
   */
  value: number | bigint | boolean | string | DecodedSparkplugTemplate | null;
}

/** A template parameter as {@link decodeSparkplugPayload} reads it. */
export interface DecodedSparkplugParameter {
  /** Name, when sent. */
  name?: string;
  /** Datatype number, when sent. */
  datatype?: number;
  /** The value, as for a metric; null when none was sent. */
  value: number | bigint | boolean | string | null;
}

/** A template (datatype 19) as {@link decodeSparkplugPayload} reads it. */
export interface DecodedSparkplugTemplate {
  /** Version, when sent. */
  version?: string;
  /** The definition an instance refers to, when sent. */
  templateRef?: string;
  /** Whether it is a definition, when sent. */
  isDefinition?: boolean;
  /** The members, in order. */
  metrics: DecodedSparkplugMetric[];
  /** The parameters, in order. */
  parameters: DecodedSparkplugParameter[];
}

/** What {@link decodeSparkplugPayload} reads from a payload. */
export interface DecodedSparkplugPayload {
  /** The payload timestamp, epoch ms, when sent. */
  timestamp?: number | bigint;
  /** The sequence number, when sent (commands have none). */
  seq?: number | bigint;
  /** The metrics, in order. */
  metrics: DecodedSparkplugMetric[];
}

const num = (x: bigint): number | bigint => (x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x);

/**
 * Decodes a Sparkplug B payload: the timestamp, seq and each metric's name, alias, datatype and value, templates
 * (version, template_ref, is_definition, members, parameters) included, nested at most
 * {@link SPARKPLUG_MAX_TEMPLATE_DEPTH} deep. Datasets, properties and metadata are skipped. It reads only the given
 * bytes (a length that runs past them is refused, never allocated), but it is not bounded in memory by their size:
 * every metric, template member and parameter becomes an object, and an empty metric takes 2 bytes, so the result can
 * take 30 to 40 times the payload's size in memory (about 70 MB for a 2 MB payload). Limit the size of an untrusted
 * payload before decoding it ({@link SparkplugEdgeNode} refuses commands over 64 KiB).
 *
 * @param bytes - the MQTT payload
 * @returns timestamp and seq when present, and the metrics
 * @throws {@link @lepton/core!LeptonError} `MFG_SPARKPLUG_DECODE` for malformed protobuf or templates nested too deep
 * @example
 * ```ts
 * import { decodeSparkplugPayload, encodeSparkplugPayload } from '@lepton/manufacturing';
 * const bytes = encodeSparkplugPayload({ timestamp: 1, metrics: [{ name: 'speed', timestamp: 1, type: 'Int16', value: -3 }] });
 * console.log(decodeSparkplugPayload(bytes).metrics[0]); // { name: 'speed', datatype: 2, value: -3 }
 * ```
 */
export function decodeSparkplugPayload(bytes: Uint8Array): DecodedSparkplugPayload {
  if (!(bytes instanceof Uint8Array)) throw decodeError('the payload is not bytes');
  const r = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const out: DecodedSparkplugPayload = { metrics: [] };
  while (!r.done) {
    const f = readField(r);
    if (f.field === 1 && f.int !== undefined) out.timestamp = num(f.int);
    else if (f.field === 3 && f.int !== undefined) out.seq = num(f.int);
    else if (f.field === 2 && f.bytes) out.metrics.push(decodeMetric(f.bytes, 0));
  }
  return out;
}

/** Field numbers of the value oneof: Metric (10–15) and Template.Parameter (3–8) share the layout. */
const METRIC_FIELDS = { int: 10, long: 11, float: 12, double: 13, bool: 14, string: 15 } as const;
const PARAMETER_FIELDS = { int: 3, long: 4, float: 5, double: 6, bool: 7, string: 8 } as const;

/** A scalar value field, or undefined when `f` is not one (raw integers: the datatype, read later, gives the sign). */
function scalarField(f: ReturnType<typeof readField>, at: typeof METRIC_FIELDS | typeof PARAMETER_FIELDS): { raw: bigint; bits: 32 | 64 } | number | boolean | string | null | undefined {
  if (f.field === at.int && f.int !== undefined) return { raw: BigInt.asUintN(32, f.int), bits: 32 };
  if (f.field === at.long && f.int !== undefined) return { raw: f.int, bits: 64 };
  if ((f.field === at.float || f.field === at.double) && f.bytes) {
    // float_value is exactly 4 bytes, double_value exactly 8, whatever wire type carried them.
    const float = f.field === at.float;
    if (f.bytes.length !== (float ? 4 : 8)) throw decodeError(`a ${float ? 'float' : 'double'} value is ${f.bytes.length} bytes`);
    const v = float ? f.bytes.readFloatLE(0) : f.bytes.readDoubleLE(0);
    return Number.isFinite(v) ? v : null; // no NaN or Infinity leaves the decoder
  }
  if (f.field === at.bool && f.int !== undefined) return f.int !== 0n;
  if (f.field === at.string && f.bytes) return f.bytes.toString('utf8');
  return undefined;
}

/** A raw integer as its datatype reads it: Int8/16/32/64 signed (two's complement), the rest unsigned. */
function integerOf(v: { raw: bigint; bits: 32 | 64 }, datatype: number | undefined): number | bigint {
  const signed = datatype === 1 || datatype === 2 || datatype === 3 || datatype === 4;
  return num(signed ? BigInt.asIntN(v.bits, v.raw) : v.raw) as number | bigint;
}

function decodeMetric(b: Buffer, depth: number): DecodedSparkplugMetric {
  const r = new Reader(b);
  const m: DecodedSparkplugMetric = { value: null };
  let value: ReturnType<typeof scalarField> | DecodedSparkplugTemplate = null;
  while (!r.done) {
    const f = readField(r);
    if (f.field === 1 && f.bytes) m.name = f.bytes.toString('utf8');
    else if (f.field === 2 && f.int !== undefined) {
      // an alias past 2^53 cannot be a JavaScript number exactly: refused, never wrapped onto another metric's alias
      if (f.int > BigInt(Number.MAX_SAFE_INTEGER)) throw decodeError(`metric alias ${f.int} is larger than 2^53 − 1`);
      m.alias = Number(f.int);
    }
    else if (f.field === 4 && f.int !== undefined) m.datatype = Number(BigInt.asUintN(32, f.int));
    else if (f.field === 7 && f.int !== undefined && f.int !== 0n) value = null;
    else if (f.field === 18 && f.bytes) value = decodeTemplate(f.bytes, depth + 1);
    else {
      const v = scalarField(f, METRIC_FIELDS);
      if (v !== undefined) value = v;
    }
  }
  m.value = value !== null && typeof value === 'object' && 'raw' in value ? integerOf(value, m.datatype) : (value ?? null);
  return m;
}

function decodeTemplate(b: Buffer, depth: number): DecodedSparkplugTemplate {
  if (depth > SPARKPLUG_MAX_TEMPLATE_DEPTH) throw decodeError(`templates nest deeper than ${SPARKPLUG_MAX_TEMPLATE_DEPTH}`);
  const r = new Reader(b);
  const t: DecodedSparkplugTemplate = { metrics: [], parameters: [] };
  while (!r.done) {
    const f = readField(r);
    if (f.field === 1 && f.bytes) t.version = f.bytes.toString('utf8');
    else if (f.field === 2 && f.bytes) t.metrics.push(decodeMetric(f.bytes, depth));
    else if (f.field === 3 && f.bytes) t.parameters.push(decodeParameter(f.bytes));
    else if (f.field === 4 && f.bytes) t.templateRef = f.bytes.toString('utf8');
    else if (f.field === 5 && f.int !== undefined) t.isDefinition = f.int !== 0n;
  }
  return t;
}

function decodeParameter(b: Buffer): DecodedSparkplugParameter {
  const r = new Reader(b);
  const p: DecodedSparkplugParameter = { value: null };
  let value: ReturnType<typeof scalarField> = null;
  while (!r.done) {
    const f = readField(r);
    if (f.field === 1 && f.bytes) p.name = f.bytes.toString('utf8');
    else if (f.field === 2 && f.int !== undefined) p.datatype = Number(BigInt.asUintN(32, f.int));
    else {
      const v = scalarField(f, PARAMETER_FIELDS);
      if (v !== undefined) value = v;
    }
  }
  p.value = value !== null && typeof value === 'object' ? integerOf(value, p.datatype) : value;
  return p;
}
