import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLeptonError } from '@lepton/core';
import {
  FrameRing,
  VideoSource,
  VideoWriter,
  connectPublisher,
  cutClip,
  resolveFfmpeg,
  seededRandom,
  type Frame,
  type ReconnectingEvent,
  type VideoSourceOptions,
  type VideoSourceStats,
} from '@lepton/surveillance';

// Fixtures are rendered here with the system ffmpeg (lavfi testsrc2: every frame differs, so frames can be told
// apart by hash), and every expected value comes from an independent ffmpeg/ffprobe run, never from the code under test.

const run = promisify(execFile);
let dir = '';
const f = (name: string): string => join(dir, name);

async function render(out: string, size: string, rate: number, duration: number): Promise<void> {
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${rate}:duration=${duration}`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-g', String(rate), '-pix_fmt', 'yuv420p', '-movflags', '+faststart', out]);
}

/** Independent decode: the ffmpeg CLI straight to raw RGB with the same filters, split into frames. */
function refFrames(file: string, fps: number, w: number, h: number): Buffer[] {
  let out: Buffer;
  try {
    out = execFileSync('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'quiet', '-i', file, '-map', '0:v:0', '-vf', `scale=${w}:${h}`,
      '-r', String(fps), '-fps_mode', 'vfr', '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1'], { maxBuffer: 1 << 28 });
  } catch (err) {
    out = (err as { stdout: Buffer }).stdout;
  }
  const n = w * h * 3;
  const frames: Buffer[] = [];
  for (let o = 0; o + n <= out.length; o += n) frames.push(out.subarray(o, o + n));
  return frames;
}

function probe(file: string): { codec: string; width: number; height: number; frames: number; duration: number } {
  const out = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries',
    'stream=codec_name,width,height,nb_read_frames:format=duration', '-of', 'json', file]).toString();
  const j = JSON.parse(out) as { streams: Array<Record<string, string | number>>; format: { duration: string } };
  const s = j.streams[0]!;
  return { codec: String(s.codec_name), width: Number(s.width), height: Number(s.height), frames: Number(s.nb_read_frames), duration: Number(j.format.duration) };
}

const sha = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex');
const mse = (a: Uint8Array, b: Uint8Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s / a.length;
};
const nearest = (frame: Uint8Array, refs: Uint8Array[]): number => {
  let best = -1;
  let bestErr = Infinity;
  refs.forEach((r, i) => {
    const e = mse(frame, r);
    if (e < bestErr) [best, bestErr] = [i, e];
  });
  return best;
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function collect(source: VideoSource, perFrameMs = 0): Promise<{ frames: Frame[]; error: unknown }> {
  const frames: Frame[] = [];
  try {
    for await (const frame of source) {
      frames.push(frame);
      if (perFrameMs) await sleep(perFrameMs);
    }
    return { frames, error: undefined };
  } catch (error) {
    return { frames, error };
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** ffmpeg's one-client HTTP server, streaming the looped fixture as MPEG-TS at its native rate. */
function serve(file: string, port: number): ChildProcess {
  return spawn('ffmpeg', ['-hide_banner', '-loglevel', 'quiet', '-re', '-stream_loop', '-1', '-i', file, '-c', 'copy', '-f', 'mpegts',
    '-listen', '1', `http://127.0.0.1:${port}/live.ts`], { stdio: 'ignore' });
}

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lepton-video-'));
  await Promise.all([
    // audio only: a 1 s sine tone, no video stream
    run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'aac', f('tone.m4a')]),
    render(f('clip.mp4'), '320x180', 10, 3), // 30 frames
    render(f('fast.mp4'), '160x90', 25, 4), // 100 frames
    render(f('live.mp4'), '160x90', 10, 3), // 30 frames, looped by the HTTP server
  ]);
  const clip = await readFile(f('clip.mp4'));
  await writeFile(f('truncated.mp4'), clip.subarray(0, Math.floor(clip.length * 0.6)));
  const rand = seededRandom(7);
  await writeFile(f('corrupt.mp4'), Uint8Array.from({ length: 20_000 }, () => Math.floor(rand() * 256)));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('ffmpeg resolution', () => {
  it('prefers the PATH ffmpeg, honours LEPTON_FFMPEG, falls back to @ffmpeg-installer when PATH has none', async () => {
    const fromPath = await resolveFfmpeg();
    expect(fromPath.origin).toBe('path');
    const systemVersion = /^ffmpeg version (\S+)/.exec(execFileSync('ffmpeg', ['-version']).toString())![1];
    expect(fromPath.version).toBe(systemVersion);

    const installer = await resolveFfmpeg({ env: { PATH: '/nonexistent' } });
    expect(installer.origin).toBe('installer');
    expect(installer.path).toMatch(/@ffmpeg-installer\/linux-x64\/ffmpeg$/);

    const viaEnv = await resolveFfmpeg({ env: { ...process.env, LEPTON_FFMPEG: installer.path } });
    expect(viaEnv).toEqual({ ...installer, origin: 'env' });

    await expect(resolveFfmpeg({ env: { PATH: process.env.PATH, LEPTON_FFMPEG: '/no/such/ffmpeg' } })).rejects.toMatchObject({ code: 'VIDEO_FFMPEG_MISSING' });
    await expect(resolveFfmpeg({ env: { PATH: '/nonexistent' }, useInstaller: false })).rejects.toMatchObject({ code: 'VIDEO_FFMPEG_MISSING' });
  });

  it('the @ffmpeg-installer binary decodes the fixture to the same frames as the system ffmpeg', async () => {
    const installer = await resolveFfmpeg({ env: { PATH: '/nonexistent' } });
    const ref = refFrames(f('clip.mp4'), 5, 160, 90);
    const { frames, error } = await collect(
      new VideoSource({ camera: 'inst', input: f('clip.mp4'), fps: 5, width: 160, height: 90, queue: { policy: 'block' }, ffmpeg: installer.path }),
    );
    expect(error).toBeUndefined();
    expect(frames.length).toBe(ref.length);
    expect(frames.map((x) => sha(x.data))).toEqual(ref.map(sha));
  });
});

