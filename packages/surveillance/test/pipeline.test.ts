import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import jpeg from 'jpeg-js';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLeptonError } from '@lepton/core';
import {
  FaceDetector,
  ObjectDetector,
  SurveillancePipeline,
  initRuntime,
  loadConfig,
  parseConfig,
  seededRandom,
  sideOfLine,
  tf,
  type Box,
  type LineCrossEvent,
  type PipelineReport,
  type SurveillanceEvent,
} from '@lepton/surveillance';
import { freePort, mosquittoAvailable, startBroker } from './support/mosquitto.js';

// End to end: real footage (OpenCV's vtest.avi, Debian opencv-doc), the real ffmpeg, the shipped CenterNet model,
// a real Mosquitto broker. Expected values come from the hand count in fixtures/vtest-hand-count.json, from ffprobe /
// ffmpeg runs independent of the code under test, or from the scene itself (what a still image can and cannot do).
// The detector costs ≈ 0.2 s per frame on wasm, so clips are short and one detector is shared by every pipeline.

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const VTEST = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';
const HAVE_VTEST = existsSync(VTEST);
if (!HAVE_VTEST) console.warn(`pipeline.test: ${VTEST} is missing (Debian package opencv-doc): the vtest tests are skipped.`);
const HAVE_BROKER = mosquittoAvailable();
if (!HAVE_BROKER) console.warn('pipeline.test: no mosquitto binary (Debian package mosquitto): the MQTT test is skipped.');

const HAND = JSON.parse(await readFile(join(HERE, 'fixtures', 'vtest-hand-count.json'), 'utf8')) as {
  line: { from: [number, number]; to: [number, number]; crossings: Array<{ frame: number; direction: 'left-to-right' | 'right-to-left' }> };
};

// The vtest segment: source frames 60…109 (t = 6 s …), scaled by ½ to 384 × 288 (the detect stream).
const SEG_START = 60;
const SEG_FRAMES = 50;
const W = 384;
const H = 288;
const SCALE = W / 768;
const LINE_FROM = [HAND.line.from[0] * SCALE, HAND.line.from[1] * SCALE] as const; // (150, 90)
const LINE_TO = [HAND.line.to[0] * SCALE, HAND.line.to[1] * SCALE] as const; // (150, 185)
// lines.ts / sideOfLine: side A is on the left looking from `from` to `to`. This line points down the image, so its
// left is the image's right (x > 150, side A) and the image's left is side B: walking left to right is B → A.
const LEFT_TO_RIGHT = 'b-to-a';
const RIGHT_TO_LEFT = 'a-to-b';
// Hand-counted crossings inside the segment (frames 72 right-to-left and 88 left-to-right: one man, there and back).
const HAND_CROSSINGS = HAND.line.crossings
  .filter((c) => c.frame >= SEG_START && c.frame < SEG_START + SEG_FRAMES)
  .map((c) => ({ time: (c.frame - SEG_START) / 10, direction: c.direction === 'left-to-right' ? LEFT_TO_RIGHT : RIGHT_TO_LEFT }));
// The man who walks over the tripwire and back walks through this strip of path, left of the sign: a restricted zone.
const RESTRICTED = [[118, 100], [162, 100], [162, 140], [118, 140]] as const;
// A man in a brown jacket stands still at x ≈ 193, feet at y ≈ 129 (full resolution x ≈ 385: in the hand count's
// frames 50 and 120, and checked by eye on frame 70): a zone around his feet with a 2 s loitering limit.
const BENCH = [[178, 116], [204, 116], [204, 142], [178, 142]] as const;
const LOITER_SECONDS = 2;
const CLIP = { before: 1, after: 1 };

let dir = '';
const f = (name: string): string => join(dir, name);
let detector: ObjectDetector;

const ffmpeg = (args: string[]): Promise<unknown> => run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args]);
const x264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-g', '10', '-pix_fmt', 'yuv420p'];

