import { LeptonError, readCsv, readLines, type TextSource } from '@lepton/core';
import { parseSensorRecord, type ParsedRecord } from './record.js';

const CSV = { readErrorCode: 'SENSOR_READ_FAILED', what: 'sensor CSV' } as const;
const NDJSON = { readErrorCode: 'SENSOR_READ_FAILED', what: 'sensor NDJSON' } as const;

/** The fields of a sensor record; a CSV header needs the first four. */
const KNOWN = ['timestamp', 'asset', 'signal', 'value', 'quality'] as const;
const REQUIRED = ['timestamp', 'asset', 'signal', 'value'] as const;

/** Edit distance, for names of at most a few dozen characters (longer ones are never a near miss). */
function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2 || a.length > 64) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * The known field an unknown name was probably meant to be (`Value`, `val`, `qualty`, ` value`): same letters in
 * another case or with surrounding spaces, or at most two edits away. Undefined for a genuinely other column (`unit`).
 */
function nearMiss(name: string): string | undefined {
  if ((KNOWN as readonly string[]).includes(name)) return undefined;
  const n = name.trim().toLowerCase();
  return KNOWN.find((k) => n === k || distance(n, k) <= 2);
}

const shown = (name: string): string => JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);

/** Throws `INVALID_INPUT` (`details.field: 'header'`) for a header that would silently lose or misread data. */
function checkHeader(header: readonly string[]): void {
  const fail = (column: string, message: string): never => {
    throw new LeptonError('INVALID_INPUT', `readSensorCsv: the header ${message}. The header must name timestamp, asset, signal and value (quality optional), each once.`, { details: { field: 'header', column: column.slice(0, 64) } });
  };
  const seen = new Set<string>();
  for (const h of header) {
    if (seen.has(h)) fail(h, `names the column ${shown(h)} twice`);
    seen.add(h);
    const meant = nearMiss(h);
    if (meant !== undefined) fail(h, `has a column ${shown(h)} where ${shown(meant)} was probably meant`);
  }
  for (const r of REQUIRED) if (!seen.has(r)) fail(r, `has no ${shown(r)} column`);
}

/**
 * Sensor records from CSV with a header (`timestamp, asset, signal, value[, quality]`), as a stream of records and
 * rejections in file order. The header is checked first: a missing `timestamp`, `asset`, `signal` or `value` column, a
 * column named twice, or a column that looks like a misspelt field (`Value`, `val`, `qualty`) is an `INVALID_INPUT`
 * error naming the column (`details.field: 'header'`, `details.column`), since it would turn every value into a dropout
 * or every quality into `good`. Other columns (`unit` …) are ignored. An unparsable line (an unclosed quote, text after a closing quote, a wrong field count, a
 * line over 1 MiB) is rejected with its physical line number and reading goes on at the next line, so an unclosed
 * quote costs that one line only.
 *
 * @param source - file path, readable stream or async iterable of text/bytes
 * @returns records and rejections in file order
 * @throws {@link @lepton/core!LeptonError} `SENSOR_READ_FAILED` when the file or stream cannot be read;
 *   `INVALID_INPUT` for a bad header (before any record)
 */
export async function* readSensorCsv(source: TextSource): AsyncGenerator<ParsedRecord> {
  let header: string[] = [];
  for await (const item of readCsv(source, CSV)) {
    if ('header' in item) {
      checkHeader(item.header);
      header = item.header;
    }
    else if ('fields' in item) yield parseSensorRecord(Object.fromEntries(header.map((h, i) => [h, item.fields[i]])), `line ${item.line}`);
    else yield { rejected: { source: `line ${item.line}`, issues: [{ field: '(record)', message: `unparsable CSV line: ${item.message}` }] } };
  }
}

/**
 * Sensor records from newline-delimited JSON, one object per line. A UTF-8 byte-order mark, `\r\n` line ends and blank
 * lines are fine; a line over 1 MiB is rejected without being held in memory. A record with a key that looks like a
 * misspelt field (`Value`, `val`, `qualty`), or with no `value` key but some unknown key, is rejected naming that key
 * (a misspelt value would otherwise read as a dropout, a misspelt quality as `good`); a record without `value` and
 * without unknown keys is a missing value (NaN), as is `"value": null`. Other extra keys are ignored.
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
    const odd = oddKey(raw);
    if (odd !== undefined) {
      yield { rejected: { source: where, issues: [{ field: odd.key.slice(0, 64), message: odd.meant ? `unknown key; ${shown(odd.meant)} was probably meant` : 'unknown key, and no "value" key: the value may be misnamed (write "value": null for a missing value)' }] } };
      continue;
    }
    yield parseSensorRecord(raw, where);
  }
}

/** An NDJSON record's key that is probably a misspelt field, or an unknown key of a record without `value`. */
function oddKey(raw: unknown): { key: string; meant: string | undefined } | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const keys = Object.keys(raw);
  const unknown = keys.filter((k) => !(KNOWN as readonly string[]).includes(k));
  for (const k of unknown) {
    const meant = nearMiss(k);
    if (meant !== undefined) return { key: k, meant };
  }
  if (!keys.includes('value') && unknown.length > 0) return { key: unknown[0]!, meant: undefined };
  return undefined;
}
