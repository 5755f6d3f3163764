/**
 * The batching queue behind {@link createPredictor}: merges single requests into batches, bounds the queue, drains on
 * close, and hands each batch to a {@link BatchRunner}: the model in this thread (one batch at a time) or a worker
 * pool (one batch running per worker, and up to `pipeline` − 1 more next in its inbox). Internal: not exported from the package.
 */
import { describeValue, messageOf } from '../errors/describe-value.js';
import { LeptonError } from '../errors/lepton-error.js';
import type { Predictor, PredictorStats } from './predictor-types.js';

/** Runs forward passes for a {@link BatchingPredictor}. @internal */
export interface BatchRunner {
  /** Batches that may run at once (one per engine). */
  readonly slots: number;
  /**
   * Further full batches each engine may be handed while it computes, so it starts the next without waiting for this
   * thread (0 in this thread, the pool's `pipeline` − 1 on workers). Partial batches only ever go to an idle engine,
   * so they keep filling while every engine is busy.
   */
  readonly prefetch: number;
  /** TF.js engines behind the runner. */
  readonly workers: number;
  /** True when the engines are worker threads. */
  readonly offMainThread: boolean;
  /**
   * Runs the model on `n` samples packed row-major in `flat` (which the runner may transfer away) and resolves with
   * the `n` outputs packed the same way. Rejects with a `LeptonError` (anything else is reported as `INVALID_INPUT`).
   */
  run(flat: Float32Array<ArrayBuffer>, n: number): Promise<Float32Array>;
  /** Workers replaced after crashes so far. */
  restarts(): number;
  /** Batches answered by each worker so far (absent in this thread). */
  perWorker(): number[] | undefined;
  /** Releases the engines; called once every accepted request is finished. */
  close(): Promise<void>;
}

/** Shapes and limits of a {@link BatchingPredictor}. @internal */
export interface BatcherConfig {
  inputShape: number[];
  outputShape: number[];
  maxBatchSize: number;
  maxWaitMs: number;
  maxQueue: number;
  /** The engine behind the runner, for stats(). */
  engine: 'tfjs' | 'onnx';
  /** Why 'auto' chose TF.js, for stats(). */
  engineNote?: string | undefined;
}

interface Pending {
  /** The request's own copy of its input (never the caller's array). */
  data: Float32Array;
  resolve: (out: Float32Array) => void;
  reject: (err: unknown) => void;
}

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** @internal */
export class BatchingPredictor implements Predictor {
  readonly inputShape: number[];
  readonly outputShape: number[];
  private readonly sampleSize: number;
  private readonly outputSize: number;
  private readonly queue: Pending[] = [];
  private readonly idleWaiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private closed = false;
  private finished: Promise<void> | undefined;
  private readonly counters = { requests: 0, batches: 0, batched: 0, rejectedOverload: 0, rejectedInvalid: 0, rejectedClosed: 0, failed: 0, peakInFlight: 0, answered: 0 };

  constructor(
    private readonly runner: BatchRunner,
    private readonly c: BatcherConfig,
  ) {
    this.inputShape = c.inputShape;
    this.outputShape = c.outputShape;
    this.sampleSize = size(c.inputShape);
    this.outputSize = size(c.outputShape);
  }

  predict(input: ArrayLike<number>): Promise<Float32Array> {
    if (this.closed) {
      this.counters.rejectedClosed++;
      return Promise.reject(new LeptonError('PREDICTOR_CLOSED', 'The predictor is closed; create a new one.'));
    }
    let data: Float32Array;
    try {
      data = this.copyInput(input);
    } catch (err) {
      // Never thrown synchronously: a getter or Proxy trap that throws is a bad input like any other.
      this.counters.rejectedInvalid++;
      return Promise.reject(
        err instanceof LeptonError ? err : new LeptonError('INVALID_INPUT', `The input could not be read: ${messageOf(err)}; pass an array or typed array of numbers.`, { cause: err }),
      );
    }
    if (this.queue.length >= this.c.maxQueue) {
      this.counters.rejectedOverload++;
      return Promise.reject(
        new LeptonError('OVERLOADED', `The predictor queue is full (${this.c.maxQueue} waiting); retry later or raise maxQueue.`, {
          details: { maxQueue: this.c.maxQueue },
        }),
      );
    }
    this.counters.requests++;
    return new Promise((resolve, reject) => {
      this.queue.push({ data, resolve, reject });
      this.pump();
    });
  }

  /**
   * The request's own copy of `input`, checked. Each value is read once: the caller may reuse its buffer (or a getter
   * answer differently) before the batch is sent, and what was checked must be what is scored.
   */
  private copyInput(input: ArrayLike<number>): Float32Array {
    const length: unknown = input === null || input === undefined ? undefined : input.length;
    if (length !== this.sampleSize) {
      throw new LeptonError('INVALID_INPUT', `Expected ${this.sampleSize} values (shape [${this.inputShape.join(', ')}]), got ${typeof length === 'number' ? length : 'no length'}.`);
    }
    const data = new Float32Array(this.sampleSize);
    for (let i = 0; i < data.length; i++) {
      // 1e39 is finite here but Infinity in the float32 batch (the output came back NaN)
      const v: unknown = input[i];
      if (typeof v !== 'number' || !Number.isFinite(Math.fround(v))) throw new LeptonError('INVALID_INPUT', `Input value ${i} is not a finite (float32) number.`);
      data[i] = v;
    }
    return data;
  }