function probe(file: string): { width: number; height: number; frames: number; duration: number } {
  const out = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries',
    'stream=width,height,nb_read_frames:format=duration', '-of', 'json', file]).toString();
  const j = JSON.parse(out) as { streams: Array<Record<string, string | number>>; format: { duration: string } };
  const s = j.streams[0]!;
  return { width: Number(s.width), height: Number(s.height), frames: Number(s.nb_read_frames), duration: Number(j.format.duration) };
}

/** Independent decode of a video to raw RGB frames with the ffmpeg CLI. */
function rgbFrames(file: string, w: number, h: number): Buffer[] {
  const out = execFileSync('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', file, '-vf', `scale=${w}:${h}`, '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1'], { maxBuffer: 1 << 28 });
  const n = w * h * 3;
  return Array.from({ length: Math.floor(out.length / n) }, (_, i) => out.subarray(i * n, (i + 1) * n));
}

/** Mean absolute difference of horizontally and vertically adjacent grey pixels inside a box: detail (edges, texture). */
function detail(rgb: Uint8Array, width: number, box: Box): number {
  const grey = (x: number, y: number): number => {
    const o = (y * width + x) * 3;
    return 0.299 * rgb[o]! + 0.587 * rgb[o + 1]! + 0.114 * rgb[o + 2]!;
  };
  let s = 0;
  let n = 0;
  for (let y = box.y; y < box.y + box.height - 1; y++) {
    for (let x = box.x; x < box.x + box.width - 1; x++) {
      s += Math.abs(grey(x + 1, y) - grey(x, y)) + Math.abs(grey(x, y + 1) - grey(x, y));
      n += 2;
    }
  }
  return s / n;
}

/** Mean absolute difference of two RGB images inside a box. */
function mad(a: Uint8Array, b: Uint8Array, width: number, box: Box): number {
  let s = 0;
  for (let y = box.y; y < box.y + box.height; y++) for (let x = box.x; x < box.x + box.width; x++) for (let k = 0; k < 3; k++) s += Math.abs(a[(y * width + x) * 3 + k]! - b[(y * width + x) * 3 + k]!);
  return s / (box.width * box.height * 3);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Runs a pipeline, reading its event stream while it runs. */
async function runAll(pipeline: SurveillancePipeline): Promise<{ report: PipelineReport; events: SurveillanceEvent[] }> {
  const done = pipeline.run();
  const events: SurveillanceEvent[] = [];
  for await (const e of pipeline.events()) events.push(e);
  return { report: await done, events };
}

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
  dir = await mkdtemp(join(tmpdir(), 'lepton-pipeline-'));
  detector = await ObjectDetector.load();
});

