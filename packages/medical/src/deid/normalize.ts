import { inflateRawSync } from 'node:zlib';
import {
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
} from '../dicom/transfer-syntax.js';
import { MAX_INFLATED_BYTES, MAX_SEQUENCE_DEPTH, outputLimit } from './bounds.js';
import { ByteChunks, encodeHeader, encodeItemMarker, type Syntax } from './chunks.js';
import { minimalMeta, readMeta } from './file-meta.js';
import { NormalizeFailure } from './normalize-failure.js';
import { dictionaryVr, dictionaryVrs, fitsMultiplicity, isItemValue, isPlainText, LONG_VRS, swapSize, TEXT_VRS } from './vr.js';

/**
 * The input data set re-encoded so that the DICOM writer can be trusted with it, and the facts the de-identifier
 * needs from it. Produced by {@link normalizeInput}.
 * @internal
 */
export interface NormalizedInput {
  /** Preamble, minimal file meta information and the data set up to (not including) Pixel Data. */
  readonly header: Uint8Array;
  /** The top-level Pixel Data element exactly as stored (tag, VR, length, value; fragments and all), if any. */
  readonly pixels: Uint8Array | undefined;
  /** The syntax `header` and `pixels` are in: the input's, except Deflated, which is inflated to Explicit VR LE. */
  readonly transferSyntaxUid: string;
  /** What the output size is bounded by: the input's size, or for Deflated input the inflated size. */
  readonly sizeBasis: number;
  /** Burned In Annotation (0028,0301) of the top-level data set, trimmed, when present. */
  readonly burnedInAnnotation: string | undefined;
  /** Sequences found encoded with VR UN (PS3.5 6.2.2) and re-encoded as SQ. */
  readonly unknownVrSequences: number;
  /** Elements dropped because their value could not be interpreted (see {@link normalizeInput}). */
  readonly unparseableRemoved: number;
}

const UNDEFINED = 0xffffffff;
const ITEM = 0xfffee000;
const ITEM_END = 0xfffee00d;
const SEQUENCE_END = 0xfffee0dd;
const PIXEL_DATA = 0x7fe00010;
const BURNED_IN_ANNOTATION = 0x00280301;
const VRS = new Set([...LONG_VRS, ...'AE AS AT CS DA DS DT FD FL IS LO LT PN SH SL SS ST TM UI UL US'.split(' ')]);
/** Implicit VR Little Endian: the encoding of every value with VR UN that holds a sequence (PS3.5 6.2.2). */
const UN_CONTENT: Syntax = { little: true, implicit: true };
/** The sequence delimitation item, as it ends a UN-encoded sequence: (FFFE,E0DD), length 0, little endian. */
const UN_SEQUENCE_END = Uint8Array.of(0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0);

const syntaxOf = (ts: string): Syntax =>
  ts === IMPLICIT_VR_LITTLE_ENDIAN ? { little: true, implicit: true } : { little: ts !== EXPLICIT_VR_BIG_ENDIAN, implicit: false };

interface Header {
  readonly tag: number;
  readonly vr: string;
  readonly length: number;
  /** Offset of the value (just past the header). */
  readonly value: number;
}

/** Reads elements of one data set or item; every length is checked against the bytes that are really there. */
class Walker {
  readonly #dv: DataView;
  unknownVrSequences = 0;
  unparseableRemoved = 0;
  burnedInAnnotation: string | undefined;
  pixels: { start: number; end: number } | undefined;

  constructor(readonly src: Uint8Array) {
    this.#dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  }

  #u16(at: number, little: boolean): number {
    return this.#dv.getUint16(at, little);
  }

