import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createTcpServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt from 'mqtt';
import { DataType, MessageSecurityMode, OPCUACertificateManager, OPCUAServer, SecurityPolicy, StatusCodes, Variant, VariantArrayType, type UAVariable } from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeptonError } from '@lepton/core';
import { MqttTelemetry, OpcUaSource, readSensorCsv, readSensorNdjson, renderPrometheus, resample, startMetricsServer, type OpcUaSourceOptions, type ParsedRecord } from '@lepton/manufacturing';
import { freePort, mosquittoAvailable, startBroker } from './support/mosquitto.js';
import { until } from './support/plant.js';

// Third hostile review of the OPC UA source, the metrics server, MQTT telemetry and the readers: one section per
// finding, each failing on the code before the fix. Real node-opcua servers and a real Mosquitto, one at a time.

const noBroker = !mosquittoAvailable() && !process.env['CI'];
if (noBroker) console.warn('hostile-review-3.test.ts: Mosquitto tests skipped (apt-get install -y mosquitto)');

const pki = mkdtempSync(join(tmpdir(), 'lepton-review3-'));
afterAll(() => rmSync(pki, { recursive: true, force: true }));

type Var = { id: string; dataType: 'Double' | 'String' | 'Int64'; value: unknown };
/** A scalar variant (node-opcua cannot tell an Int64's [high, low] words from an array by itself). */
const variant = (dataType: Var['dataType'], value: unknown) => new Variant({ dataType: DataType[dataType], arrayType: VariantArrayType.Scalar, value });

/** node-opcua's own server on a loopback port; `certName` picks its PKI folder (its key pair). */
async function startPlc(port: number, vars: Var[], opts: { secure?: boolean; certName?: string } = {}) {
  const server = new OPCUAServer({
    port,
    hostname: '127.0.0.1',
    resourcePath: '/UA/review3',
    securityModes: opts.secure ? [MessageSecurityMode.SignAndEncrypt] : [MessageSecurityMode.None],
    securityPolicies: opts.secure ? [SecurityPolicy.Basic256Sha256] : [SecurityPolicy.None],
    allowAnonymous: true,
    serverCertificateManager: new OPCUACertificateManager({ rootFolder: join(pki, `server-${opts.certName ?? port}`), automaticallyAcceptUnknownCertificate: true }),
    buildInfo: { productName: 'review3-plc' },
  });
  await server.initialize();
  const addressSpace = server.engine.addressSpace!;
  const ns = addressSpace.getOwnNamespace();
  const obj = ns.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: 'P' });
  const out: Record<string, UAVariable> = {};
  for (const v of vars) {
    out[v.id] = ns.addVariable({ componentOf: obj, nodeId: `s=${v.id}`, browseName: v.id, dataType: v.dataType, minimumSamplingInterval: 20, value: variant(v.dataType, v.value) });
  }
  await server.start();
  const set = (id: string, dataType: Var['dataType'], value: unknown) => out[id]!.setValueFromSource(variant(dataType, value), StatusCodes.Good, new Date());
  return { server, set, url: `opc.tcp://127.0.0.1:${port}/UA/review3` };
}

const fast = { securityMode: 'None' as const, samplingIntervalMs: 20, publishingIntervalMs: 50, reconnectDelayMs: 100, maxReconnectDelayMs: 300 };
const noTarget = { push: async () => [] };
const node = (id: string, signal = id) => ({ nodeId: `ns=1;s=${id}`, asset: 'p1', signal });
/** A load() that says node-opcua is missing: start() gets past validation and stops there, without a server. */
const missing = () => Promise.reject(Object.assign(new Error('not found'), { code: 'ERR_MODULE_NOT_FOUND' }));

async function errorOf(p: Promise<unknown> | (() => unknown)): Promise<LeptonError> {
  try {
    const r = await (typeof p === 'function' ? p() : p);
    await (r as { close?: () => Promise<void> })?.close?.();
  } catch (e) {
    return e as LeptonError;
  }
  throw new Error('expected an error');
}

const boom = <T extends object>(o: T, key: string): T =>
  Object.defineProperty({ ...o }, key, {
    enumerable: true,
    get() {
      throw new TypeError(`getter ${key} threw`);
    },
  });

