import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** @internal This package's version, read from its package.json (dist/internal → ../../package.json). */
export function coreVersion(): string {
  if (cached === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
      cached = pkg.version ?? '0.0.0';
    } catch {
      cached = '0.0.0';
    }
  }
  return cached;
}