  /**
   * Starts every batch that may start now: full batches while an engine is free (or may be handed one more, see
   * `prefetch`), and when closing partial ones while an engine is free. A partial batch with a free engine waits at
   * most `maxWaitMs` for company. A timer that fires while every slot is busy
   * does nothing: when a slot frees, the rest waits `maxWaitMs` again (so callers arriving during a forward pass join
   * the next batch). With one slot this is exactly the in-thread predictor's behaviour before workers existed.
   */
  private pump(): void {
    const { maxBatchSize } = this.c;
    const engines = this.runner.slots;
    const fullLimit = engines * (1 + this.runner.prefetch);
    while (this.queue.length >= maxBatchSize ? this.inFlight < fullLimit : this.closed && this.queue.length > 0 && this.inFlight < engines) {
      this.clearTimer();
      this.dispatch(this.queue.splice(0, maxBatchSize));
    }
    if (this.queue.length > 0 && this.inFlight < this.runner.slots && this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (this.inFlight < this.runner.slots && this.queue.length > 0) this.dispatch(this.queue.splice(0, maxBatchSize));
        this.pump();
      }, this.c.maxWaitMs);
    }
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private dispatch(batch: Pending[]): void {
    const n = batch.length;
    const flat = new Float32Array(n * this.sampleSize);
    batch.forEach((p, i) => flat.set(p.data, i * this.sampleSize));
    this.inFlight++;
    this.counters.peakInFlight = Math.max(this.counters.peakInFlight, this.inFlight);
    // Called synchronously (not in a microtask): in this thread the forward pass is issued before predict() returns,
    // exactly as before workers existed.
    this.runner.run(flat, n).then(
      (values) => {
        // A model that computes another number of values than its declared output shape says (a custom layer with a
        // wrong computeOutputShape, a converter mismatch) would hand callers each other's values, or empty arrays.
        if (values?.length !== n * this.outputSize) {
          this.counters.failed += n;
          const error = new LeptonError(
            'INVALID_MODEL',
            `The model returned ${describeValue(values?.length)} values for a batch of ${n}, expected ${n * this.outputSize} (${n} × ${this.outputSize}, output shape [${this.outputShape.join(', ')}]); its declared output shape does not match what it computes.`,
            { details: { expected: n * this.outputSize, actual: values?.length, batch: n } },
          );
          for (const p of batch) p.reject(error);
          this.settled();
          return;
        }
        for (let i = 0; i < n; i++) {
          const out = values.slice(i * this.outputSize, (i + 1) * this.outputSize);
          // A finite float32 input can still overflow inside the model (3e38 squared); NaN must not leave as a score.
          if (out.every(Number.isFinite)) batch[i]!.resolve(out);
          else {
            this.counters.failed++;
            batch[i]!.reject(new LeptonError('INVALID_MODEL', 'The model produced a non-finite output for this input: its values may be too large for the model (they overflow inside it), or its weights are damaged.'));
          }
        }
        this.counters.batches++;
        this.counters.batched += n;
        this.settled();
      },
      (err: unknown) => {
        this.counters.failed += n;
        const error = err instanceof LeptonError ? err : new LeptonError('INVALID_INPUT', `The forward pass failed for a batch of ${n}: ${messageOf(err)}`, { cause: err });
        for (const p of batch) p.reject(error);
        this.settled();
      },
    );
  }

  private settled(): void {
    this.inFlight--;
    this.counters.answered++;
    this.pump();
    if (this.inFlight === 0 && this.queue.length === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  stats(): PredictorStats {
    const c = this.counters;
    return {
      requests: c.requests,
      batches: c.batches,
      meanBatchSize: c.batches === 0 ? 0 : c.batched / c.batches,
      rejectedOverload: c.rejectedOverload,
      rejectedInvalid: c.rejectedInvalid,
      rejectedClosed: c.rejectedClosed,
      failed: c.failed,
      queued: this.queue.length,
      workers: this.runner.workers,
      offMainThread: this.runner.offMainThread,
      inFlight: this.inFlight,
      peakInFlight: c.peakInFlight,
      workerRestarts: this.runner.restarts(),
      batchesPerWorker: this.runner.perWorker() ?? [c.answered],
      engine: this.c.engine,
      ...(this.c.engineNote === undefined ? {} : { engineNote: this.c.engineNote }),
    };
  }

  close(): Promise<void> {
    this.finished ??= (async () => {
      this.closed = true;
      this.clearTimer();
      await new Promise<void>((resolve) => {
        this.idleWaiters.push(resolve);
        this.pump();
        if (this.inFlight === 0 && this.queue.length === 0) resolve();
      });
      await this.runner.close();
    })();
    return this.finished;
  }
}
