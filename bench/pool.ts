// Worker-pool benchmark (issue 13, item 2): `pnpm bench` runs it with the other suites (BENCH_SUITES=pool alone);
// directly: `node --import tsx bench/pool.ts`; on the GPU machine bench/gpu.ts runs it with 1/2/4/8/16 workers.
//
// The reference CNN of bench/lib.ts (64×64×1, filters 16/32/64, 2 classes) served by createPredictor on `wasm`:
// in this thread, and on pools of 1, 2 (… up to os.availableParallelism()) worker threads, at two loads:
// - batch 64: closed-loop clients (2 × 64 per engine, so a full batch always waits while each engine computes) send
//   single images; the predictor merges them into batches of 64 (maxBatchSize 64, maxWaitMs 1);
// - batch 1: 2 clients per engine send single images with maxBatchSize 1, so every image is its own forward pass.
// images/s = images ÷ wall time of a fixed amount of work (a multiple of 2 batches per engine, sized from a warm-up run
// to last about BENCH_SECONDS, default 3), in BENCH_POOL_ROUNDS (default 3) interleaved rounds: each row is the
// configuration's median round, each ratio the median of the ratios within a round (neighbours in time), over the
// rounds where neither run was "contended" (got < 85 % of the cores it can use: CPU time ÷ wall time, measured for
// every run, PyTorch's too, so other work on a shared machine is seen rather than guessed). The peer is the
// same CNN in PyTorch on the CPU (bench/torch_cnn.py --cpu --threads N, Debian python3-torch), timed in the same
// rounds: batch 64 one call per batch, batch 1 sequential single-image calls, both with N intra-op threads.
// The `pool-onnx` rows serve the same CNN with createPredictor's engine 'onnx' (converted to ONNX, one ONNX Runtime
// session with one intra-op thread per worker; needs onnxruntime-node, skipped with a line without it), same loads.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { buildResidualCnn, createPredictor, initRuntime, onnxRuntimeAvailable, type Predictor } from '@lepton/core';
import { CNN_SHAPE, type Ratio } from './lib.js';

export interface PoolBenchRow {
  /** `in-thread` (workers: 1), `pool` (worker threads, TF.js), `pool-onnx` (worker threads, ONNX Runtime) or `pytorch` (CPU). */
  engine: 'in-thread' | 'pool' | 'pool-onnx' | 'pytorch';
  /** Worker threads (pool), intra-op threads (pytorch), 1 (in-thread). */
  workers: number;
  batch: 1 | 64;
  imagesPerSecond: number;
  /** Images answered in the timed run (pool, in-thread). */
  images?: number;
  /** Wall time of the timed run. */
  seconds?: number;
  /** CPU time of every thread of the process ÷ wall time, during the timed run (pool, in-thread). */
  coresUsed?: number;
  /** The main thread's event-loop utilisation during the timed run, 0–1 (pool, in-thread). */
  mainThreadBusy?: number;
}

export interface PoolBench {
  cores: number;
  cpuModel: string | undefined;
  backend: string;
  /** Every round's figures, in order. */
  rounds: PoolBenchRow[][];
  /** Each configuration's median round (among its uncontended rounds when it has any). */
  rows: PoolBenchRow[];
  /** Medians of the per-round ratios. */
  ratios: PoolRatio[];
  torch?: { version: string; error?: string };
}

/** A ratio of two configurations: the median, over rounds, of their ratio within a round. */
export interface PoolRatio extends Ratio {
  /** Rounds the median is over: those where neither run was contended (all rounds when none was clean). */
  rounds: number;
  /** True when every round was contended (the value is then over all rounds). */
  contended: boolean;
  /** The median over all rounds, contended ones included. */
  allRoundsMedian: number;
}

