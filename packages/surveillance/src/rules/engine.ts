import { describeValue, LeptonError } from '@lepton/core';
import { surveillanceError } from '../types.js';
import type { Box, Point, Track } from '../types.js';
import { anchorPoint, doublePolygonArea, selfIntersects, type Anchor } from './geometry.js';
import { LineState, type CrossingDirection, type LineHysteresis, type TripwireRule } from './lines.js';
import { DEFAULT_CROWD_CLASSES, watches, ZoneVisit, type ZoneRule } from './zones.js';

/**
 * Hysteresis against jitter, for zone edges and tripwires alike: a track changes side (enters, leaves, crosses) only
 * when its anchor is at least `pixels` past the edge or line for `frames` consecutive frames. Tripwires add a re-arm
 * rule: a track that has just crossed a line crosses it back only on stronger evidence (see `rearmSeconds`).
 * `{ pixels: 0, frames: 1, rearmSeconds: 0 }` turns all of it off.
 */
export interface HysteresisOptions {
  /**
   * Dead band on each side of a zone edge or line, in pixels (default 4; 0 turns it off). A zone narrower than twice
   * this has no point clear of its edges, so only tracks that appear inside it can enter: lower it for small zones.
   */
  pixels?: number;
  /** Consecutive frames past the band needed (default 2; 1 turns it off). */
  frames?: number;
  /**
   * Tripwires: for this many seconds after a track crosses a line (default 1; 0 turns it off), a crossing back by the
   * same track counts only once the track has stayed past the band on the new side until the interval is over
   * (it is counted then), or when its anchor goes at least `rearmDepth` of its box past the line for `frames`
   * frames. A box wobbling back over the line right after crossing it (a segway, a bicycle, a pram) then counts
   * once; someone who really turns back is counted, at the latest `rearmSeconds` after the first crossing.
   */
  rearmSeconds?: number;
  /**
   * Tripwires, within `rearmSeconds`: how far past the line, as a fraction of the box's extent across the line (its
   * height for a horizontal line, its width for a vertical one), counts as a clear crossing back at once (default
   * 0.25; 0 re-arms at once).
   */
  rearmDepth?: number;
}

/** The rules of one camera. A `CameraConfig` from `loadConfig()` fits as it is. */
export interface CameraRules {
  /** Camera name, as passed to {@link RuleEngine.process}; unique. */
  name: string;
  /** Zones (default none). */
  zones?: readonly ZoneRule[];
  /** Tripwires (default none). */
  lines?: readonly TripwireRule[];
}

/** Options of {@link RuleEngine}. */
export interface RuleEngineOptions {
  /** Point of a track's box used for zone and line tests (default `'bottom-center'`). */
  anchor?: Anchor;
  /** Jitter hysteresis (defaults: 4 pixels, 2 frames; tripwires re-arm after 1 s or a quarter of the box). */
  hysteresis?: HysteresisOptions;
}

/** The track an event is about, as it was in the event's frame. */
export interface TrackRef {
  /** Track ID. */
  trackId: number;
  /** Track label. */
  label: string;
  /** Track score (confidence of its last matched detection). */
  confidence: number;
  /** Track box. */
  box: Box;
}

/** Fields every rule event has. */
export interface RuleEventBase {
  /** Camera name. */
  camera: string;
  /** Media time of the frame that raised it, in seconds. */
  time: number;
}

/** A watched track entered a zone (also raised for a track that first appears inside one). */
export interface ZoneEnterEvent extends RuleEventBase, TrackRef {
  /** Kind tag. */
  kind: 'zone-enter';
  /** Zone name. */
  zone: string;
}

/**
 * A track left a zone: `reason: 'left'` when its anchor left, `'lost'` when the track disappeared (the tracker
 * deleted it) while inside — so every `zone-enter` is closed by exactly one `zone-exit`, and occupancy returns to 0.
 */
export interface ZoneExitEvent extends RuleEventBase, TrackRef {
  /** Kind tag. */
  kind: 'zone-exit';
  /** Zone name. */
  zone: string;
  /** Why. */
  reason: 'left' | 'lost';
  /** Seconds from the visit's start to this frame. */
  dwellSeconds: number;
}

