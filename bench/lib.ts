// Benchmark suite for @lepton/core, shared by `pnpm bench` (bench/run.ts) and the GPU-machine entry (bench/gpu.ts).
// Speed is measured here, never asserted in tests. Every figure is the median of timed repetitions after warm-up.
import {
  buildMlp,
  buildResidualCnn,
  createPredictor,
  initRuntime,
  runtimeInfo,
  tf,
  train,
  type BackendName,
} from '@lepton/core';

/** The reference CNN of the issue: residual CNN on 64×64×1 images, 2 classes. */
export const CNN_SHAPE: [number, number, number] = [64, 64, 1];
export const MLP_FEATURES = 32;

export interface Row {
  backend: string;
  device: string;
  case: string;
  batch: number;
  /** Throughput in items (images, rows or requests) per second. */
  perSecond: number;
  /** Median milliseconds per timed repetition. */
  msPerIteration: number;
  iterations: number;
}

export interface SuiteOptions {
  /** Seconds each measurement keeps repeating (after at least `minIterations`). */
  seconds: number;
  minIterations: number;
  log: (line: string) => void;
}

async function timeIt(fn: () => Promise<void>, opts: SuiteOptions, warmup = 1): Promise<{ median: number; iterations: number }> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  const until = performance.now() + opts.seconds * 1000;
  while (times.length < opts.minIterations || performance.now() < until) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
    if (times.length >= 200) break;
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)]!, iterations: times.length };
}

function row(backend: string, device: string, name: string, batch: number, items: number, t: { median: number; iterations: number }): Row {
  return { backend, device, case: name, batch, perSecond: (items * 1000) / t.median, msPerIteration: t.median, iterations: t.iterations };
}

/** Forward passes of a model at a batch size; reads the result back so GPU work is really finished. */
async function inference(model: tf.LayersModel, shape: number[], batch: number, opts: SuiteOptions): Promise<{ median: number; iterations: number }> {
  const x = tf.randomUniform([batch, ...shape], 0, 1, 'float32', 1);
  const t = await timeIt(async () => {
    const y = model.predict(x) as tf.Tensor;
    await y.data();
    y.dispose();
  }, opts);
  x.dispose();
  return t;
}

/** `callers` concurrent clients, each sending `perCaller` requests one after another. */
async function predictorLoad(model: tf.LayersModel, shape: number[], callers: number, perCaller: number, maxBatchSize: number): Promise<number> {
  const predictor = await createPredictor(model, { maxBatchSize, maxWaitMs: 1, maxQueue: 100_000 });
  const sample = new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.5);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (let i = 0; i < perCaller; i++) await predictor.predict(sample);
    }),
  );
  const ms = performance.now() - t0;
  await predictor.close();
  return ms;
}

/**
 * Runs every case on one backend and returns the rows. Heavy cases scale down on the pure-JS `cpu` backend so the
 * whole suite stays within minutes on a 2-core machine; the figures stay per-item comparable.
 */
