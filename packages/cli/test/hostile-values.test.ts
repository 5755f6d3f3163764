import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMlp, initRuntime, saveBundle } from '@lepton/core';
import { doctor, redactUrl, runCli, type CliIo } from '@lepton/cli';
import { ctPhantom, writeCtSeries } from '@lepton/medical';
import { expectRejected, expectTypedOrOk, HOSTILE, outcome } from '../../../tests/support/hostile.js';
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

/** Runs `lepton …args` in this process (usage errors never load TensorFlow.js) and collects what it wrote. */
async function inProcess(args: readonly unknown[], cwd = work): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: Partial<CliIo> = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: {}, cwd };
  const code = await runCli(args as string[], io);
  return { code, stdout, stderr };
}

const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false);

describe('lepton flags and its in-process API with hostile values (sweep 2)', () => {
  it('a string flag given twice, or with an empty value, is a usage error (exit 2) that echoes no value, and nothing is done', async () => {
    // parseArgs kept the last of two --out (keygen wrote b.*) and read --key= as the working directory.
    const cases: Array<[string[], RegExp]> = [
      [['bundle', 'keygen', '--out', 'a', '--out', 'b'], /--out is given more than once/],
      [['bundle', 'sign', 'dir', '--key', 'one.pem', '--key', 'two.pem'], /--key is given more than once/],
      [['bundle', 'verify', 'dir', '--key='], /--key needs a value/],
      [['bundle', 'sign', 'dir', '--key='], /--key needs a value/],
      [['dicom', 'deid', 'in', 'out', '--salt', 'first-secret', '--salt', 'second-secret'], /--salt is given more than once/],
      [['dicom', 'deid', 'in', 'out', '--salt-file='], /--salt-file needs a value/],
      [['dicom', 'to-png', 'in.dcm', 'out.png', '--frame', '1', '--frame', '2'], /--frame is given more than once/],
      [['doctor', '--timeout', '100', '--timeout', '200'], /--timeout is given more than once/],
      [['doctor', '--redis='], /--redis needs a value/],
    ];
    for (const [args, message] of cases) {
      const r = await inProcess(args);
      expect.soft(r.code, args.join(' ')).toBe(2);
      expect.soft(r.stderr, args.join(' ')).toMatch(message);
      expect.soft(r.stderr, args.join(' ')).toMatch(/Run 'lepton [a-z -]+ --help' for usage\.\n$/);
      expect.soft(r.stderr, args.join(' ')).not.toMatch(/secret|one\.pem|two\.pem|\n\s+at /);
    }
    expect(await exists(join(work, 'b.key.pem'))).toBe(false);
    // The same with --json: one JSON document with CLI_USAGE, and a repeated boolean flag is harmless.
    const json = await inProcess(['bundle', 'keygen', '--out', 'a', '--out', 'b', '--json', '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: 'CLI_USAGE' } });
    // parseArgs' own messages become sentences before the usage hint.
    expect((await inProcess(['bundle', 'keygen', '--out'])).stderr).toMatch(/argument missing\. Run 'lepton bundle keygen --help'/);
  });

  it('doctor --timeout past 2^31 − 1 ms is a usage error (Node cut it to 1 ms: every check timed out at once)', async () => {
    for (const t of ['2147483648', '99999999999']) {
      const r = await inProcess(['doctor', '--timeout', t, '--no-gpu']);
      expect.soft(r.code, t).toBe(2);
      expect.soft(r.stderr, t).toMatch(/--timeout must be an integer ≥ 1 and ≤ 2147483647/);
    }
  });

  it("dicom to-png: --preset constructor and a hexadecimal --window are usage errors (exit 2), not a failed or odd render", async () => {
    const [file] = await writeCtSeries(ctPhantom({ seed: 3, size: 16, slices: 1 }), { dir: join(work, 'ct'), patientId: 'P-1', patientName: 'Test^Patient', fileNames: 'ordered' });
    const out = join(work, 'png', 'x.png');
    for (const flags of [['--preset', 'constructor'], ['--preset', 'toString'], ['--preset', '__proto__'], ['--window', '0x10,0x20'], ['--window', '0b1,1e3'], ['--window', '40,Infinity']]) {
      const r = await inProcess(['dicom', 'to-png', file!, out, ...flags]);
      expect.soft(r.code, flags.join(' ')).toBe(2);
      expect.soft(r.stderr, flags.join(' ')).toMatch(/Unknown --preset|--window must be CENTER,WIDTH/);
    }
    expect(await exists(out)).toBe(false);
    const ok = await inProcess(['dicom', 'to-png', file!, out, '--window=-6e2,1.5e3', '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ window: { center: -600, width: 1500 } });
  });

  it('runCli: arguments that are not strings are a usage error (exit 2); io that is not writers is refused with CLI_USAGE', async () => {
    for (const [name, value] of [...HOSTILE, ['null', null], ['a string', 'doctor']] as const) {
      const r = await inProcess(value as unknown as unknown[]);
      expect.soft(r.code, `runCli(${name})`).toBe(2);
      if (typeof value === 'string') continue;
      const inside = await inProcess(['bundle', 'inspect', value]);
      expect.soft(inside.code, `runCli(['bundle', 'inspect', ${name}])`).toBe(2);
      expect.soft(inside.stderr, `runCli(['bundle', 'inspect', ${name}])`).toMatch(/^lepton: Argument 3 is not a string\./);
    }
    for (const key of ['stdout', 'stderr', 'env', 'cwd'] as const) {
      const values: ReadonlyArray<readonly [string, unknown]> = key === 'env' ? [['Symbol()', Symbol('e')], ['BigInt', 12n], ['null', null], ['5', 5]] : [...HOSTILE, ['null', null], ['5', 5]];
      for (const [name, value] of values) {
        const got = await runCli(['--help'], { stdout: () => {}, stderr: () => {}, [key]: value } as Partial<CliIo>).then(String, (e: unknown) => `${(e as Error).name} ${(e as { code?: string }).code}`);
        expect.soft(got, `runCli io.${key} = ${name}`).toBe('CliError CLI_USAGE');
      }
    }
    // An undefined writer keeps the default instead of replacing it (a spread did, and the error handler then threw).
    let out = '';
    expect(await runCli(['--help'], { stdout: (t: string) => void (out += t), stderr: undefined } as unknown as Partial<CliIo>)).toBe(0);
    expect(out).toMatch(/^Usage: lepton/);
    // After '--', '--json' is an argument: the failure is reported as text, not as a JSON document.
    const literal = await inProcess(['bundle', 'inspect', '--', '--json']);
    expect(literal.code).toBe(1);
    expect(literal.stdout).toBe('');
    expect(literal.stderr).toMatch(/^lepton bundle inspect: BUNDLE_NOT_FOUND: /);
  });

  it('doctor() refuses options, env, timeoutMs, gpu and cwd of the wrong type before any check starts', async () => {
    await expectRejected('doctor(options)', (v) => doctor(v as never), 'INVALID_ARGUMENT', [['Symbol()', Symbol('o')], ['BigInt', 12n], ['null', null], ['5', 5], ["'x'", 'x']]);
    await expectRejected('doctor(env)', (v) => doctor({ env: v as Record<string, string>, gpu: false }), 'INVALID_ARGUMENT', [['Symbol()', Symbol('e')], ['BigInt', 12n], ['5', 5], ["'x'", 'x']]);
    for (const name of ['LEPTON_REDIS_URL', 'LEPTON_MQTT_URL', 'LEPTON_DICOMWEB_URL', 'LEPTON_FFMPEG']) {
      // `env[name]?.trim()` of a number or an object threw a TypeError.
      await expectRejected(`doctor(env.${name})`, (v) => doctor({ env: { [name]: v } as Record<string, string>, gpu: false }), 'INVALID_ARGUMENT', [...HOSTILE, ['5', 5], ['null', null]]);
    }
    await expectRejected('doctor(timeoutMs)', (v) => doctor({ timeoutMs: v as number, gpu: false, env: {} }), 'INVALID_ARGUMENT', [['2^31', 2 ** 31], ['1e308', 1e308], ["'100'", '100']]);
    await expectRejected('doctor(gpu)', (v) => doctor({ gpu: v as boolean, env: {} }), 'INVALID_ARGUMENT', [...HOSTILE, ["'false'", 'false'], ['0', 0]]);
    await expectRejected('doctor(cwd)', (v) => doctor({ cwd: v as string, gpu: false, env: {} }), 'INVALID_ARGUMENT', [...HOSTILE, ["''", ''], ['5', 5]]);
  });

  it('bundle inspect summarises a manifest whose provenance is null and whose metrics and preprocessing are not objects', async () => {
    const dir = join(work, 'odd-model');
    await saveBundle(buildMlp({ inputDim: 2, hiddenUnits: [2], seed: 1 }), dir, { name: 'm', version: '1.0.0' });
    const path = join(dir, 'lepton.json');
    const manifest = JSON.parse(await readFile(path, 'utf8')) as Record<string, any>;
    manifest['provenance'] = null;
    manifest['metrics'] = { auc: 'NaN', n: 3 };
    manifest['preprocessing'] = 'abc';
    await writeFile(path, JSON.stringify(manifest));
    const r = await inProcess(['bundle', 'inspect', dir]);
    expect(r.code, r.stderr).toBe(0); // it was CLI_FAILED: a TypeError reading provenance.createdAt
    expect(r.stdout).toMatch(/^metrics +auc 'NaN', n 3$/m); // the text 'NaN' shows quoted, never like the number
    expect(r.stdout).toMatch(/^preprocess +'abc'$/m); // not "0, 1, 2", the keys of a string
    expect(r.stdout).toMatch(/^provenance +created undefined,/m);
    manifest['metrics'] = [0.5, 0.7];
    await writeFile(path, JSON.stringify(manifest));
    const arrays = await inProcess(['bundle', 'inspect', dir, '--json']);
    expect(arrays.code).toBe(0);
    expect(await outcome(() => JSON.parse(arrays.stdout))).toBe('ok');
  });
});

