import fc from 'fast-check';
import mqtt from 'mqtt';
import sparkplugPayload from 'sparkplug-payload';
import tahuProto from 'sparkplug-payload/lib/sparkplugPayloadProto.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineMonitor, LineStatus, SparkplugEdgeNode, decodeSparkplugPayload, encodeSparkplugPayload, type Alarm, type SparkplugMetric } from '@lepton/manufacturing';
import { Broker, mosquittoAvailable, startBroker } from './support/mosquitto.js';
import { runChild, until, Watcher, type Received } from './support/plant.js';

// Eclipse Tahu's own JavaScript codec (protobufjs with the official sparkplug_b.proto): the independent decoder.
const tahu = sparkplugPayload.get('spBv1.0')!;
const skip = !mosquittoAvailable() && !process.env['CI'];
if (skip) console.warn('plant-sparkplug.test.ts broker tests skipped: install mosquitto (apt-get install -y mosquitto) to run them');

const T = 1_760_000_000_123;
const text = (v: unknown) => (v !== null && typeof v === 'object' && 'toString' in v ? String(v) : v); // Tahu's Long → '123'

describe('Sparkplug B payload codec, checked with Eclipse Tahu', () => {
  it('refuses a metric alias past 2^53 − 1 (it would wrap onto another alias) and reads one just below it', () => {
    const varint = (v: bigint): number[] => {
      const out: number[] = [];
      do {
        const low = Number(v & 0x7fn);
        v >>= 7n;
        out.push(v > 0n ? low | 0x80 : low);
      } while (v > 0n);
      return out;
    };
    // Payload { metrics: [ Metric { alias } ] }: field 2 (length-delimited) holding field 2 (varint)
    const payload = (alias: bigint): Buffer => {
      const metric = [0x10, ...varint(alias)];
      return Buffer.from([0x12, metric.length, ...metric]);
    };
    expect(decodeSparkplugPayload(payload(BigInt(Number.MAX_SAFE_INTEGER))).metrics[0]!.alias).toBe(Number.MAX_SAFE_INTEGER);
    for (const alias of [2n ** 53n, 2n ** 60n + 7n]) {
      expect(() => decodeSparkplugPayload(payload(alias)), String(alias)).toThrow(expect.objectContaining({ code: 'MFG_SPARKPLUG_DECODE' }));
    }
  });

  it('writes every scalar type so that Tahu decodes the same names, types, values, timestamps and seq', () => {
    const metrics: SparkplugMetric[] = [
      { name: 'bdSeq', timestamp: T, type: 'UInt64', value: 255 },
      { name: 'i8', timestamp: T + 1, type: 'Int8', value: -5 },
      { name: 'i16', timestamp: T, type: 'Int16', value: -300 },
      { name: 'i32', timestamp: T, type: 'Int32', value: -70_000 },
      { name: 'i64', timestamp: T, type: 'Int64', value: -(2 ** 40) },
      { name: 'u8', timestamp: T, type: 'UInt8', value: 200 },
      { name: 'u16', timestamp: T, type: 'UInt16', value: 65_535 },
      { name: 'u64', timestamp: T, type: 'UInt64', value: 2n ** 64n - 1n },
      { name: 'f', timestamp: T, type: 'Float', value: 1.5 },
      { name: 'd', timestamp: T, type: 'Double', value: Math.PI },
      { name: 'Node Control/Rebirth', timestamp: T, type: 'Boolean', value: false },
      { name: 'Health/State', timestamp: T, type: 'String', value: 'alarm ⚠ Ünïcode' },
      { name: 'Samples/Last At', timestamp: T, type: 'DateTime', value: T - 5 },
      { name: 'note', timestamp: T, type: 'Text', value: '' },
      { name: 'missing', timestamp: T, type: 'DateTime', value: null },
    ];
    const decoded = tahu.decodePayload(encodeSparkplugPayload({ timestamp: T, seq: 7, metrics }));
    expect(text(decoded.timestamp)).toBe(String(T));
    expect(text(decoded.seq)).toBe('7');
    expect(decoded.metrics!.map((m) => [m.name, m.type, text(m.timestamp)])).toEqual(metrics.map((m) => [m.name, m.type, String(m.timestamp)]));
    const values = decoded.metrics!.map((m) => text(m.value));
    expect(values).toEqual(['255', -5, -300, -70_000, String(-(2 ** 40)), 200, 65_535, (2n ** 64n - 1n).toString(), 1.5, Math.PI, false, 'alarm ⚠ Ünïcode', String(T - 5), '', null]);
    // The generated protobuf classes of sparkplug_b.proto show the raw fields: is_null set, and no value field.
    const raw = tahuProto.org.eclipse.tahu.protobuf.Payload.decode(encodeSparkplugPayload({ timestamp: T, seq: 7, metrics })).metrics as Array<{ name: string; isNull: boolean; value?: string }>;
    expect(raw.at(-1)!.isNull).toBe(true);
    expect(raw.at(-1)!.value).toBeUndefined(); // the oneof field set: none
    expect(raw.find((m) => m.name === 'i32')!.value).toBe('intValue');
    expect(raw.find((m) => m.name === 'i64')!.value).toBe('longValue');
    // UInt32 goes in int_value as Sparkplug 3.0 says (Tahu's JavaScript 1.0.3 reads it from long_value: the edge node
    // avoids UInt32 for that reason); our decoder reads it back.
    const u32 = encodeSparkplugPayload({ timestamp: T, seq: 0, metrics: [{ name: 'u32', timestamp: T, type: 'UInt32', value: 4_000_000_000 }] });
    expect(decodeSparkplugPayload(u32).metrics).toEqual([{ name: 'u32', datatype: 7, value: 4_000_000_000 }]);
    // NDEATH has no seq.
    expect(tahu.decodePayload(encodeSparkplugPayload({ timestamp: T, metrics: [metrics[0]!] })).seq ?? null).toBeNull();
  });

  it('agrees with Tahu on arbitrary metrics, reads what Tahu writes, and refuses what does not fit', () => {
    const metric = fc.oneof(
      fc.record({ name: fc.string({ minLength: 1 }), type: fc.constant('UInt16' as const), value: fc.integer({ min: 0, max: 65_535 }) }),
      fc.record({ name: fc.string({ minLength: 1 }), type: fc.constant('Int32' as const), value: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) }),
      fc.record({ name: fc.string({ minLength: 1 }), type: fc.constant('Double' as const), value: fc.double({ noNaN: true, noDefaultInfinity: true }) }),
      fc.record({ name: fc.string({ minLength: 1 }), type: fc.constant('Boolean' as const), value: fc.boolean() }),
      fc.record({ name: fc.string({ minLength: 1 }), type: fc.constant('String' as const), value: fc.string() }),
    );
    fc.assert(
      fc.property(fc.array(metric, { maxLength: 8 }), fc.integer({ min: 0, max: 255 }), (ms, seq) => {
        const metrics = ms.map((m) => ({ ...m, timestamp: T }) as SparkplugMetric);
        const bytes = encodeSparkplugPayload({ timestamp: T, seq, metrics });
        const theirs = tahu.decodePayload(bytes);
        expect(theirs.metrics ?? []).toHaveLength(metrics.length);
        (theirs.metrics ?? []).forEach((m, i) => {
          expect(m.name).toBe(metrics[i]!.name);
          expect(Object.is(m.value, metrics[i]!.value) || m.value === metrics[i]!.value).toBe(true);
        });
        // Our own decoder (used for NCMD) reads the same bytes alike.
        const ours = decodeSparkplugPayload(bytes);
        expect(ours.seq).toBe(seq);
        expect(ours.metrics.map((m) => m.name)).toEqual(metrics.map((m) => m.name));
      }),
      { numRuns: 200 },
    );
    const ncmd = tahu.encodePayload({ timestamp: T, metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true, timestamp: T }] });
    expect(decodeSparkplugPayload(ncmd).metrics).toEqual([{ name: 'Node Control/Rebirth', datatype: 11, value: true }]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          const r = decodeSparkplugPayload(bytes);
          for (const m of r.metrics) if (typeof m.value === 'number') expect(Number.isFinite(m.value)).toBe(true);
        } catch (err) {
          expect(err).toMatchObject({ code: 'MFG_SPARKPLUG_DECODE' });
        }
      }),
      { numRuns: 2000 },
    );
    const bad: Array<Partial<SparkplugMetric>> = [{ type: 'Int8', value: 300 }, { type: 'UInt32', value: -1 }, { type: 'Double', value: Number.NaN }, { type: 'UInt64', value: 1.5 }, { type: 'Boolean', value: 1 }, { type: 'Nope' as never, value: 1 }];
    for (const b of bad) expect(() => encodeSparkplugPayload({ timestamp: T, seq: 0, metrics: [{ name: 'x', timestamp: T, type: 'Int32', value: 0, ...b } as SparkplugMetric] })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => encodeSparkplugPayload({ timestamp: T, seq: 256, metrics: [] })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    // A data metric by alias alone is fine; neither name nor alias, or a negative alias, is not.
    const byAlias = tahu.decodePayload(encodeSparkplugPayload({ timestamp: T, seq: 1, metrics: [{ alias: 7, timestamp: T, type: 'Int32', value: 3 }] }));
    expect(byAlias.metrics?.map((m) => [m.name ?? null, String(text(m.alias)), m.value])).toEqual([[null, '7', 3]]);
    expect(() => encodeSparkplugPayload({ timestamp: T, metrics: [{ timestamp: T, type: 'Int32', value: 3 }] })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => encodeSparkplugPayload({ timestamp: T, metrics: [{ alias: -1, timestamp: T, type: 'Int32', value: 3 }] })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => encodeSparkplugPayload({ timestamp: -1, metrics: [] })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });
});

