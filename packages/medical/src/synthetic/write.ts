import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describeValue, LeptonError, seededRandom } from '@lepton/core';
import { ctPhantom, type CtPhantom } from './phantom.js';

/** The part of dcmjs used here (its package ships no type declarations). */
interface Dcmjs {
  data: { datasetToBuffer(dataset: Record<string, unknown>): Buffer };
}
const dcmjs = createRequire(import.meta.url)('dcmjs') as Dcmjs;

/**
 * A valid, deterministic DICOM UID under the `2.25` root (a UUID-derived decimal, PS3.5 B.2) for a name.
 *
 * @param name - anything that identifies the object (same name, same UID)
 * @returns `2.25.<decimal>`
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when `name` is not a string
 */
export function uidFor(name: string): string {
  // node:crypto throws its own TypeError for a Symbol, a number or an object; the same name must give the same UID, so
  // nothing is coerced either.
  if (typeof name !== 'string') throw new LeptonError('INVALID_ARGUMENT', `uidFor needs a string name, got ${describeValue(name)}.`);
  const h = createHash('sha256').update(name).digest();
  return `2.25.${BigInt(`0x${h.subarray(0, 16).toString('hex')}`)}`;
}

/** Identity and study details written into a synthetic series (all fictitious). */
export interface WriteCtSeriesOptions {
  /** Output folder (created). */
  dir: string;
  /** Patient ID. */
  patientId: string;
  /** Patient name, `Family^Given`. Default `Phantom^<patientId>`. */
  patientName?: string;
  /** `YYYYMMDD`. Default 19600101. */
  birthDate?: string;
  /** `M`, `F` or `O`. Default `O`. */
  sex?: 'M' | 'F' | 'O';
  /** Study date `YYYYMMDD`. Default 20260105. */
  studyDate?: string;
  /** Accession number. Default `ACC-<patientId>`. */
  accessionNumber?: string;
  /** Institution name. Default `Lepton Synthetic Hospital`. */
  institution?: string;
  /** Study Instance UID. Default derived from the patient ID. */
  studyInstanceUid?: string;
  /** Series Instance UID. Default derived from the study UID and series number. */
  seriesInstanceUid?: string;
  /** Series number. Default 1. */
  seriesNumber?: number;
  /** File names: by slice position from the top (`0001.dcm` …) or shuffled (`<random>.dcm`, so nothing can rely on names). Default `shuffled`. */
  fileNames?: 'ordered' | 'shuffled';
  /** Seed of the shuffled names. Default 1. */
  seed?: number;
}

/**
 * Writes a phantom as a CT series of DICOM Part 10 files (Explicit VR Little Endian, 12-bit stored values with rescale
 * slope 1 and intercept −1024 → HU), with patient, study, series and geometry attributes, via dcmjs.
 * **Synthetic data:** every identifier is fictitious.
 *
 * @param phantom - from {@link ctPhantom}
 * @param options - folder, identifiers and naming
 * @returns the written paths, one per slice in phantom order (top to bottom)
 */
