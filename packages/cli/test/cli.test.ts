import { describe, expect, it } from 'vitest';
import { EXIT_CODES, redactUrl, runCli } from '@lepton/cli';
import { lepton } from './support/cli.js';

describe('lepton: commands, help and exit codes', () => {
  it('--help lists every command and the exit codes (exit 0); no command is a usage error (exit 2)', async () => {
    const help = await lepton(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['doctor', 'dicom info', 'dicom deid', 'dicom to-png', 'bundle inspect', 'bundle verify', 'bundle keygen', 'bundle sign']) {
      expect(help.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    }
    expect(help.stdout).toMatch(/Exit codes: 0 success; 1 .*; 2 usage error/);
    const none = await lepton([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^Usage: lepton <command>/);
    expect((await lepton(['--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it.each(['doctor', 'dicom info', 'dicom deid', 'dicom to-png', 'bundle inspect', 'bundle verify', 'bundle keygen', 'bundle sign'])(
    'lepton %s --help documents its arguments, flags and exit codes',
    async (name) => {
      const r = await lepton([...name.split(' '), '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: lepton ${name}`));
      expect(r.stdout).toMatch(/^ {2}--json +print one JSON document/m);
      expect(r.stdout).toMatch(/Exit codes: 0 .*/);
    },
  );

  it('group help and unknown commands', async () => {
    const group = await lepton(['bundle', '--help']);
    expect(group.code).toBe(0);
    expect(group.stdout).toMatch(/^ {2}bundle verify /m);
    for (const [args, message] of [
      [['frobnicate'], /Unknown command 'frobnicate'\. Run 'lepton --help'/],
      [['dicom'], /'lepton dicom' needs a command: info, deid, to-png\./],
      [['bundle', 'burn'], /Unknown command 'lepton bundle burn'; use one of inspect, verify, keygen, sign\./],
    ] as const) {
      const r = await lepton([...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('with --json, a usage error is still one JSON document on stdout', async () => {
    const r = await lepton(['bundle', 'verify', '--json', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.json).toMatchObject({ command: 'bundle verify', ok: false, error: { code: 'CLI_USAGE', message: expect.stringContaining("Unknown option '--bogus'") } });
    expect(r.stderr).toBe('');
  });

  it('help and usage errors work without @lepton/core; commands that need it say how to install it', async () => {
    const help = await lepton(['--help'], { hide: ['@lepton/core'] });
    expect(help.code).toBe(0);
    const usage = await lepton(['bundle', 'sign', 'dir'], { hide: ['@lepton/core'] });
    expect(usage.code).toBe(2);
    const doctor = await lepton(['doctor', '--json'], { hide: ['@lepton/core'] });
    expect(doctor.code).toBe(1);
    expect(doctor.json).toMatchObject({ ok: false, error: { code: 'CLI_CORE_MISSING', message: expect.stringContaining('npm install @lepton/core') } });
  });
});

describe('@lepton/cli programmatic API', () => {
  it('runCli runs a command in-process and returns its exit code', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['bundle', 'inspect', '/nonexistent-lepton-bundle', '--json'], { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t) });
    expect(code).toBe(EXIT_CODES.failure);
    expect(JSON.parse(out.join(''))).toMatchObject({ ok: false, error: { code: 'BUNDLE_NOT_FOUND' } });
    expect(await runCli(['nope'], { stdout: () => undefined, stderr: (t) => void err.push(t) })).toBe(EXIT_CODES.usage);
  });

  it('redactUrl hides user, password and credential-like query values, and never echoes a non-URL', () => {
    expect(redactUrl('redis://app:s3cret@10.0.0.5:6379/0')).toBe('redis://***:***@10.0.0.5:6379/0');
    expect(redactUrl('redis://:s3cret@h')).toBe('redis://:***@h');
    expect(redactUrl('http://pacs:8042/dicom-web?token=abc&limit=1')).toBe('http://pacs:8042/dicom-web?token=***&limit=1');
    expect(redactUrl('mqtt://127.0.0.1:1883')).toBe('mqtt://127.0.0.1:1883');
    // No scheme: URL parsing would take 'admin:' for one and keep the password as the path. Never echoed.
    expect(redactUrl('admin:s3cret@host')).toBe('<not a URL>');
  });
});
