/**
 * Video surveillance recognition, on `@lepton/core`: video in through ffmpeg ({@link VideoSource}), motion
 * gating ({@link MotionDetector}), pretrained object and face detection ({@link ObjectDetector}, {@link FaceDetector}),
 * tracking ({@link SortTracker}), zones and tripwires ({@link RuleEngine}), the whole camera pipeline
 * ({@link SurveillancePipeline}) and a service with events, snapshots and clips ({@link SurveillanceService}), and
 * annotated video out ({@link VideoWriter}, {@link cutClip}). Error codes: {@link SurveillanceErrorCode}.
 *
 * Quick starts and guides: the package's [README](../README.md).
 *
 * @document ../README.md
 * @packageDocumentation
 */

export { LeptonError, isLeptonError, initRuntime, runtimeInfo, seededRandom, tf } from '@lepton/core';
export type { LeptonErrorCode } from '@lepton/core';
export { SURVEILLANCE_ERROR_CODES } from './errors.js';

export type { Point, Polygon, Box, Frame, Detection, Track, SurveillanceErrorCode } from './types.js';

export { parseConfig, loadConfig } from './config/config.js';
export { cameraThreshold, detectorOptionsFromConfig } from './config/detector-options.js';
export type {
  SurveillanceConfig,
  CameraConfig,
  ZoneConfig,
  LineConfig,
  MotionConfig,
  TrackerConfig,
  DetectorConfig,
  DetectorModelConfig,
  PrivacyConfig,
  MqttConfig,
  ClipConfig,
  OutputConfig,
  ParseConfigOptions,
  ConfigIssue,
} from './config/config.js';
export type { ApiConfig, RecordingConfig, EventsConfig } from './config/service-schema.js';
export { resolveServiceConfig, isLoopbackHost, TOKEN_ENV } from './config/service.js';
export type { ResolvedServiceConfig, ResolveServiceOptions } from './config/service.js';
export { parseShard, shardOf, parseSelector, selectCameras, MAX_SHARDS } from './config/shard.js';
export type { Shard, CameraSelection } from './config/shard.js';

// tracking: optimal assignment, SORT's Kalman box filter, the SORT tracker
export { linearSumAssignment } from './track/hungarian.js';
export type { Assignment, AssignmentOptions } from './track/hungarian.js';
export { KalmanBoxFilter } from './track/kalman.js';
export { SortTracker, resolveSortTrackerOptions } from './track/sort.js';
export type { SortTrackerOptions, ResolvedSortTrackerOptions, TrackerStats } from './track/sort.js';

// rules: geometry, zones, tripwires and the rule engine
export { anchorPoint, boxIou, sideOfLine, segmentsIntersect, pointInPolygon, distanceToPolygonEdge, distanceToSegment } from './rules/geometry.js';
export type { Anchor } from './rules/geometry.js';
export { DEFAULT_CROWD_CLASSES } from './rules/zones.js';
export type { ZoneRule } from './rules/zones.js';
export type { TripwireRule, CrossingDirection } from './rules/lines.js';
export { RuleEngine } from './rules/engine.js';
export type {
  RuleEngineOptions,
  CameraRules,
  HysteresisOptions,
  TrackRef,
  RuleEventBase,
  ZoneEnterEvent,
  ZoneExitEvent,
  LoiteringEvent,
  IntrusionEvent,
  LineCrossEvent,
  CrowdEvent,
  RuleEvent,
  LineCount,
  ZoneCount,
  RuleCounts,
} from './rules/engine.js';

// video in/out through ffmpeg
export { resolveFfmpeg, ffmpegEncoders, ffmpegHwaccels, pickVideoEncoder } from './video/ffmpeg.js';
export type { FfmpegOrigin, FfmpegBinary, ResolveFfmpegOptions } from './video/ffmpeg.js';
export { spawnFfmpeg, decodeArgs } from './video/spawn.js';
export type { FfmpegExit, FfmpegProcess, SpawnFfmpegOptions, DecodeSpec } from './video/spawn.js';
export { encodeArgs, cutArgs } from './video/commands.js';
export type { EncodeSpec, CutSpec } from './video/commands.js';
export { VideoSource } from './video/source.js';
export type {
  DropPolicy,
  FrameQueueOptions,
  ReconnectOptions,
  RecordStreamOptions,
  VideoSourceOptions,
  VideoSourceStats,
  ReconnectingEvent,
  ReconnectedEvent,
  StalledEvent,
  EndEvent,
  HwaccelFallbackEvent,
  VideoSourceEvents,
} from './video/source.js';
export { VideoWriter } from './video/writer.js';
export type { VideoWriterOptions, VideoWriterResult } from './video/writer.js';
export { cutClip } from './video/cut.js';
export type { CutClipOptions, CutClipResult } from './video/cut.js';
export { FrameRing } from './video/clip.js';
export type { FrameRingOptions, ClipAroundOptions, ClipInfo } from './video/clip.js';

