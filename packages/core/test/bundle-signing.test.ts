// Issue 16 §2: bundles whose manifest and files are covered by an Ed25519 signature, links out of the bundle refused,
// sizes checked from stat before anything is read. Each test reproduces an attack and expects a safe refusal.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildMlp,
  bundleKeyId,
  createBundleSigningKeys,
  initRuntime,
  loadBundle,
  saveBundle,
  signBundle,
  SIGNATURE_FILE,
  tf,
  type BundleManifest,
} from '@lepton/core';

let root: string;
const keys = createBundleSigningKeys();
const other = createBundleSigningKeys();

beforeAll(async () => {
  await initRuntime({ backend: 'cpu' }, {});
  root = await mkdtemp(join(tmpdir(), 'lepton-bundle-sign-'));
});
afterAll(async () => rm(root, { recursive: true, force: true }));

let n = 0;
async function signedBundle(): Promise<string> {
  const dir = join(root, `b${n++}`);
  await saveBundle(buildMlp({ inputDim: 4, seed: 5 }), dir, { name: 'fraud', version: '1.0.0', labels: ['legit', 'fraud'], preprocessing: { threshold: 0.5 } });
  await signBundle(dir, keys.privateKey);
  return dir;
}

async function predict(dir: string, trustedKeys?: string[]): Promise<number> {
  const { model } = await loadBundle(dir, trustedKeys ? { trustedKeys } : {});
  const y = tf.tidy(() => (model.predict(tf.tensor2d([[0.3, -1, 2, 0.5]])) as tf.Tensor).dataSync()[0]!);
  model.dispose();
  return y;
}

async function rewriteManifest(dir: string, edit: (m: BundleManifest) => void): Promise<void> {
  const m = JSON.parse(await readFile(join(dir, 'lepton.json'), 'utf8')) as BundleManifest;
  edit(m);
  await writeFile(join(dir, 'lepton.json'), JSON.stringify(m, null, 2));
}

