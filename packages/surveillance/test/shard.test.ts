import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, parseSelector, parseShard, selectCameras, shardOf, type ObjectEvent } from '@lepton/surveillance';
import { startCli } from './support/cli.js';
import { freePort, mosquittoAvailable, startBroker } from './support/mosquitto.js';
import { ffmpeg, X264 } from './support/live.js';

// Cameras across processes (issue 19 §3): a stable split of one shared configuration by the camera's name, checked
// against an independent SHA-256 (openssl), and two real `lepton-surveillance run --shard i/2` processes over one file
// of four cameras, every camera processed exactly once, as seen on a real Mosquitto broker.

const HERE = dirname(fileURLToPath(import.meta.url));
const HAVE_BROKER = mosquittoAvailable();
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lepton-shard-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The shard of a name per the README's rule, computed with openssl rather than the code under test. */
function opensslShard(name: string, count: number): number {
  const hex = execFileSync('openssl', ['dgst', '-sha256', '-r'], { input: name }).toString().slice(0, 8);
  return (parseInt(hex, 16) % count) + 1;
}

describe('shard assignment', () => {
  it('is the first four bytes of SHA-256(name), big-endian, modulo n, plus one', () => {
    for (const name of ['gate', 'yard', 'lobby', 'cam-01', 'Kamera.Süd']) for (const n of [1, 2, 3, 7]) expect(shardOf(name, n), `${name} ${n}`).toBe(opensslShard(name, n));
  });

  it('splits any set of cameras into disjoint shards that cover it, whatever the order of the file', () => {
    const names = Array.from({ length: 60 }, (_, i) => `cam-${i}`);
    const config = parseConfig({ cameras: names.map((name) => ({ name, input: `${name}.mp4` })), api: { auth: false } });
    const reversed = { ...config, cameras: [...config.cameras].reverse() };
    for (const n of [2, 3, 5]) {
      const parts = Array.from({ length: n }, (_, i) => selectCameras(config, { shard: { index: i + 1, count: n } }).cameras.map((c) => c.name));
      expect(parts.flat().sort()).toEqual([...names].sort());
      expect(new Set(parts.flat()).size).toBe(names.length);
      for (const p of parts) expect(p.length).toBeGreaterThan(0);
      // The order of the file changes nothing.
      const again = Array.from({ length: n }, (_, i) => selectCameras(reversed, { shard: { index: i + 1, count: n } }).cameras.map((c) => c.name).sort());
      expect(again).toEqual(parts.map((p) => [...p].sort()));
    }
    // Adding a camera never moves another.
    const more = { ...config, cameras: [...config.cameras, { ...config.cameras[0]!, name: 'new-one' }] };
    const before = selectCameras(config, { shard: { index: 1, count: 3 } }).cameras.map((c) => c.name);
    const after = selectCameras(more, { shard: { index: 1, count: 3 } }).cameras.map((c) => c.name).filter((n) => n !== 'new-one');
    expect(after).toEqual(before);
  });

  it('selects by names and labels, all criteria together; rejects malformed shards, selectors and unknown names', () => {
    const config = parseConfig({
      api: { auth: false },
      cameras: [
        { name: 'a', input: 'a.mp4', labels: { site: 'north', floor: '1' } },
        { name: 'b', input: 'b.mp4', labels: { site: 'north', floor: '2' } },
        { name: 'c', input: 'c.mp4', labels: { site: 'south' } },
        { name: 'd', input: 'd.mp4' },
      ],
    });
    const names = (sel: Parameters<typeof selectCameras>[1]): string[] => selectCameras(config, sel).cameras.map((c) => c.name);
    expect(names({ selector: parseSelector('site=north') })).toEqual(['a', 'b']);
    expect(names({ selector: parseSelector('site=north,floor=2') })).toEqual(['b']);
    expect(names({ cameras: ['d', 'a'] })).toEqual(['a', 'd']);
    expect(names({ cameras: ['a', 'c'], selector: { site: 'south' } })).toEqual(['c']);
    expect(names({ selector: { site: 'east' } })).toEqual([]);
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    expect(parseShard(' 1 / 1 ')).toEqual({ index: 1, count: 1 });
    for (const bad of ['0/2', '3/2', '1/0', '1', 'a/b', '1/2/3', '-1/2', '1/2000']) expect(() => parseShard(bad), bad).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    for (const bad of ['site', 'site=', '=x', 'a b=c', '']) expect(() => parseSelector(bad), bad).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => selectCameras(config, { cameras: ['a', 'zz'] })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining("'zz', not in the configuration (it has: a, b, c, d)") }));
    expect(() => shardOf('a', 0)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe.skipIf(!HAVE_BROKER)('two shard processes over one configuration', () => {
  it('run every camera exactly once, publish to one prefix with unique ids, and announce their cameras', { timeout: 300_000 }, async () => {
    // Four cameras, two per shard: names picked by the (openssl-checked) rule so neither process is idle.
    const candidates = Array.from({ length: 40 }, (_, i) => `cam${i}`);
    const names = [...candidates.filter((n) => shardOf(n, 2) === 1).slice(0, 2), ...candidates.filter((n) => shardOf(n, 2) === 2).slice(0, 2)];
    // A person standing (two photos), 1 s each at 5 fps: every frame is a warm-up frame of motion gating, so the
    // detector runs on all of them and the track is confirmed by the third.
    await ffmpeg(['-loop', '1', '-framerate', '5', '-i', join(HERE, 'fixtures', 'images', 'astronaut.jpg'), '-t', '1.2', '-vf', 'scale=256:256', ...X264, join(dir, 'astronaut.mp4')]);
    await ffmpeg(['-loop', '1', '-framerate', '5', '-i', join(HERE, 'fixtures', 'images', 'camera.jpg'), '-t', '1.2', '-vf', 'scale=256:256', ...X264, join(dir, 'camera.mp4')]);
    const broker = await startBroker(await freePort());
    const messages: Array<{ topic: string; payload: Buffer }> = [];
    const sub = await mqtt.connectAsync(broker.url);
    sub.on('message', (topic, payload) => messages.push({ topic, payload }));
    await sub.subscribeAsync('fleet/#', { qos: 1 });
    await writeFile(
      join(dir, 'cameras.yaml'),
      `api: { auth: false }
mqtt: { url: "${broker.url}", topicPrefix: fleet }
detector: { classes: [person] }
output: { dir: out, clips: null, annotatedVideo: false }
cameras:
${names.map((n, i) => `  - { name: ${n}, input: ${i % 2 === 0 ? 'astronaut' : 'camera'}.mp4, fps: 5, width: 256, height: 256 }`).join('\n')}
`,
    );
    try {
      const runs = [1, 2].map((i) => startCli(['run', 'cameras.yaml', '--shard', `${i}/2`, '--port', '0'], { cwd: dir }));
      const exits = await Promise.all(runs.map((r) => Promise.race([r.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit\n${r.stderr()}`)), 240_000))])));
      runs.forEach((r, i) => expect(exits[i], r.stderr()).toEqual({ code: 0, signal: null }));
      expect(runs[0]!.stderr()).toContain(`2 of 4 camera(s) selected for shard 1/2: ${names.slice(0, 2).join(', ')}`);
      expect(runs[1]!.stderr()).toContain(`2 of 4 camera(s) selected for shard 2/2: ${names.slice(2).join(', ')}`);
      await new Promise((r) => setTimeout(r, 500));

      // Each process announced its own cameras, online then offline; together they are all four, each once.
      const status = (instance: string): Array<{ state: string; cameras: string[]; shard: string }> =>
        messages.filter((m) => m.topic === `fleet/instances/${instance}`).map((m) => JSON.parse(m.payload.toString()) as { state: string; cameras: string[]; shard: string });
      const s1 = status('shard-1-of-2');
      const s2 = status('shard-2-of-2');
      expect(s1.map((s) => s.state)).toEqual(['online', 'offline']);
      expect(s2.map((s) => s.state)).toEqual(['online', 'offline']);
      expect(s1[0]).toMatchObject({ shard: '1/2', cameras: names.slice(0, 2) });
      expect(s2[0]).toMatchObject({ shard: '2/2', cameras: names.slice(2) });

      // Every camera's person is one object: exactly one `new` and one `end` per camera (a camera run by both
      // processes would show two), ids unique and carrying their camera's name.
      const events = messages.filter((m) => m.topic === 'fleet/events').map((m) => JSON.parse(m.payload.toString()) as ObjectEvent);
      for (const name of names) {
        const mine = events.filter((e) => e.after.camera === name);
        expect(mine.filter((e) => e.type === 'new').length, name).toBe(1);
        expect(mine.filter((e) => e.type === 'end').length, name).toBe(1);
        expect(new Set(mine.map((e) => e.after.id)).size, name).toBe(1);
        expect(mine[0]!.after.id.startsWith(`${name}-`)).toBe(true);
        expect(mine.at(-1)!.after).toMatchObject({ label: 'person', endReason: 'camera-ended' });
      }
      // Rule-event topics and per-instance event files are per shard too.
      const files = await Promise.all(['shard-1-of-2', 'shard-2-of-2'].map(async (i) => (await readFile(join(dir, 'out', `events-${i}.jsonl`), 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { object: { camera: string } }).object.camera)));
      expect([...new Set(files[0])].sort()).toEqual(names.slice(0, 2).sort());
      expect([...new Set(files[1])].sort()).toEqual(names.slice(2).sort());
    } finally {
      await sub.endAsync();
      await broker.stop();
    }
  });
});
