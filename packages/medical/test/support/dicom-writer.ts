// A minimal DICOM Part 10 writer for tests: builds a file byte by byte from a list of elements, so a test can plant
// exactly the attribute it is about (an unlisted person name, an unknown tag, a rescale of 1e308 …) in either Explicit
// or Implicit VR Little Endian. Every value is invented; nothing here comes from a real patient.
import { concatBytes } from './fixtures.js';

/** One data element: tag `GGGGEEEE` (hex), VR, and a value (text, raw bytes, or sequence items). */
export interface TestElement {
  readonly tag: string;
  readonly vr: string;
  readonly value: string | Uint8Array | readonly (readonly TestElement[])[];
}

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const IMPLICIT_LE = '1.2.840.10008.1.2';

const u16 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff];
const u32 = (n: number): number[] => [...u16(n & 0xffff), ...u16(n >>> 16)];
const tagBytes = (tag: string): number[] => [...u16(parseInt(tag.slice(0, 4), 16)), ...u16(parseInt(tag.slice(4), 16))];

function valueBytes(el: TestElement, implicit: boolean): Uint8Array {
  if (el.vr === 'SQ') {
    const items = (el.value as readonly (readonly TestElement[])[]).map((item) => {
      const body = encode(item, implicit);
      return Uint8Array.from([...tagBytes('FFFEE000'), ...u32(body.length), ...body]);
    });
    return concatBytes(items);
  }
  if (el.value instanceof Uint8Array) return el.value.length % 2 === 0 ? el.value : concatBytes([el.value, new Uint8Array(1)]);
  const text = Buffer.from(el.value as string, 'latin1');
  return text.length % 2 === 0 ? new Uint8Array(text) : concatBytes([new Uint8Array(text), Uint8Array.of(el.vr === 'UI' ? 0 : 0x20)]);
}


function encode(elements: readonly TestElement[], implicit: boolean): Uint8Array {
  const sorted = [...elements].sort((a, b) => parseInt(a.tag, 16) - parseInt(b.tag, 16));
  return concatBytes(
    sorted.map((el) => {
      const value = valueBytes(el, implicit);
      const header = implicit
        ? [...tagBytes(el.tag), ...u32(value.length)]
        : LONG_VRS.has(el.vr)
          ? [...tagBytes(el.tag), el.vr.charCodeAt(0), el.vr.charCodeAt(1), 0, 0, ...u32(value.length)]
          : [...tagBytes(el.tag), el.vr.charCodeAt(0), el.vr.charCodeAt(1), ...u16(value.length)];
      return concatBytes([Uint8Array.from(header), value]);
    }),
  );
}

/** Unsigned 16-bit values as an OW/US value. */
export const words = (...values: number[]): Uint8Array => Uint8Array.from(values.flatMap(u16));

/**
 * A Part 10 file: preamble, `DICM`, file meta information (Explicit VR LE) and the data set in the chosen syntax.
 * The SOP Class/Instance UIDs of the meta are taken from the data set's (0008,0016)/(0008,0018).
 */
export function part10(elements: readonly TestElement[], options: { implicit?: boolean } = {}): Uint8Array {
  const implicit = options.implicit === true;
  const find = (tag: string): string => (elements.find((e) => e.tag === tag)?.value as string | undefined) ?? '1.2.3';
  const metaBody = encode(
    [
      { tag: '00020001', vr: 'OB', value: Uint8Array.of(0, 1) },
      { tag: '00020002', vr: 'UI', value: find('00080016') },
      { tag: '00020003', vr: 'UI', value: find('00080018') },
      { tag: '00020010', vr: 'UI', value: implicit ? IMPLICIT_LE : EXPLICIT_LE },
      { tag: '00020012', vr: 'UI', value: '2.25.1' },
    ],
    false,
  );
  const groupLength = encode([{ tag: '00020000', vr: 'UL', value: Uint8Array.from(u32(metaBody.length)) }], false);
  const preamble = new Uint8Array(132);
  preamble.set([0x44, 0x49, 0x43, 0x4d], 128);
  return concatBytes([preamble, groupLength, metaBody, encode(elements, implicit)]);
}

/**
 * A 4×4, 12-bit CT slice (stored values 0…15) with the given extra or replacing elements: enough for the reader,
 * the modality LUT, the volume builder and the de-identifier.
 */
export function ctSlice(extra: readonly TestElement[] = [], options: { implicit?: boolean; instance?: number; z?: number } = {}): Uint8Array {
  const n = options.instance ?? 1;
  const base: TestElement[] = [
    { tag: '00080016', vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.2' },
    { tag: '00080018', vr: 'UI', value: `2.25.4242.${n}` },
    { tag: '00080060', vr: 'CS', value: 'CT' },
    { tag: '00100010', vr: 'PN', value: 'TESTPATIENT^PLANTED' },
    { tag: '00100020', vr: 'LO', value: 'PLANTEDID7' },
    { tag: '0020000D', vr: 'UI', value: '2.25.4242' },
    { tag: '0020000E', vr: 'UI', value: '2.25.4243' },
    { tag: '00200013', vr: 'IS', value: String(n) },
    { tag: '00200032', vr: 'DS', value: `0\\0\\${options.z ?? n}` },
    { tag: '00200037', vr: 'DS', value: '1\\0\\0\\0\\1\\0' },
    { tag: '00200052', vr: 'UI', value: '2.25.4244' },
    { tag: '00280002', vr: 'US', value: words(1) },
    { tag: '00280004', vr: 'CS', value: 'MONOCHROME2' },
    { tag: '00280010', vr: 'US', value: words(4) },
    { tag: '00280011', vr: 'US', value: words(4) },
    { tag: '00280030', vr: 'DS', value: '1\\1' },
    { tag: '00280100', vr: 'US', value: words(16) },
    { tag: '00280101', vr: 'US', value: words(12) },
    { tag: '00280102', vr: 'US', value: words(11) },
    { tag: '00280103', vr: 'US', value: words(0) },
    { tag: '00281052', vr: 'DS', value: '-1024' },
    { tag: '00281053', vr: 'DS', value: '1' },
    { tag: '7FE00010', vr: 'OW', value: words(...Array.from({ length: 16 }, (_, i) => i)) },
  ];
  const replaced = new Set(extra.map((e) => e.tag));
  return part10([...base.filter((e) => !replaced.has(e.tag)), ...extra], options);
}
