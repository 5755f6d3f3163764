// The samples shipped in samples/ (package.json "files") for the README quick starts: every name resolves, unknown
// names are typed errors, the copies of test fixtures are byte-identical to them (so the samples are exactly what
// committed scripts made, never hand-edited), and the DICOMDIR medium reads with its files.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LeptonError, MEDICAL_SAMPLES, readDicomDir, readDicomFile, samplePath } from '@lepton/medical';
import { FIXTURES } from './support/fixtures.js';

/** Every file under a folder, as paths relative to it, sorted. */
async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}

// sample → the fixture make-samples.sh copies it from
const COPIES = { 'ct-jpeg-ls.dcm': 'dicom/ct_u12_jpls.dcm', folder: 'folder', 'ct-oblique': 'volume/ct_oblique', 'ct-gap': 'volume/linear_gap', 'deid-study': 'deid/study' } as const;

describe('samplePath', () => {
  it('resolves every shipped sample and refuses other names with INVALID_ARGUMENT', async () => {
    for (const name of MEDICAL_SAMPLES) expect((await stat(samplePath(name))).size).toBeGreaterThan(0);
    for (const bad of ['../package.json', 'ct_u12_jpls.dcm', '', 42, undefined]) {
      const err = (() => {
        try {
          samplePath(bad as never);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(LeptonError);
      expect((err as LeptonError).code).toBe('INVALID_ARGUMENT');
      expect((err as LeptonError).details['available']).toEqual([...MEDICAL_SAMPLES]);
    }
  });

  it('copies of test fixtures are byte-identical to them', async () => {
    for (const [name, fixture] of Object.entries(COPIES)) {
      const sample = samplePath(name as keyof typeof COPIES);
      const source = join(FIXTURES, fixture);
      if ((await stat(source)).isFile()) {
        expect(Buffer.compare(await readFile(sample), await readFile(source)), name).toBe(0);
        continue;
      }
      const names = await files(source);
      expect(await files(sample), name).toEqual(names);
      for (const f of names) expect(Buffer.compare(await readFile(join(sample, f)), await readFile(join(source, f))), `${name}/${f}`).toBe(0);
    }
  });

  it('the DICOMDIR medium lists its three CT slices, all present on disk', async () => {
    const disc = await readDicomDir(samplePath('dicomdir'));
    expect(disc.patients.map((p) => p.patientId)).toEqual(['MEDIA01']);
    expect(disc.files).toHaveLength(3);
    expect(disc.missing).toEqual([]);
    for (const f of disc.files) expect((await readDicomFile(f)).meta.modality).toBe('CT');
  });
});