  #u32(at: number, little: boolean): number {
    return this.#dv.getUint32(at, little);
  }

  #tag(at: number, little: boolean): number {
    return ((this.#u16(at, little) << 16) | this.#u16(at + 2, little)) >>> 0;
  }

  /** The header of the element at `at`, which must lie before `end`. */
  header(at: number, end: number, syn: Syntax): Header {
    if (at + 8 > end) throw new NormalizeFailure('truncated', 'The data set ends inside an element header.');
    const tag = this.#tag(at, syn.little);
    if (tag >>> 16 === 0xfffe || syn.implicit) {
      // items and delimiters have no VR in any syntax; implicit VR takes it from the dictionary
      const vr = tag >>> 16 === 0xfffe ? '' : (dictionaryVr(tag) ?? 'UN');
      return { tag, vr, length: this.#u32(at + 4, syn.little), value: at + 8 };
    }
    const vr = String.fromCharCode(this.src[at + 4]!, this.src[at + 5]!);
    if (!VRS.has(vr)) throw new NormalizeFailure('malformed', 'An element has no valid value representation.');
    if (!LONG_VRS.has(vr)) return { tag, vr, length: this.#u16(at + 6, syn.little), value: at + 8 };
    if (at + 12 > end) throw new NormalizeFailure('truncated', 'The data set ends inside an element header.');
    return { tag, vr, length: this.#u32(at + 8, syn.little), value: at + 12 };
  }

  /**
   * Copies (or, when `out` uses another syntax, re-encodes) the data set in `[at, end)` into `out`, and returns
   * where it stopped: at `end`, or just past the Item Delimitation Item when `inItem` is undefined-length.
   */
  dataset(at: number, end: number, syn: Syntax, os: Syntax, out: ByteChunks, depth: number, untilDelimiter: boolean): number {
    const top = depth === 0;
    // tag order (PS3.5 7.1: ascending): the previous element's tag, where its output began, and Burned In Annotation
    // as it was before it
    let last = -1;
    let lastStart = out.size;
    let lastBurnedIn = this.burnedInAnnotation;
    while (at < end) {
      const h = this.header(at, end, syn);
      if (h.tag === ITEM_END) {
        if (!untilDelimiter) throw new NormalizeFailure('malformed', 'An item delimiter appears outside an undefined-length item.');
        return h.value;
      }
      if (h.tag >>> 16 === 0xfffe) throw new NormalizeFailure('malformed', 'An item or sequence delimiter appears among the elements of a data set.');
      if (top && h.tag >= PIXEL_DATA) {
        // Pixel Data is copied verbatim by the caller; what follows it (padding, signatures) is removed (X)
        if (h.tag === PIXEL_DATA) this.pixels = { start: at, end: this.#skipValue(h, end, syn) };
        return end;
      }
      const start = out.size;
      const burnedIn = this.burnedInAnnotation;
      at = this.#element(at, h, end, syn, os, out, depth);
      if (h.tag < last) {
        // Out of order: one of this tag and the one before it is damaged (a bit flipped in a tag moves a value, a
        // name say, under another attribute's tag, which the profile may keep). Which one cannot be told, so both
        // go; the elements after them are in order again.
        this.unparseableRemoved += (start > lastStart ? 1 : 0) + (out.size > start ? 1 : 0);
        out.truncate(lastStart);
        this.burnedInAnnotation = lastBurnedIn;
        lastStart = out.size;
      } else {
        lastStart = start;
        lastBurnedIn = burnedIn;
      }
      last = h.tag;
    }
    if (untilDelimiter) throw new NormalizeFailure('truncated', 'An undefined-length item never ends (no item delimiter).');
    return at;
  }

  /** Handles one element whose header `h` starts at `start`; returns the offset after it. */
  #element(start: number, h: Header, end: number, syn: Syntax, os: Syntax, out: ByteChunks, depth: number): number {
    const undefinedLength = h.length === UNDEFINED;
    if (!undefinedLength && h.value + h.length > end) {
      throw new NormalizeFailure('truncated', 'An element claims more bytes than the data set holds.');
    }
    const dictVr = dictionaryVr(h.tag);
    // a real sequence (in implicit VR, a tag unknown to the dictionary with undefined length is one too)
    if (h.vr === 'SQ' || (syn.implicit && undefinedLength && (dictVr === undefined || dictVr === 'UN'))) {
      return this.#sequence(h, end, syn, os, out, depth);
    }
    if (h.vr === 'UN') {
      if (undefinedLength) return this.#unSequence(h, end, os, out, depth);
      const mayBeSequence = dictVr === 'SQ' || (dictVr === undefined && isItemValue(this.src, h.value, h.length));
      if (mayBeSequence) return this.#unDefinedLength(start, h, dictVr === 'SQ', syn, os, out, depth);
    }
    if (undefinedLength) {
      // OB/OW with undefined length: encapsulated pixel data (legitimate inside an icon item). Anywhere else, and
      // for any other VR, the encoding is illegal; dcmjs would read it as pixel data and allocate by whatever the
      // first "fragment" claims, so it is removed once its end has been found.
      if (h.vr !== 'OB' && h.vr !== 'OW') throw new NormalizeFailure('malformed', 'An element that cannot be a sequence has an undefined length.');
      const after = this.#fragments(h.value, end, syn);
      if (h.tag === PIXEL_DATA && syn === os) out.copy(this.src, start, after);
      else this.unparseableRemoved++;
      return after;
    }
    const vr = leafVr(h);
    if ((TEXT_VRS.has(vr) && !isPlainText(this.src, h.value, h.value + h.length, vr)) || !fitsMultiplicity(h.tag, vr, h.length)) {
      // a text value holding binary: a wrong length took in the elements after it (their values, names among them,
      // would ride along inside an attribute the profile keeps), or the value is garbage; or binary numbers that are
      // not a whole number of values, or too many for the tag (text whose tag lost a bit). Either way it is removed.
      this.unparseableRemoved++;
      return h.value + h.length;
    }
    if (!syn.implicit && TEXT_VRS.has(h.vr) && !vrAgrees(h.tag, h.vr)) {
      // text under a tag whose attribute is not text of that kind (a Patient ID stored as LO under Scanning
      // Sequence's tag, CS, after one bit flipped in the tag): the tag does not say what the value is, so the
      // profile's rule for that tag cannot be trusted with it. Removed.
      this.unparseableRemoved++;
      return h.value + h.length;
    }
    if (depth === 0 && h.tag === BURNED_IN_ANNOTATION) {
      this.burnedInAnnotation = String.fromCharCode(...this.src.subarray(h.value, h.value + Math.min(h.length, 16))).replace(/[\0 ]+$/, '').trim();
    }
    if (syn === os) out.copy(this.src, start, h.value + h.length);
    else this.#transcodeLeaf(h, os, out);
    return h.value + h.length;
  }

  /** A sequence (SQ) in the syntax of its context. */
  #sequence(h: Header, end: number, syn: Syntax, os: Syntax, out: ByteChunks, depth: number): number {
    const seqEnd = h.length === UNDEFINED ? end : h.value + h.length;
    return this.#items(h.value, seqEnd, h.length === UNDEFINED, syn, os, out, h.tag, depth);
  }

  /**
   * A UN element with undefined length: a sequence whose items are Implicit VR Little Endian (PS3.5 6.2.2). When its
   * items cannot be parsed, it is removed — as far as the first sequence delimiter, after which the data set must
   * parse again, or the file is refused.
   */
  #unSequence(h: Header, end: number, os: Syntax, out: ByteChunks, depth: number): number {
    const trial = new ByteChunks();
    try {
      const after = this.#items(h.value, end, true, UN_CONTENT, os, trial, h.tag, depth);
      out.append(trial);
      this.unknownVrSequences++;
      return after;
    } catch (err) {
      if (!(err instanceof NormalizeFailure) || err.kind === 'too-large') throw err;
      const view = Buffer.from(this.src.buffer, this.src.byteOffset, end);
      const delimiter = view.indexOf(UN_SEQUENCE_END, h.value);
      if (delimiter < 0) {
        throw new NormalizeFailure('malformed', 'An element of unknown VR with undefined length cannot be parsed and never ends; the rest of the data set cannot be located.', err);
      }
      this.unparseableRemoved++;
      return delimiter + UN_SEQUENCE_END.length;
    }
  }

  /** A UN element with a defined length that is (or looks like) a sequence; removed when `mustBe` and unparseable. */
  #unDefinedLength(start: number, h: Header, mustBe: boolean, syn: Syntax, os: Syntax, out: ByteChunks, depth: number): number {
    const after = h.value + h.length;
    const trial = new ByteChunks();
    try {
      this.#items(h.value, after, false, UN_CONTENT, os, trial, h.tag, depth);
      out.append(trial);
      this.unknownVrSequences++;
    } catch (err) {
      if (!(err instanceof NormalizeFailure) || err.kind === 'too-large') throw err;
      if (mustBe) {
        this.unparseableRemoved++; // a sequence by the dictionary, but no items in it: its contents are unknowable
      } else {
        // an opaque value of an attribute nobody here knows: kept as it is, like any attribute the profile keeps
        if (syn === os) out.copy(this.src, start, after);
        else this.#transcodeLeaf(h, os, out);
      }
    }
    return after;
  }

  /** Items of a sequence in `[at, end)`, written to `out` as one undefined-length SQ (with items likewise). */
  #items(at: number, end: number, undefinedLength: boolean, syn: Syntax, os: Syntax, out: ByteChunks, tag: number, depth: number): number {
    if (depth + 1 > MAX_SEQUENCE_DEPTH) {
      throw new NormalizeFailure('malformed', `Sequences are nested more than ${MAX_SEQUENCE_DEPTH} deep.`);
    }
    out.push(encodeHeader(tag, 'SQ', UNDEFINED, os));
    for (;;) {
      if (!undefinedLength && at === end) break;
      if (at + 8 > end) throw new NormalizeFailure('truncated', 'A sequence ends inside an item header.');
      const itemTag = this.#tag(at, syn.little);
      const length = this.#u32(at + 4, syn.little);
      at += 8;
      if (itemTag === SEQUENCE_END && undefinedLength) break;
      if (itemTag !== ITEM) throw new NormalizeFailure('malformed', 'A sequence holds something other than items.');
      out.push(encodeItemMarker(ITEM, UNDEFINED, os));
      if (length === UNDEFINED) {
        at = this.dataset(at, end, syn, os, out, depth + 1, true);
      } else {
        if (at + length > end) throw new NormalizeFailure('truncated', 'An item claims more bytes than its sequence holds.');
        at = this.dataset(at, at + length, syn, os, out, depth + 1, false);
      }
      out.push(encodeItemMarker(ITEM_END, 0, os));
    }
    out.push(encodeItemMarker(SEQUENCE_END, 0, os));
    return at;
  }

  /** The end of an encapsulated value (items of defined length, then a sequence delimiter), every length checked. */
  #fragments(at: number, end: number, syn: Syntax): number {
    for (;;) {
      if (at + 8 > end) throw new NormalizeFailure('truncated', 'Encapsulated data ends inside a fragment header.');
      const tag = this.#tag(at, syn.little);
      const length = this.#u32(at + 4, syn.little);
      at += 8;
      if (tag === SEQUENCE_END) return at;
      if (tag !== ITEM || length === UNDEFINED) throw new NormalizeFailure('malformed', 'Encapsulated data holds something other than fragments.');
      if (at + length > end) throw new NormalizeFailure('truncated', 'A fragment claims more bytes than the file holds.');
      at += length;
    }
  }

  #skipValue(h: Header, end: number, syn: Syntax): number {
    if (h.length === UNDEFINED) return this.#fragments(h.value, end, syn);
    if (h.value + h.length > end) throw new NormalizeFailure('truncated', 'The pixel data is cut short: the file ends before its last frame.');
    return h.value + h.length;
  }

  /** A leaf element from UN content (Implicit VR LE) written in the output syntax, its VR from the dictionary. */
  #transcodeLeaf(h: Header, os: Syntax, out: ByteChunks): void {
    let vr = leafVr(h);
    let value = this.src.subarray(h.value, h.value + h.length);
    const size = swapSize(vr);
    if (!os.little && size > 1) {
      if (value.length % size !== 0) vr = 'UN';
      else value = swapped(value, size);
    }
    if (!os.implicit && !LONG_VRS.has(vr) && value.length > 0xffff) vr = 'UN';
    out.push(encodeHeader(h.tag, vr, value.length, os));
    out.push(value);
  }
}

