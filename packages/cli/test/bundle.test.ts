import { cp, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMlp, bundleDigest, initRuntime, saveBundle, type BundleManifest } from '@lepton/core';
import { lepton } from './support/cli.js';

let work: string;
let bundle: string;
let manifest: BundleManifest;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lepton-cli-bundle-'));
  bundle = join(work, 'model');
  await initRuntime({ backend: 'cpu' }, {});
  manifest = await saveBundle(buildMlp({ inputDim: 4, hiddenUnits: [8], seed: 3 }), bundle, {
    name: 'card-fraud',
    version: '2.1.0',
    description: 'test model',
    labels: ['legit', 'fraud'],
    metrics: { rocAuc: 0.9312, brier: 0.071 },
    preprocessing: { means: [0, 1, 2, 3] },
  });
});
afterAll(async () => rm(work, { recursive: true, force: true }));

/** A copy of a bundle (default: the unsigned original) to sign or tamper with. */
async function copy(name: string, from = bundle): Promise<string> {
  const dir = join(work, name);
  await cp(from, dir, { recursive: true });
  return dir;
}

describe('lepton bundle inspect', () => {
  it('summarises the manifest: task, inputs/outputs, labels, metrics, files with sizes, no signature', async () => {
    const r = await lepton(['bundle', 'inspect', bundle, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({
      command: 'bundle inspect',
      ok: true,
      name: 'card-fraud',
      version: '2.1.0',
      task: 'binary',
      description: 'test model',
      labels: ['legit', 'fraud'],
      metrics: { rocAuc: 0.9312, brier: 0.071 },
      inputs: manifest.inputs,
      outputs: manifest.outputs,
      digest: bundleDigest(manifest),
      unlisted: [],
      signatures: { present: false, keyIds: [] },
    });
    for (const f of r.json!['files']) {
      expect(f.bytes).toBe(manifest.files[f.name]!.bytes);
      expect(f.actualBytes).toBe((await stat(join(bundle, f.name))).size);
    }
    expect(r.json!['files'].map((f: { name: string }) => f.name).sort()).toEqual(Object.keys(manifest.files).sort());
    const human = await lepton(['bundle', 'inspect', bundle]);
    expect(human.stdout).toMatch(/^card-fraud@2\.1\.0 \(binary\): test model$/m);
    expect(human.stdout).toMatch(/^labels +legit, fraud$/m);
    expect(human.stdout).toMatch(/^metrics +rocAuc 0\.9312, brier 0\.0710$/m);
    expect(human.stdout).toMatch(/^signatures +none \(unsigned\)$/m);
  });

  it('fails with BUNDLE_NOT_FOUND where there is no bundle', async () => {
    const r = await lepton(['bundle', 'inspect', join(work, 'nothing-here'), '--json']);
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ ok: false, error: { code: 'BUNDLE_NOT_FOUND' } });
  });
});

