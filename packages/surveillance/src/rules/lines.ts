import type { Box, Point } from '../types.js';
import { sideOfLine } from './geometry.js';

/**
 * Direction of a line crossing: `'a-to-b'` from side A (left of `from → to`, as seen on the image) to side B (right),
 * `'b-to-a'` the other way. See {@link sideOfLine} for the convention.
 */
export type CrossingDirection = 'a-to-b' | 'b-to-a';

/** A tripwire: a segment in a camera's pixels; tracks whose anchor crosses it are counted per label and direction. */
export interface TripwireRule {
  /** Name, unique among the camera's lines; events and counts carry it. */
  name: string;
  /** First end. Side A is on the left looking from `from` to `to` (on the image, y down), side B on the right. */
  from: Point;
  /** Second end (must differ from `from`). */
  to: Point;
  /** Which crossings raise `line-cross` events (default `'both'`). Both directions are always counted. */
  direction?: CrossingDirection | 'both';
  /** Labels the line watches (default: every label). Other tracks are neither counted nor reported. */
  classes?: readonly string[];
}

/** The hysteresis a {@link LineState} applies (the engine's resolved `HysteresisOptions`). @internal */
export interface LineHysteresis {
  /** Dead band on each side of the line, pixels. */
  pixels: number;
  /** Consecutive frames past the band that commit a track to a side. */
  frames: number;
  /** Seconds after a crossing during which a crossing back needs more evidence. */
  rearmSeconds: number;
  /** Within `rearmSeconds`: depth past the line, as a fraction of the box's extent across the line, that still counts at once. */
  rearmDepth: number;
}

/**
 * State of one track with respect to one tripwire.
 *
 * **Commitment.** A track starts on the side of its first anchor that is at least `pixels` past the line (a track
 * that appears on the line is on neither side yet). It *commits* to the other side once its anchor has been at least
 * `pixels` past the line there for `frames` consecutive frames, and that is a crossing, provided the path last went
 * over the line between the segment's ends (found by interpolating between the anchors on either side), so walking
 * round the end of a tripwire counts nothing.
 *
 * **Re-arm.** A crossing *back* by the same track within `rearmSeconds` of its last crossing is counted only when the
 * evidence is stronger than jitter: either the track stays committed to the new side until `rearmSeconds` have
 * passed since the last crossing (it is then counted in that frame), or its anchor goes at least `rearmDepth` × the
 * box's extent across the line past it for `frames` frames (a quarter of a person's height for a horizontal line:
 * not a wobble of the box's bottom edge). Why: the box of someone on a segway, a bicycle or pushing a pram wobbles
 * with the vehicle, and its bottom edge can swing several pixels back over the line for a couple of frames right
 * after the crossing; without this, one crossing was logged as two opposite ones 0.6 s apart. Counts therefore always
 * alternate in direction for one track and one line, and a wobble never adds a pair.
 *
 * @internal
 */
export class LineState {
  /** Side the track is committed to: −1 = A, +1 = B, 0 = none yet. */
  private settled = 0;
  /** Frames in a row on the side opposite `settled`: beyond the band, and beyond the re-arm depth. */
  private streak = 0;
  private deepStreak = 0;
  private lastSign = 0;
  private lastPoint: Point | null = null;
  private lastDistance = 0;
  private crossedWithin = false;
  /** Media time of the last counted crossing. */
  private lastCross = -Infinity;

  /**
   * Feeds one frame.
   *
   * @param line - the tripwire
   * @param anchor - the track's anchor point (finite)
   * @param box - the track's box, for the re-arm depth (finite, width and height ≥ 0)
   * @param time - media time, seconds (finite, non-decreasing)
   * @param h - hysteresis
   * @returns the direction when a crossing is confirmed in this frame, else null
   */
  step(line: TripwireRule, anchor: Point, box: Box, time: number, h: LineHysteresis): CrossingDirection | null {
    const d = sideOfLine(anchor, line.from, line.to);
    const sign = Math.sign(d);
    if (sign !== 0) {
      if (this.lastSign !== 0 && sign !== this.lastSign && this.lastPoint !== null) {
        // Where the straight path between the two anchors meets the line, as a fraction t along from → to.
        const f = this.lastDistance / (this.lastDistance - d);
        const px = this.lastPoint[0] + f * (anchor[0] - this.lastPoint[0]);
        const py = this.lastPoint[1] + f * (anchor[1] - this.lastPoint[1]);
        const dx = line.to[0] - line.from[0];
        const dy = line.to[1] - line.from[1];
        const t = ((px - line.from[0]) * dx + (py - line.from[1]) * dy) / (dx * dx + dy * dy);
        this.crossedWithin = t >= -1e-9 && t <= 1 + 1e-9;
      }
      this.lastSign = sign;
      this.lastPoint = anchor;
      this.lastDistance = d;
    } else {
      // On the line: a point of the path like any other. The crossing point is then the last anchor before the side
      // changed (this one, if the next is across), so a path along the line that steps off past its end is outside
      // the segment, exactly as one 0.01 px beside the line.
      this.lastPoint = anchor;
      this.lastDistance = 0;
    }
    const side = Math.abs(d) >= h.pixels ? sign : 0;
    if (this.settled === 0) {
      // The first side: the first frame clear of the band (a track seen once well past the line is on that side).
      this.settled = side;
      return null;
    }
    if (side === 0 || side === this.settled) {
      this.streak = 0;
      this.deepStreak = 0;
      return null;
    }
    this.streak++;
    this.deepStreak = Math.abs(d) >= h.rearmDepth * extentAcross(line, box) ? this.deepStreak + 1 : 0;
    if (this.streak < h.frames) return null;
    // Re-armed: long enough since the last crossing (while committed all along), or clearly deep on the other side.
    if (time - this.lastCross < h.rearmSeconds - 1e-9 && this.deepStreak < h.frames) return null;
    this.streak = 0;
    this.deepStreak = 0;
    this.settled = side;
    if (!this.crossedWithin) return null; // went round the end of the tripwire
    this.lastCross = time;
    return side > 0 ? 'a-to-b' : 'b-to-a';
  }
}

/** The extent of a box across a line: its size along the line's normal (its height for a horizontal line). */
function extentAcross(line: TripwireRule, box: Box): number {
  const dx = line.to[0] - line.from[0];
  const dy = line.to[1] - line.from[1];
  const len = Math.hypot(dx, dy);
  return (Math.abs(dy) * box.width + Math.abs(dx) * box.height) / len;
}
