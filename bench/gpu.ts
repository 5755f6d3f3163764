// GPU-machine benchmark entry: bundled with Node.js by bench/gpu-bundle.sh and run where there is an NVIDIA GPU,
// no Node.js and no registry. Measures the core suite on `webgpu` (and `wasm` for reference), then times the same
// reference CNN in PyTorch in the same command and prints the ratio. Falls back to wasm where no GPU adapter exists,
// so the bundle can be checked on any machine.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { initRuntime, runtimeInfo, type BackendName } from '@lepton/core';
import { ratios, runSuite, table, type Row } from './lib.js';
import { runPoolBench, type PoolBench } from './pool.js';

const here = dirname(fileURLToPath(import.meta.url));
// Bundled, the wasm binaries sit beside app.mjs (bench/gpu-bundle.sh copies them); unbundled, TF.js finds its own.
// The wasm backend's Emscripten loader reads the CommonJS `__dirname`, which an ESM bundle lacks: give it ours.
if (existsSync(join(here, 'tfjs-backend-wasm-simd.wasm'))) {
  (globalThis as { __dirname?: string }).__dirname ??= here;
  setWasmPaths(`${here}/`);
}

const seconds = Number(process.env['BENCH_SECONDS'] ?? 2);
// LEPTON_BACKEND is honoured: `LEPTON_BACKEND=webgpu` runs the bundle on a software adapter (lavapipe), which automatic
// selection refuses, to check the WebGPU path end to end on a machine without a GPU.
const auto = await initRuntime({ backend: 'auto' });
console.log(`auto-selected backend: ${auto.backend} (${auto.device})`);
for (const a of auto.attempts.filter((t) => !t.ok)) console.log(`  skipped ${a.backend}: ${a.reason}`);

const backends: BackendName[] = auto.backend === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'];
const rows: Row[] = [];
for (const b of backends) {
  console.log(`\n${b}:`);
  rows.push(...(await runSuite(b, { seconds, minIterations: 5, log: console.log })));
}
console.log(`\n${table(rows)}\n`);
const r = ratios(rows);

// PyTorch on the same machine, same model, same batch, fp32.
const script = [process.env['TORCH_SCRIPT'], join(here, 'torch_cnn.py'), join(here, '..', 'bench', 'torch_cnn.py')].find((p) => p && existsSync(p));
let torch: Record<string, number | string> | undefined;
/** The first Python found with torch (the pool bench below uses it too). */
let torchPython: string | undefined;
if (script) {
  try {
    // The first Python that has torch: PYTHON, then python3 on the PATH, then Debian's (python3-torch).
    const pythons = [process.env['PYTHON'], 'python3', '/usr/bin/python3'].filter((p): p is string => Boolean(p));
    const python = (torchPython = pythons.find((p) => {
      try {
        execFileSync(p, ['-c', 'import torch'], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    }));
    if (python === undefined) throw new Error(`no Python with torch among ${pythons.join(', ')}`);
    torch = JSON.parse(execFileSync(python, [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').at(-1)!);
    console.log(`PyTorch (${torch!['device']}, ${torch!['precision']}): batch 1 ${Number(torch!['batch1_ms']).toFixed(3)} ms, batch 64 ${Number(torch!['batch64_ms']).toFixed(3)} ms`);
    const gpu = rows.find((x) => x.backend === auto.backend && x.case === 'cnn inference images/s' && x.batch === 64);
    if (gpu) {
      const ratio = gpu.msPerIteration / Number(torch!['batch64_ms']);
      r.push({ name: `${auto.backend} ÷ PyTorch time, CNN inference batch 64`, value: ratio, target: 5, met: ratio <= 5 });
      console.log(`${auto.backend} batch 64: ${gpu.msPerIteration.toFixed(3)} ms → ${ratio.toFixed(2)}× PyTorch's time (target ≤ 5×)`);
    }
  } catch (err) {
    console.log(`PyTorch comparison not run: ${(err as Error).message.split('\n')[0]}`);
  }
} else {
  console.log('PyTorch comparison not run: torch_cnn.py not found');
}
for (const x of r) console.log(`${x.name}: ${x.value.toFixed(2)}×${x.target ? ` (target ${x.name.includes('PyTorch') ? '≤' : '≥'} ${x.target}×: ${x.met ? 'met' : 'MISSED'})` : ''}`);

// Worker pool on the CPU cores (wasm, one engine per worker): 1/2/4/8/16 workers up to the core count, against PyTorch
// on the CPU with as many threads, same run. Bundled, core's worker entry and the predictor's worker module sit beside
// app.mjs (bench/gpu-bundle.sh), where the pool looks for them.
let pool: PoolBench | undefined;
try {
  pool = await runPoolBench(console.log, { ...(script ? { torchScript: script } : {}), python: torchPython ?? process.env['PYTHON'] ?? 'python3' });
} catch (err) {
  console.log(`pool bench not run: ${(err as Error).message.split('\n')[0]}`);
}

const out = process.env['OUT'] ?? here;
const file = join(out, 'gpu-bench.json');
await writeFile(file, `${JSON.stringify({ date: new Date().toISOString(), runtime: runtimeInfo(), auto: auto.attempts, rows, ratios: r, torch, pool }, null, 2)}\n`);
console.log(`wrote ${file}`);
