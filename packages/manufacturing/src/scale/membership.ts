import { assignPartitions } from './partition.js';

/** Connections of one member tracked at most (a member that reconnected briefly has two). */
const MAX_CONNECTIONS = 8;

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
  /** Member id → its connections (a member that reconnected may briefly have two presences) → what each said. */
  private readonly members = new Map<string, Map<string, Seen>>();
  /** Presences ignored: of a new member while `maxMembers` others are tracked, or of a new connection of a member that has {@link MAX_CONNECTIONS}. */
  ignored = 0;

  constructor(
    readonly self: string,
    readonly partitions: number,
    readonly leaseMs: number,
    readonly maxMembers = Number.POSITIVE_INFINITY,
  ) {}

  /**
   * A presence message arrived from one connection of a member.
   *
   * Presence is network input: beyond `maxMembers` other members (or {@link MAX_CONNECTIONS} connections of one), a new
   * one is ignored and counted (`ignored`), so a flood of made-up ids cannot grow memory or the cost of a plan.
   *
   * @returns whether the view changed (a new member, or other claims)
   */
  seen(id: string, connection: string, claims: readonly number[], now: number): boolean {
    if (id === this.self) return false;
    let conns = this.members.get(id);
    if (!conns) {
      if (this.members.size >= this.maxMembers) {
        this.ignored++;
        return false;
      }
      this.members.set(id, (conns = new Map()));
    } else if (!conns.has(connection) && conns.size >= MAX_CONNECTIONS) {
      this.ignored++;
      return false;
    }
    const before = conns.get(connection);
    const next = new Set(claims);
    conns.set(connection, { claims: next, at: now });
    return !before || before.claims.size !== next.size || [...next].some((p) => !before.claims.has(p));
  }

  /**
   * One connection of a member is gone (its will, or an empty presence on a clean close). The will of a connection the
   * member has already replaced removes that connection only, never the member's new one.
   *
   * @returns whether it was known
   */
  left(id: string, connection: string): boolean {
    const conns = this.members.get(id);
    const had = conns?.delete(connection) ?? false;
    if (conns?.size === 0) this.members.delete(id);
    return had;
  }

  /**
   * Drops connections not heard within the lease.
   *
   * @returns the ids of members with no connection left
   */
  expire(now: number): string[] {
    const gone: string[] = [];
    for (const [id, conns] of this.members) {
      for (const [c, s] of conns) if (now - s.at > this.leaseMs) conns.delete(c);
      if (conns.size === 0) {
        this.members.delete(id);
        gone.push(id);
      }
    }
    return gone;
  }

  /** Whether a member has a connection heard within the lease. */
  private alive(conns: Map<string, Seen>, now: number): boolean {
    for (const s of conns.values()) if (now - s.at <= this.leaseMs) return true;
    return false;
  }

  /** Live members (heard within the lease) and this one, sorted. */
  live(now: number): string[] {
    const ids = [this.self];
    for (const [id, conns] of this.members) if (this.alive(conns, now)) ids.push(id);
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
      for (const conns of this.members.values()) for (const s of conns.values()) if (now - s.at <= this.leaseMs && s.claims.has(p)) claimed = true;
      (claimed ? waiting : acquire).push(p);
    }
    return { release, acquire, waiting, live };
  }
}