afterAll(async () => {
  detector?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!HAVE_VTEST)('vtest segment: tripwire, zones, snapshots, clips, MQTT, a failing camera beside a good one', () => {
  let report: PipelineReport;
  let events: SurveillanceEvent[];
  let tensorsBefore = 0;
  let tensorsAfter = 0;
  let broker: Awaited<ReturnType<typeof startBroker>> | undefined;
  let subscriber: mqtt.MqttClient | undefined;
  const messages: Array<{ topic: string; payload: Buffer; retain: boolean }> = [];

  beforeAll(async () => {
    await ffmpeg(['-ss', String(SEG_START / 10), '-i', VTEST, '-frames:v', String(SEG_FRAMES), '-vf', `scale=${W}:${H}`, ...x264, f('seg.mp4')]);
    const rand = seededRandom(11);
    await writeFile(f('corrupt.mp4'), Uint8Array.from({ length: 20_000 }, () => Math.floor(rand() * 256)));
    if (HAVE_BROKER) {
      broker = await startBroker(await freePort());
      subscriber = await mqtt.connectAsync(broker.url);
      subscriber.on('message', (topic, payload, packet) => messages.push({ topic, payload, retain: packet.retain }));
      await subscriber.subscribeAsync('lepton-test/#', { qos: 1 });
    }
    // A real YAML file through loadConfig: relative paths resolve against its folder.
    const yaml = `
detector:
  batchSize: 4
${broker === undefined ? '' : `mqtt:\n  url: ${broker.url}\n  topicPrefix: lepton-test\n`}
output:
  dir: out
  clips: { before: ${CLIP.before}, after: ${CLIP.after} }
  evidence: [zone-enter, zone-exit, loitering, intrusion, line-cross, crowd]
cameras:
  - name: path
    input: seg.mp4
    fps: 10
    width: ${W}
    height: ${H}
    lines:
      - name: tripwire
        from: [${LINE_FROM.join(', ')}]
        to: [${LINE_TO.join(', ')}]
    zones:
      - name: restricted
        polygon: ${JSON.stringify(RESTRICTED)}
        restricted: true
      - name: bench
        polygon: ${JSON.stringify(BENCH)}
        loiterSeconds: ${LOITER_SECONDS}
  - name: broken
    input: corrupt.mp4
    width: ${W}
    height: ${H}
  - name: gone
    input: no-such-file.mp4
    width: ${W}
    height: ${H}
`;
    await writeFile(f('cameras.yaml'), yaml);
    const config = await loadConfig(f('cameras.yaml'));
    expect(config.output.dir).toBe(f('out'));
    tensorsBefore = tf.memory().numTensors;
    const pipeline = await SurveillancePipeline.create(config, { detector });
    ({ report, events } = await runAll(pipeline));
    tensorsAfter = tf.memory().numTensors;
    if (broker !== undefined) await until(() => messages.length >= report.mqtt.published, 10_000, 'MQTT messages');
  }, 120_000);

  afterAll(async () => {
    await subscriber?.endAsync();
    await broker?.stop();
  });

  const cam = (name: string) => report.cameras.find((c) => c.camera === name)!;

  it('the tripwire raises the hand-counted crossings with the right directions, same man there and back', () => {
    expect(HAND_CROSSINGS).toEqual([
      { time: 1.2, direction: RIGHT_TO_LEFT },
      { time: 2.8, direction: LEFT_TO_RIGHT },
    ]);
    // The convention, checked on the line itself: a point left of x = 150 is side B (positive distance).
    expect(sideOfLine([100, 130], LINE_FROM, LINE_TO)).toBeGreaterThan(0);
    const crossings = events.filter((e) => e.rule.kind === 'line-cross').map((e) => e.rule as LineCrossEvent);
    expect(crossings.map((c) => c.direction)).toEqual(HAND_CROSSINGS.map((c) => c.direction));
    crossings.forEach((c, i) => {
      expect(c.line).toBe('tripwire');
      expect(c.label).toBe('person');
      expect(c.camera).toBe('path');
      // Confirmed a few frames after the feet pass the line (hysteresis: 4 px for 2 frames, plus the Kalman lag).
      expect(c.time).toBeGreaterThanOrEqual(HAND_CROSSINGS[i]!.time);
      expect(c.time).toBeLessThanOrEqual(HAND_CROSSINGS[i]!.time + 0.8);
    });
    expect(crossings[0]!.trackId).toBe(crossings[1]!.trackId);
    expect(cam('path').counts.lines.tripwire).toEqual({ person: { aToB: 1, bToA: 1 } });
  });

  it('zones: the walker intrudes into the restricted strip; the standing man loiters by the sign', () => {
    const walker = (events.find((e) => e.rule.kind === 'line-cross')!.rule as LineCrossEvent).trackId;
    const intrusions = events.filter((e) => e.rule.kind === 'intrusion');
    expect(intrusions.length).toBeGreaterThanOrEqual(1);
    for (const e of intrusions) expect(e.rule).toMatchObject({ zone: 'restricted', label: 'person' });
    expect(intrusions.map((e) => (e.rule as { trackId: number }).trackId)).toContain(walker);
    // Every intrusion comes right after a zone-enter of the same track into the same zone.
    for (const e of intrusions) {
      const i = events.indexOf(e);
      expect(events[i - 1]!.rule).toMatchObject({ kind: 'zone-enter', zone: 'restricted', trackId: (e.rule as { trackId: number }).trackId, time: e.rule.time });
    }
    const loiter = events.filter((e) => e.rule.kind === 'loitering');
    expect(loiter.length).toBeGreaterThanOrEqual(1);
    for (const e of loiter) {
      const r = e.rule as { zone: string; dwellSeconds: number; trackId: number; time: number };
      expect(r.zone).toBe('bench');
      expect(r.trackId).not.toBe(walker);
      expect(r.dwellSeconds).toBeGreaterThanOrEqual(LOITER_SECONDS);
      const enter = events.find((x) => x.rule.kind === 'zone-enter' && x.rule.zone === 'bench' && (x.rule as { trackId: number }).trackId === r.trackId)!;
      expect(r.time - enter.rule.time).toBeCloseTo(r.dwellSeconds, 9);
      expect(r.dwellSeconds).toBeLessThan(LOITER_SECONDS + 0.15); // raised on the first frame past the limit
    }
    expect(cam('path').events.loitering).toBe(loiter.length);
    expect(cam('path').events.intrusion).toBe(intrusions.length);
  });

  it('the good camera processes every frame (detector on each: people move throughout) and writes an annotated MP4 of them all', () => {
    const p = cam('path');
    expect(p.error).toBeUndefined();
    expect(probe(f('seg.mp4')).frames).toBe(SEG_FRAMES);
    expect(p.frames).toBe(SEG_FRAMES);
    expect(p.source).toMatchObject({ produced: SEG_FRAMES, delivered: SEG_FRAMES, dropped: 0 });
    expect(p.detectedFrames).toBe(SEG_FRAMES);
    expect(p.skippedByMotion).toBe(0);
    expect(p.clipErrors).toEqual([]);
    expect(p.annotatedVideo).toBe(join(f('out'), 'path', 'path-annotated.mp4'));
    expect(probe(p.annotatedVideo!)).toMatchObject({ width: W, height: H, frames: SEG_FRAMES });
    expect(tensorsAfter).toBe(tensorsBefore);
  });

  it('a corrupt and a missing file fail their cameras only: VIDEO_SOURCE_FAILED in their reports, run() resolves', () => {
    expect(report.cameras.map((c) => c.camera)).toEqual(['path', 'broken', 'gone']);
    for (const name of ['broken', 'gone']) {
      const c = cam(name);
      expect(c.error?.code).toBe('VIDEO_SOURCE_FAILED');
      expect(c.error?.message).toContain(`'${name}'`);
      expect(c.frames).toBe(0);
      expect(c.events).toEqual({});
      expect(c.annotatedVideo).toBeUndefined(); // no video without a frame (issue 15)
      expect(existsSync(join(f('out'), name, `${name}-annotated.mp4`))).toBe(false);
    }
    expect(report.forwardPasses).toBeGreaterThanOrEqual(1);
    expect(report.forwardPasses).toBeLessThanOrEqual(SEG_FRAMES);
  });

  it('the event stream yields exactly the events of the report, each with a JPEG snapshot and a clip of before + after', async () => {
    expect(events.length).toBe(report.events);
    const byKind: Record<string, number> = {};
    for (const e of events) byKind[e.rule.kind] = (byKind[e.rule.kind] ?? 0) + 1;
    expect(byKind).toEqual(cam('path').events);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    const segDuration = probe(f('seg.mp4')).duration;
    for (const e of events) {
      expect(e.id).toMatch(/^path-[0-9A-HJKMNP-TV-Z]{26}$/); // camera and ULID: unique across runs and processes
      expect(e.frame).toBe(Math.round(e.rule.time * 10));
      const img = jpeg.decode(await readFile(e.snapshot!), { useTArray: true });
      expect([img.width, img.height]).toEqual([W, H]);
      const clip = e.clip!;
      expect(clip.from).toBe('file');
      expect(await clip.ready).toBe(true);
      expect(clip.start).toBeCloseTo(Math.max(0, e.rule.time - CLIP.before), 9);
      expect(clip.end).toBeCloseTo(e.rule.time + CLIP.after, 9);
      // What ffprobe reads: the window, cut short only where the recording ends.
      const p = probe(clip.path);
      expect([p.width, p.height]).toEqual([W, H]);
      const expected = Math.min(clip.end, segDuration) - clip.start;
      expect(Math.abs(p.duration - expected)).toBeLessThanOrEqual(0.15);
      expect(Math.abs(p.frames - Math.round(expected * 10))).toBeLessThanOrEqual(1);
    }
    // The two crossings' clips are whole: 1 s before + 1 s after.
    for (const e of events.filter((x) => x.rule.kind === 'line-cross')) expect(Math.abs(probe(e.clip!.path).duration - 2)).toBeLessThanOrEqual(0.15);
  });

  it.skipIf(!HAVE_BROKER)('MQTT: every event as JSON on <prefix>/<camera>/events/<kind>, and the latest snapshot retained per class', async () => {
    expect(report.mqtt).toEqual({ published: 2 * events.length, failed: 0 });
    const json = messages.filter((m) => m.topic.includes('/events/'));
    expect(json.length).toBe(events.length);
    for (const e of events) {
      const hits = json.filter((m) => m.topic === `lepton-test/path/events/${e.rule.kind}` && (JSON.parse(m.payload.toString()) as { id: string }).id === e.id);
      expect(hits.length).toBe(1);
      const body = JSON.parse(hits[0]!.payload.toString()) as Record<string, unknown>;
      const r = e.rule as unknown as Record<string, unknown>;
      expect(body).toMatchObject({ id: e.id, kind: r.kind, camera: 'path', trackId: r.trackId, label: r.label, confidence: r.confidence, box: r.box, frame: e.frame, snapshot: e.snapshot });
      expect(body.clip).toEqual({ path: e.clip!.path, start: e.clip!.start, end: e.clip!.end });
      expect(new Date(body.wallTime as string).getTime()).toBe(e.wallTime);
      if (e.rule.kind === 'line-cross') expect(body).toMatchObject({ line: 'tripwire', direction: e.rule.direction });
      else expect(body.zone).toBe((e.rule as { zone: string }).zone);
    }
    const snaps = messages.filter((m) => m.topic === 'lepton-test/path/person/snapshot');
    const personEvents = events.filter((e) => (e.rule as { label?: string }).label === 'person');
    expect(snaps.length).toBe(personEvents.length);
    for (const [i, s] of snaps.entries()) expect(Buffer.compare(s.payload, await readFile(personEvents[i]!.snapshot!))).toBe(0);
    // A client that connects later gets the retained latest snapshot.
    const late = await mqtt.connectAsync(broker!.url);
    try {
      const got = new Promise<{ payload: Buffer; retain: boolean }>((resolve) => late.on('message', (_t, payload, packet) => resolve({ payload, retain: packet.retain })));
      await late.subscribeAsync('lepton-test/path/person/snapshot', { qos: 1 });
      const retained = await Promise.race([got, sleep(5000).then(() => undefined)]);
      expect(retained?.retain).toBe(true);
      expect(Buffer.compare(retained!.payload, await readFile(personEvents.at(-1)!.snapshot!))).toBe(0);
      const img = jpeg.decode(retained!.payload, { useTArray: true });
      expect([img.width, img.height]).toEqual([W, H]);
    } finally {
      await late.endAsync();
    }
  });
});

describe.skipIf(!HAVE_VTEST)('motion gating', () => {
  it('a still, empty scene: the detector runs only while the background is built, then every frame is skipped', async () => {
    // The empty lawn of vtest (frame 0 below y = 336, under everyone's feet: a crop from y = 288 still holds a
    // walker's legs, which the detector rightly finds), held still for 3 s.
    await ffmpeg(['-i', VTEST, '-frames:v', '1', '-vf', 'crop=768:240:0:336', f('lawn.png')]);
    await ffmpeg(['-loop', '1', '-framerate', '10', '-i', f('lawn.png'), '-frames:v', '30', '-vf', 'scale=384:120', ...x264, f('still.mp4')]);
    expect(probe(f('still.mp4')).frames).toBe(30);
    const config = parseConfig({
      output: { dir: f('out-still'), clips: null, annotatedVideo: false },
      cameras: [{ name: 'still', input: f('still.mp4'), fps: 10, width: 384, height: 120 }],
    });
    const { report } = await runAll(await SurveillancePipeline.create(config, { detector }));
    const c = report.cameras[0]!;
    expect(c.frames).toBe(30);
    // MotionDetector's default warm-up is 10 frames: motion cannot tell yet, so the detector runs on those only.
    expect(c.detectedFrames).toBe(10);
    expect(c.skippedByMotion).toBe(20);
    expect(c.detections).toBe(0);
    expect(c.tracks).toBe(0);
    expect(report.events).toBe(0);
  });
});

describe.skipIf(!HAVE_VTEST)('live HTTP stream', () => {
  /** ffmpeg's one-client HTTP server, streaming the looped clip as MPEG-TS at its native rate. */
  const serve = (file: string, port: number): ChildProcess =>
    spawn('ffmpeg', ['-hide_banner', '-loglevel', 'quiet', '-re', '-stream_loop', '-1', '-i', file, '-c', 'copy', '-f', 'mpegts',
      '-listen', '1', `http://127.0.0.1:${port}/live.ts`], { stdio: 'ignore' });

  it('reconnects after the server is killed and restarted, frames flow again, and event clips come from the ring buffer', { timeout: 120_000 }, async () => {
    await ffmpeg(['-ss', String(SEG_START / 10), '-i', VTEST, '-frames:v', '30', '-vf', `scale=${W}:${H}`, ...x264, f('live.mp4')]);
    // The restarted server streams the same clip with a magenta square on the lawn (bottom left): frames that really
    // come from it can be told from the ones still queued from the first server (the source's bounded queue holds up
    // to `maxFrames` of them when the pipeline is slower than the stream).
    await ffmpeg(['-i', f('live.mp4'), '-vf', `drawbox=x=0:y=${H - 40}:w=40:h=40:color=magenta:t=fill`, ...x264, f('live2.mp4')]);
    const marked = (rgb: Uint8Array): boolean => {
      const o = ((H - 20) * W + 20) * 3;
      return rgb[o]! > 200 && rgb[o + 1]! < 60 && rgb[o + 2]! > 200;
    };
    const port = await freePort();
    let server = serve(f('live.mp4'), port);
    const config = parseConfig({
      output: { dir: f('out-live'), clips: CLIP, evidence: ['zone-enter', 'zone-exit', 'loitering', 'intrusion', 'line-cross', 'crowd'] },
      cameras: [{ name: 'live', input: `http://127.0.0.1:${port}/live.ts`, fps: 10, width: W, height: H, zones: [{ name: 'bench', polygon: BENCH }] }],
    });
    const seen: Array<{ time: number; marked: boolean }> = [];
    const pipeline = await SurveillancePipeline.create(config, {
      detector,
      sources: { live: { reconnect: { initialDelayMs: 100, factor: 2, maxDelayMs: 400, stallTimeoutMs: 3000 } } },
      onFrame: (i) => seen.push({ time: i.frame.time, marked: marked(i.frame.data) }),
    });
    const running = runAll(pipeline);
    try {
      // Kill early: everything the first server sent until then is still processed first (see above).
      await until(() => seen.length >= 5, 40_000, 'first frames');
      server.kill('SIGKILL');
      await sleep(1000);
      server = serve(f('live2.mp4'), port);
      await until(() => seen.filter((s) => s.marked).length >= 6, 60_000, 'frames from the restarted server');
    } finally {
      pipeline.stop();
      server.kill('SIGKILL');
    }
    const { report, events } = await running;
    const c = report.cameras[0]!;
    expect(c.error).toBeUndefined();
    expect(c.reconnects).toBeGreaterThanOrEqual(1);
    expect(c.frames).toBe(seen.length);
    // Frames of the first server, then of the second, never mixed.
    const firstMarked = seen.findIndex((s) => s.marked);
    expect(firstMarked).toBeGreaterThanOrEqual(5);
    expect(seen.slice(firstMarked).every((s) => s.marked)).toBe(true);
    // Media time keeps counting across the restart.
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.time).toBeGreaterThan(seen[i - 1]!.time);
    expect(probe(c.annotatedVideo!).frames).toBe(c.frames);

    // The standing man is in the bench zone from the start: its zone-enter comes early, and its clip is complete.
    expect(events.length).toBeGreaterThanOrEqual(1);
    const first = events[0]!;
    expect(first.rule).toMatchObject({ kind: 'zone-enter', zone: 'bench', label: 'person' });
    const clip = first.clip!;
    expect(clip.from).toBe('ring');
    expect(await clip.ready).toBe(true);
    // The clip holds the processed frames of [time − 1 s, time + 1 s) (a live source drops frames the slow pipeline
    // cannot take; the clip has the ones it got), written at the camera's rate.
    const inWindow = seen.filter((s) => s.time >= clip.start - 1e-9 && s.time < clip.end - 1e-9).length;
    expect(seen.at(-1)!.time).toBeGreaterThanOrEqual(clip.end); // the after-frames arrived before the stop
    const p = probe(clip.path);
    expect([p.width, p.height]).toEqual([W, H]);
    expect(p.frames).toBe(inWindow);
    expect(Math.abs(p.duration - inWindow / 10)).toBeLessThanOrEqual(0.15);
  });
});

