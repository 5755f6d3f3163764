import type { DcmjsDataset, DcmjsElement } from 'dcmjs';
import { BASIC_PROFILE, type AnnexEAction } from './basic-profile.js';
import { dictionaryVr } from './vr.js';

/**
 * What is done to one attribute: `X` remove, `Z` empty, `D` replace with a dummy value, `U` replace UIDs, `K` keep
 * (sequences: keep and process their items).
 */
export type DeidAction = 'X' | 'Z' | 'D' | 'U' | 'K';

/**
 * How each Annex E action code is applied without knowing the attribute's Type in the instance's IOD. The combined
 * codes mean "the first unless the IOD needs the next one"; this package always takes the choice that keeps every
 * IOD valid — an empty value where a Type 2 attribute may need one, a dummy where a Type 1 attribute may need
 * one — so a de-identified file never fails validation because of a missing or empty attribute, and still carries
 * none of the original value. Sequences under `X/Z/U*` (Referenced Image, Source Image) are kept with every UID in
 * them replaced, so references between de-identified instances still resolve. `C` (clean) belongs to the options,
 * not the Basic Profile; it is applied as `D`.
 */
export const ACTION_RESOLUTION: Readonly<Record<AnnexEAction, DeidAction>> = {
  D: 'D',
  Z: 'Z',
  X: 'X',
  K: 'K',
  C: 'D',
  U: 'U',
  'Z/D': 'D',
  'X/Z': 'Z',
  'X/D': 'D',
  'X/Z/D': 'D',
  'X/Z/U*': 'U',
};

/**
 * Dummy values used by the `D` action, by VR. Dates and times become the DICOM epoch-like 1900-01-01 00:00, text
 * becomes `ANONYMIZED`, numbers 0; UIDs are remapped like `U`; a sequence becomes empty (a dummy item could not be
 * valid for every sequence, and an empty one carries nothing). Patient ID is not taken from here: it gets a keyed
 * pseudonym (see {@link DeidentifyOptions.patientId}).
 */
export const DUMMY_VALUES: Readonly<Record<string, string | number>> = {
  AE: 'ANONYMIZED',
  AS: '000Y',
  CS: 'ANONYMIZED',
  DA: '19000101',
  DS: '0',
  DT: '19000101000000.000000',
  IS: '0',
  LO: 'ANONYMIZED',
  LT: 'ANONYMIZED',
  PN: 'ANONYMIZED',
  SH: 'ANONYMIZED',
  ST: 'ANONYMIZED',
  TM: '000000.00',
  UC: 'ANONYMIZED',
  UR: 'urn:anonymized',
  UT: 'ANONYMIZED',
  FL: 0,
  FD: 0,
  SL: 0,
  SS: 0,
  UL: 0,
  US: 0,
  SV: 0,
  UV: 0,
};

/** Counts of what was done, for a report. */
export interface DeidSummary {
  /** Attributes removed (X), private attributes included. */
  readonly removed: number;
  /** Of those, private attributes (odd groups), at any depth. */
  readonly privateRemoved: number;
  /** Attributes emptied (Z). */
  readonly emptied: number;
  /** Attributes given a dummy value or pseudonym (D). */
  readonly replaced: number;
  /** UID values replaced (U, and D on UIDs). */
  readonly uidsReplaced: number;
  /**
   * Sequences found encoded with VR UN (PS3.5 6.2.2: Implicit VR Little Endian items inside an element of unknown
   * VR, as toolkits write sequences they do not know) and de-identified as the sequences they are.
   */
  readonly unknownVrSequences: number;
  /**
   * Elements removed because their value could not be interpreted: a UN-encoded sequence whose items do not parse,
   * an OB/OW element with undefined length outside Pixel Data, a text value (CS, LO, PN …) holding control
   * characters (binary: in a damaged file, typically the elements a wrong length field swallowed), a code, number,
   * date or UID with characters outside its repertoire, binary numbers beyond the tag's value multiplicity, an
   * explicit text VR that does not fit its tag, and an element out of ascending tag order with the one before it.
   * Not counted in `removed`.
   */
  readonly unparseableRemoved: number;
}

