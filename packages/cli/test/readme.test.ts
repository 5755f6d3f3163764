import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, PACKAGE_DIR } from './support/cli.js';

const run = promisify(execFile);
const work = await mkdtemp(join(tmpdir(), 'lepton-cli-readme-'));
afterAll(async () => rm(work, { recursive: true, force: true }));

describe('README quick start', () => {
  it('runs as pasted (with `npx lepton` as the built bin and the install line left to this workspace)', async () => {
    const readme = await readFile(join(PACKAGE_DIR, 'README.md'), 'utf8');
    const block = /## Quick start\n[\s\S]*?```bash\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const lines = block!.split('\n');
    expect(lines[0]).toBe('npm install @lepton/cli @lepton/core');
    // A blank directory whose node_modules holds exactly what `npm install @lepton/cli @lepton/core` gives (this
    // package's own dependencies, @lepton/core among them); `npx lepton` runs the bin npm would link.
    await symlink(join(PACKAGE_DIR, 'node_modules'), join(work, 'node_modules'), 'dir');
    const script = ['set -euo pipefail', ...lines.slice(1)].join('\n').replaceAll('npx lepton', `"${process.execPath}" "${BIN}"`);
    const { stdout } = await run('bash', ['-c', script], { cwd: work, env: { ...process.env, LEPTON_BACKEND: '' }, timeout: 240_000, maxBuffer: 16 << 20 });
    expect(stdout).toMatch(/^OK: a backend started and every configured check passed\.$/m);
    expect(stdout).toMatch(/^demo@1\.0\.0 \(binary\)$/m);
    expect(stdout).toMatch(/^labels +no, yes$/m);
    const keyId = /^key id ([0-9a-f]{16})$/m.exec(stdout)?.[1];
    expect(keyId).toBeDefined();
    expect(stdout).toMatch(new RegExp(`^signed demo-model with key id ${keyId}`, 'm'));
    const verified = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(verified).toMatchObject({ command: 'bundle verify', ok: true, name: 'demo', signature: { checked: true, verifiedBy: keyId } });
  });
});

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
