/**
 * The worker module of a pooled {@link ObjectDetector} (`workers` ≥ 2): each worker thread of the pool loads its own
 * in-process detector with the same options and serves whole batches — letterbox, forward pass, decode and NMS all run
 * in the worker, so the main thread only validates frames and collects detections.
 * @internal
 * @module
 */
import type { WorkerSetup } from '@lepton/core';
import type { Detection, Frame } from '../types.js';
import { ObjectDetector, type ObjectDetectorOptions } from './detector.js';

/** @internal What each worker is started with: the detector options, minus what cannot cross threads. */
export type DetectorWorkerInit = Omit<ObjectDetectorOptions, 'onInvalidFrame' | 'workers'>;

/** @internal One answer: detections per frame, and what the worker's detector counted for this batch. */
export interface DetectorWorkerResult {
  detections: Detection[][];
  forwardPasses: number;
  frames: number;
  invalidFrames: number;
  rejectedCandidates: number;
  refusedBatches: number;
}

const setup: WorkerSetup<DetectorWorkerInit, Frame[], DetectorWorkerResult> = async (init) => {
  const detector = await ObjectDetector.load({ ...init, workers: 1 });
  return async (frames) => {
    const before = { ...detector.stats };
    const detections = await detector.detect(frames);
    return {
      result: {
        detections,
        forwardPasses: detector.stats.forwardPasses - before.forwardPasses,
        frames: detector.stats.frames - before.frames,
        invalidFrames: detector.stats.invalidFrames - before.invalidFrames,
        rejectedCandidates: detector.stats.rejectedCandidates - before.rejectedCandidates,
        refusedBatches: detector.stats.refusedBatches - before.refusedBatches,
      },
    };
  };
};
export default setup;
