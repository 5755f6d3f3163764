import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { surveillanceError } from '../types.js';
import type { Point, Polygon } from '../types.js';

/** The kinds of rule events. */
const EVENT_KINDS = ['zone-enter', 'zone-exit', 'loitering', 'intrusion', 'line-cross', 'crowd'] as const;
/** Kinds that get a snapshot and a clip unless configured otherwise: the alarms and counts, not every zone entry/exit. */
const DEFAULT_EVIDENCE = ['line-cross', 'loitering', 'intrusion', 'crowd'] as const;

const point = z.tuple([z.number().finite(), z.number().finite()]);
const polygon = z.array(point).min(3, 'needs at least 3 points');
const classes = z.array(z.string().min(1)).min(1).optional();
const thresholds = z.record(z.string(), z.number().min(0).max(1)).optional();

const zoneSchema = z.strictObject({
  name: z.string().min(1),
  polygon,
  classes,
  loiterSeconds: z.number().positive().optional(),
  restricted: z.boolean().optional(),
  crowdThreshold: z.number().int().positive().optional(),
});

const lineSchema = z.strictObject({
  name: z.string().min(1),
  from: point,
  to: point,
  direction: z.enum(['a-to-b', 'b-to-a', 'both']).optional(),
  classes,
});

const cameraSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "-" and "." only (it names files and MQTT topics)'),
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
});

