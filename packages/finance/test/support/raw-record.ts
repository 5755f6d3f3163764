// One valid raw transaction record as it arrives from a CSV or JSON feed (text fields), and the names of every field a
// record may carry: the starting point of the validation tests that spoil one field at a time.

/** A valid raw record (amount as text, ISO timestamp). */
export const RAW_RECORD = {
  id: 't1',
  timestamp: '2026-03-02T09:00:00Z',
  amount: '12.50',
  currency: 'EUR',
  cardId: 'c1',
  customerId: 'u1',
  merchantId: 'm1',
  merchantCategory: '5411',
  channel: 'pos',
} as const;

/** Every field of a record: the required ones above, then the optional ones. */
export const RECORD_FIELDS: readonly string[] = [...Object.keys(RAW_RECORD), 'deviceId', 'latitude', 'longitude', 'label'];