export async function runSuite(backend: BackendName, opts: SuiteOptions): Promise<Row[]> {
  await initRuntime({ backend }, {});
  const device = runtimeInfo().device;
  const slow = backend === 'cpu';
  const rows: Row[] = [];
  const add = (r: Row): void => {
    rows.push(r);
    opts.log(`  ${r.backend.padEnd(7)} ${r.case.padEnd(28)} batch ${String(r.batch).padStart(4)}  ${r.perSecond.toFixed(1).padStart(10)} /s`);
  };
  const cnn = buildResidualCnn({ inputShape: CNN_SHAPE, numClasses: 2, seed: 1 });
  const mlp = buildMlp({ inputDim: MLP_FEATURES, hiddenUnits: [64, 32], seed: 1 });

  for (const batch of [1, 64]) {
    add(row(backend, device, 'cnn inference images/s', batch, batch, await inference(cnn, CNN_SHAPE, batch, { ...opts, minIterations: slow ? 1 : opts.minIterations })));
  }
  for (const batch of [1, 1024]) add(row(backend, device, 'mlp inference rows/s', batch, batch, await inference(mlp, [MLP_FEATURES], batch, opts)));

  // Training throughput: one epoch over a fixed synthetic set, timed per epoch. Skipped for the CNN on the pure-JS
  // backend: one epoch of 32 images took 342 s there (its convolution gradients are naive loops).
  if (!slow) {
    const n = 128;
    const x = tf.randomUniform([n, ...CNN_SHAPE], 0, 1, 'float32', 2);
    const y = tf.oneHot(tf.tensor1d(Array.from({ length: n }, (_, i) => i % 2), 'int32'), 2);
    const t = await timeIt(async () => {
      await train(cnn, { x, y }, { epochs: 1, batchSize: 32, earlyStopping: false, progressBar: false, seed: 1 });
    }, { ...opts, minIterations: 2 });
    add(row(backend, device, 'cnn training samples/s', 32, n, t));
    tf.dispose([x, y]);
  }
  {
    const n = 8192;
    const x = tf.randomNormal([n, MLP_FEATURES], 0, 1, 'float32', 3);
    const y = tf.cast(tf.greater(tf.slice(x, [0, 0], [-1, 1]), 0), 'float32');
    const t = await timeIt(async () => {
      await train(mlp, { x, y }, { epochs: 1, batchSize: 256, earlyStopping: false, progressBar: false, seed: 1 });
    }, { ...opts, minIterations: 2 });
    add(row(backend, device, 'mlp training samples/s', 256, n, t));
    tf.dispose([x, y]);
  }

  // Predictor: one caller at a time (every request its own forward pass) vs 64 concurrent callers (batched).
  for (const [name, model, shape] of [
    ['mlp', mlp, [MLP_FEATURES]],
    ['cnn', cnn, CNN_SHAPE],
  ] as const) {
    const total = name === 'cnn' ? (slow ? 64 : 512) : 4096;
    const singleCount = slow && name === 'cnn' ? 8 : Math.min(total, 1024);
    const single = await predictorLoad(model, [...shape], 1, singleCount, 64);
    add(row(backend, device, `${name} predictor 1 caller`, 1, singleCount, { median: single, iterations: 1 }));
    const concurrent = await predictorLoad(model, [...shape], 64, total / 64, 64);
    add(row(backend, device, `${name} predictor 64 callers`, 64, total, { median: concurrent, iterations: 1 }));
  }
  cnn.dispose();
  mlp.dispose();
  return rows;
}

export interface Ratio {
  name: string;
  value: number;
  target?: number;
  met?: boolean;
}

function find(rows: Row[], backend: string, name: string, batch: number): Row | undefined {
  return rows.find((r) => r.backend === backend && r.case === name && r.batch === batch);
}

/** The ratios the core issue sets targets for, from whatever backends were measured. */
export function ratios(rows: Row[]): Ratio[] {
  const out: Ratio[] = [];
  const wasm = find(rows, 'wasm', 'cnn inference images/s', 64);
  const cpu = find(rows, 'cpu', 'cnn inference images/s', 64);
  if (wasm && cpu) out.push({ name: 'wasm ÷ cpu, CNN inference batch 64', value: wasm.perSecond / cpu.perSecond, target: 20 });
  for (const backend of [...new Set(rows.map((r) => r.backend))]) {
    for (const model of ['mlp', 'cnn']) {
      const one = find(rows, backend, `${model} predictor 1 caller`, 1);
      const many = find(rows, backend, `${model} predictor 64 callers`, 64);
      if (one && many) out.push({ name: `${backend}: ${model} predictor 64 callers ÷ 1 caller`, value: many.perSecond / one.perSecond, target: 5 });
    }
  }
  return out.map((r) => (r.target === undefined ? r : { ...r, met: r.value >= r.target }));
}

/** Markdown-style table of rows. */
export function table(rows: Row[]): string {
  const lines = ['| backend | device | case | batch | per second | ms / iteration |', '| --- | --- | --- | ---: | ---: | ---: |'];
  for (const r of rows) {
    lines.push(`| ${r.backend} | ${r.device} | ${r.case} | ${r.batch} | ${r.perSecond.toFixed(1)} | ${r.msPerIteration.toFixed(2)} |`);
  }
  return lines.join('\n');
}
