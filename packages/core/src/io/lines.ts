import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { LeptonErrorCode } from '../errors/codes.js';
import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';

/** Where text records come from: a file path, a readable stream, or any async iterable of text or bytes. */
export type TextSource = string | Readable | AsyncIterable<string | Uint8Array>;

/** Options shared by {@link readLines} and {@link readCsv}. */
export interface TextReadOptions {
  /**
   * Error code thrown when the source cannot be read (missing file, permission, a stream that errors), e.g.
   * `'TRANSACTIONS_READ_FAILED'`. Default `'READ_FAILED'`. A code of the application's own is registered in
   * {@link @lepton/core!LeptonErrorCodes} first.
   */
  readErrorCode?: LeptonErrorCode;
  /** What is being read, for error messages (`'transactions CSV'`). Never the file's path or contents. Default `'input'`. */
  what?: string;
  /**
   * Longest accepted physical line, in characters. A longer line is reported as too long (its content is dropped as
   * it streams, so memory stays bounded) and reading goes on at the next line. Default 1 MiB.
   */
  maxLineChars?: number;
}

/** One physical line: its text (without the line break), or a marker that it exceeded `maxLineChars`. */
export type LineItem =
  | {
      /** 1-based physical line number (every `\n` counts, including those inside CSV quotes). */
      line: number;
      /** The line, without `\n`, a trailing `\r` or (on line 1) a UTF-8 byte-order mark. */
      text: string;
    }
  | {
      /** 1-based physical line number. */
      line: number;
      /** The line was longer than `maxLineChars`; its content was dropped. */
      tooLong: true;
    };

const DEFAULT_MAX_LINE = 1 << 20;

/**
 * @internal Checks the options every reader shares and returns the line bound: `options` an object, `what` a string
 * of at most 200 characters (a Symbol threw a TypeError while the read error was built), `readErrorCode` an error code
 * (anything else became the thrown error's `code`), `maxLineChars` a whole number ≥ 1.
 */
export function checkTextOptions(options: TextReadOptions, fn: string): number {
  if (options === null || typeof options !== 'object') throw new LeptonError('INVALID_ARGUMENT', `${fn}: options must be an object, got ${describeValue(options)}.`);
  const { what, readErrorCode: code } = options;
  if (what != null && !(typeof what === 'string' && what.length <= 200)) {
    throw new LeptonError('INVALID_ARGUMENT', `${fn}: what must be a short description (a string of at most 200 characters), got ${describeValue(what)}.`, { details: { option: 'what' } });
  }
  if (code != null && !(typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(code))) {
    throw new LeptonError('INVALID_ARGUMENT', `${fn}: readErrorCode must be an error code such as 'ORDERS_READ_FAILED', got ${describeValue(code)}.`, { details: { option: 'readErrorCode' } });
  }
  const maxLine = options.maxLineChars ?? DEFAULT_MAX_LINE;
  if (!(Number.isInteger(maxLine) && maxLine >= 1)) throw new LeptonError('INVALID_ARGUMENT', 'maxLineChars must be a positive integer.', { details: { option: 'maxLineChars' } });
  return maxLine;
}

function readFailed(err: unknown, options: TextReadOptions): LeptonError {
  const sys = (err as { code?: unknown } | null)?.code;
  const reason = typeof sys === 'string' ? sys : err instanceof Error ? err.name : 'unknown error';
  const what = options.what ?? 'input';
  return new LeptonError(
    options.readErrorCode ?? 'READ_FAILED',
    `Could not read the ${what} (${reason}); check that the file exists and is readable, or that the stream does not fail.`,
    { cause: err, details: { reason } },
  );
}

/** The read error for a chunk that is neither text nor bytes (its type only: the value may be data). */
function notText(value: unknown, options: TextReadOptions): LeptonError {
  const type = value === null ? 'null' : typeof value === 'object' ? 'an object' : typeof value;
  return new LeptonError(options.readErrorCode ?? 'READ_FAILED', `Could not read the ${options.what ?? 'input'}: the source yielded ${type} where text or bytes were expected.`, {
    details: { reason: 'not text or bytes' },
  });
}

