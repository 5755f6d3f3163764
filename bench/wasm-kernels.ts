// `BENCH_SUITES=wasm-kernels pnpm bench` (or `node --import tsx bench/wasm-kernels.ts`): Lepton's wasm kernels
// against TF.js 4.22's own, in the same run. Each setting runs in its own child process (the kernels are registered
// once per process): `LEPTON_WASM_KERNELS=tfjs` keeps TF.js' kernels wherever TF.js has one. The two settings are
// interleaved over `rounds` so that load from other jobs falls on both; the median of each is reported and the ratio
// quoted as TF.js time ÷ Lepton time (> 1: Lepton faster).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildDenseAutoencoder, buildMlp, buildResidualCnn, initRuntime, tf, train } from '@lepton/core';

/** One timed case: median milliseconds per call under each setting. */
export interface WasmKernelCase {
  case: string;
  tfjsMs: number;
  leptonMs: number;
  /** TF.js ÷ Lepton. */
  speedup: number;
}

const CHILD = process.argv[2] === '--child';

/** The cases, timed in this process (child mode). Each returns milliseconds per call, median over `reps`. */
async function measure(): Promise<Record<string, number>> {
  await initRuntime({ backend: 'wasm' }, {});
  const out: Record<string, number> = {};
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const op = (name: string, shapes: number[][], f: (xs: tf.Tensor[]) => tf.Tensor, reps = 30): void => {
    const times: number[] = [];
    for (let r = 0; r < reps + 3; r++) {
      const xs = shapes.map((s, i) => tf.randomNormal(s, 0, 1, 'float32', r * 7 + i)); // fresh inputs, as in training
      const t = performance.now();
      const y = f(xs);
      y.dataSync(); // wasm runs synchronously; reading the result makes that explicit
      if (r >= 3) times.push(performance.now() - t);
      tf.dispose([...xs, y]);
    }
    out[name] = median(times);
  };
  op('multiply [32,64,64,8] × [8] (per-channel scale)', [[32, 64, 64, 8], [8]], ([a, b]) => tf.mul(a!, b!));
  op('add [32,64,64,8] + [32,1,1,8]', [[32, 64, 64, 8], [32, 1, 1, 8]], ([a, b]) => tf.add(a!, b!));
  op('equal [32,16,16,32] vs its channel maxima (global max pool gradient)', [[32, 16, 16, 32]], ([a]) => tf.tidy(() => tf.equal(a!, tf.max(a!, [1, 2], true))));
  op('clone [32,64,64,8] (Identity)', [[32, 64, 64, 8]], ([a]) => tf.clone(a!));
  const rows = [5, 17, 3, 60, 41, 1, 0, 33];
  op('gather 8 rows of [64,64,64,3] (a training batch)', [[64, 64, 64, 3]], ([a]) => tf.tidy(() => tf.gather(a!, tf.tensor1d(rows, 'int32'))));
  op('input gradient of a 3×3 stride-2 convolution, [32,64,64,16] → 32 channels', [[32, 32, 32, 32], [3, 3, 16, 32]], ([dy, w]) =>
    tf.conv2dTranspose(dy as tf.Tensor4D, w as tf.Tensor4D, [32, 64, 64, 16], 2, 'same'),
  );
  op("dense layer's input gradient dy · Wᵀ, [1024,64] × [128,64]ᵀ", [[1024, 64], [128, 64]], ([dy, w]) => tf.matMul(dy!, w!, false, true));
  op("dense layer's weight gradient xᵀ · dy, [1024,128]ᵀ × [1024,64]", [[1024, 128], [1024, 64]], ([x, dy]) => tf.matMul(x!, dy!, true, false));
  op('gradient of mean over [0,1,2] of [32,64,64,8] (batch-norm statistics)', [[32, 64, 64, 8]], ([a]) => tf.grad((x: tf.Tensor) => tf.sum(tf.mean(x, [0, 1, 2])))(a!));
  /** Median ms per batch of one epoch over `x`, rounds 2–4 (the first warms up); frees the model and the data. */
  const trainStep = async (name: string, model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor, batchSize: number): Promise<void> => {
    const batches = x.shape[0]! / batchSize;
    const times: number[] = [];
    for (let r = 0; r < 4; r++) {
      const t = performance.now();
      await train(model, { x, y }, { epochs: 1, batchSize, earlyStopping: false, progressBar: false, seed: 1 });
      if (r > 0) times.push((performance.now() - t) / batches);
    }
    out[name] = median(times);
    tf.dispose(x === y ? [x] : [x, y]);
    model.dispose();
  };
  for (const [name, shape, filters, pooling] of [
    ['train step: reference CNN 64×64×1 [16,32,64], average pooling, batch 32', [64, 64, 1], [16, 32, 64], 'average'],
    ['train step: diagnosis CNN 64×64×3 [8,16,32], max pooling, batch 32', [64, 64, 3], [8, 16, 32], 'max'],
  ] as const) {
    const n = 128;
    const cnn = buildResidualCnn({ inputShape: [...shape], numClasses: 2, filters: [...filters], pooling, seed: 1 });
    const y = tf.oneHot(tf.tensor1d(Array.from({ length: n }, (_, i) => i % 2), 'int32'), 2);
    await trainStep(name, cnn, tf.randomUniform([n, ...shape], 0, 1, 'float32', 2), y, 32);
  }
  const n = 2048;
  const features = tf.randomNormal([n, 240], 0, 1, 'float32', 3);
  await trainStep('train step: anomaly autoencoder 240→64→24→64→240 (8 signals × window 30), batch 64', buildDenseAutoencoder({ inputDim: 240, hiddenUnits: [64], latentDim: 24, seed: 1 }), features, features, 64);
  const labels = tf.tensor2d(Array.from({ length: n }, (_, i) => i % 2), [n, 1]);
  await trainStep('train step: fraud MLP 30→64→32→1, batch 64', buildMlp({ inputDim: 30, hiddenUnits: [64, 32], task: 'binary', dropout: 0.1, seed: 1 }), tf.randomNormal([n, 30], 0, 1, 'float32', 3), labels, 64);
  return out;
}

