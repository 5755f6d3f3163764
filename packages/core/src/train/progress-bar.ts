import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import type { TrainEvent } from './events.js';

/** Where the bar is drawn; injectable for tests. */
export interface BarStream {
  /** True when the stream is a terminal; the bar is drawn only then. */
  isTTY?: boolean;
  /** Terminal width in characters, used to size the bar (default 80). */
  columns?: number;
  /**
   * Writes text to the stream.
   *
   * @param chunk - text to write
   * @returns false when the stream asks the writer to wait (as `Writable.write`)
   */
  write(chunk: string): boolean;
}

/** Options of {@link progressBar}. */
export interface ProgressBarOptions {
  /** Clock in milliseconds, for the elapsed time and the ETA (injectable for tests). Default `performance.now`. */
  now?: () => number;
}

/**
 * Should a progress bar be drawn? Only on a terminal, and never in CI (the `CI` environment variable),
 * where carriage-return redraws turn logs into noise.
 *
 * @param stream - the output stream (anything that is not an object is no terminal: false)
 * @param env - environment (injectable for tests; anything that is not an object reads as an empty one)
 * @returns true when a bar should be drawn
 */
export function shouldDrawBar(stream: BarStream, env: Record<string, string | undefined> = process.env): boolean {
  if (stream === null || typeof stream !== 'object') return false;
  const ci = env === null || typeof env !== 'object' ? undefined : env['CI'];
  return stream.isTTY === true && (ci === undefined || ci === '' || ci === '0' || ci === 'false');
}

/**
 * A duration for a terminal: `42s`, `3m07s`, `2h05m`; `--` when unknown.
 *
 * @param ms - milliseconds (negative or non-finite reads as unknown)
 * @returns the duration, at most 6 characters for anything under 100 hours
 * @example
 * ```ts
 * import { formatDuration } from '@lepton/core';
 * formatDuration(187_000); // '3m07s'
 * ```
 */
export function formatDuration(ms: number): string {
  if (!(Number.isFinite(ms) && ms >= 0)) return '--';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * A terminal progress bar for training: one line redrawn per batch, a summary line per epoch, a last line with the
 * time taken. Batch and epoch lines end with the estimated time left (`ETA`) for the planned epochs — an upper bound
 * when early stopping ends training sooner — from the time since the `start` event and the share of planned work done
 * (fractions of an epoch count for batch events). Every Lepton trainer drives it through its `progressBar` option.
 *
 * @param stream - where to draw (default `process.stderr`); use {@link shouldDrawBar} to decide whether to draw at all
 * @param options - clock
 * @returns a listener for train events
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for a stream without `write()`, options that are not an object or a
 *   clock that is not a function
 * @example
 * ```ts
 * import { buildMlp, progressBar, tf, train } from '@lepton/core';
 * const x = tf.randomNormal([64, 4]);
 * const y = tf.cast(tf.greater(x.slice([0, 0], [-1, 1]), 0), 'float32');
 * // Draw on stdout instead of stderr, whatever the terminal:
 * await train(buildMlp({ inputDim: 4 }), { x, y }, { epochs: 2, progressBar: false, onProgress: progressBar(process.stdout) });
 * ```
 */
export function progressBar(stream: BarStream = process.stderr, options: ProgressBarOptions = {}): (event: TrainEvent) => void {
  if (stream === null || typeof stream !== 'object' || typeof stream.write !== 'function') {
    throw new LeptonError('INVALID_ARGUMENT', `progressBar: stream must have a write() method, got ${describeValue(stream)}.`);
  }
  if (options === null || typeof options !== 'object') throw new LeptonError('INVALID_ARGUMENT', `progressBar: options must be an object, got ${describeValue(options)}.`);
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new LeptonError('INVALID_ARGUMENT', `progressBar: now must be a clock function returning milliseconds, got ${describeValue(options.now)}.`);
  }
  const now = options.now ?? (() => performance.now());
  // The ETA suffix (" ETA 1h05m") takes up to 10 characters more than the line had before it.
  const columns = typeof stream.columns === 'number' && Number.isFinite(stream.columns) ? stream.columns : 80;
  const width = Math.max(10, Math.min(30, columns - 70));
  let started: number | undefined;
  const elapsed = (): number => {
    started ??= now(); // a listener attached after `start` times from its first event
    return now() - started;
  };
  // Time left at the rate so far: elapsed × (1 − done) / done; unknown until some work is done.
  const eta = (done: number): string => {
    const t = elapsed();
    return done > 0 && t > 0 ? formatDuration((t * Math.max(0, 1 - done)) / done) : '--';
  };
  return (event) => {
    const type: unknown = event !== null && typeof event === 'object' ? event.type : undefined;
    if (type !== 'start' && type !== 'batch' && type !== 'epoch' && type !== 'end') {
      // anything else drew a bogus "trained undefined epochs" line (null threw a TypeError)
      throw new LeptonError('INVALID_ARGUMENT', `progressBar: not a training event: ${describeValue(event)}.`);
    }
    if (event.type === 'start') {
      started = now();
    } else if (event.type === 'batch') {
      const filled = Math.max(0, Math.min(width, Math.round((width * (event.batch + 1)) / event.batches)));
      const done = (event.epoch + (event.batch + 1) / event.batches) / event.epochs;
      stream.write(
        `\r\x1b[2Kepoch ${event.epoch + 1}/${event.epochs} [${'='.repeat(filled)}${' '.repeat(width - filled)}] ` +
          `${event.batch + 1}/${event.batches} loss ${event.loss.toFixed(4)} ETA ${eta(done)}`,
      );
    } else if (event.type === 'epoch') {
      const metrics = Object.entries(event.metrics)
        .map(([k, v]) => `${k} ${v.toFixed(4)}`)
        .join('  ');
      const left = event.epoch + 1 < event.epochs ? `  ETA ${eta((event.epoch + 1) / event.epochs)}` : '';
      stream.write(`\r\x1b[2Kepoch ${event.epoch + 1}/${event.epochs}  ${metrics}${event.improved ? '  *' : ''}${left}\n`);
    } else {
      const early = event.stoppedEarly ? ` (early stop: best epoch ${event.bestEpoch + 1})` : '';
      stream.write(`\r\x1b[2Ktrained ${event.epochsRun} epoch${event.epochsRun === 1 ? '' : 's'} in ${formatDuration(elapsed())}${early}\n`);
    }
  };
}
