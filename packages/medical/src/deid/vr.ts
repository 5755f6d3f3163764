import dcmjs from 'dcmjs';

// dcmjs's own dictionary, so the re-encoded data set agrees with how dcmjs reads and writes it. Its typings (in
// src/types) leave the dictionary out; this is the one field used from it.
const DICTIONARY = (dcmjs.data as unknown as { DicomMetaDictionary: { dictionary: Record<string, { vr?: string } | undefined> } })
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
  const entry = DICTIONARY[`(${hex4(tag >>> 16)},${hex4(tag & 0xffff)})`];
  const vr = entry?.vr;
  if (vr === undefined || vr === '') return undefined;
  if (vr === 'ox' || vr.includes('OB')) return 'OB';
  if (vr === 'xs') return 'US';
  return vr.slice(0, 2);
}

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
