import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { parseSensorRecord, type ParsedRecord } from './record.js';

function open(source: string | Readable): Readable {
  return typeof source === 'string' ? createReadStream(source) : source;
}

/**
 * Sensor records from CSV with a header (`timestamp, asset, signal, value[, quality]`), as a stream of records and
 * rejections; an unparsable line is reported (with its line number) and reading goes on.
 *
 * @param source - file path or readable stream
 * @returns records and rejections in file order
 */
export async function* readSensorCsv(source: string | Readable): AsyncGenerator<ParsedRecord> {
  // The parser reads ahead, so skip events can arrive before earlier records are consumed: keep them with their
  // line numbers and interleave, so the stream stays in file order.
  const skipped: Array<{ line: number; item: ParsedRecord }> = [];
  const parser = open(source).pipe(parse({ columns: true, skip_empty_lines: true, trim: true, bom: true, info: true, skip_records_with_error: true }));
  parser.on('skip', (err: Error & { lines?: number }) => {
    const line = err.lines ?? Number.MAX_SAFE_INTEGER;
    skipped.push({ line, item: { rejected: { source: `line ${err.lines ?? '?'}`, issues: [{ field: '(record)', message: 'unparsable CSV line' }] } } });
  });
  for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
    while (skipped.length && skipped[0]!.line < info.lines) yield skipped.shift()!.item;
    yield parseSensorRecord(record, `line ${info.lines}`);
  }
  while (skipped.length) yield skipped.shift()!.item;
}

/**
 * Sensor records from newline-delimited JSON, one object per line.
 *
 * @param source - file path or readable stream
 * @returns records and rejections in file order
 */
export async function* readSensorNdjson(source: string | Readable): AsyncGenerator<ParsedRecord> {
  let n = 0;
  for await (const line of createInterface({ input: open(source), crlfDelay: Infinity })) {
    n++;
    if (line.trim() === '') continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      yield { rejected: { source: `line ${n}`, issues: [{ field: '(record)', message: 'not valid JSON' }] } };
      continue;
    }
    yield parseSensorRecord(raw, `line ${n}`);
  }
}
