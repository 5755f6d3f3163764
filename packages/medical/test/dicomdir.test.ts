// DICOMDIR reading on media made by dcmtk's dcmmkdir over synthetic series (and a SEG and an SR), as CDs and USB
// sticks arrive: upper-case ISO 9660 names, or the same medium mounted in lower case, or with files missing; and
// damaged or hostile directories, which must fail with typed errors and never crash or escape the medium.
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import dicomParser from 'dicom-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diagnosisToDicomSr, isLeptonError, parseDicomDir, readDicomDir, readDicomFile, segmentationToDicomSeg, type DicomDir, type LeptonError } from '@lepton/medical';
import { run, syntheticSeries, toolsMissing } from './fixtures/results/support.js';

const missingTools = toolsMissing('dcmmkdir');
const skip = missingTools !== undefined && !process.env['CI'];
if (skip) console.warn(`dicomdir.test.ts skipped: ${missingTools}`);

let dir: string;
let media: string; // the medium as written: DICOMDIR + DICOM/<patient>/<series>/<file>, upper case
let bytes: Uint8Array; // its DICOMDIR
let expected: Map<string, string>; // file ID (joined with '/') → SOP Instance UID
const CODES = new Set(['DICOMDIR_READ_FAILED', 'DICOMDIR_NOT_DICOMDIR', 'DICOMDIR_MALFORMED']);

async function expectCode(p: Promise<unknown> | (() => unknown), code: string): Promise<LeptonError> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(isLeptonError(err), `expected LeptonError ${code}, got ${String(err)}`).toBe(true);
  expect((err as LeptonError).code).toBe(code);
  return err as LeptonError;
}

/** Copies a folder tree, renaming every entry with `rename`. */
async function copyTree(from: string, to: string, rename: (name: string) => string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const e of await readdir(from, { withFileTypes: true })) {
    if (e.isDirectory()) await copyTree(join(from, e.name), join(to, rename(e.name)), rename);
    else await copyFile(join(from, e.name), join(to, rename(e.name)));
  }
}

/** Offsets of a record's elements inside the DICOMDIR, found with dicom-parser. */
function records(b: Uint8Array): Array<{ offset: number; type: string; next: number | undefined; fileId: number | undefined }> {
  const ds = dicomParser.parseDicom(b);
  return ds.elements['x00041220']!.items!.map((item) => ({
    offset: item.dataOffset - 8,
    type: item.dataSet!.string('x00041430')!,
    next: item.dataSet!.elements['x00041400']?.dataOffset,
    fileId: item.dataSet!.elements['x00041500']?.dataOffset,
  }));
}

const patched = (b: Uint8Array, at: number, value: Uint8Array): Uint8Array => {
  const out = Uint8Array.from(b);
  out.set(value, at);
  return out;
};
const u32 = (v: number): Uint8Array => new Uint8Array(new Uint32Array([v]).buffer);

beforeAll(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'lepton-dicomdir-'));
  media = join(dir, 'MEDIA');
  const a1 = await syntheticSeries(join(dir, 'a1'), { seed: 11, size: 16, slices: 3, patientId: 'DIRPAT1', seriesNumber: 1 });
  const a2 = await syntheticSeries(join(dir, 'a2'), { seed: 11, size: 16, slices: 2, patientId: 'DIRPAT1', seriesNumber: 2 });
  const b1 = await syntheticSeries(join(dir, 'b1'), { seed: 12, size: 16, slices: 2, patientId: 'DIRPAT2' });
  const seg = segmentationToDicomSeg(a1.result, a1.images, { algorithm: { name: 'lesion-segmenter', version: '1.0.0' }, omitEmptyFrames: false });
  const model = { name: 'ct-nodule', version: '0.3.0' };
  const sr = diagnosisToDicomSr({ label: 'nodule', probability: 0.9, probabilities: { normal: 0.1, nodule: 0.9 }, model, source: a1.files[1]! }, [a1.images[1]!]);
  expected = new Map();
  const place = async (bytesOrFile: Uint8Array | string, id: string[], sop: string): Promise<void> => {
    await mkdir(join(media, ...id.slice(0, -1)), { recursive: true });
    if (typeof bytesOrFile === 'string') await copyFile(bytesOrFile, join(media, ...id));
    else await writeFile(join(media, ...id), bytesOrFile);
    expected.set(id.join('/'), sop);
  };
  for (const [p, s, series] of [['P1', 'S1', a1], ['P1', 'S2', a2], ['P2', 'S1', b1]] as const) {
    for (let i = 0; i < series.files.length; i++) await place(series.files[i]!, ['DICOM', p, s, `IM${i + 1}`], series.images[i]!.meta.sopInstanceUid!);
  }
  await place(seg.bytes, ['DICOM', 'P1', 'SEG', 'SEG1'], seg.sopInstanceUid);
  await place(sr.bytes, ['DICOM', 'P1', 'SR', 'SR1'], sr.sopInstanceUid);
  const made = run('dcmmkdir', ['+r', '+id', '.'], media);
  expect(made.status, made.out).toBe(0);
  bytes = new Uint8Array(await readFile(join(media, 'DICOMDIR')));
});
afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

