import { readFile } from 'node:fs/promises';
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

  it('finance card-fraud: ingests, trains, replays with alerts and reasons, evaluates, charts', async () => {
    const dir = join(ROOT, 'examples/finance-card-fraud');
    const { stdout } = await run(process.execPath, ['dist/main.js'], { cwd: dir, env: { ...process.env, CI: 'true' } });
    expect(stdout).toMatch(/ingested \d+ valid, rejected [1-9]\d* /);
    expect(stdout).toMatch(/^ALERT (REVIEW|DECLINE) /m);
    expect(stdout).toMatch(/transactions? on this|first use of this device|km from the card|amount/);
    const prAuc = Number(/PR AUC ([\d.]+), ROC AUC/.exec(stdout)?.[1]);
    expect(prAuc).toBeGreaterThan(0.6);
    expect(stdout).toContain('wrote out/roc-pr.svg and out/roc-pr.png');
    const svg = await readFile(join(dir, 'out/roc-pr.svg'), 'utf8');
    expect(svg).toContain('Precision–recall (AP');
    const png = await readFile(join(dir, 'out/roc-pr.png'));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
  });
});
