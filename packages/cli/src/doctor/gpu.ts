import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { isSoftwareAdapter, type AdapterSummary } from '@lepton/core';
import type { GpuSection } from './types.js';

// Asked in a child process, as core's own probe does: Dawn and the Vulkan loader write to file descriptor 2 directly
// and a broken driver can crash the process that loads it. The doctor must survive exactly those machines, so never
// move this probe in-process.
const PROBE = `
const w = require(process.argv[1]);
const done = (v) => { process.stdout.write('\\n@@lepton-doctor@@' + JSON.stringify(v) + '\\n', () => process.exit(0)); };
let gpu;
try { gpu = w.create([]); } catch (e) { done({ error: String(e && e.message || e) }); }
if (gpu) gpu.requestAdapter({ powerPreference: 'high-performance' }).then((a) => {
  if (!a) return done({ adapter: null });
  const i = a.info || {};
  done({ adapter: { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description,
    fallback: !!(a.isFallbackAdapter ?? i.isFallbackAdapter) } });
}, (e) => done({ error: String(e && e.message || e) }));
`;

/** The path of the `webgpu` (Dawn) package as `@lepton/core` would load it, or undefined. */
function webgpuPath(): string | undefined {
  const here = createRequire(import.meta.url);
  for (const from of ['@lepton/core/package.json', undefined]) {
    try {
      const req = from === undefined ? here : createRequire(here.resolve(from));
      return req.resolve('webgpu');
    } catch {
      // try the next place
    }
  }
  return undefined;
}

function clean(raw: AdapterSummary): AdapterSummary {
  const out: AdapterSummary = { fallback: raw.fallback === true };
  for (const k of ['vendor', 'architecture', 'device', 'description'] as const) {
    const v = raw[k];
    if (typeof v === 'string' && v !== '') out[k] = v.slice(0, 200);
  }
  return out;
}

/**
 * Asks Dawn for its high-performance adapter in a child process.
 *
 * @param timeoutMs - how long the child may take (driver start-up can be slow)
 */
export function probeGpu(timeoutMs = 30_000): Promise<GpuSection> {
  const path = webgpuPath();
  if (path === undefined) {
    return Promise.resolve({ status: 'not-installed', reason: "the optional package 'webgpu' (Dawn) is not installed; npm install webgpu @tensorflow/tfjs-backend-webgpu@4.22.0, see @lepton/core/docs/backends.md#webgpu" });
  }
  return new Promise((resolve) => {
    execFile(process.execPath, ['-e', PROBE, path], { timeout: timeoutMs, maxBuffer: 1 << 20, windowsHide: true }, (err, stdout, stderr) => {
      const line = stdout.split('\n').find((l) => l.startsWith('@@lepton-doctor@@'));
      let result: { adapter?: AdapterSummary | null; error?: string } | undefined;
      try {
        result = line === undefined ? undefined : (JSON.parse(line.slice('@@lepton-doctor@@'.length)) as typeof result);
      } catch {
        result = undefined;
      }
      if (result?.adapter) {
        const adapter = clean(result.adapter);
        const name = [adapter.description || adapter.device, adapter.vendor, adapter.architecture].filter(Boolean).join(' / ') || 'WebGPU adapter';
        resolve({ status: 'adapter', adapter, name, software: isSoftwareAdapter(adapter) });
      } else if (result?.adapter === null) {
        resolve({
          status: 'no-adapter',
          reason: 'Dawn found no adapter: install the GPU driver with Vulkan support (NVIDIA: its Vulkan ICD, check with `vulkaninfo --summary`; AMD/Intel: mesa-vulkan-drivers), see @lepton/core/docs/backends.md#webgpu',
        });
      } else {
        const how = result?.error ?? (err === null ? 'printed no result' : err.killed ? `timed out after ${timeoutMs} ms` : `exited (${err.signal ?? err.code ?? 'error'})`);
        const hint = stderr.split('\n').find((l) => /error/i.test(l))?.trim().slice(0, 160);
        resolve({ status: 'error', reason: `the WebGPU probe ${how}${hint ? `: ${hint}` : ''}` });
      }
    });
  });
}
