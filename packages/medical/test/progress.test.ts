import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initRuntime, tf, type TrainEvent } from '@lepton/core';
import { DiagnosisModel, generateCtDataset, LesionSegmenter, readDicomFile, type LabelledImage, type MaskedImage } from '@lepton/medical';
import { expectBar, expectRun, fakeStream, throwOnFirstEpoch } from '../../../tests/support/progress.js';

// Both medical trainers report progress as core train() does, and draw core's bar with an ETA on a terminal only.
// A tiny synthetic CT set (6 patients × 4 slices of 64×64, written as DICOM) and two epochs at 32×32: these check the
// reporting, not the models.

let dir: string;
let labelled: LabelledImage[];
let masked: MaskedImage[];

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
  vi.stubEnv('CI', ''); // the fake terminal must get its bar on a CI runner too
  dir = await mkdtemp(join(tmpdir(), 'lepton-progress-'));
  const patients = await generateCtDataset(dir, { patients: 6, slices: 4, size: 64, seed: 3 });
  const slices = await Promise.all(
    patients.flatMap((p) => p.files.map(async (f, k) => ({ image: await readDicomFile(f), label: p.labels[k]!, patientId: p.patientId, mask: p.phantom.masks[k]! }))),
  );
  labelled = slices.map(({ image, label, patientId }) => ({ image, label, patientId }));
  masked = slices.map(({ image, mask }) => ({ image, mask }));
}, 60_000);
afterAll(async () => {
  vi.unstubAllEnvs();
  await rm(dir, { recursive: true, force: true });
});

type Progress = { onProgress: (e: TrainEvent) => void; progressBar: ReturnType<typeof fakeStream> };
const trainers: Array<[string, (p: Progress) => Promise<{ dispose(): void }>]> = [
  [
    'DiagnosisModel.train',
    async (p) =>
      (await DiagnosisModel.train(labelled, { labels: ['normal', 'nodule'], size: 32, filters: [4, 8], flipAugment: false, epochs: 2, batchSize: 8, seed: 1, ...p })).model,
  ],
  ['LesionSegmenter.fit', (p) => LesionSegmenter.fit(masked, { size: 32, baseFilters: 4, depth: 1, epochs: 2, batchSize: 8, seed: 1, ...p })],
];

describe.each(trainers)('%s reports progress', (_, fit) => {
  it('start, batches and epochs with finite losses, end; a bar with an ETA on a terminal', async () => {
    const events: TrainEvent[] = [];
    const tty = fakeStream(true);
    (await fit({ onProgress: (e) => events.push(e), progressBar: tty })).dispose();
    const epochs = expectRun(events, { planned: 2, batches: true, epochsRun: 2 });
    expectBar(tty.out, epochs.length);
  });

  it('a throwing listener stops training with a typed error and keeps no tensor; a pipe gets no bar', async () => {
    const pipe = fakeStream(false);
    const before = tf.memory().numTensors;
    await expect(fit({ onProgress: throwOnFirstEpoch(), progressBar: pipe })).rejects.toMatchObject({ code: 'PROGRESS_LISTENER_FAILED', details: { event: 'epoch' } });
    expect(tf.memory().numTensors).toBe(before);
    expect(pipe.out).toBe('');
    await expect(fit({ onProgress: 'log' as never, progressBar: pipe })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
