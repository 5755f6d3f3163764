import mqtt, { type MqttClient } from 'mqtt';
import { LeptonError } from '@lepton/core';
import { integer, invalid, readFields, shownUrl } from '../internal/guards.js';
import { parseSensorRecord, type ParsedRecord } from './record.js';

/** Options for {@link MqttTelemetry.connect}. */
export interface MqttTelemetryOptions {
  /** Broker URL, e.g. `mqtt://127.0.0.1:1883`. */
  url: string;
  /**
   * Topic pattern with `{asset}` and `{signal}` placeholders, e.g. `plant/{asset}/{signal}`. It becomes the MQTT
   * subscription (`plant/+/+`) and fills `asset`/`signal` when the payload lacks them.
   */
  topic: string;
  /** Client id; a fixed id plus `cleanSession: false` lets the broker keep the subscription across reconnects. */
  clientId?: string;
  /** Subscription QoS. Default 1 (at least once). */
  qos?: 0 | 1;
  /**
   * Most samples waiting for the consumer; beyond it a new sample is refused (counted as `overflow`). Rejection reports
   * have as many places of their own: beyond them a malformed message is counted as `rejected` and its report is not
   * queued, so junk never takes a sample's place. Default 100,000.
   */
  maxQueue?: number;
  /**
   * Largest payload parsed, in bytes; a larger message is rejected without being parsed (counted, reported as
   * `(payload)`). A sensor sample is a few hundred bytes. Default 65,536. With `protocolVersion: 5` the client also
   * announces a Maximum Packet Size (this limit plus room for the topic and headers) in its CONNECT, and the broker
   * drops larger messages for this client without sending them. With MQTT 3.1.1 there is no such announcement: mqtt.js
   * receives the whole message (up to MQTT's 256 MB) before it is refused, so bound it at the broker too
   * (Mosquitto `message_size_limit`).
   */
  maxPayloadBytes?: number;
  /** MQTT protocol version: 4 (3.1.1, the default) or 5 (the broker then never sends a message over the size limit). */
  protocolVersion?: 4 | 5;
  /** Reconnect period, ms. Default 500. */
  reconnectPeriodMs?: number;
}

/** One item of the telemetry stream. */
export type TelemetryItem = ParsedRecord;

/** Counters of an MQTT telemetry source. */
export interface MqttTelemetryStats {
  /** Messages received. */
  received: number;
  /** Valid samples delivered to the queue. */
  valid: number;
  /** Malformed messages (bad JSON, bad fields, topic not matching the pattern, payload over `maxPayloadBytes`). */
  rejected: number;
  /** Samples refused because the consumer fell `maxQueue` behind. */
  overflow: number;
  /** Times the connection was re-established. */
  reconnects: number;
  /** Subscriptions the broker acknowledged (one per connection): after it, no published sample is missed. */
  subscriptions: number;
  /** Subscriptions the broker refused (a SUBACK failure code, e.g. an ACL) or that failed: the first one makes `connect()` fail, a later one (after a reconnection) is counted here. */
  subscriptionsRefused: number;
}

function compile(pattern: string): { filter: string; match: (topic: string) => Record<string, string> | undefined } {
  const parts = pattern.split('/');
  const filter = parts.map((p) => (/^\{\w+\}$/.test(p) ? '+' : p)).join('/');
  return {
    filter,
    match: (topic) => {
      const t = topic.split('/');
      if (t.length !== parts.length) return undefined;
      const out: Record<string, string> = {};
      for (let i = 0; i < parts.length; i++) {
        const p = parts[i]!;
        const m = /^\{(\w+)\}$/.exec(p);
        if (m) out[m[1]!] = t[i]!;
        else if (p !== t[i]) return undefined;
      }
      return out;
    },
  };
}

/**
 * Checks {@link MqttTelemetryOptions} before mqtt.js sees them (it throws plain errors, some of them later from a timer)
 * and returns the broker URL as it may be shown: without the credentials a URL can carry.
 */
