// DICOM Segmentation from LesionSegmenter-shaped results: validated by dicom3tools' dciodvfy, read back by dcmtk's
// dcmdump, by dicom-parser (the packed bits, unpacked independently) and by our own reader.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLeptonError, readDicom, readDicomFile, segmentationToDicomSeg, type DicomSegObject, type LeptonError, type Segmentation } from '@lepton/medical';
import { dicomPath } from './support/fixtures.js';
import { dciodvfy, pixelDataBytes, run, syntheticSeries, toolsMissing, unpackBits, type SyntheticSeries } from './fixtures/results/support.js';

const missing = toolsMissing('dciodvfy', 'dcmdump');
const skipTools = missing !== undefined && !process.env['CI'];
if (skipTools) console.warn(`results-seg.test.ts: third-party checks skipped: ${missing}`);

const ALGORITHM = { name: 'lesion-segmenter', version: '1.0.0' } as const;
const NOW = new Date(Date.UTC(2026, 0, 5, 8, 30, 0, 250));
let dir: string;
let ct: SyntheticSeries;

function expectCode(fn: () => unknown, code: string): LeptonError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(isLeptonError(err), `expected LeptonError ${code}, got ${String(err)}`).toBe(true);
  expect((err as LeptonError).code).toBe(code);
  return err as LeptonError;
}

/** The frames a SEG of `masks` must hold: per segment, slices in ascending position order, empty ones left out. */
function expectedFrames(s: SyntheticSeries, segments: number, value: (mask: ArrayLike<number>, p: number, seg: number) => boolean): { frames: Uint8Array[]; slices: number[] } {
  const order = s.images.map((_, i) => i).sort((a, b) => s.images[a]!.meta.imagePositionPatient![2] - s.images[b]!.meta.imagePositionPatient![2]);
  const frames: Uint8Array[] = [];
  const slices: number[] = [];
  for (let seg = 1; seg <= segments; seg++) {
    for (const i of order) {
      const m = s.result.slices[i]!.mask;
      const f = Uint8Array.from({ length: m.length }, (_, p) => (value(m, p, seg) ? 1 : 0));
      if (f.some((v) => v)) frames.push(f), slices.push(i);
    }
  }
  return { frames, slices };
}