/** A track has been inside a zone for its `loiterSeconds` (once per visit). */
export interface LoiteringEvent extends RuleEventBase, TrackRef {
  /** Kind tag. */
  kind: 'loitering';
  /** Zone name. */
  zone: string;
  /** Seconds inside so far (≥ `loiterSeconds`). */
  dwellSeconds: number;
}

/** A watched track entered a `restricted` zone (raised right after its `zone-enter`). */
export interface IntrusionEvent extends RuleEventBase, TrackRef {
  /** Kind tag. */
  kind: 'intrusion';
  /** Zone name. */
  zone: string;
}

/** A watched track crossed a tripwire. */
export interface LineCrossEvent extends RuleEventBase, TrackRef {
  /** Kind tag. */
  kind: 'line-cross';
  /** Line name. */
  line: string;
  /** From side A to side B, or back (see {@link sideOfLine}). */
  direction: CrossingDirection;
}

/**
 * The number of tracks of the zone's crowd classes inside it reached its `crowdThreshold` (crowd classes: the zone's
 * `crowdClasses`, else its `classes`, else people only). Raised once per episode; the episode ends
 * when the count drops below the threshold, and the next time it is reached raises again. It concerns several tracks,
 * so it has `members` instead of one track's fields.
 */
export interface CrowdEvent extends RuleEventBase {
  /** Kind tag. */
  kind: 'crowd';
  /** Zone name. */
  zone: string;
  /** Tracks of the crowd classes inside. */
  count: number;
  /** The zone's threshold. */
  threshold: number;
  /** Those tracks, by increasing ID. */
  members: TrackRef[];
}

/** Everything a {@link RuleEngine} raises; switch on `kind`. */
export type RuleEvent = ZoneEnterEvent | ZoneExitEvent | LoiteringEvent | IntrusionEvent | LineCrossEvent | CrowdEvent;

/** Crossings of one line by one label. */
export interface LineCount {
  /** Crossings from side A to side B. */
  aToB: number;
  /** Crossings from side B to side A. */
  bToA: number;
}

/** Current occupancy of one zone. */
export interface ZoneCount {
  /** Watched tracks inside now. */
  occupancy: number;
  /** The same, per label (labels with none inside are left out). */
  byLabel: Record<string, number>;
  /** Entries since the start (or the last reset). */
  entries: number;
}

/** Counters of one camera, from {@link RuleEngine.counts}. */
export interface RuleCounts {
  /** Per line name, per label: crossings in each direction (every watched crossing, whatever `direction` reports). */
  lines: Record<string, Record<string, LineCount>>;
  /** Per zone name: occupancy now and entries so far. */
  zones: Record<string, ZoneCount>;
  /** Tracks skipped as malformed (non-integer ID, non-finite box, empty label) or repeated within a frame. */
  rejectedTracks: number;
}

interface TrackMemory {
  ref: TrackRef;
  zones: (ZoneVisit | undefined)[];
  lines: (LineState | undefined)[];
}

interface CameraState {
  rules: { name: string; zones: readonly ZoneRule[]; lines: readonly TripwireRule[] };
  /** Per zone: the labels that count towards its crowd threshold. */
  crowdClasses: ReadonlySet<string>[];
  time: number;
  tracks: Map<number, TrackMemory>;
  crowded: boolean[];
  entries: number[];
  lineCounts: Map<string, LineCount>[];
  rejected: number;
}

/**
 * Zone and tripwire rules over tracked objects, for any number of cameras, each with its own rules and state.
 * Feed it every frame's live tracks with {@link RuleEngine.process}; it returns the {@link RuleEvent}s that frame raised
 * and keeps the counters ({@link RuleEngine.counts}).
 *
 * - Positions are a box's anchor (feet by default, see {@link Anchor}); hysteresis ({@link HysteresisOptions}) keeps a
 *   box jittering on an edge or line from raising or counting twice.
 * - Only confirmed tracks are considered. A track with `misses > 0` (coasting on the tracker's prediction) keeps its
 *   state and counts toward occupancy but changes nothing until it is matched again.
 * - A track that was present and is missing from a frame's list is taken as deleted: each zone it was inside raises a
 *   `zone-exit` with `reason: 'lost'`. Pass every live track from {@link SortTracker.update} (which keeps coasting
 *   tracks until it deletes them), not only the ones matched in the frame.
 * - Events of a frame come in a stable order: per track in input order, zones then lines in configuration order;
 *   then exits of lost tracks; then crowd events.
 *
 * @example
 * ```ts
 * import { RuleEngine } from '@lepton/surveillance';
 * const rules = new RuleEngine([{ name: 'lobby', lines: [{ name: 'door', from: [0, 100], to: [200, 100] }] }]);
 * const walker = (y: number) => ({ id: 1, label: 'person', box: { x: 90, y: y - 50, width: 20, height: 50 }, score: 0.9,
 *   hits: 5, misses: 0, confirmed: true, velocity: [0, 10] as const });
 * for (let f = 0; f < 6; f++) for (const e of rules.process('lobby', f / 10, [walker(80 + 10 * f)])) console.log(e.kind, e);
 * // line-cross … direction 'a-to-b' (at y = 120, the second frame ≥ 4 px below the line)
 * console.log(rules.counts('lobby').lines.door); // { person: { aToB: 1, bToA: 0 } }
 * ```
 */
