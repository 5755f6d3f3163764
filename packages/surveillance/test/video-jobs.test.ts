import { execFile, execFileSync } from 'node:child_process';
import { access, chmod, mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Ffmpeg from 'fluent-ffmpeg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cutArgs, cutClip, cutRecordingClip, encodeArgs, probeSource, seededRandom, VideoWriter, type FfmpegBinary } from '@lepton/surveillance';

// The one-shot ffmpeg jobs (clip cutting, the annotated-video encoder, the probe's one-frame decode) run through
// fluent-ffmpeg. These tests drive their failure paths against the real ffmpeg: a missing and a corrupt input, a job
// past its timeout, an aborted job, and ffmpeg killed from outside. A wrapper script in front of ffmpeg logs each
// process id, so a test can kill the very process and check that a killed job leaves no process behind.
//
// Throughout this file fluent-ffmpeg's process-wide ffmpeg path points at a binary that does not exist (as an
// application using fluent-ffmpeg for its own commands might set it): the package's jobs must not read it.

const run = promisify(execFile);
const SYSTEM_FFMPEG = execFileSync('sh', ['-c', 'command -v ffmpeg']).toString().trim();
const BOGUS = '/nonexistent/bin/ffmpeg';
let dir = '';
const f = (name: string): string => join(dir, name);
let wrapper: FfmpegBinary;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false);

/** Waits until ffmpeg has written something to `path`. */
async function written(path: string, timeoutMs = 20_000): Promise<void> {
  const t0 = Date.now();
  while (((await stat(path).catch(() => undefined))?.size ?? 0) === 0) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`nothing was written to ${path}`);
    await sleep(20);
  }
}

/** The global path lookup of a fresh fluent-ffmpeg command (fluent-ffmpeg 2.1.3 internals). */
function globalPath(): Promise<string> {
  const cmd = Ffmpeg() as unknown as { _getFfmpegPath(cb: (err: Error | null, path?: string) => void): void };
  return new Promise((resolve, reject) => cmd._getFfmpegPath((err, path) => (err ? reject(err) : resolve(path ?? ''))));
}

