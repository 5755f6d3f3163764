import type { AdapterSummary, BackendName, BackendPreference } from '@lepton/core';

/** Options for {@link doctor}. Every field is optional. */
export interface DoctorOptions {
  /** Backend to ask `initRuntime()` for (default `'auto'`; `LEPTON_BACKEND` in `env` still wins, as in applications). */
  backend?: BackendPreference;
  /** Redis to check, `redis://[user:password@]host:port` or `rediss://…`. Default: `env.LEPTON_REDIS_URL`; unchecked when neither is set. */
  redis?: string | undefined;
  /** MQTT broker to check, `mqtt://[user:password@]host:port` or `mqtts://…`. Default: `env.LEPTON_MQTT_URL`. */
  mqtt?: string | undefined;
  /** DICOMweb root to check, e.g. `http://host:8042/dicom-web`. Default: `env.LEPTON_DICOMWEB_URL`. */
  dicomweb?: string | undefined;
  /** Time allowed for each network check, in milliseconds (at most 2 147 483 647). Default 3000. */
  timeoutMs?: number;
  /** Probe the WebGPU adapter in a child process. Default true. */
  gpu?: boolean;
  /** Environment read for `LEPTON_*` variables and `PATH`. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Directory `@ffmpeg-installer/ffmpeg` is looked up from (the application's). Default `process.cwd()`. */
  cwd?: string;
}

/** What happened to one backend in the doctor's `initRuntime()` call. */
export interface BackendStatus {
  /** Backend name: `tensorflow`, `webgpu`, `wasm` or `cpu`. */
  name: BackendName;
  /** `selected` (now active), `skipped` (tried, could not start: see `reason` and `fix`), `not-tried` (see `reason`). */
  status: 'selected' | 'skipped' | 'not-tried';
  /** Why it was skipped or not tried. */
  reason?: string;
  /** What to do about it, when there is something to do. */
  fix?: string;
  /** Whether the package that implements it can be found (absent for custom backends). */
  installed?: boolean;
}

/** The runtime `initRuntime()` chose. */
export interface RuntimeSection {
  /** Whether a backend started. */
  ok: boolean;
  /** The backend preference in effect (`auto` or a name). */
  preference: string;
  /** Where the preference came from: the `--backend` flag (`option`), `LEPTON_BACKEND` (`env`) or neither (`default`). */
  preferenceSource: 'option' | 'env' | 'default';
  /** The active backend; absent when none started. */
  backend?: BackendName;
  /** Device behind it (GPU adapter, libtensorflow build, WebAssembly, JavaScript). */
  device?: string;
  /** Threads the backend computes with. */
  threads?: number;
  /** TensorFlow.js version. */
  tfjsVersion?: string;
  /** The error when no backend could start (`BACKEND_UNAVAILABLE`, `INVALID_ARGUMENT`). */
  error?: {
    /** The `LeptonError` code. */
    code: string;
    /** Its message (first line). */
    message: string;
  };
}

/** The WebGPU adapter, as a child process sees it (Dawn is never loaded into the doctor's own process). */
export interface GpuSection {
  /** `adapter` (one was found), `no-adapter`, `not-installed` (no `webgpu` package), `error` (the probe failed), `skipped`. */
  status: 'adapter' | 'no-adapter' | 'not-installed' | 'error' | 'skipped';
  /** What the adapter says about itself. */
  adapter?: AdapterSummary;
  /** One line naming it. */
  name?: string;
  /** True for a CPU rasteriser (llvmpipe, SwiftShader, WARP), which automatic selection never picks. */
  software?: boolean;
  /** Why there is no adapter, or what failed. */
  reason?: string;
}

/** CPU threads and worker-pool sizing on this machine. */
export interface ThreadsSection {
  /** `os.availableParallelism()`: logical CPUs this process may use. */
  availableParallelism: number;
  /** CPU model name. */
  cpuModel: string;
  /** Threads the active backend computes with (absent when no backend started). */
  backendThreads?: number;
  /** Workers `workers: 'auto'` would start now (one per CPU, capped by free memory). */
  autoWorkers: number;
  /** Memory assumed per worker for that cap, in bytes. */
  memoryPerWorkerBytes: number;
  /** Free memory now, in bytes. */
  freeMemoryBytes: number;
  /** Total memory, in bytes. */
  totalMemoryBytes: number;
  /** libuv thread pool size (file and DNS work): `UV_THREADPOOL_SIZE`, default 4. */
  uvThreadpoolSize: number;
}

/** One external tool or service check. */
export interface ServiceCheck {
  /** `ffmpeg`, `redis`, `mqtt` or `dicomweb`. */
  name: 'ffmpeg' | 'redis' | 'mqtt' | 'dicomweb';
  /** `ok`; `missing` (ffmpeg not found); `unreachable` (no connection, timeout); `refused` (reached, credentials refused); `error` (reached, wrong answer); `not-configured`. */
  status: 'ok' | 'missing' | 'unreachable' | 'refused' | 'error' | 'not-configured';
  /** True when the check passed (or there was nothing to check). */
  ok: boolean;
  /** True when it was asked for (flag or environment), so a failure fails the doctor. A missing ffmpeg nobody asked for is only a warning. */
  required: boolean;
  /** Where the target came from: `flag`, `env` (`LEPTON_*_URL`, `LEPTON_FFMPEG`), `path` or `installer` (ffmpeg). */
  source?: 'flag' | 'env' | 'path' | 'installer';
  /** What was checked: a URL with credentials replaced by `***`, or ffmpeg's path. */
  target?: string;
  /** Round trip of the check, in milliseconds. */
  latencyMs?: number;
  /** What was found: `PONG`, the CONNACK, the HTTP status, ffmpeg's version, or why it failed. */
  detail: string;
  /** What to do about a failure. */
  fix?: string;
}

/** Everything `lepton doctor` reports. */
export interface DoctorReport {
  /** True when a backend started and every required check passed. */
  ok: boolean;
  /** Versions: this CLI, `@lepton/core`, Node.js, platform and architecture. */
  versions: {
    /** `@lepton/cli`. */
    cli: string;
    /** `@lepton/core`, as this CLI resolves it. */
    core: string;
    /** Node.js (`process.version`). */
    node: string;
    /** `os.platform()`, e.g. `linux`. */
    platform: string;
    /** `os.arch()`, e.g. `x64`. */
    arch: string;
  };
  /** The backend in use and how it was chosen. */
  runtime: RuntimeSection;
  /** Every registered backend, fastest first, with why each unused one was skipped and how to fix it. */
  backends: BackendStatus[];
  /** The WebGPU adapter. */
  gpu: GpuSection;
  /** CPU threads and worker-pool defaults. */
  threads: ThreadsSection;
  /** ffmpeg, and Redis, MQTT and DICOMweb where configured. */
  services: ServiceCheck[];
}
