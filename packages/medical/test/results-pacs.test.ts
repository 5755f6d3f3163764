// Results back to PACS end to end: a DiagnosisModel and a LesionSegmenter (trained briefly on a seeded synthetic chest
// CT) answer for a series; their answers become a DICOM SEG and a TID 1500 SR that dciodvfy accepts; the series, the
// SEG and the SR go to a real Orthanc (DICOMweb plugin, on loopback) by STOW-RS and come back by WADO-RS byte for byte.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime } from '@lepton/core';
import {
  DiagnosisModel,
  DicomWebClient,
  diagnosisToDicomSr,
  generateCtDataset,
  isLeptonError,
  LesionSegmenter,
  readDicom,
  readDicomFile,
  segmentationToDicomSeg,
  type DicomImage,
  type LeptonError,
  type SyntheticCtPatient,
} from '@lepton/medical';
import { dciodvfy, toolsMissing } from './fixtures/results/support.js';
import { Orthanc, orthancMissing, PASSWORD, USER } from './support/orthanc.js';

const missing = orthancMissing() ?? toolsMissing('dciodvfy');
const skip = missing !== undefined && !process.env['CI'];
if (skip) console.warn(`results-pacs.test.ts skipped: ${missing}`);

let dir: string;
let patients: SyntheticCtPatient[];
let diagnosis: DiagnosisModel;
let segmenter: LesionSegmenter;
const orthanc = new Orthanc();

async function expectCode(p: Promise<unknown>, code: string): Promise<LeptonError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isLeptonError(err), `expected LeptonError ${code}, got ${String(err)}`).toBe(true);
  expect((err as LeptonError).code).toBe(code);
  return err as LeptonError;
}

