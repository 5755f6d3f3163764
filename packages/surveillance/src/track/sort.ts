import { describeValue, LeptonError } from '@lepton/core';
import { iouOf } from '../rules/geometry.js';
import type { Box, Detection, Track } from '../types.js';
import { linearSumAssignment } from './hungarian.js';
import { KalmanBoxFilter } from './kalman.js';

/** Options of {@link SortTracker}; every field has a default. */
export interface SortTrackerOptions {
  /** Smallest IoU between a track's predicted box and a detection for them to be matched, in [0, 1] (default 0.3). */
  iouThreshold?: number;
  /** Matched frames (in total) before a track is confirmed and reported by `update()` (default 3). */
  minHits?: number;
  /** Consecutive missed frames at which a track is deleted: it survives `maxMisses − 1` (default 5). */
  maxMisses?: number;
  /** Match a detection only to tracks of its own label (default true). */
  perClass?: boolean;
}

/** {@link SortTrackerOptions} with the defaults filled in. */
export interface ResolvedSortTrackerOptions {
  /** See {@link SortTrackerOptions.iouThreshold}. */
  iouThreshold: number;
  /** See {@link SortTrackerOptions.minHits}. */
  minHits: number;
  /** See {@link SortTrackerOptions.maxMisses}. */
  maxMisses: number;
  /** See {@link SortTrackerOptions.perClass}. */
  perClass: boolean;
}

/** Running totals of a {@link SortTracker}. */
export interface TrackerStats {
  /** Calls to `update()`. */
  frames: number;
  /** Tracks created (the next ID is `created + 1`). */
  created: number;
  /** Tracks deleted (missed `maxMisses` frames, or a degenerate Kalman state). */
  deleted: number;
  /**
   * Detections skipped as malformed: a non-finite, negative, tiny (a side under 0.001 px) or out-of-range (beyond
   * ±10⁷ px) box, an empty label, a non-finite score.
   */
  rejectedDetections: number;
}

/** The option keys a tracker knows: any other is refused (a typo must not silently mean a default). */
const TRACKER_KEYS: readonly string[] = ['iouThreshold', 'minHits', 'maxMisses', 'perClass'];

/**
 * Fills in and checks {@link SortTrackerOptions}.
 *
 * @param options - partial options
 * @returns every option, defaults filled in
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for an IoU threshold outside [0, 1], or `minHits` /
 *   `maxMisses` that are not integers ≥ 1, options that are not an object, an unknown key (a typo), or an option
 *   whose getter throws
 */
export function resolveSortTrackerOptions(options: SortTrackerOptions = {}): ResolvedSortTrackerOptions {
  // null from a JavaScript caller threw a TypeError reading its fields; a number or a string silently meant defaults.
  if (options === null || typeof options !== 'object') {
    throw new LeptonError('INVALID_ARGUMENT', `SortTracker options must be an object (or left out); got ${describeValue(options)}.`);
  }
  for (const key of Object.keys(options)) {
    if (!TRACKER_KEYS.includes(key)) throw new LeptonError('INVALID_ARGUMENT', `SortTracker options: unknown key '${key}' (known: ${TRACKER_KEYS.join(', ')}).`);
  }
  let resolved: ResolvedSortTrackerOptions;
  try {
    // Each option read once.
    resolved = {
      iouThreshold: options.iouThreshold ?? 0.3,
      minHits: options.minHits ?? 3,
      maxMisses: options.maxMisses ?? 5,
      perClass: options.perClass ?? true,
    };
  } catch (err) {
    throw new LeptonError('INVALID_ARGUMENT', `SortTracker options: reading them threw: ${err instanceof Error ? err.message : describeValue(err)}.`);
  }
  if (typeof resolved.perClass !== 'boolean') throw new LeptonError('INVALID_ARGUMENT', `SortTracker perClass must be true or false, got ${describeValue(resolved.perClass)}.`);
  if (!(typeof resolved.iouThreshold === 'number' && resolved.iouThreshold >= 0 && resolved.iouThreshold <= 1)) {
    throw new LeptonError('INVALID_ARGUMENT', `SortTracker iouThreshold must be in [0, 1], got ${describeValue(resolved.iouThreshold)}.`);
  }
  for (const key of ['minHits', 'maxMisses'] as const) {
    if (!Number.isInteger(resolved[key]) || resolved[key] < 1) {
      throw new LeptonError('INVALID_ARGUMENT', `SortTracker ${key} must be an integer ≥ 1, got ${describeValue(resolved[key])}.`);
    }
  }
  return resolved;
}

