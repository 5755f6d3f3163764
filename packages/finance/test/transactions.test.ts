import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readTransactionsCsv, streamTransactionsNdjson, validateTransactions, type StreamItem } from '@lepton/finance';

const good = {
  id: 't1',
  timestamp: '2026-01-01T10:00:00Z',
  amount: '12.50',
  currency: 'EUR',
  cardId: 'tok_9f2c',
  customerId: 'u1',
  merchantId: 'm1',
  merchantCategory: '5411',
  channel: 'pos',
  deviceId: '',
  latitude: '48.85',
  longitude: '2.35',
  label: '',
};

describe('transaction validation', () => {
  it('accepts and normalises a valid record', () => {
    const { valid, stats } = validateTransactions([good, { ...good, id: 't2', timestamp: 1767261600000, amount: 3 }]);
    expect(stats).toEqual({ total: 2, valid: 2, rejected: 0, byField: {} });
    expect(valid[0]).toEqual({
      id: 't1',
      timestamp: Date.parse('2026-01-01T10:00:00Z'),
      amount: 12.5,
      currency: 'EUR',
      cardId: 'tok_9f2c',
      customerId: 'u1',
      merchantId: 'm1',
      merchantCategory: '5411',
      channel: 'pos',
      latitude: 48.85,
      longitude: 2.35,
    });
  });

  it('rejects each bad field with a reason, keeps going, counts everything', () => {
    const records = [
      good,
      { ...good, id: 'bad-amount', amount: '-4' },
      { ...good, id: 'bad-many', currency: 'euro', merchantCategory: '54', channel: 'fax', timestamp: 'yesterday' },
      null,
      { ...good, id: 't3' },
      { ...good, id: 'bad-geo', latitude: '123' },
      { ...good, id: 'bad-label', label: '2' },
    ];
    const { valid, rejected, stats } = validateTransactions(records);
    expect(valid.map((t) => t.id)).toEqual(['t1', 't3']);
    expect(stats).toMatchObject({ total: 7, valid: 2, rejected: 5 });
    const byId = Object.fromEntries(rejected.map((r) => [r.id ?? `#${r.position}`, r.issues.map((i) => i.field).sort()]));
    expect(byId).toEqual({
      'bad-amount': ['amount'],
      'bad-many': ['channel', 'currency', 'merchantCategory', 'timestamp'],
      '#3': ['(record)'],
      'bad-geo': ['latitude'],
      'bad-label': ['label'],
    });
    expect(stats.byField).toMatchObject({ amount: 1, currency: 1, channel: 1, latitude: 1, label: 1 });
    expect(rejected.find((r) => r.id === 'bad-amount')!.issues[0]!.message).toBe('must be positive');
  });

  it('never echoes field values (no card data in reports)', () => {
    const pan = '4111111111111111';
    const { rejected } = validateTransactions([{ ...good, id: 'x', cardId: pan.repeat(10), amount: pan }]);
    expect(JSON.stringify(rejected)).not.toContain(pan);
  });

  it('reads CSV, reporting malformed lines and invalid rows by line number', async () => {
    const header = Object.keys(good).join(',');
    const row = (o: Record<string, string>): string => Object.values(o).join(',');
    const csv = [
      header,
      row(good),
      row({ ...good, id: 't2', amount: 'abc' }),
      row({ ...good, id: 't3' }),
      'only,three,cells',
      row({ ...good, id: 't4' }),
      // An unbalanced quote swallows everything after it (CSV quoting spans lines), so it can only be reported.
      `"t5,${row(good).slice(3)}`,
    ].join('\n');
    const { valid, rejected, stats } = await readTransactionsCsv(Readable.from([csv]));
    expect(valid.map((t) => t.id)).toEqual(['t1', 't3', 't4']);
    expect(stats).toMatchObject({ total: 6, valid: 3, rejected: 3 });
    expect(rejected.find((r) => r.id === 't2')).toMatchObject({ position: 3, issues: [{ field: 'amount' }] });
    const unparsable = rejected.filter((r) => r.issues[0]!.message.startsWith('unparsable CSV line'));
    expect(unparsable.map((r) => r.position)).toEqual([5, 7]);
  });

  it('streams NDJSON, yielding rejections in place without stopping', async () => {
    const lines = [JSON.stringify(good), '{not json', JSON.stringify({ ...good, id: 't2', channel: 'x' }), '', JSON.stringify({ ...good, id: 't3' })];
    const items: StreamItem[] = [];
    for await (const item of streamTransactionsNdjson(Readable.from([lines.join('\n')]))) items.push(item);
    expect(items.map((i) => ('transaction' in i ? i.transaction.id : `rejected@${i.rejected.position}`))).toEqual(['t1', 'rejected@2', 'rejected@3', 't3']);
  });
});