describe('VideoSource on files', () => {
  it('with block, one pipe read carrying many small frames still queues at most maxFrames, and every frame arrives in order', async () => {
    // 16×12 RGB is 576 bytes: one 64 KiB read from ffmpeg's pipe carries ~100 frames. A slow consumer makes the queue
    // fill in the middle of a read; the rest of the read must wait (the queue was 5 over maxFrames = 4 on a loaded CI run).
    const ref = refFrames(f('clip.mp4'), 10, 16, 12);
    const source = new VideoSource({ camera: 'cam', input: f('clip.mp4'), fps: 10, width: 16, height: 12, queue: { maxFrames: 2, policy: 'block' } });
    const { frames, error } = await collect(source, 5);
    expect(error).toBeUndefined();
    expect(frames.map((x) => sha(x.data))).toEqual(ref.map(sha));
    expect(frames.map((x) => x.sourceIndex)).toEqual(ref.map((_, i) => i));
    const s = source.stats;
    expect([s.produced, s.delivered, s.dropped, s.errors]).toEqual([ref.length, ref.length, 0, 0]);
    expect(s.maxQueued).toBeLessThanOrEqual(2);
  });

  // 30 source frames at t = k/10 s. At 5 fps each maps to output slot round(k/2) = 0…15 (k = 29 rounds up to 15):
  // 16 frames, the first of each slot kept. At 10 fps: one slot per frame, 30.
  it.each([
    [5, 160, 90, 16],
    [10, 640, 360, 30],
  ])('decodes at %i fps and %ix%i, byte-identical to an independent ffmpeg rawvideo decode', async (fps, width, height, count) => {
    const ref = refFrames(f('clip.mp4'), fps, width, height);
    expect(ref.length).toBe(count);
    const source = new VideoSource({ camera: 'cam', input: f('clip.mp4'), fps, width, height, queue: { maxFrames: 4, policy: 'block' } });
    const ended: string[] = [];
    source.on('end', (e) => ended.push(e.reason));
    const { frames, error } = await collect(source);
    expect(error).toBeUndefined();
    expect(frames.length).toBe(ref.length);
    frames.forEach((fr, i) => {
      expect(fr.camera).toBe('cam');
      expect([fr.index, fr.sourceIndex, fr.width, fr.height, fr.data.length]).toEqual([i, i, width, height, width * height * 3]);
      expect(fr.time).toBeCloseTo(i / fps, 12);
    });
    expect(frames.map((x) => sha(x.data))).toEqual(ref.map(sha));
    expect(ended).toEqual(['eof']);
    const s = source.stats;
    expect([s.produced, s.delivered, s.dropped, s.errors, s.restarts]).toEqual([ref.length, ref.length, 0, 0, 0]);
    expect(s.maxQueued).toBeLessThanOrEqual(4);
    expect(s.bytesRead).toBe(ref.length * width * height * 3);
  });

  it.each(['drop-oldest', 'drop-newest'] as const)('a slow consumer on a fast file: bounded queue, drops counted (%s)', async (policy) => {
    const ref = refFrames(f('fast.mp4'), 25, 160, 90);
    expect(ref.length).toBe(100);
    const source = new VideoSource({ camera: 'slow', input: f('fast.mp4'), fps: 25, width: 160, height: 90, queue: { maxFrames: 4, policy } });
    const { frames, error } = await collect(source, 15);
    expect(error).toBeUndefined();
    const s = source.stats;
    expect(s.produced).toBe(100);
    expect(s.dropped).toBeGreaterThan(0);
    expect(s.delivered + s.dropped).toBe(s.produced);
    expect(frames.length).toBe(s.delivered);
    expect(s.maxQueued).toBeLessThanOrEqual(4);
    // Each delivered frame is the frame ffmpeg produced at its sourceIndex, in order, and index counts deliveries.
    const idx = frames.map((x) => x.sourceIndex);
    for (let i = 1; i < idx.length; i++) expect(idx[i]!).toBeGreaterThan(idx[i - 1]!);
    frames.forEach((fr, i) => {
      expect(fr.index).toBe(i);
      expect(sha(fr.data)).toBe(sha(ref[fr.sourceIndex]!));
    });
    if (policy === 'drop-oldest') {
      // The queue keeps the newest frames: the last four produced are all delivered.
      expect(idx.slice(-4)).toEqual([96, 97, 98, 99]);
    } else {
      // The queue keeps the first frames: nothing is dropped before four are waiting.
      expect(idx.slice(0, 4)).toEqual([0, 1, 2, 3]);
    }
  });

  it('a missing, a corrupt and a truncated file fail with VIDEO_SOURCE_FAILED; a concurrent good source delivers every frame', async () => {
    const errors: unknown[] = [];
    const opts = (camera: string, input: string): VideoSourceOptions => ({ camera, input, fps: 10, width: 160, height: 90, queue: { maxFrames: 4, policy: 'block' } });
    const missing = new VideoSource(opts('missing', f('nope.mp4')));
    missing.on('error', (e) => errors.push(e));
    const corrupt = new VideoSource(opts('corrupt', f('corrupt.mp4')));
    const truncated = new VideoSource(opts('truncated', f('truncated.mp4')));
    const good = new VideoSource(opts('good', f('clip.mp4')));
    const [m, c, t, g] = await Promise.all([collect(missing), collect(corrupt), collect(truncated), collect(good)]);

    for (const [r, camera] of [[m, 'missing'], [c, 'corrupt'], [t, 'truncated']] as const) {
      expect(isLeptonError(r.error, 'VIDEO_SOURCE_FAILED')).toBe(true);
      expect((r.error as { details: { camera: string } }).details.camera).toBe(camera);
      expect((r.error as Error).message).toContain(`Camera '${camera}'`);
    }
    expect(errors).toEqual([m.error]);
    expect(m.frames.length).toBe(0);
    expect(c.frames.length).toBe(0);
    // The truncated file: what decodes is delivered (as the ffmpeg CLI decodes it), then the error.
    const truncRef = refFrames(f('truncated.mp4'), 10, 160, 90);
    expect(truncRef.length).toBeGreaterThan(0);
    expect(truncRef.length).toBeLessThan(30);
    expect(t.frames.map((x) => sha(x.data))).toEqual(truncRef.map(sha));
    expect((t.error as { details: { stderr: string[] } }).details.stderr.length).toBeGreaterThan(0);

    expect(g.error).toBeUndefined();
    expect(g.frames.map((x) => sha(x.data))).toEqual(refFrames(f('clip.mp4'), 10, 160, 90).map(sha));
  });

  it('rejects bad options with CONFIG_INVALID naming the camera and field', () => {
    const base: VideoSourceOptions = { camera: 'c1', input: 'x.mp4', fps: 5, width: 160, height: 90 };
    for (const [patch, field] of [
      [{ fps: 0 }, 'fps'],
      [{ width: 10.5 }, 'width'],
      [{ queue: { maxFrames: 0 } }, 'queue.maxFrames'],
      [{ reconnect: { factor: 0.5 } }, 'reconnect.factor'],
    ] as const) {
      try {
        new VideoSource({ ...base, ...patch });
        expect.unreachable();
      } catch (err) {
        expect(isLeptonError(err, 'CONFIG_INVALID')).toBe(true);
        expect((err as { details: unknown }).details).toEqual({ camera: 'c1', field });
      }
    }
  });
});

