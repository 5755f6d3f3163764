import type { MqttClient } from 'mqtt';
import { LeptonError } from '@lepton/core';
import { integer, invalid } from '../internal/guards.js';
import { checkLevel } from '../scale/partition.js';
import type { AssetHealth } from './asset-health.js';
import type { LineStatus, StatusChange } from './line-status.js';
import { MqttLink, resolveMqttOptions, startOutput } from './mqtt-link.js';
import { singleSample, type MetricFamily } from './prometheus.js';
import { decodeSparkplugPayload, encodeSparkplugPayload, type SparkplugMetric } from './sparkplug-codec.js';
import { deviceMetrics, HistoricalStore, parseHostState, type NamedMetric, type SparkplugEdgeNodeOptions, type SparkplugEdgeNodeStats } from './sparkplug-options.js';
import { historical, SparkplugTemplates, type SparkplugTemplateValues } from './sparkplug-templates.js';
import { topicLevel } from './topics.js';

/** The Sparkplug B topic namespace. */
export const SPARKPLUG_NAMESPACE = 'spBv1.0';

/** The DCMD metric a host writes to acknowledge an alarm (with `alarmAcknowledgement`). */
const ACKNOWLEDGE_METRIC = 'Alarms/Acknowledge';

/** Largest command payload read; larger ones are refused (bounded memory for network input). */
const MAX_COMMAND_BYTES = 64 * 1024;

/**
 * A Sparkplug B edge node for a line (Sparkplug 3.0, `spBv1.0`): the line is the edge node and each asset a device, so
 * a SCADA host (Ignition, a historian) sees assets, their health, alarms and SPC state as tags with birth and death.
 *
 * - `spBv1.0/<group>/NBIRTH/<edge>` (seq 0): `bdSeq` (UInt64), `Node Control/Rebirth` (false) and line totals;
 *   `NDEATH` with the same `bdSeq` is the connection's MQTT will (QoS 1, not retained), and is published before a clean
 *   close.
 * - `spBv1.0/<group>/DBIRTH/<edge>/<asset>` per asset: `Health/State`, `Alarms/*`, `Samples/*`, `SPC/<signal>/Out Of Control`;
 *   `DDATA` carries what changed (report by exception); `DDEATH` when the asset is retired.
 * - Every message but NDEATH has `seq`, 0 at NBIRTH and +1 per message, 255 → 0. QoS 0, not retained (as the
 *   specification requires); by default nothing is queued while the broker is down — the births on reconnection carry
 *   the state.
 * - `NCMD` with `Node Control/Rebirth` = true republishes NBIRTH and every DBIRTH.
 * - With `alarmAcknowledgement: true`, DBIRTH declares a writable `Alarms/Acknowledge` (String) and a host's `DCMD`
 *   writing an active alarm's id there acknowledges it (the line status then publishes the change).
 *
 * - With `aliases: true`, births declare an alias per data metric and NDATA/DDATA carry the alias alone.
 *
 * - With `primaryHostId`, births wait for that host's `STATE` online message, and the node drops its session (NDEATH
 *   will) when the host goes offline.
 *
 * - With `historicalChanges`, device state changes made while nothing can be published are sent after the next births
 *   as historical DDATA (bounded; oldest dropped first).
 *
 * - With `templates` and `templateInstances`, NBIRTH declares template (UDT) definitions and DBIRTH carries the
 *   instances; {@link SparkplugEdgeNode.setTemplateValues} sends changed members as DDATA.
 *
 * @example
 * ```ts
 * import { LineMonitor, LineStatus, SparkplugEdgeNode } from '@lepton/manufacturing';
 * const monitor = new LineMonitor({ signals: ['pressure'], baseline: { '*': { pressure: { center: 5, sigma: 0.1 } } } });
 * const status = new LineStatus({ line: 'line-1', monitor, signals: ['pressure'] });
 * const node = await SparkplugEdgeNode.start({ url: 'mqtt://127.0.0.1:1883', status, groupId: 'plant-a' });
 * await node.close(); // NDEATH, then disconnect
 * ```
 */
