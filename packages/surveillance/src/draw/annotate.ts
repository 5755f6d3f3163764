import { describeValue, LeptonError } from '@lepton/core';
import { ownValue, type Box, type Detection, type Frame, type Point, type Polygon, type Track } from '../types.js';
import { invalidFrameError, readFrame } from '../detect/letterbox.js';
import { measureText } from './font.js';
import { checkColor, checkImage, drawLine, drawPolygon, drawRect, drawText, fillPolygon, fillRect, type Rgb, type RgbImage } from './raster.js';

/** A zone to draw: its outline, name and (when active) a translucent fill. */
export interface ZoneOverlay {
  /** Zone name, drawn as a caption at its top vertex. */
  name: string;
  /** Zone outline in frame pixels. */
  polygon: Polygon;
  /** Whether the zone currently holds an object or raised an event; active zones are filled. Default false. */
  active?: boolean;
}

/** A counting line (tripwire) to draw with its caption. */
export interface LineOverlay {
  /** Line name. */
  name: string;
  /** First endpoint in frame pixels. */
  from: Point;
  /** Second endpoint in frame pixels. */
  to: Point;
  /** Counts to show after the name, already formatted (e.g. `'in 4 out 2'`). */
  counts?: string;
}

/** Colours used by {@link annotateFrame}; each field is optional and falls back to the default. */
export interface AnnotationColors {
  /** Colour per class label (boxes and caption backgrounds); classes not listed get {@link classColor}. */
  classes?: Record<string, Rgb>;
  /** Zone outline. Default amber `[255, 200, 0]`. */
  zone?: Rgb;
  /** Outline and fill of an active zone. Default red `[255, 48, 48]`. */
  zoneActive?: Rgb;
  /** Counting lines. Default cyan `[0, 230, 255]`. */
  line?: Rgb;
  /** Motion boxes. Default magenta `[255, 0, 255]`. */
  motion?: Rgb;
  /** Banner text. Default white. */
  bannerText?: Rgb;
  /** Banner background (drawn at 60 % opacity). Default black. */
  bannerBackground?: Rgb;
}

/** What to draw, and how, for {@link annotateFrame} and {@link drawAnnotations}. */
export interface AnnotateOptions {
  /** Tracks: box in the class colour and a `#id label score` caption. */
  tracks?: readonly Track[];
  /** Untracked detections: box and a `label score` caption. */
  detections?: readonly Detection[];
  /** Zones: outlines, name captions, translucent fill when active. */
  zones?: readonly ZoneOverlay[];
  /** Counting lines with `name counts` captions at their midpoints. */
  lines?: readonly LineOverlay[];
  /** Motion boxes (thin outlines). */
  motionBoxes?: readonly Box[];
  /**
   * Banner text after the camera name, top left. Default: the frame's `wallTime` as `YYYY-MM-DD HH:MM:SS` UTC when it
   * is set (non-zero), else nothing.
   */
  timestamp?: string;
  /** Camera name in the banner. Default: the frame's `camera`. */
  camera?: string;
  /** Whether to draw the banner. Default true. */
  banner?: boolean;
  /** Colour overrides. */
  colors?: AnnotationColors;
  /** Text magnification (integer). Default `max(1, round(min(width, height) / 360))`: 1 at 480p, 2 at 720p, 3 at 1080p. */
  textScale?: number;
  /** Box and line thickness in pixels (integer). Default the same as the default `textScale`. */
  thickness?: number;
  /** Opacity of active-zone fills, 0–1. Default 0.25. */
  zoneAlpha?: number;
  /** `annotateFrame` only: draw on a copy and leave the input frame untouched. Default false (draw in place). */
  copy?: boolean;
}

/** What {@link drawAnnotations} drew. */
export interface AnnotationReport {
  /** Overlay items drawn (tracks, detections, zones, lines, motion boxes; the banner not counted). */
  drawn: number;
  /** Items skipped because they were malformed (non-finite coordinates, too few polygon points …). */
  skipped: number;
  /** One line per skipped item, naming it (`'tracks[2]: box has a non-finite or negative field'`). */
  problems: string[];
}

