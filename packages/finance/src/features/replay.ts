import { LeptonError } from '@lepton/core';
import type { Transaction } from '../transactions/schema.js';
import { FeatureEngine } from './engine.js';

/** A historical transaction whose fraud label, when it has one, became known at `labelKnownAt` (epoch ms). */
export type LabelledTransaction = Transaction & {
  /** 1 fraud, 0 genuine, when known. */
  label?: number;
  /** When the label became known, epoch ms. */
  labelKnownAt?: number;
};

/**
 * Replays a labelled history through a feature engine the way it happened: each label is recorded only once the
 * replay reaches its `labelKnownAt` (chargeback delay), so every feature vector is what a live system would have
 * computed. Use it to build training data from history.
 *
 * @param engine - the engine (its state grows with the history)
 * @param history - transactions in time order, with `label` and `labelKnownAt` where known
 * @returns one feature vector per transaction, index-aligned
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when `engine` is not a {@link FeatureEngine};
 *   `INVALID_INPUT` (with `details.index`, before anything is replayed) when `history` is not an array, or a
 *   transaction's `labelKnownAt` is not a finite time or its `label` is neither absent, 0 nor 1; whatever
 *   {@link FeatureEngine.process} throws for a bad transaction (`FINANCE_TRANSACTION_INVALID` for one that is not an
 *   object)
 * @example
 * ```ts
 * import { FeatureEngine, generateTransactions, replayHistory } from '@lepton/finance';
 * const rows = await replayHistory(new FeatureEngine(), generateTransactions({ cards: 20, days: 5 }));
 * ```
 */
export async function replayHistory(engine: FeatureEngine, history: readonly LabelledTransaction[]): Promise<Float32Array[]> {
  if (!(engine instanceof FeatureEngine)) throw new LeptonError('INVALID_ARGUMENT', 'replayHistory needs a FeatureEngine.');
  if (!Array.isArray(history)) throw new LeptonError('INVALID_INPUT', 'replayHistory needs an array of transactions.');
  history.forEach((t: LabelledTransaction | null | undefined, i) => {
    // A NaN labelKnownAt would sort anywhere and never (or always) be "known": refuse it before replaying anything.
    if (t?.labelKnownAt !== undefined && !Number.isFinite(t.labelKnownAt)) {
      throw new LeptonError('INVALID_INPUT', `replayHistory: transaction ${i} has a labelKnownAt that is not a finite time.`, { details: { index: i } });
    }
    // A bad label stopped the replay half-way (recordLabel refuses it after earlier transactions were processed).
    if (t?.label !== undefined && t.label !== 0 && t.label !== 1) {
      throw new LeptonError('INVALID_INPUT', `replayHistory: transaction ${i} has a label other than 0 or 1.`, { details: { index: i } });
    }
  });
  // `t?.`: a null entry is refused by engine.process below (FINANCE_TRANSACTION_INVALID), not by a TypeError here.
  const labelled = history.filter((t) => t?.label !== undefined && t.labelKnownAt !== undefined).sort((a, b) => a.labelKnownAt! - b.labelKnownAt!);
  const rows: Float32Array[] = [];
  let next = 0;
  for (const t of history) {
    const now = (t as LabelledTransaction | null)?.timestamp;
    while (next < labelled.length && typeof now === 'number' && labelled[next]!.labelKnownAt! <= now) {
      const l = labelled[next++]!;
      await engine.recordLabel(l, l.label!, l.labelKnownAt!);
    }
    rows.push(await engine.process(t));
  }
  return rows;
}
