// Diagnosis CNN and lesion U-Net on the WebGPU code path, on a tiny seeded synthetic CT dataset (no patient data).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime, tf } from '@lepton/core';
import { DiagnosisModel, generateCtDataset, LesionSegmenter, readDicomFile, type DicomImage, type LabelledImage, type MaskedImage } from '@lepton/medical';
import { maxAbsDiff, watchWebgpu, webgpuUnavailable } from '../../../tests/support/webgpu.js';

// On CI the adapter is Mesa's lavapipe, a software Vulkan driver ~10× slower than wasm: tiny sizes throughout.
// Order matters inside this file: everything on wasm first, then webgpu. Tensors move from wasm to webgpu by a wasm
// read; moving back would read the GPU synchronously, which is exactly what these tests forbid.
const unavailable = await webgpuUnavailable();
if (unavailable) console.warn(`medical webgpu tests skipped: the webgpu backend is unavailable here (${unavailable})`);

// Float32 CNNs on the same weights: the backends differ only in summation order and fused kernels. Grad-CAM is
// normalised to [0, 1]; the U-Net's mask is its probability thresholded at 0.5, so a pixel within float noise of 0.5
// may flip: at most 1 % of the pixels may differ.
const TOLERANCE = { probability: 1e-4, heatmap: 1e-3, maskPixelsDiffering: 0.01 };

let dir: string;
let labelled: LabelledImage[] = [];
let masked: MaskedImage[] = [];

beforeAll(async () => {
  if (unavailable) return;
  dir = await mkdtemp(join(tmpdir(), 'lepton-webgpu-ct-'));
  const patients = await generateCtDataset(dir, { patients: 6, slices: 4, size: 32, seed: 3 });
  for (const p of patients) {
    const images: DicomImage[] = await Promise.all(p.files.map((f) => readDicomFile(f)));
    images.forEach((image, k) => {
      labelled.push({ image, label: p.labels[k]!, patientId: p.patientId });
      masked.push({ image, mask: p.phantom.masks[k]! });
    });
  }
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  labelled = [];
  masked = [];
});

describe.skipIf(unavailable !== undefined)('medical on webgpu', () => {
  it(`diagnosis CNN (with Grad-CAM) and lesion U-Net infer as on wasm (${JSON.stringify(TOLERANCE)})`, async () => {
    await initRuntime({ backend: 'wasm' }, {});
    const { model } = await DiagnosisModel.train(labelled, { labels: ['normal', 'nodule'], size: 32, filters: [4, 8], epochs: 2, flipAugment: false, seed: 1 });
    const segmenter = await LesionSegmenter.fit(masked, { size: 32, baseFilters: 4, depth: 2, epochs: 3, seed: 1 });
    const lesion = labelled.findIndex((l) => l.label === 'nodule');
    const image = labelled[lesion]!.image;
    const wasm = { series: await model.predictSeries(labelled.map((l) => l.image)), one: await model.predict(image, { heatmap: true }), mask: await segmenter.predict(image) };

    await initRuntime({ backend: 'webgpu' }, {});
    const watch = watchWebgpu();
    const gpu = { series: await model.predictSeries(labelled.map((l) => l.image)), one: await model.predict(image, { heatmap: true }), mask: await segmenter.predict(image) };
    watch.stop();
    expect(tf.getBackend()).toBe('webgpu');
    expect(watch.switches).toEqual([]);
    expect(watch.gpuSyncReads, watch.sites.join('\n---\n')).toBe(0);
    const differing = gpu.mask.mask.reduce((a, v, i) => a + (v !== wasm.mask.mask[i] ? 1 : 0), 0) / gpu.mask.mask.length;
    const seen = {
      probability: maxAbsDiff(gpu.series.images.map((d) => d.probability), wasm.series.images.map((d) => d.probability)),
      heatmap: maxAbsDiff(gpu.one.heatmap!.data, wasm.one.heatmap!.data),
      maskPixelsDiffering: differing,
    };
    console.log(`medical webgpu vs wasm: ${JSON.stringify(seen)}; lesion pixels wasm ${wasm.mask.pixels}, webgpu ${gpu.mask.pixels}`);
    expect(seen.probability).toBeLessThan(TOLERANCE.probability);
    expect(gpu.series.keyImage).toBe(wasm.series.keyImage);
    expect(seen.heatmap).toBeLessThan(TOLERANCE.heatmap);
    expect(gpu.one.label).toBe(wasm.one.label);
    expect(seen.maskPixelsDiffering).toBeLessThanOrEqual(TOLERANCE.maskPixelsDiffering);
    model.dispose();
    segmenter.dispose();
  });

  it('DiagnosisModel.train (with validation) and LesionSegmenter.fit run on webgpu without one synchronous GPU read', async () => {
    await initRuntime({ backend: 'webgpu' }, {});
    const watch = watchWebgpu();
    try {
      const { model, validation } = await DiagnosisModel.train(labelled, { labels: ['normal', 'nodule'], size: 32, filters: [4], epochs: 1, flipAugment: false, validationFraction: 0.34, seed: 2 });
      expect(validation.n).toBeGreaterThan(0);
      model.dispose();
      const segmenter = await LesionSegmenter.fit(masked.slice(0, 12), { size: 32, baseFilters: 4, depth: 1, epochs: 1, seed: 2 });
      expect((await segmenter.evaluate(masked.slice(12, 14))).perImage).toHaveLength(2);
      segmenter.dispose();
    } finally {
      watch.stop();
    }
    expect(watch.switches, 'training moved off webgpu (a missing kernel?)').toEqual([]);
    expect(watch.gpuSyncReads, `synchronous GPU reads:\n${watch.sites.join('\n---\n')}`).toBe(0);
    console.log(`medical training on webgpu: ${watch.gpuSyncReads} synchronous GPU reads (${watch.syncReads} CPU-side reads by the backend's own CPU kernels)`);
  });
});
