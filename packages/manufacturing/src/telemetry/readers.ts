import { readCsv, readLines, type TextSource } from '@lepton/core';
import { parseSensorRecord, type ParsedRecord } from './record.js';

const CSV = { readErrorCode: 'SENSOR_READ_FAILED', what: 'sensor CSV' } as const;
const NDJSON = { readErrorCode: 'SENSOR_READ_FAILED', what: 'sensor NDJSON' } as const;

/**
 * Sensor records from CSV with a header (`timestamp, asset, signal, value[, quality]`), as a stream of records and
 * rejections in file order. An unparsable line (an unclosed quote, text after a closing quote, a wrong field count, a
 * line over 1 MiB) is rejected with its physical line number and reading goes on at the next line, so an unclosed
 * quote costs that one line only.
 *
 * @param source - file path, readable stream or async iterable of text/bytes
 * @returns records and rejections in file order
 * @throws {@link @lepton/core!LeptonError} `SENSOR_READ_FAILED` when the file or stream cannot be read
 */
export async function* readSensorCsv(source: TextSource): AsyncGenerator<ParsedRecord> {
  let header: string[] = [];
  for await (const item of readCsv(source, CSV)) {
    if ('header' in item) header = item.header;
    else if ('fields' in item) yield parseSensorRecord(Object.fromEntries(header.map((h, i) => [h, item.fields[i]])), `line ${item.line}`);
    else yield { rejected: { source: `line ${item.line}`, issues: [{ field: '(record)', message: `unparsable CSV line: ${item.message}` }] } };
  }
}

/**
 * Sensor records from newline-delimited JSON, one object per line. A UTF-8 byte-order mark, `\r\n` line ends and blank
 * lines are fine; a line over 1 MiB is rejected without being held in memory.
 *
 * @param source - file path, readable stream or async iterable of text/bytes
 * @returns records and rejections in file order
 * @throws {@link @lepton/core!LeptonError} `SENSOR_READ_FAILED` when the file or stream cannot be read
 */
export async function* readSensorNdjson(source: TextSource): AsyncGenerator<ParsedRecord> {
  for await (const item of readLines(source, NDJSON)) {
    const where = `line ${item.line}`;
    if (!('text' in item)) {
      yield { rejected: { source: where, issues: [{ field: '(record)', message: 'line too long' }] } };
      continue;
    }
    if (item.text.trim() === '') continue;
    let raw: unknown;
    try {
      raw = JSON.parse(item.text);
    } catch {
      yield { rejected: { source: where, issues: [{ field: '(record)', message: 'not valid JSON' }] } };
      continue;
    }
    yield parseSensorRecord(raw, where);
  }
}