export class SparkplugEdgeNode {
  private readonly link: MqttLink;
  private readonly topicBase: string;
  private readonly edge: string;
  private seq = 0;
  private nextBdSeq: number;
  private sessionBdSeq = -1;
  /** Per asset, the metric values last sent (DDATA sends what differs). */
  private readonly sent = new Map<string, Map<string, SparkplugMetric['value']>>();
  private nodeSent = new Map<string, SparkplugMetric['value']>();
  private readonly counters = { births: 0, rebirths: 0, messages: 0, skipped: 0, badCommands: 0, acknowledgements: 0, periodicErrors: 0 };
  /** Whether hosts may acknowledge alarms by DCMD `Alarms/Acknowledge` (option `alarmAcknowledgement`). */
  private readonly acceptAcknowledge: boolean;
  private readonly unsubscribe: () => void;
  private readonly timer: NodeJS.Timeout;
  private readonly onError: ((e: LeptonError) => void) | undefined;
  /** With `aliases`, per `device\nname` (device '' for the node), the alias declared in this session's births. */
  private readonly aliasOf: Map<string, number> | undefined;
  private nextAlias = 0;
  /** With `primaryHostId`: its STATE topic, whether it is online, the newest STATE timestamp, the connected client. */
  private readonly hostTopic: string | undefined;
  private hostOnline = false;
  private hostTimestamp = -Infinity;
  private hostOfflineDrops = 0;
  private client: MqttClient | undefined;
  private droppingForHost = false;
  /** Store-and-forward: device state changes made while nothing could be published, oldest first. */
  private readonly store: HistoricalStore;
  /** Template definitions and the devices' instances with their current member values. */
  private readonly templates: SparkplugTemplates;

  private constructor(
    private readonly status: LineStatus,
    o: SparkplugEdgeNodeOptions,
  ) {
    const fn = 'SparkplugEdgeNode';
    const conn = resolveMqttOptions(fn, o, 'sparkplug');
    const edge = checkLevel(fn, 'options.edgeNodeId', o.edgeNodeId ?? status.line);
    this.topicBase = `${SPARKPLUG_NAMESPACE}/${checkLevel(fn, 'options.groupId', o.groupId)}`;
    this.edge = edge;
    this.nextBdSeq = integer(fn, 'options.bdSeq', o.bdSeq ?? 0, 0, 255);
    const every = integer(fn, 'options.dataIntervalMs', o.dataIntervalMs ?? 10_000, 50, 86_400_000);
    if (o.onError !== undefined && typeof o.onError !== 'function') throw invalid(fn, 'options.onError', 'a function', o.onError, 'INVALID_ARGUMENT');
    this.onError = o.onError;
    if (o.aliases !== undefined && typeof o.aliases !== 'boolean') throw invalid(fn, 'options.aliases', 'a boolean', o.aliases, 'INVALID_ARGUMENT');
    this.aliasOf = o.aliases === true ? new Map() : undefined;
    if (o.alarmAcknowledgement !== undefined && typeof o.alarmAcknowledgement !== 'boolean') throw invalid(fn, 'options.alarmAcknowledgement', 'a boolean', o.alarmAcknowledgement, 'INVALID_ARGUMENT');
    this.acceptAcknowledge = o.alarmAcknowledgement === true;
    this.store = new HistoricalStore(integer(fn, 'options.historicalChanges', o.historicalChanges ?? 0, 0, 100_000));
    this.templates = new SparkplugTemplates(fn, o.templates, o.templateInstances);
    this.hostTopic = o.primaryHostId === undefined ? undefined : `${SPARKPLUG_NAMESPACE}/STATE/${checkLevel(fn, 'options.primaryHostId', o.primaryHostId)}`;
    this.link = new MqttLink(conn, {
      will: () => {
        // One bdSeq per MQTT session: the NDEATH registered now and the NBIRTH sent on this connection carry the same.
        this.sessionBdSeq = this.nextBdSeq;
        this.nextBdSeq = (this.nextBdSeq + 1) % 256;
        return { topic: this.topic('NDEATH'), payload: this.death(), qos: 1, retain: false };
      },
      connected: (client) => this.connected(client),
      disconnected: () => {
        // A drop of our own (the primary host went offline) is not a lost broker.
        if (this.droppingForHost) this.droppingForHost = false;
        else this.fail(new LeptonError('MFG_MQTT_DISCONNECTED', `Lost the broker at ${conn.shownUrl}; reconnecting (the births on reconnection carry the state).`));
      },
      message: (topic, payload) => (topic === this.hostTopic ? this.hostState(payload) : this.command(topic, payload)),
      error: (e) => this.fail(e),
    });
    this.unsubscribe = status.subscribe((c) => this.onChange(c));
    this.timer = setInterval(() => this.periodic(), every);
    this.timer.unref();
  }

