import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { LeptonError } from '@lepton/core';
import { integer, invalid } from '../internal/guards.js';
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
  /** Trust a server certificate that is not in `<pkiFolder>/trusted` (first-use trust). Default false. */
  acceptUnknownServerCertificate?: boolean;
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
  /** Called with typed warnings (node ids the server refused); the source goes on. */
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
const NODE_ID = /^(ns=\d{1,5};)?[isgb]=.+$/s;

/**
 * @internal Validates {@link OpcUaSourceOptions}.
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` naming the bad option
 */
export function resolveOpcUaOptions(o: OpcUaSourceOptions): ResolvedOpcUa {
  const fn = 'OpcUaSource';
  if (typeof o !== 'object' || o === null) throw invalid(fn, 'options', 'an object', o, 'INVALID_ARGUMENT');
  let u: URL | undefined;
  try {
    u = new URL(String(o.endpointUrl));
  } catch {
    u = undefined;
  }
  if (typeof o.endpointUrl !== 'string' || u?.protocol !== 'opc.tcp:' || u.hostname === '') throw invalid(fn, 'options.endpointUrl', 'an endpoint such as opc.tcp://127.0.0.1:4840', o.endpointUrl, 'INVALID_ARGUMENT');
  if (u.username || u.password) throw invalid(fn, 'options.endpointUrl', 'an endpoint without credentials (put them in options.user)', '(credentials)', 'INVALID_ARGUMENT');
  if (!Array.isArray(o.nodes) || o.nodes.length === 0 || o.nodes.length > 10_000) throw invalid(fn, 'options.nodes', 'a list of 1–10,000 { nodeId, asset, signal }', o.nodes, 'INVALID_ARGUMENT');
  const seen = new Set<string>();
  const nodes = o.nodes.map((n, i) => {
    const at = `options.nodes[${i}]`;
    if (typeof n !== 'object' || n === null) throw invalid(fn, at, 'an object { nodeId, asset, signal }', n, 'INVALID_ARGUMENT');
    if (typeof n.nodeId !== 'string' || n.nodeId.length > 4096 || !NODE_ID.test(n.nodeId)) throw invalid(fn, `${at}.nodeId`, "a node id such as 'ns=2;s=Press1.Pressure'", n.nodeId, 'INVALID_ARGUMENT');
    if (seen.has(n.nodeId)) throw invalid(fn, `${at}.nodeId`, 'a node id not listed twice', n.nodeId, 'INVALID_ARGUMENT');
    seen.add(n.nodeId);
    for (const k of ['asset', 'signal'] as const) {
      if (typeof n[k] !== 'string' || n[k].trim().length === 0 || n[k].length > MAX_ID_LENGTH) throw invalid(fn, `${at}.${k}`, `a non-empty identifier of at most ${MAX_ID_LENGTH} characters`, n[k], 'INVALID_ARGUMENT');
    }
    return { nodeId: n.nodeId, asset: n.asset, signal: n.signal };
  });
  if (typeof o.target !== 'object' || o.target === null || typeof o.target.push !== 'function') throw invalid(fn, 'options.target', 'a LineMonitor or LineStatus', o.target, 'INVALID_ARGUMENT');
  const securityMode = o.securityMode ?? 'SignAndEncrypt';
  if (!MODES.includes(securityMode)) throw invalid(fn, 'options.securityMode', `one of ${MODES.join(', ')}`, securityMode, 'INVALID_ARGUMENT');
  const securityPolicy = o.securityPolicy ?? (securityMode === 'None' ? 'None' : 'Basic256Sha256');
  if (!POLICIES.includes(securityPolicy)) throw invalid(fn, 'options.securityPolicy', `one of ${POLICIES.join(', ')}`, securityPolicy, 'INVALID_ARGUMENT');
  if ((securityMode === 'None') !== (securityPolicy === 'None')) throw invalid(fn, 'options.securityPolicy', "'None' exactly when securityMode is 'None'", securityPolicy, 'INVALID_ARGUMENT');
  const user = o.user;
  if (user !== undefined) {
    const ok =
      typeof user === 'object' &&
      user !== null &&
      (('userName' in user && typeof user.userName === 'string' && user.userName.length > 0 && typeof user.password === 'string') ||
        ('certificateFile' in user && typeof user.certificateFile === 'string' && typeof user.privateKeyFile === 'string'));
    if (!ok) throw invalid(fn, 'options.user', '{ userName, password } or { certificateFile, privateKeyFile }', '(hidden)', 'INVALID_ARGUMENT');
    if ('certificateFile' in user) for (const f of [user.certificateFile, user.privateKeyFile]) if (!existsSync(f)) throw new LeptonError('INVALID_ARGUMENT', `${fn}: options.user names a certificate or key file that does not exist.`, { details: { field: 'options.user' } });
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
    if (o[k] !== undefined && !existsSync(o[k])) throw new LeptonError('INVALID_ARGUMENT', `${fn}: options.${k} names a file that does not exist.`, { details: { field: `options.${k}` } });
  }
  if (o.acceptUnknownServerCertificate !== undefined && typeof o.acceptUnknownServerCertificate !== 'boolean') throw invalid(fn, 'options.acceptUnknownServerCertificate', 'a boolean', o.acceptUnknownServerCertificate, 'INVALID_ARGUMENT');
  for (const k of ['onError', 'load'] as const) if (o[k] !== undefined && typeof o[k] !== 'function') throw invalid(fn, `options.${k}`, 'a function', o[k], 'INVALID_ARGUMENT');
  const reconnectDelayMs = integer(fn, 'options.reconnectDelayMs', o.reconnectDelayMs ?? 500, 10, 600_000);
  return {
    endpointUrl: o.endpointUrl,
    shownEndpoint: `opc.tcp://${u.host}${u.pathname === '/' ? '' : u.pathname}`,
    nodes,
    target: o.target,
    securityMode: securityMode as OpcUaSecurityMode,
    securityPolicy: securityPolicy as OpcUaSecurityPolicy,
    user,
    pkiFolder: o.pkiFolder,
    certificateFile: o.certificateFile,
    privateKeyFile: o.privateKeyFile,
    acceptUnknownServerCertificate: o.acceptUnknownServerCertificate ?? false,
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
  else if (typeof raw === 'bigint') value = Number(raw);
  else if (Array.isArray(raw) && raw.length === 2 && (variant?.dataType === types.Int64 || variant?.dataType === types.UInt64) && raw.every((x) => typeof x === 'number')) {
    // node-opcua's 64-bit integers are [high, low] 32-bit words.
    const [hi, lo] = raw as [number, number];
    value = (variant.dataType === types.Int64 ? hi | 0 : hi >>> 0) * 2 ** 32 + (lo >>> 0);
  }
  if (value === undefined) return { kind: 'bad-value', message: `is ${raw === null || raw === undefined ? 'empty' : `a ${Array.isArray(raw) ? 'list' : typeof raw}`}, not a number` };
  if (value === Infinity || value === -Infinity) return { kind: 'bad-value', message: 'is infinite' };
  return { kind: 'sample', value, quality, timestamp };
}
