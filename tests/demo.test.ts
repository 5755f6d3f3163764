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

  it('manufacturing line: trains the monitors, replays a shift through MQTT, catches every fault with evidence, charts', async () => {
    const dir = join(ROOT, 'examples/manufacturing-line');
    const { stdout } = await run(process.execPath, ['dist/main.js'], { cwd: dir, env: { ...process.env, CI: 'true' } });
    const replay = /published (\d+) messages \((\d+) malformed\), received (\d+), rejected (\d+), overflow 0/.exec(stdout);
    expect(replay).not.toBeNull();
    expect(replay![3]).toBe(replay![1]); // nothing lost between the gateway and the monitor
    expect(replay![4]).toBe(replay![2]); // the malformed messages were rejected and counted
    expect(stdout).toMatch(/RAISED {2}\w+ +press-2 .*(autoencoder|SPC).*pressure/);
    expect(stdout).toMatch(/RAISED {2}\w+ +mill-2 .*(vibration_rms|bearing_temp|acoustic)/);
    expect(stdout).toMatch(/RAISED {2}low +lathe-1 .*data-quality:missing-value on vibration_rms/);
    for (const fault of ['step on press-2', 'drift on mill-1', 'bearing-wear on mill-2', 'dropout on lathe-1', 'stuck on lathe-1']) {
      expect(stdout).toMatch(new RegExp(`fault ${fault} from [\\d:]+: first alarm `));
    }
    expect(Number(/false alarms\): (\d+)/.exec(stdout)?.[1])).toBeLessThanOrEqual(2);
    const rul = (asset: string): number => Number(new RegExp(`RUL at shift end ${asset} +([\\d.]+) cycles`).exec(stdout)?.[1]);
    expect(rul('mill-2')).toBeLessThan(20);
    for (const healthy of ['press-1', 'press-2', 'mill-1', 'lathe-1']) expect(rul(healthy)).toBeGreaterThan(30);
    const inspected = /inspected 60 parts: (\d+) flagged \((\d+) truly defective\); image AUROC ([\d.]+), pixel AUROC ([\d.]+)/.exec(stdout);
    expect(Number(inspected?.[3])).toBeGreaterThan(0.9);
    expect(Number(inspected?.[4])).toBeGreaterThan(0.9);
    expect(Number(inspected?.[2])).toBeGreaterThan(0.8 * Number(inspected?.[1]));
    for (const f of ['control-chart.png', 'rul.png', 'defect.png']) {
      const png = await readFile(join(dir, 'out', f));
      expect(png.subarray(1, 4).toString()).toBe('PNG');
    }
    expect(await readFile(join(dir, 'out/control-chart.svg'), 'utf8')).toContain('press-2 hydraulic pressure');
  });

  it('medical CT triage: trains from DICOM + CSV, triages a held-out study with heatmaps, segments, de-identifies', async () => {
    const dir = join(ROOT, 'examples/medical-ct-triage');
    const { stdout } = await run(process.execPath, ['dist/main.js'], { cwd: dir, env: { ...process.env, CI: 'true' } });
    expect(stdout).toMatch(/wrote 40 synthetic CT studies \(20 with a nodule\) as DICOM/);
    expect(stdout).toMatch(/trained on 30 patients, validated on 10 .*; 0 files skipped/);
    expect(Number(/validation: ROC AUC ([\d.]+)/.exec(stdout)?.[1])).toBeGreaterThan(0.8);
    expect(stdout).toMatch(/TRIAGE NEW001: POSITIVE/); // the held-out study with a nodule is read first
    const volume = /nodule volume NEW001: ([\d.]+) cm³ segmented vs ([\d.]+) cm³/.exec(stdout);
    expect(Number(volume?.[1])).toBeGreaterThan(0.5 * Number(volume?.[2]));
    expect(Number(volume?.[1])).toBeLessThan(1.5 * Number(volume?.[2]));
    expect(stdout).toMatch(/de-identified 16 files \(0 failed\); patient IDs now ANON-[0-9A-F]{16}, ANON-[0-9A-F]{16}; original identifiers found in outputs: 0/);
    const results = JSON.parse(await readFile(join(dir, 'out/results.json'), 'utf8')) as { triage: Array<{ heatmap: string }> };
    for (const t of results.triage) expect((await readFile(join(dir, 'out', t.heatmap))).subarray(1, 4).toString()).toBe('PNG');
  });
});
