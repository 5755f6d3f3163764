import { mkdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeValue, isLeptonError, LeptonError } from '@lepton/core';
import { parseConfig, type CameraConfig, type SurveillanceConfig } from '../config/config.js';
import { cameraThreshold, detectorOptionsFromConfig } from '../config/detector-options.js';
import { ObjectDetector } from '../detect/detector.js';
import { FaceDetector } from '../detect/faces.js';
import { blurRegions } from '../detect/blur.js';
import { annotateFrame } from '../draw/annotate.js';
import { snapshot } from '../draw/jpeg.js';
import { MotionDetector } from '../motion/motion.js';
import { RuleEngine } from '../rules/engine.js';
import type { RuleCounts, RuleEvent } from '../rules/engine.js';
import { SortTracker } from '../track/sort.js';
import { ownValue, type Box, type Detection, type Frame, type Track } from '../types.js';
import { FrameRing } from '../video/clip.js';
import { cutClip } from '../video/cut.js';
import { VideoSource } from '../video/source.js';
import type { VideoSourceOptions, VideoSourceStats } from '../video/source.js';
import { VideoWriter } from '../video/writer.js';
import { AsyncQueue } from './queue.js';
import { connectPublisher, publishEvent, type EventPublisher } from './mqtt.js';
import { MAX_PENDING_PUBLISH, PUBLISH_DRAIN_MS, PublishQueue, settleWithin } from './publish-queue.js';
import { eventId } from '../service/ids.js';

/** Where an event's clip is written, and when it is done. */
export interface EventClip {
  /** MP4 file. */
  path: string;
  /** Media time the clip starts, seconds. */
  start: number;
  /** Media time the clip ends, seconds. */
  end: number;
  /** 'file' — cut from the recording with ffmpeg; 'ring' — encoded from the frames kept in memory (live streams, or blurred faces). */
  from: 'file' | 'ring';
  /** Resolves true once the file is complete, false if it could not be written (the reason is in the pipeline's report). */
  ready: Promise<boolean>;
}

/**
 * One event of the pipeline's typed stream: a rule event (zone, line, loitering, intrusion, crowd) of one camera with
 * its evidence — a JPEG snapshot with the box drawn and a clip around it.
 */
export interface SurveillanceEvent {
  /**
   * `<camera>-<ULID>`: unique across runs, processes and hosts (the ULID holds the time it was made and 80 random
   * bits), and sorting by time within a camera.
   */
  id: string;
  /** The rule's event: kind, camera, time, track ID, class, confidence, box, zone or line (see {@link RuleEvent}). */
  rule: RuleEvent;
  /** Index of the frame that raised it (the camera's delivered frames). */
  frame: number;
  /** Wall-clock time of that frame, ms since the epoch. */
  wallTime: number;
  /** JPEG snapshot file (the frame with the event's box drawn), when snapshots are on. */
  snapshot?: string;
  /** Clip around the event, when clips are on. */
  clip?: EventClip;
}

/** The typed error that stopped a camera. */
export interface CameraError {
  /** The `LeptonError` code (e.g. `VIDEO_SOURCE_FAILED`). */
  code: string;
  /** What went wrong, naming the camera's input. */
  message: string;
}

/** MQTT publishing counters of a run. */
export interface MqttCounts {
  /** Messages published (event JSON and snapshots). */
  published: number;
  /** Events whose publishing failed (counted and skipped; the run goes on). */
  failed: number;
}