describe.skipIf(skip)('SEG and SR to a real Orthanc (STOW-RS) and back (WADO-RS)', () => {
  beforeAll(async () => {
    await initRuntime({ backend: 'wasm' }, {});
    dir = await mkdtemp(join(tmpdir(), 'lepton-results-pacs-'));
    patients = await generateCtDataset(join(dir, 'ct'), { patients: 6, slices: 6, size: 32, seed: 21, lesionFraction: 0.5 });
    // Briefly trained: these tests are about encoding and transport, not accuracy (diagnosis.test.ts covers that).
    ({ model: diagnosis } = await DiagnosisModel.trainFromFolder(join(dir, 'ct'), join(dir, 'ct', 'labels.csv'), { labels: ['normal', 'nodule'], size: 32, filters: [4, 8], epochs: 1, flipAugment: false, validationFraction: 0.34, seed: 2, name: 'ct-nodule', version: '0.1.0' }));
    const lesion = patients.filter((p) => p.hasLesion);
    const samples = await Promise.all(lesion.flatMap((p) => p.files.map(async (f, i) => ({ image: await readDicomFile(f), mask: p.phantom.masks[i]! }))));
    segmenter = await LesionSegmenter.fit(samples, { size: 32, baseFilters: 4, depth: 1, epochs: 2, seed: 2 });
    await orthanc.start();
  }, 240_000);

  afterAll(async () => {
    diagnosis?.dispose();
    segmenter?.dispose();
    await orthanc.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('stores the series, its SEG and its SR, and WADO-RS returns each one byte-identical', async () => {
    const patient = patients.find((p) => p.hasLesion)!;
    const series: DicomImage[] = await Promise.all(patient.files.map((f) => readDicomFile(f)));
    const answer = await diagnosis.predictSeries(series);
    const masks = await segmenter.predictSeries(series);
    const seg = segmentationToDicomSeg(masks, series, { algorithm: { name: 'lesion-segmenter', version: '1.0.0' }, segments: [{ label: 'Nodule', type: { value: '27925004', scheme: 'SCT', meaning: 'Nodule' } }] });
    const sr = diagnosisToDicomSr(answer, series, { segmentations: [{ seg, volumeMm3: masks.volumeMm3 }] });
    for (const [name, obj] of [['seg.dcm', seg], ['sr.dcm', sr]] as const) {
      await writeFile(join(dir, name), obj.bytes);
      const v = dciodvfy(join(dir, name));
      expect(v.errors, `${name}\n${v.out}`).toEqual([]);
    }

    const sources = await Promise.all(patient.files.map(async (f) => new Uint8Array(await readFile(f))));
    // A request bound that holds three of the (near-equal) CT files sends the six slices in two requests.
    const bound = 3 * (Math.max(...sources.map((b) => b.length)) + 128) + 64;
    const batched = new DicomWebClient({ url: orthanc.dicomWeb, auth: { type: 'basic', username: USER, password: PASSWORD }, maxStoreRequestBytes: bound });
    const ct = await batched.store(sources);
    expect(ct.stored.map((s) => s.sopInstanceUid)).toEqual(series.map((im) => im.meta.sopInstanceUid));
    expect(ct.requests).toBe(2);
    const pacs = new DicomWebClient({ url: orthanc.dicomWeb, auth: { type: 'basic', username: USER, password: PASSWORD } });
    const results = await pacs.store([seg, sr], { studyInstanceUid: seg.studyInstanceUid });
    expect(results.requests).toBe(1);
    expect(results.stored.map((s) => [s.sopClassUid, s.sopInstanceUid])).toEqual([
      [seg.sopClassUid, seg.sopInstanceUid],
      [sr.sopClassUid, sr.sopInstanceUid],
    ]);
    for (const s of results.stored) expect(s.retrieveUrl).toContain(`/studies/${seg.studyInstanceUid}/series/`);

    // QIDO-RS sees the new series; WADO-RS gives back exactly the bytes stored (Orthanc keeps the received file as it
    // came, file meta information included, so whole files are compared).
    const found = await pacs.searchSeries({ studyInstanceUid: seg.studyInstanceUid });
    expect(found.map((s) => s.modality).sort()).toEqual(['CT', 'SEG', 'SR']);
    for (const obj of [seg, sr]) {
      const back = await pacs.retrieveInstanceBytes(obj);
      expect(back.length).toBe(obj.bytes.length);
      expect(Buffer.compare(Buffer.from(back), Buffer.from(obj.bytes))).toBe(0);
      const image = await pacs.retrieveInstance(obj);
      expect(image.meta.sopClassUid).toBe(obj.sopClassUid);
    }
    expect(readDicom(await pacs.retrieveInstanceBytes(seg)).meta.numberOfFrames).toBe(seg.numberOfFrames);
    for (let i = 0; i < series.length; i++) {
      const back = await pacs.retrieveInstanceBytes({ studyInstanceUid: seg.studyInstanceUid, seriesInstanceUid: series[i]!.meta.seriesInstanceUid!, sopInstanceUid: series[i]!.meta.sopInstanceUid! });
      expect(Buffer.compare(Buffer.from(back), Buffer.from(sources[i]!))).toBe(0);
    }
  });

  it('a refused instance is DICOMWEB_STORE_FAILED with the HTTP status and the failed SOP instance (Orthanc: wrong study)', async () => {
    const patient = patients.find((p) => !p.hasLesion)!; // a study the first test did not store
    const series = await Promise.all(patient.files.slice(0, 2).map((f) => readDicomFile(f)));
    const sr = diagnosisToDicomSr(await diagnosis.predict(series[0]!), [series[0]!]);
    const pacs = new DicomWebClient({ url: orthanc.dicomWeb, auth: { type: 'basic', username: USER, password: PASSWORD } });
    const err = await expectCode(pacs.store([sr], { studyInstanceUid: '2.25.1234' }), 'DICOMWEB_STORE_FAILED');
    expect(err.details['status']).toBe(409);
    expect(err.details['failed']).toEqual([{ sopClassUid: sr.sopClassUid, sopInstanceUid: sr.sopInstanceUid, failureReason: 0x0110 }]);
    expect(err.details['stored']).toEqual([]);
    expect(err.message).toMatch(/409/);
    expect(err.message).not.toContain(sr.sopInstanceUid);
    expect(err.message).not.toContain('2.25.1234');
    // wrong credentials: the server's 401, and the password never appears in what the error carries
    const wrong = new DicomWebClient({ url: orthanc.dicomWeb, auth: { type: 'basic', username: USER, password: 'not-the-password' } });
    const e401 = await expectCode(wrong.store([sr]), 'DICOMWEB_STORE_FAILED');
    expect(e401.details['status']).toBe(401);
    expect(e401.message).toMatch(/credentials/);
    expect(JSON.stringify({ m: e401.message, d: e401.details })).not.toContain('not-the-password');
    // nothing of it reached the PACS
    expect(await pacs.searchStudies({ StudyInstanceUID: sr.studyInstanceUid })).toEqual([]);
  });
});
