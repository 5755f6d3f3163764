// What the SEG and SR writers share: new UIDs, DICOM date/time and DS formatting, the patient and study attributes
// copied from the source images, and writing a naturalized data set as a Part 10 file with dcmjs.
import { randomUUID } from 'node:crypto';
import dcmjs from 'dcmjs';
import type { DicomImage } from '../dicom/image.js';
import { resultError } from './errors.js';

/** Implementation Class UID in the file meta information of every object these writers make (a fixed 2.25 UUID UID). */
const IMPLEMENTATION_CLASS_UID = '2.25.301474633717245040536417219917212290847';
const IMPLEMENTATION_VERSION = 'LEPTON_RESULTS1';
const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
const UID = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/;

/** A fresh UID under the 2.25 root (PS3.5 B.2): a random UUID as a decimal integer. @internal */
export function newUid(): string {
  return `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`)}`;
}

/** @internal */
export function isUid(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= 64 && UID.test(v);
}

/** @throws LeptonError `DICOM_RESULT_INVALID_INPUT` unless `v` is a valid UID @internal */
export function checkUid(v: unknown, option: string): string {
  if (!isUid(v)) throw resultError('DICOM_RESULT_INVALID_INPUT', `${option} must be a DICOM UID (digits and dots, at most 64 characters).`, { option });
  return v;
}

/** Date and time of `now` in UTC as DA and TM values (the objects carry Timezone Offset From UTC +0000). @internal */
export function dicomDateTime(now: Date): { date: string; time: string } {
  if (!(now instanceof Date) || !Number.isFinite(now.getTime())) throw resultError('DICOM_RESULT_INVALID_INPUT', 'now must be a valid Date.', { option: 'now' });
  const iso = now.toISOString(); // 2026-01-05T08:30:00.123Z
  return { date: iso.slice(0, 10).replace(/-/g, ''), time: `${iso.slice(11, 19).replace(/:/g, '')}.${iso.slice(20, 23)}` };
}

/**
 * A number as a Decimal String value: at most 16 characters (PS3.5 6.2), so very long decimals lose digits.
 * @throws LeptonError `DICOM_RESULT_INVALID_INPUT` for NaN or ±Infinity
 * @internal
 */
export function ds(n: number, what: string): string {
  if (!Number.isFinite(n)) throw resultError('DICOM_RESULT_INVALID_INPUT', `${what} must be a finite number.`, { option: what });
  const plain = String(n === 0 ? 0 : n); // -0 → "0"
  if (plain.length <= 16) return plain;
  for (let p = 15; p >= 1; p--) {
    const s = String(Number(n.toPrecision(p)));
    if (s.length <= 16) return s;
    const e = n.toExponential(Math.max(0, p - 1)).replace('e+', 'e');
    if (e.length <= 16) return e;
  }
  return n.toExponential(0);
}

/** Checks a Code String value (upper case, digits, space, underscore; at most 16). @internal */
export function checkCs(v: string, option: string): string {
  if (typeof v !== 'string' || !/^[A-Z0-9 _]{1,16}$/.test(v)) {
    throw resultError('DICOM_RESULT_INVALID_INPUT', `${option} must be 1–16 characters of A–Z, 0–9, space or "_".`, { option });
  }
  return v;
}

/** Checks a short text value (LO: at most 64 characters, no backslash or control characters). @internal */
export function checkLo(v: string, option: string, max = 64): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max || /[\\\u0000-\u001f]/.test(v)) {
    throw resultError('DICOM_RESULT_INVALID_INPUT', `${option} must be 1–${max} characters without "\\" or control characters.`, { option });
  }
  return v;
}

/** An integer option in [min, max]. @internal */
export function checkInt(v: number, option: string, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) throw resultError('DICOM_RESULT_INVALID_INPUT', `${option} must be an integer in [${min}, ${max}].`, { option });
  return v;
}

/** Identity of one source image, checked. @internal */
export interface SourceRef {
  readonly sopClassUid: string;
  readonly sopInstanceUid: string;
  readonly seriesInstanceUid: string;
  readonly studyInstanceUid: string;
}

/**
 * Checks that every source is a parsed image with the four UIDs and that all belong to one study.
 * @throws LeptonError `DICOM_RESULT_INVALID_INPUT`
 * @internal
 */
export function sourceRefs(images: readonly DicomImage[], option = 'sourceImages'): SourceRef[] {
  if (!Array.isArray(images) || images.length === 0) throw resultError('DICOM_RESULT_INVALID_INPUT', `${option} must be a non-empty array of DicomImage (from readDicom / readDicomFile).`, { option });
  const refs = images.map((im, i) => {
    const meta = (im as Partial<DicomImage> | undefined)?.meta;
    if (meta === undefined || typeof (im as Partial<DicomImage>).getString !== 'function') {
      throw resultError('DICOM_RESULT_INVALID_INPUT', `${option}[${i}] is not a DicomImage (from readDicom / readDicomFile).`, { option, index: i });
    }
    const { sopClassUid, sopInstanceUid, seriesInstanceUid, studyInstanceUid } = meta;
    for (const [name, v] of [['SOP Class UID', sopClassUid], ['SOP Instance UID', sopInstanceUid], ['Series Instance UID', seriesInstanceUid], ['Study Instance UID', studyInstanceUid]] as const) {
      if (!isUid(v)) throw resultError('DICOM_RESULT_INVALID_INPUT', `${option}[${i}] has no valid ${name}; results can only reference identified instances.`, { option, index: i });
    }
    return { sopClassUid: sopClassUid!, sopInstanceUid: sopInstanceUid!, seriesInstanceUid: seriesInstanceUid!, studyInstanceUid: studyInstanceUid! };
  });
  const study = refs[0]!.studyInstanceUid;
  const other = refs.findIndex((r) => r.studyInstanceUid !== study);
  if (other >= 0) throw resultError('DICOM_RESULT_INVALID_INPUT', `${option}[${other}] belongs to another study than ${option}[0]; one result object describes one study.`, { option, index: other });
  const seen = new Set<string>();
  refs.forEach((r, i) => {
    if (seen.has(r.sopInstanceUid)) throw resultError('DICOM_RESULT_INVALID_INPUT', `${option}[${i}] is the same instance as an earlier one.`, { option, index: i });
    seen.add(r.sopInstanceUid);
  });
  return refs;
}

/** Patient and General Study attributes, copied from a source image (Type 2 ones present, empty when unknown). */
const COPIED: ReadonlyArray<readonly [keyword: string, tag: string]> = [
  ['PatientName', '00100010'],
  ['PatientID', '00100020'],
  ['IssuerOfPatientID', '00100021'],
  ['PatientBirthDate', '00100030'],
  ['PatientSex', '00100040'],
  ['StudyDate', '00080020'],
  ['StudyTime', '00080030'],
  ['ReferringPhysicianName', '00080090'],
  ['StudyID', '00200010'],
  ['AccessionNumber', '00080050'],
  ['StudyDescription', '00081030'],
];
const TYPE_2 = new Set(['PatientName', 'PatientID', 'PatientBirthDate', 'PatientSex', 'StudyDate', 'StudyTime', 'ReferringPhysicianName', 'StudyID', 'AccessionNumber']);

/**
 * The Patient and General Study modules of the source, re-encoded for an ISO_IR 192 (UTF-8) object. dicom-parser
 * hands text over byte for byte (Latin-1), which is right for ISO_IR 100 and plain ASCII and needs a UTF-8 decode for
 * ISO_IR 192; any other character set is refused unless the values are plain ASCII (no ISO 2022 escapes), rather
 * than writing mojibake into a patient's record.
 * @throws LeptonError `DICOM_RESULT_UNSUPPORTED`
 * @internal
 */
export function patientStudy(image: DicomImage): Record<string, string> {
  const charset = (image.getString('00080005') ?? '').split('\\').map((s) => s.trim()).filter((s) => s !== '');
  const latin1 = charset.length === 0 || (charset.length === 1 && (charset[0] === 'ISO_IR 100' || charset[0] === 'ISO_IR 6'));
  const utf8 = charset.length === 1 && charset[0] === 'ISO_IR 192';
  const out: Record<string, string> = {};
  for (const [keyword, tag] of COPIED) {
    const raw = image.getString(tag);
    if (raw === undefined || raw === '') {
      if (TYPE_2.has(keyword)) out[keyword] = '';
      continue;
    }
    // ISO 2022 code extensions (ESC sequences, e.g. Japanese IR 87) are 7-bit yet not ASCII text: they count too.
    // eslint-disable-next-line no-control-regex
    const escaped = /\x1b/.test(raw);
    // eslint-disable-next-line no-control-regex
    if (escaped || (/[^\x00-\x7f]/.test(raw) && !latin1 && !utf8)) {
      throw resultError('DICOM_RESULT_UNSUPPORTED', `The source images use Specific Character Set "${charset.join('\\')}", which the result writers cannot re-encode; convert the series to ISO_IR 192 first.`, { charset: charset.join('\\') });
    }
    out[keyword] = utf8 ? Buffer.from(raw, 'latin1').toString('utf8') : raw;
  }
  return out;
}

/**
 * Writes a naturalized data set as a DICOM Part 10 file, Explicit VR Little Endian.
 * @throws LeptonError `DICOM_RESULT_WRITE_FAILED`
 * @internal
 */
export function writePart10(dataset: Record<string, unknown>, what: string): Uint8Array {
  // dcmjs writes text as UTF-8 whatever the data set declares, so ISO_IR 192 is the one honest declaration; when every
  // value is ASCII the attribute is left out (the default repertoire), which every PACS and toolkit reads.
  // eslint-disable-next-line no-control-regex
  if (!/[^\x00-\x7f]/.test(JSON.stringify(dataset))) delete dataset['SpecificCharacterSet'];
  try {
    const meta = {
      FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
      MediaStorageSOPClassUID: dataset['SOPClassUID'],
      MediaStorageSOPInstanceUID: dataset['SOPInstanceUID'],
      TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
      ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
      ImplementationVersionName: IMPLEMENTATION_VERSION,
    };
    const dict = new dcmjs.data.DicomDict(dcmjs.data.DicomMetaDictionary.denaturalizeDataset(meta));
    dict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(dataset);
    return new Uint8Array(dict.write());
  } catch (err) {
    throw resultError('DICOM_RESULT_WRITE_FAILED', `dcmjs could not write the ${what}; please report this with the error's cause.`, { object: what }, err);
  }
}
