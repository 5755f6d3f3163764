import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMlp, initRuntime, saveBundle } from '@lepton/core';
import { doctor, redactUrl } from '@lepton/cli';
import { expectTypedOrOk, HOSTILE } from '../../../tests/support/hostile.js';
import { lepton } from './support/cli.js';

// The CLI's inputs are argv strings and files: a lepton.json whose free-form fields hold JSON objects (`{ "toString":
// "" }`), and the doctor() API called from JavaScript with anything, must never end in a TypeError.

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lepton-cli-hostile-'));
  await initRuntime({ backend: 'cpu' }, {});
});
afterAll(async () => rm(work, { recursive: true, force: true }));

describe('lepton and its API with hostile values', () => {
  it('bundle inspect summarises a manifest whose description, labels, metrics and provenance are JSON objects', async () => {
    const dir = join(work, 'model');
    await saveBundle(buildMlp({ inputDim: 2, hiddenUnits: [2], seed: 1 }), dir, { name: 'm', version: '1.0.0' });
    const path = join(dir, 'lepton.json');
    const manifest = JSON.parse(await readFile(path, 'utf8')) as Record<string, any>;
    const odd = { toString: '', valueOf: '' };
    manifest['description'] = odd;
    manifest['labels'] = [odd, 'b'];
    manifest['metrics'] = { auc: odd };
    manifest['provenance'] = { ...manifest['provenance'], createdAt: odd, backend: 'x'.repeat(100) };
    await writeFile(path, JSON.stringify(manifest));
    const r = await lepton(['bundle', 'inspect', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^m@1\.0\.0 \(binary\): \(object\)$/m);
    expect(r.stdout).toMatch(/^labels +\(object\), b$/m);
    expect(r.stdout).toMatch(/^metrics +auc \(object\)$/m);
    expect(r.stdout).toMatch(/^provenance +created \(object\),/m);
  });

  it('doctor() refuses or reports a hostile backend, timeout or service URL with a LeptonError or a report, never a TypeError', async () => {
    for (const [name, value] of HOSTILE) {
      const report = await doctor({ backend: value as 'cpu', gpu: false, env: {} });
      expect.soft([report.ok, report.runtime.ok, report.runtime.ok ? '' : report.runtime.error?.code], `doctor({ backend: ${name} })`).toEqual([false, false, 'INVALID_ARGUMENT']);
      expect.soft(typeof report.runtime.preference, `doctor({ backend: ${name} }).runtime.preference`).toBe('string');
      expect.soft(() => JSON.stringify(report), `doctor({ backend: ${name} }) report serialises`).not.toThrow();
    }
    await expectTypedOrOk('doctor(timeoutMs)', (v) => doctor({ timeoutMs: v as number, gpu: false, env: {} }), HOSTILE);
    await expectTypedOrOk('doctor(redis)', (v) => doctor({ redis: v as string, gpu: false, env: {} }), HOSTILE);
    for (const [name, value] of HOSTILE) expect.soft(redactUrl(value as string), `redactUrl(${name})`).toBe('<not a URL>');
  });
});
