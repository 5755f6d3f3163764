import { resultError } from './errors.js';

/**
 * A coded concept (PS3.3 Code Sequence Macro): `value` in the coding scheme `scheme` (`SCT` for SNOMED CT, `DCM` for
 * DICOM's own terms, `UCUM` for units, or a private `99…` scheme), with its human-readable `meaning`.
 */
export interface CodedConcept {
  /** Code Value (0008,0100), at most 16 characters. */
  readonly value: string;
  /** Coding Scheme Designator (0008,0102), e.g. `SCT`, `DCM`, `UCUM`. */
  readonly scheme: string;
  /** Code Meaning (0008,0104), at most 64 characters. */
  readonly meaning: string;
  /** Coding Scheme Version (0008,0103), when the scheme needs one. */
  readonly schemeVersion?: string;
}

/** A naturalized Code Sequence item. @internal */
export interface CodeItem {
  CodeValue: string;
  CodingSchemeDesignator: string;
  CodeMeaning: string;
  CodingSchemeVersion?: string;
}

const code = (value: string, scheme: string, meaning: string): CodedConcept => ({ value, scheme, meaning });

/**
 * The terms the writers use, from PS3.16 (DCM) and SNOMED CT (SCT), as PS3.16 lists them (the DCM ones spot-checked
 * against DCMTK's generated dcmsr/codes/dcm.h). Changing one changes what every PACS and viewer reads. @internal
 */
export const CODES = {
  // SEG
  sourceImageForProcessing: code('121322', 'DCM', 'Source image for image processing operation'),
  segmentation: code('113076', 'DCM', 'Segmentation'),
  morphologicallyAlteredStructure: code('49755003', 'SCT', 'Morphologically Altered Structure'),
  lesion: code('52988006', 'SCT', 'Lesion'),
  artificialIntelligence: code('123109', 'DCM', 'Artificial Intelligence'),
  // SR: TID 1500 and the templates it includes
  imagingMeasurementReport: code('126000', 'DCM', 'Imaging Measurement Report'),
  language: code('121049', 'DCM', 'Language of Content Item and Descendants'),
  englishUs: code('en-US', 'RFC5646', 'English (United States)'),
  observerType: code('121005', 'DCM', 'Observer Type'),
  device: code('121007', 'DCM', 'Device'),
  deviceObserverUid: code('121012', 'DCM', 'Device Observer UID'),
  deviceObserverName: code('121013', 'DCM', 'Device Observer Name'),
  deviceObserverManufacturer: code('121014', 'DCM', 'Device Observer Manufacturer'),
  deviceObserverModelName: code('121015', 'DCM', 'Device Observer Model Name'),
  procedureReported: code('121058', 'DCM', 'Procedure reported'),
  imagingProcedure: code('363679005', 'SCT', 'Imaging procedure'),
  imageLibrary: code('111028', 'DCM', 'Image Library'),
  imageLibraryGroup: code('126200', 'DCM', 'Image Library Group'),
  imagingMeasurements: code('126010', 'DCM', 'Imaging Measurements'),
  measurementGroup: code('125007', 'DCM', 'Measurement Group'),
  trackingIdentifier: code('112039', 'DCM', 'Tracking Identifier'),
  trackingUniqueIdentifier: code('112040', 'DCM', 'Tracking Unique Identifier'),
  finding: code('121071', 'DCM', 'Finding'),
  certaintyOfFinding: code('111012', 'DCM', 'Certainty of Finding'),
  algorithmName: code('111001', 'DCM', 'Algorithm Name'),
  algorithmVersion: code('111003', 'DCM', 'Algorithm Version'),
  sourceOfMeasurement: code('121112', 'DCM', 'Source of Measurement'),
  referencedSegment: code('121191', 'DCM', 'Referenced Segment'),
  sourceSeriesForSegmentation: code('121232', 'DCM', 'Source series for segmentation'),
  volume: code('118565006', 'SCT', 'Volume'),
  // units (UCUM)
  cubicMillimetre: code('mm3', 'UCUM', 'cubic millimeter'),
  probability: code('{probability}', 'UCUM', 'probability'),
  // findings
  nodule: code('27925004', 'SCT', 'Nodule'),
  normal: code('17621005', 'SCT', 'Normal'),
} as const;

/** Codes for the labels Lepton's models use out of the box; other labels need `findingCodes` or get a `99LEPTON` code. @internal */
export const DEFAULT_FINDINGS: Readonly<Record<string, CodedConcept>> = {
  nodule: CODES.nodule,
  lesion: CODES.lesion,
  normal: CODES.normal,
};

/**
 * A label's private code (scheme `99LEPTON`, PS3.16 8.2: designators starting with `99` are private): the label in
 * upper case, characters outside `A–Z 0–9 _` replaced, cut to 16 characters.
 * @internal
 */
export function privateCode(label: string): CodedConcept {
  const value = label.toUpperCase().replace(/[^A-Z0-9_]/g, '_').slice(0, 16) || 'UNLABELLED';
  return { value, scheme: '99LEPTON', meaning: label.slice(0, 64) || 'unlabelled' };
}

/**
 * Checks a caller's concept and turns it into a Code Sequence item.
 * @throws LeptonError `DICOM_RESULT_INVALID_INPUT` for empty or over-long fields
 * @internal
 */
export function codeItem(c: CodedConcept, option: string): CodeItem {
  const bad = (why: string): never => {
    throw resultError('DICOM_RESULT_INVALID_INPUT', `${option}: ${why}.`, { option });
  };
  if (typeof c !== 'object' || c === null) bad('expected { value, scheme, meaning }');
  if (typeof c.value !== 'string' || c.value.length === 0 || c.value.length > 16) bad('code value must be 1–16 characters');
  if (typeof c.scheme !== 'string' || !/^[A-Z0-9_ -]{1,16}$/i.test(c.scheme)) bad('coding scheme designator must be 1–16 letters, digits, "_" or "-"');
  if (typeof c.meaning !== 'string' || c.meaning.length === 0 || c.meaning.length > 64) bad('code meaning must be 1–64 characters');
  const item: CodeItem = { CodeValue: c.value, CodingSchemeDesignator: c.scheme, CodeMeaning: c.meaning };
  if (c.schemeVersion !== undefined) item.CodingSchemeVersion = c.schemeVersion;
  return item;
}
