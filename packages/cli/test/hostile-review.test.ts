import { describe, expect, it } from 'vitest';
import { isLeptonError } from '@lepton/core';
import { doctor } from '@lepton/cli';
import { lepton } from './support/cli.js';

// Findings of the hostile review: a malformed percent-encoding in a service URL's user name or password
// (`redis://u:p%ZZass@host`) used to throw a raw URIError from decodeURIComponent mid-report — the CLI exited with
// CLI_FAILED "URI malformed" and the whole report was lost; doctor({redis}) threw the raw URIError.

const MALFORMED = {
  redis: 'redis://u:p%ZZsecret@127.0.0.1:1',
  mqtt: 'mqtt://u%E0%A4%A:secret@127.0.0.1:1',
  dicomweb: 'http://u:p%ZZsecret@127.0.0.1:1/dicom-web',
} as const;

describe('doctor: a malformed percent-encoding in a service URL', () => {
  it.each(Object.entries(MALFORMED))('doctor({%s}) refuses it with INVALID_ARGUMENT, not a URIError, and never quotes it', async (name, url) => {
    const err = await doctor({ [name]: url, gpu: false, env: {} }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isLeptonError(err, 'INVALID_ARGUMENT')).toBe(true);
    expect((err as Error).message).toMatch(/malformed percent-encoding/);
    expect((err as Error).message).not.toContain('secret');
    expect((err as Error).message).not.toContain('%ZZ');
  });

  it('from the environment it is that service’s failed check, and the rest of the report is produced', async () => {
    const report = await doctor({ gpu: false, env: { LEPTON_BACKEND: 'cpu', LEPTON_REDIS_URL: MALFORMED.redis, LEPTON_DICOMWEB_URL: MALFORMED.dicomweb } });
    expect(report.runtime.ok).toBe(true);
    const redis = report.services.find((s) => s.name === 'redis')!;
    const dicomweb = report.services.find((s) => s.name === 'dicomweb')!;
    expect(redis).toMatchObject({ status: 'error', ok: false });
    expect(dicomweb).toMatchObject({ status: 'error', ok: false });
    expect(redis.detail).toMatch(/malformed percent-encoding/);
    expect(report.services.find((s) => s.name === 'mqtt')).toMatchObject({ status: 'not-configured' });
    expect(JSON.stringify(report)).not.toContain('secret');
    expect(report.ok).toBe(false);
  });

  it('the CLI: a usage error for the flag (exit 2, no CLI_FAILED/URIError, no credential); a failed check for the env var', async () => {
    const flag = await lepton(['doctor', '--json', '--no-gpu', '--redis', MALFORMED.redis]);
    expect(flag.code).toBe(2);
    expect(flag.json).toMatchObject({ ok: false, error: { code: 'CLI_USAGE' } });
    expect(flag.stdout + flag.stderr).toMatch(/malformed percent-encoding/);
    expect(flag.stdout + flag.stderr).not.toMatch(/secret|URI malformed|URIError/);

    const env = await lepton(['doctor', '--json', '--no-gpu'], { env: { LEPTON_BACKEND: 'cpu', LEPTON_REDIS_URL: MALFORMED.redis } });
    expect(env.code).toBe(1);
    expect(env.json?.['runtime']).toMatchObject({ ok: true });
    expect(env.json?.['services']).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'redis', status: 'error', ok: false })]));
    expect(env.stdout + env.stderr).not.toMatch(/secret|URI malformed|URIError/);
  });
});
