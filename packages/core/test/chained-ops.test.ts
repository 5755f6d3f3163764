import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initRuntime, tf } from '@lepton/core';

// Core builds `tf` from the TF.js packages instead of the @tensorflow/tfjs union, whose Node bundle was what
// registered the chained tensor methods (t.reshape(), t.add() …). These tests hold core's registration to tfjs-core's
// own list, read from the installed tfjs-core (dist/public/chained_ops/*.js, one file per method).
const coreDir = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-core/package.json'));
const opsDir = join(coreDir, 'dist/public/chained_ops');
const expected = readdirSync(opsDir)
  .filter((f) => f.endsWith('.js') && !f.endsWith('_test.js'))
  .flatMap((f) => [...readFileSync(join(opsDir, f), 'utf8').matchAll(/getGlobalTensorClass\(\)\.prototype\.(\w+)\s*=/g)].map((m) => m[1]!));

beforeAll(async () => {
  await initRuntime({ backend: 'cpu' }, {});
});

describe('chained tensor methods without the @tensorflow/tfjs union', () => {
  it('defines every method tfjs-core defines (137 in 4.22)', () => {
    expect(expected.length).toBe(137);
    const proto = tf.Tensor.prototype as unknown as Record<string, unknown>;
    expect(expected.filter((name) => typeof proto[name] !== 'function')).toEqual([]);
  });

  it('computes what the function of the same name computes, special cases included', () => {
    const t = tf.tensor2d([[1, -2], [3, 4]]);
    const same = (a: tf.Tensor, b: tf.Tensor): void => {
      expect(a.shape).toEqual(b.shape);
      expect(a.dtype).toBe(b.dtype);
      expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    };
    same(t.abs(), tf.abs(t));
    same(t.add(1), tf.add(t, 1));
    same(t.matMul(t, false, true), tf.matMul(t, t, false, true));
    same(t.reshape([4]), tf.reshape(t, [4]));
    same(t.sum(1, true), tf.sum(t, 1, true));
    same(t.toFloat(), tf.cast(t, 'float32'));
    same(t.toInt(), tf.cast(t, 'int32'));
    same(t.asType('bool'), tf.cast(t, 'bool'));
    same(t.flatten(), tf.reshape(t, [4]));
    same(t.as1D(), tf.reshape(t, [4]));
    same(t.concat(t), tf.concat([t, t]));
    same(t.concat([t, t], 1), tf.concat([t, t, t], 1));
    same(t.stack(t), tf.stack([t, t]));
    same(t.where(tf.tensor2d([[1, 0], [0, 1]], undefined, 'bool'), tf.zerosLike(t)), tf.where(tf.tensor2d([[1, 0], [0, 1]], undefined, 'bool'), t, tf.zerosLike(t)));
    same(tf.tensor1d([0, 2], 'int32').oneHot(3, 1, 0), tf.oneHot(tf.tensor1d([0, 2], 'int32'), 3));
    const img = tf.ones([1, 2, 2, 1]) as tf.Tensor4D;
    same(img.resizeBilinear([4, 4]), tf.image.resizeBilinear(img, [4, 4]));
    same(img.resizeNearestNeighbor([3, 3]), tf.image.resizeNearestNeighbor(img, [3, 3]));
    expect(() => t.asScalar()).toThrow(/only 1 element/);
    expect(tf.scalar(5).reshape([1]).asScalar().shape).toEqual([]);
    t.dispose();
    expect(() => t.abs()).toThrow(/disposed/);
  });

  it('keeps the rest of the union namespace: layers, the CPU backend, versions (graph models are left to tfjs-converter)', () => {
    expect(typeof tf.sequential).toBe('function');
    // graph-model loading is not part of core's namespace (25 MB on disk that only surveillance needs)
    expect('loadGraphModel' in tf).toBe(false);
    expect(typeof tf.version_cpu).toBe('string');
    expect(tf.version).toEqual({
      'tfjs-core': '4.22.0',
      'tfjs-backend-cpu': '4.22.0',
      'tfjs-layers': '4.22.0',
      tfjs: '4.22.0',
    });
  });
});
