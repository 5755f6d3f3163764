import type { MqttClient } from 'mqtt';
import { LeptonError } from '@lepton/core';
import { integer, invalid } from '../internal/guards.js';
import type { LineStatus, StatusChange } from './line-status.js';
import type { ActiveAlarm, AssetHealth } from './asset-health.js';
import { MqttLink, resolveMqttOptions, startOutput, type PlantMqttOptions } from './mqtt-link.js';
import { singleSample, type MetricFamily } from './prometheus.js';
import { PlantTopics } from './topics.js';

/** The `v` (schema version) of every JSON payload {@link MqttPlantPublisher} publishes. */
export const PLANT_PAYLOAD_VERSION = 1;

/** Options of {@link MqttPlantPublisher.start}. */
export interface MqttPlantPublisherOptions extends PlantMqttOptions {
  /** The line status to publish. */
  status: LineStatus;
  /** Topic prefix (one or more levels), e.g. `site-a/lepton`. Default `lepton`. */
  prefix?: string;
  /**
   * With a `ScaledLineMonitor`, this member's id (one topic level): the online/offline status (and the will) go to
   * `<prefix>/<line>/members/<member>/status`, so one member dying does not mark the whole line offline while the
   * others publish. Default: none, `<prefix>/<line>/status` (one publisher per line).
   */
  member?: string;
  /** Event topics: alarm `raised`/`acknowledged`/`cleared` and `retired` (`alarms`, the default), or those plus one-off data-quality issues (`all`). */
  events?: 'alarms' | 'all';
  /** Events kept while the broker is down; beyond it the oldest is dropped and counted (`eventsDropped`). Default 10,000. */
  maxQueue?: number;
  /** Health is republished on every change and at this period (fresh counters and freshness), ms. Default 10,000. */
  healthIntervalMs?: number;
  /**
   * Called with each typed failure; publishing goes on: a publish refused by the broker (`MFG_MQTT_PUBLISH`), a lost
   * connection (`MFG_MQTT_DISCONNECTED`), reconnections that keep failing (`MFG_MQTT_CONNECT`, at most one report per 30 s),
   * a periodic health republication that failed (the error thrown, typed; counted in `periodicErrors`).
   */
  onError?: (error: LeptonError) => void;
}

/** Counters of a {@link MqttPlantPublisher}. */
export interface MqttPlantPublisherStats {
  /** Connected now. */
  connected: boolean;
  /** Connections after the first. */
  reconnects: number;
  /** Event messages the broker acknowledged (QoS 1). */
  eventsPublished: number;
  /** Events waiting for the broker now. */
  eventsQueued: number;
  /** Events dropped (oldest first) because `maxQueue` were waiting. */
  eventsDropped: number;
  /** Retained state messages (status, health, active alarms, clears) the broker acknowledged. */
  statePublished: number;
  /** Retained clears of alarms that ended while the broker was down, dropped beyond `maxQueue` (the retained alarm stays until the asset is retired). */
  clearsDropped: number;
  /** Publishes the broker refused or that failed (retried for events). */
  publishErrors: number;
  /** Periodic health republications that failed (each reported to `onError`; the timer goes on). */
  periodicErrors: number;
  /** Retained topics held in memory now: the latest payload per live topic, plus clears waiting for the broker (at most `maxQueue`). */
  stateTopics: number;
}

interface QueuedEvent {
  topic: string;
  payload: string;
}

/** mqtt.js keeps every unacknowledged QoS 1 message in memory: at most this many are handed to it at once. */
const MAX_IN_FLIGHT = 64;

/**
 * Publishes a line's alarms and asset health to MQTT for the plant (SCADA, MES, historians, dashboards): retained state
 * topics that a consumer reads on subscribing, event topics (QoS 1) for what happened, and an online/offline status
 * whose MQTT will says `offline` when the monitor dies. The topic tree and payloads are in the package README, "Output
 * to the plant":
 *
 * - `<prefix>/<line>/status` (retained): `{ v, kind: 'status', state: 'online' | 'offline', … }`
 * - `<prefix>/<line>/<asset>/health` (retained): the asset's {@link AssetHealth}
 * - `<prefix>/<line>/<asset>/alarms/active/<alarmId>` (retained while active; an empty retained payload clears it)
 * - `<prefix>/<line>/<asset>/events/<raised|acknowledged|cleared|retired|quality>` (QoS 1, not retained)
 *
 * While the broker is down, state is kept as the latest value per topic (republished in full on reconnection, so a
 * broker restarted without persistence gets it back) and events wait in a bounded queue, oldest dropped first and
 * counted. Events are at least once: a consumer may see one twice after a reconnection (`id` is stable).
 *
 * @example
 * ```ts
 * import { LineMonitor, LineStatus, MqttPlantPublisher } from '@lepton/manufacturing';
 * const monitor = new LineMonitor({ signals: ['pressure'], baseline: { '*': { pressure: { center: 5, sigma: 0.1 } } } });
 * const status = new LineStatus({ line: 'line-1', monitor, signals: ['pressure'] });
 * const publisher = await MqttPlantPublisher.start({ url: 'mqtt://127.0.0.1:1883', status });
 * await status.push({ timestamp: Date.now(), asset: 'press-1', signal: 'pressure', value: 5.02, quality: 'good' });
 * await publisher.close(); // publishes `offline` first
 * ```
 */