/** Options for {@link drawLabel}. */
export interface LabelOptions {
  /** Background colour. */
  background: Rgb;
  /** Text colour. Default black or white, whichever contrasts more with `background`. */
  color?: Rgb;
  /** Text magnification (integer). Default 1. */
  scale?: number;
  /** Background margin around the text, in font pixels (multiplied by `scale`). Default 1. */
  padding?: number;
  /** Background opacity 0–1. Default 1. */
  alpha?: number;
}

const DEFAULT_CLASS_COLORS: Record<string, Rgb> = {
  person: [46, 204, 64],
  car: [0, 116, 217],
  truck: [255, 133, 27],
  bus: [177, 13, 201],
  bicycle: [57, 204, 204],
  motorcycle: [240, 18, 190],
  face: [255, 220, 0],
};

const PALETTE: readonly Rgb[] = [
  [230, 25, 75],
  [60, 180, 75],
  [255, 225, 25],
  [67, 99, 216],
  [245, 130, 49],
  [145, 30, 180],
  [66, 212, 244],
  [240, 50, 230],
  [191, 239, 69],
  [250, 190, 212],
  [70, 153, 144],
  [220, 190, 255],
];

/** Text drawn for a caller's name or label: a string as it is, anything else described without running its code. */
function caption(v: unknown): string {
  return typeof v === 'string' ? v : describeValue(v);
}

/**
 * The default colour of a class: fixed colours for person, car, truck, bus, bicycle, motorcycle and face, and for
 * any other label a palette colour chosen by a hash of the name, so a class keeps its colour across frames and runs.
 *
 * @param label - class name
 * @returns an RGB colour
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a label that is not a string
 * @example
 * ```ts
 * import { classColor } from '@lepton/surveillance';
 * console.log(classColor('person')); // [46, 204, 64]
 * ```
 */
export function classColor(label: string): Rgb {
  // Hashing a non-string threw a TypeError (null.length) or hashed whatever its toString said.
  if (typeof label !== 'string') throw new LeptonError('INVALID_ARGUMENT', `classColor: label must be a string; got ${describeValue(label)}.`);
  const fixed = ownValue(DEFAULT_CLASS_COLORS, label);
  if (fixed !== undefined) return fixed;
  let h = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
  return PALETTE[h % PALETTE.length]!;
}

function contrastText(bg: Rgb): Rgb {
  return 0.299 * bg[0] + 0.587 * bg[1] + 0.114 * bg[2] > 140 ? [0, 0, 0] : [255, 255, 255];
}

/**
 * Draws a caption: text on a filled background box. The box is kept inside the image where it fits (shifted left
 * or down), so captions of boxes at the frame edge stay readable.
 *
 * @param img - image to draw on, in place
 * @param text - caption text
 * @param x - preferred left edge of the background box
 * @param y - preferred top edge of the background box
 * @param options - colours, scale, padding
 * @returns the background box as placed
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a malformed image, `INVALID_ARGUMENT` for a bad scale,
 *   options that are not an object, a text that is not a string or a non-finite position
 * @example
 * ```ts
 * import { drawLabel } from '@lepton/surveillance';
 * const img = { data: new Uint8Array(64 * 16 * 3), width: 64, height: 16 };
 * console.log(drawLabel(img, 'car 0.91', 0, 0, { background: [0, 116, 217] })); // { x: 0, y: 0, width: 49, height: 10 }
 * ```
 */