  /**
   * Validates the options, connects (NDEATH as the will), and publishes NBIRTH and a DBIRTH per asset.
   *
   * @param options - broker, credentials, the line status, group and edge node ids
   * @returns the running edge node
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad option (templates included: an unknown template
   *   name, a member not in its definition, a value not of its datatype, duplicate names, a cycle, nesting deeper than 8);
   *   `MFG_MQTT_CONNECT` when the broker cannot be reached or refuses the credentials
   */
  static async start(options: SparkplugEdgeNodeOptions): Promise<SparkplugEdgeNode> {
    return startOutput('SparkplugEdgeNode', options, () => {
      const node = new SparkplugEdgeNode(options.status, options);
      return { output: node, link: node.link, stop: () => node.stop() };
    });
  }

  /** The bdSeq of the current (or last) session; persist it and pass it + 1 as `bdSeq` after a restart. */
  get bdSeq(): number {
    return this.sessionBdSeq;
  }

  /**
   * Sets member values of a device's template instance and publishes DDATA carrying that instance with the changed
   * members only (nested templates likewise; Sparkplug 3.0 lets data messages carry a subset of the members); equal
   * values send nothing. While nothing can be published the values wait for the next DBIRTH (and, with
   * `historicalChanges`, the change is sent after it as historical DDATA). All is checked before anything is set.
   *
   * @param asset - the device (a key of `templateInstances`)
   * @param instance - the instance's name in that device
   * @param values - member values by name; a nested template's as an object: `{ Speed: 1450, Bearing: { Temp: 41.5 } }`
   * @returns whether a member changed
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` (`details.field`) for an unknown asset or instance, a member
   *   not in the definition, or a value not of the member's datatype (out of range, NaN …); nothing is set or sent
   * @example
   * ```ts
   * import { LineStatus, SparkplugEdgeNode } from '@lepton/manufacturing';
   * const node = await SparkplugEdgeNode.start({ url: 'mqtt://127.0.0.1:1883', status: new LineStatus({ line: 'line-1' }), groupId: 'plant-a',
   *   templates: { Motor: { metrics: [{ name: 'Speed', type: 'Double', value: 0 }] } },
   *   templateInstances: { 'press-1': [{ name: 'Main Motor', template: 'Motor' }] } });
   * node.setTemplateValues('press-1', 'Main Motor', { Speed: 1450 }); // true (DDATA with Speed alone once press-1 is born)
   * await node.close();
   * ```
   */
  setTemplateValues(asset: string, instance: string, values: SparkplugTemplateValues): boolean {
    const metric = this.templates.set('SparkplugEdgeNode.setTemplateValues', asset, instance, values, Date.now());
    if (!metric) return false;
    const born = this.sent.get(asset);
    if (!born) return true; // not born yet: its DBIRTH will carry the values
    const client = this.publisher();
    if (client) this.send(client, this.topic('DDATA', asset), this.refer(asset, [metric]), metric.timestamp);
    else {
      this.counters.skipped++;
      this.store.keep(asset, [metric]);
    }
    return true;
  }

  /** Counters. */
  stats(): SparkplugEdgeNodeStats {
    return { connected: this.link.current !== undefined, ...this.counters, hostOnline: this.hostTopic === undefined || this.hostOnline, hostOfflineDrops: this.hostOfflineDrops, historical: { queued: this.store.queued, ...this.store.counts } };
  }

  /** The counters as Prometheus metric families. */
  metricFamilies(): MetricFamily[] {
    const s = this.stats();
    const labels = { line: this.status.line };
    return [
      singleSample('gauge', 'lepton_mfg_sparkplug_connected', 'Whether the Sparkplug edge node is connected (1) or not (0).', labels, s.connected ? 1 : 0),
      singleSample('counter', 'lepton_mfg_sparkplug_births_total', 'NBIRTH messages sent.', labels, s.births),
      singleSample('counter', 'lepton_mfg_sparkplug_messages_total', 'DBIRTH, DDATA, DDEATH and NDATA messages sent.', labels, s.messages),
      singleSample('counter', 'lepton_mfg_sparkplug_bad_commands_total', 'Commands that were not valid Sparkplug B (or STATE messages that were not valid).', labels, s.badCommands),
      singleSample('counter', 'lepton_mfg_sparkplug_acknowledgements_total', 'Alarms acknowledged by a host through DCMD Alarms/Acknowledge.', labels, s.acknowledgements),
      singleSample('counter', 'lepton_mfg_sparkplug_historical_dropped_total', 'Stored changes dropped, oldest first, because the store-and-forward queue was full.', labels, s.historical.dropped),
    ];
  }

