// Worker-pool benchmark (issue 13, item 2): `pnpm bench` runs it with the other suites (BENCH_SUITES=pool alone);
// directly: `node --import tsx bench/pool.ts`; on the GPU machine bench/gpu.ts runs it with 1/2/4/8/16 workers.
//
// The reference CNN of bench/lib.ts (64×64×1, filters 16/32/64, 2 classes) served by createPredictor on `wasm`:
// in this thread, and on pools of 1, 2 (… up to os.availableParallelism()) worker threads, at two loads:
// - batch 64: closed-loop clients (2 × 64 per engine, so a full batch always waits while each engine computes) send
//   single images; the predictor merges them into batches of 64 (maxBatchSize 64, maxWaitMs 1);
// - batch 1: 2 clients per engine send single images with maxBatchSize 1, so every image is its own forward pass.
// images/s = images ÷ wall time of a fixed amount of work (a multiple of 2 batches per engine, sized from a warm-up run
// to last about BENCH_SECONDS, default 3). The peer is the same CNN in PyTorch on the CPU (bench/torch_cnn.py --cpu
// --threads N, Debian python3-torch), timed in the same run: batch 64 one call per batch, batch 1 sequential
// single-image calls, both with N intra-op threads.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildResidualCnn, createPredictor, initRuntime, type Predictor } from '@lepton/core';
import { CNN_SHAPE, type Ratio } from './lib.js';

export interface PoolBenchRow {
  /** `in-thread` (workers: 1), `pool` (worker threads) or `pytorch` (CPU). */
  engine: 'in-thread' | 'pool' | 'pytorch';
  /** Worker threads (pool), intra-op threads (pytorch), 1 (in-thread). */
  workers: number;
  batch: 1 | 64;
  imagesPerSecond: number;
  /** Images answered in the timed run (pool, in-thread). */
  images?: number;
  /** Wall time of the timed run. */
  seconds?: number;
}

export interface PoolBench {
  cores: number;
  cpuModel: string | undefined;
  backend: string;
  rows: PoolBenchRow[];
  ratios: Ratio[];
  torch?: { version: string; error?: string };
}

export interface PoolBenchOptions {
  /** Pool sizes to measure. Default 1, 2, 4, 8, 16 up to os.availableParallelism(). */
  workerCounts?: number[];
  /** Seconds each timed run should last (after a warm-up run of 2 batches per engine). Default BENCH_SECONDS or 3. */
  seconds?: number;
  /** bench/torch_cnn.py; default the one beside this file. */
  torchScript?: string;
  /** Python with torch. Default PYTHON, else /usr/bin/python3 (Debian's, which has python3-torch), else python3. */
  python?: string;
}

/**
 * Closed-loop load of fixed work: `clients` callers each send one image after another until `count` have been sent;
 * returns the wall time until the last answer. `count` is a multiple of the engines' batch capacity, so every engine
 * is busy from the first moment (2 batches per engine are offered at once) to the last.
 */
async function load(predictor: Predictor, clients: number, count: number): Promise<number> {
  const image = new Float32Array(CNN_SHAPE.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i) * 0.5 + 0.5);
  let sent = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (sent < count) {
        sent++;
        await predictor.predict(image);
      }
    }),
  );
  return (performance.now() - t0) / 1000;
}

/** Warm-up run (which also estimates the rate), then a timed run sized to last about `seconds`. */
async function measure(predictor: Predictor, batch: number, engines: number, seconds: number): Promise<{ images: number; seconds: number }> {
  const unit = batch * engines;
  const clients = 2 * unit;
  const warm = 2 * unit;
  const rate = warm / (await load(predictor, clients, warm));
  const images = Math.max(2 * unit, Math.round((rate * seconds) / unit) * unit);
  return { images, seconds: await load(predictor, clients, images) };
}

