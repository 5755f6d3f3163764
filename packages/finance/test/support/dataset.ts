import { FeatureEngine, generateTransactions, timeSplit, type SyntheticTransaction } from '@lepton/finance';

const DAY = 86_400_000;

/** Synthetic transactions → point-in-time features (labels fed as they become known) → time-ordered splits. */
export async function fraudDataset(cards: number, days: number, seed: number) {
  const txs = generateTransactions({ cards, days, seed });
  const byKnown = [...txs].sort((a, b) => a.labelKnownAt - b.labelKnownAt);
  const engine = new FeatureEngine();
  const rows: Float32Array[] = [];
  let next = 0;
  for (const t of txs) {
    while (next < byKnown.length && byKnown[next]!.labelKnownAt <= t.timestamp) {
      const l = byKnown[next++]!;
      await engine.recordLabel(l, l.label, l.labelKnownAt);
    }
    rows.push(await engine.process(t));
  }
  const start = txs[0]!.timestamp;
  const ts = txs.map((t) => t.timestamp);
  const trainEnd = start + Math.floor(days * 0.55) * DAY;
  const valEnd = start + Math.floor(days * 0.7) * DAY;
  const early = timeSplit(ts, trainEnd, 0);
  const late = timeSplit(ts, valEnd, 2 * DAY);
  const pick = (idx: number[]) => ({ idx, rows: idx.map((i) => rows[i]!), labels: idx.map((i) => txs[i]!.label), txs: idx.map((i) => txs[i]!) as SyntheticTransaction[] });
  return {
    engine,
    txs,
    train: pick(early.train),
    validation: pick(late.train.filter((i) => ts[i]! >= trainEnd)),
    test: pick(late.test),
  };
}
