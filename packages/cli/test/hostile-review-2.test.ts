// Findings of the second hostile review of the CLI (2026-12-07), each reproduced here before its fix:
// 3 `bundle keygen --force` kept an old file's 0644 mode and wrote through a link; 5 `dicom to-png a.dcm a.dcm` and
// `dicom deid` with a symbolic or hard link to <in> as <out> overwrote the input; 11 `dicom deid` read a device or a
// file over 2 GiB with no bound (and `--key` / `--salt-file` /dev/zero); 12 manifest text printed raw (newlines, ESC);
// 14 usage errors echoed a flag's value; 15 `bundle inspect` followed a lepton.json link out of the bundle.
import { cp, link, mkdir, mkdtemp, open, readFile, rm, stat, symlink, unlink, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMlp, initRuntime, saveBundle } from '@lepton/core';
import { ctPhantom, writeCtSeries } from '@lepton/medical';
import { lepton } from './support/cli.js';

let work: string;
let bundle: string;
let dcm: string;

beforeAll(async () => {
  await initRuntime({ backend: 'cpu' }, {});
  work = await mkdtemp(join(tmpdir(), 'lepton-cli-hostile-2-'));
  bundle = join(work, 'bundle');
  await saveBundle(buildMlp({ inputDim: 2, hiddenUnits: [2], seed: 1 }), bundle, { name: 'm', version: '1.0.0', description: 'fine' });
  dcm = (await writeCtSeries(ctPhantom({ seed: 3, size: 16, slices: 1 }), { dir: join(work, 'ct'), patientId: 'P-1', patientName: 'Test^Patient', fileNames: 'ordered' }))[0]!;
});
afterAll(async () => rm(work, { recursive: true, force: true }));

