// Issue 15 regressions for the medical CSV readers: unreadable files are typed errors, an unclosed quote costs one row.
import { describe, expect, it } from 'vitest';
import { parseClinicalCsv, readClinicalCsv } from '@lepton/medical';

describe('clinical CSV: bad files never crash or lose rows', () => {
  it('a missing file is CLINICAL_READ_FAILED, not a raw ENOENT', async () => {
    await expect(readClinicalCsv('/nonexistent/clinical.csv')).rejects.toMatchObject({ name: 'LeptonError', code: 'CLINICAL_READ_FAILED' });
  });

  it('an unclosed quote costs its own row only; later rows are read with their own line numbers', () => {
    const rows = Array.from({ length: 20 }, (_, i) => `P${i},${40 + i},F,0`);
    const text = ['patient_id,age,sex,smoker', ...rows.slice(0, 5), 'PX,"50,M,1', ...rows.slice(5)].join('\r\n');
    const r = parseClinicalCsv(text);
    expect(r.records).toHaveLength(20);
    expect(r.failures.map((f) => [f.line, f.error.code])).toEqual([[7, 'CLINICAL_MALFORMED_ROW']]);
    expect(r.rows).toBe(21);
    expect(JSON.stringify(r.failures.map((f) => f.error.message))).not.toContain('PX');
  });
});
