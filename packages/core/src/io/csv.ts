import { LeptonError } from '../errors/lepton-error.js';
import { checkTextOptions, readLines, type TextReadOptions, type TextSource } from './lines.js';

/** Options of {@link readCsv}. */
export interface CsvReadOptions extends TextReadOptions {
  /** Field delimiter, one character. Default `,`. */
  delimiter?: string;
  /**
   * Most physical lines one record may span (a quoted field may contain line breaks). A quote still open after this
   * many lines is treated as unclosed. Default 100.
   */
  maxRecordLines?: number;
}

/** Why a line was rejected by {@link readCsv}. */
export type CsvLineProblem = 'unclosed-quote' | 'text-after-quote' | 'stray-quote' | 'column-count' | 'too-long';

/** One item of {@link readCsv}'s stream, in file order. */
export type CsvItem =
  | {
      /** The header row's fields (trimmed). Always the first item, unless the input is empty. */
      header: string[];
      /** 1-based line of the header. */
      line: number;
    }
  | {
      /** The record's fields, one per header column. Unquoted fields are trimmed; quoted fields are kept as written. */
      fields: string[];
      /** 1-based physical line where the record starts. */
      line: number;
    }
  | {
      /** The rejected physical line. */
      line: number;
      /** What was wrong with it. */
      problem: CsvLineProblem;
      /** A sentence for reports; it never contains the line's content. */
      message: string;
    };

type Attempt =
  | { ok: true; fields: string[]; lines: number }
  | { ok: false; problem: 'unclosed-quote' | 'text-after-quote' | 'stray-quote'; lines: number }
  | { ok: 'more' };

/**
 * Tokenises one record from the buffered physical lines, starting at `lines[0]`. Returns `more` when a quoted field is
 * still open at the end of the buffer and more input may follow.
 */
function tokenize(lines: readonly string[], delimiter: string, eof: boolean, maxLines: number): Attempt {
  const fields: string[] = [];
  let field = '';
  let quoted = false; // inside a quoted field
  let wasQuoted = false; // the current field was quoted (and is now closed)
  let afterQuote = false;
  for (let li = 0; li < lines.length; li++) {
    const text = lines[li]!;
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (quoted) {
        if (c === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i++;
          } else {
            quoted = false;
            afterQuote = true;
          }
        } else field += c;
      } else if (c === delimiter) {
        fields.push(wasQuoted ? field : field.trim());
        field = '';
        wasQuoted = false;
        afterQuote = false;
      } else if (afterQuote) {
        if (c !== ' ' && c !== '\t') return { ok: false, problem: 'text-after-quote', lines: li + 1 };
      } else if (c === '"') {
        // RFC 4180: a quote may only open a field. One inside an unquoted field (`5"5`) means a broken export.
        if (field.trim() !== '') return { ok: false, problem: 'stray-quote', lines: li + 1 };
        quoted = true;
        wasQuoted = true;
        field = '';
      } else field += c;
    }
    if (!quoted) {
      fields.push(wasQuoted ? field : field.trim());
      return { ok: true, fields, lines: li + 1 };
    }
    if (li + 1 >= maxLines) return { ok: false, problem: 'unclosed-quote', lines: li + 1 };
    field += '\n';
  }
  return eof ? { ok: false, problem: 'unclosed-quote', lines: lines.length } : { ok: 'more' };
}

const MESSAGES: Record<CsvLineProblem, string> = {
  'unclosed-quote': 'a quoted field is never closed; the line is skipped and reading resumes at the next line',
  'text-after-quote': 'text follows a closing quote inside a field; quote the whole field and double inner quotes ("")',
  'stray-quote': 'a quote inside an unquoted field; quote the whole field and double inner quotes ("")',
  'column-count': 'wrong number of fields for the header',
  'too-long': 'the line is longer than the reader accepts',
};

