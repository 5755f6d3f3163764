// Findings of a hostile black-box review (2026-12-07), each reproduced here before its fix.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildMlp, createPredictor, describeValue, initRuntime, isLeptonError, lnGamma, resolveWorkersOption, tf, train, validateManifest } from '@lepton/core';
import { outcome } from '../../../tests/support/hostile.js';
import { useBackend } from './support/backends.js';

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
});

describe('createPredictor', () => {
  it('scores what was checked: the caller may reuse or shrink its array right after predict()', async () => {
    const model = buildMlp({ inputDim: 3, seed: 1 });
    const predictor = await createPredictor(model, { maxBatchSize: 8, maxWaitMs: 5 });
    try {
      const expected = await predictor.predict([1, 2, 3]);
      const buf = new Float32Array([1, 2, 3]);
      const a = predictor.predict(buf);
      buf[0] = Number.NaN;
      const arr = [1, 2, 3];
      const b = predictor.predict(arr);
      arr.length = 1;
      expect(Array.from(await a)).toEqual(Array.from(expected));
      expect(Array.from(await b)).toEqual(Array.from(expected));
    } finally {
      await predictor.close();
      model.dispose();
    }
  });

  afterEach(async () => useBackend('wasm'));

  it('a finite float32 input that overflows inside the model is INVALID_MODEL for that request only, never NaN', async () => {
    // On cpu the MLP's output for 3e38 is NaN (on wasm, XNNPACK's relu turns the NaN into 0 first).
    await useBackend('cpu');
    const model = buildMlp({ inputDim: 3, seed: 1 });
    const predictor = await createPredictor(model, { maxBatchSize: 8, maxWaitMs: 20 });
    try {
      const [huge, normal] = await Promise.allSettled([predictor.predict([3e38, 3e38, 3e38]), predictor.predict([1, 2, 3])]);
      expect(huge.status === 'rejected' && isLeptonError(huge.reason, 'INVALID_MODEL')).toBe(true);
      expect(normal.status === 'fulfilled' && Array.from(normal.value).every(Number.isFinite)).toBe(true);
    } finally {
      await predictor.close();
      model.dispose();
    }
  });
});

describe('train', () => {
  it('refuses binary labels other than 0 and 1 before the first epoch (the default loss); a loss set by the caller is not second-guessed', async () => {
    const model = buildMlp({ inputDim: 3, seed: 1 });
    const x = tf.tensor2d([[1, 1, 1], [1, 2, 1], [0, 0, 0], [1, 0, 1]]);
    const y = tf.tensor2d([[5], [0], [-3], [0]]);
    const soft = tf.tensor2d([[0.9], [0.1], [0.8], [0.2]]);
    try {
      const err = await train(model, { x, y }, { epochs: 1, progressBar: false }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isLeptonError(err, 'INVALID_INPUT')).toBe(true);
      expect((err as Error).message).toMatch(/y value 0 is not a label .* \(0 or 1\)/);
      const r = await train(model, { x, y: soft }, { epochs: 1, progressBar: false, loss: 'binaryCrossentropy' });
      expect(Number.isFinite(r.history.at(-1)!.metrics['loss'])).toBe(true);
    } finally {
      tf.dispose([x, y, soft]);
      model.dispose();
    }
  });
});

describe('messages and numeric edges', () => {
  it('never echoes a card number given where an option belongs', () => {
    expect(describeValue('4111111111111111')).toBe("'<digits hidden>'");
    expect(describeValue('card 4111-1111-1111-1111 exp')).toBe("'card <digits hidden> exp'");
    expect(describeValue('cam-1')).toBe("'cam-1'");
    const err = (() => {
      try {
        resolveWorkersOption('4111 1111 1111 1111', 'test');
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err?.message).not.toMatch(/4111/);
  });

  it('lnGamma refuses an x whose result overflows; validateManifest and resolveWorkersOption survive a Symbol', async () => {
    expect(await outcome(() => lnGamma(1e308))).toBe('LeptonError INVALID_ARGUMENT');
    expect(lnGamma(1e300)).toBeCloseTo(1e300 * (Math.log(1e300) - 1), -290);
    expect(await outcome(() => validateManifest(Symbol('s') as never, {}))).toBe('LeptonError BUNDLE_INVALID');
    expect(await outcome(() => resolveWorkersOption([1], Symbol('w') as never))).toBe('LeptonError INVALID_ARGUMENT');
  });
});
