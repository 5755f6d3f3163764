// Issue 15 regressions for the finance readers: unreadable sources are typed errors, an unclosed quote costs one line,
// a byte-order mark and CRLF line ends change nothing.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readOhlcvCsv, readTransactionsCsv, streamTransactionsNdjson } from '@lepton/finance';

const HEADER = 'id,timestamp,amount,currency,cardId,customerId,merchantId,merchantCategory,channel';
const row = (i: number): string => `t${i},2026-01-01T10:${String(i % 60).padStart(2, '0')}:00Z,12.50,EUR,c${i},u${i},m1,5411,pos`;

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('finance readers: bad files never crash the process or lose lines', () => {
  it('a missing file is a typed *_READ_FAILED error that try/catch catches', async () => {
    await expect(readTransactionsCsv('/nonexistent/tx.csv')).rejects.toMatchObject({ name: 'LeptonError', code: 'TRANSACTIONS_READ_FAILED' });
    await expect(readOhlcvCsv('/nonexistent/prices.csv')).rejects.toMatchObject({ name: 'LeptonError', code: 'OHLCV_READ_FAILED' });
    await expect(collect(streamTransactionsNdjson('/nonexistent/tx.ndjson'))).rejects.toMatchObject({ code: 'TRANSACTIONS_READ_FAILED' });
  });

  it('an unclosed quote mid-file is one counted rejection; every later good line is delivered', async () => {
    const lines = [HEADER, ...Array.from({ length: 30 }, (_, i) => row(i)), 'tbad,2026-01-01T11:00:00Z,"9.99,EUR,c,u,m,5411,pos', ...Array.from({ length: 70 }, (_, i) => row(100 + i))];
    const dir = mkdtempSync(join(tmpdir(), 'lepton-fin-'));
    const path = join(dir, 'tx.csv');
    writeFileSync(path, lines.join('\n'));
    const r = await readTransactionsCsv(path);
    expect(r.stats).toMatchObject({ total: 101, valid: 100, rejected: 1 });
    expect(r.rejected[0]!.position).toBe(32);
    expect(r.rejected[0]!.issues[0]!.field).toBe('(record)');
  });

  it('CRLF and quoted multi-line fields keep line numbers; a BOM does not break the first NDJSON line', async () => {
    const csv = `\uFEFF${HEADER}\r\n${row(1)}\r\nt2,2026-01-01T10:00:00Z,"1\r\n2",EUR,c,u,m,5411,pos\r\nt3,not-a-time,1,EUR,c,u,m,5411,pos\r\n`;
    const r = await readTransactionsCsv(Readable.from([csv]));
    expect(r.stats).toMatchObject({ total: 3, valid: 1, rejected: 2 });
    expect(r.rejected.map((x) => x.position)).toEqual([3, 5]);
    const nd = `\uFEFF${JSON.stringify({ id: 'a', timestamp: '2026-01-01T10:00:00Z', amount: 5, currency: 'EUR', cardId: 'c', customerId: 'u', merchantId: 'm', merchantCategory: '5411', channel: 'pos' })}\r\n\r\n{oops\r\n`;
    const items = await collect(streamTransactionsNdjson(Readable.from([Buffer.from(nd)])));
    expect(items.map((i) => ('transaction' in i ? 'ok' : `rejected:${i.rejected.position}`))).toEqual(['ok', 'rejected:3']);
  });

  it('OHLCV: an unparsable line is counted with the invalid bars, in line order', async () => {
    const csv = 'Date,Open,High,Low,Close,Volume\n2024-01-02,100,101,99,100,10\n2024-01-03,"100,101,99,100,10\n2024-01-04,100,101,99,100,10\n';
    const r = await readOhlcvCsv(Readable.from([csv]));
    expect(r.bars).toHaveLength(2);
    expect(r.stats).toMatchObject({ total: 3, valid: 2, rejected: 1 });
    expect(r.rejected[0]).toMatchObject({ position: 3, issues: [{ field: '(record)' }] });
  });
});

describe('NDJSON stream: idempotent ingestion', () => {
  it('a redelivered transaction id is rejected and counted (field id); the window bounds memory', async () => {
    const tx = (id: string, minute: number): string =>
      JSON.stringify({ id, timestamp: `2026-01-01T10:${String(minute).padStart(2, '0')}:00Z`, amount: 5, currency: 'EUR', cardId: 'c', customerId: 'u', merchantId: 'm', merchantCategory: '5411', channel: 'pos' });
    const lines = [tx('a', 1), tx('b', 2), tx('a', 3), tx('c', 4), tx('b', 5)].join('\n');
    const items = await collect(streamTransactionsNdjson(Readable.from([lines])));
    expect(items.map((i) => ('transaction' in i ? i.transaction.id : `dup:${i.rejected.position}:${i.rejected.issues[0]!.field}`))).toEqual(['a', 'b', 'dup:3:id', 'c', 'dup:5:id']);
    const small = await collect(streamTransactionsNdjson(Readable.from([lines]), { dedupeWindow: 1 }));
    expect(small.filter((i) => 'rejected' in i)).toHaveLength(0); // each repeat is older than a 1-id window
    await expect(collect(streamTransactionsNdjson(Readable.from([lines]), { dedupeWindow: -1 }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