describe('VideoSource on a live HTTP stream', () => {
  // The server loops a 30-frame clip; each decoded frame must be one of the clip's frames, and within one connection
  // frame k+1 must follow frame k: nothing invented, repeated or reordered. The one exception is the last step of a
  // connection that was cut: a frame still in transit (a B-frame, sent after the frame it precedes) can be lost
  // there, so that step may skip ahead, but never back.
  let ref: string[] = [];
  beforeAll(() => {
    ref = refFrames(f('live.mp4'), 10, 160, 90).map(sha);
    expect(new Set(ref).size).toBe(30);
  });

  function watch(source: VideoSource): { frames: Frame[]; boundaries: Set<number>; done: Promise<unknown> } {
    const frames: Frame[] = [];
    const boundaries = new Set<number>([0]);
    source.on('reconnected', () => boundaries.add(source.stats.produced - 1));
    const done = (async () => {
      for await (const fr of source) frames.push(fr);
    })();
    return { frames, boundaries, done };
  }

  function checkContinuity(frames: Frame[], boundaries: Set<number>): void {
    const refs = frames.map((fr) => ref.indexOf(sha(fr.data)));
    expect(refs.every((r) => r >= 0)).toBe(true);
    for (let i = 0; i < frames.length; i++) {
      const src = frames[i]!.sourceIndex;
      if (boundaries.has(src)) {
        expect(refs[i]).toBe(0); // a fresh server starts the clip from its first frame
        continue;
      }
      if (i === 0 || frames[i - 1]!.sourceIndex !== src - 1) continue; // the consumer did not see the frame before
      const step = (refs[i]! - refs[i - 1]! + 30) % 30;
      const lastOfCutConnection = boundaries.has(src + 1);
      if (lastOfCutConnection) expect([1, 2, 3]).toContain(step);
      else expect(step).toBe(1);
    }
  }

  it('reconnects with growing delays after the server is killed, and frames flow again', async () => {
    const port = await freePort();
    let server = serve(f('live.mp4'), port);
    const source = new VideoSource({
      camera: 'http', input: `http://127.0.0.1:${port}/live.ts`, fps: 10, width: 160, height: 90,
      queue: { maxFrames: 64 }, reconnect: { initialDelayMs: 150, factor: 2, maxDelayMs: 1000, stallTimeoutMs: 5000 },
    });
    expect(source.live).toBe(true);
    const reconnecting: ReconnectingEvent[] = [];
    const reconnected: number[] = [];
    source.on('reconnecting', (e) => reconnecting.push(e));
    source.on('reconnected', (e) => reconnected.push(e.attempts));
    const w = watch(source);
    try {
      await until(() => w.frames.length >= 10, 20_000, 'first frames');
      // The source may have started before the server listened (refused, retried): count from the working stream on.
      reconnecting.length = 0;
      reconnected.length = 0;
      server.kill('SIGKILL');
      await until(() => reconnecting.length >= 4, 20_000, 'reconnect attempts');
      const before = source.stats.produced;
      server = serve(f('live.mp4'), port);
      await until(() => reconnected.length === 1 && w.frames.length >= before + 10, 20_000, 'frames after the restart');
      // Delays: 150, 300, 600, then capped at 1000.
      expect(reconnecting.slice(0, 4).map((e) => [e.attempt, e.delayMs])).toEqual([[1, 150], [2, 300], [3, 600], [4, 1000]]);
      expect(reconnecting.every((e) => e.camera === 'http' && e.reason.length > 0)).toBe(true);
      expect(reconnected[0]).toBe(reconnecting.length);
      expect(source.stats.dropped).toBe(0);
      expect(w.boundaries.size).toBe(2);
      checkContinuity(w.frames, w.boundaries);
    } finally {
      await source.close();
      server.kill('SIGKILL');
      await w.done;
    }
  });

  it('a stalled server (SIGSTOP) is detected, the decoder restarted, and frames resume from a new server', async () => {
    const port = await freePort();
    let server = serve(f('live.mp4'), port);
    const source = new VideoSource({
      camera: 'stall', input: `http://127.0.0.1:${port}/live.ts`, fps: 10, width: 160, height: 90,
      queue: { maxFrames: 64 }, reconnect: { initialDelayMs: 100, factor: 2, maxDelayMs: 400, stallTimeoutMs: 1500 },
    });
    const events: string[] = [];
    source.on('stalled', (e) => events.push(`stalled:${e.idleMs >= 1500}`));
    source.on('reconnecting', (e) => events.push(`reconnecting:${e.reason.startsWith('stalled') ? 'stalled' : 'other'}`));
    source.on('reconnected', () => events.push('reconnected'));
    const w = watch(source);
    try {
      await until(() => w.frames.length >= 5, 20_000, 'first frames');
      events.length = 0; // as above: count from the working stream on
      server.kill('SIGSTOP');
      await until(() => events.includes('stalled:true'), 10_000, 'stall');
      const before = source.stats.produced;
      server.kill('SIGKILL');
      server = serve(f('live.mp4'), port);
      await until(() => events.includes('reconnected') && w.frames.length >= before + 5, 20_000, 'frames after the stall');
      expect(events.slice(0, 2)).toEqual(['stalled:true', 'reconnecting:stalled']);
      expect(source.stats.errors).toBeGreaterThanOrEqual(1);
      expect(source.stats.restarts).toBeGreaterThanOrEqual(1);
      checkContinuity(w.frames, w.boundaries);
    } finally {
      await source.close();
      server.kill('SIGKILL');
      await w.done;
    }
  });
});

