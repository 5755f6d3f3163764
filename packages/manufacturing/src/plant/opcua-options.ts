import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { LeptonError } from '@lepton/core';
import { createHash } from 'node:crypto';
import { each, integer, invalid, readFields } from '../internal/guards.js';
import type { LineEvent, LineItem } from '../monitoring/line-monitor.js';
import { MAX_ID_LENGTH } from '../telemetry/record.js';

/** One OPC UA node to monitor and where its values go. */
export interface OpcUaNodeMapping {
  /** The node id, e.g. `ns=2;s=Press1.Pressure` or `ns=3;i=1001`. */
  nodeId: string;
  /** The asset its values belong to. */
  asset: string;
  /** The signal (one of the monitor's signals). */
  signal: string;
}

/** OPC UA message security: `SignAndEncrypt` (default), `Sign`, or `None` (a lab, a loopback test). */
export type OpcUaSecurityMode = 'None' | 'Sign' | 'SignAndEncrypt';

/** OPC UA security policy. Default `Basic256Sha256` (`None` when the mode is `None`). */
export type OpcUaSecurityPolicy = 'None' | 'Basic256Sha256' | 'Aes128_Sha256_RsaOaep' | 'Aes256_Sha256_RsaPss';

/** The OPC UA user: a user name and password, or an X.509 user certificate (PEM files). Anonymous when absent. */
export type OpcUaUser =
  | {
      /** User name. */
      userName: string;
      /** Password (never logged). */
      password: string;
    }
  | {
      /** The user certificate, a PEM or DER file. */
      certificateFile: string;
      /** Its private key, a PEM file. */
      privateKeyFile: string;
    };

/** Options of {@link OpcUaSource.start}. */
export interface OpcUaSourceOptions {
  /** The server's endpoint, `opc.tcp://host:port/path`. */
  endpointUrl: string;
  /** Nodes to monitor (1 to 10,000), each mapped to an asset and a signal; node ids unique. */
  nodes: readonly OpcUaNodeMapping[];
  /** Where samples go: a {@link LineMonitor} or a {@link LineStatus} (anything with `push(item)`). */
  target: {
    /** Takes one sample (or a rejection), as {@link LineMonitor.push} does. */
    push(item: LineItem): Promise<LineEvent[]> | Promise<unknown>;
  };
  /** Message security mode. Default `SignAndEncrypt`. */
  securityMode?: OpcUaSecurityMode;
  /** Security policy. Default `Basic256Sha256`, or `None` with `securityMode: 'None'`. */
  securityPolicy?: OpcUaSecurityPolicy;
  /** The user; anonymous when absent. */
  user?: OpcUaUser;
  /** The client's PKI folder (`own/`, `trusted/`, `rejected/` …), created if missing; it must be a folder this process can read and write (checked up front: `INVALID_ARGUMENT`). node-opcua's per-user default otherwise. */
  pkiFolder?: string;
  /** The client's application certificate (PEM), an existing file; without it one is created in `pkiFolder`. */
  certificateFile?: string;
  /** Its private key (PEM), an existing file. */
  privateKeyFile?: string;
  /**
   * Trust on first use: while `<pkiFolder>/trusted/certs` holds no certificate yet, the first server certificate seen
   * is trusted and pinned there; from then on any other certificate is refused with `MFG_OPCUA_CONNECT` (the message
   * says the certificate changed: if the change is expected, move the new certificate from `<pkiFolder>/rejected` to
   * `<pkiFolder>/trusted/certs` and remove the old one, or empty `trusted/certs` to trust the next one on first use).
   * Default false: the server's certificate must already be in `<pkiFolder>/trusted/certs`.
   */
  acceptUnknownServerCertificate?: boolean;
  /**
   * Name of this source, the `source` label of its metrics: two sources on one endpoint need different names (a second
   * running source with the same endpoint and name is refused, `INVALID_ARGUMENT`). 1–64 characters `A–Z a–z 0–9 _ . : -`.
   * Default: `nodes-` and 8 hex digits of a hash of the node mapping (stable across restarts, different for different
   * node sets).
   */
  name?: string;
  /**
   * Largest OPC UA message the client takes from the server, bytes. It is announced in the HEL message, and a
   * conforming server reports a larger value as `BadResponseTooLarge` (a `bad` sample) instead of sending it; a server
   * that sends a larger message anyway has its connection dropped while the message is still arriving, before it is
   * decoded (`stats().messagesTooLarge`, `onError` with `MFG_OPCUA_CONNECT`; the client reconnects). Telemetry values
   * are a few bytes each. Default 4 MiB (4,194,304); 65,536 to 268,435,456.
   */
  maxMessageBytes?: number;
  /** Server-side sampling interval per node, ms (0 = as fast as the server samples). Default 1,000. */
  samplingIntervalMs?: number;
  /** Subscription publishing interval, ms. Default 1,000. */
  publishingIntervalMs?: number;
  /** Server-side queue per monitored item (values kept between publishes). Default 10. */
  queueSize?: number;
  /** Deadline to connect, open the session and subscribe, ms. Default 10,000. */
  connectTimeoutMs?: number;
  /** First wait before reconnecting, ms (doubles up to `maxReconnectDelayMs`). Default 500. */
  reconnectDelayMs?: number;
  /** Longest wait between reconnection attempts, ms. Default 10,000. */
  maxReconnectDelayMs?: number;
  /** Samples waiting for the target at most; more are dropped and counted (`overflow`). Default 100,000. */
  maxPending?: number;
  /** Called with typed warnings (node ids the server refused, a message over `maxMessageBytes`); the source goes on. */
  onError?: (error: LeptonError) => void;
  /** How to load node-opcua (a bundler, a test). Default `() => import('node-opcua')`. */
  load?: () => Promise<unknown>;
}