export class MqttPlantPublisher {
  private readonly topics: PlantTopics;
  private readonly link: MqttLink;
  /** Retained state by topic: the latest payload ('' = clear once, then forgotten). */
  private readonly state = new Map<string, string>();
  private readonly clears: string[] = [];
  /** Topics of {@link state} whose payload no connection has had yet (set while the broker was down). */
  private readonly unsent = new Set<string>();
  /** Active alarm topics per asset, to clear them when the asset retires. */
  private readonly alarmTopics = new Map<string, Set<string>>();
  private readonly queue: QueuedEvent[] = [];
  private inFlight = new Map<number, QueuedEvent>();
  private seq = 0;
  private readonly counters = { eventsPublished: 0, eventsDropped: 0, statePublished: 0, clearsDropped: 0, publishErrors: 0, periodicErrors: 0 };
  private readonly unsubscribe: () => void;
  private readonly timer: NodeJS.Timeout;
  private readonly maxQueue: number;
  private readonly events: 'alarms' | 'all';
  private readonly onError: ((e: LeptonError) => void) | undefined;

  private constructor(
    private readonly status: LineStatus,
    o: MqttPlantPublisherOptions,
  ) {
    const fn = 'MqttPlantPublisher';
    const conn = resolveMqttOptions(fn, o, 'plant');
    this.topics = new PlantTopics(fn, o.prefix ?? 'lepton', status.line, o.member);
    this.maxQueue = integer(fn, 'options.maxQueue', o.maxQueue ?? 10_000, 1, 10_000_000);
    const every = integer(fn, 'options.healthIntervalMs', o.healthIntervalMs ?? 10_000, 50, 86_400_000);
    if (o.events !== undefined && o.events !== 'alarms' && o.events !== 'all') throw invalid(fn, 'options.events', "'alarms' or 'all'", o.events, 'INVALID_ARGUMENT');
    this.events = o.events ?? 'alarms';
    if (o.onError !== undefined && typeof o.onError !== 'function') throw invalid(fn, 'options.onError', 'a function', o.onError, 'INVALID_ARGUMENT');
    this.onError = o.onError;
    const offline = JSON.stringify({ v: PLANT_PAYLOAD_VERSION, kind: 'status', line: status.line, state: 'offline', reason: 'connection-lost' });
    this.link = new MqttLink(conn, {
      will: () => ({ topic: this.topics.status(), payload: Buffer.from(offline), qos: 1, retain: true }),
      connected: (client) => this.resync(client),
      ready: () => this.pump(),
      disconnected: () => {
        // Whatever the broker had not acknowledged goes back to the head of the queue, in order.
        this.queue.unshift(...this.inFlight.values());
        this.inFlight.clear();
        this.trim();
        this.fail(new LeptonError('MFG_MQTT_DISCONNECTED', `Lost the broker at ${conn.shownUrl}; reconnecting, events are queued (at most ${this.maxQueue}).`));
      },
      error: (e) => this.fail(e),
    });
    for (const h of status.healthAll()) this.onChange({ type: 'health', health: h });
    for (const a of status.activeAlarms()) this.setAlarm(a);
    this.unsubscribe = status.subscribe((c) => this.onChange(c));
    this.timer = setInterval(() => this.periodic(), every);
    this.timer.unref();
  }

  /**
   * Validates the options, connects, publishes `online` and the current state of every asset.
   *
   * @param options - broker, credentials, the line status, prefix and limits
   * @returns the running publisher
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad option (`details.field`, never a value);
   *   `MFG_MQTT_CONNECT` when the broker cannot be reached or refuses the credentials within `connectTimeoutMs`
   */
  static async start(options: MqttPlantPublisherOptions): Promise<MqttPlantPublisher> {
    return startOutput('MqttPlantPublisher', options, () => {
      const p = new MqttPlantPublisher(options.status, options);
      return { output: p, link: p.link, stop: () => p.stop() };
    });
  }

  /** The status topic, `<prefix>/<line>/status` (or `<prefix>/<line>/members/<member>/status`). */
  get statusTopic(): string {
    return this.topics.status();
  }

