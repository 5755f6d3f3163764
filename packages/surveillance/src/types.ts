import { describeValue, LeptonError } from '@lepton/core';
import type { SurveillanceErrorCode } from './errors.js';

/** A point in image pixels: `[x, y]`, origin at the top-left corner, x to the right, y down. */
export type Point = readonly [number, number];

/** A closed polygon in image pixels (at least three points; the last joins the first). */
export type Polygon = readonly Point[];

/** An axis-aligned box in image pixels: top-left corner, width and height. */
export interface Box {
  /** Left edge. */
  x: number;
  /** Top edge. */
  y: number;
  /** Width (≥ 0). */
  width: number;
  /** Height (≥ 0). */
  height: number;
}

/** One decoded video frame, packed RGB (3 bytes per pixel, row-major, no padding). */
export interface Frame {
  /** Camera (source) name, as configured. */
  camera: string;
  /** 0, 1, 2 … for the frames this source delivered (dropped frames leave no gap here; see `sourceIndex`). */
  index: number;
  /** Index of the frame among every frame ffmpeg produced at the configured rate, dropped ones included. */
  sourceIndex: number;
  /** Media time in seconds since the source started (frame number ÷ configured fps; restarts add on). */
  time: number;
  /** Wall-clock time the frame was read, ms since the epoch. */
  wallTime: number;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** width × height × 3 bytes, RGB. */
  data: Uint8Array;
}

/** One detected object in one frame. */
export interface Detection {
  /** Box in the frame's pixels. */
  box: Box;
  /** Class name from the model's label map (COCO names for the shipped detector: 'person', 'car' …). */
  label: string;
  /** Confidence in [0, 1]. */
  score: number;
}

/** A tracked object as the tracker reports it after a frame. */
export interface Track {
  /** Stable ID, unique per tracker, never reused. */
  id: number;
  /** Class of the detections that made the track (majority over its hits). */
  label: string;
  /** Current box (the Kalman estimate, in pixels). */
  box: Box;
  /** Confidence of the last matched detection. */
  score: number;
  /** Frames with a matched detection, in total. */
  hits: number;
  /** Frames since the last matched detection (0 when matched in this frame). */
  misses: number;
  /** Whether the track has had enough hits to be reported (`minHits`). */
  confirmed: boolean;
  /** Estimated velocity of the box centre in pixels per frame. */
  velocity: Point;
}

export type { SurveillanceErrorCode } from './errors.js';

/** @internal */
export function surveillanceError(code: SurveillanceErrorCode, message: string, details: Record<string, unknown> = {}, cause?: unknown): LeptonError {
  return new LeptonError(code, message, cause === undefined ? { details } : { details, cause });
}

/**
 * A caller's value (a box, a point, a polygon) for an error message: its JSON where it is plain data, cut to `max`
 * characters. A BigInt, a cycle or a throwing toJSON or getter make JSON.stringify throw (a TypeError in place of the
 * typed error being built), so those, and anything JSON cannot show, fall back to core's describeValue.
 * @internal
 */
export function shownJson(value: unknown, max = 200): string {
  if (typeof value === 'string' || (Array.isArray(value) && value.length > 1000)) return describeValue(value, max);
  try {
    const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${String(v)}n` : v));
    if (typeof text === 'string') return text.length > max ? `${text.slice(0, max)}…` : text;
  } catch {
    // a cycle, or a toJSON or getter that throws: described below without running anything
  }
  return describeValue(value, max);
}

/**
 * A per-class setting from a plain object (YAML or the caller's), own keys only: a class named `constructor`,
 * `toString` or `__proto__` must not read `Object.prototype` (a function where a number belongs).
 * @internal
 */
export function ownValue<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}
