import {
  buildDenseAutoencoder,
  buildFusionModel,
  buildLstmAutoencoder,
  buildMlp,
  buildResidualCnn,
  buildSequenceModel,
  buildUnet,
  initRuntime,
  seededRandom,
  tf,
} from '@lepton/core';

/** Samples per case: two batches of 8 for one training epoch (validation split 0.25 holds out 4). */
export const SAMPLES = 16;

type Model = ReturnType<typeof buildMlp>;

/** Plain numbers for one tensor, so every backend builds its own tensor from the very same values. */
export interface Values {
  shape: number[];
  values: Float32Array;
}

/** One core builder at a tiny size, with seeded inputs and targets. */
export interface ParityCase {
  name: string;
  build: () => Model;
  x: Values[];
  y: Values;
}

function normal(rand: () => number, shape: number[]): Values {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return { shape, values };
}

/** Binary targets from the sign of the first value of each sample (so the task is learnable, not noise). */
function signOf(x: Values, shape: number[]): Values {
  const per = x.values.length / x.shape[0]!;
  const out = shape.reduce((a, b) => a * b, 1) / shape[0]!;
  const values = new Float32Array(shape[0]! * out);
  for (let i = 0; i < shape[0]!; i++) values.fill(x.values[i * per]! > 0 ? 1 : 0, i * out, (i + 1) * out);
  return { shape, values };
}

function oneHot(rand: () => number, n: number, k: number): Values {
  const values = new Float32Array(n * k);
  for (let i = 0; i < n; i++) values[i * k + Math.floor(rand() * k)] = 1;
  return { shape: [n, k], values };
}

/**
 * Every core builder (MLP, residual CNN, U-Net, TCN with causal convolutions, LSTM, GRU, dense and LSTM autoencoders,
 * early-fusion models with image/tabular/GRU and embedding/causal-conv branches), at sizes lavapipe runs in seconds.
 * Dropout is off so that one training epoch depends only on data, weights and seed.
 */
export function parityCases(seed = 17): ParityCase[] {
  const rand = seededRandom(seed);
  const n = SAMPLES;
  const image = normal(rand, [n, 8, 8, 1]);
  const tab = normal(rand, [n, 6]);
  const seq = normal(rand, [n, 8, 2]);
  const short = normal(rand, [n, 5, 2]);
  const small = normal(rand, [n, 3]);
  const emb = normal(rand, [n, 4]);
  return [
    {
      name: 'mlp',
      build: () => buildMlp({ inputDim: 6, hiddenUnits: [8], batchNorm: true, dropout: 0, task: 'binary', seed: 1 }),
      x: [tab],
      y: signOf(tab, [n, 1]),
    },
    {
      name: 'residual-cnn',
      build: () => buildResidualCnn({ inputShape: [8, 8, 1], numClasses: 3, filters: [2, 4], dropout: 0, seed: 2 }),
      x: [image],
      y: oneHot(rand, n, 3),
    },
    {
      name: 'unet',
      build: () => buildUnet({ inputShape: [8, 8, 1], baseFilters: 2, depth: 1, seed: 3 }),
      x: [image],
      y: signOf(image, [n, 8, 8, 1]),
    },
    { name: 'tcn', build: () => buildSequenceModel({ kind: 'tcn', timesteps: 8, features: 2, units: [4, 4], dropout: 0, seed: 4 }), x: [seq], y: normal(rand, [n, 1]) },
    { name: 'lstm', build: () => buildSequenceModel({ kind: 'lstm', timesteps: 8, features: 2, units: [4], dropout: 0, seed: 5 }), x: [seq], y: normal(rand, [n, 1]) },
    {
      name: 'gru',
      build: () => buildSequenceModel({ kind: 'gru', timesteps: 8, features: 2, units: [4], task: 'forecast', horizon: 2, dropout: 0, seed: 6 }),
      x: [seq],
      y: normal(rand, [n, 2, 1]),
    },
    { name: 'dense-autoencoder', build: () => buildDenseAutoencoder({ inputDim: 6, hiddenUnits: [4], latentDim: 2, seed: 7 }), x: [tab], y: tab },
    { name: 'lstm-autoencoder', build: () => buildLstmAutoencoder({ timesteps: 5, features: 2, units: 4, latentDim: 2, seed: 8 }), x: [short], y: short },
    {
      name: 'fusion-image-tabular-gru',
      build: () =>
        buildFusionModel({
          image: { shape: [8, 8, 1], filters: [2] },
          tabular: { features: 3, units: [4] },
          sequence: { kind: 'gru', timesteps: 5, features: 2, units: [3] },
          headUnits: [4],
          dropout: 0,
          seed: 9,
        }),
      x: [image, small, short],
      y: signOf(small, [n, 1]),
    },
    {
      name: 'fusion-embedding-conv',
      build: () =>
        buildFusionModel({
          embedding: { dim: 4, units: [4] },
          sequence: { kind: 'conv', timesteps: 8, features: 2, units: [3] },
          headUnits: [4],
          task: 'regression',
          dropout: 0,
          seed: 10,
        }),
      x: [emb, seq],
      y: normal(rand, [n, 1]),
    },
  ];
}

