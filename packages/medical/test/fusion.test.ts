// Image + clinical fusion on seeded synthetic data (no patient data): chest CTs written as real DICOM files, clinical
// fields and an outcome that depends on both the nodule and the record (see syntheticClinicalRecords).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime, tf } from '@lepton/core';
import {
  clinicalCsv,
  ClinicalFusionModel,
  DiagnosisModel,
  encodeClinical,
  fitClinicalEncoding,
  generateCtDataset,
  parseClinicalCsv,
  readClinicalCsv,
  readDicomFile,
  syntheticClinicalRecords,
  type ClinicalCsvResult,
  type ClinicalFusionSample,
  type SyntheticClinicalPatient,
  type SyntheticCtPatient,
} from '@lepton/medical';

let dir: string;
let image: DiagnosisModel;
let csv: ClinicalCsvResult;
const sets: Record<'train' | 'validation' | 'test', { ct: SyntheticCtPatient[]; clinical: SyntheticClinicalPatient[]; samples: ClinicalFusionSample[] }> = {} as never;

const CT = { slices: 4, size: 48 } as const;

beforeAll(async () => {
  await initRuntime({ backend: 'wasm' }, {});
  dir = await mkdtemp(join(tmpdir(), 'lepton-fusion-'));
  // Three disjoint groups of patients: the image model and the clinical model train on the first, the fusion weights
  // are fitted on the second, and everything is judged on the third.
  const groups = [
    ['train', 60, 5, 'TRN'],
    ['validation', 100, 6, 'VAL'],
    ['test', 160, 7, 'TST'],
  ] as const;
  const bad = 'TRN900,sixty,F,1,0,0\nTRN901,70,X,0,0,0\nTRN902,50,M,maybe,0,0\nTRN001,40,F,0,0,0\nTRN903,45,M\n,50,F,0,0,0\nTRN904,5"5,F,0,0,0\n';
  let text = '';
  for (const [name, n, seed, prefix] of groups) {
    const ct = await generateCtDataset(join(dir, name), { patients: n, ...CT, seed, prefix });
    const clinical = syntheticClinicalRecords(ct, { seed: seed + 100 });
    const body = clinicalCsv(clinical.map((c) => c.record), ['smoker', 'priorCancer', 'copd']);
    text += text === '' ? body : body.slice(body.indexOf('\n') + 1);
    if (name === 'train') text += bad; // seven bad rows among the good ones
    sets[name] = { ct, clinical, samples: [] };
  }
  await writeFile(join(dir, 'clinical.csv'), text);
  csv = await readClinicalCsv(join(dir, 'clinical.csv'));
  const trained = await DiagnosisModel.trainFromFolder(join(dir, 'train'), join(dir, 'train', 'labels.csv'), {
    labels: ['normal', 'nodule'],
    size: 32,
    filters: [4, 8],
    epochs: 10,
    seed: 1,
  });
  image = trained.model;
  // Patient-level image probability: the series' most suspicious slice.
  for (const name of ['train', 'validation', 'test'] as const) {
    const s = sets[name];
    for (let i = 0; i < s.ct.length; i++) {
      const p = s.ct[i]!;
      const probability = name === 'train' ? undefined : (await image.predictSeries(await Promise.all(p.files.map((f) => readDicomFile(f))))).probability;
      s.samples.push({ record: csv.byPatient.get(p.patientId)!, imageProbability: probability, outcome: s.clinical[i]!.outcome });
    }
  }
}, 180_000);

