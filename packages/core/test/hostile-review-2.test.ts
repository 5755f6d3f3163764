// Findings of the second hostile review of bundles (2026-12-07), each reproduced here before its fix:
// 1 signBundle wrote through a planted `lepton.sig.json.tmp-<pid>` link; 2 an unknown dtype (or a repeated name) in the
// weight specs stopped the NaN scan; 4 a failed load leaked the tensors a hostile topology asked for; 6 a model.json of
// the wrong shape gave raw TypeErrors; 7 a deeply nested manifest overflowed the stack; 8 a weights file over 2 GiB gave
// a raw RangeError; 9 lepton.sig.json was read unbounded and through links, every failure reported as "missing";
// 10 `files: null` and impossible sizes; 12 a bundle name holding newlines or ESC; 13 signBundle/verifyBundleSignature
// did not check `dir`.
import { createHash } from 'node:crypto';
import { cp, mkdtemp, open, readFile, readdir, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMlp, createBundleSigningKeys, initRuntime, isLeptonError, loadBundle, saveBundle, signBundle, tf, validateManifest, verifyBundleSignature, type BundleManifest } from '@lepton/core';

let work: string;
let base: string;
const keys = createBundleSigningKeys();
let n = 0;

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const fail = (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (e: unknown) => e);
const json = async (p: string): Promise<any> => JSON.parse(await readFile(p, 'utf8'));

async function copy(): Promise<string> {
  const d = join(work, `b${n++}`);
  await cp(base, d, { recursive: true });
  return d;
}

/** Rewrites a listed file and records its new size and digest in lepton.json. */
async function replaceFile(dir: string, file: string, data: Uint8Array | string): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  await writeFile(join(dir, file), bytes);
  const m = await json(join(dir, 'lepton.json'));
  m.files[file] = { bytes: bytes.byteLength, sha256: sha(bytes) };
  await writeFile(join(dir, 'lepton.json'), JSON.stringify(m));
}

beforeAll(async () => {
  await initRuntime({ backend: 'cpu' }, {});
  work = await mkdtemp(join(tmpdir(), 'lepton-hostile-2-'));
  base = join(work, 'base');
  await saveBundle(buildMlp({ inputDim: 3, seed: 1 }), base, { name: 'base', version: '1.0.0' });
});
afterAll(async () => rm(work, { recursive: true, force: true }));

describe('signBundle writes its file safely (1)', () => {
  it('never writes through links planted at temporary names; lepton.sig.json is replaced, not its target', async () => {
    const d = await copy();
    const victim = join(work, 'victim.txt');
    await writeFile(victim, 'precious');
    // the old name was lepton.sig.json.tmp-<pid>: plant links for this pid and the next ones
    for (let p = process.pid; p < process.pid + 50; p++) await symlink(victim, join(d, `lepton.sig.json.tmp-${p}`));
    await symlink(victim, join(d, 'lepton.sig.json'));
    await signBundle(d, keys.privateKey);
    expect(await readFile(victim, 'utf8')).toBe('precious');
    expect((await stat(join(d, 'lepton.sig.json'))).isFile()).toBe(true);
    await loadBundle(d, { trustedKeys: [keys.publicKey] }).then(({ model }) => model.dispose());
    expect((await readdir(d)).filter((f) => f.startsWith('lepton.sig.json.tmp-') && !/tmp-\d+$/.test(f))).toEqual([]);
  });
});