/** @internal */
export interface ResolvedOpcUa {
  endpointUrl: string;
  shownEndpoint: string;
  nodes: OpcUaNodeMapping[];
  target: OpcUaSourceOptions['target'];
  securityMode: OpcUaSecurityMode;
  securityPolicy: OpcUaSecurityPolicy;
  user: OpcUaUser | undefined;
  pkiFolder: string | undefined;
  certificateFile: string | undefined;
  privateKeyFile: string | undefined;
  acceptUnknownServerCertificate: boolean;
  name: string;
  maxMessageBytes: number;
  samplingIntervalMs: number;
  publishingIntervalMs: number;
  queueSize: number;
  connectTimeoutMs: number;
  reconnectDelayMs: number;
  maxReconnectDelayMs: number;
  maxPending: number;
  onError: ((e: LeptonError) => void) | undefined;
  load: () => Promise<unknown>;
}

const MODES: readonly string[] = ['None', 'Sign', 'SignAndEncrypt'];
const POLICIES: readonly string[] = ['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss'];
const NODE_ID = /^(?:ns=(\d{1,5});)?([isgb])=(.+)$/s;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const NAME = /^[\w.:-]{1,64}$/;
const OPTION_KEYS = ['endpointUrl', 'nodes', 'target', 'securityMode', 'securityPolicy', 'user', 'pkiFolder', 'certificateFile', 'privateKeyFile', 'acceptUnknownServerCertificate', 'name', 'maxMessageBytes', 'samplingIntervalMs', 'publishingIntervalMs', 'queueSize', 'connectTimeoutMs', 'reconnectDelayMs', 'maxReconnectDelayMs', 'maxPending', 'onError', 'load'] as const;

/**
 * @internal Whether `id` is a node id the OPC UA binary encoding can carry: `ns=` 0–65535, `i=` 0–4294967295 (UInt32),
 * `g=` a GUID (8-4-4-4-12 hex digits), `b=` base64, `s=` any non-empty string.
 */
export function isNodeId(id: string): boolean {
  const m = NODE_ID.exec(id);
  if (!m) return false;
  if (m[1] !== undefined && Number(m[1]) > 65_535) return false;
  const v = m[3]!;
  switch (m[2]) {
    case 'i':
      return /^\d{1,10}$/.test(v) && Number(v) <= 0xffff_ffff;
    case 'g':
      return GUID.test(v);
    case 'b':
      return BASE64.test(v);
    default:
      return true;
  }
}

/**
 * @internal Validates {@link OpcUaSourceOptions}. Every option is read once (a getter that throws is `INVALID_ARGUMENT`
 * naming it).
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` naming the bad option
 */
