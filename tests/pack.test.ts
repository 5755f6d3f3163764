import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pnpmCommand, ROOT, run } from './support/process.js';

// Installs @lepton/core the way a user would: `pnpm pack` → tarball → `pnpm add` into a blank app outside the
// workspace → import it and run a tiny model. Catches a wrong `exports`/`files` map, missing runtime dependencies
// and anything that only works inside the monorepo.
const work = await mkdtemp(join(tmpdir(), 'lepton-pack-'));
afterAll(async () => rm(work, { recursive: true, force: true }));

describe('packed @lepton/core in a blank app', () => {
  it('packs, installs and runs', async () => {
    const pnpm = pnpmCommand();
    await run(pnpm.file, [...pnpm.prefix, 'pack', '--pack-destination', work], { cwd: join(ROOT, 'packages/core') });
    const tarball = (await readdir(work)).find((f) => f.endsWith('.tgz'));
    expect(tarball).toMatch(/^lepton-core-.*\.tgz$/);

    const { stdout: listing } = await run('tar', ['-tzf', join(work, tarball!)]);
    expect(listing).toContain('package/dist/index.js');
    expect(listing).toContain('package/dist/index.d.ts');
    expect(listing).toContain('package/README.md');
    expect(listing).toContain('package/docs/backends.md'); // the README's guide links and the runtime's fix hints point here
    expect(listing).not.toContain('package/src/');
    expect(listing).not.toContain('package/test/');

    const app = join(work, 'app');
    await run('mkdir', ['-p', app]);
    // Same pinned pnpm as the repository, so corepack uses the copy it already has.
    const { packageManager } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { packageManager: string };
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'blank-app', private: true, type: 'module', packageManager }));
    // Its own workspace root, so pnpm does not treat it as part of this monorepo; the store makes it offline-fast.
    await writeFile(join(app, 'pnpm-workspace.yaml'), 'packages: []\n');
    await run(pnpm.file, [...pnpm.prefix, 'add', `../${tarball}`, '--prefer-offline', '--config.confirmModulesPurge=false'], {
      cwd: app,
      env: { ...process.env, CI: 'true' },
      timeout: 240_000,
    });
    await writeFile(
      join(app, 'main.mjs'),
      `import { initRuntime, buildMlp, createPredictor, LeptonError, tf } from '@lepton/core';
const info = await initRuntime({ backend: 'auto' }, {});
const predictor = await createPredictor(buildMlp({ inputDim: 3, seed: 1 }), { maxBatchSize: 4 });
const out = await Promise.all([predictor.predict([1, 2, 3]), predictor.predict([0, 0, 0])]);
await predictor.close();
let code = '';
try { await predictor.predict([1, 2, 3]); } catch (e) { code = e instanceof LeptonError ? e.code : 'other'; }
console.log(JSON.stringify({ backend: info.backend, outputs: out.map((o) => o.length), code, tensors: tf.memory().numTensors >= 0 }));
`,
    );
    const { stdout } = await run(process.execPath, ['main.mjs'], { cwd: app });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(result).toEqual({ backend: expect.stringMatching(/^(tensorflow|webgpu|wasm)$/), outputs: [1, 1], code: 'PREDICTOR_CLOSED', tensors: true });
  });
});
