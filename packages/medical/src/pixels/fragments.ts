import type { DataSet, Element, Fragment } from 'dicom-parser';
import type { PixelEncoding } from '../dicom/transfer-syntax.js';
import { dicomError } from '../dicom/errors.js';
import { opensCodestream } from './codec-header.js';

const concat = (parts: Uint8Array[]): Uint8Array => {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** Does this fragment begin a new compressed frame? Used only when no offset table says where frames start. */
function startsFrame(bytes: Uint8Array, encoding: PixelEncoding): boolean {
  const b0 = bytes[0];
  const b1 = bytes[1];
  switch (encoding) {
    case 'jpeg-baseline':
    case 'jpeg-lossless':
    case 'jpeg-ls':
      return b0 === 0xff && b1 === 0xd8; // SOI
    case 'jpeg-2000':
      // SOC+SIZ of a raw codestream, or the JP2 signature box
      return opensCodestream(bytes) || (bytes[4] === 0x6a && bytes[5] === 0x50);
    case 'rle': {
      // RLE header: segment count 1..15, first segment at offset 64 (PS3.5 G.5)
      if (bytes.length < 64) return false;
      const v = new DataView(bytes.buffer, bytes.byteOffset, 8);
      const n = v.getUint32(0, true);
      return n >= 1 && n <= 15 && v.getUint32(4, true) === 64;
    }
    default:
      return false;
  }
}

/**
 * The compressed bytes of one frame of encapsulated pixel data. Frames are located, in order of preference, by the
 * Extended Offset Table (7FE0,0001), the Basic Offset Table, one fragment per frame when the counts match, and
 * otherwise by scanning fragments for the codec's start-of-image marker, so frames split over several fragments
 * without any offset table still come out whole.
 * @internal
 */
export function encapsulatedFrame(
  ds: DataSet,
  el: Element,
  encoding: PixelEncoding,
  numberOfFrames: number,
  index: number,
  source: string | undefined,
): Uint8Array {
  const fragments: Fragment[] = el.fragments ?? [];
  const bytes = ds.byteArray;
  const fragmentBytes = (f: Fragment): Uint8Array => bytes.subarray(f.position, f.position + f.length);
  const where = { ...(source === undefined ? {} : { source }), frame: index, fragments: fragments.length };
  if (fragments.length === 0) throw dicomError('DICOM_MALFORMED', 'The encapsulated pixel data holds no fragments.', where);
  if (numberOfFrames === 1) return concat(fragments.map(fragmentBytes));

  const eot = ds.elements['x7fe00001'];
  if (eot !== undefined && eot.length >= numberOfFrames * 8 && eot.dataOffset + eot.length <= bytes.length) {
    const view = new DataView(bytes.buffer, bytes.byteOffset + eot.dataOffset, eot.length);
    const start = Number(view.getBigUint64(index * 8, true));
    const end = index + 1 < numberOfFrames ? Number(view.getBigUint64((index + 1) * 8, true)) : Infinity;
    return concat(fragments.filter((f) => f.offset >= start && f.offset < end).map(fragmentBytes));
  }
  // The Basic Offset Table is used only when each of its entries is where a fragment starts: writers get it wrong
  // (GDCM's example 00191113.dcm is off by one byte from frame 2 on), and dcmtk and GDCM then find the frames from
  // the fragments; so does this, rather than refusing the file.
  const bot = el.basicOffsetTable ?? [];
  if (bot.length === numberOfFrames) {
    const starts = new Map(fragments.map((f, i) => [f.offset, i]));
    const first = bot.map((offset) => starts.get(offset));
    if (first.every((i, k) => i !== undefined && (k === 0 || i > first[k - 1]!))) {
      return concat(fragments.slice(first[index]!, first[index + 1] ?? fragments.length).map(fragmentBytes));
    }
  }
  if (fragments.length === numberOfFrames) return fragmentBytes(fragments[index]!);

  const starts: number[] = [];
  fragments.forEach((f, i) => {
    if (startsFrame(fragmentBytes(f), encoding)) starts.push(i);
  });
  if (starts.length !== numberOfFrames) {
    throw dicomError(
      'DICOM_MALFORMED',
      `The pixel data has ${fragments.length} fragments and no offset table, and ${starts.length} of them start a frame ` +
        `where Number of Frames says ${numberOfFrames}: the frames cannot be told apart.`,
      where,
    );
  }
  const from = starts[index]!;
  const to = starts[index + 1] ?? fragments.length;
  return concat(fragments.slice(from, to).map(fragmentBytes));
}
