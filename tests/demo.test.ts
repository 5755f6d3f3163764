import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, run } from './support/process.js';

describe('examples run end to end', () => {
  it('core demo: trains, saves, reloads, serves and prints the backend', async () => {
    const { stdout } = await run(process.execPath, ['dist/main.js'], { cwd: join(ROOT, 'examples/core-demo'), env: { ...process.env, CI: 'true' } });
    expect(stdout).toMatch(/^backend: (tensorflow|webgpu|wasm|cpu) /m);
    const auc = Number(/test AUC ([\d.]+)/.exec(stdout)?.[1]);
    expect(auc).toBeGreaterThan(0.9);
    expect(stdout).toMatch(/served 512 concurrent requests in \d+ batches/);
    expect(stdout).toContain('512/512 match the in-memory model');
    expect(stdout).toMatch(/top reasons: \w+/);
  });
});
