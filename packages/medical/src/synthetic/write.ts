import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describeValue, LeptonError, seededRandom } from '@lepton/core';
import { ctPhantom, type CtPhantom } from './phantom.js';
import { checkDatasetOptions, checkDir, checkPhantom, checkWriteOptions } from './write-options.js';

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

/**
 * A default derived from the patient ID, cut to the 64 characters a DICOM text value (LO, PN) may hold: a patient ID of
 * 64 characters is valid, but `Phantom^` and 64 more was not, and dcmjs refused the whole slice.
 */
const derived = (head: string, patientId: string): string => `${head}${patientId}`.slice(0, 64);

/**
 * A default for a Short String (SH: at most 16 characters — Accession Number, Study ID) derived from the patient ID:
 * `<head><patientId>` where that fits, else the head's first letter and 15 hex digits of the ID's SHA-256 (cutting
 * would give patients whose long IDs share a prefix the same accession number).
 */
const derivedShort = (head: string, patientId: string): string =>
  head.length + patientId.length <= 16 ? `${head}${patientId}` : `${head[0]}${createHash('sha256').update(patientId).digest('hex').slice(0, 15).toUpperCase()}`;

/** Identity and study details written into a synthetic series (all fictitious). */
export interface WriteCtSeriesOptions {
  /** Output folder (created). */
  dir: string;
  /** Patient ID: 1 to 64 characters, no backslash or control character. */
  patientId: string;
  /** Patient name, `Family^Given` (1 to 64 characters, no backslash or control character). Default `Phantom^<patientId>`. */
  patientName?: string;
  /** `YYYYMMDD`. Default 19600101. */
  birthDate?: string;
  /** `M`, `F` or `O`. Default `O`. */
  sex?: 'M' | 'F' | 'O';
  /** Study date `YYYYMMDD`. Default 20260105. */
  studyDate?: string;
  /**
   * Accession number (1 to 16 characters — DICOM's SH — no backslash or control character). Default `ACC-<patientId>`,
   * or `A` and 15 hex digits of the patient ID's SHA-256 where that is longer than 16.
   */
  accessionNumber?: string;
  /** Institution name (1 to 64 characters, no backslash or control character). Default `Lepton Synthetic Hospital`. */
  institution?: string;
  /** Study Instance UID (digits and dots, at most 64 characters). Default derived from the patient ID. */
  studyInstanceUid?: string;
  /** Series Instance UID (digits and dots, at most 64 characters). Default derived from the study UID and series number. */
  seriesInstanceUid?: string;
  /** Series number: an integer from 0 to 2^31 − 1. Default 1. */
  seriesNumber?: number;
  /** File names: by slice position from the top (`0001.dcm` …) or shuffled (`<random>.dcm`, so nothing can rely on names). Default `shuffled`. */
  fileNames?: 'ordered' | 'shuffled';
  /** Seed of the shuffled names (a finite number). Default 1. */
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
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` (with `details.option`), before any folder is made, for
 *   a phantom that is not one from {@link ctPhantom} or options that are not an object, a `dir` that is not a
 *   non-empty string, a missing or malformed `patientId`, a name or institution that is not 1 to 64 characters (an
 *   accession number 1 to 16) without a backslash or control character, a date that is not `YYYYMMDD`, a UID that is not digits and
 *   dots, a `sex` or `fileNames` that is none of the choices, a `seriesNumber` that is not an integer from 0 to 2^31 − 1,
 *   or a `seed` that is not a finite number; `DICOM_WRITE_FAILED` when dcmjs cannot encode a slice; the file system's
 *   error when a folder or file cannot be written
 */
export async function writeCtSeries(phantom: CtPhantom, options: WriteCtSeriesOptions): Promise<string[]> {
  checkPhantom(phantom);
  const o = checkWriteOptions(options);
  await mkdir(o.dir, { recursive: true });
  const studyUid = o.studyInstanceUid ?? uidFor(`study/${o.patientId}`);
  const seriesNumber = o.seriesNumber;
  const seriesUid = o.seriesInstanceUid ?? uidFor(`series/${studyUid}/${seriesNumber}`);
  const frameUid = uidFor(`frame/${studyUid}`);
  const rand = seededRandom(o.seed);
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
      StudyDate: o.studyDate ?? '20260105',
      StudyTime: '083000',
      AccessionNumber: o.accessionNumber ?? derivedShort('ACC-', o.patientId),
      Modality: 'CT',
      Manufacturer: 'Lepton synthetic phantom',
      InstitutionName: o.institution ?? 'Lepton Synthetic Hospital',
      ReferringPhysicianName: 'Referrer^Synthetic',
      StudyDescription: 'CT CHEST (synthetic)',
      SeriesDescription: 'Axial 5 mm (synthetic)',
      PatientName: o.patientName ?? derived('Phantom^', o.patientId),
      PatientID: o.patientId,
      PatientBirthDate: o.birthDate ?? '19600101',
      PatientSex: o.sex,
      SliceThickness: phantom.sliceThickness,
      KVP: 120,
      StudyInstanceUID: studyUid,
      SeriesInstanceUID: seriesUid,
      StudyID: derivedShort('S-', o.patientId),
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
    const name = o.fileNames === 'ordered' ? `${String(k + 1).padStart(4, '0')}.dcm` : `${Math.floor(rand() * 1e9).toString(36)}-${k}.dcm`;
    const path = join(o.dir, name);
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

/** Options for {@link generateCtDataset}; every one is checked before anything is written. */
export interface CtDatasetOptions {
  /** Patients: an integer from 0 to 10,000. Default 12. */
  patients?: number;
  /** Share of patients with a nodule, from 0 to 1. Default 0.5. */
  lesionFraction?: number;
  /** Slices per patient: an integer from 1 to 2048. Default 12. */
  slices?: number;
  /**
   * Pixels per side: an integer from 16 to 2048. Default 64. Every phantom stays in memory for the result, so
   * patients × slices × size² may be at most 2^27 voxels (e.g. 40 patients of 8 slices of 512 × 512).
   */
  size?: number;
  /** Seed: a finite number of at most 2^32 in magnitude (patient `i`'s phantom uses `seed × 1000 + i`). Default 1. */
  seed?: number;
  /**
   * Patient ID prefix, also each patient's folder name under `dir`: at most 59 letters, digits, `.`, `_` or `-` (no path
   * separator). Default `PAT`.
   */
  prefix?: string;
}

/**
 * Writes a seeded synthetic chest-CT dataset — **synthetic data**, fictitious patients — as real DICOM files,
 * `<dir>/<patientId>/<file>.dcm`, plus `<dir>/labels.csv` (`file,patient_id,label`; one row per slice, `nodule` where
 * the nodule's cross-section covers at least 3 pixels, else `normal`) for {@link DiagnosisModel.trainFromFolder}.
 *
 * @param dir - output folder
 * @param options - see {@link CtDatasetOptions}
 * @returns the patients with their files, slice labels and phantoms (masks for segmentation)
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` (with `details.option`), before anything is written, for
 *   a `dir` that is not a non-empty string, options that are not an object, or an option outside what
 *   {@link CtDatasetOptions} documents (`patients` more than 10,000 or more than 2^27 voxels in all, a `lesionFraction`
 *   outside [0, 1], a `prefix` with a path separator …); the file system's error when a file cannot be written
 */
export async function generateCtDataset(dir: string, options: CtDatasetOptions = {}): Promise<SyntheticCtPatient[]> {
  checkDir(dir, 'generateCtDataset');
  const { patients: n, lesionFraction, slices, size, seed, prefix } = checkDatasetOptions(options);
  const rand = seededRandom(seed);
  const withLesion = new Set<number>();
  // lesionFraction ≤ 1, so k ≤ n and the loop ends (a fraction of 2 asked for more lesion patients than patients, for ever).
  const k = Math.round(n * lesionFraction);
  while (withLesion.size < k) withLesion.add(Math.floor(rand() * n));
  const out: SyntheticCtPatient[] = [];
  const csv = ['file,patient_id,label'];
  for (let i = 0; i < n; i++) {
    const patientId = `${prefix}${String(i + 1).padStart(3, '0')}`;
    const phantom = ctPhantom({ seed: seed * 1000 + i, size, slices, lesion: withLesion.has(i) });
    const files = await writeCtSeries(phantom, { dir: join(dir, patientId), patientId, sex: i % 2 ? 'F' : 'M', birthDate: `19${40 + (i % 50)}0${1 + (i % 9)}15`, seed: seed + i });
    // A slice shows the nodule when its cross-section covers at least 3 pixels (a grazing cap of 1–2 pixels does not).
    const labels = phantom.masks.map((m) => (m.reduce((a, v) => a + v, 0) >= 3 ? 'nodule' : 'normal'));
    files.forEach((f, s) => csv.push(`${patientId}/${f.slice(join(dir, patientId).length + 1)},${patientId},${labels[s]}`));
    out.push({ patientId, hasLesion: withLesion.has(i), files, labels, phantom });
  }
  await writeFile(join(dir, 'labels.csv'), `${csv.join('\n')}\n`);
  return out;
}