describe('weight specs (2, 4, 6)', () => {
  it('an unknown dtype placed before a NaN weight is BUNDLE_INVALID, and so is a repeated weight name', async () => {
    const d = await copy();
    const w = Buffer.from(await readFile(join(d, 'weights.bin')));
    w.writeFloatLE(Number.NaN, 0);
    const mj = await json(join(d, 'model.json'));
    mj.weightsManifest[0].weights.unshift({ name: 'output/bias', shape: [1], dtype: 'complex64' });
    await replaceFile(d, 'weights.bin', Buffer.concat([Buffer.alloc(8), w]));
    await replaceFile(d, 'model.json', JSON.stringify(mj));
    const err = await fail(loadBundle(d));
    expect(isLeptonError(err, 'BUNDLE_INVALID')).toBe(true);
    expect((err as Error).message).toMatch(/dtype/);

    const d2 = await copy();
    const mj2 = await json(join(d2, 'model.json'));
    const specs = mj2.weightsManifest[0].weights;
    specs[1].name = specs[0].name;
    await replaceFile(d2, 'model.json', JSON.stringify(mj2));
    const err2 = await fail(loadBundle(d2));
    expect(isLeptonError(err2, 'BUNDLE_INVALID')).toBe(true);
    expect((err2 as Error).message).toMatch(/repeats the name/);
  });

  it('specs declaring more or fewer bytes than the weight data are BUNDLE_INVALID before anything is built', async () => {
    const d = await copy();
    const mj = await json(join(d, 'model.json'));
    mj.weightsManifest[0].weights[0].shape = [3, 64000000];
    await replaceFile(d, 'model.json', JSON.stringify(mj));
    const before = tf.memory().numBytes;
    const err = await fail(loadBundle(d));
    expect(isLeptonError(err, 'BUNDLE_INVALID')).toBe(true);
    expect((err as Error).message).toMatch(/does not describe its weights/);
    expect(tf.memory().numBytes).toBe(before);
  });

  it('a topology that does not fit its weights is BUNDLE_INVALID and leaks nothing, however often it is loaded', async () => {
    const d = await copy();
    const mj = await json(join(d, 'model.json'));
    const layers = mj.modelTopology.config.layers;
    layers[0].config.batch_input_shape = [null, 3000];
    layers[1].config.units = 3000;
    await replaceFile(d, 'model.json', JSON.stringify(mj));
    const before = tf.memory();
    for (let i = 0; i < 3; i++) expect(isLeptonError(await fail(loadBundle(d)), 'BUNDLE_INVALID')).toBe(true);
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    // and a good bundle still loads and predicts as saved
    const { model } = await loadBundle(base);
    expect(model.predict(tf.tensor2d([[1, 2, 3]])) instanceof tf.Tensor).toBe(true);
    model.dispose();
  });

  it('a topology that fails half way through building (a Conv2D after a Dense) leaks none of the layers built before it', async () => {
    const d = await copy();
    const mj = await json(join(d, 'model.json'));
    const layers = mj.modelTopology.config.layers;
    layers[1].config.units = 3000;
    layers.splice(2, 0, { class_name: 'Conv2D', config: { name: 'bad_conv', filters: 2, kernel_size: [3, 3], trainable: true, dtype: 'float32' }, inbound_nodes: [[[layers[1].config.name, 0, 0, {}]]] });
    layers[3].inbound_nodes = [[['bad_conv', 0, 0, {}]]];
    await replaceFile(d, 'model.json', JSON.stringify(mj));
    // a model of the application's own, whose variables must survive the failed loads around it
    const mine = buildMlp({ inputDim: 3, hiddenUnits: [4], seed: 2 });
    const before = tf.memory().numTensors;
    // a good bundle loaded at the same time: its model must come out whole
    const [bad1, good, bad2] = await Promise.allSettled([loadBundle(d), loadBundle(base), loadBundle(d)]);
    for (const bad of [bad1, bad2]) {
      expect(bad!.status === 'rejected' && isLeptonError(bad.reason, 'BUNDLE_INVALID') && (bad.reason as Error).message).toMatch(/could not build the model/);
    }
    expect(good!.status).toBe('fulfilled');
    const { model } = (good as PromiseFulfilledResult<Awaited<ReturnType<typeof loadBundle>>>).value;
    for (const m of [model, mine]) {
      const y = tf.tidy(() => m.predict(tf.tensor2d([[1, 2, 3]])) as tf.Tensor);
      expect(Number.isFinite(y.dataSync()[0])).toBe(true);
      y.dispose();
    }
    model.dispose();
    expect(tf.memory().numTensors).toBe(before); // nothing of the two failed loads is left
    mine.dispose();
  });

  it('saveBundle refuses preprocessing nested deeper than loadBundle reads (it wrote a bundle that could not be loaded)', async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 70; i++) deep = [deep];
    const err = await fail(saveBundle(buildMlp({ inputDim: 3, seed: 1 }), join(work, `deep-${n++}`), { name: 'deep', version: '1.0.0', preprocessing: { deep } }));
    expect(isLeptonError(err, 'INVALID_ARGUMENT')).toBe(true);
  });

  it.each([
    ['model.json is null', () => null],
    ['weightsManifest: [null]', (m: any) => ((m.weightsManifest = [null]), m)],
    ['weights: 5', (m: any) => ((m.weightsManifest[0].weights = 5), m)],
    ['paths: 5', (m: any) => ((m.weightsManifest[0].paths = 5), m)],
    ['modelTopology: null', (m: any) => ((m.modelTopology = null), m)],
  ])('%s is BUNDLE_INVALID, not a TypeError', async (_label, edit) => {
    const d = await copy();
    await replaceFile(d, 'model.json', JSON.stringify(edit(await json(join(d, 'model.json')))));
    expect(isLeptonError(await fail(loadBundle(d)), 'BUNDLE_INVALID')).toBe(true);
  });
});

