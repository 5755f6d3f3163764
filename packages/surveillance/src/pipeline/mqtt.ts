import mqtt from 'mqtt';
import { surveillanceError } from '../types.js';
import { redactCredentials } from '../video/redact.js';
import type { MqttConfig } from '../config/config.js';
import type { SurveillanceEvent } from './pipeline.js';
import { describeValue } from '@lepton/core';

/** Options of {@link EventPublisher.publish}. */
export interface PublishOptions {
  /** Ask the broker to keep the message for new subscribers (used for the latest snapshot). */
  retain?: boolean;
}

/** Where events are published: an MQTT client, or anything with the same two calls (a test double, a bridge). */
export interface EventPublisher {
  /** Publishes one message (QoS 1). */
  publish(topic: string, payload: string | Uint8Array, options?: PublishOptions): Promise<void>;
  /** Disconnects. */
  close(): Promise<void>;
}

/** Options of {@link connectPublisher}. */
export interface ConnectPublisherOptions {
  /**
   * The broker's "last will": a message it publishes for this client when the connection is lost without a clean
   * disconnect (the process was killed, the host died), e.g. a retained `offline` status.
   */
  will?: {
    /** Topic. */
    topic: string;
    /** Payload. */
    payload: string;
    /** Retained (default false). */
    retain?: boolean;
  };
}

/**
 * Connects to the configured broker with mqtt.js and returns a publisher (QoS 1; mqtt.js queues messages while
 * reconnecting). Closing it waits until the messages in flight are acknowledged.
 *
 * @param config - broker URL, credentials
 * @param options - a last-will message
 * @returns the publisher
 * @throws {@link @lepton/core!LeptonError} `CONFIG_INVALID` naming the URL (credentials masked) when the broker cannot
 *   be reached within 10 s
 */
export async function connectPublisher(config: MqttConfig, options: ConnectPublisherOptions = {}): Promise<EventPublisher> {
  let client: mqtt.MqttClient;
  try {
    client = await mqtt.connectAsync(config.url, {
      connectTimeout: 10_000,
      reconnectPeriod: 1_000,
      ...(config.username === undefined ? {} : { username: config.username }),
      ...(config.password === undefined ? {} : { password: config.password }),
      ...(options.will === undefined ? {} : { will: { topic: options.will.topic, payload: Buffer.from(options.will.payload), qos: 1 as const, retain: options.will.retain ?? false } }),
    });
  } catch (cause) {
    // The URL may carry the broker's user and password (mqtt://nvr:secret@host): masked in the message and details.
    const url = redactCredentials(config.url);
    const why = redactCredentials(cause instanceof Error ? cause.message : describeValue(cause, 200));
    throw surveillanceError('CONFIG_INVALID', `The MQTT broker at ${url} could not be reached: ${why}`, { url }, cause);
  }
  return {
    publish: async (topic, payload, options = {}) => {
      await client.publishAsync(topic, typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), { qos: 1, retain: options.retain ?? false });
    },
    close: async () => {
      await client.endAsync();
    },
  };
}

/**
 * The JSON an event is published as: the rule event's fields plus the event ID, frame, wall time and the snapshot
 * and clip file names (the images themselves go to their own topic).
 * @internal
 */
export function eventPayload(event: SurveillanceEvent): Record<string, unknown> {
  return {
    id: event.id,
    ...event.rule,
    frame: event.frame,
    wallTime: new Date(event.wallTime).toISOString(),
    ...(event.snapshot === undefined ? {} : { snapshot: event.snapshot }),
    ...(event.clip === undefined ? {} : { clip: { path: event.clip.path, start: event.clip.start, end: event.clip.end } }),
  };
}

/**
 * Publishes an event as NVR users expect: the JSON to `<prefix>/<camera>/events/<kind>` and the JPEG snapshot,
 * retained, to `<prefix>/<camera>/<label>/snapshot` (the latest snapshot of each class per camera).
 * @returns the number of messages published
 * @internal
 */
export async function publishEvent(publisher: EventPublisher, prefix: string, event: SurveillanceEvent, jpeg: Uint8Array | undefined): Promise<number> {
  const { camera, kind } = event.rule;
  await publisher.publish(`${prefix}/${camera}/events/${kind}`, JSON.stringify(eventPayload(event)));
  if (jpeg === undefined) return 1;
  const label = event.rule.kind === 'crowd' ? 'crowd' : event.rule.label;
  await publisher.publish(`${prefix}/${camera}/${label}/snapshot`, jpeg, { retain: true });
  return 2;
}
