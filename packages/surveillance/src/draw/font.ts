/**
 * A small bitmap font for captions burnt into video frames, designed for this package (not taken from a font
 * file). Each glyph is 5 pixels wide and 8 rows tall: rows 0–6 hold capitals, digits and the body of lower-case
 * letters (baseline under row 6), row 7 holds descenders. A character advances 6 pixels (one blank column).
 *
 * Glyphs are written as rows of `#` (ink) and `.` (paper) separated by `|`, top row first; a missing eighth row is
 * blank. Characters without a glyph render as {@link FALLBACK}, an outlined box, so missing coverage is visible
 * rather than silently dropped.
 */

import { describeValue, LeptonError } from '@lepton/core';

/** Width of one character cell in pixels at scale 1 (5 px of glyph plus 1 px of spacing). */
export const FONT_ADVANCE = 6;
/** Height of one text line in pixels at scale 1 (7 rows above the baseline, 1 descender row). */
export const FONT_HEIGHT = 8;
/** Extra blank rows between lines of multi-line text, at scale 1. */
export const FONT_LINE_GAP = 1;

const GLYPHS: Record<string, string> = {
  ' ': '.....',
  '0': '.###.|#...#|#..##|#.#.#|##..#|#...#|.###.',
  '1': '..#..|.##..|..#..|..#..|..#..|..#..|.###.',
  '2': '.###.|#...#|....#|...#.|..#..|.#...|#####',
  '3': '####.|....#|....#|.###.|....#|....#|####.',
  '4': '...#.|..##.|.#.#.|#..#.|#####|...#.|...#.',
  '5': '#####|#....|####.|....#|....#|#...#|.###.',
  '6': '..##.|.#...|#....|####.|#...#|#...#|.###.',
  '7': '#####|....#|...#.|..#..|.#...|.#...|.#...',
  '8': '.###.|#...#|#...#|.###.|#...#|#...#|.###.',
  '9': '.###.|#...#|#...#|.####|....#|...#.|.##..',
  A: '.###.|#...#|#...#|#####|#...#|#...#|#...#',
  B: '####.|#...#|#...#|####.|#...#|#...#|####.',
  C: '.###.|#...#|#....|#....|#....|#...#|.###.',
  D: '###..|#..#.|#...#|#...#|#...#|#..#.|###..',
  E: '#####|#....|#....|####.|#....|#....|#####',
  F: '#####|#....|#....|####.|#....|#....|#....',
  G: '.###.|#...#|#....|#.###|#...#|#...#|.####',
  H: '#...#|#...#|#...#|#####|#...#|#...#|#...#',
  I: '.###.|..#..|..#..|..#..|..#..|..#..|.###.',
  J: '..###|...#.|...#.|...#.|...#.|#..#.|.##..',
  K: '#...#|#..#.|#.#..|##...|#.#..|#..#.|#...#',
  L: '#....|#....|#....|#....|#....|#....|#####',
  M: '#...#|##.##|#.#.#|#.#.#|#...#|#...#|#...#',
  N: '#...#|#...#|##..#|#.#.#|#..##|#...#|#...#',
  O: '.###.|#...#|#...#|#...#|#...#|#...#|.###.',
  P: '####.|#...#|#...#|####.|#....|#....|#....',
  Q: '.###.|#...#|#...#|#...#|#.#.#|#..#.|.##.#',
  R: '####.|#...#|#...#|####.|#.#..|#..#.|#...#',
  S: '.####|#....|#....|.###.|....#|....#|####.',
  T: '#####|..#..|..#..|..#..|..#..|..#..|..#..',
  U: '#...#|#...#|#...#|#...#|#...#|#...#|.###.',
  V: '#...#|#...#|#...#|#...#|#...#|.#.#.|..#..',
  W: '#...#|#...#|#...#|#.#.#|#.#.#|#.#.#|.#.#.',
  X: '#...#|#...#|.#.#.|..#..|.#.#.|#...#|#...#',
  Y: '#...#|#...#|.#.#.|..#..|..#..|..#..|..#..',
  Z: '#####|....#|...#.|..#..|.#...|#....|#####',
  a: '.....|.....|.###.|....#|.####|#...#|.####',
  b: '#....|#....|####.|#...#|#...#|#...#|####.',
  c: '.....|.....|.###.|#....|#....|#....|.###.',
  d: '....#|....#|.####|#...#|#...#|#...#|.####',
  e: '.....|.....|.###.|#...#|#####|#....|.###.',
  f: '..##.|.#...|###..|.#...|.#...|.#...|.#...',
  g: '.....|.....|.####|#...#|#...#|.####|....#|.###.',
  h: '#....|#....|#.##.|##..#|#...#|#...#|#...#',
  i: '..#..|.....|.##..|..#..|..#..|..#..|.###.',
  j: '...#.|.....|..##.|...#.|...#.|...#.|#..#.|.##..',
  k: '#....|#....|#..#.|#.#..|##...|#.#..|#..#.',
  l: '.##..|..#..|..#..|..#..|..#..|..#..|.###.',
  m: '.....|.....|##.#.|#.#.#|#.#.#|#.#.#|#.#.#',
  n: '.....|.....|#.##.|##..#|#...#|#...#|#...#',
  o: '.....|.....|.###.|#...#|#...#|#...#|.###.',
  p: '.....|.....|####.|#...#|#...#|####.|#....|#....',
  q: '.....|.....|.####|#...#|#...#|.####|....#|....#',
  r: '.....|.....|#.##.|##..#|#....|#....|#....',
  s: '.....|.....|.####|#....|.###.|....#|####.',
  t: '.#...|.#...|###..|.#...|.#...|.#..#|..##.',
  u: '.....|.....|#...#|#...#|#...#|#..##|.##.#',
  v: '.....|.....|#...#|#...#|#...#|.#.#.|..#..',
  w: '.....|.....|#...#|#...#|#.#.#|#.#.#|.#.#.',
  x: '.....|.....|#...#|.#.#.|..#..|.#.#.|#...#',
  y: '.....|.....|#...#|#...#|#...#|.####|....#|.###.',
  z: '.....|.....|#####|...#.|..#..|.#...|#####',
  '.': '.....|.....|.....|.....|.....|.##..|.##..',
  ',': '.....|.....|.....|.....|.....|.##..|..#..|.#...',
  ':': '.....|.##..|.##..|.....|.##..|.##..|.....',
  ';': '.....|.##..|.##..|.....|.##..|..#..|.#...',
  '-': '.....|.....|.....|#####|.....|.....|.....',
  _: '.....|.....|.....|.....|.....|.....|.....|#####',
  '/': '....#|....#|...#.|..#..|.#...|#....|#....',
  '\\': '#....|#....|.#...|..#..|...#.|....#|....#',
  '%': '##..#|##..#|...#.|..#..|.#...|#..##|#..##',
  '(': '...#.|..#..|.#...|.#...|.#...|..#..|...#.',
  ')': '.#...|..#..|...#.|...#.|...#.|..#..|.#...',
  '[': '.###.|.#...|.#...|.#...|.#...|.#...|.###.',
  ']': '.###.|...#.|...#.|...#.|...#.|...#.|.###.',
  '+': '.....|..#..|..#..|#####|..#..|..#..|.....',
  '=': '.....|.....|#####|.....|#####|.....|.....',
  '!': '..#..|..#..|..#..|..#..|..#..|.....|..#..',
  '?': '.###.|#...#|....#|...#.|..#..|.....|..#..',
  "'": '..#..|..#..|.#...',
  '"': '.#.#.|.#.#.|.#.#.',
  '*': '.....|..#..|#.#.#|.###.|#.#.#|..#..|.....',
  '<': '...#.|..#..|.#...|#....|.#...|..#..|...#.',
  '>': '.#...|..#..|...#.|....#|...#.|..#..|.#...',
  '#': '.#.#.|.#.#.|#####|.#.#.|#####|.#.#.|.#.#.',
  '@': '.###.|#...#|#.###|#.#.#|#.###|#....|.####',
  '&': '.##..|#..#.|#.#..|.#...|#.#.#|#..#.|.##.#',
  '|': '..#..|..#..|..#..|..#..|..#..|..#..|..#..|..#..',
};

