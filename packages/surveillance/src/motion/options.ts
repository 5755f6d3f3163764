import { LeptonError } from '@lepton/core';
import { shownJson, type Polygon } from '../types.js';

/** Options for {@link MotionDetector}. Every field is optional; the defaults suit a fixed camera at 5–15 fps. */
export interface MotionOptions {
  /**
   * Integer downscale factor: each analysed pixel stands for a `scale × scale` block of the frame. Default: the
   * smallest factor that makes the analysed image at most `targetWidth` pixels wide.
   */
  scale?: number;
  /** Width the analysed image is reduced to when `scale` is not given. Default 160. */
  targetWidth?: number;
  /**
   * Weight of the current frame in the running-average background, for pixels that are not moving. Sets how fast
   * gradual lighting (clouds, dusk) is absorbed: a ramp of `r` grey levels per frame lags the background by about
   * `r / learningRate` levels, so it stays silent while that is below `threshold` (r < 1.25 a frame with the
   * defaults). Default 0.05.
   */
  learningRate?: number;
  /**
   * Weight of the current frame for pixels that differ from the background by more than `threshold`. Kept well
   * below `learningRate` so a passing object does not leave a ghost in the background; it is also how fast an object
   * that stops (a parked car) stops being motion: a difference `d` fades below `threshold` after about
   * `ln(threshold / d) / ln(1 − foregroundLearningRate)` frames (≈ 180 frames for d = 150 with the defaults).
   * Default 0.01.
   */
  foregroundLearningRate?: number;
  /** Grey-level difference (0–255) from the background above which an analysed pixel is foreground. Default 25. */
  threshold?: number;
  /** Smallest motion box area in full-resolution pixels. Default 0.1 % of the frame area. */
  minArea?: number;
  /** 3 × 3 erosions applied to the foreground mask first (removes isolated noise pixels). Default 1. */
  erodeIterations?: number;
  /** 3 × 3 dilations applied after the erosions (re-grows and joins the fragments of one mover). Default 2. */
  dilateIterations?: number;
  /** Areas to ignore (trees, a road outside the fence, an on-screen clock), in full-resolution pixels. Default none. */
  masks?: readonly Polygon[];
  /**
   * First frames that only build the background (cumulative mean, so the model starts from several noisy frames
   * rather than one); they never report motion. Default 10.
   */
  warmupFrames?: number;
  /**
   * Share of the analysed (unmasked) pixels that, when over `threshold` at once, is taken as a scene change rather
   * than motion (lights switched on or off, camera auto-exposure, a PTZ move): the background is reset to the
   * current frame and that frame reports `sceneChange: true` and no motion. A value above 1 disables the check.
   * Default 0.5.
   */
  sceneChangeFraction?: number;
}

/** @internal {@link MotionOptions} with every default filled in (`minArea` and `scale` depend on the frame size). */
export interface ResolvedMotionOptions {
  scale: number | undefined;
  targetWidth: number;
  learningRate: number;
  foregroundLearningRate: number;
  threshold: number;
  minArea: number | undefined;
  erodeIterations: number;
  dilateIterations: number;
  masks: Polygon[];
  warmupFrames: number;
  sceneChangeFraction: number;
}

function bad(field: string, rule: string, value: unknown): LeptonError {
  return new LeptonError('INVALID_ARGUMENT', `MotionDetector: ${field} must be ${rule}; got ${shownJson(value)}.`, { details: { field } });
}

/**
 * @internal Fills the defaults of {@link MotionOptions} and validates them.
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` naming the first invalid option
 */
export function resolveMotionOptions(o: MotionOptions): ResolvedMotionOptions {
  const num = (field: keyof MotionOptions, value: number | undefined, def: number, ok: (v: number) => boolean, rule: string): number => {
    const v = value ?? def;
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw bad(field, rule, v);
    return v;
  };
  const int = (v: number): boolean => Number.isInteger(v);
  // A JavaScript caller can pass null (o.scale threw a TypeError) or a number (every option silently defaulted).
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw bad('the options', 'an object (or left out)', o);
  if (o.masks !== undefined && o.masks !== null && !Array.isArray(o.masks)) throw bad('masks', 'an array of polygons', o.masks);
  if (o.scale !== undefined && (!Number.isInteger(o.scale) || o.scale < 1)) throw bad('scale', 'a positive integer', o.scale);
  if (o.minArea !== undefined && (!Number.isFinite(o.minArea) || o.minArea < 0)) throw bad('minArea', 'a non-negative number', o.minArea);
  const masks = [...(o.masks ?? [])];
  masks.forEach((poly, i) => {
    // Array.from: a hole of a sparse array is checked (as undefined), not skipped as `every` skips it.
    if (!Array.isArray(poly) || poly.length < 3 || !Array.from(poly).every((p) => Array.isArray(p) && p.length === 2 && Number.isFinite(p[0]) && Number.isFinite(p[1]))) {
      throw bad(`masks[${i}]`, 'a polygon of at least three finite [x, y] points', poly);
    }
  });
  return {
    scale: o.scale,
    targetWidth: num('targetWidth', o.targetWidth, 160, (v) => int(v) && v >= 8, 'an integer ≥ 8'),
    learningRate: num('learningRate', o.learningRate, 0.05, (v) => v > 0 && v <= 1, 'in (0, 1]'),
    foregroundLearningRate: num('foregroundLearningRate', o.foregroundLearningRate, 0.01, (v) => v >= 0 && v <= 1, 'in [0, 1]'),
    threshold: num('threshold', o.threshold, 25, (v) => v > 0 && v < 255, 'in (0, 255)'),
    minArea: o.minArea,
    erodeIterations: num('erodeIterations', o.erodeIterations, 1, (v) => int(v) && v >= 0, 'a non-negative integer'),
    dilateIterations: num('dilateIterations', o.dilateIterations, 2, (v) => int(v) && v >= 0, 'a non-negative integer'),
    masks,
    warmupFrames: num('warmupFrames', o.warmupFrames, 10, (v) => int(v) && v >= 1, 'a positive integer'),
    sceneChangeFraction: num('sceneChangeFraction', o.sceneChangeFraction, 0.5, (v) => v > 0, 'a positive number'),
  };
}
