// Comprehensive SR (TID 1500) from DiagnosisModel-shaped answers: validated by dicom3tools' dciodvfy, the content
// tree read back by dcmtk's dsrdump, the header by our own reader.
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  diagnosisToDicomSr,
  isLeptonError,
  readDicom,
  readDicomFile,
  segmentationToDicomSeg,
  type Diagnosis,
  type DicomResultObject,
  type DicomSegObject,
  type LeptonError,
  type SeriesDiagnosis,
} from '@lepton/medical';
import { dciodvfy, run, syntheticSeries, toolsMissing, type SyntheticSeries } from './fixtures/results/support.js';

const missing = toolsMissing('dciodvfy', 'dsrdump', 'dcmodify');
const skipTools = missing !== undefined && !process.env['CI'];
if (skipTools) console.warn(`results-sr.test.ts: third-party checks skipped: ${missing}`);

const NOW = new Date(Date.UTC(2026, 0, 5, 8, 30));
const MODEL = { name: 'ct-nodule', version: '0.3.0' };
let dir: string;
let ct: SyntheticSeries;
let seg: DicomSegObject;
let answer: SeriesDiagnosis;

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

/** What DiagnosisModel.predictSeries answers for a binary model: one answer per slice, the most suspicious decides. */
function seriesAnswer(s: SyntheticSeries, key: number, p: number): SeriesDiagnosis {
  const images: Diagnosis[] = s.files.map((source, i) => {
    const q = i === key ? p : 0.05;
    return { label: q >= 0.5 ? 'nodule' : 'normal', probability: q, probabilities: { normal: 1 - q, nodule: q }, positive: q >= 0.5, threshold: 0.5, model: MODEL, source };
  });
  return { ...images[key]!, keyImage: key, images };
}