describe('1. acceptUnknownServerCertificate is trust on first use', () => {
  it('pins the first server certificate; an impostor with another key pair at the same endpoint is refused; the genuine one still connects', { timeout: 90_000 }, async () => {
    const port = await freePort();
    const client = join(pki, 'tofu-client');
    const common: OpcUaSourceOptions = { endpointUrl: `opc.tcp://127.0.0.1:${port}/UA/review3`, pkiFolder: client, acceptUnknownServerCertificate: true, target: noTarget, nodes: [node('a')], connectTimeoutMs: 30_000 };
    const trusted = () => readdirSync(join(client, 'trusted', 'certs')).length;
    let plc = await startPlc(port, [{ id: 'a', dataType: 'Double', value: 1 }], { secure: true, certName: 'genuine' });
    try {
      const s = await OpcUaSource.start(common);
      await s.close();
      expect(trusted()).toBe(1);
    } finally {
      await plc.server.shutdown(0);
    }
    plc = await startPlc(port, [{ id: 'a', dataType: 'Double', value: 1 }], { secure: true, certName: 'impostor' });
    try {
      const err = await errorOf(OpcUaSource.start(common));
      expect(err).toBeInstanceOf(LeptonError);
      expect(err.code).toBe('MFG_OPCUA_CONNECT');
      expect(err.message).toMatch(/certificate changed/);
      expect(err.message).toContain(join(client, 'rejected'));
      expect(trusted()).toBe(1); // the impostor's certificate was not added to the trust list
    } finally {
      await plc.server.shutdown(0);
    }
    plc = await startPlc(port, [{ id: 'a', dataType: 'Double', value: 1 }], { secure: true, certName: 'genuine' });
    try {
      const s = await OpcUaSource.start(common);
      await s.close();
    } finally {
      await plc.server.shutdown(0);
    }
  });
});

describe('2. a sparse nodes array', () => {
  it('is INVALID_ARGUMENT naming the hole, before node-opcua sees it', async () => {
    const nodes = [node('a'), , node('b')] as OpcUaSourceOptions['nodes'];
    const err = await errorOf(OpcUaSource.start({ endpointUrl: 'opc.tcp://127.0.0.1:1/x', ...fast, target: noTarget, nodes, load: missing }));
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'options.nodes[1]' } });
    const only = await errorOf(OpcUaSource.start({ endpointUrl: 'opc.tcp://127.0.0.1:1/x', ...fast, target: noTarget, nodes: new Array(1) as OpcUaSourceOptions['nodes'], load: missing }));
    expect(only).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'options.nodes[0]' } });
  });
});

