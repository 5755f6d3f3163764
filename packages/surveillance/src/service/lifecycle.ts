import { describeValue, LeptonError } from '@lepton/core';
import { snapshot } from '../draw/jpeg.js';
import type { RuleEvent } from '../rules/engine.js';
import type { CrossingDirection } from '../rules/lines.js';
import type { Box, Frame, Track } from '../types.js';
import { eventId } from './ids.js';

/** Something a tracked object did, kept on its event (at most {@link MAX_OBJECT_RULES} of them). */
export interface ObjectRuleHit {
  /** Rule event kind. */
  kind: 'line-cross' | 'loitering' | 'intrusion';
  /** Wall-clock time, ms since the epoch. */
  time: number;
  /** Zone (loitering, intrusion). */
  zone?: string;
  /** Line (line-cross). */
  line?: string;
  /** Crossing direction (line-cross). */
  direction?: CrossingDirection;
}

/** Why an object's event ended. */
export type ObjectEndReason = 'lost' | 'camera-ended' | 'stopped';

/**
 * One tracked object's event, as the service keeps, serves and publishes it: from the frame its track was confirmed
 * until the tracker lost it (Frigate's "event"). Times are wall-clock ms since the epoch.
 */
export interface TrackedObject {
  /** `<camera>-<ULID>`: unique across processes and hosts. */
  id: string;
  /** Camera name. */
  camera: string;
  /** Class (the track's majority label; it can change while the object is tracked). */
  label: string;
  /** The tracker's track ID (unique within one run of the camera only). */
  trackId: number;
  /** When the track was confirmed. */
  startTime: number;
  /** When it was lost (or the camera stopped); `null` while in progress. */
  endTime: number | null;
  /** Media time of the first frame, seconds (position in a file input). */
  startMediaTime: number;
  /** Media time of the last frame seen, seconds. */
  lastMediaTime: number;
  /** Confidence in the last frame. */
  score: number;
  /** Highest confidence so far. */
  topScore: number;
  /** Box in the last frame (detect-stream pixels). */
  box: Box;
  /** Zones it is in now. */
  currentZones: string[];
  /** Zones it has been in, in the order entered. */
  enteredZones: string[];
  /** Line crossings, loitering and intrusions, in order (the first {@link MAX_OBJECT_RULES}). */
  rules: ObjectRuleHit[];
  /** The best snapshot so far (highest confidence); `null` without snapshots. */
  snapshot: {
    /** When its frame was read, wall-clock ms. */
    time: number;
    /** The object's confidence in it. */
    score: number;
    /** The object's box in it. */
    box: Box;
  } | null;
  /** Whether a snapshot JPEG is available. */
  hasSnapshot: boolean;
  /** Whether a clip MP4 is available (cut from the recording after the event ends). */
  hasClip: boolean;
  /** Why it ended; `null` while in progress. */
  endReason: ObjectEndReason | null;
}

/**
 * A message of an object's event lifecycle, as on MQTT's `<prefix>/events` (Frigate's shape): `new` when its track is
 * confirmed, `update` when its zones change, it trips a rule or (at most every `updateSeconds`) a better snapshot is
 * taken, `end` when it is lost or the camera stops. `before` is the state of the previous message (for `new`, the
 * same as `after`).
 */
export interface ObjectEvent {
  /** Lifecycle step. */
  type: 'new' | 'update' | 'end';
  /** State as of the previous message. */
  before: TrackedObject;
  /** State now. */
  after: TrackedObject;
}

/** What {@link ObjectLifecycle} produced for one message: the event, and a new JPEG snapshot when there is one. */
export interface ObjectLifecycleOutput {
  /** The message. */
  event: ObjectEvent;
  /** The best snapshot, when it changed since the object's previous message. */
  snapshot?: Uint8Array;
}

/** Options of {@link ObjectLifecycle}. */
export interface ObjectLifecycleOptions {
  /** Least seconds (wall clock) between two `update`s that only bring a better snapshot (default 2). */
  updateSeconds?: number;
  /** Take snapshots (default true). */
  snapshots?: boolean;
  /** JPEG quality of the snapshots, 1–100 (default 85). */
  quality?: number;
}