function expectWhole(d: DicomDir): void {
  expect(d.patients.map((p) => p.patientId)).toEqual(['DIRPAT1', 'DIRPAT2']);
  const [p1, p2] = d.patients;
  expect(p1!.studies).toHaveLength(1);
  expect(p1!.studies[0]!.studyDescription).toBe('CT CHEST (synthetic)');
  const kinds = p1!.studies[0]!.series.map((s) => [s.modality, s.instances.length]);
  expect(kinds.sort()).toEqual([['CT', 2], ['CT', 3], ['SEG', 1], ['SR', 1]]);
  expect(p2!.studies[0]!.series.map((s) => s.instances.length)).toEqual([2]);
  expect(d.instances).toHaveLength(expected.size);
  expect(d.missing).toEqual([]);
  expect(d.files).toHaveLength(expected.size);
  expect(new Set(d.instances.map((i) => i.recordType))).toEqual(new Set(['IMAGE', 'SR DOCUMENT']));
  // every file ID dcmmkdir recorded, with the SOP Instance UID of the file it names
  expect(new Map(d.instances.map((i) => [i.fileId.join('/'), i.sopInstanceUid]))).toEqual(expected);
  // the flat list is the tree's instances in order
  expect(d.instances).toEqual(d.patients.flatMap((p) => p.studies.flatMap((s) => s.series.flatMap((se) => se.instances))));
}

