import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LeptonError } from '@lepton/core';
import type { LineItem } from '../monitoring/line-monitor.js';
import { MAX_ID_LENGTH, type SensorRecord } from '../telemetry/record.js';
import { opcUaValue, resolveOpcUaOptions, type OpcUaSourceOptions, type ResolvedOpcUa } from './opcua-options.js';
import { singleSample, type MetricFamily } from './prometheus.js';

export type { OpcUaNodeMapping, OpcUaSourceOptions, OpcUaSecurityMode, OpcUaSecurityPolicy, OpcUaUser } from './opcua-options.js';

/** The node-opcua version this package is tested with; later 2.x releases need Node ≥ 22.13. */
export const NODE_OPCUA_TESTED_VERSION = '2.182.2';

/** Counters of an {@link OpcUaSource}. */
export interface OpcUaSourceStats {
  /** Data changes received from the server. */
  received: number;
  /** Samples handed to the target (good, uncertain and bad-status ones); not those dropped as `overflow`, so `received = samples + badValues + overflow`. */
  samples: number;
  /** Data changes with a Bad status code (sent on as `quality: 'bad'` samples: the monitor raises data-quality alarms). */
  badStatus: number;
  /** Data changes whose value is not a number or boolean (a string, an array, null) or is a 64-bit integer beyond ±(2^53 − 1), which a double would round: refused and counted. */
  badValues: number;
  /** Samples the target refused (its `rejected` events; e.g. an out-of-range timestamp or an infinite value); bad values not included. */
  rejected: number;
  /** Data changes dropped (not counted as samples or bad values) because `maxPending` were waiting for the target. */
  overflow: number;
  /** Connections lost (the client reconnects; the subscription comes back with the session). */
  connectionLost: number;
  /** Re-established connections. */
  reconnects: number;
  /** Monitored items the server accepted (counted again after each reconnection). */
  monitoredItems: number;
  /** Node ids the server refused, when subscribing or when re-creating the subscription after a reconnection (reported through `onError`). */
  badNodes: number;
  /** Pushes to the target that threw (counted; the stream goes on). */
  targetErrors: number;
  /** Messages from the server over `maxMessageBytes` although the client announced that limit: each drops the connection (the client reconnects). */
  messagesTooLarge: number;
}

type OpcUa = typeof import('node-opcua');
type Client = import('node-opcua').OPCUAClient;
type Session = import('node-opcua').ClientSession;
type DataValue = import('node-opcua').DataValue;
type Group = import('node-opcua').ClientMonitoredItemGroup;

/** Endpoint and name of every running source: a second one would make the metrics' series collide. */
const running = new Set<string>();

/** Loads node-opcua: an optional peer, so that the package installs without its ~70 MB. */
async function loadNodeOpcua(load: () => Promise<unknown>): Promise<OpcUa> {
  let mod: unknown;
  try {
    mod = await load();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new LeptonError('MFG_OPCUA_MISSING', `OPC UA input needs the optional peer dependency node-opcua: npm install node-opcua@${NODE_OPCUA_TESTED_VERSION} (the release tested with this package; later 2.x releases need Node ≥ 22.13).`, { cause: err });
    }
    throw new LeptonError('MFG_OPCUA_MISSING', `node-opcua is installed but could not be loaded: ${(err as Error).message}.`, { cause: err });
  }
  const m = mod as Partial<OpcUa> & { default?: Partial<OpcUa> };
  const lib = (m.OPCUAClient ? m : m.default) as OpcUa | undefined;
  if (!lib?.OPCUAClient) throw new LeptonError('MFG_OPCUA_MISSING', 'The module loaded as node-opcua has no OPCUAClient; install node-opcua 2.x.');
  return lib;
}

