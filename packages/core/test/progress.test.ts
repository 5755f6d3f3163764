import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildMlp,
  formatDuration,
  initRuntime,
  LeptonError,
  progressBar,
  progressReporter,
  stageListeners,
  tf,
  train,
  type BarStream,
  type TrainEvent,
} from '@lepton/core';

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
});

/** A fake terminal (or not) that keeps what was written. */
function fakeStream(isTTY: boolean): BarStream & { out: string } {
  const s = { isTTY, columns: 100, out: '', write: (chunk: string) => ((s.out += chunk), true) };
  return s;
}

describe('progress bar', () => {
  it('formats durations for a terminal', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(42_400)).toBe('42s');
    expect(formatDuration(187_000)).toBe('3m07s');
    expect(formatDuration(2 * 3600_000 + 5 * 60_000)).toBe('2h05m');
    expect(formatDuration(Number.NaN)).toBe('--');
    expect(formatDuration(-1)).toBe('--');
  });

  it('shows the time left from the elapsed time and the share of planned work done', () => {
    let t = 0;
    const stream = fakeStream(true);
    const bar = progressBar(stream, { now: () => t });
    bar({ type: 'start', epochs: 4, samples: 40, validationSamples: 0, backend: 'cpu' });
    t = 10_000; // first half of epoch 1 took 10 s: 1/8 of the work, 70 s left
    bar({ type: 'batch', epoch: 0, epochs: 4, batch: 0, batches: 2, loss: 0.7 });
    expect(stream.out).toMatch(/epoch 1\/4 \[=+ +\] 1\/2 loss 0\.7000 ETA 1m10s$/);
    t = 20_000; // one epoch of four in 20 s: 60 s left
    bar({ type: 'epoch', epoch: 0, epochs: 4, metrics: { loss: 0.6 }, learningRate: 1e-3, improved: true });
    expect(stream.out).toContain('epoch 1/4  loss 0.6000  *  ETA 1m00s\n');
    t = 35_000; // the plan shrank to 2 epochs (a stage stopped early): 1.5 of 2 done in 35 s
    bar({ type: 'batch', epoch: 1, epochs: 2, batch: 0, batches: 2, loss: 0.5 });
    expect(stream.out).toMatch(/ETA 12s$/);
    t = 40_000;
    bar({ type: 'epoch', epoch: 1, epochs: 2, metrics: { loss: 0.5 }, learningRate: 1e-3, improved: false });
    expect(stream.out).toMatch(/epoch 2\/2 {2}loss 0\.5000\n$/); // nothing left: no ETA on the last epoch
    bar({ type: 'end', epochsRun: 2, bestEpoch: 0, stoppedEarly: true });
    expect(stream.out).toMatch(/trained 2 epochs in 40s \(early stop: best epoch 1\)\n$/);
    // Lines are cleared before a redraw, so a shorter line leaves no stale characters.
    expect(stream.out.split('\r\x1b[2K')).toHaveLength(6);
  });

  it("shows '--' until some work is done, and times from its first event when attached late", () => {
    let t = 5_000;
    const stream = fakeStream(true);
    const bar = progressBar(stream, { now: () => t });
    bar({ type: 'batch', epoch: 2, epochs: 10, batch: 0, batches: 4, loss: 1 });
    expect(stream.out).toMatch(/ETA --$/);
    t = 6_000;
    bar({ type: 'end', epochsRun: 10, bestEpoch: 9, stoppedEarly: false });
    expect(stream.out).toMatch(/trained 10 epochs in 1s\n$/);
  });
});

