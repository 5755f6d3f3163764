import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStore, initRuntime, listSegments, ObjectDetector, parseConfig, SurveillanceService, type ApiEvent, type ObjectEvent, type ServiceHealth, type ServiceReport } from '@lepton/surveillance';
import { freePort, mosquittoAvailable, startBroker } from './support/mosquitto.js';
import { ffmpeg, kill, probe, serveLive, sleep, until, X264 } from './support/live.js';
import { parseExposition, sampleValue } from './support/prometheus.js';

// The service end to end against the real pieces: a live HTTP camera (ffmpeg's server) that is killed and comes
// back, the shipped detector, a Mosquitto broker, continuous recording with 1 s segments, and the HTTP API over HTTP.
// The camera shows a person (the astronaut photo) walking slowly to the right for 5 s, then an empty scene for 2 s,
// in a loop: each pass is one tracked object, `new` when confirmed and `end` (lost) once the scene is empty.

const HERE = dirname(fileURLToPath(import.meta.url));
const HAVE_BROKER = mosquittoAvailable();
if (!HAVE_BROKER) console.warn('service-api.test: no mosquitto binary (Debian package mosquitto): skipped.');
const TOKEN = 'test-token-0123456789abcdef';
const W = 320;
const H = 240;

let dir = '';
let detector: ObjectDetector;
let broker: Awaited<ReturnType<typeof startBroker>> | undefined;
let subscriber: mqtt.MqttClient | undefined;
let service: SurveillanceService | undefined;
// Two streams of the camera, as NVRs use them: the detect stream and the record stream (ffmpeg's HTTP server takes
// one client each).
let server: ReturnType<typeof serveLive> | undefined;
let recordServer: ReturnType<typeof serveLive> | undefined;
let port = 0;
let recordPort = 0;
const messages: Array<{ topic: string; payload: Buffer; retain: boolean }> = [];
const lifecycle = (): ObjectEvent[] => messages.filter((m) => m.topic === 'lepton-svc/events').map((m) => JSON.parse(m.payload.toString()) as ObjectEvent);
const streamed: ObjectEvent[] = [];
let firstEnd: ObjectEvent | undefined;

const logs: string[] = [];

/** A GET on a connection of its own (node:http, no keep-alive), answered as a fetch Response. */
function get(path: string, token: string | null = TOKEN, headers: Record<string, string> = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request(`${service!.url}${path}`, { agent: false, headers: { ...headers, ...(token === null ? {} : { authorization: `Bearer ${token}` }) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
        resolve(new Response(res.statusCode === 204 ? null : Buffer.concat(chunks), { status: res.statusCode!, headers: h }));
      });
    });
    req.on('error', reject);
    req.end();
  });
}
const json = async <T>(path: string): Promise<T> => {
  const r = await get(path);
  expect(r.status, path).toBe(200);
  return (await r.json()) as T;
};

beforeAll(async () => {
  if (!HAVE_BROKER) return;
  await initRuntime({ backend: 'wasm' }, {});
  dir = await mkdtemp(join(tmpdir(), 'lepton-service-api-'));
  await ffmpeg([
    '-f', 'lavfi', '-i', `color=c=0x607080:size=${W}x${H}:rate=10:duration=7`,
    '-i', join(HERE, 'fixtures', 'images', 'astronaut.jpg'),
    '-filter_complex', "[1]scale=120:120[a];[0][a]overlay=x='20+30*t':y=100:enable='lt(t,5)'",
    ...X264, join(dir, 'walk.mp4'),
  ]);
  // Detection in worker threads: the service's own thread stays free to answer HTTP while frames are analysed.
  detector = await ObjectDetector.load({ workers: 2 });
  broker = await startBroker(await freePort());
  subscriber = await mqtt.connectAsync(broker.url);
  subscriber.on('message', (topic, payload, packet) => messages.push({ topic, payload, retain: packet.retain }));
  await subscriber.subscribeAsync('lepton-svc/#', { qos: 1 });
  port = await freePort();
  recordPort = await freePort();
  server = serveLive(join(dir, 'walk.mp4'), port);
  recordServer = serveLive(join(dir, 'walk.mp4'), recordPort);
  const config = parseConfig({
    api: { token: TOKEN, port: 0, requestTimeoutSeconds: 1 },
    mqtt: { url: broker.url, topicPrefix: 'lepton-svc' },
    output: { dir: join(dir, 'out'), clips: null, annotatedVideo: false },
    // Segments are kept 20 s: long enough for the clips, short enough to see retention delete them.
    recording: { dir: join(dir, 'rec'), segmentSeconds: 1, retainDays: 20 / 86_400 },
    events: { updateSeconds: 1, clips: { before: 1, after: 1 } },
    cameras: [{
      name: 'walk', input: `http://127.0.0.1:${port}/live.ts`, record: `http://127.0.0.1:${recordPort}/live.ts`, fps: 5, width: W, height: H,
      tracker: { maxMisses: 2 },
      zones: [{ name: 'right', polygon: [[160, 0], [320, 0], [320, 240], [160, 240]] }],
      lines: [{ name: 'mid', from: [160, 0], to: [160, 240] }],
    }],
  });
  service = await SurveillanceService.start(config, {
    detector,
    pipeline: { sources: { walk: { reconnect: { initialDelayMs: 100, factor: 2, maxDelayMs: 400, stallTimeoutMs: 3000 } } } },
    recorder: { reconnect: { initialDelayMs: 100, maxDelayMs: 400 } },
    log: (line) => logs.push(line),
  });
  void (async () => {
    for await (const e of service!.events()) streamed.push(e);
  })();
  // The first pass of the person that was tracked all the way over the middle line into the right half and then lost
  // (on a busy machine a pass can also break into two tracks; those are objects too, but not this one).
  const walkedAcross = (e: ObjectEvent): boolean => e.type === 'end' && e.after.endReason === 'lost' && e.after.enteredZones.includes('right') && e.after.rules.some((r) => r.kind === 'line-cross');
  await until(() => (firstEnd = lifecycle().find(walkedAcross)) !== undefined, 180_000, 'a person to walk across and be lost');
}, 270_000);