export class RuleEngine {
  private readonly cameras = new Map<string, CameraState>();
  private readonly anchor: Anchor;
  private readonly pixels: number;
  private readonly frames: number;
  private readonly lineHysteresis: LineHysteresis;

  /**
   * @param cameras - the rules of each camera
   * @param options - anchor and hysteresis
   * @throws {@link @lepton/core!LeptonError} `CONFIG_INVALID` listing every problem found (duplicate names, polygons
   *   with fewer than 3 points or non-finite coordinates, a line whose ends coincide, non-positive `loiterSeconds`,
   *   a `crowdThreshold` that is not an integer ≥ 1, `classes` or `crowdClasses` that are not arrays of names, an
   *   unknown direction or anchor, negative hysteresis or a `hysteresis` that is not an object)
   */
  constructor(cameras: readonly CameraRules[], options: RuleEngineOptions = {}) {
    try {
    if (!Array.isArray(cameras)) {
      throw surveillanceError('CONFIG_INVALID', 'RuleEngine needs an array of camera rules ({ name, zones?, lines? }).');
    }
    if (options === null || typeof options !== 'object') throw surveillanceError('CONFIG_INVALID', 'RuleEngine options must be an object ({ anchor?, hysteresis? }).');
    const h = options.hysteresis ?? {};
    this.anchor = options.anchor ?? 'bottom-center';
    this.pixels = h.pixels ?? 4;
    this.frames = h.frames ?? 2;
    this.lineHysteresis = { pixels: this.pixels, frames: this.frames, rearmSeconds: h.rearmSeconds ?? 1, rearmDepth: h.rearmDepth ?? 0.25 };
    const problems: string[] = [];
    if (options.hysteresis !== undefined && options.hysteresis !== null && typeof options.hysteresis !== 'object') {
      problems.push(`hysteresis: must be an object { pixels?, frames?, rearmSeconds?, rearmDepth? }, got ${describeValue(options.hysteresis)}`);
    }
    if (this.anchor !== 'bottom-center' && this.anchor !== 'center') problems.push(`anchor: ${describeValue(this.anchor)} is not 'bottom-center' or 'center'`);
    if (!(typeof this.pixels === 'number' && this.pixels >= 0 && Number.isFinite(this.pixels))) problems.push(`hysteresis.pixels: must be a finite number ≥ 0, got ${describeValue(this.pixels)}`);
    if (!(Number.isInteger(this.frames) && this.frames >= 1)) problems.push(`hysteresis.frames: must be an integer ≥ 1, got ${describeValue(this.frames)}`);
    for (const key of ['rearmSeconds', 'rearmDepth'] as const) {
      const v = this.lineHysteresis[key];
      if (!(typeof v === 'number' && v >= 0 && Number.isFinite(v))) problems.push(`hysteresis.${key}: must be a finite number ≥ 0, got ${describeValue(v)}`);
    }
    // Array.from: the holes of a sparse array are checked (as undefined), not skipped.
    Array.from(cameras).forEach((cam, i) => {
      if (cam === null || typeof cam !== 'object') {
        problems.push(`cameras[${i}]: must be an object { name, zones?, lines? }`);
        return;
      }
      const where = `camera ${describeValue(cam.name, 64)} (cameras[${i}])`;
      if (typeof cam.name !== 'string' || cam.name.length === 0) problems.push(`cameras[${i}].name: must be a non-empty string`);
      else if (this.cameras.has(cam.name)) problems.push(`${where}: name repeats an earlier camera`);
      const givenZones: unknown = cam.zones ?? [];
      const givenLines: unknown = cam.lines ?? [];
      if (!Array.isArray(givenZones) || !Array.isArray(givenLines)) {
        problems.push(`${where}: zones and lines must be arrays`);
        return;
      }
      // Each field is read once, into a copy that is checked and kept (frozen): the caller's arrays may change later
      // without changing (or breaking) the rules, and a getter is never read twice.
      const before = problems.length;
      const zones = Array.from(givenZones as unknown[], (z, k) => copyZone(z, `${where}: zones[${k}]`, problems));
      const lines = Array.from(givenLines as unknown[], (l, k) => copyLine(l, `${where}: lines[${k}]`, problems));
      checkRules(where, zones, lines, problems);
      // Malformed rules are reported below; building the camera from them (new Set(a number)) threw a TypeError first.
      if (problems.length > before) return;
      this.cameras.set(cam.name, {
        rules: { name: cam.name, zones, lines },
        crowdClasses: zones.map((z) => new Set(z?.crowdClasses ?? z?.classes ?? DEFAULT_CROWD_CLASSES)),
        time: -Infinity,
        tracks: new Map(),
        crowded: zones.map(() => false),
        entries: zones.map(() => 0),
        lineCounts: lines.map(() => new Map()),
        rejected: 0,
      });
    });
    if (problems.length > 0) {
      throw surveillanceError('CONFIG_INVALID', `Invalid rules: ${problems.join('; ')}. Fix these fields and construct the RuleEngine again.`, { problems });
    }
    } catch (err) {
      if (err instanceof LeptonError) throw err;
      // A getter of the caller's objects (options, a camera, a zone) that throws: typed, naming what it said.
      throw surveillanceError('CONFIG_INVALID', `Invalid rules: reading them threw: ${err instanceof Error ? err.message : describeValue(err)}.`);
    }
  }