describe('lepton bundle keygen, sign and verify', () => {
  let keys: { keyId: string; privateKey: string; publicKey: string };
  let other: { keyId: string; publicKey: string };
  let signed: string;

  beforeAll(async () => {
    const a = await lepton(['bundle', 'keygen', '--out', join(work, 'release'), '--json']);
    const b = await lepton(['bundle', 'keygen', '--out', join(work, 'stranger'), '--json']);
    expect(a.code, a.stderr).toBe(0);
    keys = a.json as typeof keys;
    other = b.json as typeof other;
    signed = await copy('signed');
    const s = await lepton(['bundle', 'sign', signed, '--key', keys.privateKey, '--json']);
    expect(s.code, s.stdout).toBe(0);
    expect(s.json).toMatchObject({ ok: true, keyId: keys.keyId, digest: bundleDigest(manifest), signatures: [keys.keyId] });
  });

  it('keygen writes a private key only its owner can read, prints no key material and never overwrites', async () => {
    expect(keys.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect((await stat(keys.privateKey)).mode & 0o777).toBe(0o600);
    const pem = await readFile(keys.privateKey, 'utf8');
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const again = await lepton(['bundle', 'keygen', '--out', join(work, 'release')]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/WRITE_FAILED: .*release\.key\.pem exists; refusing to replace it/);
    expect(await readFile(keys.privateKey, 'utf8')).toBe(pem);
    const body = pem.split('\n')[1]!;
    expect(again.stdout + again.stderr).not.toContain(body);
  });

  it('verify with the trusted key passes and names the key; inspect lists the signature', async () => {
    const r = await lepton(['bundle', 'verify', signed, '--key', keys.publicKey, '--json']);
    expect(r.code, r.stdout).toBe(0);
    expect(r.json).toMatchObject({ ok: true, name: 'card-fraud', version: '2.1.0', files: 2, signature: { checked: true, verifiedBy: keys.keyId, signedBy: [keys.keyId] } });
    const human = await lepton(['bundle', 'verify', signed, '--key', other.publicKey, '--key', keys.publicKey]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^signature verified: key id ${keys.keyId}$`, 'm'));
    const inspect = await lepton(['bundle', 'inspect', signed, '--json']);
    expect(inspect.json!['signatures']).toEqual({ present: true, wellFormed: true, digest: bundleDigest(manifest), digestMatches: true, keyIds: [keys.keyId] });
  });

  it('verify without --key checks integrity only, and says so', async () => {
    const r = await lepton(['bundle', 'verify', signed]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^OK card-fraud@2\.1\.0: 2 files match lepton\.json, the model loads$/m);
    expect(r.stdout).toMatch(new RegExp(`^signature not checked \\(no --key\\); signed by key id ${keys.keyId}$`, 'm'));
  });

  it('refuses a bundle signed by an untrusted key, and an unsigned one, when --key is given', async () => {
    const untrusted = await lepton(['bundle', 'verify', signed, '--key', other.publicKey, '--json']);
    expect(untrusted.code).toBe(1);
    expect(untrusted.json).toMatchObject({ ok: false, error: { code: 'BUNDLE_SIGNATURE_INVALID' } });
    const unsigned = await lepton(['bundle', 'verify', bundle, '--key', keys.publicKey]);
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toMatch(/^lepton bundle verify: BUNDLE_UNSIGNED: /);
  });

  it('catches tampered weights (BUNDLE_INTEGRITY) and a tampered manifest (BUNDLE_SIGNATURE_INVALID)', async () => {
    const weights = await copy('tampered-weights', signed);
    const w = await readFile(join(weights, 'weights.bin'));
    w[w.length - 1] = w[w.length - 1]! ^ 0x01;
    await writeFile(join(weights, 'weights.bin'), w);
    for (const args of [[], ['--key', keys.publicKey]]) {
      const r = await lepton(['bundle', 'verify', weights, ...args, '--json']);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.json).toMatchObject({ ok: false, error: { code: 'BUNDLE_INTEGRITY' } });
    }
    // A better-looking metric, digests and all consistent: only the signature notices.
    const relabelled = await copy('tampered-manifest', signed);
    const m = JSON.parse(await readFile(join(relabelled, 'lepton.json'), 'utf8')) as BundleManifest;
    m.metrics = { ...m.metrics, rocAuc: 0.999 };
    await writeFile(join(relabelled, 'lepton.json'), JSON.stringify(m, null, 2));
    expect((await lepton(['bundle', 'verify', relabelled])).code).toBe(0);
    const r = await lepton(['bundle', 'verify', relabelled, '--key', keys.publicKey, '--json']);
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ ok: false, error: { code: 'BUNDLE_SIGNATURE_INVALID', message: expect.stringContaining('changed after signing') } });
    const inspect = await lepton(['bundle', 'inspect', relabelled]);
    expect(inspect.stdout).toMatch(/lepton\.json changed after signing/);
  });

  it('sign refuses an altered bundle and a key that is not an Ed25519 private key', async () => {
    const weights = join(work, 'tampered-weights');
    const altered = await lepton(['bundle', 'sign', weights, '--key', keys.privateKey, '--json']);
    expect(altered.code).toBe(1);
    expect(altered.json).toMatchObject({ ok: false, error: { code: 'BUNDLE_INTEGRITY' } });
    const pub = await lepton(['bundle', 'sign', signed, '--key', keys.publicKey, '--json']);
    expect(pub.code).toBe(1);
    expect(pub.json).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    const missing = await lepton(['bundle', 'verify', signed, '--key', join(work, 'nope.pem'), '--json']);
    expect(missing.code).toBe(1);
    expect(missing.json).toMatchObject({ ok: false, error: { code: 'READ_FAILED' } });
  });
});

describe('lepton bundle usage errors (exit 2)', () => {
  it.each([
    [['bundle', 'verify'], /Missing <dir>\./, 'bundle verify'],
    [['bundle', 'inspect', 'a', 'b'], /Unexpected argument 'b'\./, 'bundle inspect'],
    [['bundle', 'sign', 'dir'], /Missing --key KEY\.PEM/, 'bundle sign'],
    [['bundle', 'keygen'], /Missing --out PREFIX\./, 'bundle keygen'],
    [['bundle', 'verify', 'dir', '--key'], /Option '--key <value>' argument missing/, 'bundle verify'],
  ])('%j', async (args, message, command) => {
    const r = await lepton(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain(`Run 'lepton ${command} --help' for usage.`);
  });
});