export function drawLabel(img: RgbImage, text: string, x: number, y: number, options: LabelOptions): Box {
  checkImage(img, 'drawLabel');
  // A JavaScript caller's null options, a non-string text or a NaN position threw a TypeError or came back as a NaN box.
  if (options === null || typeof options !== 'object') throw new LeptonError('INVALID_ARGUMENT', `drawLabel: options must be an object { background, … }; got ${describeValue(options)}.`);
  if (typeof text !== 'string') throw new LeptonError('INVALID_ARGUMENT', `drawLabel: text must be a string; got ${describeValue(text)}.`);
  if (typeof x !== 'number' || typeof y !== 'number' || !Number.isFinite(x) || !Number.isFinite(y)) {
    throw new LeptonError('INVALID_ARGUMENT', `drawLabel: x and y must be finite numbers; got ${describeValue(x)}, ${describeValue(y)}.`);
  }
  const scale = options.scale ?? 1;
  if (!Number.isInteger(scale) || scale < 1) throw new LeptonError('INVALID_ARGUMENT', `drawLabel: scale must be a positive integer; got ${describeValue(scale)}.`);
  const pad = (options.padding ?? 1) * scale;
  const size = measureText(text, scale);
  const width = size.width + 2 * pad;
  const height = size.height + 2 * pad;
  const bx = Math.max(0, Math.min(Math.round(x), img.width - width));
  const by = Math.max(0, Math.min(Math.round(y), img.height - height));
  const box = { x: bx, y: by, width, height };
  fillRect(img, box, options.background, options.alpha ?? 1);
  drawText(img, text, bx + pad, by + pad, options.color ?? contrastText(options.background), scale);
  return box;
}

function boxProblem(box: Box | undefined): string | null {
  if (box === null || typeof box !== 'object') return 'box is missing';
  const ok = [box.x, box.y, box.width, box.height].every((v) => typeof v === 'number' && Number.isFinite(v)) && box.width >= 0 && box.height >= 0;
  return ok ? null : 'box has a non-finite or negative field';
}

function pointOk(p: Point | undefined): boolean {
  return Array.isArray(p) && p.length === 2 && Number.isFinite(p[0]) && Number.isFinite(p[1]);
}

/** Draws a box with a caption above it (inside the box's top when there is no room above). */
function captionedBox(img: RgbImage, box: Box, caption: string, color: Rgb, thickness: number, scale: number): void {
  drawRect(img, box, color, thickness);
  const h = measureText(caption, scale).height + 2 * scale;
  const above = box.y - h;
  drawLabel(img, caption, box.x, above >= 0 ? above : box.y, { background: color, scale });
}

function formatWallTime(ms: number): string {
  // Finite but past ±8.64e15 ms (1e308 from a bad clock) is an Invalid Date, whose toISOString throws a RangeError.
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) return '';
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * Draws overlays on any RGB image in place and reports what it drew. Order, bottom to top: zone fills and outlines,
 * counting lines, motion boxes, detections, tracks, banner. A malformed item is skipped, counted and named in the
 * report; the others are still drawn.
 *
 * @param img - image to draw on, in place; `camera` and `wallTime` are used for the banner when present
 * @param options - what to draw
 * @returns counts of drawn and skipped items
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a malformed image, `INVALID_ARGUMENT` for a bad scale or thickness,
 *   options that are not an object, `zones`, `lines`, `motionBoxes`, `detections` or `tracks` that is not an array,
 *   `colors` that are not `[r, g, b]` triples, a non-boolean `banner` or a non-text `timestamp` (nothing is drawn)
 * @example
 * ```ts
 * import { drawAnnotations } from '@lepton/surveillance';
 * const img = { data: new Uint8Array(320 * 240 * 3), width: 320, height: 240 };
 * const report = drawAnnotations(img, { detections: [{ box: { x: 40, y: 60, width: 50, height: 90 }, label: 'person', score: 0.9 }] });
 * console.log(report); // { drawn: 1, skipped: 0, problems: [] }
 * ```
 */
