import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, run } from './support/process.js';

// The quick start in a package README must work when pasted: extract it and run it as a user's file would.
describe('package README quick starts', () => {
  it('@lepton/core quick start runs as pasted', async () => {
    const readme = await readFile(join(ROOT, 'packages/core/README.md'), 'utf8');
    const code = /## Quick start\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    // Inside examples/core-demo, '@lepton/core' resolves exactly as in an application that installed it.
    const file = join(ROOT, 'examples/core-demo', `readme-quickstart-${process.pid}.ts`);
    await writeFile(file, code!);
    try {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', file], { cwd: join(ROOT, 'examples/core-demo') });
      expect(stdout).toMatch(/running on \w+/);
      expect(Number(/validation AUC ([\d.]+)/.exec(stdout)?.[1])).toBeGreaterThan(0.9);
      expect(stdout).toMatch(/score [\d.]+/);
      expect(stdout).toMatch(/top reason/);
    } finally {
      await rm(file, { force: true });
    }
  });
});
