import { describe, expect, it } from 'vitest';
import {
  buildVolume,
  ClinicalFusionModel,
  ctPhantom,
  DiagnosisModel,
  DicomDeidentifier,
  DicomWebClient,
  extractPlane,
  resampleVolume,
  resolveVoi,
  resolveWindow,
  Volume,
  voiWindowValue,
  windowPreset,
} from '@lepton/medical';
import { expectRejected, HOSTILE } from '../../../tests/support/hostile.js';

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
    await expectRejected('DiagnosisModel.train(labels[1])', (v) => DiagnosisModel.train([{ image: { source: 'a.dcm' }, label: 'x' } as never], { labels: ['normal', v as string] }), 'INVALID_INPUT', HOSTILE);
    const sample = { record: { patientId: 'p', age: 50, sex: 'F', history: {} }, outcome: 1, imageProbability: 0.5 } as never;
    await expectRejected('ClinicalFusionModel.fit(threshold)', (v) => ClinicalFusionModel.fit([sample], [sample], { threshold: v as number }), 'INVALID_ARGUMENT');
  });
  it('messages describe the hostile value without running its code', () => {
    expect(() => windowPreset(Symbol('pre') as unknown as string)).toThrow(/Symbol\(pre\)/);
    expect(() => windowPreset({ toString: () => 'lung' } as unknown as string)).toThrow(/\(object\)/); // its toString is never called
  });
});