describe('VideoSource with a consumer that blocks the main thread (like synchronous inference)', () => {
  // The served clip carries its own frame number N: ten vertical bars 16 px wide, bar b white when bit b of N is set
  // (drawn by ffmpeg's geq filter, so the number is read from the pixels, independently of the code under test; lossy
  // coding cannot turn a bar's centre from black to white). The server sends frame N at N/10 s after it starts
  // streaming (`-re`), so a frame's offset, (wall time it reached the consumer) − N/10, is its lag behind real time
  // plus a constant (server start, connection): constant for a consumer that keeps up, growing for one that does not.
  const frameNumber = (rgb: Uint8Array): number => {
    let n = 0;
    for (let b = 0; b < 10; b++) if (rgb[(45 * 160 + b * 16 + 8) * 3]! > 127) n |= 1 << b;
    return n;
  };
  /** Holds the thread, as TF.js inference on wasm does: no timer, I/O or message is handled meanwhile. */
  const blockFor = (ms: number): void => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      // busy: nothing else on this thread runs
    }
  };

  it('a live stream stays within 1 s of real time while each frame blocks the main thread 200 ms; the backlog is dropped and counted', { timeout: 60_000 }, async () => {
    await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'nullsrc=size=160x90:rate=10:duration=30',
      '-vf', "format=gray,geq=lum='255*mod(floor(N/pow(2,floor(X/16))),2)'", '-c:v', 'libx264', '-preset', 'veryfast', '-g', '10', '-bf', '0',
      '-pix_fmt', 'yuv420p', f('counter.mp4')]);
    // The fixture decodes to its own frame numbers (checks the reader of the bars on an independent decode).
    expect(refFrames(f('counter.mp4'), 10, 160, 90).map(frameNumber)).toEqual(Array.from({ length: 300 }, (_, i) => i));

    const port = await freePort();
    const server = serve(f('counter.mp4'), port);
    // A short queue: the consumer takes the oldest queued frame, so its lag is bounded by about maxFrames / fps.
    const source = new VideoSource({ camera: 'busy', input: `http://127.0.0.1:${port}/live.ts`, fps: 10, width: 160, height: 90, queue: { maxFrames: 2 } });
    const seen: Array<{ n: number; sourceIndex: number; wall: number }> = [];
    let stats: VideoSourceStats | undefined;
    try {
      for await (const fr of source) {
        seen.push({ n: frameNumber(fr.data), sourceIndex: fr.sourceIndex, wall: Date.now() });
        if (seen.at(-1)!.wall - seen[0]!.wall >= 6000) {
          stats = source.stats;
          break;
        }
        blockFor(200);
      }
    } finally {
      await source.close();
      server.kill('SIGKILL');
    }
    const first = seen[0]!;
    const last = seen.at(-1)!;
    // About 6 s at ≥ 200 ms a frame: the consumer saw at most ~31 frames of the ~60 the camera sent.
    expect(seen.length).toBeGreaterThanOrEqual(10);
    expect(seen.length).toBeLessThanOrEqual(32);
    // Lag behind real time, from the frame numbers in the pixels, measured against the freshest frame the consumer
    // ever got (the smallest offset): after the first 4 s every frame is within 1 s of it. (The reader on the main
    // thread fell about 3 s behind in these 6 s: ffmpeg was blocked on the full pipe, the backlog waited in the socket.)
    const offset = seen.map((s) => s.wall / 1000 - s.n / 10);
    const freshest = Math.min(...offset);
    const late = seen.flatMap((s, i) => (s.wall - first.wall >= 4000 ? [offset[i]! - freshest] : []));
    expect(late.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...late)).toBeLessThan(1);
    // Frames in order, none repeated; the ones not seen were dropped: the gaps in the content are the gaps in
    // sourceIndex (every frame ffmpeg produced is counted), and the counters add up.
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i]!.n).toBeGreaterThan(seen[i - 1]!.n);
      expect(seen[i]!.n - first.n).toBe(seen[i]!.sourceIndex - first.sourceIndex);
    }
    const gaps = last.n - first.n + 1 - seen.length;
    expect(gaps).toBeGreaterThan(10);
    const s = stats!;
    expect(s.delivered).toBe(seen.length);
    expect(s.delivered + s.dropped + s.queued).toBe(s.produced);
    expect(s.dropped).toBeGreaterThanOrEqual(gaps);
    expect(s.queued).toBeLessThanOrEqual(3); // two in the queue, one on its way to the consumer
    expect(s.maxQueued).toBeLessThanOrEqual(2);
    expect(s.produced).toBeGreaterThanOrEqual(last.sourceIndex + 1);
  });
});