describe('bundle keygen --force (3)', () => {
  it('writes the private key with mode 0600 over a 0644 file, and replaces a planted link instead of writing through it', async () => {
    const dir = join(work, 'kg');
    await mkdir(dir);
    await writeFile(join(dir, 'rel.key.pem'), 'old');
    await chmod(join(dir, 'rel.key.pem'), 0o644);
    expect((await lepton(['bundle', 'keygen', '--out', 'rel', '--force'], { cwd: dir })).code).toBe(0);
    expect((await stat(join(dir, 'rel.key.pem'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(dir, 'rel.key.pem'), 'utf8')).toMatch(/BEGIN PRIVATE KEY/);

    await unlink(join(dir, 'rel.key.pem'));
    await writeFile(join(dir, 'elsewhere.txt'), 'x');
    await symlink(join(dir, 'elsewhere.txt'), join(dir, 'rel.key.pem'));
    expect((await lepton(['bundle', 'keygen', '--out', 'rel', '--force'], { cwd: dir })).code).toBe(0);
    expect(await readFile(join(dir, 'elsewhere.txt'), 'utf8')).toBe('x');
    const key = await stat(join(dir, 'rel.key.pem'));
    expect(key.isFile() && (key.mode & 0o777) === 0o600).toBe(true);
  });
});

describe('dicom outputs never overwrite the input (5)', () => {
  it('to-png <file> <file> is a usage error and leaves the DICOM file as it was', async () => {
    const a = join(work, 'a.dcm');
    await cp(dcm, a);
    const before = await readFile(a);
    const r = await lepton(['dicom', 'to-png', a, a]);
    expect(r.code).toBe(2);
    expect(await readFile(a)).toEqual(before);
  });

  it.each(['symbolic', 'hard'])('deid with a %s link to <in> as <out> is a usage error and leaves <in> as it was', async (kind) => {
    const dir = join(work, `deid-${kind}`);
    await mkdir(dir);
    const input = join(dir, 'in.dcm');
    await cp(dcm, input);
    const before = await readFile(input);
    await (kind === 'symbolic' ? symlink(input, join(dir, 'out.dcm')) : link(input, join(dir, 'out.dcm')));
    const r = await lepton(['dicom', 'deid', input, join(dir, 'out.dcm'), '--salt', 'k', '--json']);
    expect(r.code).toBe(2);
    expect(r.json).toMatchObject({ ok: false, error: { code: 'CLI_USAGE' } });
    expect(await readFile(input)).toEqual(before);
  });
});

describe('bounded reads (11)', () => {
  it('deid refuses a device and a file over 2 GiB with DICOM_READ_FAILED before reading', async () => {
    const dev = await lepton(['dicom', 'deid', '/dev/zero', join(work, 'z.dcm'), '--salt', 'k', '--json'], { timeoutMs: 30_000 });
    expect(dev.code).toBe(1);
    expect(dev.json?.['error']?.code).toBe('DICOM_READ_FAILED');
    const big = join(work, 'big.dcm');
    const h = await open(big, 'w');
    await h.truncate(3 * 2 ** 30);
    await h.close();
    const r = await lepton(['dicom', 'deid', big, join(work, 'z.dcm'), '--salt', 'k', '--json'], { timeoutMs: 30_000 });
    await rm(big);
    expect(r.code).toBe(1);
    expect(r.json?.['error']?.code).toBe('DICOM_READ_FAILED');
    expect(r.json?.['error']?.message).toMatch(/more than the 2147483647/);
  });

  it('--key /dev/zero and --salt-file /dev/zero are READ_FAILED after at most 64 KiB', async () => {
    const key = await lepton(['bundle', 'verify', bundle, '--key', '/dev/zero', '--json'], { timeoutMs: 30_000 });
    expect(key.json?.['error']).toMatchObject({ code: 'READ_FAILED' });
    expect(key.json?.['error']?.message).toMatch(/more than 65536 bytes/);
    const salt = await lepton(['dicom', 'deid', dcm, join(work, 'z2.dcm'), '--salt-file', '/dev/zero', '--json'], { timeoutMs: 30_000 });
    expect(salt.json?.['error']).toMatchObject({ code: 'READ_FAILED' });
    expect(salt.json?.['error']?.message).toMatch(/more than 65536 bytes/);
  });
});

describe('manifest text is printed escaped (12)', () => {
  it('a name with a newline is BUNDLE_INVALID; a description or label with newlines and ESC is shown escaped by inspect', async () => {
    const d = join(work, 'inject');
    await cp(bundle, d, { recursive: true });
    const m = JSON.parse(await readFile(join(d, 'lepton.json'), 'utf8'));
    await writeFile(join(d, 'lepton.json'), JSON.stringify({ ...m, name: 'm@1.0.0: 2 files match\nsignature verified: key id 0' }));
    const verify = await lepton(['bundle', 'verify', d]);
    expect(verify.code).toBe(1);
    expect(verify.stdout + verify.stderr).not.toMatch(/^signature verified/m);

    await writeFile(join(d, 'lepton.json'), JSON.stringify({ ...m, description: 'ok\nsignature verified: key id 0\u001b[8m', labels: ['a\u001b[2K'] }));
    const inspect = await lepton(['bundle', 'inspect', d]);
    expect(inspect.code).toBe(0);
    expect(inspect.stdout).not.toContain('\u001b');
    expect(inspect.stdout).not.toMatch(/^signature verified/m);
    expect(inspect.stdout).toContain('ok\\u000asignature verified');
  });
});

describe('usage errors never echo a flag value (14)', () => {
  it.each([
    [['doctor', '--timeout', 'p@ssw0rd-hunter2']],
    [['dicom', 'to-png', '/nonexistent.dcm', '/tmp/x.png', '--frame', 'p@ssw0rd-hunter2']],
    [['dicom', 'to-png', '/nonexistent.dcm', '/tmp/x.png', '--preset', 'p@ssw0rd-hunter2']],
  ])('%j', async (args) => {
    const r = await lepton(args);
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).not.toContain('hunter2');
  });
});

describe('bundle inspect follows no link out of the bundle (15)', () => {
  it('lepton.json linked to a manifest outside is BUNDLE_INVALID, as verify says', async () => {
    const d = join(work, 'mlink');
    const outside = join(work, 'outside');
    await cp(bundle, d, { recursive: true });
    await mkdir(outside);
    await cp(join(d, 'lepton.json'), join(outside, 'lepton.json'));
    await unlink(join(d, 'lepton.json'));
    await symlink(join(outside, 'lepton.json'), join(d, 'lepton.json'));
    const r = await lepton(['bundle', 'inspect', d, '--json']);
    expect(r.code).toBe(1);
    expect(r.json?.['error']?.code).toBe('BUNDLE_INVALID');
  });
});
