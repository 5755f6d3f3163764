import { DEFAULT_DETECTION_THRESHOLD, type ObjectDetectorOptions } from '../detect/detector.js';
import { ownValue } from '../types.js';
import { parseConfig, type SurveillanceConfig } from './config.js';

/**
 * The {@link ObjectDetectorOptions} that {@link SurveillancePipeline.create} loads its detector with for a
 * configuration: the `detector` section as given (model — your own as a `CustomDetectorModel` —, classes, NMS IoU, batch size,
 * workers, engine, `tiles`, `flip`),
 * and per class the lowest threshold any camera applies: a camera's own `thresholds` entry, else the detector's
 * (`detector.thresholds`, else 0.4). A camera's threshold is applied after detection, so the detector must report
 * down to the lowest one; a camera without its own keeps the detector's (see {@link cameraThreshold}). Load the detector
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
  for (const cam of cameras) {
    for (const [k, v] of Object.entries(cam.thresholds ?? {})) thresholds[k] = Math.min(v, ownValue(thresholds, k) ?? ownValue(detector.thresholds, k) ?? DEFAULT_DETECTION_THRESHOLD);
  }
  const m = detector.model;
  return {
    model:
      typeof m === 'string'
        ? m
        : {
            modelPath: m.path,
            labels: [...m.labels],
            decode: m.decode,
            ...(m.outputs === undefined ? {} : { outputs: [...m.outputs] }),
            ...(m.inputSize === undefined ? {} : { inputSize: m.inputSize }),
            ...(m.layout === undefined ? {} : { layout: m.layout }),
            ...(m.inputScale === undefined ? {} : { inputScale: m.inputScale }),
            ...(m.inputOffset === undefined ? {} : { inputOffset: m.inputOffset }),
          },
    batchSize: detector.batchSize,
    workers: detector.workers,
    ...(detector.engine === undefined ? {} : { engine: detector.engine }),
    ...(detector.classes === undefined ? {} : { classes: detector.classes }),
    thresholds,
    ...(detector.iouThreshold === undefined ? {} : { iouThreshold: detector.iouThreshold }),
    ...(detector.tiles === undefined ? {} : { tiles: detector.tiles }),
    ...(detector.flip === undefined ? {} : { flip: detector.flip }),
  };
}

/**
 * The score a detection of `label` needs on camera `camera` of a configuration: the camera's own `thresholds` entry,
 * else the detector's (`detector.thresholds`, else the detector's default, 0.4). The detector loaded with
 * {@link detectorOptionsFromConfig} reports down to the lowest of these over all cameras, so each camera filters its
 * detections with this.
 *
 * @param config - a validated configuration
 * @param camera - one of `config.cameras`
 * @param label - a class name
 * @returns the threshold in [0, 1]
 */
export function cameraThreshold(config: SurveillanceConfig, camera: { thresholds?: Record<string, number> | undefined }, label: string): number {
  return ownValue(camera.thresholds, label) ?? ownValue(config.detector.thresholds, label) ?? DEFAULT_DETECTION_THRESHOLD;
}
