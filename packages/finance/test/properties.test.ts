// Property-based tests (fast-check) for issue 15: whatever comes in, what comes out is a valid record with finite
// numbers or a counted, typed rejection — never NaN, Infinity, a string where a number belongs, or a plain TypeError.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AMOUNT_MAX,
  AMOUNT_MIN,
  FeatureEngine,
  historicalVaR,
  isLeptonError,
  parametricVaR,
  TIMESTAMP_MAX,
  TransactionSchema,
  validateTransactions,
  type Transaction,
} from '@lepton/finance';
import { RAW_RECORD, RECORD_FIELDS } from './support/raw-record.js';

const FIELDS = RECORD_FIELDS;
const base = { ...RAW_RECORD, id: 't' };

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

/** ISO-like strings built from components that may be out of range (month 13, day 31 of February, hour 25 …). */
const isoish = fc
  .record({
    y: fc.integer({ min: 0, max: 9999 }),
    mo: fc.integer({ min: 0, max: 13 }),
    d: fc.integer({ min: 0, max: 32 }),
    h: fc.integer({ min: 0, max: 25 }),
    mi: fc.integer({ min: 0, max: 61 }),
    s: fc.integer({ min: 0, max: 61 }),
    offset: fc.constantFrom('Z', '+01:00', '-05:30', '+14:00', '', '+25:00'),
    dateOnly: fc.boolean(),
  })
  .map((c) => (c.dateOnly ? `${pad(c.y, 4)}-${pad(c.mo, 2)}-${pad(c.d, 2)}` : `${pad(c.y, 4)}-${pad(c.mo, 2)}-${pad(c.d, 2)}T${pad(c.h, 2)}:${pad(c.mi, 2)}:${pad(c.s, 2)}${c.offset}`));

/** Values that have broken validators: NaN, ±Infinity, huge and tiny numbers, numeric-looking strings, odd dates. */
const hostile = fc.oneof(
  fc.double(),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e20, 1e39, 1e308, -0, 5e-324, 1e-9, AMOUNT_MAX, AMOUNT_MIN, TIMESTAMP_MAX, TIMESTAMP_MAX - 1),
  fc.constantFrom('0x10', '1e3', 'Infinity', 'NaN', '.5', '1,000', ' 12.50 ', '+3', '-4', '', ' ', 'March 5', 'foo 12', '2026-02-30T00:00:00Z', '12345678901234567890', '2026-03-05'),
  isoish,
  fc.integer({ min: -1, max: TIMESTAMP_MAX + 1 }),
  fc.integer().map(String),
  fc.stringMatching(/^[+-]?\d{1,17}(\.\d{0,10})?$/),
  fc.date(),
  fc.string(),
  fc.constantFrom(null, undefined, true, false, [], {}),
);

/** A mostly valid record with a few fields replaced by hostile values, so the valid path is exercised too. */
const mostlyValid = fc
  .tuple(fc.uniqueArray(fc.constantFrom(...FIELDS), { maxLength: 3 }), fc.array(hostile, { minLength: 3, maxLength: 3 }), fc.integer({ min: 0, max: 5 }))
  .map(([fields, values, n]) => {
    const r: Record<string, unknown> = { ...base, id: `t${n}` };
    fields.forEach((f, i) => (r[f] = values[i]));
    return r;
  });

const records = fc.array(fc.oneof(mostlyValid, mostlyValid, fc.jsonValue(), fc.dictionary(fc.constantFrom(...FIELDS), hostile), fc.anything()), { maxLength: 12 });

