import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMlp, buildResidualCnn, buildSequenceModel, initRuntime, loadBundle, saveBundle, tf, train, type BundleManifest } from '@lepton/core';
import { BACKENDS, useBackend } from './support/backends.js';

let root: string;
beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
  root = await mkdtemp(join(tmpdir(), 'lepton-bundle-test-'));
});
afterAll(async () => rm(root, { recursive: true, force: true }));

async function freshBundle(name: string): Promise<string> {
  const dir = join(root, name);
  await saveBundle(buildMlp({ inputDim: 6, seed: 3 }), dir, { name: 'mlp', version: '1.2.3' });
  return dir;
}

describe.each(BACKENDS)('bundle round trip on %s', (backend) => {
  it('save → load gives identical predictions and the full manifest', async () => {
    await useBackend(backend);
    const model = buildResidualCnn({ inputShape: [12, 12, 1], numClasses: 3, filters: [4, 8], seed: 9 });
    const dir = join(root, `cnn-${backend}`);
    const written = await saveBundle(model, dir, {
      name: 'tiny-cnn',
      version: '2.0.0-rc.1',
      labels: ['a', 'b', 'c'],
      preprocessing: { window: { center: 40, width: 400 }, scale: [0, 1] },
      metrics: { val_accuracy: 0.91 },
      provenance: { seed: 9, data: 'synthetic' },
      description: 'test model',
    });
    const { model: loaded, manifest } = await loadBundle(dir);
    expect(manifest).toEqual(written);
    expect(manifest).toMatchObject<Partial<BundleManifest>>({
      format: 'lepton-bundle',
      name: 'tiny-cnn',
      version: '2.0.0-rc.1',
      task: 'multiclass',
      labels: ['a', 'b', 'c'],
      inputs: [{ name: 'image', shape: [null, 12, 12, 1], dtype: 'float32' }],
      outputs: [{ name: 'output', shape: [null, 3], dtype: 'float32' }],
    });
    expect(manifest.provenance).toMatchObject({ seed: 9, data: 'synthetic', backend, tfjsVersion: '4.22.0' });
    expect(Object.keys(manifest.files).sort()).toEqual(['model.json', 'weights.bin']);
    expect(manifest.files['weights.bin']!.sha256).toMatch(/^[0-9a-f]{64}$/);
    const x = tf.randomUniform([4, 12, 12, 1], 0, 1, 'float32', 1);
    const a = (model.predict(x) as tf.Tensor).dataSync();
    const b = (loaded.predict(x) as tf.Tensor).dataSync();
    expect(Array.from(b)).toEqual(Array.from(a));
    tf.dispose(x);
    model.dispose();
    loaded.dispose();
    await useBackend('wasm');
  });
});

describe('sequence models', () => {
  it.each(['tcn', 'lstm', 'gru'] as const)('%s: trains on wasm and survives a bundle round trip (custom layers included)', async (kind) => {
    await useBackend('wasm');
    const n = 96;
    // Next-step forecast of a noisy sine: a real sequence task with a learnable signal.
    const series = Array.from({ length: n + 20 }, (_, t) => Math.sin(t / 3) + 0.05 * Math.cos(t * 7.1));
    const x = tf.tensor3d(Array.from({ length: n }, (_, i) => series.slice(i, i + 16).map((v) => [v])));
    const y = tf.tensor2d(Array.from({ length: n }, (_, i) => [series[i + 16]!]));
    const model = buildSequenceModel({ kind, timesteps: 16, features: 1, task: 'regression', units: kind === 'tcn' ? [8, 8, 8] : [8], seed: 4, dropout: 0 });
    const result = await train(model, { x, y }, { epochs: 12, learningRate: 1e-2, batchSize: 16, seed: 4, earlyStopping: false, progressBar: false });
    expect(result.backend).toMatchObject({ backend: 'wasm', switched: false });
    expect(result.history.at(-1)!.metrics['loss']).toBeLessThan(result.history[0]!.metrics['loss']! * 0.5);
    const dir = join(root, `seq-${kind}`);
    await saveBundle(model, dir, { name: `seq-${kind}`, version: '1.0.0' });
    const { model: loaded } = await loadBundle(dir);
    const a = (model.predict(x) as tf.Tensor).dataSync();
    const b = (loaded.predict(x) as tf.Tensor).dataSync();
    Array.from(b).forEach((v, i) => expect(v).toBeCloseTo(a[i]!, 5));
    tf.dispose([x, y]);
    model.dispose();
    loaded.dispose();
  });
});

