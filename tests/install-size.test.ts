import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pnpmCommand, ROOT, run } from './support/process.js';

// What a new user gets: every package packed as it would be published (`pnpm pack`, which turns `workspace:^` into
// versions), then `npm install` of a vertical and core's tarballs into a blank app outside the workspace — npm, not
// pnpm, because npm is what most users have, its flat node_modules is what they see on disk, and it warns
// EBADENGINE for a dependency that needs a newer Node.js than this one (Node 20 here, as the packages declare).
// Dependencies come from the registry (through npm's cache when it has them: --prefer-offline).
//
// Budgets are megabytes of node_modules on disk (`du -sk`, as issue 18 measured: 545 MB for medical before). They
// catch a heavy dependency creeping back, not a few kilobytes. medical's is above the 150 MB target: TF.js
// alone is 119 MB on disk (tfjs-core 40, -layers 31, -converter 25, -backend-wasm 14, -backend-cpu 12, mostly
// browser bundles and source maps we cannot leave out) and dcmjs brings 30 MB (core-js-pure through
// @babel/runtime-corejs3); 165 MB measured.
const cases = [
  { name: 'medical', packages: ['core', 'medical'], budgetMb: 175, smoke: "const m = await import('@lepton/medical'); console.log(typeof m.readDicom);" },
  { name: 'finance', packages: ['core', 'finance'], budgetMb: 150, smoke: "const m = await import('@lepton/finance'); console.log(typeof m.FeatureEngine);" },
  { name: 'manufacturing', packages: ['core', 'manufacturing'], budgetMb: 150, smoke: "const m = await import('@lepton/manufacturing'); console.log(typeof m.LineMonitor);" },
  {
    name: 'surveillance',
    packages: ['core', 'surveillance'],
    budgetMb: 300,
    // the detector weights ship in the package: the shipped model's files must be where the detector looks
    smoke:
      "const m = await import('@lepton/surveillance'); const { existsSync } = await import('node:fs'); const p = m.shippedModelPath('centernet');" +
      " console.log(existsSync(p) && existsSync(p.replace(/json$/, 'bin')) ? 'function' : 'missing weights');",
  },
  {
    name: 'charts + federated',
    packages: ['core', 'charts', 'federated'],
    budgetMb: 200,
    smoke: "const c = await import('@lepton/charts'); const f = await import('@lepton/federated'); console.log(typeof c.renderChart === typeof f.FederatedCoordinator ? typeof c.renderChart : 'x');",
  },
] as const;

const work = await mkdtemp(join(tmpdir(), 'lepton-install-size-'));
const tarballs = new Map<string, string>();
afterAll(async () => rm(work, { recursive: true, force: true }));

/** Environment for npm without the npm_* variables pnpm sets for the scripts it runs, which npm would read as config. */
function npmEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
}

interface Install {
  seconds: number;
  mb: number;
  packages: number;
  output: string;
  smoke: string;
}

async function install(name: string, packages: readonly string[], smoke: string): Promise<Install> {
  const app = join(work, `app-${name.replace(/\W+/g, '-')}`);
  await mkdir(app);
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'blank-app', version: '1.0.0', private: true, type: 'module' }));
  const started = performance.now();
  const output = await new Promise<string>((resolve, reject) => {
    execFile(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', ...packages.map((p) => tarballs.get(p)!)],
      { cwd: app, env: npmEnv(), timeout: 240_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => (err ? reject(new Error(`npm install (${name}) failed: ${err.message}\n${stdout}${stderr}`)) : resolve(`${stdout}${stderr}`)),
    );
  });
  const seconds = (performance.now() - started) / 1000;
  const { stdout: du } = await run('du', ['-sk', 'node_modules'], { cwd: app });
  const { stdout: smokeOut } = await run(process.execPath, ['--input-type=module', '-e', smoke], { cwd: app });
  return {
    seconds,
    mb: Number(du.split('\t')[0]) / 1024,
    packages: Number(/added (\d+) packages?/.exec(output)?.[1] ?? Number.NaN),
    output,
    smoke: smokeOut.trim().split('\n').at(-1) ?? '',
  };
}

describe('packed packages installed with npm into a blank app', () => {
  const results = new Map<string, Install>();

  beforeAll(async () => {
    const pnpm = pnpmCommand();
    const names = [...new Set(cases.flatMap((c) => c.packages))];
    for (const name of names) {
      const dest = join(work, 'tarballs', name);
      await mkdir(dest, { recursive: true });
      await run(pnpm.file, [...pnpm.prefix, 'pack', '--pack-destination', dest], { cwd: join(ROOT, 'packages', name) });
      tarballs.set(name, join(dest, (await readdir(dest))[0]!));
    }
    // One install per case, all at once: npm spends most of its time waiting on the network and the disk.
    const done = await Promise.all(cases.map(async (c) => [c.name, await install(c.name, c.packages, c.smoke)] as const));
    for (const [name, r] of done) results.set(name, r);
    console.log(
      ['install (npm, blank app)   time    node_modules  packages', ...done.map(([n, r]) => `${n.padEnd(25)} ${r.seconds.toFixed(1).padStart(5)} s ${r.mb.toFixed(0).padStart(8)} MB ${String(r.packages).padStart(9)}`)].join('\n'),
    );
  }, 600_000);

  it('core ships no stale build of what moved to @lepton/federated and @lepton/charts', async () => {
    const { stdout: listing } = await run('tar', ['-tzf', tarballs.get('core')!]);
    expect(listing).not.toMatch(/package\/dist\/(federated|charts)\//);
  });

  for (const c of cases) {
    it(`${c.name}: installs without an engine warning, within ${c.budgetMb} MB, and loads`, () => {
      const r = results.get(c.name)!;
      expect(r.output).not.toMatch(/EBADENGINE/);
      expect(r.mb).toBeLessThanOrEqual(c.budgetMb);
      expect(r.packages).toBeGreaterThan(0);
      expect(r.smoke).toBe('function');
    });
  }
});