/** Counters of one camera after (or during) a run. */
export interface CameraReport {
  /** Camera name. */
  camera: string;
  /** Frames processed. */
  frames: number;
  /** Frames the detector ran on. */
  detectedFrames: number;
  /** Frames skipped by motion gating (no motion and no live track). */
  skippedByMotion: number;
  /** Detections kept (after thresholds and NMS), summed over frames. */
  detections: number;
  /** Confirmed tracks ever reported. */
  tracks: number;
  /** Events raised, by kind. */
  events: Record<string, number>;
  /** Line and zone counts from the rule engine. */
  counts: RuleCounts;
  /** The video source's counters (produced, delivered, dropped …). */
  source: VideoSourceStats;
  /** Reconnects of a live stream. */
  reconnects: number;
  /** Faces blurred (when privacy.blurFaces). */
  facesBlurred: number;
  /**
   * Annotated MP4, when written: only for a camera that delivered at least one frame (a camera that failed before its
   * first frame has no video, and none is left on disk).
   */
  annotatedVideo?: string;
  /**
   * Evidence that could not be written, with the reason: clips, and snapshots whose file could not be written (the
   * event still goes out, without its `snapshot`; the camera goes on).
   */
  clipErrors: string[];
  /**
   * Calls of {@link PipelineOptions.onFrame} that threw: counted and skipped, the camera goes on (the first error's
   * message is in {@link CameraReport.hookError}).
   */
  hookErrors: number;
  /** The message of the first error thrown by {@link PipelineOptions.onFrame}, when one did. */
  hookError?: string;
  /**
   * Set when the camera failed (its source could not be opened or decoded, had no video stream, or died): the typed
   * error's code (`VIDEO_SOURCE_FAILED`, `VIDEO_NO_STREAM`, `VIDEO_FFMPEG_MISSING` …) and message, credentials masked.
   * Anything else that went wrong inside the camera (an error that is not a `LeptonError`) is reported as
   * `CAMERA_FAILED` with its message; the other cameras go on either way.
   * Absent for a camera that ran to its end, to `maxFrames` or to {@link SurveillancePipeline.stop}.
   */
  error?: CameraError;
}

/** What {@link SurveillancePipeline.run} returns. */
export interface PipelineReport {
  /** Per camera. */
  cameras: CameraReport[];
  /** Every event raised, in order. */
  events: number;
  /** Wall time of the run, seconds. */
  seconds: number;
  /** Detector forward passes (frames of several cameras share one). */
  forwardPasses: number;
  /** MQTT messages published, and publishing failures (counted, never fatal). */
  mqtt: MqttCounts;
  /**
   * Events dropped from {@link SurveillancePipeline.events} streams whose reader was more than
   * {@link SurveillancePipeline.STREAM_CAPACITY} events behind (summed over readers).
   */
  streamDropped: number;
}

/** Per-frame information for {@link PipelineOptions.onFrame} (benchmarks, live dashboards). */
export interface FrameInfo {
  /** Camera name. */
  camera: string;
  /** The frame (annotated when the annotated video is on). */
  frame: Frame;
  /**
   * The frame as analysed, without annotations (faces blurred when `privacy.blurFaces`): the one to take snapshots
   * from. The same object as `frame` when the annotated video is off. Copy it to keep it past the callback.
   */
  original: Frame;
  /** Whether motion gating let the detector run. */
  detected: boolean;
  /** Detections of this frame (empty when skipped). */
  detections: Detection[];
  /** Confirmed tracks after this frame. */
  tracks: Track[];
  /** Events this frame raised. */
  events: RuleEvent[];
}

/** Options of {@link SurveillancePipeline.create} beyond the configuration. */
export interface PipelineOptions {
  /** A loaded detector to use (else one is loaded from `config.detector`). Not disposed by the pipeline. */
  detector?: ObjectDetector;
  /** A loaded face detector (else one is loaded when `config.privacy.blurFaces`). Not disposed by the pipeline. */
  faces?: FaceDetector;
  /** An MQTT publisher (else one connects to `config.mqtt.url` when set). */
  publisher?: EventPublisher;
  /** Stop each camera after this many frames (demos and tests). */
  maxFrames?: number;
  /** Extra video-source settings per camera name (queue size, reconnect timing …). */
  sources?: Record<string, Partial<VideoSourceOptions>>;
  /** Called after every processed frame. A call that throws is counted in {@link CameraReport.hookErrors}; the camera goes on. */
  onFrame?: (info: FrameInfo) => void;
  /**
   * Called once per camera when it has stopped (its source ended or failed, `maxFrames`, or {@link
   * SurveillancePipeline.stop}), after its last `onFrame`, with its final report.
   */
  onCameraEnd?: (report: CameraReport) => void;
}

interface DetectRequest {
  frame: Frame;
  resolve: (d: Detection[]) => void;
  reject: (e: unknown) => void;
}

/**
 * Batches detection requests from several cameras into one forward pass: a request waits until every running camera
 * has one in, or `batchSize` are in, or the current pass ends — whichever comes first.
 * @internal
 */
class DetectBatcher {
  readonly #pending: DetectRequest[] = [];
  /** Batches in detection now: at most one per detector worker. */
  #inFlight = 0;
  readonly #concurrency: number;
  #running: number;
  passes = 0;

  constructor(
    private readonly detector: ObjectDetector,
    private readonly batchSize: number,
    cameras: number,
  ) {
    this.#running = cameras;
    this.#concurrency = detector.workers;
  }

