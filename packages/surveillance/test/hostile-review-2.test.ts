import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  enforceRetention,
  initRuntime,
  ObjectDetector,
  type ObjectEvent,
  EventStore,
  listSegments,
  ObjectLifecycle,
  parseConfig,
  probeSource,
  Recorder,
  renderMetrics,
  resolveServiceConfig,
  SurveillanceService,
  type Frame,
  type StoredEvent,
  type Track,
} from '@lepton/surveillance';
import { redactCredentials, rememberCredentials } from '../dist/video/redact.js';
import { AsyncQueue } from '../dist/pipeline/queue.js';
import { ClipQueue } from '../dist/service/clip-queue.js';
import { startApi } from '../dist/service/api.js';
import { runCli, startCli } from './support/cli.js';
import { freePort } from './support/mosquitto.js';
import { ffmpeg, kill, serveLive, sleep, until, X264 } from './support/live.js';

// Regression tests for the second hostile review of the service side (sections numbered by finding).

let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lepton-hostile-2-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const code = async (p: Promise<unknown> | (() => unknown)): Promise<string | undefined> => {
  try {
    await (typeof p === 'function' ? p() : p);
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
};

/** A GET with any headers (fetch cannot set Host). */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** An object as the store takes it. */
function stored(id: string, camera: string, extra: Partial<StoredEvent['object']> = {}): StoredEvent {
  const t = Date.now() - 60_000;
  return {
    object: { id, camera, label: 'person', trackId: 1, startTime: t, endTime: t + 1000, startMediaTime: 0, lastMediaTime: 1, score: 0.9, topScore: 0.9, box: { x: 0, y: 0, width: 1, height: 1 }, currentZones: [], enteredZones: [], rules: [], snapshot: null, hasSnapshot: false, hasClip: false, endReason: 'lost', ...extra },
    snapshotPath: null,
    clipPath: null,
    clip: 'none',
  };
}

const ULID = '01J9Z3K4V8QW5M6N7P8R9S0T1V';
/** A configuration needs a camera; a service started with it stripped runs the API (and retention) only. */
const CAMS: Array<Record<string, unknown>> = [{ name: 'gate', input: 'a.mp4' }];
const noCameras = (raw: Record<string, unknown>): ReturnType<typeof parseConfig> => ({ ...parseConfig({ ...raw, cameras: CAMS }), cameras: [] });

describe('1. the recorder watchdog follows the input, not finished segments', () => {
  it('keeps recording a camera whose keyframe interval is far longer than the stall time (warning in stats), and restarts one that sends nothing', { timeout: 60_000 }, async () => {
    const file = join(dir, 'gop.mp4');
    // One keyframe in 12 s: a segment stays open for the whole file while the camera keeps sending.
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=10:duration=12', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '120', '-keyint_min', '120', '-sc_threshold', '0', '-pix_fmt', 'yuv420p', file]);
    const port = await freePort();
    const server = serveLive(file, port);
    const recorder = new Recorder({ camera: 'cam', input: `http://127.0.0.1:${port}/live.ts`, dir: join(dir, 'rec1', 'cam'), segmentSeconds: 1, stallSeconds: 2, reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 } });
    try {
      await recorder.start();
      await sleep(6000); // three stall times, data arriving all along
      expect(recorder.stats.restarts).toBe(0);
      expect(recorder.stats.state).toBe('recording');
      expect(recorder.stats.warning).toMatch(/no keyframe for \d+ s/);
      server.kill('SIGSTOP'); // the camera stops sending (the connection stays open)
      const t0 = Date.now();
      await until(() => recorder.stats.restarts >= 1, 20_000, 'the stalled recorder to restart');
      // stallSeconds (2) plus the SIGTERM grace (5 s) at most, with polling slack.
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      server.kill('SIGCONT');
      await kill(server);
      await recorder.stop();
    }
  });

  it('refuses a stallSeconds that is not a number from 1 up', async () => {
    for (const v of [0, Number.NaN, -1, '5']) {
      expect(await code(() => new Recorder({ camera: 'c', input: 'rtsp://x/y', dir: join(dir, 'x'), segmentSeconds: 1, stallSeconds: v as number }))).toBe('INVALID_ARGUMENT');
    }
  });
});

