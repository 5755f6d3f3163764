import { join } from 'node:path';
import { initRuntime } from '@lepton/core';
import { describe, expect, it } from 'vitest';
import { ROOT, run } from './support/process.js';

/*
 * The core demo on the WebGPU backend, as `LEPTON_BACKEND=webgpu pnpm demo` runs it. Without a GPU this is Mesa's
 * lavapipe (see packages/core/docs/backends.md: "WebGPU without a GPU"), about 10× slower than wasm but the same shaders and kernels,
 * so a synchronous GPU read (dataSync/arraySync, which throws "OffscreenCanvas is not defined" on webgpu in Node) or a
 * kernel missing on webgpu anywhere on the demo's path fails here.
 */

/** Null when a WebGPU adapter (any, software included) initialises in this process; else why not. */
async function webgpuUnavailable(): Promise<string | null> {
  try {
    await initRuntime({ backend: 'webgpu' }, {});
    return null;
  } catch (err) {
    return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 200);
  }
}

const missing = await webgpuUnavailable();
if (missing !== null) console.warn(`core demo on webgpu: skipped: ${missing}`);

describe.skipIf(missing !== null)(`core demo on webgpu${missing === null ? '' : ` (SKIPPED: no WebGPU adapter: ${missing})`}`, () => {
  it('LEPTON_BACKEND=webgpu: trains, saves, reloads, serves and explains on webgpu, with the results wasm gives', async () => {
    const demo = async (backend: string): Promise<string> => {
      const { stdout } = await run(process.execPath, ['dist/main.js'], {
        cwd: join(ROOT, 'examples/core-demo'),
        env: { ...process.env, CI: 'true', LEPTON_BACKEND: backend },
        maxBuffer: 16 * 1024 * 1024,
      });
      return stdout;
    };
    const stdout = await demo('webgpu');
    expect(stdout).toMatch(/^backend: webgpu /m);
    expect(stdout).toMatch(/^trained \d+ epochs on webgpu;/m);
    const auc = Number(/test AUC ([\d.]+)/.exec(stdout)?.[1]);
    expect(auc).toBeGreaterThan(0.9);
    expect(stdout).toContain('512/512 match the in-memory model');
    expect(stdout).toMatch(/backend used: webgpu$/m);
    // Same seeds on wasm: the same test AUC (to 0.01) and the same leading reason for the riskiest request.
    const reference = await demo('wasm');
    expect(auc).toBeCloseTo(Number(/test AUC ([\d.]+)/.exec(reference)?.[1]), 2);
    const topReason = (out: string): string | undefined => /top reasons: (\w+)/.exec(out)?.[1];
    expect(topReason(stdout)).toBeDefined();
    expect(topReason(stdout)).toBe(topReason(reference));
  });
});
