import { randomBytes } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { LeptonError } from '@lepton/core';
import { integer, invalid, shownUrl } from '../internal/guards.js';

/** How the plant outputs reach the broker: URL, credentials, TLS and timing. Shared by the MQTT and Sparkplug publishers. */
export interface PlantMqttOptions {
  /** Broker URL: `mqtt://`, `mqtts://`, `ws://` or `wss://`. Credentials in the URL are taken out and never printed. */
  url: string;
  /** User name (or put it in the URL). */
  username?: string;
  /** Password (or put it in the URL). Never logged, never in an error message. */
  password?: string;
  /** TLS for `mqtts://`/`wss://`: CA bundle, client certificate and key (PEM), and whether to verify the broker (default true). */
  tls?: {
    /** CA certificates (PEM) the broker's certificate must chain to. */
    ca?: string | Buffer;
    /** Client certificate (PEM) for mutual TLS. */
    cert?: string | Buffer;
    /** Client private key (PEM) for mutual TLS. */
    key?: string | Buffer;
    /** Verify the broker's certificate. Default true; turn off only on a lab broker. */
    rejectUnauthorized?: boolean;
  };
  /** Client id. Default `lepton-<kind>-<random>`. */
  clientId?: string;
  /** MQTT keep-alive, s (1 to 65,535): the broker publishes the will 1.5 × this after it stops hearing a vanished host. Default 10. */
  keepaliveSeconds?: number;
  /** Deadline of the first connection, ms. Default 5,000. */
  connectTimeoutMs?: number;
  /** Wait between reconnection attempts, ms. Default 1,000. */
  reconnectPeriodMs?: number;
}

/** @internal {@link PlantMqttOptions} validated, with the credentials taken out of the URL. */
export interface ResolvedMqttOptions {
  url: string;
  /** The URL without credentials, safe for messages. */
  shownUrl: string;
  client: IClientOptions;
  connectTimeoutMs: number;
  reconnectPeriodMs: number;
}

/** PEM text or bytes (or a list of them, as Node's `tls` takes them). */
const isPem = (v: unknown): boolean => typeof v === 'string' || ArrayBuffer.isView(v) || (Array.isArray(v) && v.every((x) => typeof x === 'string' || ArrayBuffer.isView(x)));

/**
 * Checks the TLS options before mqtt.js hands them to Node's `tls`, which throws a plain TypeError for a wrong type and
 * an OpenSSL error for text that is not PEM (or a key that does not match the certificate) from inside `connect`.
 */
function checkTls(fn: string, tls: NonNullable<PlantMqttOptions['tls']>): void {
  for (const k of ['ca', 'cert', 'key'] as const) {
    const v: unknown = tls[k];
    if (v !== undefined && !isPem(v)) throw invalid(fn, `options.tls.${k}`, 'PEM text or a Buffer', v, 'INVALID_ARGUMENT');
  }
  if (tls.rejectUnauthorized !== undefined && typeof tls.rejectUnauthorized !== 'boolean') throw invalid(fn, 'options.tls.rejectUnauthorized', 'a boolean', tls.rejectUnauthorized, 'INVALID_ARGUMENT');
  try {
    createSecureContext({ ...(tls.ca !== undefined ? { ca: tls.ca } : {}), ...(tls.cert !== undefined ? { cert: tls.cert } : {}), ...(tls.key !== undefined ? { key: tls.key } : {}) });
  } catch (err) {
    // OpenSSL's message names the routine, never the key material; it is still kept out of ours (cause only).
    throw new LeptonError('INVALID_ARGUMENT', `${fn}: options.tls has a CA, certificate or key that is not valid PEM, or a key that does not match the certificate.`, { details: { field: 'options.tls' }, cause: err });
  }
}

/**
 * @internal Validates the connection options.
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` naming the bad option (never its value)
 */