/** Rows of the glyph drawn for characters the font lacks: an outlined box. */
export const FALLBACK = '#####|#...#|#...#|#...#|#...#|#...#|#####';

/** Parses one glyph into 8 row bitmasks (bit 4 = leftmost column). */
function parse(rows: string, char: string): Uint8Array {
  const out = new Uint8Array(FONT_HEIGHT);
  rows.split('|').forEach((row, r) => {
    // The table is static data: a malformed entry is a bug in this file, caught by the first import in the tests.
    if (row.length !== 5 || r >= FONT_HEIGHT) throw new Error(`font: glyph ${JSON.stringify(char)} row ${r} is malformed`);
    let bits = 0;
    for (let c = 0; c < 5; c++) if (row[c] === '#') bits |= 1 << (4 - c);
    out[r] = bits;
  });
  return out;
}

const TABLE = new Map<string, Uint8Array>(Object.entries(GLYPHS).map(([ch, rows]) => [ch, parse(rows, ch)]));
const FALLBACK_GLYPH = parse(FALLBACK, 'fallback');

/**
 * The bitmap of one character: 8 row bitmasks, top row first, bit 4 (value 16) the leftmost of the 5 columns.
 *
 * @param char - one character (digits, A–Z, a–z, space and `. , : ; - _ / \ % ( ) [ ] + = ! ? ' " * < > # @ & |`)
 * @returns the glyph rows, or the outlined-box fallback for any other character
 * @example
 * ```ts
 * import { glyphRows } from '@lepton/surveillance';
 * console.log(glyphRows('T')[0]); // 31 (the full top bar)
 * ```
 */
