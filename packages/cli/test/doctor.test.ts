import { execFile } from 'node:child_process';
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lepton, PACKAGE_DIR } from './support/cli.js';
import { available, freePort, startMosquitto, startRedis, type TestServer } from './support/servers.js';

const run = promisify(execFile);
const BACKENDS = ['tensorflow', 'webgpu', 'wasm', 'cpu'];
// Outside CI a developer without Debian's redis-server / mosquitto sees these skipped (and why); in CI they must run.
const noRedis = !available('redis-server') && !process.env['CI'];
const noMosquitto = !available('mosquitto', ['-h']) && !process.env['CI'];
if (noRedis) console.warn('doctor redis tests skipped: install redis-server (apt-get install -y redis-server) to run them');
if (noMosquitto) console.warn('doctor mqtt test skipped: install mosquitto (apt-get install -y mosquitto) to run it');

/** Services in the report by name. */
const service = (json: Record<string, any>, name: string): Record<string, any> => json['services'].find((s: { name: string }) => s.name === name);

describe('lepton doctor: runtime', () => {
  it('--json reports the backend initRuntime() chooses, why each other one was skipped, the GPU, threads and services', async () => {
    const r = await lepton(['doctor', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const d = r.json!;
    expect(d).toMatchObject({ command: 'doctor', ok: true, versions: { cli: expect.any(String), core: expect.any(String), node: process.version } });
    // The same choice an application makes: ask initRuntime() in another process, from this package.
    const script = "import { initRuntime } from '@lepton/core'; const i = await initRuntime(); console.log(JSON.stringify({ backend: i.backend, attempts: i.attempts }));";
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: PACKAGE_DIR, env: { ...process.env, LEPTON_BACKEND: '' } });
    const app = JSON.parse(stdout.trim().split('\n').at(-1)!) as { backend: string; attempts: Array<{ backend: string; ok: boolean }> };
    expect(d['runtime']).toMatchObject({ ok: true, preference: 'auto', preferenceSource: 'default', backend: app.backend, device: expect.any(String), threads: expect.any(Number) });
    expect(BACKENDS).toContain(d['runtime'].backend);
    const backends = d['backends'] as Array<Record<string, any>>;
    expect(backends.map((b) => b.name)).toEqual(expect.arrayContaining(BACKENDS));
    expect(backends.filter((b) => b.status === 'selected').map((b) => b.name)).toEqual([app.backend]);
    for (const a of app.attempts.filter((x) => !x.ok)) {
      const b = backends.find((x) => x.name === a.backend)!;
      expect(b.status).toBe('skipped');
      expect(b.reason).toEqual(expect.any(String));
      expect(b.reason.length).toBeGreaterThan(5);
    }
    // Backends after the chosen one were never tried, and the report says so.
    const after = backends.slice(backends.findIndex((b) => b.status === 'selected') + 1);
    for (const b of after) expect(b).toMatchObject({ status: 'not-tried', reason: `${app.backend} was chosen first` });
    expect(['adapter', 'no-adapter', 'not-installed', 'error']).toContain(d['gpu'].status);
    if (d['gpu'].status === 'adapter') expect(typeof d['gpu'].software).toBe('boolean');
    expect(d['threads']).toMatchObject({ availableParallelism: availableParallelism(), autoWorkers: expect.any(Number), memoryPerWorkerBytes: 256 * 1024 * 1024 });
    expect(d['threads'].autoWorkers).toBeGreaterThanOrEqual(1);
    expect(d['services'].map((s: { name: string }) => s.name)).toEqual(['ffmpeg', 'redis', 'mqtt', 'dicomweb']);
    for (const name of ['redis', 'mqtt', 'dicomweb']) expect(service(d, name)).toMatchObject({ status: 'not-configured', ok: true, required: false });
  });

  it('says when LEPTON_BACKEND or --backend forced the choice, and why the others were not tried', async () => {
    const env = await lepton(['doctor', '--json', '--no-gpu'], { env: { LEPTON_BACKEND: 'cpu' } });
    expect(env.code, env.stderr).toBe(0);
    expect(env.json!['runtime']).toMatchObject({ backend: 'cpu', preference: 'cpu', preferenceSource: 'env', device: 'JavaScript (CPU)' });
    for (const b of env.json!['backends'].filter((x: { name: string }) => x.name !== 'cpu')) expect(b).toMatchObject({ status: 'not-tried', reason: 'LEPTON_BACKEND=cpu forces cpu' });
    expect(env.json!['gpu']).toEqual({ status: 'skipped' });

    const flag = await lepton(['doctor', '--backend', 'cpu']);
    expect(flag.code, flag.stderr).toBe(0);
    expect(flag.stdout).toMatch(/^Backend: cpu on JavaScript \(CPU\) .*forced by --backend$/m);
    expect(flag.stdout).toMatch(/\[skip\] wasm +not-tried: --backend cpu forces cpu/);
    expect(flag.stdout).toMatch(/^OK: /m);
  });

  it('fails (exit 1) with the runtime error when no backend can start', async () => {
    const r = await lepton(['doctor', '--json', '--no-gpu'], { env: { LEPTON_BACKEND: 'quantum' } });
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ ok: false, runtime: { ok: false, error: { code: 'INVALID_ARGUMENT', message: expect.stringContaining("Unknown backend 'quantum'") } } });
    const human = await lepton(['doctor', '--no-gpu'], { env: { LEPTON_BACKEND: 'quantum' } });
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^Backend: none started \(INVALID_ARGUMENT\)/m);
    expect(human.stdout).toMatch(/^FAILED: 1 problem/m);
  });

  it('fails when LEPTON_FFMPEG names a binary that does not run (a missing ffmpeg nobody asked for only warns)', async () => {
    const r = await lepton(['doctor', '--json', '--no-gpu'], { env: { LEPTON_BACKEND: 'cpu', LEPTON_FFMPEG: '/nonexistent/ffmpeg' } });
    expect(r.code).toBe(1);
    expect(service(r.json!, 'ffmpeg')).toMatchObject({ status: 'missing', ok: false, required: true, source: 'env', fix: expect.stringContaining('LEPTON_FFMPEG') });
  });
});