/** The pid of the wrapped ffmpeg whose arguments contain `marker`, once it has started. */
async function pidOf(marker: string, timeoutMs = 20_000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const log = await readFile(f('calls.log'), 'utf8').catch(() => '');
    const line = log.split('\n').find((l) => l.includes(marker));
    if (line) return Number(line.split(' ')[0]);
    if (Date.now() - t0 > timeoutMs) throw new Error(`no ffmpeg started with ${marker}`);
    await sleep(20);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lepton-video-jobs-'));
  await run(SYSTEM_FFMPEG, ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=10:duration=3', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', f('clip.mp4')]);
  await run(SYSTEM_FFMPEG, ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=10:duration=20', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '10', '-pix_fmt', 'yuv420p', '-f', 'mpegts', f('long.ts')]);
  await run(SYSTEM_FFMPEG, ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'aac', f('tone.m4a')]);
  const rand = seededRandom(11);
  await writeFile(f('corrupt.mp4'), Uint8Array.from({ length: 20_000 }, () => Math.floor(rand() * 256)));
  // ffmpeg blocks opening a FIFO until someone opens it for writing: a job that never finishes on its own.
  execFileSync('mkfifo', [f('stuck.fifo'), f('feed.fifo')]);
  await writeFile(f('ffmpeg'), `#!/bin/sh\necho "$$ $*" >> '${f('calls.log')}'\nexec '${SYSTEM_FFMPEG}' "$@"\n`);
  await chmod(f('ffmpeg'), 0o755);
  wrapper = { path: f('ffmpeg'), origin: 'option', version: 'wrapper' };
  Ffmpeg().setFfmpegPath(BOGUS);
}, 60_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('fluent-ffmpeg runs the one-shot jobs on the binary each call chose', () => {
  it('setFfmpegPath on one fluent-ffmpeg command is process-wide; the package neither reads nor changes it', async () => {
    // fluent-ffmpeg 2.1.3: the per-command method writes the module-wide cache, so a fresh command sees it.
    expect(await globalPath()).toBe(BOGUS);
    const cut = await cutClip({ input: f('clip.mp4'), start: 0.5, end: 2, output: f('cut.mp4') });
    expect(cut.encoder).toBe('libx264');
    const frames = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', f('cut.mp4')]).toString().trim();
    expect(frames).toBe('15');
    const writer = new VideoWriter({ output: f('written.mp4'), width: 33, height: 17, fps: 10 });
    for (let i = 0; i < 5; i++) await writer.write(new Uint8Array(33 * 17 * 3).fill(40 * i));
    expect(await writer.close()).toMatchObject({ frames: 5 });
    // odd sizes are padded to even ones (yuv420p), as encodeArgs says
    expect(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', f('written.mp4')]).toString().trim()).toBe('34,18');
    expect(await globalPath()).toBe(BOGUS);
  });

  it('two cuts at once on two binaries: each job runs on its own binary', async () => {
    const [a, b] = await Promise.all([
      cutClip({ input: f('clip.mp4'), start: 0, end: 1, output: f('via-wrapper.mp4'), ffmpeg: wrapper, encoder: 'libx264' }),
      cutClip({ input: f('clip.mp4'), start: 1, end: 2, output: f('via-system.mp4'), ffmpeg: SYSTEM_FFMPEG }),
    ]);
    expect([a.output, b.output]).toEqual([f('via-wrapper.mp4'), f('via-system.mp4')]);
    const calls = await readFile(f('calls.log'), 'utf8');
    expect(calls).toContain(` ${cutArgs({ input: f('clip.mp4'), start: 0, end: 1, output: f('via-wrapper.mp4'), encoder: 'libx264' }).join(' ')}\n`);
    expect(calls).not.toContain('via-system.mp4');
  });

  it('encodeArgs and cutArgs are the argument lists fluent-ffmpeg runs', async () => {
    const writer = new VideoWriter({ output: f('args.mp4'), width: 16, height: 16, fps: 5, ffmpeg: wrapper, encoder: 'mpeg4' });
    await writer.write(new Uint8Array(16 * 16 * 3));
    await writer.close();
    const calls = await readFile(f('calls.log'), 'utf8');
    expect(calls).toContain(` ${encodeArgs({ output: f('args.mp4'), width: 16, height: 16, fps: 5, encoder: 'mpeg4' }).join(' ')}\n`);
  });
});

describe('one-shot jobs fail with typed errors that carry ffmpeg\'s reason', () => {
  it('a missing and a corrupt input: VIDEO_SOURCE_FAILED with ffmpeg\'s own last error line, exit code 1', async () => {
    for (const name of ['missing.mp4', 'corrupt.mp4']) {
      // What the ffmpeg CLI itself says about this input, run independently.
      const cli = await run(SYSTEM_FFMPEG, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', f(name), '-f', 'null', '-']).then(() => '', (e: { stderr: string }) => e.stderr.trim().split('\n').at(-1)!);
      expect(cli).not.toBe('');
      const err = await cutClip({ input: f(name), start: 0, end: 1, output: f(`from-${name}`) }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'VIDEO_SOURCE_FAILED', details: { reason: 'exit', exitCode: 1, signal: null, input: f(name) } });
      const details = (err as { details: { stderr: string[] } }).details;
      expect(details.stderr.at(-1)).toBe(cli);
      expect((err as Error).message).toContain(cli);
      expect(await exists(f(`from-${name}`))).toBe(false);
    }
  });

  it('an input URL with credentials is never shown with them, in the message or in ffmpeg\'s lines', async () => {
    const input = 'http://admin:pa55word@127.0.0.1:9/cam.ts?token=t0ken&ch=1';
    const err = await cutClip({ input, start: 0, end: 1, output: f('url.mp4') }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'VIDEO_SOURCE_FAILED', details: { reason: 'exit' } });
    const text = `${(err as Error).message} ${JSON.stringify((err as { details: unknown }).details)}`;
    expect(text).toContain('http://***@127.0.0.1:9/cam.ts?token=***&ch=1');
    for (const secret of ['admin', 'pa55word', 't0ken']) expect(text).not.toContain(secret);
  });

  it('a job past its timeout is killed: VIDEO_SOURCE_FAILED, reason timeout, no ffmpeg left running', async () => {
    const t0 = Date.now();
    const cut = cutClip({ input: f('stuck.fifo'), start: 0, end: 1, output: f('timeout.mp4'), ffmpeg: wrapper, encoder: 'libx264', timeoutMs: 400 });
    const pid = await pidOf('timeout.mp4');
    const err = await cut.catch((e: unknown) => e);
    const ms = Date.now() - t0;
    expect(err).toMatchObject({ code: 'VIDEO_SOURCE_FAILED', details: { reason: 'timeout', signal: 'SIGKILL', exitCode: null } });
    expect((err as Error).message).toContain('did not finish within 400 ms');
    expect(ms).toBeGreaterThanOrEqual(400);
    expect(ms).toBeLessThan(15_000);
    expect(alive(pid)).toBe(false);
  });

  it('ffmpeg killed from outside: VIDEO_SOURCE_FAILED, reason signal; a killed writer leaves no half file', async () => {
    const cut = cutClip({ input: f('stuck.fifo'), start: 0, end: 1, output: f('killed.mp4'), ffmpeg: wrapper, encoder: 'libx264' });
    process.kill(await pidOf('killed.mp4'), 'SIGKILL');
    await expect(cut).rejects.toMatchObject({ code: 'VIDEO_SOURCE_FAILED', message: expect.stringContaining('killed by SIGKILL'), details: { reason: 'signal', signal: 'SIGKILL' } });

    const writer = new VideoWriter({ output: f('killed-writer.mp4'), width: 64, height: 64, fps: 10, ffmpeg: wrapper, encoder: 'libx264' });
    for (let i = 0; i < 20; i++) await writer.write(new Uint8Array(64 * 64 * 3).fill(i * 10));
    const pid = await pidOf('killed-writer.mp4');
    await written(f('killed-writer.mp4'));
    process.kill(pid, 'SIGKILL');
    while (alive(pid)) await sleep(20);
    const err = await writer.write(new Uint8Array(64 * 64 * 3)).then(() => writer.close()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'VIDEO_WRITE_FAILED', details: { reason: 'signal', signal: 'SIGKILL', output: f('killed-writer.mp4') } });
    await expect(writer.close()).rejects.toMatchObject({ code: 'VIDEO_WRITE_FAILED' });
    expect(await exists(f('killed-writer.mp4'))).toBe(false);
  });

  it('an AbortSignal kills a cut in the middle of writing: reason aborted, the half-written output removed', async () => {
    const controller = new AbortController();
    const cut = cutClip({ input: f('feed.fifo'), start: 0, end: 20, output: f('aborted.mp4'), ffmpeg: wrapper, encoder: 'libx264', signal: controller.signal });
    const pid = await pidOf('aborted.mp4');
    // Feed half of a 20 s stream and hold the pipe open: ffmpeg encodes it, writes part of the file, then waits.
    const feed = await open(f('feed.fifo'), 'w');
    const ts = await readFile(f('long.ts'));
    await feed.write(ts.subarray(0, Math.floor(ts.length / 2)));
    await written(f('aborted.mp4'));
    controller.abort(new Error('operator cancelled'));
    const err = await cut.catch((e: unknown) => e);
    await feed.close();
    expect(err).toMatchObject({ code: 'VIDEO_SOURCE_FAILED', details: { reason: 'aborted', signal: 'SIGKILL' } });
    expect((err as Error).cause).toBe(controller.signal.reason);
    expect(alive(pid)).toBe(false);
    expect(await exists(f('aborted.mp4'))).toBe(false);
    // An already aborted signal starts nothing.
    await expect(cutClip({ input: f('clip.mp4'), start: 0, end: 1, output: f('never.mp4'), ffmpeg: wrapper, encoder: 'libx264', signal: controller.signal })).rejects.toMatchObject({ details: { reason: 'aborted' } });
    expect(await readFile(f('calls.log'), 'utf8')).not.toContain('never.mp4');
  });

  it('a binary that cannot be started is VIDEO_FFMPEG_MISSING, from the writer and from cutClip', async () => {
    const missing: FfmpegBinary = { path: f('no-such-ffmpeg'), origin: 'option', version: 'x' };
    const writer = new VideoWriter({ output: f('nobin.mp4'), width: 16, height: 16, fps: 5, ffmpeg: missing, encoder: 'libx264' });
    const err = await writer.write(new Uint8Array(16 * 16 * 3)).then(() => writer.close()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'VIDEO_FFMPEG_MISSING', details: { reason: 'spawn', path: f('no-such-ffmpeg') } });
    await expect(cutClip({ input: f('clip.mp4'), start: 0, end: 1, output: f('nobin.mp4'), ffmpeg: missing, encoder: 'libx264' })).rejects.toMatchObject({ code: 'VIDEO_FFMPEG_MISSING' });
  });

  it('a recording clip past its timeout fails with reason timeout and leaves no temporary files', async () => {
    const rec = f('rec');
    await mkdir(rec);
    const t0 = 1_700_000_000_000;
    await writeFile(join(rec, `${t0}-3000.mp4`), await readFile(f('clip.mp4')));
    const err = await cutRecordingClip({ dir: rec, camera: 'cam', from: t0, to: t0 + 2000, output: f('rec-clip.mp4'), ffmpeg: wrapper, timeoutMs: 1 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'VIDEO_SOURCE_FAILED', details: { reason: 'timeout', camera: 'cam' } });
    expect(await readdir(rec)).toEqual([`${t0}-3000.mp4`]);
    // and with time enough it is cut
    await expect(cutRecordingClip({ dir: rec, camera: 'cam', from: t0, to: t0 + 2000, output: f('rec-clip.mp4'), timeoutMs: 60_000 })).resolves.toMatchObject({ start: t0, end: t0 + 2000 });
  });

  it('rejects bad limits and paths with INVALID_ARGUMENT before starting ffmpeg', async () => {
    const base = { input: f('clip.mp4'), start: 0, end: 1, output: f('bad.mp4'), ffmpeg: wrapper, encoder: 'libx264' };
    const bad: Array<Record<string, unknown>> = [
      { timeoutMs: 0 }, { timeoutMs: -5 }, { timeoutMs: NaN }, { timeoutMs: Infinity }, { timeoutMs: 3e9 }, { timeoutMs: '100' },
      { signal: {} }, { signal: 'abort' }, { output: '-y.mp4' }, { output: `${f('x')}\0.mp4` }, { input: `${f('clip.mp4')}\0` }, { encoder: '' }, { encoder: 7 },
    ];
    for (const b of bad) {
      await expect(cutClip({ ...base, ...b } as never), JSON.stringify(b)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    expect(() => new VideoWriter({ output: '-x.mp4', width: 16, height: 16, fps: 5 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    for (const b of [{ timeoutMs: 0 }, { signal: 1 }, { output: '-o.mp4' }, { from: '1' }]) {
      await expect(cutRecordingClip({ dir: f('rec'), camera: 'cam', from: 0, to: 1000, output: f('r.mp4'), ...b } as never), JSON.stringify(b)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    expect(await readFile(f('calls.log'), 'utf8')).not.toContain('bad.mp4');
  });
});

describe('probeSource without ffprobe: one frame decoded by a fluent-ffmpeg job', () => {
  // No ffprobe on this PATH or beside the (wrapped) ffmpeg: the probe falls back to decoding one frame.
  const env = (): Record<string, string> => ({ PATH: f('empty-path'), LEPTON_FFMPEG: wrapper.path });

  it('reads a video, reports an audio-only file as having no video stream, and kills a stuck input at the timeout', async () => {
    await mkdir(f('empty-path'), { recursive: true });
    expect(await probeSource(f('clip.mp4'), { env: env() })).toMatchObject({ ok: true, tool: 'ffmpeg' });
    expect(await probeSource(f('tone.m4a'), { env: env() })).toMatchObject({ ok: false, tool: 'ffmpeg', error: 'no video stream (audio or data only)' });
    expect(await probeSource(f('corrupt.mp4'), { env: env() })).toMatchObject({ ok: false, tool: 'ffmpeg', error: expect.stringContaining('Invalid data') });
    const probing = probeSource(f('stuck.fifo'), { env: env(), timeoutMs: 400 });
    const pid = await pidOf('stuck.fifo -y -map 0:v:0 -frames:v 1');
    expect(await probing).toMatchObject({ ok: false, tool: 'ffmpeg', error: 'no answer within 400 ms' });
    expect(alive(pid)).toBe(false);
  });
});
