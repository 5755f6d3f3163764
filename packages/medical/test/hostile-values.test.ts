import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { initRuntime } from '@lepton/core';
import {
  applyModalityLut,
  clinicalCsv,
  diagnosisToDicomSr,
  generateCtDataset,
  LesionSegmenter,
  readDicomFile,
  segmentationToDicomSeg,
  syntheticClinicalRecords,
  uidFor,
  writeCtSeries,
  applyVoi,
  buildVolume,
  ClinicalFusionModel,
  ctPhantom,
  deidentifyDicomFolder,
  DiagnosisModel,
  dicomJsonNumber,
  dicomJsonString,
  dicomJsonStrings,
  DicomDeidentifier,
  DicomWebClient,
  encodeClinical,
  extractPlane,
  fitClinicalEncoding,
  groupSeries,
  parseClinicalCsv,
  preprocessImage,
  preprocessStack,
  readDicomFolder,
  windowedFrame,
  readDicom,
  renderFrame,
  resampleVolume,
  resizeBilinear,
  resolveVoi,
  resolveWindow,
  Volume,
  voiWindowValue,
  windowPreset,
} from '@lepton/medical';
import type { ClinicalRecord, DecodedFrame, DicomImage, DicomMetadata, LabelledImage } from '@lepton/medical';
import { expectRejected, HOSTILE, outcome } from '../../../tests/support/hostile.js';

// Every position below is validated; a hostile value there must be refused with a LeptonError, never a TypeError from
// building the message (`${value}` / String(value)) or from using the value as a key.

const volumeInit = {
  data: new Float32Array(8),
  dimensions: [2, 2, 2] as const,
  spacing: [1, 1, 1] as const,
  origin: [0, 0, 0] as const,
  direction: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] as const,
};

describe('medical entry points with hostile values: a LeptonError, never a TypeError', () => {
  it('windows and VOI: windowPreset, resolveWindow, voiWindowValue, resolveVoi file indices', async () => {
    await expectRejected('windowPreset(name)', (v) => windowPreset(v as string), 'INVALID_ARGUMENT');
    await expectRejected('resolveWindow(preset)', (v) => resolveWindow(v as 'lung'), 'INVALID_ARGUMENT');
    await expectRejected('resolveWindow({ width })', (v) => resolveWindow({ center: 0, width: v as number }), 'INVALID_ARGUMENT');
    await expectRejected('voiWindowValue(width)', (v) => voiWindowValue(0, { center: 0, width: v as number, function: 'LINEAR' }), 'INVALID_ARGUMENT');
    await expectRejected('voiWindowValue(function) with a bad width', (v) => voiWindowValue(0, { center: 0, width: 0, function: v as 'LINEAR' }), 'INVALID_ARGUMENT');
    const meta = { windows: [], voiLuts: [] } as never;
    await expectRejected('resolveVoi(fileWindow)', (v) => resolveVoi(meta, [0], { fileWindow: v as number }), 'INVALID_ARGUMENT');
    await expectRejected('resolveVoi(fileVoiLut)', (v) => resolveVoi(meta, [0], { fileVoiLut: v as number }), 'INVALID_ARGUMENT');
  });

  it('volumes: Volume, resampleVolume, extractPlane, buildVolume tolerances; the synthetic phantom', async () => {
    await expectRejected('new Volume(dimensions[0])', (v) => new Volume({ ...volumeInit, dimensions: [v as number, 2, 2] }), 'INVALID_ARGUMENT');
    await expectRejected('new Volume(spacing[0])', (v) => new Volume({ ...volumeInit, spacing: [v as number, 1, 1] }), 'INVALID_ARGUMENT');
    const volume = new Volume(volumeInit);
    await expectRejected('resampleVolume(spacing)', (v) => resampleVolume(volume, v as number), 'INVALID_ARGUMENT');
    await expectRejected('resampleVolume(spacing[0])', (v) => resampleVolume(volume, [v as number, 1, 1]), 'INVALID_ARGUMENT');
    await expectRejected('extractPlane(orientation)', (v) => extractPlane(volume, v as 'axial'), 'INVALID_ARGUMENT');
    await expectRejected('extractPlane(index)', (v) => extractPlane(volume, 'axial', v as number), 'INVALID_ARGUMENT');
    await expectRejected('buildVolume(positionTolerance)', (v) => buildVolume([], { positionTolerance: v as number }), 'INVALID_ARGUMENT');
    await expectRejected('ctPhantom(size)', (v) => ctPhantom({ size: v as number, seed: 1 }), 'INVALID_ARGUMENT');
    await expectRejected('ctPhantom(slices)', (v) => ctPhantom({ size: 16, slices: v as number, seed: 1 }), 'INVALID_ARGUMENT');
  });

  it('DICOMweb client options and QIDO query values (refused before any request)', async () => {
    // Port 9 (discard) is closed on loopback: a request that got through would fail as DICOMWEB_UNREACHABLE instead.
    const url = 'http://127.0.0.1:9/dicom-web';
    for (const key of ['timeoutMs', 'concurrency', 'maxStoreRequestBytes', 'maxResponseBytes']) {
      await expectRejected(`new DicomWebClient(${key})`, (v) => new DicomWebClient({ url, [key]: v }), 'DICOMWEB_INVALID_OPTIONS');
    }
    await expectRejected('new DicomWebClient(transferSyntax)', (v) => new DicomWebClient({ url, transferSyntax: v as string }), 'DICOMWEB_INVALID_OPTIONS');
    const client = new DicomWebClient({ url, timeoutMs: 500 });
    await expectRejected('searchStudies(query value)', (v) => client.searchStudies({ PatientID: v as string }), 'DICOMWEB_INVALID_OPTIONS', HOSTILE);
    await expectRejected('searchStudies(query list value)', (v) => client.searchStudies({ ModalitiesInStudy: [v as string, 'CT'] }), 'DICOMWEB_INVALID_OPTIONS', HOSTILE);
  });

  it('de-identification overrides; diagnosis and clinical-fusion options and labels (refused before training)', async () => {
    await expectRejected('new DicomDeidentifier(overrides action)', (v) => new DicomDeidentifier({ overrides: { '00100010': v as 'X' } }), 'INVALID_ARGUMENT');
    const labels = ['normal', 'nodule'];
    for (const key of ['size', 'slices', 'sliceSpacingMm', 'fit', 'resample', 'window']) {
      await expectRejected(`DiagnosisModel.train(${key})`, (v) => DiagnosisModel.train([], { labels, [key]: v }), 'INVALID_ARGUMENT');
    }
    await expectRejected('DiagnosisModel.train(data[0].label)', (v) => DiagnosisModel.train([{ image: { source: 'a.dcm' }, label: v } as never], { labels }), 'INVALID_INPUT');
    // labels are options: each one is checked (INVALID_ARGUMENT) before any record is read
    await expectRejected('DiagnosisModel.train(labels[1])', (v) => DiagnosisModel.train([{ image: { source: 'a.dcm' }, label: 'x' } as never], { labels: ['normal', v as string] }), 'INVALID_ARGUMENT', HOSTILE);
    const sample = { record: { patientId: 'p', age: 50, sex: 'F', history: {} }, outcome: 1, imageProbability: 0.5 } as never;
    await expectRejected('ClinicalFusionModel.fit(threshold)', (v) => ClinicalFusionModel.fit([sample], [sample], { threshold: v as number }), 'INVALID_ARGUMENT');
  });
  it('messages describe the hostile value without running its code', () => {
    expect(() => windowPreset(Symbol('pre') as unknown as string)).toThrow(/Symbol\(pre\)/);
    expect(() => windowPreset({ toString: () => 'lung' } as unknown as string)).toThrow(/\(object\)/); // its toString is never called
  });
});

// Numbers a JavaScript caller or a JSON peer can send where a finite number is due: each used to come back as NaN or
// Infinity, or to be coerced ('1' as 1), with no error.
const NOT_FINITE: ReadonlyArray<readonly [string, unknown]> = [
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ["'1'", '1'],
  ['null', null],
  ['{}', {}],
];
const NOT_OBJECT: ReadonlyArray<readonly [string, unknown]> = [
  ['null', null],
  ['42', 42],
  ...HOSTILE.filter(([name]) => name === 'Symbol()' || name === 'BigInt'),
];
const fixture = (path: string): string => fileURLToPath(new URL(`fixtures/${path}`, import.meta.url));