/** Line-by-line CSV state machine shared by {@link readCsv} and {@link parseCsv}. */
function splitter(options: CsvReadOptions, fn: string): { push(line: number, text: string | null): Generator<CsvItem>; end(): Generator<CsvItem> } {
  checkTextOptions(options, fn);
  const delimiter = options.delimiter ?? ',';
  const maxRecordLines = options.maxRecordLines ?? 100;
  if (typeof delimiter !== 'string' || delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw new LeptonError('INVALID_ARGUMENT', 'delimiter must be one character other than a quote or a line break.');
  }
  if (!(Number.isInteger(maxRecordLines) && maxRecordLines >= 1)) throw new LeptonError('INVALID_ARGUMENT', 'maxRecordLines must be a positive integer.');

  // physical lines not yet consumed; null marks a line that was too long
  const buffer: Array<{ line: number; text: string | null }> = [];
  let columns = -1;

  function* drain(eof: boolean): Generator<CsvItem> {
    while (buffer.length > 0) {
      const head = buffer[0]!;
      if (head.text === null) {
        buffer.shift();
        yield { line: head.line, problem: 'too-long', message: MESSAGES['too-long'] };
        continue;
      }
      if (head.text.trim() === '') {
        buffer.shift();
        continue;
      }
      // a too-long line inside a multi-line record ends the attempt there
      const stop = buffer.findIndex((b) => b.text === null);
      const texts = (stop < 0 ? buffer : buffer.slice(0, stop)).map((b) => b.text as string);
      const attempt = tokenize(texts, delimiter, eof || stop >= 0, maxRecordLines);
      if (attempt.ok === 'more') return;
      if (attempt.ok === true && (columns < 0 || attempt.fields.length === columns)) {
        buffer.splice(0, attempt.lines);
        if (columns < 0) {
          columns = attempt.fields.length;
          yield { header: attempt.fields, line: head.line };
        } else yield { fields: attempt.fields, line: head.line };
        continue;
      }
      // reject the first physical line only, and try again from the next one
      buffer.shift();
      const problem: CsvLineProblem = attempt.ok === true ? 'column-count' : attempt.problem;
      const message =
        problem === 'column-count' && attempt.ok === true ? `${attempt.fields.length} fields, the header has ${columns}` : MESSAGES[problem];
      yield { line: head.line, problem, message };
    }
  }

  return {
    push(line: number, text: string | null) {
      buffer.push({ line, text });
      return drain(false);
    },
    end: () => drain(true),
  };
}

/**
 * Reads CSV (RFC 4180: quoted fields may hold delimiters, doubled quotes and line breaks) as a stream that never loses
 * a line uncounted. The first non-empty record is the header; every later record either comes out with exactly one
 * field per header column, or its **first physical line** is rejected with a reason and the reader resumes at the next
 * physical line. So an unclosed quote in the middle of a file costs that one line, not every line after it: a quoted
 * field that spans lines is accepted only when the record it closes has the header's field count within
 * `maxRecordLines` lines. Line numbers are physical (1-based, `\r\n` and `\n` alike, a multi-line record numbered by
 * its first line); a UTF-8 byte-order mark is ignored; blank lines are skipped. Memory stays bounded by
 * `maxRecordLines × maxLineChars`.
 *
 * @param source - file path, readable stream or async iterable of text/bytes
 * @param options - delimiter, bounds, and the error code for an unreadable source
 * @returns an async stream: the header, then records and rejected lines in file order
 * @throws {@link LeptonError} `options.readErrorCode` (default `READ_FAILED`) when the source cannot be read or yields
 *   something other than text or bytes; `INVALID_ARGUMENT` for bad options
 * @example
 * ```ts
 * import { readCsv } from '@lepton/core';
 * let accepted = 0, rejected = 0;
 * for await (const item of readCsv('orders.csv', { readErrorCode: 'ORDERS_READ_FAILED' })) {
 *   if ('fields' in item) accepted++;
 *   else if ('problem' in item) rejected++;
 * }
 * ```
 */
export async function* readCsv(source: TextSource, options: CsvReadOptions = {}): AsyncGenerator<CsvItem> {
  const split = splitter(options, 'readCsv');
  for await (const item of readLines(source, options)) yield* split.push(item.line, 'text' in item ? item.text : null);
  yield* split.end();
}

/**
 * {@link readCsv} for text already in memory: the same grammar, recovery and line numbering, synchronously.
 *
 * @param text - CSV content
 * @param options - delimiter and bounds (`readErrorCode` does not apply)
 * @returns the header, then records and rejected lines in file order
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for bad options
 * @example
 * ```ts
 * import { parseCsv } from '@lepton/core';
 * const items = parseCsv('a,b\n1,"x\n2,3\n4,5\n');
 * console.log(items.filter((i) => 'problem' in i).length); // 1: line 2's quote is never closed; lines 3–4 survive
 * ```
 */
export function parseCsv(text: string, options: CsvReadOptions = {}): CsvItem[] {
  if (typeof text !== 'string') throw new LeptonError('INVALID_ARGUMENT', 'parseCsv expects the CSV content as a string.');
  const maxLine = checkTextOptions(options, 'parseCsv');
  const split = splitter(options, 'parseCsv');
  const out: CsvItem[] = [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, i) => {
    let t = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (i === 0 && t.charCodeAt(0) === 0xfeff) t = t.slice(1);
    out.push(...split.push(i + 1, t.length > maxLine ? null : t));
  });
  out.push(...split.end());
  return out;
}
