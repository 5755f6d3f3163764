import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initRuntime, seededRandom, tf, type TrainEvent } from '@lepton/core';
import { FraudModel, generatePrices, indicatorFeatures, Scorecard, walkForward, type Applicant, type LabelledRows } from '@lepton/finance';
import { expectBar, expectRun, fakeStream, throwOnFirstEpoch } from '../../../tests/support/progress.js';

// Every finance trainer reports progress as core train() does, and draws core's bar with an ETA on a terminal only.
// Tiny data and few epochs: these check the reporting, not the models.

const rand = seededRandom(7);
const normal = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());

/** Rows of 4 features; fraud when the first two are high together (about 15 %). */
function rows(n: number): LabelledRows {
  const r = Array.from({ length: n }, () => [normal(), normal(), normal(), normal()]);
  return { rows: r, labels: r.map((x) => (x[0]! + x[1]! > 1.5 ? 1 : 0)) };
}

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
  vi.stubEnv('CI', ''); // the fake terminal must get its bar on a CI runner too
});
afterAll(() => {
  vi.unstubAllEnvs();
});

describe('finance trainers report progress', () => {
  const names = ['a', 'b', 'c', 'd'];
  const train = rows(240);
  const validation = rows(100);

  it('FraudModel.train: the MLP and then the autoencoder as one run, with batches; a bar with an ETA', async () => {
    const events: TrainEvent[] = [];
    const tty = fakeStream(true);
    const { model } = await FraudModel.train(train, validation, { featureNames: names, epochs: 3, batchSize: 64, seed: 1, onProgress: (e) => events.push(e), progressBar: tty });
    model.dispose();
    // 3 MLP epochs planned + the autoencoder's 15; early stopping may shorten the autoencoder.
    const epochs = expectRun(events, { planned: 18, batches: true });
    expect(epochs.length).toBeGreaterThan(3);
    expect(epochs[0]!.metrics).toHaveProperty('val_average_precision'); // the MLP's validation metric comes first
    expectBar(tty.out, epochs.length);
  });

  it('FraudModel.train: a throwing listener stops training with a typed error, keeps no tensor, draws nothing on a pipe', async () => {
    const pipe = fakeStream(false);
    const before = tf.memory().numTensors;
    await expect(
      FraudModel.train(train, validation, { featureNames: names, epochs: 3, batchSize: 64, seed: 1, onProgress: throwOnFirstEpoch(), progressBar: pipe }),
    ).rejects.toMatchObject({ code: 'PROGRESS_LISTENER_FAILED', details: { event: 'epoch' } });
    expect(tf.memory().numTensors).toBe(before);
    expect(pipe.out).toBe('');
    await expect(FraudModel.train(train, validation, { featureNames: names, onProgress: 'log' as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('walkForward: every fold as one run, numbered on', async () => {
    const features = indicatorFeatures(generatePrices({ bars: 200, seed: 2 }));
    const events: TrainEvent[] = [];
    const tty = fakeStream(true);
    const folds = await walkForward(features, { folds: 2, epochs: 2, window: 8, kind: 'gru', onProgress: (e) => events.push(e), progressBar: tty });
    expect(folds).toHaveLength(2);
    const epochs = expectRun(events, { planned: 4, batches: true });
    expectBar(tty.out, epochs.length);

    const pipe = fakeStream(false);
    const before = tf.memory().numTensors;
    await expect(walkForward(features, { folds: 2, epochs: 2, window: 8, kind: 'gru', onProgress: throwOnFirstEpoch(), progressBar: pipe })).rejects.toMatchObject({
      code: 'PROGRESS_LISTENER_FAILED',
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(pipe.out).toBe('');
    await expect(walkForward(features, { progressBar: 'yes' as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('Scorecard.fit: one step per characteristic binned and one for the regression, synchronously', () => {
    const applicants: Applicant[] = Array.from({ length: 300 }, () => ({ income: normal(), age: 20 + 40 * rand(), region: ['n', 's', 'e', 'w'][Math.floor(rand() * 4)]! }));
    const bad = applicants.map((a) => (rand() < 1 / (1 + Math.exp(2 * (a['income'] as number) + 1)) ? 1 : 0));
    const characteristics = [
      { name: 'income', type: 'numeric' as const },
      { name: 'age', type: 'numeric' as const },
      { name: 'region', type: 'categorical' as const },
    ];
    const events: TrainEvent[] = [];
    const tty = fakeStream(true);
    Scorecard.fit(applicants, bad, { characteristics, minIv: 0, onProgress: (e) => events.push(e), progressBar: tty });
    const epochs = expectRun(events, { planned: 4, batches: false, epochsRun: 4, metric: undefined });
    expect(epochs.slice(0, 3).every((e) => 'iv' in e.metrics)).toBe(true);
    expect(epochs[3]!.metrics['loss']).toBeGreaterThan(0);
    expect(events[0]).toMatchObject({ samples: 300, backend: 'cpu' });
    expectBar(tty.out, 4);

    const pipe = fakeStream(false);
    expect(() => Scorecard.fit(applicants, bad, { characteristics, onProgress: throwOnFirstEpoch(), progressBar: pipe })).toThrow(
      expect.objectContaining({ code: 'PROGRESS_LISTENER_FAILED' }),
    );
    expect(pipe.out).toBe('');
    expect(() => Scorecard.fit(applicants, bad, { characteristics, progressBar: 2 as never })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