describe('3. the OPC UA transport is bounded', () => {
  it('announces a 4 MiB maxMessageSize (and a chunk count) in its HEL instead of 0 = unlimited', async () => {
    const port = await freePort();
    let hel: { maxMessageSize: number; maxChunkCount: number } | undefined;
    const srv = createTcpServer((sock) => {
      sock.once('data', (b) => {
        if (b.subarray(0, 3).toString() === 'HEL') hel = { maxMessageSize: b.readUInt32LE(20), maxChunkCount: b.readUInt32LE(24) };
        sock.destroy();
      });
      sock.on('error', () => undefined);
    }).listen(port, '127.0.0.1');
    try {
      const err = await errorOf(OpcUaSource.start({ endpointUrl: `opc.tcp://127.0.0.1:${port}/x`, ...fast, pkiFolder: join(pki, 'client'), target: noTarget, nodes: [node('a')], connectTimeoutMs: 1500 }));
      expect(err.code).toBe('MFG_OPCUA_CONNECT');
      expect(hel).toEqual({ maxMessageSize: 4 * 1024 * 1024, maxChunkCount: 512 });
    } finally {
      srv.close();
    }
  });

  it('a 12 MiB string value never reaches the client (the server reports BadResponseTooLarge); the stream goes on', { timeout: 60_000 }, async () => {
    const plc = await startPlc(await freePort(), [
      { id: 's', dataType: 'String', value: 'x' },
      { id: 'd', dataType: 'Double', value: 1 },
    ]);
    const got: ParsedRecord[] = [];
    const s = await OpcUaSource.start({ endpointUrl: plc.url, ...fast, pkiFolder: join(pki, 'client'), target: { push: async (i) => void got.push(i as ParsedRecord) }, nodes: [node('s'), node('d')] });
    try {
      await until(() => s.stats().received >= 2, 10_000, 'the first values');
      expect(s.stats()).toMatchObject({ badValues: 1, badStatus: 0 }); // 'x' is a string
      plc.set('s', 'String', 'A'.repeat(12 * 1024 * 1024));
      await until(() => s.stats().received >= 3, 10_000, 'the notification for the big value');
      // Refused by the transport limit: a Bad status instead of a 12 MiB string decoded and then refused as a string.
      expect(s.stats()).toMatchObject({ badValues: 1, badStatus: 1 });
      plc.set('d', 'Double', 42);
      await until(() => got.some((i) => 'asset' in i && (i as unknown as { value: number }).value === 42), 10_000, 'a value after the big one');
    } finally {
      await s.close();
      await plc.server.shutdown(0);
    }
  });

  it('a server that ignores the limit (a proxy strips it from the HEL) is cut off while the message arrives, never decoded', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const plc = await startPlc(port, [
      { id: 's', dataType: 'String', value: 'x' },
      { id: 'd', dataType: 'Double', value: 1 },
    ]);
    // With securityMode None the HEL is not protected: this proxy announces "no limit" to the server.
    const proxyPort = await freePort();
    const proxy = createTcpServer((c) => {
      const up = connect(port, '127.0.0.1');
      let first = true;
      c.on('data', (b: Buffer) => {
        if (first && b.subarray(0, 3).toString() === 'HEL') {
          b = Buffer.from(b);
          b.writeUInt32LE(0, 20);
          b.writeUInt32LE(0, 24);
        }
        first = false;
        up.write(b);
      });
      up.pipe(c);
      for (const [x, y] of [[c, up], [up, c]] as const) {
        x.on('error', () => y.destroy());
        x.on('close', () => y.destroy());
      }
    }).listen(proxyPort, '127.0.0.1');
    const warnings: LeptonError[] = [];
    const s = await OpcUaSource.start({ endpointUrl: `opc.tcp://127.0.0.1:${proxyPort}/UA/review3`, ...fast, pkiFolder: join(pki, 'client'), target: noTarget, nodes: [node('s'), node('d')], onError: (e) => warnings.push(e) });
    try {
      await until(() => s.stats().received >= 2, 10_000, 'the first values');
      expect(s.stats()).toMatchObject({ badValues: 1, messagesTooLarge: 0 });
      plc.set('s', 'String', 'A'.repeat(12 * 1024 * 1024));
      await until(() => s.stats().messagesTooLarge >= 1, 10_000, 'the oversized message to be cut off');
      // The 12 MiB string was never decoded (it would have been counted as a second bad value).
      expect(s.stats().badValues).toBe(1);
      expect(s.stats().connectionLost).toBeGreaterThanOrEqual(1);
      expect(warnings[0]).toMatchObject({ code: 'MFG_OPCUA_CONNECT', message: expect.stringMatching(/over maxMessageBytes \(4194304 bytes\)/) });
      expect(s.metricFamilies().find((f) => f.name === 'lepton_mfg_opcua_messages_too_large_total')?.samples[0]?.value).toBeGreaterThanOrEqual(1);
    } finally {
      await s.close();
      proxy.close();
      await plc.server.shutdown(0);
    }
  });
});

