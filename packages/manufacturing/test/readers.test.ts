// Issue 15 regressions for the sensor readers: unreadable sources are typed errors, an unclosed quote costs one line,
// a byte-order mark and CRLF line ends change nothing.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readSensorCsv, readSensorNdjson } from '@lepton/manufacturing';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const row = (i: number): string => `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}Z,press-${i % 3},temperature,${20 + (i % 7)}`;

describe('sensor readers: bad files never crash the process or lose lines', () => {
  it('a missing file is a typed SENSOR_READ_FAILED error that try/catch catches', async () => {
    await expect(collect(readSensorCsv('/nonexistent/sensors.csv'))).rejects.toMatchObject({ name: 'LeptonError', code: 'SENSOR_READ_FAILED' });
    await expect(collect(readSensorNdjson('/nonexistent/sensors.ndjson'))).rejects.toMatchObject({ code: 'SENSOR_READ_FAILED' });
  });

  it('an unclosed quote mid-file: all 100 good rows delivered, exactly one rejection at its line', async () => {
    const lines = ['timestamp,asset,signal,value', ...Array.from({ length: 10 }, (_, i) => row(i)), '2026-01-01T00:01:00Z,"press-1,temperature,20', ...Array.from({ length: 90 }, (_, i) => row(10 + i))];
    const items = await collect(readSensorCsv(Readable.from([lines.join('\n')])));
    expect(items.filter((i) => 'record' in i)).toHaveLength(100);
    const rejected = items.filter((i) => 'rejected' in i);
    expect(rejected).toHaveLength(1);
    expect('rejected' in rejected[0]! && rejected[0].rejected.source).toBe('line 12');
  });

  it('CRLF, quoted multi-line fields and a BOM keep line numbers right', async () => {
    const csv = '\uFEFFtimestamp,asset,signal,value\r\n' + row(1) + '\r\n2026-01-01T00:00:02Z,"press\r\n2",temperature,21\r\n2026-01-01T00:00:03Z,press-1,temperature,oops\r\n';
    const items = await collect(readSensorCsv(Readable.from([csv])));
    expect(items.map((i) => ('record' in i ? 'ok' : i.rejected.source))).toEqual(['ok', 'ok', 'line 5']);
    const nd = '\uFEFF{"timestamp":"2026-01-01T00:00:00Z","asset":"a","signal":"s","value":1}\r\n\r\nnot json\r\n';
    const out = await collect(readSensorNdjson(Readable.from([Buffer.from(nd)])));
    expect(out.map((i) => ('record' in i ? 'ok' : i.rejected.source))).toEqual(['ok', 'line 3']);
  });
});