export interface PoolBenchOptions {
  /** Pool sizes to measure. Default 1, 2, 4, 8, 16 up to os.availableParallelism(). */
  workerCounts?: number[];
  /** Seconds each timed run should last (after a warm-up run of 2 batches per engine). Default BENCH_SECONDS or 3. */
  seconds?: number;
  /** Interleaved rounds (rows: median round; ratios: median of per-round ratios). Default BENCH_POOL_ROUNDS or 3. */
  rounds?: number;
  /** bench/torch_cnn.py; default the one beside this file. */
  torchScript?: string;
  /** Python with torch. Default PYTHON, else /usr/bin/python3 (Debian's, which has python3-torch), else python3. */
  python?: string;
  /** Also measure pools with engine 'onnx' (when onnxruntime-node is installed). Default true. */
  onnx?: boolean;
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

/**
 * Warm-up run (which also estimates the rate), then a timed run sized to last about `seconds`. Also reports the CPU
 * cores the process kept busy (CPU time of all its threads ÷ wall time: what the pool really got from the machine)
 * and the main thread's event-loop utilisation (its share spent on batching, copies and messages, not waiting).
 */
async function measure(
  predictor: Predictor,
  batch: number,
  engines: number,
  seconds: number,
): Promise<{ images: number; seconds: number; coresUsed: number; mainThreadBusy: number }> {
  const unit = batch * engines;
  const clients = 2 * unit;
  const warm = 2 * unit;
  const rate = warm / (await load(predictor, clients, warm));
  const images = Math.max(2 * unit, Math.round((rate * seconds) / unit) * unit);
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const wall = await load(predictor, clients, images);
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  return { images, seconds: wall, coresUsed: (cpu.user + cpu.system) / 1e6 / wall, mainThreadBusy: elu.utilization };
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
  const rounds = options.rounds ?? Number(process.env['BENCH_POOL_ROUNDS'] ?? 3);
  const counts = options.workerCounts ?? [1, 2, 4, 8, 16].filter((n) => n <= cores);
  const here = dirname(fileURLToPath(import.meta.url));
  const script = options.torchScript ?? join(here, 'torch_cnn.py');
  const python = options.python ?? process.env['PYTHON'] ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
  // Workers run the backend of this thread: the CPU path, wasm (one core per engine).
  await initRuntime({ backend: 'wasm' }, {});
  const model = buildResidualCnn({ inputShape: CNN_SHAPE, numClasses: 2, seed: 1 });
  const show = (r: PoolBenchRow): void => {
    const main = r.mainThreadBusy === undefined ? '' : `, main thread ${(100 * r.mainThreadBusy).toFixed(0)} %`;
    const cpu = r.coresUsed === undefined ? '' : `  (${r.coresUsed.toFixed(2)} cores busy${main})${contended(r) ? ' contended' : ''}`;
    log(`  ${r.engine.padEnd(9)} ${String(r.workers).padStart(2)} ${r.engine === 'pytorch' ? 'threads' : 'workers'}  batch ${String(r.batch).padStart(2)}  ${r.imagesPerSecond.toFixed(1).padStart(8)} images/s${cpu}`);
  };
  // A run that got fewer cores than it can use (other work on the machine took them) says nothing about scaling.
  const contended = (r: PoolBenchRow): boolean => r.coresUsed !== undefined && r.coresUsed < 0.85 * Math.min(r.workers, cores);
  log(`\npool (reference CNN 64×64×1 on wasm; ${cores} cores: ${cpus()[0]?.model ?? '?'}):`);

  // Every configuration is measured `rounds` times, the rounds interleaved (all configurations, then again). On a
  // shared machine other work takes cores, and the host's own load changes how fast a core is, from minute to minute;
  // a ratio of two figures from one round (taken seconds apart) cancels most of that, so ratios are per round, then
  // the median. Each round's figures are logged and kept in the JSON.
  const configs: Array<{ engine: 'in-thread' | 'pool' | 'pool-onnx'; workers: number; batch: 1 | 64; predictor: Predictor }> = [];
  const onnx = (options.onnx ?? true) && (await onnxRuntimeAvailable());
  if ((options.onnx ?? true) && !onnx) log('  pool-onnx not run: onnxruntime-node is not installed');
  const engines = [
    { engine: 'in-thread' as const, workers: 1 },
    // Per size: TF.js pool, ONNX pool, then PyTorch on as many threads, so the three share the machine's state.
    ...counts.flatMap((n) => [{ engine: 'pool' as const, workers: n }, ...(onnx ? [{ engine: 'pool-onnx' as const, workers: n }] : [])]),
  ];
  for (const { engine, workers } of engines) {
    for (const batch of [64, 1] as const) {
      const predictor = await createPredictor(model, {
        maxBatchSize: batch,
        maxWaitMs: 1,
        maxQueue: 1_000_000,
        ...(engine === 'in-thread' ? {} : { workers, offMainThread: true }),
        ...(engine === 'pool-onnx' ? { engine: 'onnx' as const } : {}),
      });
      configs.push({ engine, workers, batch, predictor });
    }
  }
  const perRound: PoolBenchRow[][] = [];
  let torch: PoolBench['torch'];
  for (let round = 1; round <= rounds; round++) {
    log(` round ${round} of ${rounds}:`);
    const measured: PoolBenchRow[] = [];
    perRound.push(measured);
    for (const { engine, workers, batch, predictor } of configs) {
      const t = await measure(predictor, batch, workers, seconds);
      const r: PoolBenchRow = { engine, workers, batch, imagesPerSecond: t.images / t.seconds, ...t };
      show(r);
      measured.push(r);
      // PyTorch on as many threads right after the pools of that size, so they share the machine's state.
      if (engine !== (onnx ? 'pool-onnx' : 'pool') || batch !== 1 || torch?.error !== undefined) continue;
      try {
        const out = torchRun(python, script, workers, seconds);
        torch = { version: String(out['torch']) };
        for (const b of [64, 1] as const) {
          const p: PoolBenchRow = { engine: 'pytorch', workers, batch: b, imagesPerSecond: Number(out[`batch${b}_images_per_s`]) };
          if (out[`batch${b}_cores_busy`] !== undefined) p.coresUsed = Number(out[`batch${b}_cores_busy`]);
          show(p);
          measured.push(p);
        }
      } catch (err) {
        torch = { version: 'not run', error: (err as Error).message.split('\n')[0] ?? String(err) };
        log(`  PyTorch not run: ${torch.error} (apt-get install -y python3-torch; PYTHON=… picks the interpreter)`);
      }
    }
  }
  await Promise.all(configs.map((c) => c.predictor.close()));
  model.dispose();
  const find = (rows: PoolBenchRow[], engine: string, workers: number, batch: number): PoolBenchRow | undefined =>
    rows.find((r) => r.engine === engine && r.workers === workers && r.batch === batch);
  const median = <T>(xs: T[], by: (x: T) => number): T | undefined => [...xs].sort((a, b) => by(a) - by(b))[Math.floor((xs.length - 1) / 2)];
  // Rows: each configuration's median round, among its uncontended rounds when it has any.
  const rows: PoolBenchRow[] = [];
  for (const r of perRound[0] ?? []) {
    const all = perRound.map((round) => find(round, r.engine, r.workers, r.batch)).filter((x): x is PoolBenchRow => x !== undefined);
    const clean = all.filter((x) => !contended(x));
    rows.push(median(clean.length > 0 ? clean : all, (x) => x.imagesPerSecond)!);
  }
  log(` median round (uncontended rounds where there are any):`);
  for (const r of rows) show(r);
  // Ratios: a over b within each round, then the median over the rounds where neither run was contended (over all
  // rounds, flagged, when none was clean).
  const ratios: PoolRatio[] = [];
  const ratio = (name: string, a: [string, number, number], b: [string, number, number], target?: number): void => {
    const pairs = perRound
      .map((round) => [find(round, ...a), find(round, ...b)] as const)
      .filter((p): p is readonly [PoolBenchRow, PoolBenchRow] => p[0] !== undefined && p[1] !== undefined);
    const clean = pairs.filter(([x, y]) => !contended(x) && !contended(y));
    const of = (ps: typeof pairs): number => {
      const v = ps.map(([x, y]) => x.imagesPerSecond / y.imagesPerSecond).sort((p, q) => p - q);
      return (v[Math.floor((v.length - 1) / 2)]! + v[Math.ceil((v.length - 1) / 2)]!) / 2;
    };
    if (pairs.length === 0) return;
    ratios.push({
      name,
      value: of(clean.length > 0 ? clean : pairs),
      ...(target === undefined ? {} : { target }),
      rounds: clean.length > 0 ? clean.length : pairs.length,
      contended: clean.length === 0,
      allRoundsMedian: of(pairs),
    });
  };
  for (const batch of [64, 1]) {
    for (const n of counts.filter((c) => c > 1)) ratio(`pool(${n}) ÷ pool(1), batch ${batch}`, ['pool', n, batch], ['pool', 1, batch], n === 2 ? 1.7 : undefined);
    ratio(`pool(1) ÷ in-thread, batch ${batch}`, ['pool', 1, batch], ['in-thread', 1, batch]);
    for (const n of counts) ratio(`pool(${n} workers) ÷ PyTorch(${n} threads), batch ${batch}`, ['pool', n, batch], ['pytorch', n, batch], 1);
    for (const n of onnx ? counts : []) {
      ratio(`pool-onnx(${n} workers) ÷ PyTorch(${n} threads), batch ${batch}`, ['pool-onnx', n, batch], ['pytorch', n, batch], 1);
      ratio(`pool-onnx(${n}) ÷ pool(${n}) (TF.js wasm), batch ${batch}`, ['pool-onnx', n, batch], ['pool', n, batch]);
    }
    if (onnx) for (const n of counts.filter((c) => c > 1)) ratio(`pool-onnx(${n}) ÷ pool-onnx(1), batch ${batch}`, ['pool-onnx', n, batch], ['pool-onnx', 1, batch]);
  }
  const checked = ratios.map((r) => (r.target === undefined ? r : { ...r, met: r.value >= r.target }));
  for (const r of checked) {
    const basis = r.contended ? `all ${r.rounds} rounds contended` : `${r.rounds} clean round(s); all rounds ${r.allRoundsMedian.toFixed(2)}×`;
    log(`  ${r.name}: ${r.value.toFixed(2)}× [${basis}]${r.target ? ` (target ≥ ${r.target}×: ${r.met ? 'met' : 'MISSED'})` : ''}`);
  }
  return { cores, cpuModel: cpus()[0]?.model, backend: 'wasm', rounds: perRound, rows, ratios: checked, ...(torch ? { torch } : {}) };
}

// Run directly: `node --import tsx bench/pool.ts` writes bench/results/pool.json.
// (Checked by file name: bundled into the GPU entry, import.meta.url is the bundle's, and this must not run.)
if (import.meta.url.endsWith('/bench/pool.ts') && process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await runPoolBench(console.log);
  await mkdir(new URL('./results/', import.meta.url), { recursive: true });
  await writeFile(new URL('./results/pool.json', import.meta.url), `${JSON.stringify({ date: new Date().toISOString(), ...result }, null, 2)}\n`);
  console.log('wrote bench/results/pool.json');
}