export async function writeCtSeries(phantom: CtPhantom, options: WriteCtSeriesOptions): Promise<string[]> {
  await mkdir(options.dir, { recursive: true });
  const studyUid = options.studyInstanceUid ?? uidFor(`study/${options.patientId}`);
  const seriesNumber = options.seriesNumber ?? 1;
  const seriesUid = options.seriesInstanceUid ?? uidFor(`series/${studyUid}/${seriesNumber}`);
  const frameUid = uidFor(`frame/${studyUid}`);
  const rand = seededRandom(options.seed ?? 1);
  const paths: string[] = [];
  for (let k = 0; k < phantom.hu.length; k++) {
    const stored = new Uint16Array(phantom.size * phantom.size);
    const hu = phantom.hu[k]!;
    for (let i = 0; i < stored.length; i++) stored[i] = Math.max(0, Math.min(4095, Math.round(hu[i]! + 1024)));
    const sopUid = uidFor(`instance/${seriesUid}/${k}`);
    const dataset = {
      _meta: { TransferSyntaxUID: { Value: ['1.2.840.10008.1.2.1'] } },
      _vrMap: { PixelData: 'OW' },
      SpecificCharacterSet: 'ISO_IR 100',
      ImageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
      SOPClassUID: '1.2.840.10008.5.1.4.1.1.2',
      SOPInstanceUID: sopUid,
      StudyDate: options.studyDate ?? '20260105',
      StudyTime: '083000',
      AccessionNumber: options.accessionNumber ?? `ACC-${options.patientId}`,
      Modality: 'CT',
      Manufacturer: 'Lepton synthetic phantom',
      InstitutionName: options.institution ?? 'Lepton Synthetic Hospital',
      ReferringPhysicianName: 'Referrer^Synthetic',
      StudyDescription: 'CT CHEST (synthetic)',
      SeriesDescription: 'Axial 5 mm (synthetic)',
      PatientName: options.patientName ?? `Phantom^${options.patientId}`,
      PatientID: options.patientId,
      PatientBirthDate: options.birthDate ?? '19600101',
      PatientSex: options.sex ?? 'O',
      SliceThickness: phantom.sliceThickness,
      KVP: 120,
      StudyInstanceUID: studyUid,
      SeriesInstanceUID: seriesUid,
      StudyID: `S-${options.patientId}`,
      SeriesNumber: seriesNumber,
      InstanceNumber: k + 1,
      ImagePositionPatient: phantom.positions[k],
      ImageOrientationPatient: [1, 0, 0, 0, 1, 0],
      FrameOfReferenceUID: frameUid,
      SliceLocation: phantom.positions[k]![2],
      SamplesPerPixel: 1,
      PhotometricInterpretation: 'MONOCHROME2',
      Rows: phantom.size,
      Columns: phantom.size,
      PixelSpacing: phantom.pixelSpacing,
      BitsAllocated: 16,
      BitsStored: 12,
      HighBit: 11,
      PixelRepresentation: 0,
      WindowCenter: -600,
      WindowWidth: 1500,
      RescaleIntercept: -1024,
      RescaleSlope: 1,
      RescaleType: 'HU',
      PixelData: [stored.buffer],
    };
    let buffer: Buffer;
    try {
      buffer = dcmjs.data.datasetToBuffer(dataset);
    } catch (err) {
      throw new LeptonError('DICOM_WRITE_FAILED', `dcmjs could not write slice ${k}.`, { cause: err });
    }
    const name = (options.fileNames ?? 'shuffled') === 'ordered' ? `${String(k + 1).padStart(4, '0')}.dcm` : `${Math.floor(rand() * 1e9).toString(36)}-${k}.dcm`;
    const path = join(options.dir, name);
    await writeFile(path, buffer);
    paths.push(path);
  }
  return paths;
}

/** One patient of {@link generateCtDataset}. */
export interface SyntheticCtPatient {
  /** Patient ID. */
  patientId: string;
  /** Whether the study has a nodule. */
  hasLesion: boolean;
  /** File per slice, top to bottom. */
  files: string[];
  /** Slice labels, top to bottom: `nodule` where the nodule's cross-section covers ≥ 3 pixels, else `normal`. */
  labels: string[];
  /** The phantom (HU, masks, geometry). */
  phantom: CtPhantom;
}

/**
 * Writes a seeded synthetic chest-CT dataset — **synthetic data**, fictitious patients — as real DICOM files,
 * `<dir>/<patientId>/<file>.dcm`, plus `<dir>/labels.csv` (`file,patient_id,label`; one row per slice, `nodule` where
 * the nodule's cross-section covers at least 3 pixels, else `normal`) for {@link DiagnosisModel.trainFromFolder}.
 *
 * @param dir - output folder
 * @param options - patients (default 12), share with a nodule (default 0.5), slices (default 12), size (default 64),
 *   seed (default 1), patient ID prefix (default `PAT`)
 * @returns the patients with their files, slice labels and phantoms (masks for segmentation)
 */
export async function generateCtDataset(
  dir: string,
  options: { patients?: number; lesionFraction?: number; slices?: number; size?: number; seed?: number; prefix?: string } = {},
): Promise<SyntheticCtPatient[]> {
  const n = options.patients ?? 12;
  const seed = options.seed ?? 1;
  const rand = seededRandom(seed);
  const withLesion = new Set<number>();
  const k = Math.round(n * (options.lesionFraction ?? 0.5));
  while (withLesion.size < k) withLesion.add(Math.floor(rand() * n));
  const out: SyntheticCtPatient[] = [];
  const csv = ['file,patient_id,label'];
  for (let i = 0; i < n; i++) {
    const patientId = `${options.prefix ?? 'PAT'}${String(i + 1).padStart(3, '0')}`;
    const phantom = ctPhantom({ seed: seed * 1000 + i, size: options.size ?? 64, slices: options.slices ?? 12, lesion: withLesion.has(i) });
    const files = await writeCtSeries(phantom, { dir: join(dir, patientId), patientId, sex: i % 2 ? 'F' : 'M', birthDate: `19${40 + (i % 50)}0${1 + (i % 9)}15`, seed: seed + i });
    // A slice shows the nodule when its cross-section covers at least 3 pixels (a grazing cap of 1–2 pixels does not).
    const labels = phantom.masks.map((m) => (m.reduce((a, v) => a + v, 0) >= 3 ? 'nodule' : 'normal'));
    files.forEach((f, s) => csv.push(`${patientId}/${f.slice(join(dir, patientId).length + 1)},${patientId},${labels[s]}`));
    out.push({ patientId, hasLesion: withLesion.has(i), files, labels, phantom });
  }
  await writeFile(join(dir, 'labels.csv'), `${csv.join('\n')}\n`);
  return out;
}