async function dump(obj: DicomResultObject, name: string): Promise<{ path: string; tree: string }> {
  const path = join(dir, name);
  await writeFile(path, obj.bytes);
  return { path, tree: skipTools ? '' : run('dsrdump', ['+Pu', '+Pc', '+Pt', '-Ph', path]).out };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lepton-sr-'));
  ct = await syntheticSeries(join(dir, 'ct'), { seed: 5, size: 32, slices: 8 });
  seg = segmentationToDicomSeg(ct.result, ct.images, { algorithm: { name: 'lesion-segmenter', version: '1.0.0' }, segments: [{ label: 'Nodule', type: { value: '27925004', scheme: 'SCT', meaning: 'Nodule' } }], now: NOW });
  answer = seriesAnswer(ct, 3, 0.93);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('diagnosisToDicomSr', () => {
  it('writes a TID 1500 report that dciodvfy accepts without errors or warnings', async () => {
    const sr = diagnosisToDicomSr(answer, ct.images, { segmentations: [{ seg, volumeMm3: ct.result.volumeMm3 }], now: NOW });
    expect(sr).toMatchObject({ sopClassUid: '1.2.840.10008.5.1.4.1.1.88.33', studyInstanceUid: ct.images[0]!.meta.studyInstanceUid });
    const meta = readDicom(sr.bytes).meta;
    expect(meta).toMatchObject({ sopClassUid: sr.sopClassUid, sopInstanceUid: sr.sopInstanceUid, seriesInstanceUid: sr.seriesInstanceUid, modality: 'SR', patientId: 'RES001', hasPixelData: false });
    const { path } = await dump(sr, 'sr.dcm');
    if (skipTools) return;
    const v = dciodvfy(path);
    expect(v.errors, v.out).toEqual([]);
    expect(v.warnings, v.out).toEqual([]);
  });

  it('dsrdump reads the finding, the probability with its UCUM unit, the model, the key slice and the SEG volume', async () => {
    const sr = diagnosisToDicomSr(answer, ct.images, { segmentations: [{ seg, volumeMm3: 1234.5678901234567 }], now: NOW });
    const { tree } = await dump(sr, 'sr-tree.dcm');
    if (skipTools) return;
    const key = ct.images[3]!.meta.sopInstanceUid!;
    expect(tree).toMatch(/^<CONTAINER:\(126000,DCM,"Imaging Measurement Report"\)=SEPARATE>\s+# TID 1500 \(DCMR\)/m);
    expect(tree).toMatch(/<has obs context CODE:\(121005,DCM,"Observer Type"\)=\(121007,DCM,"Device"\)>/);
    expect(tree).toMatch(/<has obs context TEXT:\(121013,DCM,"Device Observer Name"\)="ct-nodule">/);
    expect(tree).toMatch(/# TID 1501 \(DCMR\)/);
    expect(tree).toMatch(/<contains CODE:\(121071,DCM,"Finding"\)=\(27925004,SCT,"Nodule"\)>/);
    expect(tree).toMatch(/<contains NUM:\(111012,DCM,"Certainty of Finding"\)="0\.93" \(\{probability\},UCUM,"probability"\)>/);
    expect(tree).toMatch(/<has concept mod TEXT:\(111001,DCM,"Algorithm Name"\)="ct-nodule">/);
    expect(tree).toMatch(/<has concept mod TEXT:\(111003,DCM,"Algorithm Version"\)="0\.3\.0">/);
    expect(tree).toContain(`<inferred from IMAGE:(121112,DCM,"Source of Measurement")=(CT image,"${key}")>`);
    // the image library lists every source slice
    for (const im of ct.images) expect(tree).toContain(`<contains IMAGE:=(CT image,"${im.meta.sopInstanceUid}")>`);
    // TID 1411: the volume on the SEG's segment 1 and the series it was made on
    expect(tree).toMatch(/# TID 1411 \(DCMR\)/);
    expect(tree).toContain(`<contains IMAGE:(121191,DCM,"Referenced Segment")=(SG image,"${seg.sopInstanceUid}",1)>`);
    expect(tree).toContain(`<contains UIDREF:(121232,DCM,"Source series for segmentation")="${ct.images[0]!.meta.seriesInstanceUid}">`);
    expect(tree).toMatch(/<contains NUM:\(118565006,SCT,"Volume"\)="1234\.56789012346" \(mm3,UCUM,"cubic millimeter"\)>/);
    expect(tree).toMatch(/<has concept mod TEXT:\(111001,DCM,"Algorithm Name"\)="lesion-segmenter">/);
    // the exact double travels in Floating Point Value next to the 16-character Decimal String
    const dumped = run('dcmdump', ['-q', '+P', '0040,a161', join(dir, 'sr-tree.dcm')]).out;
    expect(dumped).toMatch(/FD 1234\.5678901234567/);
  });

  it('reports the predicted label with its own probability: a negative answer is "Normal" with P(normal)', async () => {
    const negative = seriesAnswer(ct, 0, 0.2);
    const sr = diagnosisToDicomSr(negative, ct.images, { now: NOW });
    const { path, tree } = await dump(sr, 'sr-neg.dcm');
    if (skipTools) return;
    expect(dciodvfy(path).errors).toEqual([]);
    expect(tree).toMatch(/<contains CODE:\(121071,DCM,"Finding"\)=\(17621005,SCT,"Normal"\)>/);
    expect(tree).toMatch(/"Certainty of Finding"\)="0\.8" /);
    expect(tree).not.toMatch(/TID 1411/);
  });

  it('a single-image answer, custom codes and a label without a code (private 99LEPTON scheme)', async () => {
    const one: Diagnosis = { label: 'ground-glass', probability: 0.61, probabilities: { clear: 0.2, 'ground-glass': 0.61, consolidation: 0.19 }, model: MODEL, source: ct.files[2]! };
    const sr = diagnosisToDicomSr(one, [ct.images[2]!], { now: NOW, sopInstanceUid: '2.25.42', seriesInstanceUid: '2.25.43', seriesNumber: 77 });
    expect(sr.sopInstanceUid).toBe('2.25.42');
    const { path, tree } = await dump(sr, 'sr-one.dcm');
    const coded = diagnosisToDicomSr(one, [ct.images[2]!], {
      now: NOW,
      findingCodes: { 'ground-glass': { value: 'GGO', scheme: '99TEST', meaning: 'Ground-glass opacity' } },
      probabilityConcept: { value: '111047', scheme: 'DCM', meaning: 'Probability of cancer' },
      procedure: { value: 'CTCHEST', scheme: '99TEST', meaning: 'CT of chest' },
    });
    const other = await dump(coded, 'sr-coded.dcm');
    if (skipTools) return;
    expect(dciodvfy(path).errors).toEqual([]);
    expect(tree).toMatch(/"Finding"\)=\(GROUND_GLASS,99LEPTON,"ground-glass"\)>/);
    expect(tree).toContain(`(CT image,"${ct.images[2]!.meta.sopInstanceUid}")`);
    expect(dciodvfy(other.path).errors).toEqual([]);
    expect(other.tree).toMatch(/"Finding"\)=\(GGO,99TEST,"Ground-glass opacity"\)>/);
    expect(other.tree).toMatch(/<contains NUM:\(111047,DCM,"Probability of cancer"\)="0\.61"/);
    expect(other.tree).toMatch(/"Procedure reported"\)=\(CTCHEST,99TEST,"CT of chest"\)>/);
  });

  it('patient names in UTF-8 arrive intact (ISO_IR 192); other character sets with non-ASCII text are refused', async () => {
    if (skipTools) return;
    // the synthetic writer stores UTF-8 bytes; declare them as ISO_IR 192, as a UTF-8 modality would
    const utf8 = join(dir, 'utf8.dcm');
    await writeFile(utf8, await readFile(ct.files[0]!));
    expect(run('dcmodify', ['-nb', '-m', '(0008,0005)=ISO_IR 192', '-m', '(0010,0010)=Müller^Jörg', utf8]).status).toBe(0);
    const image = await readDicomFile(utf8);
    const one: Diagnosis = { label: 'nodule', probability: 0.7, probabilities: { normal: 0.3, nodule: 0.7 }, model: MODEL };
    const sr = diagnosisToDicomSr(one, [image], { now: NOW });
    const path = join(dir, 'sr-utf8.dcm');
    await writeFile(path, sr.bytes);
    const header = run('dcmdump', ['-q', '+P', '0008,0005', '+P', '0010,0010', path]).out;
    expect(header).toContain('[ISO_IR 192]');
    expect(header).toContain('[Müller^Jörg]');
    expect(dciodvfy(path).errors).toEqual([]);
    // ISO 2022 (Japanese) text is not something the writers re-encode: refused rather than garbled
    const jis = join(dir, 'jis.dcm');
    await writeFile(jis, await readFile(ct.files[0]!));
    expect(run('dcmodify', ['-nb', '-m', '(0008,0005)=\\ISO 2022 IR 87', '-m', '(0010,0010)=Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B', jis]).status).toBe(0);
    const e = expectCode(() => diagnosisToDicomSr(one, [readDicom(new Uint8Array(readFileSync(jis)))]), 'DICOM_RESULT_UNSUPPORTED');
    expect(e.message).not.toContain('Yamada');
  });

  it('rejects answers that do not fit the images, and bad measurements, with DICOM_RESULT_INVALID_INPUT', async () => {
    expectCode(() => diagnosisToDicomSr(answer, ct.images.slice(1)), 'DICOM_RESULT_INVALID_INPUT');
    expectCode(() => diagnosisToDicomSr(answer, [...ct.images].reverse()), 'DICOM_RESULT_INVALID_INPUT');
    expectCode(() => diagnosisToDicomSr({ ...answer, probabilities: { normal: 0.5, nodule: Number.NaN } }, ct.images), 'DICOM_RESULT_INVALID_INPUT');
    expectCode(() => diagnosisToDicomSr({ ...answer, probabilities: { normal: 0.5, nodule: 1.5 } }, ct.images), 'DICOM_RESULT_INVALID_INPUT');
    expectCode(() => diagnosisToDicomSr({ ...answer, keyImage: 99 }, ct.images), 'DICOM_RESULT_INVALID_INPUT');
    expectCode(() => diagnosisToDicomSr({ ...answer, model: { name: '', version: '1' } }, ct.images), 'DICOM_RESULT_INVALID_INPUT');
    expectCode(() => diagnosisToDicomSr(answer, ct.images, { segmentations: [{ seg, volumeMm3: Number.POSITIVE_INFINITY }] }), 'DICOM_RESULT_INVALID_INPUT');
    expectCode(() => diagnosisToDicomSr(answer, ct.images, { segmentations: [{ seg, volumeMm3: 1, segmentNumber: 2 }] }), 'DICOM_RESULT_INVALID_INPUT');
    expectCode(() => diagnosisToDicomSr(answer, ct.images, { segmentations: [{ seg: { ...seg, studyInstanceUid: '2.25.1' }, volumeMm3: 1 }] }), 'DICOM_RESULT_INVALID_INPUT');
    expectCode(() => diagnosisToDicomSr(answer, ct.images, { deviceObserverUid: 'not-a-uid' }), 'DICOM_RESULT_INVALID_INPUT');
    expectCode(() => diagnosisToDicomSr(answer, [] as never), 'DICOM_RESULT_INVALID_INPUT');
  });
});