/**
 * Does an element's explicit VR fit its tag? Unknown tags fit anything; a decimal string and an integer string stand
 * for each other (vendors write either for numeric attributes, and neither can hold a name).
 */
function vrAgrees(tag: number, vr: string): boolean {
  const allowed = dictionaryVrs(tag);
  if (allowed === undefined || allowed.includes(vr)) return true;
  return (vr === 'DS' || vr === 'IS') && (allowed.includes('DS') || allowed.includes('IS'));
}

/** The VR a leaf element is written with: its own, or for UN content the dictionary's (private creators: LO). */
function leafVr(h: Header): string {
  return h.vr === 'UN' ? (dictionaryVr(h.tag) ?? privateCreatorVr(h.tag) ?? 'UN') : h.vr;
}

/** Private Creator elements (gggg,0010-00FF in odd groups) are LO. */
function privateCreatorVr(tag: number): string | undefined {
  const group = tag >>> 16;
  const element = tag & 0xffff;
  return group % 2 === 1 && element >= 0x10 && element <= 0xff ? 'LO' : undefined;
}

function swapped(value: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(value.length);
  for (let i = 0; i < value.length; i += size) for (let j = 0; j < size; j++) out[i + j] = value[i + size - 1 - j]!;
  return out;
}

/**
 * Re-encodes a Part 10 file (preamble and "DICM" required; bare data sets are given them by the caller) so that its
 * data set holds nothing a DICOM writer can mis-read:
 *
 * - every length field is checked against the bytes that are really there before anything is read or allocated;
 *   sequences nest at most {@link MAX_SEQUENCE_DEPTH} deep;
 * - sequences encoded with VR UN (PS3.5 6.2.2: after a private or unknown tag, or by a toolkit that converted the
 *   file without knowing the tag) become SQ, their Implicit VR Little Endian items re-encoded in the file's syntax
 *   with VRs from the dictionary, so the profile reaches their contents like any other sequence's. dcmjs would
 *   otherwise read such an element as encapsulated pixel data, taking its first item's length for an offset table:
 *   a 2 KB file became a 775 MB "de-identified" one that still held the original UIDs. Never hand dcmjs an
 *   undefined-length UN, OB or OW element outside Pixel Data;
 * - a UN element that should be a sequence but whose items do not parse is removed (counted): its contents cannot
 *   be de-identified, so they cannot be kept;
 * - Deflated data sets are inflated, at most {@link MAX_INFLATED_BYTES}, and written as Explicit VR Little Endian;
 * - everything from Pixel Data on is split off: the pixel element verbatim, the rest (padding, signatures) dropped.
 *
 * @throws {@link NormalizeFailure} — `truncated`, `malformed`, or `too-large` (over {@link outputLimit} of the input size)
 * @internal
 */
