import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LeptonError, parseCsv, parseTimestamp, readCsv, readLines, type CsvItem } from '@lepton/core';

// The readers' `readErrorCode` takes a registered code; an application registers its own codes like this.
declare module '@lepton/core' {
  interface LeptonErrorCodes {
    inputTest: 'X_READ_FAILED' | 'Y_READ_FAILED' | 'ORDERS_READ_FAILED';
  }
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Splits bytes into chunks at the given cut points, so multi-byte characters and CRLF pairs get split too. */
function chunked(bytes: Buffer, cuts: number[]): Readable {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let at = 0;
  for (const p of [...points, bytes.length]) {
    if (p > at) parts.push(bytes.subarray(at, p));
    at = Math.max(at, p);
  }
  return Readable.from(parts);
}

/** Writes one CSV field the way RFC 4180 writers do. */
const quote = (f: string): string => (/[",\r\n]|^\s|\s$/.test(f) || f === '' ? `"${f.replaceAll('"', '""')}"` : f);

describe('parseTimestamp: strict forms only', () => {
  it('accepts ISO-8601 with an offset, epoch milliseconds and Dates', () => {
    expect(parseTimestamp('2026-01-01T00:00:00Z')).toBe(Date.UTC(2026, 0, 1));
    expect(parseTimestamp('2026-03-05 14:30:00.250+01:00')).toBe(Date.UTC(2026, 2, 5, 13, 30, 0, 250));
    expect(parseTimestamp('2024-02-29T23:59:59.999-05:30')).toBe(Date.UTC(2024, 2, 1, 5, 29, 59, 999));
    expect(parseTimestamp('2026-01-01T10:00+0200')).toBe(Date.UTC(2026, 0, 1, 8));
    expect(parseTimestamp(1767225600000)).toBe(1767225600000);
    expect(parseTimestamp('1767225600000')).toBe(1767225600000);
    expect(parseTimestamp(new Date(Date.UTC(2026, 0, 1)))).toBe(Date.UTC(2026, 0, 1));
  });

  it('rejects lenient, impossible and out-of-range values', () => {
    for (const bad of [
      'March 5',
      'foo 12',
      '2026-02-30T00:00:00Z', // no such day (Date.parse gives March 2)
      '2023-02-29T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T10:00:00', // no offset: local time is ambiguous
      '2026-01-01', // a date is not an instant
      '2026-01-01T10:00:00+15:00',
      '0x10',
      '1e3',
      '12345678901234567890',
      1e20,
      -1,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      new Date(Number.NaN),
      null,
      undefined,
      {},
      [],
      true,
    ]) {
      expect(parseTimestamp(bad), String(bad)).toBeUndefined();
    }
  });

  it('dateOnly accepts a calendar date as midnight UTC, still with the calendar check', () => {
    expect(parseTimestamp('2024-01-02', { dateOnly: true })).toBe(Date.UTC(2024, 0, 2));
    expect(parseTimestamp('2024-02-30', { dateOnly: true })).toBeUndefined();
    expect(parseTimestamp('1896-05-26', { dateOnly: true, minMs: Date.UTC(1800, 0, 1) })).toBe(Date.UTC(1896, 4, 26));
  });

  it('property: every in-range instant round-trips through ISO-8601 with any offset; any string gives undefined or an in-range time', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Date.UTC(2199, 11, 31) }), fc.integer({ min: -14 * 60, max: 14 * 60 }), (ms, offsetMin) => {
        const local = new Date(ms + offsetMin * 60_000).toISOString().slice(0, 23);
        const sign = offsetMin < 0 ? '-' : '+';
        const abs = Math.abs(offsetMin);
        const iso = `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
        expect(parseTimestamp(iso)).toBe(ms);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.double(), fc.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?Z$/)), (v) => {
        const ms = parseTimestamp(v);
        if (ms !== undefined) {
          expect(Number.isFinite(ms)).toBe(true);
          expect(ms).toBeGreaterThanOrEqual(0);
          expect(ms).toBeLessThan(Date.UTC(2200, 0, 1));
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('readLines', () => {
  it('strips a byte-order mark and \\r, numbers physical lines, bounds line length', async () => {
    const items = await collect(readLines(Readable.from(['\uFEFF{"a":1}\r\n', '\r\n', 'x'.repeat(30), 'y\n{}']), { maxLineChars: 10 }));
    expect(items).toEqual([{ line: 1, text: '{"a":1}' }, { line: 2, text: '' }, { line: 3, tooLong: true }, { line: 4, text: '{}' }]);
  });

  it('a missing file or a failing stream is a typed error that try/catch sees (never an unhandled stream error)', async () => {
    await expect(collect(readLines('/nonexistent/lepton.ndjson', { readErrorCode: 'X_READ_FAILED' }))).rejects.toMatchObject({
      name: 'LeptonError',
      code: 'X_READ_FAILED',
    });
    const failing = new Readable({
      read() {
        this.push('a\nb');
        this.destroy(new Error('socket hang up'));
      },
    });
    const err = await collect(readLines(failing, { readErrorCode: 'Y_READ_FAILED', what: 'feed' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeptonError);
    expect((err as LeptonError).code).toBe('Y_READ_FAILED');
    expect((err as LeptonError).message).toContain('feed');
    const dir = mkdtempSync(join(tmpdir(), 'lepton-lines-'));
    await expect(collect(readLines(dir))).rejects.toMatchObject({ code: 'READ_FAILED' }); // a directory
    await expect(collect(readLines(42 as unknown as string))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('readCsv / parseCsv: never lose a line uncounted', () => {
  it('an unclosed quote mid-file costs its own line; every later good line is delivered', () => {
    const good = Array.from({ length: 100 }, (_, i) => `r${i},${i},ok`);
    const text = ['id,n,s', ...good.slice(0, 40), 'bad,"7,unclosed', ...good.slice(40)].join('\n');
    const items = parseCsv(text);
    const rows = items.filter((i) => 'fields' in i);
    const rejected = items.filter((i) => 'problem' in i);
    expect(rows).toHaveLength(100);
    expect(rejected).toEqual([{ line: 42, problem: 'unclosed-quote', message: expect.any(String) }]);
    expect(rows.map((r) => r.line)).toEqual([...Array.from({ length: 40 }, (_, i) => i + 2), ...Array.from({ length: 60 }, (_, i) => i + 43)]);
  });

  it('CRLF with quoted multi-line fields keeps physical line numbers; BOM is ignored', () => {
    const text = '\uFEFFid,note\r\n1,"two\r\nlines"\r\n2,plain\r\n3,"three\r\n\r\nlines"\r\n4,x\r\n';
    const items = parseCsv(text);
    expect(items).toEqual([
      { header: ['id', 'note'], line: 1 },
      { fields: ['1', 'two\nlines'], line: 2 },
      { fields: ['2', 'plain'], line: 4 },
      { fields: ['3', 'three\n\nlines'], line: 5 },
      { fields: ['4', 'x'], line: 8 },
    ]);
  });

  it('wrong field counts, text after a quote and over-long lines are rejected with their line', () => {
    const items = parseCsv(`a,b\n1,2,3\n"q"z,1\n${'x'.repeat(50)}\n5,6\n5"5,1\n`, { maxLineChars: 20 });
    expect(items.map((i) => ('problem' in i ? `${i.line}:${i.problem}` : 'header' in i ? 'header' : `${i.line}:ok`))).toEqual([
      'header',
      '2:column-count',
      '3:text-after-quote',
      '4:too-long',
      '5:ok',
      '6:stray-quote',
    ]);
    expect(JSON.stringify(items)).not.toContain('xxxx');
  });

  it('a quote that never closes is given up after maxRecordLines, and reading resumes', () => {
    const text = ['a,b', '1,"open', ...Array.from({ length: 300 }, (_, i) => `${i},v`)].join('\n');
    const items = parseCsv(text, { maxRecordLines: 10 });
    expect(items.filter((i) => 'problem' in i)).toHaveLength(1);
    expect(items.filter((i) => 'fields' in i)).toHaveLength(300);
  });

  it('unreadable sources and bad options are typed errors', async () => {
    await expect(collect(readCsv('/nonexistent/x.csv', { readErrorCode: 'ORDERS_READ_FAILED' }))).rejects.toMatchObject({ code: 'ORDERS_READ_FAILED' });
    expect(() => parseCsv('a', { delimiter: '"' })).toThrow(LeptonError);
    expect(() => parseCsv(7 as unknown as string)).toThrow(LeptonError);
    const dir = mkdtempSync(join(tmpdir(), 'lepton-csv-'));
    const path = join(dir, 'x.csv');
    writeFileSync(path, 'a,b\n1,2\n');
    expect((await collect(readCsv(path))).filter((i) => 'fields' in i)).toHaveLength(1);
  });

  const cell = fc.string({ unit: fc.constantFrom('a', 'b', ' ', ',', '"', '\n', '\r', 'é', '€', '\t') });
  const plainCell = fc.string({ unit: fc.constantFrom('a', 'b', '1', 'é', '€', '-'), minLength: 1 });

  it('property: whatever the bytes, every physical line is a record line, a counted rejection or blank; streaming = in-memory', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: fc.constantFrom('a', '1', ',', '"', '\n', '\r\n', ' ', 'é', '\uFEFF'), maxLength: 200 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        async (text, cuts) => {
          const items = parseCsv(text, { maxRecordLines: 5 });
          const physical = text.split('\n');
          if (physical[physical.length - 1] === '') physical.pop();
          const covered = new Set<number>();
          for (const item of items) {
            const span = 'problem' in item ? 1 : 1 + ('header' in item ? item.header : item.fields).join('').split('\n').length - 1;
            for (let l = item.line; l < item.line + span; l++) {
              expect(covered.has(l)).toBe(false);
              covered.add(l);
            }
          }
          physical.forEach((p, i) => {
            if (!covered.has(i + 1)) expect(p.replace(/^\uFEFF/, '').trim(), `line ${i + 1}`).toBe('');
          });
          const header = items.find((i): i is Extract<CsvItem, { header: string[] }> => 'header' in i);
          for (const item of items) if ('fields' in item) expect(item.fields.length).toBe(header!.header.length);
          const streamed = await collect(readCsv(chunked(Buffer.from(text, 'utf8'), cuts), { maxRecordLines: 5 }));
          expect(streamed).toEqual(items);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: what an RFC 4180 writer writes reads back exactly, LF or CRLF', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }).chain((cols) =>
          fc.tuple(fc.array(plainCell, { minLength: cols, maxLength: cols }), fc.array(fc.array(cell, { minLength: cols, maxLength: cols }), { maxLength: 20 })),
        ),
        fc.boolean(),
        ([header, rows], crlf) => {
          const eol = crlf ? '\r\n' : '\n';
          // a lone row holding one empty field would be a blank line: a writer quotes it, as quote() does
          const text = [header, ...rows].map((r) => r.map(quote).join(',')).join(eol) + eol;
          const items = parseCsv(text);
          expect(items.filter((i) => 'problem' in i)).toEqual([]);
          expect(items[0]).toEqual({ header, line: 1 });
          const fields = items.slice(1).map((i) => ('fields' in i ? i.fields : []));
          expect(fields).toEqual(rows.map((r) => r.map((f) => f.replaceAll('\r\n', '\n'))));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: one corrupted line among good ones costs exactly that line', () => {
    fc.assert(
      fc.property(fc.array(fc.array(plainCell, { minLength: 3, maxLength: 3 }), { minLength: 1, maxLength: 60 }), fc.nat(), (rows, at) => {
        const bad = at % rows.length;
        const lines = ['x,y,z', ...rows.map((r, i) => (i === bad ? `${r[0]},"${r[1]},${r[2]}` : r.join(',')))];
        const items = parseCsv(lines.join('\n'));
        expect(items.filter((i) => 'problem' in i)).toEqual([{ line: bad + 2, problem: 'unclosed-quote', message: expect.any(String) }]);
        expect(items.filter((i) => 'fields' in i).map((i) => ('fields' in i ? i.fields : []))).toEqual(rows.filter((_, i) => i !== bad));
      }),
      { numRuns: 200 },
    );
  });
});
