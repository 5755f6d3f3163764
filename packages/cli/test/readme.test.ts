import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { PACKAGE_DIR } from './support/cli.js';

const run = promisify(execFile);
const work = await mkdtemp(join(tmpdir(), 'lepton-cli-readme-'));
afterAll(async () => rm(work, { recursive: true, force: true }));

// The README quick start itself runs from the packed tarballs in tests/readme.test.ts ('@lepton/cli quick start').
describe('packed @lepton/cli', () => {
  it('ships dist with the executable bin, the README, and @lepton/medical as an optional peer', async () => {
    const dest = join(work, 'pack');
    // The pnpm that runs this test (pnpm sets npm_execpath), else `pnpm` from PATH; pnpm rewrites workspace: ranges.
    const exec = process.env['npm_execpath'];
    const [file, prefix] = exec && /pnpm/.test(exec) ? (/\.c?js$/.test(exec) ? [process.execPath, [exec]] : [exec, []]) : ['pnpm', []];
    await run(file, [...prefix, 'pack', '--pack-destination', dest], { cwd: PACKAGE_DIR, timeout: 120_000 });
    const { stdout: tgz } = await run('bash', ['-c', `ls "${dest}"/*.tgz`]);
    const { stdout: listing } = await run('tar', ['-tzf', tgz.trim()]);
    expect(listing).toContain('package/dist/bin.js');
    expect(listing).toContain('package/dist/index.d.ts');
    expect(listing).toContain('package/README.md');
    expect(listing).not.toContain('package/src/');
    expect(listing).not.toContain('package/test/');
    expect(listing).not.toMatch(/tsbuildinfo/);
    const { stdout: pkgText } = await run('tar', ['-xzOf', tgz.trim(), 'package/package.json']);
    const pkg = JSON.parse(pkgText) as Record<string, any>;
    expect(pkg['bin']).toEqual({ lepton: './dist/bin.js' });
    expect(pkg['peerDependencies']['@lepton/core']).toMatch(/^\^\d/);
    expect(pkg['peerDependencies']['@lepton/medical']).toMatch(/^\^\d/);
    expect(pkg['peerDependenciesMeta']).toEqual({ '@lepton/medical': { optional: true } });
    expect(pkg['dependencies']['@lepton/medical']).toBeUndefined();
    const { stdout: bin } = await run('tar', ['-xzOf', tgz.trim(), 'package/dist/bin.js']);
    expect(bin.startsWith('#!/usr/bin/env node\n')).toBe(true);
  });
});