type Msg = { type: string; device: string | undefined; seq: number | null; metrics: Map<string, unknown>; qos: number; retain: boolean; timestampsOk: boolean };
function decode(m: Received): Msg {
  const [, , type, , device] = m.topic.split('/');
  const p = tahu.decodePayload(m.payload);
  return {
    type: type!,
    device,
    seq: p.seq === undefined || p.seq === null ? null : Number(text(p.seq)),
    metrics: new Map((p.metrics ?? []).map((x) => [x.name!, text(x.value)])),
    qos: m.qos,
    retain: m.retain,
    timestampsOk: p.timestamp !== undefined && p.timestamp !== null && (p.metrics ?? []).every((x) => x.timestamp !== undefined && x.timestamp !== null),
  };
}

function alarm(asset: string, n: number, clearedAt?: number): Alarm {
  return { id: `spc-${n}`, key: `${asset}:spc:pressure`, asset, severity: 'high', raisedAt: T + n, ...(clearedAt ? { clearedAt } : {}), evidence: { source: 'nelson-1', signals: ['pressure'], values: { mean: 9 }, window: { from: T, to: T + n } }, occurrences: 1 };
}

describe.skipIf(skip)('SparkplugEdgeNode against a real Mosquitto broker', () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => broker?.stop());

  it('births the line and its assets, reports by exception, wraps seq 255 → 0, rebirths on NCMD, takes the next bdSeq (255 → 0) per session and dies with it', async () => {
    const watcher = await Watcher.start(broker.url, ['spBv1.0/plant-a/#']);
    const monitor = new LineMonitor({ signals: ['pressure'], baseline: { '*': { pressure: { center: 5, sigma: 0.1 } } }, subgroup: 2, quality: { intervalMs: 1000, now: () => T + 3_600_000 } });
    const status = new LineStatus({ line: 'line-1', monitor, signals: ['pressure'] });
    await status.push({ timestamp: T, asset: 'press-1', signal: 'pressure', value: 5, quality: 'good' });
    const errors: string[] = [];
    const node = await SparkplugEdgeNode.start({ url: broker.url, status, groupId: 'plant-a', bdSeq: 255, reconnectPeriodMs: 1500, onError: (e) => errors.push(e.code) });
    const msgs = () => watcher.messages.filter((m) => !/\/[ND]CMD\//.test(m.topic)).map(decode);
    try {
      await until(() => msgs().some((m) => m.type === 'DBIRTH'), 5000, 'the births');
      const [nbirth, dbirth] = msgs();
      expect(nbirth).toMatchObject({ type: 'NBIRTH', seq: 0, qos: 0, retain: false, timestampsOk: true });
      expect(nbirth!.metrics.get('bdSeq')).toBe('255');
      expect(nbirth!.metrics.get('Node Control/Rebirth')).toBe(false);
      expect(nbirth!.metrics.get('Line/Assets')).toBe(1);
      expect(dbirth).toMatchObject({ type: 'DBIRTH', device: 'press-1', seq: 1 });
      expect(dbirth!.metrics.has('Alarms/Acknowledge')).toBe(false); // hosts cannot acknowledge unless enabled
      expect(Object.fromEntries(dbirth!.metrics)).toMatchObject({ 'Health/State': 'ok', 'Alarms/Active': 0, 'SPC/pressure/Out Of Control': false, 'Samples/Accepted': '1', 'Samples/Last At': String(T) });

      // An SPC alarm: DDATA with what changed only.
      await status.push({ timestamp: T + 1000, asset: 'press-1', signal: 'pressure', value: 9, quality: 'good' });
      await status.push({ timestamp: T + 2000, asset: 'press-1', signal: 'pressure', value: 9, quality: 'good' });
      await until(() => msgs().some((m) => m.type === 'DDATA'), 5000, 'DDATA');
      const ddata = msgs().find((m) => m.type === 'DDATA')!;
      expect(ddata).toMatchObject({ device: 'press-1', seq: 2, timestampsOk: true });
      expect(Object.fromEntries(ddata.metrics)).toMatchObject({ 'Health/State': 'alarm', 'Alarms/Active': 1, 'Alarms/Max Severity': 3, 'SPC/pressure/Out Of Control': true });
      expect(ddata.metrics.has('Samples/Accepted')).toBe(false); // counters go with the periodic update, not every change

      // A new asset is born; a retired one dies.
      status.observeRecord({ timestamp: T, asset: 'mill-1', signal: 'pressure', value: 5, quality: 'good' });
      status.retire('mill-1');
      await until(() => msgs().some((m) => m.type === 'DDEATH'), 5000, 'DDEATH');
      expect(msgs().filter((m) => m.device === 'mill-1').map((m) => m.type)).toEqual(['DBIRTH', 'DDEATH']);

      // 300 alarm changes: seq goes on across every message of the node, 255 → 0.
      for (let n = 1; n <= 150; n++) {
        status.observe({ type: 'raised', alarm: alarm('press-2', n) });
        status.observe({ type: 'cleared', alarm: alarm('press-2', n, T + n + 1) });
      }
      await until(() => msgs().filter((m) => m.device === 'press-2').length === 300, 10_000, 'the 300 press-2 messages'); // DBIRTH + 299 DDATA

      // A host asks for a rebirth; a garbage command is counted and changes nothing.
      const host = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
      await host.publishAsync('spBv1.0/plant-a/NCMD/line-1', Buffer.from([0xff, 0xff, 0xff]), { qos: 0 });
      await host.publishAsync('spBv1.0/plant-a/NCMD/line-1', Buffer.from(tahu.encodePayload({ timestamp: Date.now(), metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }] })), { qos: 0 });
      await until(() => msgs().filter((m) => m.type === 'NBIRTH').length === 2, 5000, 'the rebirth');
      await host.endAsync();
      await until(() => msgs().filter((m) => m.type === 'DBIRTH').length === 5, 5000, 'the DBIRTHs of the rebirth');
      expect(node.stats()).toMatchObject({ rebirths: 1, badCommands: 1, births: 2 });
      expect(errors).toEqual(['MFG_SPARKPLUG_DECODE']);

      // A broker restart: a new session, so the next bdSeq (255 → 0), and births again.
      await broker.stop();
      await until(() => !node.stats().connected, 5000, 'the node to see the broker gone');
      await broker.start(); // the watcher resubscribes (200 ms) before the node reconnects (1.5 s)
      await until(() => msgs().filter((m) => m.type === 'NBIRTH').length === 3, 10_000, 'the births after the restart');
      expect(msgs().filter((m) => m.type === 'NBIRTH').map((m) => m.metrics.get('bdSeq'))).toEqual(['255', '255', '0']);
      expect(node.bdSeq).toBe(0);
    } finally {
      await node.close();
      await until(() => msgs().some((m) => m.type === 'NDEATH'), 5000, 'the NDEATH').catch(() => undefined);
      await watcher.stop();
    }
    const all = msgs();
    for (const m of all) {
      expect(m.retain).toBe(false);
      if (m.type !== 'NDEATH') expect(m.timestampsOk).toBe(true);
    }
    // seq: 0 at every NBIRTH, then +1 per message, wrapping at 255.
    let expected = 0;
    for (const m of all.filter((x) => x.type !== 'NDEATH')) {
      if (m.type === 'NBIRTH') expected = 0;
      expect(m.seq).toBe(expected);
      expected = (expected + 1) % 256;
    }
    expect(all.filter((m) => m.type !== 'NDEATH').map((m) => m.seq)).toContain(255);
    // Mosquitto publishes the first session's will when it shuts down; the clean close publishes the second's.
    const deaths = all.filter((m) => m.type === 'NDEATH');
    for (const d of deaths) expect(d.seq).toBeNull();
    expect(deaths.map((d) => d.metrics.get('bdSeq')).at(-1)).toBe('0');
    const births = new Set(all.filter((m) => m.type === 'NBIRTH').map((m) => m.metrics.get('bdSeq')));
    for (const d of deaths) expect(births.has(d.metrics.get('bdSeq'))).toBe(true);
  }, 60_000);

  it('with aliases: births declare name and alias (unique across the node), data messages carry the alias alone', async () => {
    const watcher = await Watcher.start(broker.url, ['spBv1.0/plant-b/#']);
    const monitor = new LineMonitor({ signals: ['pressure'], baseline: { '*': { pressure: { center: 5, sigma: 0.1 } } }, subgroup: 2, quality: { intervalMs: 1000, now: () => T + 3_600_000 } });
    const status = new LineStatus({ line: 'line-2', monitor, signals: ['pressure'] });
    await status.push({ timestamp: T, asset: 'press-1', signal: 'pressure', value: 5, quality: 'good' });
    await status.push({ timestamp: T, asset: 'press-2', signal: 'pressure', value: 5, quality: 'good' });
    const node = await SparkplugEdgeNode.start({ url: broker.url, status, groupId: 'plant-b', aliases: true, dataIntervalMs: 200 });
    type Raw = { type: string; device: string | undefined; metrics: Array<{ name: string | undefined; alias: string | undefined; value: unknown }> };
    const raw = (): Raw[] =>
      watcher.messages
        .filter((m) => !/\/[ND]CMD\//.test(m.topic))
        .map((m) => {
          const [, , type, , device] = m.topic.split('/');
          const p = tahu.decodePayload(m.payload);
          return { type: type!, device, metrics: (p.metrics ?? []).map((x) => ({ name: x.name ?? undefined, alias: x.alias === undefined || x.alias === null ? undefined : String(text(x.alias)), value: text(x.value) })) };
        });
    try {
      await until(() => raw().filter((m) => m.type === 'DBIRTH').length === 2, 5000, 'the births');
      // The SPC alarm on press-1 (state: at once) and the counters (periodic): DDATA and NDATA by alias.
      await status.push({ timestamp: T + 1000, asset: 'press-1', signal: 'pressure', value: 9, quality: 'good' });
      await status.push({ timestamp: T + 2000, asset: 'press-1', signal: 'pressure', value: 9, quality: 'good' });
      await until(() => raw().some((m) => m.type === 'DDATA') && raw().some((m) => m.type === 'NDATA'), 5000, 'DDATA and NDATA');
    } finally {
      await node.close();
      await watcher.stop();
    }
    const births = raw().filter((m) => m.type === 'NBIRTH' || m.type === 'DBIRTH');
    const named = new Map<string, string>(); // alias → device/name
    for (const b of births) {
      for (const m of b.metrics) {
        expect(m.name).toBeDefined();
        if (['bdSeq', 'Node Control/Rebirth', 'Properties/Line'].includes(m.name!)) {
          expect(m.alias).toBeUndefined();
          continue;
        }
        expect(m.alias).toBeDefined();
        expect(named.has(m.alias!)).toBe(false); // unique across the node and its devices
        named.set(m.alias!, `${b.device ?? ''}/${m.name}`);
      }
    }
    expect(named.size).toBeGreaterThan(20);
    const data = raw().filter((m) => m.type === 'DDATA' || m.type === 'NDATA');
    expect(data.length).toBeGreaterThan(0);
    const resolved = new Map<string, unknown>();
    for (const d of data) {
      for (const m of d.metrics) {
        expect(m.name).toBeUndefined();
        const target = named.get(m.alias!);
        expect(target?.startsWith(`${d.device ?? ''}/`)).toBe(true); // an alias of this device (or of the node)
        resolved.set(target!, m.value);
      }
    }
    expect(resolved.get('press-1/Health/State')).toBe('alarm');
    expect(resolved.get('press-1/SPC/pressure/Out Of Control')).toBe(true);
    expect(resolved.get('/Line/Assets In Alarm')).toBe(1);
  }, 60_000);

  it('with alarmAcknowledgement: a DCMD writing an active alarm id (by name or alias) acknowledges it; any other write is counted and changes nothing', async () => {
    const watcher = await Watcher.start(broker.url, ['spBv1.0/plant-k/#']);
    const monitor = new LineMonitor({ signals: ['pressure'], baseline: { '*': { pressure: { center: 5, sigma: 0.1 } } }, subgroup: 2, quality: { intervalMs: 1000, now: () => T + 3_600_000 } });
    const status = new LineStatus({ line: 'line-3', monitor, signals: ['pressure'] });
    status.observe({ type: 'raised', alarm: alarm('press-1', 1) });
    status.observe({ type: 'raised', alarm: alarm('press-1', 3) });
    status.observe({ type: 'raised', alarm: alarm('press-2', 2) });
    const errors: string[] = [];
    const node = await SparkplugEdgeNode.start({ url: broker.url, status, groupId: 'plant-k', aliases: true, alarmAcknowledgement: true, onError: (e) => errors.push(e.code) });
    const births = () =>
      watcher.messages.filter((m) => m.topic.includes('/DBIRTH/')).map((m) => ({ device: m.topic.split('/')[4], metrics: tahu.decodePayload(m.payload).metrics ?? [] }));
    const host = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    const dcmd = (device: string, metrics: Array<Record<string, unknown>>) => host.publishAsync(`spBv1.0/plant-k/DCMD/line-3/${device}`, Buffer.from(tahu.encodePayload({ timestamp: Date.now(), metrics: metrics as never })), { qos: 0 });
    const acknowledged = () => status.activeAlarms().filter((a) => a.acknowledged).map((a) => [a.id, a.acknowledged!.by]);
    try {
      await until(() => births().length === 2, 5000, 'the births');
      const press1 = births().find((b) => b.device === 'press-1')!.metrics;
      const ack = press1.find((m) => m.name === 'Alarms/Acknowledge')!;
      expect([ack.type, ack.value]).toEqual(['String', '']); // declared writable in the birth, with its alias
      expect(press1.find((m) => m.name === 'Alarms/Unacknowledged')!.value).toBe(2);
      // Refused, each counted: another device's alarm, an unknown id, not a string, mixed with another metric, a device
      // this node does not have.
      await dcmd('press-1', [{ name: 'Alarms/Acknowledge', type: 'String', value: 'spc-2' }]);
      await dcmd('press-1', [{ name: 'Alarms/Acknowledge', type: 'String', value: 'nope' }]);
      await dcmd('press-1', [{ name: 'Alarms/Acknowledge', type: 'Int32', value: 1 }]);
      await dcmd('press-1', [{ name: 'Alarms/Acknowledge', type: 'String', value: 'spc-1' }, { name: 'Health/State', type: 'String', value: 'ok' }]);
      await dcmd('lathe-9', [{ name: 'Alarms/Acknowledge', type: 'String', value: 'spc-1' }]);
      await until(() => node.stats().badCommands === 5, 5000, 'the five refused writes');
      expect(acknowledged()).toEqual([]);
      // Accepted: by name, then by the alias the birth declared (Sparkplug hosts write aliased metrics by alias alone).
      await dcmd('press-1', [{ name: 'Alarms/Acknowledge', type: 'String', value: 'spc-1' }]);
      await until(() => node.stats().acknowledgements === 1, 5000, 'the acknowledgement by name');
      await dcmd('press-1', [{ alias: Number(text(ack.alias)), type: 'String', value: 'spc-3' }]);
      await until(() => node.stats().acknowledgements === 2, 5000, 'the acknowledgement by alias');
      expect(acknowledged().sort()).toEqual([['spc-1', 'Sparkplug DCMD'], ['spc-3', 'Sparkplug DCMD']]);
      // The line status published the change: DDATA for press-1 after the writes.
      await until(() => watcher.messages.some((m) => m.topic === 'spBv1.0/plant-k/DDATA/line-3/press-1'), 5000, 'DDATA for press-1');
      expect(node.stats().badCommands).toBe(5);
      expect(node.metricFamilies().find((f) => f.name === 'lepton_mfg_sparkplug_acknowledgements_total')!.samples[0]!.value).toBe(2);
      expect(new Set(errors)).toEqual(new Set(['MFG_SPARKPLUG_COMMAND']));
    } finally {
      await host.endAsync();
      await node.close();
      await watcher.stop();
    }
  }, 30_000);

  it("with a primary host: births only while its STATE says online; its going offline drops the session (NDEATH will) until it is back", async () => {
    const watcher = await Watcher.start(broker.url, ['spBv1.0/plant-c/#']);
    const host = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    const state = (online: boolean, timestamp: number) => host.publishAsync('spBv1.0/STATE/scada-1', JSON.stringify({ online, timestamp }), { qos: 1, retain: true });
    await state(false, 1000);
    const status = new LineStatus({ line: 'line-3' });
    status.observeRecord({ timestamp: T, asset: 'press-1', signal: 'pressure', value: 5, quality: 'good' });
    const errors: string[] = [];
    const node = await SparkplugEdgeNode.start({ url: broker.url, status, groupId: 'plant-c', primaryHostId: 'scada-1', reconnectPeriodMs: 300, onError: (e) => errors.push(e.code) });
    const types = () => watcher.messages.filter((m) => !/\/[ND]CMD\//.test(m.topic)).map(decode).map((m) => `${m.type}${m.type.startsWith('N') && m.metrics.has('bdSeq') ? ` ${String(m.metrics.get('bdSeq'))}` : ''}`);
    try {
      await new Promise((r) => setTimeout(r, 1000));
      expect(types()).toEqual([]); // the host is offline: no birth
      expect(node.stats()).toMatchObject({ connected: true, hostOnline: false });
      await state(true, 2000);
      await until(() => types().includes('DBIRTH'), 5000, 'the births once the host is online');
      expect(types()).toEqual(['NBIRTH 0', 'DBIRTH']);
      await state(false, 3000);
      await until(() => types().includes('NDEATH 0'), 5000, 'the NDEATH will when the host goes offline');
      await until(() => node.stats().connected, 5000, 'the reconnection');
      await new Promise((r) => setTimeout(r, 800));
      expect(types()).toEqual(['NBIRTH 0', 'DBIRTH', 'NDEATH 0']); // reconnected, waiting for the host
      expect(node.stats()).toMatchObject({ hostOnline: false, hostOfflineDrops: 1 });
      await state(true, 4000);
      await until(() => types().filter((t) => t === 'DBIRTH').length === 2, 5000, 'the births of the new session');
      expect(types().slice(3)).toEqual(['NBIRTH 1', 'DBIRTH']);
      // A late, older offline STATE changes nothing; a garbled one is counted.
      await host.publishAsync('spBv1.0/STATE/scada-1', JSON.stringify({ online: false, timestamp: 2500 }), { qos: 1 });
      await host.publishAsync('spBv1.0/STATE/scada-1', 'offline', { qos: 1 });
      await until(() => node.stats().badCommands === 1, 5000, 'the garbled STATE counted');
      expect(types()).toHaveLength(5);
      expect(node.stats()).toMatchObject({ hostOnline: true, hostOfflineDrops: 1 });
      expect(errors).toEqual(['MFG_SPARKPLUG_DECODE']); // the drop of our own is not reported as a lost broker
    } finally {
      await node.close();
      await host.publishAsync('spBv1.0/STATE/scada-1', '', { qos: 1, retain: true }); // clear the retained STATE
      await host.endAsync();
      await watcher.stop();
    }
  }, 60_000);

  it('store-and-forward: state changes made while the broker is down follow the next births as historical DDATA, bounded', async () => {
    const watcher = await Watcher.start(broker.url, ['spBv1.0/plant-d/#']);
    const status = new LineStatus({ line: 'line-4' });
    status.observeRecord({ timestamp: T, asset: 'press-9', signal: 'pressure', value: 5, quality: 'good' });
    const node = await SparkplugEdgeNode.start({ url: broker.url, status, groupId: 'plant-d', historicalChanges: 2, reconnectPeriodMs: 1500 });
    type Row = { type: string; device: string | undefined; at: number; metrics: Array<{ name: string; value: unknown; historical: boolean; timestamp: number }> };
    const rows = (): Row[] =>
      watcher.messages
        .filter((m) => /\/(NBIRTH|DBIRTH|DDATA)\//.test(m.topic))
        .map((m) => {
          const [, , type, , device] = m.topic.split('/');
          const p = tahu.decodePayload(m.payload);
          return { type: type!, device, at: Number(text(p.timestamp)), metrics: (p.metrics ?? []).map((x) => ({ name: x.name!, value: text(x.value), historical: x.isHistorical === true, timestamp: Number(text(x.timestamp)) })) };
        });
    try {
      await until(() => rows().some((r) => r.type === 'DBIRTH'), 5000, 'the births');
      await broker.stop();
      await until(() => !node.stats().connected, 5000, 'the node to see the broker gone');
      // Three alarm changes while down (raised, cleared, raised again): the store keeps the last two.
      for (const [n, cleared] of [[1, false], [1, true], [2, false]] as const) {
        status.observe({ type: cleared ? 'cleared' : 'raised', alarm: alarm('press-9', n, cleared ? T + n + 1 : undefined) });
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(node.stats().historical).toEqual({ queued: 2, sent: 0, dropped: 1 });
      await broker.start();
      await until(() => node.stats().historical.sent === 2, 10_000, 'the historical DDATA after the births');
    } finally {
      await node.close();
      await watcher.stop();
    }
    const after = rows().slice(rows().findIndex((r, i) => i > 0 && r.type === 'NBIRTH'));
    expect(after.map((r) => r.type)).toEqual(['NBIRTH', 'DBIRTH', 'DDATA', 'DDATA']);
    const [, , cleared, raised] = after;
    for (const d of [cleared!, raised!]) {
      expect(d.device).toBe('press-9');
      for (const m of d.metrics) {
        expect(m.historical).toBe(true);
        expect(m.timestamp).toBeLessThan(after[0]!.at); // taken while the broker was down, before the new birth
      }
    }
    expect(Object.fromEntries(cleared!.metrics.map((m) => [m.name, m.value]))).toMatchObject({ 'Health/State': 'ok', 'Alarms/Active': 0 });
    expect(Object.fromEntries(raised!.metrics.map((m) => [m.name, m.value]))).toMatchObject({ 'Health/State': 'alarm', 'Alarms/Active': 1 });
    // The births carry the current state, not historical.
    expect(after[1]!.metrics.every((m) => !m.historical)).toBe(true);
  }, 60_000);

  it("publishes NDEATH with the session's bdSeq as the MQTT will when the process dies", async () => {
    const watcher = await Watcher.start(broker.url, ['spBv1.0/test-group/#']);
    const child = await runChild('sparkplug', broker.url, 'line-7');
    try {
      await until(() => watcher.messages.some((m) => m.topic === 'spBv1.0/test-group/NBIRTH/line-7'), 10_000, 'NBIRTH');
      child.kill('SIGKILL');
      await until(() => watcher.messages.some((m) => m.topic === 'spBv1.0/test-group/NDEATH/line-7'), 10_000, 'the NDEATH will');
      const birth = decode(watcher.messages.find((m) => m.topic.includes('/NBIRTH/'))!);
      const death = decode(watcher.messages.find((m) => m.topic.includes('/NDEATH/'))!);
      expect(birth.metrics.get('bdSeq')).toBe('41');
      expect(death).toMatchObject({ seq: null, qos: 1, retain: false });
      expect(death.metrics.get('bdSeq')).toBe('41');
    } finally {
      child.kill('SIGKILL');
      await watcher.stop();
    }
    const status = new LineStatus({ line: 'l' });
    for (const bad of [{ groupId: 'a/b' }, { groupId: 'g', edgeNodeId: '+' }, { groupId: 'g', bdSeq: 256 }, { groupId: 'g', dataIntervalMs: 0 }, { groupId: 'g', aliases: 'yes' }, { groupId: 'g', alarmAcknowledgement: 'true' }, { groupId: 'g', primaryHostId: 'a/b' }, { groupId: 'g', historicalChanges: -1 }]) {
      await expect(SparkplugEdgeNode.start({ url: broker.url, status, ...(bad as { groupId: string }) })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
  }, 60_000);
});
