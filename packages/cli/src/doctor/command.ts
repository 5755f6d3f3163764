import type { BackendPreference } from '@lepton/core';
import { integerFlag, stringFlag, type CommandSpec } from '../internal/command.js';
import { usageError } from '../internal/errors.js';
import { formatBytes, tag } from '../internal/format.js';
import { parseServiceUrl, SERVICES, type ServiceName } from './services.js';
import type { DoctorOptions, DoctorReport } from './types.js';

const BACKENDS = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

/** Longest --timeout: Node cuts a longer timer to 1 ms, so every check would time out at once. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

function human(r: DoctorReport): string {
  const out: string[] = [];
  const v = r.versions;
  out.push(`lepton doctor: @lepton/cli ${v.cli}, @lepton/core ${v.core}, Node.js ${v.node} ${v.platform}/${v.arch}`, '');
  const rt = r.runtime;
  const how = rt.preference === 'auto' ? 'chosen automatically' : `forced by ${rt.preferenceSource === 'env' ? 'LEPTON_BACKEND' : '--backend'}`;
  out.push(
    rt.ok
      ? `Backend: ${rt.backend} on ${rt.device} (${rt.threads} thread${rt.threads === 1 ? '' : 's'}, TensorFlow.js ${rt.tfjsVersion}), ${how}`
      : `Backend: none started (${rt.error?.code}): ${rt.error?.message}`,
  );
  for (const b of r.backends) {
    const t = b.status === 'selected' ? 'ok' : b.status === 'skipped' ? 'warn' : 'skip';
    const installed = b.installed === undefined ? '' : b.installed ? '' : ' (not installed)';
    out.push(`  ${tag(t)}${b.name.padEnd(11)} ${b.status}${installed}${b.reason ? `: ${b.reason}` : ''}`);
    if (b.fix) out.push(`  ${' '.repeat(7 + 12)}fix: ${b.fix}`);
  }
  out.push('');
  const g = r.gpu;
  if (g.status === 'adapter') {
    out.push(`GPU: WebGPU adapter ${g.name}${g.software ? ' (software rasteriser: about 10x slower than wasm, never chosen automatically)' : ''}`);
  } else if (g.status === 'skipped') {
    out.push('GPU: not probed (--no-gpu)');
  } else {
    out.push(`GPU: no WebGPU adapter (${g.status}): ${g.reason}`);
  }
  const t = r.threads;
  out.push(
    `Threads: ${t.availableParallelism} logical CPU${t.availableParallelism === 1 ? '' : 's'} (${t.cpuModel})` +
      `${t.backendThreads !== undefined ? `; the backend computes on ${t.backendThreads}` : ''}; workers: 'auto' would start ${t.autoWorkers} ` +
      `(${formatBytes(t.memoryPerWorkerBytes)} each, ${formatBytes(t.freeMemoryBytes)} of ${formatBytes(t.totalMemoryBytes)} free); libuv pool ${t.uvThreadpoolSize}`,
    '',
    'Services:',
  );
  for (const s of r.services) {
    const st = s.status === 'not-configured' ? 'skip' : s.ok ? 'ok' : s.required ? 'fail' : 'warn';
    const where = s.target !== undefined ? `${s.target} ` : '';
    const from =
      s.source === 'flag'
        ? ` (from --${s.name})`
        : s.source === 'env'
          ? ` (from ${s.name === 'ffmpeg' ? 'LEPTON_FFMPEG' : SERVICES[s.name as ServiceName].env})`
          : s.source === 'installer'
            ? ' (@ffmpeg-installer/ffmpeg)'
            : s.source === 'path'
              ? ' (on the PATH)'
              : '';
    const ms = s.latencyMs !== undefined && s.name !== 'ffmpeg' ? ` in ${s.latencyMs} ms` : '';
    const status = s.status === 'ok' || s.status === 'not-configured' ? '' : `${s.status}: `;
    out.push(`  ${tag(st)}${s.name.padEnd(9)} ${where}${status}${s.detail}${ms}${from}`);
    if (!s.ok && s.fix) out.push(`  ${' '.repeat(7 + 10)}fix: ${s.fix}`);
  }
  const problems = (rt.ok ? 0 : 1) + r.services.filter((s) => !s.ok && s.required).length;
  out.push('', problems === 0 ? 'OK: a backend started and every configured check passed.' : `FAILED: ${problems} problem${problems === 1 ? '' : 's'} (see [fail] above).`);
  return out.join('\n');
}

/** `lepton doctor`. */
export const doctorCommand: CommandSpec = {
  name: 'doctor',
  description: 'Check what Lepton runs on here: backends (and why each unused one was skipped, with the fix), the WebGPU adapter, threads, ffmpeg, and Redis/MQTT/DICOMweb where configured.',
  args: [],
  flags: {
    backend: { type: 'string', value: 'NAME', help: `backend to ask initRuntime() for: ${BACKENDS.join(', ')} (default auto; LEPTON_BACKEND wins, as in applications)` },
    redis: { type: 'string', value: 'URL', help: 'check Redis: redis://[user:password@]host:port (default: LEPTON_REDIS_URL)' },
    mqtt: { type: 'string', value: 'URL', help: 'check an MQTT broker: mqtt://[user:password@]host:port (default: LEPTON_MQTT_URL)' },
    dicomweb: { type: 'string', value: 'URL', help: 'check a DICOMweb server: http://host:8042/dicom-web (default: LEPTON_DICOMWEB_URL)' },
    timeout: { type: 'string', value: 'MS', help: 'time allowed for each network check (default 3000, at most 2147483647)' },
    'no-gpu': { type: 'boolean', help: 'skip the WebGPU adapter probe' },
  },
  details: `Credentials in URLs are used for the check and printed as ***.
Exit codes: 0 a backend started and every configured check passed; 1 no backend started, or a configured service
(or LEPTON_FFMPEG) failed; 2 usage error. A missing ffmpeg nobody configured is a warning, not a failure.`,
  async run({ flags, io }) {
    const options: DoctorOptions = { env: io.env, cwd: io.cwd, timeoutMs: integerFlag(flags, 'timeout', 3000, 1, 'doctor', MAX_TIMEOUT_MS), gpu: flags['no-gpu'] !== true };
    const backend = stringFlag(flags, 'backend');
    if (backend !== undefined) {
      if (!BACKENDS.includes(backend)) throw usageError(`--backend must be one of ${BACKENDS.join(', ')}.`, 'doctor');
      options.backend = backend as BackendPreference;
    }
    for (const name of Object.keys(SERVICES) as ServiceName[]) {
      const value = stringFlag(flags, name);
      if (value === undefined) continue;
      const url = parseServiceUrl(name, value);
      if (typeof url === 'string') throw usageError(`--${name} ${url}.`, 'doctor');
      options[name] = value;
    }
    // Loaded only now: flags are checked (usage errors are instant) before TensorFlow.js loads.
    const { doctor } = await import('./report.js');
    const report = await doctor(options);
    return { exitCode: report.ok ? 0 : 1, json: { ...report }, human: human(report) };
  },
};