export function resolveMqttOptions(fn: string, o: PlantMqttOptions, kind: string): ResolvedMqttOptions {
  if (typeof o !== 'object' || o === null) throw invalid(fn, 'options', 'an object', o, 'INVALID_ARGUMENT');
  let u: URL;
  try {
    u = new URL(String(o.url));
  } catch {
    throw invalid(fn, 'options.url', 'a broker URL such as mqtt://127.0.0.1:1883', o.url, 'INVALID_ARGUMENT');
  }
  if (typeof o.url !== 'string' || !/^(mqtts?|wss?):$/.test(u.protocol) || u.hostname === '') throw invalid(fn, 'options.url', 'a broker URL such as mqtt://127.0.0.1:1883', o.url, 'INVALID_ARGUMENT');
  // A malformed percent-escape in the URL's credentials is the caller's error: typed, naming the option, never the value.
  const decode = (part: string): string | undefined => {
    if (!part) return undefined;
    try {
      return decodeURIComponent(part);
    } catch {
      throw new LeptonError('INVALID_ARGUMENT', `${fn}: options.url has credentials that are not valid percent-encoding (encode them with encodeURIComponent, or pass options.username/options.password).`, { details: { field: 'options.url' } });
    }
  };
  const username = o.username ?? decode(u.username);
  const password = o.password ?? decode(u.password);
  for (const [k, v] of [['username', o.username], ['password', o.password], ['clientId', o.clientId]] as const) {
    if (v !== undefined && (typeof v !== 'string' || v.length === 0 || v.length > 65_535)) throw invalid(fn, `options.${k}`, 'a non-empty string', v, 'INVALID_ARGUMENT');
  }
  if (o.tls !== undefined && (typeof o.tls !== 'object' || o.tls === null)) throw invalid(fn, 'options.tls', 'an object { ca, cert, key, rejectUnauthorized }', o.tls, 'INVALID_ARGUMENT');
  if (o.tls !== undefined) checkTls(fn, o.tls);
  u.username = '';
  u.password = '';
  const url = u.toString();
  const client: IClientOptions = {
    clientId: o.clientId ?? `lepton-${kind}-${randomBytes(4).toString('hex')}`,
    clean: true,
    keepalive: integer(fn, 'options.keepaliveSeconds', o.keepaliveSeconds ?? 10, 1, 65_535),
    reconnectPeriod: 0, // one client per connection (see MqttLink)
    protocolVersion: 4,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(o.tls?.ca !== undefined ? { ca: o.tls.ca } : {}),
    ...(o.tls?.cert !== undefined ? { cert: o.tls.cert } : {}),
    ...(o.tls?.key !== undefined ? { key: o.tls.key } : {}),
    rejectUnauthorized: o.tls?.rejectUnauthorized ?? true,
  };
  return {
    url,
    shownUrl: shownUrl(u),
    client,
    connectTimeoutMs: integer(fn, 'options.connectTimeoutMs', o.connectTimeoutMs ?? 5000, 100, 600_000),
    reconnectPeriodMs: integer(fn, 'options.reconnectPeriodMs', o.reconnectPeriodMs ?? 1000, 10, 600_000),
  };
}

/** @internal What a {@link MqttLink} asks its owner for and tells it. */
/**
 * What both MQTT outputs' `start()` do around their constructor: check `options` is an object whose `status` is a
 * `LineStatus` (duck-typed: JavaScript callers), build the output, start its link, and on failure stop the output
 * (timers, status subscription) before rethrowing.
 * @internal
 */
export async function startOutput<T>(who: string, options: unknown, build: () => { output: T; link: MqttLink; stop: () => void }): Promise<T> {
  if (typeof options !== 'object' || options === null) throw invalid(who, 'options', 'an object', options, 'INVALID_ARGUMENT');
  const s = (options as { status?: unknown }).status;
  if (typeof s !== 'object' || s === null || typeof (s as { subscribe?: unknown }).subscribe !== 'function') throw invalid(who, 'options.status', 'a LineStatus', s, 'INVALID_ARGUMENT');
  const { output, link, stop } = build();
  try {
    await link.start();
  } catch (err) {
    stop();
    throw err;
  }
  return output;
}

export interface LinkHooks {
  /** The will of the next connection (Sparkplug: a fresh bdSeq each time). */
  will(): NonNullable<IClientOptions['will']>;
  /** Runs once a connection is up, before it counts as connected: subscribe, publish births or state. */
  connected(client: MqttClient): Promise<void>;
  /** The connection counts as up now (after {@link connected}): flush what waited. */
  ready?(): void;
  /** The connection was lost (or closed). */
  disconnected?(): void;
  /** A message on a subscribed topic. */
  message?(topic: string, payload: Buffer): void;
  /**
   * A failure worth telling the user (typed); the link goes on. Failed reconnections come here (`MFG_MQTT_CONNECT`), the
   * first at once, then at most one per {@link RECONNECT_REPORT_MS} with the number of attempts that failed meanwhile.
   */
  error(err: LeptonError): void;
}

/** @internal At most one report of failed reconnections per this many ms. */
export const RECONNECT_REPORT_MS = 30_000;

/**
 * @internal One broker connection that comes back by itself: a fresh client (and so a fresh will) per connection, like
 * {@link ScaledLineMonitor} — mqtt.js's own reconnect reuses the first CONNECT packet's will, which Sparkplug cannot
 * have (each NDEATH carries its session's bdSeq), and replays its unbounded offline queue, which we replace with
 * bounded ones. Never throws after {@link start}, and never leaves a rejected promise unhandled.
 */
export class MqttLink {
  private client: MqttClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private up = false;
  private failedSinceReport = 0;
  private lastReportAt = -Infinity;
  /** Connections made (the first included). */
  connections = 0;

  constructor(
    private readonly o: ResolvedMqttOptions,
    private readonly hooks: LinkHooks,
  ) {}

