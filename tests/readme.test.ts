import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, run } from './support/process.js';

// The quick start in a package README must work when pasted: extract it and run it as a user's file would.
/** Runs the first ```ts block under a "## Quick start…" heading, from an example project that depends on the package. */
async function runQuickStart(readmePath: string, exampleDir: string, heading = '## Quick start'): Promise<string> {
  const readme = await readFile(join(ROOT, readmePath), 'utf8');
  const at = readme.indexOf(heading);
  expect(at).toBeGreaterThanOrEqual(0);
  const code = /```ts\n([\s\S]*?)```/.exec(readme.slice(at))?.[1];
  expect(code).toBeDefined();
  // Inside an example project (or the package itself, by self-reference through its exports map), the package
  // resolves exactly as in an application that installed it.
  const file = join(ROOT, exampleDir, `readme-quickstart-${process.pid}.ts`);
  await writeFile(file, code!);
  try {
    return (await run(process.execPath, ['--import', 'tsx', file], { cwd: join(ROOT, exampleDir) })).stdout;
  } finally {
    await rm(file, { force: true });
  }
}

describe('package README quick starts', () => {
  it('@lepton/core quick start runs as pasted', async () => {
    const stdout = await runQuickStart('packages/core/README.md', 'examples/core-demo');
    expect(stdout).toMatch(/running on \w+/);
    expect(Number(/validation AUC ([\d.]+)/.exec(stdout)?.[1])).toBeGreaterThan(0.9);
    expect(stdout).toMatch(/score [\d.]+/);
    expect(stdout).toMatch(/top reason/);
  });

  it('@lepton/core signed-bundle example runs as pasted', async () => {
    const stdout = await runQuickStart('packages/core/README.md', 'examples/core-demo', '## Signed bundles');
    expect(stdout).toMatch(/^verified signed 1\.0\.0$/m);
  });

  it('@lepton/federated quick start runs as pasted: two partners, secure aggregation, three rounds', async () => {
    const stdout = await runQuickStart('packages/federated/README.md', 'examples/federated-hospitals');
    expect(stdout).toMatch(/^rounds 3 north held-out AUC /m);
    expect(Number(/held-out AUC ([\d.]+)/.exec(stdout)?.[1])).toBeGreaterThan(0.9);
  });

  it('@lepton/charts quick start runs as pasted', async () => {
    const stdout = await runQuickStart('packages/charts/README.md', 'examples/finance-card-fraud');
    expect(stdout).toMatch(/^svg true png bytes [1-9]\d+$/m);
  });

  it('@lepton/finance card-fraud quick start runs as pasted', async () => {
    const stdout = await runQuickStart('packages/finance/README.md', 'examples/finance-card-fraud', '## Quick start: card fraud');
    expect(stdout).toMatch(/probability: [\d.e-]+/);
    expect(stdout).toMatch(/riskScore: \d+/);
    expect(stdout).toMatch(/code: '\w+'/);
  });

  it('@lepton/finance credit-scorecard quick start runs as pasted', async () => {
    const stdout = await runQuickStart('packages/finance/README.md', 'examples/finance-card-fraud', '## Quick start: credit scorecard');
    expect(stdout).toMatch(/characteristic/);
    expect(stdout).toMatch(/pointsBelowMax/);
    const gini = Number(/gini: ([\d.]+)/.exec(stdout)?.[1]);
    expect(gini).toBeGreaterThan(0.2);
  });

  it('@lepton/finance market-risk quick start runs as pasted', async () => {
    const stdout = await runQuickStart('packages/finance/README.md', 'examples/finance-card-fraud', '## Quick start: market risk');
    expect(stdout).toMatch(/99 % 1-day VaR/);
    expect(stdout).toMatch(/pValue: [\d.e-]+/);
    expect(stdout).toMatch(/naiveRmse/);
  });

  it('@lepton/medical DICOM quick start runs as pasted', async () => {
    const stdout = await runQuickStart('packages/medical/README.md', 'packages/medical');
    expect(stdout).toMatch(/CT 48 64 JPEG-LS Lossless Image Compression/);
    expect(stdout).toMatch(/HU range -1024 \d+ lung-window bytes 3072/);
    expect(stdout).toMatch(/skipped .*truncated\.dcm DICOM_TRUNCATED/);
    expect(stdout).toMatch(/3 instances loaded/);
  });

  it('@lepton/medical volume quick start runs as pasted', async () => {
    const stdout = await runQuickStart('packages/medical/README.md', 'packages/medical', '## Quick start: volumes');
    expect(stdout).toMatch(/\[ 64, 64, 24 \] \[ '0\.75', '0\.80', '2\.50' \] 0 issues/);
    expect(stdout).toMatch(/HU at the lesion 60/);
    expect(stdout).toMatch(/iso \[ 48, 51, 58 \] coronal 58 x 48/);
    expect(stdout).toMatch(/gap Two neighbouring slices are 4\.000 mm apart .* 1 slice\(s\) missing/);
  });

  it('@lepton/medical de-identification quick start runs as pasted', async () => {
    const stdout = await runQuickStart('packages/medical/README.md', 'packages/medical', '## Quick start: de-identification');
    expect(stdout).toMatch(/^undefined ANON-[0-9A-F]{16} 2\.25\.\d+ undefined$/m);
    expect(stdout).toMatch(/privateRemoved: 4/);
    expect(stdout).toMatch(/6 written, e\.g\. .*2\.25\.\d+\.dcm/);
    expect(stdout).toMatch(/skipped .*broken\.dcm DICOM_TRUNCATED/);
    expect(stdout).toMatch(/skipped .*notes\.txt DICOM_NOT_DICOM/);
    expect(stdout).not.toMatch(/MRN-4471|MÜLLER|MUELLER\^/);
  });

  it('@lepton/manufacturing line-monitor quick start runs as pasted and catches the pressure step', async () => {
    const stdout = await runQuickStart('packages/manufacturing/README.md', 'packages/manufacturing', '## Quick start: monitoring a line');
    expect(stdout).toMatch(/press-2 (autoencoder|nelson-1) \[ '(pressure)'/);
    expect(stdout).toMatch(/spc: \d+, model: [1-9]\d*, quality: 0/);
  });

  it('@lepton/manufacturing anomaly-detection quick start runs as pasted', async () => {
    const stdout = await runQuickStart('packages/manufacturing/README.md', 'packages/manufacturing', '## Quick start: learned anomaly detection');
    expect(stdout).toMatch(/^(3|4|5)\d0 [\d.]+ \{/m);
    expect(stdout).toMatch(/temperature: [\d.]+/);
    expect(stdout).toMatch(/T² alarm at 450 s: (true|false)/);
  });

  it('@lepton/manufacturing RUL quick start runs as pasted', async () => {
    const stdout = await runQuickStart('packages/manufacturing/README.md', 'packages/manufacturing', '## Quick start: remaining useful life');
    expect(stdout).toMatch(/\d+ cycles, health [\d.]+/);
    expect(stdout).toMatch(/NASA score [\d.]+/);
  });

  it('@lepton/medical diagnosis quick start runs as pasted', async () => {
    const stdout = await runQuickStart('packages/medical/README.md', 'packages/medical', '## Quick start: diagnosis');
    expect(stdout).toMatch(/\[ 'PAT\d{3}'/);
    expect(stdout).toMatch(/^(normal|nodule) [\d.e-]+ (true|false) \{ name: 'diagnosis', version: '1\.0\.0' \} \d+$/m);
  });

  // Stores to a real Orthanc when Debian's orthanc + orthanc-dicomweb are installed (the quick start skips STOW-RS
  // without DICOMWEB_URL); the SEG and SR are written either way.
  it('@lepton/medical results-to-PACS quick start runs as pasted and stores to a real Orthanc', async () => {
    const { Orthanc, orthancMissing, USER, PASSWORD } = await import('../packages/medical/test/support/orthanc.js');
    const orthanc = orthancMissing() === undefined ? new Orthanc() : undefined;
    await orthanc?.start();
    try {
      if (orthanc !== undefined) process.env['DICOMWEB_URL'] = orthanc.dicomWeb.replace('http://', `http://${USER}:${PASSWORD}@`);
      const stdout = await runQuickStart('packages/medical/README.md', 'packages/medical', '## Quick start: results back to PACS');
      expect(stdout).toMatch(/^SEG frames \d+ volume mm3 \d+ SR 1\.2\.840\.10008\.5\.1\.4\.1\.1\.88\.33$/m);
      if (orthanc !== undefined) expect(stdout).toMatch(/stored 2 instances; SR back byte-identical: true/);
    } finally {
      delete process.env['DICOMWEB_URL'];
      await orthanc?.stop();
    }
  });

  // A medium needs a DICOMDIR writer: dcmtk's dcmmkdir (which .ci/run installs) makes one over a synthetic series.
  it.skipIf(spawnSync('sh', ['-c', 'command -v dcmmkdir']).status !== 0)('@lepton/medical DICOMDIR quick start runs as pasted', async () => {
    const { ctPhantom, writeCtSeries } = await import('@lepton/medical');
    const media = await mkdtemp(join(tmpdir(), 'lepton-media-'));
    try {
      const files = await writeCtSeries(ctPhantom({ seed: 4, size: 16, slices: 3 }), { dir: join(media, 'tmp'), patientId: 'MEDIA01', fileNames: 'ordered' });
      await mkdir(join(media, 'DICOM', 'P1', 'S1'), { recursive: true });
      for (let i = 0; i < files.length; i++) await rename(files[i]!, join(media, 'DICOM', 'P1', 'S1', `IM${i + 1}`));
      await rm(join(media, 'tmp'), { recursive: true });
      await run('dcmmkdir', ['+r', '+id', '.'], { cwd: media });
      process.env['DICOM_MEDIA'] = media;
      const stdout = await runQuickStart('packages/medical/README.md', 'packages/medical', '## Quick start: DICOMDIR (CD, DVD, USB)');
      expect(stdout).toMatch(/^MEDIA01 20260105 CT CHEST \(synthetic\) CT ×3$/m);
      expect(stdout).toMatch(/^3 files, 0 missing; first is CT$/m);
    } finally {
      delete process.env['DICOM_MEDIA'];
      await rm(media, { recursive: true, force: true });
    }
  });

  it('@lepton/manufacturing OEE and alarms quick start runs as pasted', async () => {
    const stdout = await runQuickStart('packages/manufacturing/README.md', 'packages/manufacturing', '## Quick start: OEE and alarms');
    expect(stdout).toMatch(/availability: 0\.888/); // 400 of 450 planned minutes running
    expect(stdout).toMatch(/raised alarm-1 3\n/);
    expect(stdout).toMatch(/cleared alarm-1 4\n/);
  });

  it('@lepton/manufacturing inspection quick start runs as pasted', async () => {
    const stdout = await runQuickStart('packages/manufacturing/README.md', 'packages/manufacturing', '## Quick start: visual defect inspection');
    expect(Number(/imageAuroc: ([\d.]+)/.exec(stdout)?.[1])).toBeGreaterThan(0.95);
    expect(Number(/pixelAuroc: ([\d.]+)/.exec(stdout)?.[1])).toBeGreaterThan(0.95);
    expect(stdout).toMatch(/^[\d.]+ true \d+ scratch 0\.[6-9]\d*$/m);
  });

  it('@lepton/manufacturing SPC quick start runs as pasted', async () => {
    const stdout = await runQuickStart('packages/manufacturing/README.md', 'packages/manufacturing', '## Quick start: statistical process control');
    expect(stdout).toMatch(/74\.0\d+/);
    expect(stdout).toMatch(/cpk/);
  });

  // Needs OpenCV's sample clip (Debian opencv-doc, which .ci/run installs); without it the quick start has no input.
  it.skipIf(!existsSync('/usr/share/doc/opencv-doc/examples/data/vtest.avi'))('@lepton/surveillance quick start runs as pasted and counts crossings', async () => {
    const stdout = await runQuickStart('packages/surveillance/README.md', 'examples/surveillance-entrance');
    // frames 0–79 of vtest.avi hold two hand-counted crossings of this line (vtest-hand-count.json: frames 5 and 72)
    expect(stdout).toMatch(/s: #\d+ person (a-to-b|b-to-a), snapshot .*\.jpg/);
    const counts = JSON.parse(/counts (.*)/.exec(stdout)![1]!) as { crossing: { person: { aToB: number; bToA: number } } };
    expect(counts.crossing.person.aToB + counts.crossing.person.bToA).toBeGreaterThanOrEqual(1);
    expect(counts.crossing.person.aToB + counts.crossing.person.bToA).toBeLessThanOrEqual(3);
  });
});