  /**
   * Publishes NDEATH (with this session's bdSeq) and disconnects cleanly. The NDEATH acknowledgement and the clean
   * disconnect are each awaited up to `timeoutMs` before the socket is closed anyway (a silent broker cannot hold it).
   *
   * @param timeoutMs - how long each step may wait, ms (100 to 2,000; default 2,000)
   */
  async close(timeoutMs = 2000): Promise<void> {
    this.stop();
    const grace = Math.min(2000, Math.max(100, Number.isFinite(timeoutMs) ? timeoutMs : 0));
    await this.link.close({ topic: this.topic('NDEATH'), payload: this.death(), retain: false }, grace);
  }

  private stop(): void {
    this.unsubscribe?.();
    clearInterval(this.timer);
  }

  private topic(type: string, asset?: string): string {
    return `${this.topicBase}/${type}/${this.edge}${asset === undefined ? '' : `/${topicLevel(asset)}`}`;
  }

  private death(): Buffer {
    const now = Date.now();
    return encodeSparkplugPayload({ timestamp: now, metrics: [{ name: 'bdSeq', timestamp: now, type: 'UInt64', value: this.sessionBdSeq }] });
  }

  private async connected(client: MqttClient): Promise<void> {
    this.client = client;
    this.hostOnline = false; // a new session waits for the host's STATE again (retained: it comes with the subscription)
    await client.subscribeAsync([this.topic('NCMD'), `${this.topic('DCMD')}/+`, ...(this.hostTopic === undefined ? [] : [this.hostTopic])], { qos: 1 });
    if (this.hostTopic === undefined) this.birth(client);
  }

  /** The client to publish data on: connected, and the primary host (if any) online. */
  private publisher(): MqttClient | undefined {
    return this.hostTopic === undefined || this.hostOnline ? this.link.current : undefined;
  }

  /** A primary host's STATE (`{"online": boolean, "timestamp": epoch ms}`, JSON): births when it comes online, a drop when it goes offline. */
  private hostState(payload: Buffer): void {
    const state = parseHostState(payload);
    if (!state) return void this.badCommand(new LeptonError('MFG_SPARKPLUG_DECODE', `A STATE message on ${this.hostTopic} is not {"online": boolean, "timestamp": number}; ignored.`));
    if (state.timestamp < this.hostTimestamp) return; // an older state, delivered late
    this.hostTimestamp = state.timestamp;
    const client = this.client;
    if (state.online && !this.hostOnline) {
      this.hostOnline = true;
      if (client?.connected) this.birth(client);
    } else if (!state.online && this.hostOnline) {
      this.hostOnline = false;
      this.hostOfflineDrops++;
      this.droppingForHost = true;
      // An unclean close: the broker publishes the NDEATH will; the link reconnects with the next bdSeq and waits.
      client?.stream.destroy();
    }
  }

  /** NBIRTH (seq 0) then a DBIRTH per asset, before any data: all in call order on one connection. */
  private birth(client: MqttClient): void {
    this.seq = 0;
    this.aliasOf?.clear();
    this.nextAlias = 0;
    const now = Date.now();
    const node = this.nodeMetrics(now);
    this.nodeSent = new Map(node.map((m) => [m.name, m.value]));
    const metrics: SparkplugMetric[] = [
      { name: 'bdSeq', timestamp: now, type: 'UInt64', value: this.sessionBdSeq },
      { name: 'Node Control/Rebirth', timestamp: now, type: 'Boolean', value: false },
      { name: 'Properties/Line', timestamp: now, type: 'String', value: this.status.line },
      // Definitions carry no alias: no data message ever refers to them.
      ...this.templates.definitions(now),
      ...this.declare('', node),
    ];
    this.send(client, this.topic('NBIRTH'), metrics, now);
    this.counters.births++;
    this.sent.clear();
    for (const h of this.status.healthAll()) this.deviceBirth(client, h, now);
    this.forward(client);
  }

  /** Sends the stored changes of devices just born, oldest first, as DDATA with historical metrics (by alias if on). */
  private forward(client: MqttClient): void {
    const now = Date.now();
    for (const { asset, metrics } of this.store.take()) {
      const born = this.sent.get(asset);
      const known = born === undefined ? [] : metrics.filter((m) => born.has(m.name));
      if (known.length === 0) continue; // a device gone since, or metrics its birth does not declare
      this.send(client, this.topic('DDATA', asset), this.refer(asset, known).map(historical), now);
      this.store.counts.sent++;
    }
  }