describe('progressReporter', () => {
  const start: TrainEvent = { type: 'start', epochs: 1, samples: 1, validationSamples: 0, backend: 'cpu' };

  it('draws on a terminal outside CI, never on a pipe or in CI, and validates its options', () => {
    const tty = fakeStream(true);
    progressReporter({ progressBar: tty }, 'test', {})!(start);
    progressReporter({ progressBar: tty }, 'test', {})!({ type: 'end', epochsRun: 1, bestEpoch: 0, stoppedEarly: false });
    expect(tty.out).toContain('trained 1 epoch in');
    const pipe = fakeStream(false);
    expect(progressReporter({ progressBar: pipe }, 'test', {})).toBeUndefined();
    expect(progressReporter({ progressBar: tty }, 'test', { CI: 'true' })).toBeUndefined();
    expect(progressReporter({ progressBar: false }, 'test', {})).toBeUndefined();
    expect(pipe.out).toBe('');
    for (const bad of [{ onProgress: 'log' }, { progressBar: 'yes' }, { progressBar: { isTTY: true } }, { progressBar: 1 }]) {
      expect(() => progressReporter(bad as never, 'RulModel.fit', {})).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/^RulModel\.fit: /) }));
    }
  });

  it('stops on a throwing listener with PROGRESS_LISTENER_FAILED, wrapped once', () => {
    const boom = new Error('socket closed');
    const inner = progressReporter({ onProgress: () => { throw boom; }, progressBar: false }, 'inner')!;
    const outer = progressReporter({ onProgress: inner, progressBar: false }, 'outer')!;
    let caught: unknown;
    try {
      outer(start);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(LeptonError);
    expect(caught).toMatchObject({ code: 'PROGRESS_LISTENER_FAILED', cause: boom, details: { event: 'start' }, message: expect.stringMatching(/^inner: /) });
  });

  it('reports several train() runs as one: epochs numbered on, the plan shrinking when a run stops early', () => {
    const events: TrainEvent[] = [];
    const [a, b] = stageListeners((e) => events.push(e), [3, 2]);
    a!({ type: 'start', epochs: 3, samples: 10, validationSamples: 2, backend: 'wasm' });
    a!({ type: 'batch', epoch: 0, epochs: 3, batch: 0, batches: 1, loss: 1 });
    a!({ type: 'epoch', epoch: 0, epochs: 3, metrics: { loss: 1 }, learningRate: 0.1, improved: true });
    a!({ type: 'epoch', epoch: 1, epochs: 3, metrics: { loss: 1.1 }, learningRate: 0.1, improved: false });
    a!({ type: 'end', epochsRun: 2, bestEpoch: 0, stoppedEarly: true });
    b!({ type: 'start', epochs: 2, samples: 8, validationSamples: 0, backend: 'wasm' });
    b!({ type: 'epoch', epoch: 0, epochs: 2, metrics: { loss: 0.5 }, learningRate: 0.1, improved: true });
    b!({ type: 'epoch', epoch: 1, epochs: 2, metrics: { loss: 0.4 }, learningRate: 0.1, improved: true });
    b!({ type: 'end', epochsRun: 2, bestEpoch: 1, stoppedEarly: false });
    expect(events.map((e) => e.type)).toEqual(['start', 'batch', 'epoch', 'epoch', 'epoch', 'epoch', 'end']);
    expect(events[0]).toMatchObject({ epochs: 5, samples: 10 });
    expect(events.filter((e) => e.type === 'epoch').map((e) => [e.epoch, e.epochs])).toEqual([[0, 5], [1, 5], [2, 4], [3, 4]]);
    expect(events.at(-1)).toEqual({ type: 'end', epochsRun: 4, bestEpoch: 3, stoppedEarly: true });
    expect(() => stageListeners(() => undefined, [])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('train(): a throwing listener stops training with a typed error and leaks no tensor, at start or mid-epoch', async () => {
    const x = tf.randomNormal([40, 3], 0, 1, 'float32', 1);
    const y = tf.cast(tf.greater(x.slice([0, 0], [-1, 1]), 0), 'float32');
    const model = buildMlp({ inputDim: 3, hiddenUnits: [4], seed: 1 });
    for (const on of ['start', 'batch', 'epoch', 'end'] as const) {
      const before = tf.memory().numTensors;
      const onProgress = (e: TrainEvent): void => {
        if (e.type === on) throw new Error(`no ${on}`);
      };
      await expect(train(model, { x, y }, { epochs: 2, batchSize: 20, validationSplit: 0.25, onProgress, progressBar: false, seed: 1 })).rejects.toMatchObject({
        code: 'PROGRESS_LISTENER_FAILED',
        details: { event: on },
      });
      expect(tf.memory().numTensors, `after a throw on '${on}'`).toBe(before);
    }
    // The model still trains afterwards.
    const events: TrainEvent[] = [];
    const stream = fakeStream(false);
    const r = await train(model, { x, y }, { epochs: 2, batchSize: 20, onProgress: (e) => events.push(e), progressBar: stream, seed: 1 });
    expect(r.history).toHaveLength(2);
    expect(events.map((e) => e.type)).toEqual(['start', 'batch', 'batch', 'epoch', 'batch', 'batch', 'epoch', 'end']);
    expect(stream.out).toBe('');
    await expect(train(model, { x, y }, { progressBar: 'yes' as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    tf.dispose([x, y]);
    model.dispose();
  });
});