/** Most rule hits kept per object (a track walking back and forth over a line for an hour must not grow forever). */
export const MAX_OBJECT_RULES = 64;
/** A snapshot counts as better when its confidence is higher by at least this much. */
const BETTER_BY = 0.01;

interface Live {
  object: TrackedObject;
  published: TrackedObject;
  lastMessage: number;
  best: { frame: Frame; box: Box; score: number; time: number } | undefined;
  /** The best changed since its JPEG was last produced. */
  bestDirty: boolean;
}

const clone = (o: TrackedObject): TrackedObject => ({
  ...o,
  box: { ...o.box },
  currentZones: [...o.currentZones],
  enteredZones: [...o.enteredZones],
  rules: o.rules.map((r) => ({ ...r })),
  snapshot: o.snapshot === null ? null : { ...o.snapshot, box: { ...o.snapshot.box } },
});

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** A track the lifecycle can make an event of: an integer id, a label, a finite score and box, a boolean state. */
function validTrack(t: unknown): t is Track {
  if (t === null || typeof t !== 'object') return false;
  const k = t as Partial<Track>;
  const b = k.box as Partial<Box> | undefined;
  return (
    Number.isInteger(k.id) && (k.id as number) >= 0 && typeof k.label === 'string' && k.label !== '' && k.label.length <= 128 && finite(k.score) &&
    typeof k.confirmed === 'boolean' && finite(k.misses) && b !== null && typeof b === 'object' && finite(b.x) && finite(b.y) && finite(b.width) && finite(b.height) && b.width >= 0 && b.height >= 0
  );
}

/**
 * The event lifecycle of tracked objects on one camera: feed it every processed frame with the camera's confirmed
 * tracks and the rule events of that frame ({@link SurveillancePipeline}'s `onFrame` gives both); it returns the
 * `new` / `update` / `end` messages of that frame, each with the same event id for one object, and the JPEG of the
 * best snapshot when it changed. The best snapshot is the frame with the highest confidence, with the box drawn;
 * while an object is tracked one copy of that frame is kept (width × height × 3 bytes per live object).
 *
 * @example
 * ```ts
 * import { ObjectLifecycle } from '@lepton/surveillance';
 * const life = new ObjectLifecycle('gate', { snapshots: false });
 * const frame = { camera: 'gate', index: 0, sourceIndex: 0, time: 0, wallTime: Date.now(), width: 4, height: 4, data: new Uint8Array(48) };
 * const track = { id: 1, label: 'person', box: { x: 0, y: 0, width: 2, height: 3 }, score: 0.9, hits: 3, misses: 0, confirmed: true, velocity: [0, 0] as const };
 * console.log(life.update(frame, [track], []).map((o) => o.event.type)); // ['new']
 * console.log(life.update({ ...frame, index: 1, time: 0.1 }, [], []).map((o) => o.event.type)); // ['end']
 * ```
 */
export class ObjectLifecycle {
  readonly #camera: string;
  readonly #updateMs: number;
  readonly #snapshots: boolean;
  readonly #quality: number;
  readonly #live = new Map<number, Live>();
  #rejected = 0;

  /**
   * @param camera - camera name (it prefixes the event ids)
   * @param options - update interval, snapshots
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for an empty camera name or a bad option (a
   *   non-boolean `snapshots`, a `quality` outside 1–100, a negative or non-finite `updateSeconds`)
   */
  constructor(camera: string, options: ObjectLifecycleOptions = {}) {
    if (typeof camera !== 'string' || camera === '') throw new LeptonError('INVALID_ARGUMENT', 'ObjectLifecycle: camera must be a non-empty name.');
    if (options === null || typeof options !== 'object') throw new LeptonError('INVALID_ARGUMENT', `ObjectLifecycle: options must be an object, got ${describeValue(options)}.`);
    if (options.snapshots !== undefined && typeof options.snapshots !== 'boolean') throw new LeptonError('INVALID_ARGUMENT', `ObjectLifecycle: snapshots must be a boolean, got ${describeValue(options.snapshots)}.`);
    const quality = options.quality ?? 85;
    if (!(Number.isInteger(quality) && quality >= 1 && quality <= 100)) throw new LeptonError('INVALID_ARGUMENT', `ObjectLifecycle: quality must be an integer from 1 to 100, got ${describeValue(quality)}.`);
    const seconds = options.updateSeconds ?? 2;
    if (!(typeof seconds === 'number' && seconds >= 0 && Number.isFinite(seconds))) {
      throw new LeptonError('INVALID_ARGUMENT', `ObjectLifecycle: updateSeconds must be a finite number ≥ 0, got ${describeValue(seconds)}.`);
    }
    this.#camera = camera;
    this.#updateMs = seconds * 1000;
    this.#snapshots = options.snapshots ?? true;
    this.#quality = quality;
  }

