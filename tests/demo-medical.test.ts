import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, run } from './support/process.js';

// Split out of demo.test.ts so the heaviest examples run in their own test files, beside the others (vitest runs
// two files at a time: see vitest.config.ts).
describe('examples run end to end', () => {
  it('medical CT triage: 512×512 DICOM + CSV → 2.5-D model at 128×128, triage with full-resolution heatmaps, segments, SEG and SR, de-identifies', async () => {
    const dir = join(ROOT, 'examples/medical-ct-triage');
    const { stdout } = await run(process.execPath, ['dist/main.js'], { cwd: dir, env: { ...process.env, CI: 'true' } });
    expect(stdout).toMatch(/wrote 40 synthetic CT studies \(20 with a nodule\) of 8 × 512×512 slices as DICOM/);
    expect(stdout).toMatch(/trained at 128×128, 3 slices 5 mm apart, on 30 patients, validated on 10 .*; 0 files skipped/);
    expect(Number(/validation: ROC AUC ([\d.]+)/.exec(stdout)?.[1])).toBeGreaterThan(0.8);
    expect(stdout).toMatch(/TRIAGE NEW001: POSITIVE/); // the held-out study with a nodule is read first
    const volume = /nodule volume NEW001: ([\d.]+) cm³ segmented vs ([\d.]+) cm³/.exec(stdout);
    expect(Number(volume?.[1])).toBeGreaterThan(0.5 * Number(volume?.[2]));
    expect(Number(volume?.[1])).toBeLessThan(1.5 * Number(volume?.[2]));
    expect(stdout).toMatch(/de-identified 16 files \(0 failed\); patient IDs now ANON-[0-9A-F]{16}, ANON-[0-9A-F]{16}; original identifiers found in outputs: 0/);
    const results = JSON.parse(await readFile(join(dir, 'out/results.json'), 'utf8')) as {
      model: { preprocessing: { size: number[]; slices: number } };
      triage: Array<{ heatmap: string }>;
      dicom: string[];
    };
    expect(results.model.preprocessing).toMatchObject({ size: [128, 128], slices: 3 });
    for (const t of results.triage) {
      // The overlay is on the full 512×512 slice (PNG IHDR width and height), not on the 128×128 model input.
      const png = await readFile(join(dir, 'out', t.heatmap));
      expect([png.subarray(1, 4).toString(), png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual(['PNG', 512, 512]);
    }
    // The DICOM results next to the PNGs: one SEG for the nodule, one SR per study; dcmtk parses them when installed.
    expect(results.dicom.sort()).toEqual(['seg-NEW001.dcm', 'sr-NEW001.dcm', 'sr-NEW002.dcm']);
    const dcmdump = spawnSync('dcmdump', ['--version'], { encoding: 'utf8' }).error === undefined;
    for (const f of results.dicom) {
      const bytes = await readFile(join(dir, 'out', f));
      expect(bytes.subarray(128, 132).toString('latin1')).toBe('DICM');
      if (!dcmdump) continue;
      const dump = spawnSync('dcmdump', ['-q', join(dir, 'out', f)], { encoding: 'utf8' });
      expect(dump.status, dump.stderr).toBe(0);
      expect(dump.stdout).toContain(f.startsWith('seg') ? 'SegmentationStorage' : 'ComprehensiveSRStorage');
    }
  }, 600_000); // minutes of CPU training on 2 cores; the project default (300 s) leaves no margin on a loaded machine
});