  private deviceBirth(client: MqttClient, h: AssetHealth, now: number): void {
    // The template instances follow the asset's own metrics; deviceData() compares only the latter.
    const metrics = [...deviceMetrics(h, now), ...this.templates.births(h.asset, now)];
    // A writable metric must be in the birth for a host to offer the write (Ignition lists the device's tags from it).
    if (this.acceptAcknowledge) metrics.push({ name: ACKNOWLEDGE_METRIC, timestamp: now, type: 'String', value: '' });
    this.sent.set(h.asset, new Map(metrics.map((m) => [m.name, m.value])));
    this.send(client, this.topic('DBIRTH', h.asset), this.declare(h.asset, metrics), now);
  }

  /** Birth metrics: with `aliases`, each with its alias (kept for a device born again in the same session). */
  private declare(device: string, metrics: NamedMetric[]): SparkplugMetric[] {
    const aliases = this.aliasOf;
    if (aliases === undefined) return metrics;
    return metrics.map((m) => {
      const key = `${device}\n${m.name}`;
      let alias = aliases.get(key);
      if (alias === undefined) aliases.set(key, (alias = this.nextAlias++));
      return { ...m, alias };
    });
  }

  /** Data metrics: with `aliases`, the alias alone (every data metric was declared in a birth of this session). */
  private refer(device: string, metrics: NamedMetric[]): SparkplugMetric[] {
    const aliases = this.aliasOf;
    if (aliases === undefined) return metrics;
    return metrics.map(({ name, ...rest }) => {
      const alias = aliases.get(`${device}\n${name}`);
      return alias === undefined ? { name, ...rest } : { ...rest, alias };
    });
  }

  private send(client: MqttClient, topic: string, metrics: SparkplugMetric[], now: number): void {
    const seq = this.seq;
    this.seq = (this.seq + 1) % 256;
    if (!topic.includes('/NBIRTH/')) this.counters.messages++;
    client.publish(topic, encodeSparkplugPayload({ timestamp: now, seq, metrics }), { qos: 0, retain: false });
  }

  private onChange(c: StatusChange): void {
    if (c.type === 'health') this.deviceData(c.health, false);
    else if (c.type === 'retired' || c.type === 'released') {
      // A device this node no longer serves (retired, or handed over to another member's edge node): DDEATH.
      const client = this.publisher();
      if (this.sent.delete(c.asset) && client) this.send(client, this.topic('DDEATH', c.asset), [], Date.now());
    }
  }

  /** DDATA with the metrics that changed (all state ones; counters only when `counters`), or a DBIRTH for a new asset. */
  private deviceData(h: AssetHealth, counters: boolean): void {
    const client = this.publisher();
    if (!client) {
      this.counters.skipped++;
      // State changes (not counters) since what was last sent or kept for this device, for store-and-forward.
      const last = this.sent.get(h.asset);
      if (!counters && last !== undefined && this.store.max > 0) {
        const changed = deviceMetrics(h, Date.now()).filter((m) => !m.name.startsWith('Samples/') && last.has(m.name) && last.get(m.name) !== m.value);
        for (const m of changed) last.set(m.name, m.value);
        this.store.keep(h.asset, changed);
      }
      return;
    }
    const now = Date.now();
    const last = this.sent.get(h.asset);
    if (!last) return this.deviceBirth(client, h, now);
    const metrics = deviceMetrics(h, now);
    // A metric the DBIRTH did not declare (an SPC signal first seen in an alarm) may not appear in DDATA: birth again.
    if (metrics.some((m) => !last.has(m.name))) return this.deviceBirth(client, h, now);
    const changed = metrics.filter((m) => (counters || !m.name.startsWith('Samples/')) && last.get(m.name) !== m.value);
    if (changed.length === 0) return;
    for (const m of changed) last.set(m.name, m.value);
    this.send(client, this.topic('DDATA', h.asset), this.refer(h.asset, changed), now);
  }

  /** The timer's tick: it never throws (an exception from a timer would end the process); a failure is counted and reported. */
  private periodic(): void {
    try {
      this.republish();
    } catch (err) {
      this.counters.periodicErrors++;
      this.fail(err instanceof LeptonError ? err : new LeptonError('MFG_MQTT_PUBLISH', `The periodic data of edge node ${this.edge} could not be published (the cause says why); the next tick tries again.`, { cause: err }));
    }
  }