describe.skipIf(noRedis)('lepton doctor: Redis', () => {
  let open: TestServer;
  let locked: TestServer;
  beforeAll(async () => {
    [open, locked] = await Promise.all([startRedis(), startRedis('hunter2-sesame')]);
  });
  afterAll(async () => Promise.all([open?.stop(), locked?.stop()]));

  it('passes when a real redis-server answers PING', async () => {
    const r = await lepton(['doctor', '--json', '--no-gpu', '--redis', `redis://127.0.0.1:${open.port}`], { env: { LEPTON_BACKEND: 'cpu' } });
    expect(r.code, r.stdout).toBe(0);
    expect(service(r.json!, 'redis')).toMatchObject({ status: 'ok', ok: true, required: true, source: 'flag', target: `redis://127.0.0.1:${open.port}`, detail: 'PONG', latencyMs: expect.any(Number) });
  });

  it('reads LEPTON_REDIS_URL, authenticates with the password in the URL and never prints it', async () => {
    const url = `redis://:hunter2-sesame@127.0.0.1:${locked.port}`;
    const r = await lepton(['doctor', '--no-gpu'], { env: { LEPTON_BACKEND: 'cpu', LEPTON_REDIS_URL: url } });
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`\\[ok\\] +redis +redis://:\\*\\*\\*@127\\.0\\.0\\.1:${locked.port} PONG in \\d+ ms \\(from LEPTON_REDIS_URL\\)`));
    expect(`${r.stdout}${r.stderr}`).not.toContain('hunter2');
  });

  it('says when Redis wants a password, or refuses the one given (exit 1)', async () => {
    const none = await lepton(['doctor', '--json', '--no-gpu', '--redis', `redis://127.0.0.1:${locked.port}`], { env: { LEPTON_BACKEND: 'cpu' } });
    expect(none.code).toBe(1);
    expect(service(none.json!, 'redis')).toMatchObject({ status: 'refused', ok: false, detail: 'Redis wants a password', fix: expect.stringContaining('redis://:password@') });
    const wrong = await lepton(['doctor', '--json', '--no-gpu', '--redis', `redis://app:wrong-pass@127.0.0.1:${locked.port}`], { env: { LEPTON_BACKEND: 'cpu' } });
    expect(wrong.code).toBe(1);
    expect(service(wrong.json!, 'redis')).toMatchObject({ status: 'refused', target: `redis://***:***@127.0.0.1:${locked.port}` });
    expect(wrong.stdout).not.toContain('wrong-pass');
  });
});

describe('lepton doctor: unreachable and silent services', () => {
  let silent: NetServer;
  let silentPort: number;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    // Accepts connections and never says a word: a firewall black hole or the wrong kind of server.
    silent = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    silentPort = (silent.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  });

  it('reports a refused connection on a port nobody listens on, with a fix, and fails', async () => {
    const port = await freePort();
    const r = await lepton(['doctor', '--no-gpu', '--redis', `redis://user:topsecret@127.0.0.1:${port}`], { env: { LEPTON_BACKEND: 'cpu' } });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`\\[fail\\] redis +redis://\\*\\*\\*:\\*\\*\\*@127\\.0\\.0\\.1:${port} unreachable: ECONNREFUSED \\(from --redis\\)`));
    expect(r.stdout).toMatch(/fix: nothing listens there: start redis-server/);
    expect(r.stdout).not.toContain('topsecret');
    expect(r.stdout).toMatch(/^FAILED: 1 problem/m);
  });

  it('gives up after --timeout on a server that never answers', async () => {
    const started = Date.now();
    const r = await lepton(['doctor', '--json', '--no-gpu', '--timeout', '400', '--redis', `redis://127.0.0.1:${silentPort}`, '--mqtt', `mqtt://127.0.0.1:${silentPort}`], {
      env: { LEPTON_BACKEND: 'cpu' },
    });
    expect(r.code).toBe(1);
    for (const name of ['redis', 'mqtt']) expect(service(r.json!, name)).toMatchObject({ status: 'unreachable', ok: false, detail: 'no answer within 400 ms' });
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});