  /**
   * Feeds one frame of one camera.
   *
   * @param camera - camera name
   * @param time - media time in seconds, never less than the camera's previous frame
   * @param tracks - every live track of the frame (malformed ones — a non-integer ID, a non-finite or negative box, a
   *   non-finite score, an empty label, an ID repeated within the frame — are skipped and counted in
   *   `counts().rejectedTracks`; the others go on)
   * @returns the events the frame raised (every number in them finite)
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for an unknown camera, a time that is not finite or
   *   goes backwards, or `tracks` that is not an array (nothing is changed then)
   */
  process(camera: string, time: number, tracks: readonly Track[]): RuleEvent[] {
    const cam = this.state(camera);
    if (!Array.isArray(tracks)) {
      throw new LeptonError('INVALID_ARGUMENT', `Camera '${camera}': tracks must be an array of tracks (pass [] for a frame without any), got ${tracks === null ? 'null' : typeof tracks}.`, { details: { camera } });
    }
    if (typeof time !== 'number' || !Number.isFinite(time) || time < cam.time) {
      // Never `${time}` of a non-number: an object whose toString is not a function would throw a TypeError here.
      const shown = typeof time === 'number' ? `${time} s` : `(${time === null ? 'null' : typeof time})`;
      throw new LeptonError('INVALID_ARGUMENT', `Camera '${camera}': time ${shown} is ${Number.isFinite(time) ? `before the previous frame's ${cam.time} s` : 'not a finite number'}; pass media time in seconds, non-decreasing per camera.`, { details: { camera, time: typeof time === 'number' ? time : String(typeof time) } });
    }
    cam.time = time;
    const { zones, lines } = cam.rules;
    const events: RuleEvent[] = [];
    const base = { camera, time };
    const seen = new Set<number>();
    for (const track of tracks) {
      if (!isValidTrack(track) || seen.has(track.id)) {
        cam.rejected++;
        continue;
      }
      if (!track.confirmed) continue;
      seen.add(track.id);
      const ref: TrackRef = { trackId: track.id, label: track.label, confidence: track.score, box: { ...track.box } };
      let mem = cam.tracks.get(track.id);
      if (mem === undefined) {
        mem = { ref, zones: zones.map(() => undefined), lines: lines.map(() => undefined) };
        cam.tracks.set(track.id, mem);
      }
      mem.ref = ref;
      if (track.misses > 0) continue; // coasting: its box is a guess, so it keeps its state but moves nothing
      const anchor = anchorPoint(track.box, this.anchor);
      zones.forEach((zone, k) => {
        let visit = mem!.zones[k];
        if (!watches(zone, track.label)) {
          // A track relabelled away from the zone's classes leaves it.
          if (visit?.inside) events.push({ kind: 'zone-exit', ...base, ...ref, zone: zone.name, reason: 'left', dwellSeconds: time - visit.enteredAt });
          mem!.zones[k] = undefined;
          return;
        }
        if (visit === undefined) mem!.zones[k] = visit = new ZoneVisit();
        for (const change of visit.step(zone, anchor, time, this.pixels, this.frames)) {
          if (change === 'enter') {
            cam.entries[k]!++;
            events.push({ kind: 'zone-enter', ...base, ...ref, zone: zone.name });
            if (zone.restricted === true) events.push({ kind: 'intrusion', ...base, ...ref, zone: zone.name });
          } else if (change === 'exit') {
            events.push({ kind: 'zone-exit', ...base, ...ref, zone: zone.name, reason: 'left', dwellSeconds: time - visit.enteredAt });
          } else {
            events.push({ kind: 'loitering', ...base, ...ref, zone: zone.name, dwellSeconds: time - visit.enteredAt });
          }
        }
      });
      lines.forEach((line, k) => {
        if (!watches(line, track.label)) return;
        const state = (mem!.lines[k] ??= new LineState());
        const direction = state.step(line, anchor, track.box, time, this.lineHysteresis);
        if (direction === null) return;
        const counts = cam.lineCounts[k]!;
        const count = counts.get(track.label) ?? { aToB: 0, bToA: 0 };
        if (direction === 'a-to-b') count.aToB++;
        else count.bToA++;
        counts.set(track.label, count);
        const wanted = line.direction ?? 'both';
        if (wanted === 'both' || wanted === direction) events.push({ kind: 'line-cross', ...base, ...ref, line: line.name, direction });
      });
    }
    for (const [id, mem] of cam.tracks) {
      if (seen.has(id)) continue;
      zones.forEach((zone, k) => {
        const visit = mem.zones[k];
        if (visit?.inside) events.push({ kind: 'zone-exit', ...base, ...mem.ref, zone: zone.name, reason: 'lost', dwellSeconds: time - visit.enteredAt });
      });
      cam.tracks.delete(id);
    }
    zones.forEach((zone, k) => {
      if (zone.crowdThreshold === undefined) return;
      const crowdClasses = cam.crowdClasses[k]!;
      const members = insideOf(cam, k).filter((m) => crowdClasses.has(m.label));
      if (members.length < zone.crowdThreshold) {
        cam.crowded[k] = false;
      } else if (!cam.crowded[k]) {
        cam.crowded[k] = true;
        events.push({ kind: 'crowd', ...base, zone: zone.name, count: members.length, threshold: zone.crowdThreshold, members });
      }
    });
    return events;
  }

  /**
   * The counters of one camera.
   *
   * @param camera - camera name
   * @returns line crossings per label and direction, zone occupancy now, rejected tracks
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for an unknown camera
   */
  counts(camera: string): RuleCounts {
    const cam = this.state(camera);
    // Keyed by names from the configuration and labels from the model: objects without a prototype, so that a class
    // named 'constructor' counts from 0 and '__proto__' is a key like any other.
    const record = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;
    const out: RuleCounts = { lines: record(), zones: record(), rejectedTracks: cam.rejected };
    cam.rules.lines.forEach((line, k) => {
      const perLabel = record<LineCount>();
      for (const [label, c] of cam.lineCounts[k]!) perLabel[label] = { ...c };
      out.lines[line.name] = perLabel;
    });
    cam.rules.zones.forEach((zone, k) => {
      const members = insideOf(cam, k);
      const byLabel = record<number>();
      for (const m of members) byLabel[m.label] = (byLabel[m.label] ?? 0) + 1;
      out.zones[zone.name] = { occupancy: members.length, byLabel, entries: cam.entries[k]! };
    });
    return out;
  }

  /**
   * Forgets one camera's tracks, episodes and counters (no events are raised), e.g. when its tracker is reset.
   *
   * @param camera - camera name
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for an unknown camera
   */
  reset(camera: string): void {
    const cam = this.state(camera);
    cam.time = -Infinity;
    cam.tracks.clear();
    cam.crowded.fill(false);
    cam.entries.fill(0);
    for (const m of cam.lineCounts) m.clear();
    cam.rejected = 0;
  }

  private state(camera: string): CameraState {
    const cam = this.cameras.get(camera);
    if (cam === undefined) {
      // A camera name from JavaScript may be anything: only a string goes into the message (an object whose toString is
      // not a function would throw a TypeError on interpolation).
      const name = typeof camera === 'string' ? `'${camera}'` : `(${camera === null ? 'null' : typeof camera})`;
      throw new LeptonError('INVALID_ARGUMENT', `Unknown camera ${name}; the RuleEngine has rules for: ${[...this.cameras.keys()].join(', ') || '(none)'}.`, { details: { camera: typeof camera === 'string' ? camera : String(typeof camera) } });
    }
    return cam;
  }
}

function insideOf(cam: CameraState, k: number): TrackRef[] {
  const members: TrackRef[] = [];
  for (const mem of cam.tracks.values()) if (mem.zones[k]?.inside) members.push(mem.ref);
  return members.sort((a, b) => a.trackId - b.trackId);
}

/** The largest coordinate taken as a position (far beyond any frame; keeps every sum and product finite). */
const MAX_COORDINATE = 1e7;

function isValidTrack(t: Track | null | undefined): t is Track {
  if (t === null || typeof t !== 'object' || t.box === null || typeof t.box !== 'object') return false;
  const { x, y, width, height } = t.box;
  const coordinate = (v: unknown): boolean => typeof v === 'number' && Math.abs(v) <= MAX_COORDINATE; // false for NaN too
  return (
    Number.isSafeInteger(t.id) && coordinate(x) && coordinate(y) && coordinate(width) && coordinate(height) && width >= 0 && height >= 0 &&
    typeof t.score === 'number' && Number.isFinite(t.score) && typeof t.label === 'string' && t.label.length > 0 &&
    typeof t.confirmed === 'boolean' && (t.misses === undefined || (typeof t.misses === 'number' && t.misses >= 0))
  );
}

function checkRules(where: string, zones: readonly ZoneRule[], lines: readonly TripwireRule[], problems: string[]): void {
  // Bounded like track coordinates, so that products in the geometry (10⁷ × 10⁷) stay finite.
  const finitePoint = (p: Point | undefined): boolean =>
    Array.isArray(p) && p.length === 2 && typeof p[0] === 'number' && typeof p[1] === 'number' && Math.abs(p[0]) <= MAX_COORDINATE && Math.abs(p[1]) <= MAX_COORDINATE;
  const names = new Set<string>();
  zones.forEach((z, k) => {
    const at = `${where}: zones[${k}]`;
    if (z === null || typeof z !== 'object') {
      problems.push(`${at}: must be an object { name, polygon, … }`);
      return;
    }
    if (typeof z.name !== 'string' || z.name.length === 0) problems.push(`${at}.name: must be a non-empty string`);
    else if (names.has(z.name)) problems.push(`${at}.name: '${z.name}' repeats an earlier zone`);
    else names.add(z.name);
    if (z.restricted !== undefined && typeof z.restricted !== 'boolean') problems.push(`${at}.restricted: must be true or false, got ${describeValue(z.restricted)}`);
    if (!Array.isArray(z.polygon) || z.polygon.length < 3) problems.push(`${at}.polygon: needs at least 3 points`);
    else if (!Array.from(z.polygon).every(finitePoint)) problems.push(`${at}.polygon: every point must be [x, y] with finite numbers within ±1e7`);
    else if (selfIntersects(z.polygon)) problems.push(`${at}.polygon: its edges cross each other (a self-intersecting polygon); list the points in order around the zone`);
    else if (doublePolygonArea(z.polygon) === 0) problems.push(`${at}.polygon: has no area (its points are repeated or on one line), so the zone could never fire`);
    if (z.loiterSeconds !== undefined && !(Number.isFinite(z.loiterSeconds) && z.loiterSeconds > 0)) problems.push(`${at}.loiterSeconds: must be a finite number > 0, got ${describeValue(z.loiterSeconds)}`);
    if (z.crowdThreshold !== undefined && !(Number.isInteger(z.crowdThreshold) && z.crowdThreshold >= 1)) problems.push(`${at}.crowdThreshold: must be an integer ≥ 1, got ${describeValue(z.crowdThreshold)}`);
    checkClasses(`${at}.classes`, z.classes, problems);
    checkClasses(`${at}.crowdClasses`, z.crowdClasses, problems);
  });
  names.clear();
  lines.forEach((l, k) => {
    const at = `${where}: lines[${k}]`;
    if (l === null || typeof l !== 'object') {
      problems.push(`${at}: must be an object { name, from, to, … }`);
      return;
    }
    if (typeof l.name !== 'string' || l.name.length === 0) problems.push(`${at}.name: must be a non-empty string`);
    else if (names.has(l.name)) problems.push(`${at}.name: '${l.name}' repeats an earlier line`);
    else names.add(l.name);
    if (!finitePoint(l.from) || !finitePoint(l.to)) problems.push(`${at}: from and to must be [x, y] with finite numbers within ±1e7`);
    else if (l.from[0] === l.to[0] && l.from[1] === l.to[1]) problems.push(`${at}: from and to are the same point; a line needs two distinct ends`);
    if (l.direction !== undefined && !(['a-to-b', 'b-to-a', 'both'] as unknown[]).includes(l.direction)) problems.push(`${at}.direction: ${describeValue(l.direction)} is not 'a-to-b', 'b-to-a' or 'both'`);
    checkClasses(`${at}.classes`, l.classes, problems);
  });
}

const ZONE_KEYS = new Set(['name', 'polygon', 'classes', 'crowdClasses', 'loiterSeconds', 'restricted', 'crowdThreshold']);
const LINE_KEYS = new Set(['name', 'from', 'to', 'direction', 'classes']);

/** Unknown keys (a typo such as `loiterSecs` would silently turn a rule off) are problems. */
function checkKeys(at: string, o: object, known: Set<string>, problems: string[]): void {
  for (const key of Object.keys(o)) if (!known.has(key)) problems.push(`${at}: unknown key '${key}' (known: ${[...known].join(', ')})`);
}

const copyPoint = (p: unknown): unknown => (Array.isArray(p) ? Object.freeze(Array.from(p)) : p);
const copyList = (v: unknown, item: (x: unknown) => unknown): unknown => (Array.isArray(v) ? Object.freeze(Array.from(v, item)) : v);

/** A frozen copy of a zone, each field read once (not validated here: {@link checkRules} checks the copy). */
function copyZone(z: unknown, at: string, problems: string[]): ZoneRule {
  if (z === null || typeof z !== 'object') return z as ZoneRule;
  checkKeys(at, z, ZONE_KEYS, problems);
  const o = z as Record<string, unknown>;
  const copy: Record<string, unknown> = { name: o['name'], polygon: copyList(o['polygon'], copyPoint) };
  for (const key of ['classes', 'crowdClasses'] as const) {
    const v = o[key];
    if (v !== undefined) copy[key] = copyList(v, (c) => c);
  }
  for (const key of ['loiterSeconds', 'restricted', 'crowdThreshold'] as const) {
    const v = o[key];
    if (v !== undefined) copy[key] = v;
  }
  return Object.freeze(copy) as unknown as ZoneRule;
}

/** A frozen copy of a tripwire, each field read once. */
function copyLine(l: unknown, at: string, problems: string[]): TripwireRule {
  if (l === null || typeof l !== 'object') return l as TripwireRule;
  checkKeys(at, l, LINE_KEYS, problems);
  const o = l as Record<string, unknown>;
  const copy: Record<string, unknown> = { name: o['name'], from: copyPoint(o['from']), to: copyPoint(o['to']) };
  const direction = o['direction'];
  if (direction !== undefined) copy['direction'] = direction;
  const classes = o['classes'];
  if (classes !== undefined) copy['classes'] = copyList(classes, (c) => c);
  return Object.freeze(copy) as unknown as TripwireRule;
}

function checkClasses(at: string, classes: readonly string[] | undefined, problems: string[]): void {
  if (classes === undefined) return;
  if (!Array.isArray(classes) || classes.length === 0 || !Array.from(classes).every((c) => typeof c === 'string' && c.length > 0)) {
    problems.push(`${at}: must be a non-empty list of labels`);
  }
}
