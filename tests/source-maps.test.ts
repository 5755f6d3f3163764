import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pnpmCommand, ROOT, run } from './support/process.js';

// Issue 18: source maps must point at files the tarball ships, or carry the sources inline. The packages ship dist/
// only, so the compiler embeds each source in its .js.map (`inlineSources`) and emits no declaration maps (a
// .d.ts.map can only point at a .ts file, which would be missing). One small package is packed, as it would be
// published: every package shares tsconfig.base.json, so what holds for core holds for all.
const work = await mkdtemp(join(tmpdir(), 'lepton-maps-'));
afterAll(async () => rm(work, { recursive: true, force: true }));

interface SourceMap {
  version: number;
  sources: string[];
  sourcesContent?: Array<string | null>;
  sourceRoot?: string;
}

/** The `sourceMappingURL` a compiled file names, if any (a data: URL counts as inline). */
function mappingUrl(text: string): string | undefined {
  return /\/\/# sourceMappingURL=(\S+)\s*$/.exec(text)?.[1];
}

describe('source maps in a packed package', () => {
  it('@lepton/core: every map resolves its sources inside the tarball or inline, and every map a file names is shipped', async () => {
    const pnpm = pnpmCommand();
    await run(pnpm.file, [...pnpm.prefix, 'pack', '--pack-destination', work], { cwd: join(ROOT, 'packages/core') });
    const tarball = (await readdir(work)).find((f) => f.endsWith('.tgz'))!;
    const out = join(work, 'x');
    await run('mkdir', ['-p', out]);
    await run('tar', ['-xzf', join(work, tarball), '-C', out]);
    const { stdout } = await run('tar', ['-tzf', join(work, tarball)]);
    const shipped = new Set(stdout.split('\n').filter(Boolean).map((p) => posix.normalize(p)));

    const maps = [...shipped].filter((p) => p.endsWith('.map'));
    const compiled = [...shipped].filter((p) => /\.(m?js|d\.ts)$/.test(p));
    expect(compiled.length).toBeGreaterThan(20);
    const problems: string[] = [];

    // Each compiled file names a map that is in the tarball (or none, or an inline one).
    for (const file of compiled) {
      const url = mappingUrl(await readFile(join(out, file), 'utf8'));
      if (url === undefined || url.startsWith('data:')) continue;
      const target = posix.normalize(posix.join(posix.dirname(file), url));
      if (!shipped.has(target)) problems.push(`${file} names ${url}, which is not shipped`);
    }

    // Each map's sources are in the tarball, or their content is in the map.
    for (const file of maps) {
      const map = JSON.parse(await readFile(join(out, file), 'utf8')) as SourceMap;
      map.sources.forEach((source, i) => {
        const content = map.sourcesContent?.[i];
        if (typeof content === 'string' && content.length > 0) return;
        const target = posix.normalize(posix.join(posix.dirname(file), map.sourceRoot ?? '', source));
        if (!shipped.has(target)) problems.push(`${file}: source ${source} is neither shipped (${target}) nor inline`);
      });
    }
    expect(problems).toEqual([]);

    // The embedded source is the real one: the map of the entry point carries src/index.ts as it is in the repository.
    const entry = JSON.parse(await readFile(join(out, 'package/dist/index.js.map'), 'utf8')) as SourceMap;
    const index = entry.sources.findIndex((s) => s.endsWith('src/index.ts'));
    expect(index).toBeGreaterThanOrEqual(0);
    expect(entry.sourcesContent?.[index]).toBe(await readFile(join(ROOT, 'packages/core/src/index.ts'), 'utf8'));
    expect(maps.length).toBeGreaterThan(20);
    expect(dirname(maps[0]!)).toMatch(/^package\/dist/);
  });
});
