import { afterAll, describe, expect, it } from 'vitest';
import { initRuntime, tf } from '@lepton/core';
import { FraudModel, generatePrices, indicatorFeatures, walkForward } from '@lepton/finance';
import { fraudDataset } from './support/dataset.js';
import { maxAbsDiff, watchWebgpu, webgpuUnavailable } from '../../../tests/support/webgpu.js';

// The WebGPU code path (on CI: Mesa's lavapipe, a software Vulkan driver, ~10× slower than wasm — so tiny sizes).
// Order matters inside this file: everything on wasm first, then webgpu. Tensors move from wasm to webgpu by a wasm
// read; moving back would read the GPU synchronously, which is exactly what these tests forbid.
const unavailable = await webgpuUnavailable();
if (unavailable) console.warn(`finance webgpu tests skipped: the webgpu backend is unavailable here (${unavailable})`);

// A float32 MLP on the same weights: webgpu and wasm differ only by summation order and fused kernels.
const TOLERANCE = 1e-4;

describe.skipIf(unavailable !== undefined)('finance on webgpu', () => {
  let model: FraudModel | undefined;
  afterAll(() => model?.dispose());

  it(`fraud MLP + autoencoder: the same scores as on wasm (within ${TOLERANCE})`, async () => {
    await initRuntime({ backend: 'wasm' }, {});
    const data = await fraudDataset(40, 12, 5);
    // Platt calibration: smooth, so calibrated probabilities can be compared too (isotonic steps could amplify 1e-7).
    ({ model } = await FraudModel.train(data.train, data.validation, { featureNames: data.engine.names, seed: 3, epochs: 2, calibration: 'platt' }));
    const rows = data.test.rows.slice(0, 64);
    const onWasm = await model.score(rows);
    await initRuntime({ backend: 'webgpu' }, {});
    const watch = watchWebgpu();
    const onGpu = await model.score(rows);
    watch.stop();
    expect(tf.getBackend()).toBe('webgpu');
    expect(watch.gpuSyncReads, watch.sites.join('\n---\n')).toBe(0);
    console.log(`fraud scores webgpu vs wasm: supervised ${maxAbsDiff(onGpu.map((s) => s.supervised), onWasm.map((s) => s.supervised)).toExponential(2)}, probability ${maxAbsDiff(onGpu.map((s) => s.probability), onWasm.map((s) => s.probability)).toExponential(2)}`);
    expect(maxAbsDiff(onGpu.map((s) => s.supervised), onWasm.map((s) => s.supervised))).toBeLessThan(TOLERANCE);
    expect(maxAbsDiff(onGpu.map((s) => s.probability), onWasm.map((s) => s.probability))).toBeLessThan(TOLERANCE);
    // The anomaly part is a percentile among 1001 quantiles: a reconstruction error within float noise of a quantile
    // may land one step (0.001) away.
    expect(maxAbsDiff(onGpu.map((s) => s.anomaly), onWasm.map((s) => s.anomaly))).toBeLessThanOrEqual(0.001 + 1e-9);
  });

  it('FraudModel.train and walkForward train on webgpu without one synchronous GPU read', async () => {
    await initRuntime({ backend: 'webgpu' }, {});
    const data = await fraudDataset(20, 10, 7);
    const features = indicatorFeatures(generatePrices({ bars: 160, seed: 4 }));
    const watch = watchWebgpu();
    try {
      const { model: small, report } = await FraudModel.train(data.train, data.validation, { featureNames: data.engine.names, seed: 1, epochs: 1, hiddenUnits: [8] });
      const scores = await small.score(data.test.rows.slice(0, 8));
      small.dispose();
      const folds = await walkForward(features, { target: 'direction', folds: 1, epochs: 1, window: 8, kind: 'tcn' });
      expect(report.supervised.backend).toMatchObject({ backend: 'webgpu', switched: false, missing: [] });
      expect(report.autoencoder?.backend).toMatchObject({ backend: 'webgpu', switched: false, missing: [] });
      expect(scores.every((s) => Number.isFinite(s.probability))).toBe(true);
      expect(folds).toHaveLength(1);
    } finally {
      watch.stop();
    }
    expect(watch.switches, 'training moved off webgpu (a missing kernel?)').toEqual([]);
    expect(watch.gpuSyncReads, `synchronous GPU reads:\n${watch.sites.join('\n---\n')}`).toBe(0);
    console.log(`finance training on webgpu: ${watch.gpuSyncReads} synchronous GPU reads (${watch.syncReads} CPU-side reads by the backend's own CPU kernels)`);
  });
});
