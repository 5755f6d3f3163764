import { LeptonError } from '@lepton/core';

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

/**
 * Error codes of `@lepton/surveillance` (always inside a `LeptonError`).
 *
 * - `VIDEO_SOURCE_FAILED` — ffmpeg could not open or decode a source (missing file, corrupt or truncated video,
 *   unreachable stream after the reconnect attempts).
 * - `VIDEO_NO_STREAM` — the input opens but has no video stream (an audio-only file or stream), so there is nothing
 *   to analyse or cut a clip from.
 * - `VIDEO_FFMPEG_MISSING` — no ffmpeg on the PATH and none from `@ffmpeg-installer/ffmpeg`.
 * - `VIDEO_WRITE_FAILED` — ffmpeg could not encode an output (annotated video, clip): disk full, bad path, encoder error.
 * - `MODEL_LOAD_FAILED` — a detector model could not be loaded (missing files, wrong format, label map mismatch).
 * - `CONFIG_INVALID` — a camera configuration is invalid; the message names the camera and the field.
 * - `DETECTOR_CLOSED` — an `ObjectDetector` was used after `close()` / `dispose()`.
 *
 * Messages and `details` never carry camera credentials: user names, passwords and secret-looking query parameters of
 * input URLs are shown as `***`.
 */
export type SurveillanceErrorCode = 'VIDEO_SOURCE_FAILED' | 'VIDEO_NO_STREAM' | 'VIDEO_FFMPEG_MISSING' | 'VIDEO_WRITE_FAILED' | 'MODEL_LOAD_FAILED' | 'CONFIG_INVALID' | 'DETECTOR_CLOSED';

/** @internal */
export function surveillanceError(code: SurveillanceErrorCode, message: string, details: Record<string, unknown> = {}, cause?: unknown): LeptonError {
  return new LeptonError(code, message, cause === undefined ? { details } : { details, cause });
}