export function glyphRows(char: string): Uint8Array {
  return TABLE.get(char) ?? FALLBACK_GLYPH;
}

/**
 * Whether the built-in font has a glyph for `char` (others render as an outlined box).
 *
 * @param char - one character
 * @returns true when the font draws it
 * @example
 * ```ts
 * import { hasGlyph } from '@lepton/surveillance';
 * console.log(hasGlyph('a'), hasGlyph('é')); // true false
 * ```
 */
export function hasGlyph(char: string): boolean {
  return TABLE.has(char);
}

/** Size of rendered text in pixels, from {@link measureText}. */
export interface TextSize {
  /** Width of the widest line (no trailing spacing column). */
  width: number;
  /** Height of all lines, descender row and line gaps included. */
  height: number;
}

/**
 * The size text takes when drawn with `drawText` at `scale`. Lines split at `\n`; characters count by code point.
 *
 * @param text - the text
 * @param scale - integer magnification (each font pixel becomes `scale × scale`). Default 1.
 * @returns width and height in pixels (width 0 for empty text)
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a text that is not a string or a scale that is not a
 *   positive integer (or so large that the size is not finite)
 * @example
 * ```ts
 * import { measureText } from '@lepton/surveillance';
 * console.log(measureText('ID 7', 2)); // { width: 46, height: 16 }
 * ```
 */
export function measureText(text: string, scale = 1): TextSize {
  // A non-string threw a TypeError from split(); a NaN, fractional or negative scale came back as a NaN or odd size.
  if (typeof text !== 'string') throw new LeptonError('INVALID_ARGUMENT', `measureText: text must be a string; got ${describeValue(text)}.`);
  if (!Number.isInteger(scale) || scale < 1) throw new LeptonError('INVALID_ARGUMENT', `measureText: scale must be a positive integer; got ${describeValue(scale)}.`);
  const lines = text.split('\n');
  const longest = Math.max(...lines.map((l) => [...l].length));
  const size = {
    width: longest > 0 ? (longest * FONT_ADVANCE - 1) * scale : 0,
    height: (lines.length * FONT_HEIGHT + (lines.length - 1) * FONT_LINE_GAP) * scale,
  };
  if (!Number.isFinite(size.width) || !Number.isFinite(size.height)) throw new LeptonError('INVALID_ARGUMENT', `measureText: scale ${describeValue(scale)} is too large; the text's size is not a finite number.`);
  return size;
}
