import { describeValue } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import type { TrainEvent } from './events.js';
import { progressBar, shouldDrawBar, type BarStream } from './progress-bar.js';

/** Where a trainer draws its progress bar: `'auto'`, `true`, `false` or a stream (see {@link ProgressOptions.progressBar}). */
export type ProgressBarSetting = 'auto' | boolean | BarStream;

/**
 * Progress options every Lepton trainer takes: core `train()` and each vertical's `fit`/`train` (diagnosis,
 * segmentation, fraud, scorecard, forecasting, anomaly, RUL, inspection). Both are optional.
 */
export interface ProgressOptions {
  /**
   * Receives the training events in order: one `start`, then per epoch its `batch` events (trainers that run on
   * core `train()`) and one `epoch` event, then one `end`. Called synchronously from the training loop, so keep it
   * quick. If it throws, training stops and the call rejects with a `LeptonError` `PROGRESS_LISTENER_FAILED` whose
   * `cause` is the listener's error: nothing half-trained is returned, and the trainer frees what it built.
   */
  onProgress?: (event: TrainEvent) => void;
  /**
   * Terminal progress bar with the time left (ETA), see {@link progressBar}. `'auto'` (default) draws on
   * `process.stderr` when it is a terminal and `CI` is not set; `true` always draws there; `false` never draws; a
   * {@link BarStream} draws on that stream under the same rule as `'auto'` (a terminal, outside CI).
   */
  progressBar?: ProgressBarSetting;
}

/** Where a training loop sends its events: the `onProgress` listener and the bar, as configured. */
export type ProgressReporter = (event: TrainEvent) => void;

/** The calling function's name for a message (a Symbol `what` threw a TypeError building it). */
const callerName = (what: unknown): string => (typeof what === 'string' && what.length <= 200 ? what : describeValue(what));

const isBarStream = (v: unknown): v is BarStream =>
  typeof v === 'object' && v !== null && typeof (v as { write?: unknown }).write === 'function';

/**
 * Checks `onProgress` and `progressBar` at run time (JavaScript callers and options read from JSON get no type check).
 *
 * @param options - a trainer's options (other fields are ignored)
 * @param what - the calling function, for the message (e.g. `'RulModel.fit'`)
 * @throws {@link LeptonError} `INVALID_ARGUMENT` (with `details.option`) when `onProgress` is not a function or
 *   `progressBar` is not `'auto'`, a boolean or a stream with a `write` method, and when `options` is not an object
 */
export function checkProgressOptions(options: ProgressOptions | undefined, what: string): void {
  const name = callerName(what);
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new LeptonError('INVALID_ARGUMENT', `${name}: options must be an object, got ${describeValue(options)}.`);
  }
  const { onProgress, progressBar: bar } = options ?? {};
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new LeptonError('INVALID_ARGUMENT', `${name}: onProgress must be a function of a training event, got ${typeof onProgress}.`, {
      details: { option: 'onProgress' },
    });
  }
  if (bar !== undefined && bar !== 'auto' && typeof bar !== 'boolean' && !isBarStream(bar)) {
    throw new LeptonError('INVALID_ARGUMENT', `${name}: progressBar must be 'auto', true, false or a stream with a write() method.`, {
      details: { option: 'progressBar' },
    });
  }
}

/**
 * The one function a training loop reports through: checks the options, then calls the `onProgress` listener and,
 * where `progressBar` says so, a terminal {@link progressBar}. Trainers with a loop of their own (stages, folds,
 * solver iterations) emit `start`, one `epoch` per step and `end` through it; trainers built on core `train()` pass it
 * as `onProgress` (with `progressBar: false`), or use {@link stageListeners} for several runs.
 *
 * A listener that throws stops training: the error propagates as `LeptonError` `PROGRESS_LISTENER_FAILED` (the
 * listener's error as `cause`, `details.event` the event type) — thrown once, never wrapped twice when reporters nest.
 *
 * @param options - `onProgress` and `progressBar`
 * @param what - the calling function, for messages
 * @param env - environment deciding `'auto'` (injectable for tests; default `process.env`)
 * @returns the reporter, or undefined when nothing listens (no listener, no bar), so loops can skip building events
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for bad options (see {@link checkProgressOptions}) or an `env` that is
 *   not an object
 * @example
 * ```ts
 * import { progressReporter } from '@lepton/core';
 * const report = progressReporter({ onProgress: (e) => console.log(e.type), progressBar: false }, 'myFit');
 * report?.({ type: 'start', epochs: 1, samples: 10, validationSamples: 0, backend: 'cpu' }); // logs 'start'
 * ```
 */
