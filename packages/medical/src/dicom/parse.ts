import { inflateRawSync } from 'node:zlib';
import dicomParser, { type DataSet, type Element } from 'dicom-parser';
import { dicomError, parserMessage } from './errors.js';
import { DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN } from './transfer-syntax.js';

/** VRs whose explicit-VR header has two reserved bytes and a 32-bit length (PS3.5 7.1.2). */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
/** Every VR of PS3.5 6.2, to tell an explicit-VR header from garbage. @internal */
export const VRS: ReadonlySet<string> = new Set(
  'AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV'.split(' '),
);

const hex4 = (n: number): string => n.toString(16).padStart(4, '0');
const u32le = (b: Uint8Array, p: number): number => ((b[p] ?? 0) | ((b[p + 1] ?? 0) << 8) | ((b[p + 2] ?? 0) << 16) | ((b[p + 3] ?? 0) << 24)) >>> 0;

/**
 * Reads the File Meta Information (group 0002, always Explicit VR Little Endian) from `start` up to the first element
 * of another group.
 *
 * Why not dicom-parser's `readPart10Header`: it stops at the first tag *greater* than (0002,FFFF), so a data set that
 * starts with group 0000 or 0001 (private-looking groups some toolkits write, e.g. pydicom's `nested_priv_SQ.dcm`) is
 * read as more meta information, in the wrong encoding, until it runs off the end of the file — a valid file that
 * dcmtk and pydicom read was refused as cut short.
 */
function readMetaInformation(b: Uint8Array, start: number, where: Record<string, unknown>): { elements: Record<string, Element>; end: number } {
  const elements: Record<string, Element> = {};
  let p = start;
  while (p + 8 <= b.length && b[p] === 0x02 && b[p + 1] === 0x00) {
    const tag = `x0002${hex4((b[p + 2] ?? 0) | ((b[p + 3] ?? 0) << 8))}`;
    const vr = String.fromCharCode(b[p + 4] ?? 0, b[p + 5] ?? 0);
    if (!VRS.has(vr)) {
      throw dicomError('DICOM_MALFORMED', 'The file meta information (group 0002) is not in Explicit VR Little Endian as PS3.10 requires. Re-export the file.', where);
    }
    let length: number;
    let dataOffset: number;
    if (LONG_VRS.has(vr)) {
      if (p + 12 > b.length) break;
      length = u32le(b, p + 8);
      dataOffset = p + 12;
    } else {
      length = (b[p + 6] ?? 0) | ((b[p + 7] ?? 0) << 8);
      dataOffset = p + 8;
    }
    if (length === 0xffffffff) {
      throw dicomError('DICOM_MALFORMED', 'A file meta information element has an undefined length, which PS3.10 does not allow. Re-export the file.', where);
    }
    if (dataOffset + length > b.length) {
      throw dicomError('DICOM_TRUNCATED', 'The DICOM file ends inside its file meta information: it was cut short. Fetch it again.', where);
    }
    elements[tag] = { tag, vr, length, dataOffset, parser: dicomParser.littleEndianByteArrayParser };
    p = dataOffset + length;
  }
  return { elements, end: p };
}

/** The Transfer Syntax UID (0002,0010) of parsed meta information, without padding. */
function metaTransferSyntax(b: Uint8Array, el: Element | undefined): string | undefined {
  if (el === undefined || el.length === 0) return undefined;
  let s = '';
  for (let i = el.dataOffset; i < el.dataOffset + el.length; i++) s += String.fromCharCode(b[i] ?? 0);
  const uid = s.replace(/[\0 ]+$/g, '').trim();
  return uid === '' ? undefined : uid;
}

/** Deflated data sets: raw deflate after the meta information (PS3.5 A.5); dicom-parser's own path needs a Buffer. */
function inflate(bytes: Uint8Array, position: number, where: Record<string, unknown>): Uint8Array {
  let inflated: Uint8Array;
  try {
    inflated = inflateRawSync(bytes.subarray(position));
  } catch (cause) {
    const cutShort = (cause as NodeJS.ErrnoException).code === 'Z_BUF_ERROR'; // "unexpected end of file"
    throw dicomError(
      cutShort ? 'DICOM_TRUNCATED' : 'DICOM_MALFORMED',
      'The deflated data set could not be inflated (corrupt or cut short). Re-export the file, or convert it with ' +
        '`dcmconv +te` to Explicit VR Little Endian.',
      where,
      cause,
    );
  }
  const full = new Uint8Array(position + inflated.length);
  full.set(bytes.subarray(0, position), 0);
  full.set(inflated, position);
  return full;
}

/** Messages of dicom-parser's throws that mean "the data ran out", as opposed to "the data makes no sense". */
const CUT_SHORT = /past end|overrun|overread|beyond|cannot be greater than or equal|maxPosition/i;