export function resolveOpcUaOptions(options: OpcUaSourceOptions): ResolvedOpcUa {
  try {
    return resolve(options);
  } catch (err) {
    if (err instanceof LeptonError) throw err;
    // An exotic object the field-by-field reads did not catch (an index getter of `nodes`, a revoked proxy).
    throw new LeptonError('INVALID_ARGUMENT', 'OpcUaSource: options could not be read (a getter threw). Pass plain data.', { details: { field: 'options' } });
  }
}

function resolve(options: OpcUaSourceOptions): ResolvedOpcUa {
  const fn = 'OpcUaSource';
  if (typeof options !== 'object' || options === null) throw invalid(fn, 'options', 'an object', options, 'INVALID_ARGUMENT');
  const o = readFields(fn, 'options', options, OPTION_KEYS) as Partial<OpcUaSourceOptions>;
  let u: URL | undefined;
  try {
    u = typeof o.endpointUrl === 'string' ? new URL(o.endpointUrl) : undefined;
  } catch {
    u = undefined;
  }
  if (typeof o.endpointUrl !== 'string' || u?.protocol !== 'opc.tcp:' || u.hostname === '') throw invalid(fn, 'options.endpointUrl', 'an endpoint such as opc.tcp://127.0.0.1:4840', o.endpointUrl, 'INVALID_ARGUMENT');
  if (u.username || u.password) throw invalid(fn, 'options.endpointUrl', 'an endpoint without credentials (put them in options.user)', '(credentials)', 'INVALID_ARGUMENT');
  const list = o.nodes;
  let length: unknown;
  try {
    length = Array.isArray(list) ? list.length : undefined;
  } catch {
    length = undefined; // a revoked proxy
  }
  if (typeof length !== 'number' || length === 0 || length > 10_000) throw invalid(fn, 'options.nodes', 'a list of 1–10,000 { nodeId, asset, signal }', list, 'INVALID_ARGUMENT');
  const seen = new Set<string>();
  const nodes: OpcUaNodeMapping[] = [];
  // An index loop (not map/forEach): a hole in a sparse array is an error here, not an undefined item for node-opcua.
  each(list as readonly OpcUaNodeMapping[], (_, i) => {
    const at = `options.nodes[${i}]`;
    let raw: unknown;
    try {
      raw = (list as readonly unknown[])[i];
    } catch {
      raw = undefined;
    }
    if (typeof raw !== 'object' || raw === null) throw invalid(fn, at, 'an object { nodeId, asset, signal }', raw, 'INVALID_ARGUMENT');
    const n = readFields(fn, at, raw, ['nodeId', 'asset', 'signal'] as const);
    if (typeof n.nodeId !== 'string' || n.nodeId.length > 4096 || !isNodeId(n.nodeId)) throw invalid(fn, `${at}.nodeId`, "a node id such as 'ns=2;s=Press1.Pressure' (ns ≤ 65535; i= an integer ≤ 4294967295; g= a GUID; b= base64)", n.nodeId, 'INVALID_ARGUMENT');
    if (seen.has(n.nodeId)) throw invalid(fn, `${at}.nodeId`, 'a node id not listed twice', n.nodeId, 'INVALID_ARGUMENT');
    seen.add(n.nodeId);
    for (const k of ['asset', 'signal'] as const) {
      const v = n[k];
      if (typeof v !== 'string' || v.trim().length === 0 || v.length > MAX_ID_LENGTH) throw invalid(fn, `${at}.${k}`, `a non-empty identifier of at most ${MAX_ID_LENGTH} characters`, v, 'INVALID_ARGUMENT');
    }
    nodes.push({ nodeId: n.nodeId, asset: n.asset as string, signal: n.signal as string });
  });
  const target = o.target;
  let push: unknown;
  try {
    push = typeof target === 'object' && target !== null ? target.push : undefined;
  } catch {
    push = undefined;
  }
  if (typeof push !== 'function') throw invalid(fn, 'options.target', 'a LineMonitor or LineStatus', target, 'INVALID_ARGUMENT');
  const securityMode = o.securityMode ?? 'SignAndEncrypt';
  if (!MODES.includes(securityMode)) throw invalid(fn, 'options.securityMode', `one of ${MODES.join(', ')}`, securityMode, 'INVALID_ARGUMENT');
  const securityPolicy = o.securityPolicy ?? (securityMode === 'None' ? 'None' : 'Basic256Sha256');
  if (!POLICIES.includes(securityPolicy)) throw invalid(fn, 'options.securityPolicy', `one of ${POLICIES.join(', ')}`, securityPolicy, 'INVALID_ARGUMENT');
  if ((securityMode === 'None') !== (securityPolicy === 'None')) throw invalid(fn, 'options.securityPolicy', "'None' exactly when securityMode is 'None'", securityPolicy, 'INVALID_ARGUMENT');
  let user: OpcUaUser | undefined;
  if (o.user !== undefined) {
    const bad = (): LeptonError => new LeptonError('INVALID_ARGUMENT', `${fn}: options.user must be { userName, password } or { certificateFile, privateKeyFile }, got (hidden). Repair it before calling ${fn}.`, { details: { field: 'options.user' } });
    if (typeof o.user !== 'object' || o.user === null) throw bad();
    const f = readFields(fn, 'options.user', o.user, ['userName', 'password', 'certificateFile', 'privateKeyFile'] as const);
    if (typeof f.userName === 'string' && f.userName.length > 0 && typeof f.password === 'string') user = { userName: f.userName, password: f.password };
    else if (f.userName === undefined && typeof f.certificateFile === 'string' && typeof f.privateKeyFile === 'string') user = { certificateFile: f.certificateFile, privateKeyFile: f.privateKeyFile };
    else throw bad();
    if ('certificateFile' in user) for (const file of [user.certificateFile, user.privateKeyFile]) if (!existsSync(file)) throw new LeptonError('INVALID_ARGUMENT', `${fn}: options.user names a certificate or key file that does not exist.`, { details: { field: 'options.user' } });
  }
  for (const k of ['pkiFolder', 'certificateFile', 'privateKeyFile'] as const) if (o[k] !== undefined && (typeof o[k] !== 'string' || o[k].length === 0)) throw invalid(fn, `options.${k}`, 'a path', o[k], 'INVALID_ARGUMENT');
  // node-opcua's certificate manager spins synchronously (the event loop frozen) on a folder it cannot use: check it here.
  if (o.pkiFolder !== undefined) {
    try {
      mkdirSync(o.pkiFolder, { recursive: true });
      if (!statSync(o.pkiFolder).isDirectory()) throw new Error('not a folder');
      accessSync(o.pkiFolder, constants.R_OK | constants.W_OK | constants.X_OK);
    } catch {
      throw new LeptonError('INVALID_ARGUMENT', `${fn}: options.pkiFolder must be a folder this process can create, read and write.`, { details: { field: 'options.pkiFolder' } });
    }
  }
  for (const k of ['certificateFile', 'privateKeyFile'] as const) {
    const file = o[k];
    if (file !== undefined && !existsSync(file)) throw new LeptonError('INVALID_ARGUMENT', `${fn}: options.${k} names a file that does not exist.`, { details: { field: `options.${k}` } });
  }
  if (o.acceptUnknownServerCertificate !== undefined && typeof o.acceptUnknownServerCertificate !== 'boolean') throw invalid(fn, 'options.acceptUnknownServerCertificate', 'a boolean', o.acceptUnknownServerCertificate, 'INVALID_ARGUMENT');
  if (o.name !== undefined && (typeof o.name !== 'string' || !NAME.test(o.name))) throw invalid(fn, 'options.name', '1–64 characters A–Z a–z 0–9 _ . : -', o.name, 'INVALID_ARGUMENT');
  const name = o.name ?? `nodes-${createHash('sha256').update(JSON.stringify(nodes.map((n) => [n.nodeId, n.asset, n.signal]))).digest('hex').slice(0, 8)}`;
  for (const k of ['onError', 'load'] as const) if (o[k] !== undefined && typeof o[k] !== 'function') throw invalid(fn, `options.${k}`, 'a function', o[k], 'INVALID_ARGUMENT');
  const reconnectDelayMs = integer(fn, 'options.reconnectDelayMs', o.reconnectDelayMs ?? 500, 10, 600_000);
  return {
    endpointUrl: o.endpointUrl,
    shownEndpoint: `opc.tcp://${u.host}${u.pathname === '/' ? '' : u.pathname}`,
    nodes,
    target: target as OpcUaSourceOptions['target'],
    securityMode: securityMode as OpcUaSecurityMode,
    securityPolicy: securityPolicy as OpcUaSecurityPolicy,
    user,
    pkiFolder: o.pkiFolder,
    certificateFile: o.certificateFile,
    privateKeyFile: o.privateKeyFile,
    acceptUnknownServerCertificate: o.acceptUnknownServerCertificate ?? false,
    name,
    maxMessageBytes: integer(fn, 'options.maxMessageBytes', o.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES, 65_536, 268_435_456),
    samplingIntervalMs: integer(fn, 'options.samplingIntervalMs', o.samplingIntervalMs ?? 1000, 0, 3_600_000),
    publishingIntervalMs: integer(fn, 'options.publishingIntervalMs', o.publishingIntervalMs ?? 1000, 10, 3_600_000),
    queueSize: integer(fn, 'options.queueSize', o.queueSize ?? 10, 1, 100_000),
    connectTimeoutMs: integer(fn, 'options.connectTimeoutMs', o.connectTimeoutMs ?? 10_000, 100, 600_000),
    reconnectDelayMs,
    maxReconnectDelayMs: integer(fn, 'options.maxReconnectDelayMs', o.maxReconnectDelayMs ?? Math.max(10_000, reconnectDelayMs), reconnectDelayMs, 3_600_000),
    maxPending: integer(fn, 'options.maxPending', o.maxPending ?? 100_000, 1),
    onError: o.onError,
    load: o.load ?? (() => import('node-opcua')),
  };
}