export function progressReporter(
  options: ProgressOptions | undefined,
  what: string,
  env: Record<string, string | undefined> = process.env,
): ProgressReporter | undefined {
  checkProgressOptions(options, what);
  const name = callerName(what);
  if (env === null || typeof env !== 'object') throw new LeptonError('INVALID_ARGUMENT', `${name}: env must be an object of environment variables, got ${describeValue(env)}.`);
  const listeners: Array<(event: TrainEvent) => void> = [];
  if (options?.onProgress) listeners.push(options.onProgress);
  const bar = options?.progressBar ?? 'auto';
  if (bar === true) listeners.push(progressBar(process.stderr));
  else if (bar === 'auto' && shouldDrawBar(process.stderr, env)) listeners.push(progressBar(process.stderr));
  else if (isBarStream(bar) && shouldDrawBar(bar, env)) listeners.push(progressBar(bar));
  if (listeners.length === 0) return undefined;
  return (event) => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (err) {
        // A reporter passed as another's onProgress (a vertical trainer over core train()) has already wrapped it.
        if (err instanceof LeptonError && err.code === 'PROGRESS_LISTENER_FAILED') throw err;
        throw new LeptonError(
          'PROGRESS_LISTENER_FAILED',
          `${name}: the progress listener threw on a '${event.type}' event, so training stopped (its error is the cause). Fix or guard the onProgress listener.`,
          { cause: err, details: { event: event.type } },
        );
      }
    }
  };
}

/**
 * Reports several core `train()` runs of one trainer — e.g. a classifier and then an autoencoder, or one model per
 * walk-forward fold — as one run: a single `start` (with the first run's sample counts and backend), epochs numbered
 * on across runs, and a single `end`. The planned total (`epochs` in each event) is the epochs run so far plus the
 * epochs planned for this run and the ones after it, so it shrinks when a run stops early and the ETA follows.
 * `end.epochsRun` counts every epoch run; `end.bestEpoch` is the last run's best epoch on that numbering;
 * `end.stoppedEarly` is true when any run stopped early.
 *
 * @param report - from {@link progressReporter}
 * @param planned - epochs planned per run, in the order the runs happen
 * @returns one listener per run, to pass as that run's `onProgress` (with `progressBar: false`)
 * @throws {@link LeptonError} `INVALID_ARGUMENT` when `planned` is not a non-empty array or holds a count that is not a
 *   positive integer, or `report` is not a function
 */
export function stageListeners(report: ProgressReporter, planned: readonly number[]): ProgressReporter[] {
  if (typeof report !== 'function') throw new LeptonError('INVALID_ARGUMENT', `stageListeners: report must be a function (from progressReporter), got ${describeValue(report)}.`);
  if (!Array.isArray(planned) || planned.length === 0 || !planned.every((p) => Number.isSafeInteger(p) && p >= 1)) {
    throw new LeptonError('INVALID_ARGUMENT', 'stageListeners: planned must list a positive integer epoch count per run.');
  }
  let offset = 0; // epochs run by the finished runs
  let stoppedEarly = false;
  const after = (stage: number): number => planned.slice(stage + 1).reduce((a, b) => a + b, 0);
  return planned.map((_, stage) => (event: TrainEvent) => {
    const total = (epochs: number): number => offset + epochs + after(stage);
    if (event.type === 'start') {
      if (stage === 0) report({ ...event, epochs: total(event.epochs) });
    } else if (event.type === 'batch' || event.type === 'epoch') {
      report({ ...event, epoch: offset + event.epoch, epochs: total(event.epochs) });
    } else {
      const bestEpoch = offset + event.bestEpoch;
      offset += event.epochsRun;
      stoppedEarly ||= event.stoppedEarly;
      if (stage === planned.length - 1) report({ type: 'end', epochsRun: offset, bestEpoch, stoppedEarly });
    }
  });
}