/**
 * Reads sensor values from an OPC UA server (node-opcua, an optional peer dependency loaded on first use) and feeds
 * them to a {@link LineMonitor} or {@link LineStatus}: one subscription with a monitored item per configured node id,
 * each mapped to an asset and a signal.
 *
 * Each data change becomes a sample: the value (numbers, booleans as 0/1, 64-bit integers within ±(2^53 − 1); larger
 * ones are refused as bad values, not rounded), the source timestamp
 * (else the server's, else now), and the quality from the status code — Good → `good`, Uncertain → `uncertain`, Bad →
 * `bad` with a missing value, so the monitor raises its data-quality alarm for a failed sensor. A value that is not a
 * number (a string, an array, null with a Good status) is refused (`badValues`) and reported to the target as a
 * rejection; nothing a server sends can stop the stream. The client reconnects by itself (node-opcua's connection
 * strategy) and its session and subscription come back after a server restart.
 *
 * Security: `SignAndEncrypt` with `Basic256Sha256` by default. The client's certificate is created in `pkiFolder`
 * (node-opcua's default folder otherwise) and must be trusted by the server; the server's certificate must be in
 * `<pkiFolder>/trusted/certs`, or, with `acceptUnknownServerCertificate`, it is pinned there on first use while that
 * folder is empty, and any other certificate is refused afterwards. The client announces `maxMessageBytes` (4 MiB by
 * default) as its largest message, so a server cannot push values of any size into memory. A user name and password, or an X.509 user
 * certificate, go in `user`; anonymous otherwise. `securityMode: 'None'` is for a lab or a loopback test.
 *
 * @example
 * ```ts
 * import { LineMonitor, OpcUaSource } from '@lepton/manufacturing';
 * const monitor = new LineMonitor({ signals: ['pressure'], baseline: { '*': { pressure: { center: 5, sigma: 0.1 } } } });
 * const source = await OpcUaSource.start({
 *   endpointUrl: 'opc.tcp://plc-gateway:4840', target: monitor, pkiFolder: './pki',
 *   user: { userName: 'lepton', password: process.env.OPCUA_PASSWORD ?? '' },
 *   nodes: [{ nodeId: 'ns=2;s=Press1.Pressure', asset: 'press-1', signal: 'pressure' }],
 * });
 * process.on('SIGTERM', () => void source.close());
 * ```
 */
export class OpcUaSource {
  private session: Session | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;
  private closed = false;
  private closing: Promise<void> | undefined;
  private group: Group | undefined;
  private connected = false;
  /** Indexes of the nodes the server refused, as last counted. */
  private refused = new Set<number>();
  private readonly counters: OpcUaSourceStats = {
    received: 0,
    samples: 0,
    badStatus: 0,
    badValues: 0,
    rejected: 0,
    overflow: 0,
    connectionLost: 0,
    reconnects: 0,
    monitoredItems: 0,
    badNodes: 0,
    targetErrors: 0,
    messagesTooLarge: 0,
  };

  private constructor(
    private readonly o: ResolvedOpcUa,
    private readonly lib: OpcUa,
    private readonly client: Client,
    private readonly key: string,
  ) {}

  /**
   * Validates the options, loads node-opcua, connects, opens a session and subscribes to every node.
   *
   * @param options - endpoint, node mapping, target, security and timing
   * @returns the running source
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad option (`details.field`, also when a getter of
   *   the options throws) or a second running source with the same endpoint and `name`;
   *   `MFG_OPCUA_MISSING` when node-opcua is not installed (the message has the install command);
   *   `MFG_OPCUA_CONNECT` when the server cannot be reached, refuses the security settings or the user within
   *   `connectTimeoutMs`, or presents a certificate other than the one pinned by `acceptUnknownServerCertificate`
   */
  static async start(options: OpcUaSourceOptions): Promise<OpcUaSource> {
    const o = resolveOpcUaOptions(options);
    const key = `${o.shownEndpoint}\u0000${o.name}`;
    if (running.has(key)) {
      throw new LeptonError('INVALID_ARGUMENT', `OpcUaSource: a running source already reads ${o.shownEndpoint} under the name '${o.name}'; give each source on one endpoint its own options.name (the metrics' source label).`, { details: { field: 'options.name' } });
    }
    running.add(key);
    try {
      return await OpcUaSource.connect(o, key);
    } catch (err) {
      running.delete(key);
      throw err;
    }
  }

