import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LeptonError } from '@lepton/core';
import { LineMonitor, LineStatus, MqttPlantPublisher, ScaledLineMonitor, telemetryTopic, type StatusChange, SparkplugEdgeNode, decodeSparkplugPayload, encodeSparkplugPayload, lineStatusMetrics, OpcUaSource, renderPrometheus, startMetricsServer, type SparkplugMetric } from '@lepton/manufacturing';
import { mosquittoAvailable, startBroker } from './support/mosquitto.js';
import { parsePrometheus, readRetained, startSilentBroker, until, Watcher } from './support/plant.js';
import mqtt from 'mqtt';

// Regressions from a hostile review of the plant outputs: each failed before its fix.
const noBroker = !mosquittoAvailable() && !process.env['CI'];
if (noBroker) console.warn('plant-hardening.test.ts: Mosquitto tests skipped (apt-get install -y mosquitto)');

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

/** Protobuf bytes: a varint, a tag, a length-delimited field. */
const varint = (n: number): number[] => {
  const out: number[] = [];
  while (n >= 0x80) (out.push((n & 0x7f) | 0x80), (n = Math.floor(n / 128)));
  out.push(n);
  return out;
};
const delimited = (field: number, body: number[]): number[] => [...varint((field << 3) | 2), ...varint(body.length), ...body];