describe('VideoSource reader thread and process lifetime', () => {
  // The reader thread must never keep a finished program alive, nor let it exit while `close()` is still awaited.
  // Only a separate process shows this (vitest keeps its own alive): node runs a script that reads the fixture and
  // prints what it saw; it must print everything and exit by itself with status 0.
  const script = (body: string): Promise<{ stdout: string }> =>
    run(process.execPath, ['--input-type=module', '-e', `import { VideoSource } from '@lepton/surveillance';\n${body}`], { cwd: join(import.meta.dirname, '..'), timeout: 30_000 });

  it('breaking out of the loop closes the source and the program exits; so does a drained source, and one never read', async () => {
    const opts = JSON.stringify({ camera: 'exit', input: f('clip.mp4'), fps: 10, width: 160, height: 90 });
    const broke = await script(`const s = new VideoSource(${opts});
      for await (const fr of s) if (fr.index === 3) break;
      console.log(JSON.stringify(s.stats));`);
    const st = JSON.parse(broke.stdout) as VideoSourceStats;
    expect(st.delivered).toBe(4);
    expect(st.queued).toBe(0);
    const drained = await script(`const s = new VideoSource({ ...${opts}, queue: { policy: 'block' } });
      let n = 0; for await (const fr of s) n++;
      console.log(n);`);
    expect(drained.stdout.trim()).toBe('30');
    const unread = await script(`const s = new VideoSource(${opts});
      s.on('end', (e) => console.log(e.reason));
      await s.start();`);
    expect(unread.stdout.trim()).toBe('eof');
  });
});

