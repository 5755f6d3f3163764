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

/**
 * Should a progress bar be drawn? Only on a terminal, and never in CI (the `CI` environment variable),
 * where carriage-return redraws turn logs into noise.
 *
 * @param stream - the output stream
 * @param env - environment (injectable for tests)
 * @returns true when a bar should be drawn
 */
export function shouldDrawBar(stream: BarStream, env: Record<string, string | undefined> = process.env): boolean {
  const ci = env['CI'];
  return stream.isTTY === true && (ci === undefined || ci === '' || ci === '0' || ci === 'false');
}

/**
 * A terminal progress bar for `train()`: one line redrawn per batch, a summary line per epoch.
 *
 * @param stream - where to draw (default `process.stderr`)
 * @returns a listener for train events
 */
export function progressBar(stream: BarStream = process.stderr): (event: TrainEvent) => void {
  const width = Math.max(10, Math.min(30, (stream.columns ?? 80) - 60));
  return (event) => {
    if (event.type === 'batch') {
      const done = Math.round((width * (event.batch + 1)) / event.batches);
      stream.write(
        `\repoch ${event.epoch + 1}/${event.epochs} [${'='.repeat(done)}${' '.repeat(width - done)}] ` +
          `${event.batch + 1}/${event.batches} loss ${event.loss.toFixed(4)}`,
      );
    } else if (event.type === 'epoch') {
      const metrics = Object.entries(event.metrics)
        .map(([k, v]) => `${k} ${v.toFixed(4)}`)
        .join('  ');
      stream.write(`\r\x1b[2Kepoch ${event.epoch + 1}/${event.epochs}  ${metrics}${event.improved ? '  *' : ''}\n`);
    } else if (event.type === 'end' && event.stoppedEarly) {
      stream.write(`early stop: best epoch ${event.bestEpoch + 1}\n`);
    }
  };
}
