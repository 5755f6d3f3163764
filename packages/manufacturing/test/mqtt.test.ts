import { setTimeout as sleep } from 'node:timers/promises';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MqttTelemetry, type TelemetryItem } from '@lepton/manufacturing';
import { Broker, freePort, mosquittoAvailable, startBroker } from './support/mosquitto.js';

// Outside CI a developer without Debian's mosquitto sees these skipped (and why); in CI they must run.
const skip = !mosquittoAvailable() && !process.env['CI'];
if (skip) console.warn('mqtt.test.ts skipped: install mosquitto (apt-get install -y mosquitto) to run it');

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(20);
  }
}

async function publishAll(url: string, messages: Array<[string, string]>): Promise<void> {
  const pub = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  for (const [topic, payload] of messages) await pub.publishAsync(topic, payload, { qos: 1 });
  await pub.endAsync();
}

describe.skipIf(skip)('MQTT telemetry against a real Mosquitto broker', () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => broker?.stop());

  it('streams samples, reports malformed messages, and loses nothing published after a broker restart', async () => {
    const source = await MqttTelemetry.connect({ url: broker.url, topic: 'plant/{asset}/{signal}', reconnectPeriodMs: 200 });
    await until(() => source.stats().subscriptions === 1);
    const items: TelemetryItem[] = [];
    const consumer = (async () => {
      for await (const item of source.items()) items.push(item);
    })();
    const batch = (from: number, n: number): Array<[string, string]> =>
      Array.from({ length: n }, (_, i) => [`plant/press-${(from + i) % 3}/temperature`, JSON.stringify({ timestamp: 1_700_000_000_000 + (from + i) * 1000, value: 60 + ((from + i) % 7) })]);
    await publishAll(broker.url, [...batch(0, 50), ['plant/press-1/temperature', '{not json'], ['plant/press-1/temperature', JSON.stringify({ timestamp: 'x', value: 1 })], ['other/topic/x', '{}']]);
    await until(() => items.length >= 52); // 'other/topic/x' does not match the subscription at all

    await broker.stop();
    await until(() => !source.connected);
    await broker.start();
    await until(() => source.stats().subscriptions === 2); // reconnected and resubscribed
    await publishAll(broker.url, batch(50, 50));
    await until(() => items.length >= 102);
    await source.close();
    await consumer;

    const records = items.filter((i): i is { record: NonNullable<Extract<TelemetryItem, { record: unknown }>['record']> } => 'record' in i);
    expect(records.map((r) => r.record.timestamp)).toEqual(Array.from({ length: 100 }, (_, i) => 1_700_000_000_000 + i * 1000));
    expect(records[0]!.record).toMatchObject({ asset: 'press-0', signal: 'temperature', value: 60, quality: 'good' });
    const rejected = items.filter((i) => 'rejected' in i);
    expect(rejected).toHaveLength(2);
    expect(source.stats()).toMatchObject({ valid: 100, rejected: 2, reconnects: 1, subscriptions: 2, overflow: 0 });
  }, 60_000);

  it('a flood of junk neither fills the queue nor pushes out samples; a payload over maxPayloadBytes is rejected unread', async () => {
    // Nobody reads the stream: the queue (maxQueue 5) holds what waits for the consumer.
    const source = await MqttTelemetry.connect({ url: broker.url, topic: 'plant/{asset}/{signal}', maxQueue: 5, maxPayloadBytes: 1024 });
    await until(() => source.stats().subscriptions === 1);
    const junk = Array.from({ length: 40 }, (): [string, string] => ['plant/press-1/temperature', '{not json']);
    const big: [string, string] = ['plant/press-1/temperature', JSON.stringify({ timestamp: 1_700_000_000_000, value: 1, note: 'x'.repeat(4096) })];
    const good: [string, string] = ['plant/press-1/temperature', JSON.stringify({ timestamp: 1_700_000_000_000, value: 61 })];
    await publishAll(broker.url, [big, ...junk, good]);
    await until(() => source.stats().received === 42);
    expect(source.stats()).toMatchObject({ received: 42, rejected: 41, valid: 1, overflow: 0 });
    const items: TelemetryItem[] = [];
    const consumer = (async () => {
      for await (const item of source.items()) items.push(item);
    })();
    await until(() => items.some((i) => 'record' in i));
    await source.close();
    await consumer;
    // Only as many rejection reports as the queue holds were kept (5 of 41), and the valid sample was not pushed out.
    expect(items.filter((i) => 'rejected' in i)).toHaveLength(5);
    expect(items.filter((i) => 'record' in i)).toHaveLength(1);
    const first = items[0]!;
    expect('rejected' in first && first.rejected.issues[0]).toMatchObject({ field: '(payload)' });
    await expect(MqttTelemetry.connect({ url: broker.url, topic: 'plant/{asset}/{signal}', maxPayloadBytes: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  }, 30_000);

  it('fails to connect with a typed error when no broker listens', async () => {
    await expect(MqttTelemetry.connect({ url: `mqtt://127.0.0.1:${await freePort()}`, topic: 'a/{asset}/{signal}' })).rejects.toMatchObject({ code: 'MFG_MQTT_CONNECT' });
  }, 20_000);
});
