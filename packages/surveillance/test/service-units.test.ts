import { existsSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EventStore,
  ObjectLifecycle,
  loadConfig,
  parseConfig,
  renderMetrics,
  resolveServiceConfig,
  TOKEN_ENV,
  type Frame,
  type RuleEvent,
  type StoredEvent,
  type Track,
  type TrackedObject,
} from '@lepton/surveillance';
import { parseExposition, sampleValue } from './support/prometheus.js';

// The service's building blocks without video: the object lifecycle on hand-made tracks, the event store (ring,
// filters, persistence), the metrics text and the service configuration.

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lepton-service-units-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const W = 64;
const H = 48;
const frame = (index: number, wallTime: number): Frame => ({ camera: 'gate', index, sourceIndex: index, time: index / 10, wallTime, width: W, height: H, data: new Uint8Array(W * H * 3).fill(90) });
const track = (id: number, score: number, x = 10, misses = 0, confirmed = true): Track => ({ id, label: 'person', box: { x, y: 8, width: 12, height: 30 }, score, hits: 5, misses, confirmed, velocity: [1, 0] });
const ULID_ID = /^gate-[0-9A-HJKMNP-TV-Z]{26}$/;

describe('ObjectLifecycle: new → update → end, one id per object', () => {
  it('raises new on the first confirmed frame, updates on zones, rules and (throttled) better snapshots, ends when lost', () => {
    const life = new ObjectLifecycle('gate', { updateSeconds: 2 });
    const t0 = 1_767_225_600_000;
    expect(life.update(frame(0, t0), [track(1, 0.5, 10, 0, false)], [])).toEqual([]); // unconfirmed: nothing
    const first = life.update(frame(1, t0 + 100), [track(1, 0.5)], []);
    expect(first.map((o) => o.event.type)).toEqual(['new']);
    const id = first[0]!.event.after.id;
    expect(id).toMatch(ULID_ID);
    expect(first[0]!.event.before).toEqual(first[0]!.event.after);
    expect(first[0]!.event.after).toMatchObject({ camera: 'gate', label: 'person', trackId: 1, startTime: t0 + 100, endTime: null, hasSnapshot: true, endReason: null });
    const img = jpeg.decode(first[0]!.snapshot!, { useTArray: true });
    expect([img.width, img.height]).toEqual([W, H]);

    // A better snapshot 0.5 s later: kept, but no update yet (at most one snapshot-only update per 2 s).
    expect(life.update(frame(2, t0 + 600), [track(1, 0.8)], [])).toEqual([]);
    // Entering a zone: an update at once, carrying the pending better snapshot.
    const enter: RuleEvent = { kind: 'zone-enter', camera: 'gate', time: 0.3, trackId: 1, label: 'person', confidence: 0.8, box: track(1, 0.8).box, zone: 'door' };
    const upd = life.update(frame(3, t0 + 700), [track(1, 0.7)], [enter]);
    expect(upd.map((o) => o.event.type)).toEqual(['update']);
    expect(upd[0]!.event.after).toMatchObject({ id, currentZones: ['door'], enteredZones: ['door'], topScore: 0.8, snapshot: { score: 0.8, time: t0 + 600 } });
    expect(upd[0]!.event.before.currentZones).toEqual([]);
    expect(upd[0]!.snapshot).toBeInstanceOf(Uint8Array);

    // A line crossing: recorded on the object, an update.
    const cross: RuleEvent = { kind: 'line-cross', camera: 'gate', time: 0.4, trackId: 1, label: 'person', confidence: 0.7, box: track(1, 0.7).box, line: 'in', direction: 'a-to-b' };
    const crossed = life.update(frame(4, t0 + 800), [track(1, 0.7)], [cross]);
    expect(crossed[0]!.event.after.rules).toEqual([{ kind: 'line-cross', time: t0 + 800, line: 'in', direction: 'a-to-b' }]);
    expect(crossed[0]!.snapshot).toBeUndefined(); // nothing better since

    // Better again, then more than 2 s after the last message: a snapshot-only update.
    expect(life.update(frame(5, t0 + 900), [track(1, 0.95)], [])).toEqual([]);
    const late = life.update(frame(6, t0 + 2900), [track(1, 0.6)], []);
    expect(late.map((o) => o.event.type)).toEqual(['update']);
    expect(late[0]!.event.after.snapshot?.score).toBe(0.95);

    // A coasting track (misses > 0) is still in progress; a missing one is lost.
    expect(life.update(frame(7, t0 + 3000), [track(1, 0.99, 10, 2)], [])).toEqual([]);
    expect(life.active).toBe(1);
    const exit: RuleEvent = { kind: 'zone-exit', camera: 'gate', time: 0.8, trackId: 1, label: 'person', confidence: 0.6, box: track(1, 0.6).box, zone: 'door', reason: 'lost', dwellSeconds: 0.5 };
    const end = life.update(frame(8, t0 + 3100), [], [exit]);
    expect(end.map((o) => o.event.type)).toEqual(['end']);
    expect(end[0]!.event.after).toMatchObject({ id, endTime: t0 + 3100, endReason: 'lost', currentZones: [], enteredZones: ['door'], topScore: 0.95 });
    expect(end[0]!.event.before.currentZones).toEqual(['door']);
    expect(life.active).toBe(0);
  });

  it('endAll ends every object in progress; ids stay unique and sort by time across lifecycles', () => {
    const a = new ObjectLifecycle('gate', { snapshots: false });
    const b = new ObjectLifecycle('gate', { snapshots: false });
    const t = 1_767_225_600_000;
    const ids = [
      ...a.update(frame(0, t), [track(1, 0.9), track(2, 0.9, 40)], []).map((o) => o.event.after.id),
      ...b.update(frame(0, t), [track(1, 0.9)], []).map((o) => o.event.after.id),
      ...b.update(frame(1, t + 5), [track(1, 0.9), track(7, 0.9, 40)], []).map((o) => o.event.after.id),
    ];
    expect(new Set(ids).size).toBe(4);
    for (const id of ids) expect(id).toMatch(ULID_ID);
    expect([...ids].sort()).toEqual(ids); // same millisecond: monotonic; later millisecond: later
    const ends = a.endAll('stopped', t + 10);
    expect(ends.map((o) => [o.event.type, o.event.after.endReason, o.event.after.hasSnapshot])).toEqual([['end', 'stopped', false], ['end', 'stopped', false]]);
    expect(a.active).toBe(0);
    expect(() => new ObjectLifecycle('')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => new ObjectLifecycle('g', { updateSeconds: NaN })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

function object(id: string, over: Partial<TrackedObject> = {}): TrackedObject {
  return {
    id,
    camera: 'gate',
    label: 'person',
    trackId: 1,
    startTime: 1_767_225_600_000,
    endTime: 1_767_225_605_000,
    startMediaTime: 0,
    lastMediaTime: 5,
    score: 0.8,
    topScore: 0.9,
    box: { x: 1, y: 2, width: 3, height: 4 },
    currentZones: [],
    enteredZones: [],
    rules: [],
    snapshot: null,
    hasSnapshot: false,
    hasClip: false,
    endReason: 'lost',
    ...over,
  };
}
const idAt = (n: number, camera = 'gate'): string => `${camera}-01K${String(n).padStart(23, '0')}`;
const stored = (o: TrackedObject, over: Partial<StoredEvent> = {}): StoredEvent => ({ object: o, snapshotPath: null, clipPath: null, clip: 'none', ...over });

describe('EventStore: bounded ring, filters, JSON-lines persistence', () => {
  it('filters by camera, label, zone, start time range and state, newest first, with a limit', async () => {
    const store = await EventStore.open({ capacity: 100, persistPath: null });
    const t = 1_767_225_600_000;
    store.put(stored(object(idAt(1), { startTime: t, enteredZones: ['door'] })));
    store.put(stored(object(idAt(2, 'yard'), { camera: 'yard', startTime: t + 1000, label: 'car' })));
    store.put(stored(object(idAt(3), { startTime: t + 2000, endTime: null, endReason: null })));
    store.put(stored(object(idAt(4), { startTime: t + 3000, enteredZones: ['lawn', 'door'] })));
    const ids = (f: Parameters<EventStore['list']>[0]): string[] => store.list(f).map((e) => e.object.id);
    expect(ids({})).toEqual([idAt(4), idAt(3), idAt(2, 'yard'), idAt(1)]);
    expect(ids({ camera: 'gate' })).toEqual([idAt(4), idAt(3), idAt(1)]);
    expect(ids({ label: 'car' })).toEqual([idAt(2, 'yard')]);
    expect(ids({ zone: 'door' })).toEqual([idAt(4), idAt(1)]);
    expect(ids({ after: t + 1000, before: t + 3000 })).toEqual([idAt(3), idAt(2, 'yard')]);
    expect(ids({ inProgress: true })).toEqual([idAt(3)]);
    expect(ids({ inProgress: false, limit: 2 })).toEqual([idAt(4), idAt(2, 'yard')]);
  });

  it('keeps at most `capacity` events, dropping the oldest ended one with its files', async () => {
    const snap = join(dir, 'old.jpg');
    const clip = join(dir, 'old.mp4');
    await writeFile(snap, 'x');
    await writeFile(clip, 'x');
    const store = await EventStore.open({ capacity: 2, persistPath: null });
    store.put(stored(object(idAt(1), { endTime: null, endReason: null }))); // in progress: kept over ended ones
    store.put(stored(object(idAt(2)), { snapshotPath: snap, clipPath: clip, clip: 'ready' }));
    store.put(stored(object(idAt(3))));
    expect(store.size).toBe(2);
    expect(store.get(idAt(2))).toBeUndefined();
    expect(store.get(idAt(1))).toBeDefined();
    await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(snap)).toBe(false);
    expect(existsSync(clip)).toBe(false);
  });

  it('persists ended events and reads them back; malformed lines are skipped and counted; a pending clip stays pending', async () => {
    const path = join(dir, 'events.jsonl');
    const a = await EventStore.open({ capacity: 10, persistPath: path });
    a.put(stored(object(idAt(1), { endTime: null, endReason: null }))); // in progress: not persisted
    a.put(stored(object(idAt(2), { enteredZones: ['door'] }), { clip: 'pending' }));
    a.put(stored(object(idAt(3))));
    a.setClip(idAt(3), 'ready', join(dir, 'c3.mp4'));
    await a.flush();
    const lines = (await readFile(path, 'utf8')).trim().split('\n');
    expect(lines.length).toBe(3); // 2, 3, and 3 again with its clip
    await appendFile(path, '{"v":1,"object":{"id":"../../etc/passwd"}}\nnot json\n\n');
    const b = await EventStore.open({ capacity: 10, persistPath: path });
    expect(b.skippedLines).toBe(2);
    expect(b.list().map((e) => e.object.id).sort()).toEqual([idAt(2), idAt(3)]);
    expect(b.get(idAt(2))).toMatchObject({ clip: 'pending', object: { enteredZones: ['door'] } }); // cut at the next start
    expect(b.get(idAt(3))).toMatchObject({ clip: 'ready', clipPath: join(dir, 'c3.mp4'), object: { hasClip: true } });
    // Rewritten without the bad lines.
    const again = (await readFile(path, 'utf8')).trim().split('\n');
    expect(again.length).toBe(2);
  });

  it('reads back no file path outside the folder it is given (an edited file cannot make the API serve /etc/passwd)', async () => {
    const path = join(dir, 'paths.jsonl');
    const a = await EventStore.open({ capacity: 10, persistPath: path });
    a.put(stored(object(idAt(1), { hasSnapshot: true, hasClip: true }), { snapshotPath: '/etc/passwd', clipPath: join(dir, '..', 'x.mp4'), clip: 'ready' }));
    a.put(stored(object(idAt(2), { hasSnapshot: true }), { snapshotPath: join(dir, 'out', 'ok.jpg') }));
    await a.flush();
    const b = await EventStore.open({ capacity: 10, persistPath: path, filesUnder: join(dir, 'out'), deleteFiles: false });
    expect(b.get(idAt(1))).toMatchObject({ snapshotPath: null, clipPath: null, clip: 'failed', object: { hasSnapshot: false, hasClip: false } });
    expect(b.get(idAt(2))).toMatchObject({ snapshotPath: join(dir, 'out', 'ok.jpg'), object: { hasSnapshot: true } });
    expect(b.skippedLines).toBe(2);
  });

  it('compacts the file once it holds twice the capacity, keeping the newest', async () => {
    const path = join(dir, 'compact.jsonl');
    const store = await EventStore.open({ capacity: 3, persistPath: path });
    for (let i = 1; i <= 10; i++) store.put(stored(object(idAt(i), { startTime: 1_767_225_600_000 + i })));
    await store.flush();
    const lines = (await readFile(path, 'utf8')).trim().split('\n');
    expect(lines.length).toBeLessThanOrEqual(6);
    const reopened = await EventStore.open({ capacity: 3, persistPath: path });
    expect(reopened.list().map((e) => e.object.id)).toEqual([idAt(10), idAt(9), idAt(8)]);
  });

  it('rejects a bad capacity', async () => {
    await expect(EventStore.open({ capacity: 0, persistPath: null })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('renderMetrics: Prometheus text format', () => {
  it('renders HELP, TYPE and samples with escaped label values, skipping non-finite values', () => {
    const text = renderMetrics([
      { name: 'lepton_frames_total', help: 'Frames.\nSecond line \\ slash', type: 'counter', samples: [{ labels: { camera: 'a"b\\c\nd' }, value: 12 }, { labels: { camera: 'x' }, value: NaN }] },
      { name: 'lepton_fps', help: 'Rate.', type: 'gauge', samples: [{ value: 9.5 }] },
    ]);
    expect(text).toBe('# HELP lepton_frames_total Frames.\\nSecond line \\\\ slash\n# TYPE lepton_frames_total counter\nlepton_frames_total{camera="a\\"b\\\\c\\nd"} 12\n# HELP lepton_fps Rate.\n# TYPE lepton_fps gauge\nlepton_fps 9.5\n');
    const e = parseExposition(text);
    expect(sampleValue(e, 'lepton_frames_total', { camera: 'a"b\\c\nd' })).toBe(12);
    expect(sampleValue(e, 'lepton_fps')).toBe(9.5);
    expect(() => renderMetrics([{ name: 'bad-name', help: '', type: 'gauge', samples: [] }])).toThrow(/invalid metric name/);
    expect(() => renderMetrics([{ name: 'ok', help: '', type: 'gauge', samples: [{ labels: { 'bad-label': 'x' }, value: 1 }] }])).toThrow(/invalid label name/);
  });
});

describe('service configuration', () => {
  const cams = [{ name: 'gate', input: 'gate.mp4' }];
  it('needs a token (file or LEPTON_SURVEILLANCE_TOKEN) unless auth is off on a loopback host', () => {
    const noToken = parseConfig({ cameras: cams });
    expect(() => resolveServiceConfig(noToken, { env: {} })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining(TOKEN_ENV) }));
    expect(resolveServiceConfig(noToken, { env: { [TOKEN_ENV]: 't'.repeat(24) } }).api).toEqual({ host: '127.0.0.1', port: 5080, token: 't'.repeat(24), metricsAuth: true, requestTimeoutMs: 10_000 });
    expect(() => resolveServiceConfig(noToken, { env: { [TOKEN_ENV]: 'short' } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('at least 16') }));
    expect(resolveServiceConfig(parseConfig({ cameras: cams, api: { auth: false } }), { env: {} }).api.token).toBeNull();
    expect(() => resolveServiceConfig(parseConfig({ cameras: cams, api: { auth: false, host: '0.0.0.0' } }), { env: {} })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('loopback') }));
    expect(() => parseConfig({ cameras: cams, api: { token: 'short' } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('api.token') }));
    expect(() => parseConfig({ cameras: cams, api: { tokn: 'x' } })).toThrow(expect.objectContaining({ message: expect.stringContaining("'tokn'") }));
  });

  it('fills recording and event defaults; paths resolve against the file; sizes take units; cameras can opt out and carry labels', async () => {
    await writeFile(join(dir, 'svc.yaml'), `
api: { auth: false }
recording: { segmentSeconds: 10, retainDays: 0.5, maxBytes: 2MB }
events: { capacity: 50, clips: { before: 2 } }
output: { dir: out }
cameras:
  - { name: gate, input: gate.mp4, labels: { site: north } }
  - { name: yard, input: yard.mp4, recording: false }
`);
    const config = await loadConfig(join(dir, 'svc.yaml'));
    expect(config.cameras[0]!.labels).toEqual({ site: 'north' });
    const r = resolveServiceConfig(config, { env: {}, instance: 'shard-1-of-2' });
    expect(r.recording).toEqual({ dir: join(dir, 'recordings'), segmentSeconds: 10, retainMs: 43_200_000, maxBytes: 2_000_000, cameras: ['gate'] });
    expect(r.events).toEqual({ capacity: 50, persistPath: join(dir, 'out', 'events-shard-1-of-2.jsonl'), updateSeconds: 2, clips: { before: 2, after: 5, maxSeconds: 120 } });
    // Without recording there is nothing to cut clips from; with faces to blur, the (unblurred) recording is not cut.
    expect(resolveServiceConfig(parseConfig({ cameras: cams, api: { auth: false } }), { env: {} }).events.clips).toBeNull();
    expect(resolveServiceConfig({ ...config, privacy: { blurFaces: true } }, { env: {} }).events.clips).toBeNull();
    expect(() => parseConfig({ cameras: cams, recording: { maxBytes: '12 parsecs' } })).toThrow(expect.objectContaining({ message: expect.stringContaining('recording.maxBytes') }));
    expect(() => parseConfig({ cameras: [{ ...cams[0], labels: { 'bad key': 'x' } }] })).toThrow(expect.objectContaining({ message: expect.stringContaining("camera 'gate'") }));
  });
});