const configSchema = z.strictObject({
  detector: z
    .strictObject({
      model: z.enum(['centernet', 'nanodet']).default('centernet'),
      classes,
      thresholds,
      iouThreshold: z.number().min(0).max(1).optional(),
      batchSize: z.number().int().positive().max(64).default(8),
      workers: z.union([z.number().int().min(1).max(256), z.literal('auto')]).default(1),
    })
    .default({ model: 'centernet', batchSize: 8, workers: 1 }),
  privacy: z.strictObject({ blurFaces: z.boolean().default(false) }).default({ blurFaces: false }),
  mqtt: z
    .strictObject({
      url: z.string().regex(/^(mqtts?|wss?|tcp):\/\//, 'an mqtt://, mqtts://, ws:// or wss:// URL'),
      topicPrefix: z.string().min(1).default('lepton/surveillance'),
      username: z.string().optional(),
      password: z.string().optional(),
    })
    .optional(),
  output: z
    .strictObject({
      dir: z.string().min(1).default('out'),
      snapshots: z.boolean().default(true),
      clips: z.strictObject({ before: z.number().nonnegative().default(3), after: z.number().nonnegative().default(3) }).nullable().default({ before: 3, after: 3 }),
      annotatedVideo: z.boolean().default(true),
      evidence: z.array(z.enum(EVENT_KINDS)).default([...DEFAULT_EVIDENCE]),
    })
    .default({ dir: 'out', snapshots: true, clips: { before: 3, after: 3 }, annotatedVideo: true, evidence: [...DEFAULT_EVIDENCE] }),
  cameras: z.array(cameraSchema).min(1, 'needs at least one camera'),
});

/** A zone of a camera: a polygon in the camera's detect-stream pixels, with its rules. */
export interface ZoneConfig {
  /** Name, unique within the camera (events and counts use it). */
  name: string;
  /** Polygon (≥ 3 points) in pixels of the detect stream (`width` × `height`). */
  polygon: Polygon;
  /** Classes the zone watches (default: every class the detector reports). */
  classes?: string[];
  /** Raise `loitering` when a track stays this many seconds inside. */
  loiterSeconds?: number;
  /** Raise `intrusion` whenever a watched track enters. */
  restricted?: boolean;
  /** Raise `crowd` when this many watched tracks are inside at once. */
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
}

/** Detector settings shared by every camera (one model, frames of all cameras batched together). */
export interface DetectorConfig {
  /** Shipped COCO model: 'centernet' (default) or 'nanodet'. */
  model: 'centernet' | 'nanodet';
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
}

/** Where a configuration came from, for resolving relative paths and for error messages. */
export interface ParseConfigOptions {
  /** Folder relative paths are resolved against (default: the current directory). */
  baseDir?: string;
  /** File name for error messages. */
  source?: string;
}

type Issue = z.core.$ZodIssue;

/** "camera 'entrance' (cameras[0]): zones[1].polygon: needs at least 3 points" */
function describeIssue(issue: Issue, raw: unknown): string {
  const path = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
  let where = '';
  let rest = path;
  if (path[0] === 'cameras' && typeof path[1] === 'number') {
    const cams = (raw as { cameras?: unknown[] }).cameras;
    const name = Array.isArray(cams) ? (cams[path[1]] as { name?: unknown } | undefined)?.name : undefined;
    where = `camera ${typeof name === 'string' ? `'${name}'` : `#${path[1] + 1}`} (cameras[${path[1]}]): `;
    rest = path.slice(2);
  }
  const field = rest.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s === '' ? p : `${s}.${p}`), '');
  const message = issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}` : issue.message;
  return `${where}${field === '' ? '' : `${field}: `}${message}`;
}

const resolvePath = (base: string, p: string): string => (/^[a-z][a-z0-9+.-]*:\/\//i.test(p) || p.startsWith('/dev/') || isAbsolute(p) ? p : resolve(base, p));

/**
 * Validates a configuration object (as parsed from YAML or JSON), fills in defaults and resolves relative paths.
 * Every problem is reported at once, each naming the camera and the field.
 *
 * @param raw - the parsed document
 * @param options - base folder and source name
 * @returns the validated configuration
 * @throws {@link @lepton/core!LeptonError} `CONFIG_INVALID` listing every problem (`details.problems`)
 * @example
 * ```ts
 * import { parseConfig } from '@lepton/surveillance';
 * const config = parseConfig({ cameras: [{ name: 'door', input: 'door.mp4', lines: [{ name: 'in', from: [0, 200], to: [640, 200] }] }] });
 * console.log(config.cameras[0].fps); // 10
 * ```
 */
export function parseConfig(raw: unknown, options: ParseConfigOptions = {}): SurveillanceConfig {
  const base = options.baseDir ?? process.cwd();
  const from = options.source === undefined ? '' : ` in ${options.source}`;
  const parsed = configSchema.safeParse(raw);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => describeIssue(i, raw));
  if (parsed.success) {
    const seen = new Set<string>();
    parsed.data.cameras.forEach((cam, i) => {
      const where = `camera '${cam.name}' (cameras[${i}])`;
      if (seen.has(cam.name)) problems.push(`${where}: name: another camera has the same name`);
      seen.add(cam.name);
      for (const kind of ['zones', 'lines'] as const) {
        const names = new Set<string>();
        cam[kind].forEach((item, k) => {
          if (names.has(item.name)) problems.push(`${where}: ${kind}[${k}].name: '${item.name}' is used twice`);
          names.add(item.name);
        });
      }
      const inside = ([x, y]: readonly number[]): boolean => x! >= 0 && y! >= 0 && x! <= cam.width && y! <= cam.height;
      cam.zones.forEach((z, k) => {
        if (!z.polygon.every(inside)) problems.push(`${where}: zones[${k}].polygon: a point lies outside the ${cam.width}×${cam.height} frame`);
      });
      cam.motion.masks.forEach((m, k) => {
        if (!m.every(inside)) problems.push(`${where}: motion.masks[${k}]: a point lies outside the ${cam.width}×${cam.height} frame`);
      });
      cam.lines.forEach((l, k) => {
        if (!inside(l.from) || !inside(l.to)) problems.push(`${where}: lines[${k}]: an end lies outside the ${cam.width}×${cam.height} frame`);
        if (l.from[0] === l.to[0] && l.from[1] === l.to[1]) problems.push(`${where}: lines[${k}]: 'from' and 'to' are the same point`);
      });
    });
  }
  if (problems.length > 0 || !parsed.success) {
    throw surveillanceError('CONFIG_INVALID', `Invalid surveillance configuration${from}:\n- ${problems.join('\n- ')}`, { problems, ...(options.source === undefined ? {} : { source: options.source }) });
  }
  const data = parsed.data;
  return {
    ...data,
    output: { ...data.output, dir: resolvePath(base, data.output.dir) },
    cameras: data.cameras.map((c) => ({ ...c, input: resolvePath(base, c.input), ...(c.record === undefined ? {} : { record: resolvePath(base, c.record) }) })),
  } as SurveillanceConfig;
}

/**
 * Reads a YAML (or JSON) configuration file and validates it with {@link parseConfig}; relative paths are resolved
 * against the file's folder.
 *
 * @param path - the file
 * @returns the validated configuration
 * @throws {@link @lepton/core!LeptonError} `CONFIG_INVALID` for unreadable YAML or invalid content
 */
export async function loadConfig(path: string): Promise<SurveillanceConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw surveillanceError('CONFIG_INVALID', `The configuration file ${path} could not be read.`, { source: path }, cause);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true });
  } catch (cause) {
    throw surveillanceError('CONFIG_INVALID', `${path} is not valid YAML: ${(cause as Error).message.split('\n')[0]}`, { source: path }, cause);
  }
  return parseConfig(raw, { baseDir: dirname(resolve(path)), source: path });
}
