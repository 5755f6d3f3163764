import type { DataSet } from 'dicom-parser';
import type { DicomAttributeIssue } from './types.js';

/**
 * Bounds-checked readers of attribute values, and the list of what could not be used.
 *
 * dicom-parser's own accessors assume well-formed values: `string(tag, i)` throws a `TypeError` when the attribute has
 * fewer than i + 1 values (PixelSpacing with one value, WindowWidth with fewer values than WindowCenter …), and
 * `uint16` reads past a value shorter than two bytes. Files from other toolkits do carry such values and dcmtk and
 * pydicom read them, so metadata extraction reads through these instead, and records what it had to leave out.
 * @internal
 */
export class AttributeReader {
  readonly issues: DicomAttributeIssue[] = [];
  readonly #ds: DataSet;

  constructor(ds: DataSet) {
    this.#ds = ds;
  }

  /** Records that an attribute's value was not used, and why (never quoting the value: it may be patient data). */
  issue(tag: string, keyword: string, message: string): void {
    this.issues.push({ tag: `(${tag.slice(1, 5).toUpperCase()},${tag.slice(5, 9).toUpperCase()})`, keyword, message });
  }

  has(tag: string): boolean {
    return this.#ds.elements[tag] !== undefined;
  }

  /** The whole text value, trimmed; undefined when absent or empty. */
  text(tag: string): string | undefined {
    return textAt(this.#ds, tag);
  }

  /** Every value of a multi-valued text attribute, each trimmed ([] when absent or empty). */
  texts(tag: string): string[] {
    const whole = this.text(tag);
    return whole === undefined ? [] : whole.split('\\').map((v) => v.trim());
  }

  /**
   * The numeric values (DS, IS) of an attribute. A value that is not a finite number is recorded as an issue and
   * comes back as undefined in its place, so positions still line up with the attribute's other values.
   */
  numbers(tag: string, keyword: string): Array<number | undefined> {
    return this.texts(tag).map((v, i) => {
      // parseFloat, as dicom-parser's floatString: it reads "0.5 " or "+1.5" as written (and, leniently, "1.5mm").
      const n = Number.parseFloat(v);
      if (!Number.isFinite(n)) {
        this.issue(tag, keyword, `Value ${i + 1} is ${v === '' ? 'empty' : 'not a finite number'}; it was not used.`);
        return undefined;
      }
      return n;
    });
  }

  /** One number (value 1 of a DS/IS attribute), or undefined (absent, or not a finite number: recorded). */
  number(tag: string, keyword: string): number | undefined {
    if (!this.has(tag)) return undefined;
    return this.numbers(tag, keyword)[0];
  }

  /**
   * Exactly `count` finite numbers, or undefined: an attribute with fewer values, or with a value that is no number,
   * is recorded as an issue and left out whole (half a position or one spacing is not a usable geometry).
   */
  vector(tag: string, keyword: string, count: number, check?: (v: number) => boolean, requirement?: string): number[] | undefined {
    if (!this.has(tag)) return undefined;
    const values = this.numbers(tag, keyword);
    if (values.length < count) {
      this.issue(tag, keyword, `It has ${values.length} value(s) where ${count} are required; it was ignored.`);
      return undefined;
    }
    const out = values.slice(0, count);
    if (out.some((v) => v === undefined)) return undefined; // already recorded by numbers()
    if (check !== undefined && !out.every((v) => check(v!))) {
      this.issue(tag, keyword, `Its values must be ${requirement ?? 'valid'}; it was ignored.`);
      return undefined;
    }
    return out as number[];
  }

  /** An integer (IS) value 1 read as dicom-parser's intString does (parseInt), or undefined (absent, or no number: recorded). */
  integer(tag: string, keyword: string): number | undefined {
    const v = this.texts(tag)[0];
    if (v === undefined) return undefined;
    const n = Number.parseInt(v, 10);
    if (!Number.isSafeInteger(n)) {
      this.issue(tag, keyword, 'Its value is not an integer; it was not used.');
      return undefined;
    }
    return n;
  }

  /** A US value (value `index`), or undefined when absent or shorter than two bytes. */
  us(tag: string, index = 0): number | undefined {
    return usAt(this.#ds, tag, index);
  }
}

/** US value `index` of `tag`, or undefined when the value is absent, too short, or runs past the data. @internal */
export function usAt(ds: DataSet, tag: string, index = 0): number | undefined {
  const el = ds.elements[tag];
  if (el === undefined || el.length < 2 * (index + 1) || el.dataOffset + el.length > ds.byteArray.length) return undefined;
  return ds.uint16(tag, index);
}

/**
 * A whole text value, trimmed, or undefined when absent, empty, or running past the data. The same string as
 * dicom-parser's `string(tag)` (bytes as Latin-1 up to the first NUL, then `trim()`), read in one call instead of one
 * string concatenation per byte: metadata extraction reads a dozen of these per file.
 * @internal
 */
export function textAt(ds: DataSet, tag: string): string | undefined {
  const el = ds.elements[tag];
  if (el === undefined || el.length === 0 || el.dataOffset + el.length > ds.byteArray.length) return undefined;
  const bytes = ds.byteArray;
  const start = el.dataOffset;
  let end = start;
  const limit = start + el.length;
  while (end < limit && bytes[end] !== 0) end++;
  let raw = '';
  for (let at = start; at < end; at += 8192) raw += String.fromCharCode.apply(null, bytes.subarray(at, Math.min(end, at + 8192)) as unknown as number[]);
  const v = raw.trim();
  return v === '' ? undefined : v;
}
