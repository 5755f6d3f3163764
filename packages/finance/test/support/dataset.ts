import { FeatureEngine, generateTransactions, replayHistory, timeSplit, type SyntheticTransaction } from '@lepton/finance';

const DAY = 86_400_000;

/** Synthetic transactions → point-in-time features (labels fed as they become known) → time-ordered splits. */
export async function fraudDataset(cards: number, days: number, seed: number) {
  const txs = generateTransactions({ cards, days, seed });
  const engine = new FeatureEngine();
  const rows = await replayHistory(engine, txs);
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