function torchRun(python: string, script: string, threads: number, seconds: number): Record<string, number | string> {
  const out = execFileSync(python, [script, '--cpu', '--threads', String(threads), '--seconds', String(seconds)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number | string>;
}

/** Runs the pool suite; logs lines as it goes. */
export async function runPoolBench(log: (s: string) => void = console.log, options: PoolBenchOptions = {}): Promise<PoolBench> {
  const cores = availableParallelism();
  const seconds = options.seconds ?? Number(process.env['BENCH_SECONDS'] ?? 3);
  const counts = options.workerCounts ?? [1, 2, 4, 8, 16].filter((n) => n <= cores);
  const here = dirname(fileURLToPath(import.meta.url));
  const script = options.torchScript ?? join(here, 'torch_cnn.py');
  const python = options.python ?? process.env['PYTHON'] ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
  // Workers run the backend of this thread: the CPU path, wasm (one core per engine).
  await initRuntime({ backend: 'wasm' }, {});
  const model = buildResidualCnn({ inputShape: CNN_SHAPE, numClasses: 2, seed: 1 });
  const rows: PoolBenchRow[] = [];
  const add = (r: PoolBenchRow): void => {
    rows.push(r);
    log(`  ${r.engine.padEnd(9)} ${String(r.workers).padStart(2)} ${r.engine === 'pytorch' ? 'threads' : 'workers'}  batch ${String(r.batch).padStart(2)}  ${r.imagesPerSecond.toFixed(1).padStart(8)} images/s`);
  };
  log(`\npool (reference CNN 64×64×1 on wasm; ${cores} cores: ${cpus()[0]?.model ?? '?'}):`);

  const engines: Array<{ engine: 'in-thread' | 'pool'; workers: number }> = [{ engine: 'in-thread', workers: 1 }, ...counts.map((n) => ({ engine: 'pool' as const, workers: n }))];
  for (const { engine, workers } of engines) {
    for (const batch of [64, 1] as const) {
      const predictor = await createPredictor(model, {
        maxBatchSize: batch,
        maxWaitMs: 1,
        maxQueue: 1_000_000,
        ...(engine === 'pool' ? { workers, offMainThread: true } : {}),
      });
      const t = await measure(predictor, batch, workers, seconds);
      await predictor.close();
      add({ engine, workers, batch, imagesPerSecond: t.images / t.seconds, images: t.images, seconds: t.seconds });
    }
  }
  model.dispose();

  let torch: PoolBench['torch'];
  const torchThreads = counts.filter((n) => n <= cores);
  try {
    for (const threads of torchThreads) {
      const r = torchRun(python, script, threads, seconds);
      torch = { version: String(r['torch']) };
      for (const batch of [64, 1] as const) add({ engine: 'pytorch', workers: threads, batch, imagesPerSecond: Number(r[`batch${batch}_images_per_s`]) });
    }
  } catch (err) {
    torch = { version: 'not run', error: (err as Error).message.split('\n')[0] ?? String(err) };
    log(`  PyTorch not run: ${torch.error} (apt-get install -y python3-torch; PYTHON=… picks the interpreter)`);
  }

  const find = (engine: string, workers: number, batch: number): PoolBenchRow | undefined =>
    rows.find((r) => r.engine === engine && r.workers === workers && r.batch === batch);
  const ratios: Ratio[] = [];
  for (const batch of [64, 1]) {
    const one = find('pool', 1, batch);
    for (const n of counts.filter((c) => c > 1)) {
      const many = find('pool', n, batch);
      if (one && many) ratios.push({ name: `pool(${n}) ÷ pool(1), batch ${batch}`, value: many.imagesPerSecond / one.imagesPerSecond, ...(n === 2 ? { target: 1.7 } : {}) });
    }
    const inThread = find('in-thread', 1, batch);
    if (one && inThread) ratios.push({ name: `pool(1) ÷ in-thread, batch ${batch}`, value: one.imagesPerSecond / inThread.imagesPerSecond });
    for (const n of counts) {
      const pool = find('pool', n, batch);
      const peer = find('pytorch', n, batch);
      if (pool && peer) ratios.push({ name: `pool(${n} workers) ÷ PyTorch(${n} threads), batch ${batch}`, value: pool.imagesPerSecond / peer.imagesPerSecond, target: 1 });
    }
  }
  const checked = ratios.map((r) => (r.target === undefined ? r : { ...r, met: r.value >= r.target }));
  for (const r of checked) log(`  ${r.name}: ${r.value.toFixed(2)}×${r.target ? ` (target ≥ ${r.target}×: ${r.met ? 'met' : 'MISSED'})` : ''}`);
  return { cores, cpuModel: cpus()[0]?.model, backend: 'wasm', rows, ratios: checked, ...(torch ? { torch } : {}) };
}

// Run directly: `node --import tsx bench/pool.ts` writes bench/results/pool.json.
// (Checked by file name: bundled into the GPU entry, import.meta.url is the bundle's, and this must not run.)
if (import.meta.url.endsWith('/bench/pool.ts') && process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await runPoolBench(console.log);
  await mkdir(new URL('./results/', import.meta.url), { recursive: true });
  await writeFile(new URL('./results/pool.json', import.meta.url), `${JSON.stringify({ date: new Date().toISOString(), ...result }, null, 2)}\n`);
  console.log('wrote bench/results/pool.json');
}
