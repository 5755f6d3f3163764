/**
 * Every error code `@lepton/surveillance` adds to `@lepton/core`'s, at run time (for JavaScript callers and log
 * pipelines). {@link SurveillanceErrorCode} documents each one. Surveillance also raises core's shared codes
 * (`INVALID_ARGUMENT`, `INVALID_INPUT`, `SHAPE_MISMATCH` …, see `CORE_ERROR_CODES`); `tests/error-codes.test.ts` fails
 * when the source uses a code that is in neither list, or when a code listed here is no longer used.
 */
export const SURVEILLANCE_ERROR_CODES = [
  'VIDEO_SOURCE_FAILED',
  'VIDEO_NO_STREAM',
  'VIDEO_FFMPEG_MISSING',
  'VIDEO_WRITE_FAILED',
  'MODEL_LOAD_FAILED',
  'CONFIG_INVALID',
  'DETECTOR_CLOSED',
  'RECORDING_UNAVAILABLE',
  'EVENTS_READ_FAILED',
  'CAMERA_FAILED',
] as const;

/**
 * Error codes of `@lepton/surveillance` (always inside a `LeptonError`; one of {@link SURVEILLANCE_ERROR_CODES}); with
 * core's codes they make up `LeptonErrorCode` in a program that imports `@lepton/surveillance`.
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
 * - `RECORDING_UNAVAILABLE` — a clip was asked for an interval no finished recording segment covers.
 * - `EVENTS_READ_FAILED` — the service's event store file could not be read back.
 * - `CAMERA_FAILED` — one camera of a pipeline stopped on an unexpected error (not one of the typed failures above);
 *   reported in that camera's report, the other cameras go on.
 *
 * Messages and `details` never carry camera credentials: user names, passwords and secret-looking query parameters of
 * input URLs are shown as `***`.
 */
export type SurveillanceErrorCode = (typeof SURVEILLANCE_ERROR_CODES)[number];

declare module '@lepton/core' {
  interface LeptonErrorCodes {
    /** Codes added by `@lepton/surveillance` ({@link SURVEILLANCE_ERROR_CODES}). */
    surveillance: SurveillanceErrorCode;
  }
}
