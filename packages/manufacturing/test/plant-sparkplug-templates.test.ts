import sparkplugPayload from 'sparkplug-payload';
import tahuProto from 'sparkplug-payload/lib/sparkplugPayloadProto.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineStatus, SparkplugEdgeNode, decodeSparkplugPayload, encodeSparkplugPayload, type DecodedSparkplugTemplate, type SparkplugEdgeNodeOptions, type SparkplugMetric, type SparkplugTemplate, type SparkplugTemplateDefinition } from '@lepton/manufacturing';
import { Broker, mosquittoAvailable, startBroker } from './support/mosquitto.js';
import { until, Watcher } from './support/plant.js';

// Eclipse Tahu's own JavaScript codec (protobufjs with the official sparkplug_b.proto) is the independent reference.
const tahu = sparkplugPayload.get('spBv1.0')!;
const RawPayload = tahuProto.org.eclipse.tahu.protobuf.Payload;
const skip = !mosquittoAvailable() && !process.env['CI'];
if (skip) console.warn('plant-sparkplug-templates.test.ts broker tests skipped: install mosquitto (apt-get install -y mosquitto) to run them');

const T = 1_760_000_000_123;
const text = (v: unknown) => (v !== null && typeof v === 'object' && 'toString' in v && !('metrics' in v) ? String(v) : v); // Tahu's Long → '123'

type TahuMetric = { name?: string | null; alias?: unknown; type: string; value: unknown; isHistorical?: boolean | null };
type TahuTemplate = { version?: string; templateRef?: string; isDefinition?: boolean; metrics?: TahuMetric[]; parameters?: Array<{ name: string; type: string; value: unknown }> };
/**
 * A Tahu-decoded template as plain data: members by name (nested templates likewise), parameters by name. Tahu's
 * decoder reports a string field that was not sent as '' (the protobuf default), so '' reads as absent here; the raw
 * protobuf checks test presence.
 */
function plain(t: TahuTemplate): Record<string, unknown> {
  return {
    version: t.version === '' ? undefined : t.version,
    templateRef: t.templateRef === '' ? undefined : t.templateRef,
    isDefinition: t.isDefinition,
    members: Object.fromEntries((t.metrics ?? []).map((m) => [m.name, m.type === 'Template' ? plain(m.value as TahuTemplate) : [m.type, text(m.value)]])),
    parameters: Object.fromEntries((t.parameters ?? []).map((p) => [p.name, [p.type, text(p.value)]])),
  };
}

const motorTemplates: Record<string, SparkplugTemplateDefinition> = {
  Bearing: { metrics: [{ name: 'Temperature', type: 'Float', value: 20 }, { name: 'Vibration', type: 'Double' }] },
  Motor: {
    version: '1.2',
    metrics: [
      { name: 'Speed', type: 'Double', value: 0 },
      { name: 'Running', type: 'Boolean', value: false },
      { name: 'Starts', type: 'Int64', value: 0 },
      { name: 'Drive End', type: 'Template', template: 'Bearing' },
    ],
    parameters: [{ name: 'Rated kW', type: 'Double', value: 7.5 }, { name: 'Vendor', type: 'String', value: 'ACME' }],
  },
};

