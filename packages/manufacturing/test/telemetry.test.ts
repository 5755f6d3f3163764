import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { MAX_TIMESTAMP, parseSensorRecord, QualityMonitor, readSensorCsv, readSensorNdjson, resample, type ParsedRecord, type SensorRecord } from '@lepton/manufacturing';

const T0 = Date.parse('2026-05-04T06:00:00Z');
const rec = (s: number, value: number, extra: Partial<SensorRecord> = {}): SensorRecord => ({ timestamp: T0 + s * 1000, asset: 'press-1', signal: 'temperature', value, quality: 'good', ...extra });

describe('sensor records', () => {
  it('validates records and reports each bad field', () => {
    const ok = parseSensorRecord({ timestamp: '2026-05-04T06:00:00Z', asset: 'press-1', signal: 'temp', value: '71.5' }, 'line 2');
    expect(ok).toEqual({ record: { timestamp: T0, asset: 'press-1', signal: 'temp', value: 71.5, quality: 'good' } });
    const missing = parseSensorRecord({ timestamp: T0, asset: 'press-1', signal: 'temp', value: null }, 'line 3');
    expect('record' in missing && Number.isNaN(missing.record.value)).toBe(true);
    const bad = parseSensorRecord({ timestamp: 'soon', asset: '', signal: 'temp', value: 'x', quality: 'great' }, 'line 4');
    expect('rejected' in bad && bad.rejected.issues.map((i) => i.field).sort()).toEqual(['asset', 'quality', 'timestamp', 'value']);
  });

  const fields = (raw: unknown): string[] => {
    const r = parseSensorRecord(raw, 'x');
    return 'rejected' in r ? r.rejected.issues.map((i) => i.field) : [];
  };
  const base = { timestamp: T0, asset: 'press-1', signal: 'temp', value: 1 };

  it('refuses non-finite values, naming the field and never echoing the value (issue 15)', () => {
    for (const value of [Infinity, -Infinity, 'Infinity', '-inf', '1e999', '0x10', '1,5', true, [1], { v: 1 }]) {
      expect(fields({ ...base, value }), String(value)).toEqual(['value']);
    }
    // NaN, null, nothing, '' and "NaN" remain the documented missing-value marker.
    for (const value of [Number.NaN, null, undefined, '', 'NaN', ' nan ']) {
      const r = parseSensorRecord({ ...base, value }, 'x');
      expect('record' in r && Number.isNaN(r.record.value), String(value)).toBe(true);
    }
    expect(fields({ ...base, value: ' -1.5e3 ' })).toEqual([]);
    const r = parseSensorRecord({ ...base, value: '98765e999' }, 'x');
    expect(JSON.stringify(r)).not.toContain('98765');
  });

  it('refuses out-of-range or ambiguous timestamps: no lenient date parsing (issue 15)', () => {
    for (const timestamp of [1e20, -1, Number.NaN, Infinity, 'May 4 2026', '2026-05-04', '2026-05-04T06:00:00', '2026-02-30T00:00:00Z', '2026-05-04T24:00:00Z', '0075-01-01T00:00:00Z', '+275760-09-13T00:00:00Z', '99999999999999999', true, null, {}]) {
      expect(fields({ ...base, timestamp }), String(timestamp)).toEqual(['timestamp']);
    }
    const at = (timestamp: unknown): number | undefined => {
      const r = parseSensorRecord({ ...base, timestamp }, 'x');
      return 'record' in r ? r.record.timestamp : undefined;
    };
    expect(at('2026-05-04T08:00:00+02:00')).toBe(T0);
    expect(at('2026-05-04T01:30:00-0430')).toBe(T0);
    expect(at('2026-05-04 06:00Z')).toBe(T0);
    expect(at('2026-05-04T06:00:00.123456Z')).toBe(T0 + 123);
    expect(at('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29));
    expect(at(String(T0))).toBe(T0);
    expect(at(new Date(T0))).toBe(T0);
    expect(at('2199-12-31T23:59:59.999Z')).toBe(MAX_TIMESTAMP);
    expect(at('2200-01-01T00:00:00Z')).toBeUndefined();
    const far = parseSensorRecord({ ...base, timestamp: 1e20 }, 'x');
    expect('rejected' in far && far.rejected.issues[0]!.message).toMatch(/outside the accepted range/);
    expect(fields({ ...base, asset: 'a'.repeat(257) })).toEqual(['asset']);
  });
});

describe('CSV and NDJSON readers', () => {
  const collect = async (it: AsyncIterable<ParsedRecord>): Promise<string[]> => {
    const out: string[] = [];
    for await (const r of it) out.push('record' in r ? `${r.record.asset}/${r.record.signal}=${r.record.value}` : `rejected ${r.rejected.source}`);
    return out;
  };
  it('reads CSV and reports bad rows by line', async () => {
    const csv = 'timestamp,asset,signal,value,quality\n2026-05-04T06:00:00Z,p1,temp,70,good\n2026-05-04T06:00:01Z,p1,temp,abc,good\nshort,row\n2026-05-04T06:00:02Z,p1,temp,,\n';
    expect(await collect(readSensorCsv(Readable.from([csv])))).toEqual(['p1/temp=70', 'rejected line 3', 'rejected line 4', 'p1/temp=NaN']);
  });
  it('reads NDJSON and reports bad lines', async () => {
    const nd = ['{"timestamp":1,"asset":"p1","signal":"amps","value":3.2}', '{oops', '{"timestamp":2,"asset":"p1","signal":"amps"}'].join('\n');
    expect(await collect(readSensorNdjson(Readable.from([nd])))).toEqual(['p1/amps=3.2', 'rejected line 2', 'p1/amps=NaN']);
  });
});

describe('data-quality monitor', () => {
  it('reports gaps, out-of-order, duplicates, missing values, bad flags and stuck sensors', () => {
    const q = new QualityMonitor({ intervalMs: 1000, gapFactor: 3, stuckAfter: 4 });
    const verdicts = [
      rec(0, 70), rec(1, 70.2), rec(2, 70.1),
      rec(10, 70.3), // gap of 8 s
      rec(9, 70), // out of order
      rec(10, 70.4), // duplicate timestamp
      rec(11, Number.NaN), // dropout
      rec(12, 70.5, { quality: 'bad' }),
      rec(13, 71), rec(14, 71), rec(15, 71), rec(16, 71), rec(17, 71), // stuck from the 4th repeat
      rec(18, 71.3),
    ].map((r) => q.check(r));
    const kinds = verdicts.map((v) => v.issues.map((i) => i.kind).join('+') || (v.clean ? 'clean' : 'withheld'));
    expect(kinds).toEqual(['clean', 'clean', 'clean', 'gap', 'out-of-order', 'duplicate', 'missing-value', 'bad-quality', 'clean', 'clean', 'clean', 'stuck', 'withheld', 'clean']);
    expect(q.stats()).toMatchObject({ clean: 8, gap: 1, 'out-of-order': 1, duplicate: 1, 'missing-value': 1, 'bad-quality': 1, stuck: 1 });
    // Signals are tracked separately.
    expect(q.check(rec(0, 5, { signal: 'pressure' })).clean).toBe(true);
  });

  it('refuses samples stamped beyond the clock-skew bound without moving the signal clock (issue 15)', () => {
    let clock = T0 + 10_000;
    const q = new QualityMonitor({ intervalMs: 1000, now: () => clock });
    expect(q.check(rec(0, 70)).clean).toBe(true);
    const ahead = q.check(rec(365 * 86_400, 70.1)); // a year ahead
    expect(ahead).toEqual({ clean: false, issues: [expect.objectContaining({ kind: 'future-timestamp', at: clock })] });
    expect(q.check(rec(10 * 60, 70.1)).issues.map((i) => i.kind)).toEqual(['future-timestamp']); // 10 min > 5 min default
    // The next sample in time is clean, not "out of order" against the future one.
    expect(q.check(rec(1, 70.2))).toEqual({ clean: true, issues: [] });
    expect(q.check(rec(4 * 60, 70.3)).issues.map((i) => i.kind)).toEqual(['gap']); // 4 min ahead: within the bound
    clock += 1e6;
    expect(q.stats()).toMatchObject({ 'future-timestamp': 2, 'out-of-order': 0, clean: 3 });
    const off = new QualityMonitor({ maxClockSkewMs: Infinity, now: () => Number.NaN });
    expect(off.check(rec(1e6, 1)).clean).toBe(true);
  });

  it('validates its options and refuses records that were never validated, with typed errors (issue 15)', () => {
    for (const o of [{ intervalMs: 0 }, { intervalMs: Number.NaN }, { gapFactor: -1 }, { stuckAfter: 1.5 }, { maxClockSkewMs: Number.NaN }, { now: 5 }]) {
      expect(() => new QualityMonitor(o as never), JSON.stringify(o)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    const q = new QualityMonitor({ now: () => T0 });
    expect(() => q.check(rec(0, 1, { timestamp: Number.NaN }))).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', details: { field: 'timestamp' } }));
    expect(() => q.check(rec(0, Infinity))).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', details: { field: 'value' } }));
    expect(() => q.check(null as never)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => new QualityMonitor({ now: () => Number.NaN }).check(rec(0, 1))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('resampling', () => {
  const ts = [0, 1000, 3000, 4000, 20_000].map((t) => T0 + t);
  const vs = [1, 2, Number.NaN, 4, 9];
  it('holds the previous value, interpolates, or leaves holes — never across long gaps', () => {
    const prev = resample(ts, vs, { intervalMs: 1000, fill: 'previous', maxFillMs: 5000 });
    expect(prev.timestamps).toHaveLength(21);
    expect(Array.from(prev.values.slice(0, 6))).toEqual([1, 2, 2, 2, 4, 4]);
    expect(Number.isNaN(prev.values[10]!)).toBe(true); // 6 s after the last sample: gap not filled
    expect(prev.values[20]).toBe(9);
    const lin = resample(ts, vs, { intervalMs: 1000, fill: 'linear', maxFillMs: 5000 });
    expect(Array.from(lin.values.slice(0, 5))).toEqual([1, 2, 8 / 3, 10 / 3, 4].map((v) => expect.closeTo(v, 12)));
    expect(Number.isNaN(lin.values[12]!)).toBe(true);
    const none = resample(ts, vs, { intervalMs: 1000, fill: 'none' });
    expect(none.unfilled).toBe(21 - 4);
    expect(() => resample([2, 1], [0, 0], { intervalMs: 1 })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });
});
