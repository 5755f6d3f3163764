import { copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cutRecordingClip, enforceRetention, listSegments, Recorder, type RecordedSegment } from '@lepton/surveillance';
import { freePort } from './support/mosquitto.js';
import { ffmpeg, kill, mad, probe, rgbFrames, serveLive, sleep, until, X264 } from './support/live.js';

// Continuous recording against a real live source (ffmpeg's HTTP server), with 1 s segments: segment names carry
// wall-clock times that agree with the clock and with each other, the camera is killed and comes back (the recorder
// restarts), stop() finishes the segment in progress, retention deletes by age and by byte budget (oldest first), and
// a clip cut across segments holds exactly the recorded frames of its interval.

const W = 160;
const H = 90;
let dir = '';
let segments: RecordedSegment[] = [];
let restarts = 0;
let t0 = 0;
let tStop = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lepton-recording-'));
  // testsrc2 moves every frame, so frames can be told apart; a keyframe each second.
  await ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=10:duration=6`, ...X264, join(dir, 'cam.mp4')]);
  const port = await freePort();
  let server = serveLive(join(dir, 'cam.mp4'), port);
  const recorder = new Recorder({ camera: 'cam', input: `http://127.0.0.1:${port}/live.ts`, dir: join(dir, 'rec', 'cam'), segmentSeconds: 1, reconnect: { initialDelayMs: 200, maxDelayMs: 400 } });
  const seen: RecordedSegment[] = [];
  recorder.on('segment', (s) => seen.push(s));
  t0 = Date.now();
  try {
    await recorder.start();
    await until(() => seen.length >= 3, 30_000, 'three segments');
    await kill(server);
    await until(() => recorder.stats.restarts >= 1, 20_000, 'a restart');
    expect(['reconnecting', 'recording']).toContain(recorder.stats.state);
    await sleep(2000);
    server = serveLive(join(dir, 'cam.mp4'), port);
    const before = seen.length;
    await until(() => seen.length >= before + 2, 30_000, 'segments after the camera came back');
    await recorder.stop();
    tStop = Date.now();
  } finally {
    await kill(server);
  }
  restarts = recorder.stats.restarts;
  expect(recorder.stats.state).toBe('stopped');
  expect(recorder.stats.segments).toBe(seen.length);
  segments = await listSegments(join(dir, 'rec', 'cam'), 'cam');
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('Recorder: ffmpeg segment muxer on a live camera', () => {
  it('names each finished segment <start ms>-<duration ms>.mp4 with times that follow the wall clock', async () => {
    expect(segments.length).toBeGreaterThanOrEqual(5);
    // Nothing else in the folder: no unfinished part, no leftover list.
    expect((await readdir(join(dir, 'rec', 'cam'))).sort()).toEqual(segments.map((s) => basename(s.path)).sort());
    for (const s of segments) {
      expect(basename(s.path)).toBe(`${s.start}-${s.duration}.mp4`);
      expect(s.start).toBeGreaterThanOrEqual(t0 - 1000);
      expect(s.start + s.duration).toBeLessThanOrEqual(tStop + 1000);
      const p = probe(s.path);
      expect([p.width, p.height, p.codec]).toEqual([W, H, 'h264']);
      // The name's duration is what the file holds (1 s segments at a 1 s GOP; the last one is cut by stop()). The
      // first segment of a run also spans the B-frame delay before its first frame (0.2 s: 1.2 s, 10 frames), and
      // the last one of a run its reordering tail (2 frames in 0.5 s).
      expect(Math.abs(p.duration * 1000 - s.duration)).toBeLessThanOrEqual(120);
      expect(p.frames).toBeGreaterThanOrEqual(Math.round(s.duration / 100) - 3);
      expect(p.frames).toBeLessThanOrEqual(Math.round(s.duration / 100) + 1);
    }
    for (let k = 1; k < segments.length; k++) expect(segments[k]!.start).toBeGreaterThan(segments[k - 1]!.start);
  });

  it('segments of one run are back to back; the camera dropping off restarts the recorder, with a gap', () => {
    expect(restarts).toBeGreaterThanOrEqual(1);
    const gaps = segments.slice(1).map((s, k) => s.start - (segments[k]!.start + segments[k]!.duration));
    // Within a run, the next segment starts exactly where the previous one ended (1 ms of rounding); the one outage
    // leaves one gap between runs, never an overlap (the camera was away for over two seconds; names are accurate to
    // about half a second). Restarts count every attempt, including those that found the camera still away.
    const breaks = gaps.filter((g) => Math.abs(g) > 1);
    expect(breaks.length).toBe(1);
    expect(breaks[0]).toBeGreaterThan(500);
  });

  it('a clip across segments holds the recorded frames of its interval, cut frame-accurately', async () => {
    const a = segments[0]!;
    const c = segments[2]!;
    const from = a.start + 300;
    const to = c.start + 500;
    const clip = await cutRecordingClip({ dir: join(dir, 'rec', 'cam'), camera: 'cam', from, to, output: join(dir, 'clip.mp4') });
    expect(clip.segments.map((s) => s.path)).toEqual(segments.slice(0, 3).map((s) => s.path));
    const p = probe(join(dir, 'clip.mp4'));
    const expected = (to - from) / 1000;
    expect(Math.abs(p.duration - expected)).toBeLessThanOrEqual(0.15);
    expect(Math.abs(p.frames - Math.round(expected * 10))).toBeLessThanOrEqual(1);
    // The first frame of the clip is the recording's frame 3 (300 ms in), not the segment's first: decoded
    // independently from the segments themselves.
    const recorded = segments.slice(0, 3).flatMap((s) => rgbFrames(s.path, W, H));
    const first = rgbFrames(join(dir, 'clip.mp4'), W, H)[0]!;
    const diffs = recorded.slice(0, 8).map((f) => mad(f, first));
    expect(diffs.indexOf(Math.min(...diffs))).toBe(3);
    expect(Math.min(...diffs)).toBeLessThan(4);
    await expect(cutRecordingClip({ dir: join(dir, 'rec', 'cam'), camera: 'cam', from: t0 - 3_600_000, to: t0 - 3_500_000, output: join(dir, 'none.mp4') })).rejects.toMatchObject({ code: 'RECORDING_UNAVAILABLE' });
  });
});

