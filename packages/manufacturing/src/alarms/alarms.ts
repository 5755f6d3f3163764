import { LeptonError } from '@lepton/core';

/** How urgent an alarm is (ISA-18.2 style priorities). */
export type Severity = 'low' | 'medium' | 'high' | 'critical';

/** What supports an alarm: the rule or model that raised it, the signals, values and time window. */
export interface AlarmEvidence {
  /** Rule or model name, e.g. `nelson-1`, `autoencoder`, `hotelling-t2`. */
  source: string;
  /** Signals involved, most responsible first. */
  signals: string[];
  /** The values that crossed the limit (score, measurement …). */
  values: Record<string, number>;
  /** The data window that was judged. */
  window: {
    /** Start, epoch ms. */
    from: number;
    /** End, epoch ms. */
    to: number;
  };
}

/** An alarm episode. */
export interface Alarm {
  /** Stable id of the episode. */
  id: string;
  /** What is alarming (asset + condition), the de-duplication key. */
  key: string;
  /** Asset identifier. */
  asset: string;
  /** How urgent it is. */
  severity: Severity;
  /** When it was raised and (once cleared) cleared, epoch ms. */
  raisedAt: number;
  /** When it cleared, epoch ms; undefined while active. */
  clearedAt?: number;
  /** Evidence when raised, and the latest evidence while active. */
  evidence: AlarmEvidence;
  /** Samples that exceeded the limit during the episode. */
  occurrences: number;
}

/** What {@link AlarmManager.update} produced. */
export type AlarmEvent =
  | {
      /** A new episode started. */
      type: 'raised';
      /** The alarm. */
      alarm: Alarm;
    }
  | {
      /** The episode ended. */
      type: 'cleared';
      /** The alarm, with `clearedAt`. */
      alarm: Alarm;
    };

/** Options for {@link AlarmManager}. */
export interface AlarmOptions {
  /** Consecutive exceeding samples before raising (suppresses one-sample blips). Default 3. */
  raiseAfter?: number;
  /** Consecutive clear samples before clearing (hysteresis against chattering). Default 5. */
  clearAfter?: number;
  /** Prefix of alarm ids (`<prefix>-1`, `<prefix>-2` …), to keep ids unique across managers. Default `alarm`. */
  idPrefix?: string;
}

interface Track {
  over: number;
  under: number;
  active?: Alarm;
}

/**
 * Alarm logic with debounce, hysteresis and de-duplication: a condition must exceed for `raiseAfter` samples to raise,
 * and stay below its clear level for `clearAfter` samples to clear; while active, further exceedances update the one
 * alarm (occurrences, latest evidence) instead of raising new ones — one alarm per episode, not one per sample.
 */
export class AlarmManager {
  private readonly raiseAfter: number;
  private readonly clearAfter: number;
  private readonly tracks = new Map<string, Track>();
  private seq = 0;
  private readonly idPrefix: string;

  /**
   * @param options - debounce and hysteresis counts
   */
  constructor(options: AlarmOptions = {}) {
    this.raiseAfter = options.raiseAfter ?? 3;
    this.clearAfter = options.clearAfter ?? 5;
    this.idPrefix = options.idPrefix ?? 'alarm';
    if (this.raiseAfter < 1 || this.clearAfter < 1) throw new LeptonError('INVALID_ARGUMENT', 'raiseAfter and clearAfter must be ≥ 1.');
  }

  /**
   * Feeds one judgement of a condition.
   *
   * @param input - the condition key and asset, whether it exceeds (`exceeded`), whether it is back below the clear
   *   level (`clear`, default `!exceeded`; give a separate lower level for hysteresis), severity, time and evidence
   * @returns the events this judgement caused (none, raised or cleared)
   */
  update(input: { key: string; asset: string; exceeded: boolean; clear?: boolean; severity: Severity; at: number; evidence: AlarmEvidence }): AlarmEvent[] {
    const t = this.tracks.get(input.key) ?? { over: 0, under: 0 };
    this.tracks.set(input.key, t);
    const clear = input.clear ?? !input.exceeded;
    const events: AlarmEvent[] = [];
    if (input.exceeded) {
      t.over++;
      t.under = 0;
      if (t.active) {
        t.active.occurrences++;
        t.active.evidence = input.evidence;
      } else if (t.over >= this.raiseAfter) {
        t.active = { id: `${this.idPrefix}-${++this.seq}`, key: input.key, asset: input.asset, severity: input.severity, raisedAt: input.at, evidence: input.evidence, occurrences: t.over };
        events.push({ type: 'raised', alarm: { ...t.active } });
      }
    } else {
      t.over = 0;
      if (t.active && clear) {
        t.under++;
        if (t.under >= this.clearAfter) {
          t.active.clearedAt = input.at;
          events.push({ type: 'cleared', alarm: { ...t.active } });
          delete t.active;
          t.under = 0;
        }
      } else if (!clear) t.under = 0;
    }
    return events;
  }

  /**
   * Whether a condition has an active alarm.
   *
   * @param key - the condition key given to {@link update}
   * @returns true while its episode is active
   */
  isActive(key: string): boolean {
    return this.tracks.get(key)?.active !== undefined;
  }

  /** Alarms active now. */
  active(): Alarm[] {
    return [...this.tracks.values()].flatMap((t) => (t.active ? [{ ...t.active }] : []));
  }
}