  /** Counters. */
  stats(): MqttPlantPublisherStats {
    return { connected: this.link.current !== undefined, reconnects: Math.max(0, this.link.connections - 1), eventsQueued: this.queue.length + this.inFlight.size, ...this.counters, stateTopics: this.state.size + this.clears.length };
  }

  /** The counters as Prometheus metric families (for {@link startMetricsServer}). */
  metricFamilies(): MetricFamily[] {
    const s = this.stats();
    const line = { line: this.status.line };
    const c = (name: string, help: string, value: number): MetricFamily => singleSample('counter', name, help, line, value);
    return [
      singleSample('gauge', 'lepton_mfg_mqtt_connected', 'Whether the plant MQTT publisher is connected (1) or not (0).', line, s.connected ? 1 : 0),
      c('lepton_mfg_mqtt_reconnects_total', 'Connections of the plant MQTT publisher after the first.', s.reconnects),
      c('lepton_mfg_mqtt_events_published_total', 'Alarm and quality events the broker acknowledged.', s.eventsPublished),
      c('lepton_mfg_mqtt_events_dropped_total', 'Events dropped, oldest first, while the broker was down and the queue full.', s.eventsDropped),
      singleSample('gauge', 'lepton_mfg_mqtt_events_queued', 'Events waiting for the broker.', line, s.eventsQueued),
      c('lepton_mfg_mqtt_publish_errors_total', 'Publishes that failed (events are retried).', s.publishErrors),
    ];
  }

