import type { CameraReport } from '../pipeline/pipeline.js';
import type { RecorderStats } from './recorder.js';

/** Health of one camera (`GET /api/health`). */
export interface CameraHealth {
  /** Camera name. */
  name: string;
  /**
   * `starting` (no frame yet), `running` (frames arrive), `stalled` (none for 5 s or five frame intervals:
   * reconnecting), `ended` (a file input ended, or the service stopped it), `failed` (the source failed for good).
   */
  state: 'starting' | 'running' | 'stalled' | 'ended' | 'failed';
  /** Frames processed per second over the last 10 s. */
  fps: number;
  /** Frames processed. */
  frames: number;
  /** Frames the detector ran on. */
  detectedFrames: number;
  /** Frames dropped because the pipeline was behind the camera (live inputs). */
  droppedFrames: number;
  /** Reconnects of the input after it failed or stalled. */
  reconnects: number;
  /** Wall-clock time of the last processed frame (ISO-8601), or `null`. */
  lastFrameAt: string | null;
  /** Objects tracked now. */
  activeObjects: number;
  /** The typed error of a failed camera. */
  error: {
    /** The `LeptonError` code (`VIDEO_SOURCE_FAILED` …). */
    code: string;
    /** What went wrong (credentials masked). */
    message: string;
  } | null;
  /** The camera's recorder, or `null` when it is not recorded. */
  recording: RecorderStats | null;
}

/** Health of a service instance (`GET /api/health`). */
export interface ServiceHealth {
  /** Instance name. */
  instance: string;
  /** `i/n` when this instance runs a shard, else `null`. */
  shard: string | null;
  /** Lifecycle: `running`, `stopping`, `stopped`. */
  state: 'running' | 'stopping' | 'stopped';
  /** `ok` (every camera starting or running), `degraded` (one stalled, ended or failed), `stopping`. */
  status: 'ok' | 'degraded' | 'stopping';
  /** When the service started (ISO-8601). */
  startedAt: string;
  /** Seconds since. */
  uptimeSeconds: number;
  /** Per camera. */
  cameras: CameraHealth[];
  /** The event store. */
  events: {
    /** Events held. */
    stored: number;
    /** Lines of the persistence file skipped as malformed when it was read back. */
    skippedLines: number;
    /** Appends to the persistence file that failed. */
    writeErrors: number;
    /** Snapshot and clip files of dropped events that could not be deleted. */
    deleteErrors: number;
    /** Object messages the service failed to handle (the store refused them, a snapshot could not be written). */
    failed: number;
    /** Messages dropped for readers of `service.events()` that were too far behind. */
    streamDropped: number;
  };
  /** Retention of the recordings, or `null` without recording. */
  retention: {
    /** Retention runs that failed and segments it could not delete. */
    errors: number;
    /** The last such failure, or `null`. */
    lastError: string | null;
  } | null;
  /** MQTT messages, or `null` without MQTT. */
  mqtt: {
    /** Published. */
    published: number;
    /** Failed. */
    failed: number;
  } | null;
}

/**
 * Inputs of {@link cameraHealth}.
 * @internal
 */
export interface CameraHealthInput {
  name: string;
  report: CameraReport | undefined;
  ended: boolean;
  frameTimes: readonly number[];
  now: number;
  fps: number;
  activeObjects: number;
  recorder: RecorderStats | undefined;
}

/**
 * One camera's health from its live report and the wall times of its last frames.
 * @internal
 */
export function cameraHealth(i: CameraHealthInput): CameraHealth {
  const r = i.report;
  const last = i.frameTimes.at(-1);
  const window = i.frameTimes.length === 0 ? 0 : Math.min(10_000, Math.max(1000, i.now - i.frameTimes[0]!));
  const fps = i.frameTimes.length === 0 || last! < i.now - 10_000 ? 0 : Math.round((i.frameTimes.length / window) * 1000 * 100) / 100;
  const stallMs = Math.max(5_000, (5 / i.fps) * 1000);
  let state: CameraHealth['state'];
  if (r?.error !== undefined) state = 'failed';
  else if (i.ended) state = 'ended';
  else if (last === undefined) state = (r?.reconnects ?? 0) > 0 ? 'stalled' : 'starting';
  else state = i.now - last > stallMs ? 'stalled' : 'running';
  return {
    name: i.name,
    state,
    fps,
    frames: r?.frames ?? 0,
    detectedFrames: r?.detectedFrames ?? 0,
    droppedFrames: r?.source.dropped ?? 0,
    reconnects: r?.reconnects ?? 0,
    lastFrameAt: last === undefined ? null : new Date(last).toISOString(),
    activeObjects: i.activeObjects,
    error: r?.error === undefined ? null : { ...r.error },
    recording: i.recorder ?? null,
  };
}
