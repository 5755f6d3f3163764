import { IMPLICIT_VR_LITTLE_ENDIAN } from '../dicom/transfer-syntax.js';
import { ByteChunks, encodeHeader, type Syntax } from './chunks.js';
import { NormalizeFailure } from './normalize-failure.js';
import { LONG_VRS } from './vr.js';

/** What the de-identifier needs from the input's file meta information. @internal */
export interface FileMeta {
  /** Offset of the data set (just past group 0002). */
  readonly start: number;
  readonly transferSyntaxUid: string;
  readonly sopClassUid: string | undefined;
  readonly sopInstanceUid: string | undefined;
}

const LE: Syntax = { little: true, implicit: false };

/**
 * The file meta information (group 0002, always Explicit VR Little Endian) of a Part 10 file with its preamble and
 * "DICM"; every length is checked before it is used. No Transfer Syntax UID means Implicit VR Little Endian, as the
 * reader assumes.
 * @internal
 */
export function readMeta(src: Uint8Array): FileMeta {
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const values = new Map<number, string>();
  let at = 132;
  while (at + 8 <= src.length && src[at] === 0x02 && src[at + 1] === 0x00) {
    const tag = ((dv.getUint16(at, true) << 16) | dv.getUint16(at + 2, true)) >>> 0;
    const vr = String.fromCharCode(src[at + 4]!, src[at + 5]!);
    const long = LONG_VRS.has(vr);
    if (long && at + 12 > src.length) throw new NormalizeFailure('truncated', 'The file ends inside its file meta information.');
    const length = long ? dv.getUint32(at + 8, true) : dv.getUint16(at + 6, true);
    const value = at + (long ? 12 : 8);
    if (value + length > src.length) throw new NormalizeFailure('truncated', 'The file ends inside its file meta information.');
    if (vr === 'UI') values.set(tag, new TextDecoder('latin1').decode(src.subarray(value, value + length)).replace(/[\0 ]+$/, ''));
    at = value + length;
  }
  return {
    start: at,
    transferSyntaxUid: values.get(0x00020010) ?? IMPLICIT_VR_LITTLE_ENDIAN,
    sopClassUid: values.get(0x00020002),
    sopInstanceUid: values.get(0x00020003),
  };
}

/**
 * A preamble, "DICM" and the minimal file meta information the reader and dcmjs need (version, SOP Class and
 * Instance UIDs when known, transfer syntax). Only ever read internally: the output's meta is rebuilt from scratch.
 * @internal
 */
export function minimalMeta(meta: Pick<FileMeta, 'sopClassUid' | 'sopInstanceUid'>, transferSyntaxUid: string): Uint8Array {
  const body = new ByteChunks();
  const ui = (tag: number, value: string | undefined): void => {
    if (value === undefined) return;
    const bytes = new TextEncoder().encode(value.length % 2 === 1 ? `${value}\0` : value);
    body.push(encodeHeader(tag, 'UI', bytes.length, LE));
    body.push(bytes);
  };
  body.push(encodeHeader(0x00020001, 'OB', 2, LE));
  body.push(Uint8Array.of(0, 1));
  ui(0x00020002, meta.sopClassUid);
  ui(0x00020003, meta.sopInstanceUid);
  ui(0x00020010, transferSyntaxUid);
  const head = new ByteChunks();
  head.push(new Uint8Array(128));
  head.push(Uint8Array.of(0x44, 0x49, 0x43, 0x4d));
  head.push(encodeHeader(0x00020000, 'UL', 4, LE));
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, body.size, true);
  head.push(length);
  head.append(body);
  return head.concat();
}

/**
 * A bare data set (no preamble, no file meta information) as a Part 10 file in the given transfer syntax.
 * @internal
 */
export function withFileMeta(dataset: Uint8Array, transferSyntaxUid: string): Uint8Array {
  const head = minimalMeta({ sopClassUid: undefined, sopInstanceUid: undefined }, transferSyntaxUid);
  const out = new Uint8Array(head.length + dataset.length);
  out.set(head, 0);
  out.set(dataset, head.length);
  return out;
}
