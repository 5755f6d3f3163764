import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initRuntime, tf, type TrainEvent } from '@lepton/core';
import { AnomalyDetector, DefectClassifier, DefectInspector, generateParts, generateRunToFailure, PART_LABELS, RulModel } from '@lepton/manufacturing';
import { expectBar, expectRun, fakeStream, throwOnFirstEpoch } from '../../../tests/support/progress.js';
import { machine, SIGNALS } from './support/line.js';

// Every manufacturing trainer reports progress as core train() does, and draws core's bar with an ETA on a terminal
// only. Tiny data and two epochs: these check the reporting, not the models.

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
  vi.stubEnv('CI', ''); // the fake terminal must get its bar on a CI runner too
});
afterAll(() => {
  vi.unstubAllEnvs();
});

/** A trainer under test: trains with the given progress options and frees what it made. */
type Trainer = (progress: { onProgress: (e: TrainEvent) => void; progressBar: ReturnType<typeof fakeStream> }) => Promise<{ dispose(): void }>;

const normal = machine(240, 1);
// The last 40 cycles of two engines (a history may end at failure anywhere): a GRU on wasm is slow per window.
const fleet = generateRunToFailure({ units: 2, seed: 3 }).map((u) => ({ ...u, rows: u.rows.slice(-40) }));
const good = generateParts(24, { seed: 1, size: 32 }).map((p) => p.image);
const labelled = generateParts(24, { seed: 2, size: 32, labels: PART_LABELS }).map((p) => ({ image: p.image, label: p.label }));

const trainers: Array<[string, Trainer, number]> = [
  ['AnomalyDetector.fit', (p) => AnomalyDetector.fit(normal, { signals: SIGNALS, window: 10, epochs: 2, seed: 1, ...p }), 2],
  ['RulModel.fit', (p) => RulModel.fit(fleet, { window: 8, epochs: 2, seed: 1, ...p }), 2],
  ['DefectInspector.fit', (p) => DefectInspector.fit(good, { width: 32, height: 32, filters: [4, 4, 4], latentChannels: 4, epochs: 2, batchSize: 8, ...p }), 2],
  ['DefectClassifier.fit', (p) => DefectClassifier.fit(labelled, { width: 32, height: 32, filters: [4, 8], epochs: 2, batchSize: 8, ...p }), 2],
];

describe.each(trainers)('%s reports progress', (_, fit, planned) => {
  it('start, batches and epochs with finite losses, end; a bar with an ETA on a terminal', async () => {
    const events: TrainEvent[] = [];
    const tty = fakeStream(true);
    const trained = await fit({ onProgress: (e) => events.push(e), progressBar: tty });
    trained.dispose();
    const epochs = expectRun(events, { planned, batches: true });
    expectBar(tty.out, epochs.length);
  });

  it('a throwing listener stops training with a typed error and keeps no tensor; a pipe gets no bar', async () => {
    const pipe = fakeStream(false);
    const seen: TrainEvent[] = [];
    const before = tf.memory().numTensors;
    await expect(fit({ onProgress: throwOnFirstEpoch(seen), progressBar: pipe })).rejects.toMatchObject({ code: 'PROGRESS_LISTENER_FAILED', details: { event: 'epoch' } });
    expect(tf.memory().numTensors).toBe(before);
    expect(seen[0]?.type).toBe('start');
    expect(pipe.out).toBe('');
    await expect(fit({ onProgress: 'log' as never, progressBar: pipe })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