  /** Objects in progress now. */
  get active(): number {
    return this.#live.size;
  }

  /** Tracks and rule events skipped by {@link update} as malformed (a non-finite score or box, no id or label …). */
  get rejected(): number {
    return this.#rejected;
  }

  /** The objects in progress now (copies). */
  current(): TrackedObject[] {
    return [...this.#live.values()].map((l) => clone(l.object));
  }

  /**
   * Feeds one processed frame.
   *
   * @param frame - the frame as analysed (snapshots are taken from it; it is copied when kept)
   * @param tracks - the camera's confirmed tracks after this frame (coasting ones included): a track that was live
   *   and is missing is taken as lost
   * @param events - the rule events this frame raised
   * @returns the messages of this frame, in order: rule-driven updates, then new objects, snapshot updates, ends
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a frame without a finite `wallTime` (epoch ms) and
   *   `time`, or `tracks` / `events` that are not arrays; a malformed track or event is skipped and counted in
   *   {@link ObjectLifecycle.rejected} (the others go on)
   */
  update(frame: Frame, tracks: readonly Track[], events: readonly RuleEvent[]): ObjectLifecycleOutput[] {
    if (frame === null || typeof frame !== 'object' || !(typeof frame.wallTime === 'number' && Number.isFinite(frame.wallTime) && frame.wallTime >= 0) || !(typeof frame.time === 'number' && Number.isFinite(frame.time))) {
      throw new LeptonError('INVALID_ARGUMENT', `ObjectLifecycle.update: frame needs a finite wallTime (epoch ms) and time (s), got ${describeValue(frame === null || typeof frame !== 'object' ? frame : { wallTime: frame.wallTime, time: frame.time })}.`);
    }
    if (!Array.isArray(tracks)) throw new LeptonError('INVALID_ARGUMENT', `ObjectLifecycle.update: tracks must be an array, got ${describeValue(tracks)}.`);
    if (!Array.isArray(events)) throw new LeptonError('INVALID_ARGUMENT', `ObjectLifecycle.update: events must be an array, got ${describeValue(events)}.`);
    const goodTracks = tracks.filter((t) => {
      const ok = validTrack(t);
      if (!ok) this.#rejected++;
      return ok;
    });
    const goodEvents = events.filter((e) => {
      const ok = e !== null && typeof e === 'object' && typeof e.kind === 'string' && (e.kind === 'crowd' || Number.isInteger((e as { trackId?: unknown }).trackId));
      if (!ok) this.#rejected++;
      return ok;
    });
    return this.#update(frame, goodTracks, goodEvents);
  }

  #update(frame: Frame, tracks: readonly Track[], events: readonly RuleEvent[]): ObjectLifecycleOutput[] {
    const now = frame.wallTime;
    const out: ObjectLifecycleOutput[] = [];
    const changed = new Set<number>();
    const seen = new Set<number>();
    for (const t of tracks) {
      if (!t.confirmed) continue;
      seen.add(t.id);
      let live = this.#live.get(t.id);
      if (live === undefined) {
        const object: TrackedObject = {
          id: eventId(this.#camera, now),
          camera: this.#camera,
          label: t.label,
          trackId: t.id,
          startTime: now,
          endTime: null,
          startMediaTime: frame.time,
          lastMediaTime: frame.time,
          score: t.score,
          topScore: t.score,
          box: { ...t.box },
          currentZones: [],
          enteredZones: [],
          rules: [],
          snapshot: null,
          hasSnapshot: false,
          hasClip: false,
          endReason: null,
        };
        live = { object, published: clone(object), lastMessage: -Infinity, best: undefined, bestDirty: false };
        this.#live.set(t.id, live);
        changed.add(t.id);
      }
      const o = live.object;
      if (o.label !== t.label) {
        o.label = t.label;
        changed.add(t.id);
      }
      o.score = t.score;
      o.box = { ...t.box };
      o.lastMediaTime = frame.time;
      if (t.misses > 0) continue; // coasting: a predicted box, no new evidence for a snapshot
      o.topScore = Math.max(o.topScore, t.score);
      if (this.#snapshots && (live.best === undefined || t.score >= live.best.score + BETTER_BY)) {
        live.best = { frame: { ...frame, data: new Uint8Array(frame.data) }, box: { ...t.box }, score: t.score, time: now };
        live.bestDirty = true;
      }
    }
    for (const e of events) {
      if (e.kind === 'crowd') continue;
      const live = this.#live.get(e.trackId);
      if (live === undefined) continue;
      const o = live.object;
      if (e.kind === 'zone-enter') {
        if (!o.currentZones.includes(e.zone)) o.currentZones.push(e.zone);
        if (!o.enteredZones.includes(e.zone)) o.enteredZones.push(e.zone);
      } else if (e.kind === 'zone-exit') {
        o.currentZones = o.currentZones.filter((z) => z !== e.zone);
      } else if (o.rules.length < MAX_OBJECT_RULES) {
        o.rules.push(e.kind === 'line-cross' ? { kind: e.kind, time: now, line: e.line, direction: e.direction } : { kind: e.kind, time: now, zone: e.zone });
      }
      changed.add(e.trackId);
    }
    for (const [id, live] of this.#live) {
      if (!seen.has(id)) continue;
      const isNew = live.lastMessage === -Infinity;
      const due = live.bestDirty && now - live.lastMessage >= this.#updateMs;
      if (isNew || changed.has(id) || due) out.push(this.#message(live, isNew ? 'new' : 'update', now));
    }
    for (const [id, live] of [...this.#live]) {
      if (seen.has(id)) continue;
      out.push(this.#finish(live, 'lost', now));
      this.#live.delete(id);
    }
    return out;
  }

  /**
   * Ends every object in progress (the camera stopped): one `end` each, with its last snapshot if it was pending.
   *
   * @param reason - `'camera-ended'` (the source ended or failed) or `'stopped'` (the service is shutting down)
   * @param now - wall-clock time, ms (default `Date.now()`)
   * @returns the `end` messages
   */
  endAll(reason: Exclude<ObjectEndReason, 'lost'>, now: number = Date.now()): ObjectLifecycleOutput[] {
    const out = [...this.#live.values()].map((live) => this.#finish(live, reason, now));
    this.#live.clear();
    return out;
  }

  #finish(live: Live, reason: ObjectEndReason, now: number): ObjectLifecycleOutput {
    live.object.endTime = Math.max(now, live.object.startTime);
    live.object.endReason = reason;
    const msg = this.#message(live, 'end', now);
    live.best = undefined; // the frame copy is no longer needed
    return msg;
  }

  #message(live: Live, type: ObjectEvent['type'], now: number): ObjectLifecycleOutput {
    let jpeg: Uint8Array | undefined;
    if (live.bestDirty && live.best !== undefined) {
      const b = live.best;
      jpeg = snapshot(b.frame, b.box, { label: `${live.object.label} ${Math.round(b.score * 100)}%`, quality: this.#quality });
      live.object.snapshot = { time: b.time, score: b.score, box: { ...b.box } };
      live.object.hasSnapshot = true;
      live.bestDirty = false;
    }
    const after = clone(live.object);
    const event: ObjectEvent = { type, before: type === 'new' ? clone(after) : live.published, after };
    live.published = clone(after);
    live.lastMessage = now;
    return jpeg === undefined ? { event } : { event, snapshot: jpeg };
  }
}
