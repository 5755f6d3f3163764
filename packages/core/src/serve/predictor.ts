import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Bundle } from '../bundle/load.js';
import { LeptonError } from '../errors/lepton-error.js';
import { ensureRuntime } from '../runtime/init.js';
import { planBackend } from '../runtime/kernels.js';

/** Options for {@link createPredictor}. */
export interface PredictorOptions {
  /** Most requests merged into one forward pass. Default 32. */
  maxBatchSize?: number;
  /** Longest a request waits for others to join its batch, in milliseconds. Default 2. */
  maxWaitMs?: number;
  /** Most requests waiting (not yet in a forward pass); beyond it requests are rejected `OVERLOADED`. Default 1024. */
  maxQueue?: number;
  /** Run the model once at batch 1 and at `maxBatchSize` before serving (compiles GPU shaders). Default true. */
  warmup?: boolean;
}

/** Counters of a predictor since it was created. */
export interface PredictorStats {
  /** Requests accepted since creation (excludes ones rejected as overloaded, invalid or after `close()`). */
  requests: number;
  /** Forward passes that succeeded (warm-up and failed passes are not counted). */
  batches: number;
  /** Mean requests per forward pass. */
  meanBatchSize: number;
  /** Requests rejected because the queue was full. */
  rejectedOverload: number;
  /** Requests whose forward pass failed. */
  failed: number;
  /** Requests waiting right now. */
  queued: number;
}

/** A batched, bounded inference service around one model. */
export interface Predictor {
  /** Shape of one input sample (without the batch axis). */
  readonly inputShape: number[];
  /** Shape of one output sample (without the batch axis). */
  readonly outputShape: number[];
  /**
   * Predicts one sample. Concurrent calls are merged into batches.
   *
   * @param input - one sample, flattened row-major to `inputShape` (length = product of `inputShape`)
   * @returns the model output for that sample, flattened
   * @throws {@link LeptonError} `INVALID_INPUT` for a wrong length or non-finite value, `OVERLOADED` when
   *   `maxQueue` requests are already waiting, `PREDICTOR_CLOSED` after `close()`
   */
  predict(input: ArrayLike<number>): Promise<Float32Array>;
  /** Counters since creation. */
  stats(): PredictorStats;
  /** Stops accepting requests, finishes every accepted one, then resolves. */
  close(): Promise<void>;
}

interface Pending {
  data: ArrayLike<number>;
  resolve: (out: Float32Array) => void;
  reject: (err: unknown) => void;
}

function positive(value: number, name: string, allowZero = false): number {
  if (!Number.isFinite(value) || value < (allowZero ? 0 : 1)) {
    throw new LeptonError('INVALID_ARGUMENT', `${name} must be ${allowZero ? '≥ 0' : '≥ 1'}, got ${value}.`);
  }
  return value;
}

class BatchingPredictor implements Predictor {
  readonly inputShape: number[];
  readonly outputShape: number[];
  private readonly sampleSize: number;
  private readonly outputSize: number;
  private readonly queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  private readonly counters = { requests: 0, batches: 0, batched: 0, rejectedOverload: 0, failed: 0 };

  constructor(
    private readonly model: tfl.LayersModel,
    private readonly maxBatchSize: number,
    private readonly maxWaitMs: number,
    private readonly maxQueue: number,
  ) {
    if (model.inputs.length !== 1 || model.outputs.length !== 1) {
      throw new LeptonError('INVALID_MODEL', `createPredictor serves single-input, single-output models; this one has ${model.inputs.length} input(s) and ${model.outputs.length} output(s).`);
    }
    const fixed = (shape: Array<number | null>, what: string): number[] => {
      const rest = shape.slice(1);
      if (rest.some((d) => d === null)) {
        throw new LeptonError('INVALID_MODEL', `The model's ${what} shape [${shape.join(', ')}] has an unknown dimension besides the batch; give it a fixed input shape.`);
      }
      return rest as number[];
    };
    this.inputShape = fixed(model.inputs[0]!.shape, 'input');
    this.outputShape = fixed(model.outputs[0]!.shape, 'output');
    this.sampleSize = this.inputShape.reduce((a, b) => a * b, 1);
    this.outputSize = this.outputShape.reduce((a, b) => a * b, 1);
  }

  async warmup(): Promise<void> {
    for (const b of new Set([1, this.maxBatchSize])) {
      const out = tf.tidy(() => this.model.predict(tf.zeros([b, ...this.inputShape])) as tf.Tensor);
      await out.data();
      out.dispose();
    }
  }