describe('signed bundles', () => {
  it('a signed bundle loads with its trusted key; key ids are stable', async () => {
    const dir = await signedBundle();
    expect(Number.isFinite(await predict(dir, [keys.publicKey]))).toBe(true);
    const sig = JSON.parse(await readFile(join(dir, SIGNATURE_FILE), 'utf8'));
    expect(sig).toMatchObject({ format: 'lepton-bundle-signatures', algorithm: 'ed25519', signatures: [{ keyId: keys.keyId }] });
    expect(bundleKeyId(keys.publicKey)).toBe(keys.keyId);
    expect(bundleKeyId(keys.privateKey)).toBe(keys.keyId);
  });

  it('attack: weights edited and their SHA-256 recomputed in lepton.json — loads without keys (accidents only), refused with keys', async () => {
    const dir = await signedBundle();
    const before = await predict(dir);
    const w = await readFile(join(dir, 'weights.bin'));
    const f = new Float32Array(w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength));
    for (let i = 0; i < f.length; i++) f[i] = f[i]! * 3 + 0.5;
    const edited = new Uint8Array(f.buffer);
    await writeFile(join(dir, 'weights.bin'), edited);
    await rewriteManifest(dir, (m) => {
      m.files['weights.bin']!.sha256 = createHash('sha256').update(edited).digest('hex');
    });
    expect(await predict(dir)).not.toBeCloseTo(before, 3); // the SHA-256 check alone cannot see this
    await expect(loadBundle(dir, { trustedKeys: [keys.publicKey] })).rejects.toMatchObject({ code: 'BUNDLE_SIGNATURE_INVALID' });
  });

  it('attack: labels, preprocessing or metrics edited in lepton.json — refused', async () => {
    for (const edit of [
      (m: BundleManifest) => (m.labels = ['fraud', 'legit']),
      (m: BundleManifest) => (m.preprocessing = { threshold: 0.99 }),
      (m: BundleManifest) => (m.metrics = { auc: 0.99 }),
      (m: BundleManifest) => (m.version = '1.0.1'),
    ]) {
      const dir = await signedBundle();
      await rewriteManifest(dir, edit);
      await expect(loadBundle(dir, { trustedKeys: [keys.publicKey] })).rejects.toMatchObject({ code: 'BUNDLE_SIGNATURE_INVALID' });
    }
  });

  it('attack: re-signed by an untrusted key, a forged signature, a missing or mangled signature file — refused', async () => {
    const dir = await signedBundle();
    await rewriteManifest(dir, (m) => (m.labels = ['a', 'b']));
    await signBundle(dir, other.privateKey); // the attacker's own key
    await expect(loadBundle(dir, { trustedKeys: [keys.publicKey] })).rejects.toMatchObject({ code: 'BUNDLE_SIGNATURE_INVALID' });
    expect(Number.isFinite(await predict(dir, [other.publicKey, keys.publicKey]))).toBe(true); // trusting the other key is the caller's choice

    const forged = await signedBundle();
    const sig = JSON.parse(await readFile(join(forged, SIGNATURE_FILE), 'utf8'));
    await rewriteManifest(forged, (m) => (m.labels = ['a', 'b']));
    sig.digest = 'f'.repeat(64);
    await writeFile(join(forged, SIGNATURE_FILE), JSON.stringify(sig));
    await expect(loadBundle(forged, { trustedKeys: [keys.publicKey] })).rejects.toMatchObject({ code: 'BUNDLE_SIGNATURE_INVALID' });

    const unsigned = join(root, 'unsigned');
    await saveBundle(buildMlp({ inputDim: 4, seed: 5 }), unsigned, { name: 'u', version: '1.0.0' });
    await expect(loadBundle(unsigned, { trustedKeys: [keys.publicKey] })).rejects.toMatchObject({ code: 'BUNDLE_UNSIGNED' });
    await writeFile(join(unsigned, SIGNATURE_FILE), '{"format":"lepton-bundle-signatures"');
    await expect(loadBundle(unsigned, { trustedKeys: [keys.publicKey] })).rejects.toMatchObject({ code: 'BUNDLE_SIGNATURE_INVALID' });
  });

  it('signing checks the files first (an altered bundle is never signed) and refuses keys that are not Ed25519', async () => {
    const dir = await signedBundle();
    const w = await readFile(join(dir, 'weights.bin'));
    w[0] = w[0]! ^ 0xff;
    await writeFile(join(dir, 'weights.bin'), w);
    await expect(signBundle(dir, keys.privateKey)).rejects.toMatchObject({ code: 'BUNDLE_INTEGRITY' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    await expect(signBundle(await signedBundle(), rsa)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(loadBundle(await signedBundle(), { trustedKeys: [] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(loadBundle(await signedBundle(), { trustedKeys: ['not a key'] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('bundle files stay inside the bundle and are sized before they are read', () => {
  it('attack: weights.bin is a symlink to a file outside the bundle — refused', async () => {
    const dir = await signedBundle();
    const outside = join(root, 'outside.bin');
    await writeFile(outside, await readFile(join(dir, 'weights.bin')));
    await rm(join(dir, 'weights.bin'));
    await symlink(outside, join(dir, 'weights.bin'));
    await expect(loadBundle(dir)).rejects.toMatchObject({ code: 'BUNDLE_INVALID', message: expect.stringContaining('leaves the bundle') });
    const manifestLink = await signedBundle();
    const elsewhere = join(root, 'elsewhere.json');
    await writeFile(elsewhere, await readFile(join(manifestLink, 'lepton.json')));
    await rm(join(manifestLink, 'lepton.json'));
    await symlink(elsewhere, join(manifestLink, 'lepton.json'));
    await expect(loadBundle(manifestLink)).rejects.toMatchObject({ code: 'BUNDLE_INVALID' });
  });

  it('a link that stays inside the bundle is fine', async () => {
    const dir = await signedBundle();
    await writeFile(join(dir, 'real-weights.bin'), await readFile(join(dir, 'weights.bin')));
    await rm(join(dir, 'weights.bin'));
    await symlink('real-weights.bin', join(dir, 'weights.bin'));
    expect(Number.isFinite(await predict(dir, [keys.publicKey]))).toBe(true);
  });

  it('attack: a 1 GiB weights file is refused from its size, without reading it', async () => {
    const dir = await signedBundle();
    await truncate(join(dir, 'weights.bin'), 1 << 30); // sparse: costs no disk
    const heapBefore = process.memoryUsage().rss;
    await expect(loadBundle(dir)).rejects.toMatchObject({ code: 'BUNDLE_INTEGRITY', message: expect.stringContaining('longer than recorded') });
    expect(process.memoryUsage().rss - heapBefore).toBeLessThan(256 << 20);
  });
});
