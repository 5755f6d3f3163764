import { expect } from 'vitest';
import type { BarStream, TrainEvent } from '@lepton/core';

// Checks shared by every package's progress.test.ts (one copy, imported by relative path): the event sequence a
// trainer reports through `onProgress`, and the bar it draws on a fake terminal.

/** A stream that records what is written; a terminal or not. */
export interface FakeStream extends BarStream {
  /** Everything written so far. */
  out: string;
}

/**
 * A fake output stream for `progressBar`.
 *
 * @param isTTY - whether it claims to be a terminal
 * @returns the stream; `out` holds what was written
 */
export function fakeStream(isTTY: boolean): FakeStream {
  const s: FakeStream = { isTTY, columns: 100, out: '', write: (chunk) => ((s.out += chunk), true) };
  return s;
}

/** What a trainer's run must look like. */
export interface ExpectedRun {
  /** Epochs planned, as the `start` event must announce them. */
  planned: number;
  /** Whether the trainer reports batches (core `train()` does; trainers with their own loop may not). */
  batches: boolean;
  /** Epochs that must have run (default: any number from 1 to `planned`). */
  epochsRun?: number;
  /** A metric every epoch must report (default `loss`); `undefined` to skip. */
  metric?: string | undefined;
}

type Of<T extends TrainEvent['type']> = Extract<TrainEvent, { type: T }>;

/**
 * Asserts the order and content of a run's events: one `start` first with the planned epochs, one `end` last; epochs
 * numbered 0, 1, … with finite metrics; each epoch's batches (finite losses) before its `epoch` event; `end` counting
 * the epochs that ran.
 *
 * @param events - what `onProgress` received
 * @param expected - the run's shape
 * @returns the `epoch` events
 */
export function expectRun(events: readonly TrainEvent[], expected: ExpectedRun): Of<'epoch'>[] {
  const metric = 'metric' in expected ? expected.metric : 'loss';
  expect(events[0]).toMatchObject({ type: 'start', epochs: expected.planned });
  const start = events[0] as Of<'start'>;
  expect(start.samples).toBeGreaterThan(0);
  expect(events.at(-1)?.type).toBe('end');
  expect(events.filter((e) => e.type === 'start' || e.type === 'end')).toHaveLength(2);
  const epochs: Of<'epoch'>[] = [];
  let batchesThisEpoch = 0;
  for (const e of events.slice(1, -1)) {
    if (e.type === 'batch') {
      expect(expected.batches, 'a batch event from a trainer without batches').toBe(true);
      expect(e.epoch).toBe(epochs.length);
      expect(e.batch).toBe(batchesThisEpoch++);
      expect(e.batch).toBeLessThan(e.batches);
      expect(Number.isFinite(e.loss), `batch loss ${e.loss}`).toBe(true);
    } else if (e.type === 'epoch') {
      expect(e.epoch).toBe(epochs.length);
      expect(e.epochs).toBeGreaterThan(e.epoch);
      expect(e.epochs).toBeLessThanOrEqual(expected.planned);
      if (expected.batches) expect(batchesThisEpoch, `batches before epoch ${e.epoch}`).toBeGreaterThan(0);
      for (const [k, v] of Object.entries(e.metrics)) expect(Number.isFinite(v), `${k} = ${v} at epoch ${e.epoch}`).toBe(true);
      if (metric !== undefined) expect(e.metrics).toHaveProperty(metric);
      expect(Number.isFinite(e.learningRate)).toBe(true);
      epochs.push(e);
      batchesThisEpoch = 0;
    }
  }
  const end = events.at(-1) as Of<'end'>;
  expect(end.epochsRun).toBe(epochs.length);
  if (expected.epochsRun !== undefined) expect(end.epochsRun).toBe(expected.epochsRun);
  expect(end.epochsRun).toBeGreaterThan(0);
  expect(end.bestEpoch).toBeGreaterThanOrEqual(0);
  expect(end.bestEpoch).toBeLessThan(end.epochsRun);
  // The plan only shrinks when a run stops early; otherwise every planned epoch ran.
  if (!end.stoppedEarly) expect(end.epochsRun).toBe(expected.planned);
  return epochs;
}

/**
 * Asserts that a terminal got a bar with the time left: epoch lines, an `ETA` with a duration, the closing line.
 *
 * @param out - what the fake terminal received
 * @param epochsRun - epochs the run reported
 */
export function expectBar(out: string, epochsRun: number): void {
  expect(out).toMatch(/epoch 1\/\d+/);
  expect(out).toMatch(/ETA (\d+s|\d+m\d\ds|\d+h\d\dm)/);
  expect(out).toContain(`trained ${epochsRun} epoch${epochsRun === 1 ? '' : 's'} in `);
}

/** A listener that throws on the first `epoch` event (after recording the events before it). */
export function throwOnFirstEpoch(seen: TrainEvent[] = []): (event: TrainEvent) => void {
  return (event) => {
    seen.push(event);
    if (event.type === 'epoch') throw new Error('listener broke');
  };
}