describe('bundle verification: every failure is a typed error', () => {
  it('a truncated weight file', async () => {
    const dir = await freshBundle('truncated');
    await truncate(join(dir, 'weights.bin'), 100);
    await expect(loadBundle(dir)).rejects.toMatchObject({ code: 'BUNDLE_INTEGRITY', message: expect.stringContaining('truncated') });
  });

  it('an altered weight file (same size)', async () => {
    const dir = await freshBundle('altered');
    const file = join(dir, 'weights.bin');
    const bytes = await readFile(file);
    bytes[17] = bytes[17]! ^ 0xff;
    await writeFile(file, bytes);
    await expect(loadBundle(dir)).rejects.toMatchObject({ code: 'BUNDLE_INTEGRITY', message: expect.stringContaining('altered') });
  });

  it('an altered model.json', async () => {
    const dir = await freshBundle('altered-json');
    const file = join(dir, 'model.json');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('"relu"', '"tanh"'));
    await expect(loadBundle(dir)).rejects.toMatchObject({ code: 'BUNDLE_INTEGRITY' });
  });

  it('a missing file', async () => {
    const dir = await freshBundle('missing');
    await unlink(join(dir, 'weights.bin'));
    await expect(loadBundle(dir)).rejects.toMatchObject({ code: 'BUNDLE_FILE_MISSING', details: { file: 'weights.bin' } });
  });

  it('no bundle at all, or a malformed manifest', async () => {
    await expect(loadBundle(join(root, 'nothing-here'))).rejects.toMatchObject({ code: 'BUNDLE_NOT_FOUND' });
    const dir = await freshBundle('bad-manifest');
    await writeFile(join(dir, 'lepton.json'), '{ not json');
    await expect(loadBundle(dir)).rejects.toMatchObject({ code: 'BUNDLE_INVALID' });
    const dir2 = await freshBundle('bad-version');
    const m = JSON.parse(await readFile(join(dir2, 'lepton.json'), 'utf8'));
    await writeFile(join(dir2, 'lepton.json'), JSON.stringify({ ...m, version: 'latest' }));
    await expect(loadBundle(dir2)).rejects.toMatchObject({ code: 'BUNDLE_INVALID', message: expect.stringContaining('semantic version') });
  });

  it('an input spec the application cannot feed, or a manifest that disagrees with the model', async () => {
    const dir = await freshBundle('incompatible');
    await expect(loadBundle(dir, { expectInputs: [{ shape: [null, 8] }] })).rejects.toMatchObject({
      code: 'BUNDLE_INCOMPATIBLE',
      message: expect.stringContaining('[any, 6]'),
    });
    await expect(loadBundle(dir, { expectTask: 'regression' })).rejects.toMatchObject({ code: 'BUNDLE_INCOMPATIBLE' });
    await expect(loadBundle(dir, { expectInputs: [{ shape: [null, 6] }], expectTask: 'binary' })).resolves.toMatchObject({
      manifest: { name: 'mlp' },
    });
    const m = JSON.parse(await readFile(join(dir, 'lepton.json'), 'utf8'));
    m.inputs[0].shape = [null, 5];
    await writeFile(join(dir, 'lepton.json'), JSON.stringify(m));
    await expect(loadBundle(dir)).rejects.toMatchObject({ code: 'BUNDLE_INCOMPATIBLE', message: expect.stringContaining('declares') });
  });

  it('weights holding NaN or Infinity: not saved, and not loaded from float32 or float16 weight files', async () => {
    // Saving: a model whose weights went NaN (a diverged training run) writes nothing.
    const model = buildMlp({ inputDim: 6, seed: 3 });
    const [kernel, ...rest] = model.getWeights();
    const poisoned = kernel!.bufferSync();
    poisoned.set(Number.NaN, 2, 1);
    const nanKernel = poisoned.toTensor();
    model.setWeights([nanKernel, ...rest]);
    nanKernel.dispose();
    await expect(saveBundle(model, join(root, 'nan-save'), { name: 'mlp', version: '1.0.0' })).rejects.toMatchObject({
      code: 'INVALID_MODEL',
      details: { index: 2 * kernel!.shape[1]! + 1 },
    });
    await expect(readFile(join(root, 'nan-save', 'lepton.json'))).rejects.toMatchObject({ code: 'ENOENT' });
    model.dispose();

    // Loading: a weights file edited after the fact, its digest recomputed (only a signature would catch it).
    const rewrite = async (dir: string, file: string, bytes: Uint8Array): Promise<void> => {
      await writeFile(join(dir, file), bytes);
      const manifest = JSON.parse(await readFile(join(dir, 'lepton.json'), 'utf8')) as BundleManifest;
      manifest.files[file] = { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.byteLength };
      await writeFile(join(dir, 'lepton.json'), JSON.stringify(manifest));
    };
    const dir = await freshBundle('nan-load');
    const original = new Float32Array(new Uint8Array(await readFile(join(dir, 'weights.bin'))).buffer);
    for (const bad of [Number.NaN, Infinity, -Infinity]) {
      const values = Float32Array.from(original);
      values[40] = bad;
      await rewrite(dir, 'weights.bin', new Uint8Array(values.buffer));
      await expect(loadBundle(dir), String(bad)).rejects.toMatchObject({ code: 'BUNDLE_INVALID', details: { index: 40 } });
    }

    // The same weights stored as float16 (TF.js' quantisation): they load, and an all-ones exponent is refused.
    const half = (v: number): number => {
      const u = new Uint32Array(new Float32Array([v]).buffer)[0]!;
      const exponent = ((u >>> 23) & 0xff) - 112;
      return ((u >>> 16) & 0x8000) | (exponent <= 0 ? 0 : (exponent << 10) | ((u & 0x7fffff) >>> 13));
    };
    const dir16 = await freshBundle('float16');
    const modelJson = JSON.parse(await readFile(join(dir16, 'model.json'), 'utf8')) as { weightsManifest: Array<{ weights: Array<Record<string, unknown>> }> };
    for (const spec of modelJson.weightsManifest[0]!.weights) spec['quantization'] = { dtype: 'float16' };
    await rewrite(dir16, 'model.json', new TextEncoder().encode(JSON.stringify(modelJson)));
    const bits = Uint16Array.from(original, half);
    await rewrite(dir16, 'weights.bin', new Uint8Array(bits.buffer));
    const reference = await loadBundle(await freshBundle('float32-reference'));
    const loaded = await loadBundle(dir16);
    const x = tf.randomUniform([4, 6], -1, 1, 'float32', 5);
    const [a, b] = [reference.model.predict(x) as tf.Tensor, loaded.model.predict(x) as tf.Tensor];
    expect(Math.max(...(await tf.sub(a, b).abs().data()))).toBeLessThan(0.01);
    tf.dispose([x, a, b]);
    reference.model.dispose();
    loaded.model.dispose();
    for (const inf of [0x7c00, 0xfc00, 0x7e00]) {
      bits[7] = inf;
      await rewrite(dir16, 'weights.bin', new Uint8Array(bits.buffer));
      await expect(loadBundle(dir16), inf.toString(16)).rejects.toMatchObject({ code: 'BUNDLE_INVALID', details: { index: 7 } });
    }
  });

  it('saving refuses a bad name, version or label count', async () => {
    const model = buildMlp({ inputDim: 2, task: 'multiclass', outputUnits: 3 });
    await expect(saveBundle(model, join(root, 'x'), { name: 'a b', version: '1.0.0' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(saveBundle(model, join(root, 'x'), { name: 'ab', version: 'v1' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(saveBundle(model, join(root, 'x'), { name: 'ab', version: '1.0.0', labels: ['x', 'y'] })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('loads from the filesystem without tfjs-node', async () => {
    const dir = await freshBundle('no-native');
    const { model } = await loadBundle(dir);
    expect(tf.getBackend()).not.toBe('tensorflow');
    expect(model.inputs[0]!.shape).toEqual([null, 6]);
  });
});