  private static async connect(o: ResolvedOpcUa, key: string): Promise<OpcUaSource> {
    const lib = await loadNodeOpcua(o.load);
    // Trust on first use: node-opcua's own "automatically accept" trusts every unknown certificate on every connection.
    // Here it is on only while <pki>/trusted/certs is empty, and off again once the first connection has pinned one.
    const certificateManager = new lib.OPCUACertificateManager({ rootFolder: o.pkiFolder ?? null, automaticallyAcceptUnknownCertificate: false });
    let pinned = 0;
    if (o.acceptUnknownServerCertificate) {
      await certificateManager.initialize();
      pinned = trustedCount(certificateManager.rootDir);
      certificateManager.automaticallyAcceptUnknownCertificate = pinned === 0;
    }
    const client = lib.OPCUAClient.create({
      applicationName: 'Lepton',
      endpointMustExist: false,
      securityMode: lib.MessageSecurityMode[o.securityMode],
      securityPolicy: lib.SecurityPolicy[o.securityPolicy],
      clientCertificateManager: certificateManager,
      ...(o.certificateFile ? { certificateFile: o.certificateFile } : {}),
      ...(o.privateKeyFile ? { privateKeyFile: o.privateKeyFile } : {}),
      // Announced in the HEL message: the server must not send more. Enforced on receipt by guardMessageSize below.
      transportSettings: { maxMessageSize: o.maxMessageBytes, maxChunkCount: Math.ceil(o.maxMessageBytes / 8192) },
      connectionStrategy: { initialDelay: o.reconnectDelayMs, maxDelay: o.maxReconnectDelayMs, maxRetry: 1e9, randomisationFactor: 0.1 },
      keepSessionAlive: true,
      requestedSessionTimeout: 60_000,
    });
    const source = new OpcUaSource(o, lib, client, key);
    // The limit is announced in the HEL, and a conforming server never sends more (node-opcua's reports
    // BadResponseTooLarge). node-opcua's client itself only enforces what the server acknowledged (64 MiB when it
    // acknowledges 0): a server that ignores the announcement, or a proxy that strips it, is cut off here, while the
    // message is still arriving in chunks.
    client.on('secure_channel_created', (channel) => guardMessageSize(channel as unknown as ChunkSource, o.maxMessageBytes, () => source.tooLarge()));
    client.on('connection_lost', () => {
      source.counters.connectionLost++;
      source.connected = false;
    });
    client.on('connection_reestablished', () => {
      source.counters.reconnects++;
      source.connected = true;
      source.recount();
    });
    try {
      await withTimeout(source.open(), o.connectTimeoutMs, `Could not connect to the OPC UA server within ${o.connectTimeoutMs} ms`);
      source.connected = true;
    } catch (err) {
      await client.disconnect().catch(() => undefined);
      const message = err instanceof Error ? err.message : String(err);
      if (o.acceptUnknownServerCertificate && pinned > 0 && /BadCertificateUntrusted/.test(message)) {
        const root = certificateManager.rootDir;
        throw new LeptonError('MFG_OPCUA_CONNECT', `The OPC UA server's certificate changed: it is not the one trusted on first use in ${join(root, 'trusted', 'certs')}, so the connection was refused (it may be an impostor). If the change is expected, move the new certificate from ${join(root, 'rejected')} to ${join(root, 'trusted', 'certs')} and remove the old one (or empty trusted/certs to trust the next certificate on first use).`, { cause: err });
      }
      throw err instanceof LeptonError && err.code !== 'MFG_OPCUA_CONNECT'
        ? err
        : new LeptonError('MFG_OPCUA_CONNECT', `${err instanceof LeptonError ? err.message : `Connecting to the OPC UA server failed: ${message}`}; check the endpoint, the security mode/policy the server offers, its trust of this client's certificate, and the user.`, { cause: err });
    } finally {
      // Pinned now (or the connection failed): no other certificate is accepted without the user moving it to trusted/.
      certificateManager.automaticallyAcceptUnknownCertificate = false;
    }
    return source;
  }