/**
 * dicom-parser's warnings for a sequence or item of undefined length that the end of the bytes interrupted (not its
 * "eof … in peeking to determine VR", which a short last element of an implicit-VR file gives legitimately).
 */
const UNTERMINATED = /^eof encountered before finding (item delimiter|sequence delimit|sequence item delimiter|sequence delimiter)/i;

/** The parsed data set and the transfer syntax it was read with. @internal */
export interface ParsedDicom {
  readonly ds: DataSet;
  readonly transferSyntaxUid: string;
}

/**
 * Parses a Part 10 file (`part10`: `bytes` has the 128-byte preamble and `DICM`) or a bare data set in `bareSyntax`
 * with dicom-parser's data-set reader, then checks that nothing it found runs past the end of the bytes.
 *
 * dicom-parser's implicit-VR reader skips an element's value with an unchecked seek, so a file cut inside its last
 * element "parses" and the first read of that value throws a string later on (4–5 % of the cut points of an
 * implicit-VR file did this). The bounds walk below turns all of those into `DICOM_TRUNCATED` here.
 * @internal
 */
export function parseDicomBytes(bytes: Uint8Array, part10: boolean, bareSyntax: string | undefined, where: Record<string, unknown>): ParsedDicom {
  let meta: Record<string, Element> = {};
  let position = 0;
  let transferSyntaxUid = bareSyntax ?? IMPLICIT_VR_LITTLE_ENDIAN;
  if (part10) {
    const read = readMetaInformation(bytes, 132, where);
    meta = read.elements;
    position = read.end;
    const uid = metaTransferSyntax(bytes, meta['x00020010']);
    if (uid === undefined) {
      // nothing after the meta information read so far: the file was cut inside it (or right after "DICM")
      if (position + 8 > bytes.length) {
        throw dicomError('DICOM_TRUNCATED', 'The DICOM file ends inside its file meta information: it was cut short. Fetch it again.', where);
      }
      throw dicomError(
        'DICOM_MALFORMED',
        'The file meta information lacks its Transfer Syntax UID (0002,0010), so the data set cannot be read. Re-export the file.',
        where,
      );
    }
    transferSyntaxUid = uid;
  }
  let array = bytes;
  if (transferSyntaxUid === DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN && position < bytes.length) array = inflate(bytes, position, where);
  if (position >= array.length) {
    throw dicomError('DICOM_TRUNCATED', 'The DICOM file ends right after its file meta information: the data set is missing. Fetch it again.', where);
  }
  const parser = transferSyntaxUid === EXPLICIT_VR_BIG_ENDIAN ? dicomParser.bigEndianByteArrayParser : dicomParser.littleEndianByteArrayParser;
  const stream = new dicomParser.ByteStream(parser, array, position);
  const ds = new dicomParser.DataSet(parser, array, {});
  ds.warnings = stream.warnings;
  try {
    if (transferSyntaxUid === IMPLICIT_VR_LITTLE_ENDIAN) dicomParser.parseDicomDataSetImplicit(ds, stream, array.length);
    else dicomParser.parseDicomDataSetExplicit(ds, stream, array.length);
  } catch (err) {
    const message = parserMessage(err);
    const cutShort = CUT_SHORT.test(message);
    throw dicomError(
      cutShort ? 'DICOM_TRUNCATED' : 'DICOM_MALFORMED',
      cutShort
        ? 'The DICOM file ends in the middle of an element: it was cut short (interrupted copy or download). Fetch it again.'
        : 'The DICOM encoding is broken (an element or sequence item is not where its neighbours say). Check the file with `dcmdump`, or re-export it.',
      { ...where, parser: message },
      err,
    );
  }
  if (stream.position > array.length || overruns(ds, array.length) || ds.warnings.some((w) => UNTERMINATED.test(w))) {
    throw dicomError(
      'DICOM_TRUNCATED',
      'The DICOM file ends in the middle of an element: it was cut short (interrupted copy or download). Fetch it again.',
      where,
    );
  }
  Object.assign(ds.elements, meta);
  return { ds, transferSyntaxUid };
}

/**
 * Does any element, at any sequence depth, claim bytes past `end`? Encapsulated pixel data is left to the pixel-data
 * check in read.ts (its fragments are checked one by one there).
 */
function overruns(ds: DataSet, end: number, depth = 0): boolean {
  for (const tag in ds.elements) {
    const el = ds.elements[tag]!;
    if (el.encapsulatedPixelData === true) continue;
    if (el.dataOffset + el.length > end) return true;
    if (el.items !== undefined && depth < 64) {
      for (const item of el.items) if (item.dataSet !== undefined && overruns(item.dataSet, end, depth + 1)) return true;
    }
  }
  return false;
}