describe('2. credentials are masked whatever the password holds', () => {
  const passwords = ['pa#ss99word', 'pa?ss99word', 'my pass99word', 'p@ss99word', 'p%40ss99word'];

  it('masks user-info with #, ?, space, @ and %40 by pattern, and the configured literals anywhere', () => {
    for (const pw of passwords) {
      const url = `rtsp://admin:${pw}@127.0.0.1:1/stream`;
      const masked = redactCredentials(`${url}: Connection refused`);
      expect(masked, pw).toBe('rtsp://***@127.0.0.1:1/stream: Connection refused');
    }
    rememberCredentials('rtsp://operator:Zq#9 x?y%40w@10.0.0.9/main');
    // ffmpeg cuts such a URL at '#' or '?' in its own messages: the literal is still masked, raw or decoded.
    for (const leak of ['Zq#9 x?y%40w', 'Zq#9 x?y@w']) expect(redactCredentials(`password '${leak}' refused`)).not.toContain(leak);
  });

  it('keeps them out of probeSource results, the recorder\'s lastError and reconnecting reason, and check output', { timeout: 30_000 }, async () => {
    for (const pw of ['pa#ss99word', 'my pass99word', 'pa?ss99word']) {
      const r = await probeSource(`rtsp://admin:${pw}@127.0.0.1:1/stream`, { timeoutMs: 3000 });
      expect(JSON.stringify(r)).not.toContain('ss99');
    }
    const recorder = new Recorder({ camera: 'gate', input: 'rtsp://admin:my pass99word@127.0.0.1:1/stream', dir: join(dir, 'rec2', 'gate'), segmentSeconds: 1, reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 } });
    const reasons: string[] = [];
    recorder.on('reconnecting', (e) => reasons.push(e.reason));
    await recorder.start();
    await until(() => reasons.length > 0, 15_000, 'a reconnect');
    await recorder.stop();
    expect(reasons.join(' ')).not.toContain('ss99');
    expect(String(recorder.stats.lastError)).not.toContain('ss99');
    const yaml = join(dir, 'leak.yaml');
    await writeFile(yaml, ['api: { auth: false }', 'cameras:', "  - { name: gate, input: 'rtsp://admin:pa#ss99word@127.0.0.1:1/stream' }", "  - { name: yard, input: 'rtsp://admin:my pass99word@127.0.0.1:1/stream' }", ''].join('\n'));
    const out = await runCli(['check', yaml, '--timeout', '3']);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain('FAIL  gate');
    expect(out.stdout + out.stderr).not.toContain('ss99');
  });
});

describe('3. shutdown: no new cuts, temporary files in .tmp/', () => {
  it('close() aborts the cut in progress and leaves its clip pending; temporary files live in .tmp/ and start() empties it', { timeout: 30_000 }, async () => {
    const camDir = join(dir, 'rec3', 'gate');
    await mkdir(camDir, { recursive: true });
    const t = Date.now() - 120_000;
    for (let k = 0; k < 3; k++) await writeFile(join(camDir, `${t + k * 1000}-1000.mp4`), 'x');
    // An ffmpeg that takes 30 s to join.
    const fake = join(dir, 'slow-ffmpeg');
    await writeFile(fake, '#!/bin/sh\nfor a in "$@"; do if [ "$a" = "-version" ]; then echo "ffmpeg version 9.9-fake"; exit 0; fi; done\nexec sleep 30\n');
    await chmod(fake, 0o755);
    const store = await EventStore.open({ capacity: 10, persistPath: null });
    const id = `gate-${ULID}`;
    store.put({ ...stored(id, 'gate', { startTime: t + 500, endTime: t + 1500 }), clip: 'pending' });
    const counts = { ready: 0, failed: 0 };
    const recorder = { dir: camDir, stats: { state: 'recording' } } as unknown as Recorder;
    const before = process.env.LEPTON_FFMPEG;
    process.env.LEPTON_FFMPEG = fake;
    try {
      const q = new ClipQueue({ outputDir: join(dir, 'out3'), recorders: new Map([['gate', recorder]]), store, margins: { before: 0, after: 0 }, segmentSeconds: 1, counts, log: () => undefined });
      q.add(store.get(id)!.object);
      await until(async () => (await readdir(join(camDir, '.tmp')).catch(() => [])).length > 0, 10_000, 'the join to start');
      expect((await readdir(camDir)).filter((n) => n.startsWith('.clip-'))).toEqual([]);
      const t0 = Date.now();
      q.close();
      await q.idle();
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(store.get(id)!.clip).toBe('pending');
      expect(counts).toEqual({ ready: 0, failed: 0 });
      expect(q.size).toBe(1);
    } finally {
      if (before === undefined) delete process.env.LEPTON_FFMPEG;
      else process.env.LEPTON_FFMPEG = before;
    }
    // What a killed process leaves: the recorder's start removes it (also an older version's .clip-* files).
    await mkdir(join(camDir, '.tmp'), { recursive: true });
    await writeFile(join(camDir, '.tmp', 'clip-abc.mkv'), Buffer.alloc(5000));
    await writeFile(join(camDir, '.clip-old.mkv'), 'x');
    const rec = new Recorder({ camera: 'gate', input: join(dir, 'missing.mp4'), dir: camDir, segmentSeconds: 1 });
    expect(await rec.openBytes()).toBe(5000);
    await rec.start();
    await rec.stop();
    expect(await readdir(camDir).then((n) => n.filter((x) => x.startsWith('.')))).toEqual([]);
  });
});