/** @internal Default largest OPC UA message taken from the server: 4 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** @internal The part of a node-opcua `DataValue` read here. */
export interface DataValueLike {
  value?: { dataType?: number; arrayType?: number; value?: unknown } | null;
  statusCode?: { value?: number } | null;
  sourceTimestamp?: Date | null;
  serverTimestamp?: Date | null;
}

/**
 * @internal A data change as a sample's value, quality and time, or why it cannot be one. Never throws: a server may
 * send anything.
 */
export function opcUaValue(dv: DataValueLike, types: { Int64: number; UInt64: number }): { kind: 'sample'; value: number; quality: 'good' | 'uncertain' | 'bad'; timestamp: number } | { kind: 'bad-value'; message: string } {
  const time = (d: unknown): number | undefined => (d instanceof Date && Number.isFinite(d.getTime()) && d.getTime() > 0 ? d.getTime() : undefined);
  const timestamp = time(dv?.sourceTimestamp) ?? time(dv?.serverTimestamp) ?? Date.now();
  // The top two bits of an OPC UA StatusCode: 00 Good, 01 Uncertain, 10/11 Bad.
  const severity = ((dv?.statusCode?.value ?? 0) >>> 30) & 3;
  const quality = severity === 0 ? 'good' : severity === 1 ? 'uncertain' : 'bad';
  if (quality === 'bad') return { kind: 'sample', value: Number.NaN, quality, timestamp };
  const variant = dv?.value;
  const raw = variant?.value;
  if ((variant?.arrayType ?? 0) !== 0) return { kind: 'bad-value', message: 'is an array, not a number' };
  let value: number | undefined;
  if (typeof raw === 'number') value = raw;
  else if (typeof raw === 'boolean') value = raw ? 1 : 0;
  else if (typeof raw === 'bigint') {
    if (raw > BigInt(Number.MAX_SAFE_INTEGER) || raw < -BigInt(Number.MAX_SAFE_INTEGER)) return { kind: 'bad-value', message: 'is an integer outside the exact range of a double (±2^53 − 1)' };
    value = Number(raw);
  }
  else if (Array.isArray(raw) && raw.length === 2 && (variant?.dataType === types.Int64 || variant?.dataType === types.UInt64) && raw.every((x) => typeof x === 'number')) {
    // node-opcua's 64-bit integers are [high, low] 32-bit words.
    const [hi, lo] = raw as [number, number];
    value = (variant.dataType === types.Int64 ? hi | 0 : hi >>> 0) * 2 ** 32 + (lo >>> 0);
    // Beyond 2^53 − 1 a double cannot hold every integer: refused rather than silently rounded.
    if (!Number.isSafeInteger(value)) return { kind: 'bad-value', message: 'is an integer outside the exact range of a double (±2^53 − 1)' };
  }
  if (value === undefined) return { kind: 'bad-value', message: `is ${raw === null || raw === undefined ? 'empty' : `a ${Array.isArray(raw) ? 'list' : typeof raw}`}, not a number` };
  if (value === Infinity || value === -Infinity) return { kind: 'bad-value', message: 'is infinite' };
  return { kind: 'sample', value, quality, timestamp };
}
