import { createRequire } from 'node:module';
import { arch, availableParallelism, cpus, freemem, platform, totalmem } from 'node:os';
import { DEFAULT_MEMORY_PER_WORKER_BYTES, describeValue, LeptonError, resolveWorkerCount } from '@lepton/core';
import { checkDicomweb } from './dicomweb.js';
import { checkFfmpeg } from './ffmpeg.js';
import { probeGpu } from './gpu.js';
import { checkMqtt } from './mqtt.js';
import { checkRedis } from './redis.js';
import { runtimeSection } from './runtime.js';
import { parseServiceUrl, SERVICES, type ServiceName } from './services.js';
import type { DoctorOptions, DoctorReport, ServiceCheck, ThreadsSection } from './types.js';

/** Longest timer Node honours (a longer one fires after 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The environment variables the doctor reads itself (LEPTON_BACKEND goes to core, which checks it). */
const ENV_READ = [...Object.values(SERVICES).map((s) => s.env), 'LEPTON_FFMPEG'];

/** libuv's pool size as the environment sets it (a positive whole number, read as Node does), else its default 4. */
function uvThreads(value: unknown): number {
  const n = typeof value === 'string' ? Number(value) : NaN;
  return Number.isInteger(n) && n > 0 ? n : 4;
}

function version(spec: string): string {
  try {
    return (createRequire(import.meta.url)(spec) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

async function checkService(
  name: ServiceName,
  value: string | undefined,
  env: Record<string, string | undefined>,
  timeoutMs: number,
): Promise<ServiceCheck> {
  const spec = SERVICES[name];
  const fromEnv = env[spec.env]?.trim();
  const text = value ?? (fromEnv === '' ? undefined : fromEnv);
  const source = value !== undefined ? 'flag' : 'env';
  if (text === undefined) {
    return { name, status: 'not-configured', ok: true, required: false, detail: `not configured: pass --${name} ${spec.example} or set ${spec.env}` };
  }
  const url = parseServiceUrl(name, text);
  if (typeof url === 'string') {
    if (source === 'flag') throw new LeptonError('INVALID_ARGUMENT', `The ${name} URL ${url}.`);
    return { name, status: 'error', ok: false, required: true, source, detail: `${spec.env} ${url}`, fix: `correct ${spec.env}` };
  }
  if (name === 'redis') return checkRedis(url, source, timeoutMs);
  if (name === 'mqtt') return checkMqtt(url, source, timeoutMs);
  return checkDicomweb(url, source, timeoutMs);
}

/**
 * Checks what a Lepton application will run on: initialises the runtime as an application does and explains every
 * backend it skipped (with the fix), probes the WebGPU adapter in a child process, reports CPU threads and the
 * worker-pool size `workers: 'auto'` would pick, finds ffmpeg, and — where configured by option or environment
 * (`LEPTON_REDIS_URL`, `LEPTON_MQTT_URL`, `LEPTON_DICOMWEB_URL`) — checks that Redis answers PING, the MQTT broker
 * accepts a CONNECT and the DICOMweb server answers a study search. Credentials in URLs are used, never reported.
 *
 * @param options - backend to ask for, services to check, timeout, environment
 * @returns the report; `ok` is false when no backend started or a configured check failed
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a service URL option that is not a URL of its kind (or whose
 *   user name or password has a malformed percent-encoding; the message never quotes them), options
 *   or `env` that are not objects (or an `env` variable the doctor reads that is not a string), a `timeoutMs` that is not
 *   a positive number of milliseconds up to 2 147 483 647, a `gpu` that is not a boolean, or an empty `cwd`
 * @example
 * ```ts
 * import { doctor } from '@lepton/cli';
 * const report = await doctor({ gpu: false });
 * console.log(report.runtime.backend, report.backends.map((b) => `${b.name}:${b.status}`).join(' '));
 * ```
 */
export async function doctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  if (typeof options !== 'object' || options === null) throw new LeptonError('INVALID_ARGUMENT', `doctor: options must be an object, got ${describeValue(options)}.`);
  const env = options.env ?? process.env;
  if (typeof env !== 'object' || env === null) throw new LeptonError('INVALID_ARGUMENT', `doctor: env must be an object of environment variables, got ${describeValue(env)}.`);
  // The variables the doctor reads are text (as in process.env): a number or object there would fail deep in a check.
  for (const name of ENV_READ) {
    const v = env[name];
    if (v !== undefined && typeof v !== 'string') throw new LeptonError('INVALID_ARGUMENT', `doctor: env.${name} must be a string, got ${describeValue(v)}.`);
  }
  const timeoutMs = options.timeoutMs ?? 3000;
  // At most MAX_TIMER_MS: Node cuts a longer timer to 1 ms, and every check would time out at once.
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_TIMER_MS) {
    throw new LeptonError('INVALID_ARGUMENT', `timeoutMs must be a positive number of milliseconds, at most ${MAX_TIMER_MS}.`);
  }
  if (options.gpu !== undefined && typeof options.gpu !== 'boolean') throw new LeptonError('INVALID_ARGUMENT', `doctor: gpu must be true or false, got ${describeValue(options.gpu)}.`);
  const cwd = options.cwd ?? process.cwd();
  if (typeof cwd !== 'string' || cwd === '') throw new LeptonError('INVALID_ARGUMENT', `doctor: cwd must be a directory path, got ${describeValue(cwd)}.`);
  // Bad URL options are refused before anything slow starts. (A bad URL from the environment is reported as that
  // service's failed check instead, and the rest of the report is still produced.)
  for (const name of Object.keys(SERVICES) as ServiceName[]) {
    const value = options[name];
    if (value !== undefined && typeof parseServiceUrl(name, value) === 'string') {
      throw new LeptonError('INVALID_ARGUMENT', `The ${name} URL ${parseServiceUrl(name, value) as string}.`);
    }
  }
  // The GPU probe and the service checks run in other processes or on sockets: start them alongside the runtime.
  const [{ runtime, backends }, gpu, services] = await Promise.all([
    runtimeSection(options.backend, env),
    options.gpu === false ? Promise.resolve({ status: 'skipped' as const }) : probeGpu(),
    Promise.all([
      checkFfmpeg(env, cwd, Math.max(timeoutMs, 10_000)),
      ...(Object.keys(SERVICES) as ServiceName[]).map((name) => checkService(name, options[name], env, timeoutMs)),
    ]),
  ]);
  const threads: ThreadsSection = {
    availableParallelism: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() || 'unknown',
    autoWorkers: resolveWorkerCount('auto'),
    memoryPerWorkerBytes: DEFAULT_MEMORY_PER_WORKER_BYTES,
    freeMemoryBytes: freemem(),
    totalMemoryBytes: totalmem(),
    uvThreadpoolSize: uvThreads(env['UV_THREADPOOL_SIZE']),
  };
  if (runtime.threads !== undefined) threads.backendThreads = runtime.threads;
  return {
    ok: runtime.ok && services.every((s) => s.ok || !s.required),
    versions: { cli: version('../../package.json'), core: version('@lepton/core/package.json'), node: process.version, platform: platform(), arch: arch() },
    runtime,
    backends,
    gpu,
    threads,
    services,
  };
}
