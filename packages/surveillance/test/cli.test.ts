import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COCO_LABELS, listSegments, shippedModelPath, type ObjectEvent } from '@lepton/surveillance';
import { BIN, runCli, startCli } from './support/cli.js';
import { freePort, mosquittoAvailable, startBroker } from './support/mosquitto.js';
import { ffmpeg, kill, probe, serveLive, until, X264 } from './support/live.js';

// The `lepton-surveillance` executable as users run it: a child process started from the package's `bin` entry.

const HERE = dirname(fileURLToPath(import.meta.url));
const TOKEN = 'cli-test-token-0123456789';
const HAVE_BROKER = mosquittoAvailable();
let dir = '';
const f = (name: string): string => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lepton-cli-'));
  // A person standing still (the astronaut photo) for 4 s, 320 × 320.
  await ffmpeg(['-loop', '1', '-framerate', '10', '-i', join(HERE, 'fixtures', 'images', 'astronaut.jpg'), '-t', '4', '-vf', 'scale=320:320', ...X264, f('person.mp4')]);
  await ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'aac', f('tone.m4a')]);
  await writeFile(f('two.yaml'), 'api: { auth: false }\ncameras:\n  - { name: gate, input: person.mp4 }\n  - { name: yard, input: person.mp4 }\n');
}, 60_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('lepton-surveillance: usage', () => {
  it('is the bin entry of the package, with a shebang', async () => {
    expect(BIN.endsWith('dist/cli/bin.js')).toBe(true);
    expect((await readFile(BIN, 'utf8')).startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('prints help and the version (exit 0); usage errors exit 2 and say what was wrong', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: lepton-surveillance <command> <cameras.yaml>');
    expect(help.stdout).toContain('--shard i/n');
    expect((await runCli(['--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const cases: Array<[string[], RegExp]> = [
      [[], /No command given/],
      [['frobnicate', 'x.yaml'], /Unknown command 'frobnicate'/],
      [['run'], /needs the configuration file/],
      [['run', f('two.yaml'), '--bogus'], /Unknown option '--bogus'/],
      [['run', f('two.yaml'), '--shard', '3/2'], /--shard must be i\/n/],
      [['run', f('two.yaml'), '--cameras', 'gate,nope'], /'nope', not in the configuration \(it has: gate, yard\)/],
      [['run', f('two.yaml'), '--selector', 'site'], /--selector must be key=value/],
      [['run', f('two.yaml'), '--port', '99999'], /--port must be an integer/],
      [['check', f('two.yaml'), '--port', '1'], /--port does not apply to 'check'/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });

  it('a configuration that does not load is exit 1 with CONFIG_INVALID naming the problem', async () => {
    const missing = await runCli(['run', f('nope.yaml')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/CONFIG_INVALID: The configuration file .*nope\.yaml could not be read/);
    await writeFile(f('typo.yaml'), 'cameras:\n  - { name: gate, input: person.mp4, fsp: 5 }\n');
    const typo = await runCli(['check', f('typo.yaml')]);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain("camera 'gate' (cameras[0]): unknown field(s) 'fsp'");
  });
});

describe('lepton-surveillance check', () => {
  it('probes every camera; a failing one is exit 1 named, its credentials never printed', async () => {
    const closed = await freePort();
    await writeFile(
      f('check.yaml'),
      `cameras:
  - { name: good, input: person.mp4 }
  - { name: bad, input: "http://admin:s3cret-pw@127.0.0.1:${closed}/live.ts?token=hunter22" }
  - { name: silent, input: tone.m4a }
`,
    );
    const r = await runCli(['check', 'check.yaml', '--timeout', '5'], { cwd: dir, env: { LEPTON_SURVEILLANCE_TOKEN: TOKEN } });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('config ok: 3 of 3 camera(s) selected');
    expect(r.stdout).toContain('service settings ok');
    expect(r.stdout).toMatch(/^ok {4}good input .*person\.mp4: h264 320x320 10 fps$/m);
    expect(r.stdout).toMatch(new RegExp(`^FAIL {2}bad input http://\\*\\*\\*@127\\.0\\.0\\.1:${closed}/live\\.ts\\?token=\\*\\*\\*: .+$`, 'm'));
    expect(r.stdout).toMatch(/^FAIL {2}silent input .*tone\.m4a: no video stream/m);
    expect(r.stderr).toContain('check failed: bad, silent');
    for (const secret of ['s3cret', 'hunter22', 'admin']) expect(r.stdout + r.stderr).not.toContain(secret);
  });

  it('checks only the selected cameras, and the service settings (a missing token fails)', async () => {
    const ok = await runCli(['check', f('check.yaml'), '--cameras', 'good'], { env: { LEPTON_SURVEILLANCE_TOKEN: TOKEN } });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('config ok: 1 of 3 camera(s) selected');
    expect(ok.stdout).not.toContain('bad');
    const noToken = await runCli(['check', f('check.yaml'), '--cameras', 'good'], { env: { LEPTON_SURVEILLANCE_TOKEN: '' } });
    expect(noToken.code).toBe(1);
    expect(noToken.stdout).toMatch(/FAIL {2}service settings: .*LEPTON_SURVEILLANCE_TOKEN/);
  });

  it('reads the files of a detector model of your own: present is ok, missing weights fail the check', async () => {
    const yaml = (path: string): string => `detector:
  model: { path: ${JSON.stringify(path)}, labels: ${JSON.stringify(COCO_LABELS)}, decode: nanodet }
cameras:
  - { name: good, input: person.mp4 }
`;
    await writeFile(f('own.yaml'), yaml(shippedModelPath('nanodet')));
    const ok = await runCli(['check', f('own.yaml')], { env: { LEPTON_SURVEILLANCE_TOKEN: TOKEN } });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^ok {4}model .*nanodet\.json: \d+ weight tensors, 80 labels, decode nanodet$/m);
    // model.json without its weight file next to it
    const lonely = join(dir, 'lonely');
    await mkdir(lonely, { recursive: true });
    await writeFile(join(lonely, 'model.json'), await readFile(shippedModelPath('nanodet')));
    await writeFile(f('lonely.yaml'), yaml(join(lonely, 'model.json')));
    const bad = await runCli(['check', f('lonely.yaml')], { env: { LEPTON_SURVEILLANCE_TOKEN: TOKEN } });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^FAIL {2}model: /m);
    expect(bad.stderr).toContain('check failed: (model)');
  });
});

describe.skipIf(!HAVE_BROKER)('lepton-surveillance run: SIGTERM on a live camera', () => {
  it('ends and publishes every object, finishes the recording, says offline and exits 0', { timeout: 240_000 }, async () => {
    const broker = await startBroker(await freePort());
    const port = await freePort();
    const recordPort = await freePort();
    const detect = serveLive(f('person.mp4'), port);
    const record = serveLive(f('person.mp4'), recordPort);
    const messages: Array<{ topic: string; payload: Buffer }> = [];
    const sub = await mqtt.connectAsync(broker.url);
    sub.on('message', (topic, payload) => messages.push({ topic, payload }));
    await sub.subscribeAsync('cli-test/#', { qos: 1 });
    const events = (): ObjectEvent[] => messages.filter((m) => m.topic === 'cli-test/events').map((m) => JSON.parse(m.payload.toString()) as ObjectEvent);
    await writeFile(
      f('live.yaml'),
      `api: { port: 0 }
mqtt: { url: "${broker.url}", topicPrefix: cli-test }
recording: { dir: rec, segmentSeconds: 1, maxBytes: 80kB }
output: { dir: out-live, clips: null, annotatedVideo: false }
cameras:
  - name: door
    input: http://127.0.0.1:${port}/live.ts
    record: http://127.0.0.1:${recordPort}/live.ts
    fps: 5
    width: 320
    height: 320
`,
    );
    const run = startCli(['run', 'live.yaml'], { cwd: dir, env: { LEPTON_SURVEILLANCE_TOKEN: TOKEN } });
    try {
      await until(() => events().some((e) => e.type === 'new'), 150_000, 'a new object');
      // The byte budget (80 kB, a few 1 s segments of this camera) has deleted the oldest segments, as /metrics says.
      const api = /API at (http:\/\/\S+)/.exec(run.stderr())![1]!;
      const overBudget = async (): Promise<number> => {
        const text = await (await fetch(`${api}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
        return Number(/^lepton_surveillance_recording_deleted_segments_total\{reason="over-budget"\} (\d+)$/m.exec(text)?.[1] ?? 0);
      };
      await until(async () => (await overBudget()) >= 2, 90_000, 'segments deleted over the budget');
      run.child.kill('SIGTERM');
      const exit = await Promise.race([run.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit after SIGTERM\n${run.stderr()}`)), 120_000))]);
      expect(exit, run.stderr()).toEqual({ code: 0, signal: null });
      expect(run.stderr()).toContain('SIGTERM: stopping');
      // Every object that started has ended, on MQTT and in the event file, and the instance said goodbye.
      await until(() => messages.some((m) => m.topic === 'cli-test/instances/default' && m.payload.toString().includes('"offline"')), 10_000, 'offline status');
      const news = events().filter((e) => e.type === 'new').map((e) => e.after.id);
      const ends = events().filter((e) => e.type === 'end');
      expect(news.length).toBeGreaterThanOrEqual(1);
      expect(ends.map((e) => e.after.id).sort()).toEqual([...news].sort());
      // The person stood still the whole time: still tracked when the signal came.
      expect(ends.some((e) => e.after.endReason === 'stopped')).toBe(true);
      const stored = (await readFile(f('out-live/events-default.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { object: { id: string; endTime: number | null } });
      expect([...new Set(stored.map((s) => s.object.id))].sort()).toEqual([...news].sort());
      for (const s of stored) expect(s.object.endTime).not.toBeNull();
      // Recording finished: every segment has its index (ffprobe reads it), nothing left half-written.
      const names = await readdir(f('rec/door'));
      expect(names.filter((n) => n.startsWith('.'))).toEqual([]);
      const segments = await listSegments(f('rec/door'), 'door');
      expect(segments.length).toBe(names.length);
      expect(segments.length).toBeGreaterThanOrEqual(1);
      expect(segments.reduce((n, s) => n + s.bytes, 0)).toBeLessThanOrEqual(80_000);
      for (const s of segments) expect(Math.abs(probe(s.path).duration * 1000 - s.duration)).toBeLessThanOrEqual(150);
    } finally {
      run.child.kill('SIGKILL');
      await Promise.all([kill(detect), kill(record)]);
      await sub.endAsync();
      await broker.stop();
    }
  });
});

// The README's service quick start runs as pasted from the packed tarballs in tests/readme.test.ts
// ('@lepton/surveillance service'), with more checks than it had here.