interface TrackState {
  id: number;
  kf: KalmanBoxFilter;
  box: Box;
  labels: Map<string, number>;
  label: string;
  score: number;
  hits: number;
  misses: number;
  confirmed: boolean;
}

/**
 * SORT multi-object tracker (Bewley et al., "Simple Online and Realtime Tracking", 2016): each track is a
 * constant-velocity Kalman filter over its box ({@link KalmanBoxFilter}); every frame the tracks are predicted, matched
 * to the detections by optimal assignment ({@link linearSumAssignment}) on the cost `1 − IoU`, corrected by their match,
 * and new tracks start from the unmatched detections.
 *
 * - A pair is matchable only with IoU ≥ `iouThreshold` and IoU > 0 (and the same label when `perClass`). Among the
 *   matchable pairs the assignment has the most matches, then the highest total IoU.
 * - A track is tentative until it has `minHits` matched frames, then confirmed for the rest of its life.
 * - A track unmatched for `maxMisses` consecutive frames is deleted; until then it coasts on its prediction and is still
 *   reported (with `misses > 0`), so zone occupancy does not flicker when a detector misses a frame.
 * - IDs count up from 1 and are never reused, not even after {@link SortTracker.reset}.
 * - A malformed detection is skipped and counted in {@link SortTracker.stats}; the others are still tracked.
 *
 * Pure arithmetic on typed arrays: no tensors, nothing to dispose.
 *
 * @example
 * ```ts
 * import { SortTracker } from '@lepton/surveillance';
 * const tracker = new SortTracker({ minHits: 2 });
 * for (let f = 0; f < 3; f++) {
 *   const tracks = tracker.update([{ box: { x: 10 + 5 * f, y: 20, width: 40, height: 90 }, label: 'person', score: 0.9 }]);
 *   console.log(f, tracks.map((t) => t.id)); // 0 [] · 1 [1] · 2 [1]
 * }
 * ```
 */
export class SortTracker {
  /** The options in use, defaults filled in. */
  readonly options: Readonly<ResolvedSortTrackerOptions>;
  private tracks: TrackState[] = [];
  private nextId = 1;
  private readonly totals: TrackerStats = { frames: 0, created: 0, deleted: 0, rejectedDetections: 0 };

  /**
   * @param options - tracker options (defaults: IoU 0.3, 3 hits to confirm, deleted at 5 misses, per class)
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for invalid options (see {@link resolveSortTrackerOptions})
   */
  constructor(options: SortTrackerOptions = {}) {
    this.options = Object.freeze(resolveSortTrackerOptions(options));
  }

