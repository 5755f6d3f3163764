import type { ObjectDetectorOptions } from '../detect/detector.js';
import { parseConfig, type SurveillanceConfig } from './config.js';

/**
 * The {@link ObjectDetectorOptions} that {@link SurveillancePipeline.create} loads its detector with for a
 * configuration: the `detector` section as given (model, classes, NMS IoU, batch size, workers, `tiles`, `flip`),
 * and per class the lowest threshold of `detector.thresholds` and every camera's `thresholds` (a camera's own
 * threshold is applied after detection, so the detector must report down to the lowest one). Load the detector
 * yourself with these to share it between pipelines, or to warm it up before the cameras start.
 *
 * @param config - a configuration (validated again here, as the pipeline does)
 * @returns options for `ObjectDetector.load`
 * @throws {@link @lepton/core!LeptonError} `CONFIG_INVALID` for a configuration that does not validate
 * @example
 * ```ts
 * import { detectorOptionsFromConfig, ObjectDetector, parseConfig } from '@lepton/surveillance';
 * const config = parseConfig({ detector: { tiles: 2 }, cameras: [{ name: 'gate', input: 'gate.mp4', thresholds: { person: 0.3 } }] });
 * const detector = await ObjectDetector.load(detectorOptionsFromConfig(config)); // tiles 2, person threshold 0.3
 * ```
 */
export function detectorOptionsFromConfig(config: SurveillanceConfig): ObjectDetectorOptions {
  const { detector, cameras } = parseConfig(config);
  const thresholds: Record<string, number> = { ...(detector.thresholds ?? {}) };
  for (const cam of cameras) for (const [k, v] of Object.entries(cam.thresholds ?? {})) thresholds[k] = Math.min(v, thresholds[k] ?? v);
  return {
    model: detector.model,
    batchSize: detector.batchSize,
    workers: detector.workers,
    ...(detector.classes === undefined ? {} : { classes: detector.classes }),
    thresholds,
    ...(detector.iouThreshold === undefined ? {} : { iouThreshold: detector.iouThreshold }),
    ...(detector.tiles === undefined ? {} : { tiles: detector.tiles }),
    ...(detector.flip === undefined ? {} : { flip: detector.flip }),
  };
}