describe('4. the metrics server drops stalled clients', () => {
  it('a client that stops mid-request, or sends nothing, is disconnected within the documented bound; connections are capped', { timeout: 30_000 }, async () => {
    const server = await startMetricsServer({ sources: () => [], port: 0, maxConnections: 3 });
    const closedAfter = (send: string): Promise<number> =>
      new Promise((resolve) => {
        const t0 = Date.now();
        const sock: Socket = connect(server.port, '127.0.0.1', () => send && sock.write(send));
        sock.on('error', () => undefined);
        sock.on('close', () => resolve(Date.now() - t0));
      });
    try {
      const stalled = [closedAfter('GET /metrics HTTP/1.1\r\n'), closedAfter(''), closedAfter('GET /metr')];
      await sleep(300);
      // The cap: a fourth connection (three are open) is closed at once.
      const extra = await Promise.race([closedAfter('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'), sleep(3000).then(() => Infinity)]);
      expect(extra).toBeLessThan(3000);
      const times = await Promise.race([Promise.all(stalled), sleep(14_000).then(() => undefined)]);
      expect(times, 'stalled connections still open after 14 s').toBeDefined();
      for (const t of times!) expect(t).toBeLessThanOrEqual(12_500);
      // Still serving.
      expect((await fetch(server.url)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('5. two OPC UA sources on one endpoint', () => {
  it('have different source labels, so a scrape works; a second source with the same endpoint and name is refused', { timeout: 60_000 }, async () => {
    const plc = await startPlc(await freePort(), [
      { id: 'a', dataType: 'Double', value: 1 },
      { id: 'b', dataType: 'Double', value: 2 },
    ]);
    const common = { endpointUrl: plc.url, ...fast, pkiFolder: join(pki, 'client'), target: noTarget };
    const s1 = await OpcUaSource.start({ ...common, nodes: [node('a')] });
    const s2 = await OpcUaSource.start({ ...common, nodes: [node('b')] });
    const metrics = await startMetricsServer({ sources: [s1, s2], port: 0 });
    try {
      const res = await fetch(metrics.url);
      expect(res.status).toBe(200);
      const text = await res.text();
      const labels = new Set([...text.matchAll(/lepton_mfg_opcua_received_total\{[^}]*source="([^"]+)"/g)].map((m) => m[1]));
      expect(labels.size).toBe(2);
      const same = await errorOf(OpcUaSource.start({ ...common, nodes: [node('a')] }));
      expect(same).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'options.name' } });
      // A name of its own makes it a different source.
      const s3 = await OpcUaSource.start({ ...common, nodes: [node('a')], name: 'second-monitor' });
      expect(renderPrometheus([...s1.metricFamilies(), ...s3.metricFamilies()])).toContain('source="second-monitor"');
      await s3.close();
    } finally {
      await metrics.close();
      await s1.close();
      await s2.close();
      await plc.server.shutdown(0);
    }
    // Closed sources free their name.
    expect((await errorOf(OpcUaSource.start({ ...common, nodes: [node('a')], connectTimeoutMs: 500 }))).code).toBe('MFG_OPCUA_CONNECT');
  });
});

describe('6. reader headers and keys', () => {
  const read = async (it: AsyncIterable<ParsedRecord>): Promise<ParsedRecord[]> => {
    const out: ParsedRecord[] = [];
    for await (const r of it) out.push(r);
    return out;
  };
  const csv = (header: string, row = '2026-05-04T06:00:00Z,p1,temp,1,bad') => readSensorCsv(Readable.from([`${header}\n${row}\n`]));
  it('CSV: a missing, misspelt or duplicated column is INVALID_INPUT naming it', async () => {
    for (const [header, column] of [
      ['timestamp,asset,signal,val,quality', 'val'],
      ['timestamp,asset,signal,Value,quality', 'Value'],
      ['timestamp,asset,signal,quality', 'value'],
      ['timestamp,asset,signal,value,qualty', 'qualty'],
      ['timestamp,asset,signal,value,value', 'value'],
      ['asset,signal,value,quality', 'timestamp'],
    ] as const) {
      const err = await errorOf(read(csv(header)));
      expect(err, header).toBeInstanceOf(LeptonError);
      expect(err, header).toMatchObject({ code: 'INVALID_INPUT', details: { field: 'header', column } });
      expect(err.message).toContain(`"${column}"`);
    }
    // Another column (a unit) is fine.
    const ok = await read(csv('timestamp,asset,signal,value,quality,unit', '2026-05-04T06:00:00Z,p1,temp,1,bad,C'));
    expect(ok).toEqual([{ record: { timestamp: Date.parse('2026-05-04T06:00:00Z'), asset: 'p1', signal: 'temp', value: 1, quality: 'bad' } }]);
  });
  it('NDJSON: a misspelt key, or no value key next to an unknown one, is a counted rejection; the next line is read', async () => {
    const lines = [
      '{"timestamp":1,"asset":"p1","signal":"t","val":3}',
      '{"timestamp":2,"asset":"p1","signal":"t","Value":3}',
      '{"timestamp":3,"asset":"p1","signal":"t","value":3,"qualty":"bad"}',
      '{"timestamp":4,"asset":"p1","signal":"t","reading":3}',
      '{"timestamp":5,"asset":"p1","signal":"t","value":5,"unit":"C"}',
      '{"timestamp":6,"asset":"p1","signal":"t"}',
    ];
    const out = await read(readSensorNdjson(Readable.from([lines.join('\n')])));
    expect(out.slice(0, 4).map((r) => ('rejected' in r ? r.rejected.issues[0]!.field : 'accepted'))).toEqual(['val', 'Value', 'qualty', 'reading']);
    expect(out[4]).toMatchObject({ record: { value: 5 } });
    // No unknown key at all: a missing value, as before.
    expect('record' in out[5]! && Number.isNaN(out[5].record.value)).toBe(true);
  });
});

describe('7 and 15. a node gone after a server restart; the outage in the metrics', () => {
  it('counts and reports the node refused when the subscription is re-created, and the metrics show the outage', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const vars: Var[] = [
      { id: 'a', dataType: 'Double', value: 1 },
      { id: 'b', dataType: 'Double', value: 1 },
    ];
    let plc = await startPlc(port, vars, { certName: 'restart' });
    const warnings: LeptonError[] = [];
    const s = await OpcUaSource.start({ endpointUrl: plc.url, ...fast, pkiFolder: join(pki, 'client'), target: noTarget, nodes: [node('a'), node('b')], onError: (e) => warnings.push(e) });
    const metric = (name: string): number | undefined => s.metricFamilies().find((f) => f.name === name)?.samples[0]?.value;
    try {
      await until(() => s.stats().received >= 2, 10_000, 'the first values');
      expect(s.stats()).toMatchObject({ monitoredItems: 2, badNodes: 0 });
      expect(metric('lepton_mfg_opcua_connected')).toBe(1);
      expect(metric('lepton_mfg_opcua_connection_lost_total')).toBe(0);
      await plc.server.shutdown(0);
      await until(() => s.stats().connectionLost >= 1, 10_000, 'the connection loss');
      // 15: the outage shows while the server is down.
      expect(metric('lepton_mfg_opcua_connected')).toBe(0);
      expect(metric('lepton_mfg_opcua_connection_lost_total')).toBe(1);
      plc = await startPlc(port, vars.slice(0, 1), { certName: 'restart' }); // 'b' is gone
      await until(() => s.stats().badNodes === 1, 20_000, 'the refused node to be counted');
      // 7: counted and reported.
      expect(s.stats()).toMatchObject({ monitoredItems: 1, badNodes: 1 });
      expect(warnings.map((w) => w.code)).toEqual(['MFG_OPCUA_NODE']);
      expect(warnings[0]!.message).toContain('ns=1;s=b');
      await until(() => metric('lepton_mfg_opcua_connected') === 1, 10_000, 'connected again');
      expect(metric('lepton_mfg_opcua_bad_nodes')).toBe(1);
      expect(metric('lepton_mfg_opcua_monitored_items')).toBe(1);
      expect(metric('lepton_mfg_opcua_target_errors_total')).toBe(0);
    } finally {
      await s.close();
      await plc.server.shutdown(0);
    }
  });
});

describe.skipIf(noBroker)('8 and 9. MQTT subscription refusal and packet size', () => {
  let dir: string;
  let broker: ChildProcess | undefined;
  let port: number;
  beforeAll(async () => {
    // Mosquitto 2.0's acl_file does not refuse subscriptions (it filters deliveries); its dynamic-security plugin does,
    // with SUBACK 0x80 (3.1.1) / 0x87 (5): the default ACL here denies every subscription.
    dir = mkdtempSync(join(tmpdir(), 'lepton-review3-mosq-'));
    chmodSync(dir, 0o755);
    port = await freePort();
    writeFileSync(join(dir, 'dynsec.json'), JSON.stringify({ defaultACLAccess: { publishClientSend: true, publishClientReceive: true, subscribe: false, unsubscribe: true }, clients: [], groups: [], roles: [] }), { mode: 0o666 });
    writeFileSync(join(dir, 'conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nplugin /usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so\nplugin_opt_config_file ${join(dir, 'dynsec.json')}\n`, { mode: 0o644 });
    broker = spawn('mosquitto', ['-c', join(dir, 'conf')], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      const up = await new Promise<boolean>((r) => {
        const s = connect(port, '127.0.0.1');
        s.once('connect', () => (s.destroy(), r(true)));
        s.once('error', () => r(false));
      });
      if (up) break;
      await sleep(50);
    }
  });
  afterAll(async () => {
    broker?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('8: connect() rejects with MFG_MQTT_CONNECT when the broker refuses the subscription (3.1.1 and 5)', async () => {
    for (const protocolVersion of [4, 5] as const) {
      const err = await errorOf(MqttTelemetry.connect({ url: `mqtt://127.0.0.1:${port}`, topic: 'plant/{asset}/{signal}', protocolVersion }));
      expect(err).toBeInstanceOf(LeptonError);
      expect(err.code).toBe('MFG_MQTT_CONNECT');
      expect(err.message).toMatch(/refused the subscription/);
    }
  });

  it('9: with MQTT 5 the broker never sends a message over the announced maximum packet size', async () => {
    const b = await startBroker();
    const t = await MqttTelemetry.connect({ url: b.url, topic: 'plant/{asset}/{signal}', protocolVersion: 5, maxPayloadBytes: 1024 });
    const pub = await mqtt.connectAsync(b.url);
    try {
      await pub.publishAsync('plant/p1/t', Buffer.alloc(300_000, 0x20), { qos: 1 });
      await pub.publishAsync('plant/p1/t', JSON.stringify({ timestamp: 1, value: 2 }), { qos: 1 });
      await until(() => t.stats().valid >= 1, 5000, 'the small message');
      await sleep(200);
      // The 300 kB message was dropped by the broker: never received, so never buffered.
      expect(t.stats()).toMatchObject({ received: 1, valid: 1, rejected: 0 });
    } finally {
      await pub.endAsync(true);
      await t.close();
      await b.stop();
    }
  });
});

describe('10. node ids are parsed', () => {
  it('refuses a namespace over 65535, a numeric id over UInt32, a malformed GUID, non-digits after i= and bad base64; accepts the edges', async () => {
    const start = (nodeId: string) => OpcUaSource.start({ endpointUrl: 'opc.tcp://127.0.0.1:1/x', ...fast, target: noTarget, nodes: [{ nodeId, asset: 'p', signal: 's' }], load: missing });
    for (const id of ['ns=99999;i=1', 'ns=65536;i=1', 'i=99999999999', 'i=4294967296', 'i=abc', 'g=not-a-guid', 'g=72962B91-FA75-4AE6-8D28-B404DC7DAF6', 'b=***']) {
      expect(await errorOf(start(id)), id).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'options.nodes[0].nodeId' } });
    }
    for (const id of ['ns=65535;i=4294967295', 'i=0', 'ns=2;g=72962B91-FA75-4AE6-8D28-B404DC7DAF63', 'ns=1;b=M/RbKBsRVkePCePcx24oRA==', 'ns=2;s=Press 1.Pressure']) {
      expect((await errorOf(start(id))).code, id).toBe('MFG_OPCUA_MISSING'); // past validation
    }
  });
});

describe('11. options whose getters throw', () => {
  it('are INVALID_ARGUMENT naming the field in OpcUaSource.start, startMetricsServer, MqttTelemetry.connect and resample', async () => {
    const opc = { endpointUrl: 'opc.tcp://127.0.0.1:1/x', securityMode: 'None' as const, target: noTarget, nodes: [node('a')], load: missing };
    const cases: Array<[string, () => unknown, string]> = [
      ['OpcUaSource.start nodes', () => OpcUaSource.start(boom(opc, 'nodes')), 'options.nodes'],
      ['OpcUaSource.start node.asset', () => OpcUaSource.start({ ...opc, nodes: [boom(node('a'), 'asset')] }), 'options.nodes[0].asset'],
      ['OpcUaSource.start user.password', () => OpcUaSource.start({ ...opc, user: boom({ userName: 'u', password: 'p' }, 'password') }), 'options.user.password'],
      ['startMetricsServer host', () => startMetricsServer(boom({ sources: () => [], port: 0 }, 'host')), 'options.host'],
      ['startMetricsServer sources', () => startMetricsServer(boom({ sources: () => [], port: 0 }, 'sources')), 'options.sources'],
      ['MqttTelemetry.connect url', () => MqttTelemetry.connect(boom({ url: 'mqtt://127.0.0.1:1', topic: 'a/{asset}/{signal}' }, 'url')), 'options.url'],
      ['resample fill', () => resample([0], [1], boom({ intervalMs: 1000 }, 'fill')), 'options.fill'],
    ];
    for (const [what, f, field] of cases) {
      const err = await errorOf(f);
      expect(err, what).toBeInstanceOf(LeptonError);
      expect(err, what).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field } });
    }
    // A user whose password is not a string: the message says "(hidden)", not "a string".
    const user = await errorOf(OpcUaSource.start({ ...opc, user: { userName: 'u', password: 42 as unknown as string } }));
    expect(user.message).toContain('got (hidden)');
  });
});

describe('12, 13 and 14. counters, close() and 64-bit integers', () => {
  let plc: Awaited<ReturnType<typeof startPlc>>;
  beforeAll(async () => {
    plc = await startPlc(await freePort(), [
      { id: 'd', dataType: 'Double', value: 0 },
      { id: 'big', dataType: 'Int64', value: [0, 1] },
      { id: 'small', dataType: 'Int64', value: [0, 5] },
    ]);
  });
  afterAll(async () => plc?.server.shutdown(0));

  /** A target that takes one item at a time, when the test opens the gate (`flood()`: all of them, from now on). */
  function slowTarget() {
    const delivered: unknown[] = [];
    let open: () => void = () => undefined;
    let gate = new Promise<void>((r) => (open = r));
    let flooding = false;
    return {
      delivered,
      release: () => open(),
      flood: () => {
        flooding = true;
        open();
      },
      target: {
        push: async (item: unknown) => {
          await gate;
          if (!flooding) gate = new Promise<void>((r) => (open = r));
          delivered.push(item);
          return [];
        },
      },
    };
  }

  it('12: samples dropped for maxPending are not counted as samples (received = samples + badValues + overflow)', async () => {
    const slow = slowTarget();
    const s = await OpcUaSource.start({ endpointUrl: plc.url, ...fast, pkiFolder: join(pki, 'client'), target: slow.target, nodes: [node('d')], maxPending: 2, name: 'twelve' });
    try {
      await until(() => s.stats().received >= 1, 10_000, 'the first value');
      for (let i = 1; i <= 8; i++) {
        plc.set('d', 'Double', i);
        await sleep(80);
      }
      await until(() => s.stats().received >= 6, 10_000, 'the changes');
      const st = s.stats();
      expect(st.overflow).toBeGreaterThan(0);
      expect(st.samples + st.badValues + st.overflow).toBe(st.received);
      const closing = s.close();
      for (let i = 0; i < 10; i++) {
        slow.release();
        await sleep(10);
      }
      await closing;
      expect(slow.delivered).toHaveLength(s.stats().samples);
    } finally {
      slow.flood(); // a failed assertion must not leave close() waiting on the gate
      await s.close();
    }
  });

  it('13: a concurrent close() returns the first call’s promise, resolved only after the pending samples reach the target', async () => {
    const slow = slowTarget();
    const s = await OpcUaSource.start({ endpointUrl: plc.url, ...fast, pkiFolder: join(pki, 'client'), target: slow.target, nodes: [node('d')], name: 'thirteen' });
    await until(() => s.stats().received >= 1, 10_000, 'the first value');
    const first = s.close();
    const second = s.close();
    try {
      expect(second).toBe(first);
      let secondDone = false;
      void second.then(() => (secondDone = true));
      await sleep(100);
      expect(secondDone).toBe(false); // a sample is still waiting for the target
      slow.release();
      await second;
      expect(slow.delivered).toHaveLength(1);
    } finally {
      slow.flood();
      await Promise.all([first, second]);
    }
  });

  it('14: an Int64 beyond 2^53 is refused and counted as a bad value, not rounded; a small one is a sample', async () => {
    const got: unknown[] = [];
    const s = await OpcUaSource.start({ endpointUrl: plc.url, ...fast, pkiFolder: join(pki, 'client'), target: { push: async (i) => void got.push(i) }, nodes: [node('big'), node('small')], name: 'fourteen' });
    try {
      plc.set('big', 'Int64', [0x1000_0000, 1]); // 2^60 + 1: a double would make it 2^60
      await until(() => s.stats().received >= 3, 10_000, 'the values');
      await s.drain();
      expect(s.stats()).toMatchObject({ badValues: 1, samples: 2 });
      expect(got).toContainEqual({ rejected: { source: 'opcua ns=1;s=big', issues: [{ field: 'value', message: expect.stringMatching(/exact range of a double/) }] } });
      expect(got).toContainEqual(expect.objectContaining({ signal: 'small', value: 5 }));
      expect(got.some((i) => (i as { signal?: string }).signal === 'big' && (i as { value: number }).value > 2 ** 53)).toBe(false);
    } finally {
      await s.close();
    }
  });
});