describe('privacy: blurred faces', () => {
  const FACE: Box = { x: 180, y: 77, width: 90, height: 103 }; // recorded by hand, as in detect.test.ts
  const SUIT: Box = { x: 250, y: 330, width: 80, height: 100 }; // a textured part of the suit, away from the face and from the drawn box

  it('faces are blurred in the annotated video and in snapshots, and counted', async () => {
    // The photo over 64 rows of black, so that the astronaut's feet (the bottom of his box, the zone anchor) are
    // inside the frame and inside a zone, which raises an event with a snapshot. The zone stays clear of the face and
    // of the control patch (an occupied zone is tinted in the annotated video).
    await ffmpeg(['-loop', '1', '-framerate', '10', '-i', join(HERE, 'fixtures', 'images', 'astronaut.jpg'), '-frames:v', '5', '-vf', 'pad=512:576:0:0', ...x264, f('astro.mp4')]);
    const faces = await FaceDetector.load();
    try {
      const config = parseConfig({
        privacy: { blurFaces: true },
        output: { dir: f('out-astro'), clips: null, evidence: ['zone-enter', 'zone-exit', 'loitering', 'intrusion', 'line-cross', 'crowd'] },
        cameras: [{ name: 'astro', input: f('astro.mp4'), fps: 10, width: 512, height: 576, motion: { enabled: false },
          zones: [{ name: 'feet', polygon: [[0, 480], [512, 480], [512, 576], [0, 576]] }] }],
      });
      const { report, events } = await runAll(await SurveillancePipeline.create(config, { detector, faces }));
      const c = report.cameras[0]!;
      expect(c.frames).toBe(5);
      expect(c.detectedFrames).toBe(5);
      // One face in the photo (detect.test.ts), found and blurred in every frame.
      expect(c.facesBlurred).toBe(5);
      const src = rgbFrames(f('astro.mp4'), 512, 576);
      const out = rgbFrames(c.annotatedVideo!, 512, 576);
      expect(out.length).toBe(5);
      for (let i = 0; i < 5; i++) {
        expect(detail(out[i]!, 512, FACE)).toBeLessThan(0.5 * detail(src[i]!, 512, FACE));
        expect(detail(out[i]!, 512, SUIT)).toBeGreaterThan(0.8 * detail(src[i]!, 512, SUIT));
        expect(mad(out[i]!, src[i]!, 512, FACE)).toBeGreaterThan(5 * mad(out[i]!, src[i]!, 512, SUIT));
      }
      // The event's snapshot shows the blurred face too.
      expect(events.length).toBeGreaterThanOrEqual(1);
      const snap = jpeg.decode(await readFile(events[0]!.snapshot!), { useTArray: true, formatAsRGBA: false });
      expect(detail(snap.data, 512, FACE)).toBeLessThan(0.5 * detail(src[0]!, 512, FACE));
    } finally {
      faces.dispose();
    }
  });
});