/** A tensor (on the active backend) from plain values. */
export const tensorOf = (v: Values): tf.Tensor => tf.tensor(v.values, v.shape, 'float32');

/** The first sample of `v` as a tensor without the batch axis. */
export function firstSample(v: Values): tf.Tensor {
  const per = v.values.length / v.shape[0]!;
  return tf.tensor(v.values.subarray(0, per), v.shape.slice(1), 'float32');
}

/**
 * Tries the WebGPU backend (Dawn; on a machine without a GPU, Mesa's lavapipe). Explicit, never `auto`: `auto` refuses
 * software adapters.
 *
 * @returns null when it initialised, else why not (to show in the skipped suite's name)
 */
export async function webgpuUnavailable(): Promise<string | null> {
  try {
    await initRuntime({ backend: 'webgpu' }, {});
    return null;
  } catch (err) {
    return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 200);
  }
}

/** A synchronous read that reached the GPU, with where it came from. */
export interface SyncRead {
  dtype: string;
  shape: number[];
  stack: string;
}

interface GpuTensorData {
  values?: unknown;
  dtype?: string;
  shape?: number[];
}
interface WrappableBackend {
  readSync(dataId: object): unknown;
  tensorMap?: { has(dataId: object): boolean; get(dataId: object): GpuTensorData | undefined };
}

/**
 * Runs `fn` with the `webgpu` backend instance's `readSync` wrapped: a call that would download from the GPU (the
 * values are not already cached on the CPU side) is recorded and throws. Calls served from the CPU cache (after an
 * awaited `data()`, or for data never uploaded) pass: they are not GPU reads. Other backends run `fn` unwrapped.
 *
 * @returns what `fn` returned and every GPU read it attempted
 */
export async function withoutSyncReads<T>(backend: string, fn: () => Promise<T>): Promise<{ value: T; syncReads: SyncRead[] }> {
  const syncReads: SyncRead[] = [];
  if (backend !== 'webgpu') return { value: await fn(), syncReads };
  const instance = tf.findBackend('webgpu') as unknown as WrappableBackend;
  // Without its tensor map the wrapper could not tell a GPU read from a cached one and would pass everything.
  if (typeof instance?.tensorMap?.has !== 'function') throw new Error('the webgpu backend has no tensorMap: update withoutSyncReads for this TF.js version');
  const original = instance.readSync;
  instance.readSync = function (this: WrappableBackend, dataId: object): unknown {
    // has() first: DataStorage.get() of an unknown id would itself move data between backends.
    const d = instance.tensorMap!.has(dataId) ? instance.tensorMap!.get(dataId) : undefined;
    if (d !== undefined && d.values == null && d.dtype !== 'string') {
      const stack = new Error().stack ?? '';
      syncReads.push({ dtype: String(d.dtype), shape: d.shape ?? [], stack });
      throw new Error(`synchronous GPU read (readSync) on webgpu; read with await data() instead:\n${stack}`);
    }
    return original.call(instance, dataId);
  };
  try {
    return { value: await fn(), syncReads };
  } finally {
    instance.readSync = original;
  }
}

/** Largest |a − b| − rtol·|b| over the elements (≤ atol means the arrays agree); and where. */
export function worst(a: ArrayLike<number>, b: ArrayLike<number>, rtol: number): { excess: number; index: number; a: number; b: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let out = { excess: -Infinity, index: -1, a: NaN, b: NaN };
  for (let i = 0; i < a.length; i++) {
    const excess = Math.abs(a[i]! - b[i]!) - rtol * Math.abs(b[i]!);
    if (!(excess <= out.excess)) out = { excess: Number.isNaN(excess) ? Infinity : excess, index: i, a: a[i]!, b: b[i]! };
  }
  return out;
}
