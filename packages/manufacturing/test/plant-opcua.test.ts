import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataType, MessageSecurityMode, OPCUACertificateManager, OPCUAServer, SecurityPolicy, StatusCodes, Variant, type StatusCode, type UAVariable } from 'node-opcua';
import { afterAll, describe, expect, it } from 'vitest';
import { LineMonitor, LineStatus, NODE_OPCUA_TESTED_VERSION, OpcUaSource, type LineEvent } from '@lepton/manufacturing';
import { freePort } from './support/mosquitto.js';
import { until } from './support/plant.js';

const pki = mkdtempSync(join(tmpdir(), 'lepton-opcua-'));
afterAll(() => rmSync(pki, { recursive: true, force: true }));

// Ahead of the servers' own initial timestamps (now), so that the test's values come after them in time.
const T0 = Date.now() + 60_000;

/** node-opcua's own server on a loopback port, with a press's variables that the test changes. */
async function startServer(port: number) {
  const server = new OPCUAServer({
    port,
    hostname: '127.0.0.1',
    resourcePath: '/UA/lepton-test',
    securityModes: [MessageSecurityMode.None],
    securityPolicies: [SecurityPolicy.None],
    allowAnonymous: true,
    serverCertificateManager: new OPCUACertificateManager({ rootFolder: join(pki, 'server'), automaticallyAcceptUnknownCertificate: true }),
    buildInfo: { productName: 'lepton-test-plc' },
  });
  await server.initialize();
  const addressSpace = server.engine.addressSpace!;
  const ns = addressSpace.getOwnNamespace();
  const press = ns.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: 'Press1' });
  const add = (id: string, dataType: 'Double' | 'String', value: number | string): UAVariable =>
    ns.addVariable({ componentOf: press, nodeId: `s=${id}`, browseName: id, dataType, minimumSamplingInterval: 20, value: new Variant({ dataType: dataType === 'Double' ? DataType.Double : DataType.String, value }) });
  const vars = { pressure: add('press-1.pressure', 'Double', 5), temperature: add('press-1.temperature', 'Double', 60), mode: add('press-1.mode', 'String', 'auto') };
  await server.start();
  const set = (name: keyof typeof vars, value: number | string, at: number, status: StatusCode = StatusCodes.Good) =>
    vars[name].setValueFromSource(new Variant({ dataType: typeof value === 'number' ? DataType.Double : DataType.String, value }), status, new Date(at));
  return { server, set, url: `opc.tcp://127.0.0.1:${port}/UA/lepton-test` };
}