describe('medical entry points, second sweep: every position checked, nothing NaN or coerced', () => {
  const meta = { windows: [], voiLuts: [] } as unknown as DicomMetadata;
  const window = { center: 40, width: 400, function: 'LINEAR' } as const;
  const frame = { pixels: new Int16Array(4), rows: 2, columns: 2, samplesPerPixel: 1, bitsStored: 16, photometricInterpretation: 'MONOCHROME2' } as unknown as DecodedFrame;

  it('VOI: the value, centre and width of a window, the choice, the metadata, the transform and its values', async () => {
    for (const values of [HOSTILE, NOT_FINITE]) {
      await expectRejected('voiWindowValue(x)', (v) => voiWindowValue(v as number, window), 'INVALID_ARGUMENT', values.filter(([n]) => n !== 'Infinity'));
      await expectRejected('voiWindowValue(center)', (v) => voiWindowValue(0, { ...window, center: v as number }), 'INVALID_ARGUMENT', values);
      await expectRejected('resolveVoi({ center })', (v) => resolveVoi(meta, [0], { center: v as number, width: 10 }), 'INVALID_ARGUMENT', values);
      await expectRejected('applyVoi(values[0])', (v) => applyVoi([v as number, 1], { kind: 'window', window }), 'INVALID_INPUT', values.filter(([n]) => n !== 'Infinity'));
      await expectRejected('applyVoi(window.center)', (v) => applyVoi([1], { kind: 'window', window: { ...window, center: v as number } }), 'INVALID_ARGUMENT', values);
    }
    await expectRejected('voiWindowValue(width) Infinity', (v) => voiWindowValue(0, { ...window, width: v as number }), 'INVALID_ARGUMENT', [['Infinity', Number.POSITIVE_INFINITY]]);
    await expectRejected('voiWindowValue(window)', (v) => voiWindowValue(0, v as typeof window), 'INVALID_ARGUMENT', NOT_OBJECT);
    await expectRejected('voiWindowValue(function) with a good width', (v) => voiWindowValue(0, { ...window, function: v as 'LINEAR' }), 'INVALID_ARGUMENT');
    await expectRejected('resolveVoi(choice)', (v) => resolveVoi(meta, [0], v as 'lung'), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_OBJECT, ['NaN', Number.NaN]]);
    await expectRejected('resolveVoi({})', (v) => resolveVoi(meta, [0], v as 'lung'), 'INVALID_ARGUMENT', [['{}', {}], ['[]', []]]);
    await expectRejected('resolveVoi(meta)', (v) => resolveVoi(v as DicomMetadata, [0]), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_OBJECT, ['{}', {}]]);
    await expectRejected('resolveVoi(values) minmax', (v) => resolveVoi(meta, v as number[], 'minmax'), 'INVALID_ARGUMENT', [...NOT_OBJECT, ['undefined', undefined]]);
    await expectRejected('applyVoi(values)', (v) => applyVoi(v as number[], { kind: 'window', window }), 'INVALID_ARGUMENT', [...NOT_OBJECT, ['undefined', undefined]]);
    await expectRejected('applyVoi(voi)', (v) => applyVoi([1], v as never), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_OBJECT, ['{}', {}]]);
    await expectRejected('applyVoi(lut)', (v) => applyVoi([1], { kind: 'lut', lut: v as never }), 'INVALID_ARGUMENT', [...NOT_OBJECT, ['{}', {}], ['bits NaN', { bits: Number.NaN, firstMapped: 0, data: new Uint16Array(2) }]]);
    await expectRejected('applyVoi(invert)', (v) => applyVoi([1], { kind: 'window', window }, v as boolean), 'INVALID_ARGUMENT', [...HOSTILE, ["'1'", '1'], ['1', 1]]);
    // only the finite values span a minmax window: an Infinity no longer makes its centre and width infinite
    const minmax = resolveVoi(meta, [Number.POSITIVE_INFINITY, -10, 30, Number.NaN], 'minmax');
    expect(minmax).toMatchObject({ kind: 'window', window: { center: 10, width: 40 } });
  });

  it('modality LUT and rendering: the frame, the metadata, the output buffer and the options', async () => {
    await expectRejected('applyModalityLut(frame)', (v) => applyModalityLut(v as DecodedFrame, meta), 'INVALID_ARGUMENT', [...NOT_OBJECT, ['undefined', undefined], ['{}', {}], ['float pixels', { ...frame, pixels: new Float32Array(4) }]]);
    await expectRejected('applyModalityLut(meta)', (v) => applyModalityLut(frame, v as DicomMetadata), 'INVALID_ARGUMENT', [['null', null], ['undefined', undefined]]);
    await expectRejected('applyModalityLut(rescale.slope)', (v) => applyModalityLut(frame, { ...meta, rescale: { slope: v as number, intercept: 0 } }), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_FINITE.filter(([n]) => n !== 'null')]);
    await expectRejected('applyModalityLut(out)', (v) => applyModalityLut(frame, meta, v as Float32Array), 'INVALID_ARGUMENT', [['null', null], ['[0, 0, 0, 0]', [0, 0, 0, 0]]]);
    await expectRejected('renderFrame(options)', (v) => renderFrame(frame, meta, v as never), 'INVALID_ARGUMENT', [['null', null], ...HOSTILE.filter(([n]) => n === 'Symbol()')]);
    await expectRejected('renderFrame({ voi })', (v) => renderFrame(frame, meta, { voi: v as 'lung' }), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_OBJECT]);
    await expectRejected('renderFrame(frame)', (v) => renderFrame(v as DecodedFrame, meta), 'INVALID_ARGUMENT', [['null', null], ['undefined', undefined]]);
    await expectRejected('renderFrame(meta)', (v) => renderFrame(frame, v as DicomMetadata), 'INVALID_ARGUMENT', [...NOT_OBJECT, ['{}', {}]]);
  });

  it('preprocessing: resolveWindow centre and width, resizeBilinear source, sizes and values', async () => {
    for (const values of [HOSTILE, NOT_FINITE]) {
      await expectRejected('resolveWindow({ center })', (v) => resolveWindow({ center: v as number, width: 100 }), 'INVALID_ARGUMENT', values);
      await expectRejected('resizeBilinear(rows)', (v) => resizeBilinear([1, 2, 3, 4], v as number, 2, [3, 3]), 'INVALID_ARGUMENT', values);
      await expectRejected('resizeBilinear(size[0])', (v) => resizeBilinear([1, 2, 3, 4], 2, 2, [v as number, 3]), 'INVALID_ARGUMENT', values);
      await expectRejected('resizeBilinear(src[0])', (v) => resizeBilinear([v as number, 2, 3, 4], 2, 2, [3, 3]), 'INVALID_INPUT', values);
    }
    await expectRejected('resolveWindow({ width }) Infinity', (v) => resolveWindow({ center: 0, width: v as number }), 'INVALID_ARGUMENT', [['Infinity', Number.POSITIVE_INFINITY]]);
    await expectRejected('resizeBilinear(src)', (v) => resizeBilinear(v as number[], 2, 2, [3, 3]), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_OBJECT, ['3 values', [1, 2, 3]]]);
    await expectRejected('resizeBilinear(size)', (v) => resizeBilinear([1, 2, 3, 4], 2, 2, v as [number, number]), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_OBJECT, ['[]', []], ["'1'", '1']]);
    await expectRejected('resizeBilinear(rows) -1 and 1.5', (v) => resizeBilinear([1, 2, 3, 4], v as number, 2, [3, 3]), 'INVALID_ARGUMENT', [['-1', -1], ['1.5', 1.5]]);
  });

  it('volumes: every part of a VolumeInit, points, the volume and options of resampling, planes and builds', async () => {
    for (const values of [HOSTILE, NOT_FINITE]) {
      await expectRejected('new Volume(origin[0])', (v) => new Volume({ ...volumeInit, origin: [v as number, 0, 0] }), 'INVALID_ARGUMENT', values);
      await expectRejected('new Volume(direction[0][0])', (v) => new Volume({ ...volumeInit, direction: [[v as number, 0, 0], [0, 1, 0], [0, 0, 1]] }), 'INVALID_ARGUMENT', values);
      await expectRejected('new Volume(data[0]) (a Float32Array is needed)', (v) => new Volume({ ...volumeInit, data: [v, 0, 0, 0, 0, 0, 0, 0] as unknown as Float32Array }), 'INVALID_ARGUMENT', values);
    }
    await expectRejected('new Volume(init)', (v) => new Volume(v as typeof volumeInit), 'INVALID_ARGUMENT', [...NOT_OBJECT, ['undefined', undefined], ['{}', {}]]);
    for (const key of ['data', 'dimensions', 'spacing', 'origin', 'direction']) {
      await expectRejected(`new Volume(${key})`, (v) => new Volume({ ...volumeInit, [key]: v }), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_OBJECT, ['undefined', undefined], ['{}', {}]]);
    }
    await expectRejected('new Volume(unit)', (v) => new Volume({ ...volumeInit, unit: v as string }), 'INVALID_ARGUMENT', HOSTILE.filter(([n]) => n !== '10 MB string'));
    const volume = new Volume(volumeInit);
    for (const values of [HOSTILE, NOT_FINITE]) {
      await expectRejected('volume.voxelToPatient([x])', (v) => volume.voxelToPatient([v as number, 0, 0]), 'INVALID_ARGUMENT', values);
      await expectRejected('volume.patientToVoxel([x])', (v) => volume.patientToVoxel([v as number, 0, 0]), 'INVALID_ARGUMENT', values);
      await expectRejected('volume.sample([i])', (v) => volume.sample([v as number, 0, 0], 0), 'INVALID_ARGUMENT', values);
    }
    await expectRejected('volume.voxelToPatient(point)', (v) => volume.voxelToPatient(v as [number, number, number]), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_OBJECT, ['[]', []]]);
    await expectRejected('volume.sample(outside)', (v) => volume.sample([9, 0, 0], v as number), 'INVALID_ARGUMENT', [...HOSTILE, ["'1'", '1'], ['null', null]]);
    await expectRejected('resampleVolume(volume)', (v) => resampleVolume(v as Volume, 1), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_OBJECT, ['{}', {}]]);
    await expectRejected('resampleVolume(options)', (v) => resampleVolume(volume, 1, v as never), 'INVALID_ARGUMENT', NOT_OBJECT);
    await expectRejected('resampleVolume({ outside })', (v) => resampleVolume(volume, 1, { outside: v as number }), 'INVALID_ARGUMENT', [...HOSTILE, ["'1'", '1'], ['{}', {}]]);
    await expectRejected('extractPlane(volume)', (v) => extractPlane(v as Volume, 'axial'), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_OBJECT, ['{}', {}]]);
    await expectRejected('buildVolume(series)', (v) => buildVolume(v as never), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_OBJECT, ['undefined', undefined], ['{}', {}]]);
    await expectRejected('buildVolume([image])', (v) => buildVolume([v] as never), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_OBJECT, ['{}', {}]]);
    await expectRejected('buildVolume(options)', (v) => buildVolume([], v as never), 'INVALID_ARGUMENT', NOT_OBJECT);
    await expectRejected('groupSeries(images)', (v) => groupSeries(v as never), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_OBJECT, ['undefined', undefined], ['{}', {}]]);
    await expectRejected('groupSeries([image])', (v) => groupSeries([v] as never), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_OBJECT, ['{}', {}]]);
  });

  it('de-identification: the secret (never an empty key), replacements, method, options, UIDs, folder arguments', async () => {
    // Uint8Array.from(12n), of a number or of {} is an empty HMAC key: every pseudonym and UID made guessable
    await expectRejected('new DicomDeidentifier({ secret })', (v) => new DicomDeidentifier({ secret: v as string }), 'INVALID_ARGUMENT', [...HOSTILE.filter(([n]) => n !== '10 MB string'), ...NOT_OBJECT, ['12345', 12345], ['{}', {}], ['[1, 2]', [1, 2]]]);
    for (const key of ['patientId', 'patientName']) {
      await expectRejected(`new DicomDeidentifier({ ${key} })`, (v) => new DicomDeidentifier({ [key]: v }), 'INVALID_ARGUMENT', [...HOSTILE.filter(([n]) => n !== '10 MB string'), ['42', 42], ['{}', {}], ['null', null]]);
    }
    await expectRejected('new DicomDeidentifier({ methodDescription })', (v) => new DicomDeidentifier({ methodDescription: v as string }), 'INVALID_ARGUMENT', [...HOSTILE, ['42', 42], ['{}', {}], ['null', null]]);
    await expectRejected('new DicomDeidentifier({ overrides })', (v) => new DicomDeidentifier({ overrides: v as never }), 'INVALID_ARGUMENT', [...NOT_OBJECT, ["'X'", 'X']]);
    await expectRejected('new DicomDeidentifier(options)', (v) => new DicomDeidentifier(v as never), 'INVALID_ARGUMENT', NOT_OBJECT);
    const deid = new DicomDeidentifier({ secret: 'test' });
    await expectRejected('deid.mapUid(uid)', (v) => deid.mapUid(v as string), 'INVALID_ARGUMENT', [...HOSTILE.filter(([n]) => n !== '10 MB string'), ...NOT_OBJECT, ['undefined', undefined]]);
    const bytes = new Uint8Array(readFileSync(fixture('dicom/ct_s16.dcm')));
    await expectRejected('deid.deidentify(bytes, options)', (v) => deid.deidentify(bytes, v as never), 'INVALID_ARGUMENT', NOT_OBJECT);
    // a replacement function that returns a number or a Symbol: refused, and the message names neither value
    for (const key of ['patientId', 'patientName']) {
      await expectRejected(`deidentify with ${key}() returning a non-string`, (v) => new DicomDeidentifier({ [key]: () => v }).deidentify(bytes), 'INVALID_ARGUMENT', [...HOSTILE.filter(([n]) => n !== '10 MB string'), ['42', 42], ['undefined', undefined]]);
    }
    const out = mkdtempSync(join(tmpdir(), 'lepton-hostile-'));
    try {
      const study = fixture('deid/study');
      await expectRejected('deidentifyDicomFolder(inputDir)', (v) => deidentifyDicomFolder(v as string, out), 'INVALID_ARGUMENT', [...HOSTILE.filter(([n]) => n !== '10 MB string'), ...NOT_OBJECT, ['undefined', undefined]]);
      await expectRejected('deidentifyDicomFolder(outputDir)', (v) => deidentifyDicomFolder(study, v as string), 'INVALID_ARGUMENT', [...HOSTILE.filter(([n]) => n !== '10 MB string'), ...NOT_OBJECT, ['undefined', undefined]]);
      await expectRejected('deidentifyDicomFolder(options)', (v) => deidentifyDicomFolder(study, out, {}, v as never), 'INVALID_ARGUMENT', NOT_OBJECT);
      for (const key of ['filter', 'onFailure', 'recursive']) {
        await expectRejected(`deidentifyDicomFolder({ ${key} })`, (v) => deidentifyDicomFolder(study, out, {}, { [key]: v }), 'INVALID_ARGUMENT', [...HOSTILE.filter(([n]) => n !== '10 MB string'), ['null', null], ["'1'", '1']]);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
    expect(() => new DicomDeidentifier({ patientId: () => 123456 as unknown as string }).deidentify(bytes)).toThrow(/must return a string, got a value of type number\.$/);
  });

  it('clinical encoding: records (no value quoted), history names, the encoding; parseClinicalCsv options', async () => {
    const records: ClinicalRecord[] = [
      { patientId: 'a', age: 40, sex: 'F', history: { smoker: true } },
      { patientId: 'b', age: 60, sex: 'M', history: { smoker: false } },
    ];
    for (const values of [HOSTILE, NOT_FINITE]) {
      await expectRejected('fitClinicalEncoding(records[0].age)', (v) => fitClinicalEncoding([{ ...records[0]!, age: v as number }, records[1]!]), 'INVALID_INPUT', values);
      await expectRejected('encodeClinical(record.age)', (v) => encodeClinical({ ...records[0]!, age: v as number }, fitClinicalEncoding(records)), 'INVALID_INPUT', values);
    }
    await expectRejected('fitClinicalEncoding(records)', (v) => fitClinicalEncoding(v as ClinicalRecord[]), 'INVALID_INPUT', [...HOSTILE, ...NOT_OBJECT, ['undefined', undefined], ['{}', {}]]);
    await expectRejected('fitClinicalEncoding([record])', (v) => fitClinicalEncoding([v as ClinicalRecord]), 'INVALID_INPUT', [...HOSTILE, ...NOT_OBJECT, ['{}', {}]]);
    await expectRejected('fitClinicalEncoding(records, history)', (v) => fitClinicalEncoding(records, v as string[]), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_OBJECT, ['[1]', [1]]]);
    await expectRejected('encodeClinical(record)', (v) => encodeClinical(v as ClinicalRecord, fitClinicalEncoding(records)), 'INVALID_INPUT', [...HOSTILE, ...NOT_OBJECT, ['undefined', undefined]]);
    await expectRejected('encodeClinical(record.history)', (v) => encodeClinical({ ...records[0]!, history: v as never }, fitClinicalEncoding(records)), 'INVALID_INPUT', [...NOT_OBJECT, ['[true]', [true]], ["{ toString: '' }", { toString: '' }], ["{ smoker: 'yes' }", { smoker: 'yes' }], ['{ smoker: 1 }', { smoker: 1 }]]);
    await expectRejected('encodeClinical(encoding)', (v) => encodeClinical(records[0]!, v as never), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_OBJECT, ['{}', {}], ['ageStd 0', { ageMean: 0, ageStd: 0, history: [], features: [] }]]);
    await expectRejected('parseClinicalCsv(text, options)', (v) => parseClinicalCsv('patient_id,age,sex\np,40,F\n', v as never), 'INVALID_ARGUMENT', NOT_OBJECT);
    // the message names the record's position, never its value (patient data)
    expect(() => fitClinicalEncoding([{ ...records[0]!, age: 12345.678 }])).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', message: expect.not.stringContaining('12345') as string }));
  });

  it('DICOM JSON helpers and DICOMweb scopes, references and request options (refused before any request)', async () => {
    const ds = { '00100010': { vr: 'PN', Value: [{ Alphabetic: 'A^B' }] } };
    await expectRejected('dicomJsonString(ds, tag)', (v) => dicomJsonString(ds, v as string), 'INVALID_ARGUMENT', [...HOSTILE.filter(([n]) => n !== '10 MB string'), ...NOT_OBJECT, ['undefined', undefined]]);
    await expectRejected('dicomJsonNumber(ds)', (v) => dicomJsonNumber(v as never, '00280010'), 'INVALID_INPUT', [['null', null], ['undefined', undefined]]);
    const client = new DicomWebClient({ url: 'http://127.0.0.1:9/dicom-web', timeoutMs: 500 });
    const ref = { studyInstanceUid: '1.2', seriesInstanceUid: '1.3', sopInstanceUid: '1.4' };
    await expectRejected('searchStudies(query)', (v) => client.searchStudies(v as never), 'DICOMWEB_INVALID_OPTIONS', NOT_OBJECT);
    await expectRejected('searchStudies(query, options)', (v) => client.searchStudies({}, v as never), 'DICOMWEB_INVALID_OPTIONS', NOT_OBJECT);
    await expectRejected('searchStudies(query, { signal })', (v) => client.searchStudies({}, { signal: v as AbortSignal }), 'DICOMWEB_INVALID_OPTIONS', [...HOSTILE, ['{}', {}], ['null', null]]);
    await expectRejected('searchSeries(scope)', (v) => client.searchSeries(v as never), 'DICOMWEB_INVALID_OPTIONS', NOT_OBJECT);
    await expectRejected('searchInstances(scope)', (v) => client.searchInstances(v as never), 'DICOMWEB_INVALID_OPTIONS', NOT_OBJECT);
    await expectRejected('retrieveMetadata(ref)', (v) => client.retrieveMetadata(v as never), 'DICOMWEB_INVALID_OPTIONS', [...NOT_OBJECT, ['undefined', undefined]]);
    await expectRejected('retrieveInstance(ref)', (v) => client.retrieveInstance(v as never), 'DICOMWEB_INVALID_OPTIONS', [...NOT_OBJECT, ['undefined', undefined]]);
    await expectRejected('retrieveInstance(ref.studyInstanceUid)', (v) => client.retrieveInstance({ ...ref, studyInstanceUid: v as string }), 'DICOMWEB_INVALID_OPTIONS', [...HOSTILE, ['null', null]]);
    await expectRejected('retrieveSeries(ref)', (v) => client.retrieveSeries(v as never), 'DICOMWEB_INVALID_OPTIONS', NOT_OBJECT);
    await expectRejected('retrieveStudy(ref, options)', (v) => client.retrieveStudy(ref, v as never), 'DICOMWEB_INVALID_OPTIONS', NOT_OBJECT);
    await expectRejected('retrieveInstances(refs)', (v) => client.retrieveInstances(v as never), 'DICOMWEB_INVALID_OPTIONS', [...NOT_OBJECT, ['undefined', undefined], ['{}', {}]]);
    // a null among the references is one counted failure; the others are still tried
    const { images, failures } = await client.retrieveInstances([null, Symbol('x')] as never).catch((err: unknown) => {
      expect.soft(String(err), 'retrieveInstances([null, Symbol()]) threw instead of counting two failures').toBe('');
      return { images: [], failures: [] };
    });
    expect(images).toEqual([]);
    expect.soft(failures.map((f) => f.error.code)).toEqual(['DICOMWEB_INVALID_OPTIONS', 'DICOMWEB_INVALID_OPTIONS']);
    // what a peer's JSON holds is read as absent, one bad attribute never stops the rest
    expect.soft(() => dicomJsonStrings({ '00100010': { vr: 'PN', Value: 'A^B' as never } }, '00100010')).not.toThrow();
    expect(dicomJsonStrings({ '00100010': { vr: 'PN', Value: 'A^B' as never } }, '00100010')).toEqual([]);
    expect(dicomJsonStrings({ '00100010': { vr: 'PN', Value: [{ Alphabetic: Symbol('x') }, { Alphabetic: 'A^B' }] } }, '00100010')).toEqual(['A^B']);
  });

  it('a real image still renders, de-identifies and windows as before', async () => {
    const image = readDicom(readFileSync(fixture('dicom/ct_s16.dcm')));
    const lung = renderFrame(await image.decodeFrame(0), image.meta, { voi: 'lung' });
    expect(lung.length).toBe(48 * 64);
    expect(resizeBilinear(new Float32Array([0, 1, 2, 3]), 2, 2, [2, 2])).toEqual(new Float32Array([0, 1, 2, 3]));
    expect(new DicomDeidentifier({ secret: new Uint8Array([1, 2, 3]) }).mapUid('1.2.3')).toMatch(/^2\.25\.\d+$/);
  });
});