export function normalizeInput(part10: Uint8Array): NormalizedInput {
  const meta = readMeta(part10);
  let data = part10;
  let start = meta.start;
  let transferSyntaxUid = meta.transferSyntaxUid;
  let sizeBasis = part10.length;
  if (meta.transferSyntaxUid === DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN) {
    let inflated: Uint8Array;
    try {
      inflated = inflateRawSync(part10.subarray(meta.start), { maxOutputLength: MAX_INFLATED_BYTES });
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') {
        throw new NormalizeFailure('too-large', `The deflated data set inflates to more than ${MAX_INFLATED_BYTES} bytes.`, cause);
      }
      throw new NormalizeFailure(code === 'Z_BUF_ERROR' ? 'truncated' : 'malformed', 'The deflated data set could not be inflated (corrupt or cut short).', cause);
    }
    data = inflated;
    start = 0;
    transferSyntaxUid = EXPLICIT_VR_LITTLE_ENDIAN;
    sizeBasis = meta.start + inflated.length;
  }
  const syn = syntaxOf(transferSyntaxUid);
  const walker = new Walker(data);
  const body = new ByteChunks();
  walker.dataset(start, data.length, syn, syn, body, 0, false);
  const pixels = walker.pixels === undefined ? undefined : data.subarray(walker.pixels.start, walker.pixels.end);
  const limit = outputLimit(sizeBasis);
  if (body.size + (pixels?.length ?? 0) > limit) {
    throw new NormalizeFailure('too-large', 'Re-encoding the data set would make it larger than the output size bound.');
  }
  const head = minimalMeta(meta, transferSyntaxUid);
  const header = new ByteChunks();
  header.push(head);
  header.append(body);
  return {
    header: header.concat(),
    pixels,
    transferSyntaxUid,
    sizeBasis,
    burnedInAnnotation: walker.burnedInAnnotation,
    unknownVrSequences: walker.unknownVrSequences,
    unparseableRemoved: walker.unparseableRemoved,
  };
}