  /**
   * Waits (up to `timeoutMs`) for queued events to reach the broker, publishes `offline` (retained) and disconnects
   * cleanly. Events still queued then are dropped (counted). The `offline` acknowledgement and the clean disconnect are
   * each awaited up to `timeoutMs` (at least 100 ms, at most 2 s) before the socket is closed anyway, so a broker that
   * stopped answering cannot hold `close` forever.
   *
   * @param timeoutMs - how long to wait for queued events while connected, ms. Default 2,000.
   */
  async close(timeoutMs = 2000): Promise<void> {
    this.stop();
    const wait = Number.isFinite(timeoutMs) ? Math.max(0, timeoutMs) : 0;
    const deadline = Date.now() + wait;
    while (this.link.current && this.queue.length + this.inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.counters.eventsDropped += this.queue.length;
    this.queue.length = 0;
    await this.link.close({ topic: this.topics.status(), payload: this.payload('status', { state: 'offline', reason: 'closed' }), retain: true }, Math.min(2000, Math.max(100, wait)));
  }

  private stop(): void {
    this.unsubscribe?.();
    clearInterval(this.timer);
  }

  private payload(kind: string, body: object): string {
    return JSON.stringify({ v: PLANT_PAYLOAD_VERSION, kind, line: this.status.line, at: this.status.time(), ...body });
  }

  private onChange(c: StatusChange): void {
    if (c.type === 'health') this.setState(this.topics.health(c.health.asset), this.payload('health', { health: c.health }));
    else if (c.type === 'alarm') {
      if (c.event === 'cleared') this.clearAlarm(c.alarm);
      else this.setAlarm(c.alarm);
      const event = { id: `${c.alarm.id}/${c.event}${c.event === 'acknowledged' ? `/${c.at}` : ''}`, event: c.event, eventAt: c.at, alarm: c.alarm };
      this.enqueue(this.topics.event(c.alarm.asset, c.event), this.payload('alarm-event', event));
    } else if (c.type === 'retired') {
      for (const t of this.alarmTopics.get(c.asset) ?? []) this.setState(t, '');
      this.alarmTopics.delete(c.asset);
      this.setState(this.topics.health(c.asset), '');
      this.enqueue(this.topics.event(c.asset, 'retired'), this.payload('asset-event', { id: `${c.asset}/retired/${c.at}`, event: 'retired', eventAt: c.at, asset: c.asset }));
    } else if (c.type === 'released') {
      // Handed over to another member, which publishes it now: forget it here without touching the broker's retained
      // state (clearing it would race the new owner's publish).
      for (const t of [...(this.alarmTopics.get(c.asset) ?? []), this.topics.health(c.asset)]) {
        this.state.delete(t);
        this.unsent.delete(t);
      }
      this.alarmTopics.delete(c.asset);
    } else if (c.type === 'quality' && this.events === 'all') {
      this.enqueue(this.topics.event(c.issue.asset, 'quality'), this.payload('quality-event', { id: `${c.issue.asset}/${c.issue.signal}/${c.issue.kind}/${c.issue.at}`, event: 'quality', eventAt: c.issue.at, issue: c.issue }));
    }
  }

  private setAlarm(a: ActiveAlarm): void {
    const t = this.topics.activeAlarm(a.asset, a.id);
    let set = this.alarmTopics.get(a.asset);
    if (!set) this.alarmTopics.set(a.asset, (set = new Set()));
    set.add(t);
    this.setState(t, this.payload('alarm', { alarm: a }));
  }

  private clearAlarm(a: ActiveAlarm): void {
    const t = this.topics.activeAlarm(a.asset, a.id);
    this.alarmTopics.get(a.asset)?.delete(t);
    this.setState(t, '');
  }

  /** Records the latest retained payload of a topic and publishes it if connected. */
  private setState(topic: string, payload: string): void {
    if (payload === '' && this.unsent.delete(topic)) {
      // Set and cleared while the broker was down (an alarm episode that began and ended in an outage): its payload
      // never left this process, so keeping '' in the state map would grow it by one topic per episode. It becomes a
      // bounded clear like any other (a previous process may still have published it).
      this.state.delete(topic);
    }
    if (payload === '' && !this.state.has(topic)) {
      // A clear for a topic whose payload never reached the broker from here may still matter (published before a
      // restart of this process): remembered, bounded.
      if (this.link.current) return this.publishState(this.link.current, topic, '');
      this.clears.push(topic);
      if (this.clears.length > this.maxQueue) this.clears.splice(0, this.clears.length - this.maxQueue).forEach(() => this.counters.clearsDropped++);
      return;
    }
    this.state.set(topic, payload);
    const c = this.link.current;
    if (c) this.publishState(c, topic, payload);
    else if (payload !== '') this.unsent.add(topic);
  }

  private publishState(client: MqttClient, topic: string, payload: string): void {
    client.publish(topic, payload, { qos: 1, retain: true }, (err) => {
      if (err) return this.publishFailed(err, topic);
      this.counters.statePublished++;
      // A clear acknowledged is done: forget it, unless the topic was set again meanwhile.
      if (payload === '' && this.state.get(topic) === '') this.state.delete(topic);
    });
  }

  /** On every connection: `online`, then every asset's state and the clears that waited (a broker may have lost them). */
  private async resync(client: MqttClient): Promise<void> {
    client.publish(this.topics.status(), this.payload('status', { state: 'online', connections: this.link.connections }), { qos: 1, retain: true }, (err) => {
      if (err) this.publishFailed(err, this.topics.status());
      else this.counters.statePublished++;
    });
    this.unsent.clear();
    for (const [topic, payload] of this.state) this.publishState(client, topic, payload);
    for (const topic of this.clears.splice(0)) this.publishState(client, topic, '');
  }

  private enqueue(topic: string, payload: string): void {
    this.queue.push({ topic, payload });
    this.trim();
    this.pump();
  }

  private trim(): void {
    const over = this.queue.length - this.maxQueue;
    if (over > 0) {
      this.queue.splice(0, over);
      this.counters.eventsDropped += over;
    }
  }

  /** Hands queued events to the connection, at most {@link MAX_IN_FLIGHT} unacknowledged at once. */
  private pump(): void {
    const client = this.link.current;
    while (client && this.inFlight.size < MAX_IN_FLIGHT && this.queue.length > 0) {
      const ev = this.queue.shift()!;
      const id = ++this.seq;
      this.inFlight.set(id, ev);
      client.publish(ev.topic, ev.payload, { qos: 1, retain: false }, (err) => {
        if (!this.inFlight.delete(id)) return; // taken back into the queue when the connection dropped
        if (err) {
          this.publishFailed(err, ev.topic);
          this.queue.unshift(ev);
          this.trim();
        } else this.counters.eventsPublished++;
        this.pump();
      });
    }
  }

  /** The timer's tick: it never throws (an exception from a timer would end the process); a failure is counted and reported. */
  private periodic(): void {
    try {
      this.status.refresh();
      for (const h of this.status.healthAll()) this.setState(this.topics.health(h.asset), this.payload('health', { health: h satisfies AssetHealth }));
    } catch (err) {
      this.counters.periodicErrors++;
      this.fail(err instanceof LeptonError ? err : new LeptonError('MFG_MQTT_PUBLISH', `The periodic health of line ${this.status.line} could not be published (the cause says why); the next tick tries again.`, { cause: err }));
    }
  }

  private publishFailed(err: Error, topic: string): void {
    this.counters.publishErrors++;
    if (this.link.current) this.fail(new LeptonError('MFG_MQTT_PUBLISH', `The broker refused a message on ${topic}: ${err.message}. Check the broker's ACL for this client.`, { cause: err }));
  }

  private fail(e: LeptonError): void {
    try {
      this.onError?.(e);
    } catch {
      // the caller's callback failing must not stop publishing
    }
  }
}