  predict(input: ArrayLike<number>): Promise<Float32Array> {
    if (this.closed) return Promise.reject(new LeptonError('PREDICTOR_CLOSED', 'The predictor is closed; create a new one.'));
    if (input === null || input === undefined || input.length !== this.sampleSize) {
      return Promise.reject(
        new LeptonError('INVALID_INPUT', `Expected ${this.sampleSize} values (shape [${this.inputShape.join(', ')}]), got ${input?.length ?? 'none'}.`),
      );
    }
    for (let i = 0; i < input.length; i++) {
      if (!Number.isFinite(input[i])) return Promise.reject(new LeptonError('INVALID_INPUT', `Input value ${i} is not a finite number.`));
    }
    if (this.queue.length >= this.maxQueue) {
      this.counters.rejectedOverload++;
      return Promise.reject(
        new LeptonError('OVERLOADED', `The predictor queue is full (${this.maxQueue} waiting); retry later or raise maxQueue.`, {
          details: { maxQueue: this.maxQueue },
        }),
      );
    }
    this.counters.requests++;
    return new Promise((resolve, reject) => {
      this.queue.push({ data: input, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running !== undefined) return; // the running loop picks the request up
    if (this.queue.length >= this.maxBatchSize) {
      this.clearTimer();
      this.start();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.start();
      }, this.maxWaitMs);
    }
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private start(): void {
    if (this.running !== undefined || this.queue.length === 0) return;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.queue.length > 0) this.schedule();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatchSize);
      await this.run(batch);
      // Below a full batch, wait for more callers unless closing; a full batch goes at once.
      if (this.queue.length < this.maxBatchSize && !this.closed) break;
    }
  }

  private async run(batch: Pending[]): Promise<void> {
    const n = batch.length;
    const flat = new Float32Array(n * this.sampleSize);
    batch.forEach((p, i) => flat.set(p.data, i * this.sampleSize));
    let out: tf.Tensor | undefined;
    try {
      out = tf.tidy(() => this.model.predict(tf.tensor(flat, [n, ...this.inputShape])) as tf.Tensor);
      const values = (await out.data()) as Float32Array;
      batch.forEach((p, i) => p.resolve(values.slice(i * this.outputSize, (i + 1) * this.outputSize)));
      this.counters.batches++;
      this.counters.batched += n;
    } catch (err) {
      this.counters.failed += n;
      const error = new LeptonError('INVALID_INPUT', `The forward pass failed for a batch of ${n}: ${(err as Error).message}`, { cause: err });
      batch.forEach((p) => p.reject(error));
    } finally {
      out?.dispose();
    }
  }

  stats(): PredictorStats {
    const c = this.counters;
    return {
      requests: c.requests,
      batches: c.batches,
      meanBatchSize: c.batches === 0 ? 0 : c.batched / c.batches,
      rejectedOverload: c.rejectedOverload,
      failed: c.failed,
      queued: this.queue.length,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.clearTimer();
    while (this.running !== undefined || this.queue.length > 0) {
      if (this.running === undefined) this.start();
      await this.running;
    }
  }
}

/**
 * Creates a predictor that merges concurrent single-sample requests into batched forward passes
 * (up to `maxBatchSize`, waiting at most `maxWaitMs` for a batch to fill), warms the model up, bounds its
 * queue and drains on `close()`. Every forward pass runs in `tf.tidy`, so serving leaks no tensors.
 *
 * @param source - a loaded bundle or a model
 * @param options - batching and queue limits
 * @returns a ready predictor
 * @throws {@link LeptonError} `INVALID_ARGUMENT` for bad limits, `INVALID_MODEL` for a multi-input model or one
 *   without a fixed sample shape, `KERNEL_UNAVAILABLE` when no backend can run the model
 * @example
 * ```ts
 * import { buildMlp, createPredictor, initRuntime } from '@lepton/core';
 * await initRuntime({ backend: 'cpu' });
 * const predictor = await createPredictor(buildMlp({ inputDim: 3 }), { maxBatchSize: 16, maxWaitMs: 2 });
 * const scores = await Promise.all([predictor.predict([1, 2, 3]), predictor.predict([0, 1, 0])]);
 * await predictor.close();
 * ```
 */
export async function createPredictor(source: Bundle | tfl.LayersModel, options: PredictorOptions = {}): Promise<Predictor> {
  await ensureRuntime();
  const model = 'manifest' in source ? source.model : source;
  // A kernel missing for inference on this backend is found now (and served from one that has it), not at the
  // first request.
  await planBackend(model, { training: false });
  const predictor = new BatchingPredictor(
    model,
    Math.floor(positive(options.maxBatchSize ?? 32, 'maxBatchSize')),
    positive(options.maxWaitMs ?? 2, 'maxWaitMs', true),
    Math.floor(positive(options.maxQueue ?? 1024, 'maxQueue')),
  );
  if (options.warmup ?? true) await predictor.warmup();
  return predictor;
}
