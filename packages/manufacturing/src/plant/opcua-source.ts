import { readFileSync } from 'node:fs';
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
  /** Samples handed to the target (good, uncertain and bad-status ones). */
  samples: number;
  /** Data changes with a Bad status code (sent on as `quality: 'bad'` samples: the monitor raises data-quality alarms). */
  badStatus: number;
  /** Data changes whose value is not a number or boolean (a string, an array, null): refused and counted. */
  badValues: number;
  /** Samples the target refused (its `rejected` events; e.g. an out-of-range timestamp or an infinite value); bad values not included. */
  rejected: number;
  /** Samples dropped because `maxPending` were waiting for the target. */
  overflow: number;
  /** Connections lost (the client reconnects; the subscription comes back with the session). */
  connectionLost: number;
  /** Re-established connections. */
  reconnects: number;
  /** Monitored items the server accepted. */
  monitoredItems: number;
  /** Node ids the server refused. */
  badNodes: number;
  /** Pushes to the target that threw (counted; the stream goes on). */
  targetErrors: number;
}

type OpcUa = typeof import('node-opcua');
type Client = import('node-opcua').OPCUAClient;
type Session = import('node-opcua').ClientSession;
type DataValue = import('node-opcua').DataValue;

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
 * Each data change becomes a sample: the value (numbers, booleans as 0/1, 64-bit integers), the source timestamp
 * (else the server's, else now), and the quality from the status code — Good → `good`, Uncertain → `uncertain`, Bad →
 * `bad` with a missing value, so the monitor raises its data-quality alarm for a failed sensor. A value that is not a
 * number (a string, an array, null with a Good status) is refused (`badValues`) and reported to the target as a
 * rejection; nothing a server sends can stop the stream. The client reconnects by itself (node-opcua's connection
 * strategy) and its session and subscription come back after a server restart.
 *
 * Security: `SignAndEncrypt` with `Basic256Sha256` by default. The client's certificate is created in `pkiFolder`
 * (node-opcua's default folder otherwise) and must be trusted by the server; the server's certificate must be in
 * `<pkiFolder>/trusted/certs` unless `acceptUnknownServerCertificate` is set. A user name and password, or an X.509 user
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
  };

  private constructor(
    private readonly o: ResolvedOpcUa,
    private readonly lib: OpcUa,
    private readonly client: Client,
  ) {}

  /**
   * Validates the options, loads node-opcua, connects, opens a session and subscribes to every node.
   *
   * @param options - endpoint, node mapping, target, security and timing
   * @returns the running source
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad option (`details.field`);
   *   `MFG_OPCUA_MISSING` when node-opcua is not installed (the message has the install command);
   *   `MFG_OPCUA_CONNECT` when the server cannot be reached, refuses the security settings or the user within
   *   `connectTimeoutMs`
   */
  static async start(options: OpcUaSourceOptions): Promise<OpcUaSource> {
    const o = resolveOpcUaOptions(options);
    const lib = await loadNodeOpcua(o.load);
    const certificateManager = new lib.OPCUACertificateManager({ rootFolder: o.pkiFolder ?? null, automaticallyAcceptUnknownCertificate: o.acceptUnknownServerCertificate });
    const client = lib.OPCUAClient.create({
      applicationName: 'Lepton',
      endpointMustExist: false,
      securityMode: lib.MessageSecurityMode[o.securityMode],
      securityPolicy: lib.SecurityPolicy[o.securityPolicy],
      clientCertificateManager: certificateManager,
      ...(o.certificateFile ? { certificateFile: o.certificateFile } : {}),
      ...(o.privateKeyFile ? { privateKeyFile: o.privateKeyFile } : {}),
      connectionStrategy: { initialDelay: o.reconnectDelayMs, maxDelay: o.maxReconnectDelayMs, maxRetry: 1e9, randomisationFactor: 0.1 },
      keepSessionAlive: true,
      requestedSessionTimeout: 60_000,
    });
    const source = new OpcUaSource(o, lib, client);
    client.on('connection_lost', () => source.counters.connectionLost++);
    client.on('connection_reestablished', () => source.counters.reconnects++);
    try {
      await withTimeout(source.open(), o.connectTimeoutMs, `Could not connect to the OPC UA server within ${o.connectTimeoutMs} ms`);
    } catch (err) {
      await client.disconnect().catch(() => undefined);
      throw err instanceof LeptonError && err.code !== 'MFG_OPCUA_CONNECT'
        ? err
        : new LeptonError('MFG_OPCUA_CONNECT', `${err instanceof LeptonError ? err.message : `Connecting to the OPC UA server failed: ${(err as Error).message}`}; check the endpoint, the security mode/policy the server offers, its trust of this client's certificate, and the user.`, { cause: err });
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
    group.monitoredItems.forEach((mi) => {
      if (mi.statusCode && (mi.statusCode.value >>> 30) >= 2) this.counters.badNodes++;
      else this.counters.monitoredItems++;
    });
    if (this.counters.badNodes > 0) this.fail(new LeptonError('MFG_OPCUA_NODE', `The server refused ${this.counters.badNodes} of ${o.nodes.length} node ids (unknown node or no access); the others are monitored.`));
    group.on('changed', (_mi, dv, index) => this.onChange(index, dv));
  }

  /** Counters. */
  stats(): OpcUaSourceStats {
    return { ...this.counters };
  }

  /** The counters as Prometheus metric families. */
  metricFamilies(): MetricFamily[] {
    const s = this.stats();
    const labels = { endpoint: this.o.shownEndpoint };
    const c = (name: string, help: string, value: number): MetricFamily => singleSample('counter', `lepton_mfg_opcua_${name}_total`, help, labels, value);
    return [
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

  /** Closes the session and the connection; samples still pending reach the target first. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.session?.close().catch(() => undefined);
    await this.client.disconnect().catch(() => undefined);
    await this.tail;
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
      this.counters.badValues++;
      refused = true;
      item = { rejected: { source: `opcua ${node.nodeId.slice(0, MAX_ID_LENGTH)}`, issues: [{ field: 'value', message: v.message }] } };
    } else {
      if (v.quality === 'bad') this.counters.badStatus++;
      const record: SensorRecord = { timestamp: v.timestamp, asset: node.asset, signal: node.signal, value: v.value, quality: v.quality };
      item = record;
      this.counters.samples++;
    }
    if (this.pending >= this.o.maxPending) {
      this.counters.overflow++;
      return;
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

async function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  p.catch(() => undefined);
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new LeptonError('MFG_OPCUA_CONNECT', message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