  private republish(): void {
    this.status.refresh();
    const client = this.publisher();
    if (!client) return;
    for (const h of this.status.healthAll()) this.deviceData(h, true);
    const now = Date.now();
    const changed = this.nodeMetrics(now).filter((m) => this.nodeSent.get(m.name) !== m.value);
    for (const m of changed) this.nodeSent.set(m.name, m.value);
    if (changed.length) this.send(client, this.topic('NDATA'), this.refer('', changed), now);
  }

  private nodeMetrics(now: number): NamedMetric[] {
    const all = this.status.healthAll();
    const sum = (f: (h: AssetHealth) => number): number => all.reduce((a, h) => a + f(h), 0);
    return [
      { name: 'Line/Assets', timestamp: now, type: 'Int32', value: all.length },
      { name: 'Line/Assets In Alarm', timestamp: now, type: 'Int32', value: all.filter((h) => h.state === 'alarm').length },
      { name: 'Line/Alarms Active', timestamp: now, type: 'Int32', value: sum((h) => h.activeAlarms) },
      { name: 'Line/Samples Accepted', timestamp: now, type: 'UInt64', value: sum((h) => h.samples.accepted) },
      { name: 'Line/Samples Rejected', timestamp: now, type: 'UInt64', value: sum((h) => h.samples.rejected) + this.status.stats().rejectedUnattributed },
    ];
  }

  /**
   * NCMD/DCMD: a rebirth request is acted on, and with `alarmAcknowledgement` a DCMD writing `Alarms/Acknowledge`
   * (String: the id of an active alarm of that device); anything else is counted. Never throws.
   */
  private command(topic: string, payload: Buffer): void {
    if (payload.length > MAX_COMMAND_BYTES) return void this.badCommand(new LeptonError('MFG_SPARKPLUG_DECODE', `A command on ${topic} is larger than ${MAX_COMMAND_BYTES} bytes; ignored.`));
    let metrics;
    try {
      metrics = decodeSparkplugPayload(payload).metrics;
    } catch (err) {
      // The decoder throws typed errors only; anything else still reaches onError typed.
      return void this.badCommand(err instanceof LeptonError ? err : new LeptonError('MFG_SPARKPLUG_DECODE', `A command on ${topic} could not be decoded: ${(err as Error)?.message ?? String(err)}.`, { cause: err }));
    }
    const client = this.publisher();
    if (topic === this.topic('NCMD') && metrics.some((m) => m.name === 'Node Control/Rebirth' && m.value === true)) {
      this.counters.rebirths++;
      if (client) this.birth(client);
      return;
    }
    if (this.acceptAcknowledge && topic.startsWith(`${this.topic('DCMD')}/`) && this.acknowledgeCommand(topic.slice(this.topic('DCMD').length + 1), metrics)) return;
    this.badCommand(
      new LeptonError(
        'MFG_SPARKPLUG_COMMAND',
        `A command on ${topic} writes metrics this edge node does not accept (NCMD 'Node Control/Rebirth'${this.acceptAcknowledge ? `, DCMD '${ACKNOWLEDGE_METRIC}' with an active alarm's id of that device` : ''}).`,
      ),
    );
  }

  /**
   * DCMD `Alarms/Acknowledge` on device `level`: every metric must be that one (by name, or by the alias this session
   * declared for it), a String naming an active alarm of that device. All are checked before any is acknowledged.
   * @returns whether the command was accepted
   */
  private acknowledgeCommand(level: string, metrics: ReturnType<typeof decodeSparkplugPayload>['metrics']): boolean {
    const asset = this.status.assets().find((a) => topicLevel(a) === level);
    if (asset === undefined || metrics.length === 0) return false;
    const alias = this.aliasOf?.get(`${asset}\n${ACKNOWLEDGE_METRIC}`);
    const active = new Set(this.status.activeAlarms().filter((a) => a.asset === asset).map((a) => a.id));
    const ids: string[] = [];
    for (const m of metrics) {
      const named = m.name === ACKNOWLEDGE_METRIC || (m.name === undefined && alias !== undefined && m.alias === alias);
      if (!named || typeof m.value !== 'string' || !active.has(m.value)) return false;
      ids.push(m.value);
    }
    for (const id of ids) if (this.status.acknowledge(id, 'Sparkplug DCMD')) this.counters.acknowledgements++;
    return true;
  }

  private badCommand(e: LeptonError): void {
    this.counters.badCommands++;
    this.fail(e);
  }

  private fail(e: LeptonError): void {
    try {
      this.onError?.(e);
    } catch {
      // the caller's callback failing must not stop the node
    }
  }
}
