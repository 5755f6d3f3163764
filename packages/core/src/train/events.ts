/** Events emitted by `train()` through `onProgress`, in order: start, (batch…, epoch)…, end. */
export type TrainEvent =
  | { type: 'start'; epochs: number; samples: number; validationSamples: number; backend: string }
  | { type: 'batch'; epoch: number; epochs: number; batch: number; batches: number; loss: number }
  | {
      type: 'epoch';
      epoch: number;
      epochs: number;
      /** Training loss and validation metrics (`val_loss`, `val_auc` …) for this epoch. */
      metrics: Record<string, number>;
      learningRate: number;
      /** True when the monitored metric improved on the best so far. */
      improved: boolean;
    }
  | { type: 'end'; epochsRun: number; bestEpoch: number; stoppedEarly: boolean };
