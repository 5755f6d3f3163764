// The detector's engine 'auto' keeps the network on TF.js when the TF.js backend computes on a GPU (runtimeInfo().gpu),
// and moves it to ONNX Runtime on a CPU backend. No GPU on CI: the GPU case is a test double, a loader for the pure-JS
// 'cpu' backend that reports itself as a GPU (this file's module state only).
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { registerBackendLoader } from '@lepton/core';
import { initRuntime, ObjectDetector, type Frame } from '@lepton/surveillance';
import { writeConstantYolo } from './support/graph-model.js';

// onnxruntime-node is an optional peer of @lepton/core; resolve it from there, as the detector does.
const ort = ((): boolean => {
  try {
    createRequire(createRequire(import.meta.url).resolve('@lepton/core')).resolve('onnxruntime-node');
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!ort)("detector engine 'auto' and the GPU", () => {
  let dir = '';
  afterAll(async () => {
    await initRuntime({ backend: 'wasm' }, {});
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs on ONNX Runtime on wasm, on TF.js on a backend that computes on a GPU, with the same detections', async () => {
    dir = await mkdtemp(join(tmpdir(), 'lepton-auto-gpu-'));
    const model = { modelPath: await writeConstantYolo(dir), labels: ['person', 'dog'], decode: 'yolov8' as const };
    const frame: Frame = { camera: 'yard', index: 0, sourceIndex: 0, time: 0, wallTime: 0, width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(90) };
    const detectOn = async (): Promise<{ engine: string; fallback: unknown; found: unknown }> => {
      const detector = await ObjectDetector.load({ model, engine: 'auto', classes: ['person'], batchSize: 1 });
      try {
        return { engine: detector.engine, fallback: detector.engineFallback, found: await detector.detect([frame]) };
      } finally {
        await detector.close();
      }
    };
    await initRuntime({ backend: 'wasm' }, {});
    const cpu = await detectOn();
    expect(cpu.engine).toBe('onnx');
    registerBackendLoader('cpu', async () => ({ ok: true, device: 'test double of a GPU', gpu: true }), 10);
    expect((await initRuntime({ backend: 'cpu' }, {})).gpu).toBe(true);
    const gpu = await detectOn();
    expect(gpu.engine).toBe('tfjs');
    expect(gpu.fallback).toBeUndefined();
    expect(gpu.found).toEqual(cpu.found);
    expect((gpu.found as unknown[][])[0]).toHaveLength(1); // the constant 'person' box
  });
});