/** What the profile needs from its caller. @internal */
export interface ProfileContext {
  readonly overrides: ReadonlyMap<string, DeidAction>;
  readonly mapUid: (uid: string) => string;
  readonly patientId: (original: string) => string;
  readonly patientName: ((original: string) => string) | undefined;
  readonly counts: { removed: number; privateRemoved: number; emptied: number; replaced: number; uidsReplaced: number; temporal: number };
}

const TEMPORAL_VRS = new Set(['DA', 'DT', 'TM']);
const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);

/** Table rules for groups of attributes (Table E.1-1 rows for 50xx,xxxx; 60xx,3000; 60xx,4000). */
function groupRule(group: number, element: number): DeidAction | undefined {
  if (group >= 0x5000 && group <= 0x50ff) return 'X'; // curve data (retired), all of it
  if (group >= 0x6000 && group <= 0x60ff && (element === 0x3000 || element === 0x4000)) return 'X'; // overlay data, comments
  return undefined;
}

/**
 * What happens to an attribute that neither the overrides nor Table E.1-1 (nor its group rules) name — the safe
 * default, because the table lists the attributes known when it was written, and names and patient data also turn up
 * in attributes it does not list (Evaluator Name (0014,2006), Secondary Reviewer Name (0014,0104), attributes newer
 * than the table, or a vendor's non-standard tag in the patient group):
 * - group 0010 (the Patient module and patient-related attributes): removed (X), whatever its VR — this covers
 *   elements of unknown VR (UN, e.g. an implicit VR file's tags that no dictionary knows);
 * - VR PN (a person name) anywhere else: replaced with the dummy `ANONYMIZED` (D), as the table does for listed
 *   names an IOD may require (Verifying Observer Name, Person Name), so the file stays valid whatever the attribute's
 *   Type;
 * - groups 0000–0007 except 0004 (DICOMDIR): removed (X); command and file meta elements never belong in a data set;
 * - a tag the DICOM dictionary does not know (a non-standard or mis-encoded public tag, e.g. Study Description with
 *   one bit flipped, or Patient ID's tag turned into (6010,0020), which no overlay has), unless it is a sequence:
 *   removed (X) — nobody can tell what it holds. The dictionary knows every repeating group (60xx overlays, 50xx
 *   curves). An unknown sequence (such as one a toolkit wrote with VR UN) is kept, its items de-identified by these
 *   same rules;
 * - anything else: kept (K), sequences with the profile applied to their items.
 * Never "simplify" this back to keeping every unlisted attribute: that kept reviewers' names and unknown patient
 * attributes while the output said Patient Identity Removed YES.
 * @internal
 */
export function unlistedAction(group: number, vr: string, known: boolean): DeidAction {
  if (group === 0x0010) return 'X';
  // command (0000) and file meta (0002) elements, and the unused groups, never belong in a data set: one flipped byte
  // in a private tag made (0000,0001), which the dictionary knows, and its "UL" values were the private text
  if (group < 0x0008 && group !== 0x0004) return 'X';
  if (vr === 'PN') return 'D';
  if (!known && vr !== 'SQ') return 'X';
  return 'K';
}

/** @internal */
export function actionFor(tag: string, overrides: ReadonlyMap<string, DeidAction>, vr = ''): DeidAction {
  const override = overrides.get(tag);
  if (override !== undefined) return override;
  const rule = BASIC_PROFILE.get(tag);
  if (rule !== undefined) return ACTION_RESOLUTION[rule.action];
  const group = parseInt(tag.slice(0, 4), 16);
  const element = parseInt(tag.slice(4), 16);
  return groupRule(group, element) ?? unlistedAction(group, vr, dictionaryVr(((group << 16) | element) >>> 0) !== undefined);
}

const firstString = (el: DcmjsElement): string => {
  const v = el.Value?.[0];
  if (typeof v === 'string') return v;
  if (v !== null && typeof v === 'object' && 'Alphabetic' in v) return String((v as { Alphabetic: unknown }).Alphabetic ?? '');
  return '';
};