describe('Sparkplug B templates in the codec, checked with Eclipse Tahu', () => {
  const bearing = (temperature: number): SparkplugTemplate => ({ templateRef: 'Bearing', isDefinition: false, metrics: [{ name: 'Temperature', timestamp: T, type: 'Float', value: temperature }] });

  it('writes definitions and (nested) instances that Tahu decodes field by field, and reads what Tahu writes', () => {
    const metrics: SparkplugMetric[] = [
      { name: '_types_/Motor', timestamp: T, type: 'Template', value: { version: '1.2', isDefinition: true, metrics: [{ name: 'Speed', timestamp: T, type: 'Double', value: null }, { name: 'Drive End', timestamp: T, type: 'Template', value: bearing(20) }], parameters: [{ name: 'Rated kW', type: 'Double', value: 7.5 }, { name: 'Vendor', type: 'String', value: 'ACME' }, { name: 'Serial', type: 'Int64', value: -(2 ** 40) }, { name: 'Spare', type: 'Boolean', value: true }] } },
      { name: 'Main Motor', alias: 3, timestamp: T, type: 'Template', value: { templateRef: 'Motor', isDefinition: false, metrics: [{ name: 'Speed', timestamp: T, type: 'Double', value: 1450.5 }, { name: 'Drive End', timestamp: T, type: 'Template', value: bearing(41.5) }], parameters: [{ name: 'Vendor', type: 'String', value: 'Other' }] } },
    ];
    const bytes = encodeSparkplugPayload({ timestamp: T, seq: 0, metrics });
    const decoded = tahu.decodePayload(bytes).metrics as TahuMetric[];
    expect(decoded.map((m) => [m.name, m.type])).toEqual([['_types_/Motor', 'Template'], ['Main Motor', 'Template']]);
    expect(plain(decoded[0]!.value as TahuTemplate)).toEqual({
      version: '1.2', templateRef: undefined, isDefinition: true,
      members: { Speed: ['Double', null], 'Drive End': { version: undefined, templateRef: 'Bearing', isDefinition: false, members: { Temperature: ['Float', 20] }, parameters: {} } },
      parameters: { 'Rated kW': ['Double', 7.5], Vendor: ['String', 'ACME'], Serial: ['Int64', String(-(2 ** 40))], Spare: ['Boolean', true] },
    });
    expect(plain(decoded[1]!.value as TahuTemplate)).toMatchObject({ templateRef: 'Motor', isDefinition: false, members: { Speed: ['Double', 1450.5], 'Drive End': { members: { Temperature: ['Float', 41.5] } } }, parameters: { Vendor: ['String', 'Other'] } });
    // The raw protobuf fields: is_definition is sent for instances too (false), template_ref never for a definition.
    // (protobufjs sets a decoded field as an own property only when it was on the wire.)
    const raw = RawPayload.decode(bytes).metrics.map((m) => m.templateValue!);
    expect(Object.hasOwn(raw[0]!, 'templateRef')).toBe(false);
    expect(raw.map((t) => [Object.hasOwn(t, 'isDefinition'), t.isDefinition])).toEqual([[true, true], [true, false]]);
    expect(raw[1]!.templateRef).toBe('Motor');
    // Our decoder reads the same.
    const ours = decodeSparkplugPayload(bytes).metrics;
    expect(ours[1]).toMatchObject({ name: 'Main Motor', alias: 3, datatype: 19, value: { templateRef: 'Motor', isDefinition: false, metrics: [{ name: 'Speed', datatype: 10, value: 1450.5 }, { name: 'Drive End', datatype: 19, value: { templateRef: 'Bearing', metrics: [{ name: 'Temperature', value: 41.5 }] } }] } });
    expect((ours[0]!.value as DecodedSparkplugTemplate).parameters).toEqual([
      { name: 'Rated kW', datatype: 10, value: 7.5 }, { name: 'Vendor', datatype: 12, value: 'ACME' }, { name: 'Serial', datatype: 4, value: -(2 ** 40) }, { name: 'Spare', datatype: 11, value: true },
    ]);

    // Tahu writes, we read: signed members and parameters, a nested instance, version and flags.
    const theirs = tahu.encodePayload({ timestamp: T, seq: 1, metrics: [{ name: 'Pump', type: 'Template', timestamp: T, value: { version: '2', templateRef: 'Pump', isDefinition: false, metrics: [{ name: 'Delta', type: 'Int32', value: -7, timestamp: T }, { name: 'Tag', type: 'String', value: 'P-1', timestamp: T }, { name: 'Inner', type: 'Template', timestamp: T, value: { templateRef: 'Seal', isDefinition: false, metrics: [{ name: 'Ok', type: 'Boolean', value: true, timestamp: T }] } }], parameters: [{ name: 'Offset', type: 'Int16', value: -2 }, { name: 'Label', type: 'String', value: 'x' }] } }] });
    expect(decodeSparkplugPayload(theirs).metrics).toEqual([{ name: 'Pump', datatype: 19, value: {
      version: '2', templateRef: 'Pump', isDefinition: false,
      metrics: [{ name: 'Delta', datatype: 3, value: -7 }, { name: 'Tag', datatype: 12, value: 'P-1' }, { name: 'Inner', datatype: 19, value: { templateRef: 'Seal', isDefinition: false, metrics: [{ name: 'Ok', datatype: 11, value: true }], parameters: [] } }],
      parameters: [{ name: 'Offset', datatype: 2, value: -2 }, { name: 'Label', datatype: 12, value: 'x' }],
    } }]);
  });

  it("pins Tahu JavaScript 1.0.3's parameter limit (documented): Int32 parameters throw there, ours reads them", () => {
    const bytes = encodeSparkplugPayload({ timestamp: T, metrics: [{ name: 't', timestamp: T, type: 'Template', value: { isDefinition: true, metrics: [], parameters: [{ name: 'p', type: 'Int32', value: -5 }] } }] });
    expect(() => tahu.decodePayload(bytes)).toThrow(/Invalid Parameter value/);
    expect((decodeSparkplugPayload(bytes).metrics[0]!.value as DecodedSparkplugTemplate).parameters).toEqual([{ name: 'p', datatype: 3, value: -5 }]);
  });

  it('refuses templates that break Sparkplug 3.0 or nest deeper than 8, on both sides', () => {
    const nest = (depth: number): SparkplugTemplate => ({ templateRef: 'N', isDefinition: false, metrics: depth === 1 ? [] : [{ name: 'n', timestamp: T, type: 'Template', value: nest(depth - 1) }] });
    const one = (value: unknown) => encodeSparkplugPayload({ timestamp: T, metrics: [{ name: 't', timestamp: T, type: 'Template', value: value as SparkplugTemplate }] });
    expect(decodeSparkplugPayload(one(nest(8))).metrics).toHaveLength(1);
    for (const bad of [nest(9), { isDefinition: true, templateRef: 'X', metrics: [] }, { isDefinition: false, metrics: [] }, { templateRef: 'X', metrics: [] }, { isDefinition: false, templateRef: 'X', metrics: 'no' }, 5, { isDefinition: true, metrics: [], parameters: [{ name: 'p', type: 'Template', value: null }] }, { isDefinition: true, metrics: [], parameters: [{ name: 'p', type: 'Int8', value: 300 }] }]) {
      expect(() => one(bad)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    }
    // Nine levels written by Tahu: our decoder refuses them with a typed error (bounded recursion).
    const deep = (depth: number): unknown => ({ templateRef: 'N', isDefinition: false, metrics: depth === 1 ? [] : [{ name: 'n', type: 'Template', timestamp: T, value: deep(depth - 1) }] });
    expect(() => decodeSparkplugPayload(tahu.encodePayload({ timestamp: T, metrics: [{ name: 't', type: 'Template', timestamp: T, value: deep(9) as never }] }))).toThrow(expect.objectContaining({ code: 'MFG_SPARKPLUG_DECODE' }));
  });
});

type Msg = { type: string; device: string | undefined; metrics: TahuMetric[]; raw: Buffer };

describe.skipIf(skip)('SparkplugEdgeNode templates against a real Mosquitto broker', () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => broker?.stop());

  const messages = (w: Watcher): Msg[] =>
    w.messages.filter((m) => !/\/[ND]CMD\//.test(m.topic)).map((m) => {
      const [, , type, , device] = m.topic.split('/');
      return { type: type!, device, metrics: (tahu.decodePayload(m.payload).metrics ?? []) as TahuMetric[], raw: m.payload };
    });

  it('declares definitions in NBIRTH, births instances in DBIRTH, and sends only the changed members in DDATA (by alias)', async () => {
    const watcher = await Watcher.start(broker.url, ['spBv1.0/plant-t/#']);
    const status = new LineStatus({ line: 'line-t' });
    status.observeRecord({ timestamp: T, asset: 'press-1', signal: 'pressure', value: 5, quality: 'good' });
    const node = await SparkplugEdgeNode.start({
      url: broker.url, status, groupId: 'plant-t', aliases: true, templates: motorTemplates,
      templateInstances: { 'press-1': [{ name: 'Main Motor', template: 'Motor', parameters: { Vendor: 'Other' }, values: { Speed: 10, 'Drive End': { Vibration: 0.5 } } }, { name: 'Motors/Aux', template: 'Motor' }] },
    });
    try {
      await until(() => messages(watcher).some((m) => m.type === 'DBIRTH'), 5000, 'the births');
      expect(node.setTemplateValues('press-1', 'Main Motor', { Speed: 1450, Running: false })).toBe(true); // Running unchanged
      expect(node.setTemplateValues('press-1', 'Main Motor', { 'Drive End': { Temperature: 41.5 } })).toBe(true);
      expect(node.setTemplateValues('press-1', 'Main Motor', { Speed: 1450 })).toBe(false); // no change: nothing sent
      expect(node.setTemplateValues('press-1', 'Motors/Aux', { Starts: 2n ** 40n, Running: true })).toBe(true);
      await until(() => messages(watcher).filter((m) => m.type === 'DDATA').length === 3, 5000, 'three DDATA');
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      await node.close();
      await watcher.stop();
    }
    const all = messages(watcher);
    expect(all.map((m) => m.type)).toEqual(['NBIRTH', 'DBIRTH', 'DDATA', 'DDATA', 'DDATA', 'NDEATH']);
    const [nbirth, dbirth, d1, d2, d3] = all;
    // Definitions: in NBIRTH only, named _types_/<name>, is_definition, no template_ref, no alias, defaults as values.
    const defs = nbirth!.metrics.filter((m) => m.type === 'Template');
    expect(defs.map((m) => [m.name, m.alias ?? null])).toEqual([['_types_/Bearing', null], ['_types_/Motor', null]]);
    expect(plain(defs[1]!.value as TahuTemplate)).toEqual({
      version: '1.2', templateRef: undefined, isDefinition: true,
      members: { Speed: ['Double', 0], Running: ['Boolean', false], Starts: ['Int64', '0'], 'Drive End': { version: undefined, templateRef: 'Bearing', isDefinition: false, members: { Temperature: ['Float', 20], Vibration: ['Double', null] }, parameters: {} } },
      parameters: { 'Rated kW': ['Double', 7.5], Vendor: ['String', 'ACME'] },
    });
    for (const m of RawPayload.decode(nbirth!.raw).metrics.filter((x) => x.datatype === 19)) {
      expect(Object.hasOwn(m.templateValue!, 'templateRef')).toBe(false); // a definition omits template_ref
      expect(m.templateValue!.isDefinition).toBe(true);
    }
    expect(dbirth!.metrics.some((m) => m.type === 'Template' && (m.value as TahuTemplate).isDefinition)).toBe(false);
    // Instances in DBIRTH: every member, template_ref, is_definition false, parameters (overridden), version.
    const inst = dbirth!.metrics.filter((m) => m.type === 'Template');
    expect(inst.map((m) => m.name)).toEqual(['Main Motor', 'Motors/Aux']);
    expect(plain(inst[0]!.value as TahuTemplate)).toEqual({
      version: '1.2', templateRef: 'Motor', isDefinition: false,
      members: { Speed: ['Double', 10], Running: ['Boolean', false], Starts: ['Int64', '0'], 'Drive End': { version: undefined, templateRef: 'Bearing', isDefinition: false, members: { Temperature: ['Float', 20], Vibration: ['Double', 0.5] }, parameters: {} } },
      parameters: { 'Rated kW': ['Double', 7.5], Vendor: ['String', 'Other'] },
    });
    // Aliases: unique across the node's births; instances have one, their members none.
    const births = [...nbirth!.metrics, ...dbirth!.metrics].filter((m) => m.alias !== undefined && m.alias !== null).map((m) => String(text(m.alias)));
    expect(new Set(births).size).toBe(births.length);
    const aliasOf = new Map(inst.map((m) => [String(text(m.alias)), m.name]));
    expect(aliasOf.size).toBe(2);
    for (const m of inst) for (const member of (m.value as TahuTemplate).metrics!) expect(member.alias ?? null).toBeNull();
    // DDATA: the instance by alias alone, with the changed members only (a nested one inside its nested instance).
    const data = [d1!, d2!, d3!].map((d) => {
      expect(d.device).toBe('press-1');
      expect(d.metrics).toHaveLength(1);
      expect(d.metrics[0]!.name ?? null).toBeNull();
      return [aliasOf.get(String(text(d.metrics[0]!.alias))), plain(d.metrics[0]!.value as TahuTemplate)];
    });
    expect(data).toEqual([
      ['Main Motor', { version: undefined, templateRef: 'Motor', isDefinition: false, members: { Speed: ['Double', 1450] }, parameters: {} }],
      ['Main Motor', { version: undefined, templateRef: 'Motor', isDefinition: false, members: { 'Drive End': { version: undefined, templateRef: 'Bearing', isDefinition: false, members: { Temperature: ['Float', 41.5] }, parameters: {} } }, parameters: {} }],
      ['Motors/Aux', { version: undefined, templateRef: 'Motor', isDefinition: false, members: { Running: ['Boolean', true], Starts: ['Int64', String(2n ** 40n)] }, parameters: {} }],
    ]);
  }, 30_000);

  it('refuses bad templates and bad values with typed errors, publishing nothing', async () => {
    const watcher = await Watcher.start(broker.url, ['spBv1.0/plant-v/#']);
    const status = new LineStatus({ line: 'line-v' });
    status.observeRecord({ timestamp: T, asset: 'press-1', signal: 'pressure', value: 5, quality: 'good' });
    const start = (o: Partial<SparkplugEdgeNodeOptions>) => SparkplugEdgeNode.start({ url: broker.url, status, groupId: 'plant-v', ...o } as SparkplugEdgeNodeOptions);
    const hostile = { toString: () => { throw new Error('ran user code'); } };
    const chain = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`T${i}`, { metrics: i === n - 1 ? [{ name: 'x', type: 'Int32' }] : [{ name: 'next', type: 'Template', template: `T${i + 1}` }] }]));
    const bad: Array<[Partial<SparkplugEdgeNodeOptions>, RegExp]> = [
      [{ templateInstances: { 'press-1': [{ name: 'm', template: 'Pump' }] } }, /template of options\.templates.*'Pump'/],
      [{ templates: motorTemplates, templateInstances: { 'press-1': [{ name: 'm', template: 'Motor', values: { Torque: 1 } }] } }, /'Torque'.*not a member of template 'Motor'/],
      [{ templates: motorTemplates, templateInstances: { 'press-1': [{ name: 'm', template: 'Motor', values: { Speed: 'fast' } }] } }, /type 'Double', got 'fast'/],
      [{ templates: motorTemplates, templateInstances: { 'press-1': [{ name: 'm', template: 'Motor', values: { Speed: Number.NaN } }] } }, /got NaN/],
      [{ templates: motorTemplates, templateInstances: { 'press-1': [{ name: 'm', template: 'Motor', parameters: { Colour: 'red' } }] } }, /'Colour', which is not a parameter/],
      [{ templates: { A: { metrics: [{ name: 'b', type: 'Template', template: 'B' }] }, B: { metrics: [{ name: 'a', type: 'Template', template: 'A' }] } } }, /cycle: 'A' → 'B' → 'A'/],
      [{ templates: { A: { metrics: [{ name: 'self', type: 'Template', template: 'A' }] } } }, /cycle/],
      [{ templates: chain(9) as never }, /deeper than 8/],
      [{ templates: { A: { metrics: [{ name: 'b', type: 'Template', template: 'Nope' }] } } }, /unknown template 'Nope'/],
      [{ templates: { A: { metrics: [{ name: 'x', type: 'Int8' }, { name: 'x', type: 'Int16' }] } } }, /'x' is used twice/],
      [{ templates: { A: { metrics: [{ name: 'x', type: 'Int8', value: 300 }] } } }, /type 'Int8', got 300/],
      [{ templates: { A: { metrics: [{ name: 'x', type: 'Decimal' as never }] } } }, /scalar datatype.*got 'Decimal'/],
      [{ templates: { A: { metrics: [], parameters: [{ name: 'p', type: 'Template' as never }] } } }, /scalar type/],
      [{ templates: motorTemplates, templateInstances: { 'press-1': [{ name: 'm', template: 'Motor' }, { name: 'm', template: 'Bearing' }] } }, /'m' is used twice in one device/],
      [{ templates: motorTemplates, templateInstances: { 'press-1': [{ name: 'Health/Motor', template: 'Motor' }] } }, /folder of the node's own device metrics/],
      [{ templates: { A: { metrics: [{ name: hostile as never, type: 'Int8' }] } } }, /non-empty string, got \(object\)/],
      [{ templates: motorTemplates, templateInstances: { 'press-1': [{ name: 'm', template: Symbol('x') as never }] } }, /got Symbol\(x\)/],
      [{ templates: [] as never }, /options\.templates must be an object/],
      [{ templates: { A: { metrics: 'x' as never } } }, /must be \{ metrics/],
    ];
    for (const [options, message] of bad) {
      const err = await start(options).then(
        async (n) => { await n.close(); return undefined; },
        (e: unknown) => e,
      );
      expect(err, String(message)).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(message) });
    }
    // Values set at run time: checked before anything is set or sent.
    const node = await start({ templates: motorTemplates, templateInstances: { 'press-1': [{ name: 'm', template: 'Motor' }] } });
    try {
      await until(() => messages(watcher).some((m) => m.type === 'DBIRTH'), 5000, 'the births');
      const before = watcher.messages.length;
      for (const [args, message] of [
        [['press-2', 'm', { Speed: 1 }], /asset with template instances.*got 'press-2'/],
        [['press-1', 'x', { Speed: 1 }], /instance of 'press-1'.*got 'x'/],
        [['press-1', 'm', { Speed: 1, Torque: 2 }], /not a member/],
        [['press-1', 'm', { Speed: 1, Running: 'yes' }], /type 'Boolean', got 'yes'/],
        [['press-1', 'm', { 'Drive End': 5 }], /must be an object of member values, got 5/],
        [['press-1', 'm', { Starts: 2n ** 63n }], /type 'Int64', got 9223372036854775808n/],
        [['press-1', 'm', null], /got null/],
      ] as const) {
        expect(() => node.setTemplateValues(...(args as unknown as [string, string, Record<string, number>]))).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringMatching(message) }));
      }
      // Speed was valid in the refused calls, but nothing was set: setting it now is a change.
      expect(node.setTemplateValues('press-1', 'm', { Speed: 1 })).toBe(true);
      await until(() => watcher.messages.length === before + 1, 5000, 'the one DDATA');
    } finally {
      await node.close();
      await watcher.stop();
    }
    expect(messages(watcher).map((m) => m.type)).toEqual(['NBIRTH', 'DBIRTH', 'DDATA', 'NDEATH']); // the refused starts published nothing
  }, 30_000);

  it('store-and-forward: a member changed while the broker is down follows the next births as historical DDATA', async () => {
    const watcher = await Watcher.start(broker.url, ['spBv1.0/plant-s/#']);
    const status = new LineStatus({ line: 'line-s' });
    status.observeRecord({ timestamp: T, asset: 'press-1', signal: 'pressure', value: 5, quality: 'good' });
    const node = await SparkplugEdgeNode.start({ url: broker.url, status, groupId: 'plant-s', historicalChanges: 10, reconnectPeriodMs: 500, templates: motorTemplates, templateInstances: { 'press-1': [{ name: 'm', template: 'Motor' }] } });
    try {
      await until(() => messages(watcher).some((m) => m.type === 'DBIRTH'), 5000, 'the births');
      await broker.stop();
      await until(() => !node.stats().connected, 5000, 'the node to see the broker gone');
      node.setTemplateValues('press-1', 'm', { 'Drive End': { Temperature: 80 } });
      expect(node.stats()).toMatchObject({ historical: { queued: 1 } });
      await broker.start();
      await until(() => node.stats().historical.sent === 1, 10_000, 'the historical DDATA');
    } finally {
      await node.close();
      await watcher.stop();
    }
    const after = messages(watcher).filter((m) => m.type !== 'NDEATH').slice(2);
    expect(after.map((m) => m.type)).toEqual(['NBIRTH', 'DBIRTH', 'DDATA']);
    // The new DBIRTH already carries the value (current state); the DDATA sends the change as history.
    const born = after[1]!.metrics.find((m) => m.name === 'm')!;
    expect(plain(born.value as TahuTemplate)).toMatchObject({ members: { 'Drive End': { members: { Temperature: ['Float', 80] } } } });
    expect(born.isHistorical ?? false).toBe(false);
    const [late] = after[2]!.metrics;
    expect(late).toMatchObject({ name: 'm', isHistorical: true });
    const drive = (late!.value as TahuTemplate).metrics!;
    expect(drive.map((m) => [m.name, m.isHistorical])).toEqual([['Drive End', true]]);
    expect(plain(drive[0]!.value as TahuTemplate)).toMatchObject({ members: { Temperature: ['Float', 80] } });
  }, 30_000);
});