describe('retention', () => {
  async function copyOf(name: string): Promise<string> {
    const d = join(dir, name);
    await mkdir(d, { recursive: true });
    for (const s of segments) await copyFile(s.path, join(d, basename(s.path)));
    return d;
  }

  it('a byte budget deletes the oldest segments first, until the rest fits', async () => {
    const d = await copyOf('budget');
    const keep = segments.slice(-2);
    const budget = keep.reduce((n, s) => n + s.bytes, 0) + 10;
    const r = await enforceRetention({ dirs: new Map([['cam', d]]), retainMs: 86_400_000, maxBytes: budget });
    expect(r.expired).toEqual([]);
    expect(r.overBudget.map((s) => s.start)).toEqual(segments.slice(0, -2).map((s) => s.start));
    expect(r.bytes).toBeLessThanOrEqual(budget);
    expect((await listSegments(d, 'cam')).map((s) => s.start)).toEqual(keep.map((s) => s.start));
    // Bytes being written count too: with them, one more goes.
    const r2 = await enforceRetention({ dirs: new Map([['cam', d]]), retainMs: 86_400_000, maxBytes: budget, openBytes: keep[0]!.bytes });
    expect(r2.overBudget.map((s) => s.start)).toEqual([keep[0]!.start]);
  });

  it('segments that ended longer ago than the retention are deleted, the others kept', async () => {
    const d = await copyOf('age');
    const last = segments.at(-1)!;
    const now = last.start + last.duration;
    const r = await enforceRetention({ dirs: new Map([['cam', d]]), retainMs: 1500, maxBytes: null, now });
    const old = segments.filter((s) => s.start + s.duration < now - 1500);
    expect(old.length).toBeGreaterThanOrEqual(2);
    expect(r.expired.map((s) => s.start)).toEqual(old.map((s) => s.start));
    expect(r.segments).toBe(segments.length - old.length);
    expect((await listSegments(d, 'cam')).length).toBe(segments.length - old.length);
  });
});
