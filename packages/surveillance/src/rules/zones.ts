import type { Point, Polygon } from '../types.js';
import { distanceToPolygonEdge, pointInPolygon } from './geometry.js';

/** A zone: a polygon in a camera's pixels with the rules it raises events for. */
export interface ZoneRule {
  /** Name, unique among the camera's zones; events and counts carry it. */
  name: string;
  /** The polygon (≥ 3 points), in the pixels of the frames the tracks come from. */
  polygon: Polygon;
  /** Labels the zone watches (default: every label). Other tracks are invisible to it. */
  classes?: readonly string[];
  /** Raise `loitering` once per visit when a track has been inside this many seconds (> 0). */
  loiterSeconds?: number;
  /** Raise `intrusion` (besides `zone-enter`) whenever a watched track enters. */
  restricted?: boolean;
  /**
   * Raise `crowd` when this many tracks (integer ≥ 1) of `crowdClasses` are inside at once; once per episode.
   * Only people count by default (see `crowdClasses`).
   */
  crowdThreshold?: number;
  /**
   * Labels that count towards `crowdThreshold` (default: the zone's `classes` when given, else
   * {@link DEFAULT_CROWD_CLASSES}, people only — so a pickup parked in a queue zone is not the fourth person of a
   * crowd). Occupancy in the counters still counts every watched label.
   */
  crowdClasses?: readonly string[];
}

/** Labels a zone's crowd counts when it names neither `crowdClasses` nor `classes`: people. */
export const DEFAULT_CROWD_CLASSES: readonly string[] = Object.freeze(['person']);

// Media times are usually frame ÷ fps, so 3 s after 0.1 s can come out as 2.9999999999999996 s: compare with a
// nanosecond of slack rather than miss the frame that is exactly `loiterSeconds` in.
const TIME_EPSILON = 1e-9;

/** What a zone visit did in one frame (internal to the engine). */
export type ZoneChange = 'enter' | 'exit' | 'loiter';

/**
 * State of one track with respect to one zone, with hysteresis: the anchor counts as inside or outside only when it is
 * at least `pixels` from the zone's edge, and the state flips only after `frames` consecutive frames on the other side.
 * A track whose first anchor is in the zone starts inside (it "enters" where it appears), without waiting.
 *
 * @internal
 */
export class ZoneVisit {
  /** Whether the track is (confirmed) inside. */
  inside = false;
  /** Media time the current visit began: the first frame of the streak that confirmed the entry. */
  enteredAt = 0;
  /** Whether this visit has raised `loitering`. */
  loitered = false;
  private streak = 0;
  private streakStart = 0;
  private started = false;

  /**
   * Feeds one frame.
   *
   * @param zone - the zone
   * @param anchor - the track's anchor point
   * @param time - media time in seconds
   * @param pixels - hysteresis distance from the edge
   * @param frames - hysteresis frames
   * @returns the changes, in order (an entry and a loitering can share a frame when `loiterSeconds` is short)
   */
  step(zone: ZoneRule, anchor: Point, time: number, pixels: number, frames: number): ZoneChange[] {
    const changes: ZoneChange[] = [];
    const inPolygon = pointInPolygon(anchor, zone.polygon);
    if (!this.started) {
      this.started = true;
      if (inPolygon) this.enter(time, changes);
    } else {
      const clear = pixels <= 0 || distanceToPolygonEdge(anchor, zone.polygon) >= pixels;
      const other = clear && inPolygon !== this.inside;
      if (other) {
        if (this.streak === 0) this.streakStart = time;
        this.streak++;
        if (this.streak >= frames) {
          this.streak = 0;
          if (this.inside) {
            this.inside = false;
            changes.push('exit');
          } else {
            this.enter(this.streakStart, changes);
          }
        }
      } else {
        this.streak = 0;
      }
    }
    if (this.inside && !this.loitered && zone.loiterSeconds !== undefined && time - this.enteredAt >= zone.loiterSeconds - TIME_EPSILON) {
      this.loitered = true;
      changes.push('loiter');
    }
    return changes;
  }

  private enter(since: number, changes: ZoneChange[]): void {
    this.inside = true;
    this.enteredAt = since;
    this.loitered = false;
    changes.push('enter');
  }
}

/**
 * Whether a zone or line watches a label.
 *
 * @internal
 */
export function watches(rule: { classes?: readonly string[] }, label: string): boolean {
  return rule.classes === undefined || rule.classes.includes(label);
}