// Third sweep: training options and data of the models, their predict/explain inputs, the SEG/SR writers' options,
// DicomWebClient.store, Volume.index/at and the synthetic helpers. Each used to throw a TypeError, or to go on with a
// silently coerced value (a NaN seed, a '1' heatmap, a Symbol outcome counted as positive).
const WRONG_NUMBER: ReadonlyArray<readonly [string, unknown]> = [...HOSTILE, ...NOT_FINITE.filter(([n]) => n !== 'null'), ['[]', []]];
const WRONG_BOOLEAN: ReadonlyArray<readonly [string, unknown]> = [...HOSTILE, ["'1'", '1'], ['1', 1], ['null', null], ["'false'", 'false']];

describe('medical entry points, third sweep: models, result writers, store, volumes, synthetic helpers', () => {
  const labels = ['normal', 'nodule'];

  it('DiagnosisModel.train: every option and the data checked before any training', async () => {
    for (const key of ['name', 'version', 'filters']) {
      await expectRejected(`DiagnosisModel.train(${key})`, (v) => DiagnosisModel.train([], { labels, [key]: v }), 'INVALID_ARGUMENT', [...HOSTILE.filter(([n]) => n !== '10 MB string'), ...NOT_OBJECT, ['{}', {}]]);
    }
    await expectRejected('DiagnosisModel.train(filters[0])', (v) => DiagnosisModel.train([], { labels, filters: [v as number, 2] }), 'INVALID_ARGUMENT', [...WRONG_NUMBER, ['0', 0], ['1.5', 1.5]]);
    await expectRejected('DiagnosisModel.train(flipAugment)', (v) => DiagnosisModel.train([], { labels, flipAugment: v as boolean }), 'INVALID_ARGUMENT', WRONG_BOOLEAN);
    for (const key of ['validationFraction', 'targetSensitivity', 'epochs', 'seed']) {
      await expectRejected(`DiagnosisModel.train(${key})`, (v) => DiagnosisModel.train([], { labels, [key]: v }), 'INVALID_ARGUMENT', [...WRONG_NUMBER, ['null', null]]);
    }
    await expectRejected('DiagnosisModel.train(validationFraction) out of range', (v) => DiagnosisModel.train([], { labels, validationFraction: v as number }), 'INVALID_ARGUMENT', [['-1', -1], ['1', 1], ['1.5', 1.5]]);
    await expectRejected('DiagnosisModel.train(epochs) -1 and 1.5', (v) => DiagnosisModel.train([], { labels, epochs: v as number }), 'INVALID_ARGUMENT', [['-1', -1], ['1.5', 1.5], ['0', 0]]);
    // numeric labels used to train and save a model that load() then refused
    await expectRejected('DiagnosisModel.train(labels)', (v) => DiagnosisModel.train([], { labels: v as string[] }), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_OBJECT, ['{}', {}], ['[0, 1]', [0, 1]], ["['a', 'a']", ['a', 'a']], ["['a', '']", ['a', '']]]);
    await expectRejected('DiagnosisModel.train(options)', (v) => DiagnosisModel.train([], v as never), 'INVALID_ARGUMENT', [...NOT_OBJECT, ['undefined', undefined]]);
    await expectRejected('DiagnosisModel.train(data)', (v) => DiagnosisModel.train(v as never, { labels }), 'INVALID_INPUT', [...HOSTILE, ...NOT_OBJECT, ['{}', {}], ["'1'", '1']]);
    await expectRejected('DiagnosisModel.train([record])', (v) => DiagnosisModel.train([v] as never, { labels }), 'INVALID_INPUT', [...HOSTILE.filter(([n]) => n !== '10 MB string'), ['null', null], ['42', 42]]);
    await expectRejected('DiagnosisModel.train([{ image }])', (v) => DiagnosisModel.train([{ image: v, label: 'normal' }] as never, { labels }), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_OBJECT, ['{}', {}]]);
  });

  it('LesionSegmenter.fit options and samples; ctPhantom options; uidFor; synthetic clinical records and CSV', async () => {
    for (const key of ['size', 'depth', 'baseFilters', 'epochs', 'seed']) {
      await expectRejected(`LesionSegmenter.fit(${key})`, (v) => LesionSegmenter.fit([], { [key]: v }), 'INVALID_ARGUMENT', [...WRONG_NUMBER, ['null', null]]);
    }
    await expectRejected('LesionSegmenter.fit(size) not divisible by 2^depth', (v) => LesionSegmenter.fit([], { size: v as number }), 'INVALID_ARGUMENT', [['33', 33], ['1.5', 1.5], ['-1', -1]]);
    for (const key of ['name', 'version']) {
      await expectRejected(`LesionSegmenter.fit(${key})`, (v) => LesionSegmenter.fit([], { [key]: v }), 'INVALID_ARGUMENT', [...HOSTILE.filter(([n]) => n !== '10 MB string'), ...NOT_OBJECT]);
    }
    await expectRejected('LesionSegmenter.fit(options)', (v) => LesionSegmenter.fit([], v as never), 'INVALID_ARGUMENT', NOT_OBJECT);
    await expectRejected('LesionSegmenter.fit(samples)', (v) => LesionSegmenter.fit(v as never), 'INVALID_INPUT', [...HOSTILE, ...NOT_OBJECT, ['{}', {}]]);
    await expectRejected('LesionSegmenter.fit([sample])', (v) => LesionSegmenter.fit([v] as never), 'INVALID_INPUT', [...NOT_OBJECT, ["'x'", 'x']]);
    await expectRejected('LesionSegmenter.fit([{ image }])', (v) => LesionSegmenter.fit([{ image: v, mask: [1] }] as never), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_OBJECT, ['{}', {}]]);
    const image = readDicom(readFileSync(fixture('dicom/ct_s16.dcm')));
    const pixels = image.meta.rows * image.meta.columns;
    await expectRejected('LesionSegmenter.fit(mask)', (v) => LesionSegmenter.fit([{ image, mask: v as number[] }]), 'INVALID_INPUT', [...HOSTILE, ...NOT_OBJECT, ['{}', {}], ['too short', [1]]]);
    await expectRejected('LesionSegmenter.fit(mask[0])', (v) => LesionSegmenter.fit([{ image, mask: Array.from({ length: pixels }, (_, i) => (i === 0 ? v : 1)) as number[] }]), 'INVALID_INPUT', [...HOSTILE.filter(([n]) => n !== '10 MB string'), ...NOT_FINITE]);

    await expectRejected('ctPhantom(options)', (v) => ctPhantom(v as never), 'INVALID_ARGUMENT', [...NOT_OBJECT, ['undefined', undefined]]);
    for (const key of ['seed', 'sliceThickness', 'fieldOfViewMm', 'noiseHu', 'lesion']) {
      await expectRejected(`ctPhantom(${key})`, (v) => ctPhantom({ seed: 1, size: 16, slices: 1, [key]: v }), 'INVALID_ARGUMENT', [...WRONG_NUMBER, ['null', null], ...(key === 'seed' ? [] : [['-1', -1] as const])]);
    }
    await expectRejected('ctPhantom(slices) 1.5 and huge', (v) => ctPhantom({ seed: 1, size: 16, slices: v as number }), 'INVALID_ARGUMENT', [['1.5', 1.5], ['1e9', 1e9]]);
    await expectRejected('ctPhantom(size) huge', (v) => ctPhantom({ seed: 1, size: v as number, slices: 1 }), 'INVALID_ARGUMENT', [['1e6', 1e6]]);
    await expectRejected('uidFor(name)', (v) => uidFor(v as string), 'INVALID_ARGUMENT', [...HOSTILE.filter(([n]) => n !== '10 MB string'), ...NOT_OBJECT, ['{}', {}], ['undefined', undefined]]);

    await expectRejected('syntheticClinicalRecords(patients)', (v) => syntheticClinicalRecords(v as never), 'INVALID_INPUT', [...HOSTILE, ...NOT_OBJECT, ['{}', {}]]);
    await expectRejected('syntheticClinicalRecords([patient])', (v) => syntheticClinicalRecords([v] as never), 'INVALID_INPUT', [...HOSTILE.filter(([n]) => n !== '10 MB string'), ...NOT_OBJECT, ['{}', {}]]);
    await expectRejected('syntheticClinicalRecords(hasLesion)', (v) => syntheticClinicalRecords([{ patientId: 'p', hasLesion: v as boolean }]), 'INVALID_INPUT', WRONG_BOOLEAN);
    await expectRejected('syntheticClinicalRecords(patientId)', (v) => syntheticClinicalRecords([{ patientId: v as string, hasLesion: true }]), 'INVALID_INPUT', [...HOSTILE.filter(([n]) => n !== '10 MB string'), ...NOT_OBJECT]);
    await expectRejected('syntheticClinicalRecords(seed)', (v) => syntheticClinicalRecords([], { seed: v as number }), 'INVALID_ARGUMENT', WRONG_NUMBER);
    const record: ClinicalRecord = { patientId: 'p', age: 40, sex: 'F', history: { smoker: true } };
    await expectRejected('clinicalCsv(records)', (v) => clinicalCsv(v as never), 'INVALID_INPUT', [...HOSTILE, ...NOT_OBJECT, ['{}', {}]]);
    await expectRejected('clinicalCsv([record])', (v) => clinicalCsv([v as ClinicalRecord]), 'INVALID_INPUT', [...HOSTILE.filter(([n]) => n !== '10 MB string'), ...NOT_OBJECT, ['{}', {}]]);
    await expectRejected('clinicalCsv(record.age)', (v) => clinicalCsv([{ ...record, age: v as number }]), 'INVALID_INPUT', [...WRONG_NUMBER, ['null', null]]);
    await expectRejected('clinicalCsv(record.patientId)', (v) => clinicalCsv([{ ...record, patientId: v as string }]), 'INVALID_INPUT', [...HOSTILE.filter(([n]) => n !== '10 MB string'), ...NOT_OBJECT]);
    await expectRejected('clinicalCsv(record.history flag)', (v) => clinicalCsv([{ ...record, history: { smoker: v as boolean } }]), 'INVALID_INPUT', WRONG_BOOLEAN);
    await expectRejected('clinicalCsv(history)', (v) => clinicalCsv([record], v as string[]), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_OBJECT, ['[1]', [1]], ["['a,b']", ['a,b']]]);
    expect(() => clinicalCsv([{ ...record, age: Number.NaN }])).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', message: expect.not.stringContaining('NaN') as string }));
    expect(clinicalCsv([record])).toBe('patient_id,age,sex,smoker\np,40,F,1\n'); // valid records: as before
  });

  it('Volume.index and Volume.at: integer indices only, never a NaN offset or a TypeError', async () => {
    const volume = new Volume(volumeInit);
    for (const position of [0, 1, 2]) {
      const args = (v: unknown): [number, number, number] => [0, 0, 0].map((x, p) => (p === position ? v : x)) as [number, number, number];
      await expectRejected(`volume.index(${position})`, (v) => volume.index(...args(v)), 'INVALID_ARGUMENT', [...WRONG_NUMBER, ['null', null], ['-1', -1], ['1.5', 1.5], ['2 (outside)', 2]]);
      await expectRejected(`volume.at(${position})`, (v) => volume.at(...args(v)), 'INVALID_ARGUMENT', [...HOSTILE, ['NaN', Number.NaN], ["'1'", '1'], ['null', null], ['{}', {}], ['1.5', 1.5]]);
    }
    expect(volume.index(1, 1, 1)).toBe(7);
    expect(volume.at(1, 1, 1)).toBe(0);
    expect(volume.at(-1, 0, 0)).toBeUndefined(); // outside the grid: undefined, as documented
    expect(volume.at(Number.POSITIVE_INFINITY, 0, 0)).toBeUndefined();
  });

  it('DICOM SEG and SR writer options; DicomWebClient.store options (refused before any request)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lepton-hostile-seg-'));
    try {
      const phantom = ctPhantom({ seed: 5, size: 16, slices: 2, lesion: 14 });
      const files = await writeCtSeries(phantom, { dir, patientId: 'HOSTILE1', fileNames: 'ordered' });
      const images: DicomImage[] = await Promise.all(files.map((f) => readDicomFile(f)));
      const slices = phantom.masks.map((mask, i) => ({ mask, rows: 16, columns: 16, pixels: mask.reduce((a, v) => a + v, 0), areaMm2: 1, source: files[i]! }));
      const algorithm = { name: 'a', version: '1' };
      await expectRejected('segmentationToDicomSeg({ omitEmptyFrames })', (v) => segmentationToDicomSeg(slices, images, { algorithm, omitEmptyFrames: v as boolean }), 'DICOM_RESULT_INVALID_INPUT', WRONG_BOOLEAN.filter(([n]) => n !== 'null'));
      const diagnosis = { label: 'nodule', probability: 0.8, probabilities: { normal: 0.2, nodule: 0.8 }, positive: true, threshold: 0.5, model: { name: 'm', version: '1' }, source: files[0]! };
      await expectRejected('diagnosisToDicomSr(options)', (v) => diagnosisToDicomSr(diagnosis, [images[0]!], v as never), 'DICOM_RESULT_INVALID_INPUT', NOT_OBJECT);
      await expectRejected('diagnosisToDicomSr({ segmentations })', (v) => diagnosisToDicomSr(diagnosis, [images[0]!], { segmentations: v as never }), 'DICOM_RESULT_INVALID_INPUT', [...HOSTILE, ...NOT_OBJECT, ['{}', {}]]);
      await expectRejected('diagnosisToDicomSr({ findingCodes })', (v) => diagnosisToDicomSr(diagnosis, [images[0]!], { findingCodes: v as never }), 'DICOM_RESULT_INVALID_INPUT', [...NOT_OBJECT, ["'nodule'", 'nodule'], ['[]', []]]);
      // a label named like an Object.prototype member is not "coded" by it
      const toStringLabel = { ...diagnosis, label: 'toString', probabilities: { normal: 0.2, toString: 0.8 } };
      expect(diagnosisToDicomSr(toStringLabel, [images[0]!], { findingCodes: {} }).bytes.length).toBeGreaterThan(0);
      const client = new DicomWebClient({ url: 'http://127.0.0.1:9/dicom-web', timeoutMs: 500 });
      const bytes = new Uint8Array(readFileSync(files[0]!));
      await expectRejected('store(instances, options)', (v) => client.store([bytes], v as never), 'DICOMWEB_INVALID_OPTIONS', [...NOT_OBJECT, ['[]', []]]);
      await expectRejected('store(instances, { signal })', (v) => client.store([bytes], { signal: v as AbortSignal }), 'DICOMWEB_INVALID_OPTIONS', [...HOSTILE, ['{}', {}], ['null', null]]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a tiny trained DiagnosisModel: predict, predictSeries, evaluate inputs; ClinicalFusionModel samples and predictImages', async () => {
    await initRuntime({ backend: 'wasm' }, {});
    const dir = await mkdtemp(join(tmpdir(), 'lepton-hostile-dx-'));
    try {
      const patients = await generateCtDataset(dir, { patients: 4, slices: 2, size: 16, seed: 3 });
      const data: LabelledImage[] = [];
      for (const p of patients) for (const f of p.files) data.push({ image: await readDicomFile(f), label: p.hasLesion ? 'nodule' : 'normal', patientId: p.patientId });
      const images = data.map((d) => d.image);
      const { model } = await DiagnosisModel.train(data, { labels, size: 32, epochs: 1, filters: [2, 2, 2], flipAugment: false });
      try {
        await expectRejected('model.predict(image)', (v) => model.predict(v as DicomImage), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_OBJECT, ['{}', {}]]);
        await expectRejected('model.predict(image, options)', (v) => model.predict(images[0]!, v as never), 'INVALID_ARGUMENT', NOT_OBJECT);
        // a truthy Symbol or '1' used to run Grad-CAM as if true was passed
        await expectRejected('model.predict(image, { heatmap })', (v) => model.predict(images[0]!, { heatmap: v as boolean }), 'INVALID_ARGUMENT', WRONG_BOOLEAN);
        await expectRejected('model.predictSeries(images)', (v) => model.predictSeries(v as never), 'INVALID_INPUT', [...HOSTILE, ...NOT_OBJECT, ['{}', {}]]);
        await expectRejected('model.predictSeries(images, options)', (v) => model.predictSeries(images, v as never), 'INVALID_ARGUMENT', NOT_OBJECT);
        await expectRejected('model.predictSeries(images, { heatmap })', (v) => model.predictSeries(images, { heatmap: v as boolean }), 'INVALID_ARGUMENT', WRONG_BOOLEAN);
        await expectRejected('model.evaluate(data)', (v) => model.evaluate(v as never), 'INVALID_INPUT', [...HOSTILE, ...NOT_OBJECT, ['{}', {}]]);
        await expectRejected('model.evaluate([record])', (v) => model.evaluate([v] as never), 'INVALID_INPUT', [...HOSTILE.filter(([n]) => n !== '10 MB string'), ['null', null]]);

        const records = syntheticClinicalRecords(patients.map((p) => ({ patientId: p.patientId, hasLesion: p.hasLesion })));
        const samples = records.map((r, i) => ({ record: r.record, outcome: i % 2 === 0, imageProbability: 0.3 + 0.1 * i }));
        const fusion = ClinicalFusionModel.fit(samples, samples);
        await expectRejected('ClinicalFusionModel.fit(train)', (v) => ClinicalFusionModel.fit(v as never, samples), 'INVALID_INPUT', [...HOSTILE, ...NOT_OBJECT, ['{}', {}]]);
        await expectRejected('ClinicalFusionModel.fit([sample])', (v) => ClinicalFusionModel.fit([v as never, ...samples], samples), 'INVALID_INPUT', [...HOSTILE.filter(([n]) => n !== '10 MB string'), ['null', null]]);
        // any truthy value used to count as a confirmed malignancy
        await expectRejected('ClinicalFusionModel.fit(outcome)', (v) => ClinicalFusionModel.fit(samples.map((s, i) => (i ? s : { ...s, outcome: v as boolean })), samples), 'INVALID_INPUT', WRONG_BOOLEAN);
        await expectRejected('ClinicalFusionModel.fit(options)', (v) => ClinicalFusionModel.fit(samples, samples, v as never), 'INVALID_ARGUMENT', NOT_OBJECT);
        await expectRejected('fusion.evaluate(samples)', (v) => fusion.evaluate(v as never), 'INVALID_INPUT', [...HOSTILE, ...NOT_OBJECT, ['{}', {}]]);
        await expectRejected('fusion.predictImages(images)', (v) => fusion.predictImages(records[0]!.record, v as never, model), 'INVALID_INPUT', [...HOSTILE, ...NOT_OBJECT, ['{}', {}]]);
        await expectRejected('fusion.predictImages(model)', (v) => fusion.predictImages(records[0]!.record, images, v as never), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_OBJECT, ['{}', {}]]);
        // valid input: as before
        const answer = await fusion.predictImages(records[0]!.record, images, model);
        expect(answer.probability).toBeGreaterThanOrEqual(0);
        expect(answer.probability).toBeLessThanOrEqual(1);
        expect((await model.predict(images[0]!, { heatmap: true })).heatmap?.data.length).toBe(16 * 16);
      } finally {
        await model.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

describe('medical leftovers: image probabilities, clinical ages, synthetic CT options', () => {
  const patients = Array.from({ length: 40 }, (_, i) => ({ patientId: `P${i}`, hasLesion: i % 2 === 0 }));
  const records = syntheticClinicalRecords(patients, { seed: 2 });
  const samples = records.map((r, i) => ({ record: r.record, outcome: r.outcome, imageProbability: (i % 10) / 10 + 0.05 }));
  const NOT_PROBABILITY: ReadonlyArray<readonly [string, unknown]> = [
    ...HOSTILE.filter(([n]) => n !== '10 MB string'),
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['1.5', 1.5],
    ['-0.1', -0.1],
    ["'0.5'", '0.5'],
    ['{}', {}],
  ];

  it('ClinicalFusionModel: a NaN image probability is INVALID_INPUT, not "no image"; only undefined and null are missing', async () => {
    const model = ClinicalFusionModel.fit(samples, samples);
    const record = records[0]!.record;
    // NaN was fused as a missing image (the answer rested on the record alone), with NaN in the result.
    await expectRejected('fusion.predict(imageProbability)', (v) => model.predict(record, v as number), 'INVALID_INPUT', NOT_PROBABILITY);
    await expectRejected('ClinicalFusionModel.fit(validation[1].imageProbability)', (v) => ClinicalFusionModel.fit(samples, samples.map((s, i) => (i === 1 ? { ...s, imageProbability: v as number } : s))), 'INVALID_INPUT', NOT_PROBABILITY);
    await expectRejected('fusion.evaluate(samples[1].imageProbability)', (v) => model.evaluate(samples.map((s, i) => (i === 1 ? { ...s, imageProbability: v as number } : s))), 'INVALID_INPUT', NOT_PROBABILITY);
    // the result names the patient: a numeric, missing or empty patientId was handed back as it was
    await expectRejected('fusion.predict(record.patientId)', (v) => model.predict({ ...record, patientId: v as string }, 0.5), 'INVALID_INPUT', [['42', 42], ['undefined', undefined], ['null', null], ["''", ''], ['{}', {}]]);
    expect(model.predict(record, 0.5).patientId).toBe(record.patientId);
    expect(() => model.predict(record, 0.123456789)).not.toThrow();
    expect(() => model.predict(record, 1.23456789)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', message: expect.not.stringContaining('1.23456789') as string }));
    // missing: undefined, or null as JSON writes it; both give the record-only answer and no imageProbability
    const none = model.predict(record, undefined);
    expect(model.predict(record, null)).toEqual(none);
    expect(none.imageProbability).toBeUndefined();
    expect(Number.isFinite(none.probability)).toBe(true);
    // null patients are left out of evaluate() like undefined ones (null entered the image AUC as a score of 0)
    const withNull = samples.map((s, i) => (i < 4 ? { ...s, imageProbability: null as unknown as undefined } : s));
    const withUndefined = samples.map((s, i) => (i < 4 ? { ...s, imageProbability: undefined } : s));
    expect(model.evaluate(withNull)).toEqual(model.evaluate(withUndefined));
    expect(model.evaluate(withNull).n).toBe(samples.length - 4);
    // a Symbol ageStd was a TypeError (`>` on it); an infinite one was only refused by the first predict()
    const json = model.toJSON();
    await expectRejected('ClinicalFusionModel.fromJSON(encoding.ageStd)', (v) => ClinicalFusionModel.fromJSON({ ...json, encoding: { ...json.encoding, ageStd: v as number } }), 'INVALID_INPUT', [...HOSTILE.filter(([n]) => n !== '10 MB string'), ['Infinity', Number.POSITIVE_INFINITY], ['0', 0], ['null', null], ["'1'", '1']]);
    expect(ClinicalFusionModel.fromJSON(JSON.parse(JSON.stringify(json)) as typeof json).predict(record, 0.5)).toEqual(model.predict(record, 0.5));
    // the training set's image probabilities are not used, so not checked (as before)
    expect(() => ClinicalFusionModel.fit(samples.map((s) => ({ ...s, imageProbability: Number.NaN })), samples)).not.toThrow();
  });

  it('clinicalCsv writes only ages parseClinicalCsv reads back (0–130, fractions kept); the reader takes plain decimals only', async () => {
    const record: ClinicalRecord = { patientId: 'p', age: 40, sex: 'F', history: {} };
    // -1 and 131 were written, and the file then failed as CLINICAL_BAD_AGE on every read
    await expectRejected('clinicalCsv(record.age) out of range', (v) => clinicalCsv([{ ...record, age: v as number }]), 'INVALID_INPUT', [['-1', -1], ['131', 131], ['1e308', 1e308], ['-Infinity', Number.NEGATIVE_INFINITY], ['-1e-9', -1e-9]]);
    expect(() => clinicalCsv([{ ...record, age: -1 }])).toThrow(expect.objectContaining({ message: expect.not.stringContaining('-1') as string }));
    for (const age of [0, 1.5, 0.25, 1e-7, 130, 64]) {
      const back = parseClinicalCsv(clinicalCsv([{ ...record, age }]));
      expect.soft([back.records[0]?.age, back.failures.length], `age ${age}`).toEqual([age, 0]);
    }
    // Number() read 0x40 as 64, 6.4e1 as 64 and 0b1 as 1: each is now one counted CLINICAL_BAD_AGE, the other rows read on
    const text = 'patient_id,age,sex\nA,0x40,F\nB,6.4e1,M\nC,0b1,F\nD,-1,M\nE,131,F\nF,Infinity,M\nG,1.5,F\nH,018M,M\nI, 64 ,F\n';
    const read = parseClinicalCsv(text);
    expect(read.records.map((r) => [r.patientId, r.age])).toEqual([['G', 1.5], ['H', 1.5], ['I', 64]]);
    expect(read.failures.map((f) => [f.patientId, f.error.code])).toEqual(['A', 'B', 'C', 'D', 'E', 'F'].map((id) => [id, 'CLINICAL_BAD_AGE']));
    expect(read.rows).toBe(9);
  });

  it('writeCtSeries: the phantom and every option checked before any folder is made', async () => {
    const root = await mkdtemp(join(tmpdir(), 'lepton-hostile-ct-'));
    try {
      const phantom = ctPhantom({ seed: 1, size: 16, slices: 1 });
      const dir = join(root, 'series');
      const write = (options: Record<string, unknown>, p: unknown = phantom): Promise<string[]> => writeCtSeries(p as never, { dir, patientId: 'CT1', ...options } as never);
      await expectRejected('writeCtSeries(phantom)', (v) => write({}, v), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_OBJECT, ['{}', {}]]);
      // a size of 1e6 asked for a 4 TB buffer (a RangeError); slices that are not Float32Arrays of size² were a TypeError
      await expectRejected('writeCtSeries(phantom parts)', (v) => write({}, { ...phantom, ...(v as object) }), 'INVALID_ARGUMENT', [
        ['size 1e6', { size: 1e6 }],
        ['size NaN', { size: Number.NaN }],
        ['hu []', { hu: [] }],
        ['hu of numbers', { hu: [[1, 2]] }],
        ['hu slice too short', { hu: [new Float32Array(4)] }],
        ['positions NaN', { positions: [[Number.NaN, 0, 0]] }],
        ['pixelSpacing 0', { pixelSpacing: [0, 1] }],
        ['sliceThickness Infinity', { sliceThickness: Number.POSITIVE_INFINITY }],
      ]);
      await expectRejected('writeCtSeries(options)', (v) => writeCtSeries(phantom, v as never), 'INVALID_ARGUMENT', [...NOT_OBJECT, ['undefined', undefined]]);
      await expectRejected('writeCtSeries(dir)', (v) => write({ dir: v }), 'INVALID_ARGUMENT', [...HOSTILE.filter(([n]) => n !== '10 MB string'), ...NOT_OBJECT, ["''", '']]);
      const text: Array<readonly [string, unknown]> = [...HOSTILE, ...NOT_OBJECT, ['{}', {}], ["''", ''], ['a backslash', 'A\\B'], ['a line break', 'A\nB'], ['65 characters', 'x'.repeat(65)]];
      for (const key of ['patientId', 'patientName', 'accessionNumber', 'institution']) {
        // a Symbol patient ID was a TypeError; a number name was dcmjs's error; '' and 'A\\B' were written as is
        await expectRejected(`writeCtSeries(${key})`, (v) => write({ [key]: v }), 'INVALID_ARGUMENT', key === 'patientId' ? [...text, ['undefined', undefined]] : text);
      }
      for (const key of ['birthDate', 'studyDate']) {
        await expectRejected(`writeCtSeries(${key})`, (v) => write({ [key]: v }), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ['19601301', '19601301'], ["'1960-01-01'", '1960-01-01'], ['19600101 (a number)', 19600101]]);
      }
      for (const key of ['studyInstanceUid', 'seriesInstanceUid']) {
        await expectRejected(`writeCtSeries(${key})`, (v) => write({ [key]: v }), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ["'not a uid'", 'not a uid'], ["'1.02'", '1.02'], ['65 characters', `1.${'2'.repeat(63)}`]]);
      }
      // NaN, 1.5 and Infinity series numbers were written into every file
      await expectRejected('writeCtSeries(seriesNumber)', (v) => write({ seriesNumber: v }), 'INVALID_ARGUMENT', [...WRONG_NUMBER, ['null', null], ['-1', -1], ['1.5', 1.5], ['2^31', 2 ** 31]]);
      await expectRejected('writeCtSeries(seed)', (v) => write({ seed: v }), 'INVALID_ARGUMENT', [...WRONG_NUMBER, ['null', null]]);
      // an unknown choice was taken for the default (fileNames) or written as is (sex)
      await expectRejected('writeCtSeries(fileNames)', (v) => write({ fileNames: v }), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ["'x'", 'x'], ["'Ordered'", 'Ordered']]);
      await expectRejected('writeCtSeries(sex)', (v) => write({ sex: v }), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ["'X'", 'X'], ["'f'", 'f']]);
      expect(existsSync(dir)).toBe(false); // nothing was made for a refused call
      const files = await write({ patientName: 'Doe^Jane', birthDate: '19600229', seriesNumber: 0, fileNames: 'ordered', studyInstanceUid: '2.25.12345' });
      expect(files.map((f) => f.slice(dir.length + 1))).toEqual(['0001.dcm']);
      expect((await readDicomFile(files[0]!)).meta).toMatchObject({ patientId: 'CT1', studyInstanceUid: '2.25.12345' });
      // a 64-character Patient ID is valid DICOM: the defaults derived from it (Phantom^…, ACC-…) were longer, and dcmjs
      // refused the slice (DICOM_WRITE_FAILED)
      const long = await writeCtSeries(phantom, { dir: join(root, 'long'), patientId: 'L'.repeat(64) });
      expect((await readDicomFile(long[0]!)).meta.patientId).toBe('L'.repeat(64));
      // Accession Number is a Short String (SH, at most 16 characters): 17 are refused, and the default for a long
      // patient ID fits (it was 'ACC-' and 60 more, cut at 64) and differs between IDs sharing their first 12 characters
      await expectRejected('writeCtSeries(accessionNumber)', (v) => write({ accessionNumber: v }), 'INVALID_ARGUMENT', [['17 characters', 'A'.repeat(17)]]);
      const other = await writeCtSeries(phantom, { dir: join(root, 'long2'), patientId: `${'L'.repeat(63)}M` });
      const [a, b] = [(await readDicomFile(long[0]!)).meta, (await readDicomFile(other[0]!)).meta];
      expect(a.accessionNumber).toMatch(/^A[0-9A-F]{15}$/);
      expect(b.accessionNumber).toMatch(/^A[0-9A-F]{15}$/);
      expect(a.accessionNumber).not.toBe(b.accessionNumber);
      expect((await readDicomFile(files[0]!)).meta.accessionNumber).toBe('ACC-CT1'); // short IDs keep ACC-<id>
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('generateCtDataset: options checked before anything is written; a prefix never leaves dir', async () => {
    const root = await mkdtemp(join(tmpdir(), 'lepton-hostile-ctset-'));
    try {
      const dir = join(root, 'set');
      const small = { patients: 1, slices: 1, size: 16 };
      await expectRejected('generateCtDataset(dir)', (v) => generateCtDataset(v as string, small), 'INVALID_ARGUMENT', [...HOSTILE.filter(([n]) => n !== '10 MB string'), ...NOT_OBJECT, ["''", ''], ['undefined', undefined]]);
      await expectRejected('generateCtDataset(options)', (v) => generateCtDataset(dir, v as never), 'INVALID_ARGUMENT', NOT_OBJECT);
      // NaN or -1 patients wrote an empty dataset, 1.5 two patients, '2' two patients: each refused now
      await expectRejected('generateCtDataset(patients)', (v) => generateCtDataset(dir, { ...small, patients: v as number }), 'INVALID_ARGUMENT', [...WRONG_NUMBER.filter(([n]) => n !== 'Infinity'), ['null', null], ['-1', -1], ['1.5', 1.5]]);
      for (const key of ['slices', 'size']) {
        await expectRejected(`generateCtDataset(${key})`, (v) => generateCtDataset(dir, { ...small, [key]: v }), 'INVALID_ARGUMENT', [...WRONG_NUMBER.filter(([n]) => n !== 'Infinity'), ['null', null], ['-1', -1], ['1.5', 1.5], ['1e9', 1e9]]);
      }
      // a NaN or string fraction was taken as 0 lesions; -1 as 0
      await expectRejected('generateCtDataset(lesionFraction)', (v) => generateCtDataset(dir, { ...small, lesionFraction: v as number }), 'INVALID_ARGUMENT', [...WRONG_NUMBER.filter(([n]) => n !== 'Infinity'), ['null', null], ['-1', -1]]);
      // a Symbol or BigInt seed was a TypeError; 1e308 × 1000 overflowed to an Infinity seed in ctPhantom after the first folder
      await expectRejected('generateCtDataset(seed)', (v) => generateCtDataset(dir, { ...small, seed: v as number }), 'INVALID_ARGUMENT', [...WRONG_NUMBER, ['null', null], ['1e308', 1e308]]);
      // '../x' wrote the patient's folder next to dir, '../../..' anywhere the process may write
      await expectRejected('generateCtDataset(prefix)', (v) => generateCtDataset(dir, { ...small, prefix: v as string }), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_OBJECT, ["'../escaped'", '../escaped'], ["'a/b'", 'a/b'], ["'a\\b'", 'a\\b'], ['60 characters', 'x'.repeat(60)]]);
      expect(await readdir(root)).toEqual([]); // nothing written by a refused call, nothing outside dir
      const written = await generateCtDataset(dir, { ...small, patients: 2, prefix: 'T.1_a-' });
      expect(written.map((p) => p.patientId)).toEqual(['T.1_a-001', 'T.1_a-002']);
      expect((await readdir(dir)).sort()).toEqual(['T.1_a-001', 'T.1_a-002', 'labels.csv']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('sizes that looped for ever or asked for tens of GB are refused at once (ctPhantom, generateCtDataset)', async () => {
    const root = await mkdtemp(join(tmpdir(), 'lepton-hostile-ctbig-'));
    try {
      const dir = join(root, 'set');
      await mkdir(dir);
      const started = Date.now();
      // lesionFraction 2 asked for more lesion patients than patients (a loop without end); Infinity patients too
      expect(await outcome(() => generateCtDataset(dir, { patients: 2, slices: 1, size: 16, lesionFraction: 2 }))).toBe('LeptonError INVALID_ARGUMENT');
      expect(await outcome(() => generateCtDataset(dir, { patients: Number.POSITIVE_INFINITY, slices: 1, size: 16 }))).toBe('LeptonError INVALID_ARGUMENT');
      expect(await outcome(() => generateCtDataset(dir, { patients: 1e308, slices: 1, size: 16 }))).toBe('LeptonError INVALID_ARGUMENT');
      expect(await outcome(() => generateCtDataset(dir, { patients: 10_001, slices: 1, size: 16 }))).toBe('LeptonError INVALID_ARGUMENT'); // at most 10,000
      // 2048 × 2048 × 2048 passed the size and slice bounds: 34 GB of HU slices
      expect(await outcome(() => ctPhantom({ seed: 1, size: 2048, slices: 2048 }))).toBe('LeptonError INVALID_ARGUMENT');
      expect(await outcome(() => ctPhantom({ seed: 1, size: 512, slices: 513 }))).toBe('LeptonError INVALID_ARGUMENT');
      // a slice thickness of 1e308 put the third slice at -Infinity mm, a noise of 1e38 HU overflowed to ±Infinity
      for (const [name, options] of [['sliceThickness 1e308', { sliceThickness: 1e308 }], ['noiseHu 1e38', { noiseHu: 1e38 }], ['fieldOfViewMm 1e308', { fieldOfViewMm: 1e308 }], ['lesion 1e308', { lesion: 1e308 }]] as const) {
        expect.soft(await outcome(() => ctPhantom({ seed: 1, size: 16, slices: 3, ...options })), name).toBe('LeptonError INVALID_ARGUMENT');
      }
      const plausible = ctPhantom({ seed: 1, size: 16, slices: 3, sliceThickness: 10_000, noiseHu: 40_000, lesion: 14 });
      expect(plausible.positions.flat().every(Number.isFinite) && plausible.hu.every((s) => s.every(Number.isFinite))).toBe(true);
      expect(await outcome(() => generateCtDataset(dir, { patients: 3, slices: 512, size: 512 }))).toBe('LeptonError INVALID_ARGUMENT');
      expect(Date.now() - started).toBeLessThan(2000);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('medical entry points without a sweep before: preprocessing functions, folder reading', () => {
  const image = readDicom(readFileSync(fixture('dicom/ct_s16.dcm')));
  const prep = { window: { center: 40, width: 400 }, size: [32, 32] as [number, number], mean: 0.3, std: 0.2 };
  const NOT_NUMBER: ReadonlyArray<readonly [string, unknown]> = [...WRONG_NUMBER, ['null', null]];

  it('preprocessImage and preprocessStack check prep (never a NaN or infinite input, a TypeError or a RangeError)', async () => {
    for (const [fn, call] of [
      ['preprocessImage', (p: unknown) => preprocessImage(image, p as typeof prep)],
      ['preprocessStack', (p: unknown) => preprocessStack(image, [image], p as typeof prep)],
    ] as const) {
      await expectRejected(`${fn}(prep)`, call, 'INVALID_ARGUMENT', [...NOT_OBJECT, ['undefined', undefined]]);
      // a NaN, null or {} mean or std gave NaN inputs, 0 or 1e-300 a std of Infinity, 1e308 a mean of -Infinity
      await expectRejected(`${fn}(prep.mean)`, (v) => call({ ...prep, mean: v }), 'INVALID_ARGUMENT', [...NOT_NUMBER, ['1e308', 1e308]]);
      await expectRejected(`${fn}(prep.std)`, (v) => call({ ...prep, std: v }), 'INVALID_ARGUMENT', [...NOT_NUMBER, ['0', 0], ['-1', -1], ['1e-300', 1e-300]]);
      // [1e308, 32] and [-1, 32] were RangeErrors, [NaN, 32] an empty input, '1' an empty input too
      await expectRejected(`${fn}(prep.size)`, (v) => call({ ...prep, size: v }), 'INVALID_ARGUMENT', [...NOT_NUMBER, ["'1'", '1'], ['[]', []]]);
      await expectRejected(`${fn}(prep.size[0])`, (v) => call({ ...prep, size: [v, 32] }), 'INVALID_ARGUMENT', [...NOT_NUMBER, ['0', 0], ['-1', -1], ['1.5', 1.5], ['1e308', 1e308], ['513', 513]]);
      await expectRejected(`${fn}(prep.window)`, (v) => call({ ...prep, window: v }), 'INVALID_ARGUMENT', [...NOT_OBJECT, ['{}', {}], ['width 0', { center: 0, width: 0 }], ['center NaN', { center: Number.NaN, width: 1 }]]);
      // an unknown fit or resample was taken for the default
      for (const key of ['fit', 'resample']) {
        await expectRejected(`${fn}(prep.${key})`, (v) => call({ ...prep, [key]: v }), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ["'cover'", 'cover'], ['1', 1]]);
      }
    }
    // a NaN, 0 or Infinity slices made no channels (a TypeError) or an array of infinite length; NaN spacing NaN inputs
    const stack = { ...prep, slices: 3, sliceSpacingMm: 5 };
    await expectRejected('preprocessStack(prep.slices)', (v) => preprocessStack(image, [image], { ...stack, slices: v as number }), 'INVALID_ARGUMENT', [...NOT_NUMBER, ['0', 0], ['-1', -1], ['2', 2], ['1.5', 1.5], ['11', 11]]);
    await expectRejected('preprocessStack(prep.sliceSpacingMm)', (v) => preprocessStack(image, [image], { ...stack, sliceSpacingMm: v as number }), 'INVALID_ARGUMENT', [...NOT_NUMBER, ['0', 0], ['-1', -1], ['undefined', undefined]]);
    await expectRejected('preprocessStack(image)', (v) => preprocessStack(v as never, [image], prep), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_OBJECT, ['{}', {}]]);
    await expectRejected('preprocessStack(series)', (v) => preprocessStack(image, v as never, prep), 'INVALID_INPUT', [...HOSTILE, ...NOT_OBJECT, ['{}', {}]]);
    await expectRejected('preprocessStack([item])', (v) => preprocessStack(image, [image, v] as never, prep), 'INVALID_ARGUMENT', [...HOSTILE, ...NOT_OBJECT, ['{}', {}]]);
    // valid input: as before, every value finite
    const one = await preprocessImage(image, prep);
    expect(one.input.length).toBe(32 * 32);
    expect(one.input.every(Number.isFinite)).toBe(true);
    expect((await preprocessStack(image, [image], stack)).input.every(Number.isFinite)).toBe(true);
  });

  it('windowedFrame takes a window preset name as resolveWindow does (every value was NaN)', async () => {
    const byName = await windowedFrame(image, 'lung' as never);
    expect(byName.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(byName).toEqual(await windowedFrame(image, windowPreset('lung')));
  });

  it('parseClinicalCsv: a history option that is not a list of names is INVALID_ARGUMENT; header messages stay short', async () => {
    const text = 'patient_id,age,sex,smoker\nP1,64,F,1\n';
    // each was a TypeError (historyNames.map is not a function, a Symbol in a template)
    await expectRejected('parseClinicalCsv({ history })', (v) => parseClinicalCsv(text, { history: v as string[] }), 'INVALID_ARGUMENT', [...HOSTILE, ["'smoker'", 'smoker'], ['{}', {}], ['42', 42]]);
    await expectRejected('parseClinicalCsv({ history: [name] })', (v) => parseClinicalCsv(text, { history: [v as string] }), 'INVALID_ARGUMENT', [...HOSTILE.filter(([n]) => n !== '10 MB string'), ['null', null], ['42', 42]]);
    // a 10 MB header or history name went into the message whole
    await expectRejected('parseClinicalCsv(huge header)', (v) => parseClinicalCsv(`${v as string},x\n`), 'CLINICAL_CSV_INVALID', [['10 MB column name', 'x'.repeat(10 * 1024 * 1024)]]);
    await expectRejected('parseClinicalCsv({ history: [huge name] })', (v) => parseClinicalCsv(text, { history: [v as string] }), 'CLINICAL_CSV_INVALID', [['10 MB name', 'y'.repeat(10 * 1024 * 1024)]]);
    expect(parseClinicalCsv(text, { history: ['smoker'] }).records).toEqual([{ patientId: 'P1', age: 64, sex: 'F', history: { smoker: true } }]);
  });

  it('DICOMweb: a non-finite number in a query, a limit or offset that is not a count, an onFailure that is not a function (refused before any request)', async () => {
    // Port 9 (discard) is closed on loopback: a request that got through would fail as DICOMWEB_UNREACHABLE instead.
    const client = new DicomWebClient({ url: 'http://127.0.0.1:9/dicom-web', timeoutMs: 500 });
    // each was sent to the server as "NaN", "Infinity", "-1", "1.5" or "1e+308"
    for (const key of ['limit', 'offset']) {
      await expectRejected(`searchStudies({ ${key} })`, (v) => client.searchStudies({ [key]: v as number }), 'DICOMWEB_INVALID_OPTIONS', [['NaN', Number.NaN], ['Infinity', Number.POSITIVE_INFINITY], ['-1', -1], ['1.5', 1.5], ['1e308', 1e308], ["'-1'", '-1'], ["'ten'", 'ten'], ['true', true], ['[1, 2]', [1, 2]]]);
    }
    await expectRejected('searchStudies({ InstanceNumber })', (v) => client.searchStudies({ InstanceNumber: v as number }), 'DICOMWEB_INVALID_OPTIONS', [['NaN', Number.NaN], ['-Infinity', Number.NEGATIVE_INFINITY], ['[1, NaN]', [1, Number.NaN]]]);
    expect(await outcome(() => client.searchStudies({ limit: 10, offset: '20', InstanceNumber: 3 }))).toBe('LeptonError DICOMWEB_UNREACHABLE'); // valid: sent
    const ref = { studyInstanceUid: '1.2', seriesInstanceUid: '1.3', sopInstanceUid: '1.4' };
    // a TypeError at the first failed instance, after the transfers had started
    await expectRejected('retrieveInstances({ onFailure })', (v) => client.retrieveInstances([ref], { onFailure: v as never }), 'DICOMWEB_INVALID_OPTIONS', [...HOSTILE, ['null', null], ['{}', {}], ["'log'", 'log']]);
    await expectRejected('retrieveSeries({ onFailure })', (v) => client.retrieveSeries(ref, { onFailure: v as never }), 'DICOMWEB_INVALID_OPTIONS', [['null', null], ["'log'", 'log']]);
    await expectRejected('retrieveStudy({ onFailure })', (v) => client.retrieveStudy(ref, { onFailure: v as never }), 'DICOMWEB_INVALID_OPTIONS', [['null', null], ["'log'", 'log']]);
    const failed: string[] = [];
    const r = await client.retrieveInstances([ref], { onFailure: (f) => failed.push(f.error.code) });
    expect([r.failures.length, failed]).toEqual([1, ['DICOMWEB_UNREACHABLE']]); // valid: as before
  });

  it('readDicomFolder checks its options before reading; readDicomFile refuses null options', async () => {
    const dir = fixture('folder');
    await expectRejected('readDicomFolder(options)', (v) => readDicomFolder(dir, v as never), 'INVALID_ARGUMENT', [...NOT_OBJECT, ['[]', []]]);
    // NaN or 0 was read as recursive: false, '0' as true
    await expectRejected('readDicomFolder({ recursive })', (v) => readDicomFolder(dir, { recursive: v as boolean }), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ['NaN', Number.NaN], ['0', 0], ["'0'", '0']]);
    // a filter or onFailure that is not a function was a TypeError, after the folder had been listed
    for (const key of ['filter', 'onFailure']) {
      await expectRejected(`readDicomFolder({ ${key} })`, (v) => readDicomFolder(dir, { [key]: v }), 'INVALID_ARGUMENT', [...HOSTILE, ['null', null], ['true', true], ['{}', {}]]);
    }
    await expectRejected('readDicomFile(path, options)', (v) => readDicomFile(fixture('dicom/ct_s16.dcm'), v as never), 'INVALID_ARGUMENT', [['null', null], ['42', 42]]);
    const load = await readDicomFolder(dir, { recursive: false, filter: () => true, onFailure: () => undefined });
    expect(load.images.length).toBeGreaterThan(0); // valid options: as before
  });
});
