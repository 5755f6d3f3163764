import { LeptonError } from '@lepton/core';

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
  /** The value; null is sent as `is_null`. Integers as numbers (or bigint for 64-bit), DateTime as epoch ms. */
  value: number | bigint | boolean | string | null;
}

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

/** Protobuf writer for the handful of wire types Sparkplug B uses. */
class Writer {
  private readonly parts: Buffer[] = [];

  varint(v: bigint): this {
    const bytes: number[] = [];
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      bytes.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    bytes.push(Number(x));
    this.parts.push(Buffer.from(bytes));
    return this;
  }

  tag(field: number, wire: 0 | 1 | 2 | 5): this {
    return this.varint(BigInt((field << 3) | wire));
  }

  bytes(field: number, b: Buffer): this {
    this.tag(field, 2).varint(BigInt(b.length));
    this.parts.push(b);
    return this;
  }

  fixed(field: number, b: Buffer): this {
    this.tag(field, b.length === 4 ? 5 : 1);
    this.parts.push(b);
    return this;
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function bad(field: string, what: string): LeptonError {
  return new LeptonError('INVALID_INPUT', `encodeSparkplugPayload: ${field} ${what}.`, { details: { field } });
}

function uint64(field: string, v: unknown): bigint {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(field, 'must be a non-negative safe integer');
  return BigInt(v);
}

function encodeMetric(m: SparkplugMetric, at: string): Buffer {
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
  const range = RANGES[m.type];
  if (range) {
    if (!((typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint')) throw bad(`${at}.value`, `must be an integer for ${m.type}`);
    const big = BigInt(v);
    if (big < range[0] || big > range[1]) throw bad(`${at}.value`, `is out of the ${m.type} range`);
    // 8-, 16- and 32-bit types go in int_value (uint32; negative values as 32-bit two's complement), 64-bit in long_value.
    return (code === 4 || code === 8 || code === 13 ? w.tag(11, 0).varint(BigInt.asUintN(64, big)) : w.tag(10, 0).varint(BigInt.asUintN(32, big))).finish();
  }
  if (m.type === 'Float' || m.type === 'Double') {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`${at}.value`, 'must be a finite number');
    const b = Buffer.alloc(m.type === 'Float' ? 4 : 8);
    if (m.type === 'Float') b.writeFloatLE(v);
    else b.writeDoubleLE(v);
    return w.fixed(m.type === 'Float' ? 12 : 13, b).finish();
  }
  if (m.type === 'Boolean') {
    if (typeof v !== 'boolean') throw bad(`${at}.value`, 'must be a boolean');
    return w.tag(14, 0).varint(v ? 1n : 0n).finish();
  }
  if (typeof v !== 'string') throw bad(`${at}.value`, 'must be a string');
  return w.bytes(15, Buffer.from(v, 'utf8')).finish();
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

/** A metric as {@link decodeSparkplugPayload} reads it (the fields a command carries). */
export interface DecodedSparkplugMetric {
  /** Name, when sent. */
  name?: string;
  /** Alias, when sent. */
  alias?: number;
  /** Datatype number, when sent. */
  datatype?: number;
  /** The value: booleans, strings, numbers; 64-bit integers beyond 2^53 as bigint; null when `is_null`, absent or not finite. */
  value: number | bigint | boolean | string | null;
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

/** Reads protobuf fields within bounds, throwing a typed error on anything malformed. */
class Reader {
  pos = 0;
  constructor(private readonly b: Buffer) {}

  get done(): boolean {
    return this.pos >= this.b.length;
  }

  varint(): bigint {
    let x = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.b.length) throw decodeError('a varint runs past the end');
      const byte = this.b[this.pos++]!;
      x |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return BigInt.asUintN(64, x);
    }
    throw decodeError('a varint is longer than 10 bytes');
  }

  take(n: number): Buffer {
    if (n < 0 || this.pos + n > this.b.length) throw decodeError('a field runs past the end');
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

function decodeError(what: string): LeptonError {
  return new LeptonError('MFG_SPARKPLUG_DECODE', `Not a Sparkplug B payload: ${what}.`);
}

const num = (x: bigint): number | bigint => (x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x);

/**
 * Decodes the parts of a Sparkplug B payload that an edge node acts on (NCMD/DCMD): the timestamp, seq and each
 * metric's name, alias, datatype and scalar value. Templates, datasets, properties and metadata are skipped. Bounded:
 * it reads only the given bytes and allocates no more than they hold.
 *
 * @param bytes - the MQTT payload
 * @returns timestamp and seq when present, and the metrics
 * @throws {@link @lepton/core!LeptonError} `MFG_SPARKPLUG_DECODE` for malformed protobuf
 */
export function decodeSparkplugPayload(bytes: Uint8Array): DecodedSparkplugPayload {
  if (!(bytes instanceof Uint8Array)) throw decodeError('the payload is not bytes');
  const r = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const out: DecodedSparkplugPayload = { metrics: [] };
  while (!r.done) {
    const f = readField(r);
    if (f.field === 1 && f.int !== undefined) out.timestamp = num(f.int);
    else if (f.field === 3 && f.int !== undefined) out.seq = num(f.int);
    else if (f.field === 2 && f.bytes) out.metrics.push(decodeMetric(f.bytes));
  }
  return out;
}

function readField(r: Reader): { field: number; wire: number; int?: bigint; bytes?: Buffer } {
  const key = r.varint();
  const field = Number(key >> 3n);
  const wire = Number(key & 7n);
  if (field === 0) throw decodeError('field number 0');
  if (wire === 0) return { field, wire, int: r.varint() };
  if (wire === 1) return { field, wire, bytes: r.take(8) };
  if (wire === 5) return { field, wire, bytes: r.take(4) };
  if (wire === 2) {
    const n = r.varint();
    if (n > 0x7fffffffn) throw decodeError('a length is too large');
    return { field, wire, bytes: r.take(Number(n)) };
  }
  throw decodeError(`wire type ${wire} is not used by Sparkplug B`);
}

function decodeMetric(b: Buffer): DecodedSparkplugMetric {
  const r = new Reader(b);
  const m: DecodedSparkplugMetric = { value: null };
  while (!r.done) {
    const f = readField(r);
    if (f.field === 1 && f.bytes) m.name = f.bytes.toString('utf8');
    else if (f.field === 2 && f.int !== undefined) m.alias = Number(BigInt.asUintN(53, f.int));
    else if (f.field === 4 && f.int !== undefined) m.datatype = Number(BigInt.asUintN(32, f.int));
    else if (f.field === 7 && f.int !== undefined && f.int !== 0n) m.value = null;
    else if (f.field === 10 && f.int !== undefined) m.value = Number(BigInt.asUintN(32, f.int));
    else if (f.field === 11 && f.int !== undefined) m.value = num(f.int);
    else if ((f.field === 12 || f.field === 13) && f.bytes) {
      // float_value is exactly 4 bytes, double_value exactly 8, whatever wire type carried them.
      if (f.bytes.length !== (f.field === 12 ? 4 : 8)) throw decodeError(`a ${f.field === 12 ? 'float' : 'double'} value is ${f.bytes.length} bytes`);
      const v = f.field === 12 ? f.bytes.readFloatLE(0) : f.bytes.readDoubleLE(0);
      m.value = Number.isFinite(v) ? v : null; // no NaN or Infinity leaves the decoder
    }
    else if (f.field === 14 && f.int !== undefined) m.value = f.int !== 0n;
    else if (f.field === 15 && f.bytes) m.value = f.bytes.toString('utf8');
  }
  return m;
}
