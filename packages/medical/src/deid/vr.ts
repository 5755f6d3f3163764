import dcmjs from 'dcmjs';

// dcmjs's own dictionary, so the re-encoded data set agrees with how dcmjs reads and writes it. Its typings (in
// src/types) leave the dictionary out; this is the one field used from it.
const DICTIONARY = (dcmjs.data as unknown as { DicomMetaDictionary: { dictionary: Record<string, { vr?: string; vm?: string } | undefined> } })
  .DicomMetaDictionary.dictionary;

/** VRs whose explicit-VR header has two reserved bytes and a 32-bit length (PS3.5 7.1.2). @internal */
export const LONG_VRS: ReadonlySet<string> = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

const hex4 = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0');

/**
 * The VR the dictionary gives a tag, or undefined when the tag is unknown (private tags, attributes newer than the
 * dictionary). Where the dictionary allows two VRs, the one that needs no byte swapping is taken when it is OB
 * ("OB or OW"), otherwise the first ("US or SS" → US: both swap alike).
 * @internal
 */
export function dictionaryVr(tag: number): string | undefined {
  return dictionaryVrs(tag)?.[0];
}

/**
 * Every VR the dictionary allows a tag, the preferred one first (see {@link dictionaryVr}): dcmjs writes "OB or OW"
 * as `ox`, "US or SS" as `xs` and "US or SS or OW" (LUT Data) as `lt`. Undefined when the tag is unknown.
 * @internal
 */
export function dictionaryVrs(tag: number): readonly string[] | undefined {
  const vr = DICTIONARY[`(${hex4(tag >>> 16)},${hex4(tag & 0xffff)})`]?.vr;
  if (vr === undefined || vr === '') return undefined;
  if (vr === 'ox') return OB_OW;
  if (vr === 'xs') return US_SS;
  if (vr === 'lt') return OW_US_SS;
  return vr.includes('OB') ? OB_OW : [vr.slice(0, 2)];
}

const OB_OW = ['OB', 'OW'];
const US_SS = ['US', 'SS'];
// LUT Data: OW first, so a long table never needs a 16-bit length when it is re-encoded
const OW_US_SS = ['OW', 'US', 'SS'];

/** Bytes per number for VRs whose values are byte-order dependent (1: none). @internal */
export function swapSize(vr: string): number {
  switch (vr) {
    case 'US':
    case 'SS':
    case 'OW':
    case 'AT':
      return 2;
    case 'UL':
    case 'SL':
    case 'FL':
    case 'OL':
    case 'OF':
      return 4;
    case 'FD':
    case 'OD':
    case 'SV':
    case 'UV':
    case 'OV':
      return 8;
    default:
      return 1;
  }
}

/** Does the value at `at` start with an Item tag (FFFE,E000) in Implicit VR Little Endian? @internal */
export function isItemValue(src: Uint8Array, at: number, length: number): boolean {
  return length >= 8 && src[at] === 0xfe && src[at + 1] === 0xff && src[at + 2] === 0x00 && src[at + 3] === 0xe0;
}

/** VRs whose values are character strings (PS3.5 6.2): a control character in one is a mis-encoding. @internal */
export const TEXT_VRS: ReadonlySet<string> = new Set(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT']);

/**
 * Is `src[from, to)` a character string as PS3.5 6.1 allows it: no control character other than TAB, LF, FF, CR and
 * ESC (ISO 2022 code extensions), NULs only as trailing padding, and for a code, number, date or UID (`vr` CS, DS,
 * IS, DA, TM, DT, UI, AS) only the characters of its repertoire? A value that breaks this is not what its VR says: in
 * a damaged file it is typically the binary headers of the elements that a wrong length field swallowed, or a
 * patient's name or ID whose tag lost a bit, which must never be kept inside an attribute the profile keeps.
 * @internal
 */
export function isPlainText(src: Uint8Array, from: number, to: number, vr = ''): boolean {
  const allowed = REPERTOIRES[vr];
  let end = to;
  while (end > from && src[end - 1] === 0) end--;
  for (let i = from; i < end; i++) {
    const b = src[i]!;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0c && b !== 0x0d && b !== 0x1b) return false;
    if (allowed !== undefined && b !== 0x5c && !allowed.test(String.fromCharCode(b))) return false;
  }
  return true;
}

/**
 * The characters PS3.5 6.2 allows in the VRs whose values are codes, numbers, dates and UIDs (backslash, the value
 * separator, is allowed in all of them). Lower-case letters are allowed where the standard says upper case only, as
 * are the old "." and ":" separators of dates and times and a decimal comma: real files break those rules, and none
 * of them lets a name (with its `^`) or an ID with a hyphen through.
 */
const REPERTOIRES: Record<string, RegExp> = {
  CS: /[A-Za-z0-9 _]/,
  DS: /[0-9+\-Ee., ]/,
  IS: /[0-9+\- ]/,
  DA: /[0-9. -]/,
  TM: /[0-9.: -]/,
  DT: /[0-9+.\- ]/,
  UI: /[0-9. ]/,
  AS: /[0-9DWMY ]/,
};

/** VRs of fixed-size binary numbers, whose value length is the number size times the value count. */
const NUMBER_VRS: ReadonlySet<string> = new Set(['AT', 'FD', 'FL', 'SL', 'SS', 'SV', 'UL', 'US', 'UV']);

/**
 * Does a binary number value of `length` bytes fit the tag's value multiplicity? False when its length is not a whole
 * number of values, or it holds more values than the dictionary's fixed VM allows (Rows, US, VM 1: 2 bytes; a
 * 16-byte "FL" under Position of Isocenter Projection, VM 2, is text whose tag lost a bit). Unknown tags, other VRs
 * and open-ended VMs (1-n, 2-2n) fit.
 * @internal
 */
export function fitsMultiplicity(tag: number, vr: string, length: number): boolean {
  if (!NUMBER_VRS.has(vr)) return true;
  const size = vr === 'AT' ? 4 : swapSize(vr); // an AT is two 16-bit numbers, swapped as such
  if (length % size !== 0) return false;
  const vm = DICTIONARY[`(${hex4(tag >>> 16)},${hex4(tag & 0xffff)})`]?.vm;
  const max = vm === undefined ? NaN : Number(vm.split('-').pop());
  return !Number.isInteger(max) || length / size <= max;
}
