// A batch the WebGPU device refuses (a buffer over its storage-binding limit: 128 MiB on lavapipe, CI's adapter) is run
// again as halves built from the frames' own bytes, and later batches stay at the size that ran. The model is written
// here so that one frame's intermediate tensor is 40 % of the device's limit: two frames fit, three do not. Every
// frame's detection is computed independently in JavaScript from its pixels, so a half that read another frame's
// data, or zeros, fails. Skipped where no WebGPU adapter exists, or where the limit is too large to cross cheaply.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { initRuntime, ObjectDetector, seededRandom, tf, type Frame } from '@lepton/surveillance';
import { placeholder, writeGraphModel } from './support/graph-model.js';
import { watchWebgpu, webgpuUnavailable } from '../../../tests/support/webgpu.js';

const SIDE = 64;
const PIXELS = SIDE * SIDE * 3; // the model input's values per frame

/** The device's storage-binding limit, when webgpu runs here. */
async function bindingLimit(): Promise<number | undefined> {
  if ((await webgpuUnavailable()) !== undefined) return undefined;
  const limit = (tf.backend() as unknown as { device?: { limits?: { maxStorageBufferBindingSize?: number } } }).device?.limits?.maxStorageBufferBindingSize;
  await initRuntime({ backend: 'wasm' }, {});
  return limit;
}

const limit = await bindingLimit();
const crossable = limit !== undefined && limit <= 256 * 2 ** 20;
if (!crossable) console.warn(`webgpu-refused: skipped (${limit === undefined ? 'no WebGPU adapter' : `binding limit ${limit} B is too large to cross cheaply`})`);

/** Frames with seeded pixels whose means differ (each frame's detection is placed by its mean). */
function frames(n: number): Frame[] {
  return Array.from({ length: n }, (_, i) => {
    const rand = seededRandom(40 + i);
    const data = Uint8Array.from({ length: PIXELS }, () => Math.floor(rand() * (60 + 40 * i)));
    return { camera: `cam-${i}`, index: i, sourceIndex: i, time: 0, wallTime: 0, width: SIDE, height: SIDE, data };
  });
}

/** Where the model's decoder puts a frame's box: x1 = 32 × (mean pixel ÷ 255). */
const expectedX1 = (f: Frame): number => (f.data.reduce((s, v) => s + v, 0) / PIXELS / 255) * 32;

describe.skipIf(!crossable)('a batch the WebGPU device refuses', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await initRuntime({ backend: 'wasm' }, {});
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('runs again as halves from the frames, gives each frame its own detection, and keeps the smaller batch', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lepton-refused-'));
    dirs.push(dir);
    // [b, 12288, 1] × [1, 1, K] → [b, 12288, K]: K chosen so one frame's product is 40 % of the binding limit.
    const k = Math.floor(limit! / 4 / PIXELS / 2.5);
    const T = { T: { type: 'DT_FLOAT' } };
    const modelPath = await writeGraphModel(
      dir,
      [
        placeholder('images', [-1, SIDE, SIDE, 3]),
        { name: 'column', op: 'Reshape', input: ['images', 'column_shape'], attr: { ...T, Tshape: { type: 'DT_INT32' } } },
        { name: 'product', op: 'Mul', input: ['column', 'spread'], attr: T },
        { name: 'total', op: 'Sum', input: ['product', 'axes'], attr: { ...T, Tidx: { type: 'DT_INT32' }, keep_dims: { b: false } } },
      ],
      [
        { name: 'column_shape', dtype: 'int32', shape: [3], values: [-1, PIXELS, 1] },
        { name: 'spread', dtype: 'float32', shape: [1, 1, k], values: new Array<number>(k).fill(1 / k) },
        { name: 'axes', dtype: 'int32', shape: [2], values: [1, 2] },
      ],
    );
    const decode = async (outputs: tf.Tensor[], ctx: { batchSize: number }) => {
      const totals = await outputs[0]!.data();
      return Array.from({ length: ctx.batchSize }, (_, b) => {
        const x1 = (totals[b]! / PIXELS / 255) * 32;
        return [{ classIndex: 0, score: 0.9, x1, y1: 0, x2: x1 + 16, y2: 16 }];
      });
    };
    const model = { modelPath, labels: ['thing'], decode, outputs: ['total'], inputScale: 1 };
    const input = frames(5);

    await initRuntime({ backend: 'webgpu' }, {});
    const watch = watchWebgpu();
    const detector = await ObjectDetector.load({ model, batchSize: 4 });
    try {
      expect(detector.batchMode).toBe('batched'); // the load-time check ran a batch of two: it fits
      const found = await detector.detect(input);
      // 4 frames refused (160 % of the limit), run as 2 + 2; the fifth frame alone
      expect(detector.stats.refusedBatches).toBe(1);
      expect(detector.batchSize).toBe(2);
      expect(detector.stats.frames).toBe(5);
      found.forEach((dets, i) => {
        expect(dets, `frame ${i}`).toHaveLength(1);
        expect(dets[0]!.box.x).toBeCloseTo(expectedX1(input[i]!), 2);
      });
      // the next call batches two at a time and is refused no more
      const again = await detector.detect(input.slice(0, 4));
      expect(detector.stats.refusedBatches).toBe(1);
      expect(again.map((d) => d[0]!.box.x)).toEqual(found.slice(0, 4).map((d) => d[0]!.box.x));
    } finally {
      detector.dispose();
      watch.stop();
    }
    expect(watch.gpuSyncReads).toBe(0);
    expect(watch.switches).toEqual([]);
  });
});