afterAll(async () => {
  await service?.stop();
  await kill(server);
  await kill(recordServer);
  await subscriber?.endAsync();
  await broker?.stop();
  detector?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!HAVE_BROKER)('SurveillanceService over HTTP and MQTT', () => {
  it('publishes new → update → end for one object with one id on <prefix>/events (before/after), and the same on the typed stream', () => {
    const id = firstEnd!.after.id;
    expect(id).toMatch(/^walk-[0-9A-HJKMNP-TV-Z]{26}$/);
    const mine = lifecycle().filter((e) => e.after.id === id);
    expect(mine[0]!.type).toBe('new');
    expect(mine.at(-1)!.type).toBe('end');
    expect(mine.filter((e) => e.type === 'new').length).toBe(1);
    expect(mine.filter((e) => e.type === 'end').length).toBe(1);
    for (let k = 1; k < mine.length; k++) expect(mine[k]!.before).toEqual(mine[k - 1]!.after);
    const end = mine.at(-1)!.after;
    expect(end).toMatchObject({ camera: 'walk', label: 'person', endReason: 'lost', hasSnapshot: true });
    expect(end.endTime!).toBeGreaterThan(end.startTime);
    expect(end.topScore).toBeGreaterThanOrEqual(0.4);
    // It walked from x ≈ 20 to 170: over the middle line into the right half.
    expect(end.enteredZones).toEqual(['right']);
    expect(end.rules.some((r) => r.kind === 'line-cross' && r.line === 'mid')).toBe(true);
    expect(streamed.filter((e) => e.after.id === id).map((e) => e.type)).toEqual(mine.map((e) => e.type));
  });

  it('needs the bearer token on every route but /healthz', async () => {
    expect((await get('/healthz', null)).status).toBe(200);
    for (const path of ['/api/events', '/api/health', '/api/counts', '/metrics', `/api/events/${firstEnd!.after.id}/snapshot.jpg`, '/no/such/route']) {
      const none = await get(path, null);
      expect(none.status, path).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer');
      expect(await none.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
      expect((await get(path, `${TOKEN}x`)).status, path).toBe(401);
      expect((await get(path, TOKEN.slice(0, -1))).status, path).toBe(401);
    }
    expect((await get('/no/such/route')).status).toBe(404);
    const basic = await get('/api/events', null, { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` });
    expect(basic.status).toBe(401);
  });

  it('drops a request that does not arrive within api.requestTimeoutSeconds (408), and refuses a body over 16 KiB', async () => {
    const { port: apiPort } = new URL(service!.url);
    const t0 = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const s = connect(Number(apiPort), '127.0.0.1');
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('close', () => resolve(got));
      s.on('error', reject);
      // Headers that never end (a slow-loris client).
      s.write(`GET /api/health HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n`);
    });
    expect(answer.startsWith('HTTP/1.1 408')).toBe(true);
    expect(Date.now() - t0).toBeLessThan(5_000);
    const big = await new Promise<number>((resolve, reject) => {
      const req = request(`${service!.url}/api/events`, { method: 'POST', agent: false, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.end(JSON.stringify({ pad: 'x'.repeat(20_000) }));
    });
    expect([404, 413]).toContain(big); // no route takes a body; nothing is parsed
  });

  it('lists events with filters (camera, label, zone, time range, state, limit) and refuses a bad query', async () => {
    const id = firstEnd!.after.id;
    const start = firstEnd!.after.startTime;
    const ids = async (query: string): Promise<string[]> => (await json<{ events: ApiEvent[] }>(`/api/events${query}`)).events.map((e) => e.id);
    const all = await ids('');
    expect(all).toContain(id);
    expect(await ids('?camera=walk&label=person&zone=right')).toContain(id);
    expect(await ids('?camera=gate')).toEqual([]);
    expect(await ids('?label=car')).toEqual([]);
    expect(await ids('?zone=nowhere')).toEqual([]);
    expect(await ids(`?after=${start}&before=${start + 1}`)).toEqual([id]);
    expect(await ids(`?after=${new Date(start + 1).toISOString()}`)).not.toContain(id);
    expect(await ids('?in_progress=false')).toContain(id);
    expect(await ids('?in_progress=true')).not.toContain(id);
    expect((await ids('?limit=1')).length).toBe(1);
    for (const bad of ['?limit=0', '?limit=abc', '?after=yesterday', '?after=2026-02-30T00:00:00Z', '?colour=red', '?camera=../etc', '?in_progress=maybe']) {
      const r = await get(`/api/events${bad}`);
      expect(r.status, bad).toBe(400);
      expect(await r.json()).toMatchObject({ error: { code: 'INVALID_QUERY' } });
    }
    const one = await json<ApiEvent>(`/api/events/${id}`);
    expect(one).toMatchObject({ id, camera: 'walk', snapshotUrl: `/api/events/${id}/snapshot.jpg` });
    expect((await get('/api/events/walk-00000000000000000000000000')).status).toBe(404);
    expect((await get('/api/events/..%2F..%2Fetc%2Fpasswd/snapshot.jpg')).status).toBe(404);
  });

  it('serves the best snapshot as a JPEG of the detect stream', async () => {
    const r = await get(`/api/events/${firstEnd!.after.id}/snapshot.jpg`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('image/jpeg');
    const img = jpeg.decode(new Uint8Array(await r.arrayBuffer()), { useTArray: true });
    expect([img.width, img.height]).toEqual([W, H]);
  });

  it('cuts the clip from the recording (1 s before to 1 s after the object) and serves an MP4 ffprobe reads', async () => {
    const id = firstEnd!.after.id;
    let e: ApiEvent | undefined;
    await until(async () => ((e = await json<ApiEvent>(`/api/events/${id}`)).clip !== 'pending'), 60_000, 'the clip');
    expect(e!.clip, logs.join('\n')).toBe('ready');
    expect(e!.hasClip).toBe(true);
    const r = await get(e!.clipUrl!);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('video/mp4');
    await writeFile(join(dir, 'clip.mp4'), new Uint8Array(await r.arrayBuffer()));
    const p = probe(join(dir, 'clip.mp4'));
    expect([p.width, p.height]).toEqual([W, H]); // the camera's own stream, recorded without re-scaling
    const expected = (e!.endTime! - e!.startTime) / 1000 + 2;
    expect(Math.abs(p.duration - expected)).toBeLessThanOrEqual(1);
    expect(p.frames).toBeGreaterThanOrEqual(Math.round((expected - 1) * 10));
  });

  it('serves line and zone counts, and Prometheus metrics that parse and agree with health', async () => {
    const r = await get('/metrics');
    const counts = await json<{ cameras: Record<string, { lines: Record<string, Record<string, { aToB: number; bToA: number }>>; zones: Record<string, { entries: number }> }> }>('/api/counts');
    const mid = counts.cameras.walk!.lines.mid!.person!;
    expect(mid.aToB + mid.bToA).toBeGreaterThanOrEqual(1);
    expect(counts.cameras.walk!.zones.right!.entries).toBeGreaterThanOrEqual(1);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = parseExposition(await r.text());
    const health = await json<ServiceHealth>('/api/health');
    const frames = sampleValue(m, 'lepton_surveillance_camera_frames_total', { camera: 'walk' })!;
    expect(frames).toBeGreaterThan(0);
    expect(m.help.get('lepton_surveillance_camera_frames_total')).toBe('Frames processed.');
    expect(frames).toBeLessThanOrEqual(health.cameras[0]!.frames);
    expect(m.types.get('lepton_surveillance_camera_frames_total')).toBe('counter');
    expect(m.types.get('lepton_surveillance_camera_fps')).toBe('gauge');
    expect(sampleValue(m, 'lepton_surveillance_object_events_total', { camera: 'walk', type: 'new' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(m, 'lepton_surveillance_object_events_total', { camera: 'walk', type: 'end' })).toBeGreaterThanOrEqual(1);
    // Metrics first, counts a moment later: the person may have crossed once more in between.
    const crossed = sampleValue(m, 'lepton_surveillance_line_crossings_total', { camera: 'walk', line: 'mid', label: 'person', direction: 'a-to-b' })! + sampleValue(m, 'lepton_surveillance_line_crossings_total', { camera: 'walk', line: 'mid', label: 'person', direction: 'b-to-a' })!;
    expect(crossed).toBeGreaterThanOrEqual(1);
    expect(crossed).toBeLessThanOrEqual(mid.aToB + mid.bToA);
    expect(sampleValue(m, 'lepton_surveillance_recording_segments_total', { camera: 'walk' })).toBeGreaterThanOrEqual(2);
    expect(sampleValue(m, 'lepton_surveillance_clips_total', { result: 'ready' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(m, 'lepton_surveillance_mqtt_messages_total', { result: 'published' })).toBeGreaterThanOrEqual(3);
  });

  it('retention deletes the segments that ended more than retainDays ago (20 s here), and counts them', async () => {
    const expired = async (): Promise<number> => sampleValue(parseExposition(await (await get('/metrics')).text()), 'lepton_surveillance_recording_deleted_segments_total', { reason: 'expired' }) ?? 0;
    await until(async () => (await expired()) >= 1, 60_000, 'an expired segment');
    const left = await listSegments(join(dir, 'rec', 'walk'), 'walk');
    expect(left.length).toBeGreaterThanOrEqual(1);
    // A retention pass runs after every finished segment: what is left ended at most 20 s (and one segment) ago.
    expect(left[0]!.start + left[0]!.duration).toBeGreaterThan(Date.now() - 20_000 - 3_000);
  });

  it('counts a reconnect in health when the camera is killed and comes back, for the pipeline and the recorder', async () => {
    await Promise.all([kill(server), kill(recordServer)]);
    await sleep(1500);
    server = serveLive(join(dir, 'walk.mp4'), port);
    recordServer = serveLive(join(dir, 'walk.mp4'), recordPort);
    let h: ServiceHealth | undefined;
    await until(async () => {
      h = await json<ServiceHealth>('/api/health');
      const c = h.cameras[0]!;
      return c.reconnects >= 1 && c.state === 'running' && (c.recording?.restarts ?? 0) >= 1 && c.recording?.state === 'recording';
    }, 60_000, 'the reconnect in health');
    expect(h).toMatchObject({ instance: 'default', shard: null, state: 'running', status: 'ok' });
    expect(h!.cameras[0]).toMatchObject({ name: 'walk', state: 'running', error: null });
    expect(h!.cameras[0]!.fps).toBeGreaterThan(0);
    expect(Date.parse(h!.cameras[0]!.lastFrameAt!)).toBeGreaterThan(Date.now() - 10_000);
  });

  it('stop() ends every object in progress (published and stored), finishes recording and says offline', async () => {
    const report: ServiceReport = await service!.stop();
    expect(report.reason).toBe('stopped');
    const all = lifecycle();
    const news = all.filter((e) => e.type === 'new').map((e) => e.after.id);
    const ends = all.filter((e) => e.type === 'end').map((e) => e.after.id);
    expect(news.length).toBeGreaterThanOrEqual(1);
    expect(ends.sort()).toEqual([...news].sort());
    expect(report.objectEvents.new).toBe(news.length);
    expect(report.objectEvents.end).toBe(news.length);
    expect(report.mqtt.failed).toBe(0);
    const status = messages.filter((m) => m.topic === 'lepton-svc/instances/default').map((m) => JSON.parse(m.payload.toString()) as { state: string; cameras: string[] });
    expect(status.map((s) => s.state)).toEqual(['online', 'offline']);
    expect(status[0]!.cameras).toEqual(['walk']);
    // The ended events were persisted and come back in a new store.
    const store = await EventStore.open({ capacity: 100, persistPath: join(dir, 'out', 'events-default.jsonl') });
    expect(store.list().map((e) => e.object.id).sort()).toEqual([...news].sort());
    for (const e of store.list()) expect(e.object.endTime).not.toBeNull();
    expect(existsSync(join(dir, 'rec', 'walk'))).toBe(true);
    await expect(get('/healthz')).rejects.toThrow();
  });
});