describe('VideoWriter, cutClip, FrameRing', () => {
  it('VideoWriter writes an MP4 that ffprobe reads back with the right codec, size and frame count', async () => {
    const ref = refFrames(f('clip.mp4'), 10, 160, 90);
    const writer = new VideoWriter({ output: f('written.mp4'), width: 160, height: 90, fps: 10 });
    for (const data of ref) await writer.write(data);
    const info = await writer.close();
    expect(info).toMatchObject({ frames: 30, encoder: 'libx264', durationSec: 3 });
    expect(probe(f('written.mp4'))).toMatchObject({ codec: 'h264', width: 160, height: 90, frames: 30 });
    // Lossy, but each frame decodes back nearest to the frame that was written.
    const back = refFrames(f('written.mp4'), 10, 160, 90);
    expect(back.map((b) => nearest(b, ref))).toEqual(ref.map((_, i) => i));

    const mpeg4 = new VideoWriter({ output: f('written-mpeg4.mp4'), width: 160, height: 90, fps: 10, encoder: 'mpeg4' });
    for (const data of ref.slice(0, 12)) await mpeg4.write(data);
    await mpeg4.close();
    expect(probe(f('written-mpeg4.mp4'))).toMatchObject({ codec: 'mpeg4', frames: 12 });

    await expect(writer.write(new Uint8Array(10))).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
  });

  it('cutClip cuts [0.5 s, 2 s) to the frame', async () => {
    const res = await cutClip({ input: f('clip.mp4'), start: 0.5, end: 2, output: f('cut.mp4') });
    expect(res.encoder).toBe('libx264');
    const p = probe(f('cut.mp4'));
    expect(p.frames).toBe(15);
    expect(Math.abs(p.duration - 1.5)).toBeLessThan(0.1);
    const ref = refFrames(f('clip.mp4'), 10, 160, 90);
    const cut = refFrames(f('cut.mp4'), 10, 160, 90);
    expect(cut.map((c) => nearest(c, ref))).toEqual(Array.from({ length: 15 }, (_, i) => 5 + i));
    await expect(cutClip({ input: f('nope.mp4'), start: 0, end: 1, output: f('x.mp4') })).rejects.toMatchObject({ code: 'VIDEO_SOURCE_FAILED' });
    await expect(cutClip({ input: f('clip.mp4'), start: 2, end: 1, output: f('x.mp4') })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('FrameRing keeps bounded memory and writes 1 s before + 1 s after an event, waiting for the after frames', async () => {
    const { frames } = await collect(new VideoSource({ camera: 'ring', input: f('clip.mp4'), fps: 10, width: 160, height: 90, queue: { policy: 'block' } }));
    expect(frames.length).toBe(30);
    const ring = new FrameRing({ seconds: 1, fps: 10 });
    expect(ring.maxFrames).toBe(11);
    let clip: Promise<unknown> | undefined;
    let resolvedAt = -1;
    let current = -1;
    for (const fr of frames) {
      current = fr.sourceIndex;
      ring.push(fr);
      expect(ring.size).toBeLessThanOrEqual(11);
      expect(ring.bytes).toBeLessThanOrEqual(11 * 160 * 90 * 3);
      if (fr.sourceIndex === 15) clip = ring.clipAround(fr.time, 1, 1, f('ring.mp4')).then((info) => ((resolvedAt = current), info));
      await sleep(0);
    }
    const info = await clip!;
    // Resolved once frame 25 (time 2.5 = 1.5 + 1) arrived, not before.
    expect(resolvedAt).toBeGreaterThanOrEqual(25);
    expect(info).toMatchObject({ frames: 20, fps: 10, width: 160, height: 90, complete: true });
    expect((info as { startTime: number }).startTime).toBeCloseTo(0.5, 9);
    expect((info as { endTime: number }).endTime).toBeCloseTo(2.4, 9);
    expect(probe(f('ring.mp4'))).toMatchObject({ frames: 20, width: 160, height: 90 });
    const back = refFrames(f('ring.mp4'), 10, 160, 90);
    const ref = frames.map((x) => x.data);
    expect(back.map((b) => nearest(b, ref))).toEqual(Array.from({ length: 20 }, (_, i) => 5 + i));
  });
});

const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false);

describe('bad inputs end in a typed error that says what is wrong (issue 15)', () => {
  it('an audio-only file fails with VIDEO_NO_STREAM, "no video stream", not ffmpeg\'s "add a trailing \'?\' to the map"', async () => {
    // the fixture really has one audio stream and no video stream
    const streams = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type', '-of', 'csv=p=0', f('tone.m4a')]).toString().trim();
    expect(streams).toBe('audio');
    const source = new VideoSource({ camera: 'tone', input: f('tone.m4a'), fps: 10, width: 160, height: 90, queue: { policy: 'block' } });
    const { frames, error } = await collect(source);
    expect(frames).toEqual([]);
    expect(isLeptonError(error, 'VIDEO_NO_STREAM')).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain("Camera 'tone'");
    expect(message).toContain('has no video stream');
    expect(message).not.toContain("trailing '?'");
    await expect(cutClip({ input: f('tone.m4a'), start: 0, end: 0.5, output: f('tone-cut.mp4') })).rejects.toMatchObject({ code: 'VIDEO_NO_STREAM', message: expect.stringContaining('no video stream') });
  });

  it('a camera URL with credentials that cannot be reached fails without the password in the message or details', async () => {
    const port = await freePort(); // nothing listens there
    const input = `http://admin:s3cret-pw@127.0.0.1:${port}/live.ts?token=abc123&channel=2`;
    const source = new VideoSource({ camera: 'door', input, fps: 10, width: 160, height: 90, reconnect: { maxAttempts: 0 } });
    const { error } = await collect(source);
    expect(isLeptonError(error, 'VIDEO_SOURCE_FAILED')).toBe(true);
    const text = `${(error as Error).message} ${JSON.stringify((error as { details: unknown }).details)}`;
    expect(text).toContain(`http://***@127.0.0.1:${port}/live.ts?token=***&channel=2`);
    for (const secret of ['s3cret-pw', 'admin', 'abc123']) expect(text).not.toContain(secret);
  });

  it('a VideoWriter closed without a frame leaves no file and rejects with VIDEO_WRITE_FAILED; abort() removes its file', async () => {
    // Before: ffmpeg finished a 262-byte MP4 without a video stream, and close() reported it as written.
    const empty = new VideoWriter({ output: f('empty.mp4'), width: 160, height: 90, fps: 10 });
    await expect(empty.close()).rejects.toMatchObject({ code: 'VIDEO_WRITE_FAILED', details: { frames: 0 } });
    expect(await exists(f('empty.mp4'))).toBe(false);
    const aborted = new VideoWriter({ output: f('aborted.mp4'), width: 160, height: 90, fps: 10 });
    for (const data of refFrames(f('clip.mp4'), 10, 160, 90).slice(0, 5)) await aborted.write(data);
    await aborted.abort();
    expect(await exists(f('aborted.mp4'))).toBe(false);
    await expect(aborted.close()).rejects.toMatchObject({ code: 'VIDEO_WRITE_FAILED' });
  });

  it('an unreachable MQTT broker URL with credentials is reported without them', async () => {
    const port = await freePort();
    const err: unknown = await connectPublisher({ url: `mqtt://nvr:hunter2@127.0.0.1:${port}`, topicPrefix: 'x' }).catch((e: unknown) => e);
    expect(isLeptonError(err, 'CONFIG_INVALID')).toBe(true);
    expect((err as Error).message).toContain(`mqtt://***@127.0.0.1:${port}`);
    expect(`${(err as Error).message} ${JSON.stringify((err as { details: unknown }).details)}`).not.toContain('hunter2');
  });

  it('rejects options that would loop forever or split into characters: an infinite FrameRing, inputOptions as a string', () => {
    expect(() => new FrameRing({ seconds: Infinity, fps: 10 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => new FrameRing({ seconds: 1, fps: NaN })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const opts = { camera: 'c', input: 'x.mp4', fps: 5, width: 160, height: 90, inputOptions: '-re' as unknown as string[] };
    expect(() => new VideoSource(opts)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', details: { camera: 'c', field: 'inputOptions' } }));
  });

  it('rejects bad writer and cutClip arguments with typed errors before starting ffmpeg', async () => {
    for (const bad of [{ fps: NaN }, { fps: Infinity }, { width: -1 }, { height: 1e9 }, { crf: 99 }, { output: '' }]) {
      expect(() => new VideoWriter({ output: f('x.mp4'), width: 160, height: 90, fps: 10, ...bad })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    const writer = new VideoWriter({ output: f('never.mp4'), width: 160, height: 90, fps: 10 });
    await expect(writer.write(null as unknown as Uint8Array)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await writer.abort();
    for (const [start, end] of [[NaN, 1], [0, Infinity], [-1, 1]]) {
      await expect(cutClip({ input: f('clip.mp4'), start: start!, end: end!, output: f('x.mp4') })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
  });
});