// motion gating
export { MotionDetector } from './motion/motion.js';
export type { MotionOptions, MotionResult } from './motion/motion.js';
export { binaryErode, binaryDilate, labelComponents } from './motion/morphology.js';
export type { BinaryMask, ComponentLabels } from './motion/morphology.js';

// drawing, annotation and snapshots
export { fillRect, drawRect, drawLine, drawPolygon, fillPolygon, drawText, MAX_LINE_THICKNESS } from './draw/raster.js';
export type { Rgb, RgbImage } from './draw/raster.js';
export { glyphRows, hasGlyph, measureText, FONT_ADVANCE, FONT_HEIGHT, FONT_LINE_GAP, FALLBACK } from './draw/font.js';
export type { TextSize } from './draw/font.js';
export { annotateFrame, drawAnnotations, drawLabel, classColor } from './draw/annotate.js';
export type { AnnotateOptions, AnnotationReport, AnnotationColors, ZoneOverlay, LineOverlay, LabelOptions } from './draw/annotate.js';
export { encodeJpeg, snapshot } from './draw/jpeg.js';
export type { SnapshotOptions } from './draw/jpeg.js';
export { usesLegacyVsync } from './video/ffmpeg.js';

// pretrained detection: COCO objects, faces, privacy blurring
export { BUILT_IN_DECODERS, ObjectDetector, resolveDetectorOptions } from './detect/detector.js';
export type {
  ObjectDetectorOptions,
  ResolvedDetectorOptions,
  CustomDetectorModel,
  ShippedDetectorModel,
  InputLayout,
  DetectorStats,
  BuiltInDecoder,
} from './detect/detector.js';
export type { DetectorEngine } from './detect/engine.js';
export { decodeCenterNet, decodeNanoDet, decodeYolo, decodeYoloV5, decodeYoloV8 } from './detect/decode.js';
export type { DecodeFunction, DecodeContext, RawDetection } from './detect/decode.js';
export { COCO_LABELS, DEFAULT_DETECTION_CLASSES } from './detect/coco.js';
export { nonMaxSuppression } from './detect/nms.js';
export { loadLocalGraphModel, localModelHandler, shippedModelPath } from './detect/model-io.js';
export type { LocalModelOptions } from './detect/model-io.js';
export type { ResizeMode, InputPlacement } from './detect/letterbox.js';
export { FaceDetector } from './detect/faces.js';
export type { FaceDetectorOptions } from './detect/faces.js';
export { blurRegions } from './detect/blur.js';
export type { BlurOptions, BlurMethod } from './detect/blur.js';
// the pipeline: cameras → motion → batched detection → tracking → rules → events, snapshots, clips, MQTT, annotated video
export { SurveillancePipeline } from './pipeline/pipeline.js';
export type { SurveillanceEvent, EventClip, CameraReport, CameraError, MqttCounts, PipelineReport, FrameInfo, PipelineOptions } from './pipeline/pipeline.js';
export { connectPublisher } from './pipeline/mqtt.js';
export type { EventPublisher, PublishOptions, ConnectPublisherOptions } from './pipeline/mqtt.js';

// the service: object event lifecycle, event store, HTTP API, recording with retention, metrics, probes
export { SurveillanceService } from './service/service.js';
export type { ServiceOptions, ServiceReport } from './service/service.js';
export type { ServiceHealth, CameraHealth } from './service/health.js';
export { ObjectLifecycle, MAX_OBJECT_RULES } from './service/lifecycle.js';
export type { TrackedObject, ObjectEvent, ObjectRuleHit, ObjectEndReason, ObjectLifecycleOptions, ObjectLifecycleOutput } from './service/lifecycle.js';
export { EventStore } from './service/store.js';
export type { EventFilter, StoredEvent, EventStoreOptions } from './service/store.js';
export type { ApiEvent } from './service/api.js';
export { Recorder } from './service/recorder.js';
export type { RecorderOptions, RecorderStats, RecorderEvents, RecorderReconnectingEvent } from './service/recorder.js';
export { enforceRetention, listSegments } from './service/segments.js';
export type { RecordedSegment, RetentionOptions, RetentionResult } from './service/segments.js';
export { cutRecordingClip } from './service/clips.js';
export type { RecordingClipOptions, RecordingClip } from './service/clips.js';
export { renderMetrics } from './service/metrics.js';
export type { MetricFamily, MetricSample } from './service/metrics.js';
export { probeSource } from './service/probe.js';
export type { ProbeOptions, ProbeResult } from './service/probe.js';