describe('Sparkplug B codec on hostile input', () => {
  it('a float or double value sent length-delimited with the wrong length is MFG_SPARKPLUG_DECODE', () => {
    for (const [field, len] of [[12, 0], [12, 3], [12, 8], [13, 4], [13, 7], [13, 0]] as const) {
      const bytes = Uint8Array.from(delimited(2, delimited(field, new Array<number>(len).fill(0x41))));
      expect(() => decodeSparkplugPayload(bytes)).toThrow(expect.objectContaining({ code: 'MFG_SPARKPLUG_DECODE' }));
    }
    // the 4-byte payload of the review: metric { field 12, 0 bytes }
    expect(() => decodeSparkplugPayload(Uint8Array.from([0x12, 0x02, 0x62, 0x00]))).toThrow(expect.objectContaining({ code: 'MFG_SPARKPLUG_DECODE' }));
    // the right lengths still decode, length-delimited or not
    expect(decodeSparkplugPayload(Uint8Array.from(delimited(2, delimited(12, [0, 0, 0xc0, 0x3f])))).metrics[0]!.value).toBe(1.5);
    expect(decodeSparkplugPayload(Uint8Array.from(delimited(2, delimited(13, [0, 0, 0, 0, 0, 0, 0xf8, 0x3f])))).metrics[0]!.value).toBe(1.5);
  });

  it('structured random payloads (any field, any wire type, nested metrics) decode or give MFG_SPARKPLUG_DECODE, never another error', () => {
    const field = fc.oneof(
      fc.tuple(fc.integer({ min: 1, max: 20 }), fc.nat({ max: 2 ** 31 })).map(([f, v]) => [...varint(f << 3), ...varint(v)]),
      fc.tuple(fc.integer({ min: 1, max: 20 }), fc.uint8Array({ minLength: 8, maxLength: 8 })).map(([f, b]) => [...varint((f << 3) | 1), ...b]),
      fc.tuple(fc.integer({ min: 1, max: 20 }), fc.uint8Array({ minLength: 4, maxLength: 4 })).map(([f, b]) => [...varint((f << 3) | 5), ...b]),
      fc.tuple(fc.integer({ min: 1, max: 20 }), fc.uint8Array({ maxLength: 12 })).map(([f, b]) => delimited(f, [...b])),
    );
    const metric = fc.array(field, { maxLength: 6 }).map((fs) => delimited(2, fs.flat()));
    const payload = fc.array(fc.oneof(metric, field), { maxLength: 5 }).chain((parts) => fc.nat({ max: 3 }).map((cut) => parts.flat().slice(0, Math.max(0, parts.flat().length - cut))));
    fc.assert(
      fc.property(payload, (bytes) => {
        try {
          const r = decodeSparkplugPayload(Uint8Array.from(bytes));
          for (const m of r.metrics) if (typeof m.value === 'number') expect(Number.isFinite(m.value)).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(LeptonError);
          expect(err).toMatchObject({ code: 'MFG_SPARKPLUG_DECODE' });
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("a metric type that names an Object.prototype member ('constructor', 'toString', '__proto__') is a typed error", () => {
    const T = 1_760_000_000_000;
    for (const type of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
      const metrics = [{ name: 'x', timestamp: T, type, value: 1 } as unknown as SparkplugMetric];
      expect(() => encodeSparkplugPayload({ timestamp: T, seq: 0, metrics })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', details: { field: 'metrics[0].type' } }));
    }
  });
});

describe('LineStatus tracks only the assets the monitor holds', () => {
  it('records of unknown signals or refused at the monitor maxAssets create no asset (no phantom health)', async () => {
    const monitor = new LineMonitor({ signals: ['pressure'], baseline: { '*': { pressure: { center: 5, sigma: 0.1 } } }, subgroup: 2, maxAssets: 2 });
    const status = new LineStatus({ line: 'line-1', monitor, signals: ['pressure'] });
    const t = Date.now() - 60_000;
    await status.push({ timestamp: t, asset: 'press-1', signal: 'pressure', value: 5, quality: 'good' });
    for (let i = 0; i < 50; i++) await status.push({ timestamp: t + i, asset: `ghost-${i}`, signal: 'no-such-signal', value: 1, quality: 'good' });
    await status.push({ timestamp: t + 1, asset: 'press-1', signal: 'no-such-signal', value: 1, quality: 'good' }); // held asset, unknown signal
    await status.push({ timestamp: t + 2, asset: 'press-2', signal: 'pressure', value: 5, quality: 'good' }); // the monitor's second (last) asset
    for (let i = 0; i < 20; i++) await status.push({ timestamp: t + 3 + i, asset: `flood-${i}`, signal: 'pressure', value: 5, quality: 'good' }); // refused: maxAssets
    expect(monitor.assets().sort()).toEqual(['press-1', 'press-2']);
    expect(status.assets().sort()).toEqual(['press-1', 'press-2']);
    expect(status.health('press-1')!.samples).toEqual({ accepted: 1, rejected: 0 });
    expect(status.healthAll().map((h) => h.state)).toEqual(['ok', 'ok']);
    expect(status.stats()).toMatchObject({ assets: 2, ignored: 51, rejectedUnattributed: 20 });
  });
});

describe.skipIf(noBroker)('MqttPlantPublisher memory during a broker outage (real Mosquitto)', () => {
  it('alarm episodes raised and cleared while the broker is down leave no state behind beyond maxQueue clears', { timeout: 30_000 }, async () => {
    const broker = await startBroker();
    const monitor = new LineMonitor({ signals: ['pressure'], baseline: { '*': { pressure: { center: 5, sigma: 0.1 } } }, subgroup: 2 });
    const status = new LineStatus({ line: 'line-o', monitor, signals: ['pressure'] });
    let tick = 0;
    const t0 = Date.now() - 3_600_000;
    const push = (value: number) => status.push({ timestamp: t0 + tick++ * 1000, asset: 'press-1', signal: 'pressure', value, quality: 'good' });
    await push(5);
    await push(5);
    const publisher = await MqttPlantPublisher.start({ url: broker.url, status, maxQueue: 5, reconnectPeriodMs: 300 });
    try {
      await broker.stop();
      await until(() => !publisher.stats().connected, 5000, 'the publisher to see the broker gone');
      const before = publisher.stats().stateTopics;
      let episodes = 0;
      for (let i = 0; i < 40; i++) {
        await push(9);
        await push(9); // raised
        for (let k = 0; k < 6; k++) await push(5); // cleared
        if (status.activeAlarms().length === 0) episodes++;
      }
      expect(episodes).toBe(40);
      expect(publisher.stats().stateTopics).toBeLessThanOrEqual(before + 5);
      expect(publisher.stats().clearsDropped).toBe(35);
      await broker.start();
      await until(() => publisher.stats().connected, 10_000, 'the reconnection');
      expect(publisher.stats().stateTopics).toBe(1); // the health topic; the waiting clears went out on reconnection
      const retained = await readRetained(broker.url, 'lepton/line-o/#');
      expect([...retained.keys()].filter((t) => t.includes('/alarms/active/'))).toEqual([]);
      expect(retained.has('lepton/line-o/press-1/health')).toBe(true);
    } finally {
      await publisher.close();
      await broker.stop();
    }
  });
});

describe('Prometheus: two lines in one process', () => {
  it('families with the same name from two sources merge into one scrape (200, strictly parsed); only a repeated series or a clashing type is an error', async () => {
    const a = line('line-a');
    const b = line('line-b');
    const t = Date.now() - 10_000;
    await a.status.push({ timestamp: t, asset: 'press-1', signal: 'pressure', value: 5, quality: 'good' });
    await b.status.push({ timestamp: t, asset: 'press-1', signal: 'pressure', value: 5, quality: 'good' });
    await b.status.push({ timestamp: t + 1, asset: 'press-1', signal: 'pressure', value: 5, quality: 'good' });
    const server = await startMetricsServer({ sources: [{ metricFamilies: () => lineStatusMetrics(a.status, a.monitor) }, { metricFamilies: () => lineStatusMetrics(b.status, b.monitor) }], port: 0 });
    try {
      const res = await fetch(server.url);
      expect(res.status).toBe(200);
      const { samples, type } = parsePrometheus(await res.text());
      expect(type.get('lepton_mfg_samples_accepted_total')).toBe('counter');
      const accepted = samples.filter((s) => s.name === 'lepton_mfg_samples_accepted_total').map((s) => [s.labels['line'], s.value]);
      expect(accepted).toEqual([['line-a', 1], ['line-b', 2]]);
      expect(server.stats()).toMatchObject({ failures: 0 });
    } finally {
      await server.close();
    }
    const fam = (labels: Record<string, string>, type: 'gauge' | 'untyped' = 'gauge') => ({ name: 'x', help: 'h', type, samples: [{ labels, value: 1 }] });
    expect(renderPrometheus([fam({ line: 'a' }), fam({ line: 'b' })])).toBe('# HELP x h\n# TYPE x gauge\nx{line="a"} 1\nx{line="b"} 1\n');
    expect(() => renderPrometheus([fam({ line: 'a', k: '1' }), fam({ k: '1', line: 'a' })])).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => renderPrometheus([fam({ line: 'a' }), fam({ line: 'b' }, 'untyped')])).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => renderPrometheus([fam({ line: 'a' }), { ...fam({ line: 'b' }), help: 'other' }])).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });
});

describe('OpcUaSource PKI options are checked before node-opcua sees them', () => {
  it('a pkiFolder that cannot be a folder, or certificate/key files that do not exist, are INVALID_ARGUMENT (node-opcua would spin on them)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lepton-pki-'));
    try {
      const file = join(dir, 'a-file');
      writeFileSync(file, 'x');
      const base = { endpointUrl: 'opc.tcp://127.0.0.1:4840', nodes: [{ nodeId: 'ns=1;s=a', asset: 'press-1', signal: 'pressure' }], target: line('line-1').status, securityMode: 'None' as const };
      // `load` fails loudly: the options must be refused before node-opcua is even loaded.
      const load = (): never => {
        throw new Error('node-opcua was loaded');
      };
      for (const [bad, field] of [
        [{ pkiFolder: file }, 'options.pkiFolder'],
        [{ pkiFolder: join(file, 'pki') }, 'options.pkiFolder'],
        [{ certificateFile: join(dir, 'no-cert.pem') }, 'options.certificateFile'],
        [{ privateKeyFile: join(dir, 'no-key.pem') }, 'options.privateKeyFile'],
      ] as const) {
        const err = await OpcUaSource.start({ ...base, ...bad, load }).then(
          () => new Error('started'),
          (e: unknown) => e as Error,
        );
        expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field } });
      }
      // A missing folder is created (then node-opcua is loaded: here the failing load says so).
      const made = join(dir, 'new', 'pki');
      const err = await OpcUaSource.start({ ...base, pkiFolder: made, load }).catch((e: unknown) => e as LeptonError);
      expect(err).toMatchObject({ code: 'MFG_OPCUA_MISSING' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(noBroker)('connection failures reach onError (real Mosquitto)', () => {
  it('the publisher and the edge node report the lost broker, and failed reconnections once (rate-limited), then recover', { timeout: 30_000 }, async () => {
    const broker = await startBroker();
    const status = line('line-e').status;
    const errors: Record<string, string[]> = { mqtt: [], sparkplug: [] };
    const opts = { url: broker.url, status, reconnectPeriodMs: 100, connectTimeoutMs: 500 };
    const publisher = await MqttPlantPublisher.start({ ...opts, onError: (e) => errors['mqtt']!.push(e.code) });
    const node = await SparkplugEdgeNode.start({ ...opts, groupId: 'g', onError: (e) => errors['sparkplug']!.push(e.code) });
    try {
      await broker.stop();
      await until(() => errors['mqtt']!.includes('MFG_MQTT_CONNECT') && errors['sparkplug']!.includes('MFG_MQTT_CONNECT'), 5000, 'the failed reconnections reported');
      await new Promise((r) => setTimeout(r, 1000)); // ~10 more failed attempts each: not reported again within 30 s
      for (const k of ['mqtt', 'sparkplug']) expect(errors[k]).toEqual(['MFG_MQTT_DISCONNECTED', 'MFG_MQTT_CONNECT']);
      await broker.start();
      await until(() => publisher.stats().connected && node.stats().connected, 10_000, 'the reconnection');
    } finally {
      await publisher.close();
      await node.close();
      await broker.stop();
    }
  });

  it('acknowledge() refuses an alarm id over 1,024 characters and accepts one of 1,024 (as its TSDoc says)', () => {
    const status = line('line-1').status;
    expect(status.acknowledge('a'.repeat(1024))).toBe(false);
    expect(() => status.acknowledge('a'.repeat(1025))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe.skipIf(noBroker)('hand-over of a ScaledLineMonitor member (real Mosquitto)', () => {
  it('an asset the member hands over is released, not retired: its retained health and alarm stay for the new owner, no retired event', { timeout: 30_000 }, async () => {
    const broker = await startBroker();
    const status = new LineStatus({ line: 'line-h', signals: ['pressure'] });
    const changes: StatusChange['type'][] = [];
    status.subscribe((c) => changes.push(c.type));
    const member = await ScaledLineMonitor.start({
      url: broker.url,
      prefix: 'scale-h',
      partitions: 2,
      memberId: 'm1',
      settleMs: 0,
      heartbeatMs: 200,
      monitor: { signals: ['pressure'], baseline: { '*': { pressure: { center: 5, sigma: 0.1 } } }, subgroup: 2 },
      onRecord: (r) => status.observeRecord(r),
      onEvent: (e) => status.observe(e),
    });
    status.attach(member);
    const publisher = await MqttPlantPublisher.start({ url: broker.url, status, prefix: 'plant-h' });
    const watcher = await Watcher.start(broker.url, ['plant-h/line-h/+/events/#']);
    try {
      await until(() => member.partitions().length === 2, 10_000, 'the member to take every partition');
      const pub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
      const t = Date.now() - 10_000;
      for (let i = 0; i < 2; i++) await pub.publishAsync(telemetryTopic('scale-h', 2, 'press-1', 'pressure'), JSON.stringify({ timestamp: t + i * 1000, value: 9 }), { qos: 1 });
      await pub.endAsync();
      await until(() => status.health('press-1')?.state === 'alarm', 10_000, 'the SPC alarm');
      await until(() => watcher.on('plant-h/line-h/press-1/events/raised').length === 1, 5000, 'the raised event');
      await member.close(); // hands every partition over
      await until(() => changes.includes('released'), 5000, 'the release');
      expect(changes).not.toContain('retired');
      const retained = await readRetained(broker.url, 'plant-h/line-h/#');
      expect(retained.get('plant-h/line-h/press-1/health')?.length ?? 0).toBeGreaterThan(0);
      expect([...retained.entries()].filter(([k, v]) => k.includes('/alarms/active/') && v.length > 0)).toHaveLength(1);
      expect(watcher.on('plant-h/line-h/press-1/events/retired')).toEqual([]);
      expect(publisher.stats().stateTopics).toBe(0); // forgotten here
    } finally {
      await publisher.close();
      await watcher.stop();
      await broker.stop();
    }
  });
});

describe.skipIf(noBroker)('MqttPlantPublisher status per member (real Mosquitto)', () => {
  it('with `member`, each member has its own status topic: one closing says offline for itself only', { timeout: 20_000 }, async () => {
    const broker = await startBroker();
    const status = line('line-m').status;
    const a = await MqttPlantPublisher.start({ url: broker.url, status, member: 'm1' });
    const b = await MqttPlantPublisher.start({ url: broker.url, status, member: 'm2' });
    try {
      expect(a.statusTopic).toBe('lepton/line-m/members/m1/status');
      await a.close();
      const retained = await readRetained(broker.url, 'lepton/line-m/#');
      const state = (t: string) => (JSON.parse(retained.get(t)?.toString('utf8') ?? '{}') as { state?: string }).state;
      expect(state('lepton/line-m/members/m1/status')).toBe('offline');
      expect(state('lepton/line-m/members/m2/status')).toBe('online');
      expect(retained.has('lepton/line-m/status')).toBe(false);
      await expect(MqttPlantPublisher.start({ url: broker.url, status, member: 'a/b' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    } finally {
      await b.close();
      await broker.stop();
    }
  });
});
