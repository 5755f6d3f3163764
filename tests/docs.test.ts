import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, run } from './support/process.js';

describe('API docs', () => {
  it('typedoc renders every package with no warnings', async () => {
    // typedoc.json sets treatWarningsAsErrors (and requires docs on every export), so any warning fails this.
    const out = join(ROOT, 'docs/api');
    const bin = join(ROOT, 'node_modules/typedoc/bin/typedoc');
    const { stdout, stderr } = await run(process.execPath, [bin, '--out', out], { cwd: ROOT });
    expect(`${stdout}${stderr}`).not.toMatch(/\[warning\]|\[error\]/);
    expect(existsSync(join(out, 'index.html'))).toBe(true);
  });
});

describe('root README commands', () => {
  it('every `pnpm <name>` in the command table is a script of the root package, not a pnpm built-in it would shadow', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    const table = readme.slice(readme.indexOf('## Commands'));
    const names = [...table.matchAll(/^\| `pnpm ([\w:-]+)`/gm)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(4);
    // pnpm runs its own command, not the script, for these names (`pnpm docs` opens the npm page and exits 3)
    const builtins = new Set(['docs', 'doc', 'home', 'audit', 'pack', 'publish', 'link', 'outdated', 'update', 'why', 'list', 'root', 'store', 'setup', 'init', 'env', 'server', 'config']);
    for (const name of names) {
      expect(scripts[name], `pnpm ${name}`).toBeDefined();
      expect(builtins.has(name), `pnpm ${name} is a pnpm built-in`).toBe(false);
    }
  });
});