describe('OpcUaSource against node-opcua’s own OPC UA server on loopback', () => {
  it('feeds changing values to the line, counts bad status codes and bad values, and comes back after a server restart', async () => {
    const port = await freePort();
    let plc = await startServer(port);
    const monitor = new LineMonitor({ signals: ['pressure', 'temperature'], baseline: { '*': { pressure: { center: 5, sigma: 0.1 }, temperature: { center: 60, sigma: 1 } } }, subgroup: 2, quality: { intervalMs: 1000, now: () => T0 + 86_400_000 } });
    const status = new LineStatus({ line: 'line-1', monitor, signals: ['pressure', 'temperature'] });
    const events: LineEvent[] = [];
    // The target: the line status (which feeds the monitor), recording the events for the test.
    const target = {
      push: async (item: Parameters<LineStatus['push']>[0]) => {
        const e = await status.push(item);
        events.push(...e);
        return e;
      },
    };
    const source = await OpcUaSource.start({
      endpointUrl: plc.url,
      securityMode: 'None',
      pkiFolder: join(pki, 'client'),
      samplingIntervalMs: 20,
      publishingIntervalMs: 50,
      reconnectDelayMs: 200,
      maxReconnectDelayMs: 1000,
      target,
      nodes: [
        { nodeId: 'ns=1;s=press-1.pressure', asset: 'press-1', signal: 'pressure' },
        { nodeId: 'ns=1;s=press-1.temperature', asset: 'press-1', signal: 'temperature' },
        { nodeId: 'ns=1;s=press-1.mode', asset: 'press-1', signal: 'mode' },
      ],
    });
    const accepted = () => status.health('press-1')?.samples.accepted ?? 0;
    try {
      // The subscription's first notification: one value per node; 'mode' is a string, refused and counted.
      await until(() => source.stats().received >= 3, 10_000, 'the first values');
      expect(source.stats()).toMatchObject({ monitoredItems: 3, badNodes: 0, badValues: 1 });

      // Values changing at the PLC, each with its source timestamp (a value equal to the last one makes no
      // notification: the default data-change trigger is status or value, not the timestamp).
      for (let i = 1; i <= 6; i++) {
        plc.set('pressure', i <= 2 ? 5 + (-1) ** i / 100 : 9 + i / 100, T0 + i * 1000);
        plc.set('temperature', 60 + i / 10, T0 + i * 1000);
        await sleep(150);
      }
      await until(() => accepted() >= 14, 10_000, 'the changed values');
      const health = status.health('press-1')!;
      expect(health).toMatchObject({ state: 'alarm', spc: { pressure: 'out-of-control', temperature: 'in-control' } });
      expect(health.lastSampleAt).toBe(T0 + 6000);
      expect(events.some((e) => e.type === 'raised' && e.alarm.evidence.signals[0] === 'pressure')).toBe(true);

      // A failed sensor: Bad status codes become bad-quality samples → the monitor's data-quality alarm.
      for (let i = 7; i <= 10; i++) {
        plc.set('temperature', i, T0 + i * 1000, StatusCodes.BadSensorFailure);
        await sleep(150);
      }
      await until(() => source.stats().badStatus >= 4, 10_000, 'the bad status codes');
      await source.drain();
      expect(status.health('press-1')!.bySource.quality).toBe(1);

      // The PLC restarts: the client reconnects and the subscription comes back.
      const before = accepted();
      await plc.server.shutdown(0);
      await until(() => source.stats().connectionLost >= 1, 10_000, 'the lost connection');
      plc = await startServer(port);
      await until(() => source.stats().reconnects >= 1, 30_000, 'the reconnection');
      for (let i = 11; i <= 13; i++) {
        plc.set('pressure', 5 + i / 100, T0 + i * 1000);
        await sleep(150);
      }
      await until(() => accepted() >= before + 3, 15_000, 'values after the restart');
      await source.drain();
      expect(status.health('press-1')!.lastSampleAt).toBe(T0 + 13_000);
      const s = source.stats();
      expect(s.badValues).toBeGreaterThanOrEqual(2); // 'mode' again after the restart
      expect(s.rejected).toBe(0);
      expect(s.overflow).toBe(0);
      expect(s.targetErrors).toBe(0);
      // Every sample the source sent was seen by the monitor: accepted, or refused as a bad value.
      expect(monitor.stats().records).toBe(s.samples + s.badValues);
      expect(monitor.stats().rejected).toBe(s.badValues);
      expect(source.metricFamilies().find((f) => f.name === 'lepton_mfg_opcua_samples_total')!.samples[0]!.value).toBe(s.samples);
    } finally {
      await source.close();
      await plc.server.shutdown(0);
    }
  }, 90_000);

  it('refuses bad options, reports an unreachable server, and names the install command when node-opcua is missing', async () => {
    const target = new LineMonitor({ signals: ['pressure'], baseline: { '*': { pressure: { center: 5, sigma: 0.1 } } } });
    const nodes = [{ nodeId: 'ns=1;s=a', asset: 'press-1', signal: 'pressure' }];
    const base = { endpointUrl: 'opc.tcp://127.0.0.1:4840', target, nodes, securityMode: 'None' as const };
    for (const bad of [
      { endpointUrl: 'http://127.0.0.1:4840' },
      { endpointUrl: 'opc.tcp://user:secret@127.0.0.1:4840' },
      { nodes: [] },
      { nodes: [...nodes, ...nodes] },
      { nodes: [{ nodeId: 'Press1.Pressure', asset: 'a', signal: 's' }] },
      { nodes: [{ nodeId: 'ns=1;s=a', asset: '', signal: 's' }] },
      { securityMode: 'None' as const, securityPolicy: 'Basic256Sha256' as const },
      { securityMode: 'Encrypt' as never },
      { samplingIntervalMs: -1 },
      { target: {} as never },
      { user: { userName: 'u' } as never },
    ]) {
      const err = await OpcUaSource.start({ ...base, ...bad }).then(
        () => new Error('started'),
        (e: unknown) => e as Error,
      );
      expect(err).toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(err.message).not.toContain('secret');
    }
    const missing = await OpcUaSource.start({ ...base, load: () => import(/* @vite-ignore */ `node-opcua-${'not-installed'}`) }).then(
      () => new Error('started'),
      (e: unknown) => e as Error,
    );
    expect(missing).toMatchObject({ code: 'MFG_OPCUA_MISSING' });
    expect(missing.message).toContain(`npm install node-opcua@${NODE_OPCUA_TESTED_VERSION}`);
    const closed = await freePort();
    await expect(OpcUaSource.start({ ...base, endpointUrl: `opc.tcp://127.0.0.1:${closed}`, connectTimeoutMs: 1500, pkiFolder: join(pki, 'client') })).rejects.toMatchObject({ code: 'MFG_OPCUA_CONNECT' });
  }, 30_000);
});