  private async open(): Promise<void> {
    const lib = this.lib;
    const o = this.o;
    await this.client.connect(o.endpointUrl);
    const user = o.user;
    const session: Session = await this.client.createSession(
      user === undefined
        ? { type: lib.UserTokenType.Anonymous }
        : 'userName' in user
          ? { type: lib.UserTokenType.UserName, userName: user.userName, password: user.password }
          : { type: lib.UserTokenType.Certificate, certificateData: derOf(readFileSync(user.certificateFile)), privateKey: readFileSync(user.privateKeyFile, 'utf8') },
    );
    this.session = session;
    const subscription = await session.createSubscription2({ requestedPublishingInterval: o.publishingIntervalMs, requestedMaxKeepAliveCount: 10, requestedLifetimeCount: 100, maxNotificationsPerPublish: 10_000, publishingEnabled: true, priority: 1 });
    const group = await subscription.monitorItems(
      o.nodes.map((n) => ({ nodeId: n.nodeId, attributeId: lib.AttributeIds.Value })),
      { samplingInterval: o.samplingIntervalMs, queueSize: o.queueSize, discardOldest: true },
      lib.TimestampsToReturn.Both,
    );
    this.group = group;
    this.recount();
    group.on('changed', (_mi, dv, index) => this.onChange(index, dv));
    // node-opcua re-creates the monitored items on a new session after a reconnection: a node gone from the server is
    // refused then, and must be counted and reported rather than go silent.
    const again = (): void => this.recount();
    session.on('session_restored', again);
    session.on('session_repaired', again);
  }

  private tooLarge(): void {
    this.counters.messagesTooLarge++;
    this.fail(new LeptonError('MFG_OPCUA_CONNECT', `The OPC UA server sent a message over maxMessageBytes (${this.o.maxMessageBytes} bytes) although the client announced that limit; the connection was dropped before the message was decoded (the client reconnects).`));
  }

  /** Counts the monitored items the server accepted and refused; reports nodes newly refused. */
  private recount(): void {
    const items = this.group?.monitoredItems;
    if (!items || this.closed) return;
    const refused = new Set<number>();
    let fresh = 0;
    for (let i = 0; i < items.length; i++) {
      const code = items[i]?.statusCode;
      if (code && code.value >>> 30 >= 2) {
        refused.add(i);
        if (!this.refused.has(i)) fresh++;
      }
    }
    this.refused = refused;
    this.counters.badNodes = refused.size;
    this.counters.monitoredItems = items.length - refused.size;
    if (fresh > 0) {
      const shown = [...refused].slice(0, 5).map((i) => this.o.nodes[i]?.nodeId.slice(0, 80)).join(', ');
      this.fail(new LeptonError('MFG_OPCUA_NODE', `The server refused ${refused.size} of ${this.o.nodes.length} node ids (unknown node or no access: ${shown}${refused.size > 5 ? ', …' : ''}); the others are monitored.`, { details: { badNodes: refused.size } }));
    }
  }

  /** Counters. */
  stats(): OpcUaSourceStats {
    return { ...this.counters };
  }

  /**
   * The counters as Prometheus metric families, labelled with the `endpoint` and the source's `name` (`source`): the
   * `lepton_mfg_opcua_connected` gauge, `_monitored_items` and `_bad_nodes` gauges, and the `_total` counters.
   */
  metricFamilies(): MetricFamily[] {
    const s = this.stats();
    const labels = { endpoint: this.o.shownEndpoint, source: this.o.name };
    const c = (name: string, help: string, value: number): MetricFamily => singleSample('counter', `lepton_mfg_opcua_${name}_total`, help, labels, value);
    const g = (name: string, help: string, value: number): MetricFamily => singleSample('gauge', `lepton_mfg_opcua_${name}`, help, labels, value);
    return [
      g('connected', 'Whether the OPC UA source is connected to its server (1) or not (0).', this.connected && !this.closed ? 1 : 0),
      g('monitored_items', 'Monitored items the OPC UA server accepted.', s.monitoredItems),
      g('bad_nodes', 'Node ids the OPC UA server refused.', s.badNodes),
      c('connection_lost', 'OPC UA connections lost.', s.connectionLost),
      c('target_errors', 'Pushes to the monitor that threw.', s.targetErrors),
      c('messages_too_large', 'OPC UA messages over maxMessageBytes (each dropped the connection).', s.messagesTooLarge),
      c('received', 'OPC UA data changes received.', s.received),
      c('samples', 'Samples handed to the monitor.', s.samples),
      c('bad_status', 'Data changes with a Bad status code.', s.badStatus),
      c('bad_values', 'Data changes whose value is not a number.', s.badValues),
      c('rejected', 'Samples the monitor refused.', s.rejected),
      c('overflow', 'Samples dropped because the monitor fell behind.', s.overflow),
      c('reconnects', 'OPC UA connections re-established.', s.reconnects),
    ];
  }