/**
 * Splits a text source into physical lines, as a stream. Handles `\n` and `\r\n`, a UTF-8 byte-order mark, text split
 * anywhere across chunks (including inside a multi-byte character), and a missing final newline. A file that cannot
 * be read — or a stream that emits `'error'` — rejects with a typed {@link LeptonError} instead of an unhandled
 * stream error, so `try`/`catch` around the loop always works.
 *
 * @param source - file path, readable stream or async iterable of text/bytes
 * @param options - read-error code, what is read, line-length bound
 * @returns an async stream of lines in order
 * @throws {@link LeptonError} `options.readErrorCode` (default `READ_FAILED`) when the source cannot be read or yields
 *   something other than text or bytes; `INVALID_ARGUMENT` for a source that is none of these and for bad options
 *   (not an object, a `what` that is not a short string, a `readErrorCode` that is not an upper-case code, a
 *   `maxLineChars` that is not a positive integer)
 * @example
 * ```ts
 * import { readLines } from '@lepton/core';
 * for await (const item of readLines('events.ndjson', { readErrorCode: 'EVENTS_READ_FAILED' })) {
 *   if ('text' in item) console.log(item.line, item.text.length);
 * }
 * ```
 */
export async function* readLines(source: TextSource, options: TextReadOptions = {}): AsyncGenerator<LineItem> {
  const maxLine = checkTextOptions(options, 'readLines');
  let stream: AsyncIterable<string | Uint8Array>;
  if (typeof source === 'string') stream = createReadStream(source);
  else if (source !== null && typeof source === 'object' && Symbol.asyncIterator in source) stream = source;
  else throw new LeptonError('INVALID_ARGUMENT', `Expected a file path, a readable stream or an async iterable as the ${typeof options.what === 'string' ? options.what.slice(0, 100) : 'input'}.`);

  const decoder = new TextDecoder('utf-8');
  let pending = '';
  let overflow = false;
  let line = 0;
  const finish = (text: string): LineItem => {
    line++;
    if (overflow) {
      overflow = false;
      return { line, tooLong: true };
    }
    let t = text.endsWith('\r') ? text.slice(0, -1) : text;
    if (line === 1 && t.charCodeAt(0) === 0xfeff) t = t.slice(1);
    // The readers allow one more character for a trailing '\r'; a line without one may not use it.
    if (t.length > maxLine) return { line, tooLong: true };
    return { line, text: t };
  };
  const iterator = stream[Symbol.asyncIterator]();
  try {
    for (;;) {
      let step: IteratorResult<string | Uint8Array>;
      try {
        step = await iterator.next();
      } catch (err) {
        throw readFailed(err, options);
      }
      const value: unknown = step.value;
      // A source that yields a number, null or an object: the decoder would throw a plain TypeError.
      if (!step.done && typeof value !== 'string' && !ArrayBuffer.isView(value)) throw notText(value, options);
      const chunk = step.done ? decoder.decode() : typeof step.value === 'string' ? step.value : decoder.decode(step.value, { stream: true });
      const text = chunk;
      let start = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
        const piece = text.slice(start, nl);
        start = nl + 1;
        if (!overflow && pending.length + piece.length > maxLine + 1) overflow = true; // +1: a trailing '\r'
        const whole = overflow ? '' : pending + piece;
        pending = '';
        yield finish(whole);
      }
      const rest = text.slice(start);
      if (!overflow) {
        pending += rest;
        if (pending.length > maxLine + 1) {
          overflow = true;
          pending = '';
        }
      }
      if (step.done) {
        if (pending !== '' || overflow) yield finish(pending);
        return;
      }
    }
  } finally {
    // the consumer stopped early (break, or an error in its loop): close the file
    await iterator.return?.().catch(() => undefined);
  }
}