describe('4. names the whole chain supports', () => {
  it('caps camera, zone and line names at 64 characters in the configuration and zone names in the store', async () => {
    const cam = (extra: object): unknown => ({ cameras: [{ name: 'gate', input: 'a.mp4', ...extra }] });
    expect(await code(() => parseConfig(cam({ name: 'c'.repeat(65) })))).toBe('CONFIG_INVALID');
    expect(parseConfig(cam({ name: 'c'.repeat(64) })).cameras[0]!.name).toHaveLength(64);
    expect(await code(() => parseConfig(cam({ zones: [{ name: 'z'.repeat(65), polygon: [[0, 0], [10, 0], [0, 10]] }] })))).toBe('CONFIG_INVALID');
    expect(await code(() => parseConfig(cam({ lines: [{ name: 'l'.repeat(65), from: [0, 0], to: [10, 10] }] })))).toBe('CONFIG_INVALID');
    const store = await EventStore.open({ capacity: 10, persistPath: null });
    expect(await code(() => store.put(stored(`gate-${ULID}`, 'gate', { currentZones: ['z'.repeat(65)] })))).toBe('INVALID_ARGUMENT');
    store.put(stored(`gate-${ULID}`, 'gate', { currentZones: ['z'.repeat(64)], enteredZones: ['z'.repeat(64)] }));
  });

  it('serves the event of a camera with a long name (fastify refused ids past 100 characters)', async () => {
    const store = await EventStore.open({ capacity: 10, persistPath: null });
    const camera = 'c'.repeat(128);
    store.put(stored(`${camera}-${ULID}`, camera));
    const api = await startApi({ store, health: () => ({}), counts: () => ({}), metrics: () => '' }, { host: '127.0.0.1', port: 0, token: null, metricsAuth: true, requestTimeoutMs: 5000 });
    try {
      const r = await get(`${api.url}/api/events/${camera}-${ULID}`);
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body).id).toBe(`${camera}-${ULID}`);
    } finally {
      await api.close();
    }
  });
});

describe('5. retention goes on past an entry it cannot delete', () => {
  it('lists only regular files and deletes the other expired segments when the oldest name is a folder', async () => {
    const camDir = join(dir, 'rec5', 'gate');
    await mkdir(camDir, { recursive: true });
    const old = Date.now() - 30 * 86_400_000;
    await mkdir(join(camDir, `${old}-1000.mp4`)); // a folder with a segment's name, oldest of all
    for (let k = 1; k <= 3; k++) await writeFile(join(camDir, `${old + k * 1000}-1000.mp4`), 'x');
    expect((await listSegments(camDir, 'gate')).length).toBe(3);
    const r = await enforceRetention({ dirs: new Map([['gate', camDir]]), retainMs: 7 * 86_400_000, maxBytes: null });
    expect(r.expired.length).toBe(3);
    expect(r.failed).toEqual([]);
    expect((await readdir(camDir)).length).toBe(1); // only the folder
  });
});