  /**
   * Advances the tracker by one frame.
   *
   * @param detections - this frame's detections (malformed ones — a NaN, infinite or negative box, a side under
   *   0.001 px, a coordinate beyond ±10⁷ px, an empty label, a score outside [0, 1], a getter that throws — are
   *   skipped and counted in
   *   `stats().rejectedDetections`; the others are tracked)
   * @returns the confirmed live tracks, by increasing ID — matched in this frame (`misses` 0) or coasting; every
   *   number in them finite
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when `detections` is not an array (nothing changes)
   */
  update(detections: readonly Detection[]): Track[] {
    if (!Array.isArray(detections)) {
      throw new LeptonError('INVALID_ARGUMENT', `SortTracker.update takes an array of detections (pass [] for a frame without any), got ${detections === null ? 'null' : typeof detections}.`);
    }
    this.totals.frames++;
    const dets: Detection[] = [];
    // By index (a hole is a malformed detection, not skipped); each detection read once into a plain copy.
    for (let i = 0; i < detections.length; i++) {
      const d = readDetection(detections[i]);
      if (d !== undefined) dets.push(d);
      else this.totals.rejectedDetections++;
    }
    const { iouThreshold, perClass, maxMisses, minHits } = this.options;

    // 1. predict; a degenerate state (area or aspect ≤ 0, NaN) cannot be matched or drawn, so it ends the track.
    const alive: TrackState[] = [];
    for (const t of this.tracks) {
      t.box = t.kf.predict();
      if (Number.isFinite(t.box.x + t.box.y + t.box.width + t.box.height)) alive.push(t);
      else this.totals.deleted++;
    }
    this.tracks = alive;

    // 2. match on 1 − IoU; forbidden pairs are +Infinity so the solver maximises the number of matches first.
    const cost = this.tracks.map((t) =>
      dets.map((d) => {
        if (perClass && d.label !== t.label) return Infinity;
        const iou = iouOf(t.box, d.box);
        return iou > 0 && iou >= iouThreshold ? 1 - iou : Infinity;
      }),
    );
    const { rows, cols, unassignedRows, unassignedCols } =
      this.tracks.length > 0 && dets.length > 0
        ? linearSumAssignment(cost)
        : { rows: [], cols: [], unassignedRows: this.tracks.map((_, i) => i), unassignedCols: dets.map((_, j) => j) };

    // 3. correct the matched tracks
    for (let k = 0; k < rows.length; k++) {
      const t = this.tracks[rows[k]!]!;
      const d = dets[cols[k]!]!;
      t.box = t.kf.update(d.box);
      if (!finiteTrack(t)) continue; // removed below: a track that cannot be drawn or matched is never reported
      t.hits++;
      t.misses = 0;
      t.score = d.score;
      const n = (t.labels.get(d.label) ?? 0) + 1;
      t.labels.set(d.label, n);
      if (d.label !== t.label && n > (t.labels.get(t.label) ?? 0)) t.label = d.label; // ties keep the older label
      if (t.hits >= minHits) t.confirmed = true;
    }
    // 4. age the unmatched ones; delete at maxMisses (and any whose state is no longer finite)
    const dead = new Set<TrackState>(this.tracks.filter((t) => !finiteTrack(t)));
    for (const i of unassignedRows) {
      const t = this.tracks[i]!;
      t.misses++;
      if (t.misses >= maxMisses) dead.add(t);
    }
    if (dead.size > 0) {
      this.tracks = this.tracks.filter((t) => !dead.has(t));
      this.totals.deleted += dead.size;
    }
    // 5. start tracks from the unmatched detections
    for (const j of unassignedCols) {
      const d = dets[j]!;
      const kf = new KalmanBoxFilter(d.box);
      if (!Number.isFinite(kf.box.x + kf.box.y + kf.box.width + kf.box.height)) {
        this.totals.rejectedDetections++;
        continue;
      }
      this.tracks.push({
        id: this.nextId++,
        kf,
        box: kf.box,
        labels: new Map([[d.label, 1]]),
        label: d.label,
        score: d.score,
        hits: 1,
        misses: 0,
        confirmed: minHits <= 1,
      });
      this.totals.created++;
    }
    this.tracks.sort((a, b) => a.id - b.id);
    return this.tracks.filter((t) => t.confirmed).map(snapshot);
  }

  /**
   * Every live track, tentative ones included, by increasing ID.
   *
   * @returns copies of the tracks after the last `update()`
   */
  allTracks(): Track[] {
    return this.tracks.map(snapshot);
  }

  /**
   * Running totals since construction (not cleared by {@link SortTracker.reset}).
   *
   * @returns a copy of the totals
   */
  stats(): TrackerStats {
    return { ...this.totals };
  }

  /** Drops every track (e.g. after a camera reconnect). The ID counter carries on, so IDs are still never reused. */
  reset(): void {
    this.totals.deleted += this.tracks.length;
    this.tracks = [];
  }
}

/**
 * Largest |coordinate| and size, and smallest size, taken from a detection: far beyond any frame either way, and they
 * keep the Kalman state (area, aspect ratio) finite and non-zero.
 */
const MAX_COORDINATE = 1e7;
const MIN_SIZE = 1e-3;

/** A plain copy of a valid detection (every field read once), or undefined for a malformed one or a throwing getter. */
function readDetection(input: Detection | null | undefined): Detection | undefined {
  try {
    if (input === null || typeof input !== 'object') return undefined;
    const box: unknown = input.box;
    if (box === null || typeof box !== 'object') return undefined;
    const { x, y, width, height } = box as Box;
    const label: unknown = input.label;
    const score: unknown = input.score;
    const within = (v: unknown): v is number => typeof v === 'number' && Math.abs(v) <= MAX_COORDINATE; // false for NaN
    const ok =
      within(x) && within(y) && within(width) && within(height) && width >= MIN_SIZE && height >= MIN_SIZE &&
      typeof label === 'string' && label.length > 0 && typeof score === 'number' && score >= 0 && score <= 1;
    return ok ? { box: { x, y, width, height }, label, score } : undefined;
  } catch {
    return undefined;
  }
}

function finiteTrack(t: TrackState): boolean {
  const [vx, vy] = t.kf.velocity;
  return Number.isFinite(t.box.x + t.box.y + t.box.width + t.box.height + vx + vy);
}

function snapshot(t: TrackState): Track {
  const [vx, vy] = t.kf.velocity;
  return {
    id: t.id,
    label: t.label,
    box: { ...t.box },
    score: t.score,
    hits: t.hits,
    misses: t.misses,
    confirmed: t.confirmed,
    velocity: [vx, vy],
  };
}