export function drawAnnotations(img: RgbImage & Partial<Pick<Frame, 'camera' | 'wallTime'>>, options: AnnotateOptions): AnnotationReport {
  checkImage(img, 'drawAnnotations');
  // Items are skipped one by one below; the lists themselves must be arrays (a number's forEach threw a TypeError).
  if (options === null || typeof options !== 'object') throw new LeptonError('INVALID_ARGUMENT', `drawAnnotations: options must be an object; got ${describeValue(options)}.`);
  for (const field of ['zones', 'lines', 'motionBoxes', 'detections', 'tracks'] as const) {
    const list: unknown = options[field];
    if (list !== undefined && list !== null && !Array.isArray(list)) throw new LeptonError('INVALID_ARGUMENT', `drawAnnotations: ${field} must be an array; got ${describeValue(list)}.`);
  }
  const auto = Math.max(1, Math.round(Math.min(img.width, img.height) / 360));
  const scale = options.textScale ?? auto;
  const thickness = options.thickness ?? auto;
  for (const [field, v] of [['textScale', scale], ['thickness', thickness]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new LeptonError('INVALID_ARGUMENT', `drawAnnotations: ${field} must be a positive integer; got ${describeValue(v)}.`);
  }
  const colors = options.colors ?? {};
  // Checked before anything is drawn: a bad colour met mid-way left a half-annotated image, and a non-object was
  // quietly the defaults.
  if (colors === null || typeof colors !== 'object' || Array.isArray(colors)) throw new LeptonError('INVALID_ARGUMENT', `drawAnnotations: colors must be an object, got ${describeValue(colors)}.`);
  for (const field of ['zone', 'zoneActive', 'line', 'motion', 'bannerText', 'bannerBackground'] as const) if (colors[field] !== undefined) checkColor(colors[field], `drawAnnotations: colors.${field}`);
  if (colors.classes !== undefined) {
    if (colors.classes === null || typeof colors.classes !== 'object' || Array.isArray(colors.classes)) throw new LeptonError('INVALID_ARGUMENT', `drawAnnotations: colors.classes must be an object of class → [r, g, b], got ${describeValue(colors.classes)}.`);
    for (const [label, c] of Object.entries(colors.classes)) checkColor(c, `drawAnnotations: colors.classes[${describeValue(label, 40)}]`);
  }
  if (options.banner !== undefined && typeof options.banner !== 'boolean') throw new LeptonError('INVALID_ARGUMENT', `drawAnnotations: banner must be a boolean, got ${describeValue(options.banner)}.`);
  if (options.timestamp !== undefined && typeof options.timestamp !== 'string') throw new LeptonError('INVALID_ARGUMENT', `drawAnnotations: timestamp must be text, got ${describeValue(options.timestamp)}.`);
  const colorOf = (label: string): Rgb => ownValue(colors.classes, label) ?? classColor(label);
  const report: AnnotationReport = { drawn: 0, skipped: 0, problems: [] };
  const skip = (item: string, why: string): void => {
    report.skipped++;
    report.problems.push(`${item}: ${why}`);
  };

  (options.zones ?? []).forEach((zone, i) => {
    if (zone?.polygon === undefined || !Array.isArray(zone.polygon) || zone.polygon.length < 3 || !Array.from(zone.polygon).every(pointOk)) {
      return skip(`zones[${i}]`, 'polygon needs at least three finite [x, y] points');
    }
    const color = zone.active === true ? (colors.zoneActive ?? [255, 48, 48]) : (colors.zone ?? [255, 200, 0]);
    if (zone.active === true) fillPolygon(img, zone.polygon, color, options.zoneAlpha ?? 0.25);
    drawPolygon(img, zone.polygon, color, thickness);
    const top = zone.polygon.reduce((a, b) => (b[1] < a[1] ? b : a));
    drawLabel(img, caption(zone.name), top[0], top[1] - (measureText('A', scale).height + 2 * scale), { background: color, scale });
    report.drawn++;
  });

  (options.lines ?? []).forEach((l, i) => {
    if (!pointOk(l?.from) || !pointOk(l?.to)) return skip(`lines[${i}]`, 'from and to must be finite [x, y] points');
    const color = colors.line ?? [0, 230, 255];
    drawLine(img, l.from, l.to, color, thickness);
    const text = l.counts === undefined ? caption(l.name) : `${caption(l.name)} ${caption(l.counts)}`;
    const size = measureText(text, scale);
    drawLabel(img, text, (l.from[0] + l.to[0]) / 2 - size.width / 2, (l.from[1] + l.to[1]) / 2 + thickness + scale, { background: color, scale });
    report.drawn++;
  });

  (options.motionBoxes ?? []).forEach((box, i) => {
    const problem = boxProblem(box);
    if (problem !== null) return skip(`motionBoxes[${i}]`, problem);
    drawRect(img, box, colors.motion ?? [255, 0, 255], 1);
    report.drawn++;
  });

  (options.detections ?? []).forEach((d, i) => {
    const problem = boxProblem(d?.box);
    if (problem !== null) return skip(`detections[${i}]`, problem);
    const label = caption(d.label);
    const score = Number.isFinite(d.score) ? ` ${d.score.toFixed(2)}` : '';
    captionedBox(img, d.box, `${label}${score}`, colorOf(label), thickness, scale);
    report.drawn++;
  });

  (options.tracks ?? []).forEach((t, i) => {
    const problem = boxProblem(t?.box);
    if (problem !== null) return skip(`tracks[${i}]`, problem);
    const label = caption(t.label);
    const score = Number.isFinite(t.score) ? ` ${t.score.toFixed(2)}` : '';
    captionedBox(img, t.box, `#${caption(t.id)} ${label}${score}`, colorOf(label), thickness, scale);
    report.drawn++;
  });

  if (options.banner !== false) {
    const named: unknown = options.camera ?? img.camera ?? '';
    const camera = typeof named === 'string' ? named : caption(named);
    const stamp = options.timestamp ?? (typeof img.wallTime === 'number' && Number.isFinite(img.wallTime) && img.wallTime !== 0 ? formatWallTime(img.wallTime) : '');
    const text = [camera, stamp].filter((s) => s !== '').join('  ');
    if (text !== '') drawLabel(img, text, 0, 0, { background: colors.bannerBackground ?? [0, 0, 0], color: colors.bannerText ?? [255, 255, 255], scale, padding: 2, alpha: 0.6 });
  }
  return report;
}

/**
 * Draws tracks, detections, zones, lines, motion boxes and a camera/time banner on a frame — the picture for
 * annotated video, live previews and event snapshots. Malformed items are skipped (use {@link drawAnnotations}
 * for the report of what was skipped).
 *
 * @param frame - the frame
 * @param options - what to draw; `copy: true` leaves `frame` untouched
 * @returns `frame` itself (drawn in place), or a new frame with copied pixels when `copy` is true
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` for a malformed frame, `INVALID_ARGUMENT` for a bad scale or thickness,
 *   or options as {@link drawAnnotations} refuses them
 * @example
 * ```ts
 * import { annotateFrame, type Frame } from '@lepton/surveillance';
 * const frame: Frame = { camera: 'yard', index: 0, sourceIndex: 0, time: 0, wallTime: Date.UTC(2026, 0, 2, 3, 4, 5), width: 320, height: 240, data: new Uint8Array(320 * 240 * 3) };
 * const out = annotateFrame(frame, {
 *   tracks: [{ id: 7, label: 'person', box: { x: 40, y: 60, width: 50, height: 90 }, score: 0.88, hits: 5, misses: 0, confirmed: true, velocity: [1, 0] }],
 *   zones: [{ name: 'door', polygon: [[200, 100], [300, 100], [300, 200], [200, 200]], active: true }],
 *   copy: true,
 * });
 * console.log(out === frame); // false; the banner reads 'yard  2026-01-02 03:04:05'
 * ```
 */
export function annotateFrame(frame: Frame, options: AnnotateOptions = {}): Frame {
  if (options === null || typeof options !== 'object') throw new LeptonError('INVALID_ARGUMENT', `annotateFrame: options must be an object; got ${describeValue(options)}.`);
  // Read once (a getter that throws, or a Proxy buffer, is INVALID_INPUT); the drawing goes into the frame's own bytes.
  const read = readFrame(frame);
  if (read.problem !== undefined) throw invalidFrameError(frame, read.problem);
  if (options.copy === true) {
    // The caller's other fields are kept (read once more; a getter that throws now just leaves them out). The pixels
    // are copied with `new Uint8Array`: a Buffer's slice() would share its memory.
    let extra: object = {};
    try {
      extra = { ...frame };
    } catch {
      // keep the checked fields only
    }
    const copy = { ...extra, ...read.frame, data: new Uint8Array(read.frame.data) };
    drawAnnotations(copy, options);
    return copy;
  }
  drawAnnotations(read.frame, options);
  return frame;
}