describe('cameras that fail before their first frame (issue 15)', () => {
  it('leave no annotated video (no 262-byte MP4 without a video stream) and report the typed error; the good camera goes on', async () => {
    await ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-c:a', 'aac', f('tone.m4a')]);
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=10:duration=1', ...x264, f('small.mp4')]);
    const out = f('out-failing');
    const config = parseConfig({
      output: { dir: out, clips: null },
      cameras: [
        { name: 'tone', input: f('tone.m4a'), width: 160, height: 90 },
        { name: 'gone', input: f('no-such-file.mp4'), width: 160, height: 90 },
        { name: 'small', input: f('small.mp4'), fps: 10, width: 160, height: 90, motion: { enabled: false } },
      ],
    });
    const { report } = await runAll(await SurveillancePipeline.create(config, { detector }));
    const byName = Object.fromEntries(report.cameras.map((c) => [c.camera, c]));
    expect(byName.tone!.error).toMatchObject({ code: 'VIDEO_NO_STREAM', message: expect.stringContaining('no video stream') });
    expect(byName.gone!.error?.code).toBe('VIDEO_SOURCE_FAILED');
    for (const name of ['tone', 'gone']) {
      expect(byName[name]!.frames).toBe(0);
      expect(byName[name]!.annotatedVideo).toBeUndefined();
      expect(byName[name]!.clipErrors).toEqual([]);
      expect(existsSync(join(out, name, `${name}-annotated.mp4`))).toBe(false);
      expect(existsSync(join(out, name))).toBe(false);
    }
    expect(byName.small!.error).toBeUndefined();
    expect(byName.small!.annotatedVideo).toBe(join(out, 'small', 'small-annotated.mp4'));
    expect(probe(byName.small!.annotatedVideo!)).toMatchObject({ width: 160, height: 90, frames: 10 });
  });

  it('create() validates the configuration again, against the classes of the detector it is given', async () => {
    const config = parseConfig({ cameras: [{ name: 'a', input: f('small.mp4'), zones: [{ name: 'z', polygon: [[0, 0], [10, 0], [10, 10]], classes: ['car'] }] }] });
    const people = await ObjectDetector.load({ classes: ['person'] });
    try {
      await expect(SurveillancePipeline.create(config, { detector: people })).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining("zones[0].classes[0]: unknown class 'car'; known classes (reported by the detector): person"),
      });
    } finally {
      people.dispose();
    }
    const edited = { ...config, cameras: [{ ...config.cameras[0]!, fps: NaN }] };
    await expect(SurveillancePipeline.create(edited, { detector })).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining("camera 'a' (cameras[0]): fps") });
  });
});

describe('configuration through loadConfig', () => {
  it('a YAML file with a typo in a field fails with CONFIG_INVALID naming the camera and the field', async () => {
    await writeFile(f('typo.yaml'), `
cameras:
  - name: lobby
    input: lobby.mp4
    zones:
      - name: desk
        polygon: [[0, 0], [100, 0], [100, 100]]
        loiterSecond: 5
`);
    let err: unknown;
    try {
      await loadConfig(f('typo.yaml'));
    } catch (e) {
      err = e;
    }
    expect(isLeptonError(err, 'CONFIG_INVALID')).toBe(true);
    const message = (err as Error).message;
    expect(message).toContain("camera 'lobby'");
    expect(message).toContain('zones[0]');
    expect(message).toContain("'loiterSecond'");
    expect(message).toContain(f('typo.yaml'));
  });
});