function runChild(kernels: 'tfjs' | 'lepton'): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    if (kernels === 'tfjs') env['LEPTON_WASM_KERNELS'] = 'tfjs';
    else delete env['LEPTON_WASM_KERNELS'];
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0) reject(new Error(`wasm-kernels child (${kernels}) exited with ${code}`));
      else resolve(JSON.parse(line) as Record<string, number>);
    });
  });
}

/**
 * Runs both settings `rounds` times, interleaved, and reports the median of each case.
 *
 * @param log - where the table goes
 * @param rounds - child processes per setting
 * @returns one row per case
 */
export async function runWasmKernelsBench(log: (line: string) => void, rounds = 3): Promise<WasmKernelCase[]> {
  const runs: Record<'tfjs' | 'lepton', Record<string, number>[]> = { tfjs: [], lepton: [] };
  for (let r = 0; r < rounds; r++) {
    for (const k of r % 2 === 0 ? (['tfjs', 'lepton'] as const) : (['lepton', 'tfjs'] as const)) runs[k].push(await runChild(k));
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const rows = Object.keys(runs.tfjs[0]!).map((c) => {
    const tfjsMs = median(runs.tfjs.map((x) => x[c]!));
    const leptonMs = median(runs.lepton.map((x) => x[c]!));
    return { case: c, tfjsMs, leptonMs, speedup: tfjsMs / leptonMs };
  });
  log('\nwasm kernels: TF.js 4.22 (LEPTON_WASM_KERNELS=tfjs) vs Lepton, ms per call (train steps: per batch), median of ' + `${rounds} processes each`);
  log('| case | TF.js ms | Lepton ms | TF.js ÷ Lepton |');
  log('| --- | ---: | ---: | ---: |');
  for (const r of rows) log(`| ${r.case} | ${r.tfjsMs.toFixed(2)} | ${r.leptonMs.toFixed(2)} | ${r.speedup.toFixed(2)}× |`);
  return rows;
}

if (CHILD) {
  console.log(JSON.stringify(await measure()));
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await runWasmKernelsBench(console.log);
  console.log(JSON.stringify({ date: new Date().toISOString(), rows }, null, 2));
}
