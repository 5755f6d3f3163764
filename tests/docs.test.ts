import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, run } from './support/process.js';

const out = join(ROOT, 'docs/api');
/** Every published package (the API site has one module page per package). */
const PACKAGES = readdirSync(join(ROOT, 'packages')).filter((p) => existsSync(join(ROOT, 'packages', p, 'package.json')));

/** Text of an HTML fragment, tags and whitespace runs collapsed. */
const text = (html: string): string => html.replace(/<svg[\s\S]*?<\/svg>/g, '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();

describe('API docs', () => {
  it('typedoc renders every package with no warnings', async () => {
    // typedoc.json sets treatWarningsAsErrors (and requires docs on every export), so any warning fails this.
    const bin = join(ROOT, 'node_modules/typedoc/bin/typedoc');
    const { stdout, stderr } = await run(process.execPath, [bin, '--out', out], { cwd: ROOT });
    expect(`${stdout}${stderr}`).not.toMatch(/\[warning\]|\[error\]/);
    expect(existsSync(join(out, 'index.html'))).toBe(true);
  });

  it('the home page titles the site once and links every package page', () => {
    const home = readFileSync(join(out, 'index.html'), 'utf8');
    // The page title is the project name; the landing text (docs/api-home.md) must not repeat it as a heading.
    expect(home.match(/<h[1-6][^>]*>\s*Lepton SDK/g)).toHaveLength(1);
    expect(PACKAGES.length).toBeGreaterThanOrEqual(8);
    for (const pkg of PACKAGES) expect(home, pkg).toContain(`href="modules/_lepton_${pkg}.html"`);
  });

  it('each package page opens with a short landing text that links its README, kept as a document of its own', () => {
    for (const pkg of PACKAGES) {
      const page = readFileSync(join(out, 'modules', `_lepton_${pkg}.html`), 'utf8');
      // One title ("Module @lepton/x"): the README, with its own title, is not inlined under it.
      expect(page.match(/<h1\b/g), pkg).toHaveLength(1);
      const landing = /<section class="tsd-panel tsd-comment">([\s\S]*?)<\/section>/.exec(page)?.[1] ?? '';
      const words = text(landing);
      expect(words.length, `${pkg} landing text`).toBeGreaterThan(150);
      expect(words.length, `${pkg} landing text is a paragraph or two, not the README`).toBeLessThan(1200);
      expect(landing, pkg).toContain(`href="../documents/_lepton_${pkg}.README.html"`);
      expect(landing.match(/class="tsd-kind-/g)?.length ?? 0, `${pkg} landing links into its API`).toBeGreaterThanOrEqual(2);
      const readme = readFileSync(join(out, 'documents', `_lepton_${pkg}.README.html`), 'utf8');
      expect(text(readme), pkg).toContain(`@lepton/${pkg}`);
    }
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