  /** The connected client, or undefined while down. */
  get current(): MqttClient | undefined {
    return this.up ? this.client : undefined;
  }

  /**
   * Connects for the first time.
   *
   * @throws {@link @lepton/core!LeptonError} `MFG_MQTT_CONNECT` when the broker cannot be reached (or refuses the
   *   credentials) within `connectTimeoutMs`
   */
  async start(): Promise<void> {
    await this.connect(true);
  }

  private async connect(first: boolean): Promise<void> {
    const client = mqtt.connect(this.o.url, { ...this.o.client, connectTimeout: this.o.connectTimeoutMs, will: this.hooks.will() });
    this.client = client;
    let failure: string | undefined;
    client.on('error', (err) => (failure = [4, 5, 134, 135].includes((err as { code?: number }).code ?? -1) || /auth/i.test(err.message) ? 'the broker refused the credentials' : 'connection failed'));
    client.on('message', (topic, payload) => this.hooks.message?.(topic, payload));
    client.on('close', () => {
      if (this.client !== client) return;
      const was = this.up;
      this.up = false;
      client.end(true); // fails whatever still waits on this client: the owner's queues take it back
      if (was) this.hooks.disconnected?.();
      if (!this.closing && !first) this.schedule();
      first = false;
    });
    const deadline = setTimeout(() => client.end(true), this.o.connectTimeoutMs);
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('close', () => reject(new LeptonError('MFG_MQTT_CONNECT', `Could not connect to ${this.o.shownUrl} within ${this.o.connectTimeoutMs} ms (${failure ?? 'no answer'}); is the broker running and are the credentials right?`)));
      });
      this.connections++;
      await this.hooks.connected(client);
      this.up = client.connected;
    } catch (err) {
      client.end(true);
      throw err instanceof LeptonError ? err : new LeptonError('MFG_MQTT_CONNECT', `Setting up the connection to ${this.o.shownUrl} failed: ${(err as Error).message}.`, { cause: err });
    } finally {
      clearTimeout(deadline);
    }
    first = false;
    if (this.up) this.hooks.ready?.();
  }

  private schedule(): void {
    if (this.timer || this.closing) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connect(false).then(
        () => (this.failedSinceReport = 0),
        (err: unknown) => {
          if (this.closing) return;
          this.failedSinceReport++;
          const now = Date.now();
          if (now - this.lastReportAt >= RECONNECT_REPORT_MS) {
            this.lastReportAt = now;
            const n = this.failedSinceReport;
            this.failedSinceReport = 0;
            const why = err instanceof Error ? err.message : String(err);
            this.hooks.error(new LeptonError('MFG_MQTT_CONNECT', `Reconnecting to ${this.o.shownUrl} failed (${n} attempt${n === 1 ? '' : 's'} since the last report; retrying every ${this.o.reconnectPeriodMs} ms): ${why}`, { details: { attempts: n } }));
          }
          this.schedule();
        },
      );
    }, this.o.reconnectPeriodMs);
  }

  /**
   * Publishes now if connected; the callback gets an error otherwise (never throws).
   *
   * @returns whether the message was handed to a live connection
   */
  publish(topic: string, payload: Buffer | string, opts: { qos: 0 | 1; retain: boolean }, done?: (err?: Error) => void): boolean {
    const c = this.current;
    if (!c) {
      done?.(new Error('not connected'));
      return false;
    }
    c.publish(topic, payload, opts, (err) => done?.(err ?? undefined));
    return true;
  }

  /**
   * Ends the connection: `last` (published first, QoS 1) is e.g. an offline status or an NDEATH. Never takes much more
   * than 2 × `graceMs`: the `last` acknowledgement and the clean DISCONNECT (which mqtt.js sends only once every QoS 1
   * message is acknowledged) are each awaited up to `graceMs`, then the socket is destroyed, so a broker that went
   * silent cannot hold the caller forever.
   *
   * @param graceMs - how long each step may wait, ms (default 2,000)
   */
  async close(last?: { topic: string; payload: Buffer | string; retain: boolean }, graceMs = 2000): Promise<void> {
    this.closing = true;
    clearTimeout(this.timer);
    const grace = Number.isFinite(graceMs) ? Math.max(0, graceMs) : 0;
    const c = this.current;
    if (c && last) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, grace);
        c.publish(last.topic, last.payload, { qos: 1, retain: last.retain }, () => (clearTimeout(t), resolve()));
      });
    }
    this.up = false;
    const client = this.client;
    if (!client) return;
    // A clean DISCONNECT: the broker drops the will, the offline status (or NDEATH) above says it instead.
    const ended = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), grace);
      client.end(false, {}, () => (clearTimeout(t), resolve(true)));
    });
    // mqtt.js ignores a second end() while one is pending (it waits for PUBACKs that may never come): destroy the socket.
    if (!ended) client.stream?.destroy();
    else await client.endAsync(true).catch(() => undefined);
  }
}
