import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import type { BackendLoader } from './backends.js';
import { registerWebgpuFixes } from './webgpu-kernels.js';

/** What a WebGPU adapter says about itself (the fields of `GPUAdapterInfo` Lepton reads). */
export interface AdapterSummary {
  /** Vendor, e.g. `nvidia`, `mesa`. */
  vendor?: string;
  /** Architecture, e.g. `hopper`; Dawn reports `software` for CPU adapters on some drivers. */
  architecture?: string;
  /** Device name. */
  device?: string;
  /** Driver's description, e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`. */
  description?: string;
  /** `GPUAdapter.isFallbackAdapter` (or `info.isFallbackAdapter`): the implementation says it is a software one. */
  fallback?: boolean;
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|\bwarp\b|microsoft basic render|\bsoftware\b/i;

/**
 * True when a WebGPU adapter is a CPU rasteriser pretending to be a GPU (Mesa's llvmpipe/lavapipe, SwiftShader,
 * Microsoft WARP / Basic Render Driver). Such an adapter runs models about ten times slower than the `wasm` backend,
 * so automatic selection must never choose it; forcing `webgpu` still uses it (that is how CI tests the WebGPU path).
 *
 * @param info - what the adapter reports
 * @returns whether the adapter computes in software
 * @example
 * ```ts
 * import { isSoftwareAdapter } from '@lepton/core';
 * isSoftwareAdapter({ vendor: 'mesa', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }); // true
 * ```
 */
export function isSoftwareAdapter(info: AdapterSummary): boolean {
  if (info === null || typeof info !== 'object') return false;
  if (info.fallback === true) return true;
  return [info.vendor, info.architecture, info.device, info.description].some((s) => typeof s === 'string' && SOFTWARE.test(s));
}

/** @internal One line naming the adapter, e.g. `NVIDIA H100 80GB HBM3 / nvidia / hopper`. */
export function adapterName(info: AdapterSummary): string {
  return [info.description || info.device, info.vendor, info.architecture].filter(Boolean).join(' / ') || 'WebGPU adapter';
}

/** Where the fix for each reason is explained (docs/backends.md, shipped in the package; the same text is in the message). */
const DOC = '@lepton/core/docs/backends.md#webgpu';
// Both are optional peer dependencies of @lepton/core (Dawn's prebuilt binaries for every platform weigh 130 MB, so
// only applications that want WebGPU install them); the version must match core's TF.js.
const WEBGPU_INSTALL = 'npm install webgpu @tensorflow/tfjs-backend-webgpu@4.22.0';

/** Is a Vulkan loader library findable? Dawn prints a noisy warning when it is not, so look first. */
function vulkanLoaderPresent(): boolean {
  if (process.platform !== 'linux') return true;
  const dirs = (process.env['LD_LIBRARY_PATH'] ?? '').split(delimiter).filter(Boolean);
  if (dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')))) return true;
  try {
    return readFileSync('/etc/ld.so.cache').includes('libvulkan.so.1');
  } catch {
    return ['/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/lib/aarch64-linux-gnu'].some((d) =>
      existsSync(join(d, 'libvulkan.so.1')),
    );
  }
}

interface MinimalAdapter {
  isFallbackAdapter?: boolean;
  info?: AdapterSummary & { isFallbackAdapter?: boolean };
}
interface MinimalGpu {
  requestAdapter(options?: { powerPreference?: string }): Promise<MinimalAdapter | null>;
}

function summarise(adapter: MinimalAdapter): AdapterSummary {
  const info = adapter.info ?? {};
  const out: AdapterSummary = { fallback: Boolean(adapter.isFallbackAdapter ?? info.isFallbackAdapter) };
  for (const k of ['vendor', 'architecture', 'device', 'description'] as const) {
    if (typeof info[k] === 'string' && info[k] !== '') out[k] = info[k];
  }
  return out;
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]?.slice(0, 200) ?? text;
}

/** True when the user asked for diagnostic output (`LEPTON_DEBUG=1`, or a list naming `webgpu`). */
function debugEnabled(): boolean {
  const v = process.env['LEPTON_DEBUG']?.trim().toLowerCase();
  return v !== undefined && v !== '' && v !== '0' && v !== 'false' && (v === '1' || v === 'true' || v === '*' || v.split(',').includes('webgpu'));
}

// The probe runs in a child process: Dawn and the Vulkan loader write straight to file descriptor 2 (Vulkan ICD
// warnings, "error: XDG_RUNTIME_DIR is invalid", limits it "artificially reduced"), which no JavaScript can silence,
// and a broken driver can crash the process that loads it. Users read "error:" as failure; `pnpm demo` on a GPU-less
// machine must print nothing of the kind. Do not move this probe in-process to save the ~0.5 s it costs.
const PROBE_SCRIPT = `
const w = require(process.argv[1]);
const done = (v) => { process.stdout.write('\\n@@lepton-probe@@' + JSON.stringify(v) + '\\n', () => process.exit(0)); };
let gpu;
try { gpu = w.create([]); } catch (e) { done({ error: String(e && e.message || e) }); }
if (gpu) gpu.requestAdapter({ powerPreference: process.argv[2] }).then((a) => {
  if (!a) return done({ adapter: null });
  const i = a.info || {};
  done({ adapter: { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description,
    fallback: !!(a.isFallbackAdapter ?? i.isFallbackAdapter) } });
}, (e) => done({ error: String(e && e.message || e) }));
`;

type ProbeResult = { adapter: AdapterSummary | null } | { error: string };
const probes = new Map<string, Promise<ProbeResult>>();

/** Asks a child Node.js process which adapter Dawn would give, with its stderr captured (shown only when debugging). */
function probeInChild(webgpuPath: string, powerPreference: string): Promise<ProbeResult> {
  let p = probes.get(powerPreference);
  if (p === undefined) {
    p = new Promise<ProbeResult>((resolve) => {
      execFile(
        process.execPath,
        ['-e', PROBE_SCRIPT, webgpuPath, powerPreference],
        { timeout: 30_000, maxBuffer: 1 << 20, windowsHide: true },
        (err, stdout, stderr) => {
          if (debugEnabled() && stderr) process.stderr.write(stderr);
          const line = stdout.split('\n').find((l) => l.startsWith('@@lepton-probe@@'));
          if (line !== undefined) {
            try {
              resolve(JSON.parse(line.slice('@@lepton-probe@@'.length)) as ProbeResult);
              return;
            } catch {
              // fall through to the error below
            }
          }
          const how = err === null ? 'printed no result' : err.killed ? 'timed out' : `exited (${err.signal ?? err.code ?? 'error'})`;
          const hint = stderr.split('\n').find((l) => /error/i.test(l))?.trim().slice(0, 160);
          resolve({ error: `the WebGPU probe process ${how}${hint ? `: ${hint}` : ''}` });
        },
      );
    });
    probes.set(powerPreference, p);
  }
  return p;
}

const NO_ADAPTER_FIX =
  'Install the GPU driver with Vulkan support (NVIDIA: the driver’s Vulkan ICD, check with `vulkaninfo --summary`; ' +
  `AMD/Intel: Debian/Ubuntu mesa-vulkan-drivers), see ${DOC}`;

/**
 * @internal The `webgpu` backend loader: TF.js' WebGPU backend on Dawn (the optional `webgpu` package, which drives Vulkan,
 * Metal or D3D12). In automatic selection the adapter is probed in a child process first, and a software adapter is
 * refused; asked for by name, it loads in-process and accepts any adapter.
 */
export const loadWebgpu: BackendLoader = async ({ powerPreference, explicit }) => {
  const g = globalThis as { navigator?: { gpu?: MinimalGpu } };
  let gpu = g.navigator?.gpu;
  if (gpu === undefined) {
    if (!vulkanLoaderPresent()) {
      return {
        ok: false,
        device: '',
        reason: `no Vulkan loader (libvulkan.so.1) on this machine. Fix: install it with your GPU's Vulkan driver (Debian/Ubuntu: apt-get install libvulkan1), see ${DOC}`,
      };
    }
    let webgpuPath: string;
    try {
      webgpuPath = createRequire(import.meta.url).resolve('webgpu');
    } catch {
      return { ok: false, device: '', reason: `the optional package 'webgpu' (Dawn) is not installed. Fix: ${WEBGPU_INSTALL}, see ${DOC}` };
    }
    if (explicit !== true) {
      const probe = await probeInChild(webgpuPath, powerPreference);
      if ('error' in probe) return { ok: false, device: '', reason: `${probe.error}. ${NO_ADAPTER_FIX}` };
      if (probe.adapter === null) return { ok: false, device: '', reason: `no WebGPU adapter. ${NO_ADAPTER_FIX}` };
      if (isSoftwareAdapter(probe.adapter)) {
        return {
          ok: false,
          device: adapterName(probe.adapter),
          reason:
            `the only WebGPU adapter is a software one (${adapterName(probe.adapter)}), about 10× slower than wasm; ` +
            `automatic selection never picks it. Force it with backend 'webgpu' (LEPTON_BACKEND=webgpu) to test the WebGPU path, see ${DOC}`,
        };
      }
    }
    try {
      const webgpu = (await import(webgpuPath)) as { create(flags: string[]): MinimalGpu; globals: Record<string, unknown> };
      // TF.js' WebGPU backend looks for the browser globals (GPUBufferUsage …) and navigator.gpu.
      Object.assign(globalThis, webgpu.globals);
      gpu = webgpu.create([]);
      if (g.navigator === undefined) g.navigator = { gpu };
      else Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
    } catch (err) {
      return { ok: false, device: '', reason: `the 'webgpu' (Dawn) package failed to load: ${firstLine(err)}. Reinstall it, see ${DOC}` };
    }
  }
  let adapter: MinimalAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference });
  } catch (err) {
    return { ok: false, device: '', reason: `requestAdapter failed: ${firstLine(err)}. ${NO_ADAPTER_FIX}` };
  }
  if (adapter === null) return { ok: false, device: '', reason: `no WebGPU adapter. ${NO_ADAPTER_FIX}` };
  const summary = summarise(adapter);
  const device = adapterName(summary);
  if (explicit !== true && isSoftwareAdapter(summary)) {
    return {
      ok: false,
      device,
      reason: `the only WebGPU adapter is a software one (${device}); automatic selection never picks it. Force it with backend 'webgpu', see ${DOC}`,
    };
  }
  try {
    await import('@tensorflow/tfjs-backend-webgpu');
    registerWebgpuFixes();
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND') {
      return { ok: false, device, reason: `the optional package '@tensorflow/tfjs-backend-webgpu' is not installed. Fix: ${WEBGPU_INSTALL}, see ${DOC}` };
    }
    return { ok: false, device, reason: `@tensorflow/tfjs-backend-webgpu failed to load: ${firstLine(err)}` };
  }
  return { ok: true, device, gpu: !isSoftwareAdapter(summary) };
};
