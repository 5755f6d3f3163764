import type { Point } from '../types.js';
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

/**
 * State of one track with respect to one tripwire.
 *
 * A crossing counts when the anchor ends up on the other side of the line **by at least `pixels`** for **`frames`
 * consecutive frames**, and the path last went over the line between the segment's ends. So a box jittering on the
 * line (within ± `pixels`, or over it for fewer than `frames` frames) counts at most once, and walking around the end
 * of a tripwire counts nothing. Only the sign change nearest the confirmation matters: it is where the anchor last went
 * from one side to the other, found by interpolating between the anchors on either side.
 *
 * @internal
 */
export class LineState {
  /** Side the track is settled on: −1 = A, +1 = B, 0 = not yet known (it has only been near the line). */
  private settled = 0;
  private streak = 0;
  private lastSign = 0;
  private lastPoint: Point | null = null;
  private lastDistance = 0;
  private crossedWithin = false;

  /**
   * Feeds one frame.
   *
   * @param line - the tripwire
   * @param anchor - the track's anchor point
   * @param pixels - hysteresis distance
   * @param frames - hysteresis frames
   * @returns the direction when a crossing is confirmed in this frame, else null
   */
  step(line: TripwireRule, anchor: Point, pixels: number, frames: number): CrossingDirection | null {
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
    }
    const side = Math.abs(d) >= pixels ? sign : 0;
    if (side === 0) {
      this.streak = 0;
      return null;
    }
    if (this.settled === 0) {
      this.settled = side;
      return null;
    }
    if (side === this.settled) {
      this.streak = 0;
      return null;
    }
    this.streak++;
    if (this.streak < frames) return null;
    this.streak = 0;
    this.settled = side;
    if (!this.crossedWithin) return null; // went round the end of the tripwire
    return side > 0 ? 'a-to-b' : 'b-to-a';
  }
}
