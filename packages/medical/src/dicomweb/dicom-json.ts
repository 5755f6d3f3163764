import { describeValue, LeptonError } from '@lepton/core';
/** One attribute in the DICOM JSON model (PS3.18 Annex F): its VR and values, or a bulk-data reference. */
export interface DicomJsonAttribute {
  /** Value Representation, e.g. `'UI'`, `'PN'`, `'IS'`. */
  readonly vr: string;
  /** Values: strings, numbers, `{ Alphabetic, Ideographic, Phonetic }` for PN, nested data sets for SQ. */
  readonly Value?: readonly unknown[];
  /** Where the server serves this attribute's bytes (WADO-RS metadata leaves pixel data out this way). */
  readonly BulkDataURI?: string;
  /** The bytes, base64. */
  readonly InlineBinary?: string;
}

/**
 * A data set in the DICOM JSON model, as QIDO-RS results and WADO-RS metadata return it: attributes keyed by tag,
 * eight upper-case hex digits (`'0020000D'` is Study Instance UID).
 */
export type DicomJsonDataset = Readonly<Record<string, DicomJsonAttribute | undefined>>;

const tagKey = (tag: string): string => tag.replace(/[(),\s]/g, '').toUpperCase();

function values(ds: DicomJsonDataset, tag: string): readonly unknown[] {
  if (typeof tag !== 'string') throw new LeptonError('INVALID_ARGUMENT', `A DICOM JSON tag must be a string such as '00100010', got ${describeValue(tag)}.`);
  if (typeof ds !== 'object' || ds === null) throw new LeptonError('INVALID_INPUT', `Expected a DICOM JSON data set (an object), got ${describeValue(ds)}.`);
  const key = tagKey(tag);
  // own attributes only ('constructor' is no tag), and a Value that is not an array (a peer's JSON) counts as absent
  const attribute: unknown = Object.hasOwn(ds, key) ? ds[key] : Object.hasOwn(ds, key.toLowerCase()) ? ds[key.toLowerCase()] : undefined;
  const list: unknown = typeof attribute === 'object' && attribute !== null ? (attribute as DicomJsonAttribute).Value : undefined;
  return Array.isArray(list) ? list : [];
}

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'object' && v !== null && 'Alphabetic' in v) {
    // PN; only a string or a number is text (String() of a Symbol or of an object whose toString throws would throw)
    const alphabetic: unknown = (v as { Alphabetic: unknown }).Alphabetic;
    return typeof alphabetic === 'string' ? alphabetic : typeof alphabetic === 'number' ? String(alphabetic) : undefined;
  }
  return undefined;
}

/**
 * Every value of an attribute as text (person names give their alphabetic form).
 *
 * @param ds - a DICOM JSON data set (a QIDO-RS result's `attributes`, a WADO-RS metadata entry)
 * @param tag - `GGGGEEEE` or `(GGGG,EEEE)`, hex, any case
 * @returns the values; empty when the attribute is absent or empty
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when `tag` is not a string, `INVALID_INPUT` when `ds` is
 *   not an object (a `Value` that is not an array reads as absent)
 * @example
 * ```ts
 * import { dicomJsonStrings } from '@lepton/medical';
 * console.log(dicomJsonStrings({ '00080061': { vr: 'CS', Value: ['CT', 'SR'] } }, '00080061')); // ['CT', 'SR']
 * ```
 */
export function dicomJsonStrings(ds: DicomJsonDataset, tag: string): string[] {
  return values(ds, tag).map(text).filter((v): v is string => v !== undefined);
}

/**
 * The first value of an attribute as text (person names give their alphabetic form).
 *
 * @param ds - a DICOM JSON data set
 * @param tag - `GGGGEEEE` or `(GGGG,EEEE)`, hex, any case
 * @returns the value, or undefined when absent or empty
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when `tag` is not a string, `INVALID_INPUT` when `ds` is
 *   not an object (a `Value` that is not an array reads as absent)
 * @example
 * ```ts
 * import { dicomJsonString } from '@lepton/medical';
 * console.log(dicomJsonString({ '00100010': { vr: 'PN', Value: [{ Alphabetic: 'DOE^JANE' }] } }, '(0010,0010)')); // 'DOE^JANE'
 * ```
 */
export function dicomJsonString(ds: DicomJsonDataset, tag: string): string | undefined {
  return dicomJsonStrings(ds, tag)[0];
}

/**
 * The first value of a numeric attribute (IS, DS, US, UL, FL, FD …; strings are parsed).
 *
 * @param ds - a DICOM JSON data set
 * @param tag - `GGGGEEEE` or `(GGGG,EEEE)`, hex, any case
 * @returns the number, or undefined when absent, empty or not a number
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when `tag` is not a string, `INVALID_INPUT` when `ds` is
 *   not an object (a `Value` that is not an array reads as absent)
 * @example
 * ```ts
 * import { dicomJsonNumber } from '@lepton/medical';
 * console.log(dicomJsonNumber({ '00201208': { vr: 'IS', Value: [12] } }, '00201208')); // 12
 * ```
 */
export function dicomJsonNumber(ds: DicomJsonDataset, tag: string): number | undefined {
  const v = values(ds, tag)[0];
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}