/** Whether this machine lets the tests make a file that cannot be deleted (`chattr +i`: root with CAP_LINUX_IMMUTABLE). */
const immutable = ((): boolean => {
  const d = mkdtempSync(join(tmpdir(), 'lepton-immutable-'));
  const f = join(d, 'x');
  writeFileSync(f, 'x');
  try {
    execFileSync('chattr', ['+i', f], { stdio: 'ignore' });
    execFileSync('chattr', ['-i', f], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
})();

describe('5. retention failures are surfaced', () => {
  it.skipIf(!immutable)('a segment that cannot be deleted is skipped, the others are deleted, and the failure is in health, metrics and the log', { timeout: 30_000 }, async () => {
    const recDir = join(dir, 'rec5b');
    const cam = join(recDir, 'old-cam');
    await mkdir(cam, { recursive: true });
    const old = Date.now() - 30 * 86_400_000;
    const stuck = join(cam, `${old}-1000.mp4`);
    await writeFile(stuck, 'x');
    await writeFile(join(cam, `${old + 1000}-1000.mp4`), 'x');
    execFileSync('chattr', ['+i', stuck]);
    const logs: string[] = [];
    try {
      const r = await enforceRetention({ dirs: new Map([['old-cam', cam]]), retainMs: 86_400_000, maxBytes: null });
      // Node's rm reports the refused unlink of an immutable file as EPERM or ENOTDIR, by version.
      expect(r.failed.map((f) => f.path)).toEqual([stuck]);
      expect(r.failed[0]!.error).toMatch(/^E[A-Z]+$/);
      expect(r.expired.length).toBe(1);
      await writeFile(join(cam, `${old + 2000}-1000.mp4`), 'x');
      const service = await SurveillanceService.start(noCameras({ api: { auth: false, port: 0 }, output: { dir: join(dir, 'out5b') }, recording: { dir: recDir, retainDays: 1 } }), { log: (l) => logs.push(l) });
      try {
        await until(() => (service.health().retention?.errors ?? 0) >= 1, 10_000, 'the retention failure to be counted');
        expect(service.health().retention!.lastError).toMatch(/1 segment\(s\) could not be deleted \(old-cam\/\d+-1000\.mp4: E[A-Z]+\)/);
        expect(service.metrics()).toMatch(/lepton_surveillance_recording_retention_errors_total [1-9]/);
        expect(logs.some((l) => l.startsWith('retention: ') && l.includes('could not be deleted'))).toBe(true);
        expect(await readdir(cam)).toEqual([`${old}-1000.mp4`]); // the other expired segment was deleted
      } finally {
        await service.stop();
      }
    } finally {
      execFileSync('chattr', ['-i', stuck]);
    }
  });
});

describe('6. footage of cameras this process does not record still ages out', () => {
  it('deletes expired segments of a camera folder under recording.dir that no camera records now', { timeout: 30_000 }, async () => {
    const recDir = join(dir, 'rec6');
    const gone = join(recDir, 'removed-cam');
    await mkdir(gone, { recursive: true });
    const old = Date.now() - 30 * 86_400_000;
    await writeFile(join(gone, `${old}-60000.mp4`), 'x');
    await writeFile(join(gone, `${Date.now() - 60_000}-60000.mp4`), 'x'); // recent: kept
    const service = await SurveillanceService.start(noCameras({ api: { auth: false, port: 0 }, output: { dir: join(dir, 'out6') }, recording: { dir: recDir, retainDays: 7, maxBytes: 1000 } }));
    try {
      await until(async () => (await readdir(gone)).length === 1, 10_000, 'the expired segment to be deleted');
      expect((await readdir(gone))[0]).not.toContain(String(old));
      expect(service.health().retention).toEqual({ errors: 0, lastError: null });
    } finally {
      await service.stop();
    }
  });
});

describe('7. a failed deletion in the event store is counted, never a crash', () => {
  it('evicting an event whose snapshot path is a folder counts the failure; a load-time failure is EVENTS_READ_FAILED', async () => {
    const out = join(dir, 'out7');
    await mkdir(join(out, 'gate', 'sub'), { recursive: true });
    const store = await EventStore.open({ capacity: 1, persistPath: null, filesUnder: out });
    store.put({ ...stored(`gate-${ULID}`, 'gate', { hasSnapshot: true }), snapshotPath: join(out, 'gate', 'sub') });
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      store.put(stored('gate-01J9Z3K4V8QW5M6N7P8R9S0T1W', 'gate'));
      await until(() => store.deleteErrors === 1, 5000, 'the failed deletion to be counted');
      await sleep(100);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
    // Load: the file's folder cannot be made (a file is in the way).
    await writeFile(join(dir, 'not-a-folder'), 'x');
    expect(await code(EventStore.open({ capacity: 1, persistPath: join(dir, 'not-a-folder', 'events.jsonl') }))).toBe('EVENTS_READ_FAILED');
    // Load-time eviction of a file that is a folder: counted, the store opens.
    const file = join(out, 'events.jsonl');
    const lines = [stored(`gate-${ULID}`, 'gate', { hasSnapshot: true, startTime: 1000, endTime: 2000 }), stored('gate-01J9Z3K4V8QW5M6N7P8R9S0T1W', 'gate', { startTime: 3000, endTime: 4000 })];
    lines[0]!.snapshotPath = join(out, 'gate', 'sub');
    await writeFile(file, lines.map((e) => `${JSON.stringify({ v: 1, ...e })}\n`).join(''));
    const loaded = await EventStore.open({ capacity: 1, persistPath: file, filesUnder: out });
    expect(loaded.size).toBe(1);
    expect(loaded.deleteErrors).toBe(1);
  });
});

describe('8. an object clip is capped', () => {
  it('cuts at most maxClipSeconds (default 120) from before the object appeared, however long it stayed', async () => {
    expect(resolveServiceConfig(parseConfig({ api: { auth: false }, recording: {}, cameras: CAMS })).events.clips).toEqual({ before: 5, after: 5, maxSeconds: 120 });
    expect(resolveServiceConfig(parseConfig({ api: { auth: false }, recording: {}, events: { maxClipSeconds: 30 }, cameras: CAMS })).events.clips!.maxSeconds).toBe(30);
    expect(await code(() => parseConfig({ events: { maxClipSeconds: 0 }, cameras: CAMS }))).toBe('CONFIG_INVALID');
    const root = join(dir, 'case8');
    const camDir = join(root, 'rec', 'gate');
    await mkdir(camDir, { recursive: true });
    const end = Date.now() - 120_000;
    const start = end - 6 * 3600_000;
    for (let t = start - 60_000; t < end + 60_000; t += 60_000) await writeFile(join(camDir, `${t}-60000.mp4`), '');
    const log = join(root, 'calls.log');
    const fake = join(root, 'ffmpeg');
    await writeFile(fake, `#!/bin/bash\nfor a in "$@"; do if [ "$a" = "-version" ]; then echo "ffmpeg version 9.9-fake"; exit 0; fi; done\necho "$*" >> ${log}\nlast="\${@: -1}"; case "$last" in -*) ;; *) : > "$last" ;; esac\nexit 0\n`);
    await chmod(fake, 0o755);
    const store = await EventStore.open({ capacity: 10, persistPath: null });
    const id = `gate-${ULID}`;
    store.put({ ...stored(id, 'gate', { startTime: start, endTime: end }), clip: 'pending' });
    const before = process.env.LEPTON_FFMPEG;
    process.env.LEPTON_FFMPEG = fake;
    try {
      const q = new ClipQueue({ outputDir: join(root, 'out'), recorders: new Map([['gate', { dir: camDir, stats: { state: 'recording' } } as unknown as Recorder]]), store, margins: { before: 5, after: 5, maxSeconds: 120 }, segmentSeconds: 60, counts: { ready: 0, failed: 0 }, log: () => undefined });
      q.add(store.get(id)!.object);
      await q.idle();
      q.close();
    } finally {
      if (before === undefined) delete process.env.LEPTON_FFMPEG;
      else process.env.LEPTON_FFMPEG = before;
    }
    const calls = readFileSync(log, 'utf8').trim().split('\n');
    const cut = calls.find((c) => c.includes(' -t '))!;
    expect(Number(/ -t ([\d.]+)/.exec(cut)![1])).toBeLessThanOrEqual(120);
    const joined = calls.find((c) => c.includes('-f concat'))!;
    expect(joined).toContain('/.tmp/');
  });
});

describe('9. every reader of service.events() is its own, bounded, and can stop', () => {
  it('a reader queue drops its oldest past the capacity (counted) and detaches on return()', async () => {
    let detached = 0;
    const q = new AsyncQueue<number>({ capacity: 3, onReturn: () => detached++ });
    for (let k = 0; k < 5; k++) q.push(k);
    expect(q.dropped).toBe(2);
    for await (const v of q) {
      expect(v).toBe(2); // the oldest kept
      break; // return(): detaches
    }
    expect(detached).toBe(1);
    q.push(9);
    expect(await q.next()).toEqual({ value: undefined, done: true });
  });

  it('two readers of one service each end when it stops; each call is a new stream with return()', { timeout: 30_000 }, async () => {
    const service = await SurveillanceService.start(noCameras({ api: { auth: false, port: 0 }, output: { dir: join(dir, 'out9') } }));
    const a = service.events();
    const b = service.events();
    expect(a).not.toBe(b);
    expect(typeof a.return).toBe('function');
    const readA = (async () => {
      for await (const _ of a) void _;
      return 'a ended';
    })();
    const readB = (async () => {
      for await (const _ of b) void _;
      return 'b ended';
    })();
    await sleep(50);
    await service.stop();
    const timeout = sleep(3000).then(() => 'timed out');
    expect(await Promise.race([Promise.all([readA, readB]), timeout])).toEqual(['a ended', 'b ended']);
    expect(service.health().events.streamDropped).toBe(0);
  });
});

describe('10. a signal during the start stops what was started', () => {
  it('SIGTERM while the detector loads: exit 0, no ffmpeg of the recorder left running', { timeout: 90_000 }, async () => {
    const root = join(dir, 'case10');
    await mkdir(root, { recursive: true });
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=10:duration=20', ...X264, join(root, 'cam.mp4')]);
    const yaml = join(root, 'cameras.yaml');
    await writeFile(yaml, ['api: { auth: false, port: 0 }', 'output: { dir: out, annotatedVideo: false }', 'recording: { dir: rec, segmentSeconds: 1 }', 'cameras:', '  - { name: cam, input: cam.mp4, realtime: true, width: 160, height: 90 }', ''].join('\n'));
    const recorders = (): string[] => {
      const pids: string[] = [];
      for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
        let cmd = '';
        try {
          cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        } catch {
          continue;
        }
        if (cmd.includes('ffmpeg') && cmd.includes(join(root, 'rec'))) pids.push(pid);
      }
      return pids;
    };
    const run = startCli(['run', yaml]);
    // The recorders start before the detector is loaded (a second or more): the signal lands inside the start.
    await until(() => recorders().length > 0, 30_000, "the recorder's ffmpeg to start");
    run.child.kill('SIGTERM');
    const exit = await Promise.race([run.exited, sleep(60_000).then(() => ({ code: -1, signal: null }))]);
    expect(exit, run.stderr()).toEqual({ code: 0, signal: null });
    // No ffmpeg still writing into this recording folder.
    const orphans = recorders();
    for (const pid of orphans) process.kill(Number(pid), 'SIGKILL');
    expect(orphans).toEqual([]);
  });
});

describe('11. without a token, only this machine is served', () => {
  it('refuses a foreign Host (DNS rebinding) or Origin with 403 in the error shape, on the open API and on an open /metrics', async () => {
    const store = await EventStore.open({ capacity: 10, persistPath: null });
    const sources = { store, health: () => ({ ok: 1 }), counts: () => ({}), metrics: () => 'm 1\n' };
    const open = await startApi(sources, { host: '127.0.0.1', port: 0, token: null, metricsAuth: true, requestTimeoutMs: 5000 });
    const port = new URL(open.url).port;
    try {
      expect((await get(`${open.url}/api/health`)).status).toBe(200);
      expect((await get(`${open.url}/api/health`, { host: `localhost:${port}` })).status).toBe(200);
      const evil = await get(`${open.url}/api/health`, { host: 'rebind.evil.example' });
      expect(evil.status).toBe(403);
      expect(JSON.parse(evil.body).error.code).toBe('FORBIDDEN');
      expect((await get(`${open.url}/api/health`, { origin: 'https://evil.example' })).status).toBe(403);
      expect((await get(`${open.url}/api/health`, { origin: `http://localhost:${port}` })).status).toBe(200);
    } finally {
      await open.close();
    }
    const metricsOpen = await startApi(sources, { host: '127.0.0.1', port: 0, token: 'a-token-of-16-chars-or-more', metricsAuth: false, requestTimeoutMs: 5000 });
    try {
      expect((await get(`${metricsOpen.url}/metrics`)).status).toBe(200);
      expect((await get(`${metricsOpen.url}/metrics`, { host: 'rebind.evil.example' })).status).toBe(403);
    } finally {
      await metricsOpen.close();
    }
  });
});

describe('12. tokens that can be sent', () => {
  it('refuses a token with a space or a non-ASCII character, in the file and in the environment', async () => {
    expect(await code(() => parseConfig({ api: { token: 'correct horse battery staple' }, cameras: CAMS }))).toBe('CONFIG_INVALID');
    expect(await code(() => parseConfig({ api: { token: 'pässwörd-pässwörd-1' }, cameras: CAMS }))).toBe('CONFIG_INVALID');
    const config = parseConfig({ cameras: CAMS });
    const err = (() => {
      try {
        resolveServiceConfig(config, { env: { LEPTON_SURVEILLANCE_TOKEN: 'correct horse battery staple' } });
        return undefined;
      } catch (e) {
        return e as { code: string; message: string };
      }
    })();
    expect(err?.code).toBe('CONFIG_INVALID');
    expect(err?.message).not.toContain('horse'); // the token is never quoted
    expect(resolveServiceConfig(config, { env: { LEPTON_SURVEILLANCE_TOKEN: 'abcdefghijklmnop~!' } }).api.token).toBe('abcdefghijklmnop~!');
  });
});

describe('13. ObjectLifecycle.update checks its input', () => {
  const frame = (over: Partial<Frame> = {}): Frame => ({ camera: 'gate', data: new Uint8Array(4 * 4 * 3), width: 4, height: 4, time: 1, wallTime: Date.now(), index: 0, sourceIndex: 0, ...over }) as Frame;
  const track = (over: Partial<Track> = {}): Track => ({ id: 1, label: 'person', box: { x: 0, y: 0, width: 2, height: 2 }, score: 0.9, hits: 3, misses: 0, age: 3, confirmed: true, velocity: { x: 0, y: 0 }, ...over }) as unknown as Track;

  it('refuses a frame without finite times and tracks or events that are not arrays; skips and counts malformed tracks', async () => {
    const life = new ObjectLifecycle('gate', { snapshots: false });
    expect(await code(() => life.update(frame({ wallTime: Number.NaN }), [], []))).toBe('INVALID_ARGUMENT');
    expect(await code(() => life.update(frame({ wallTime: undefined as unknown as number }), [], []))).toBe('INVALID_ARGUMENT');
    expect(await code(() => life.update(frame({ time: 'abc' as unknown as number }), [], []))).toBe('INVALID_ARGUMENT');
    expect(await code(() => life.update(frame(), null as unknown as Track[], []))).toBe('INVALID_ARGUMENT');
    expect(await code(() => life.update(frame(), [], null as unknown as []))).toBe('INVALID_ARGUMENT');
    const out = life.update(frame(), [track({ score: Number.NaN }), null as unknown as Track, track({ id: 2 })], []);
    expect(out.map((o) => [o.event.type, o.event.after.trackId])).toEqual([['new', 2]]);
    expect(life.rejected).toBe(2);
    expect(out[0]!.event.after.id).toMatch(/^gate-[0-9A-HJKMNP-TV-Z]{26}$/);
  });
});

describe('14. enforceRetention checks its options', () => {
  it('refuses NaN, missing or negative retainMs, a NaN maxBytes, a negative openBytes, and dirs that are not a Map', async () => {
    const dirs = new Map([['gate', join(dir, 'nothing')]]);
    for (const o of [{ dirs, retainMs: Number.NaN, maxBytes: null }, { dirs, maxBytes: null }, { dirs, retainMs: -1, maxBytes: null }, { dirs, retainMs: 1000, maxBytes: Number.NaN }, { dirs, retainMs: 1000, maxBytes: null, openBytes: -5 }, { dirs: { gate: 'x' }, retainMs: 1000, maxBytes: null }]) {
      expect(await code(enforceRetention(o as never)), JSON.stringify(o)).toBe('INVALID_ARGUMENT');
    }
    expect((await enforceRetention({ dirs, retainMs: 1000, maxBytes: null })).segments).toBe(0);
  });
});

describe('15. renderMetrics checks types and samples', () => {
  it('refuses a type other than counter or gauge and samples that are not an array of { value }', async () => {
    expect(await code(() => renderMetrics([{ name: 'x_total', help: 'h', type: 'counter\nadmin_password_total 1' as 'counter', samples: [{ value: 1 }] }]))).toBe('INVALID_ARGUMENT');
    expect(await code(() => renderMetrics([{ name: 'x_total', help: 'h', type: 'counter', samples: undefined as never }]))).toBe('INVALID_ARGUMENT');
    expect(await code(() => renderMetrics([{ name: 'x_total', help: 'h', type: 'counter', samples: [null as never] }]))).toBe('INVALID_ARGUMENT');
    expect(await code(() => renderMetrics(null as never))).toBe('INVALID_ARGUMENT');
    expect(renderMetrics([{ name: 'x_total', help: 'h', type: 'counter', samples: [{ value: 1 }] }])).toBe('# HELP x_total h\n# TYPE x_total counter\nx_total 1\n');
  });
});

describe('16. router errors in the documented shape, after the token check', () => {
  it('answers a bad URL and a too-long parameter with 401 without the token, and { error: { code, message } } with it', async () => {
    const store = await EventStore.open({ capacity: 10, persistPath: null });
    const token = 'a-token-of-16-chars-or-more';
    const api = await startApi({ store, health: () => ({}), counts: () => ({}), metrics: () => '' }, { host: '127.0.0.1', port: 0, token, metricsAuth: true, requestTimeoutMs: 5000 });
    try {
      for (const path of ['/api/events/%E0%A4%A', `/api/events/${'x'.repeat(300)}`]) {
        const anon = await get(`${api.url}${path}`);
        expect(anon.status, path).toBe(401);
        expect(JSON.parse(anon.body).error.code).toBe('UNAUTHORIZED');
        const authed = await get(`${api.url}${path}`, { authorization: `Bearer ${token}` });
        expect([400, 414]).toContain(authed.status);
        expect(JSON.parse(authed.body)).toEqual({ error: { code: 'BAD_REQUEST', message: expect.any(String) } });
      }
    } finally {
      await api.close();
    }
  });
});

describe('4 and 9 with a real camera: failed events are counted; a reader that breaks is detached, the others go on', () => {
  it('counts the messages the service could not handle in health and metrics, and serves every reader of events()', { timeout: 120_000 }, async () => {
    await initRuntime({ backend: 'wasm' }, {});
    const root = join(dir, 'real');
    await mkdir(root, { recursive: true });
    const here = dirname(fileURLToPath(import.meta.url));
    await ffmpeg(['-loop', '1', '-framerate', '5', '-i', join(here, 'fixtures', 'images', 'astronaut.jpg'), '-t', '2', '-vf', 'scale=200:200,pad=256:256:28:0', ...X264, join(root, 'person.mp4')]);
    const detector = await ObjectDetector.load();
    const config = (out: string, realtime = false): ReturnType<typeof parseConfig> =>
      parseConfig({ api: { auth: false, port: 0 }, output: { dir: out, clips: null, annotatedVideo: false }, cameras: [{ name: 'door', input: join(root, 'person.mp4'), fps: 5, width: 256, height: 256, realtime }] });
    try {
      // Two readers: A stops after its first message, B reads everything.
      const service = await SurveillanceService.start(config(join(root, 'out-a')), { detector });
      const a: ObjectEvent[] = [];
      const b: ObjectEvent[] = [];
      const readA = (async () => {
        for await (const e of service.events()) {
          a.push(e);
          break;
        }
      })();
      const readB = (async () => {
        for await (const e of service.events()) b.push(e);
      })();
      await service.done;
      await Promise.all([readA, readB]);
      expect(a.length).toBe(1);
      expect(b.map((e) => e.type)).toContain('new');
      expect(b.map((e) => e.type)).toContain('end');
      expect(b[0]).toEqual(a[0]);
      expect(service.health().events.failed).toBe(0);
      // The camera's snapshot folder cannot be made (a file is in the way): its events fail, are counted, and the
      // service goes on to the end.
      // An output folder so deep that the camera's folder can be made but no snapshot in it (past PATH_MAX, 4096).
      let out = join(root, 'out-b');
      while (out.length + '/door'.length < 4070 - 201) out = join(out, 'd'.repeat(200));
      out = join(out, 'e'.repeat(4070 - out.length - '/door'.length - 1));
      expect(join(out, 'door').length).toBe(4070);
      const broken = await SurveillanceService.start(config(out), { detector });
      const report = await broken.done;
      expect(report.reason).toBe('cameras-ended');
      expect(report.error).toBeUndefined();
      expect(report.pipeline!.cameras[0]!.frames).toBe(10);
      const failed = broken.health().events.failed;
      expect(failed).toBeGreaterThanOrEqual(1);
      expect(broken.metrics()).toContain(`lepton_surveillance_events_failed_total ${failed}`);
    } finally {
      detector.dispose();
    }
  });
});
