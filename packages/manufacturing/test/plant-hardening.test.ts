import { describe, expect, it } from 'vitest';
import { LeptonError } from '@lepton/core';
import { LineMonitor, LineStatus, MqttPlantPublisher, SparkplugEdgeNode } from '@lepton/manufacturing';
import { startSilentBroker, until } from './support/plant.js';

// Regressions from a hostile review of the plant outputs: each failed before its fix.

function line(name: string) {
  const monitor = new LineMonitor({ signals: ['pressure'], baseline: { '*': { pressure: { center: 5, sigma: 0.1 } } }, subgroup: 2 });
  const status = new LineStatus({ line: name, monitor, signals: ['pressure'] });
  return { monitor, status };
}

describe('closing against a broker that went silent', { timeout: 15_000 }, () => {
  it('MqttPlantPublisher.close(200) returns although the broker never acknowledges a QoS 1 message', async () => {
    const broker = await startSilentBroker();
    try {
      const publisher = await MqttPlantPublisher.start({ url: broker.url, status: line('line-1').status, keepaliveSeconds: 3 });
      await until(() => broker.publishes() >= 1, 5000, 'the online status'); // QoS 1, never acknowledged
      const t0 = Date.now();
      await publisher.close(200);
      expect(Date.now() - t0).toBeLessThan(1500);
      expect(publisher.stats().connected).toBe(false);
    } finally {
      await broker.close();
    }
  });

  it('SparkplugEdgeNode.close(200) returns although the broker never acknowledges the NDEATH', async () => {
    const broker = await startSilentBroker();
    try {
      const node = await SparkplugEdgeNode.start({ url: broker.url, status: line('line-1').status, groupId: 'g', keepaliveSeconds: 3 });
      const t0 = Date.now();
      await node.close(200);
      expect(Date.now() - t0).toBeLessThan(1500);
      expect(broker.publishes()).toBeGreaterThanOrEqual(2); // NBIRTH and NDEATH
    } finally {
      await broker.close();
    }
  });
});

describe('broker URL credentials', () => {
  it('a malformed percent-escape in the URL user or password is INVALID_ARGUMENT naming options.url, never echoing them', async () => {
    const status = line('line-1').status;
    for (const url of ['mqtt://user:%E0%A4%A@127.0.0.1:1', 'mqtt://%ZZsecret:pw@127.0.0.1:1']) {
      for (const start of [() => MqttPlantPublisher.start({ url, status }), () => SparkplugEdgeNode.start({ url, status, groupId: 'g' })]) {
        const err = (await start().catch((e: unknown) => e)) as LeptonError;
        expect(err).toBeInstanceOf(LeptonError);
        expect(err.code).toBe('INVALID_ARGUMENT');
        expect(err.details).toMatchObject({ field: 'options.url' });
        expect(err.message).not.toMatch(/%E0|%ZZ|secret|user:/);
      }
    }
  });
});
