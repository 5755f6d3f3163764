import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { COCO_LABELS, DEFAULT_DETECTION_CLASSES } from '../detect/coco.js';
import { doublePolygonArea, selfIntersects } from '../rules/geometry.js';
import { surveillanceError } from '../types.js';
import { rememberCredentials } from '../video/redact.js';
import type { Point, Polygon } from '../types.js';
import { apiSchema, eventsSchema, labelsSchema, recordingSchema, type ApiConfig, type EventsConfig, type RecordingConfig } from './service-schema.js';

/** The kinds of rule events. */
const EVENT_KINDS = ['zone-enter', 'zone-exit', 'loitering', 'intrusion', 'line-cross', 'crowd'] as const;
/** Kinds that get a snapshot and a clip unless configured otherwise: the alarms and counts, not every zone entry/exit. */
const DEFAULT_EVIDENCE = ['line-cross', 'loitering', 'intrusion', 'crowd'] as const;

/** Largest configuration file read (a camera list is a few kilobytes; this only stops a wrong path from filling memory). */
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
/** Longest clip before or after an event, seconds. */
const MAX_CLIP_SECONDS = 600;
/** What `detector.tiles` takes, as its problem message says. */
const TILES = 'an integer from 1 (off) to 4, or auto';

const point = z.tuple([z.number().finite(), z.number().finite()]);
// A polygon with no area (repeated or collinear points) contains no point: its zone could never fire.
const polygon = z
  .array(point)
  .min(3, 'needs at least 3 points')
  .refine((pts) => pts.length < 3 || doublePolygonArea(pts) !== 0, 'has no area (its points are repeated or on one line)');
const classes = z.array(z.string().min(1)).min(1).optional();
const thresholds = z.record(z.string(), z.number().min(0).max(1)).optional();

/** Longest camera, zone or line name: event ids (`<camera>-<ULID>`), the event store and the API's routes hold it. */
const MAX_NAME = 64;

const zoneSchema = z.strictObject({
  name: z.string().min(1).max(MAX_NAME, `at most ${MAX_NAME} characters`),
  // A zone's edges must not cross (the rule engine refuses a bowtie: which side is inside would be ambiguous).
  polygon: polygon.refine((pts) => pts.length < 3 || !selfIntersects(pts), 'its edges cross each other (a self-intersecting polygon); list the points in order around the zone'),
  classes,
  crowdClasses: classes,
  loiterSeconds: z.number().positive().optional(),
  restricted: z.boolean().optional(),
  crowdThreshold: z.number().int().positive().optional(),
});

const lineSchema = z.strictObject({
  name: z.string().min(1).max(MAX_NAME, `at most ${MAX_NAME} characters`),
  from: point,
  to: point,
  direction: z.enum(['a-to-b', 'b-to-a', 'both']).optional(),
  classes,
});

const cameraSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "-" and "." only (it names files and MQTT topics)')
    .max(MAX_NAME, `at most ${MAX_NAME} characters (it starts every event id)`)
    .refine((n) => !/^\.+$/.test(n), 'must not be only dots (it names a folder of the output directory)'),
  input: z.string().min(1),
  record: z.string().min(1).optional(),
  fps: z.number().positive().max(120).default(10),
  width: z.number().int().positive().max(7680).default(640),
  height: z.number().int().positive().max(4320).default(360),
  hwaccel: z.string().min(1).optional(),
  realtime: z.boolean().optional(),
  inputOptions: z.array(z.string()).optional(),
  motion: z
    .strictObject({
      enabled: z.boolean().default(true),
      threshold: z.number().positive().max(255).optional(),
      minArea: z.number().nonnegative().optional(),
      masks: z.array(polygon).default([]),
    })
    .default({ enabled: true, masks: [] }),
  tracker: z
    .strictObject({
      minHits: z.number().int().positive().optional(),
      maxMisses: z.number().int().positive().optional(),
      iouThreshold: z.number().min(0).max(1).optional(),
    })
    .default({}),
  thresholds,
  zones: z.array(zoneSchema).default([]),
  lines: z.array(lineSchema).default([]),
  labels: labelsSchema,
  recording: z.boolean().optional(),
});