describe.skipIf(skip)('readDicomDir on media made by dcmmkdir', () => {
  it('builds the PATIENT → STUDY → SERIES → instance tree and resolves every file', async () => {
    const d = await readDicomDir(media);
    expectWhole(d);
    expect(d.dicomDirPath).toBe(join(media, 'DICOMDIR'));
    expect(d.root).toBe(media);
    for (const i of d.instances) {
      expect(i.path).toBe(join(media, ...i.fileId));
      const image = await readDicomFile(i.path!);
      expect(image.meta.sopInstanceUid).toBe(i.sopInstanceUid);
      expect(image.meta.sopClassUid).toBe(i.sopClassUid);
      expect(image.meta.transferSyntaxUid).toBe(i.transferSyntaxUid);
    }
    // the same, given the DICOMDIR file itself; and the bytes alone give the tree without paths
    expectWhole(await readDicomDir(join(media, 'DICOMDIR')));
    const tree = parseDicomDir(bytes);
    expect(tree.instances.map((i) => i.path)).toEqual(tree.instances.map(() => undefined));
    expect(tree.instances.map((i) => i.fileId)).toEqual(d.instances.map((i) => i.fileId));
  });

  it('finds the files on a medium mounted in lower case (and with ISO 9660 version suffixes)', async () => {
    const lower = join(dir, 'lower');
    await copyTree(media, lower, (n) => n.toLowerCase());
    const d = await readDicomDir(lower);
    expectWhole(d);
    for (const i of d.instances) expect(i.path).toBe(join(lower, ...i.fileId.map((c) => c.toLowerCase())));
    const versioned = join(dir, 'versioned');
    await copyTree(media, versioned, (n) => (n.startsWith('IM') ? `${n};1` : n));
    expectWhole(await readDicomDir(versioned));
  });

  it('lists instances whose file is gone as missing and still opens the rest', async () => {
    const partial = join(dir, 'partial');
    await copyTree(media, partial, (n) => n);
    await unlink(join(partial, 'DICOM', 'P1', 'S1', 'IM2'));
    await rm(join(partial, 'DICOM', 'P2'), { recursive: true });
    const d = await readDicomDir(partial);
    expect(d.missing.map((i) => i.fileId.join('/')).sort()).toEqual(['DICOM/P1/S1/IM2', 'DICOM/P2/S1/IM1', 'DICOM/P2/S1/IM2']);
    expect(d.files).toHaveLength(expected.size - 3);
    for (const f of d.files) expect((await stat(f)).isFile()).toBe(true);
  });

  it('fails with typed errors for paths that are not a DICOMDIR', async () => {
    const e = await expectCode(readDicomDir(join(dir, 'no-such-disc')), 'DICOMDIR_READ_FAILED');
    expect(e.details['reason']).toBe('ENOENT');
    await expectCode(readDicomDir(join(dir, 'a1')), 'DICOMDIR_READ_FAILED'); // a folder without a DICOMDIR
    await expectCode(readDicomDir(join(media, 'DICOM', 'P1', 'S1', 'IM1')), 'DICOMDIR_NOT_DICOMDIR'); // a CT image
    await writeFile(join(dir, 'notes.txt'), 'not even DICOM');
    await expectCode(readDicomDir(join(dir, 'notes.txt')), 'DICOMDIR_NOT_DICOMDIR');
    await expectCode(() => parseDicomDir('DICOMDIR' as never), 'DICOMDIR_NOT_DICOMDIR');
  });

  it('fails with DICOMDIR_MALFORMED for truncated directories, bad or looping offsets, broken hierarchy and unsafe file IDs', async () => {
    await expectCode(() => parseDicomDir(bytes.subarray(0, bytes.length - 100)), 'DICOMDIR_MALFORMED');
    const recs = records(bytes);
    const images = recs.filter((r) => r.type === 'IMAGE' && r.next !== undefined);
    const first = images[0]!;
    // Next offset into the middle of a record
    const bad = await expectCode(() => parseDicomDir(patched(bytes, first.next!, u32(first.offset + 3))), 'DICOMDIR_MALFORMED');
    expect(bad.details['offset']).toBe(first.offset + 3);
    // a record whose Next points back at itself
    await expectCode(() => parseDicomDir(patched(bytes, first.next!, u32(first.offset))), 'DICOMDIR_MALFORMED');
    // a STUDY record where a SERIES belongs (the record type rewritten in place, same length)
    const series = recs.find((r) => r.type === 'SERIES')!;
    const typeAt = dicomParser.parseDicom(bytes).elements['x00041220']!.items!.find((i) => i.dataOffset - 8 === series.offset)!.dataSet!.elements['x00041430']!.dataOffset;
    await expectCode(() => parseDicomDir(patched(bytes, typeAt, new TextEncoder().encode('STUDY '))), 'DICOMDIR_MALFORMED');
    // a file ID that climbs out of the medium: DICOM\P1\… → ..\..\P1\…: that record alone is rejected (offset,
    // reason), the other instances are kept
    const hostile = patched(bytes, first.fileId!, new TextEncoder().encode('..\\..'));
    const intact = parseDicomDir(bytes);
    const tree = parseDicomDir(hostile);
    expect(tree.rejectedRecords).toEqual([{ offset: first.offset, reason: 'unsafe-file-id' }]);
    expect(tree.instances).toHaveLength(intact.instances.length - 1);
    for (const i of tree.instances) for (const c of i.fileId) expect(c === '..' || c.includes('/') || c.includes('\\')).toBe(false);
    // … also when read from disk: nothing outside the medium is resolved, the rest of the medium opens
    const evil = join(dir, 'evil');
    await copyTree(media, evil, (n) => n);
    await writeFile(join(evil, 'DICOMDIR'), hostile);
    const d = await readDicomDir(evil);
    expect(d.rejectedRecords).toEqual([{ offset: first.offset, reason: 'unsafe-file-id' }]);
    expect(d.files).toHaveLength(intact.instances.length - 1);
    for (const f of d.files) expect(f.startsWith(d.root)).toBe(true);
  });

  it('any damage to the bytes ends in a tree or a DICOMDIR_* error, never a crash (fast-check)', () => {
    const recordCount = records(bytes).length;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.option(fc.nat({ max: bytes.length }), { nil: undefined }),
        (flips, cut) => {
          const b = Uint8Array.from(bytes);
          for (const [at, v] of flips) b[at] = v;
          try {
            const tree = parseDicomDir(cut === undefined ? b : b.subarray(0, cut));
            expect(tree.instances.length).toBeLessThanOrEqual(recordCount);
            for (const i of tree.instances) for (const c of i.fileId) expect(c === '..' || c.includes('/')).toBe(false);
          } catch (err) {
            expect(isLeptonError(err) && CODES.has(err.code), String(err)).toBe(true);
          }
        },
      ),
      { numRuns: 400, seed: 14 },
    );
  });
});
