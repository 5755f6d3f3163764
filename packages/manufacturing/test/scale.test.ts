import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime } from '@lepton/core';
import {
  AnomalyDetector,
  assetPartition,
  assignPartitions,
  LINE_SIGNALS,
  LineMonitor,
  lineRecords,
  parseAssetSnapshot,
  simulateLine,
  telemetryTopic,
  type LineEvent,
  type LineMonitorOptions,
  type SensorRecord,
} from '@lepton/manufacturing';

const raised = (events: LineEvent[]) => events.flatMap((e) => (e.type === 'raised' ? [e.alarm] : []));
const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

async function feed(monitor: LineMonitor, records: Iterable<SensorRecord>): Promise<LineEvent[]> {
  const events: LineEvent[] = [];
  for (const r of records) events.push(...(await monitor.push(r)));
  return events;
}

describe('partitions of a plant', () => {
  it('routes an asset by FNV-1a of its UTF-8 bytes, as documented for gateways in other languages', () => {
    // FNV-1a 32 of "a" is 0xe40c292c (published test vector); of "press-1" computed by hand below.
    expect(assetPartition('a', 2 ** 10)).toBe(0xe40c292c % 1024);
    let h = 0x811c9dc5;
    for (const b of Buffer.from('pressé-1', 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    expect(assetPartition('pressé-1', 7)).toBe(h % 7);
    expect(telemetryTopic('site/plant', 7, 'pressé-1', 'pressure')).toBe(`site/plant/data/${h % 7}/pressé-1/pressure`);
    for (const bad of ['', 'a/b', 'a+b', 'a#', '$SYS']) expect(() => assetPartition(bad, 4)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    for (const bad of [0, 1025, 1.5, Number.NaN]) expect(() => assetPartition('a', bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('assigns every partition to one live member, and moves only the partitions of a member that leaves or joins', () => {
    const members = ['mon-a', 'mon-b', 'mon-c'];
    const three = assignPartitions(members, 64);
    expect(three).toHaveLength(64);
    expect(assignPartitions([...members].reverse(), 64)).toEqual(three); // order-free: every member computes the same
    const counts = members.map((m) => three.filter((o) => o === m).length);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(10); // 64 over 3: no member starved
    const two = assignPartitions(['mon-a', 'mon-c'], 64);
    three.forEach((owner, p) => {
      if (owner !== 'mon-b') expect(two[p]).toBe(owner); // b left: only b's partitions moved
    });
    const four = assignPartitions([...members, 'mon-d'], 64);
    four.forEach((owner, p) => {
      if (owner !== 'mon-d') expect(owner).toBe(three[p]); // d joined: it took partitions, nobody else's moved
    });
    expect(assignPartitions([], 8)).toEqual([]);
  });
});

describe('LineMonitor snapshots: an asset handed to another monitor goes on where it stopped', () => {
  const assets = ['press-1', 'press-2', 'mill-1'];
  const normal = simulateLine({ assets, samples: 2400, seed: 11 });
  const subgroup = 20;
  const baseline = LineMonitor.fitBaseline(normal.rows, LINE_SIGNALS, subgroup);
  const shift = simulateLine({
    assets,
    samples: 1000,
    seed: 12,
    faults: [
      { asset: 'press-2', kind: 'step', from: 400, signal: 'pressure', magnitude: 0.8 },
      { asset: 'mill-1', kind: 'dropout', from: 590, to: 640, signal: 'vibration_rms' },
    ],
  });
  const split = 600; // tick: press-2's SPC alarm and mill-1's dropout alarm are active here
  const now = () => shift.timestamps.at(-1)! + 1000;
  let detector: AnomalyDetector;
  let options: LineMonitorOptions;

  beforeAll(async () => {
    await initRuntime({ backend: 'wasm' }, {});
    detector = await AnomalyDetector.fitSeries([normal.rows['press-1']!.slice(0, 800)], { signals: [...LINE_SIGNALS], window: 8, epochs: 1, seed: 1 });
    options = { signals: LINE_SIGNALS, detector, baseline, subgroup, ruleSet: { rules: [1, 5], runLength: 9 }, alarms: { spc: { raiseAfter: 2 } }, quality: { now } };
  }, 120_000);
  afterAll(() => detector?.dispose());

  it('gives exactly the events of one uninterrupted monitor, through JSON, with alarms keeping their ids', async () => {
    const whole = new LineMonitor(options);
    const before = await feed(whole, lineRecords(shift, [0, split]));
    const after = await feed(whole, lineRecords(shift, [split, 1000]));
    after.push(...(await whole.flush()));

    const first = new LineMonitor(options);
    expect(await feed(first, lineRecords(shift, [0, split]))).toEqual(before);
    const carried = first.active();
    expect(new Set(carried.map((a) => a.asset))).toEqual(new Set(['mill-1', 'press-2']));
    expect(carried.map((a) => a.id.replace(/-\d+$/, '')).sort()).toEqual(expect.arrayContaining(['quality', 'spc']));
    const snapshots = assets.map((a) => json(first.snapshotAsset(a, { final: true })));
    for (const a of assets) expect(first.forgetAsset(a)).toBe(true);
    expect(first.assets()).toEqual([]);
    expect(first.active()).toEqual([]);

    const second = new LineMonitor(options);
    for (const s of snapshots) second.restoreAsset(s);
    const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
    expect(second.active().sort(byId)).toEqual(carried.sort(byId)); // same ids, raised times, occurrences
    const resumed = await feed(second, lineRecords(shift, [split, 1000]));
    resumed.push(...(await second.flush()));
    // Episodes that started after the hand-over are numbered by the new monitor (in a group, each member has its own id
    // prefix); the carried ones keep theirs.
    const renumber = (events: LineEvent[]): LineEvent[] => {
      const ids = new Map<string, string>(carried.map((c) => [c.id, c.id]));
      return events.map((e) => (e.type === 'raised' || e.type === 'cleared' ? { ...e, alarm: { ...e.alarm, id: ids.get(e.alarm.id) ?? ids.set(e.alarm.id, `new-${ids.size}`).get(e.alarm.id)! } } : e));
    };
    expect(renumber(resumed)).toEqual(renumber(after));
    for (const c of carried) {
      // Never raised twice: the next event of a carried condition is its own clearing (or none while it lasts).
      const next = resumed.find((e) => (e.type === 'raised' || e.type === 'cleared') && e.alarm.key === c.key);
      if (next) expect(next).toMatchObject({ type: 'cleared', alarm: { id: c.id, raisedAt: c.raisedAt } });
    }
    expect(raised(resumed).some((a) => a.evidence.source === 'data-quality:handover-gap')).toBe(false); // no data lost
    expect(after.some((e) => e.type === 'cleared' && e.alarm.id === carried.find((c) => c.asset === 'mill-1')!.id)).toBe(true);
    // Bounded: (window + about 20) × signals numbers and the alarm conditions, whatever the history.
    expect(JSON.stringify(snapshots[0]).length).toBeLessThan(16_000);
  });

  it('raises one hand-over alarm per asset for data that never arrived, and none again for an active alarm', async () => {
    const first = new LineMonitor(options);
    const before = await feed(first, lineRecords(shift, [0, split]));
    const spc = raised(before).find((a) => a.asset === 'press-2' && a.evidence.signals[0] === 'pressure')!;
    expect(spc).toBeDefined();
    const second = new LineMonitor({ ...options, alarms: { ...options.alarms, handover: { clearAfter: 16, idPrefix: 'handover-m2' } } });
    for (const a of assets) second.restoreAsset(json(first.snapshotAsset(a, { final: true })));
    const resumed = await feed(second, lineRecords(shift, [split + 60, 1000])); // a minute nobody saw
    const gaps = raised(resumed).filter((a) => a.evidence.source === 'data-quality:handover-gap');
    expect(gaps.map((a) => a.asset).sort()).toEqual([...assets].sort());
    expect(gaps[0]).toMatchObject({ id: 'handover-m2-1', severity: 'medium', evidence: { values: { gapMs: 61_000, finalSnapshot: 1 }, window: { from: shift.timestamps[split - 1], to: shift.timestamps[split + 60] } } });
    expect(resumed.filter((e) => e.type === 'cleared' && e.alarm.evidence.source === 'data-quality:handover-gap')).toHaveLength(3); // after 16 samples each
    expect(raised(resumed).filter((a) => a.key === spc.key)).toEqual([]);
    expect(second.active().find((a) => a.key === spc.key)?.id).toBe(spc.id);

    // A periodic (not final) snapshot: the monitor that took it may have consumed samples since and died with them.
    const third = new LineMonitor(options);
    third.restoreAsset(json(first.snapshotAsset('press-1')));
    const next = await feed(third, lineRecords(shift, [split, split + 1]));
    expect(raised(next).filter((a) => a.evidence.source === 'data-quality:handover-gap').map((a) => a.evidence.values)).toEqual([{ gapMs: 1000, finalSnapshot: 0 }]);
  });

  it('refuses damaged snapshots and snapshots from monitors with other settings, with typed errors', async () => {
    const m = new LineMonitor(options);
    await feed(m, lineRecords(shift, [0, 50]));
    const good = json(m.snapshotAsset('press-1'))!;
    expect(parseAssetSnapshot(good).asset).toBe('press-1');
    const cases: Array<[(s: Record<string, unknown>) => void, string]> = [
      [(s) => (s.format = 'other'), 'format'],
      [(s) => ((s.row as { values: unknown[] }).values = [1]), 'row.values'],
      [(s) => ((s.detector as { ring: unknown[] }).ring.push(0)), 'detector.ring'],
      [(s) => ((s.last as unknown[])[0] = 'x'), 'last.0'],
      [(s) => ((s.alarms as { spc: unknown[] }).spc = [{ key: 'other:spc:pressure', asset: 'other', over: 1, under: 0 }]), 'alarms.spc[0]'],
      [(s) => ((s.subgroupState as { n: number }).n = subgroup), 'subgroupState.n'],
    ];
    for (const [mutate, field] of cases) {
      const bad = json(good) as unknown as Record<string, unknown>;
      mutate(bad);
      expect(() => new LineMonitor(options).restoreAsset(bad)).toThrow(expect.objectContaining({ code: 'MFG_SNAPSHOT_INVALID', details: { field } }));
    }
    const other = new LineMonitor({ ...options, subgroup: 30, baseline: LineMonitor.fitBaseline(normal.rows, LINE_SIGNALS, 30) });
    expect(() => other.restoreAsset(good)).toThrow(expect.objectContaining({ code: 'MFG_SNAPSHOT_MISMATCH' }));
    const full = new LineMonitor({ ...options, maxAssets: 1 });
    full.restoreAsset(good);
    expect(() => full.restoreAsset({ ...good, asset: 'press-9', alarms: { spc: [], model: [], quality: [], clock: [], handover: [] } })).toThrow(expect.objectContaining({ code: 'MFG_MAX_ASSETS' }));

    // Anything at any path: restored, or refused with a snapshot error; never another kind of failure.
    const paths = ['row', 'row.ts', 'detector.head', 'detector.valid', 'quality', 'rules', 'alarms.model', 'pendingGap', 'lastSampleAt', 'fillRun', 'signals', 'window'];
    fc.assert(
      fc.property(fc.constantFrom(...paths), fc.jsonValue(), (path, value) => {
        const s = json(good) as unknown as Record<string, unknown>;
        const keys = path.split('.');
        let o = s;
        for (const k of keys.slice(0, -1)) o = o[k] as Record<string, unknown>;
        o[keys.at(-1)!] = value;
        try {
          new LineMonitor(options).restoreAsset(s);
        } catch (err) {
          expect((err as { code?: string }).code).toMatch(/^MFG_SNAPSHOT_(INVALID|MISMATCH)$/);
        }
      }),
      { numRuns: 200, seed: 7 },
    );
  });
});