const finite = z.number().finite();
const customModelSchema = z.strictObject({
  // A local file: a URL would pass the path resolution unchanged and then be read relative to the working folder.
  path: z
    .string()
    .min(1)
    .refine((p) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(p), 'a local path to model.json (URLs are not read: nothing is downloaded)'),
  labels: z.array(z.string().min(1).max(100)).min(1).max(1000),
  decode: z.enum(['centernet', 'nanodet', 'yolov5', 'yolov8']),
  outputs: z.array(z.string().min(1).max(200)).min(1).max(16).optional(),
  inputSize: z.union([z.number().int().min(16).max(4096), z.tuple([z.number().int().min(16).max(4096), z.number().int().min(16).max(4096)])]).optional(),
  layout: z.enum(['nhwc', 'nchw']).optional(),
  inputScale: finite.positive().optional(),
  inputOffset: finite.optional(),
});

const configSchema = z.strictObject({
  detector: z
    .strictObject({
      model: z.union([z.enum(['centernet', 'nanodet']), customModelSchema]).default('centernet'),
      classes,
      thresholds,
      iouThreshold: z.number().min(0).max(1).optional(),
      batchSize: z.number().int().positive().max(64).default(8),
      workers: z.union([z.number().int().min(1).max(256), z.literal('auto')]).default(1),
      engine: z.enum(['tfjs', 'onnx', 'auto']).optional(),
      tiles: z
        .union([z.literal('auto'), z.number().int(TILES).min(1, TILES).max(4, TILES)], { error: TILES })
        .optional(),
      flip: z.boolean().optional(),
    })
    .default({ model: 'centernet', batchSize: 8, workers: 1 }),
  privacy: z.strictObject({ blurFaces: z.boolean().default(false) }).default({ blurFaces: false }),
  mqtt: z
    .strictObject({
      url: z
        .string()
        .regex(/^(mqtts?|wss?|tcp):\/\//, 'an mqtt://, mqtts://, ws:// or wss:// URL')
        .refine((u) => URL.canParse(u), 'not a valid URL (host or port out of range)'),
      // MQTT forbids wildcards in a topic that is published to: every publish would be refused by the broker.
      topicPrefix: z
        .string()
        .min(1)
        .refine((t) => !/[+#\u0000]/.test(t), 'must not hold the MQTT wildcards + or #')
        .default('lepton/surveillance'),
      username: z.string().optional(),
      password: z.string().optional(),
    })
    .optional(),
  output: z
    .strictObject({
      dir: z.string().min(1).default('out'),
      snapshots: z.boolean().default(true),
      // Bounded: a live camera keeps `before` seconds of frames in memory for its clips.
      clips: z
        .strictObject({ before: z.number().nonnegative().max(MAX_CLIP_SECONDS).default(3), after: z.number().nonnegative().max(MAX_CLIP_SECONDS).default(3) })
        .nullable()
        .default({ before: 3, after: 3 }),
      annotatedVideo: z.boolean().default(true),
      evidence: z.array(z.enum(EVENT_KINDS)).default([...DEFAULT_EVIDENCE]),
    })
    .default({ dir: 'out', snapshots: true, clips: { before: 3, after: 3 }, annotatedVideo: true, evidence: [...DEFAULT_EVIDENCE] }),
  cameras: z.array(cameraSchema).min(1, 'needs at least one camera'),
  api: apiSchema,
  recording: recordingSchema,
  events: eventsSchema,
});

/** A zone of a camera: a polygon in the camera's detect-stream pixels, with its rules. */
export interface ZoneConfig {
  /** Name, unique within the camera (events and counts use it). */
  name: string;
  /** Polygon (≥ 3 points) in pixels of the detect stream (`width` × `height`). */
  polygon: Polygon;
  /** Classes the zone watches (default: every class the detector reports). */
  classes?: string[];
  /**
   * Classes counted towards `crowdThreshold` (default: the zone's `classes` when it lists them, else `['person']`, so
   * a pickup or a parked car in a queue zone never makes a crowd).
   */
  crowdClasses?: string[];
  /** Raise `loitering` when a track stays this many seconds inside. */
  loiterSeconds?: number;
  /** Raise `intrusion` whenever a watched track enters. */
  restricted?: boolean;
  /** Raise `crowd` when this many tracks of `crowdClasses` (default: people) are inside at once. */
  crowdThreshold?: number;
}

/** A tripwire of a camera: a segment in detect-stream pixels, counted per class and direction. */
export interface LineConfig {
  /** Name, unique within the camera. */
  name: string;
  /** First end (point A). */
  from: Point;
  /** Second end (point B). */
  to: Point;
  /** Which crossings raise events: 'a-to-b', 'b-to-a' or 'both' (default). Both directions are always counted. */
  direction?: 'a-to-b' | 'b-to-a' | 'both';
  /** Classes the line counts (default: every class the detector reports). */
  classes?: string[];
}

/** Motion gating of one camera. */
export interface MotionConfig {
  /** Run the detector only on frames with motion (default true). */
  enabled: boolean;
  /** Grey-level difference that counts as change (default: the motion detector's). */
  threshold?: number;
  /** Smallest moving area, in detect-stream pixels, that counts (default: the motion detector's). */
  minArea?: number;
  /** Polygons (detect-stream pixels) where motion is ignored: trees, screens, roads outside the site. */
  masks: Polygon[];
}

/** Tracker settings of one camera (defaults: the tracker's). */
export interface TrackerConfig {
  /** Hits before a track is confirmed. */
  minHits?: number;
  /** Missed frames before a track is deleted. */
  maxMisses?: number;
  /** Smallest IoU for a detection to continue a track. */
  iouThreshold?: number;
}

/** One camera of a {@link SurveillanceConfig}. */
export interface CameraConfig {
  /** Name: letters, digits, `_`, `-`, `.` (used in file names and MQTT topics); unique. */
  name: string;
  /** Detect stream: a file path (relative to the config file), an rtsp:// or http(s):// URL, or a device. */
  input: string;
  /** Full-resolution record stream for clips, as NVRs have (default: the detect stream). */
  record?: string;
  /** Frames per second decoded from the detect stream (default 10). */
  fps: number;
  /** Width the detect stream is scaled to (default 640). */
  width: number;
  /** Height the detect stream is scaled to (default 360). */
  height: number;
  /** ffmpeg `-hwaccel` value ('auto', 'cuda', 'vaapi' …); none by default. */
  hwaccel?: string;
  /** Read a file at its native speed, like a live camera (default false: as fast as the pipeline goes). */
  realtime?: boolean;
  /** Extra ffmpeg input options (e.g. `['-rtsp_transport', 'tcp']`). */
  inputOptions?: string[];
  /** Motion gating. */
  motion: MotionConfig;
  /** Tracker settings. */
  tracker: TrackerConfig;
  /** Per-class confidence thresholds for this camera (over the detector's). */
  thresholds?: Record<string, number>;
  /** Zones. */
  zones: ZoneConfig[];
  /** Tripwires. */
  lines: LineConfig[];
  /**
   * Labels for selecting cameras when the service runs a part of the file (`lepton-surveillance run --selector
   * site=north`), e.g. `{ site: 'north', floor: '2' }`. Keys and values: letters, digits, `_`, `-`, `.`.
   */
  labels?: Record<string, string>;
  /** Whether the service records this camera continuously when `recording` is configured (default true). */
  recording?: boolean;
}

/**
 * Your own detector in a configuration: a TF.js graph model (for instance a YOLO model you trained on your own classes
 * and exported with TensorFlow.js) and how to read it. Becomes `ObjectDetectorOptions.model` (`CustomDetectorModel`).
 */
export interface DetectorModelConfig {
  /** The model's `model.json` (weight files next to it); relative to the configuration file's folder. */
  path: string;
  /** Class names, index = the model's class index (1–1000 names). */
  labels: string[];
  /** Its head: 'centernet', 'nanodet', 'yolov5' (rows of box, objectness, classes) or 'yolov8' (box and classes). */
  decode: 'centernet' | 'nanodet' | 'yolov5' | 'yolov8';
  /** Output node names the decoder reads, in order (default: the model's outputs). */
  outputs?: string[];
  /** Input size, one number (square) or [width, height] (default: the model's own). */
  inputSize?: number | [number, number];
  /** Input layout (default: read from the model). */
  layout?: 'nhwc' | 'nchw';
  /** Multiplier on 0–255 RGB (default 1 for 'centernet', else 1/255). */
  inputScale?: number;
  /** Added after scaling (default 0). */
  inputOffset?: number;
}

/** Detector settings shared by every camera (one model, frames of all cameras batched together). */
export interface DetectorConfig {
  /** Shipped COCO model: 'centernet' (default) or 'nanodet'; or your own TF.js graph model ({@link DetectorModelConfig}). */
  model: 'centernet' | 'nanodet' | DetectorModelConfig;
  /** Classes to report (default: person, bicycle, car, motorcycle, bus, truck). */
  classes?: string[];
  /** Per-class confidence thresholds. */
  thresholds?: Record<string, number>;
  /** Non-maximum suppression IoU. */
  iouThreshold?: number;
  /** Most frames per forward pass (default 8). */
  batchSize: number;
  /**
   * Detector worker threads: 1 (default) runs the detector in the pipeline's thread; 2 or more (or `'auto'`, one per
   * core) run a copy of the model in each worker, batches of frames in parallel, and let each camera keep that many
   * frames in detection at once.
   */
  workers: number | 'auto';
  /**
   * Runtime of the detector's network: `'tfjs'` (default), `'onnx'` (ONNX Runtime's native CPU kernels; needs the
   * optional `onnxruntime-node` package) or `'auto'` (onnx when it loads). See `ObjectDetectorOptions.engine`.
   */
  engine?: 'tfjs' | 'onnx' | 'auto';
  /**
   * Tiled inference, 1 (off, default) to 4, or `auto` (by frame size, tiles never enlarged): each frame is also
   * detected as `tiles × tiles` overlapping crops, for small or distant people; costs `1 + tiles²` forward passes a
   * frame. See `ObjectDetectorOptions.tiles`.
   */
  tiles?: number | 'auto';
  /**
   * Horizontal-flip test-time augmentation (default false): each frame is also detected mirrored and the two merged;
   * costs one more forward pass a frame. See `ObjectDetectorOptions.flip`.
   */
  flip?: boolean;
}

/** Privacy settings. */
export interface PrivacyConfig {
  /** Blur detected faces in every snapshot, clip and annotated video (default false; see the README). */
  blurFaces: boolean;
}

/** MQTT publishing of events. */
export interface MqttConfig {
  /** Broker URL: mqtt://, mqtts://, ws:// or wss://. */
  url: string;
  /** Topic prefix; events go to `<prefix>/<camera>/events/<kind>` (default `lepton/surveillance`). */
  topicPrefix: string;
  /** User name, if the broker needs one. */
  username?: string;
  /** Password, if the broker needs one. */
  password?: string;
}

/** Clip length around an event. */
export interface ClipConfig {
  /** Seconds before the event. */
  before: number;
  /** Seconds after the event. */
  after: number;
}

/** What is written to disk. */
export interface OutputConfig {
  /** Output folder (relative to the config file). */
  dir: string;
  /** Write a JPEG snapshot per event (default true). */
  snapshots: boolean;
  /** Cut a clip per event (default 3 s before and after); `null` for none. */
  clips: ClipConfig | null;
  /** Write one annotated MP4 per camera (default true). */
  annotatedVideo: boolean;
  /**
   * Event kinds that get a snapshot and a clip (default line-cross, loitering, intrusion, crowd; zone-enter and
   * zone-exit are still events on the stream and over MQTT, without files).
   */
  evidence: ('zone-enter' | 'zone-exit' | 'loitering' | 'intrusion' | 'line-cross' | 'crowd')[];
}

/** A validated multi-camera configuration (defaults filled in, relative paths resolved). */
export interface SurveillanceConfig {
  /** Detector settings. */
  detector: DetectorConfig;
  /** Privacy settings. */
  privacy: PrivacyConfig;
  /** MQTT publishing, when configured. */
  mqtt?: MqttConfig;
  /** Output settings. */
  output: OutputConfig;
  /** Cameras, in file order. */
  cameras: CameraConfig[];
  /** The service's HTTP API (`lepton-surveillance run`, {@link SurveillanceService}); ignored by the pipeline. */
  api?: ApiConfig;
  /** The service's continuous recording with retention; ignored by the pipeline. */
  recording?: RecordingConfig;
  /** The service's tracked-object event store; ignored by the pipeline. */
  events?: EventsConfig;
}

/** Where a configuration came from, for resolving relative paths and for error messages. */
export interface ParseConfigOptions {
  /** Folder relative paths are resolved against (default: the current directory). */
  baseDir?: string;
  /** File name for error messages. */
  source?: string;
  /**
   * The classes the detector reports, against which every class name of the document is checked (zone and line
   * `classes`, `crowdClasses`, per-camera and detector `thresholds`). Default: the document's `detector.classes`,
   * else the shipped detector's defaults (person, bicycle, car, motorcycle, bus, truck). Give the `classes` of your
   * own `ObjectDetector` when you pass one to `SurveillancePipeline.create` (which checks this itself).
   */
  classes?: readonly string[];
}

/** One problem of a configuration, as listed in a `CONFIG_INVALID` error's `details.issues`. */
export interface ConfigIssue {
  /** Where: a path into the document such as `cameras[1].zones[0].classes[2]` (`''` for the document itself). */
  path: string;
  /** What is wrong and what would be right, naming the camera when the path is inside one. */
  message: string;
}

type Issue = z.core.$ZodIssue;
type PathKey = string | number;

/** `cameras[1].zones[0].polygon` */
function formatPath(path: readonly PathKey[]): string {
  return path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s === '' ? p : `${s}.${p}`), '');
}

/** "camera 'entrance' (cameras[0]): zones[1].polygon: needs at least 3 points" */
function describe(path: readonly PathKey[], message: string, raw: unknown): ConfigIssue {
  let where = '';
  let rest = path;
  if (path[0] === 'cameras' && typeof path[1] === 'number') {
    const cams = raw !== null && typeof raw === 'object' ? (raw as { cameras?: unknown }).cameras : undefined;
    const cam = Array.isArray(cams) ? (cams[path[1]] as unknown) : undefined;
    const name = cam !== null && typeof cam === 'object' ? (cam as { name?: unknown }).name : undefined;
    // An invalid name is repeated only when it is short, printable and not a URL with credentials (a pasted camera URL).
    const printable = typeof name === 'string' && name.length > 0 && name.length <= 64 && !/[\u0000-\u001f\u007f]/.test(name) && !/\/\/[^/]*@/.test(name);
    const shown = printable ? `'${name}'` : `#${path[1] + 1}`;
    where = `camera ${shown} (cameras[${path[1]}]): `;
    rest = path.slice(2);
  }
  const field = formatPath(rest);
  return { path: formatPath(path), message: `${where}${field === '' ? (where === '' ? 'the document: ' : '') : `${field}: `}${message}` };
}

function describeIssue(issue: Issue, raw: unknown): ConfigIssue {
  const path = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') message = `unknown field(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
  else if (path.length === 0 && issue.code === 'invalid_type') message = "must be a mapping (a YAML or JSON object) with a 'cameras' list";
  return describe(path, message, raw);
}

const resolvePath = (base: string, p: string): string => (/^[a-z][a-z0-9+.-]*:\/\//i.test(p) || p.startsWith('/dev/') || isAbsolute(p) ? p : resolve(base, p));

/** A few of `known` that look like `name` (case or a letter or two apart), for "did you mean". */
function lookalikes(name: string, known: readonly string[]): string[] {
  const n = name.toLowerCase().replace(/[\s_-]+/g, ' ').trim();
  const near = (a: string, b: string): boolean => {
    if (Math.abs(a.length - b.length) > 2) return false;
    // Levenshtein distance ≤ 2, on short class names only.
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const cur = [i];
      for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
    return prev[b.length]! <= 2;
  };
  if (known.includes(n)) return [n];
  return n.length > 40 ? [] : known.filter((k) => near(n, k)).slice(0, 3);
}

/**
 * Checks the class names of a schema-valid document against the classes the detector reports (`reported`) and the
 * shipped models' label map (COCO). A class name nobody reports would make a zone, a line or a threshold silently do
 * nothing; an unknown name in `detector.classes` would only fail later, when the detector loads.
 */
function checkClasses(data: z.infer<typeof configSchema>, options: ParseConfigOptions, issues: ConfigIssue[], raw: unknown): void {
  const custom = options.classes !== undefined;
  // The label map of the model the pipeline loads: COCO for the shipped ones, the configured labels for your own.
  const own = typeof data.detector.model === 'object' ? data.detector.model : undefined;
  const labelMap: readonly string[] = own?.labels ?? COCO_LABELS;
  const defaults = DEFAULT_DETECTION_CLASSES.filter((c) => labelMap.includes(c));
  const reported = options.classes ?? data.detector.classes ?? (defaults.length > 0 ? defaults : [...new Set(labelMap)]);
  const reportedSet = new Set(reported);
  const coco = new Set(labelMap);
  const list = (names: readonly string[]): string => names.join(', ');
  const unknownMessage = (name: string, known: readonly string[], tail: string): string => {
    const like = lookalikes(name, known);
    return `unknown class '${name}'${like.length > 0 ? ` (did you mean ${like.map((l) => `'${l}'`).join(' or ')}?)` : ''}; ${tail}`;
  };
  if (!custom) {
    data.detector.classes?.forEach((c, k) => {
      if (!coco.has(c)) issues.push(describe(['detector', 'classes', k], unknownMessage(c, labelMap, own === undefined ? `the ${String(data.detector.model)} model knows the 80 COCO classes: ${list(COCO_LABELS)}` : `the model's labels are: ${list(labelMap)}`), raw));
    });
  }
  const check = (path: PathKey[], name: string): void => {
    if (reportedSet.has(name)) return;
    if (!custom && coco.has(name)) {
      issues.push(describe(path, `class '${name}' is not reported by the detector (it reports: ${list(reported)}); add it to detector.classes`, raw));
    } else {
      issues.push(describe(path, unknownMessage(name, custom ? reported : labelMap, `known classes (reported by the detector): ${list(reported)}`), raw));
    }
  };
  // The detector's own thresholds only matter when the pipeline loads the shipped model itself.
  if (!custom) for (const c of Object.keys(data.detector.thresholds ?? {})) check(['detector', 'thresholds', c], c);
  data.cameras.forEach((cam, i) => {
    for (const c of Object.keys(cam.thresholds ?? {})) check(['cameras', i, 'thresholds', c], c);
    cam.zones.forEach((zone, k) => {
      zone.classes?.forEach((c, j) => check(['cameras', i, 'zones', k, 'classes', j], c));
      zone.crowdClasses?.forEach((c, j) => check(['cameras', i, 'zones', k, 'crowdClasses', j], c));
      if (zone.crowdThreshold !== undefined && zone.crowdClasses === undefined && zone.classes === undefined && !reportedSet.has('person')) {
        issues.push(describe(['cameras', i, 'zones', k, 'crowdThreshold'], `a crowd counts people unless crowdClasses says otherwise, and the detector does not report 'person' (it reports: ${list(reported)}); set crowdClasses`, raw));
      }
    });
    cam.lines.forEach((line, k) => line.classes?.forEach((c, j) => check(['cameras', i, 'lines', k, 'classes', j], c)));
  });
}

/**
 * Validates a configuration object (as parsed from YAML or JSON), fills in defaults and resolves relative paths.
 * Every problem is reported at once, each naming the camera and the field. Class names (zone and line `classes`,
 * `crowdClasses`, `thresholds`) must be classes the detector reports: a misspelt one (`Person`, `unicorn`) would
 * otherwise make its rule silently count nothing.
 *
 * Any input gives either a valid configuration or this one error: never another exception, never a configuration
 * with NaN, an infinite number or a field of the wrong type.
 *
 * @param raw - the parsed document
 * @param options - base folder, source name, the detector's classes
 * @returns the validated configuration
 * @throws {@link @lepton/core!LeptonError} `CONFIG_INVALID` listing every problem: `details.problems` (messages) and
 *   `details.issues` ({@link ConfigIssue}: `path` and `message`)
 * @example
 * ```ts
 * import { parseConfig } from '@lepton/surveillance';
 * const config = parseConfig({ cameras: [{ name: 'door', input: 'door.mp4', lines: [{ name: 'in', from: [0, 200], to: [640, 200] }] }] });
 * console.log(config.cameras[0].fps); // 10
 * ```
 */
export function parseConfig(raw: unknown, options: ParseConfigOptions = {}): SurveillanceConfig {
  const from = options.source === undefined ? '' : ` in ${options.source}`;
  const fail = (issues: ConfigIssue[]): never => {
    const problems = issues.map((i) => i.message);
    throw surveillanceError('CONFIG_INVALID', `Invalid surveillance configuration${from}:\n- ${problems.join('\n- ')}`, { problems, issues, ...(options.source === undefined ? {} : { source: options.source }) });
  };
  if (options.classes !== undefined && !(Array.isArray(options.classes) && options.classes.every((c) => typeof c === 'string' && c !== ''))) {
    fail([{ path: '', message: 'parseConfig: options.classes must be a list of class names' }]);
  }
  const base = options.baseDir ?? process.cwd();
  let parsed: ReturnType<typeof configSchema.safeParse>;
  try {
    parsed = configSchema.safeParse(raw);
  } catch (cause) {
    // A document zod cannot even walk (a getter that throws, a proxy): still a configuration problem, typed as one.
    throw surveillanceError('CONFIG_INVALID', `Invalid surveillance configuration${from}: the document could not be read as data (${cause instanceof Error ? cause.name : typeof cause}).`, { problems: [], issues: [] }, cause);
  }
  if (!parsed.success) fail(parsed.error.issues.map((i) => describeIssue(i, raw)));
  const data = parsed.data!;
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  data.cameras.forEach((cam, i) => {
    const at = (...path: PathKey[]): PathKey[] => ['cameras', i, ...path];
    if (seen.has(cam.name)) issues.push(describe(at('name'), 'another camera has the same name', raw));
    seen.add(cam.name);
    for (const kind of ['zones', 'lines'] as const) {
      const names = new Set<string>();
      cam[kind].forEach((item, k) => {
        if (names.has(item.name)) issues.push(describe(at(kind, k, 'name'), `'${item.name}' is used twice`, raw));
        names.add(item.name);
      });
    }
    const inside = ([x, y]: readonly number[]): boolean => x! >= 0 && y! >= 0 && x! <= cam.width && y! <= cam.height;
    cam.zones.forEach((z, k) => {
      if (!z.polygon.every(inside)) issues.push(describe(at('zones', k, 'polygon'), `a point lies outside the ${cam.width}×${cam.height} frame`, raw));
    });
    cam.motion.masks.forEach((m, k) => {
      if (!m.every(inside)) issues.push(describe(at('motion', 'masks', k), `a point lies outside the ${cam.width}×${cam.height} frame`, raw));
    });
    cam.lines.forEach((l, k) => {
      if (!inside(l.from) || !inside(l.to)) issues.push(describe(at('lines', k), `an end lies outside the ${cam.width}×${cam.height} frame`, raw));
      if (l.from[0] === l.to[0] && l.from[1] === l.to[1]) issues.push(describe(at('lines', k), "'from' and 'to' are the same point", raw));
    });
  });
  checkClasses(data, options, issues, raw);
  if (issues.length > 0) fail(issues);
  // Every credential of the file is masked from now on in whatever this process prints, logs or serves.
  for (const c of data.cameras) for (const input of [c.input, c.record]) if (input !== undefined) rememberCredentials(input);
  if (data.mqtt !== undefined) rememberCredentials(data.mqtt.url);
  return {
    ...data,
    output: { ...data.output, dir: resolvePath(base, data.output.dir) },
    cameras: data.cameras.map((c) => ({ ...c, input: resolvePath(base, c.input), ...(c.record === undefined ? {} : { record: resolvePath(base, c.record) }) })),
    // The recording folder, like every path, is resolved against the file's folder (default `recordings` there).
    ...(data.recording === undefined ? {} : { recording: { ...data.recording, dir: resolvePath(base, data.recording.dir ?? 'recordings') } }),
    ...(typeof data.detector.model === 'object' ? { detector: { ...data.detector, model: { ...data.detector.model, path: resolvePath(base, data.detector.model.path) } } } : {}),
  } as SurveillanceConfig;
}

/**
 * Reads a YAML (or JSON) configuration file and validates it with {@link parseConfig}; relative paths are resolved
 * against the file's folder.
 *
 * @param path - the file
 * @param options - the detector's classes, when it is your own model (see {@link ParseConfigOptions.classes})
 * @returns the validated configuration
 * @throws {@link @lepton/core!LeptonError} `CONFIG_INVALID` for an unreadable file, invalid YAML or invalid content
 *   (each problem naming the camera and the field, e.g. an unknown class with the list of known ones)
 */
export async function loadConfig(path: string, options: Pick<ParseConfigOptions, 'classes'> = {}): Promise<SurveillanceConfig> {
  if (typeof path !== 'string' || path === '') throw surveillanceError('CONFIG_INVALID', 'loadConfig needs the path of a YAML or JSON file.', { problems: [], issues: [] });
  let text: string;
  let size: number;
  try {
    size = (await stat(path)).size;
    text = size > MAX_CONFIG_BYTES ? '' : await readFile(path, 'utf8');
  } catch (cause) {
    throw surveillanceError('CONFIG_INVALID', `The configuration file ${path} could not be read.`, { source: path, problems: [], issues: [] }, cause);
  }
  if (size > MAX_CONFIG_BYTES) {
    throw surveillanceError('CONFIG_INVALID', `The configuration file ${path} is ${size} bytes; a configuration is at most ${MAX_CONFIG_BYTES} bytes (is the path right?).`, { source: path, problems: [], issues: [] });
  }
  let raw: unknown;
  try {
    // logLevel 'error': the yaml package would otherwise print warnings with the offending line (a camera URL with its
    // password) to stderr. A warning (an unresolved tag such as `!secret`, which this loader does not expand) is an
    // error here instead, reported by its first line only: position, never the line's text.
    const doc = parseDocument(text, { prettyErrors: true, logLevel: 'error' });
    const problem = doc.errors[0] ?? doc.warnings[0];
    if (problem !== undefined) throw problem;
    raw = doc.toJS();
  } catch (cause) {
    const first = cause instanceof Error ? cause.message.split('\n')[0] : 'unreadable';
    // No `cause`: the yaml package's message quotes the offending lines, which may hold credentials.
    throw surveillanceError('CONFIG_INVALID', `${path} is not valid YAML: ${first}`, { source: path, problems: [], issues: [] });
  }
  return parseConfig(raw, { ...options, baseDir: dirname(resolve(path)), source: path });
}