function checkOptions(options: MqttTelemetryOptions): { shownUrl: string; o: MqttTelemetryOptions } {
  const fn = 'MqttTelemetry.connect';
  if (typeof options !== 'object' || options === null) throw invalid(fn, 'options', 'an object', options, 'INVALID_ARGUMENT');
  // Read once: a getter that throws is INVALID_ARGUMENT naming it, and what is checked is what is used.
  const o = readFields(fn, 'options', options, ['url', 'topic', 'clientId', 'qos', 'maxQueue', 'maxPayloadBytes', 'reconnectPeriodMs', 'protocolVersion'] as const) as MqttTelemetryOptions;
  let u: URL | undefined;
  try {
    if (typeof o.url === 'string') u = new URL(o.url);
  } catch {
    u = undefined;
  }
  if (u === undefined || !/^(mqtts?|wss?):$/.test(u.protocol) || u.hostname === '') throw invalid(fn, 'options.url', 'a broker URL such as mqtt://127.0.0.1:1883', o.url, 'INVALID_ARGUMENT');
  // A topic pattern level is a {placeholder} or literal text; a wildcard there would match topics the pattern can never
  // take apart (every message would be rejected).
  if (typeof o.topic !== 'string' || o.topic.length === 0 || o.topic.length > 65_535 || o.topic.split('/').some((p) => !/^\{\w+\}$/.test(p) && /[+#\u0000]/.test(p))) {
    throw invalid(fn, 'options.topic', 'a topic pattern such as plant/{asset}/{signal} (no + or # wildcards)', o.topic, 'INVALID_ARGUMENT');
  }
  if (o.clientId !== undefined && (typeof o.clientId !== 'string' || o.clientId.length === 0 || o.clientId.length > 65_535)) throw invalid(fn, 'options.clientId', 'a non-empty string', o.clientId, 'INVALID_ARGUMENT');
  if (o.qos !== undefined && o.qos !== 0 && o.qos !== 1) throw invalid(fn, 'options.qos', '0 or 1', o.qos, 'INVALID_ARGUMENT');
  if (o.maxQueue !== undefined) integer(fn, 'options.maxQueue', o.maxQueue, 1);
  if (o.maxPayloadBytes !== undefined) integer(fn, 'options.maxPayloadBytes', o.maxPayloadBytes, 1, 256 * 1024 * 1024);
  if (o.reconnectPeriodMs !== undefined) integer(fn, 'options.reconnectPeriodMs', o.reconnectPeriodMs, 0, 600_000);
  if (o.protocolVersion !== undefined && o.protocolVersion !== 4 && o.protocolVersion !== 5) throw invalid(fn, 'options.protocolVersion', '4 (MQTT 3.1.1) or 5', o.protocolVersion, 'INVALID_ARGUMENT');
  return { shownUrl: shownUrl(u), o };
}

const DEFAULT_MAX_PAYLOAD = 65_536;
const SHOWN_TOPIC = 256;

/**
 * @internal One MQTT message as a telemetry item: the JSON payload validated as a sensor record, with `asset`/`signal`
 * taken from the topic when the payload lacks them (`fromTopic` undefined: the topic did not match). Never throws.
 */
export function telemetryItem(topic: string, payload: Buffer, fromTopic: Record<string, string> | undefined, maxPayloadBytes = DEFAULT_MAX_PAYLOAD): TelemetryItem {
  // A report keeps its topic: at most SHOWN_TOPIC characters of it, so junk on long topics cannot fill the queue's memory.
  if (topic.length > SHOWN_TOPIC) topic = `${topic.slice(0, SHOWN_TOPIC)}…`;
  if (payload.length > maxPayloadBytes) return { rejected: { source: topic, issues: [{ field: '(payload)', message: `payload of ${payload.length} bytes is over the ${maxPayloadBytes}-byte limit` }] } };
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch {
    body = undefined;
  }
  if (fromTopic === undefined) return { rejected: { source: topic, issues: [{ field: '(topic)', message: 'topic does not match the pattern' }] } };
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return { rejected: { source: topic, issues: [{ field: '(record)', message: 'payload is not a JSON object' }] } };
  return parseSensorRecord({ ...fromTopic, ...(body as object) }, topic);
}

/**
 * Sensor samples from an MQTT broker (mqtt.js), as an async stream of validated records and counted rejections.
 * The client reconnects by itself after a broker restart and resubscribes, so every message published after the
 * reconnection arrives; a malformed message is reported and never stops the stream.
 */
export class MqttTelemetry {
  private readonly queue: TelemetryItem[] = [];
  /** Rejection reports in {@link queue}. */
  private queuedReports = 0;
  private waiting: ((v: IteratorResult<TelemetryItem>) => void) | undefined;
  private closed = false;
  private readonly counters: MqttTelemetryStats = { received: 0, valid: 0, rejected: 0, overflow: 0, reconnects: 0, subscriptions: 0, subscriptionsRefused: 0 };

  private constructor(
    private readonly client: MqttClient,
    private readonly maxQueue: number,
    private readonly maxPayloadBytes: number,
  ) {}

  /**
   * Connects, subscribes and starts queueing samples.
   *
   * @param options - broker, topic pattern and limits
   * @returns the connected source
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` (`details.field`) for options that are not an object, a
   *   URL that is not an `mqtt://`, `mqtts://`, `ws://` or `wss://` broker URL, a topic pattern that is not a non-empty
   *   string without wildcards, an empty client id, a QoS other than 0 or 1, or a queue size, payload limit or reconnect period
   *   that is not an integer in range, a protocol version other than 4 or 5, or an option whose getter throws;
   *   `MFG_MQTT_CONNECT` when the first connection fails or the broker refuses the first subscription (a SUBACK
   *   failure code such as an ACL denial; the message shows the URL without its credentials)
   */
  static async connect(options: MqttTelemetryOptions): Promise<MqttTelemetry> {
    const { shownUrl, o } = checkOptions(options);
    const { filter, match } = compile(o.topic);
    const maxPayloadBytes = o.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD;
    const v5 = o.protocolVersion === 5;
    const client = mqtt.connect(o.url, {
      clientId: o.clientId ?? `lepton-${process.pid}-${Math.round(performance.now())}`,
      clean: o.clientId === undefined,
      reconnectPeriod: o.reconnectPeriodMs ?? 500,
      connectTimeout: 5000,
      resubscribe: true,
      // MQTT 5: the broker must not send a packet larger than this (payload limit + topic (≤ 65,535 bytes) + headers).
      ...(v5 ? { protocolVersion: 5 as const, properties: { maximumPacketSize: maxPayloadBytes + 65_536 + 1024 } } : {}),
    });
    const source = new MqttTelemetry(client, o.maxQueue ?? 100_000, maxPayloadBytes);
    let connectedOnce = false;
    let first: ((err: Error | undefined) => void) | undefined;
    client.on('connect', () => {
      if (connectedOnce) source.counters.reconnects++;
      connectedOnce = true;
      // Subscribe on every connect: a broker restarted without persistence has forgotten the subscription.
      client.subscribe(filter, { qos: o.qos ?? 1 }, (err, granted) => {
        // A SUBACK code ≥ 0x80 (128 in MQTT 3.1.1) is a refusal, not a grant.
        const refused = err || (granted ?? []).some((g) => g.qos >= 0x80) ? new Error('refused') : undefined;
        if (refused) source.counters.subscriptionsRefused++;
        else source.counters.subscriptions++;
        const f = first;
        first = undefined;
        f?.(refused);
      });
    });
    client.on('error', () => undefined); // connection errors are retried by the reconnect loop
    client.on('message', (topic, payload) => source.onMessage(topic, payload, match));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new LeptonError('MFG_MQTT_CONNECT', `Could not connect to ${shownUrl} and subscribe within 5 s.`)), 5000);
      first = (err) => {
        clearTimeout(timer);
        if (err) reject(new LeptonError('MFG_MQTT_CONNECT', `${shownUrl} refused the subscription to ${filter.slice(0, 256)} (not authorized, or a filter the broker does not accept); check the broker's ACL for this client.`));
        else resolve();
      };
    }).catch(async (err) => {
      first = undefined;
      await client.endAsync(true);
      throw err;
    });
    return source;
  }

  private onMessage(topic: string, payload: Buffer, match: (t: string) => Record<string, string> | undefined): void {
    this.counters.received++;
    const item = telemetryItem(topic, payload, match(topic), this.maxPayloadBytes);
    // Samples and rejection reports each have `maxQueue` places: a flood of junk can neither grow memory nor take
    // the places of samples. A report beyond its places is counted and not queued.
    if ('rejected' in item) {
      this.counters.rejected++;
      if (this.queuedReports >= this.maxQueue) return;
    } else if (this.queue.length - this.queuedReports >= this.maxQueue) {
      this.counters.overflow++;
      return;
    } else this.counters.valid++;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w({ value: item, done: false });
    } else {
      this.queue.push(item);
      if ('rejected' in item) this.queuedReports++;
    }
  }

  /** The stream of samples and rejections, in arrival order; ends after {@link close}. */
  async *items(): AsyncGenerator<TelemetryItem> {
    for (;;) {
      const next = this.queue.shift();
      if (next) {
        if ('rejected' in next) this.queuedReports--;
        yield next;
        continue;
      }
      if (this.closed) return;
      const r = await new Promise<IteratorResult<TelemetryItem>>((resolve) => (this.waiting = resolve));
      if (r.done) return;
      yield r.value;
    }
  }

  /** Counters since connecting. */
  stats(): MqttTelemetryStats {
    return { ...this.counters };
  }

  /** Whether the client is connected right now. */
  get connected(): boolean {
    return this.client.connected;
  }

  /** Disconnects and ends the stream (queued items are still delivered). */
  async close(): Promise<void> {
    this.closed = true;
    await this.client.endAsync(true);
    const w = this.waiting;
    this.waiting = undefined;
    w?.({ value: undefined, done: true });
  }
}
