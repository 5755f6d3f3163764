import type { BackendName } from '../runtime/backends.js';

/** Events emitted by `train()` through `onProgress`, in order: start, (batch…, epoch)…, end. */
export type TrainEvent =
  | {
      /** Emitted once, before the first epoch. */
      type: 'start';
      /** Maximum epochs planned. */
      epochs: number;
      /** Training samples (after any validation split). */
      samples: number;
      /** Validation samples; 0 without validation data. */
      validationSamples: number;
      /** Backend training runs on. */
      backend: BackendName;
    }
  | {
      /** Emitted after each batch. */
      type: 'batch';
      /** Epoch index, from 0. */
      epoch: number;
      /** Maximum epochs planned. */
      epochs: number;
      /** Batch index within the epoch, from 0. */
      batch: number;
      /** Batches per epoch. */
      batches: number;
      /** Training loss on this batch. */
      loss: number;
    }
  | {
      /** Emitted after each epoch, once validation metrics are computed. */
      type: 'epoch';
      /** Epoch index, from 0. */
      epoch: number;
      /** Maximum epochs planned. */
      epochs: number;
      /** Training loss and validation metrics (`val_loss`, `val_auc` …) for this epoch. */
      metrics: Record<string, number>;
      /** Learning rate used during this epoch. */
      learningRate: number;
      /** True when the monitored metric improved on the best so far. */
      improved: boolean;
    }
  | {
      /** Emitted once, after the last epoch (and any best-weights restore). */
      type: 'end';
      /** Epochs actually run. */
      epochsRun: number;
      /** Epoch (from 0) whose weights the model holds at the end. */
      bestEpoch: number;
      /** True when early stopping ended training before the last planned epoch. */
      stoppedEarly: boolean;
    };
