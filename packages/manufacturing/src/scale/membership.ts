import { assignPartitions } from './partition.js';

/** What one member last said about itself. */
interface Seen {
  /** Partitions it owns (consumes) now. */
  claims: ReadonlySet<number>;
  /** When its presence was last received here (this process's clock), ms. */
  at: number;
}

/** What to do next, from {@link Membership.plan}. */
export interface MembershipPlan {
  /** Partitions this member owns but should hand over (another live member ranks first for them now). */
  release: number[];
  /** Partitions this member ranks first for, that no other live member claims any more: take them. */
  acquire: number[];
  /** Partitions this member ranks first for but another live member still claims: wait for its release. */
  waiting: number[];
  /** Live members, this one included, sorted. */
  live: string[];
}

/**
 * @internal The view one monitor has of its group: the members whose presence it has heard within the lease, and what
 * each claims. Pure (the clock is passed in), so the hand-over rules are tested without a broker.
 *
 * Rules that keep an asset in one process: a member *releases* a partition as soon as its view ranks another member
 * first for it; it *acquires* one only once no other live member claims it. A member that dies claims nothing (its
 * will message or its lease expiry removes it), so its partitions are taken at once by the members that rank next.
 */
export class Membership {
  private readonly members = new Map<string, Seen>();

  constructor(
    readonly self: string,
    readonly partitions: number,
    readonly leaseMs: number,
  ) {}

  /**
   * A presence message arrived.
   *
   * @returns whether the view changed (a new member, or other claims)
   */
  seen(id: string, claims: readonly number[], now: number): boolean {
    if (id === this.self) return false;
    const before = this.members.get(id);
    const next = new Set(claims);
    this.members.set(id, { claims: next, at: now });
    return !before || before.claims.size !== next.size || [...next].some((p) => !before.claims.has(p));
  }

  /**
   * A member left (its will, or an empty presence on a clean close).
   *
   * @returns whether it was known
   */
  left(id: string): boolean {
    return this.members.delete(id);
  }

  /**
   * Drops members not heard within the lease.
   *
   * @returns their ids
   */
  expire(now: number): string[] {
    const gone: string[] = [];
    for (const [id, s] of this.members) {
      if (now - s.at > this.leaseMs) {
        this.members.delete(id);
        gone.push(id);
      }
    }
    return gone;
  }

  /** Live members (heard within the lease) and this one, sorted. */
  live(now: number): string[] {
    const ids = [this.self];
    for (const [id, s] of this.members) if (now - s.at <= this.leaseMs) ids.push(id);
    return ids.sort();
  }

  /**
   * What this member should do, given the partitions it owns or is acquiring now.
   *
   * @param owned - partitions this member owns or is taking over
   * @param now - this process's clock, ms
   */
  plan(owned: ReadonlySet<number>, now: number): MembershipPlan {
    const live = this.live(now);
    const owner = assignPartitions(live, this.partitions);
    const release: number[] = [];
    const acquire: number[] = [];
    const waiting: number[] = [];
    for (let p = 0; p < this.partitions; p++) {
      const mine = owner[p] === this.self;
      if (!mine) {
        if (owned.has(p)) release.push(p);
        continue;
      }
      if (owned.has(p)) continue;
      let claimed = false;
      for (const [id, s] of this.members) if (now - s.at <= this.leaseMs && s.claims.has(p) && id !== this.self) claimed = true;
      (claimed ? waiting : acquire).push(p);
    }
    return { release, acquire, waiting, live };
  }
}