afterAll(async () => {
  image?.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('clinical CSV', () => {
  it('reads every good row keyed by Patient ID; each bad row is a typed, counted failure that stops nothing', () => {
    expect(csv.rows).toBe(320 + 7);
    expect(csv.records).toHaveLength(320);
    expect(csv.failures.map((f) => f.error.code)).toEqual([
      'CLINICAL_BAD_AGE',
      'CLINICAL_BAD_SEX',
      'CLINICAL_BAD_FLAG',
      'CLINICAL_DUPLICATE_PATIENT',
      'CLINICAL_MALFORMED_ROW',
      'CLINICAL_MISSING_ID',
      'CLINICAL_MALFORMED_ROW',
    ]);
    // Header is line 1, the 60 training patients lines 2–61, so the bad rows are lines 62–68.
    expect(csv.failures.map((f) => f.line)).toEqual([62, 63, 64, 65, 66, 67, 68]);
    expect(csv.failures[0]!.patientId).toBe('TRN900');
    for (const f of csv.failures) expect(f.error.message).not.toMatch(/sixty|maybe/); // values are patient data
    // The duplicate kept the first row: what the generator wrote for TRN001.
    expect(csv.byPatient.get('TRN001')).toEqual(sets.train.clinical[0]!.record);
    expect(csv.history).toEqual(['smoker', 'priorCancer', 'copd']);
  });

  it('accepts DICOM age strings and word forms; refuses a header without the required columns', () => {
    const r = parseClinicalCsv('PatientID,Age,Sex,smoker\nA,065Y,female,yes\nB,018M,m,false\nC,40,O,1\n');
    expect(r.records.map((x) => [x.patientId, x.age, x.sex, x.history['smoker']])).toEqual([
      ['A', 65, 'F', true],
      ['B', 1.5, 'M', false],
      ['C', 40, 'O', true],
    ]);
    expect(() => parseClinicalCsv('id,sex\nA,F\n')).toThrow(expect.objectContaining({ code: 'CLINICAL_CSV_INVALID' }));
  });

  it('encodes age (standardised on the fitting records), one-hot sex and history flags', () => {
    const recs = [
      { patientId: 'a', age: 50, sex: 'F' as const, history: { smoker: true } },
      { patientId: 'b', age: 70, sex: 'M' as const, history: { smoker: false, copd: true } },
    ];
    const enc = fitClinicalEncoding(recs);
    expect(enc).toEqual({ ageMean: 60, ageStd: 10, history: ['copd', 'smoker'], features: ['age', 'sex_F', 'sex_M', 'sex_O', 'history_copd', 'history_smoker'] });
    expect(encodeClinical(recs[0]!, enc)).toEqual([-1, 1, 0, 0, 0, 1]);
    expect(encodeClinical({ patientId: 'c', age: 75, sex: 'O', history: {} }, enc)).toEqual([1.5, 0, 0, 1, 0, 0]);
  });
});

describe('synthetic clinical records', () => {
  it('are seeded, and nodule patients are older and smoke more, as documented', () => {
    const all = [...sets.train.clinical, ...sets.validation.clinical, ...sets.test.clinical];
    const ct = [...sets.train.ct, ...sets.validation.ct, ...sets.test.ct];
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const les = all.filter((_, i) => ct[i]!.hasLesion);
    const non = all.filter((_, i) => !ct[i]!.hasLesion);
    expect(mean(les.map((p) => p.record.age)) - mean(non.map((p) => p.record.age))).toBeGreaterThan(2);
    expect(mean(les.map((p) => Number(p.record.history['smoker'])))).toBeGreaterThan(mean(non.map((p) => Number(p.record.history['smoker']))));
    // The stored risk is the documented model's probability.
    const p = all[0]!;
    const z = -2.8 + 3 * Number(ct[0]!.hasLesion) + 0.09 * (p.record.age - 60) + 1.6 * Number(p.record.history['smoker']) + 1.2 * Number(p.record.history['priorCancer']);
    expect(p.risk).toBeCloseTo(1 / (1 + Math.exp(-z)), 12);
    expect(syntheticClinicalRecords(sets.test.ct, { seed: 107 })).toEqual(sets.test.clinical);
  });
});

describe('ClinicalFusionModel (DICOM image + clinical fields)', () => {
  it('beats image-only and clinical-only AUC on unseen patients by at least 0.03, and changes decisions for the better', () => {
    const model = ClinicalFusionModel.fit(sets.train.samples, sets.validation.samples);
    const ev = model.evaluate(sets.test.samples);
    expect(ev.n).toBe(160);
    // Both sources carry signal on their own…
    expect(ev.imageRocAuc).toBeGreaterThan(0.6);
    expect(ev.clinicalRocAuc).toBeGreaterThan(0.6);
    // …and the fusion weights both, and knows more than either.
    expect(model.weights.image).toBeGreaterThan(0);
    expect(model.weights.clinical).toBeGreaterThan(0);
    expect(ev.rocAuc).toBeGreaterThan(ev.imageRocAuc + 0.03);
    expect(ev.rocAuc).toBeGreaterThan(ev.clinicalRocAuc + 0.03);
    // Decisions: the image model at its own operating point vs the fusion at 0.5.
    let changed = 0;
    let fixedByFusion = 0;
    for (const s of sets.test.samples) {
      const imagePositive = s.imageProbability! >= image.threshold;
      const fused = model.predict(s.record, s.imageProbability).positive;
      if (fused !== imagePositive) {
        changed++;
        if (fused === s.outcome) fixedByFusion++;
      }
    }
    expect(changed).toBeGreaterThanOrEqual(10);
    expect(fixedByFusion).toBeGreaterThan(changed / 2);
  });

  it('scores a DICOM series with the image model and fuses it; no image → the record decides; JSON round trip; no leaks', async () => {
    const model = ClinicalFusionModel.fit(sets.train.samples, sets.validation.samples, { threshold: 0.4 });
    const patient = sets.test.ct[3]!;
    const record = csv.byPatient.get(patient.patientId)!;
    const images = await Promise.all(patient.files.map((f) => readDicomFile(f)));
    const before = tf.memory().numTensors;
    const r = await model.predictImages(record, images, image);
    expect(tf.memory().numTensors).toBe(before);
    const series = await image.predictSeries(images);
    expect(r).toEqual(model.predict(record, series.probability));
    expect(r.positive).toBe(r.probability >= 0.4);
    expect(r.clinicalProbability).toBe(model.clinicalProbability(record));
    // Without an image, the image term sits at its validation mean: the answer moves with the record only.
    const none = model.predict(record, undefined);
    expect(Number.isFinite(none.probability)).toBe(true);
    const older = model.predict({ ...record, age: record.age + 20 }, undefined);
    expect(older.probability).toBeGreaterThan(none.probability);
    const restored = ClinicalFusionModel.fromJSON(JSON.parse(JSON.stringify(model.toJSON())));
    for (const s of sets.test.samples.slice(0, 20)) expect(restored.predict(s.record, s.imageProbability)).toEqual(model.predict(s.record, s.imageProbability));
    expect(() => ClinicalFusionModel.fromJSON({ kind: 'nope' } as never)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => model.predict(record, 1.5)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });
});
