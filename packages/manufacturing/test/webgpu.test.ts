import { describe, expect, it } from 'vitest';
import { initRuntime, tf } from '@lepton/core';
import {
  AnomalyDetector,
  DefectClassifier,
  DefectInspector,
  generateParts,
  generateRunToFailure,
  LINE_SIGNALS,
  LineMonitor,
  lineRecords,
  PART_LABELS,
  RulModel,
  simulateLine,
} from '@lepton/manufacturing';
import { machine, SIGNALS } from './support/line.js';
import { maxAbsDiff, watchWebgpu, webgpuUnavailable } from '../../../tests/support/webgpu.js';

// The WebGPU code path (on CI: Mesa's lavapipe, a software Vulkan driver, ~10× slower than wasm — so tiny sizes).
// Order matters inside this file: everything on wasm first, then webgpu. Tensors move from wasm to webgpu by a wasm
// read; moving back would read the GPU synchronously, which is exactly what these tests forbid.
const unavailable = await webgpuUnavailable();
if (unavailable) console.warn(`manufacturing webgpu tests skipped: the webgpu backend is unavailable here (${unavailable})`);

/** Relative difference, for values whose scale varies (reconstruction errors, z-scores). */
const relDiff = (a: readonly number[], b: readonly number[]): number => Math.max(...a.map((v, i) => Math.abs(v - b[i]!) / Math.max(1e-3, Math.abs(b[i]!))));

// Float32 models on the same weights: the backends differ only in summation order and fused kernels.
const TOLERANCE = { anomalyRelative: 1e-3, health: 1e-4, inspectorScoreRelative: 1e-3, heatmap: 1e-2 };

describe.skipIf(unavailable !== undefined)('manufacturing on webgpu', () => {
  it(`anomaly autoencoder, RUL GRU and defect inspector infer as on wasm (${JSON.stringify(TOLERANCE)})`, async () => {
    await initRuntime({ backend: 'wasm' }, {});
    const detector = await AnomalyDetector.fit(machine(600, 1), { signals: SIGNALS, window: 10, epochs: 2, seed: 2 });
    const rows = machine(60, 7, { kind: 'step-pressure', from: 30 });
    const rul = await RulModel.fit(generateRunToFailure({ units: 4, seed: 5 }), { window: 10, epochs: 6, seed: 2 });
    // Cut at several points of life, so predictions are inside (0, 1) and not clamped to a bound on both backends.
    const engine = generateRunToFailure({ units: 1, seed: 6 })[0]!.rows;
    const histories = [0.3, 0.6, 0.8, 0.9].map((f) => engine.slice(0, Math.floor(engine.length * f)));
    const inspector = await DefectInspector.fit(generateParts(20, { seed: 11 }).map((p) => p.image), { epochs: 1, seed: 3 });
    const parts = generateParts(4, { seed: 99, labels: PART_LABELS }).map((p) => p.image);
    const wasm = { anomaly: await detector.scoreRows(rows), rul: await rul.predict(histories), inspection: await inspector.inspectBatch(parts) };

    await initRuntime({ backend: 'webgpu' }, {});
    const watch = watchWebgpu();
    const gpu = { anomaly: await detector.scoreRows(rows), rul: await rul.predict(histories), inspection: await inspector.inspectBatch(parts) };
    watch.stop();
    expect(tf.getBackend()).toBe('webgpu');
    expect(watch.switches).toEqual([]);
    expect(watch.gpuSyncReads, watch.sites.join('\n---\n')).toBe(0);
    const seen = {
      anomalyRelative: relDiff(gpu.anomaly.map((s) => s.score), wasm.anomaly.map((s) => s.score)),
      health: maxAbsDiff(gpu.rul.map((p) => p.health), wasm.rul.map((p) => p.health)),
      inspectorScoreRelative: relDiff(gpu.inspection.map((r) => r.score), wasm.inspection.map((r) => r.score)),
      heatmap: Math.max(...gpu.inspection.map((r, i) => maxAbsDiff(r.heatmap, wasm.inspection[i]!.heatmap))),
    };
    console.log(`manufacturing webgpu vs wasm: ${JSON.stringify(seen)}`);
    expect(seen.anomalyRelative).toBeLessThan(TOLERANCE.anomalyRelative);
    expect(gpu.anomaly.map((s) => s.alarm)).toEqual(wasm.anomaly.map((s) => s.alarm));
    expect(seen.health).toBeLessThan(TOLERANCE.health);
    expect(seen.inspectorScoreRelative).toBeLessThan(TOLERANCE.inspectorScoreRelative);
    expect(seen.heatmap).toBeLessThan(TOLERANCE.heatmap);
    expect(gpu.inspection.map((r) => r.defective)).toEqual(wasm.inspection.map((r) => r.defective));
    detector.dispose();
    rul.dispose();
    inspector.dispose();
  });

  it('every trainer and the line monitor run on webgpu without one synchronous GPU read', async () => {
    await initRuntime({ backend: 'webgpu' }, {});
    const line = simulateLine({ assets: ['press-1', 'press-2'], samples: 400, seed: 1 });
    const shift = simulateLine({ assets: ['press-1', 'press-2'], samples: 60, seed: 2 });
    const watch = watchWebgpu();
    try {
      const detector = await AnomalyDetector.fitSeries(Object.values(line.rows), { signals: [...LINE_SIGNALS], window: 10, epochs: 1, seed: 1 });
      const monitor = new LineMonitor({ signals: LINE_SIGNALS, detector });
      for (const r of lineRecords(shift)) await monitor.push(r);
      await monitor.flush();
      expect(monitor.stats().windowsScored).toBeGreaterThan(0);
      expect((await detector.stream().push(line.rows['press-1']![0]!))).toBeUndefined();
      detector.dispose();
      const fleet = generateRunToFailure({ units: 3, seed: 5 });
      const rul = await RulModel.fit(fleet.slice(0, 2), { window: 8, epochs: 1, seed: 2 });
      expect(Number.isFinite((await rul.predict([fleet[2]!.rows.slice(0, 40)]))[0]!.rul)).toBe(true);
      rul.dispose();
      const inspector = await DefectInspector.fit(generateParts(20, { seed: 11 }).map((p) => p.image), { epochs: 1, seed: 3 });
      const part = generateParts(1, { seed: 5, labels: ['scratch'] })[0]!.image;
      expect((await inspector.overlayPng(part)).subarray(1, 4).toString()).toBe('PNG');
      inspector.dispose();
      const classifier = await DefectClassifier.fit(generateParts(12, { seed: 21, labels: PART_LABELS }), { epochs: 1, batchSize: 6, seed: 3 });
      expect((await classifier.evaluate(generateParts(3, { seed: 77, labels: PART_LABELS }))).confusion.matrix.flat().reduce((a, b) => a + b, 0)).toBe(3);
      expect((await classifier.explain(part)).data).toHaveLength(64 * 64);
      classifier.dispose();
    } finally {
      watch.stop();
    }
    expect(watch.switches, 'training moved off webgpu (a missing kernel?)').toEqual([]);
    expect(watch.gpuSyncReads, `synchronous GPU reads:\n${watch.sites.join('\n---\n')}`).toBe(0);
    console.log(`manufacturing on webgpu: ${watch.gpuSyncReads} synchronous GPU reads (${watch.syncReads} CPU-side reads by the backend's own CPU kernels)`);
  });
});