async function writeTemp(name: string, obj: DicomSegObject): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, obj.bytes);
  return path;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lepton-seg-'));
  ct = await syntheticSeries(join(dir, 'ct'), { seed: 5, size: 32, slices: 8 });
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('segmentationToDicomSeg', () => {
  it('writes a BINARY Segmentation that dciodvfy accepts without errors or warnings and dcmdump reads', async () => {
    const seg = segmentationToDicomSeg(ct.result, ct.images, { algorithm: ALGORITHM, now: NOW });
    const lesionSlices = ct.result.slices.filter((s) => s.pixels > 0).length;
    expect(lesionSlices).toBeGreaterThan(1);
    expect(seg).toMatchObject({ sopClassUid: '1.2.840.10008.5.1.4.1.1.66.4', studyInstanceUid: ct.images[0]!.meta.studyInstanceUid, numberOfFrames: lesionSlices, sourceSeriesInstanceUid: ct.images[0]!.meta.seriesInstanceUid });
    expect(seg.segments).toEqual([{ number: 1, label: 'Lesion', frames: lesionSlices, propertyType: { value: '52988006', scheme: 'SCT', meaning: 'Lesion' } }]);
    const path = await writeTemp('seg.dcm', seg);
    if (skipTools) return;
    const v = dciodvfy(path);
    expect(v.errors, v.out).toEqual([]);
    expect(v.warnings, v.out).toEqual([]);
    const dump = run('dcmdump', ['-q', path]);
    expect(dump.status, dump.out).toBe(0);
    expect(dump.out).toMatch(/\(0062,0001\) CS \[BINARY\]/);
    expect(dump.out).toMatch(/\(0028,0100\) US 1 /);
    expect(dump.out).toMatch(/\(0020,0052\) UI \[([\d.]+)\]/);
    expect(/\(0020,0052\) UI \[([\d.]+)\]/.exec(dump.out)![1]).toBe(ct.images[0]!.meta.frameOfReferenceUid);
    // Per-frame plane positions are the source slices', in ascending position; shared orientation and pixel measures.
    const positions = [...run('dcmdump', ['-q', '--search', '0020,0032', path]).out.matchAll(/\(0020,0032\) DS \[([^\]]+)\]/g)].map((m) => m[1]!.split('\\').map(Number));
    const { slices } = expectedFrames(ct, 1, (m, p) => m[p] !== 0);
    expect(positions).toEqual(slices.map((i) => [...ct.images[i]!.meta.imagePositionPatient!]));
    expect(run('dcmdump', ['-q', '--search', '0020,0037', path]).out.match(/\(0020,0037\)/g)).toHaveLength(1);
    expect(run('dcmdump', ['-q', '--search', '0028,0030', path]).out.match(/\(0028,0030\)/g)).toHaveLength(1);
  });

  it('packs the frames 1 bit per pixel, least significant bit first, and references each source image per frame', async () => {
    const seg = segmentationToDicomSeg(ct.result, ct.images, { algorithm: ALGORITHM, now: NOW });
    const { frames, slices } = expectedFrames(ct, 1, (m, p) => m[p] !== 0);
    const data = pixelDataBytes(seg.bytes);
    expect(data.length).toBe(Math.ceil((frames.length * 32 * 32) / 8) + (Math.ceil((frames.length * 32 * 32) / 8) % 2));
    expect(unpackBits(data, frames.length, 32 * 32)).toEqual(frames);
    // bit order: the first lesion pixel of the first frame sets exactly its own bit
    const first = frames[0]!.indexOf(1);
    expect((data[first >> 3]! >> (first & 7)) & 1).toBe(1);

    const image = readDicom(seg.bytes);
    expect(image.meta).toMatchObject({ sopClassUid: seg.sopClassUid, sopInstanceUid: seg.sopInstanceUid, bitsAllocated: 1, bitsStored: 1, numberOfFrames: frames.length, rows: 32, columns: 32, modality: 'SEG' });
    expect(image.meta.frameOfReferenceUid).toBe(ct.images[0]!.meta.frameOfReferenceUid);
    expect(image.getString('00620001')).toBe('BINARY');
    if (skipTools) return;
    const path = await writeTemp('seg-ref.dcm', seg);
    const full = run('dcmdump', ['-q', path]).out;
    const perFrame = full.slice(full.indexOf('(5200,9230)'));
    const refs = [...perFrame.matchAll(/\(0008,1155\) UI \[([\d.]+)\]/g)].map((m) => m[1]);
    expect(refs).toEqual(slices.map((i) => ct.images[i]!.meta.sopInstanceUid));
    const dims = [...run('dcmdump', ['-q', '--search', '0020,9157', path]).out.matchAll(/\(0020,9157\) UL (\d+)\\(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(dims.map((d) => d[0])).toEqual(slices.map(() => 1));
    expect(dims.map((d) => d[1])).toEqual([...dims.map((d) => d[1]!)].sort((a, b) => a - b)); // position index ascends
  });

  it('our reader decodes the frames (Bits Allocated 1) back to the masks', async () => {
    const seg = segmentationToDicomSeg(ct.result, ct.images, { algorithm: ALGORITHM, now: NOW });
    const { frames } = expectedFrames(ct, 1, (m, p) => m[p] !== 0);
    const image = readDicom(seg.bytes);
    for (let f = 0; f < frames.length; f++) {
      const decoded = await image.decodeFrame(f);
      expect(Array.from(decoded.pixels)).toEqual(Array.from(frames[f]!));
    }
  });

  it('frames that are not a multiple of 8 pixels run on mid-byte (17 × 17), and every empty frame can be kept', async () => {
    const odd = await syntheticSeries(join(dir, 'ct17'), { seed: 9, size: 17, slices: 5, patientId: 'RES017' });
    const seg = segmentationToDicomSeg(odd.result, odd.images, { algorithm: ALGORITHM, omitEmptyFrames: false, now: NOW });
    expect(seg.numberOfFrames).toBe(5);
    const order = odd.images.map((_, i) => i).sort((a, b) => odd.images[a]!.meta.imagePositionPatient![2] - odd.images[b]!.meta.imagePositionPatient![2]);
    const want = order.map((i) => Uint8Array.from(odd.result.slices[i]!.mask, (v) => (v ? 1 : 0)));
    const data = pixelDataBytes(seg.bytes);
    expect(data.length).toBe(Math.ceil((5 * 289) / 8) + (Math.ceil((5 * 289) / 8) % 2)); // 181 → 182, no per-frame padding
    expect(unpackBits(data, 5, 289)).toEqual(want);
    // our reader finds each frame at its bit offset, not at a byte boundary
    const image = readDicom(seg.bytes);
    for (let f = 0; f < 5; f++) expect(Array.from((await image.decodeFrame(f)).pixels), `frame ${f}`).toEqual(Array.from(want[f]!));
    if (skipTools) return;
    const v = dciodvfy(await writeTemp('seg17.dcm', seg));
    expect(v.errors, v.out).toEqual([]);
  });

  it('writes one segment per label of a label map, with codes, colours, tracking and algorithm identification', async () => {
    // Label 1: the lesion; label 2: a 4 × 4 block in the corner of every slice (a second, non-overlapping structure).
    const slices: Segmentation[] = ct.result.slices.map((s) => {
      const mask = Uint8Array.from(s.mask);
      for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) mask[r * 32 + c] = 2;
      return { ...s, mask };
    });
    const seg = segmentationToDicomSeg(slices, ct.images, {
      algorithm: { ...ALGORITHM, family: { value: '123109', scheme: 'DCM', meaning: 'Artificial Intelligence' } },
      segments: [
        { label: 'Nodule', type: { value: '27925004', scheme: 'SCT', meaning: 'Nodule' }, trackingId: 'nodule-1', color: [255, 0, 0] },
        { label: 'Marker', category: { value: '260787004', scheme: 'SCT', meaning: 'Physical object' }, type: { value: 'M1', scheme: '99LEPTON', meaning: 'Corner marker' }, description: 'test block' },
      ],
      seriesNumber: 42,
      contentLabel: 'NODULE_SEG',
      now: NOW,
    });
    const { frames } = expectedFrames(ct, 2, (m, p, s) => (s === 2 ? p < 4 * 32 && p % 32 < 4 : m[p] !== 0 && !(p < 4 * 32 && p % 32 < 4)));
    expect(seg.segments.map((s) => [s.label, s.frames])).toEqual([
      ['Nodule', frames.length - 8],
      ['Marker', 8],
    ]);
    expect(unpackBits(pixelDataBytes(seg.bytes), frames.length, 32 * 32)).toEqual(frames);
    if (skipTools) return;
    const path = await writeTemp('seg2.dcm', seg);
    const v = dciodvfy(path);
    expect(v.errors, v.out).toEqual([]);
    const dump = run('dcmdump', ['-q', path]).out;
    expect(dump).toMatch(/\(0062,0005\) LO \[Nodule\]/);
    expect(dump).toMatch(/\(0062,0020\) UT \[nodule-1\]/);
    expect(dump).toMatch(/\(0066,0036\) LO \[lesion-segmenter\]/);
    expect(dump).toMatch(/\(0070,0080\) CS \[NODULE_SEG\]/);
    expect(dump).toMatch(/\(0020,0011\) IS \[42\]/);
    expect(dump.match(/\(0062,000b\) US 2/g)).toHaveLength(8);
  });

  it('a result without any lesion still makes a valid object (every slice, empty, for the first segment)', async () => {
    const empty = { ...ct.result, slices: ct.result.slices.map((s) => ({ ...s, mask: new Uint8Array(s.mask.length), pixels: 0 })) };
    const seg = segmentationToDicomSeg(empty, ct.images, { algorithm: ALGORITHM, now: NOW });
    expect(seg.numberOfFrames).toBe(8);
    expect(pixelDataBytes(seg.bytes).every((b) => b === 0)).toBe(true);
    if (skipTools) return;
    expect(dciodvfy(await writeTemp('seg-empty.dcm', seg)).errors).toEqual([]);
  });

  it('rejects results that do not fit the images, and bad options, with DICOM_RESULT_INVALID_INPUT', async () => {
    const base = { algorithm: ALGORITHM };
    expectCode(() => segmentationToDicomSeg(ct.result, ct.images.slice(1), base), 'DICOM_RESULT_INVALID_INPUT');
    expectCode(() => segmentationToDicomSeg(ct.result, [...ct.images].reverse(), base), 'DICOM_RESULT_INVALID_INPUT'); // sources in another order
    const small = { ...ct.result, slices: ct.result.slices.map((s) => ({ ...s, mask: s.mask.subarray(1) })) };
    expectCode(() => segmentationToDicomSeg(small, ct.images, base), 'DICOM_RESULT_INVALID_INPUT');
    expectCode(() => segmentationToDicomSeg(ct.result, ct.images, {} as never), 'DICOM_RESULT_INVALID_INPUT');
    expectCode(() => segmentationToDicomSeg(ct.result, ct.images, { algorithm: { name: '', version: '1' } }), 'DICOM_RESULT_INVALID_INPUT');
    expectCode(() => segmentationToDicomSeg(ct.result, ct.images, { ...base, contentLabel: 'lower case' }), 'DICOM_RESULT_INVALID_INPUT');
    expectCode(() => segmentationToDicomSeg(ct.result, ct.images, { ...base, segments: [] }), 'DICOM_RESULT_INVALID_INPUT');
    expectCode(() => segmentationToDicomSeg(ct.result, ct.images, { ...base, segments: [{ label: 'a', color: [0, 0, 300] }] }), 'DICOM_RESULT_INVALID_INPUT');
    expectCode(() => segmentationToDicomSeg(ct.result, ct.images, { ...base, sopInstanceUid: '1.2.abc' }), 'DICOM_RESULT_INVALID_INPUT');
    expectCode(() => segmentationToDicomSeg(ct.result, ct.images, { ...base, segments: [{ label: 'x', type: { value: '', scheme: 'SCT', meaning: 'x' } }] }), 'DICOM_RESULT_INVALID_INPUT');
    // label maps: a value with no segment
    const three = { ...ct.result, slices: ct.result.slices.map((s) => ({ ...s, mask: Uint8Array.from(s.mask, (v) => v * 3) })) };
    const e = expectCode(() => segmentationToDicomSeg(three, ct.images, { ...base, segments: [{ label: 'a' }, { label: 'b' }] }), 'DICOM_RESULT_INVALID_INPUT');
    expect(e.message).toMatch(/value 3/);
    // images without plane geometry cannot carry a segmentation
    const flat = await readDicomFile(dicomPath('rgb_jpeg_baseline'));
    const one: Segmentation = { mask: new Uint8Array(flat.meta.rows * flat.meta.columns), rows: flat.meta.rows, columns: flat.meta.columns, pixels: 0, areaMm2: 0 };
    expectCode(() => segmentationToDicomSeg(one, [flat], base), 'DICOM_RESULT_INVALID_INPUT');
    // another study's image
    const other = await syntheticSeries(join(dir, 'other'), { seed: 6, size: 32, slices: 2, patientId: 'RES002' });
    expectCode(() => segmentationToDicomSeg([ct.result.slices[0]!, other.result.slices[0]!], [ct.images[0]!, other.images[0]!], base), 'DICOM_RESULT_INVALID_INPUT');
  });
});