  cameraStopped(): void {
    this.#running--;
    this.#pump();
  }

  detect(frame: Frame): Promise<Detection[]> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ frame, resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#inFlight < this.#concurrency && this.#pending.length > 0) {
      if (this.#pending.length < Math.min(this.batchSize, Math.max(1, this.#running))) return;
      const batch = this.#pending.splice(0, this.batchSize);
      this.#inFlight++;
      this.passes++;
      this.detector
        .detect(batch.map((r) => r.frame))
        .then(
          (results) => batch.forEach((r, i) => r.resolve(results[i] ?? [])),
          (err: unknown) => batch.forEach((r) => r.reject(err)),
        )
        .finally(() => {
          this.#inFlight--;
          this.#pump();
        });
    }
  }
}

/** Below this speed (pixels per frame of the box centre) a confirmed track counts as standing still. */
const STATIONARY_SPEED = 0.5;
/** Stationary tracks are re-detected this often (seconds) when nothing moves. */
const STATIONARY_REFRESH_SECONDS = 1;

const copyFrame = (f: Frame): Frame => ({ ...f, data: new Uint8Array(f.data) });

/** Box of a rule event (crowd events: the union of their members' boxes). */
function eventBox(e: RuleEvent): Box | undefined {
  if (e.kind !== 'crowd') return e.box;
  if (e.members.length === 0) return undefined;
  const x0 = Math.min(...e.members.map((m) => m.box.x));
  const y0 = Math.min(...e.members.map((m) => m.box.y));
  const x1 = Math.max(...e.members.map((m) => m.box.x + m.box.width));
  const y1 = Math.max(...e.members.map((m) => m.box.y + m.box.height));
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

function eventLabel(e: RuleEvent): string {
  switch (e.kind) {
    case 'line-cross':
      return `#${e.trackId} ${e.label} ${e.line} ${e.direction}`;
    case 'crowd':
      return `crowd ${e.count} in ${e.zone}`;
    default:
      return `#${e.trackId} ${e.label} ${e.kind} ${e.zone}`;
  }
}

/** The error that stopped a camera, typed: a `LeptonError` as is, anything else as `CAMERA_FAILED`. */
function cameraError(err: unknown): CameraError {
  if (isLeptonError(err)) return { code: err.code, message: err.message };
  return { code: 'CAMERA_FAILED', message: `Unexpected error in the camera: ${err instanceof Error ? err.message : describeValue(err)}` };
}

const isFile = (input: string): boolean => !/^[a-z][a-z0-9+.-]*:\/\//i.test(input) && !input.startsWith('/dev/');

/**
 * The whole surveillance path for several cameras: video in (ffmpeg) → motion gating → one batched detector for all
 * cameras → SORT tracking per camera → zones, tripwires, loitering, intrusion and crowd rules → a typed event stream
 * with JPEG snapshots and clips, published to MQTT when configured, plus one annotated MP4 per camera.
 *
 * Motion gating: the detector runs on a frame when the motion detector sees change, while it cannot tell (its
 * warm-up frames, a scene change), while a track is still moving or unconfirmed, and once a second while tracks stand
 * still (so that a person waiting — loitering — stays tracked, while parked cars cost one detection a second); a
 * static scene costs only the motion check. Files are read as fast as the pipeline goes, every frame processed (unless
 * `realtime`); live streams drop the oldest frames when the pipeline falls behind. A failing camera (missing or
 * corrupt file, a stream that cannot be reached) is reported in its {@link CameraReport} and never stops the others.
 *
 * @example
 * ```ts
 * import { loadConfig, SurveillancePipeline } from '@lepton/surveillance';
 * const pipeline = await SurveillancePipeline.create(await loadConfig('cameras.yaml'));
 * const done = pipeline.run();
 * for await (const event of pipeline.events()) console.log(event.rule.kind, event.rule.camera, event.snapshot);
 * console.log(await done);
 * ```
 */
export class SurveillancePipeline {
  readonly #config: SurveillanceConfig;
  readonly #options: PipelineOptions;
  readonly #detector: ObjectDetector;
  readonly #ownsDetector: boolean;
  readonly #faces: FaceDetector | undefined;
  readonly #ownsFaces: boolean;
  readonly #publisher: EventPublisher | undefined;
  readonly #ownsPublisher: boolean;
  readonly #rules: RuleEngine;
  /** One bounded queue per reader of {@link events}. */
  readonly #streams = new Set<AsyncQueue<SurveillanceEvent>>();
  #streamDropped = 0;
  #runState: 'idle' | 'running' | 'done' = 'idle';
  readonly #sources = new Map<string, VideoSource>();
  /** The report of each camera that has started, updated as it runs (see {@link cameraReports}). */
  readonly #reports = new Map<string, CameraReport>();
  #stopped = false;
  #mqtt = { published: 0, failed: 0 };
  /** MQTT messages go out in order on a queue of their own, apart from the frames. */
  readonly #publishing = new PublishQueue(MAX_PENDING_PUBLISH);

  private constructor(
    config: SurveillanceConfig,
    options: PipelineOptions,
    detector: { value: ObjectDetector; owned: boolean },
    faces: { value: FaceDetector | undefined; owned: boolean },
    publisher: { value: EventPublisher | undefined; owned: boolean },
  ) {
    this.#config = config;
    this.#options = options;
    this.#detector = detector.value;
    this.#ownsDetector = detector.owned;
    this.#faces = faces.value;
    this.#ownsFaces = faces.owned;
    this.#publisher = publisher.value;
    this.#ownsPublisher = publisher.owned;
    this.#rules = new RuleEngine(config.cameras.map((c) => ({ name: c.name, zones: c.zones, lines: c.lines })));
  }

  /**
   * Loads what the configuration needs (the detector, the face detector when faces are blurred, the MQTT connection)
   * and returns a pipeline ready to {@link run}.
   *
   * @param config - a validated configuration ({@link loadConfig} / {@link parseConfig})
   * @param options - preloaded models, an MQTT publisher, limits and hooks
   * @throws {@link @lepton/core!LeptonError} `CONFIG_INVALID` for a configuration that does not validate (see
   *   {@link parseConfig}; class names are checked against `options.detector`'s classes when given),
   *   `INVALID_ARGUMENT` for bad options, `MODEL_LOAD_FAILED`, or the MQTT client's connection error
   */
  static async create(config: SurveillanceConfig, options: PipelineOptions = {}): Promise<SurveillancePipeline> {
    if (options === null || typeof options !== 'object') throw new LeptonError('INVALID_ARGUMENT', 'SurveillancePipeline.create: options must be an object.');
    const d = options.detector as Partial<ObjectDetector> | undefined | null;
    if (d !== undefined && (d === null || typeof d.detect !== 'function' || !Array.isArray(d.classes))) {
      throw new LeptonError('INVALID_ARGUMENT', 'SurveillancePipeline.create: options.detector must be an ObjectDetector (ObjectDetector.load()).');
    }
    // `workers` sets how many batches are in detection at once and how many frames a camera keeps in flight: without a
    // valid one no frame would ever be detected or processed (run() would never end, frames would pile up).
    const workers = d?.workers;
    if (d !== undefined && !(typeof workers === 'number' && Number.isSafeInteger(workers) && workers >= 1)) {
      throw new LeptonError('INVALID_ARGUMENT', `SurveillancePipeline.create: options.detector.workers must be an integer ≥ 1, got ${describeValue(workers)} (use an ObjectDetector from ObjectDetector.load()).`);
    }
    if (options.maxFrames !== undefined && !(Number.isInteger(options.maxFrames) && options.maxFrames >= 1)) {
      throw new LeptonError('INVALID_ARGUMENT', `SurveillancePipeline.create: maxFrames must be an integer ≥ 1, got ${describeValue(options.maxFrames)}.`);
    }
    // Checked again here, whatever built it: a hand-made object from JavaScript, or a parsed one edited since. Class
    // names are checked against the detector actually used when one is passed (it may be your own model).
    config = parseConfig(config, options.detector === undefined ? {} : { classes: options.detector.classes });
    // Per-camera thresholds are applied after detection (the detector uses the lowest threshold of each class).
    const detector = options.detector ?? (await ObjectDetector.load(detectorOptionsFromConfig(config)));
    const faces = config.privacy.blurFaces ? (options.faces ?? (await FaceDetector.load())) : options.faces;
    const publisher = options.publisher ?? (config.mqtt === undefined ? undefined : await connectPublisher(config.mqtt));
    return new SurveillancePipeline(
      config,
      options,
      { value: detector, owned: options.detector === undefined },
      { value: faces, owned: options.faces === undefined && faces !== undefined },
      { value: publisher, owned: options.publisher === undefined && publisher !== undefined },
    );
  }

  /**
   * The typed event stream: every event of every camera raised from this call on, in the order raised; it ends when
   * the run ends. Each call is a reader of its own (every reader gets every event); a reader that stops (`break` out
   * of `for await`, or `return()`) is detached and nothing more is kept for it. A reader more than
   * {@link SurveillancePipeline.STREAM_CAPACITY} events behind loses the oldest: they are counted in the report's
   * `streamDropped` and never hold up the cameras. Events raised while no reader is attached are not kept.
   *
   * @returns the stream
   */
  events(): AsyncIterableIterator<SurveillanceEvent> {
    const q: AsyncQueue<SurveillanceEvent> = new AsyncQueue<SurveillanceEvent>({
      capacity: SurveillancePipeline.STREAM_CAPACITY,
      onReturn: () => {
        this.#streamDropped += q.dropped;
        this.#streams.delete(q);
      },
    });
    if (this.#runState === 'done') q.end();
    else this.#streams.add(q);
    return q;
  }

  /** Most events kept for one reader of {@link SurveillancePipeline.events} that does not keep up (10,000). */
  static readonly STREAM_CAPACITY = 10_000;

  #endStreams(): void {
    this.#runState = 'done';
    for (const q of this.#streams) {
      this.#streamDropped += q.dropped;
      q.end();
    }
    this.#streams.clear();
  }

  /**
   * The counters of every camera that has started, as they are now (a copy; frames, detections, events, line and zone
   * counts, the video source's counters, reconnects, and the error of a camera that failed). For health checks and
   * metrics while {@link run} is running.
   *
   * @returns one report per started camera, in configuration order
   */
  cameraReports(): CameraReport[] {
    const out: CameraReport[] = [];
    for (const cam of this.#config.cameras) {
      const r = this.#reports.get(cam.name);
      if (r === undefined) continue;
      const source = this.#sources.get(cam.name);
      out.push({ ...r, events: { ...r.events }, counts: this.#rules.counts(cam.name), source: source?.stats ?? r.source, clipErrors: [...r.clipErrors] });
    }
    return out;
  }

  /** Stops every camera after its current frame; {@link run} then resolves. */
  stop(): void {
    this.#stopped = true;
    for (const s of this.#sources.values()) void s.close();
  }

  /**
   * Runs every camera until its source ends (files), {@link stop} is called, or `maxFrames` is reached; resolves with
   * the report once snapshots, clips and annotated videos are written. Resources the pipeline loaded are released
   * once every camera has stopped. A camera that fails, for whatever reason, is reported in its {@link CameraReport}
   * and never stops the others.
   *
   * @returns the report
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when called a second time (a pipeline runs once:
   *   its rule state, streams and owned detector belong to that run; create another)
   */
  async run(): Promise<PipelineReport> {
    if (this.#runState !== 'idle') {
      throw new LeptonError('INVALID_ARGUMENT', 'SurveillancePipeline.run: this pipeline has already run (or is running); create a new one with SurveillancePipeline.create().');
    }
    this.#runState = 'running';
    const t0 = performance.now();
    const batcher = new DetectBatcher(this.#detector, this.#config.detector.batchSize, this.#config.cameras.length);
    let events = 0;
    try {
      await mkdir(this.#config.output.dir, { recursive: true }).catch((err: unknown) => {
        throw new LeptonError('VIDEO_WRITE_FAILED', `SurveillancePipeline.run: cannot create the output folder: ${err instanceof Error ? err.message : describeValue(err)}`);
      });
      // Every camera settles (a camera's own failure is in its report): resources are released only after all stopped.
      const settled = await Promise.allSettled(
        this.#config.cameras.map((cam) =>
          this.#runCameraSafely(cam, batcher, () => events++).finally(() => batcher.cameraStopped()),
        ),
      );
      const reports = settled.map((r, i) => (r.status === 'fulfilled' ? r.value : this.#failedReport(this.#config.cameras[i]!, r.reason)));
      // Messages still unacknowledged after the wait are counted as failed (mqtt.js may still deliver them).
      const unsent = await this.#publishing.drain(PUBLISH_DRAIN_MS);
      const mqtt = { published: this.#mqtt.published, failed: this.#mqtt.failed + unsent };
      this.#endStreams();
      return { cameras: reports, events, seconds: (performance.now() - t0) / 1000, forwardPasses: batcher.passes, mqtt, streamDropped: this.#streamDropped };
    } finally {
      this.#endStreams();
      if (this.#ownsDetector) await this.#detector.close();
      if (this.#ownsFaces) this.#faces?.dispose();
      if (this.#ownsPublisher) await settleWithin(this.#publisher?.close() ?? Promise.resolve(), PUBLISH_DRAIN_MS);
    }
  }

  /** A camera's report before its first frame. */
  #emptyReport(camera: string, source: CameraReport['source']): CameraReport {
    return {
      camera,
      frames: 0,
      detectedFrames: 0,
      skippedByMotion: 0,
      detections: 0,
      tracks: 0,
      events: {},
      counts: this.#rules.counts(camera),
      source,
      reconnects: 0,
      facesBlurred: 0,
      clipErrors: [],
      hookErrors: 0,
    };
  }

  /** The camera's report with the error that stopped it: typed as is, anything else as `CAMERA_FAILED`. */
  #failedReport(cam: CameraConfig, err: unknown): CameraReport {
    const report: CameraReport =
      this.#reports.get(cam.name) ??
      this.#emptyReport(cam.name, { produced: 0, delivered: 0, dropped: 0, queued: 0, maxQueued: 0, restarts: 0, errors: 0, bytesRead: 0, partialBytesDiscarded: 0 });
    report.error ??= cameraError(err);
    return report;
  }

  /** {@link runCamera}, never rejecting: whatever stops the camera ends up in its report. */
  async #runCameraSafely(cam: CameraConfig, batcher: DetectBatcher, countEvent: () => void): Promise<CameraReport> {
    try {
      return await this.#runCamera(cam, batcher, countEvent);
    } catch (err) {
      const report = this.#failedReport(cam, err);
      const source = this.#sources.get(cam.name);
      if (source !== undefined) {
        await source.close().catch(() => undefined);
        report.source = source.stats;
      }
      report.counts = this.#rules.counts(cam.name);
      try {
        this.#options.onCameraEnd?.(report);
      } catch {
        report.hookErrors++;
      }
      return report;
    }
  }

  async #runCamera(cam: CameraConfig, batcher: DetectBatcher, countEvent: () => void): Promise<CameraReport> {
    const out = this.#config.output;
    const dir = join(out.dir, cam.name);
    await mkdir(dir, { recursive: true });
    const source = new VideoSource({
      camera: cam.name,
      input: cam.input,
      fps: cam.fps,
      width: cam.width,
      height: cam.height,
      ...(cam.hwaccel === undefined ? {} : { hwaccel: cam.hwaccel }),
      ...(cam.realtime === undefined ? {} : { realtime: cam.realtime }),
      ...(cam.inputOptions === undefined ? {} : { inputOptions: cam.inputOptions }),
      ...(cam.record === undefined ? {} : { record: { input: cam.record } }),
      // A file read as fast as the pipeline goes must not lose frames to the drop policy: pause ffmpeg instead.
      ...(isFile(cam.input) && cam.realtime !== true ? { queue: { policy: 'block' as const } } : {}),
      ...this.#options.sources?.[cam.name],
    });
    this.#sources.set(cam.name, source);
    source.on('reconnected', () => report.reconnects++);
    source.on('error', () => undefined); // the iterator throws the same typed error; handled below
    const motion = cam.motion.enabled
      ? new MotionDetector({
          targetWidth: Math.min(160, cam.width),
          masks: cam.motion.masks,
          ...(cam.motion.threshold === undefined ? {} : { threshold: cam.motion.threshold }),
          ...(cam.motion.minArea === undefined ? {} : { minArea: cam.motion.minArea }),
        })
      : undefined;
    const tracker = new SortTracker(cam.tracker);
    // Per class, this camera's own threshold, else the configured detector's; a detector passed in by the caller is
    // taken at its word (everything it reports passes unless the camera sets a threshold).
    const ownDetector = this.#options.detector === undefined;
    const floors = new Map<string, number>();
    const floor = (label: string): number => {
      let t = floors.get(label);
      if (t === undefined) floors.set(label, (t = ownDetector ? cameraThreshold(this.#config, cam, label) : (ownValue(cam.thresholds, label) ?? 0)));
      return t;
    };
    const clipSpec = out.clips;
    // Clips from the recording when it is a file and faces need not be blurred; otherwise from frames kept in memory.
    const clipInput = cam.record ?? cam.input;
    const clipFromFile = clipSpec !== null && isFile(clipInput) && !this.#config.privacy.blurFaces;
    // It holds max(before, after) seconds: a clip's "after" frames are bounded by what the ring can hold.
    const ring = clipSpec !== null && !clipFromFile ? new FrameRing({ seconds: Math.max(clipSpec.before, clipSpec.after, 1 / cam.fps), fps: cam.fps }) : undefined;
    // The annotated video's encoder starts with the first frame: a camera that fails before it (a missing file, an
    // audio-only input, an unreachable stream) must leave no video behind — ffmpeg closed without a frame writes an
    // MP4 without a video stream, which the report would list as the camera's video.
    let writer: VideoWriter | undefined;
    const openWriter = (): VideoWriter => (writer ??= new VideoWriter({ output: join(dir, `${cam.name}-annotated.mp4`), width: cam.width, height: cam.height, fps: cam.fps }));
    const report = this.#emptyReport(cam.name, source.stats);
    this.#reports.set(cam.name, report);
    const confirmed = new Set<number>();
    // Clips still being written; each removes itself once settled, so a long run keeps none of the finished ones.
    const pendingClips = new Set<Promise<boolean>>();
    let lastTracks: Track[] = [];
    let lastDetectFrame = 0;
    // Frames of this camera in detection at once: one per detector worker, so a single camera keeps every worker busy.
    // Motion gating and the stationary-track refresh decide from the tracks as of the last processed frame; with one
    // worker that is the previous frame, exactly as a sequential loop.
    const depth = this.#detector.workers;
    const inFlight: Array<{ frame: Frame; detected: boolean; pending: Promise<Detection[]> | undefined }> = [];
    const processFrame = async ({ frame, detected, pending }: { frame: Frame; detected: boolean; pending: Promise<Detection[]> | undefined }): Promise<void> => {
      let detections: Detection[] = [];
      if (pending !== undefined) {
        detections = (await pending).filter((d) => d.score >= floor(d.label));
        report.detectedFrames++;
        report.detections += detections.length;
      } else report.skippedByMotion++;
      const tracks = detected ? tracker.update(detections) : lastTracks;
      lastTracks = tracks;
      for (const t of tracks) if (t.confirmed) confirmed.add(t.id);
      const ruleEvents = this.#rules.process(cam.name, frame.time, tracks.filter((t) => t.confirmed));
      if (this.#faces !== undefined && this.#config.privacy.blurFaces && detections.some((d) => d.label === 'person')) {
        const [faces] = await this.#faces.detect([frame]);
        report.facesBlurred += faces!.length;
        blurRegions(frame, faces!.map((f) => f.box));
      }
      ring?.push(copyFrame(frame));
      for (const e of ruleEvents) {
        const id = eventId(cam.name, frame.wallTime);
        report.events[e.kind] = (report.events[e.kind] ?? 0) + 1;
        countEvent();
        const event: SurveillanceEvent = { id, rule: e, frame: frame.index, wallTime: frame.wallTime };
        const box = eventBox(e);
        const evidence = out.evidence.includes(e.kind);
        let jpeg: Uint8Array | undefined;
        if (out.snapshots && evidence) {
          jpeg = snapshot(frame, box, { label: eventLabel(e) });
          const file = join(dir, `${id}-${e.kind}.jpg`);
          try {
            await writeFile(file, jpeg);
            event.snapshot = file;
          } catch (err) {
            // One event's evidence: recorded, and the event goes out without it.
            report.clipErrors.push(`${file}: ${err instanceof Error ? err.message.split('\n')[0] : describeValue(err)}`);
          }
        }
        if (clipSpec !== null && evidence) {
          const start = Math.max(0, e.time - clipSpec.before);
          const end = e.time + clipSpec.after;
          const path = join(dir, `${id}-${e.kind}.mp4`);
          const fail = (err: unknown): boolean => {
            report.clipErrors.push(`${path}: ${err instanceof Error ? err.message.split('\n')[0] : describeValue(err)}`);
            return false;
          };
          const ready = clipFromFile
            ? cutClip({ input: clipInput, start, end, output: path }).then(() => true, fail)
            : ring!.clipAround(e.time, clipSpec.before, clipSpec.after, path, { timeoutMs: (clipSpec.after + 30) * 1000 }).then(() => true, fail);
          pendingClips.add(ready);
          void ready.then(() => pendingClips.delete(ready));
          event.clip = { path, start, end, from: clipFromFile ? 'file' : 'ring', ready };
        }
        if (this.#publisher !== undefined) {
          const publisher = this.#publisher;
          const prefix = this.#config.mqtt?.topicPrefix ?? 'lepton/surveillance';
          const image = jpeg;
          const queued = this.#publishing.push(() =>
            publishEvent(publisher, prefix, event, image).then(
              (n) => void (this.#mqtt.published += n),
              () => void this.#mqtt.failed++,
            ),
          );
          if (!queued) this.#mqtt.failed++;
        }
        for (const q of this.#streams) q.push(event);
      }
      if (out.annotatedVideo || this.#options.onFrame !== undefined) {
        const now = this.#rules.counts(cam.name); // once per frame, not once per zone
        const zones = cam.zones.map((z) => ({ name: z.name, polygon: z.polygon, active: (now.zones[z.name]?.occupancy ?? 0) > 0 }));
        const counts = now.lines;
        const lines = cam.lines.map((l) => {
          const byClass = Object.entries(counts[l.name] ?? {}).map(([label, c]) => `${label} ${c.aToB}/${c.bToA}`);
          return { name: l.name, from: l.from, to: l.to, counts: byClass.join(' ') };
        });
        const shown = out.annotatedVideo ? annotateFrame(frame, { tracks: tracks.filter((t) => t.confirmed), zones, lines, camera: cam.name, timestamp: `${frame.time.toFixed(1)} s`, copy: true }) : frame;
        if (out.annotatedVideo) await openWriter().write(shown);
        try {
          this.#options.onFrame?.({ camera: cam.name, frame: shown, original: frame, detected, detections, tracks: tracks.filter((t) => t.confirmed), events: ruleEvents });
        } catch (err) {
          report.hookErrors++;
          report.hookError ??= err instanceof Error ? err.message : describeValue(err);
        }
      }
    };
    try {
      for await (const raw of source) {
        // One turn of the event loop per frame. When frames are already queued, the loop would otherwise go from frame
        // to frame on promise continuations alone (microtasks), and timers, sockets and signals would wait for the
        // queue to drain: a service's HTTP API, MQTT keep-alives and SIGTERM were answered 15–20 s late.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.#stopped) break;
        const frame = raw;
        report.frames++;
        // While the background is being built (warm-up) or after a scene change, motion cannot tell: detect.
        const m = motion?.update(frame);
        const moving = m === undefined || m.motion || m.warmingUp || m.sceneChange;
        // Tracks that still move (or are not confirmed yet) need the detector every frame; tracks that stand still
        // (a parked car, a person waiting) only need a refresh once per `STATIONARY_REFRESH_SECONDS`, so a static
        // scene with parked vehicles costs almost nothing while a loiterer stays tracked.
        const live = tracker.allTracks();
        const active = live.some((t) => !t.confirmed || Math.hypot(t.velocity[0], t.velocity[1]) > STATIONARY_SPEED);
        const refresh = live.length > 0 && report.frames - lastDetectFrame >= Math.max(1, Math.round(STATIONARY_REFRESH_SECONDS * cam.fps));
        const detected = moving || active || refresh;
        if (detected) lastDetectFrame = report.frames;
        const pending = detected ? batcher.detect(frame) : undefined;
        pending?.catch(() => undefined); // awaited in order below; never an unhandled rejection meanwhile
        inFlight.push({ frame, detected, pending });
        if (inFlight.length >= depth) await processFrame(inFlight.shift()!);
        if (this.#options.maxFrames !== undefined && report.frames >= this.#options.maxFrames) break;
      }
      while (inFlight.length > 0) await processFrame(inFlight.shift()!);
    } catch (err) {
      report.error = cameraError(err);
    } finally {
      await source.close();
      ring?.close?.();
    }
    const annotated = writer;
    if (annotated !== undefined && annotated.framesWritten > 0) {
      try {
        report.annotatedVideo = (await annotated.close()).output;
      } catch (err) {
        report.clipErrors.push(`annotated video: ${err instanceof LeptonError ? err.message : describeValue(err)}`);
      }
    } else {
      await annotated?.abort(); // removes whatever the encoder had started
    }
    // A camera that produced nothing leaves no empty folder either (rmdir only removes an empty one).
    if (report.frames === 0) await rmdir(dir).catch(() => undefined);
    await Promise.all(pendingClips);
    report.tracks = confirmed.size;
    report.counts = this.#rules.counts(cam.name);
    report.source = source.stats;
    try {
      this.#options.onCameraEnd?.(report);
    } catch (err) {
      report.hookErrors++;
      report.hookError ??= err instanceof Error ? err.message : describeValue(err);
    }
    return report;
  }
}