function setValue(el: DcmjsElement, values: unknown[]): void {
  el.Value = values;
  // dcmjs writes `_rawValue` back when it still equals Value; never let an original value ride along
  delete el._rawValue;
}

/** The values of a UID attribute as strings, whatever VR it was stored with (UN, OB: the text its bytes hold). */
function uidStrings(el: DcmjsElement): string[] {
  return (el.Value ?? []).flatMap((v) => {
    if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
      const bytes = v instanceof ArrayBuffer ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      return bytes.toString('latin1').replace(/[\0 ]+$/, '').split('\\');
    }
    return [String(v)];
  });
}

function dummy(tag: string, el: DcmjsElement, ctx: ProfileContext): unknown[] {
  if (tag === '00100020') return [ctx.patientId(firstString(el))];
  if (el.vr === 'UI') return (el.Value ?? []).map((v) => ctx.mapUid(String(v)));
  if (el.vr === 'SQ') return [];
  if (el.vr === 'AT') return [0];
  if (BINARY_VRS.has(el.vr)) return [new Uint8Array(2).buffer];
  const value = DUMMY_VALUES[el.vr] ?? 'ANONYMIZED';
  return [el.vr === 'PN' ? { Alphabetic: value } : value];
}

/**
 * Applies the profile to a dcmjs data set in place, recursing into every sequence item that is kept: the Basic
 * Profile's rules hold at any depth (PS3.15 E.1.1: "whether contained in the main dataset or embedded in an Item of
 * a Sequence of Items"). Group lengths are dropped everywhere: they would be stale after editing, and are retired.
 * @internal
 */
export function applyProfile(ds: DcmjsDataset, ctx: ProfileContext): void {
  const c = ctx.counts;
  for (const tag of Object.keys(ds)) {
    const el = ds[tag]!;
    const group = parseInt(tag.slice(0, 4), 16);
    const element = parseInt(tag.slice(4), 16);
    if (element === 0) {
      delete ds[tag];
      continue;
    }
    if (group % 2 === 1) {
      // private attributes (and the reserved odd groups 0001-0007, FFFF): removed, creators and contents alike
      delete ds[tag];
      c.removed++;
      c.privateRemoved++;
      continue;
    }
    const action = tag === '00100010' && ctx.patientName !== undefined ? 'D' : actionFor(tag, ctx.overrides, el.vr);
    const temporal = TEMPORAL_VRS.has(el.vr) && action !== 'K' && action !== 'U';
    if (temporal) c.temporal++;
    switch (action) {
      case 'X':
        delete ds[tag];
        c.removed++;
        break;
      case 'Z':
        setValue(el, []);
        c.emptied++;
        break;
      case 'D':
        if (tag === '00100010' && ctx.patientName !== undefined) {
          setValue(el, [{ Alphabetic: ctx.patientName(firstString(el)) }]);
        } else {
          setValue(el, dummy(tag, el, ctx));
        }
        if (el.vr === 'UI') c.uidsReplaced += el.Value!.length;
        else c.replaced++;
        break;
      case 'U':
        if (el.vr === 'SQ') {
          for (const item of (el.Value ?? []) as DcmjsDataset[]) applyProfile(item, ctx);
          delete el._rawValue;
        } else {
          // a UID attribute stored with another VR (a damaged or mis-converted file): its values become UIDs, so it is
          // written as UI — the writer would refuse a UID in a TM, and binary (UN) is read as the text it holds
          setValue(el, uidStrings(el).map((v) => ctx.mapUid(v)));
          el.vr = 'UI';
          c.uidsReplaced += el.Value!.length;
        }
        break;
      default: // K (listed, or the safe default for an unlisted one): keep; a kept sequence still has its items processed
        if (el.vr === 'SQ') {
          for (const item of (el.Value ?? []) as DcmjsDataset[]) applyProfile(item, ctx);
          delete el._rawValue;
        }
    }
  }
}