describe.skipIf(noMosquitto)('lepton doctor: MQTT', () => {
  let broker: TestServer;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(async () => broker?.stop());

  it('passes when a real mosquitto accepts the CONNECT', async () => {
    const r = await lepton(['doctor', '--json', '--no-gpu'], { env: { LEPTON_BACKEND: 'cpu', LEPTON_MQTT_URL: `mqtt://127.0.0.1:${broker.port}` } });
    expect(r.code, r.stdout).toBe(0);
    expect(service(r.json!, 'mqtt')).toMatchObject({ status: 'ok', source: 'env', detail: 'CONNACK accepted' });
  });
});

describe('lepton doctor: DICOMweb', () => {
  // A loopback HTTP server speaking the one QIDO-RS request the doctor sends (Orthanc itself is tested by
  // @lepton/medical): Basic auth required, `[]` as application/dicom+json under /dicom-web/studies.
  let server: Server;
  let port: number;
  const seen: Array<{ url: string; headers: IncomingHttpHeaders }> = [];
  beforeAll(async () => {
    server = createHttpServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      if (req.headers.authorization !== `Basic ${Buffer.from('orthanc:pacs-pw').toString('base64')}`) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="pacs"' }).end();
      } else if (req.url?.startsWith('/dicom-web/studies?')) {
        res.writeHead(200, { 'content-type': 'application/dicom+json' }).end('[]');
      } else {
        res.writeHead(404).end('not found');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => new Promise((r) => server.close(r)));

  it('sends one study search with the URL credentials as Basic auth and passes on a DICOM JSON answer', async () => {
    seen.length = 0;
    const r = await lepton(['doctor', '--json', '--no-gpu', '--dicomweb', `http://orthanc:pacs-pw@127.0.0.1:${port}/dicom-web`], { env: { LEPTON_BACKEND: 'cpu' } });
    expect(r.code, r.stdout).toBe(0);
    expect(service(r.json!, 'dicomweb')).toMatchObject({ status: 'ok', target: `http://***:***@127.0.0.1:${port}/dicom-web`, detail: 'HTTP 200: QIDO-RS answered' });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.url).toBe('/dicom-web/studies?limit=1');
    expect(seen[0]!.headers.accept).toContain('application/dicom+json');
    expect(r.stdout).not.toContain('pacs-pw');
  });

  it('fails with refused credentials (401) and with a URL that is not the DICOMweb root (404)', async () => {
    const bad = await lepton(['doctor', '--json', '--no-gpu', '--dicomweb', `http://127.0.0.1:${port}/dicom-web`], { env: { LEPTON_BACKEND: 'cpu' } });
    expect(bad.code).toBe(1);
    expect(service(bad.json!, 'dicomweb')).toMatchObject({ status: 'refused', detail: 'HTTP 401: the server wants other credentials' });
    const root = await lepton(['doctor', '--json', '--no-gpu', '--dicomweb', `http://orthanc:pacs-pw@127.0.0.1:${port}/`], { env: { LEPTON_BACKEND: 'cpu' } });
    expect(root.code).toBe(1);
    expect(service(root.json!, 'dicomweb')).toMatchObject({ status: 'error', detail: 'HTTP 404', fix: expect.stringContaining('/dicom-web') });
  });
});

describe('lepton doctor: usage errors (exit 2)', () => {
  it.each([
    [['--redis', 'not a url'], /--redis is not a URL/],
    [['--redis', 'http://127.0.0.1:6379'], /--redis has scheme 'http:', expected redis:\/\/ or rediss:\/\//],
    [['--dicomweb', 'redis://x:1'], /--dicomweb has scheme 'redis:'/],
    [['--backend', 'quantum'], /--backend must be one of auto, tensorflow, webgpu, wasm, cpu/],
    [['--timeout', 'soon'], /--timeout must be an integer ≥ 1/],
    [['--frobnicate'], /Unknown option '--frobnicate'/],
    [['extra'], /Unexpected argument 'extra'/],
  ])('doctor %j', async (args, message) => {
    const r = await lepton(['doctor', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/Run 'lepton doctor --help' for usage\./);
    expect(r.stdout).toBe('');
  });

  it('never echoes a malformed URL (it may hold a password)', async () => {
    const r = await lepton(['doctor', '--json', '--redis', 'redis//admin:s3cr3t@host']);
    expect(r.code).toBe(2);
    expect(r.json).toMatchObject({ ok: false, error: { code: 'CLI_USAGE' } });
    expect(r.stdout).not.toContain('s3cr3t');
  });
});
