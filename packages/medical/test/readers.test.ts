// Issue 15 regressions for the medical CSV readers: unreadable files are typed errors, an unclosed quote costs one row.
import fc from 'fast-check';
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

describe('clinical CSV: property', () => {
  it('any text: a typed CLINICAL_CSV_INVALID, or every data row is a record or a typed failure (rows = records + failures), finite ages', () => {
    const cell = fc.oneof(fc.constantFrom('P1', 'P2', '64', '065Y', 'abc', '', 'F', 'm', 'x', '1', '0', 'yes', 'NaN', '1e3', '-1', '131'), fc.string({ maxLength: 6 }));
    const row = fc.array(cell, { minLength: 1, maxLength: 5 }).map((r) => r.join(','));
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.oneof(row, fc.constantFrom('"', 'P3,"70,F,1', '\uFEFF', '')), { maxLength: 12 }), fc.boolean(), (withHeader, rows, crlf) => {
        const text = [...(withHeader ? ['patient_id,age,sex,smoker'] : []), ...rows].join(crlf ? '\r\n' : '\n');
        let r;
        try {
          r = parseClinicalCsv(text);
        } catch (err) {
          expect((err as { code?: string }).code).toBe('CLINICAL_CSV_INVALID');
          return;
        }
        expect(r.rows).toBe(r.records.length + r.failures.length);
        for (const rec of r.records) expect(Number.isFinite(rec.age) && rec.age >= 0 && rec.age <= 130).toBe(true);
        for (const f of r.failures) expect(f.error.code).toMatch(/^CLINICAL_[A-Z_]+$/);
      }),
      { numRuns: 300 },
    );
  });
});