describe('validateTransactions on arbitrary input', () => {
  it('every output is a valid transaction with finite, in-range numbers or a counted rejection naming a field', () => {
    fc.assert(
      fc.property(records, (input) => {
        const { valid, rejected, stats } = validateTransactions(input);
        expect(stats.total).toBe(input.length);
        expect(stats.total).toBe(stats.valid + stats.rejected);
        expect(valid).toHaveLength(stats.valid);
        expect(rejected).toHaveLength(stats.rejected);
        expect(new Set(valid.map((t) => t.id)).size).toBe(valid.length); // duplicates were rejected
        for (const t of valid) {
          expect(Number.isFinite(t.timestamp) && t.timestamp >= 0 && t.timestamp < TIMESTAMP_MAX).toBe(true);
          expect(Number.isFinite(t.amount) && t.amount >= AMOUNT_MIN && t.amount <= AMOUNT_MAX).toBe(true);
          for (const k of ['latitude', 'longitude', 'label'] as const) if (t[k] !== undefined) expect(Number.isFinite(t[k])).toBe(true);
          expect(typeof t.id === 'string' && typeof t.cardId === 'string').toBe(true);
        }
        for (const r of rejected) {
          expect(r.issues.length).toBeGreaterThan(0);
          for (const i of r.issues) expect(i.field === '(record)' || FIELDS.includes(i.field.split('.')[0]!)).toBe(true);
        }
        const counted = rejected.flatMap((r) => [...new Set(r.issues.map((i) => i.field))]).length;
        expect(Object.values(stats.byField).reduce((a, b) => a + b, 0)).toBe(counted);
      }),
      { numRuns: 300 },
    );
  });

  it('an ISO-8601 timestamp is accepted exactly when it names a real instant with an offset, and read exactly', () => {
    fc.assert(
      fc.property(isoish, (s) => {
        const r = TransactionSchema.safeParse({ ...base, timestamp: s });
        const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(Z|[+-]\d{2}:\d{2})$/.exec(s);
        let expected: number | undefined;
        if (m) {
          const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
          const off = m[7] === 'Z' ? 0 : (m[7]![0] === '-' ? -1 : 1) * (Number(m[7]!.slice(1, 3)) * 60 + Number(m[7]!.slice(4)));
          const real = mo >= 1 && mo <= 12 && d >= 1 && d <= new Date(Date.UTC(2000 + (y % 400), mo, 0)).getUTCDate() && h <= 23 && mi <= 59 && sec <= 59 && Math.abs(off) <= 14 * 60;
          const t = new Date(0);
          t.setUTCFullYear(y, mo - 1, d);
          t.setUTCHours(h, mi, sec, 0);
          const ms = t.getTime() - off * 60_000;
          if (real && ms >= 0 && ms < TIMESTAMP_MAX) expected = ms;
        }
        expect(r.success ? r.data.timestamp : undefined).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('a number written as JavaScript writes it (no exponent) reads back exactly', () => {
    fc.assert(
      fc.property(fc.double({ min: -180, max: 180, noNaN: true }), fc.double({ min: AMOUNT_MIN, max: AMOUNT_MAX, noNaN: true }), (lon, amount) => {
        const r = TransactionSchema.safeParse({ ...base, longitude: String(lon), amount: String(amount) });
        const exponent = /e/i.test(String(lon)) || /e/i.test(String(amount));
        expect(r.success).toBe(!exponent);
        if (r.success) expect([r.data.longitude, r.data.amount]).toEqual([lon === 0 ? 0 : lon, amount]);
      }),
      { numRuns: 300 },
    );
  });

  it('everything the schema outputs passes the feature engine’s own check', async () => {
    const engine = new FeatureEngine();
    await fc.assert(
      fc.asyncProperty(mostlyValid, async (record) => {
        const r = TransactionSchema.safeParse(record);
        if (r.success) expect((await engine.features(r.data)).every(Number.isFinite)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

/** Valid transaction sequences in time order: few cards (so histories build up), extreme but valid amounts and places. */
const sequence = fc
  .array(
    fc.record({
      gap: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3_600_000 }), fc.integer({ min: 0, max: 30 * 86_400_000 })),
      card: fc.integer({ min: 0, max: 2 }),
      merchant: fc.integer({ min: 0, max: 2 }),
      amount: fc.oneof(fc.double({ min: AMOUNT_MIN, max: AMOUNT_MAX, noNaN: true }), fc.constantFrom(AMOUNT_MIN, AMOUNT_MAX, 0.1 + 0.2, 1)),
      channel: fc.constantFrom('pos', 'ecom', 'atm') as fc.Arbitrary<Transaction['channel']>,
      device: fc.option(fc.constantFrom('d1', 'd2'), { nil: undefined }),
      place: fc.option(fc.tuple(fc.double({ min: -90, max: 90, noNaN: true }), fc.double({ min: -180, max: 180, noNaN: true })), { nil: undefined }),
      repeat: fc.integer({ min: 0, max: 9 }),
    }),
    { minLength: 1, maxLength: 25 },
  )
  .map((steps) => {
    let t = Date.UTC(2026, 0, 1);
    return steps.map((s, i) => {
      t += s.gap;
      const tx: Transaction = {
        // One in ten repeats an earlier id (a redelivery): it must be refused, not counted.
        id: s.repeat === 0 && i > 0 ? `tx${i - 1}` : `tx${i}`,
        timestamp: t,
        amount: s.amount,
        currency: 'EUR',
        cardId: `c${s.card}`,
        customerId: `u${s.card % 2}`,
        merchantId: `m${s.merchant}`,
        merchantCategory: ['5411', '7995', '5812'][s.merchant]!,
        channel: s.channel,
      };
      if (s.device !== undefined) tx.deviceId = s.device;
      if (s.place !== undefined) [tx.latitude, tx.longitude] = s.place;
      return tx;
    });
  });

describe('FeatureEngine.process on arbitrary valid sequences', () => {
  it('every feature is finite; a repeated id is refused as FINANCE_DUPLICATE and counted, never processed', async () => {
    await fc.assert(
      fc.asyncProperty(sequence, async (txs) => {
        for (const t of txs) expect(TransactionSchema.safeParse(t).success).toBe(true);
        const engine = new FeatureEngine();
        const seen = new Map<string, string>();
        let duplicates = 0;
        for (const t of txs) {
          const repeated = seen.has(t.id) && seen.get(t.id) === t.cardId;
          try {
            const f = await engine.process(t);
            expect(repeated).toBe(false);
            const bad = Array.from(f).findIndex((v) => !Number.isFinite(v));
            expect(bad === -1 ? 'all finite' : engine.names[bad]).toBe('all finite');
            seen.set(t.id, t.cardId);
          } catch (err) {
            expect(isLeptonError(err, 'FINANCE_DUPLICATE') && repeated).toBe(true);
            duplicates++;
          }
        }
        expect(engine.stats()).toMatchObject({ processed: txs.length - duplicates, refusedDuplicate: duplicates, refusedInvalid: 0 });
      }),
      { numRuns: 60 },
    );
  });
});

describe('VaR on arbitrary arrays', () => {
  const values = fc.array(
    fc.oneof(
      fc.double({ min: -1, max: 1, noNaN: true }),
      fc.double({ min: -1, max: 1, noNaN: true }),
      fc.double(),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e308, -1e308),
      fc.constantFrom('0.01', null, undefined) as fc.Arbitrary<unknown> as fc.Arbitrary<number>,
    ),
    { maxLength: 30 },
  );
  const confidence = fc.oneof(fc.double({ min: 0.5, max: 0.999, noNaN: true }), fc.double(), fc.constantFrom(0, 1, Number.NaN));

  it('historicalVaR and parametricVaR return finite estimates or throw a typed LeptonError', () => {
    fc.assert(
      fc.property(values, confidence, (returns, c) => {
        for (const f of [historicalVaR, parametricVaR]) {
          try {
            const r = f(returns, c);
            expect(Number.isFinite(r.var) && Number.isFinite(r.cvar)).toBe(true);
            expect(returns.every((v) => typeof v === 'number' && Number.isFinite(v))).toBe(true);
          } catch (err) {
            expect(isLeptonError(err, 'INVALID_INPUT') || isLeptonError(err, 'INVALID_ARGUMENT')).toBe(true);
          }
        }
      }),
      { numRuns: 400 },
    );
  });
});