  /**
   * Waits until every sample received so far has been pushed to the target.
   *
   * @returns once the target has taken them
   */
  async drain(): Promise<void> {
    await this.tail;
  }

  /**
   * Closes the session and the connection; samples still pending reach the target first. Every call, concurrent ones
   * included, returns the same promise.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      this.connected = false;
      running.delete(this.key);
      await this.session?.close().catch(() => undefined);
      await this.client.disconnect().catch(() => undefined);
      await this.tail;
    })();
    return this.closing;
  }

  /** One data change → one item for the target. Never throws. */
  private onChange(index: number, dv: DataValue): void {
    if (this.closed) return;
    this.counters.received++;
    const node = this.o.nodes[index];
    if (!node) return;
    let item: LineItem;
    let refused = false;
    const v = opcUaValue(dv, this.lib.DataType);
    if (v.kind === 'bad-value') {
      refused = true;
      item = { rejected: { source: `opcua ${node.nodeId.slice(0, MAX_ID_LENGTH)}`, issues: [{ field: 'value', message: v.message }] } };
    } else {
      const record: SensorRecord = { timestamp: v.timestamp, asset: node.asset, signal: node.signal, value: v.value, quality: v.quality };
      item = record;
    }
    if (this.pending >= this.o.maxPending) {
      this.counters.overflow++;
      return;
    }
    if (refused) this.counters.badValues++;
    else {
      this.counters.samples++;
      if ((item as SensorRecord).quality === 'bad') this.counters.badStatus++;
    }
    this.pending++;
    this.tail = this.tail
      .then(() => this.o.target.push(item))
      .then(
        (events) => {
          if (!refused && Array.isArray(events)) this.counters.rejected += events.filter((e) => (e as { type?: unknown })?.type === 'rejected').length;
        },
        () => this.counters.targetErrors++,
      )
      .finally(() => this.pending--);
  }

  private fail(e: LeptonError): void {
    try {
      this.o.onError?.(e);
    } catch {
      // the caller's callback failing must not stop the source
    }
  }
}

/** A certificate file as DER: PEM (`-----BEGIN CERTIFICATE-----`) is decoded, DER passes as it is. */
function derOf(file: Buffer): Buffer {
  const text = file.toString('latin1');
  const m = /-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/.exec(text);
  return m ? Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64') : file;
}

/** The part of node-opcua's client secure channel used by {@link guardMessageSize}. */
interface ChunkSource {
  on(event: 'receive_chunk', f: (chunk: Buffer) => void): unknown;
  forceConnectionBreak(): void;
}

/**
 * Counts the bytes and chunks of each message the channel receives (an OPC UA chunk's 4th byte is `C` for one with
 * more to come, `F` for the final one, `A` for an abort) and breaks the connection as soon as one message goes over
 * the limits: memory stays within `maxBytes` plus one chunk.
 */
function guardMessageSize(channel: ChunkSource, maxBytes: number, onTooLarge: () => void): void {
  if (typeof channel?.on !== 'function' || typeof channel.forceConnectionBreak !== 'function') return;
  const maxChunks = Math.ceil(maxBytes / 8192);
  let bytes = 0;
  let chunks = 0;
  let broken = false;
  channel.on('receive_chunk', (chunk: Buffer) => {
    if (broken) return;
    bytes += chunk.length;
    chunks++;
    if (bytes > maxBytes || chunks > maxChunks) {
      broken = true;
      channel.forceConnectionBreak();
      onTooLarge();
      return;
    }
    if (chunk[3] !== 0x43) {
      bytes = 0;
      chunks = 0;
    }
  });
}

/** Files in `<root>/trusted/certs` (0 when the folder does not exist yet). */
function trustedCount(root: string): number {
  try {
    // Any file counts (not only .pem/.der): when in doubt, nothing is trusted on first use.
    return readdirSync(join(root, 'trusted', 'certs')).filter((f) => !f.startsWith('.')).length;
  } catch {
    return 0;
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  p.catch(() => undefined);
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new LeptonError('MFG_OPCUA_CONNECT', message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
