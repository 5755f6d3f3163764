import { readdir, readFile } from 'node:fs/promises';
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

  it('surveillance entrance: counts people across the tripwire like the hand count, loitering, snapshots, clips, annotated video', async () => {
    const dir = join(ROOT, 'examples/surveillance-entrance');
    const { stdout } = await run(process.execPath, ['dist/main.js'], { cwd: dir, env: { ...process.env, CI: 'true' } });
    const results = JSON.parse(await readFile(join(dir, 'out/results.json'), 'utf8')) as {
      footage: 'real' | 'rendered';
      frames: number;
      report: { frames: number; source: { dropped: number }; annotatedVideo: string; clipErrors: string[]; events: Record<string, number> };
      line: { counted: { leftToRight: number; rightToLeft: number }; handCount: { leftToRight: number; rightToLeft: number } };
      events: { kind: string }[];
    };
    expect(stdout).toMatch(results.footage === 'real' ? /footage: OpenCV vtest\.avi/ : /footage: rendered clip/);
    // cameras.yaml asks for engine 'auto'; onnxruntime-node is the example's optional dependency, so a fresh install runs it
    expect(stdout).toMatch(/^detector engine: onnx$/m);
    expect(results.frames).toBe(results.footage === 'real' ? 450 : 300);
    expect(results.report.source.dropped).toBe(0); // a file is read with back-pressure, never dropped
    // Count accuracy against the hand count (real footage: recorded by eye in the surveillance test fixtures;
    // rendered: by construction). Measured: 100 % on the first 60 s of vtest.avi (7/7 left-to-right, 10/10 right-to-left).
    const { counted, handCount } = results.line;
    const error = Math.abs(counted.leftToRight - handCount.leftToRight) + Math.abs(counted.rightToLeft - handCount.rightToLeft);
    expect(error / (handCount.leftToRight + handCount.rightToLeft)).toBeLessThanOrEqual(0.2);
    expect(results.events.some((e) => e.kind === 'loitering')).toBe(true);
    expect(results.report.clipErrors).toEqual([]);
    // every alarm or count event (line-cross, loitering, intrusion) has a JPEG snapshot and an MP4 clip; the annotated
    // video holds every processed frame
    const files = await readdir(join(dir, 'out/entrance'));
    const snapshots = files.filter((f) => f.endsWith('.jpg'));
    const clips = files.filter((f) => /-[0-9A-Z]{26}-[a-z-]+\.mp4$/.test(f));
    const total = ['line-cross', 'loitering', 'intrusion', 'crowd'].reduce((a, k) => a + (results.report.events[k] ?? 0), 0);
    expect(snapshots).toHaveLength(total);
    expect(clips).toHaveLength(total);
    expect((await readFile(join(dir, 'out/entrance', snapshots[0]!))).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    const probe = await run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames,width,height', '-of', 'csv=p=0', results.report.annotatedVideo], { cwd: dir });
    expect(probe.stdout.trim()).toBe(`640,480,${results.frames}`);
  });
});