describe('manifest values (7, 10, 12)', () => {
  it('a deeply nested value is BUNDLE_INVALID for load, sign and verify, not a stack overflow', async () => {
    const d = await copy();
    const m = await json(join(d, 'lepton.json'));
    m.provenance.x = '@@';
    await writeFile(join(d, 'lepton.json'), JSON.stringify(m).replace('"@@"', '['.repeat(20000) + ']'.repeat(20000)));
    for (const run of [() => loadBundle(d), () => loadBundle(d, { trustedKeys: [keys.publicKey] }), () => signBundle(d, keys.privateKey)]) {
      expect(isLeptonError(await fail(run()), 'BUNDLE_INVALID')).toBe(true);
    }
  });

  it('files: null, a negative size and a size past 2^53 are BUNDLE_INVALID', async () => {
    const m: BundleManifest = await json(join(base, 'lepton.json'));
    const cases: unknown[] = [
      { ...m, files: null },
      { ...m, files: [] },
      { ...m, files: { ...m.files, 'a.bin': { bytes: -5, sha256: 'a'.repeat(64) } } },
      { ...m, files: { ...m.files, 'a.bin': { bytes: 1e308, sha256: 'a'.repeat(64) } } },
    ];
    for (const c of cases) expect(isLeptonError((() => { try { validateManifest('d', c); } catch (e) { return e; } })(), 'BUNDLE_INVALID')).toBe(true);
  });

  it('a name outside letters, digits, - _ . (a newline, an ESC) is BUNDLE_INVALID', async () => {
    const m: BundleManifest = await json(join(base, 'lepton.json'));
    for (const name of ['x\nsignature verified: key id 0', 'x\u001b[8m', 'a b']) {
      expect(isLeptonError((() => { try { validateManifest('d', { ...m, name }); } catch (e) { return e; } })(), 'BUNDLE_INVALID')).toBe(true);
    }
    expect(validateManifest('d', { ...m, name: 'ok-1.2_x' }).name).toBe('ok-1.2_x');
  });
});

describe('file sizes (8, 9)', () => {
  it('a weights file over 2 GiB is BUNDLE_INVALID before it is read', async () => {
    const d = await copy();
    const size = 3 * 2 ** 30;
    const h = await open(join(d, 'weights.bin'), 'w');
    await h.truncate(size);
    await h.close();
    const m = await json(join(d, 'lepton.json'));
    m.files['weights.bin'].bytes = size;
    await writeFile(join(d, 'lepton.json'), JSON.stringify(m));
    const err = await fail(loadBundle(d));
    await rm(join(d, 'weights.bin'));
    expect(isLeptonError(err, 'BUNDLE_INVALID')).toBe(true);
    expect((err as Error).message).toMatch(/more than a bundle file may hold/);
  });

  it('lepton.sig.json: missing is BUNDLE_UNSIGNED; a link out, a directory or an oversized file is BUNDLE_INVALID (never read)', async () => {
    const d = await copy();
    const { manifest } = await loadBundle(d).then((b) => (b.model.dispose(), b));
    expect(isLeptonError(await fail(verifyBundleSignature(d, manifest, [keys.publicKey])), 'BUNDLE_UNSIGNED')).toBe(true);
    await symlink('/dev/zero', join(d, 'lepton.sig.json'));
    expect(isLeptonError(await fail(loadBundle(d, { trustedKeys: [keys.publicKey] })), 'BUNDLE_INVALID')).toBe(true);
    await unlink(join(d, 'lepton.sig.json'));
    await writeFile(join(d, 'lepton.sig.json'), Buffer.alloc((1 << 20) + 1, 0x20));
    const err = await fail(verifyBundleSignature(d, manifest, [keys.publicKey]));
    expect(isLeptonError(err, 'BUNDLE_INVALID')).toBe(true);
    expect((err as Error).message).toMatch(/more than it can need/);
    // signing replaces such a file (it never reads it)
    await signBundle(d, keys.privateKey);
    await loadBundle(d, { trustedKeys: [keys.publicKey] }).then(({ model }) => model.dispose());
  });
});

describe('directory arguments (13)', () => {
  it.each([5, null, 'a\0b', Symbol('x')])('signBundle and verifyBundleSignature(%s) are INVALID_ARGUMENT', async (dir) => {
    const m = await json(join(base, 'lepton.json'));
    expect(isLeptonError(await fail(signBundle(dir as string, keys.privateKey)), 'INVALID_ARGUMENT')).toBe(true);
    expect(isLeptonError(await fail(verifyBundleSignature(dir as string, m, [keys.publicKey])), 'INVALID_ARGUMENT')).toBe(true);
  });
});
