// The `workers` option of DiagnosisModel: images scored on worker threads must get exactly the probabilities of the
// model in this thread (bitwise on wasm), close() must end every thread, and a bad count is refused before any work.
// A small CNN on a seeded synthetic CT dataset (no patient data), so the file runs in seconds on two cores.
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime } from '@lepton/core';
import { DiagnosisModel, generateCtDataset, readDicomFile, type DicomImage, type DiagnosisTrainResult, type LabelledImage } from '@lepton/medical';

// Worker threads are OS threads: on Linux /proc/self/task lists them, which shows whether close() really ended them.
const threads = (): number => (existsSync('/proc/self/task') ? readdirSync('/proc/self/task').length : Number.NaN);
const HAVE_PROC = !Number.isNaN(threads());

const OPTIONS = { labels: ['normal', 'nodule'], size: 32, filters: [4, 8], epochs: 2, seed: 1 };
let dir: string;
let series: DicomImage[][];
let data: LabelledImage[];
let local: DiagnosisTrainResult;
let pooled: DiagnosisModel;

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
  dir = await mkdtemp(join(tmpdir(), 'lepton-dx-workers-'));
  const patients = await generateCtDataset(join(dir, 'ct'), { patients: 8, slices: 6, size: 48, seed: 3 });
  series = await Promise.all(patients.map((p) => Promise.all(p.files.map((f) => readDicomFile(f)))));
  data = patients.flatMap((p, i) => series[i]!.map((image, s) => ({ image, label: p.labels[s]!, patientId: p.patientId })));
  local = await DiagnosisModel.train(data, OPTIONS);
  await local.model.save(join(dir, 'model'));
  pooled = await DiagnosisModel.load(join(dir, 'model'), { workers: 2 });
}, 60_000);

afterAll(async () => {
  local?.model.dispose();
  await pooled?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('DiagnosisModel on 2 workers', () => {
  it('refuses a bad worker count with INVALID_ARGUMENT, before any training or loading', async () => {
    for (const workers of [0, -2, 1.5, 257, Number.NaN, '4', 'all', null] as never[]) {
      await expect(DiagnosisModel.train(data, { ...OPTIONS, workers })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('workers') });
      await expect(DiagnosisModel.load('/nonexistent', { workers })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
  });

  it('predictSeries, predict and evaluate equal the in-thread answers bitwise; the heatmap is the same too', async () => {
    expect([local.model.workers, pooled.workers]).toEqual([1, 2]);
    const before = threads();
    for (const images of series) expect(await pooled.predictSeries(images, { heatmap: true })).toEqual(await local.model.predictSeries(images, { heatmap: true }));
    if (HAVE_PROC) expect(threads() - before).toBeGreaterThanOrEqual(2); // the workers started on first use
    expect(await pooled.predict(series[1]![2]!)).toEqual(await local.model.predict(series[1]![2]!));
    expect(await pooled.evaluate(data)).toEqual(await local.model.evaluate(data));
    // Many concurrent single-image calls spread over the workers and each get their own answer.
    const all = series.flat();
    expect(await Promise.all(all.map((im) => pooled.predict(im)))).toEqual(await Promise.all(all.map((im) => local.model.predict(im))));
  });

  it('train with workers: 2 gives the same model and validation metrics (validation scored on the workers)', async () => {
    const trained = await DiagnosisModel.train(data, { ...OPTIONS, workers: 2 });
    try {
      expect(trained.model.workers).toBe(2);
      expect(trained.validation.n).toBeGreaterThan(0);
      expect(trained.validation).toEqual(local.validation);
      expect(trained.model.threshold).toBe(local.model.threshold);
    } finally {
      await trained.model.close();
    }
  });

  it('close() ends the worker threads; the model then refuses work with PREDICTOR_CLOSED', async () => {
    await pooled.predict(series[0]![0]!);
    const running = threads();
    await pooled.close();
    if (HAVE_PROC) expect(running - threads()).toBeGreaterThanOrEqual(2);
    await expect(pooled.predictSeries(series[0]!)).rejects.toMatchObject({ code: 'PREDICTOR_CLOSED' });
    await pooled.close(); // idempotent
    // dispose() stops them too, without waiting.
    const again = await DiagnosisModel.load(join(dir, 'model'), { workers: 2 });
    await again.predict(series[0]![0]!);
    const started = threads();
    again.dispose();
    await expect(again.predict(series[0]![0]!)).rejects.toMatchObject({ code: 'PREDICTOR_CLOSED' });
    if (HAVE_PROC) await expect.poll(() => started - threads(), { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
  });
});
