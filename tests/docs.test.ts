import { existsSync } from 'node:fs';
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
